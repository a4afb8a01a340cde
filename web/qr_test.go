package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tongid/tong/web"
)

// TestQRCacheBounded: a code drawn twice is the same image, and however
// many distinct codes are drawn the cache stays within its byte bound.
func TestQRCacheBounded(t *testing.T) {
	t.Parallel()
	a := web.QRDataURLForTest("openid4vp://?client_id=x&request_uri=https://tong.example/verifier/requests/a")
	if !strings.HasPrefix(a, "data:image/png;base64,") || web.QRDataURLForTest("openid4vp://?client_id=x&request_uri=https://tong.example/verifier/requests/a") != a {
		t.Fatalf("qrDataURL = %.40q…, want the same PNG data URL twice", a)
	}
	for i := range 3000 {
		web.QRDataURLForTest(fmt.Sprintf("openid4vp://?client_id=x&request_uri=https://tong.example/verifier/requests/%d", i))
	}
	if n, max := web.QRCacheBytesForTest(); n > max || n == 0 {
		t.Fatalf("QR cache holds %d bytes, bound %d", n, max)
	}
}

func BenchmarkQRDataURL(b *testing.B) {
	const uri = "openid4vp://?client_id=decentralized_identifier%3Adid%3Atong%3Az6Mk&request_uri=https%3A%2F%2Ftong.example%2Fverifier%2Frequests%2Fses_0123456789"
	b.Run("drawn", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			web.QRDataURLForTest(fmt.Sprintf("%s%d", uri, i))
		}
	})
	b.Run("cached", func(b *testing.B) {
		web.QRDataURLForTest(uri)
		for b.Loop() {
			web.QRDataURLForTest(uri)
		}
	})
}
