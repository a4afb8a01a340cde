package didregistry

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/base58"
	"github.com/tongid/tong/internal/jcs"
	"github.com/tongid/tong/internal/jose"
)

// Method is the DID method name.
const Method = "tong"

// Prefix starts every did:tong.
const Prefix = "did:tong:"

// SCIDPlaceholder stands for the SCID while the genesis operation is
// hashed (as in did:webvh).
const SCIDPlaceholder = "{SCID}"

// ProofType names Tong's operation signature: ES256 or Ed25519 over the
// JCS (RFC 8785) canonical form of the operation without its proof.
const ProofType = "TongJcsSignature2026"

// Operation types.
const (
	OpCreate     = "create"
	OpUpdate     = "update"
	OpDeactivate = "deactivate"
	// OpAccredit and OpRevoke are written by the trust authority into its
	// own DID's chain.
	OpAccredit = "accredit"
	OpRevoke   = "revoke"
)

// Roles an accreditation grants.
const (
	RoleIssuer   = "issuer"
	RoleVerifier = "verifier"
)

// Limits on operations.
const (
	// MaxOperationSize bounds an operation's canonical bytes, which are also
	// its log leaf; C2SP entry bundles prefix each leaf with a 16-bit
	// length.
	MaxOperationSize = 60 << 10
	// MaxKeys bounds updateKeys and nextKeyHashes.
	MaxKeys = 8
	// MaxScope bounds an accreditation's scope.
	MaxScope = 64
	// MaxIssuerURLs bounds the issuer URLs (OpenID4VCICredentialIssuer
	// services) one document names.
	MaxIssuerURLs = 8
	// DefaultSkew is how far in the future an operation's versionTime may be.
	DefaultSkew = 2 * time.Minute
)

// Operation is one signed entry in a DID's chain, and one leaf of the
// registry's log. Its canonical form is JCS (RFC 8785).
type Operation struct {
	Type string `json:"type"`
	DID  string `json:"did"`
	// Seq numbers the DID's operations from 1 (the genesis).
	Seq int64 `json:"seq"`
	// Prev is the entryHash of the DID's previous operation; empty for the
	// genesis.
	Prev string `json:"prev,omitempty"`
	// VersionTime is when the controller made the operation (RFC 3339, UTC,
	// whole seconds).
	VersionTime string `json:"versionTime"`
	// UpdateKeys are the Multikeys allowed to sign the next operation.
	UpdateKeys []string `json:"updateKeys,omitempty"`
	// NextKeyHashes commit to the next update keys (pre-rotation): each is
	// the base58btc multihash (sha2-256) of a Multikey string.
	NextKeyHashes []string `json:"nextKeyHashes,omitempty"`
	// Document is the DID document this operation sets (create, update).
	Document json.RawMessage `json:"document,omitempty"`
	// Accreditation is set by OpAccredit; Revokes names the accreditation
	// (by the versionId that created it) an OpRevoke ends.
	Accreditation *Accreditation `json:"accreditation,omitempty"`
	Revokes       string         `json:"revokes,omitempty"`
	Proof         *Proof         `json:"proof,omitempty"`

	// checked is set by Precheck: the signing Multikey, once the
	// stateless checks have passed.
	checked string
	// input caches the signing input.
	input []byte
}

// Accreditation is the trust authority's statement that Subject may act in
// Role for Scope (vct values for issuers, purposes for verifiers) between
// ValidFrom and ValidUntil.
type Accreditation struct {
	Subject    string   `json:"subject"`
	Role       string   `json:"role"`
	Scope      []string `json:"scope"`
	ValidFrom  string   `json:"validFrom"`
	ValidUntil string   `json:"validUntil,omitempty"`
	// CredentialIssuer, in an issuer accreditation, binds the Credential
	// Issuer Identifier (OpenID4VCI 1.0 credential_issuer, the iss of the
	// subject's credentials) to Subject: the only way an issuer URL comes
	// to name a DID (docs/did-method-tong.md §8).
	CredentialIssuer string `json:"credentialIssuer,omitempty"`
}

