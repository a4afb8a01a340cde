package wallet

import (
	"context"
	"crypto"
	"fmt"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/dcql"
	"github.com/tongid/tong/internal/jose"
)

// DeriveForBenchmark exposes the KDF to the benchmarks.
func DeriveForBenchmark(k KDF, pass []byte) []byte { return k.derive(pass) }

// MatchCredentials exposes matching over given credentials.
func MatchCredentials(cs []*Credential, query []byte) (*dcql.Result, error) {
	q, err := dcql.Parse(query)
	if err != nil {
		return nil, err
	}
	return q.Match(dcqlCredentials(cs, q))
}

// AddCopiesForTest stores a credential as Receive would, from SD-JWT VCs
// already issued to holder keys, without an issuer on the network.
func AddCopiesForTest(ctx context.Context, w *Wallet, id, vct string, claims map[string]any, sdjwts []string, holders []crypto.Signer) error {
	rec := &credentialRecord{Credential: Credential{ID: id, Issuer: "https://issuer.example", VCT: vct, Claims: claims,
		ReceivedAt: w.opts.Now().UTC(), Status: StatusValid}}
	for i, s := range sdjwts {
		jwk, err := jose.PrivateJWK(holders[i])
		if err != nil {
			return err
		}
		rec.Copies = append(rec.Copies, credentialCopy{SDJWT: s, Key: jwk})
	}
	return w.v.put(ctx, kindCredential, id, rec.ReceivedAt, rec)
}

// PresentForBenchmark is the wallet's side of one presentation without
// the network: list and match the credentials, spend a copy (unseal,
// mark used, seal, store), and build the SD-JWT+KB-JWT.
func PresentForBenchmark(ctx context.Context, w *Wallet, query []byte, nonce, aud string) (string, error) {
	cs, err := w.Credentials(ctx)
	if err != nil {
		return "", err
	}
	res, err := MatchCredentials(cs, query)
	if err != nil || !res.Satisfied {
		return "", fmt.Errorf("no match: %v", err)
	}
	for _, ms := range res.Selection {
		m := ms[0]
		sd, key, err := w.takeCopy(ctx, m.ID)
		if err != nil {
			return "", err
		}
		paths := make([]credential.Path, len(m.Paths))
		for i, p := range m.Paths {
			paths[i] = credential.Path(p)
		}
		return credential.Present(sd, paths, key, credential.KeyBinding{Nonce: nonce, Audience: aud, IssuedAt: w.opts.Now()})
	}
	return "", fmt.Errorf("empty selection")
}

// CleanDisplays exposes the display sanitizer.
func CleanDisplays(ds []Display) []Display { return cleanDisplays(ds) }

// ForgetStatusRefs makes a stored credential look like one received
// before the wallet kept status references and the issuer's key.
func ForgetStatusRefs(ctx context.Context, w *Wallet, id string) error {
	var rec credentialRecord
	if err := w.v.get(ctx, kindCredential, id, &rec); err != nil {
		return err
	}
	rec.IssuerKey, rec.Status = nil, ""
	for i := range rec.Copies {
		rec.Copies[i].Status = nil
	}
	return w.v.put(ctx, kindCredential, id, rec.ReceivedAt, &rec)
}
