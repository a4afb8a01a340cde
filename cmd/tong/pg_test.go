package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/pgdb"
)

// tong admin migrate brings a fresh PostgreSQL database to this binary's
// schema, --check then finds nothing pending, and three tong serve
// replicas on it (one data directory for keys, as copies would be) all
// serve; an organisation registered through one is in the log that
// tong registry verify checks, and its DID resolves on the others.
func TestServeReplicasOnPostgreSQL(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URLForTest(t)
	data := t.TempDir()
	env := map[string]string{"TONG_DATABASE_URL": dbURL, "TONG_DATA": data}
	code, stdout, stderr := runTong(t, env, "--json", "admin", "migrate")
	if code != 0 {
		t.Fatalf("tong admin migrate: exit %d: %s", code, stderr)
	}
	var applied []migrateResult
	if err := json.Unmarshal([]byte(stdout), &applied); err != nil || len(applied) != len(schemas()) {
		t.Fatalf("tong admin migrate --json = %q, %v", stdout, err)
	}
	for _, r := range applied {
		if r.Applied == 0 || r.Version != r.Applied {
			t.Errorf("migrate %s: applied %d, version %d; want every migration applied", r.Component, r.Applied, r.Version)
		}
	}
	code, stdout, stderr = runTong(t, env, "admin", "migrate", "--check")
	if code != 0 || strings.Count(stdout, " 0 pending") != len(schemas()) {
		t.Fatalf("tong admin migrate --check: exit %d, %q %s; want nothing pending", code, stdout, stderr)
	}

	first, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data, "TONG_DATABASE_URL": dbURL}, "--demo")
	bases := []string{first}
	for range 2 {
		b, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data, "TONG_DATABASE_URL": dbURL})
		bases = append(bases, b)
	}
	var demo demoFile
	raw, err := os.ReadFile(data + "/demo.json")
	if err != nil || json.Unmarshal(raw, &demo) != nil || len(demo.Agencies) == 0 {
		t.Fatalf("demo.json: %v", err)
	}
	for _, b := range bases {
		resp, err := http.Get(b + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s/readyz: %v %v", b, resp, err)
		}
		resp.Body.Close()
		// Every replica resolves the agencies the first one registered.
		resp, err = http.Get(b + "/1.0/identifiers/" + demo.Agencies[0].DID)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("resolve %s on %s: %v %v", demo.Agencies[0].DID, b, resp, err)
		}
		resp.Body.Close()
	}
	code, stdout, stderr = runTong(t, env, "--json", "registry", "verify")
	if code != 0 {
		t.Fatalf("tong registry verify --database: exit %d: %s %s", code, stdout, stderr)
	}
	var rep struct{ Entries, Checkpoints int64 }
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.Entries < int64(len(demo.Agencies)) {
		t.Fatalf("verify report = %q, %v", stdout, err)
	}
	// The SQLite file is not used: the replicas share PostgreSQL.
	if _, err := os.Stat(data + "/tong.db"); err == nil {
		t.Errorf("tong serve --database wrote %s/tong.db", data)
	}
	// A database that does not answer: an error that names it without
	// its password.
	code, _, stderr = runTong(t, map[string]string{"TONG_DATABASE_URL": "postgres://tong:s3cret-pw@127.0.0.1:1/tong?connect_timeout=5"}, "admin", "migrate")
	if code != 1 || strings.Contains(stderr, "s3cret-pw") || !strings.Contains(stderr, "127.0.0.1") {
		t.Errorf("migrate against a closed port: exit %d, %q; want 1, the host and no password", code, stderr)
	}
	// A bad URL is a usage error with a hint, not a panic.
	code, _, stderr = runTong(t, map[string]string{"TONG_DATABASE_URL": "mysql://nope"}, "admin", "migrate")
	if code != 2 || !strings.Contains(stderr, "postgres://") {
		t.Errorf("migrate with a mysql URL: exit %d, %q; want 2 and a hint", code, stderr)
	}
}

// Two replicas on PostgreSQL, both configured with a witness: the lease
// holder gathers the cosignature and keeps it in the database, and both
// replicas serve the cosigned checkpoint.
func TestWitnessCosignsAcrossReplicas(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URLForTest(t)
	data := t.TempDir()
	env := map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data, "TONG_DATABASE_URL": dbURL}
	_, stop := serveForTest(t, env)
	stop()
	raw, _ := os.ReadFile(filepath.Join(data, "registry.json"))
	var rf registryFile
	if err := json.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int, 1)
	dir := t.TempDir() // before the cleanup below, so it is removed after the server stops
	go func() {
		done <- Main(ctx, []string{"witness", "serve", "--name", "w1.test/witness", "--addr", "127.0.0.1:0",
			"--data", dir, "--log", rf.Origin + "=" + rf.LogKey}, strings.NewReader(""), out, io.Discard, func(string) string { return "" })
	}()
	t.Cleanup(func() { cancel(); <-done })
	var wURL, wKey string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && wKey == ""; time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(out.String(), "\n") {
			if u, ok := strings.CutPrefix(line, "witness w1.test/witness listening on "); ok {
				wURL = u
			}
			if k, ok := strings.CutPrefix(line, "verifier key: "); ok {
				wKey = k
			}
		}
	}
	if wKey == "" {
		t.Fatalf("witness did not start: %s", out.String())
	}
	var bases []string
	for range 2 {
		b, _ := serveForTest(t, env, "--witness", wURL+"="+wKey)
		bases = append(bases, b)
	}
	for _, base := range bases {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get(base + "/log/checkpoint")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), "— w1.test/witness ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never served the cosigned checkpoint: %s", base, body)
			}
		}
	}
}

// A replica whose binary is older than the database's schema refuses to
// start, and tong admin migrate --check says why.
func TestReplicaRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URLForTest(t)
	env := map[string]string{"TONG_DATABASE_URL": dbURL, "TONG_DATA": t.TempDir(), "TONG_ADDR": "127.0.0.1:0"}
	if code, _, stderr := runTong(t, env, "admin", "migrate"); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	db, err := pgdb.Open(t.Context(), dbURL, store.Options{Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A newer Tong added a registry migration.
	if _, err := db.Writer().ExecContext(t.Context(), `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ('didregistry', 99, '0099_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runTong(t, env, "serve")
	if code != 1 || !strings.Contains(stderr, "newer than this binary") {
		t.Errorf("serve on a newer schema: exit %d, %q; want 1 and ErrNewerSchema", code, stderr)
	}
	code, _, stderr = runTong(t, env, "admin", "migrate", "--check")
	if code != 1 || !strings.Contains(stderr, "newer than this binary") {
		t.Errorf("migrate --check on a newer schema: exit %d, %q; want 1", code, stderr)
	}
}
