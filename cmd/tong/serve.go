package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/didregistry/httpapi"
	"github.com/tongid/tong/didregistry/witness"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/issuer/oid4vci"
	vapi "github.com/tongid/tong/verifier/httpapi"
	"github.com/tongid/tong/web"
	inqapi "github.com/tongid/tong/web/inquiriesapi"
)

type serveFlags struct {
	addr      string
	data      string
	publicURL string
	masterKey string
	demo      bool
	witnesses []string
	quorum    int
	purposes  string
	// HTTP server limits and logging (see httpx).
	maxConns      int
	maxConnsAddr  int
	writeTimeout  time.Duration
	streamTimeout time.Duration
	accessLog     string
	database      string
	tls           tlsFlags

	// Per-client limits of unauthenticated state changes, and caps on
	// event streams (see web.UnauthenticatedWrites, web.EventStreams).
	rateLimit      float64
	rateBurst      int
	trustedProxies []string
	streamsPerSess int
	maxStreams     int

	// Wallet attesters whose OAuth Client Attestations the issuer accepts.
	attesters []string
}

func newServeCmd(a *app) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every Tong service in one process",
		Long: `Serve runs the DID registry, the issuer, the verifier and the web pages in
one process, on one embedded SQLite database in the data directory, or with
--database on PostgreSQL, where any number of replicas (each with a copy of
the data directory's keys and registry.json) serve one city together; see
docs/operations.md.

It stops gracefully on SIGINT or SIGTERM: it stops accepting connections,
lets requests in flight finish, then closes the database.`,
		Example: `  # the demo, as 'make demo' runs it
  tong serve --demo --data ./tong-data --addr 127.0.0.1:8080

  # the same through the environment
  TONG_ADDR=127.0.0.1:9000 TONG_DATA=/var/lib/tong tong serve

  # one of several replicas on PostgreSQL
  TONG_DATABASE_URL=postgres://tong@db.internal/tong tong serve --data /var/lib/tong --public-url https://id.city.example`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port)")
	fl.StringVar(&f.data, "data", "./tong-data", "data directory (holds tong.db)")
	fl.StringVar(&f.database, "database", "", databaseUsage)
	fl.StringVar(&f.publicURL, "public-url", "", "URL users reach this server at (default http://ADDR)")
	fl.StringVar(&f.masterKey, "master-key-file", "", "file with the key that seals DATA/keys (default DATA/master.key, created if missing; keep it off the data volume in production)")
	fl.StringSliceVar(&f.witnesses, "witness", nil, "a witness to ask for cosignatures, URL=VKEY (repeatable)")
	fl.IntVar(&f.quorum, "witness-quorum", 0, "cosignatures a checkpoint needs before it is published (default: all witnesses)")
	fl.StringVar(&f.purposes, "purposes", "", "directory of verification purpose files (*.json) to add to or replace the presets")
	fl.BoolVar(&f.demo, "demo", false, "seed demo agencies, counters and data, and write DATA/demo.json")
	fl.IntVar(&f.maxConns, "max-connections", httpx.DefaultMaxConnections, "connections held at once; when full, the longest-idle one is closed, or a newcomer gets 503")
	fl.IntVar(&f.maxConnsAddr, "max-connections-per-ip", 0, "connections one client IP may hold (0: no cap; keep 0 behind a reverse proxy)")
	fl.DurationVar(&f.writeTimeout, "write-timeout", httpx.DefaultWriteTimeout, "time a response may take to be written (a client that does not read is dropped)")
	fl.DurationVar(&f.streamTimeout, "stream-write-timeout", httpx.DefaultStreamWriteTimeout, "time each server-sent event may take to be written")
	fl.Float64Var(&f.rateLimit, "rate-limit", httpx.DefaultRatePerMinute, "requests a minute one client (an IPv4 address or IPv6 /64) may send to the routes that need no credential and change state: booking, paying, signing in, registry writes, wallet endpoints (0: no limit)")
	fl.IntVar(&f.rateBurst, "rate-limit-burst", httpx.DefaultRateBurst, "requests one client may send at once before --rate-limit applies")
	fl.StringArrayVar(&f.attesters, "wallet-attester", nil, "a wallet attester whose client attestations (OAuth-Client-Attestation) the issuer accepts, ISSUER=PEM-FILE with its ECDSA P-256 or Ed25519 public key (repeatable; default: none, and an attestation sent is refused)")
	fl.StringSliceVar(&f.trustedProxies, "trusted-proxies", nil, "CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (default: none; the connection's address is the client)")
	fl.IntVar(&f.streamsPerSess, "max-streams-per-session", httpx.DefaultStreamsPerKey, "live result streams (server-sent events) one session may have open at once")
	fl.IntVar(&f.maxStreams, "max-streams", httpx.DefaultMaxStreams, "live result streams open at once in all")
	fl.StringVar(&f.accessLog, "access-log", "", "append one line per request to this file (default: requests are logged at debug level only)")
	f.tls.register(fl)
	return cmd
}