// Proof is an operation's signature.
type Proof struct {
	Type string `json:"type"`
	// VerificationMethod is the Multikey of the signing key.
	VerificationMethod string `json:"verificationMethod"`
	// ProofValue is the base64url signature: ES256 as R||S, or Ed25519.
	ProofValue string `json:"proofValue"`
}

// FormatTime writes t as an operation time.
func FormatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// Canonical returns the JCS form of op.
func (op *Operation) Canonical() ([]byte, error) {
	raw, err := json.Marshal(op)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(raw)
}

// signingInput is the JCS form of op without its proof.
func (op *Operation) signingInput() ([]byte, error) {
	if op.input != nil {
		return op.input, nil
	}
	c := *op
	c.Proof = nil
	in, err := c.Canonical()
	if err == nil && op.Proof != nil {
		op.input = in // only a finished operation's input is stable
	}
	return in, err
}

// EntryHash is base58btc(multihash(sha2-256(leaf))) with the "z" multibase
// prefix: the id an operation's successor names in Prev.
func EntryHash(leaf []byte) string {
	return multihash(leaf)
}

func multihash(b []byte) string {
	sum := sha256.Sum256(b)
	return "z" + base58.Encode(append([]byte{0x12, 0x20}, sum[:]...))
}

// KeyHash is the pre-rotation commitment to a Multikey.
func KeyHash(multikey string) string { return multihash([]byte(multikey)) }

// VersionID is "<seq>-<entryHash>".
func VersionID(seq int64, entryHash string) string {
	return strconv.FormatInt(seq, 10) + "-" + entryHash
}

// ParseVersionID splits a versionId.
func ParseVersionID(v string) (int64, string, bool) {
	n, h, ok := strings.Cut(v, "-")
	seq, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || seq < 1 || strconv.FormatInt(seq, 10) != n || h == "" {
		return 0, "", false
	}
	return seq, h, true
}

// Sign sets op's proof, signing with s (P-256 or Ed25519).
func (op *Operation) Sign(s crypto.Signer) error {
	mk, err := did.EncodeMultikey(s.Public())
	if err != nil {
		return err
	}
	op.Proof, op.input, op.checked = nil, nil, ""
	input, err := op.signingInput()
	if err != nil {
		return err
	}
	sig, err := signRaw(s, input)
	if err != nil {
		return err
	}
	op.Proof = &Proof{Type: ProofType, VerificationMethod: mk, ProofValue: base64.RawURLEncoding.EncodeToString(sig)}
	return nil
}

func signRaw(s crypto.Signer, msg []byte) ([]byte, error) {
	switch s.Public().(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		der, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		var r, ss big.Int
		if err := parseDERSig(der, &r, &ss); err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		ss.FillBytes(out[32:])
		return out, nil
	case ed25519.PublicKey:
		return s.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	return nil, fmt.Errorf("didregistry: unsupported key %T", s.Public())
}

// verifyProof checks op's signature and returns the signing Multikey.
func (op *Operation) verifyProof(decoded map[string]crypto.PublicKey) (string, error) {
	if op.Proof == nil || op.Proof.Type != ProofType {
		return "", errorf(CodeInvalidSignature, "missing or unknown proof")
	}
	pub, ok := decoded[op.Proof.VerificationMethod]
	if !ok {
		var err error
		if pub, err = did.DecodeMultikey(op.Proof.VerificationMethod); err != nil {
			return "", errorf(CodeInvalidSignature, "proof key is not a Multikey")
		}
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(op.Proof.ProofValue)
	if err != nil {
		return "", errorf(CodeInvalidSignature, "proofValue is not base64url")
	}
	input, err := op.signingInput()
	if err != nil {
		return "", errorf(CodeInvalidOperation, "cannot canonicalize")
	}
	ok = false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = jose.VerifyES256(k, input, sig)
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, input, sig)
	}
	if !ok {
		return "", errorf(CodeInvalidSignature, "signature does not verify")
	}
	return op.Proof.VerificationMethod, nil
}

