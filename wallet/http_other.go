//go:build !(js && wasm)

package wallet

import "net/http"

// noRedirects does nothing natively: the client's CheckRedirect refuses
// redirects (see newWallet).
func noRedirects(*http.Request) {}
