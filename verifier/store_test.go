package verifier

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
)

// TestMain stops the PostgreSQL cluster that the store tests (and the
// replica tests of package verifier_test, in the same binary) start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// These tests run the store's operations on both engines, through two
// *store.DB opened on one database: two replicas.

// replicas opens x's database twice, with the verifier's store on each,
// and adds an organisation with one counter (sessions need one).
func replicas(t *testing.T, x pgtest.Target) (a, b *sqlStore, counter string) {
	t.Helper()
	for _, st := range []**sqlStore{&a, &b} {
		var err error
		if *st, err = openStore(t.Context(), x.Open(t, store.Options{})); err != nil {
			t.Fatalf("openStore: %v", err)
		}
	}
	at := time.Unix(1_700_000_000, 0)
	o := &Org{Slug: "hall", Name: "Service Hall", DID: "did:tong:zHall", KeyName: "org-hall", KeyID: "did:tong:zHall#key-1"}
	if err := a.addOrg(t.Context(), o, at); err != nil {
		t.Fatalf("addOrg: %v", err)
	}
	c := &Counter{ID: "ctr_1", Org: "hall", Name: "window 1", Purposes: []string{"identity-basic"}}
	if err := a.addCounter(t.Context(), c, at); err != nil {
		t.Fatalf("addCounter: %v", err)
	}
	return a, b, c.ID
}

func pendingRow(id, counter, nonce string, expires time.Time) *sessionRow {
	return &sessionRow{id: id, counter: counter, purpose: "identity-basic", nonce: nonce, state: "state-" + id,
		txData: `["dHg"]`, sameDevice: "same_device", status: StatusPending, expires: expires.Unix(),
		clientID: "x509_hash:abc", responseMode: ResponseModeDirectPostJWT, responseKey: "key-" + id}
}

// Organisations, counters, tokens and purposes written through one
// replica read back through the other as they were written.
func TestStoreOrgs(t *testing.T) {
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b, counter := replicas(t, x)
		ctx, at := t.Context(), time.Unix(1_700_000_100, 0)
		dup := &Org{Slug: "hall", Name: "Other", DID: "did:tong:zOther", KeyName: "k", KeyID: "did:tong:zOther#k"}
		if err := b.addOrg(ctx, dup, at); !errors.Is(err, errDuplicate) {
			t.Errorf("addOrg(taken slug) = %v, want errDuplicate", err)
		}
		if _, err := b.org(ctx, "nobody"); !errors.Is(err, errNoRow) {
			t.Errorf("org(nobody) = %v, want errNoRow", err)
		}
		x5c := []string{"MIIB", "MIIC"}
		if err := b.setCertificate(ctx, "hall", x5c); err != nil {
			t.Fatal(err)
		}
		o, err := a.org(ctx, "hall")
		if err != nil {
			t.Fatal(err)
		}
		want := &Org{Slug: "hall", Name: "Service Hall", DID: "did:tong:zHall", KeyName: "org-hall", KeyID: "did:tong:zHall#key-1", X5C: x5c}
		if diff := cmp.Diff(want, o, cmp.AllowUnexported(Org{})); diff != "" {
			t.Errorf("org(hall) (-want +got):\n%s", diff)
		}
		if org, err := b.counterOrg(ctx, counter); err != nil || org != "hall" {
			t.Errorf("counterOrg(%s) = %q, %v; want hall", counter, org, err)
		}
		if _, err := b.counterOrg(ctx, "ctr_none"); !errors.Is(err, errNoRow) {
			t.Errorf("counterOrg(ctr_none) = %v, want errNoRow", err)
		}

		h := sha256.Sum256([]byte("tong_ct_secret"))
		if err := a.addToken(ctx, "vtk_1", counter, h[:], at); err != nil {
			t.Fatal(err)
		}
		c, err := b.tokenCounter(ctx, h[:])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&Counter{ID: counter, Org: "hall", Name: "window 1", Purposes: []string{"identity-basic"}}, c); diff != "" {
			t.Errorf("tokenCounter (-want +got):\n%s", diff)
		}
		other := sha256.Sum256([]byte("tong_ct_other"))
		if _, err := b.tokenCounter(ctx, other[:]); !errors.Is(err, errNoRow) {
			t.Errorf("tokenCounter(unknown) = %v, want errNoRow", err)
		}
		if err := b.revokeTokens(ctx, counter, at); err != nil {
			t.Fatal(err)
		}
		if _, err := a.tokenCounter(ctx, h[:]); !errors.Is(err, errNoRow) {
			t.Errorf("tokenCounter(revoked) = %v, want errNoRow", err)
		}

		if err := a.putPurpose(ctx, "p1", []byte(`{"v":1}`), at); err != nil {
			t.Fatal(err)
		}
		if err := b.putPurpose(ctx, "p1", []byte(`{"v":2}`), at); err != nil {
			t.Fatalf("putPurpose(replace) = %v", err)
		}
		defs, err := a.purposeDefinitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([][]byte{[]byte(`{"v":2}`)}, defs); diff != "" {
			t.Errorf("purposeDefinitions (-want +got):\n%s", diff)
		}
	})
}

