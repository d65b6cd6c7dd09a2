package qr_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/kapu-dev/kapu/qr"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

const uri = "otpauth://totp/%C3%9Cgyf%C3%A9lkapu%2B:teszt.elek?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=%C3%9Cgyf%C3%A9lkapu%2B&algorithm=SHA1&digits=6&period=30"

// render draws text as a QR code, scale pixels per module, with a quiet
// zone and an optional grey border around it (as a screenshot may have).
func render(t testing.TB, text string, scale, border int) []byte {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 1, 1, map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 4})
	if err != nil {
		t.Fatal(err)
	}
	n := m.GetWidth()*scale + 2*border
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			c := uint8(255)
			mx, my := (x-border)/scale, (y-border)/scale
			switch {
			case x < border || y < border || x >= n-border || y >= n-border:
				c = 118
			case m.Get(mx, my):
				c = 0
			}
			img.SetGray(x, y, color.Gray{c})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		scale, border int
	}{{"plain", 5, 0}, {"with border", 5, 2}, {"small", 2, 0}, {"large", 9, 1}} {
		got, err := qr.Decode(render(t, uri, tt.scale, tt.border))
		if err != nil || got != uri {
			t.Errorf("%s: %q, %v", tt.name, got, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	blank := image.NewGray(image.Rect(0, 0, 100, 100))
	var buf bytes.Buffer
	png.Encode(&buf, blank)
	for name, img := range map[string][]byte{"blank": buf.Bytes(), "not an image": []byte("hello"), "empty": nil} {
		if _, err := qr.Decode(img); err == nil {
			t.Errorf("%s: decoded", name)
		} else if name == "blank" && !errors.Is(err, qr.ErrNoCode) {
			t.Errorf("blank: %v, want ErrNoCode", err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	img := render(b, uri, 5, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := qr.Decode(img); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(render(f, uri, 3, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		qr.Decode(b) // no panic, whatever the pixels
	})
}
