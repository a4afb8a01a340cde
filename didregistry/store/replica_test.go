package store

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/pgtest"
	istore "github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/pgdb"
)

// Short lease settings, so that the failover tests take seconds.
const (
	testLeaseTTL   = 2 * time.Second
	testLeaseRenew = 500 * time.Millisecond
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// replica opens a Log on the PostgreSQL database at url, as one replica.
func replica(t testing.TB, url string, logKey ed25519.PrivateKey, name string) *Log {
	t.Helper()
	db, err := pgdb.Open(context.Background(), url, istore.Options{Conns: 8})
	if err != nil {
		t.Fatal(err)
	}
	l, err := openReplica(db, logKey, name)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); db.Close() })
	return l
}

func openReplica(db *istore.DB, logKey ed25519.PrivateKey, name string) (*Log, error) {
	signer, _, _ := didregistry.NewNoteSigner(testOrigin, logKey)
	return Open(context.Background(), Config{DB: db, Origin: testOrigin, Signer: signer, Logger: quiet,
		LeaseTTL: testLeaseTTL, LeaseRenew: testLeaseRenew, Poll: 20 * time.Millisecond, Holder: name})
}

func newGenesisLeaf() ([]byte, string, error) {
	leaf, _, _, err := newGenesis(time.Now())
	return leaf, didregistry.EntryHash(leaf), err
}

func newGenesis(at time.Time) ([]byte, *didregistry.Operation, *ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	op, err := didregistry.NewGenesis(k, docFor(didregistry.PlaceholderDID, mustMultikey(&k.PublicKey)), []crypto.PublicKey{&k.PublicKey}, nil, at)
	if err != nil {
		return nil, nil, nil, err
	}
	leaf, err := op.Canonical()
	return leaf, op, k, err
}

// updateLeaf signs an update of did's head on l, one second after it,
// that gives the document a new key.
func updateLeaf(l *Log, id string, key *ecdsa.PrivateKey) ([]byte, error) {
	head, err := l.State(context.Background(), id)
	if err != nil {
		return nil, err
	}
	op := didregistry.Next(head, didregistry.OpUpdate, head.VersionTime.Add(time.Second))
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, err := json.Marshal(docFor(id, mustMultikey(&k2.PublicKey)))
	if err != nil {
		return nil, err
	}
	op.Document = raw
	if err := op.Sign(key); err != nil {
		return nil, err
	}
	return op.Canonical()
}

// acked is one acknowledged append.
type acked struct {
	index     int64
	entryHash string
	treeSize  int64
}

// load appends new DIDs through l from workers goroutines until stop
// closes, each followed by two updates, and returns what was
// acknowledged.
func load(l *Log, workers int, stop <-chan struct{}) (acks []acked, errs []error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				leaf, op, key, err := newGenesis(time.Now().Add(-time.Hour))
				for step := 0; err == nil && step < 3; step++ {
					if step > 0 {
						leaf, err = updateLeaf(l, op.DID, key)
						if err != nil {
							break
						}
					}
					var r Receipt
					r, err = l.Append(context.Background(), leaf)
					if err == nil {
						mu.Lock()
						acks = append(acks, acked{r.Index, didregistry.EntryHash(leaf), r.TreeSize})
						mu.Unlock()
					}
				}
				if err == nil {
					continue
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	return acks, errs
}

// checkAcked asserts that every acknowledged operation sits at its index.
func checkAcked(t *testing.T, db *istore.DB, who string, acks []acked) {
	t.Helper()
	for _, a := range acks {
		var h string
		if err := db.Reader().QueryRowContext(t.Context(), `SELECT entry_hash FROM registry_entries WHERE idx = $1`, a.index).Scan(&h); err != nil || h != a.entryHash {
			t.Fatalf("%s: acknowledged entry %d is %q (%v), want %s", who, a.index, h, err, a.entryHash)
		}
		if a.treeSize != 0 && a.treeSize <= a.index {
			t.Errorf("%s: receipt of %d names tree size %d, which does not include it", who, a.index, a.treeSize)
		}
	}
}

// checkHeads asserts that the derived heads table agrees with the log:
// one row per DID, at its newest entry.
func checkHeads(t *testing.T, db *istore.DB) {
	t.Helper()
	var dids, heads, wrong int
	r := db.Reader()
	r.QueryRowContext(t.Context(), `SELECT COUNT(DISTINCT did) FROM registry_entries`).Scan(&dids)
	r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM registry_heads`).Scan(&heads)
	r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM registry_heads h WHERE
		h.seq <> (SELECT MAX(seq) FROM registry_entries e WHERE e.did = h.did) OR
		h.head_idx <> (SELECT MAX(idx) FROM registry_entries e WHERE e.did = h.did)`).Scan(&wrong)
	if dids != heads || wrong != 0 {
		t.Errorf("registry_heads: %d rows for %d DIDs, %d not at their newest entry", heads, dids, wrong)
	}
}

