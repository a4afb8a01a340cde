package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Endpoint is one witness the log asks for cosignatures.
type Endpoint struct {
	// URL is the witness's submission prefix; add-checkpoint is appended.
	URL      string
	Verifier note.Verifier
}

// Collector obtains cosignatures for the log's checkpoints.
type Collector struct {
	Witnesses []Endpoint
	// K is how many cosignatures a checkpoint needs; zero means all.
	K int
	// Proofs returns consistency proofs from the log.
	Proofs func(ctx context.Context, old, new int64) (tlog.TreeProof, error)
	// HTTPClient makes the requests; nil means a client with a 10 s timeout.
	HTTPClient *http.Client

	mu    sync.Mutex
	known map[string]int64 // witness URL → size it last cosigned
}

// ErrQuorum is returned when fewer than K witnesses cosigned.
var ErrQuorum = errors.New("witness: not enough cosignatures")

// Cosign sends the signed checkpoint of the given size to every witness
// and returns it with the valid cosignatures appended. It fails with
// ErrQuorum (wrapped) when fewer than K witnesses cosign.
func (c *Collector) Cosign(ctx context.Context, signed []byte, size int64) ([]byte, error) {
	k := c.K
	if k == 0 {
		k = len(c.Witnesses)
	}
	type result struct {
		line []byte
		err  error
	}
	results := make([]result, len(c.Witnesses))
	var wg sync.WaitGroup
	for i, w := range c.Witnesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, err := c.ask(ctx, w, signed, size)
			results[i] = result{line, err}
		}()
	}
	wg.Wait()
	out := bytes.Clone(signed)
	var errs []error
	got := 0
	for i, r := range results {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Witnesses[i].URL, r.err))
			continue
		}
		out = append(out, r.line...)
		got++
	}
	if got < k {
		return nil, fmt.Errorf("%w: %d of %d (need %d): %w", ErrQuorum, got, len(c.Witnesses), k, errors.Join(errs...))
	}
	return out, nil
}

// ask obtains one witness's cosignature line, retrying once after a 409
// that tells the witness's size.
func (c *Collector) ask(ctx context.Context, w Endpoint, signed []byte, size int64) ([]byte, error) {
	c.mu.Lock()
	if c.known == nil {
		c.known = map[string]int64{}
	}
	old := c.known[w.URL]
	c.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if old > size {
			return nil, fmt.Errorf("the witness has cosigned size %d, larger than %d", old, size)
		}
		var proof tlog.TreeProof
		if old > 0 && old < size {
			p, err := c.Proofs(ctx, old, size)
			if err != nil {
				return nil, err
			}
			proof = p
		}
		var body bytes.Buffer
		fmt.Fprintf(&body, "old %d\n", old)
		for _, h := range proof {
			body.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
		}
		body.WriteString("\n")
		body.Write(signed)
		status, resp, err := c.post(ctx, w.URL+"/add-checkpoint", body.Bytes())
		if err != nil {
			return nil, err
		}
		switch status {
		case http.StatusOK:
			line, err := verifyCosignature(w.Verifier, signed, resp)
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			c.known[w.URL] = size
			c.mu.Unlock()
			return line, nil
		case http.StatusConflict:
			n, err := strconv.ParseInt(strings.TrimSpace(string(resp)), 10, 64)
			if err != nil || n == old {
				return nil, fmt.Errorf("conflict: %s", strings.TrimSpace(string(resp)))
			}
			old = n
			continue
		default:
			return nil, fmt.Errorf("status %d: %s", status, strings.TrimSpace(string(resp)))
		}
	}
	return nil, errors.New("the witness's size keeps changing")
}

func (c *Collector) post(ctx context.Context, url string, body []byte) (int, []byte, error) {
	client := c.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, err
}

// verifyCosignature keeps the witness's valid cosignature line from a
// response, ignoring lines from unknown keys.
func verifyCosignature(v note.Verifier, signed, resp []byte) ([]byte, error) {
	text, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return nil, errors.New("malformed signed checkpoint")
	}
	for _, line := range bytes.SplitAfter(resp, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		msg := append(append(append([]byte{}, text...), "\n\n"...), line...)
		if n, err := note.Open(msg, note.VerifierList(v)); err == nil && len(n.Sigs) == 1 {
			if !bytes.HasSuffix(line, []byte("\n")) {
				line = append(line, '\n')
			}
			return line, nil
		}
	}
	return nil, errors.New("no valid cosignature in the answer")
}
