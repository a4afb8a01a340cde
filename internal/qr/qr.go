// Package qr renders the QR codes citizens scan: PNG for pages and
// printouts, and text made of block characters for terminals.
package qr

import (
	"errors"

	qrcode "github.com/skip2/go-qrcode"
)

// MaxContent bounds what a code may carry. An offer or request URI by
// reference is about 100 bytes; by value they can grow past what phone
// cameras read reliably, which is why Tong always passes them by reference.
const MaxContent = 1024

// ErrTooLong is returned for content over MaxContent.
var ErrTooLong = errors.New("qr: content too long for a reliably scannable code")

// PNG renders content as a PNG image size pixels wide, with medium error
// correction (15%), which survives screen glare and printing.
func PNG(content string, size int) ([]byte, error) {
	if len(content) > MaxContent {
		return nil, ErrTooLong
	}
	if size <= 0 {
		size = 320
	}
	return qrcode.Encode(content, qrcode.Medium, size)
}

// Text renders content with Unicode half blocks, two modules per character
// cell, for a terminal with a dark background.
func Text(content string) (string, error) {
	if len(content) > MaxContent {
		return "", ErrTooLong
	}
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", err
	}
	return q.ToSmallString(false), nil
}
