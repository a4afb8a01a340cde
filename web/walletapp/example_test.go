package walletapp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/tongid/tong/web/walletapp"
)

// Mount the app under /wallet/, as tong serve does.
func ExampleApp_Handler() {
	app, err := walletapp.New(walletapp.Config{Engine: fstest.MapFS{}}) // no engine built
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/wallet/", http.StripPrefix("/wallet", app.Handler()))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/wallet/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Cache-Control"), app.HasEngine())
	// Output: 200 no-cache false
}

// Write the app for a static host, with the registry new wallets use.
func ExampleApp_Export() {
	engine := fstest.MapFS{
		walletapp.EngineWASM:   {Data: []byte("\x00asm\x01\x00\x00\x00")},
		walletapp.EngineLoader: {Data: []byte("globalThis.Go = class {};")},
	}
	app, err := walletapp.New(walletapp.Config{Engine: engine, Registry: "https://registry.example"})
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "wallet-site")
	defer os.RemoveAll(dir)
	if err := app.Export(dir); err != nil {
		panic(err)
	}
	wasm, _ := filepath.Glob(filepath.Join(dir, "tong-wallet.*.wasm"))
	_, err = os.Stat(filepath.Join(dir, "sw.js"))
	fmt.Println(len(wasm), err == nil)
	// Output: 1 true
}