// checkConsistent asserts that the replicas' newest checkpoints are
// prefixes of one another (consistency proofs from the shared log).
func checkConsistent(t *testing.T, ls ...*Log) {
	t.Helper()
	for i, a := range ls {
		for _, b := range ls[i+1:] {
			pa, pb := a.Latest(), b.Latest()
			if pa.Size > pb.Size {
				pa, pb = pb, pa
			}
			if pa.Size == 0 {
				continue
			}
			tp, err := a.ProveConsistency(t.Context(), pa.Size, pb.Size)
			if err != nil || tlog.CheckTree(tp, pb.Size, pb.Root, pa.Size, pa.Root) != nil {
				t.Errorf("checkpoints %d and %d of two replicas are not consistent (%v)", pa.Size, pb.Size, err)
			}
		}
	}
}

// waitFor polls cond until it holds; the limit is a hang guard for a
// broken build, not a performance bound.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func leaders(ls ...*Log) int {
	n := 0
	for _, l := range ls {
		if l.Leader() {
			n++
		}
	}
	return n
}

func verifierFor(logKey ed25519.PrivateKey) note.Verifier {
	_, vkey, _ := didregistry.NewNoteSigner(testOrigin, logKey)
	v, _ := note.NewVerifier(vkey)
	return v
}

