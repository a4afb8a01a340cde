package oid4vci_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/issuer/oid4vci"
)

// TestFullFlow drives the real endpoints: offer, metadata, token with
// tx_code, nonce, a batch of 3 credentials, verification with package
// credential, notification, then revocation seen in the status list.
func TestFullFlow(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	if !strings.HasPrefix(o.OfferURI, "openid-credential-offer://?credential_offer_uri=") || len(o.TxCode) != 6 {
		t.Fatalf("offer %+v", o.Offer)
	}
	w := e.fetchOffer(t, o.OfferURI)
	if w.offer.CredentialIssuer != e.ag.IssuerURL || w.offer.CredentialConfigurationIDs[0] != "citizen-identity" {
		t.Fatalf("offer object %+v", w.offer)
	}
	grant := w.offer.Grants[issuer.GrantPreAuthorizedCode]
	if grant.TxCode == nil || grant.TxCode.Length != 6 || grant.TxCode.InputMode != "numeric" || len(grant.PreAuthorizedCode) < 22 {
		t.Fatalf("grant %+v", grant)
	}
	if w.meta.CredentialIssuer != e.ag.IssuerURL || w.meta.BatchCredentialIssuance == nil || w.meta.BatchCredentialIssuance.BatchSize != 5 {
		t.Fatalf("metadata %+v", w.meta)
	}
	cfg, ok := w.meta.CredentialConfigurationsSupported["citizen-identity"]
	if !ok || cfg.Format != "dc+sd-jwt" || cfg.VCT != "urn:tong:vct:citizen-identity:1" || len(cfg.CredentialMetadata.Claims) == 0 {
		t.Fatalf("configuration %+v", cfg)
	}
	var as oid4vci.ASMetadata
	e.call(t, http.MethodGet, "/.well-known/oauth-authorization-server/issuers/psb", "", nil, nil, &as)
	if !as.PreAuthorizedGrantAnonymousAccess || as.TokenEndpoint != e.ag.IssuerURL+"/token" {
		t.Fatalf("AS metadata %+v", as)
	}

	if st, eb := w.redeem(t, w.code(), o.TxCode, nil); st != 200 || w.tokenType != "Bearer" {
		t.Fatalf("token: %d %+v", st, eb)
	}
	nonce := w.nonce(t)
	w.keys = newKeys(t, 3)
	var proofs []string
	for _, k := range w.keys {
		proofs = append(proofs, proof(t, k, nil, w.proofClaims(nonce)))
	}
	st, out := w.requestCredential(t, map[string]any{"credential_configuration_id": "citizen-identity", "proofs": map[string]any{"jwt": proofs}}, nil)
	if st != 200 {
		t.Fatalf("credential: %d %v", st, out)
	}
	creds, _ := out["credentials"].([]any)
	if len(creds) != 3 {
		t.Fatalf("got %d credentials, want 3", len(creds))
	}
	v := &credential.Verifier{Keys: &credential.JWTVCIssuerMetadata{Client: e.client, AllowLoopbackHTTP: true}}
	var refs []*credential.StatusRef
	seen := map[int]bool{}
	for i, c := range creds {
		sdjwt := c.(map[string]any)["credential"].(string)
		res, err := v.Verify(context.Background(), sdjwt, credential.VerifyOptions{})
		if err != nil {
			t.Fatalf("credential %d does not verify: %v", i, err)
		}
		if res.Issuer != e.ag.IssuerURL || res.VCT != "urn:tong:vct:citizen-identity:1" || res.Claims["family_name"] != "王" {
			t.Fatalf("credential %d: %s %s %v", i, res.Issuer, res.VCT, res.Claims["family_name"])
		}
		hk, _ := jose.Thumbprint(res.HolderKey)
		want, _ := jose.Thumbprint(w.keys[i].Public())
		if hk != want {
			t.Errorf("credential %d is bound to the wrong key", i)
		}
		if res.Status == nil || seen[res.Status.Index] {
			t.Fatalf("credential %d: status %+v (each copy needs its own entry)", i, res.Status)
		}
		seen[res.Status.Index] = true
		refs = append(refs, res.Status)
		if time.Until(res.Expiry) < 1000*24*time.Hour {
			t.Errorf("exp %v: want the type's validity", res.Expiry)
		}
		if res.Header.Kid != e.ag.KeyID {
			t.Errorf("kid %q, want %q", res.Header.Kid, e.ag.KeyID)
		}
	}
	// The notification endpoint accepts the wallet's acknowledgement.
	if st, _ := e.postJSON(t, w.meta.NotificationEndpoint, map[string]any{"notification_id": out["notification_id"], "event": "credential_accepted"},
		map[string]string{"Authorization": "Bearer " + w.access}, nil); st != http.StatusNoContent {
		t.Fatalf("notification: %d", st)
	}
	// The token is spent: a second request gets nothing.
	if st, out := w.requestCredential(t, map[string]any{"credential_configuration_id": "citizen-identity", "proofs": map[string]any{"jwt": proofs}}, nil); st != 401 || out["error"] != "invalid_token" {
		t.Fatalf("replayed credential request: %d %v", st, out)
	}

	statusOf := func() []byte {
		t.Helper()
		var got []byte
		for _, ref := range refs {
			req, _ := http.NewRequest(http.MethodGet, ref.URI, nil)
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			buf := new(strings.Builder)
			_, _ = ioCopy(buf, resp)
			if resp.Header.Get("Content-Type") != oid4vci.ContentTypeStatusList || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "public, max-age=") {
				t.Fatalf("status list headers %v", resp.Header)
			}
			tok, err := statuslist.ParseToken(buf.String(), ref.URI, e.ag.Signer().Public(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if tok.List.Size() < 131072 || tok.TTL <= 0 {
				t.Fatalf("list size %d ttl %v", tok.List.Size(), tok.TTL)
			}
			s, _ := tok.List.Get(ref.Index)
			got = append(got, s)
		}
		return got
	}
	if got := statusOf(); string(got) != "\x00\x00\x00" {
		t.Fatalf("statuses before revocation: %v", got)
	}
	var info issuer.CredentialInfo
	if st, _ := e.postJSON(t, "/issuers/psb/api/credentials/"+o.CredentialID+"/suspend", nil, e.staff(), &info); st != 200 || info.Status != "suspended" || info.Copies != 3 {
		t.Fatalf("suspend: %d %+v", st, info)
	}
	if got := statusOf(); string(got) != "\x02\x02\x02" {
		t.Fatalf("statuses after suspension: %v", got)
	}
	if st, _ := e.postJSON(t, "/issuers/psb/api/credentials/"+o.CredentialID+"/revoke", nil, e.staff(), &info); st != 200 || info.Status != "revoked" {
		t.Fatalf("revoke: %d %+v", st, info)
	}
	if got := statusOf(); string(got) != "\x01\x01\x01" {
		t.Fatalf("statuses after revocation: %v", got)
	}
	var eb errBody
	if st, _ := e.postJSON(t, "/issuers/psb/api/credentials/"+o.CredentialID+"/unsuspend", nil, e.staff(), &eb); st != 409 || eb.Error != "conflict" {
		t.Fatalf("unsuspend after revoke: %d %+v", st, eb)
	}
	// The audit log tells who did what, and holds no claim values.
	var audit struct {
		Entries []issuer.AuditEntry `json:"entries"`
	}
	e.call(t, http.MethodGet, "/issuers/psb/api/audit", "", nil, e.staff(), &audit)
	actions := map[string]bool{}
	for _, a := range audit.Entries {
		actions[a.Action] = true
		if strings.Contains(a.Detail+a.Object, "王") || strings.Contains(a.Detail, "110101") {
			t.Errorf("audit entry holds a claim value: %+v", a)
		}
	}
	for _, want := range []string{"offer.create", "offer.redeem", "credential.issue", "credential.notify", "credential.suspend", "credential.revoke"} {
		if !actions[want] {
			t.Errorf("audit log lacks %s", want)
		}
	}
}
