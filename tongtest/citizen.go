package tongtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/wallet"
)

// Citizen makes a wallet holding a citizen identity and a Beijing residence
// credential, with claims changed by mod (nil: the demo example).
func (c *City) Citizen(t testing.TB, mod func(typ string, claims map[string]any)) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Create(context.Background(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
		HTTPClient: c.Client(), AllowLoopbackHTTP: true, Registry: c.Registry, RequireRegistry: true, Copies: 5,
		KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	types, _ := issuer.DemoTypes()
	for _, x := range []struct{ agency, typ string }{{"psb", "citizen-identity"}, {"housing", "beijing-residence"}} {
		claims := deepCopy(types[x.typ].ExampleClaims)
		if mod != nil {
			mod(x.typ, claims)
		}
		o, err := c.Issuer.CreateOffer(context.Background(), x.agency, "test", issuer.OfferRequest{Type: x.typ, Claims: claims})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Receive(context.Background(), o.OfferURI, o.TxCode); err != nil {
			t.Fatalf("receive %s: %v", x.typ, err)
		}
	}
	return w
}

// Answer has the wallet approve and answer a request URI.
func Answer(t testing.TB, w *wallet.Wallet, requestURI string) error {
	t.Helper()
	req, err := w.Match(context.Background(), requestURI)
	if err != nil {
		return err
	}
	_, err = w.Present(context.Background(), req, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{Approve: true}, nil
	})
	return err
}

func deepCopy(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out[k] = deepCopy(sub)
		} else {
			out[k] = v
		}
	}
	return out
}