// Three replicas append at once to one database: every acknowledged
// operation is at a distinct index, one replica leads, the others'
// appends are checkpointed by it, the log verifies, and the replicas'
// checkpoints agree.
func TestReplicasShareOneLog(t *testing.T) {
	t.Parallel()
	url := pgtest.URLForTest(t)
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	ls := []*Log{replica(t, url, logKey, "a"), replica(t, url, logKey, "b"), replica(t, url, logKey, "c")}
	if n := leaders(ls...); n != 1 {
		t.Fatalf("%d replicas hold the lease, want 1", n)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	all := make([][]acked, len(ls))
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var errs []error
			all[i], errs = load(l, 4, stop)
			for _, err := range errs {
				t.Errorf("replica %d: %v", i, err)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	seen := map[int64]bool{}
	db := ls[0].db
	for i, acks := range all {
		if len(acks) == 0 {
			t.Fatalf("replica %d acknowledged nothing", i)
		}
		checkAcked(t, db, fmt.Sprint("replica ", i), acks)
		for _, a := range acks {
			if seen[a.index] {
				t.Fatalf("index %d acknowledged twice", a.index)
			}
			seen[a.index] = true
			if a.treeSize == 0 {
				t.Errorf("replica %d: entry %d was never checkpointed", i, a.index)
			}
		}
	}
	var size int64
	db.Reader().QueryRowContext(t.Context(), qSelectHeadSize).Scan(&size)
	waitFor(t, "every replica to serve the newest checkpoint", func() bool {
		for _, l := range ls {
			if l.Latest().Size != size {
				return false
			}
		}
		return true
	})
	checkConsistent(t, ls...)
	checkHeads(t, db)
	rep, err := Verify(t.Context(), db, didregistry.Rules{}, testOrigin, verifierFor(logKey), nil)
	if err != nil || rep.Entries != int64(len(seen)) || rep.Unpublished != 0 {
		t.Fatalf("Verify = %+v, %v; want %d entries, all published", rep, err, len(seen))
	}
	t.Logf("%d operations through 3 replicas, %d checkpoints", rep.Entries, rep.Checkpoints)
}

// A replica that lost its lease (paused past its expiry while another
// took it) still appends, but never publishes a checkpoint: the fence in
// its publishing transaction no longer matches.
func TestFencedReplicaDoesNotPublish(t *testing.T) {
	t.Parallel()
	url := pgtest.URLForTest(t)
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	a := replica(t, url, logKey, "a")
	if !a.Leader() {
		t.Fatal("the first replica does not hold the lease")
	}
	leaf, _, _ := newGenesisLeaf()
	if r, err := a.Append(t.Context(), leaf); err != nil || r.TreeSize != 1 {
		t.Fatalf("Append on the leader = %+v, %v", r, err)
	}
	// a pauses: its lease runs out on the database's clock (we end it
	// early rather than wait), and b takes it. a's own belief has not
	// run out yet.
	if _, err := a.db.Writer().ExecContext(t.Context(), `UPDATE registry_lease SET expires_ms = 0`); err != nil {
		t.Fatal(err)
	}
	b := replica(t, url, logKey, "b")
	if !b.Leader() {
		t.Fatal("b did not take the expired lease")
	}
	if _, ok := a.lease.held(); !ok {
		t.Fatal("a no longer believes it holds the lease; the test needs it to")
	}
	b.Close() // nobody checkpoints now but a, if it could
	var fence int64
	a.db.Reader().QueryRowContext(t.Context(), `SELECT fence FROM registry_lease`).Scan(&fence)
	// b's Close gave the lease up, so let it stay b's: a must not take it
	// back within this test.
	if _, err := a.db.Writer().ExecContext(t.Context(), `UPDATE registry_lease SET holder = 'b', expires_ms = 9223372036854775807`); err != nil {
		t.Fatal(err)
	}
	leaf, h, _ := newGenesisLeaf()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	r, err := a.Append(ctx, leaf)
	if err != nil {
		t.Fatalf("Append on the fenced replica = %v; the entry must still commit", err)
	}
	if r.TreeSize != 0 {
		t.Errorf("fenced replica's receipt names checkpoint %d, want none", r.TreeSize)
	}
	checkAcked(t, a.db, "a", []acked{{r.Index, h, 0}})
	var newest, fenced int64
	a.db.Reader().QueryRowContext(t.Context(), `SELECT MAX(size) FROM registry_checkpoints`).Scan(&newest)
	a.db.Reader().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM registry_checkpoints WHERE fence = 1 AND size > 1`).Scan(&fenced)
	if newest != 1 || fenced != 0 {
		t.Errorf("after the fenced append: newest checkpoint %d, %d signed under the old fence; want 1 and 0", newest, fenced)
	}
	if a.Leader() {
		t.Errorf("a still believes it leads after its publishing transaction found the lease gone")
	}
	if fence < 2 {
		t.Errorf("fence after the takeover = %d, want at least 2", fence)
	}
}

// TestMain's child for TestKillLeaseHolder: a replica that appends under
// load and prints "leader" once it holds the lease and then "ack <index>
// <entryHash> <treeSize>" for each acknowledged operation, until killed.
func leaseChild(url, seedHex string) int {
	seed, _ := hex.DecodeString(seedHex)
	db, err := pgdb.Open(context.Background(), url, istore.Options{Conns: 8})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := openReplica(db, ed25519.NewKeyFromSeed(seed), "child")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	for !l.Leader() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(out, "leader")
	out.Flush()
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				leaf, h, err := newGenesisLeaf()
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				r, err := l.Append(context.Background(), leaf)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d %s %d\n", r.Index, h, r.TreeSize)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

// The lease holder is a child process, killed with SIGKILL while it and
// two other replicas append under load. No acknowledged operation is
// lost, another replica takes the lease, it checkpoints what the dead
// holder left unpublished, the log verifies, and every replica's
// checkpoints are consistent with the others'.
func TestKillLeaseHolder(t *testing.T) {
	t.Parallel()
	url := pgtest.URLForTest(t)
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	logKey := ed25519.NewKeyFromSeed(seed)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TONG_LEASE_DB="+url, "TONG_LEASE_LOGKEY="+hex.EncodeToString(seed))
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "leader" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child did not become the leader: %s", stderr.String())
	}
	var childAcks []acked
	childDone := make(chan struct{})
	go func() {
		defer close(childDone)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 4 && f[0] == "ack" {
				i, _ := strconv.ParseInt(f[1], 10, 64)
				s, _ := strconv.ParseInt(f[3], 10, 64)
				childAcks = append(childAcks, acked{i, f[2], s})
			}
		}
	}()
	b, c := replica(t, url, logKey, "b"), replica(t, url, logKey, "c")
	if b.Leader() || c.Leader() {
		t.Fatal("a second replica holds the lease while the child does")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bAcks, cAcks []acked
	var bErrs, cErrs []error
	wg.Add(2)
	go func() { defer wg.Done(); bAcks, bErrs = load(b, 4, stop) }()
	go func() { defer wg.Done(); cAcks, cErrs = load(c, 4, stop) }()

	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	cmd.Wait()
	<-childDone
	took := waitFor(t, "another replica to take the lease", func() bool { return leaders(b, c) == 1 })
	t.Logf("lease taken over %s after SIGKILL (TTL %s, renew %s)", took, testLeaseTTL, testLeaseRenew)
	// Keep the load on after the takeover, so the new holder checkpoints
	// its own and the other replica's appends.
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, err := range append(bErrs, cErrs...) {
		t.Errorf("append on a surviving replica: %v", err)
	}
	if len(childAcks) == 0 {
		t.Fatalf("the child acknowledged nothing: %s", stderr.String())
	}
	db := b.db
	checkAcked(t, db, "child", childAcks)
	checkAcked(t, db, "b", bAcks)
	checkAcked(t, db, "c", cAcks)
	var late int
	for _, a := range append(bAcks, cAcks...) {
		if a.treeSize == 0 {
			late++
		}
	}
	var size int64
	db.Reader().QueryRowContext(t.Context(), qSelectHeadSize).Scan(&size)
	waitFor(t, "the new holder to checkpoint the whole log", func() bool {
		return b.Latest().Size == size && c.Latest().Size == size
	})
	checkConsistent(t, b, c)
	checkHeads(t, db)
	// The dead child's last checkpoint is a prefix of the survivors'.
	var childMax int64
	for _, a := range childAcks {
		childMax = max(childMax, a.treeSize)
	}
	if childMax > 0 {
		old, err := b.Checkpoint(t.Context(), childMax)
		if err != nil {
			t.Fatalf("the child's checkpoint %d is gone: %v", childMax, err)
		}
		oc, err := didregistry.OpenCheckpoint(old, testOrigin, verifierFor(logKey))
		if err != nil {
			t.Fatal(err)
		}
		p := b.Latest()
		tp, err := b.ProveConsistency(t.Context(), childMax, p.Size)
		if err != nil || tlog.CheckTree(tp, p.Size, p.Root, childMax, oc.Hash) != nil {
			t.Errorf("the child's checkpoint %d is not a prefix of %d (%v)", childMax, p.Size, err)
		}
	}
	rep, err := Verify(t.Context(), db, didregistry.Rules{}, testOrigin, verifierFor(logKey), nil)
	if err != nil || rep.Unpublished != 0 {
		t.Fatalf("Verify after SIGKILL = %+v, %v", rep, err)
	}
	var fences int
	db.Reader().QueryRowContext(t.Context(), `SELECT COUNT(DISTINCT fence) FROM registry_checkpoints`).Scan(&fences)
	if fences < 2 {
		t.Errorf("checkpoints were signed under %d lease terms, want the child's and its successor's", fences)
	}
	t.Logf("child %d, b %d, c %d acknowledged (%d waited past CheckpointWait); log %d entries, %d checkpoints; killed at %s",
		len(childAcks), len(bAcks), len(cAcks), late, rep.Entries, rep.Checkpoints, killed.Format(time.StampMilli))
}

// A cosigned checkpoint kept through one replica is the newest on every
// replica (and on SQLite survives a restart).
func TestCosignedShared(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		a := openTestLog(t, x, "", logKey)
		if size, c, err := a.Cosigned(t.Context()); err != nil || size != 0 || c != nil {
			t.Fatalf("Cosigned on a new log = %d, %q, %v; want none", size, c, err)
		}
		for _, n := range []int64{2, 1} {
			if err := a.PutCosigned(t.Context(), n, []byte(fmt.Sprint("note ", n))); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.PutCosigned(t.Context(), 0, nil); err == nil {
			t.Error("PutCosigned(0, nil) succeeded")
		}
		b := a.Log
		if x.Engine == istore.PostgreSQL {
			b = replica(t, x.Addr, logKey, "b")
		}
		if size, c, err := b.Cosigned(t.Context()); err != nil || size != 2 || string(c) != "note 2" {
			t.Errorf("Cosigned on another replica = %d, %q, %v; want 2, note 2", size, c, err)
		}
	})
}
