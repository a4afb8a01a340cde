package httpx

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConnections is how many connections a server holds at once
// unless told otherwise. Each costs a goroutine and its buffers (tens of
// kilobytes) plus at most what one response holds until its write deadline,
// so the cap bounds what a crowd of silent clients can pin.
const DefaultMaxConnections = 1024

const overloadBody = `{"error":"temporarily_unavailable","error_description":"too many connections; retry shortly"}` + "\n"

// overloadResponse is what a connection over the cap gets before it is
// closed: a well-formed answer that tells a client to come back.
var overloadResponse = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
	"Connection: close\r\nContent-Length: " + strconv.Itoa(len(overloadBody)) + "\r\n\r\n" + overloadBody)

// ConnLimit is a listener that holds at most n connections at once. When
// all n are taken and another arrives, the connection that has been idle
// (kept alive between requests) the longest is closed to make room, so
// clients that send one request and then sit silent cannot hold every
// slot. When none is idle, the newcomer is answered with a 503 and closed,
// and a warning is logged (at most once a minute). Accept never blocks on
// the cap.
//
// With a per-address cap, one client address (an IP) holds at most that
// many of the n: over it, its own longest-idle connection makes room, or
// the newcomer gets the 503. Leave it off (0) behind a reverse proxy, where
// every client has the proxy's address.
//
// Set the server's ConnState to [ConnLimit.ConnState] so that the limit
// knows which connections are idle.
type ConnLimit struct {
	net.Listener
	sem      chan struct{}
	refusers chan struct{}
	log      *slog.Logger
	refused  atomic.Int64
	evicted  atomic.Int64
	lastWarn atomic.Int64 // unix nanoseconds

	perAddr int

	mu     sync.Mutex
	idle   map[net.Conn]time.Time
	byAddr map[string]int // connections held per client address; at most n keys
}

// NewConnLimit wraps ln so that it holds at most n connections, and at
// most perAddr from one client address (0: no such cap).
func NewConnLimit(ln net.Listener, n, perAddr int, logger *slog.Logger) *ConnLimit {
	if logger == nil {
		logger = slog.Default()
	}
	return &ConnLimit{Listener: ln, sem: make(chan struct{}, n), refusers: make(chan struct{}, maxRefusers), log: logger,
		perAddr: perAddr, idle: map[net.Conn]time.Time{}, byAddr: map[string]int{}}
}

func clientAddr(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

// takeAddr counts c against its address's cap, closing that address's
// longest-idle connection to make room if need be.
func (l *ConnLimit) takeAddr(addr string) bool {
	if l.perAddr <= 0 {
		return true
	}
	l.mu.Lock()
	if l.byAddr[addr] < l.perAddr {
		l.byAddr[addr]++
		l.mu.Unlock()
		return true
	}
	l.mu.Unlock()
	if !l.evictIdle(addr) {
		return false
	}
	return l.takeAddr(addr)
}

func (l *ConnLimit) releaseAddr(addr string) {
	if l.perAddr <= 0 {
		return
	}
	l.mu.Lock()
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
	l.mu.Unlock()
}

// Accept waits for the next connection that fits under the cap.
func (l *ConnLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := clientAddr(c)
		if !l.takeAddr(addr) {
			l.refuse(c, "connection limit per client address reached; refusing its new connections with 503")
			continue
		}
		if l.take() || l.evictIdle("") && l.take() {
			return &limitConn{Conn: c, release: func() { <-l.sem; l.releaseAddr(addr) }}, nil
		}
		l.releaseAddr(addr)
		l.refuse(c, "connection limit reached; refusing new connections with 503")
	}
}

func (l *ConnLimit) take() bool {
	select {
	case l.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// evictIdle closes the connection idle the longest (from addr, unless
// addr is ""); its slots are free when it returns true.
func (l *ConnLimit) evictIdle(addr string) bool {
	l.mu.Lock()
	var oldest net.Conn
	var since time.Time
	for c, t := range l.idle {
		if addr != "" && clientAddr(c) != addr {
			continue
		}
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	delete(l.idle, oldest)
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	l.evicted.Add(1)
	_ = oldest.Close() // releases the slot (limitConn.Close)
	return true
}

// ConnState is the http.Server ConnState hook that tracks idle connections.
func (l *ConnLimit) ConnState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StateIdle {
		l.idle[c] = time.Now()
	} else {
		delete(l.idle, c)
	}
}

func (l *ConnLimit) refuse(c net.Conn, why string) {
	n := l.refused.Add(1)
	now := time.Now().UnixNano()
	if last := l.lastWarn.Load(); now-last > int64(time.Minute) && l.lastWarn.CompareAndSwap(last, now) {
		l.log.Warn(why,
			slog.Int("max_connections", cap(l.sem)), slog.Int("max_connections_per_addr", l.perAddr), slog.Int64("refused_total", n), slog.Int64("idle_closed_total", l.evicted.Load()))
	}
	// The request is read, the answer written and the connection drained
	// briefly apart from the accept loop, by at most maxRefusers goroutines at once (a flood
	// beyond that is closed without an answer): closing a socket with
	// the request still unread would reset it before the client reads
	// the 503.
	select {
	case l.refusers <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusers }()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		// Answer only once the client has spoken: a response before
		// the request is one that HTTP clients discard.
		if _, err := c.Read(make([]byte, 512)); err != nil {
			_ = c.Close()
			return
		}
		_, _ = c.Write(overloadResponse)
		if tc, ok := c.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		_, _ = io.CopyN(io.Discard, c, 64<<10)
		_ = c.Close()
	}()
}

// maxRefusers is how many refused connections are answered at once.
const maxRefusers = 64

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
