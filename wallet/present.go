package wallet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/dcql"
	"github.com/tongid/tong/credential/vpwire"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
)

// OpenID4VP constants.
const (
	TypRequestObject = vpwire.TypRequestObject
	// PrefixDID and PrefixRedirectURI are the client_id prefixes this
	// wallet accepts (OpenID4VP 1.0 §5.9).
	PrefixDID         = vpwire.PrefixDecentralizedIdentifier
	PrefixRedirectURI = vpwire.PrefixRedirectURI
	// SelfIssuedAudience is the aud of request objects under static
	// discovery (§5.8).
	SelfIssuedAudience = vpwire.SelfIssuedAudience
	// PurposeClaim is Tong's request-object extension naming the purpose
	// the verifier asks for ("pay-fee"); the wallet checks the verifier's
	// accreditation for it in the registry.
	PurposeClaim = vpwire.PurposeClaim
	// MaxRequestAge bounds a request object's lifetime when it has no exp.
	MaxRequestAge = 10 * time.Minute
)

// Request is a verified OpenID4VP authorization request, matched against
// the wallet.
type Request struct {
	ClientID string
	// VerifierDID is the verifier's DID (decentralized_identifier: prefix).
	VerifierDID string
	// Verified is true when the registry vouched for the verifier: the
	// request was signed with a key of its DID document and the DID is
	// accredited for Purpose. Unverified requests must be shown as such.
	Verified bool
	// Name is the verifier's display name from client_metadata: a claim,
	// not a proof.
	Name        string
	Purpose     string
	Nonce       string
	State       string
	ResponseURI string
	Expiry      time.Time
	Query       *dcql.Query
	// TransactionData are the decoded transaction_data objects (such as a
	// payment), with their encoded forms kept for hashing.
	TransactionData []map[string]any
	rawTxData       []string
	// Match is the DCQL evaluation over the wallet's usable credentials.
	Match *dcql.Result
	creds []*Credential
	haip  haipRequest // x509_hash and direct_post.jwt (haip.go)
}

// ConsentRequest is what the citizen is asked to approve.
type ConsentRequest struct {
	Verifier        string // client_id
	VerifierDID     string
	Verified        bool
	Name            string
	Purpose         string
	Credentials     []ConsentCredential
	TransactionData []map[string]any
}

// ConsentCredential is one credential to present, with the exact claims.
type ConsentCredential struct {
	QueryID      string
	CredentialID string
	Name         string
	VCT          string
	Claims       []ConsentClaim

	credential *Credential
}

// Credential is the wallet's credential this entry presents (for its
// display metadata and claim labels).
func (c *ConsentCredential) Credential() *Credential { return c.credential }

// ConsentClaim is one claim to disclose and its value.
type ConsentClaim struct {
	Path  []any
	Value any
}

// Decision is the citizen's answer. Approved lists, per credential id, the
// claim paths the citizen agrees to disclose; nil means every claim shown.
// Claims not listed are withheld, even if the verifier asked for them.
type Decision struct {
	Approve  bool
	Approved map[string][][]any
}

// ConsentFunc asks the citizen.
type ConsentFunc func(ctx context.Context, req *ConsentRequest) (Decision, error)

// Match fetches, verifies and evaluates an OpenID4VP request URI
// (openid4vp://?client_id=...&request_uri=... or by value). It takes the
// steps of OpenID4VP 1.0 §5 in order: fetch the request (fetchRequest),
// check its parameters (newRequest), check the request object's signature
// and the client (checkClient), parse the DCQL query and the transaction
// data (parseQuery), and find the credentials that answer it (match).
// [Request.Consent] then builds what the citizen is asked.
func (w *Wallet) Match(ctx context.Context, requestURI string) (*Request, error) {
	u, err := url.Parse(strings.TrimSpace(requestURI))
	if err != nil {
		return nil, werr(CodeBadRequest, "not a URI")
	}
	ar := vpwire.ParseAuthorizationRequest(u.Query())
	if ar.ClientID == "" {
		return nil, werr(CodeBadRequest, "client_id is missing")
	}
	fr, err := w.fetchRequest(ctx, ar, u.Query())
	if err != nil {
		return nil, err
	}
	req, err := w.newRequest(ar.ClientID, fr)
	if err != nil {
		return nil, err
	}
	if err := w.checkClient(ctx, req, fr); err != nil {
		return nil, err
	}
	if err := req.parseQuery(fr.ro); err != nil {
		return nil, err
	}
	if err := w.match(ctx, req); err != nil {
		return nil, err
	}
	return req, nil
}

