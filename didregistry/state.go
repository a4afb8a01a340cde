package didregistry

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/fault"
)

// Code is a stable reason the registry refused an operation or a lookup.
type Code string

// Codes.
const (
	CodeInvalidOperation Code = "invalid_operation"
	CodeTooLarge         Code = "operation_too_large"
	CodeInvalidDID       Code = "invalid_did"
	CodeInvalidSCID      Code = "invalid_scid"
	CodeInvalidSignature Code = "invalid_signature"
	CodeUnauthorized     Code = "unauthorized_key"     // not a current update key
	CodePreRotation      Code = "prerotation_mismatch" // keys do not match nextKeyHashes
	CodeConflict         Code = "conflict"             // not the successor of the current head
	CodeTime             Code = "invalid_version_time"
	CodeDeactivated      Code = "deactivated"
	CodeNotFound         Code = "not_found"
	CodeNotAuthority     Code = "not_trust_authority"
	CodeExists           Code = "already_exists"
	CodeUnavailable      Code = "unavailable"
	// CodeNotCanonical: the operation's bytes are not its one accepted
	// form (JCS, I-JSON: no repeated member, valid UTF-8).
	CodeNotCanonical Code = "non_canonical_operation"
	// CodeIssuerURLTaken: the document names an issuer URL that the trust
	// authority bound to another DID.
	CodeIssuerURLTaken Code = "issuer_url_taken"
)

// Error is a refusal with a stable code. Description is safe to show. Its
// message is "didregistry: code: description: cause", and errors.Is(err,
// ErrConflict) and the other sentinels match on the code.
type Error = fault.Error[Code, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "didregistry".
func (kind) Prefix() string { return "didregistry" }

// Sentinels for the conditions callers branch on.
var (
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrConflict    = &Error{Code: CodeConflict}
	ErrDeactivated = &Error{Code: CodeDeactivated}
)

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, kind](err) }

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// State is a DID's current head: what its next operation is checked
// against.
type State struct {
	DID           string
	Seq           int64
	EntryHash     string
	VersionTime   time.Time
	Created       time.Time
	UpdateKeys    []string
	NextKeyHashes []string
	Document      json.RawMessage
	Deactivated   bool
	// LogIndex is the log index of the head operation.
	LogIndex int64
}

// VersionID is the head's versionId.
func (s *State) VersionID() string { return VersionID(s.Seq, s.EntryHash) }

// Rules are the registry-wide parameters of validation.
type Rules struct {
	// TrustAuthority is the DID allowed to accredit, fixed at genesis.
	TrustAuthority string
	// Skew is how far in the future a versionTime may be.
	Skew time.Duration
}

