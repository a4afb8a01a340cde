package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/tongid/tong/credential/vpwire"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
)

// OpenID4VP constants (their definitions are in credential/vpwire).
const (
	TypRequestObject   = vpwire.TypRequestObject
	PrefixDID          = vpwire.PrefixDecentralizedIdentifier
	SelfIssuedAudience = vpwire.SelfIssuedAudience
	// PurposeClaim names the purpose in the request object (a Tong
	// extension; the wallet checks the accreditation for it).
	PurposeClaim = vpwire.PurposeClaim
)

// Session states.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusRejected = "rejected"
)

// NewRequest is what a counter asks for.
type NewRequest struct {
	Purpose string `json:"purpose"`
	// TransactionData, for purposes that take it (pay-fee): the members
	// the purpose requires, e.g. amount, currency, payee, order_id.
	TransactionData map[string]any `json:"transaction_data,omitempty"`
	// SameDevice makes the response endpoint return a redirect_uri with a
	// response code, for a wallet on the same device as the page.
	SameDevice bool `json:"same_device,omitempty"`
	// RedirectURI, for a SameDevice session, is where the response
	// endpoint sends the wallet's user agent instead of the counter's done
	// page: an absolute https URL (http on loopback when the verifier
	// allows it), to which a fresh response_code is appended
	// (OpenID4VP 1.0 §8.2). Only the Result's hash of that code is kept
	// ([Result.ResponseCodeMatches]). Set by Go callers only (the issuer's
	// sign-in), not by the counter API.
	RedirectURI string `json:"-"`
	// ClientIDPrefix is decentralized_identifier (the default: the
	// organisation's did:tong) or x509_hash (HAIP: its certificate from
	// the city CA in the request's x5c header).
	ClientIDPrefix string `json:"client_id_prefix,omitempty"`
	// ResponseMode is direct_post (the default) or direct_post.jwt (HAIP:
	// the wallet encrypts its response to a key of this session).
	ResponseMode string `json:"response_mode,omitempty"`
}

