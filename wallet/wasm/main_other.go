//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main explains itself: this command runs only in a browser.
func main() {
	fmt.Fprintln(os.Stderr, "tong-wallet.wasm: build with GOOS=js GOARCH=wasm (make wallet-wasm) and load it in a browser")
	os.Exit(2)
}
