package issuer

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
)

// TestMain stops the PostgreSQL cluster that the tests on both engines
// start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// These tests run the store's operations on SQLite and on PostgreSQL.

const testAgency = "psb"

// openStore opens a migrated store on x with one agency.
func openStore(t *testing.T, x pgtest.Target) *sqlStore {
	t.Helper()
	db := x.Open(t, store.Options{Synchronous: "NORMAL", Conns: 64})
	if _, err := db.Migrate(t.Context(), Component, Schema()); err != nil {
		t.Fatal(err)
	}
	st := newSQLStore(db)
	a := &Agency{Slug: testAgency, Name: "PSB", IssuerURL: "https://psb.example/issuers/psb", DID: "did:tong:zPSB", KeyName: "k", KeyID: "did:tong:zPSB#key-1"}
	if err := st.insertAgency(t.Context(), a, 1); err != nil {
		t.Fatal(err)
	}
	return st
}

// addOffer stores an offer of testAgency in state offered.
func addOffer(t *testing.T, st *sqlStore, id string) {
	t.Helper()
	err := st.groupTx(t.Context(), func(tx storeTx) error {
		return tx.insertOffer(t.Context(), &offerRecord{ID: id, Agency: testAgency, TypeID: "citizen-identity", CredentialID: "cred_" + id,
			CodeHash: []byte("code " + id), TxCodeMAC: []byte("mac"), Claims: `{"name":"x"}`, CreatedBy: "officer", CreatedAt: 10, ExpiresAt: 1000})
	})
	if err != nil {
		t.Fatalf("insertOffer(%s) = %v", id, err)
	}
}

// addCredential stores an offer and its issued credential.
func addCredential(t *testing.T, st *sqlStore, id string) {
	t.Helper()
	addOffer(t, st, id)
	err := st.groupTx(t.Context(), func(tx storeTx) error {
		return tx.saveCredential(t.Context(), &storedCredential{ID: "cred_" + id, Agency: testAgency, TypeID: "citizen-identity", OfferID: id,
			Status: StatusValid, Copies: 1, IssuedAt: 20, ExpiresAt: 2000, NotificationID: "ntf_" + id})
	})
	if err != nil {
		t.Fatalf("saveCredential(%s) = %v", id, err)
	}
}

