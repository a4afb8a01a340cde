package wallet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Store is where a wallet keeps its records: a SQLite file natively
// (wallet/sqlitestore), the browser's IndexedDB in WebAssembly
// (wallet/idbstore), or memory (wallet/memstore). The wallet seals every
// record with its data key before Put and opens it after Get, so a Store
// only ever sees sealed bytes and the same record format sits in every
// backend; a backup made from one restores into any other.
//
// Records are identified by (kind, id); ids are unique across kinds.
// Metadata holds the few values needed before the wallet is unlocked (the
// sealed data key, the key-derivation parameters, the lockout counter).
//
// Implementations MUST return an error wrapping fs.ErrNotExist from Meta,
// Get and Delete when the value or record is absent, MUST apply SetMeta's
// values all or none, MUST keep a replaced record's kind and created time,
// and MUST list records ordered by created, then id. They need not be
// safe for concurrent use: the wallet serializes its writes.
type Store interface {
	Meta(ctx context.Context, name string) ([]byte, error)
	// SetMeta sets values atomically; a nil value deletes the name.
	SetMeta(ctx context.Context, values map[string][]byte) error
	Put(ctx context.Context, kind, id string, created int64, sealed []byte) error
	Get(ctx context.Context, kind, id string) ([]byte, error)
	// List calls each for every record of kind ("" for every kind).
	List(ctx context.Context, kind string, each func(kind, id string, created int64, sealed []byte) error) error
	Delete(ctx context.Context, kind, id string) error
	Close() error
}

// Errors of the store.
var (
	// ErrWrongPassphrase: the passphrase does not open this wallet. The
	// error is a *WrongPassphraseError, which says how many tries are
	// left before a lockout.
	ErrWrongPassphrase = errors.New("wallet: wrong passphrase")
	// ErrLockedOut: too many wrong passphrases in a row; the error is a
	// *LockedOutError saying when to try again.
	ErrLockedOut = errors.New("wallet: too many wrong passphrases")
	// ErrCorrupt: the file was damaged or altered; nothing is returned
	// from a damaged record.
	ErrCorrupt = errors.New("wallet: the wallet file is damaged or was altered")
	// ErrExists: Create found a wallet already there.
	ErrExists = errors.New("wallet: a wallet already exists at this path")
	// ErrNotFound: no wallet file, or no such record.
	ErrNotFound = errors.New("wallet: not found")
)

// The lockout rule, the same for every front end (the CLI, the browser
// app): after LockoutFreeTries wrong passphrases in a row, opening is
// refused for LockoutBase, and each further wrong passphrase doubles the
// wait, up to LockoutMax. A right passphrase resets the count. The count
// is kept in the store's metadata, so it survives restarts and reloads.
//
// The lockout slows guessing through the wallet's own interface. Someone
// who copies the file guesses offline, and only Argon2id (KDF) slows them.
const (
	LockoutFreeTries = 5
	LockoutBase      = 30 * time.Second
	LockoutMax       = time.Hour
)

// WrongPassphraseError is ErrWrongPassphrase with the tries left before
// the wallet locks for a while.
type WrongPassphraseError struct{ TriesLeft int }

func (e *WrongPassphraseError) Error() string {
	return fmt.Sprintf("wallet: wrong passphrase (%d tries left before a lockout)", e.TriesLeft)
}
func (e *WrongPassphraseError) Is(target error) bool { return target == ErrWrongPassphrase }

// LockedOutError is ErrLockedOut with the time to wait.
type LockedOutError struct {
	Until      time.Time
	RetryAfter time.Duration
}

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("wallet: too many wrong passphrases; try again in %s", e.RetryAfter.Round(time.Second))
}
func (e *LockedOutError) Is(target error) bool { return target == ErrLockedOut }

// lockoutState is the "lockout" metadata value (not secret).
type lockoutState struct {
	Failures int   `json:"failures"`
	Until    int64 `json:"until,omitempty"` // unix seconds
}

// lockoutDelay is the wait after the n-th wrong passphrase in a row.
func lockoutDelay(n int) time.Duration {
	if n < LockoutFreeTries {
		return 0
	}
	d := LockoutBase
	for i := LockoutFreeTries; i < n && d < LockoutMax; i++ {
		d *= 2
	}
	return min(d, LockoutMax)
}

// KDF holds the Argon2id parameters that turn a passphrase into the key
// that seals the wallet's data key. They are stored in the file.
type KDF struct {
	Alg     string `json:"alg"` // "argon2id"
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"` // KiB
	Threads uint8  `json:"p"`
	Salt    []byte `json:"salt"`
}