// demoFile is DATA/demo.json: where scripts find the demo's URLs and tokens.
type demoFile struct {
	URL      string        `json:"url"`
	Registry demoRegistry  `json:"registry"`
	Agencies []demoOrg     `json:"agencies"`
	Counters []demoCounter `json:"counters"`
	// CACertificate is the city CA's PEM file, for wallets to trust
	// (HAIP; tong wallet --trust-ca).
	CACertificate string `json:"ca_certificate,omitempty"`
}

// demoRegistry is what a client needs to verify the demo registry.
type demoRegistry struct {
	Origin         string `json:"origin"`
	LogKey         string `json:"log_key"`
	TrustAuthority string `json:"trust_authority"`
}

type demoOrg struct {
	Name  string `json:"name"`
	DID   string `json:"did"`
	Token string `json:"token,omitempty"`
	// IssuerURL is the agency's Credential Issuer Identifier.
	IssuerURL string     `json:"issuer_url,omitempty"`
	Types     []demoType `json:"types,omitempty"`
	// Profile is "haip" for the agency that requires DPoP for PAR, token
	// and credential requests.
	Profile string `json:"profile,omitempty"`
}

type demoCounter struct {
	Name     string   `json:"name"`
	DID      string   `json:"did"`
	Token    string   `json:"token"`
	Purposes []string `json:"purposes"`
	// Profile is "haip" for the counter that asks with x509_hash and
	// direct_post.jwt.
	Profile string `json:"profile,omitempty"`
}

