// Package witness implements C2SP tlog-witness for Tong's registry log: a
// witness that cosigns checkpoints only if they are consistent with the
// last one it cosigned, and the log-side collector that asks witnesses
// for cosignatures and requires k of n.
//
// Cosignatures are C2SP tlog-cosignature "cosignature/v1" (Ed25519): a
// note signature whose bytes are a big-endian 64-bit POSIX timestamp and
// an Ed25519 signature over
//
//	cosignature/v1
//	time <timestamp>
//	<checkpoint body>
//
// [Witness.Routes] serves POST /add-checkpoint. The witness keeps, per log
// origin, the size and root of the newest checkpoint it cosigned, in its
// database (store.go, SQLite or PostgreSQL), and checks and updates them
// atomically (a compare-and-swap), so two concurrent requests, or two
// replicas, can never roll it back.
//
// [C2SP tlog-witness]: https://c2sp.org/tlog-witness
package witness

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/httpx"
	istore "github.com/tongid/tong/internal/store"
)

// Identifiers from the specs.
const (
	// cosignatureHeader separates cosignatures from other signatures.
	// Spec: C2SP tlog-cosignature: "The header line MUST be the fixed
	// string cosignature/v1".
	cosignatureHeader = "cosignature/v1\n"
	// algCosignatureV1 is the key ID algorithm byte of Ed25519
	// cosignatures.
	algCosignatureV1 = 0x04
	// ContentTypeSize is the type of a 409 answer's body.
	ContentTypeSize = "text/x.tlog.size"
	// MaxProofLines is the most consistency proof lines a request may hold.
	MaxProofLines = 63
	// MaxBody bounds an add-checkpoint request.
	MaxBody = 16 << 10
)

// cosigner is a cosignature/v1 note.Signer.
type cosigner struct {
	name string
	hash uint32
	key  crypto.Signer
	now  func() time.Time
}

func cosignKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// NewCosigner makes a cosignature/v1 signer named name from an Ed25519
// key, and returns its verifier key (vkey) string.
func NewCosigner(name string, key crypto.Signer, now func() time.Time) (note.Signer, string, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, "", errors.New("witness: the key must be Ed25519")
	}
	if name == "" || strings.ContainsAny(name, "+ \n") {
		return nil, "", fmt.Errorf("witness: invalid name %q", name)
	}
	if now == nil {
		now = time.Now
	}
	h := cosignKeyHash(name, pub)
	vkey := fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
	return &cosigner{name: name, hash: h, key: key, now: now}, vkey, nil
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }

// Sign cosigns a checkpoint body.
func (c *cosigner) Sign(msg []byte) ([]byte, error) {
	ts := uint64(c.now().Unix())
	sig, err := c.key.Sign(rand.Reader, signedMessage(ts, msg), crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint64(nil, ts), sig...), nil
}

func signedMessage(ts uint64, body []byte) []byte {
	return append([]byte(cosignatureHeader+"time "+strconv.FormatUint(ts, 10)+"\n"), body...)
}

// cosignatureVerifier verifies cosignature/v1 signatures.
type cosignatureVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// NewVerifier parses a witness's cosignature/v1 vkey.
func NewVerifier(vkey string) (note.Verifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, b64, ok2 := strings.Cut(rest, "+")
	h, err1 := strconv.ParseUint(hash16, 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(b64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || len(hash16) != 8 || len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return nil, errors.New("witness: malformed cosignature/v1 verifier key")
	}
	pub := ed25519.PublicKey(key[1:])
	if cosignKeyHash(name, pub) != uint32(h) {
		return nil, errors.New("witness: verifier key hash does not match")
	}
	return &cosignatureVerifier{name: name, hash: uint32(h), pub: pub}, nil
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.hash }
func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig)
	if ts > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pub, signedMessage(ts, msg), sig[8:])
}

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures a witness.
type Config struct {
	DB *istore.DB
	// Signer cosigns (see NewCosigner).
	Signer note.Signer
	// Logs are the logs it witnesses: origin → the log's note verifier.
	Logs   map[string]note.Verifier
	Logger *slog.Logger
}

// Witness is a tlog-witness server.
type Witness struct {
	cfg   Config
	log   *slog.Logger
	state stateStore
}

// New migrates the witness's table and returns the witness.
func New(ctx context.Context, cfg Config) (*Witness, error) {
	if cfg.DB == nil || cfg.Signer == nil || len(cfg.Logs) == 0 {
		return nil, errors.New("witness: DB, Signer and at least one log are required")
	}
	for origin, v := range cfg.Logs {
		if v.Name() != origin {
			return nil, fmt.Errorf("witness: the key for %q is named %q", origin, v.Name())
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := cfg.DB.Migrate(ctx, "witness", sub); err != nil {
		return nil, err
	}
	return &Witness{cfg: cfg, log: cfg.Logger, state: sqlState{cfg.DB}}, nil
}

// Routes serves POST /add-checkpoint.
func (w *Witness) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.addCheckpoint)
	return mux
}

