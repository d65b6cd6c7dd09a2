package mockidp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Issuer is the issuer of every key (SPEC §1.3).
const Issuer = "Ügyfélkapu+"

// keyURI builds the otpauth URI of SPEC §1.3. pquerna/otp v1.5.0 leaves
// "+" raw, which URI parsers read as a space, so it is built here.
func keyURI(username, secret string, raw bool) string {
	esc := escape
	if raw {
		esc = func(s string) string { return strings.ReplaceAll(escape(s), "%2B", "+") }
	}
	return "otpauth://totp/" + esc(Issuer) + ":" + esc(username) +
		"?secret=" + secret + "&issuer=" + esc(Issuer) +
		"&algorithm=SHA1&digits=6&period=30"
}

// escape percent-encodes every byte but the unreserved ones of RFC 3986,
// so that "Ü", "é", "+", ":", "&" and spaces survive any parser.
func escape(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// groupKey shows a base32 secret in groups of 4 for manual entry.
func groupKey(secret string) string {
	var b strings.Builder
	for i := 0; i < len(secret); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(secret[i:min(i+4, len(secret))])
	}
	return b.String()
}

// qrScale is the pixels per module: crisp for any scanner, screen or phone.
const qrScale = 5

// qrPNG renders text as a QR code PNG with a 4-module quiet zone and
// returns it as a data: URL with its side in pixels.
func qrPNG(text string) (src string, side int, err error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           4,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 1, 1, hints)
	if err != nil {
		return "", 0, fmt.Errorf("encode QR: %w", err)
	}
	n := m.GetWidth()
	side = n * qrScale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			c := color.Gray{Y: 255}
			if m.Get(x/qrScale, y/qrScale) {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", 0, fmt.Errorf("encode PNG: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), side, nil
}
