package main

// The journey and benchmark here run the same way natively and compiled
// to wasm: they talk to a Tong only over HTTP, through a small control
// API the native side serves (see node_test.go), so the wasm build can
// run them under Node against a real Tong on 127.0.0.1.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/tongid/tong/wallet/memstore"
)

// control is the native side's test control API.
type control struct {
	base string // the City's URL (registry, issuer, verifier)
	ctl  string // the control API's URL
	hc   *http.Client
}

func (c *control) get(ctx context.Context, path string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.ctl+path, nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

type ctlOffer struct {
	URI    string `json:"uri"`
	TxCode string `json:"tx_code"`
}

type ctlRequest struct {
	ID  string `json:"id"`
	URI string `json:"uri"`
}

// journey creates a wallet, receives a credential and presents it once.
func journey(ctx context.Context, c *control) (*app, string, error) {
	a := newApp(&memBackend{s: memstore.New()}, c.base, c.hc)
	a.kdf, a.refillAt = testKDF, -1
	if err := a.create(ctx, "482916", ""); err != nil {
		return nil, "", fmt.Errorf("create: %w", err)
	}
	id, err := receiveOne(ctx, a, c)
	if err != nil {
		return nil, "", err
	}
	return a, id, presentOne(ctx, a, c, nil)
}

func receiveOne(ctx context.Context, a *app, c *control) (string, error) {
	var o ctlOffer
	if err := c.get(ctx, "/offer", &o); err != nil {
		return "", err
	}
	got, err := a.receive(ctx, o.URI, o.TxCode)
	if err != nil {
		return "", fmt.Errorf("receive: %w", err)
	}
	return got["ids"].([]string)[0], nil
}

// presentOne asks the control API for a new counter request and answers
// it; timer, when set, is stopped while the counter makes the request.
func presentOne(ctx context.Context, a *app, c *control, b *testing.B) error {
	if b != nil {
		b.StopTimer()
	}
	var r ctlRequest
	if err := c.get(ctx, "/request", &r); err != nil {
		return err
	}
	if b != nil {
		b.StartTimer()
	}
	req, err := a.request(ctx, r.URI)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	if _, err := a.present(ctx, req.Handle); err != nil {
		return fmt.Errorf("present: %w", err)
	}
	return nil
}

// benchPresentations times request + present, the wallet's whole side of
// one presentation at a counter over HTTP: fetch the signed request,
// resolve and check the verifier's DID and accreditation with the
// registry's proofs, match, consent, spend a copy, sign the KB-JWT, post.
func benchPresentations(b *testing.B, c *control) {
	ctx := context.Background()
	a, id, err := journey(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	left := 4 // five copies, one spent by the journey
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if left == 0 {
			b.StopTimer()
			a.remove(ctx, id)
			if id, err = receiveOne(ctx, a, c); err != nil {
				b.Fatal(err)
			}
			left = 5
			b.StartTimer()
		}
		if err := presentOne(ctx, a, c, b); err != nil {
			b.Fatal(err)
		}
		left--
	}
}