// Validate checks op as the successor of head (nil for a new DID) at time
// now, and returns the new head. It is the whole admission rule set of
// docs/did-method-tong.md §Validation:
//
//   - a genesis has seq 1, no prev, a DID whose SCID matches, a valid
//     document whose id is the DID, update keys, and is signed by one of
//     its own update keys;
//   - a successor names the head (seq+1, prev = head entry hash), has a
//     strictly later versionTime, and is signed by a current update key,
//     or — when the head committed to nextKeyHashes — by one of its own
//     new update keys, each of which must match a commitment;
//   - nothing follows a deactivation;
//   - accreditations come only from the trust authority;
//   - no versionTime lies more than Skew in the future.
func (r Rules) Validate(head *State, op *Operation, leaf []byte, now time.Time) (*State, error) {
	if len(leaf) > MaxOperationSize {
		return nil, errorf(CodeTooLarge, "operation is %d bytes, limit %d", len(leaf), MaxOperationSize)
	}
	skew := r.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	vt, err := time.Parse(time.RFC3339, op.VersionTime)
	if err != nil || FormatTime(vt) != op.VersionTime {
		return nil, errorf(CodeTime, "versionTime %q is not RFC 3339 UTC in whole seconds", op.VersionTime)
	}
	if vt.After(now.Add(skew)) {
		return nil, errorf(CodeTime, "versionTime %s is in the future", op.VersionTime)
	}
	signer := op.checked
	if signer == "" {
		if signer, err = Precheck(op); err != nil {
			return nil, err
		}
	}
	if head == nil {
		return r.genesis(op, leaf, vt, signer)
	}
	if op.DID != head.DID {
		return nil, errorf(CodeInvalidOperation, "operation is for %s, not %s", op.DID, head.DID)
	}
	if head.Deactivated {
		return nil, &Error{Code: CodeDeactivated, Description: head.DID + " is deactivated and accepts no operations"}
	}
	// Spec: docs/did-method-tong.md §Validation rule 2: "Each version has
	// exactly one successor."
	if op.Seq != head.Seq+1 || op.Prev != head.EntryHash {
		return nil, &Error{Code: CodeConflict, Description: fmt.Sprintf("operation names %s, but the head of %s is %s", VersionID(op.Seq-1, op.Prev), head.DID, head.VersionID())}
	}
	if !vt.After(head.VersionTime) {
		return nil, errorf(CodeTime, "versionTime %s is not after %s", op.VersionTime, FormatTime(head.VersionTime))
	}
	if len(head.NextKeyHashes) > 0 {
		// Pre-rotation: the new keys must have been committed to, and one
		// of them signs.
		if len(op.UpdateKeys) == 0 {
			return nil, errorf(CodePreRotation, "pre-rotation is active: the operation must reveal new update keys")
		}
		for _, mk := range op.UpdateKeys {
			if !slices.Contains(head.NextKeyHashes, KeyHash(mk)) {
				return nil, errorf(CodePreRotation, "update key %s was not committed to in nextKeyHashes", mk)
			}
		}
		if !slices.Contains(op.UpdateKeys, signer) {
			return nil, errorf(CodePreRotation, "the operation must be signed by one of its new update keys")
		}
	} else if !slices.Contains(head.UpdateKeys, signer) {
		return nil, errorf(CodeUnauthorized, "signed by a key that is not a current update key of %s", head.DID)
	}
	next := *head
	next.Seq, next.EntryHash, next.VersionTime = op.Seq, EntryHash(leaf), vt
	next.UpdateKeys, next.NextKeyHashes = op.UpdateKeys, op.NextKeyHashes
	switch op.Type {
	case OpUpdate:
		if op.Document == nil && slices.Equal(op.UpdateKeys, head.UpdateKeys) && slices.Equal(op.NextKeyHashes, head.NextKeyHashes) {
			return nil, errorf(CodeInvalidOperation, "an update must change the document or the keys")
		}
		if op.Document != nil {
			next.Document = op.Document
		}
		if len(op.UpdateKeys) == 0 {
			return nil, errorf(CodeInvalidOperation, "an update must leave at least one update key")
		}
	case OpDeactivate:
		if op.Document != nil || op.Accreditation != nil {
			return nil, errorf(CodeInvalidOperation, "a deactivation carries no document")
		}
		next.Deactivated = true
	case OpAccredit, OpRevoke:
		if r.TrustAuthority == "" || op.DID != r.TrustAuthority {
			return nil, errorf(CodeNotAuthority, "only the trust authority %s may accredit", r.TrustAuthority)
		}
		if op.Document != nil {
			return nil, errorf(CodeInvalidOperation, "an accreditation carries no document")
		}
		if err := checkAccreditation(op); err != nil {
			return nil, err
		}
	default:
		return nil, errorf(CodeInvalidOperation, "unknown or misplaced operation type %q", op.Type)
	}
	return &next, nil
}

// Precheck runs the checks that need no state — the proof's signature,
// key encodings, the document's validity, a genesis's SCID — and remembers
// that they passed, so Validate (which the sequencer runs one operation at
// a time) only does the checks against the head. Precheck may run
// concurrently for different operations. It returns the signing Multikey.
func Precheck(op *Operation) (string, error) {
	if len(op.UpdateKeys) > MaxKeys || len(op.NextKeyHashes) > MaxKeys {
		return "", errorf(CodeInvalidOperation, "at most %d update keys and key hashes", MaxKeys)
	}
	// Decoding a compressed P-256 key costs a square root: the proof's key
	// is usually one of the update keys, so each is decoded once.
	decoded := make(map[string]crypto.PublicKey, len(op.UpdateKeys))
	for _, mk := range op.UpdateKeys {
		pub, err := did.DecodeMultikey(mk)
		if err != nil {
			return "", errorf(CodeInvalidOperation, "update key %q is not a Multikey", mk)
		}
		decoded[mk] = pub
	}
	signer, err := op.verifyProof(decoded)
	if err != nil {
		return "", err
	}
	if op.Type == OpCreate {
		if err := checkSCID(op); err != nil {
			return "", err
		}
	}
	if op.Document != nil {
		if err := checkDocument(op.Document, op.DID); err != nil {
			return "", err
		}
	} else if op.Type == OpCreate {
		return "", errorf(CodeInvalidOperation, "a create needs a document")
	}
	op.checked = signer
	return signer, nil
}

