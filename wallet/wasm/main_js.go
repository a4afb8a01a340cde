//go:build js && wasm

// Command wasm is the Tong wallet compiled to WebAssembly for the
// browser wallet app at /wallet/. It installs globalThis.tongWallet, an
// object whose methods return Promises, and keeps the wallet's sealed
// records in IndexedDB (wallet/idbstore). README.md in this directory is
// the contract the app codes against.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"syscall/js"
	"time"

	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/idbstore"
)

// dbName is the IndexedDB database of the wallet.
const dbName = "tong-wallet"

type idbBackend struct{ name string }

func (b idbBackend) Open(ctx context.Context) (wallet.Store, error) {
	s, err := idbstore.Open(ctx, b.name)
	if err != nil {
		return nil, storageErr(err)
	}
	return s, nil
}

func (b idbBackend) Exists(ctx context.Context) (bool, error) {
	ok, err := idbstore.Exists(ctx, b.name)
	if err != nil {
		return false, storageErr(err)
	}
	return ok, nil
}

func (b idbBackend) Destroy(ctx context.Context) error {
	if err := idbstore.Delete(ctx, b.name); err != nil {
		return storageErr(err)
	}
	return nil
}

func storageErr(err error) error {
	if errors.Is(err, idbstore.ErrBlocked) {
		return &appError{appBase: appBase{Code: "wallet_open_elsewhere", Description: "The wallet is open in another tab or window. Close it there, then try again.", Err: err},
			MessageZh: "钱包正在另一个标签页或窗口中打开。请先关闭它，然后重试。"}
	}
	e := &appError{appBase: appBase{Code: "storage_unavailable", Description: "This browser does not let the wallet keep data (a private window, or storage is full or blocked). Use a normal window and allow storage.", Err: err},
		MessageZh: "此浏览器不允许钱包保存数据（可能是无痕窗口，或存储已满或被禁止）。请使用普通窗口并允许存储。"}
	return e
}

func main() {
	origin := js.Global().Get("location").Get("origin").String()
	a := newApp(idbBackend{name: dbName}, origin, &http.Client{Timeout: 30 * time.Second})
	api := js.Global().Get("Object").New()
	method := func(name string, fn func(ctx context.Context, arg js.Value) (any, error)) {
		api.Set(name, js.FuncOf(func(this js.Value, args []js.Value) any {
			arg := js.Undefined()
			if len(args) > 0 {
				arg = args[0]
			}
			return promise(func() (any, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				return fn(ctx, arg)
			})
		}))
	}
	method("exists", func(ctx context.Context, _ js.Value) (any, error) { return a.exists(ctx) })
	method("isUnlocked", func(ctx context.Context, _ js.Value) (any, error) { return a.isUnlocked(), nil })
	method("create", func(ctx context.Context, o js.Value) (any, error) {
		return nil, a.create(ctx, str(o, "passphrase"), str(o, "registry"))
	})
	method("unlock", func(ctx context.Context, o js.Value) (any, error) { return nil, a.unlock(ctx, str(o, "passphrase")) })
	method("lock", func(ctx context.Context, _ js.Value) (any, error) { a.lock(); return nil, nil })
	method("list", func(ctx context.Context, _ js.Value) (any, error) { return a.list(ctx) })
	method("get", func(ctx context.Context, v js.Value) (any, error) { return a.get(ctx, strOrField(v, "id")) })
	method("offer", func(ctx context.Context, v js.Value) (any, error) { return a.offer(ctx, strOrField(v, "uri")) })
	method("receive", func(ctx context.Context, o js.Value) (any, error) {
		return a.receive(ctx, str(o, "uri"), str(o, "tx_code"))
	})
	method("request", func(ctx context.Context, v js.Value) (any, error) { return a.request(ctx, strOrField(v, "uri")) })
	method("present", func(ctx context.Context, o js.Value) (any, error) { return a.present(ctx, str(o, "handle")) })
	method("decline", func(ctx context.Context, o js.Value) (any, error) { return nil, a.decline(ctx, str(o, "handle")) })
	method("history", func(ctx context.Context, _ js.Value) (any, error) { return a.history(ctx) })
	method("refresh", func(ctx context.Context, _ js.Value) (any, error) { return a.refresh(ctx) })
	method("backup", func(ctx context.Context, o js.Value) (any, error) {
		b, err := a.backup(ctx, str(o, "passphrase"))
		if err != nil {
			return nil, err
		}
		return rawJS{bytesToJS(b)}, nil
	})
	method("restore", func(ctx context.Context, o js.Value) (any, error) {
		return nil, a.restore(ctx, bytesFromJS(field(o, "data")), str(o, "passphrase"), str(o, "registry"))
	})
	method("remove", func(ctx context.Context, o js.Value) (any, error) { return nil, a.remove(ctx, strOrField(o, "id")) })
	method("destroy", func(ctx context.Context, _ js.Value) (any, error) { return nil, a.destroy(ctx) })
	api.Set("version", "1")
	js.Global().Set("tongWallet", api)
	// Tell the page the API is there (it may have loaded before us).
	ev := js.Global().Get("CustomEvent")
	if !ev.IsUndefined() && !js.Global().Get("dispatchEvent").IsUndefined() {
		js.Global().Call("dispatchEvent", ev.New("tongwallet:ready"))
	}
	select {} // keep the Go runtime alive for the callbacks
}

// rawJS is a value handed to JavaScript as is.
type rawJS struct{ v js.Value }

func field(o js.Value, name string) js.Value {
	if o.Type() != js.TypeObject {
		return js.Undefined()
	}
	return o.Get(name)
}

func str(o js.Value, name string) string {
	v := field(o, name)
	if v.Type() == js.TypeString {
		return v.String()
	}
	if v.Type() == js.TypeNumber {
		return v.String()
	}
	return ""
}

// strOrField accepts "x" or {name: "x"}.
func strOrField(v js.Value, name string) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return str(v, name)
}

func bytesToJS(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

func bytesFromJS(v js.Value) []byte {
	if v.Type() != js.TypeObject {
		if v.Type() == js.TypeString {
			return []byte(v.String())
		}
		return nil
	}
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		return nil
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// promise runs fn in a goroutine and settles a Promise with its result:
// Go values go through JSON, errors become an Error with code, message,
// message_zh and retry_after.
func promise(fn func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(this js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer executor.Release()
			defer func() {
				if p := recover(); p != nil {
					reject.Invoke(jsError(newErr(codeInternal, errors.New("panic"))))
				}
			}()
			v, err := fn()
			if err != nil {
				reject.Invoke(jsError(toAppError(err)))
				return
			}
			resolve.Invoke(toJS(v))
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

func toJS(v any) any {
	switch x := v.(type) {
	case nil:
		return js.Undefined()
	case bool, string, int, float64:
		return x
	case rawJS:
		return x.v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return js.Undefined()
	}
	return js.Global().Get("JSON").Call("parse", string(b))
}

func jsError(e *appError) js.Value {
	err := js.Global().Get("Error").New(e.Description)
	err.Set("code", e.Code)
	err.Set("message_zh", e.MessageZh)
	err.Set("retry_after", e.RetryAfter)
	if e.Code == codeWrongPassphrase {
		err.Set("tries_left", e.TriesLeft)
	}
	return err
}
