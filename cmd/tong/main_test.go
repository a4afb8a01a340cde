package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// runTong runs the CLI in-process and returns its exit code and output.
func runTong(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		env       map[string]string
		args      []string
		wantInErr string
	}{
		{"unknown flag", nil, []string{"serve", "--bogus"}, "unknown flag: --bogus"},
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"extra argument", nil, []string{"version", "extra"}, "unknown command"},
		{"bad flag value", nil, []string{"--json=maybe", "version"}, "invalid argument"},
		{"bad env value", map[string]string{"TONG_JSON": "maybe"}, []string{"version"}, "$TONG_JSON"},
		{"bad addr", nil, []string{"serve", "--addr", "nope", "--data", "unused"}, "want host:port"},
		{"bad log level", nil, []string{"serve", "--log-level", "loud"}, "--log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runTong(t, tc.env, tc.args...)
			if code != 2 {
				t.Errorf("tong %v: exit %d, want 2; stderr:\n%s", tc.args, code, stderr)
			}
			if !strings.HasPrefix(stderr, "tong: error: ") || !strings.Contains(stderr, tc.wantInErr) {
				t.Errorf("tong %v: stderr = %q, want tong: error: ...%s", tc.args, stderr, tc.wantInErr)
			}
			if !strings.Contains(stderr, "Usage:") {
				t.Errorf("tong %v: stderr lacks the usage text", tc.args)
			}
		})
	}
}

func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"version", "--help"}} {
		code, stdout, _ := runTong(t, nil, args...)
		if code != 0 || !strings.Contains(stdout, "Examples:") {
			t.Errorf("tong %v: exit %d, examples shown %v; want 0 and examples", args, code, strings.Contains(stdout, "Examples:"))
		}
	}
	_, stdout, _ := runTong(t, nil, "serve", "--help")
	if !strings.Contains(stdout, "[$TONG_ADDR]") {
		t.Errorf("serve --help does not name TONG_ADDR:\n%s", stdout)
	}
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{nil, {"TONG_JSON": "true"}} {
		args := []string{"version"}
		if env == nil {
			args = append(args, "--json")
		}
		code, stdout, stderr := runTong(t, env, args...)
		var v versionInfo
		if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v.Version == "" || v.Go == "" {
			t.Errorf("tong %v (env %v) = %d %q %q; want JSON with version and go", args, env, code, stdout, stderr)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// serveForTest starts `tong serve` in-process on a free port, configured
// through the environment, and returns its base URL.
func serveForTest(t *testing.T, env map[string]string, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"serve"}, args...), strings.NewReader(""), out, io.Discard, func(k string) string { return env[k] })
	}()
	deadline := time.Now().Add(60 * time.Second) // demo seeding is slow on a busy machine
	for time.Now().Before(deadline) {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			if url, ok := strings.CutPrefix(strings.TrimSpace(line), "Tong is running. Open "); ok {
				stop := sync.OnceValue(func() int { cancel(); return <-done })
				t.Cleanup(func() { stop() })
				return strings.TrimSuffix(url, "/"), stop
			}
		}
		select {
		case code := <-done:
			t.Fatalf("tong serve exited %d early: %s", code, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("tong serve did not start: %s", out.String())
	return "", nil
}

func TestServeDemo(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/healthz", 200, `"ok"`},
		{"/readyz", 200, `"ready"`},
		{"/", 200, "Tong"},
		{"/metrics", 200, "tong_http_requests_total"},
		{"/no/such/page", 404, `"not_found"`},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, resp.StatusCode, body, tc.status, tc.want)
		}
	}
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil || demo.URL != base {
		t.Errorf("demo.json = %s (%v), want url %s", raw, err, base)
	}
	if fi, _ := os.Stat(filepath.Join(data, "demo.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("demo.json mode = %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(data, "tong.db")); err != nil {
		t.Errorf("no database in the data directory: %v", err)
	}
	// The demo registry: every organisation resolves and verifies through
	// the verifying client, and is accredited for its scope.
	if len(demo.Agencies) != 2 || len(demo.Counters) != len(demoCounters)+1 || demo.Counters[0].Token == "" || demo.Registry.TrustAuthority == "" {
		t.Fatalf("demo.json = %s", raw)
	}
	c, err := client.New(client.Config{BaseURL: base, Origin: demo.Registry.Origin, LogKey: demo.Registry.LogKey, TrustAuthority: demo.Registry.TrustAuthority})
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range append(demo.Agencies, demoOrg{Name: demo.Counters[0].Name, DID: demo.Counters[0].DID}) {
		if _, err := c.Resolve(t.Context(), org.DID, did.ResolveOptions{}); err != nil {
			t.Errorf("resolve %s (%s): %v", org.Name, org.DID, err)
		}
	}
	if ok, err := c.Accredited(t.Context(), demo.Agencies[0].DID, didregistry.RoleIssuer, "urn:tong:vct:citizen-identity:1", time.Now()); !ok || err != nil {
		t.Errorf("the PSB is not accredited for citizen identity: %v %v", ok, err)
	}
	if d, _, err := c.DIDForIssuerURL(t.Context(), demo.Agencies[1].IssuerURL); err != nil || d != demo.Agencies[1].DID {
		t.Errorf("DIDForIssuerURL(%s) = %s, %v", demo.Agencies[1].IssuerURL, d, err)
	}
	if code := stop(); code != 0 {
		t.Errorf("tong serve exit = %d after shutdown, want 0", code)
	}
	// A restart on the same data keeps the registry and seeds nothing twice.
	base2, stop2 := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	raw2, _ := os.ReadFile(filepath.Join(data, "demo.json"))
	var demo2 demoFile
	json.Unmarshal(raw2, &demo2)
	if demo2.Registry != demo.Registry || len(demo2.Agencies) != 2 || demo2.Agencies[0].DID != demo.Agencies[0].DID {
		t.Errorf("after restart demo.json = %s, want the same registry and DIDs", raw2)
	}
	resp, err := http.Get(base2 + "/1.0/identifiers/" + demo.Agencies[0].DID)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("resolve after restart: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	stop2()
}

// Two servers on one address: the second fails with exit 1 and a hint.
func TestServeAddressInUse(t *testing.T) {
	t.Parallel()
	base, _ := serveForTest(t, map[string]string{"TONG_DATA": t.TempDir()}, "--addr", "127.0.0.1:0")
	addr := strings.TrimPrefix(base, "http://")
	code, _, stderr := runTong(t, nil, "serve", "--addr", addr, "--data", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "tong: hint:") {
		t.Errorf("second serve on %s: exit %d stderr %q; want 1 with a hint", addr, code, stderr)
	}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "tong: error: listen on") {
		t.Errorf("first stderr line = %q, want tong: error: listen on ...", sc.Text())
	}
}

func TestKeyGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, alg := range []string{"ES256", "Ed25519"} {
		out := filepath.Join(dir, alg+".jwk")
		code, stdout, stderr := runTong(t, nil, "key", "generate", "--alg", alg, "--out", out, "--json")
		if code != 0 {
			t.Fatalf("key generate --alg %s = %d %s", alg, code, stderr)
		}
		var res keyResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.PublicJWK.D != "" || res.Kid == "" {
			t.Errorf("key generate output = %s (%v); want a public JWK with a kid and no d", stdout, err)
		}
		if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", out, err, fi.Mode().Perm())
		}
		s, err := readPrivateJWK(out)
		if err != nil || s.KeyID() != res.Kid {
			t.Errorf("readPrivateJWK(%s) = %v, %v; want kid %s", out, s, err, res.Kid)
		}
		// It never overwrites without --force.
		if code, _, stderr := runTong(t, nil, "key", "generate", "--out", out); code != 1 || !strings.Contains(stderr, "--force") {
			t.Errorf("key generate over an existing file = %d %q; want 1 with a hint", code, stderr)
		}
	}
	if code, _, _ := runTong(t, nil, "key", "generate", "--alg", "HS256", "--out", filepath.Join(dir, "x")); code != 2 {
		t.Errorf("key generate --alg HS256 = %d, want 2", code)
	}
	if code, _, _ := runTong(t, nil, "key", "generate"); code != 2 {
		t.Errorf("key generate without --out = %d, want 2", code)
	}
}

// Every command that does something shows examples in --help.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	walk(newRootCmd(&app{}), func(c *cobra.Command) {
		if c.RunE != nil && c.Example == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
	})
}