// Session is a verification session as the counter sees it.
type Session struct {
	ID         string `json:"session_id"`
	Counter    string `json:"counter"`
	Purpose    string `json:"purpose"`
	RequestURI string `json:"request_uri"` // the openid4vp:// URI for the QR code
	ClientID   string `json:"client_id,omitempty"`
	// ResponseMode is direct_post or direct_post.jwt.
	ResponseMode string    `json:"response_mode,omitempty"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
	Result       *Result   `json:"result,omitempty"`
}

// CreateSession makes a session and its signed request object.
func (s *Service) CreateSession(ctx context.Context, c *Counter, nr NewRequest) (*Session, error) {
	p, err := s.Purpose(nr.Purpose)
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, id := range c.Purposes {
		allowed = allowed || id == p.ID
	}
	if !allowed {
		return nil, errorf(CodeUnknownPurpose, "counter %s may not ask for %s", c.Name, p.ID)
	}
	org, err := s.Org(ctx, c.Org)
	if err != nil {
		return nil, err
	}
	var txData []string
	if spec := p.TransactionData; spec != nil {
		if nr.TransactionData == nil {
			return nil, errorf(CodeInvalidRequest, "purpose %s needs transaction_data with %s", p.ID, strings.Join(spec.Required, ", "))
		}
		for _, k := range spec.Required {
			if v, ok := nr.TransactionData[k]; !ok || v == nil || v == "" {
				return nil, errorf(CodeInvalidRequest, "transaction_data.%s is required", k)
			}
		}
		td := map[string]any{}
		for k, v := range nr.TransactionData {
			td[k] = v
		}
		td[vpwire.TransactionDataType] = spec.Type
		ids := []string{}
		for _, cq := range p.query.Credentials {
			ids = append(ids, cq.ID)
		}
		td[vpwire.TransactionDataCredentialIDs] = ids
		b, _ := json.Marshal(td)
		txData = []string{base64.RawURLEncoding.EncodeToString(b)}
	} else if nr.TransactionData != nil {
		return nil, errorf(CodeInvalidRequest, "purpose %s takes no transaction_data", p.ID)
	}
	now := s.cfg.Now()
	id := "ses_" + ids.Random(16) // a prefix, so an id never reads as a CLI flag
	nonce := ids.Random(24)       // 192 bits
	state := ids.Random(16)
	sess := &Session{ID: id, Counter: c.ID, Purpose: p.ID, Status: StatusPending, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.cfg.SessionTTL).UTC()}
	rp, err := s.requestParams(org, nr, id)
	if err != nil {
		return nil, err
	}
	clientID := rp.clientID
	sess.ClientID, sess.ResponseMode = clientID, rp.responseMode
	ro := vpwire.RequestObject{
		// iss is the organisation's DID itself (the DID that kid is a key
		// of), never the prefixed client_id: wallets built on JAR (RFC 9101)
		// libraries compare iss with the signer and refuse a mismatch.
		// Spec: OpenID4VP 1.0 #vp_token_request: "the `iss` claim MAY be
		// present in the Request Object. However, if it is present, the
		// Wallet MUST ignore it."
		Issuer: org.DID, Audience: SelfIssuedAudience, ClientID: clientID,
		ResponseType: vpwire.ResponseTypeVPToken, ResponseMode: rp.responseMode,
		ResponseURI: s.cfg.PublicURL + "/verifier/response/" + id,
		Nonce:       nonce, State: state, DCQLQuery: p.Query,
		IssuedAt: float64(now.Unix()), Expiry: float64(sess.ExpiresAt.Unix()), Purpose: p.ID,
		ClientMetadata: &vpwire.ClientMetadata{
			ClientName: org.Name + " – " + c.Name,
			VPFormatsSupported: map[string]vpwire.VPFormat{vpwire.FormatSDJWTVC: {
				SDJWTAlgValues: []string{"ES256", "EdDSA"}, KBJWTAlgValues: []string{"ES256", "EdDSA"}}},
		},
		TransactionData: txData,
	}
	if strings.HasPrefix(clientID, PrefixX509Hash) {
		ro.Issuer = "" // the certificate, not a DID, names the verifier
	}
	if err := rp.encryptionMetadata(ro.ClientMetadata); err != nil {
		return nil, err
	}
	h, _ := json.Marshal(rp.header)
	pl, err := json.Marshal(ro)
	if err != nil {
		return nil, err
	}
	jws, err := jose.SignRaw(org.signer, h, pl)
	if err != nil {
		return nil, err
	}
	txJSON := ""
	if len(txData) > 0 {
		b, _ := json.Marshal(txData)
		txJSON = string(b)
	}
	// The row's same-device mode (stored in the response_code column):
	// "" (cross-device), sameDeviceCounter (the counter's done page) or
	// the caller's RedirectURI.
	sameDevice := ""
	switch {
	case nr.RedirectURI != "" && !nr.SameDevice:
		return nil, errorf(CodeInvalidRequest, "a redirect_uri needs a same-device session")
	case nr.RedirectURI != "":
		if err := checkURL(nr.RedirectURI, s.cfg.AllowLoopbackHTTP); err != nil || len(nr.RedirectURI) > 1024 || nr.RedirectURI == sameDeviceCounter {
			return nil, errorf(CodeInvalidRequest, "redirect_uri must be an absolute https URL")
		}
		sameDevice = nr.RedirectURI
	case nr.SameDevice:
		sameDevice = sameDeviceCounter
	}
	row := &sessionRow{id: id, counter: c.ID, purpose: p.ID, nonce: nonce, state: state, txData: txJSON,
		sameDevice: sameDevice, status: StatusPending, expires: sess.ExpiresAt.Unix(),
		clientID: clientID, responseMode: rp.responseMode, responseKey: rp.responseKey}
	if err := s.sessions.createSession(ctx, row, jws, now); err != nil {
		return nil, err
	}
	if s.created.Add(1)%1024 == 0 {
		s.sweepPending(now)
		// Sessions are made for pages anyone may open, so unanswered ones
		// are deleted a while after they expire; the next round retries a
		// failed purge.
		_, _ = s.PurgeExpired(ctx)
	}
	// Sessions are also made for pages anyone may open (booking, paying),
	// so the cache is bounded: past MaxCacheBytes a session is read from
	// the database when its answer comes.
	if size := row.size(); s.pendingBytes.Add(size) <= s.cfg.MaxCacheBytes {
		s.pending.Store(id, row)
	} else {
		s.pendingBytes.Add(-size)
	}
	sess.RequestURI = s.requestURI(org, id)
	s.haipSession(sess, rp)
	return sess, nil
}

// sweepPending forgets cached sessions that expired unanswered.
func (s *Service) sweepPending(now time.Time) {
	s.pending.Range(func(k, v any) bool {
		if v.(*sessionRow).expires < now.Unix() {
			s.forgetPending(k.(string))
		}
		return true
	})
}

// PurgeAfter is how long an unanswered session is kept after it expired
// (the counter's history shows it as expired until then).
const PurgeAfter = 24 * time.Hour

// PurgeExpired deletes sessions that expired unanswered more than
// PurgeAfter ago, and returns how many. Answered sessions are kept.
func (s *Service) PurgeExpired(ctx context.Context) (int64, error) {
	return s.sessions.purgeExpired(ctx, s.cfg.Now().Add(-PurgeAfter))
}

// forgetPending drops a session from the pending cache.
func (s *Service) forgetPending(id string) {
	if v, ok := s.pending.LoadAndDelete(id); ok {
		s.pendingBytes.Add(-v.(*sessionRow).size())
	}
}

// size estimates a cached session's bytes.
func (r *sessionRow) size() int64 {
	return int64(len(r.id)+len(r.counter)+len(r.purpose)+len(r.nonce)+len(r.state)+len(r.txData)+len(r.sameDevice)+len(r.status)) + 192
}

func (s *Service) requestURI(org *Org, id string) string {
	return requestURIFor(PrefixDID+org.DID, s.cfg.PublicURL, id)
}

// RequestURI rebuilds a session's openid4vp:// URI (for its QR code).
func (s *Service) RequestURI(sess *Session) string {
	clientID := sess.ClientID
	if clientID == "" {
		o, err := s.counterOrg(context.Background(), sess.Counter)
		if err != nil {
			return ""
		}
		clientID = PrefixDID + o.DID
	}
	return requestURIFor(clientID, s.cfg.PublicURL, sess.ID)
}

// RequestObject returns a session's signed request object while it is
// pending and not expired.
func (s *Service) RequestObject(ctx context.Context, id string) (string, error) {
	req, status, exp, err := s.sessions.requestObject(ctx, id)
	if errors.Is(err, errNoRow) {
		return "", errorf(CodeSessionNotFound, "no such request")
	}
	if err != nil {
		return "", err
	}
	if status != StatusPending || !s.cfg.Now().Before(exp) {
		return "", errorf(CodeSessionExpired, "this request was answered or has expired; ask for a new QR code")
	}
	return req, nil
}

// Session returns a session of a counter.
func (s *Service) Session(ctx context.Context, c *Counter, id string) (*Session, error) {
	sess, err := s.loadSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if sess.Counter != c.ID {
		return nil, errorf(CodeNotFound, "no session %s at this counter", id)
	}
	return sess, nil
}

func (s *Service) loadSession(ctx context.Context, id string) (*Session, error) {
	sess, err := s.sessions.session(ctx, id)
	if errors.Is(err, errNoRow) {
		return nil, errorf(CodeNotFound, "no session %s", id)
	}
	if err != nil {
		return nil, err
	}
	if sess.Status == StatusPending && !s.cfg.Now().Before(sess.ExpiresAt) {
		sess.Status = "expired"
	}
	if sess.Status == StatusPending {
		sess.RequestURI = s.RequestURI(sess)
	}
	return sess, nil
}

func checkURL(raw string, allowLoopback bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute URL: %q", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && allowLoopback {
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%s is not https", raw)
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	return b, nil
}

func hashB64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Sessions lists a counter's newest sessions, newest first.
func (s *Service) Sessions(ctx context.Context, c *Counter, limit int) ([]*Session, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	ids, err := s.sessions.counterSessions(ctx, c.ID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*Session, 0, len(ids))
	for _, id := range ids {
		sess, err := s.loadSession(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, nil
}