// DefaultKDF is Argon2id with RFC 9106's second recommended parameters,
// t=3, m=64 MiB, p=4: about 80 ms natively on the development machine,
// which dominates opening a wallet by design.
var DefaultKDF = KDF{Alg: "argon2id", Time: 3, Memory: 64 << 10, Threads: 4}

// PhoneKDF is what the browser wallet uses: Argon2id t=2, m=19 MiB, p=1,
// the first configuration of OWASP's Password Storage Cheat Sheet. The
// WebAssembly Argon2id runs on one thread several times slower than
// native code, and a phone's tab has little memory to spare; RFC 9106's
// t=3, m=64 MiB took about 4 s in wasm here. docs/wallet-app.md has the
// measurements behind the choice.
var PhoneKDF = KDF{Alg: "argon2id", Time: 2, Memory: 19 << 10, Threads: 1}

// Bounds on KDF parameters read from a file, so a crafted file cannot make
// Open allocate without limit.
const (
	maxKDFMemory = 1 << 20 // 1 GiB in KiB
	maxKDFTime   = 16
	minKDFMemory = 8 << 10
)

func (k KDF) check() error {
	if k.Alg != "argon2id" || k.Time < 1 || k.Time > maxKDFTime || k.Memory < minKDFMemory || k.Memory > maxKDFMemory || k.Threads < 1 || len(k.Salt) < 16 {
		return fmt.Errorf("%w: bad key derivation parameters", ErrCorrupt)
	}
	return nil
}

func (k KDF) derive(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, k.Salt, k.Time, k.Memory, k.Threads, chacha20poly1305.KeySize)
}

func (k KDF) withSalt() KDF {
	if k.Alg == "" {
		k = DefaultKDF
	}
	k.Salt = make([]byte, 16)
	_, _ = io.ReadFull(randReader, k.Salt)
	return k
}

// vault is the sealed record store under one data key.
type vault struct {
	s   Store
	dek []byte
}

const (
	adDEK    = "tong-wallet/dek/v1"
	adRecord = "tong-wallet/record/v1\x00"

	metaKDF     = "kdf"
	metaDEK     = "dek"
	metaLockout = "lockout"
)

func sealWith(key []byte, ad string, plain []byte) []byte {
	aead, _ := chacha20poly1305.NewX(key)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, []byte(ad))
}

func openWith(key []byte, ad string, sealed []byte) ([]byte, error) {
	aead, _ := chacha20poly1305.NewX(key)
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrCorrupt
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(ad))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// storeExists reports whether s already holds a wallet's key.
func storeExists(ctx context.Context, s Store) (bool, error) {
	_, err := s.Meta(ctx, metaDEK)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// createVault puts a fresh data key in an empty store.
func createVault(ctx context.Context, s Store, passphrase []byte, kdf KDF) (*vault, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("wallet: the passphrase is empty")
	}
	if ok, err := storeExists(ctx, s); err != nil {
		return nil, err
	} else if ok {
		return nil, ErrExists
	}
	kdf = kdf.withSalt()
	if err := kdf.check(); err != nil {
		return nil, err
	}
	dek := make([]byte, chacha20poly1305.KeySize)
	_, _ = rand.Read(dek)
	v := &vault{s: s, dek: dek}
	if err := v.putKey(ctx, kdf, passphrase); err != nil {
		return nil, err
	}
	return v, nil
}

// putKey seals the data key under a passphrase.
func (v *vault) putKey(ctx context.Context, kdf KDF, passphrase []byte) error {
	kdfJSON, _ := json.Marshal(kdf)
	sealed := sealWith(kdf.derive(passphrase), adDEK, v.dek)
	return v.s.SetMeta(ctx, map[string][]byte{metaKDF: kdfJSON, metaDEK: sealed})
}