// ParseOperation parses a leaf strictly: at most MaxOperationSize bytes,
// no duplicate members, and in canonical (JCS) form, so that every
// operation has exactly one leaf.
func ParseOperation(leaf []byte) (*Operation, error) {
	if len(leaf) > MaxOperationSize {
		return nil, errorf(CodeTooLarge, "operation is %d bytes, limit %d", len(leaf), MaxOperationSize)
	}
	v, err := jose.ParseJSON(leaf, 32)
	if err != nil {
		// JSON that only the strict parser refuses (a repeated member,
		// invalid UTF-8, nesting beyond the limit) is not I-JSON (RFC 7493),
		// so it has no JCS form: the same refusal as non-canonical bytes.
		if json.Valid(leaf) {
			return nil, &Error{Code: CodeNotCanonical, Description: "operation is not I-JSON: " + err.Error(), Err: err}
		}
		return nil, &Error{Code: CodeInvalidOperation, Description: err.Error(), Err: err}
	}
	canon, err := jcs.Append(make([]byte, 0, len(leaf)), v)
	if err != nil || !bytes.Equal(canon, leaf) {
		// Spec: docs/did-method-tong.md §2: "that form is the operation's
		// leaf in the log, and the only accepted serialization".
		return nil, errorf(CodeNotCanonical, "operation is not in canonical JCS form")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(CodeInvalidOperation, "operation is not a JSON object")
	}
	op, err := operationFrom(m)
	if err != nil {
		return nil, &Error{Code: CodeInvalidOperation, Description: err.Error(), Err: err}
	}
	// The signing input is the same parse without the proof.
	if op.Proof != nil {
		delete(m, "proof")
		if op.input, err = jcs.Append(make([]byte, 0, len(leaf)), m); err != nil {
			return nil, errorf(CodeInvalidOperation, "cannot canonicalize")
		}
	}
	return op, nil
}

// operationFrom reads an operation from its strict parse: every member
// known and of its type (no nulls), seq an integer, the document an
// object (kept in its canonical form, which is how the leaf has it).
func operationFrom(m map[string]any) (*Operation, error) {
	op := new(Operation)
	return op, members(m, func(k string, v any) (err error) {
		switch k {
		case "type":
			err = str(v, &op.Type)
		case "did":
			err = str(v, &op.DID)
		case "seq":
			n, ok := v.(json.Number)
			if op.Seq, err = strconv.ParseInt(string(n), 10, 64); !ok || err != nil {
				err = errors.New("must be an integer")
			}
		case "prev":
			err = str(v, &op.Prev)
		case "versionTime":
			err = str(v, &op.VersionTime)
		case "updateKeys":
			op.UpdateKeys, err = strs(v)
		case "nextKeyHashes":
			op.NextKeyHashes, err = strs(v)
		case "document":
			if _, ok := v.(map[string]any); !ok {
				err = errors.New("must be an object")
			} else {
				op.Document, err = jcs.Append(nil, v)
			}
		case "accreditation":
			op.Accreditation, err = accreditationFrom(v)
		case "revokes":
			err = str(v, &op.Revokes)
		case "proof":
			op.Proof, err = proofFrom(v)
		default:
			err = errors.New("unknown member")
		}
		return err
	})
}

func str(v any, dst *string) error {
	s, ok := v.(string)
	if !ok {
		return errors.New("must be a string")
	}
	*dst = s
	return nil
}

func strs(v any) ([]string, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, errors.New("must be an array of strings")
	}
	out := make([]string, len(a))
	for i, el := range a {
		if err := str(el, &out[i]); err != nil {
			return nil, errors.New("must be an array of strings")
		}
	}
	return out, nil
}

func accreditationFrom(v any) (*Accreditation, error) {
	a := new(Accreditation)
	return a, members(v, func(k string, v any) (err error) {
		switch k {
		case "subject":
			err = str(v, &a.Subject)
		case "role":
			err = str(v, &a.Role)
		case "scope":
			a.Scope, err = strs(v)
		case "validFrom":
			err = str(v, &a.ValidFrom)
		case "validUntil":
			err = str(v, &a.ValidUntil)
		case "credentialIssuer":
			err = str(v, &a.CredentialIssuer)
		default:
			err = errors.New("unknown member")
		}
		return err
	})
}

