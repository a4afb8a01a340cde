//go:build js && wasm

package wallet

import "net/http"

// noRedirects makes the browser's fetch refuse redirects: in WebAssembly
// net/http goes through fetch, which follows them before
// http.Client.CheckRedirect could see them. "js.fetch:redirect" is how
// Go's js transport passes fetch's redirect option (net/http
// roundtrip_js.go); "error" makes fetch fail on any redirect.
func noRedirects(req *http.Request) { req.Header.Set("js.fetch:redirect", "error") }