// key generate → credential issue → credential inspect, and the failures.
func TestCredentialIssueInspect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, k := range []string{"issuer", "holder", "other"} {
		code, stdout, stderr := runTong(t, nil, "key", "generate", "--out", p(k+".jwk"))
		if code != 0 {
			t.Fatalf("key generate: %s", stderr)
		}
		// Without --json, stdout is the public JWK alone, ready to be
		// kept in a file; the note about the private key is on stderr.
		var pub map[string]any
		if err := json.Unmarshal([]byte(stdout), &pub); err != nil || pub["kty"] != "EC" || pub["d"] != nil || !strings.Contains(stderr, "mode 0600") {
			t.Fatalf("key generate printed %q (%v) and %q; want a public JWK on stdout and the note on stderr", stdout, err, stderr)
		}
		os.WriteFile(p(k+".pub.jwk"), []byte(stdout), 0o600)
	}
	os.WriteFile(p("claims.json"), []byte(`{"given_name":"Fang","family_name":"Wang","age_equal_or_over":{"18":true},"address":{"locality":"Beijing","district":"Dongcheng"},"nationalities":["CN"]}`), 0o600)
	code, stdout, stderr := runTong(t, nil, "credential", "issue", "--key", p("issuer.jwk"), "--iss", "https://tong.example/issuers/psb",
		"--vct", "urn:tong:vct:citizen-identity:1", "--claims", p("claims.json"), "--holder-jwk", p("holder.pub.jwk"),
		"--sd", "given_name,family_name,age_equal_or_over.18", "--sd", "address,address.locality", "--sd", "nationalities.*", "--status", "7@https://tong.example/status/1")
	if code != 0 {
		t.Fatalf("credential issue = %d: %s", code, stderr)
	}
	os.WriteFile(p("cred.txt"), []byte(stdout), 0o600)
	if n := strings.Count(strings.TrimSpace(stdout), "~"); n != 7 {
		t.Errorf("credential has %d ~, want 7 (6 disclosures)", n)
	}

	code, stdout, stderr = runTong(t, nil, "credential", "inspect", "--issuer-jwk", p("issuer.jwk"), "--json", p("cred.txt"))
	var res inspectResult
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("inspect = %d %s %s", code, stdout, stderr)
	}
	addr, _ := res.Claims["address"].(map[string]any)
	if !res.Valid || res.Claims["given_name"] != "Fang" || addr["locality"] != "Beijing" || len(res.Disclosures) != 6 || res.Header["typ"] != "dc+sd-jwt" {
		t.Errorf("inspect result = %+v", res)
	}
	for _, c := range res.Checks {
		if !c.OK {
			t.Errorf("check %+v failed", c)
		}
	}

	// The wrong issuer key: exit 1, and the signature check says why.
	code, stdout, _ = runTong(t, nil, "credential", "inspect", "--issuer-jwk", p("other.jwk"), "--json", p("cred.txt"))
	res = inspectResult{}
	json.Unmarshal([]byte(stdout), &res)
	if code != 1 || res.Valid || res.Error == nil || res.Error.Code != "invalid_signature" {
		t.Errorf("inspect with the wrong key = %d %+v; want exit 1 and invalid_signature", code, res)
	}
	// A KB-JWT is required when --nonce/--aud are given.
	code, stdout, _ = runTong(t, nil, "credential", "inspect", "--issuer-jwk", p("issuer.jwk"), "--nonce", "n", "--aud", "a", p("cred.txt"))
	if code != 1 || !strings.Contains(stdout, "kb_missing") {
		t.Errorf("inspect without a KB-JWT = %d %q; want 1 and kb_missing", code, stdout)
	}
	for _, args := range [][]string{
		{"credential", "issue", "--key", p("issuer.jwk")},
		{"credential", "issue", "--key", p("issuer.jwk"), "--iss", "https://x", "--vct", "v", "--claims", p("claims.json"), "--status", "x"},
		{"credential", "inspect", "--nonce", "n", p("cred.txt")},
	} {
		if code, _, _ := runTong(t, nil, args...); code != 2 {
			t.Errorf("tong %v = %d, want 2", args, code)
		}
	}
}

