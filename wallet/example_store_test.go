package wallet_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/memstore"
)

// A wallet on any Store: here memory; the browser uses IndexedDB
// (wallet/idbstore), the CLI a SQLite file (wallet.Create).
func ExampleNew() {
	ctx := context.Background()
	s := memstore.New()
	w, err := wallet.New(ctx, s, []byte("correct horse battery staple"), wallet.Options{KDF: wallet.PhoneKDF})
	if err != nil {
		fmt.Println(err)
		return
	}
	w.Close()

	_, err = wallet.Unlock(ctx, s, []byte("wrong"), wallet.Options{})
	fmt.Println(err)

	w, _ = wallet.Unlock(ctx, s, []byte("correct horse battery staple"), wallet.Options{})
	defer w.Close()
	ok, _ := wallet.Exists(ctx, s)
	fmt.Println("wallet in the store:", ok)
	// Output:
	// wallet: wrong passphrase (4 tries left before a lockout)
	// wallet in the store: true
}

// A backup from one store restores into another.
func ExampleRestore() {
	ctx := context.Background()
	w, _ := wallet.New(ctx, memstore.New(), []byte("pass"), wallet.Options{KDF: wallet.PhoneKDF})
	var backup bytes.Buffer
	if err := w.Export(ctx, &backup, []byte("backup pass")); err != nil {
		fmt.Println(err)
		return
	}
	w.Close()

	phone := memstore.New()
	r, err := wallet.Restore(ctx, phone, &backup, []byte("backup pass"), wallet.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	cs, _ := r.Credentials(ctx)
	fmt.Println(len(cs), "credentials restored")
	// Output:
	// 0 credentials restored
}