// A session written through one replica reads back through the other;
// completing it records the result and erases the request object and the
// response key; purging deletes only pending sessions expired before the
// cut-off.
func TestStoreSessions(t *testing.T) {
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b, counter := replicas(t, x)
		ctx := t.Context()
		created := time.Unix(1_700_000_000, 0)
		expires := created.Add(5 * time.Minute)
		row := pendingRow("ses_1", counter, "nonce-1", expires)
		if err := a.createSession(ctx, row, "request.jws", created); err != nil {
			t.Fatal(err)
		}
		if err := a.createSession(ctx, pendingRow("ses_2", counter, "nonce-2", expires), "r2", created.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		got, err := b.responseSession(ctx, "ses_1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(row, got, cmp.AllowUnexported(sessionRow{})); diff != "" {
			t.Errorf("responseSession (-want +got):\n%s", diff)
		}
		if _, err := b.responseSession(ctx, "ses_none"); !errors.Is(err, errNoRow) {
			t.Errorf("responseSession(none) = %v, want errNoRow", err)
		}
		req, status, exp, err := b.requestObject(ctx, "ses_1")
		if err != nil || req != "request.jws" || status != StatusPending || !exp.Equal(expires) {
			t.Errorf("requestObject = %q, %q, %v, %v; want request.jws, pending, %v", req, status, exp, err, expires)
		}
		if _, _, _, err := b.requestObject(ctx, "ses_none"); !errors.Is(err, errNoRow) {
			t.Errorf("requestObject(none) = %v, want errNoRow", err)
		}
		ids, err := b.counterSessions(ctx, counter, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"ses_2", "ses_1"}, ids); diff != "" {
			t.Errorf("counterSessions (-want +got):\n%s", diff)
		}
		if ids, _ := b.counterSessions(ctx, counter, 1); len(ids) != 1 {
			t.Errorf("counterSessions(limit 1) = %v, want one id", ids)
		}

		res := &Result{Verdict: StatusAccepted, Checks: []Check{{Name: "state", OK: true}}, At: created.Add(time.Minute).UTC(), StalenessSeconds: 3}
		if done, err := b.completeSession(ctx, "ses_1", res, created.Add(time.Minute)); err != nil || !done {
			t.Fatalf("completeSession = %v, %v; want true", done, err)
		}
		sess, err := a.session(ctx, "ses_1")
		if err != nil {
			t.Fatal(err)
		}
		want := &Session{ID: "ses_1", Counter: counter, Purpose: "identity-basic", ClientID: "x509_hash:abc", ResponseMode: ResponseModeDirectPostJWT,
			Status: StatusAccepted, CreatedAt: created.UTC(), ExpiresAt: expires.UTC(), Result: res}
		if diff := cmp.Diff(want, sess); diff != "" {
			t.Errorf("session after completion (-want +got):\n%s", diff)
		}
		if req, status, _, _ := a.requestObject(ctx, "ses_1"); req != "" || status != StatusAccepted {
			t.Errorf("requestObject after completion = %q, %q; want the request erased, accepted", req, status)
		}
		if r, _ := a.responseSession(ctx, "ses_1"); r == nil || r.responseKey != "" || r.status != StatusAccepted {
			t.Errorf("responseSession after completion = %+v; want the response key erased, accepted", r)
		}
		if _, err := a.session(ctx, "ses_none"); !errors.Is(err, errNoRow) {
			t.Errorf("session(none) = %v, want errNoRow", err)
		}

		// Purge at a cut-off after both expired: the pending one goes,
		// the answered one stays.
		if n, err := b.purgeExpired(ctx, expires.Add(time.Second)); err != nil || n != 1 {
			t.Errorf("purgeExpired = %d, %v; want 1", n, err)
		}
		if _, err := a.session(ctx, "ses_2"); !errors.Is(err, errNoRow) {
			t.Errorf("session(purged) = %v, want errNoRow", err)
		}
		if _, err := a.session(ctx, "ses_1"); err != nil {
			t.Errorf("session(answered) after purge = %v, want it kept", err)
		}
	})
}

