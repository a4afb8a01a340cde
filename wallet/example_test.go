//go:build !js

package wallet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tongid/tong/wallet"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "wallet")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "wallet.db")

	w, err := wallet.Create(ctx, path, []byte("correct horse battery staple"), wallet.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	w.Close()

	_, err = wallet.Open(ctx, path, []byte("wrong"), wallet.Options{})
	fmt.Println(err)

	w, _ = wallet.Open(ctx, path, []byte("correct horse battery staple"), wallet.Options{})
	defer w.Close()
	cs, _ := w.Credentials(ctx)
	fmt.Println(len(cs), "credentials")
	// Output:
	// wallet: wrong passphrase (4 tries left before a lockout)
	// 0 credentials
}

func ExampleWallet_ParseOffer() {
	dir, _ := os.MkdirTemp("", "wallet")
	defer os.RemoveAll(dir)
	w, _ := wallet.Create(context.Background(), filepath.Join(dir, "wallet.db"), []byte("pass"), wallet.Options{})
	defer w.Close()
	o, err := w.ParseOffer(context.Background(), `openid-credential-offer://?credential_offer=`+
		`{"credential_issuer":"https://tong.example/issuers/psb","credential_configuration_ids":["citizen-identity"],`+
		`"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"abc","tx_code":{"length":6}}}}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.CredentialIssuer, o.CredentialConfigurationIDs, o.NeedsTxCode())
	// Output: https://tong.example/issuers/psb [citizen-identity] true
}
