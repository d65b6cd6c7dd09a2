// Progressive enhancement only: every screen works without this file.
(function () {
  "use strict";
  document.querySelectorAll("[data-disclosure]").forEach(function (b) {
    if (b.hasAttribute("data-broken")) return; // kapu --break no-disclosure
    var panel = document.getElementById(b.getAttribute("aria-controls"));
    b.addEventListener("click", function () {
      var open = b.getAttribute("aria-expanded") === "true";
      b.setAttribute("aria-expanded", String(!open));
      panel.hidden = open;
    });
  });
  // Errors: move focus to the alert so that it is read first.
  var alert = document.getElementById("hiba");
  if (alert) alert.focus();
})();
// DÁP: the waiting page asks for its state every half second and goes on
// as soon as the phone approved (SPEC 1.6: within 2 s, no reload by hand).
(function () {
  "use strict";
  var el = document.querySelector("[data-dap-poll]");
  if (!el || !window.fetch) return;
  var url = el.getAttribute("data-dap-poll");
  var timer = setInterval(function () {
    fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (s.state === "approved" || s.state === "expired") {
        clearInterval(timer);
        window.location.href = "/dap/allapot";
      }
    }).catch(function () {});
  }, 500);
})();
// An app's login: the SAML Response form goes to the app by itself; without
// JavaScript, its button does it.
(function () {
  "use strict";
  var f = document.querySelector("form[data-autosubmit]");
  if (f) f.submit();
})();