// request is a parsed add-checkpoint body.
type request struct {
	old    int64
	proof  tlog.TreeProof
	signed []byte
}

func parseRequest(body []byte) (*request, error) {
	r := bufio.NewReader(bytes.NewReader(body))
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, errors.New("no old size line")
	}
	old, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "old ")
	n, err := strconv.ParseInt(old, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != old {
		return nil, errors.New("malformed old size line")
	}
	req := &request{old: n}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, errors.New("missing the empty line before the checkpoint")
		}
		if line == "\n" {
			break
		}
		if len(req.proof) == MaxProofLines {
			return nil, errors.New("too many consistency proof lines")
		}
		h, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(line, "\n"))
		if err != nil || len(h) != tlog.HashSize {
			return nil, errors.New("malformed consistency proof line")
		}
		req.proof = append(req.proof, tlog.Hash(h))
	}
	req.signed, _ = io.ReadAll(r)
	return req, nil
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

func (w *Witness) addCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := httpx.ReadBody(rw, r, MaxBody)
	if err != nil {
		httpx.WriteError(rw, r, err)
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		plain(rw, http.StatusBadRequest, err.Error())
		return
	}
	origin, _, _ := bytes.Cut(req.signed, []byte("\n"))
	v, ok := w.cfg.Logs[string(origin)]
	if !ok {
		// Spec: tlog-witness: "If the checkpoint origin is unknown, the
		// witness MUST respond with a 404 Not Found".
		plain(rw, http.StatusNotFound, "unknown log")
		return
	}
	n, err := note.Open(req.signed, note.VerifierList(v))
	if err != nil {
		plain(rw, http.StatusForbidden, "no valid signature from the log")
		return
	}
	c, err := didregistry.ParseCheckpoint([]byte(n.Text))
	if err != nil || c.Origin != string(origin) {
		plain(rw, http.StatusBadRequest, "malformed checkpoint")
		return
	}
	if req.old > c.Size {
		plain(rw, http.StatusBadRequest, "old size is larger than the checkpoint")
		return
	}
	if req.old == 0 && len(req.proof) != 0 {
		plain(rw, http.StatusBadRequest, "a proof from size 0 must be empty")
		return
	}
	var conflict int64 = -1
	var unprocessable bool
	// decide runs inside the store's transaction and may run again (a
	// PostgreSQL retry), so it assigns its verdicts, never accumulates.
	err = w.state.advance(r.Context(), c.Origin, cosigned{size: c.Size, root: c.Hash[:]}, func(last cosigned) bool {
		conflict, unprocessable = -1, false
		// Spec: tlog-witness: "The witness MUST check that the old size
		// matches the size of the latest checkpoint it cosigned ... If it
		// doesn't match, the witness MUST respond with a 409 Conflict".
		if req.old != last.size {
			conflict = last.size
			return false
		}
		if last.size > 0 {
			if c.Size == last.size {
				if !bytes.Equal(last.root, c.Hash[:]) {
					conflict = last.size
					return false
				}
			} else if tlog.CheckTree(req.proof, c.Size, c.Hash, last.size, tlog.Hash(last.root)) != nil {
				unprocessable = true
				return false
			}
		}
		return true
	})
	switch {
	case err != nil:
		httpx.WriteError(rw, r, err)
		return
	case conflict >= 0:
		w.log.WarnContext(r.Context(), "witness conflict", slog.String("origin", c.Origin), slog.Int64("known", conflict), slog.Int64("old", req.old), slog.Int64("size", c.Size))
		rw.Header().Set("Content-Type", ContentTypeSize)
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", conflict)
		return
	case unprocessable:
		// The log signed a checkpoint that is not consistent with what we
		// cosigned: evidence of misbehaviour, kept in the log.
		w.log.ErrorContext(r.Context(), "inconsistent checkpoint", slog.String("origin", c.Origin), slog.String("checkpoint", string(req.signed)))
		plain(rw, http.StatusUnprocessableEntity, "the consistency proof does not verify")
		return
	}
	cosigned, err := note.Sign(&note.Note{Text: n.Text}, w.cfg.Signer)
	if err != nil {
		httpx.WriteError(rw, r, err)
		return
	}
	// The answer is the signature lines only.
	_, sigs, _ := bytes.Cut(cosigned, []byte("\n\n"))
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Write(sigs)
}
