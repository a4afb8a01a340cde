package wallet

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
)

// Offer is a parsed OpenID4VCI credential offer (§4.1.1).
type Offer struct {
	CredentialIssuer           string   `json:"credential_issuer"`
	CredentialConfigurationIDs []string `json:"credential_configuration_ids"`
	Grants                     struct {
		PreAuthorized *struct {
			Code   string          `json:"pre-authorized_code"`
			TxCode json.RawMessage `json:"tx_code"`
		} `json:"urn:ietf:params:oauth:grant-type:pre-authorized_code"`
	} `json:"grants"`
}

// ParseOffer reads an offer URI: openid-credential-offer:// (or any
// scheme, such as an https link) carrying credential_offer by value or
// credential_offer_uri by reference. By reference it is fetched.
func (w *Wallet) ParseOffer(ctx context.Context, offerURI string) (*Offer, error) {
	u, err := url.Parse(strings.TrimSpace(offerURI))
	if err != nil {
		return nil, werr(CodeBadOffer, "not a URI")
	}
	q := u.Query()
	byValue, byRef := q.Get("credential_offer"), q.Get("credential_offer_uri")
	var o Offer
	switch {
	case byValue != "" && byRef != "":
		return nil, werr(CodeBadOffer, "the offer has both credential_offer and credential_offer_uri")
	case byValue != "":
		if len(byValue) > 16<<10 {
			return nil, werr(CodeBadOffer, "credential_offer is too large")
		}
		if err := json.Unmarshal([]byte(byValue), &o); err != nil {
			return nil, werr(CodeBadOffer, "credential_offer is not JSON")
		}
	case byRef != "":
		if err := w.getJSON(ctx, byRef, &o); err != nil {
			return nil, &Error{Code: CodeBadOffer, Description: "fetching the offer", Err: err}
		}
	default:
		return nil, werr(CodeBadOffer, "no credential_offer or credential_offer_uri in the URI")
	}
	if o.CredentialIssuer == "" || len(o.CredentialConfigurationIDs) == 0 {
		return nil, werr(CodeBadOffer, "the offer lacks credential_issuer or credential_configuration_ids")
	}
	if _, err := w.checkURL(o.CredentialIssuer); err != nil {
		return nil, werr(CodeBadOffer, "credential_issuer: %v", err)
	}
	if o.Grants.PreAuthorized == nil || o.Grants.PreAuthorized.Code == "" {
		return nil, werr(CodeBadOffer, "only offers with a pre-authorized code are supported")
	}
	return &o, nil
}

// NeedsTxCode reports whether the offer asks for a PIN: any tx_code
// object, even {}, means the wallet must send one (§4.1.1).
func (o *Offer) NeedsTxCode() bool {
	return o.Grants.PreAuthorized != nil && len(o.Grants.PreAuthorized.TxCode) > 0 && string(o.Grants.PreAuthorized.TxCode) != "null"
}

// issuerMetadata is what the wallet reads of Credential Issuer Metadata.
type issuerMetadata struct {
	CredentialIssuer           string   `json:"credential_issuer"`
	CredentialEndpoint         string   `json:"credential_endpoint"`
	NonceEndpoint              string   `json:"nonce_endpoint"`
	DeferredCredentialEndpoint string   `json:"deferred_credential_endpoint"`
	NotificationEndpoint       string   `json:"notification_endpoint"`
	AuthorizationServers       []string `json:"authorization_servers"`
	BatchCredentialIssuance    *struct {
		BatchSize int `json:"batch_size"`
	} `json:"batch_credential_issuance"`
	Display        []Display                          `json:"display"`
	Configurations map[string]credentialConfiguration `json:"credential_configurations_supported"`
}

// credentialConfiguration is one entry of
// credential_configurations_supported.
type credentialConfiguration struct {
	Format             string                     `json:"format"`
	VCT                string                     `json:"vct"`
	ProofTypes         map[string]json.RawMessage `json:"proof_types_supported"`
	CredentialMetadata struct {
		Display []Display      `json:"display"`
		Claims  []ClaimDisplay `json:"claims"`
	} `json:"credential_metadata"`
}

