package wallet

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
)

// Options configure a Wallet. The zero value is usable: no registry (so
// issuers and verifiers are shown as unverified), https only.
type Options struct {
	// HTTPClient makes every request; nil means a client with a 15 s
	// timeout. The wallet never follows redirects (OpenID4VP §14.8).
	HTTPClient *http.Client
	// Registry, when set, is how the wallet checks issuers and verifiers
	// against the did:tong registry (with proofs) and their accreditations:
	// a *client.Client from didregistry/client.
	Registry Registry
	// RequireRegistry refuses issuers and verifiers the registry does not
	// vouch for, instead of marking them unverified.
	RequireRegistry bool
	// AllowLoopbackHTTP allows http to 127.0.0.1, ::1 and localhost (the
	// demo and tests).
	AllowLoopbackHTTP bool
	// Copies is how many one-time copies to ask for per credential (batch
	// issuance), capped by the issuer's batch_size; zero means 5.
	Copies int
	// HolderAlg is the algorithm of new holder keys: "ES256" (P-256, the
	// default) or "EdDSA" (Ed25519).
	HolderAlg string
	// RefillAt is how few unused copies make Present, Match and Refresh
	// fetch fresh ones (when the issuer gave a refresh token); zero means
	// DefaultRefillAt, a negative value never refills by itself.
	RefillAt int
	// KDF, for Create, ChangePassphrase and Export; zero means DefaultKDF.
	KDF    KDF
	Now    func() time.Time
	Logger *slog.Logger
	// TrustedCAs are DER certificates (the city CA's) that x509_hash
	// verifiers' certificate chains must reach (HAIP 1.0).
	TrustedCAs [][]byte
}

// Registry is what the wallet asks of the did:tong registry. The
// verifying client, *client.Client from didregistry/client, implements it;
// an implementation MUST answer only what it has verified (inclusion
// proofs against a trusted checkpoint), since the wallet takes its
// answers as the registry's word.
type Registry interface {
	// DIDForIssuerURL returns the DID bound to issuer URL u, with its
	// document, or an error if the registry binds u to none.
	DIDForIssuerURL(ctx context.Context, u string) (string, *did.Document, error)
	// Resolve resolves a did:tong DID (did.Resolver).
	Resolve(ctx context.Context, id string, opts did.ResolveOptions) (*did.Result, error)
	// Accredited reports whether subject held role (didregistry.RoleIssuer
	// or RoleVerifier) for item (a vct or a purpose) at time at.
	Accredited(ctx context.Context, subject, role, item string, at time.Time) (bool, error)
}

// Wallet is a citizen's wallet: an encrypted store of credentials with
// their holder keys, and the clients that receive and present them.
// It is safe for concurrent use.
type Wallet struct {
	v      *vault
	opts   Options
	http   *http.Client
	mu     sync.Mutex // serializes read-modify-write of records
	status statusCache
}

// New makes a new wallet in an empty store, protected by passphrase. It
// fails with ErrExists if the store already holds a wallet. The wallet
// owns the store from then on: Close closes it.
func New(ctx context.Context, s Store, passphrase []byte, opts Options) (*Wallet, error) {
	v, err := createVault(ctx, s, passphrase, opts.KDF)
	if err != nil {
		return nil, err
	}
	return newWallet(v, opts), nil
}

// Unlock opens the wallet in s with its passphrase. A wrong passphrase is
// ErrWrongPassphrase; too many in a row is ErrLockedOut (the lockout rule
// is LockoutFreeTries). A store without a wallet is ErrNotFound. On
// success the wallet owns the store.
func Unlock(ctx context.Context, s Store, passphrase []byte, opts Options) (*Wallet, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	v, err := openVault(ctx, s, passphrase, now())
	if err != nil {
		return nil, err
	}
	return newWallet(v, opts), nil
}

// Exists reports whether s holds a wallet.
func Exists(ctx context.Context, s Store) (bool, error) { return storeExists(ctx, s) }

// Restore makes a wallet in an empty store from a backup made by Export
// (from any store), protected by the backup's passphrase.
func Restore(ctx context.Context, s Store, in io.Reader, passphrase []byte, opts Options) (*Wallet, error) {
	recs, err := readBackup(in, passphrase)
	if err != nil {
		return nil, err
	}
	w, err := New(ctx, s, passphrase, opts)
	if err != nil {
		return nil, err
	}
	if err := w.putBackup(ctx, recs); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *Wallet) putBackup(ctx context.Context, recs []backupRecord) error {
	for _, r := range recs {
		if err := w.v.putRaw(ctx, r.Kind, r.ID, r.Created, r.Data); err != nil {
			return err
		}
	}
	return nil
}

