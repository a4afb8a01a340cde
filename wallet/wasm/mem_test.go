package main

import (
	"context"

	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/memstore"
)

// memBackend is the browser's IndexedDB replaced by memory: the app, the
// wallet and its sealing run exactly as in the browser.
type memBackend struct{ s *memstore.Store }

func (b *memBackend) Open(context.Context) (wallet.Store, error) { return b.s, nil }
func (b *memBackend) Exists(ctx context.Context) (bool, error)   { return wallet.Exists(ctx, b.s) }
func (b *memBackend) Destroy(context.Context) error              { b.s = memstore.New(); return nil }

var testKDF = wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}
