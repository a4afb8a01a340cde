package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/tongid/tong/didregistry/witness"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

func newWitnessCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness",
		Short: "Run a transparency log witness (C2SP tlog-witness)",
	}
	cmd.AddCommand(newWitnessServeCmd(a))
	return cmd
}

func newWitnessServeCmd(a *app) *cobra.Command {
	var addr, data, name, masterKey string
	var logs []string
	cmd := &cobra.Command{
		Use:   "serve --name NAME --log ORIGIN=VKEY",
		Short: "Cosign a registry's checkpoints if they are consistent",
		Long: `Witness serve runs a C2SP tlog-witness: POST /add-checkpoint cosigns a log's
checkpoint (cosignature/v1, Ed25519) only if it is consistent with the last
one this witness cosigned. It keeps that state in DATA/witness.db and its
key sealed in DATA/keys, and prints its verifier key, which the registry
(tong serve --witness URL=VKEY) and clients are configured with.

--log names each log to witness by its origin and note verifier key, as
GET /log/key of the registry shows them.`,
		Example: `  tong witness serve --name witness.example/w1 --addr 127.0.0.1:9001 --data ./witness-data \
      --log "127.0.0.1:8080/registry=$(curl -s http://127.0.0.1:8080/log/key)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" || len(logs) == 0 {
				return usagef("--name and at least one --log are required")
			}
			verifiers := map[string]note.Verifier{}
			for _, l := range logs {
				origin, vkey, ok := strings.Cut(l, "=")
				v, err := note.NewVerifier(vkey)
				if !ok || err != nil || v.Name() != origin {
					return usagef("--log %q: want ORIGIN=VKEY where the key is named ORIGIN", l)
				}
				verifiers[origin] = v
			}
			return serveWitness(cmd.Context(), a, addr, data, masterKey, name, verifiers)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&addr, "addr", "127.0.0.1:9001", "address to listen on")
	fl.StringVar(&data, "data", "./witness-data", "data directory")
	fl.StringVar(&masterKey, "master-key-file", "", "key that seals DATA/keys (default DATA/master.key)")
	fl.StringVar(&name, "name", "", "the witness's name, e.g. witness.example/w1 (required)")
	fl.StringSliceVar(&logs, "log", nil, "a log to witness, ORIGIN=VKEY (repeatable)")
	return cmd
}

func serveWitness(ctx context.Context, a *app, addr, data, masterKey, name string, logs map[string]note.Verifier) error {
	logger, err := a.logger()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	kd, err := openKeys(data, masterKey)
	if err != nil {
		return err
	}
	key, err := kd.LoadOrCreate("witness", keys.EdDSA)
	if err != nil {
		return err
	}
	signer, vkey, err := witness.NewCosigner(name, key.Unwrap(), nil)
	if err != nil {
		return usagef("%v", err)
	}
	db, err := sqlitedb.Open(ctx, filepath.Join(data, "witness.db"), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	w, err := witness.New(ctx, witness.Config{DB: db, Signer: signer, Logs: logs, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return withHint(fmt.Errorf("listen on %s: %w", addr, err), "pick a free port with --addr")
	}
	mux := http.NewServeMux()
	mux.Handle("/add-checkpoint", w.Routes())
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, r *http.Request) { fmt.Fprintln(rw, `{"status":"ok"}`) })
	fmt.Fprintf(a.stdout, "witness %s listening on http://%s\nverifier key: %s\n", name, ln.Addr(), vkey)
	err = httpx.Serve(ctx, httpx.NewServer(httpx.Recover(mux), logger), ln)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// witnessing asks witnesses to cosign each new checkpoint of the registry
// and keeps the newest cosigned one.
type witnessing struct {
	collector *witness.Collector
	latest    atomic.Pointer[[]byte]
}

// parseWitnesses reads --witness URL=VKEY values.
func parseWitnesses(specs []string) ([]witness.Endpoint, error) {
	var out []witness.Endpoint
	for _, s := range specs {
		u, vkey, ok := strings.Cut(s, "=")
		v, err := witness.NewVerifier(vkey)
		if !ok || err != nil || !strings.HasPrefix(u, "http") {
			return nil, usagef("--witness %q: want URL=VKEY with a cosignature/v1 verifier key", s)
		}
		out = append(out, witness.Endpoint{URL: strings.TrimSuffix(u, "/"), Verifier: v})
	}
	return out, nil
}

// run polls the registry's checkpoint and collects cosignatures until ctx
// ends. Only the sequencer lease holder asks the witnesses (on SQLite the
// one process always holds it) and keeps what they cosign in the
// database; the other replicas serve the newest cosigned checkpoint from
// there.
func (w *witnessing) run(ctx context.Context, reg *registry, logger *slog.Logger) {
	var done int64
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		p := reg.log.Latest()
		switch {
		case !reg.log.Leader():
			size, c, err := reg.log.Cosigned(ctx)
			if err == nil && size > done && size <= p.Size {
				w.latest.Store(&c)
				done = size
			}
		case p.Size > done:
			if size, c, err := reg.log.Cosigned(ctx); err == nil && size >= p.Size {
				// A previous holder had these cosigned already.
				w.latest.Store(&c)
				done = size
				break
			}
			c, err := w.collector.Cosign(ctx, p.Signed, p.Size)
			if err != nil {
				logger.WarnContext(ctx, "witness cosignatures", slog.Int64("size", p.Size), slog.Any("err", err))
				break
			}
			w.latest.Store(&c)
			done = p.Size
			if err := reg.log.PutCosigned(ctx, p.Size, c); err != nil {
				logger.WarnContext(ctx, "witness cosignatures", slog.Int64("size", p.Size), slog.Any("err", err))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *witnessing) cosigned() []byte {
	if p := w.latest.Load(); p != nil {
		return *p
	}
	return nil
}