func TestStoreAgency(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		st, ctx := openStore(t, x), t.Context()
		dup := &Agency{Slug: testAgency, Name: "again", IssuerURL: "https://other.example/issuers/psb", DID: "d", KeyName: "k", KeyID: "k"}
		if err := st.insertAgency(ctx, dup, 2); !errors.Is(err, errDuplicate) {
			t.Errorf("insertAgency(same slug) = %v, want errDuplicate", err)
		}
		if _, err := st.agency(ctx, "nobody"); !errors.Is(err, errNoRecord) {
			t.Errorf("agency(nobody) = %v, want errNoRecord", err)
		}
		a, err := st.agency(ctx, testAgency)
		if err != nil || a.IssuerURL != "https://psb.example/issuers/psb" || a.KeyID != "did:tong:zPSB#key-1" {
			t.Errorf("agency(%s) = %+v, %v", testAgency, a, err)
		}
		for _, step := range []struct{ put, want string }{{"", ""}, {`["MIIB"]`, `["MIIB"]`}, {`["MIIC"]`, `["MIIC"]`}} {
			if step.put != "" {
				if err := st.putX5C(ctx, testAgency, step.put); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := st.agencyX5C(ctx, testAgency); err != nil || got != step.want {
				t.Errorf("agencyX5C = %q, %v, want %q", got, err, step.want)
			}
		}
		if err := st.putProfile(ctx, testAgency, ProfileHAIP); err != nil {
			t.Fatal(err)
		}
		if got, err := st.agencyProfile(ctx, testAgency); err != nil || got != ProfileHAIP {
			t.Errorf("agencyProfile = %q, %v", got, err)
		}
		// vct ownership: the first agency to claim a vct keeps it.
		if err := st.insertAgency(ctx, &Agency{Slug: "housing", Name: "H", IssuerURL: "https://h.example/issuers/housing", DID: "d", KeyName: "k", KeyID: "k"}, 3); err != nil {
			t.Fatal(err)
		}
		var owners []string
		for _, slug := range []string{testAgency, "housing"} {
			err := st.writeTx(ctx, func(tx storeTx) error {
				owner, err := tx.claimVCT(ctx, "urn:vct:id", slug, 5)
				owners = append(owners[:len(owners):len(owners)], owner)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff([]string{testAgency, testAgency}, owners); diff != "" {
			t.Errorf("claimVCT owners (-want +got):\n%s", diff)
		}
		err = st.writeTx(ctx, func(tx storeTx) error {
			others, err := tx.otherAgencyURLs(ctx, testAgency)
			if diff := cmp.Diff([]agencyURL{{"housing", "https://h.example/issuers/housing"}}, others); diff != "" {
				t.Errorf("otherAgencyURLs (-want +got):\n%s", diff)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// API tokens.
		if err := st.insertAPIToken(ctx, "tok_1", testAgency, []byte("h1"), "desk", 7); err != nil {
			t.Fatal(err)
		}
		if id, agency, revoked, err := st.apiToken(ctx, []byte("h1")); err != nil || id != "tok_1" || agency != testAgency || revoked {
			t.Errorf("apiToken = %s, %s, %v, %v", id, agency, revoked, err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := st.revokeAPIToken(ctx, testAgency, "tok_1", 8); err != nil || ok != want {
				t.Errorf("revokeAPIToken #%d = %v, %v, want %v", i+1, ok, err, want)
			}
		}
		if _, _, revoked, err := st.apiToken(ctx, []byte("h1")); err != nil || !revoked {
			t.Errorf("apiToken after revocation: revoked %v, %v", revoked, err)
		}
		if _, _, _, err := st.apiToken(ctx, []byte("nope")); !errors.Is(err, errNoRecord) {
			t.Errorf("apiToken(unknown) = %v, want errNoRecord", err)
		}
	})
}

// TestStoreOfferSingleUse: each state change of an offer happens once,
// and tx_code tries lock it.
func TestStoreOfferSingleUse(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		st, ctx := openStore(t, x), t.Context()
		addOffer(t, st, "o1")
		var results []bool
		step := func(name string, fn func(tx storeTx) (bool, error)) {
			t.Helper()
			err := st.groupTx(ctx, func(tx storeTx) error {
				ok, err := fn(tx)
				results = append(results, ok)
				return err
			})
			if err != nil {
				t.Fatalf("%s = %v", name, err)
			}
		}
		step("redeemOffer", func(tx storeTx) (bool, error) { return tx.redeemOffer(ctx, "o1", 50) })
		step("redeemOffer again", func(tx storeTx) (bool, error) { return tx.redeemOffer(ctx, "o1", 51) })
		step("markOfferIssued from offered", func(tx storeTx) (bool, error) { return tx.markOfferIssued(ctx, "o1", offerOffered) })
		step("markOfferIssued", func(tx storeTx) (bool, error) { return tx.markOfferIssued(ctx, "o1", offerRedeemed) })
		step("markOfferIssued again", func(tx storeTx) (bool, error) { return tx.markOfferIssued(ctx, "o1", offerRedeemed) })
		if diff := cmp.Diff([]bool{true, false, false, true, false}, results); diff != "" {
			t.Errorf("compare-and-swap results (-want +got):\n%s", diff)
		}
		o, err := st.offer(ctx, "o1")
		if err != nil || o.State != offerIssued || o.Claims != nil || o.CredentialID != "cred_o1" {
			t.Errorf("offer(o1) after issue = %+v, %v; want issued with claims wiped", o, err)
		}
		if _, err := st.offer(ctx, "nope"); !errors.Is(err, errNoRecord) {
			t.Errorf("offer(nope) = %v, want errNoRecord", err)
		}

		// tx_code tries: the store keeps the count and the lock.
		addOffer(t, st, "o2")
		for tries := int64(1); tries <= 3; tries++ {
			state := offerOffered
			if tries == 3 {
				state = offerLocked
			}
			if err := st.groupTx(ctx, func(tx storeTx) error { return tx.setTxTries(ctx, "o2", tries, state) }); err != nil {
				t.Fatal(err)
			}
		}
		err = st.groupTx(ctx, func(tx storeTx) error {
			o, err := tx.offerForToken(ctx, "o2")
			if err != nil {
				return err
			}
			if o.Tries != 3 || o.State != offerLocked || string(o.TxCodeMAC) != "mac" || o.Agency != testAgency {
				t.Errorf("offerForToken(o2) = %+v, want 3 tries, locked", o)
			}
			if ok, err := tx.redeemOffer(ctx, "o2", 60); err != nil || ok {
				t.Errorf("redeemOffer(locked) = %v, %v, want false", ok, err)
			}
			if _, err := tx.offerForToken(ctx, "nope"); !errors.Is(err, errNoRecord) {
				t.Errorf("offerForToken(nope) = %v, want errNoRecord", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// Deferred: redeemed → pending once, approval once.
		addOffer(t, st, "o3")
		results = nil
		step("redeemOffer", func(tx storeTx) (bool, error) { return tx.redeemOffer(ctx, "o3", 70) })
		step("deferOffer", func(tx storeTx) (bool, error) { return tx.deferOffer(ctx, "o3", "tx_1", `[{}]`) })
		step("deferOffer again", func(tx storeTx) (bool, error) { return tx.deferOffer(ctx, "o3", "tx_2", `[{}]`) })
		step("approveOffer", func(tx storeTx) (bool, error) { return tx.approveOffer(ctx, "cred_o3", testAgency, "officer") })
		step("approveOffer again", func(tx storeTx) (bool, error) { return tx.approveOffer(ctx, "cred_o3", testAgency, "officer") })
		if diff := cmp.Diff([]bool{true, true, false, true, false}, results); diff != "" {
			t.Errorf("deferred compare-and-swap results (-want +got):\n%s", diff)
		}
		o, err = st.offer(ctx, "o3")
		if err != nil || o.State != offerPending || o.TransactionID == nil || *o.TransactionID != "tx_1" || o.ApprovedBy == nil || *o.ApprovedBy != "officer" {
			t.Errorf("offer(o3) = %+v, %v", o, err)
		}
	})
}

// TestStoreSpend: a single-use value (c_nonce, DPoP jti) is spent once,
// and a rolled-back transaction spends nothing.
func TestStoreSpend(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		st, ctx := openStore(t, x), t.Context()
		boom := errors.New("boom")
		err := st.groupTx(ctx, func(tx storeTx) error {
			if ok, err := tx.spend(ctx, []byte("n1"), 100); err != nil || !ok {
				t.Errorf("spend(n1) in a failing transaction = %v, %v", ok, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("groupTx = %v, want boom", err)
		}
		for i, want := range []bool{true, false} {
			err := st.groupTx(ctx, func(tx storeTx) error {
				ok, err := tx.spend(ctx, []byte("n1"), 100)
				if ok != want {
					t.Errorf("spend(n1) #%d = %v, want %v", i+1, ok, want)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := st.spend(ctx, []byte("n1"), 100); err != nil || ok {
			t.Errorf("spend(n1) outside a transaction = %v, %v, want false", ok, err)
		}
		if ok, err := st.spend(ctx, []byte("n2"), 5); err != nil || !ok {
			t.Errorf("spend(n2) = %v, %v, want true", ok, err)
		}
		// The purge forgets expired values, which can then be spent
		// again (they are refused by their expiry before that).
		if err := st.purgeExpired(ctx, 50, 0, 0); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.spend(ctx, []byte("n2"), 5); err != nil || !ok {
			t.Errorf("spend(n2) after purge = %v, %v, want true", ok, err)
		}
		if ok, err := st.spend(ctx, []byte("n1"), 100); err != nil || ok {
			t.Errorf("spend(n1) after purge = %v, %v, want false (not expired)", ok, err)
		}
	})
}

// TestStoreCredentials: a saved credential is found by id, offer and
// notification id; its refresh generation moves by compare-and-swap.
func TestStoreCredentials(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		st, ctx := openStore(t, x), t.Context()
		addCredential(t, st, "o1")
		info, err := st.credentialInfo(ctx, "cred_o1", testAgency)
		if err != nil {
			t.Fatal(err)
		}
		want := &CredentialInfo{ID: "cred_o1", Type: "citizen-identity", Status: StatusValid, Copies: 1, IssuedAt: unixTime(20), ExpiresAt: unixTime(2000)}
		if diff := cmp.Diff(want, info); diff != "" {
			t.Errorf("credentialInfo (-want +got):\n%s", diff)
		}
		if _, err := st.credentialInfo(ctx, "cred_o1", "other"); !errors.Is(err, errNoRecord) {
			t.Errorf("credentialInfo(another agency) = %v, want errNoRecord", err)
		}
		err = st.groupTx(ctx, func(tx storeTx) error {
			id, err := tx.credentialForNotification(ctx, "ntf_o1", "o1")
			if err != nil || id != "cred_o1" {
				t.Errorf("credentialForNotification = %q, %v", id, err)
			}
			if _, err := tx.credentialForNotification(ctx, "ntf_o1", "o2"); !errors.Is(err, errNoRecord) {
				t.Errorf("credentialForNotification(another offer) = %v, want errNoRecord", err)
			}
			if err := tx.setNotified(ctx, "cred_o1", EventAccepted); err != nil {
				return err
			}
			if err := tx.addCopies(ctx, "cred_o1", 2); err != nil {
				return err
			}
			c, err := tx.refreshState(ctx, "o1", testAgency)
			if err != nil || c.ID != "cred_o1" || c.RefreshGen != 0 || c.Status != StatusValid {
				t.Errorf("refreshState = %+v, %v", c, err)
			}
			for i, want := range []bool{true, false} {
				if ok, err := tx.rotateRefresh(ctx, "cred_o1", 0, 1); err != nil || ok != want {
					t.Errorf("rotateRefresh(0→1) #%d = %v, %v, want %v", i+1, ok, err, want)
				}
			}
			if err := tx.revokeRefreshFamily(ctx, "cred_o1"); err != nil {
				return err
			}
			if gen, err := tx.refreshGen(ctx, "cred_o1"); err != nil || gen != familyRevoked {
				t.Errorf("refreshGen after revocation = %d, %v, want %d", gen, err, familyRevoked)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		list, err := st.credentials(ctx, testAgency, 10)
		if err != nil || len(list) != 1 || list[0].Copies != 3 || list[0].Notified != EventAccepted {
			t.Errorf("credentials = %+v, %v", list, err)
		}
		if _, err := st.credentialByOffer(ctx, "nope", testAgency); !errors.Is(err, errNoRecord) {
			t.Errorf("credentialByOffer(nope) = %v, want errNoRecord", err)
		}
	})
}

// allocate reserves and allocates n entries for credentialID in one
// transaction, as Service.withStatus does, and counts how many times the
// transaction ran.
func allocate(ctx context.Context, st *sqlStore, credentialID string, n int, size int64, runs *atomic.Int64) ([]statusSlot, error) {
	r, err := st.reserveStatus(ctx, testAgency, n, size, 1)
	if err != nil {
		return nil, err
	}
	var slots []statusSlot
	err = st.groupTx(ctx, func(tx storeTx) error {
		runs.Add(1)
		var err error
		slots, err = tx.allocateStatus(ctx, r, testAgency, credentialID, n, size, 1)
		return err
	})
	return slots, err
}

// TestStoreStatusAllocation: entries get distinct indexes in the
// current list, a list takes entries until it is half full, room given
// back is taken again, and a status change reaches the entries and
// moves the list's version.
func TestStoreStatusAllocation(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		st, ctx := openStore(t, x), t.Context()
		const size = 8 // half full at 4
		var runs atomic.Int64
		for _, id := range []string{"o1", "o2", "o3"} {
			addCredential(t, st, id)
		}
		a, err := allocate(ctx, st, "cred_o1", 3, size, &runs)
		if err != nil || len(a) != 3 {
			t.Fatalf("allocate(3) = %v, %v", a, err)
		}
		seen := map[int64]bool{}
		for _, s := range a {
			if s.ListID != a[0].ListID || s.Index < 0 || s.Index >= size || seen[s.Index] {
				t.Errorf("allocate(3) = %v: want distinct indexes in [0,%d) of one list", a, size)
			}
			seen[s.Index] = true
		}
		// Room reserved and given back is not counted.
		r, err := st.reserveStatus(ctx, testAgency, 1, size, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.releaseStatus(ctx, r); err != nil {
			t.Fatal(err)
		}
		b, err := allocate(ctx, st, "cred_o2", 1, size, &runs)
		if err != nil || len(b) != 1 || b[0].ListID != a[0].ListID || seen[b[0].Index] {
			t.Fatalf("allocate(1) = %v, %v; want a new index in list %s", b, err, a[0].ListID)
		}
		// Four of eight used: the next copy opens a new list.
		c, err := allocate(ctx, st, "cred_o3", 1, size, &runs)
		if err != nil || len(c) != 1 || c[0].ListID == a[0].ListID {
			t.Fatalf("allocate(1) on a half-full list = %v, %v; want a new list", c, err)
		}
		if runs.Load() != 3 {
			t.Errorf("allocation transactions ran %d times, want 3", runs.Load())
		}

		_, _, v0, err := st.statusList(ctx, a[0].ListID, testAgency)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.writeTx(ctx, func(tx storeTx) error { return tx.setCredentialStatus(ctx, "cred_o1", StatusRevoked, 1) }); err != nil {
			t.Fatal(err)
		}
		gotSize, bits, v1, err := st.statusList(ctx, a[0].ListID, testAgency)
		if err != nil || gotSize != size || bits != statusBits || v1 != v0+1 {
			t.Errorf("statusList after revocation = size %d, bits %d, version %d, %v; want %d, %d, %d", gotSize, bits, v1, err, size, statusBits, v0+1)
		}
		entries, err := st.statusEntries(ctx, a[0].ListID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]int64{}
		for _, e := range entries {
			got[e.Index] = e.Status
		}
		want := map[int64]int64{}
		for _, s := range a {
			want[s.Index] = 1
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("statusEntries (-want +got):\n%s", diff)
		}
		if cur, err := func() (string, error) {
			var cur string
			err := st.writeTx(ctx, func(tx storeTx) error {
				var err error
				cur, err = tx.credentialStatus(ctx, "cred_o1", testAgency)
				return err
			})
			return cur, err
		}(); err != nil || cur != StatusRevoked {
			t.Errorf("credentialStatus = %q, %v", cur, err)
		}
		if _, _, _, err := st.statusList(ctx, "nope", testAgency); !errors.Is(err, errNoRecord) {
			t.Errorf("statusList(nope) = %v, want errNoRecord", err)
		}
	})
}

// TestStoreConcurrentAllocation: 32 transactions allocating status
// entries for one agency at once each run once (on PostgreSQL they used
// to collide on the agency's current list row, and all but one were
// retried) and get distinct indexes.
func TestStoreConcurrentAllocation(t *testing.T) {
	t.Parallel()
	const n, copies = 32, 2
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		st, ctx := openStore(t, x), t.Context()
		ids := make([]string, n)
		for i := range ids {
			ids[i] = "o" + string(rune('A'+i))
			addCredential(t, st, ids[i])
		}
		var runs atomic.Int64
		slots := make([][]statusSlot, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ids {
			wg.Go(func() {
				<-start
				slots[i], errs[i] = allocate(ctx, st, "cred_"+ids[i], copies, DefaultStatusListSize, &runs)
			})
		}
		close(start)
		wg.Wait()
		seen := map[statusSlot]bool{}
		for i, err := range errs {
			if err != nil {
				t.Errorf("allocate #%d = %v", i, err)
			}
			for _, s := range slots[i] {
				if seen[s] {
					t.Errorf("index %d of list %s allocated twice", s.Index, s.ListID)
				}
				seen[s] = true
			}
		}
		if len(seen) != n*copies {
			t.Errorf("%d distinct indexes, want %d", len(seen), n*copies)
		}
		if runs.Load() != n {
			t.Errorf("allocation transactions ran %d times for %d allocations, want no retries", runs.Load(), n)
		}
	})
}
