package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/tongid/tong/internal/jose"
)

// hub wakes the counter pages waiting on a session (server-sent events)
// in this process, by session id, without a round trip through the
// database. Waiters on other replicas hear of the session through the
// store's notifier (announce); hub also serves this process when its
// listening connection is down.
type hub struct {
	mu      sync.Mutex
	waiters map[string][]chan struct{}
}

func newHub() *hub { return &hub{waiters: map[string][]chan struct{}{}} }

func (h *hub) subscribe(id string) (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.waiters[id] = append(h.waiters[id], ch)
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		ws := h.waiters[id]
		for i, w := range ws {
			if w == ch {
				h.waiters[id] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(h.waiters[id]) == 0 {
			delete(h.waiters, id)
		}
	}
}

func (h *hub) publish(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.waiters[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// NotifySession is the store.Notifier channel on which a replica that
// completed a session announces its id to the others (the payload is the
// session id); services waiting on their own sessions listen to it too.
const NotifySession = "verifier_session"

// announce wakes every waiter on session id: this process's at once
// (hub), every replica's through the store's notifier (LISTEN/NOTIFY on
// PostgreSQL, in-process on SQLite). Only the replica that completed the
// session calls it, once, as it alone sends the webhook. Delivery is
// best effort: a lost message costs a waiter one Config.Poll.
func (s *Service) announce(ctx context.Context, id string) {
	s.hub.publish(id)
	if err := s.notifier.Notify(context.WithoutCancel(ctx), NotifySession, id); err != nil {
		s.cfg.Logger.WarnContext(ctx, "session notify", "err", err)
	}
}

// Wait blocks until the session is no longer pending, ctx ends, or the
// session expires, and returns it. A response completed on another
// replica wakes it through the database's notifier (LISTEN/NOTIFY on
// PostgreSQL); the re-read every Config.Poll covers a missed message.
func (s *Service) Wait(ctx context.Context, c *Counter, id string) (*Session, error) {
	ch, cancel := s.hub.subscribe(id)
	defer cancel()
	remote, stop := s.notifier.Subscribe(NotifySession)
	defer stop()
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		sess, err := s.Session(ctx, c, id)
		if err != nil || sess.Status != StatusPending {
			return sess, err
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return sess, nil
			case <-ch:
				break wait
			case done := <-remote:
				if done == id {
					break wait
				}
			case <-tick.C:
				break wait
			}
		}
	}
}

// webhook sends a result to the organisation's back office as a JWT signed
// with the organisation's key (typ "tong-result+jwt").
func (s *Service) webhook(ctx context.Context, o *Org, counter, id string, res *Result) {
	jwt, err := s.SignResult(o, counter, id, res)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for attempt := range 3 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.Webhook, bytes.NewReader([]byte(jwt)))
		req.Header.Set("Content-Type", "application/jwt")
		resp, err := s.cfg.HTTPClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
		}
		select {
		case <-ctx.Done():
			s.cfg.Logger.Warn("webhook not delivered", "session", id)
			return
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
	s.cfg.Logger.Warn("webhook not delivered", "session", id)
}

// TypResult is the typ of a signed result.
const TypResult = "tong-result+jwt"

// SignResult signs a session's result for back-office systems.
func (s *Service) SignResult(o *Org, counter, id string, res *Result) (string, error) {
	h, _ := json.Marshal(map[string]any{"alg": o.signer.Alg(), "typ": TypResult, "kid": o.KeyID})
	p, err := json.Marshal(map[string]any{"iss": o.DID, "sub": id, "counter": counter, "iat": s.cfg.Now().Unix(), "result": res})
	if err != nil {
		return "", err
	}
	return jose.SignRaw(o.signer, h, p)
}
