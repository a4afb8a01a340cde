package wallet

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/internal/jose"
)

// Statuses of a credential, as Credential.Status shows them.
const (
	StatusValid     = "valid"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
	StatusExpired   = "expired"
	StatusUnknown   = "unknown"
)

// DefaultStatusTTL is how long a fetched status list is reused when it
// gives no ttl (Token Status List §5.1 leaves the default to the reader).
const DefaultStatusTTL = 5 * time.Minute

// DefaultRefillAt is how few unused copies make the wallet refill.
const DefaultRefillAt = 2

// statusCache keeps fetched status lists for their ttl.
type statusCache struct {
	mu    sync.Mutex
	lists map[string]cachedList
}

type cachedList struct {
	list  *statuslist.List
	until time.Time
}

// statusName maps a Token Status List value to a Status (§7.1: 0x00
// VALID, 0x01 INVALID, 0x02 SUSPENDED; other values are application
// specific and shown as unknown).
func statusName(v byte) string {
	switch v {
	case statuslist.Valid:
		return StatusValid
	case statuslist.Invalid:
		return StatusRevoked
	case statuslist.Suspended:
		return StatusSuspended
	}
	return StatusUnknown
}

// fetchList returns the status list at ref.URI, from the cache while its
// ttl lasts.
func (w *Wallet) fetchList(ctx context.Context, uri string, key any) (*statuslist.List, error) {
	now := w.opts.Now()
	w.status.mu.Lock()
	c, ok := w.status.lists[uri]
	w.status.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.list, nil
	}
	r, err := w.do(ctx, http.MethodGet, uri, "", nil, map[string]string{"Accept": "application/statuslist+jwt"})
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		return nil, werr(CodeBadCredential, "status list %s: HTTP %d", uri, r.status)
	}
	tok, err := statuslist.ParseToken(string(r.body), uri, key, now)
	if err != nil {
		return nil, &Error{Code: CodeBadCredential, Description: "status list", Err: err}
	}
	ttl := tok.TTL
	if ttl <= 0 {
		ttl = DefaultStatusTTL
	}
	w.status.mu.Lock()
	if w.status.lists == nil {
		w.status.lists = map[string]cachedList{}
	}
	w.status.lists[uri] = cachedList{list: tok.List, until: now.Add(ttl)}
	w.status.mu.Unlock()
	return tok.List, nil
}

// lookupStatus reads a copy's entry in its issuer's status list.
func (w *Wallet) lookupStatus(ctx context.Context, ref *credential.StatusRef, key any) (string, error) {
	l, err := w.fetchList(ctx, ref.URI, key)
	if err != nil {
		return "", err
	}
	v, err := l.Get(ref.Index)
	if err != nil {
		return "", &Error{Code: CodeBadCredential, Description: "status index", Err: err}
	}
	return statusName(v), nil
}

// RefreshStatus checks every credential's status against its issuer's
// status list (each list fetched once and reused for its ttl) and stores
// what it finds; it returns how many credentials changed status. A list
// that cannot be fetched leaves the last known status: the wallet must
// work offline. An expired credential needs no check.
func (w *Wallet) RefreshStatus(ctx context.Context) (int, error) {
	creds, err := w.Credentials(ctx)
	if err != nil {
		return 0, err
	}
	changed := 0
	var firstErr error
	for _, c := range creds {
		if c.Status == StatusExpired {
			continue
		}
		ok, err := w.refreshOne(ctx, c.ID)
		if err != nil && firstErr == nil && CodeOf(err) != CodeNetwork {
			firstErr = err
		}
		if ok {
			changed++
		}
	}
	return changed, firstErr
}