// fetchMetadata fetches and checks an issuer's Credential Issuer Metadata
// (OpenID4VCI 1.0 §12.2).
func (w *Wallet) fetchMetadata(ctx context.Context, iss string) (*issuerMetadata, error) {
	mdURL, err := wellKnown(iss, "openid-credential-issuer")
	if err != nil {
		return nil, werr(CodeBadMetadata, "%v", err)
	}
	var md issuerMetadata
	if err := w.getJSON(ctx, mdURL, &md); err != nil {
		return nil, &Error{Code: codeOrNetwork(err, CodeBadMetadata), Description: "fetching issuer metadata", Err: err}
	}
	if md.CredentialIssuer != iss {
		return nil, werr(CodeBadMetadata, "metadata names issuer %q, the offer %q", md.CredentialIssuer, iss)
	}
	return &md, nil
}

// OfferInfo is what an offer is for, shown before the citizen accepts it.
type OfferInfo struct {
	Issuer      string
	IssuerName  string
	Credentials []OfferedCredential
	// TxCode describes the PIN to ask for, or is nil when none is needed.
	TxCode *TxCode
}

// OfferedCredential is one credential an offer gives.
type OfferedCredential struct {
	ConfigurationID string
	Name            string
	Display         []Display
}

// TxCode is the offer's tx_code object (OpenID4VCI 1.0 §4.1.1).
type TxCode struct {
	Length      int    `json:"length,omitempty"`
	InputMode   string `json:"input_mode,omitempty"` // numeric (default) or text
	Description string `json:"description,omitempty"`
}

// PreviewOffer parses an offer and fetches its issuer's metadata, to show
// what it gives; nothing is stored and the code is not redeemed.
func (w *Wallet) PreviewOffer(ctx context.Context, offerURI string) (*OfferInfo, error) {
	o, err := w.ParseOffer(ctx, offerURI)
	if err != nil {
		return nil, err
	}
	md, err := w.fetchMetadata(ctx, o.CredentialIssuer)
	if err != nil {
		return nil, err
	}
	info := &OfferInfo{Issuer: o.CredentialIssuer, IssuerName: pickDisplay(md.Display, "").Name}
	for _, id := range o.CredentialConfigurationIDs {
		cfg, ok := md.Configurations[id]
		if !ok {
			return nil, werr(CodeBadMetadata, "the issuer does not describe %q", id)
		}
		ds := cleanDisplays(cfg.CredentialMetadata.Display)
		info.Credentials = append(info.Credentials, OfferedCredential{ConfigurationID: id, Name: pickDisplay(ds, "").Name, Display: ds})
	}
	if o.NeedsTxCode() {
		var tc TxCode
		_ = json.Unmarshal(o.Grants.PreAuthorized.TxCode, &tc)
		if tc.InputMode == "" {
			tc.InputMode = "numeric"
		}
		info.TxCode = &tc
	}
	return info, nil
}

