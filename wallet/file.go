//go:build !js

package wallet

import (
	"context"
	"fmt"
	"io"

	"github.com/tongid/tong/wallet/sqlitestore"
)

// Create makes a new wallet file at path (SQLite, mode 0600), protected
// by passphrase.
func Create(ctx context.Context, path string, passphrase []byte, opts Options) (*Wallet, error) {
	if sqlitestore.Exists(path) {
		return nil, ErrExists
	}
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	w, err := New(ctx, s, passphrase, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	return w, nil
}

// Open opens the wallet file at path. A wrong passphrase is
// ErrWrongPassphrase, too many in a row ErrLockedOut.
func Open(ctx context.Context, path string, passphrase []byte, opts Options) (*Wallet, error) {
	if !sqlitestore.Exists(path) {
		return nil, fmt.Errorf("%w: no wallet at %s", ErrNotFound, path)
	}
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	w, err := Unlock(ctx, s, passphrase, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	return w, nil
}

// Import creates a wallet file at path from a backup made by Export. The
// new wallet is protected by the same passphrase as the backup.
func Import(ctx context.Context, path string, in io.Reader, passphrase []byte, opts Options) (*Wallet, error) {
	if sqlitestore.Exists(path) {
		return nil, ErrExists
	}
	recs, err := readBackup(in, passphrase)
	if err != nil {
		return nil, err
	}
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	w, err := New(ctx, s, passphrase, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := w.putBackup(ctx, recs); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}