// openVault unlocks a store with its passphrase, under the lockout rule.
func openVault(ctx context.Context, s Store, passphrase []byte, now time.Time) (*vault, error) {
	kdfJSON, err := s.Meta(ctx, metaKDF)
	var sealed []byte
	if err == nil {
		sealed, err = s.Meta(ctx, metaDEK)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no wallet in %s", ErrNotFound, storeName(s))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var kdf KDF
	if err := json.Unmarshal(kdfJSON, &kdf); err != nil {
		return nil, ErrCorrupt
	}
	if err := kdf.check(); err != nil {
		return nil, err
	}
	var lock lockoutState
	if raw, err := s.Meta(ctx, metaLockout); err == nil {
		_ = json.Unmarshal(raw, &lock) // a damaged counter counts as none
	}
	if until := time.Unix(lock.Until, 0); lock.Until != 0 && now.Before(until) {
		return nil, &LockedOutError{Until: until, RetryAfter: until.Sub(now)}
	}
	dek, err := openWith(kdf.derive(passphrase), adDEK, sealed)
	if err != nil {
		// The AEAD cannot tell a wrong passphrase from a damaged key
		// record; the key record is small, so a wrong passphrase is by far
		// the likelier.
		lock.Failures++
		lock.Until = 0
		if d := lockoutDelay(lock.Failures); d > 0 {
			lock.Until = now.Add(d).Unix()
		}
		raw, _ := json.Marshal(lock)
		if err := s.SetMeta(ctx, map[string][]byte{metaLockout: raw}); err != nil {
			return nil, err
		}
		if lock.Until != 0 {
			return nil, &LockedOutError{Until: time.Unix(lock.Until, 0), RetryAfter: lockoutDelay(lock.Failures)}
		}
		return nil, &WrongPassphraseError{TriesLeft: LockoutFreeTries - lock.Failures}
	}
	if lock.Failures > 0 {
		if err := s.SetMeta(ctx, map[string][]byte{metaLockout: nil}); err != nil {
			return nil, err
		}
	}
	return &vault{s: s, dek: dek}, nil
}

func storeName(s Store) string {
	if n, ok := s.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "the store"
}

func (v *vault) close() error {
	clear(v.dek)
	return v.s.Close()
}

func recordAD(kind, id string) string { return adRecord + kind + "\x00" + id }

// put seals and stores a record (insert or replace).
func (v *vault) put(ctx context.Context, kind, id string, created time.Time, rec any) error {
	plain, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return v.putRaw(ctx, kind, id, created.UnixNano(), plain)
}

func (v *vault) putRaw(ctx context.Context, kind, id string, created int64, plain []byte) error {
	return v.s.Put(ctx, kind, id, created, sealWith(v.dek, recordAD(kind, id), plain))
}

// get opens one record into out.
func (v *vault) get(ctx context.Context, kind, id string, out any) error {
	sealed, err := v.s.Get(ctx, kind, id)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	plain, err := openWith(v.dek, recordAD(kind, id), sealed)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, out); err != nil {
		return ErrCorrupt
	}
	return nil
}

// all opens every record of a kind, oldest first. One damaged record fails
// the whole call: no partial data.
func (v *vault) all(ctx context.Context, kind string, each func(id string, plain []byte) error) error {
	return v.s.List(ctx, kind, func(k, id string, _ int64, sealed []byte) error {
		plain, err := openWith(v.dek, recordAD(k, id), sealed)
		if err != nil {
			return err
		}
		return each(id, plain)
	})
}

func (v *vault) delete(ctx context.Context, kind, id string) error {
	err := v.s.Delete(ctx, kind, id)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

// backup is the export file: one JSON document whose payload is sealed
// under a key derived from the passphrase with its own salt.
type backup struct {
	Format  string `json:"format"` // "tong-wallet-backup/v1"
	KDF     KDF    `json:"kdf"`
	Payload []byte `json:"payload"`
}

type backupRecord struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Created int64           `json:"created"`
	Data    json.RawMessage `json:"data"`
}

const backupFormat = "tong-wallet-backup/v1"
const adBackup = "tong-wallet/backup/v1"

// MaxBackupSize bounds a backup file read by Import.
const MaxBackupSize = 256 << 20

func (v *vault) export(ctx context.Context, w io.Writer, passphrase []byte, kdf KDF) error {
	var recs []backupRecord
	err := v.s.List(ctx, "", func(kind, id string, created int64, sealed []byte) error {
		plain, err := openWith(v.dek, recordAD(kind, id), sealed)
		if err != nil {
			return err
		}
		recs = append(recs, backupRecord{ID: id, Kind: kind, Created: created, Data: plain})
		return nil
	})
	if err != nil {
		return err
	}
	payload, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	kdf = kdf.withSalt()
	b := backup{Format: backupFormat, KDF: kdf, Payload: sealWith(kdf.derive(passphrase), adBackup, payload)}
	return json.NewEncoder(w).Encode(b)
}

func readBackup(r io.Reader, passphrase []byte) ([]backupRecord, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBackupSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxBackupSize {
		return nil, errors.New("wallet: backup is larger than 256 MiB")
	}
	var b backup
	if err := json.Unmarshal(raw, &b); err != nil || b.Format != backupFormat {
		return nil, fmt.Errorf("%w: not a Tong wallet backup", ErrCorrupt)
	}
	if err := b.KDF.check(); err != nil {
		return nil, err
	}
	plain, err := openWith(b.KDF.derive(passphrase), adBackup, b.Payload)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	var recs []backupRecord
	if err := json.Unmarshal(plain, &recs); err != nil {
		return nil, ErrCorrupt
	}
	return recs, nil
}