// fetchedRequest is an authorization request as received: its
// parameters and, when it came as a signed request object, the JWS (nil
// for an unsigned request by value).
type fetchedRequest struct {
	ro  *vpwire.RequestObject
	jws *jose.JWS
	// members are the request object's member names, for the rules that
	// are about presence, not value (nil for a request by value).
	members vpwire.Members
}

func (fr *fetchedRequest) signed() bool { return fr.jws != nil }

// fetchRequest gets the authorization request's parameters: the request
// object from request_uri, or the URI's own query for an unsigned request
// by value.
func (w *Wallet) fetchRequest(ctx context.Context, ar vpwire.AuthorizationRequest, q url.Values) (*fetchedRequest, error) {
	switch {
	case ar.Request != "":
		return nil, werr(CodeBadRequest, "request by value is not supported; use request_uri")
	case ar.RequestURI != "":
		return w.fetchRequestObject(ctx, ar)
	}
	return requestFromQuery(q)
}

// fetchRequestObject fetches and parses the signed request object at
// request_uri; its signature is checked later, by checkClient.
//
// Spec: OpenID4VP 1.0 §5: "Wallets MUST NOT process Request Objects where
// the typ Header Parameter is not present or does not have the value
// oauth-authz-req+jwt."
func (w *Wallet) fetchRequestObject(ctx context.Context, ar vpwire.AuthorizationRequest) (*fetchedRequest, error) {
	method := http.MethodGet
	if m := ar.RequestURIMethod; m == vpwire.RequestURIMethodPost {
		method = http.MethodPost
	} else if m != "" && m != vpwire.RequestURIMethodGet {
		return nil, werr(CodeBadRequest, "request_uri_method must be get or post")
	}
	r, err := w.do(ctx, method, ar.RequestURI, "application/x-www-form-urlencoded", []byte{}, map[string]string{"Accept": vpwire.MediaTypeRequestObject})
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		return nil, werr(CodeBadRequest, "request_uri: HTTP %d", r.status)
	}
	jws, err := jose.Parse(strings.TrimSpace(string(r.body)), 64<<10)
	if err != nil {
		return nil, &Error{Code: CodeBadRequest, Description: "the request object is not a valid JWS", Err: err}
	}
	if jws.Header.Typ != TypRequestObject {
		return nil, werr(CodeBadRequest, "request object typ must be %s", TypRequestObject)
	}
	// The strict parser refuses duplicate members and bad UTF-8 first.
	if err := jose.CheckJSON(jws.Payload, 16); err != nil {
		return nil, werr(CodeBadRequest, "request object payload is not a JSON object")
	}
	ro := new(vpwire.RequestObject)
	members, err := vpwire.Unmarshal([]byte(jws.Payload), ro)
	if err != nil {
		return nil, &Error{Code: CodeBadRequest, Description: "request object payload is not a JSON object of OpenID4VP parameters", Err: err}
	}
	return &fetchedRequest{ro: ro, jws: jws, members: members}, nil
}