func proofFrom(v any) (*Proof, error) {
	p := new(Proof)
	return p, members(v, func(k string, v any) (err error) {
		switch k {
		case "type":
			err = str(v, &p.Type)
		case "verificationMethod":
			err = str(v, &p.VerificationMethod)
		case "proofValue":
			err = str(v, &p.ProofValue)
		default:
			err = errors.New("unknown member")
		}
		return err
	})
}

// members calls read for each member of the object v, naming the member
// in the first error.
func members(v any, read func(k string, v any) error) error {
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("must be an object")
	}
	for k, v := range m {
		if err := read(k, v); err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
	}
	return nil
}

// NewGenesis builds and signs the create operation of a new DID. doc is
// the DID document with SCIDPlaceholder wherever the DID goes (use
// PlaceholderDID); updateKeys sign the next operation; nextKeyHashes, if
// any, commit to the keys after that. The returned operation's DID is
// final.
func NewGenesis(signer crypto.Signer, doc *did.Document, updateKeys []crypto.PublicKey, nextKeyHashes []string, at time.Time) (*Operation, error) {
	mks, err := multikeys(updateKeys)
	if err != nil {
		return nil, err
	}
	rawDoc, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	op := &Operation{
		Type: OpCreate, DID: PlaceholderDID, Seq: 1, VersionTime: FormatTime(at),
		UpdateKeys: mks, NextKeyHashes: nextKeyHashes, Document: rawDoc,
	}
	canon, err := op.Canonical()
	if err != nil {
		return nil, err
	}
	scid := multihash(canon)
	fixed := bytes.ReplaceAll(canon, []byte(SCIDPlaceholder), []byte(scid))
	var out Operation
	if err := json.Unmarshal(fixed, &out); err != nil {
		return nil, err
	}
	if err := out.Sign(signer); err != nil {
		return nil, err
	}
	return &out, nil
}

// PlaceholderDID is the DID inside a genesis operation before its SCID is
// known.
const PlaceholderDID = Prefix + SCIDPlaceholder

// checkSCID recomputes a genesis operation's SCID.
// Spec: docs/did-method-tong.md §SCID.
func checkSCID(op *Operation) error {
	scid, ok := strings.CutPrefix(op.DID, Prefix)
	if !ok || scid == "" {
		return errorf(CodeInvalidDID, "%q is not a did:tong", op.DID)
	}
	canon, err := op.signingInput()
	if err != nil {
		return errorf(CodeInvalidOperation, "cannot canonicalize")
	}
	if bytes.Contains(canon, []byte(SCIDPlaceholder)) {
		return errorf(CodeInvalidSCID, "the genesis already contains the SCID placeholder")
	}
	// Re-canonicalize after restoring the placeholder: JCS would order
	// members differently if the SCID sat in a member name.
	again, err := jcs.Transform(bytes.ReplaceAll(canon, []byte(scid), []byte(SCIDPlaceholder)))
	if err != nil || multihash(again) != scid {
		return errorf(CodeInvalidSCID, "the SCID does not match the genesis operation")
	}
	return nil
}

func multikeys(keys []crypto.PublicKey) ([]string, error) {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		mk, err := did.EncodeMultikey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, mk)
	}
	slices.Sort(out)
	return out, nil
}

// Next builds the next operation after head: typ is OpUpdate,
// OpDeactivate, OpAccredit or OpRevoke. The caller sets the payload
// (Document, UpdateKeys, NextKeyHashes, Accreditation, Revokes) and signs.
// Unless changed, the update keys and commitments carry over.
func Next(head *State, typ string, at time.Time) *Operation {
	return &Operation{
		Type: typ, DID: head.DID, Seq: head.Seq + 1, Prev: head.EntryHash, VersionTime: FormatTime(at),
		UpdateKeys: slices.Clone(head.UpdateKeys), NextKeyHashes: slices.Clone(head.NextKeyHashes),
	}
}

// MultikeysOf encodes public keys as sorted Multikeys.
func MultikeysOf(keys ...crypto.PublicKey) ([]string, error) { return multikeys(keys) }

// KeyHashesOf returns the pre-rotation commitments to keys.
func KeyHashesOf(keys ...crypto.PublicKey) ([]string, error) {
	mks, err := multikeys(keys)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(mks))
	for i, mk := range mks {
		out[i] = KeyHash(mk)
	}
	return out, nil
}
