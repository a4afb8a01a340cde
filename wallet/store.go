package wallet

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors of the store.
var (
	// ErrWrongPassphrase: the passphrase does not open this wallet.
	ErrWrongPassphrase = errors.New("wallet: wrong passphrase")
	// ErrCorrupt: the file was damaged or altered; nothing is returned
	// from a damaged record.
	ErrCorrupt = errors.New("wallet: the wallet file is damaged or was altered")
	// ErrExists: Create found a wallet already there.
	ErrExists = errors.New("wallet: a wallet already exists at this path")
	// ErrNotFound: no wallet file, or no such record.
	ErrNotFound = errors.New("wallet: not found")
)

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
// t=3, m=64 MiB, p=4: about 80 ms on the development machine, which
// dominates opening a wallet by design.
var DefaultKDF = KDF{Alg: "argon2id", Time: 3, Memory: 64 << 10, Threads: 4}

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

// vault is the sealed record store under one data key.
type vault struct {
	db  *store.DB
	dek []byte
}

const (
	adDEK    = "tong-wallet/dek/v1"
	adRecord = "tong-wallet/record/v1\x00"
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

func openDB(ctx context.Context, path string) (*store.DB, error) {
	db, err := sqlitedb.Open(ctx, path, store.Options{Readers: 2})
	if err != nil {
		return nil, fmt.Errorf("wallet: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := db.Migrate(ctx, "wallet", sub); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return db, nil
}

// createVault makes a new wallet file with a fresh data key.
func createVault(ctx context.Context, path string, passphrase []byte, kdf KDF) (*vault, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("wallet: the passphrase is empty")
	}
	if _, err := os.Stat(path); err == nil {
		return nil, ErrExists
	}
	if kdf.Alg == "" {
		kdf = DefaultKDF
	}
	kdf.Salt = make([]byte, 16)
	_, _ = rand.Read(kdf.Salt)
	if err := kdf.check(); err != nil {
		return nil, err
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, err
	}
	dek := make([]byte, chacha20poly1305.KeySize)
	_, _ = rand.Read(dek)
	v := &vault{db: db, dek: dek}
	if err := v.putKey(ctx, kdf, passphrase); err != nil {
		db.Close()
		return nil, err
	}
	return v, nil
}

// putKey seals the data key under a passphrase.
func (v *vault) putKey(ctx context.Context, kdf KDF, passphrase []byte) error {
	kdfJSON, _ := json.Marshal(kdf)
	sealed := sealWith(kdf.derive(passphrase), adDEK, v.dek)
	return v.db.WriteTx(ctx, func(tx *sql.Tx) error {
		for name, val := range map[string][]byte{"kdf": kdfJSON, "dek": sealed} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_meta (name, value) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, val); err != nil {
				return err
			}
		}
		return nil
	})
}

// openVault opens a wallet file with its passphrase.
func openVault(ctx context.Context, path string, passphrase []byte) (*vault, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w: no wallet at %s", ErrNotFound, path)
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	var kdfJSON, sealed []byte
	err = db.Reader().QueryRowContext(ctx, `SELECT value FROM wallet_meta WHERE name = 'kdf'`).Scan(&kdfJSON)
	if err == nil {
		err = db.Reader().QueryRowContext(ctx, `SELECT value FROM wallet_meta WHERE name = 'dek'`).Scan(&sealed)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var kdf KDF
	if err := json.Unmarshal(kdfJSON, &kdf); err != nil {
		db.Close()
		return nil, ErrCorrupt
	}
	if err := kdf.check(); err != nil {
		db.Close()
		return nil, err
	}
	dek, err := openWith(kdf.derive(passphrase), adDEK, sealed)
	if err != nil {
		db.Close()
		// The AEAD cannot tell a wrong passphrase from a damaged key
		// record; the key record is small, so a wrong passphrase is by far
		// the likelier.
		return nil, ErrWrongPassphrase
	}
	return &vault{db: db, dek: dek}, nil
}

func (v *vault) close() error {
	clear(v.dek)
	return v.db.Close()
}

func recordAD(kind, id string) string { return adRecord + kind + "\x00" + id }

// put seals and stores a record (insert or replace).
func (v *vault) put(ctx context.Context, kind, id string, created time.Time, rec any) error {
	plain, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	sealed := sealWith(v.dek, recordAD(kind, id), plain)
	_, err = v.db.Writer().ExecContext(ctx, `INSERT INTO wallet_records (id, kind, created, sealed) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed`, id, kind, created.UnixNano(), sealed)
	return err
}

// get opens one record into out.
func (v *vault) get(ctx context.Context, kind, id string, out any) error {
	var sealed []byte
	err := v.db.Reader().QueryRowContext(ctx, `SELECT sealed FROM wallet_records WHERE id = $1 AND kind = $2`, id, kind).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := v.db.Reader().QueryContext(ctx, `SELECT id, sealed FROM wallet_records WHERE kind = $1 ORDER BY created, id`, kind)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		plain, err := openWith(v.dek, recordAD(kind, id), sealed)
		if err != nil {
			return err
		}
		if err := each(id, plain); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

func (v *vault) delete(ctx context.Context, kind, id string) error {
	res, err := v.db.Writer().ExecContext(ctx, `DELETE FROM wallet_records WHERE id = $1 AND kind = $2`, id, kind)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
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
	rows, err := v.db.Reader().QueryContext(ctx, `SELECT id, kind, created, sealed FROM wallet_records ORDER BY created, id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r backupRecord
		var sealed []byte
		if err := rows.Scan(&r.ID, &r.Kind, &r.Created, &sealed); err != nil {
			return err
		}
		plain, err := openWith(v.dek, recordAD(r.Kind, r.ID), sealed)
		if err != nil {
			return err
		}
		r.Data = plain
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	payload, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	if kdf.Alg == "" {
		kdf = DefaultKDF
	}
	kdf.Salt = make([]byte, 16)
	_, _ = rand.Read(kdf.Salt)
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