// The registry CLI against a running tong serve: create with pre-rotation,
// rotate, resolve, log, accredit, deactivate, verify.
func TestRegistryCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data})
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, k := range []string{"k1", "k2", "k3"} {
		if code, _, stderr := runTong(t, nil, "key", "generate", "--out", p(k+".jwk")); code != 0 {
			t.Fatal(stderr)
		}
	}
	env := map[string]string{"TONG_SERVER": base}
	tong := func(want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runTong(t, env, args...)
		if code != want {
			t.Fatalf("tong %v = %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
		}
		return stdout
	}
	var rec struct {
		DID       string `json:"did"`
		VersionID string `json:"versionId"`
	}
	json.Unmarshal([]byte(tong(0, "registry", "create", "--key", p("k1.jwk"), "--next-key", p("k2.jwk"), "--json")), &rec)
	id := rec.DID
	if !strings.HasPrefix(id, "did:tong:z") {
		t.Fatalf("created %q", id)
	}
	// Rotating to a key that was not committed to fails; to the committed one works.
	tong(1, "registry", "rotate", "--did", id, "--key", p("k3.jwk"))
	tong(0, "registry", "rotate", "--did", id, "--key", p("k2.jwk"))
	out := tong(0, "registry", "log", id)
	if !strings.Contains(out, "2 operations") {
		t.Errorf("registry log = %s", out)
	}
	out = tong(0, "registry", "resolve", id, "--json")
	if !strings.Contains(out, `"versionId"`) || !strings.Contains(out, `"inclusionProof"`) {
		t.Errorf("registry resolve = %s", out)
	}
	tong(0, "registry", "accredit", "--data", data, "--subject", id, "--role", "verifier", "--scope", "pay-fee")
	tong(2, "registry", "accredit", "--subject", id, "--role", "verifier", "--scope", "pay-fee")
	// --credential-issuer binds an issuer URL; the binding is what
	// /registry/issuers answers.
	tong(0, "registry", "accredit", "--data", data, "--subject", id, "--role", "issuer", "--scope", "urn:tong:vct:cli:1", "--credential-issuer", "https://tong.test/issuers/cli")
	resp, err := http.Get(base + "/registry/issuers?url=https%3A%2F%2Ftong.test%2Fissuers%2Fcli")
	if err != nil {
		t.Fatal(err)
	}
	var bound struct{ DID string }
	json.NewDecoder(resp.Body).Decode(&bound)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || bound.DID != id {
		t.Errorf("GET /registry/issuers after accredit --credential-issuer = %d %q, want 200 %s", resp.StatusCode, bound.DID, id)
	}
	tong(0, "registry", "deactivate", "--did", id, "--key", p("k2.jwk"))
	tong(1, "registry", "resolve", id)
	out = tong(0, "registry", "verify", "--data", data, "--json")
	var rep struct{ Entries int64 }
	if json.Unmarshal([]byte(out), &rep) != nil || rep.Entries != 6 {
		t.Errorf("registry verify = %s, want 6 entries", out)
	}
	stop()
	// A binding written into the derived table directly, not by the trust
	// authority, is a mismatch verify reports (issue 16 item 1).
	db, err := sqlitedb.Open(t.Context(), filepath.Join(data, "tong.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Writer().ExecContext(t.Context(), `INSERT INTO registry_issuer_urls (url, did) VALUES ('https://tong.test/issuers/psb', $1)`, id)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runTong(t, env, "registry", "verify", "--data", data); code != 1 || !strings.Contains(stderr, "registry_issuer_urls") {
		t.Errorf("registry verify after tampering = %d %s, want 1 naming registry_issuer_urls", code, stderr)
	}
}

// tong witness serve cosigns the checkpoints that tong serve --witness
// sends, and the registry publishes them with the cosignature.
func TestWitnessCosignsRegistry(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	_, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data})
	stop()
	raw, _ := os.ReadFile(filepath.Join(data, "registry.json"))
	var rf registryFile
	if err := json.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	// Start the witness.
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
	base, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--witness", wURL+"="+wKey)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
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
			t.Fatalf("the checkpoint was never cosigned: %s", body)
		}
	}
	if code, _, _ := runTong(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--witness", "http://x=notakey"); code != 2 {
		t.Errorf("serve with a malformed --witness = %d, want 2", code)
	}
}
