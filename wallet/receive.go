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
	"github.com/tongid/tong/credential/vciwire"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
)

// Offer is a parsed OpenID4VCI credential offer (§4.1.1).
type Offer vciwire.CredentialOffer

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
	if o.preAuthorizedCode() == "" {
		return nil, werr(CodeBadOffer, "only offers with a pre-authorized code are supported")
	}
	return &o, nil
}

// preAuthorizedCode is the offer's pre-authorized code, or "".
func (o *Offer) preAuthorizedCode() string {
	return o.Grants[vciwire.GrantPreAuthorizedCode].PreAuthorizedCode
}

// NeedsTxCode reports whether the offer asks for a PIN: any tx_code
// object, even {}, means the wallet must send one (§4.1.1).
func (o *Offer) NeedsTxCode() bool {
	return o.Grants[vciwire.GrantPreAuthorizedCode].TxCode != nil
}

// fetchMetadata fetches and checks an issuer's Credential Issuer Metadata
// (OpenID4VCI 1.0 §12.2).
func (w *Wallet) fetchMetadata(ctx context.Context, iss string) (*vciwire.IssuerMetadata, error) {
	mdURL, err := wellKnown(iss, "openid-credential-issuer")
	if err != nil {
		return nil, werr(CodeBadMetadata, "%v", err)
	}
	var md vciwire.IssuerMetadata
	if err := w.getJSON(ctx, mdURL, &md); err != nil {
		return nil, &Error{Code: codeOrNetwork(err, CodeBadMetadata), Description: "fetching issuer metadata", Err: err}
	}
	if md.CredentialIssuer != iss {
		return nil, werr(CodeBadMetadata, "metadata names issuer %q, the offer %q", md.CredentialIssuer, iss)
	}
	return &md, nil
}

// configuration returns the metadata's credential configuration
// configID, which must be a dc+sd-jwt credential.
func configuration(md *vciwire.IssuerMetadata, configID string) (vciwire.CredentialConfiguration, error) {
	cfg, ok := md.CredentialConfigurationsSupported[configID]
	if !ok || cfg.Format != credential.TypSDJWTVC || cfg.VCT == "" {
		return cfg, werr(CodeBadMetadata, "the issuer does not describe %q as a dc+sd-jwt credential", configID)
	}
	return cfg, nil
}

// checkEndpoints checks that the credential and nonce endpoints are https
// on the issuer's host.
func (w *Wallet) checkEndpoints(md *vciwire.IssuerMetadata, iss string) error {
	for _, ep := range []string{md.CredentialEndpoint, md.NonceEndpoint} {
		if _, err := w.checkURL(ep); err != nil || !sameOrigin(ep, iss) {
			return werr(CodeBadMetadata, "endpoint %q must be https on the issuer's host", ep)
		}
	}
	return nil
}