func newWallet(v *vault, opts Options) *Wallet {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Copies <= 0 {
		opts.Copies = 5
	}
	if opts.RefillAt == 0 {
		opts.RefillAt = DefaultRefillAt
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Wallet{v: v, opts: opts, http: &c}
}

// Close closes the wallet and forgets its key.
func (w *Wallet) Close() error { return w.v.close() }

// String never shows anything secret.
func (w *Wallet) String() string { return "wallet(" + storeName(w.v.s) + ")" }

// ChangePassphrase re-seals the wallet's data key under a new passphrase.
// The records are untouched, so this is quick and atomic.
func (w *Wallet) ChangePassphrase(ctx context.Context, newPassphrase []byte) error {
	if len(newPassphrase) == 0 {
		return errors.New("wallet: the new passphrase is empty")
	}
	return w.v.putKey(ctx, w.opts.KDF.withSalt(), newPassphrase)
}

// Export writes an encrypted backup of every record, sealed under
// passphrase with a fresh salt.
func (w *Wallet) Export(ctx context.Context, out io.Writer, passphrase []byte) error {
	if len(passphrase) == 0 {
		return errors.New("wallet: the backup passphrase is empty")
	}
	return w.v.export(ctx, out, passphrase, w.opts.KDF)
}

// Credential is a credential in the wallet: one issuance, held as several
// one-time copies, each bound to its own holder key.
type Credential struct {
	ID string `json:"id"`
	// Issuer is the Credential Issuer Identifier (iss); IssuerName its
	// display name; IssuerDID its did:tong when the registry vouched for it.
	Issuer     string `json:"issuer"`
	IssuerName string `json:"issuer_name,omitempty"`
	IssuerDID  string `json:"issuer_did,omitempty"`
	// ConfigurationID and VCT name the type; Name is its display name.
	ConfigurationID string         `json:"configuration_id"`
	VCT             string         `json:"vct"`
	Name            string         `json:"name,omitempty"`
	Claims          map[string]any `json:"claims"`
	// Display, IssuerDisplay and ClaimDisplay are the issuer's display
	// metadata for the type, itself and each claim, in every locale it
	// gave (LocalDisplay and ClaimLabel pick one).
	Display       []Display      `json:"display,omitempty"`
	IssuerDisplay []Display      `json:"issuer_display,omitempty"`
	ClaimDisplay  []ClaimDisplay `json:"claim_display,omitempty"`
	// Status is the credential's status as last seen: StatusValid,
	// StatusSuspended, StatusRevoked, StatusExpired (from exp, always
	// current) or StatusUnknown. RefreshStatus updates it from the
	// issuer's status list.
	Status          string    `json:"status"`
	StatusCheckedAt time.Time `json:"status_checked_at,omitzero"`
	IssuedAt        time.Time `json:"issued_at"`
	Expiry          time.Time `json:"expiry,omitzero"`
	ReceivedAt      time.Time `json:"received_at"`
	// CopiesLeft counts the unused copies. Each presentation spends one,
	// so that two verifiers never see the same signature or key. Refill
	// fetches more while the issuer still vouches for the credential.
	CopiesLeft int  `json:"copies_left"`
	Refillable bool `json:"refillable"`

	copies []credentialCopy
}

func (c *Credential) String() string { return fmt.Sprintf("credential(%s %s)", c.ID, c.VCT) }

// credentialCopy is one issued copy with its private holder key.
type credentialCopy struct {
	SDJWT  string                `json:"sd_jwt"`
	Key    jose.JWK              `json:"key"` // private JWK; never leaves the sealed record
	Used   bool                  `json:"used"`
	Status *credential.StatusRef `json:"status,omitempty"`
}

// credentialRecord is the sealed form of a Credential.
type credentialRecord struct {
	Credential
	Copies []credentialCopy `json:"copies"`
	// Refresh is how to fetch fresh copies later, if the issuer allows.
	Refresh *refreshInfo `json:"refresh,omitempty"`
	// IssuerKey is the key the copies verified with, to check status
	// lists later without fetching the issuer's metadata.
	IssuerKey *jose.JWK `json:"issuer_key,omitempty"`
}

// refreshInfo is what Refill needs: the refresh token and the endpoints.
type refreshInfo struct {
	Token              string `json:"token"`
	TokenEndpoint      string `json:"token_endpoint"`
	NonceEndpoint      string `json:"nonce_endpoint"`
	CredentialEndpoint string `json:"credential_endpoint"`
	BatchSize          int    `json:"batch_size"`
}

func (r *credentialRecord) public(now time.Time) *Credential {
	c := r.Credential
	c.copies = r.Copies
	c.Refillable = r.Refresh != nil
	c.CopiesLeft = 0
	for _, cp := range r.Copies {
		if !cp.Used {
			c.CopiesLeft++
		}
	}
	if c.Status == "" {
		c.Status = StatusUnknown
	}
	if !c.Expiry.IsZero() && !now.Before(c.Expiry) {
		c.Status = StatusExpired
	}
	return &c
}

const (
	kindCredential = "credential"
	kindReceipt    = "receipt"
)

// Credentials lists the wallet's credentials, oldest first. A damaged
// record fails the call (ErrCorrupt); no partial list is returned.
func (w *Wallet) Credentials(ctx context.Context) ([]*Credential, error) {
	var out []*Credential
	err := w.v.all(ctx, kindCredential, func(id string, plain []byte) error {
		var r credentialRecord
		if err := json.Unmarshal(plain, &r); err != nil || r.ID != id {
			return ErrCorrupt
		}
		out = append(out, r.public(w.opts.Now()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Credential returns one credential.
func (w *Wallet) Credential(ctx context.Context, id string) (*Credential, error) {
	var r credentialRecord
	if err := w.v.get(ctx, kindCredential, id, &r); err != nil {
		return nil, err
	}
	if r.ID != id {
		return nil, ErrCorrupt
	}
	return r.public(w.opts.Now()), nil
}

// Delete removes a credential and its keys.
func (w *Wallet) Delete(ctx context.Context, id string) error {
	return w.v.delete(ctx, kindCredential, id)
}

// takeCopy marks the next unused copy of a credential used, durably, and
// returns it with its key. A copy is spent before it is shown, so a crash
// can waste one but never show one twice.
func (w *Wallet) takeCopy(ctx context.Context, id string) (string, crypto.Signer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var r credentialRecord
	if err := w.v.get(ctx, kindCredential, id, &r); err != nil {
		return "", nil, err
	}
	for i := range r.Copies {
		if r.Copies[i].Used {
			continue
		}
		raw, _ := json.Marshal(r.Copies[i].Key)
		key, err := jose.ParsePrivateJWK(raw)
		if err != nil {
			return "", nil, ErrCorrupt
		}
		r.Copies[i].Used = true
		if err := w.v.put(ctx, kindCredential, id, r.ReceivedAt, &r); err != nil {
			return "", nil, err
		}
		return r.Copies[i].SDJWT, key, nil
	}
	return "", nil, werr(CodeCopiesExhausted, "every one-time copy of %s is used; receive it again to get fresh copies", id)
}

// Receipt records one presentation: who asked, when, for what, and which
// claims were disclosed (their paths, not their values).
type Receipt struct {
	ID          string                `json:"id"`
	At          time.Time             `json:"at"`
	Verifier    string                `json:"verifier"` // client_id
	VerifierDID string                `json:"verifier_did,omitempty"`
	Verified    bool                  `json:"verified"` // the registry vouched for the verifier
	Name        string                `json:"name,omitempty"`
	Purpose     string                `json:"purpose,omitempty"`
	Disclosed   []DisclosedCredential `json:"disclosed"`
	// TransactionData lists what the citizen signed for (payments).
	TransactionData []map[string]any `json:"transaction_data,omitempty"`
	// RedirectURI is where the verifier asked the wallet to go next.
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// DisclosedCredential is one credential in a receipt.
type DisclosedCredential struct {
	CredentialID string  `json:"credential_id"`
	VCT          string  `json:"vct"`
	Claims       [][]any `json:"claims"`
}

// History lists the receipts, newest first.
func (w *Wallet) History(ctx context.Context) ([]*Receipt, error) {
	var out []*Receipt
	err := w.v.all(ctx, kindReceipt, func(id string, plain []byte) error {
		var r Receipt
		if err := json.Unmarshal(plain, &r); err != nil || r.ID != id {
			return ErrCorrupt
		}
		out = append(out, &r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

// newHolderKey makes a fresh holder key for one copy.
func newHolderKey(alg string) (*keys.Signer, jose.JWK, error) {
	if alg == "" {
		alg = keys.ES256
	}
	k, err := keys.Generate(nil, alg)
	if err != nil {
		return nil, jose.JWK{}, err
	}
	jwk, err := jose.PrivateJWK(k.Unwrap())
	return k, jwk, err
}