func serve(ctx context.Context, a *app, f *serveFlags) error {
	logger, err := a.logger()
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return usagef("--addr %q: want host:port", f.addr)
	}
	if f.maxConns < 1 || f.maxConnsAddr < 0 {
		return usagef("--max-connections must be at least 1 and --max-connections-per-ip at least 0")
	}
	if f.writeTimeout <= 0 || f.streamTimeout <= 0 {
		return usagef("--write-timeout and --stream-write-timeout must be positive")
	}
	if f.rateLimit < 0 || f.rateBurst < 1 || f.streamsPerSess < 1 || f.maxStreams < 1 {
		return usagef("--rate-limit must be at least 0, and --rate-limit-burst, --max-streams-per-session and --max-streams at least 1")
	}
	trusted, err := httpx.ParsePrefixes(f.trustedProxies)
	if err != nil {
		return usagef("--trusted-proxies: %v", err)
	}
	attesters, err := parseAttesters(f.attesters)
	if err != nil {
		return usagef("--wallet-attester %v", err)
	}
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	dbPath := filepath.Join(f.data, "tong.db")
	db, err := openDB(ctx, f.data, f.database)
	if err != nil {
		if f.database != "" {
			return err
		}
		return withHint(err, "is another tong using "+dbPath+"? Check --data.")
	}
	defer db.Close()

	ln, err := listen(f, logger)
	if err != nil {
		return err
	}
	defer ln.Close()
	if ln.Listener, ln.scheme, err = f.tls.listen(ln.Listener); err != nil {
		return err
	}
	publicURL := strings.TrimSuffix(f.publicURL, "/")
	if publicURL == "" {
		publicURL = defaultPublicURL(ln.scheme, ln.Addr())
	}
	kd, err := openKeys(f.data, f.masterKey)
	if err != nil {
		return withHint(err, "the keys in "+filepath.Join(f.data, "keys")+" are sealed with --master-key-file; use the same file as before")
	}
	// Shutdown order: the HTTP server stops first (Serve returns), then
	// the registry's sequencer, then the database (deferred above).
	reg, err := openRegistry(ctx, db, kd, f.data, publicURL, logger)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer reg.log.Close()
	if len(f.witnesses) > 0 {
		ends, err := parseWitnesses(f.witnesses)
		if err != nil {
			return err
		}
		if f.quorum < 0 || f.quorum > len(ends) {
			return usagef("--witness-quorum must be between 1 and the number of witnesses")
		}
		w := &witnessing{collector: &witness.Collector{Witnesses: ends, K: f.quorum, Proofs: reg.log.ProveConsistency}}
		reg.cosigned = w.cosigned
		wctx, stopWitnessing := context.WithCancel(ctx)
		defer stopWitnessing()
		go w.run(wctx, reg, logger)
	}
	if err := reg.startAPI(); err != nil {
		return err
	}
	// The authorization code flow runs in the demo, where the hall's
	// sign-in counter exists; its counter is set once seeded below.
	var authn *web.IssuerAuthenticator
	var issAuthn issuer.Authenticator
	if f.demo {
		authn = &web.IssuerAuthenticator{}
		issAuthn = authn
	}
	iss, err := openIssuer(ctx, db, kd, f.data, f.demo, issAuthn, attesters, logger)
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	purgeCtx, stopPurge := context.WithCancel(ctx)
	defer stopPurge()
	go purgeLoop(purgeCtx, iss, logger)
	apis := []web.Mount{}
	for _, p := range httpapi.Prefixes {
		apis = append(apis, web.Mount{Pattern: p, Handler: reg.api.Routes()})
	}
	if f.demo {
		if _, _, err := demoCA(kd, f.data); err != nil {
			return fmt.Errorf("demo city CA: %w", err)
		}
	}
	tl, err := cityTrustList(f.data)
	if err != nil {
		return fmt.Errorf("city CA: %w", err)
	}
	ver, err := openVerifier(ctx, db, kd, reg, publicURL, f.demo, tl, logger)
	if err != nil {
		return fmt.Errorf("verifier: %w", err)
	}
	if f.purposes != "" {
		if err := loadPurposes(ctx, ver, f.purposes); err != nil {
			return withHint(err, "see verifier/purposes/*.json for the format")
		}
	}
	verifierAPI := vapi.New(ver).Routes()
	for _, p := range vapi.Prefixes {
		apis = append(apis, web.Mount{Pattern: p, Handler: verifierAPI})
	}
	issuerAPI := oid4vci.New(iss).Routes()
	for _, p := range oid4vci.Prefixes {
		apis = append(apis, web.Mount{Pattern: p, Handler: issuerAPI})
	}
	webCfg := web.Config{DB: db, Logger: logger, PublicURL: publicURL, Demo: f.demo, APIs: apis, Issuer: iss, Verifier: ver,
		Explorer:     &web.Explorer{Log: reg.log, LogKey: reg.file.LogKey, Served: reg.cosigned},
		WriteTimeout: f.writeTimeout, StreamWriteTimeout: f.streamTimeout,
		RateLimit:         httpx.RateLimitConfig{PerMinute: f.rateLimit, Burst: f.rateBurst, TrustedProxies: trusted},
		StreamsPerSession: f.streamsPerSess, MaxStreams: f.maxStreams}
	if f.rateLimit == 0 {
		webCfg.RateLimit.PerMinute = -1 // off
	}
	if f.accessLog != "" {
		al, err := os.OpenFile(f.accessLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return withHint(fmt.Errorf("access log: %w", err), "--access-log names a file to append to")
		}
		defer al.Close()
		webCfg.AccessLog = a.loggerTo(al)
	}
	var demo demoFile
	if f.demo {
		if err := reg.seedDemo(ctx, publicURL, f.data); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		demo = demoFile{URL: publicURL, Agencies: []demoOrg{}, Counters: []demoCounter{},
			Registry: demoRegistry{Origin: reg.file.Origin, LogKey: reg.file.LogKey, TrustAuthority: reg.file.TrustAuthority}}
		if demo.Agencies, err = seedIssuerDemo(ctx, iss, reg.file.Demo, f.data); err != nil {
			return fmt.Errorf("demo issuers: %w", err)
		}
		if demo.Counters, err = seedVerifierDemo(ctx, ver, reg.file.Demo, f.data); err != nil {
			return fmt.Errorf("demo counters: %w", err)
		}
		if demo.CACertificate, demo.Counters, err = seedHAIPDemo(ctx, kd, iss, ver, reg.file.Demo, f.data, demo.Counters); err != nil {
			return fmt.Errorf("demo high assurance: %w", err)
		}
		for _, c := range demo.Counters {
			if c.Name == demoSignInCounter {
				if authn.Counter, err = ver.Authenticate(ctx, c.Token); err != nil {
					return fmt.Errorf("demo sign-in counter: %w", err)
				}
				authn.Verifier = ver
			}
		}
		cs, err := openServices(ctx, db, kd, ver, demo.Counters, f.data)
		if err != nil {
			return fmt.Errorf("citizen services: %w", err)
		}
		if err := cs.seed(ctx); err != nil {
			return fmt.Errorf("citizen services: %w", err)
		}
		webCfg.Meetings, webCfg.Payments, webCfg.Inquiries = cs.meetings, cs.payments, cs.inquiries
		inquiriesAPI := inqapi.New(cs.inquiries, iss, publicURL).Routes()
		for _, p := range inqapi.Prefixes {
			webCfg.APIs = append(webCfg.APIs, web.Mount{Pattern: p, Handler: inquiriesAPI})
		}
		webCfg.MeetingsBookingCounter, webCfg.MeetingsCheckinCounter, webCfg.PaymentsCounter = cs.meetCtr.ID, cs.meetCtr.ID, cs.payCtr.ID
		if err := writeJSONFile(filepath.Join(f.data, "demo.json"), demo); err != nil {
			return err
		}
	}
	srv, err := web.New(webCfg)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "serving", slog.String("addr", ln.Addr().String()), slog.String("data", f.data), slog.Bool("demo", f.demo))
	printSummary(a.stdout, publicURL, reg.file.TrustAuthority, webCfg, f)
	for _, ag := range demo.Agencies {
		fmt.Fprintf(a.stdout, "  %-18s %s, %s\n", "issuer", ag.Name, ag.IssuerURL)
	}
	for _, c := range demo.Counters {
		fmt.Fprintf(a.stdout, "  %-18s %s (%s)\n", "counter desk", c.Name, strings.Join(c.Purposes, ", "))
	}
	if f.demo {
		fmt.Fprintf(a.stdout, "  %-18s %s\n", "demo tokens", filepath.Join(f.data, "demo.json"))
		printWalkthrough(a.stdout, publicURL, filepath.Join(f.data, "demo.json"))
	}
	f.tls.announce(a.stdout, publicURL)
	fmt.Fprintln(a.stdout, "Press Ctrl+C to stop.")
	hs := httpx.NewServer(srv.Handler(), logger)
	hs.WriteTimeout = f.writeTimeout // a backstop: each route sets its own deadline
	hs.ConnState = ln.limit.ConnState
	err = httpx.Serve(ctx, hs, ln)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	logger.InfoContext(context.Background(), "stopped")
	return nil
}