// fetchASMetadata fetches the metadata of the issuer's authorization
// server (OpenID4VCI 1.0 §12.3, RFC 8414 §3): the first of
// authorization_servers, or the issuer itself. It returns the
// authorization server's identifier with it; the caller checks the
// members it needs.
func (w *Wallet) fetchASMetadata(ctx context.Context, md *vciwire.IssuerMetadata, iss string) (string, *vciwire.ASMetadata, error) {
	asID := iss
	if len(md.AuthorizationServers) > 0 {
		asID = md.AuthorizationServers[0]
	}
	asURL, _ := wellKnown(asID, "oauth-authorization-server")
	var as vciwire.ASMetadata
	if err := w.getJSON(ctx, asURL, &as); err != nil {
		return "", nil, &Error{Code: CodeBadMetadata, Description: "fetching authorization server metadata", Err: err}
	}
	return asID, &as, nil
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
type TxCode = vciwire.TxCode

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
		cfg, ok := md.CredentialConfigurationsSupported[id]
		if !ok {
			return nil, werr(CodeBadMetadata, "the issuer does not describe %q", id)
		}
		ds := cleanDisplays(cfg.CredentialMetadata.Display)
		info.Credentials = append(info.Credentials, OfferedCredential{ConfigurationID: id, Name: pickDisplay(ds, "").Name, Display: ds})
	}
	if o.NeedsTxCode() {
		tc := *o.Grants[vciwire.GrantPreAuthorizedCode].TxCode
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
//
// The steps: parse the offer; fetch the issuer's metadata and check the
// offered configuration and the issuer's accreditation (prepare); redeem
// the pre-authorized code at the token endpoint (preAuthorizedToken); then
// the credential half, issue: a nonce, one key proof per copy, the
// credential request, the check of every copy, and the store.
func (w *Wallet) Receive(ctx context.Context, offerURI, txCode string) (*Credential, error) {
	o, err := w.ParseOffer(ctx, offerURI)
	if err != nil {
		return nil, err
	}
	if o.NeedsTxCode() && txCode == "" {
		return nil, werr(CodeTxCodeRequired, "this offer needs the PIN (tx_code) the agency gave you")
	}
	is, err := w.prepare(ctx, o.CredentialIssuer, o.CredentialConfigurationIDs[0])
	if err != nil {
		return nil, err
	}
	if err := w.preAuthorizedToken(ctx, is, o, txCode); err != nil {
		return nil, err
	}
	return w.issue(ctx, is)
}

// prepare fetches the issuer's metadata, checks the configuration offered
// (a dc+sd-jwt credential, jwt proofs) and asks the registry whether the
// issuer is accredited for its vct. The issuance it returns lacks auth.
func (w *Wallet) prepare(ctx context.Context, iss, configID string) (*issuance, error) {
	md, err := w.fetchMetadata(ctx, iss)
	if err != nil {
		return nil, err
	}
	cfg, err := configuration(md, configID)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.ProofTypesSupported[vciwire.ProofTypeJWT]; !ok {
		return nil, werr(CodeBadMetadata, "the issuer does not accept jwt proofs for %q", configID)
	}
	if err := w.checkEndpoints(md, iss); err != nil {
		return nil, err
	}
	// The registry: the issuer URL must belong to a did:tong agency
	// accredited for this vct.
	issuerDID, err := w.checkIssuer(ctx, iss, cfg.VCT)
	if err != nil {
		return nil, err
	}
	return &issuance{iss: iss, configID: configID, issuerDID: issuerDID, md: md, cfg: cfg}, nil
}

// preAuthorizedToken redeems the offer's pre-authorized code (and PIN)
// for a Bearer access token (§6), and sets is's token endpoint, refresh
// token and auth.
func (w *Wallet) preAuthorizedToken(ctx context.Context, is *issuance, o *Offer, txCode string) error {
	asID, as, err := w.fetchASMetadata(ctx, is.md, is.iss)
	if err != nil {
		return err
	}
	if as.Issuer != asID || as.TokenEndpoint == "" {
		return werr(CodeBadMetadata, "authorization server metadata names issuer %q, want %q", as.Issuer, asID)
	}
	form := url.Values{vciwire.ParamGrantType: {vciwire.GrantPreAuthorizedCode}, vciwire.ParamPreAuthorizedCode: {o.preAuthorizedCode()}}
	if o.NeedsTxCode() {
		form.Set(vciwire.ParamTxCode, txCode)
	}
	r, tok, err := w.postToken(ctx, as.TokenEndpoint, form, nil)
	if err != nil {
		return err
	}
	if r.status != 200 {
		// Spec: OpenID4VCI 1.0 §6.3: invalid_grant when "the End-User
		// provided the wrong Pre-Authorized Code or Transaction Code".
		if oauthCode(r) == "invalid_grant" {
			return werr(CodeOfferInvalid, "token endpoint: %s", oauthError(r))
		}
		return werr(CodeIssuerRefused, "token endpoint: %s", oauthError(r))
	}
	if tok == nil || !strings.EqualFold(tok.TokenType, "Bearer") {
		return werr(CodeIssuerRefused, "token endpoint gave no Bearer access token")
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	is.tokenEndpoint, is.refreshToken = as.TokenEndpoint, tok.RefreshToken
	is.auth = func(string, string) map[string]string { return bearer }
	return nil
}

// postToken sends a Token Request (§6.1). tok is the Token Response
// (§6.2) when the answer is a 200 with an access token, else nil; the
// caller reads r for the error.
func (w *Wallet) postToken(ctx context.Context, endpoint string, form url.Values, hdr map[string]string) (r *response, tok *vciwire.TokenResponse, err error) {
	r, err = w.do(ctx, http.MethodPost, endpoint, "application/x-www-form-urlencoded", []byte(form.Encode()), hdr)
	if err != nil {
		return nil, nil, err
	}
	var t vciwire.TokenResponse
	if r.status != 200 || json.Unmarshal(r.body, &t) != nil || t.AccessToken == "" {
		return r, nil, nil
	}
	return r, &t, nil
}

// issuance is what the credential half of a flow needs once the wallet
// holds an access token.
type issuance struct {
	iss, configID, issuerDID string
	md                       *vciwire.IssuerMetadata
	cfg                      vciwire.CredentialConfiguration
	tokenEndpoint            string
	refreshToken             string // "" keeps no refresh (Refill)
	// auth gives the headers that authorize a request to a protected
	// endpoint (Bearer, or DPoP with a fresh proof).
	auth func(method, url string) map[string]string
}

// issue asks for the credential's copies, checks every copy, and stores
// it.
func (w *Wallet) issue(ctx context.Context, is *issuance) (*Credential, error) {
	md := is.md
	n := w.batchSize(md)
	nonce, err := w.nonce(ctx, md.NonceEndpoint)
	if err != nil {
		return nil, err
	}
	hk, err := w.prove(n, is.iss, nonce)
	if err != nil {
		return nil, err
	}
	cr, err := w.credentialResponse(ctx, is, hk.proofs)
	if err != nil {
		return nil, err
	}
	if len(cr.Credentials) != n {
		return nil, werr(CodeBadCredential, "asked for %d copies, got %d", n, len(cr.Credentials))
	}
	rec := w.newRecord(is, n)
	// Check every copy before keeping any.
	copies, results, verr := w.verifyCopies(ctx, cr.Credentials, is.iss, is.cfg.VCT, hk)
	if verr == nil {
		rec.Claims, rec.IssuedAt, rec.Expiry = publicClaims(results[0].Claims), results[0].IssuedAt, results[0].Expiry
		rec.IssuerKey = publicJWK(results[0].IssuerKey)
		rec.Copies = copies
	}
	w.notify(ctx, is, cr.NotificationID, verr == nil)
	if verr != nil {
		return nil, verr
	}
	return w.store(ctx, rec)
}

// batchSize is how many copies to ask for: Options.Copies, bounded by
// the issuer's batch_size (one without batch issuance).
func (w *Wallet) batchSize(md *vciwire.IssuerMetadata) int {
	n := w.opts.Copies
	if md.BatchCredentialIssuance == nil {
		n = 1
	} else if bs := md.BatchCredentialIssuance.BatchSize; bs < n {
		n = max(bs, 1)
	}
	return n
}

// nonce fetches a c_nonce from the nonce endpoint (§7).
func (w *Wallet) nonce(ctx context.Context, endpoint string) (string, error) {
	r, err := w.do(ctx, http.MethodPost, endpoint, "", nil, nil)
	if err != nil {
		return "", err
	}
	var nr vciwire.NonceResponse
	if r.status != 200 || json.Unmarshal(r.body, &nr) != nil || nr.CNonce == "" {
		return "", werr(CodeIssuerRefused, "nonce endpoint: %s", oauthError(r))
	}
	return nr.CNonce, nil
}

// holderKeys are the fresh keys of one credential request, and their
// proofs.
type holderKeys struct {
	signers []*keys.Signer
	jwks    []jose.JWK
	proofs  []string
}

// prove makes n holder keys, each with its own key proof for aud and
// nonce (§8.2, Appendix F.1).
func (w *Wallet) prove(n int, aud, nonce string) (*holderKeys, error) {
	hk := &holderKeys{signers: make([]*keys.Signer, n), jwks: make([]jose.JWK, n), proofs: make([]string, n)}
	var err error
	for i := range n {
		if hk.signers[i], hk.jwks[i], err = newHolderKey(w.opts.HolderAlg); err != nil {
			return nil, err
		}
		if hk.proofs[i], err = proofJWT(hk.signers[i], aud, nonce, w.opts.Now()); err != nil {
			return nil, err
		}
	}
	return hk, nil
}

// postCredentialRequest sends a Credential Request (§8.2) for configID
// with jwt proofs.
func (w *Wallet) postCredentialRequest(ctx context.Context, endpoint, configID string, proofs []string, hdr map[string]string) (*response, error) {
	ps, _ := json.Marshal(vciwire.Proofs{JWT: proofs})
	body, _ := json.Marshal(vciwire.CredentialRequest{CredentialConfigurationID: configID, Proofs: ps})
	return w.do(ctx, http.MethodPost, endpoint, "application/json", body, hdr)
}

// credentialResponse requests the credential and reads the Credential
// Response (§8.3), waiting at the deferred endpoint (§9) when the issuer
// answers 202.
func (w *Wallet) credentialResponse(ctx context.Context, is *issuance, proofs []string) (*vciwire.CredentialResponse, error) {
	md := is.md
	r, err := w.postCredentialRequest(ctx, md.CredentialEndpoint, is.configID, proofs, is.auth(http.MethodPost, md.CredentialEndpoint))
	if err != nil {
		return nil, err
	}
	var cr vciwire.CredentialResponse
	switch {
	case r.status == http.StatusAccepted:
		_ = json.Unmarshal(r.body, &cr)
		cr.Credentials = nil
		if cr.TransactionID == "" || md.DeferredCredentialEndpoint == "" {
			return nil, werr(CodeIssuerRefused, "deferred issuance without transaction_id or deferred endpoint")
		}
		if err := w.waitDeferred(ctx, md.DeferredCredentialEndpoint, is.auth, cr.TransactionID, cr.Interval, &cr); err != nil {
			return nil, err
		}
	case r.status != 200:
		return nil, werr(CodeIssuerRefused, "credential endpoint: %s", oauthError(r))
	case json.Unmarshal(r.body, &cr) != nil:
		return nil, werr(CodeIssuerRefused, "credential endpoint: malformed answer")
	}
	return &cr, nil
}

// newRecord starts the record of a credential being received: what the
// metadata says of the issuer and the type, and how to refill it.
func (w *Wallet) newRecord(is *issuance, n int) *credentialRecord {
	md, cfg := is.md, is.cfg
	rec := &credentialRecord{Credential: Credential{ID: ids.New("cred_"), Issuer: is.iss, IssuerDID: is.issuerDID,
		ConfigurationID: is.configID, VCT: cfg.VCT, ReceivedAt: w.opts.Now().UTC()}}
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
	return rec
}

// verifyCopies checks each issued copy against the key it was bound to
// (verifyIssued), and returns the copies to keep with each one's result.
func (w *Wallet) verifyCopies(ctx context.Context, creds []vciwire.IssuedCredential, iss, vct string, hk *holderKeys) ([]credentialCopy, []*credential.Result, error) {
	copies := make([]credentialCopy, 0, len(creds))
	results := make([]*credential.Result, 0, len(creds))
	for i, c := range creds {
		res, err := w.verifyIssued(ctx, c.Credential, iss, vct, hk.signers[i])
		if err != nil {
			return nil, nil, err
		}
		copies = append(copies, credentialCopy{SDJWT: c.Credential, Key: hk.jwks[i], Status: res.Status})
		results = append(results, res)
	}
	return copies, results, nil
}

// notify tells the issuer whether the wallet kept the credential (§11),
// when it gave a notification_id and has a notification endpoint. A
// refused notification is logged, never an error.
func (w *Wallet) notify(ctx context.Context, is *issuance, notificationID string, accepted bool) {
	ep := is.md.NotificationEndpoint
	if notificationID == "" || ep == "" {
		return
	}
	event := vciwire.EventCredentialAccepted
	if !accepted {
		event = vciwire.EventCredentialFailure
	}
	nb, _ := json.Marshal(vciwire.NotificationRequest{NotificationID: notificationID, Event: event})
	if r, err := w.do(ctx, http.MethodPost, ep, "application/json", nb, is.auth(http.MethodPost, ep)); err != nil || r.status != http.StatusNoContent {
		w.opts.Logger.WarnContext(ctx, "notification not accepted", "issuer", is.iss)
	}
}

// store inlines the record's logos and keeps it.
func (w *Wallet) store(ctx context.Context, rec *credentialRecord) (*Credential, error) {
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
	access, err := w.refreshToken(ctx, id, ri)
	if err != nil {
		return nil, err
	}
	nonce, err := w.nonce(ctx, ri.NonceEndpoint)
	if err != nil {
		return nil, err
	}
	n := max(ri.BatchSize, 1)
	hk, err := w.prove(n, rec.Issuer, nonce)
	if err != nil {
		return nil, err
	}
	r, err := w.postCredentialRequest(ctx, ri.CredentialEndpoint, rec.ConfigurationID, hk.proofs, map[string]string{"Authorization": "Bearer " + access})
	if err != nil {
		return nil, err
	}
	var cr vciwire.CredentialResponse
	if r.status != 200 || json.Unmarshal(r.body, &cr) != nil || len(cr.Credentials) != n {
		return nil, werr(CodeIssuerRefused, "credential endpoint: %s", oauthError(r))
	}
	fresh, results, err := w.verifyCopies(ctx, cr.Credentials, rec.Issuer, rec.VCT, hk)
	if err != nil {
		return nil, err
	}
	return w.keepFresh(ctx, id, &rec, fresh, publicJWK(results[len(results)-1].IssuerKey))
}

// refreshToken redeems a credential's refresh token for an access token
// (RFC 6749 §6), keeping the new refresh token when the issuer rotates
// it.
func (w *Wallet) refreshToken(ctx context.Context, id string, ri *refreshInfo) (string, error) {
	form := url.Values{vciwire.ParamGrantType: {vciwire.GrantRefreshToken}, vciwire.ParamRefreshToken: {ri.Token}}
	r, tok, err := w.postToken(ctx, ri.TokenEndpoint, form, nil)
	if err != nil {
		return "", err
	}
	if tok == nil {
		return "", werr(CodeIssuerRefused, "token endpoint: %s", oauthError(r))
	}
	if tok.RefreshToken != "" && tok.RefreshToken != ri.Token {
		// The issuer rotates refresh tokens (RFC 9700 §4.14.2): the old
		// one no longer works, and presenting it again would revoke them
		// all, so the new one is kept at once.
		if err := w.keepRefreshToken(ctx, id, tok.RefreshToken); err != nil {
			return "", err
		}
	}
	return tok.AccessToken, nil
}

// keepFresh adds a refill's copies to the stored credential, dropping the
// used ones. It reads the record again into rec, under the lock.
func (w *Wallet) keepFresh(ctx context.Context, id string, rec *credentialRecord, fresh []credentialCopy, issuerKey *jose.JWK) (*Credential, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.v.get(ctx, kindCredential, id, rec); err != nil {
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
	if err := w.v.put(ctx, kindCredential, id, rec.ReceivedAt, rec); err != nil {
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
	body, _ := json.Marshal(vciwire.DeferredCredentialRequest{TransactionID: txID})
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