// requestFromQuery reads an unsigned request by value, which only the
// redirect_uri prefix may send (checkClient), from the URI's query.
// transaction_data by value is not read (it never was): only a signed
// request asks the citizen to sign for something.
func requestFromQuery(q url.Values) (*fetchedRequest, error) {
	ro := &vpwire.RequestObject{
		ClientID: q.Get(vpwire.ParamClientID), ResponseType: q.Get(vpwire.ParamResponseType),
		ResponseMode: q.Get(vpwire.ParamResponseMode), ResponseURI: q.Get(vpwire.ParamResponseURI),
		RedirectURI: q.Get(vpwire.ParamRedirectURI), Nonce: q.Get(vpwire.ParamNonce), State: q.Get(vpwire.ParamState),
		Purpose: q.Get(PurposeClaim),
	}
	// transaction_data asks the citizen to approve something (a payment)
	// on behalf of the verifier; an unsigned request cannot say who that
	// is, so it is refused rather than silently dropped (which would let
	// the citizen sign a presentation without seeing what it approves).
	if _, ok := q[vpwire.ParamTransactionData]; ok {
		return nil, werr(CodeBadRequest, "this unsigned request asks you to approve a transaction; only a signed request may")
	}
	// Spec: §5.1: "parameters containing objects are transferred as
	// JSON-serialized strings".
	if dq := q.Get(vpwire.ParamDCQLQuery); dq != "" {
		if !json.Valid([]byte(dq)) {
			return nil, werr(CodeBadRequest, "dcql_query is not JSON")
		}
		ro.DCQLQuery = json.RawMessage(dq)
	}
	if raw := q.Get(vpwire.ParamClientMetadata); raw != "" {
		cm := new(vpwire.ClientMetadata)
		if json.Unmarshal([]byte(raw), cm) == nil {
			ro.ClientMetadata = cm
		}
	}
	return &fetchedRequest{ro: ro}, nil
}