// listener is where connections arrive, and how.
type listener struct {
	net.Listener
	scheme string
	// limit caps the connections; the server reports their state to it.
	limit *httpx.ConnLimit
}

// listen opens the server's listener, capped at --max-connections, and
// names its URL scheme. It is the one place that decides how connections
// arrive (a TLS listener wraps l.limit here).
func listen(f *serveFlags, logger *slog.Logger) (*listener, error) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, withHint(fmt.Errorf("listen on %s: %w", f.addr, err), "pick a free port with --addr or TONG_ADDR")
	}
	lim := httpx.NewConnLimit(ln, f.maxConns, f.maxConnsAddr, logger)
	return &listener{Listener: lim, scheme: "http", limit: lim}, nil
}

// loggerTo is a logger in the --log-format that writes every level to w.
func (a *app) loggerTo(w io.Writer) *slog.Logger {
	if a.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// printSummary prints where each page is, and where the logs go.
func printSummary(w io.Writer, u, trustAuthority string, c web.Config, f *serveFlags) {
	fmt.Fprintf(w, "Tong is running. Open %s/\n", u)
	row := func(what, path string) { fmt.Fprintf(w, "  %-18s %s%s\n", what, u, path) }
	if c.Issuer != nil {
		row("agency console", "/agency/")
	}
	if c.Verifier != nil {
		row("counter", "/counter/")
	}
	if c.Meetings != nil {
		row("meetings", "/meetings/")
	}
	if c.Payments != nil {
		row("payments", "/payments/")
	}
	row("inquiries", "/inquiries/")
	row("wallet", "/wallet/")
	if c.Explorer != nil {
		row("registry explorer", "/explorer/")
	}
	row("registry log", "/log/checkpoint")
	row("health", "/healthz")
	row("metrics", "/metrics")
	fmt.Fprintf(w, "  %-18s %s\n", "trust authority", trustAuthority)
	if f.accessLog != "" {
		fmt.Fprintf(w, "  %-18s %s (warnings and errors stay on stderr)\n", "access log", f.accessLog)
	} else {
		fmt.Fprintf(w, "  %-18s debug level only (--log-level debug, or --access-log FILE)\n", "requests logged at")
	}
}

// writeJSONFile writes v to path atomically (temporary file, fsync, rename),
// readable only by the owner because it may hold tokens.
func writeJSONFile(path string, v any) error {
	buf, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(buf, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printWalkthrough prints the five-minute demo: issue, receive, book,
// check in and pay, with the phone wallet at /wallet/ first and the
// command-line wallet as the alternative.
func printWalkthrough(w io.Writer, u, demoJSON string) {
	fmt.Fprintf(w, `
Five-minute walkthrough (tokens are in %[2]s):
  0. Wallet:   open %[1]s/wallet/ and create a wallet with a PIN.
               From your own phone on the same network: restart with
               --tls-self-signed and scan the QR code it prints (camera
               scanning needs HTTPS); the wallet page builds with make wallet-wasm.
  1. Issue:    open %[1]s/agency/, sign in with agencies[0].token, issue a
               "Citizen identity"; the page shows a QR code and a PIN.
  2. Receive:  in the wallet, Scan the QR code (or Open in wallet on the same
               device) and type the PIN; also issue yourself a residence from
               agencies[1] the same way.
  3. Book:     open %[1]s/meetings/, click Book, scan the QR code with the
               wallet and agree to share.
  4. Check in: open %[1]s/meetings/checkin, enter the booking number, present again.
  5. Pay:      open %[1]s/payments/, click Pay, present: the wallet shows the
               amount and payee before you agree; the page shows the receipt.

Or, with the command-line wallet instead of the phone:
  export TONG_WALLET=./me.db TONG_WALLET_PASSPHRASE=secret TONG_REGISTRY=%[1]s
  tong wallet init
  tong wallet receive 'openid-credential-offer://...' --tx-code PIN   (the link under the QR code)
  tong wallet present 'openid4vp://...'                               (the link under the QR code)
  tong wallet list
`, u, demoJSON)
}
