package httpx

import (
	"log/slog"
	"net"
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

// LimitListener returns a listener that holds at most n connections at
// once. A connection accepted over the cap is answered with a 503 and
// closed at once, and a warning is logged (at most once a minute), so the
// listener never blocks: the clients already in keep being served and
// slots come back as their connections end.
func LimitListener(ln net.Listener, n int, logger *slog.Logger) net.Listener {
	if logger == nil {
		logger = slog.Default()
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), log: logger}
}

type limitListener struct {
	net.Listener
	sem      chan struct{}
	log      *slog.Logger
	refused  atomic.Int64
	lastWarn atomic.Int64 // unix nanoseconds
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
		}
		l.refuse(c)
	}
}

func (l *limitListener) refuse(c net.Conn) {
	n := l.refused.Add(1)
	now := time.Now().UnixNano()
	if last := l.lastWarn.Load(); now-last > int64(time.Minute) && l.lastWarn.CompareAndSwap(last, now) {
		l.log.Warn("connection limit reached; refusing new connections with 503",
			slog.Int("max_connections", cap(l.sem)), slog.Int64("refused_total", n))
	}
	// The answer fits any socket buffer, so this write does not block;
	// the deadline is there in case it ever does.
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(overloadResponse)
	_ = c.Close()
}

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