// newRequest checks the request's parameters against the client_id of the
// URI and what this wallet answers (vp_token by direct_post or
// direct_post.jwt, to an https response_uri), and a signed request
// object's audience and lifetime.
func (w *Wallet) newRequest(clientID string, fr *fetchedRequest) (*Request, error) {
	ro := fr.ro
	// Spec: §5.10.1: "The Client Identifier value in the client_id
	// Authorization Request parameter and the Request Object client_id
	// claim value MUST be identical, including the Client Identifier
	// Prefix."
	if ro.ClientID != clientID {
		return nil, werr(CodeBadRequest, "client_id in the request differs from the URI's")
	}
	req := &Request{ClientID: clientID, Nonce: ro.Nonce, State: ro.State, ResponseURI: ro.ResponseURI, Purpose: ro.Purpose}
	if fr.signed() && ro.ClientMetadata != nil {
		// Only a signed request's client_name is shown: an unsigned one's
		// is anyone's to write.
		req.Name = ro.ClientMetadata.ClientName
	}
	if ro.ResponseType != vpwire.ResponseTypeVPToken {
		return nil, werr(CodeBadRequest, "only response_type vp_token is supported")
	}
	if err := checkResponseMode(req, ro); err != nil {
		return nil, err
	}
	if req.Nonce == "" || len(req.Nonce) > 256 {
		return nil, werr(CodeBadRequest, "nonce is missing")
	}
	if _, err := w.checkURL(req.ResponseURI); err != nil {
		return nil, werr(CodeBadRequest, "response_uri: %v", err)
	}
	// Spec: §8.2: "If the redirect_uri Authorization Request parameter is
	// present when the Response Mode is direct_post, the Wallet MUST
	// return an invalid_request Authorization Response error."
	if ro.RedirectURI != "" || fr.members.Has(vpwire.ParamRedirectURI) {
		return nil, werr(CodeBadRequest, "redirect_uri is not allowed with direct_post")
	}
	if fr.signed() {
		if err := w.checkLifetime(req, ro, fr.members); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// checkLifetime checks a signed request object's aud (§5.8) and sets the
// request's expiry from exp, or iat plus MaxRequestAge.
func (w *Wallet) checkLifetime(req *Request, ro *vpwire.RequestObject, members vpwire.Members) error {
	if (ro.Audience != "" || members.Has("aud")) && ro.Audience != SelfIssuedAudience {
		return werr(CodeBadRequest, "request object aud must be %s", SelfIssuedAudience)
	}
	switch {
	case ro.Expiry != 0:
		req.Expiry = time.Unix(int64(ro.Expiry), 0)
	case ro.IssuedAt != 0:
		req.Expiry = time.Unix(int64(ro.IssuedAt), 0).Add(MaxRequestAge)
	default:
		return werr(CodeBadRequest, "the request object has neither exp nor iat")
	}
	if !w.opts.Now().Before(req.Expiry) {
		return werr(CodeRequestExpired, "the request expired at %s; ask the counter for a new code", req.Expiry.Format(time.TimeOnly))
	}
	return nil
}

// checkClient authenticates the verifier by its Client Identifier Prefix
// (§5.9.3): a decentralized_identifier: or x509_hash: request must be
// signed by the key its client_id names; a redirect_uri: request must not
// be signed, is unverified, and its client_id is its response_uri.
func (w *Wallet) checkClient(ctx context.Context, req *Request, fr *fetchedRequest) error {
	clientID, signed := req.ClientID, fr.signed()
	switch {
	case strings.HasPrefix(clientID, PrefixDID):
		if !signed {
			return werr(CodeBadRequest, "a %s request must be signed", PrefixDID)
		}
		return w.checkVerifier(ctx, req, fr.jws, fr.jws.Header.Kid)
	case strings.HasPrefix(clientID, PrefixX509Hash):
		if !signed {
			return werr(CodeBadRequest, "a %s request must be signed", PrefixX509Hash)
		}
		return w.checkX509Hash(req, fr.jws)
	case strings.HasPrefix(clientID, PrefixRedirectURI):
		if signed {
			return werr(CodeBadRequest, "a %s request must not be signed (§5.9.3)", PrefixRedirectURI)
		}
		if strings.TrimPrefix(clientID, PrefixRedirectURI) != req.ResponseURI {
			return werr(CodeBadRequest, "a %s client_id must equal response_uri", PrefixRedirectURI)
		}
		if w.opts.RequireRegistry {
			return werr(CodeVerifierUntrusted, "unverified verifiers are not allowed by this wallet")
		}
		return nil
	}
	return werr(CodeBadRequest, "client_id prefix not supported: %q", clientID)
}

// parseQuery parses the request's DCQL query (§6) and decodes its
// transaction_data (§5.1), keeping each entry as sent for its hash.
func (req *Request) parseQuery(ro *vpwire.RequestObject) error {
	if dq := bytes.TrimSpace(ro.DCQLQuery); len(dq) == 0 || string(dq) == "null" {
		return werr(CodeBadRequest, "dcql_query is missing")
	}
	var err error
	if req.Query, err = dcql.Parse(ro.DCQLQuery); err != nil {
		return &Error{Code: CodeBadRequest, Description: "dcql_query", Err: err}
	}
	for _, s := range ro.TransactionData {
		b, err := base64.RawURLEncoding.DecodeString(s)
		var obj map[string]any
		if err != nil || json.Unmarshal(b, &obj) != nil || obj[vpwire.TransactionDataType] == nil || obj[vpwire.TransactionDataCredentialIDs] == nil {
			return werr(CodeBadRequest, "transaction_data entries must be base64url JSON objects with type and credential_ids")
		}
		req.TransactionData = append(req.TransactionData, obj)
		req.rawTxData = append(req.rawTxData, s)
	}
	return nil
}

// match evaluates the request's DCQL query over the usable credentials:
// unexpired, not known to be revoked or suspended, with an unused copy.
// A credential whose copies ran out is refilled first when it can be.
// When nothing usable answers, it says why if it can: the copies are
// used up (CodeCopiesExhausted) or the credential is no longer valid
// (CodeCredentialRevoked); otherwise Match.Satisfied is false.
func (w *Wallet) match(ctx context.Context, req *Request) error {
	creds, err := w.Credentials(ctx)
	if err != nil {
		return err
	}
	var exhausted, invalid []*Credential
	for _, c := range creds {
		switch {
		case c.Status == StatusExpired:
			continue
		case c.Status == StatusRevoked || c.Status == StatusSuspended:
			invalid = append(invalid, c)
			continue
		case c.CopiesLeft == 0:
			if w.wantsRefill(c) {
				if fresh, err := w.Refill(ctx, c.ID); err == nil && fresh.CopiesLeft > 0 {
					req.creds = append(req.creds, fresh)
					continue
				}
			}
			exhausted = append(exhausted, c)
			continue
		}
		req.creds = append(req.creds, c)
	}
	if req.Match, err = req.Query.Match(dcqlCredentials(req.creds, req.Query)); err != nil {
		return &Error{Code: CodeBadRequest, Description: "dcql_query", Err: err}
	}
	if req.Match.Satisfied {
		return nil
	}
	if len(exhausted) > 0 {
		if m, err := req.Query.Match(dcqlCredentials(append(slices.Clone(req.creds), exhausted...), req.Query)); err == nil && m.Satisfied {
			return werr(CodeCopiesExhausted, "every one-time copy of the credential asked for is used, and the issuer gave no new ones; ask the issuer for the credential again")
		}
	}
	if len(invalid) > 0 {
		if m, err := req.Query.Match(dcqlCredentials(append(slices.Clone(req.creds), invalid...), req.Query)); err == nil && m.Satisfied {
			return werr(CodeCredentialRevoked, "the credential asked for is revoked or suspended by its issuer")
		}
	}
	return nil
}

// dcqlCredentials describes the credentials to the matcher. Their trusted
// authorities are read only when q asks for some.
func dcqlCredentials(cs []*Credential, q *dcql.Query) []dcql.Credential {
	wantAuthorities := false
	for i := range q.Credentials {
		wantAuthorities = wantAuthorities || q.Credentials[i].TrustedAuthorities != nil
	}
	dc := make([]dcql.Credential, len(cs))
	for i, c := range cs {
		dc[i] = dcql.Credential{ID: c.ID, Format: dcql.FormatSDJWTVC, VCT: c.VCT, HolderBinding: true, Claims: c.Claims}
		if wantAuthorities {
			dc[i].Authorities = authorities(c)
		}
	}
	return dc
}

// authorities lists the trusted authorities a credential answers: type
// "aki" with the KeyIdentifiers of the AuthorityKeyIdentifiers in the x5c
// header of the copy that would be presented (the first unused one). The
// values are the authority key identifiers of the chain's certificates,
// not their subject key identifiers, as the spec words them: a query
// names the authority that certified the issuer (the city CA's key
// identifier is the AuthorityKeyIdentifier of the agency certificate it
// issued), not the issuer's own key. A credential without x5c, or with a
// chain that does not parse, has none, so it matches no query that
// requires trusted authorities. The wallet does not verify the chain:
// matching only spares the End-User a presentation the verifier would
// refuse, and the verifier checks the chain itself.
//
// Spec: OpenID4VP 1.0 §6.1.1.1: "The raw byte representation of this
// element MUST match with the AuthorityKeyIdentifier element of an X.509
// certificate in the certificate chain present in the Credential (e.g.,
// in the header of an mdoc or SD-JWT)."
func authorities(c *Credential) []dcql.TrustedAuthority {
	if len(c.copies) == 0 {
		return nil
	}
	sdjwt := c.copies[0].SDJWT
	for _, cp := range c.copies {
		if !cp.Used {
			sdjwt = cp.SDJWT
			break
		}
	}
	jwt, _, _ := strings.Cut(sdjwt, "~")
	jws, err := jose.Parse(jwt, credential.MaxTokenSize)
	if err != nil || len(jws.Header.X5C) == 0 {
		return nil
	}
	akis, err := credential.AuthorityKeyIDs(jws.Header.X5C)
	if err != nil || len(akis) == 0 {
		return nil
	}
	return []dcql.TrustedAuthority{{Type: dcql.TrustedAuthorityAKI, Values: akis}}
}

// checkVerifier verifies a decentralized_identifier: request: the key is
// in the verifier's DID document (resolved with proofs through the
// registry) under authentication, and the DID is accredited for the
// purpose.
func (w *Wallet) checkVerifier(ctx context.Context, req *Request, jws *jose.JWS, kid string) error {
	id := strings.TrimPrefix(req.ClientID, PrefixDID)
	req.VerifierDID = id
	reg := w.opts.Registry
	if reg == nil {
		return werr(CodeVerifierUntrusted, "no registry configured to check verifier %s", id)
	}
	if kid == "" || !strings.HasPrefix(kid, id+"#") {
		return werr(CodeVerifierUntrusted, "the request's kid must be a key of %s", id)
	}
	res, err := reg.Resolve(ctx, id, did.ResolveOptions{})
	if err != nil {
		return &Error{Code: CodeVerifierUntrusted, Description: "resolving " + id, Err: err}
	}
	if res.DocumentMetadata.Deactivated {
		return werr(CodeVerifierUntrusted, "%s is deactivated", id)
	}
	key, err := res.Document.KeyFor(did.Authentication, kid)
	if err != nil {
		return &Error{Code: CodeVerifierUntrusted, Description: "the request was signed with a key that is not in the verifier's DID document", Err: err}
	}
	if err := jws.Verify(key); err != nil {
		return &Error{Code: CodeVerifierUntrusted, Description: "the request object's signature does not verify", Err: err}
	}
	if req.Purpose == "" {
		return werr(CodeVerifierUntrusted, "the request names no purpose (%s)", PurposeClaim)
	}
	ok, err := reg.Accredited(ctx, id, didregistry.RoleVerifier, req.Purpose, w.opts.Now())
	if err != nil {
		return &Error{Code: codeOrNetwork(err, CodeVerifierUntrusted), Description: "checking the accreditation of " + id, Err: err}
	}
	if !ok {
		return werr(CodeVerifierNotAccredited, "%s is not accredited to ask for %s", id, req.Purpose)
	}
	req.Verified = true
	return nil
}

// Consent is what Present will ask the citizen: the verifier, the
// purpose, each credential chosen with the exact claims and their values,
// and any transaction_data. An app that shows its own consent screen
// calls it after Match; it is nil when the request is not satisfied.
func (req *Request) Consent() *ConsentRequest {
	if req.Match == nil || !req.Match.Satisfied {
		return nil
	}
	byID := map[string]*Credential{}
	for _, c := range req.creds {
		byID[c.ID] = c
	}
	cr := &ConsentRequest{Verifier: req.ClientID, VerifierDID: req.VerifierDID, Verified: req.Verified, Name: req.Name,
		Purpose: req.Purpose, TransactionData: req.TransactionData}
	qids := make([]string, 0, len(req.Match.Selection))
	for qid := range req.Match.Selection {
		qids = append(qids, qid)
	}
	slices.Sort(qids) // a stable order for the screen
	for _, qid := range qids {
		for _, m := range req.Match.Selection[qid] {
			c := byID[m.ID]
			cc := ConsentCredential{QueryID: qid, CredentialID: c.ID, Name: c.Name, VCT: c.VCT, credential: c}
			for _, p := range m.Paths {
				v, _ := p.Lookup(c.Claims)
				cc.Claims = append(cc.Claims, ConsentClaim{Path: p, Value: v})
			}
			cr.Credentials = append(cr.Credentials, cc)
		}
	}
	return cr
}

// Present asks the citizen through consent and, if they approve, sends the
// vp_token with only the approved claims, each credential from a fresh
// one-time copy, to the verifier's response_uri. It records a receipt.
func (w *Wallet) Present(ctx context.Context, req *Request, consent ConsentFunc) (*Receipt, error) {
	if !req.Match.Satisfied {
		_ = w.sendError(ctx, req, "access_denied")
		return nil, werr(CodeNoMatch, "the wallet holds no credentials that answer this request")
	}
	cr := req.Consent()
	d, err := consent(ctx, cr)
	if err != nil {
		return nil, err
	}
	if !d.Approve {
		_ = w.sendError(ctx, req, "access_denied")
		return nil, werr(CodeDeclined, "the citizen declined")
	}
	var kbExtra map[string]any
	if len(req.rawTxData) > 0 {
		hashes := make([]string, len(req.rawTxData))
		for i, s := range req.rawTxData {
			sum := sha256.Sum256([]byte(s))
			hashes[i] = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		kbExtra = map[string]any{vpwire.KBTransactionDataHashes: hashes, vpwire.KBTransactionDataHashesAlg: "sha-256"}
	}
	vpToken := vpwire.VPToken{}
	rec := &Receipt{ID: ids.New("rcp_"), At: w.opts.Now().UTC(), Verifier: req.ClientID, VerifierDID: req.VerifierDID,
		Verified: req.Verified, Name: req.Name, Purpose: req.Purpose, TransactionData: req.TransactionData}
	for _, cc := range cr.Credentials {
		var paths []credential.Path
		var shown [][]any
		approved, limited := d.Approved[cc.CredentialID]
		for _, cl := range cc.Claims {
			if limited && !containsPath(approved, cl.Path) {
				continue // withheld by the citizen
			}
			paths = append(paths, credential.Path(cl.Path))
			shown = append(shown, cl.Path)
		}
		sdjwt, key, err := w.takeCopy(ctx, cc.CredentialID)
		if err != nil {
			return nil, err
		}
		vp, err := credential.Present(sdjwt, paths, key, credential.KeyBinding{Nonce: req.Nonce, Audience: req.ClientID, IssuedAt: w.opts.Now(), Extra: kbExtra})
		if err != nil {
			return nil, err
		}
		vpToken[cc.QueryID] = append(vpToken[cc.QueryID], vp)
		rec.Disclosed = append(rec.Disclosed, DisclosedCredential{CredentialID: cc.CredentialID, VCT: cc.VCT, Claims: shown})
	}
	resp := vpwire.Response{VPToken: vpToken, State: req.State}
	var form url.Values
	if req.haip.enc != nil {
		form, err = req.haip.enc.seal(resp)
	} else {
		form, err = resp.Form()
	}
	if err != nil {
		return nil, err
	}
	r, err := w.do(ctx, http.MethodPost, req.ResponseURI, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		return nil, werr(CodeVerifierRefused, "the verifier answered %s", oauthError(r))
	}
	var ans vpwire.ResponseAnswer
	if len(r.body) > 0 && json.Unmarshal(r.body, &ans) == nil && ans.RedirectURI != "" {
		if _, err := w.checkURL(ans.RedirectURI); err != nil {
			return nil, werr(CodeVerifierRefused, "the verifier's redirect_uri is not https: %v", err)
		}
		rec.RedirectURI = ans.RedirectURI
	}
	if err := w.v.put(ctx, kindReceipt, rec.ID, rec.At, rec); err != nil {
		return nil, err
	}
	// Refill before the copies run out, now that the verifier has its
	// answer: the next presentation need not wait for the issuer.
	for _, d := range rec.Disclosed {
		w.refillIfLow(ctx, d.CredentialID)
	}
	return rec, nil
}

// sendError tells the verifier the wallet will not answer (§8.5).
func (w *Wallet) sendError(ctx context.Context, req *Request, code string) error {
	form := vpwire.ErrorResponse{Error: code, State: req.State}.Form()
	_, err := w.do(ctx, http.MethodPost, req.ResponseURI, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	return err
}

func containsPath(list [][]any, p []any) bool {
	for _, q := range list {
		if len(q) != len(p) {
			continue
		}
		same := true
		for i := range q {
			if q[i] != p[i] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}
