package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// node finds Debian's nodejs and makes sure interop/node_modules is
// installed from the lockfile. Without them the suite skips, except under
// CI=true, where it fails.
func node(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (set CI=true to make this a failure)", args...)
	}
	bin, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed (Debian: apt-get install nodejs npm): %v", err)
	}
	modulesOnce.Do(func() { modulesErr = installModules() })
	if modulesErr != nil {
		missing("interop/node_modules: %v", modulesErr)
	}
	return bin
}

var (
	modulesOnce sync.Once
	modulesErr  error
)

// installModules runs `npm ci` from the lockfile when node_modules is
// missing or older than the lockfile (a clean clone, or a changed pin).
func installModules() error {
	lock, err := os.Stat("package-lock.json")
	if err != nil {
		return err
	}
	if st, err := os.Stat(filepath.Join("node_modules", ".package-lock.json")); err == nil && !st.ModTime().Before(lock.ModTime()) {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("node_modules is missing and npm is not installed")
	}
	cmd := exec.Command(npm, "ci", "--prefer-offline", "--no-audit", "--no-fund")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New("npm ci: " + err.Error() + ": " + string(out))
	}
	return nil
}

// step is one line of a script's output.
type step map[string]any

func (s step) ok() bool { v, _ := s["ok"].(bool); return v }

// runWallet runs wallet.mjs with a script and returns one result per step.
func runWallet(t *testing.T, script map[string]any) []step {
	t.Helper()
	bin := node(t)
	in, _ := json.Marshal(script)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "wallet.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wallet.mjs: %v\n%s", err, stderr.String())
	}
	var steps []step
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var s step
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("wallet.mjs printed %q", line)
		}
		steps = append(steps, s)
	}
	if n := len(script["steps"].([]map[string]any)); len(steps) != n {
		t.Fatalf("wallet.mjs gave %d results for %d steps\n%s", len(steps), n, stderr.String())
	}
	return steps
}

// foreign is the Node issuer and verifier (server.mjs), running for one
// test.
type foreign struct {
	URL    string
	client *http.Client
	// Issuers maps the issuer slugs ("a", "b") to their issuer URLs and
	// public signing JWKs.
	Issuers map[string]struct {
		URL string         `json:"url"`
		JWK map[string]any `json:"jwk"`
	} `json:"issuers"`
}

func startForeign(t *testing.T, args ...string) *foreign {
	t.Helper()
	return startForeignEnv(t, nil, args...)
}

// startForeignEnv starts server.mjs with extra environment variables.
func startForeignEnv(t *testing.T, env []string, args ...string) *foreign {
	t.Helper()
	bin := node(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"server.mjs"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = &prefixWriter{t: t}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server.mjs did not start: %v", err)
	}
	f := &foreign{client: &http.Client{Timeout: 30 * time.Second}}
	if err := json.Unmarshal([]byte(line), f); err != nil || f.URL == "" {
		t.Fatalf("server.mjs printed %q", line)
	}
	return f
}

// call posts JSON to the Node server's admin API.
func (f *foreign) call(t *testing.T, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := f.client.Post(f.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(raw, out) != nil {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
}

type prefixWriter struct{ t *testing.T }

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.t.Logf("server.mjs: %s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// session asks a Tong counter for a verification request.
func session(t *testing.T, c *tongtest.City, purpose string, nr verifier.NewRequest) *verifier.Session {
	t.Helper()
	nr.Purpose = purpose
	var s verifier.Session
	if st := counterCall(t, c, http.MethodPost, "/verifier/sessions", c.CounterTokens[purpose], nr, &s); st != http.StatusCreated {
		t.Fatalf("create session: HTTP %d", st)
	}
	return &s
}

// result waits for a session's result.
func result(t *testing.T, c *tongtest.City, purpose, id string) *verifier.Session {
	t.Helper()
	var s verifier.Session
	if st := counterCall(t, c, http.MethodGet, "/verifier/sessions/"+id+"?wait=10s", c.CounterTokens[purpose], nil, &s); st != 200 {
		t.Fatalf("session %s: HTTP %d", id, st)
	}
	return &s
}

func counterCall(t *testing.T, c *tongtest.City, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && json.Unmarshal(raw, out) != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}