// refreshOne checks one credential's status; it reports a change.
func (w *Wallet) refreshOne(ctx context.Context, id string) (bool, error) {
	var rec credentialRecord
	if err := w.v.get(ctx, kindCredential, id, &rec); err != nil {
		return false, err
	}
	var ref *credential.StatusRef
	for i := len(rec.Copies) - 1; i >= 0; i-- {
		if rec.Copies[i].Status != nil {
			ref = rec.Copies[i].Status
			if !rec.Copies[i].Used {
				break
			}
		}
	}
	var key any
	if ref == nil || rec.IssuerKey == nil {
		// A credential received before the wallet kept these: verify a
		// copy again (the issuer's metadata gives its key) to learn them.
		if len(rec.Copies) == 0 {
			return false, nil
		}
		res, err := w.verifyCopy(ctx, rec.Copies[len(rec.Copies)-1].SDJWT)
		if err != nil {
			return false, err
		}
		if res.Status == nil {
			return false, nil // no status list: nothing to check
		}
		ref, key = res.Status, res.IssuerKey
	} else {
		raw, _ := json.Marshal(rec.IssuerKey)
		k, err := jose.ParsePublicJWK(raw)
		if err != nil {
			return false, ErrCorrupt
		}
		key = k
	}
	st, err := w.lookupStatus(ctx, ref, key)
	if err != nil {
		return false, err
	}
	return w.setStatus(ctx, id, st)
}

// verifyCopy checks a stored copy's issuer signature (with the key from
// the issuer's JWT VC Issuer Metadata) and returns what it says.
func (w *Wallet) verifyCopy(ctx context.Context, sdjwt string) (*credential.Result, error) {
	keysRes := &credential.IssuerKeys{Web: &credential.JWTVCIssuerMetadata{Client: w.http, AllowLoopbackHTTP: w.opts.AllowLoopbackHTTP}}
	v := &credential.Verifier{Keys: keysRes, Now: w.opts.Now}
	res, err := v.Verify(ctx, sdjwt, credential.VerifyOptions{})
	if err != nil {
		return nil, &Error{Code: CodeBadCredential, Description: "a stored copy does not verify", Err: err}
	}
	return res, nil
}

// setStatus stores a credential's status; it reports a change.
func (w *Wallet) setStatus(ctx context.Context, id, status string) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var rec credentialRecord
	if err := w.v.get(ctx, kindCredential, id, &rec); err != nil {
		return false, err
	}
	changed := rec.Status != status
	rec.Status, rec.StatusCheckedAt = status, w.opts.Now().UTC()
	return changed, w.v.put(ctx, kindCredential, id, rec.ReceivedAt, &rec)
}

// RefreshResult is what Refresh did.
type RefreshResult struct {
	// Refilled counts credentials that got fresh one-time copies.
	Refilled int `json:"refilled"`
	// StatusesUpdated counts credentials whose status changed.
	StatusesUpdated int `json:"statuses_updated"`
}

// Refresh is the background upkeep a wallet app runs now and then: it
// re-checks statuses (RefreshStatus) and refills every credential whose
// unused copies are down to Options.RefillAt, while its issuer still
// vouches for it. Failures to reach a server are not errors (the next
// Refresh tries again); the first other failure is returned with what
// was done.
func (w *Wallet) Refresh(ctx context.Context) (RefreshResult, error) {
	var res RefreshResult
	n, firstErr := w.RefreshStatus(ctx)
	res.StatusesUpdated = n
	creds, err := w.Credentials(ctx)
	if err != nil {
		return res, err
	}
	for _, c := range creds {
		if !w.wantsRefill(c) {
			continue
		}
		if _, err := w.Refill(ctx, c.ID); err != nil {
			w.opts.Logger.WarnContext(ctx, "refill failed", "credential", c.ID, "code", CodeOf(err))
			if firstErr == nil && CodeOf(err) != CodeNetwork && CodeOf(err) != CodeIssuerRefused {
				firstErr = err
			}
			continue
		}
		res.Refilled++
	}
	return res, firstErr
}

// wantsRefill: few copies left, refillable, and not known to be invalid.
func (w *Wallet) wantsRefill(c *Credential) bool {
	return c.Refillable && c.CopiesLeft <= w.opts.RefillAt &&
		(c.Status == StatusValid || c.Status == StatusUnknown)
}

// refillIfLow refills a credential after a presentation when its copies
// run low. It never fails the presentation: a failed refill is logged
// and tried again by the next Refresh or Match.
func (w *Wallet) refillIfLow(ctx context.Context, id string) bool {
	c, err := w.Credential(ctx, id)
	if err != nil || !w.wantsRefill(c) {
		return false
	}
	if _, err := w.Refill(ctx, id); err != nil {
		w.opts.Logger.WarnContext(ctx, "refill failed", "credential", id, "code", CodeOf(err))
		return false
	}
	return true
}
