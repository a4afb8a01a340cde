package tongtest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
)

// TestCitySize measures a city-size database, by hand only:
//
//	TONG_CITY=1 go test -run TestCitySize -v -timeout 60m ./tongtest/
//
// seeds, on SQLite and on PostgreSQL (two replicas), TONG_CITY_DIDS DIDs
// (default 100,000: genesis operations signed here, appended through the
// registry log's own Append by 64 writers, so the log, its tiles and
// checkpoints are the real ones) and TONG_CITY_CREDENTIALS issued
// credentials (default 1,000,000, one status list entry each, bulk
// inserted into the issuer's tables as issuance would leave them, each
// list half full as the issuer fills them). It then measures how long a
// revocation (the staff's SetStatus) takes to show in the status list
// published over HTTP, on another replica on PostgreSQL, and the
// resolution rate of random DIDs over HTTP (did:tong resolution with the
// inclusion proof verified by the client), against the same measures on
// the city before seeding. TONG_CITY_ENGINE=sqlite or postgres runs one.
func TestCitySize(t *testing.T) {
	if os.Getenv("TONG_CITY") == "" {
		t.Skip("city-size measurement: run by hand with TONG_CITY=1 (see the doc comment)")
	}
	nDIDs, nCreds := envInt(t, "TONG_CITY_DIDS", 100_000), envInt(t, "TONG_CITY_CREDENTIALS", 1_000_000)
	for _, e := range []struct {
		name string
		pg   bool
	}{{"sqlite", false}, {"postgres", true}} {
		if eng := os.Getenv("TONG_CITY_ENGINE"); eng != "" && eng != e.name {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			a := tongtest.New(t, tongtest.Options{PostgreSQL: e.pg})
			b := a // the replica the list is read from
			if e.pg {
				b = a.Replica(t)
			}
			// The small city: a thousand of each.
			small := seedDIDs(t, a, 1000)
			base := seedCredentials(t, a, 1000)
			before := revocations(t, a, b, base, 10)
			resBefore := resolveRate(t, b, small, 5*time.Second)
			t.Logf("%s, small city (1,000 DIDs, 1,000 status entries): revocation to publication %s; resolution %.0f/s", e.name, before, resBefore)

			start := time.Now()
			dids := append(seedDIDs(t, a, nDIDs-len(small)), small...)
			t.Logf("%s: seeded %d DIDs in %s (%.0f appends/s)", e.name, len(dids), time.Since(start).Round(time.Second), float64(len(dids))/time.Since(start).Seconds())
			start = time.Now()
			creds := append(seedCredentials(t, a, nCreds-len(base)), base...)
			t.Logf("%s: seeded %d credentials in %s (%.0f rows/s)", e.name, len(creds), time.Since(start).Round(time.Second), float64(len(creds))/time.Since(start).Seconds())
			var rows int
			if err := a.DB.Reader().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM issuer_status_entries`).Scan(&rows); err != nil || rows < nCreds {
				t.Fatalf("%d status entries, %v; want at least %d", rows, err, nCreds)
			}
			after := revocations(t, a, b, creds[:len(creds)-len(base)], 10) // not the ones revoked above
			resAfter := resolveRate(t, b, dids, 5*time.Second)
			t.Logf("%s, city size (%d DIDs, %d status entries): revocation to publication %s; resolution %.0f/s", e.name, len(dids), rows, after, resAfter)
			// What the drop from the small city is made of: the same
			// thousand DIDs as before (the working set, which the
			// resolution cache holds whole) at city size, and, on
			// PostgreSQL, everything again after ANALYZE (the bulk load
			// leaves the planner's statistics stale until autovacuum).
			hot := resolveRate(t, b, small, 5*time.Second)
			t.Logf("%s, city size, the small city's 1,000 DIDs only: resolution %.0f/s", e.name, hot)
			if e.pg {
				if _, err := a.DB.Writer().ExecContext(t.Context(), `ANALYZE`); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s, city size after ANALYZE: resolution %.0f/s (all DIDs), %.0f/s (the 1,000)", e.name,
					resolveRate(t, b, dids, 5*time.Second), resolveRate(t, b, small, 5*time.Second))
			}
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}

// seeded is one seeded credential: its id and its status list entry.
type seeded struct{ id, list string }

// seedCredentials inserts n issued citizen identity credentials of the
// PSB, each with its offer (redeemed) and one status entry, in lists of
// the issuer's default size filled to half, at random indexes, in
// transactions of a few thousand rows.
func seedCredentials(t *testing.T, c *tongtest.City, n int) []seeded {
	t.Helper()
	ctx := t.Context()
	const size, perList, batch = issuer.DefaultStatusListSize, issuer.DefaultStatusListSize / 2, 500
	now := time.Now().Unix()
	out := make([]seeded, 0, n)
	for first := 0; first < n; first += perList {
		list := ids.Random(12)
		k := min(perList, n-first)
		if _, err := c.DB.Writer().ExecContext(ctx, `INSERT INTO issuer_status_lists (id, agency, bits, size, used, created_at) VALUES ($1, 'psb', 2, $2, $3, $4)`,
			list, size, k, time.Now().UnixNano()); err != nil {
			t.Fatal(err)
		}
		idx := mrand.Perm(size)[:k]
		for lo := 0; lo < k; lo += batch {
			hi := min(lo+batch, k)
			var offers, creds, entries strings.Builder
			var oa, ca, ea []any
			for i := lo; i < hi; i++ {
				id, offer := ids.New("cred_"), ids.New("off_")
				if i > lo {
					offers.WriteString(", ")
					creds.WriteString(", ")
					entries.WriteString(", ")
				}
				p := len(oa)
				fmt.Fprintf(&offers, "($%d, 'psb', 'citizen-identity', $%d, $%d, $%d, 'issued', 'city', $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6)
				oa = append(oa, offer, id, randomBytes(32), randomBytes(32), now, now+3600)
				p = len(ca)
				fmt.Fprintf(&creds, "($%d, 'psb', 'citizen-identity', $%d, 'valid', 1, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5)
				ca = append(ca, id, offer, now, now+365*86400, ids.Random(16))
				p = len(ea)
				fmt.Fprintf(&entries, "($%d, $%d, $%d)", p+1, p+2, p+3)
				ea = append(ea, list, idx[i], id)
				out = append(out, seeded{id, list})
			}
			err := c.DB.WriteTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO issuer_offers (id, agency, type_id, credential_id, code_hash, tx_code_mac, state, created_by, created_at, expires_at) VALUES `+offers.String(), oa...); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO issuer_credentials (id, agency, type_id, offer_id, status, copies, issued_at, expires_at, notification_id) VALUES `+creds.String(), ca...); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO issuer_status_entries (list_id, idx, credential_id) VALUES `+entries.String(), ea...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func randomBytes(n int) []byte { b := make([]byte, n); _, _ = rand.Read(b); return b }

// seedDIDs registers n DIDs: genesis operations signed by GOMAXPROCS
// goroutines, appended by 64 concurrent writers (group commit).
func seedDIDs(t *testing.T, c *tongtest.City, n int) []string {
	t.Helper()
	ops := make(chan []byte, 1024)
	var made sync.WaitGroup
	var next atomic.Int64
	at := time.Now().Add(-time.Hour)
	for range runtime.GOMAXPROCS(0) {
		made.Add(1)
		go func() {
			defer made.Done()
			for next.Add(1) <= int64(n) {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				mk, _ := did.EncodeMultikey(&k.PublicKey)
				id := didregistry.PlaceholderDID
				doc := &did.Document{Context: []any{did.ContextV1}, ID: id,
					VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}},
					AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}}, Authentication: []did.VerificationRef{{Ref: "#key-1"}}}
				op, err := didregistry.NewGenesis(k, doc, []crypto.PublicKey{&k.PublicKey}, nil, at)
				if err != nil {
					t.Error(err)
					return
				}
				leaf, _ := op.Canonical()
				ops <- leaf
			}
		}()
	}
	go func() { made.Wait(); close(ops) }()
	var mu sync.Mutex
	var dids []string
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for leaf := range ops {
				op, _ := didregistry.ParseOperation(leaf)
				if _, err := c.Log.Append(context.Background(), leaf); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				dids = append(dids, op.DID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return dids
}

// revocations revokes k random credentials of creds through a and
// returns how long each took to show in the list that b publishes over
// HTTP (SetStatus, then GETs until the list says invalid), as
// "median (min–max)".
func revocations(t *testing.T, a, b *tongtest.City, creds []seeded, k int) string {
	t.Helper()
	ctx := t.Context()
	key, err := a.Keys.Load("org-psb")
	if err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	for _, i := range mrand.Perm(len(creds))[:k] { // k different credentials, never revoked before
		cr := creds[i]
		var idx int
		if err := a.DB.Reader().QueryRowContext(ctx, `SELECT idx FROM issuer_status_entries WHERE credential_id = $1`, cr.id).Scan(&idx); err != nil {
			t.Fatal(err)
		}
		uri := a.PSB.IssuerURL + "/status/" + cr.list
		get := strings.Replace(uri, a.URL, b.URL, 1)
		if st := listStatus(t, b, get, uri, key.Public(), idx); st != statuslist.Valid {
			t.Fatalf("credential %s: status %d before revoking", cr.id, st)
		}
		start := time.Now()
		if _, err := a.Issuer.SetStatus(ctx, "psb", "city", cr.id, issuer.StatusRevoked); err != nil {
			t.Fatal(err)
		}
		for listStatus(t, b, get, uri, key.Public(), idx) != statuslist.Invalid {
			if time.Since(start) > time.Minute {
				t.Fatalf("revocation of %s not published after a minute", cr.id)
			}
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return fmt.Sprintf("%s (%s–%s)", took[len(took)/2].Round(time.Millisecond), took[0].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
}

func listStatus(t *testing.T, c *tongtest.City, get, uri string, key crypto.PublicKey, idx int) byte {
	t.Helper()
	resp, err := c.Client().Get(get)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", get, resp.StatusCode, body)
	}
	tok, err := statuslist.ParseToken(string(body), uri, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := tok.List.Get(idx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// resolveRate resolves random DIDs of dids through c's registry API
// with 8 clients for d and returns resolutions/s.
func resolveRate(t *testing.T, c *tongtest.City, dids []string, d time.Duration) float64 {
	t.Helper()
	var n atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				id := dids[mrand.IntN(len(dids))]
				res, err := c.Registry.Resolve(ctx, id, did.ResolveOptions{})
				if ctx.Err() != nil {
					return
				}
				if err != nil || res.Document == nil || res.Document.ID != id {
					t.Errorf("resolve %s: %+v, %v", id, res, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