// race runs fn(0) … fn(n-1) in n goroutines released at once.
func race(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

const racers = 16

// One session completed by many goroutines at once, half through each
// replica: exactly one records its result (the vp_token is accepted
// once), and the stored result is the winner's.
func TestStoreCompleteOnceRace(t *testing.T) {
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b, counter := replicas(t, x)
		ctx := t.Context()
		now := time.Unix(1_700_000_000, 0)
		for round := range 5 {
			id := fmt.Sprintf("ses_r%d", round)
			if err := a.createSession(ctx, pendingRow(id, counter, "nonce-"+id, now.Add(time.Minute)), "req", now); err != nil {
				t.Fatal(err)
			}
			done := make([]bool, racers)
			errs := make([]error, racers)
			race(racers, func(i int) {
				st := a
				if i%2 == 1 {
					st = b
				}
				res := &Result{Verdict: StatusAccepted, Description: fmt.Sprintf("racer %d", i), Checks: []Check{}, At: now.UTC()}
				done[i], errs[i] = st.completeSession(ctx, id, res, now)
			})
			winner := -1
			for i := range racers {
				if errs[i] != nil {
					t.Fatalf("round %d: completeSession (racer %d) = %v", round, i, errs[i])
				}
				if done[i] {
					if winner >= 0 {
						t.Fatalf("round %d: racers %d and %d both completed the session", round, winner, i)
					}
					winner = i
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no racer completed the session", round)
			}
			sess, err := b.session(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("racer %d", winner); sess.Result == nil || sess.Result.Description != want {
				t.Errorf("round %d: stored result = %+v, want the winner's (%s)", round, sess.Result, want)
			}
		}
	})
}

// Sessions created at once, through both replicas, with one nonce (or
// one id): exactly one is stored, and the others get errDuplicate, so a
// nonce is never shared by two requests.
func TestStoreNonceOnceRace(t *testing.T) {
	for _, tc := range []struct {
		name string
		row  func(i int, counter string, exp time.Time) *sessionRow
	}{
		{"same nonce", func(i int, counter string, exp time.Time) *sessionRow {
			return pendingRow(fmt.Sprintf("ses_%d", i), counter, "one-nonce", exp)
		}},
		{"same id", func(i int, counter string, exp time.Time) *sessionRow {
			return pendingRow("ses_one", counter, fmt.Sprintf("nonce-%d", i), exp)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
				a, b, counter := replicas(t, x)
				now := time.Unix(1_700_000_000, 0)
				errs := make([]error, racers)
				race(racers, func(i int) {
					st := a
					if i%2 == 1 {
						st = b
					}
					errs[i] = st.createSession(t.Context(), tc.row(i, counter, now.Add(time.Minute)), "req", now)
				})
				stored := 0
				for i, err := range errs {
					switch {
					case err == nil:
						stored++
					case !errors.Is(err, errDuplicate):
						t.Errorf("createSession (racer %d) = %v, want nil or errDuplicate", i, err)
					}
				}
				if stored != 1 {
					t.Fatalf("%d of %d sessions stored, want exactly 1", stored, racers)
				}
				if ids, err := a.counterSessions(t.Context(), counter, 100); err != nil || len(ids) != 1 {
					t.Errorf("counterSessions = %v, %v; want one session", ids, err)
				}
			})
		})
	}
}

// An expired session purged while late responses complete it, through
// both replicas at once: it ends one way only, either completed (and
// kept) or purged (and no response recorded).
func TestStorePurgeRacesCompletion(t *testing.T) {
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b, counter := replicas(t, x)
		ctx := t.Context()
		now := time.Unix(1_700_000_000, 0)
		for round := range 5 {
			id := fmt.Sprintf("ses_p%d", round)
			if err := a.createSession(ctx, pendingRow(id, counter, "nonce-"+id, now), "req", now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			completed, purged := 0, int64(0)
			race(racers, func(i int) {
				st := a
				if i%2 == 1 {
					st = b
				}
				if i%4 < 2 {
					n, err := st.purgeExpired(ctx, now.Add(time.Second))
					if err != nil {
						t.Errorf("purgeExpired = %v", err)
					}
					mu.Lock()
					purged += n
					mu.Unlock()
					return
				}
				done, err := st.completeSession(ctx, id, &Result{Verdict: StatusRejected, Code: CodeSessionExpired, Checks: []Check{}}, now)
				if err != nil {
					t.Errorf("completeSession = %v", err)
				}
				if done {
					mu.Lock()
					completed++
					mu.Unlock()
				}
			})
			if completed+int(purged) != 1 {
				t.Fatalf("round %d: %d completions and %d purges, want exactly one of either", round, completed, purged)
			}
			_, err := b.session(ctx, id)
			if completed == 1 && err != nil {
				t.Errorf("round %d: completed session read = %v, want it kept", round, err)
			}
			if purged == 1 && !errors.Is(err, errNoRow) {
				t.Errorf("round %d: purged session read = %v, want errNoRow", round, err)
			}
		}
	})
}
