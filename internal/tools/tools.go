//go:build tools

// Package tools pins dependencies that the design names before code imports them.
package tools

import (
	_ "github.com/go-chi/chi/v5"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/gowebpki/jcs"
	_ "github.com/lestrrat-go/jwx/v2/jwk"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/skip2/go-qrcode"
	_ "github.com/spf13/cobra"
	_ "github.com/transparency-dev/merkle"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/mod/sumdb/tlog"
	_ "golang.org/x/term"
	_ "modernc.org/sqlite"
)
