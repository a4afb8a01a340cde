package qr

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

func TestPNGAndText(t *testing.T) {
	const uri = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example%2Foffers%2Fabc"
	b, err := PNG(uri, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w != 256 {
		t.Errorf("width = %d, want 256", w)
	}
	s, err := Text(uri)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) < 15 || !strings.ContainsAny(s, "█▀▄") {
		t.Errorf("text QR looks wrong (%d lines)", len(lines))
	}
	if _, err := PNG(strings.Repeat("a", MaxContent+1), 0); err != ErrTooLong {
		t.Errorf("oversized content: %v, want ErrTooLong", err)
	}
}
