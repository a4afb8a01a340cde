package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	os.Exit(m.Run())
}

// tongProcess is `tong serve` running as a child process.
type tongProcess struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
}

// startTong runs `tong serve ARGS` as a child process and waits for it to
// say where it listens.
func startTong(t *testing.T, args ...string) *tongProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
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
