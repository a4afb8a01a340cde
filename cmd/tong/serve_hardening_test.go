package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/tongid/tong/internal/pgtest"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/web"
)

// childEnv makes the test binary run `tong` itself (see TestMain), so a
// test can start the real `tong serve` as a process of its own and measure
// that process alone.
const childEnv = "TONG_TEST_RUN_TONG"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	os.Exit(pgtest.Main(m)) // stops the PostgreSQL cluster the tests started, if any
}

// tongProcess is `tong serve` running as a child process.
type tongProcess struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
}

// tongBinary is the program to run as tong: the test binary itself, or,
// under the race detector (which keeps memory of its own that is never
// given back), tong built without it.
func tongBinary(t *testing.T) string {
	t.Helper()
	if !raceEnabled {
		return os.Args[0]
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the race detector is on and no go tool is on PATH to build tong without it: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "tong")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startTong runs `tong serve ARGS` as a child process and waits for it to
// say where it listens.
func startTong(t *testing.T, args ...string) *tongProcess {
	t.Helper()
	cmd := exec.Command(tongBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &tongProcess{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Tong is running. Open "); ok {
				found <- strings.TrimSuffix(u, "/")
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case p.base = <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("tong serve did not start; stderr:\n%s", p.stderr.String())
	}
	return p
}

// rss is the child's resident set size in bytes (VmRSS in /proc/PID/status).
func (p *tongProcess) rss(t *testing.T) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read the server's memory: %v", err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	return 0
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// inflateMetrics sends n requests whose methods are all different, the
// attack that once grew /metrics by a series per method.
func inflateMetrics(t *testing.T, addr string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := g; i < n; i += 4 {
				fmt.Fprintf(c, "X%06d /healthz HTTP/1.1\r\nHost: tong\r\n\r\n", i)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// dialSmallWindow connects with a small receive window, so that the
// server's writes block sooner when nothing is read.
func dialSmallWindow(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// established reports whether the kernel still holds c ESTABLISHED (state
// 01 in /proc/net/tcp); a connection the server closed is in CLOSE_WAIT,
// or gone after a reset.
func established(t *testing.T, c net.Conn) bool {
	t.Helper()
	raw, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatalf("read the kernel's connection table: %v", err)
	}
	local := fmt.Sprintf("0100007F:%04X", c.LocalAddr().(*net.TCPAddr).Port)
	for line := range strings.Lines(string(raw)) {
		if f := strings.Fields(line); len(f) > 3 && f[1] == local {
			return f[3] == "01"
		}
	}
	return false
}

// TestSlowReadersBoundedMemory opens 200 connections to the real `tong
// serve`, each of which asks for the biggest bodies an anonymous client can
// get (/metrics after an attempt to inflate it, the busiest page, the
// registry explorer) many times over without reading a byte. The server's
// resident memory must stay within a fixed budget above idle, the server
// must drop the connections once their write deadline passes, and its
// memory must fall back after they are gone.
func TestSlowReadersBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts tong serve and opens 200 connections")
	}
	const (
		conns     = 200
		pipelined = 64 // requests sent on each connection, none read
		budget    = 150 << 20
		settled   = 48 << 20
	)
	data := t.TempDir()
	p := startTong(t, "--demo", "--data", data, "--write-timeout", "2s")
	addr := strings.TrimPrefix(p.base, "http://")
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil || len(demo.Agencies) == 0 {
		t.Fatalf("demo.json = %s (%v)", raw, err)
	}
	paths := []string{"/metrics", "/meetings/", "/explorer/did/" + demo.Agencies[0].DID}
	for _, path := range paths {
		getBody(t, p.base+path) // warm caches and templates
	}
	inflateMetrics(t, addr, 4000)
	for _, path := range paths {
		getBody(t, p.base+path)
	}
	time.Sleep(500 * time.Millisecond)
	idle := p.rss(t)

	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	peak := idle
	sample := func() {
		if m := p.rss(t); m > peak {
			peak = m
		}
	}
	for i := range conns {
		c := dialSmallWindow(t, addr)
		open = append(open, c)
		var req strings.Builder
		for j := range pipelined {
			fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: tong\r\n\r\n", paths[(i+j)%len(paths)])
		}
		go func() { _, _ = io.WriteString(c, req.String()) }()
		if i%10 == 9 {
			sample()
			if peak-idle > budget {
				break // over budget already: stop before the machine suffers
			}
		}
	}
	for range 15 {
		time.Sleep(100 * time.Millisecond)
		sample()
	}
	t.Logf("resident memory: idle %d MiB, peak %d MiB with %d non-reading connections", idle>>20, peak>>20, len(open))
	if peak-idle > budget {
		t.Fatalf("resident memory grew by %d MiB with %d non-reading connections, budget %d MiB", (peak-idle)>>20, len(open), budget>>20)
	}

	for _, c := range open {
		c.Close()
	}
	open = nil

	// The write deadline (2 s here) ends a response that the client does
	// not read: a few connections ask for more than the socket buffers
	// hold, and once the deadline has passed, reading finds each of them
	// closed by the server rather than still being served.
	var stuck []net.Conn
	for range 8 {
		c := dialSmallWindow(t, addr)
		defer c.Close()
		var req strings.Builder
		for range 1000 {
			fmt.Fprintf(&req, "GET /meetings/ HTTP/1.1\r\nHost: tong\r\n\r\n")
		}
		go func() { _, _ = io.WriteString(c, req.String()) }()
		stuck = append(stuck, c)
	}
	// Nothing is read, so the test watches the kernel's view of each
	// connection: it leaves ESTABLISHED when the server closes it.
	for deadline := time.Now().Add(90 * time.Second); len(stuck) > 0 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		stuck = slices.DeleteFunc(stuck, func(c net.Conn) bool { return !established(t, c) })
	}
	if len(stuck) > 0 {
		t.Errorf("%d of 8 non-reading connections were still open 90 s later: no write deadline dropped them", len(stuck))
	}

	// Memory falls back: keep the server lightly busy so that its collector
	// runs, and wait for the freed memory to go back to the system.
	after := p.rss(t)
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		getBody(t, p.base+"/metrics")
		if after = p.rss(t); after-idle <= settled {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("resident memory after the connections closed: %d MiB", after>>20)
	if after-idle > settled {
		t.Errorf("resident memory stayed %d MiB above idle after the connections closed, want at most %d MiB", (after-idle)>>20, settled>>20)
	}
	if m := getBody(t, p.base+"/metrics"); strings.Count(m, `method="X0`) > 0 {
		t.Errorf("/metrics has a series per invented method")
	}
}

// serveLogged starts `tong serve` in-process like serveForTest and also
// returns what it writes to stderr.
func serveLogged(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	// The data directory is made here, before the cleanup that stops the
	// server is registered: cleanups run last-first, so the directory is
	// removed only after the server has closed its files. (Made inside the
	// goroutine, its removal could run first and find the database still
	// open: "directory not empty".)
	data := t.TempDir()
	go func() {
		done <- Main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, args...), strings.NewReader(""), out, errOut, func(string) string { return "" })
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			if u, ok := strings.CutPrefix(strings.TrimSpace(line), "Tong is running. Open "); ok {
				return strings.TrimSuffix(u, "/"), errOut
			}
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("tong serve exited %d early: %s%s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("tong serve did not start: %s", out.String())
	return "", nil
}

// rawRequest sends one raw HTTP/1.1 request and returns the response.
func rawRequest(t *testing.T, addr, method, target string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: tong\r\nConnection: close\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

// TestMetricsLabelsClosed: invented methods and unknown paths each map to
// one label value, so /metrics cannot be grown by a client.
func TestMetricsLabelsClosed(t *testing.T) {
	t.Parallel()
	base, _ := serveLogged(t)
	addr := strings.TrimPrefix(base, "http://")
	for i := range 40 {
		rawRequest(t, addr, fmt.Sprintf("BREW%03d", i), "/healthz")
		rawRequest(t, addr, http.MethodGet, fmt.Sprintf("/no/such/page/%d", i))
	}
	metrics := getBody(t, base+"/metrics")
	methods, routes := map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^tong_http_requests_total\{code="\d+",method="([^"]*)",route="([^"]*)"\}`).FindAllStringSubmatch(metrics, -1) {
		methods[m[1]], routes[m[2]] = true, true
	}
	if len(methods) == 0 {
		t.Fatalf("no tong_http_requests_total series in /metrics:\n%s", metrics)
	}
	if !methods["other"] || len(methods) > 3 {
		t.Errorf("method labels = %v, want GET and other (at most three values)", slices.Sorted(maps.Keys(methods)))
	}
	if !routes["unmatched"] || len(routes) > 4 {
		t.Errorf("route labels = %v, want /healthz, /metrics and unmatched", slices.Sorted(maps.Keys(routes)))
	}
}

// TestServeQuietByDefault: at the default log level a request writes no
// access line, and a warning (here: the connection cap reached) still
// shows. With --access-log the lines go to that file.
func TestServeQuietByDefault(t *testing.T) {
	t.Parallel()
	base, stderr := serveLogged(t, "--max-connections", "2")
	addr := strings.TrimPrefix(base, "http://")
	if got := rawRequest(t, addr, http.MethodGet, "/healthz"); got.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d", got.StatusCode)
	}
	rawRequest(t, addr, http.MethodGet, "/no/such/page")
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(stderr.String(), "msg=http") || strings.Contains(stderr.String(), "/healthz") {
		t.Errorf("a request at the default level wrote an access line:\n%s", stderr.String())
	}
	// Two silent connections hold both slots; a third is refused, with a
	// 503 to the client and a warning in the log.
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// The server may take a moment to accept them; until it has, the
	// probe gets a slot of its own.
	resp := rawRequest(t, addr, http.MethodGet, "/healthz")
	for i := 0; i < 50 && resp.StatusCode == http.StatusOK; i++ {
		time.Sleep(100 * time.Millisecond)
		resp = rawRequest(t, addr, http.MethodGet, "/healthz")
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "temporarily_unavailable") {
		t.Errorf("a connection over the cap got %d %s, want 503 temporarily_unavailable", resp.StatusCode, body)
	}
	if !strings.Contains(stderr.String(), "level=WARN") || !strings.Contains(stderr.String(), "connection limit reached") {
		t.Errorf("the warning is not shown at the default level:\n%s", stderr.String())
	}

	logFile := filepath.Join(t.TempDir(), "access.log")
	base2, stderr2 := serveLogged(t, "--access-log", logFile)
	getBody(t, base2+"/healthz")
	time.Sleep(100 * time.Millisecond)
	raw, _ := os.ReadFile(logFile)
	if !strings.Contains(string(raw), "route=/healthz") || !strings.Contains(string(raw), "status=200") {
		t.Errorf("--access-log file = %q, want a line for GET /healthz", raw)
	}
	if strings.Contains(stderr2.String(), "route=/healthz") {
		t.Errorf("with --access-log the access line also went to stderr:\n%s", stderr2.String())
	}
}

// TestServeSummary: the start-up summary says where each page is.
func TestServeSummary(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	printSummary(&out, "http://127.0.0.1:8080", "did:tong:ta", web.Config{Issuer: &issuer.Service{}, Verifier: &verifier.Service{},
		Meetings: &meetings.Service{}, Payments: &payments.Service{}, Explorer: &web.Explorer{}}, &serveFlags{})
	for _, want := range []string{"/agency/", "/counter/", "/meetings/", "/payments/", "/explorer/", "/wallet/", "/inquiries/", "debug level"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %s:\n%s", want, out.String())
		}
	}
}

// TestServeWalkthrough: the demo's walkthrough leads with the phone
// wallet (and how to reach it from a real phone), and keeps the
// command-line wallet as the alternative, after it.
func TestServeWalkthrough(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	printWalkthrough(&out, "http://127.0.0.1:8080", "/d/demo.json")
	got := out.String()
	for _, want := range []string{"http://127.0.0.1:8080/wallet/", "--tls-self-signed", "make wallet-wasm", "Scan the QR code",
		"/d/demo.json", "command-line wallet", "tong wallet receive", "tong wallet present", "amount and payee"} {
		if !strings.Contains(got, want) {
			t.Errorf("walkthrough lacks %q:\n%s", want, got)
		}
	}
	if phone, cli := strings.Index(got, "/wallet/"), strings.Index(got, "tong wallet init"); phone < 0 || cli < phone {
		t.Errorf("the phone wallet (at %d) should come before the command line (at %d):\n%s", phone, cli, got)
	}
}

// TestNamesRefused: names and labels with control characters,
// bidirectional overrides, NUL or invalid UTF-8 are refused with the
// stable code invalid_text at every entry point (staff API, tong admin),
// and a NUL that would reach a Location header is refused before it is
// written.
func TestNamesRefused(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil || len(demo.Agencies) == 0 {
		t.Fatalf("demo.json = %s (%v)", raw, err)
	}
	ag := demo.Agencies[0]
	staff := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ag.IssuerURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ag.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Error string }
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error
	}
	for _, label := range []string{`desk\u202e1`, `desk\u0000`, `desk\nSet-Cookie: x`, `desk\u2066`, `\u001b[2Jdesk`} {
		if code, e := staff(http.MethodPost, "/api/tokens", `{"label":"`+label+`"}`); code != http.StatusBadRequest || e != "invalid_text" {
			t.Errorf("POST /api/tokens label %s = %d %q, want 400 invalid_text", label, code, e)
		}
	}
	if code, _ := staff(http.MethodPost, "/api/tokens", `{"label":"desk 1 · 一号窗口"}`); code != http.StatusCreated {
		t.Errorf("POST /api/tokens with a plain label = %d, want 201", code)
	}
	typ := `{"id":"bidi","vct":"urn:tong:vct:bidi:1","display":[{"name":"Parking \u202epermit","locale":"en"}],"validity_days":30,"claims":[{"path":["n"],"type":"string"}]}`
	if code, e := staff(http.MethodPut, "/api/types/bidi", typ); code != http.StatusBadRequest || e != "invalid_text" {
		t.Errorf("PUT /api/types with a bidi override in its name = %d %q, want 400 invalid_text", code, e)
	}

	env := map[string]string{"TONG_DATA": data, "TONG_SERVER": base}
	for _, name := range []string{"Desk\x1b[2J", "Desk\u202e1", "Desk\x00", "Desk\xff"} {
		if code, _, errOut := runTong(t, env, "admin", "counter", "add", "--org", "dongcheng", "--name", name, "--purposes", "identity-basic"); code == 0 || !nameRefused(errOut) {
			t.Errorf("tong admin counter add --name %q: exit %d, stderr %q; want a refusal naming --name", name, code, errOut)
		}
		if code, _, errOut := runTong(t, env, "admin", "verifier", "add", "--slug", "evil", "--name", name, "--purposes", "identity-basic"); code == 0 || !nameRefused(errOut) {
			t.Errorf("tong admin verifier add --name %q: exit %d, stderr %q; want a refusal naming --name", name, code, errOut)
		}
	}

	// A NUL that would reach the Location header.
	resp := rawRequest(t, strings.TrimPrefix(base, "http://"), http.MethodGet, "/explorer/did?did=did:tong:a%00b")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "invalid_redirect") {
		t.Errorf("GET /explorer/did?did=...%%00... = %d Location %q %s, want 400 invalid_redirect and no Location", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func nameRefused(stderr string) bool {
	return strings.Contains(stderr, "--name holds") || strings.Contains(stderr, "--name is not valid UTF-8")
}

// TestConnLimitClosesIdle: when every slot is taken by a client that sent
// one request and then sat silent on its kept-alive connection, a new
// client is still served: the connection idle the longest makes room.
func TestConnLimitClosesIdle(t *testing.T) {
	t.Parallel()
	base, _ := serveLogged(t, "--max-connections", "2")
	addr := strings.TrimPrefix(base, "http://")
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: tong\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz: %v %v", resp, err)
		}
		resp.Body.Close()
		idle = append(idle, c)
	}
	// The server marks them idle just after each response; until then
	// the probe is refused.
	resp := rawRequest(t, addr, http.MethodGet, "/healthz")
	for i := 0; i < 50 && resp.StatusCode != http.StatusOK; i++ {
		time.Sleep(100 * time.Millisecond)
		resp = rawRequest(t, addr, http.MethodGet, "/healthz")
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a new client with every slot idle got %d, want 200", resp.StatusCode)
	}
	closed := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed != 1 {
		t.Errorf("%d idle connections were closed to make room, want 1", closed)
	}
}

// TestBodyLimit: every route refuses a body over 1 MiB before reading it,
// the browser forms (which net/http would let grow to 10 MB) included.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	base, _ := serveLogged(t)
	big := "token=" + strings.Repeat("a", 2<<20)
	for _, path := range []string{"/agency/signin", "/counter/signin", "/registry/operations"} {
		resp, err := http.Post(base+path, "application/x-www-form-urlencoded", strings.NewReader(big))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "request_too_large") {
			t.Errorf("POST %s with 2 MiB = %d %s, want 413 request_too_large", path, resp.StatusCode, body)
		}
	}
}

// TestLongPollOutlivesWriteTimeout: the write deadline runs from when a
// response starts to be written, so `tong verifier result --wait`, whose
// answer comes after longer than --write-timeout, still gets it.
func TestLongPollOutlivesWriteTimeout(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo", "--write-timeout", "1s")
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil || len(demo.Counters) == 0 {
		t.Fatalf("demo.json = %s (%v)", raw, err)
	}
	env := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": demo.Counters[0].Token}
	code, out, errOut := runTong(t, env, "verifier", "request", "--purpose", "identity-basic", "--json")
	var sess struct {
		ID string `json:"session_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &sess) != nil || sess.ID == "" {
		t.Fatalf("verifier request: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runTong(t, env, "verifier", "result", sess.ID, "--wait", "--timeout", "2500ms")
	if code != 0 || !strings.Contains(out, "PENDING") {
		t.Errorf("verifier result --wait --timeout 2500ms with --write-timeout 1s: %d %q %q, want the pending session", code, out, errOut)
	}
}
