//go:build js && wasm

// Package idbstore keeps a wallet's sealed records in the browser's
// IndexedDB, for the wallet compiled to WebAssembly (wallet/wasm). It
// implements wallet.Store: the wallet seals every record with its data
// key before Put, so IndexedDB holds the same sealed records as the
// SQLite file of the CLI (wallet/sqlitestore), and a backup made on one
// restores on the other.
//
// The database (one per wallet name) has two object stores: "meta"
// (key: name, value: bytes) and "records" (key path "id", value
// {id, kind, created, sealed}); created is kept as a decimal string
// because JavaScript numbers cannot hold nanoseconds since 1970.
//
// Every method blocks until IndexedDB answers, so call them from a
// goroutine, never from a js.Func callback (wallet/wasm does this).
package idbstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"syscall/js"
)

const (
	version      = 1
	storeMeta    = "meta"
	storeRecords = "records"
)

// Store is one IndexedDB database holding one wallet.
type Store struct {
	name string
	db   js.Value
}

// ErrBlocked: another tab holds the database open while this one
// deletes or upgrades it.
var ErrBlocked = errors.New("idbstore: the wallet is open in another tab")

// ErrUnavailable: the browser gives no IndexedDB (a private window in some
// browsers, or not a browser at all).
var ErrUnavailable = errors.New("idbstore: IndexedDB is not available")

func factory() (js.Value, error) {
	idb := js.Global().Get("indexedDB")
	if idb.IsUndefined() || idb.IsNull() {
		return js.Value{}, ErrUnavailable
	}
	return idb, nil
}

// jsError turns a DOMException (or anything) into a Go error.
func jsError(v js.Value) error {
	if v.IsUndefined() || v.IsNull() {
		return errors.New("idbstore: IndexedDB failed")
	}
	name, msg := v.Get("name"), v.Get("message")
	if name.Type() == js.TypeString {
		return fmt.Errorf("idbstore: %s: %s", name.String(), msg.String())
	}
	return fmt.Errorf("idbstore: %s", v.String())
}

// wait runs until one of the named events fires on target. ok names the
// event that means success; the others fail with target.error.
func wait(ctx context.Context, target js.Value, ok string, others ...string) (js.Value, error) {
	type res struct {
		v   js.Value
		err error
	}
	ch := make(chan res, 1)
	var funcs []js.Func
	for _, ev := range append([]string{ok}, others...) {
		ev := ev
		f := js.FuncOf(func(this js.Value, args []js.Value) any {
			if ev == ok {
				r := target.Get("result")
				select {
				case ch <- res{v: r}:
				default:
				}
			} else {
				err := jsError(target.Get("error"))
				if ev == "blocked" {
					err = ErrBlocked
				}
				select {
				case ch <- res{err: err}:
				default:
				}
			}
			return nil
		})
		funcs = append(funcs, f)
		target.Set("on"+ev, f)
	}
	defer func() {
		for _, f := range funcs {
			f.Release()
		}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Value{}, ctx.Err()
	}
}

// Open opens (creating it if needed) the IndexedDB database name.
func Open(ctx context.Context, name string) (*Store, error) {
	idb, err := factory()
	if err != nil {
		return nil, err
	}
	req := idb.Call("open", name, version)
	upgrade := js.FuncOf(func(this js.Value, args []js.Value) any {
		db := req.Get("result")
		stores := db.Get("objectStoreNames")
		if !stores.Call("contains", storeMeta).Bool() {
			db.Call("createObjectStore", storeMeta)
		}
		if !stores.Call("contains", storeRecords).Bool() {
			db.Call("createObjectStore", storeRecords, map[string]any{"keyPath": "id"})
		}
		return nil
	})
	defer upgrade.Release()
	req.Set("onupgradeneeded", upgrade)
	db, err := wait(ctx, req, "success", "error", "blocked")
	if err != nil {
		return nil, err
	}
	// Another tab deleting or upgrading the database: let it.
	db.Set("onversionchange", js.FuncOf(func(this js.Value, args []js.Value) any {
		db.Call("close")
		return nil
	}))
	return &Store{name: name, db: db}, nil
}

// Delete deletes the database name and everything in it. Close any Store
// on it first.
func Delete(ctx context.Context, name string) error {
	idb, err := factory()
	if err != nil {
		return err
	}
	_, err = wait(ctx, idb.Call("deleteDatabase", name), "success", "error", "blocked")
	return err
}

// Exists reports whether the database name holds a wallet, without
// creating it.
func Exists(ctx context.Context, name string) (bool, error) {
	idb, err := factory()
	if err != nil {
		return false, err
	}
	if !idb.Get("databases").IsUndefined() {
		p := idb.Call("databases")
		list, err := await(ctx, p)
		if err != nil {
			return false, err
		}
		found := false
		for i := range list.Length() {
			if list.Index(i).Get("name").String() == name {
				found = true
			}
		}
		if !found {
			return false, nil
		}
	}
	s, err := Open(ctx, name)
	if err != nil {
		return false, err
	}
	defer s.Close()
	_, err = s.Meta(ctx, "dek")
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// await waits for a JavaScript Promise.
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type res struct {
		v   js.Value
		err error
	}
	ch := make(chan res, 1)
	then := js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- res{v: args[0]}
		return nil
	})
	catch := js.FuncOf(func(this js.Value, args []js.Value) any {
		ch <- res{err: jsError(args[0])}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Value{}, ctx.Err()
	}
}

