package verifier_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/verifier"
)

// pair is two verifier Services (replicas A and B) on one database, with
// a pending session made on A.
type pair struct {
	a, b     *verifier.Service
	counterB *verifier.Counter
	sess     *verifier.Session
	state    string
	armed    atomic.Bool
	readOnB  chan struct{}
}

// newPair makes the Services on dbA and dbB, each re-reading a pending
// session every poll. B's clock tells the test when B has read the
// session (once armed): its first call then is Wait's expiry check, made
// after Wait subscribed, so a message sent after it is not missed.
func newPair(t *testing.T, dbA, dbB *store.DB, poll time.Duration) *pair {
	t.Helper()
	ctx := t.Context()
	kd, err := keys.OpenDir(filepath.Join(t.TempDir(), "keys"), make([]byte, keys.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kd.Create("org-hall", keys.ES256); err != nil {
		t.Fatal(err)
	}
	p := &pair{readOnB: make(chan struct{}, 1)}
	nowB := func() time.Time {
		if p.armed.Load() {
			select {
			case p.readOnB <- struct{}{}:
			default:
			}
		}
		return time.Now()
	}
	cfg := verifier.Config{DB: dbA, Keys: kd, Registry: registry{}, PublicURL: "https://hall.example", Poll: poll}
	if p.a, err = verifier.New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.DB, cfg.Now = dbB, nowB
	if p.b, err = verifier.New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	const hall = "did:tong:zHall"
	if err := p.a.AddOrg(ctx, verifier.Org{Slug: "hall", Name: "Service Hall", DID: hall, KeyName: "org-hall", KeyID: hall + "#key-1"}); err != nil {
		t.Fatal(err)
	}
	_, token, err := p.a.AddCounter(ctx, "hall", "window 1", []string{"identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	counterA, err := p.a.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if p.counterB, err = p.b.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if p.sess, err = p.a.CreateSession(ctx, counterA, verifier.NewRequest{Purpose: "identity-basic"}); err != nil {
		t.Fatal(err)
	}
	jwt, err := p.a.RequestObject(ctx, p.sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	var req struct{ State string }
	if err := json.Unmarshal(pl, &req); err != nil {
		t.Fatal(err)
	}
	p.state = req.State
	return p
}

// waitOnB holds a Wait on B, answers the session on A (the wallet
// declines) once B has read it as pending, and returns what the Wait
// returned and whether its context had ended.
func (p *pair) waitOnB(t *testing.T) (*verifier.Session, bool) {
	t.Helper()
	// A hang guard, not a bound: an unwoken Wait returns pending when it
	// ends.
	wctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	type waited struct {
		sess *verifier.Session
		err  error
	}
	got := make(chan waited, 1)
	p.armed.Store(true)
	go func() {
		s, err := p.b.Wait(wctx, p.counterB, p.sess.ID)
		got <- waited{s, err}
	}()
	select {
	case <-p.readOnB:
	case w := <-got:
		t.Fatalf("Wait on B returned before the session was answered: %+v, %v", w.sess, w.err)
	}
	if _, err := p.a.HandleResponse(t.Context(), p.sess.ID, url.Values{"state": {p.state}, "error": {"access_denied"}}); verifier.CodeOf(err) != verifier.CodeWalletError {
		t.Fatalf("HandleResponse on A = %v, want %s", err, verifier.CodeWalletError)
	}
	w := <-got
	if w.err != nil {
		t.Fatalf("Wait on B = %v", w.err)
	}
	return w.sess, wctx.Err() != nil
}

// A result recorded through one Service wakes a Wait held by another
// Service on the same database, through the store's notifier alone:
// both poll hourly, so a Wait that returns the result before its
// context ends was woken by the message. On PostgreSQL the two Services
// have a *store.DB each (two replicas: LISTEN/NOTIFY); on SQLite, where
// one process owns the file, they share one (the in-process notifier),
// and neither sees the other's in-memory hub.
func TestWaitWokenByOtherReplica(t *testing.T) {
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		dbA, dbB := x.Replicas(t, store.Options{})
		p := newPair(t, dbA, dbB, time.Hour)
		sess, timedOut := p.waitOnB(t)
		if timedOut || sess.Status != verifier.StatusRejected || sess.Result == nil || sess.Result.Code != verifier.CodeWalletError {
			t.Fatalf("Wait on B = status %s, result %+v (timed out: %v); want the rejected result, woken by A's announcement", sess.Status, sess.Result, timedOut)
		}
	})
}

// Without a message (two SQLite handles on one file share no notifier,
// as a replica whose listening connection dropped hears nothing), Wait
// still returns the result, by re-reading every Config.Poll.
func TestWaitPollsWithoutMessage(t *testing.T) {
	x := pgtest.Target{Engine: store.SQLite, Addr: filepath.Join(t.TempDir(), "tong.db")}
	p := newPair(t, x.Open(t, store.Options{}), x.Open(t, store.Options{}), 10*time.Millisecond)
	sess, timedOut := p.waitOnB(t)
	if timedOut || sess.Status != verifier.StatusRejected {
		t.Fatalf("Wait on B = status %s (timed out: %v); want the rejected result, found by polling", sess.Status, timedOut)
	}
}
