// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb and
// pg_ctl in a temporary directory, as the unprivileged postgres user when
// the tests run as root, listening only on a Unix socket in that
// directory. One cluster serves a whole test binary, started when a test
// first asks for it and removed when the binary ends; each test gets a
// fresh database of its own.
//
// A package that uses it says so in its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// When PostgreSQL is not installed the tests that need it skip, except
// under CI=true, where they fail: CI must not pass by skipping.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/pgdb"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	dir    string // holds data/ and the socket
	bin    string // directory of initdb, pg_ctl
	asUser string // "postgres" when we are root, else ""
	n      atomic.Int64
}

var (
	mu      sync.Mutex
	shared  *Cluster
	initErr error
	inited  bool
	inMain  bool
)

// Main runs the tests of m and then stops the cluster if one was started.
func Main(m *testing.M) int {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		shared = nil
	}
	return code
}

// Get returns the binary's cluster, starting it on first use. It skips t
// (fails it under CI=true) when PostgreSQL is not installed.
func Get(t testing.TB) *Cluster {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !inMain {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main")
	}
	if !inited {
		inited = true
		shared, initErr = Start()
	}
	if initErr != nil {
		if errors.Is(initErr, ErrNotInstalled) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: %v (install Debian's postgresql; under CI=true this fails)", initErr)
		}
		t.Fatalf("pgtest: %v", initErr)
	}
	return shared
}

// ErrNotInstalled reports that initdb and pg_ctl were not found.
var ErrNotInstalled = errors.New("PostgreSQL (initdb, pg_ctl) is not installed")

func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", ErrNotInstalled
}

// Start creates and starts a new cluster. Stop removes it.
func Start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root, and there is no postgres user to run PostgreSQL as: %w", err)
		}
		c.asUser = "postgres"
	}
	c.reapStale()
	// A short path: the socket's path must fit in 107 bytes. The name
	// carries our pid, so that a later run can tell a cluster whose test
	// binary was killed (go test -timeout) and stop it.
	c.dir, err = os.MkdirTemp("", fmt.Sprintf("pgtest-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	if c.asUser != "" {
		if err := exec.Command("chown", "-R", c.asUser, c.dir).Run(); err != nil {
			os.RemoveAll(c.dir)
			return nil, fmt.Errorf("chown %s: %w", c.dir, err)
		}
	}
	data := filepath.Join(c.dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(c.dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	fsync := "off" // a test cluster never crashes itself; the replicas do
	if os.Getenv("PGTEST_FSYNC") == "on" {
		fsync = "on"
	}
	opts := strings.Join([]string{
		"-c listen_addresses=''",
		"-c unix_socket_directories=" + c.dir,
		"-c max_connections=400",
		"-c shared_buffers=64MB",
		"-c fsync=" + fsync,
		"-c full_page_writes=" + fsync,
	}, " ")
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		os.RemoveAll(c.dir)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return c, nil
}

// reapStale stops and removes the clusters of test binaries that died
// without stopping theirs.
func (c *Cluster) reapStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*-*"))
	for _, d := range dirs {
		f := strings.SplitN(filepath.Base(d), "-", 3)
		pid, err := strconv.Atoi(f[1])
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // ours, or its binary still runs
		}
		if _, err := os.Stat(filepath.Join(d, "data", "PG_VERSION")); err == nil {
			old := &Cluster{dir: d, bin: c.bin, asUser: c.asUser}
			old.run("pg_ctl", "-D", filepath.Join(d, "data"), "-m", "immediate", "-w", "stop")
		}
		os.RemoveAll(d)
	}
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.asUser, "--", filepath.Join(c.bin, name)}, args...)...)
	} else {
		cmd = exec.Command(filepath.Join(c.bin, name), args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Stop stops the cluster at once and removes its directory.
func (c *Cluster) Stop() error {
	out, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	if err != nil {
		err = fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

// URL is the connection URL of database name on the cluster.
func (c *Cluster) URL(name string) string {
	q := url.Values{"host": {c.dir}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + name + "?" + q.Encode()
}

// CreateDatabase creates a new, empty database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), c.n.Add(1))
	admin, err := pgdb.Open(ctx, c.URL("postgres"), store.Options{Conns: 1})
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.Writer().ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

var nonIdent = strings.NewReplacer("/", "_", "-", "_", " ", "_", "#", "_", ".", "_", "=", "_", ",", "_")

// URLForTest creates a fresh database for t and returns its URL.
func URLForTest(t testing.TB) string {
	t.Helper()
	c := Get(t)
	prefix := strings.ToLower(nonIdent.Replace(t.Name()))
	if len(prefix) > 30 {
		prefix = prefix[:30]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := c.CreateDatabase(ctx, "t_"+prefix)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// Open opens a fresh database for t, closed when t ends.
func Open(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	db, err := pgdb.Open(context.Background(), URLForTest(t), opts)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Target is one engine a test runs on, and the test's database there.
type Target struct {
	Engine store.Engine
	// Addr is the SQLite file's path or the PostgreSQL database's URL.
	Addr string
}

// Open opens the target's database (the same one on every call), closed
// when t ends.
func (x Target) Open(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	db, err := x.OpenErr(context.Background(), opts)
	if err != nil {
		t.Fatalf("open %s: %v", x.Engine, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Replicas opens the target's database as two replicas would: two
// handles on PostgreSQL; on SQLite, where one process owns the file (one
// writer, its notifier in process), one handle returned twice. Both are
// closed when t ends.
func (x Target) Replicas(t testing.TB, opts store.Options) (a, b *store.DB) {
	t.Helper()
	a = x.Open(t, opts)
	if x.Engine != store.PostgreSQL {
		return a, a
	}
	return a, x.Open(t, opts)
}

// OpenErr opens the target's database.
func (x Target) OpenErr(ctx context.Context, opts store.Options) (*store.DB, error) {
	if x.Engine == store.PostgreSQL {
		return pgdb.Open(ctx, x.Addr, opts)
	}
	return sqlitedb.Open(ctx, x.Addr, opts)
}

// Engines runs fn as two subtests, "sqlite" (a file in a temporary
// directory) and "postgres" (a fresh database on the binary's cluster).
func Engines(t *testing.T, fn func(t *testing.T, x Target)) {
	t.Helper()
	t.Run(string(store.SQLite), func(t *testing.T) {
		fn(t, Target{Engine: store.SQLite, Addr: filepath.Join(t.TempDir(), "tong.db")})
	})
	t.Run(string(store.PostgreSQL), func(t *testing.T) {
		fn(t, Target{Engine: store.PostgreSQL, Addr: URLForTest(t)})
	})
}