// Name is the database's name.
func (s *Store) Name() string { return "IndexedDB " + s.name }

func (s *Store) tx(stores string, mode string) (js.Value, js.Value) {
	tx := s.db.Call("transaction", []any{stores}, mode)
	return tx, tx.Call("objectStore", stores)
}

func toJS(b []byte) js.Value {
	a := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

func fromJS(v js.Value) ([]byte, error) {
	if v.Type() != js.TypeObject || !v.InstanceOf(js.Global().Get("Uint8Array")) {
		return nil, errors.New("idbstore: a stored value is not bytes")
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// Meta returns a metadata value, or fs.ErrNotExist.
func (s *Store) Meta(ctx context.Context, name string) ([]byte, error) {
	_, st := s.tx(storeMeta, "readonly")
	v, err := wait(ctx, st.Call("get", name), "success", "error")
	if err != nil {
		return nil, err
	}
	if v.IsUndefined() {
		return nil, fs.ErrNotExist
	}
	return fromJS(v)
}

// SetMeta sets metadata values in one transaction; a nil value deletes.
func (s *Store) SetMeta(ctx context.Context, values map[string][]byte) error {
	tx, st := s.tx(storeMeta, "readwrite")
	for k, v := range values {
		if v == nil {
			st.Call("delete", k)
		} else {
			st.Call("put", toJS(v), k)
		}
	}
	_, err := wait(ctx, tx, "complete", "error", "abort")
	return err
}

type record struct {
	kind, id string
	created  int64
	sealed   []byte
}

func readRecord(v js.Value) (record, error) {
	if v.Type() != js.TypeObject {
		return record{}, errors.New("idbstore: a stored record is not an object")
	}
	created, err := strconv.ParseInt(v.Get("created").String(), 10, 64)
	if err != nil {
		return record{}, errors.New("idbstore: a stored record has a bad time")
	}
	sealed, err := fromJS(v.Get("sealed"))
	if err != nil {
		return record{}, err
	}
	return record{kind: v.Get("kind").String(), id: v.Get("id").String(), created: created, sealed: sealed}, nil
}

func (s *Store) getRecord(ctx context.Context, id string) (record, bool, error) {
	_, st := s.tx(storeRecords, "readonly")
	v, err := wait(ctx, st.Call("get", id), "success", "error")
	if err != nil {
		return record{}, false, err
	}
	if v.IsUndefined() {
		return record{}, false, nil
	}
	r, err := readRecord(v)
	return r, err == nil, err
}

// Put inserts or replaces a record; a replaced one keeps kind and time.
func (s *Store) Put(ctx context.Context, kind, id string, created int64, sealed []byte) error {
	old, ok, err := s.getRecord(ctx, id)
	if err != nil {
		return err
	}
	if ok {
		kind, created = old.kind, old.created
	}
	tx, st := s.tx(storeRecords, "readwrite")
	obj := js.Global().Get("Object").New()
	obj.Set("id", id)
	obj.Set("kind", kind)
	obj.Set("created", strconv.FormatInt(created, 10))
	obj.Set("sealed", toJS(sealed))
	st.Call("put", obj)
	_, err = wait(ctx, tx, "complete", "error", "abort")
	return err
}

// Get returns a record's sealed bytes, or fs.ErrNotExist.
func (s *Store) Get(ctx context.Context, kind, id string) ([]byte, error) {
	r, ok, err := s.getRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok || r.kind != kind {
		return nil, fs.ErrNotExist
	}
	return r.sealed, nil
}

// List calls each for every record of kind ("" for all), by creation
// time, then id.
func (s *Store) List(ctx context.Context, kind string, each func(kind, id string, created int64, sealed []byte) error) error {
	_, st := s.tx(storeRecords, "readonly")
	all, err := wait(ctx, st.Call("getAll"), "success", "error")
	if err != nil {
		return err
	}
	var rs []record
	for i := range all.Length() {
		r, err := readRecord(all.Index(i))
		if err != nil {
			return err
		}
		if kind == "" || r.kind == kind {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b record) int {
		if a.created != b.created {
			if a.created < b.created {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	for _, r := range rs {
		if err := each(r.kind, r.id, r.created, r.sealed); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes a record, or returns fs.ErrNotExist.
func (s *Store) Delete(ctx context.Context, kind, id string) error {
	r, ok, err := s.getRecord(ctx, id)
	if err != nil {
		return err
	}
	if !ok || r.kind != kind {
		return fs.ErrNotExist
	}
	tx, st := s.tx(storeRecords, "readwrite")
	st.Call("delete", id)
	_, err = wait(ctx, tx, "complete", "error", "abort")
	return err
}

// Close closes the connection.
func (s *Store) Close() error {
	s.db.Call("close")
	return nil
}