func (r Rules) genesis(op *Operation, leaf []byte, vt time.Time, signer string) (*State, error) {
	if op.Type != OpCreate {
		return nil, &Error{Code: CodeNotFound, Description: op.DID + " does not exist"}
	}
	if op.Seq != 1 || op.Prev != "" {
		return nil, errorf(CodeInvalidOperation, "a create has seq 1 and no prev")
	}
	if len(op.UpdateKeys) == 0 {
		return nil, errorf(CodeInvalidOperation, "a create needs update keys")
	}
	if !slices.Contains(op.UpdateKeys, signer) {
		return nil, errorf(CodeUnauthorized, "a create must be signed by one of its update keys")
	}
	if op.Accreditation != nil || op.Revokes != "" {
		return nil, errorf(CodeInvalidOperation, "a create carries no accreditation")
	}
	return &State{
		DID: op.DID, Seq: 1, EntryHash: EntryHash(leaf), VersionTime: vt, Created: vt,
		UpdateKeys: op.UpdateKeys, NextKeyHashes: op.NextKeyHashes, Document: op.Document,
	}, nil
}

func checkDocument(raw json.RawMessage, id string) error {
	if raw == nil {
		return errorf(CodeInvalidOperation, "the operation needs a document")
	}
	doc, err := did.ParseDocument(raw)
	if err != nil {
		return &Error{Code: CodeInvalidOperation, Description: "document: " + err.Error(), Err: err}
	}
	if doc.ID != id {
		return errorf(CodeInvalidOperation, "document id %q is not %q", doc.ID, id)
	}
	// Each issuer URL costs the sequencer a lookup (§Validation rule 9).
	if n := len(IssuerURLs(raw)); n > MaxIssuerURLs {
		return errorf(CodeInvalidOperation, "the document names %d issuer URLs, limit %d", n, MaxIssuerURLs)
	}
	return nil
}

func checkAccreditation(op *Operation) error {
	if op.Type == OpRevoke {
		if op.Accreditation != nil {
			return errorf(CodeInvalidOperation, "a revocation names the accreditation in revokes only")
		}
		if _, _, ok := ParseVersionID(op.Revokes); !ok {
			return errorf(CodeInvalidOperation, "revokes %q is not a versionId", op.Revokes)
		}
		return nil
	}
	a := op.Accreditation
	if a == nil || op.Revokes != "" {
		return errorf(CodeInvalidOperation, "an accreditation needs an accreditation object")
	}
	if _, err := did.Parse(a.Subject); err != nil {
		return errorf(CodeInvalidOperation, "subject %q is not a DID", a.Subject)
	}
	if a.Role != RoleIssuer && a.Role != RoleVerifier {
		return errorf(CodeInvalidOperation, "role %q is not issuer or verifier", a.Role)
	}
	if len(a.Scope) == 0 || len(a.Scope) > MaxScope {
		return errorf(CodeInvalidOperation, "scope needs 1 to %d entries", MaxScope)
	}
	if a.CredentialIssuer != "" {
		if a.Role != RoleIssuer {
			return errorf(CodeInvalidOperation, "only an issuer accreditation binds a credentialIssuer")
		}
		if !validIssuerURL(a.CredentialIssuer) {
			return errorf(CodeInvalidOperation, "credentialIssuer %q is not an http(s) URL without query, fragment or trailing slash", a.CredentialIssuer)
		}
	}
	from, err := time.Parse(time.RFC3339, a.ValidFrom)
	if err != nil {
		return errorf(CodeInvalidOperation, "validFrom is not RFC 3339")
	}
	if a.ValidUntil != "" {
		until, err := time.Parse(time.RFC3339, a.ValidUntil)
		if err != nil || !until.After(from) {
			return errorf(CodeInvalidOperation, "validUntil must be RFC 3339 and after validFrom")
		}
	}
	return nil
}

func parseDERSig(der []byte, r, s *big.Int) error {
	var inner cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() || !inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) || !inner.Empty() {
		return errors.New("didregistry: malformed ECDSA signature from signer")
	}
	return nil
}
