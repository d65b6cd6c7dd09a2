// flows/login.yaml as a person would write it with Playwright, for make
// bench: playwright-core (a dev-only dependency, package.json) driving the
// system's Chromium headless shell, never a downloaded browser. It reads
// the secret from the manual key beside the QR code (decoding the picture
// would need two more packages; kapu decodes it). Usage:
//   node login.mjs BASE_URL [CHROMIUM]
import { chromium } from "playwright-core";
import { createHmac } from "node:crypto";

const base = process.argv[2];
const executablePath = process.argv[3] || "/usr/lib/chromium/chromium-headless-shell";

// RFC 6238 with node's HMAC: SHA1, 6 digits, 30 s, as the mock.
function totp(secret, when) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(when.getTime() / 1000 / 30)));
  const h = createHmac("sha1", key).update(msg).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

async function api(method, path, body) {
  const res = await fetch(base + path, { method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
  return res.json();
}
const now = async () => new Date((await api("GET", "/__kapu/clock")).now);

const browser = await chromium.launch({ executablePath, args: process.getuid() === 0 ? ["--no-sandbox"] : [] });
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  const page = await context.newPage();
  const u = await api("POST", "/__kapu/users", {});
  const credentials = async () => {
    await page.getByLabel("Felhasználónév").fill(u.username);
    await page.getByLabel("Jelszó").fill(u.password);
    await page.getByRole("button", { name: "Bejelentkezés" }).click();
  };
  await page.goto(base + "/");
  await page.getByRole("link", { name: "Ügyfélkapu", exact: true }).click();
  await credentials();
  await page.getByRole("button", { name: "Ügyfélkapu+ igénylése" }).click();
  await page.getByRole("button", { name: "Tovább az Ügyfélkapu+ igényléshez" }).click();
  await page.getByText("Olvasd be okostelefonoddal a QR kódot.").waitFor();
  const secret = await page.getByLabel("Kulcs kézi megadáshoz").inputValue();
  await page.getByLabel("Jelszó").fill(u.password);
  await page.getByLabel("6 jegyű kód").fill(totp(secret, await now()));
  await page.getByRole("button", { name: "Tovább" }).click();
  await page.getByRole("heading", { name: "Írd fel magadnak a törlőkódot!" }).waitFor();
  await page.getByLabel("A fenti törlőkód mentéséről gondoskodtam").check();
  await page.getByRole("button", { name: "Befejezés" }).click();
  await page.getByText("Az Ügyfélkapu+ megrendelése sikeresen megtörtént!").waitFor();
  // The enrollment code's step is spent: on to 1 s after the next boundary.
  const t = await now();
  const next = Math.floor(t.getTime() / 30000) * 30000 + 31000;
  await api("POST", "/__kapu/clock", { freeze: true, advance: `${next - t.getTime()}ms` });
  await page.goto(base + "/");
  await page.getByRole("link", { name: "Ügyfélkapu+", exact: true }).click();
  await credentials();
  await page.getByText("Írd be a 6 jegyű kódodat").waitFor();
  await page.getByLabel("6 jegyű kód").fill(totp(secret, await now()));
  await page.getByRole("button", { name: "Bejelentkezés" }).click();
  await page.getByRole("heading", { name: "Sikeres bejelentkezés" }).waitFor();
  await page.getByText(u.name).first().waitFor();
  await page.getByRole("button", { name: "Kijelentkezés" }).click();
  await page.getByRole("heading", { name: "Bejelentkezés", exact: true }).waitFor();
} finally {
  await browser.close();
}
