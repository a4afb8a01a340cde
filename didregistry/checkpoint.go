package didregistry

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size and its root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// Marshal writes the checkpoint body.
// Spec: C2SP tlog-checkpoint: "The first line is the origin ... The second
// line is the tree size as an ASCII decimal ... The third line is the root
// hash ... base64 encoded", each line ending in a newline.
func (c Checkpoint) Marshal() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
}

// ParseCheckpoint parses a checkpoint body strictly (no extension lines).
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	if len(body) > 1<<10 || !bytes.HasSuffix(body, []byte("\n")) {
		return Checkpoint{}, errors.New("didregistry: malformed checkpoint")
	}
	lines := strings.Split(string(body[:len(body)-1]), "\n")
	if len(lines) != 3 || lines[0] == "" {
		return Checkpoint{}, errors.New("didregistry: malformed checkpoint")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, errors.New("didregistry: malformed checkpoint size")
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, errors.New("didregistry: malformed checkpoint hash")
	}
	c := Checkpoint{Origin: lines[0], Size: n}
	copy(c.Hash[:], h)
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint with the log's verifier and
// checks its origin.
func OpenCheckpoint(signed []byte, origin string, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("didregistry: checkpoint signature: %w", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("didregistry: checkpoint origin %q, want %q", c.Origin, origin)
	}
	return c, nil
}

// noteSigner signs notes with an Ed25519 crypto.Signer (which may live in
// a KMS), in the format of golang.org/x/mod/sumdb/note.
type noteSigner struct {
	name string
	hash uint32
	key  crypto.Signer
}

const algEd25519 = 1 // note's signature type for Ed25519

func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// NewNoteSigner makes a checkpoint signer named name (the log origin) from
// an Ed25519 key, and returns it with the verifier key string
// ("name+hash+base64") that anyone uses to check checkpoints.
func NewNoteSigner(name string, key crypto.Signer) (note.Signer, string, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, "", errors.New("didregistry: the log key must be Ed25519")
	}
	if name == "" || strings.ContainsAny(name, "+ \n") {
		return nil, "", fmt.Errorf("didregistry: invalid log name %q", name)
	}
	enc := append([]byte{algEd25519}, pub...)
	h := keyHash(name, enc)
	vkey := fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(enc))
	if _, err := note.NewVerifier(vkey); err != nil {
		return nil, "", err
	}
	return &noteSigner{name: name, hash: h, key: key}, vkey, nil
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.hash }
func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	return s.key.Sign(rand.Reader, msg, crypto.Hash(0))
}

// Tracker remembers the newest checkpoint a client has seen and checks
// every later one for consistency with it, so that a registry showing two
// histories is caught. It is safe for concurrent use.
type Tracker struct {
	origin   string
	verifier note.Verifier
	proofs   func(old, new int64) (tlog.TreeProof, error)

	mu     sync.Mutex
	latest Checkpoint
	signed []byte
}

// ForkError is a proof that the log showed two inconsistent histories: two
// checkpoints, both validly signed, that cannot both be true.
type ForkError struct {
	Old, New []byte
}

func (e *ForkError) Error() string {
	return "didregistry: the log forked: checkpoint is not consistent with one seen before"
}

// NewTracker makes a tracker for the log origin with verifier v; proofs
// fetches consistency proofs from the log.
func NewTracker(origin string, v note.Verifier, proofs func(old, new int64) (tlog.TreeProof, error)) *Tracker {
	return &Tracker{origin: origin, verifier: v, proofs: proofs}
}

// Latest returns the newest checkpoint seen and its signed form.
func (t *Tracker) Latest() (Checkpoint, []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest, t.signed
}

// Update verifies signed and checks it against the newest checkpoint seen:
// a larger tree must prove consistent with it, the same size must have the
// same root, and a smaller one must prove that the newest extends it. Any
// inconsistency is a *ForkError, and the tracker keeps what it had.
func (t *Tracker) Update(signed []byte) (Checkpoint, error) {
	c, err := OpenCheckpoint(signed, t.origin, t.verifier)
	if err != nil {
		return Checkpoint{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.latest
	switch {
	case t.signed == nil:
	case c.Size == old.Size:
		if c.Hash != old.Hash {
			return Checkpoint{}, &ForkError{Old: t.signed, New: signed}
		}
		return c, nil
	case c.Size > old.Size:
		if old.Size > 0 {
			p, err := t.proofs(old.Size, c.Size)
			if err != nil {
				return Checkpoint{}, fmt.Errorf("didregistry: consistency proof %d→%d: %w", old.Size, c.Size, err)
			}
			if tlog.CheckTree(p, c.Size, c.Hash, old.Size, old.Hash) != nil {
				return Checkpoint{}, &ForkError{Old: t.signed, New: signed}
			}
		}
	default: // older than what we know: it must be a prefix of it
		if c.Size > 0 {
			p, err := t.proofs(c.Size, old.Size)
			if err != nil {
				return Checkpoint{}, fmt.Errorf("didregistry: consistency proof %d→%d: %w", c.Size, old.Size, err)
			}
			if tlog.CheckTree(p, old.Size, old.Hash, c.Size, c.Hash) != nil {
				return Checkpoint{}, &ForkError{Old: t.signed, New: signed}
			}
		}
		return c, nil
	}
	t.latest, t.signed = c, signed
	return c, nil
}