// Receive runs the OpenID4VCI pre-authorized code flow for an offer and
// stores the credential: every copy is verified (signature, vct, holder
// key, status) before anything is kept.
func (w *Wallet) Receive(ctx context.Context, offerURI, txCode string) (*Credential, error) {
	o, err := w.ParseOffer(ctx, offerURI)
	if err != nil {
		return nil, err
	}
	if o.NeedsTxCode() && txCode == "" {
		return nil, werr(CodeTxCodeRequired, "this offer needs the PIN (tx_code) the agency gave you")
	}
	iss := o.CredentialIssuer
	md, err := w.fetchMetadata(ctx, iss)
	if err != nil {
		return nil, err
	}
	configID := o.CredentialConfigurationIDs[0]
	cfg, ok := md.Configurations[configID]
	if !ok || cfg.Format != credential.TypSDJWTVC || cfg.VCT == "" {
		return nil, werr(CodeBadMetadata, "the issuer does not describe %q as a dc+sd-jwt credential", configID)
	}
	if _, ok := cfg.ProofTypes["jwt"]; !ok {
		return nil, werr(CodeBadMetadata, "the issuer does not accept jwt proofs for %q", configID)
	}
	for _, ep := range []string{md.CredentialEndpoint, md.NonceEndpoint} {
		if _, err := w.checkURL(ep); err != nil || !sameOrigin(ep, iss) {
			return nil, werr(CodeBadMetadata, "endpoint %q must be https on the issuer's host", ep)
		}
	}
	// The registry: the issuer URL must belong to a did:tong agency
	// accredited for this vct.
	issuerDID, err := w.checkIssuer(ctx, iss, cfg.VCT)
	if err != nil {
		return nil, err
	}

	// Token.
	asID := iss
	if len(md.AuthorizationServers) > 0 {
		asID = md.AuthorizationServers[0]
	}
	asURL, _ := wellKnown(asID, "oauth-authorization-server")
	var as struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := w.getJSON(ctx, asURL, &as); err != nil {
		return nil, &Error{Code: CodeBadMetadata, Description: "fetching authorization server metadata", Err: err}
	}
	if as.Issuer != asID || as.TokenEndpoint == "" {
		return nil, werr(CodeBadMetadata, "authorization server metadata names issuer %q, want %q", as.Issuer, asID)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:pre-authorized_code"}, "pre-authorized_code": {o.Grants.PreAuthorized.Code}}
	if o.NeedsTxCode() {
		form.Set("tx_code", txCode)
	}
	r, err := w.do(ctx, http.MethodPost, as.TokenEndpoint, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		// Spec: OpenID4VCI 1.0 §6.3: invalid_grant when "the End-User
		// provided the wrong Pre-Authorized Code or Transaction Code".
		if oauthCode(r) == "invalid_grant" {
			return nil, werr(CodeOfferInvalid, "token endpoint: %s", oauthError(r))
		}
		return nil, werr(CodeIssuerRefused, "token endpoint: %s", oauthError(r))
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(r.body, &tok) != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return nil, werr(CodeIssuerRefused, "token endpoint gave no Bearer access token")
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	return w.issue(ctx, &issuance{iss: iss, configID: configID, issuerDID: issuerDID, md: md, cfg: cfg,
		tokenEndpoint: as.TokenEndpoint, refreshToken: tok.RefreshToken,
		auth: func(string, string) map[string]string { return bearer }})
}

// issuance is what the credential half of a flow needs once the wallet
// holds an access token.
type issuance struct {
	iss, configID, issuerDID string
	md                       *issuerMetadata
	cfg                      credentialConfiguration
	tokenEndpoint            string
	refreshToken             string // "" keeps no refresh (Refill)
	// auth gives the headers that authorize a request to a protected
	// endpoint (Bearer, or DPoP with a fresh proof).
	auth func(method, url string) map[string]string
}

// issue asks for the credential's copies, checks every copy, and stores
// it.
func (w *Wallet) issue(ctx context.Context, is *issuance) (*Credential, error) {
	iss, configID, issuerDID, md, cfg := is.iss, is.configID, is.issuerDID, is.md, is.cfg

	// Nonce, then one proof per copy, each with its own key.
	r, err := w.do(ctx, http.MethodPost, md.NonceEndpoint, "", nil, nil)
	if err != nil {
		return nil, err
	}
	var nonce struct {
		CNonce string `json:"c_nonce"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &nonce) != nil || nonce.CNonce == "" {
		return nil, werr(CodeIssuerRefused, "nonce endpoint: %s", oauthError(r))
	}
	n := w.opts.Copies
	if md.BatchCredentialIssuance == nil {
		n = 1
	} else if bs := md.BatchCredentialIssuance.BatchSize; bs < n {
		n = max(bs, 1)
	}
	signers := make([]*keys.Signer, n)
	jwks := make([]jose.JWK, n)
	proofs := make([]string, n)
	for i := range n {
		if signers[i], jwks[i], err = newHolderKey(w.opts.HolderAlg); err != nil {
			return nil, err
		}
		if proofs[i], err = proofJWT(signers[i], iss, nonce.CNonce, w.opts.Now()); err != nil {
			return nil, err
		}
	}
	body, _ := json.Marshal(map[string]any{"credential_configuration_id": configID, "proofs": map[string]any{"jwt": proofs}})
	r, err = w.do(ctx, http.MethodPost, md.CredentialEndpoint, "application/json", body, is.auth(http.MethodPost, md.CredentialEndpoint))
	if err != nil {
		return nil, err
	}
	var cr struct {
		Credentials []struct {
			Credential string `json:"credential"`
		} `json:"credentials"`
		TransactionID  string `json:"transaction_id"`
		Interval       int    `json:"interval"`
		NotificationID string `json:"notification_id"`
	}
	if r.status == http.StatusAccepted {
		_ = json.Unmarshal(r.body, &cr)
		cr.Credentials = nil
		if cr.TransactionID == "" || md.DeferredCredentialEndpoint == "" {
			return nil, werr(CodeIssuerRefused, "deferred issuance without transaction_id or deferred endpoint")
		}
		if err := w.waitDeferred(ctx, md.DeferredCredentialEndpoint, is.auth, cr.TransactionID, cr.Interval, &cr); err != nil {
			return nil, err
		}
	} else if r.status != 200 {
		return nil, werr(CodeIssuerRefused, "credential endpoint: %s", oauthError(r))
	} else if json.Unmarshal(r.body, &cr) != nil {
		return nil, werr(CodeIssuerRefused, "credential endpoint: malformed answer")
	}
	if len(cr.Credentials) != n {
		return nil, werr(CodeBadCredential, "asked for %d copies, got %d", n, len(cr.Credentials))
	}

	// Check every copy before keeping any.
	rec := &credentialRecord{Credential: Credential{ID: ids.New("cred_"), Issuer: iss, IssuerDID: issuerDID,
		ConfigurationID: configID, VCT: cfg.VCT, ReceivedAt: w.opts.Now().UTC()}}
	rec.IssuerName = pickDisplay(md.Display, "").Name
	rec.IssuerDisplay = cleanDisplays(md.Display)
	rec.Display = cleanDisplays(cfg.CredentialMetadata.Display)
	rec.Name = pickDisplay(rec.Display, "").Name
	rec.ClaimDisplay = cleanClaimDisplays(cfg.CredentialMetadata.Claims)
	rec.Status, rec.StatusCheckedAt = StatusValid, w.opts.Now().UTC()
	if is.refreshToken != "" {
		rec.Refresh = &refreshInfo{Token: is.refreshToken, TokenEndpoint: is.tokenEndpoint, NonceEndpoint: md.NonceEndpoint,
			CredentialEndpoint: md.CredentialEndpoint, BatchSize: n}
	}
	verr := func() error {
		for i, c := range cr.Credentials {
			res, err := w.verifyIssued(ctx, c.Credential, iss, cfg.VCT, signers[i])
			if err != nil {
				return err
			}
			if i == 0 {
				rec.Claims, rec.IssuedAt, rec.Expiry = publicClaims(res.Claims), res.IssuedAt, res.Expiry
				rec.IssuerKey = publicJWK(res.IssuerKey)
			}
			rec.Copies = append(rec.Copies, credentialCopy{SDJWT: c.Credential, Key: jwks[i], Status: res.Status})
		}
		return nil
	}()
	if cr.NotificationID != "" && md.NotificationEndpoint != "" {
		event := "credential_accepted"
		if verr != nil {
			event = "credential_failure"
		}
		nb, _ := json.Marshal(map[string]string{"notification_id": cr.NotificationID, "event": event})
		if r, err := w.do(ctx, http.MethodPost, md.NotificationEndpoint, "application/json", nb, is.auth(http.MethodPost, md.NotificationEndpoint)); err != nil || r.status != http.StatusNoContent {
			w.opts.Logger.WarnContext(ctx, "notification not accepted", "issuer", iss)
		}
	}
	if verr != nil {
		return nil, verr
	}
	w.inlineLogos(ctx, rec.Display)
	w.inlineLogos(ctx, rec.IssuerDisplay)
	if err := w.v.put(ctx, kindCredential, rec.ID, rec.ReceivedAt, rec); err != nil {
		return nil, err
	}
	return rec.public(w.opts.Now()), nil
}

// Refill fetches fresh one-time copies of a credential with the refresh
// token the issuer gave at issuance, each bound to a new key and checked
// like the first ones; used copies are dropped. It fails with
// CodeIssuerRefused when the issuer no longer vouches for the credential
// (revoked, suspended, expired).
func (w *Wallet) Refill(ctx context.Context, id string) (*Credential, error) {
	var rec credentialRecord
	if err := w.v.get(ctx, kindCredential, id, &rec); err != nil {
		return nil, err
	}
	ri := rec.Refresh
	if ri == nil {
		return nil, werr(CodeIssuerRefused, "the issuer gave no refresh token for %s; ask it for a new offer", id)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ri.Token}}
	r, err := w.do(ctx, http.MethodPost, ri.TokenEndpoint, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	if err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &tok) != nil || tok.AccessToken == "" {
		return nil, werr(CodeIssuerRefused, "token endpoint: %s", oauthError(r))
	}
	if tok.RefreshToken != "" && tok.RefreshToken != ri.Token {
		// The issuer rotates refresh tokens (RFC 9700 §4.14.2): the old
		// one no longer works, and presenting it again would revoke them
		// all, so the new one is kept at once.
		if err := w.keepRefreshToken(ctx, id, tok.RefreshToken); err != nil {
			return nil, err
		}
	}
	if r, err = w.do(ctx, http.MethodPost, ri.NonceEndpoint, "", nil, nil); err != nil {
		return nil, err
	}
	var nonce struct {
		CNonce string `json:"c_nonce"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &nonce) != nil || nonce.CNonce == "" {
		return nil, werr(CodeIssuerRefused, "nonce endpoint: %s", oauthError(r))
	}
	n := max(ri.BatchSize, 1)
	signers := make([]*keys.Signer, n)
	jwks := make([]jose.JWK, n)
	proofs := make([]string, n)
	for i := range n {
		if signers[i], jwks[i], err = newHolderKey(w.opts.HolderAlg); err != nil {
			return nil, err
		}
		if proofs[i], err = proofJWT(signers[i], rec.Issuer, nonce.CNonce, w.opts.Now()); err != nil {
			return nil, err
		}
	}
	body, _ := json.Marshal(map[string]any{"credential_configuration_id": rec.ConfigurationID, "proofs": map[string]any{"jwt": proofs}})
	r, err = w.do(ctx, http.MethodPost, ri.CredentialEndpoint, "application/json", body, map[string]string{"Authorization": "Bearer " + tok.AccessToken})
	if err != nil {
		return nil, err
	}
	var cr struct {
		Credentials []struct {
			Credential string `json:"credential"`
		} `json:"credentials"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &cr) != nil || len(cr.Credentials) != n {
		return nil, werr(CodeIssuerRefused, "credential endpoint: %s", oauthError(r))
	}
	var fresh []credentialCopy
	var issuerKey *jose.JWK
	for i, c := range cr.Credentials {
		res, err := w.verifyIssued(ctx, c.Credential, rec.Issuer, rec.VCT, signers[i])
		if err != nil {
			return nil, err
		}
		issuerKey = publicJWK(res.IssuerKey)
		fresh = append(fresh, credentialCopy{SDJWT: c.Credential, Key: jwks[i], Status: res.Status})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.v.get(ctx, kindCredential, id, &rec); err != nil {
		return nil, err
	}
	kept := fresh
	for _, cp := range rec.Copies {
		if !cp.Used {
			kept = append(kept, cp)
		}
	}
	rec.Copies = kept
	rec.IssuerKey = issuerKey
	rec.Status, rec.StatusCheckedAt = StatusValid, w.opts.Now().UTC()
	if err := w.v.put(ctx, kindCredential, id, rec.ReceivedAt, &rec); err != nil {
		return nil, err
	}
	return rec.public(w.opts.Now()), nil
}

// keepRefreshToken stores a credential's new refresh token.
func (w *Wallet) keepRefreshToken(ctx context.Context, id, token string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var rec credentialRecord
	if err := w.v.get(ctx, kindCredential, id, &rec); err != nil {
		return err
	}
	if rec.Refresh == nil {
		return nil
	}
	rec.Refresh.Token = token
	return w.v.put(ctx, kindCredential, id, rec.ReceivedAt, &rec)
}

// waitDeferred polls the deferred endpoint until the credential comes or
// ctx ends.
func (w *Wallet) waitDeferred(ctx context.Context, endpoint string, auth func(method, url string) map[string]string, txID string, interval int, out any) error {
	if interval < 1 {
		interval = 5
	}
	body, _ := json.Marshal(map[string]string{"transaction_id": txID})
	for {
		select {
		case <-ctx.Done():
			return werr(CodeIssuerRefused, "the issuer has not approved the credential yet (transaction %s); try again later", txID)
		case <-time.After(time.Duration(interval) * time.Second):
		}
		r, err := w.do(ctx, http.MethodPost, endpoint, "application/json", body, auth(http.MethodPost, endpoint))
		if err != nil {
			return err
		}
		switch r.status {
		case http.StatusAccepted:
			continue
		case http.StatusOK:
			if json.Unmarshal(r.body, out) != nil {
				return werr(CodeIssuerRefused, "deferred endpoint: malformed answer")
			}
			return nil
		default:
			return werr(CodeIssuerRefused, "deferred endpoint: %s", oauthError(r))
		}
	}
}

func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

// checkIssuer asks the registry which agency owns the issuer URL and
// whether it is accredited for vct. Without a registry it returns "".
func (w *Wallet) checkIssuer(ctx context.Context, iss, vct string) (string, error) {
	reg := w.opts.Registry
	if reg == nil {
		if w.opts.RequireRegistry {
			return "", werr(CodeIssuerUntrusted, "no registry configured")
		}
		return "", nil
	}
	id, _, err := reg.DIDForIssuerURL(ctx, iss)
	if err != nil {
		if w.opts.RequireRegistry {
			return "", &Error{Code: CodeIssuerUntrusted, Description: "the registry does not know issuer " + iss, Err: err}
		}
		return "", nil
	}
	ok, err := reg.Accredited(ctx, id, didregistry.RoleIssuer, vct, w.opts.Now())
	if err != nil || !ok {
		return "", &Error{Code: CodeIssuerUntrusted, Description: id + " is not accredited to issue " + vct, Err: err}
	}
	return id, nil
}

// proofJWT signs an openid4vci-proof+jwt for the issuer (§8.2.1.1). It
// omits iss: the pre-authorized flow here is anonymous.
func proofJWT(k *keys.Signer, aud, nonce string, now time.Time) (string, error) {
	jwk, err := jose.PublicJWK(k.Public())
	if err != nil {
		return "", err
	}
	h, _ := json.Marshal(map[string]any{"alg": k.Alg(), "typ": "openid4vci-proof+jwt", "jwk": jwk})
	p, _ := json.Marshal(map[string]any{"aud": aud, "iat": now.Unix(), "nonce": nonce})
	return jose.SignRaw(k, h, p)
}

// verifyIssued checks a freshly issued copy: the issuer's signature (its
// JWT VC Issuer Metadata key, and with a registry the same key in its DID
// document), iss, vct, that cnf is our key, and that its status is valid.
func (w *Wallet) verifyIssued(ctx context.Context, sdjwt, iss, vct string, holder *keys.Signer) (*credential.Result, error) {
	res, err := w.verifyCopy(ctx, sdjwt)
	if err != nil {
		return nil, &Error{Code: CodeBadCredential, Description: "the issued credential does not verify", Err: err}
	}
	if res.Issuer != iss || res.VCT != vct {
		return nil, werr(CodeBadCredential, "the credential names issuer %q and type %q, not what was offered", res.Issuer, res.VCT)
	}
	got, err1 := jose.Thumbprint(res.HolderKey)
	want, err2 := jose.Thumbprint(holder.Public())
	if res.HolderKey == nil || err1 != nil || err2 != nil || got != want {
		return nil, werr(CodeBadCredential, "the credential is not bound to the key this wallet proved (cnf)")
	}
	if res.Status != nil {
		if err := w.checkStatus(ctx, res.Status, res.IssuerKey); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkStatus fetches the status list and requires the entry be valid.
func (w *Wallet) checkStatus(ctx context.Context, ref *credential.StatusRef, key any) error {
	r, err := w.do(ctx, http.MethodGet, ref.URI, "", nil, map[string]string{"Accept": "application/statuslist+jwt"})
	if err != nil {
		return err
	}
	if r.status != 200 {
		return werr(CodeBadCredential, "status list %s: HTTP %d", ref.URI, r.status)
	}
	tok, err := statuslist.ParseToken(string(r.body), ref.URI, key, w.opts.Now())
	if err != nil {
		return &Error{Code: CodeBadCredential, Description: "status list", Err: err}
	}
	s, err := tok.List.Get(ref.Index)
	if err != nil {
		return &Error{Code: CodeBadCredential, Description: "status index", Err: err}
	}
	if s != statuslist.Valid {
		return werr(CodeCredentialRevoked, "the issuer marks this credential as not valid (status %d)", s)
	}
	return nil
}

// publicClaims drops the registered claims from a processed payload,
// keeping the subject's claims.
func publicClaims(all map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range all {
		switch k {
		case "iss", "vct", "cnf", "status", "iat", "nbf", "exp", "sub", "vct#integrity":
			continue
		}
		out[k] = v
	}
	return out
}

func publicJWK(k any) *jose.JWK {
	j, err := jose.PublicJWK(k)
	if err != nil {
		return nil
	}
	return &j
}
