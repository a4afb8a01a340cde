package issuer_test

import (
	"crypto/ecdsa"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/issuer"
)

// TestConcurrentIssuance: 32 wallets redeeming and fetching their
// credentials at once from one agency all succeed, on both engines, and
// every copy gets its own status index. On PostgreSQL these transactions
// are SERIALIZABLE; they used to collide on the agency's current status
// list row until store.WriteTx gave up (issue 19). The published status
// list then shows each index's own status.
func TestConcurrentIssuance(t *testing.T) {
	t.Parallel()
	const wallets, copies = 32, 2
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		db := x.Open(t, store.Options{Synchronous: "NORMAL", Conns: 64})
		f := newIssuerOn(t, db, func(c *issuer.Config) { c.BatchSize = copies })
		type wallet struct {
			offer  *issuer.Offer
			code   string
			proofs []string
		}
		ws := make([]wallet, wallets)
		for i := range ws {
			ws[i].offer, ws[i].code = f.offer(t, "citizen-identity")
			nonce := f.svc.Nonce()
			for range copies {
				var k *ecdsa.PrivateKey = holderKey(t)
				ws[i].proofs = append(ws[i].proofs, proofJWT(t, k, nonce, f.clock.Now(), nil, nil))
			}
		}
		type ref struct {
			uri string
			idx int
		}
		refs := make([][]ref, wallets)
		errs := make([]error, wallets)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ws {
			wg.Go(func() {
				<-start
				errs[i] = func() error {
					tok, err := f.svc.Token(t.Context(), slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode,
						PreAuthorizedCode: ws[i].code, TxCode: ws[i].offer.TxCode, TxCodeSent: true})
					if err != nil {
						return fmt.Errorf("Token: %w", err)
					}
					resp, status, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, "",
						&issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(ws[i].proofs...)})
					if err != nil || status != 200 {
						return fmt.Errorf("Credential = %d, %w", status, err)
					}
					if len(resp.Credentials) != copies {
						return fmt.Errorf("Credential gave %d copies, want %d", len(resp.Credentials), copies)
					}
					for _, c := range resp.Credentials {
						sd, err := credential.Parse(c.Credential)
						if err != nil {
							return err
						}
						claims, err := sd.Process()
						if err != nil {
							return err
						}
						st := claims["status"].(map[string]any)["status_list"].(map[string]any)
						idx, err := st["idx"].(interface{ Int64() (int64, error) }).Int64()
						if err != nil {
							return err
						}
						refs[i] = append(refs[i], ref{uri: st["uri"].(string), idx: int(idx)})
					}
					return nil
				}()
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("wallet %d: %v", i, err)
			}
		}
		if t.Failed() {
			return
		}
		seen := map[ref]int{}
		for i, rs := range refs {
			for _, r := range rs {
				if j, dup := seen[r]; dup {
					t.Errorf("wallets %d and %d both got status index %d of %s", j, i, r.idx, r.uri)
				}
				seen[r] = i
			}
		}
		// Suspend every other wallet's credential and revoke every third;
		// the published lists must show each index's own status.
		want := map[ref]byte{}
		for i, w := range ws {
			status, b := issuer.StatusValid, statuslist.Valid
			switch {
			case i%3 == 0:
				status, b = issuer.StatusRevoked, statuslist.Invalid
			case i%2 == 0:
				status, b = issuer.StatusSuspended, statuslist.Suspended
			}
			if status != issuer.StatusValid {
				if _, err := f.svc.SetStatus(t.Context(), slug, "officer", w.offer.CredentialID, status); err != nil {
					t.Fatalf("SetStatus(wallet %d, %s) = %v", i, status, err)
				}
			}
			for _, r := range refs[i] {
				want[r] = b
			}
		}
		a, err := f.svc.Agency(t.Context(), slug)
		if err != nil {
			t.Fatal(err)
		}
		lists := map[string]*statuslist.List{}
		for r, b := range want {
			lst, ok := lists[r.uri]
			if !ok {
				tok, err := f.svc.StatusListToken(t.Context(), slug, r.uri[strings.LastIndex(r.uri, "/")+1:])
				if err != nil {
					t.Fatalf("StatusListToken(%s) = %v", r.uri, err)
				}
				lt, err := statuslist.ParseToken(tok, r.uri, a.Signer().Public(), f.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				lst = lt.List
				lists[r.uri] = lst
			}
			if got, err := lst.Get(r.idx); err != nil || got != b {
				t.Errorf("list %s index %d = %d, %v, want %d", r.uri, r.idx, got, err, b)
			}
		}
	})
}
