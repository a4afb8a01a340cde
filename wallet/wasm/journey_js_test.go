//go:build js && wasm

package main

import (
	"net/http"
	"os"
	"testing"
	"time"
)

// fromEnv is the control API that node_test.go starts.
func fromEnv(tb testing.TB) *control {
	c := &control{base: os.Getenv("TONG_CITY_URL"), ctl: os.Getenv("TONG_CONTROL_URL"), hc: &http.Client{Timeout: time.Minute}}
	if c.base == "" || c.ctl == "" {
		tb.Fatal("TONG_CITY_URL and TONG_CONTROL_URL are not set: run through node_test.go")
	}
	return c
}

// TestJourneyInWasm: the wasm wallet creates, receives from the issuer
// and presents to a counter over real HTTP.
func TestJourneyInWasm(t *testing.T) {
	if _, _, err := journey(t.Context(), fromEnv(t)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkPresentationHTTP(b *testing.B) { benchPresentations(b, fromEnv(b)) }
