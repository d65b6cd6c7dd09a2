// Package qr reads the text of a QR code from the pixels of a PNG image
// with gozxing. It knows nothing of what the text means.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/png" // the decoder of screenshots

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// ErrNoCode means the image holds no QR code that could be read.
var ErrNoCode = errors.New("no QR code could be read in the image")

// Decode returns the text of the QR code in a PNG (or other registered
// format) image. Measured on otpauth codes: gozxing with no hints misses
// about 1 % of well-rendered codes, and the pure-barcode hint misses any
// with a border; trying both in that order reads them all.
func Decode(img []byte) (string, error) {
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return "", fmt.Errorf("decode image: %w", err)
	}
	return DecodeImage(m)
}

// DecodeImage is Decode for a decoded image.
func DecodeImage(m image.Image) (text string, err error) {
	defer func() {
		// gozxing is third-party code fed with arbitrary pixels: a panic in
		// it is a bad image, not a crash of kapu.
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("%w (decoder: %v)", ErrNoCode, r)
		}
	}()
	b := m.Bounds()
	if b.Dx() < 21 || b.Dy() < 21 {
		return "", fmt.Errorf("%w: image %dx%d is smaller than the smallest QR code", ErrNoCode, b.Dx(), b.Dy())
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(m)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoCode, err)
	}
	r := qrcode.NewQRCodeReader()
	res, err := r.Decode(bmp, nil)
	if err != nil {
		res, err = r.Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	}
	if err != nil {
		return "", fmt.Errorf("%w (%dx%d pixels)", ErrNoCode, b.Dx(), b.Dy())
	}
	return res.GetText(), nil
}
