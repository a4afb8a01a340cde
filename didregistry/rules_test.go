package didregistry_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
)

// t0 is the versionTime of every test genesis; later operations add
// minutes to it.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// key returns a deterministic Ed25519 key (Ed25519 signatures are
// deterministic too, so operations are byte-for-byte repeatable).
func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// document is a DID document for id with one verification method and,
// if issuerURL is set, a credential issuer service.
func document(t *testing.T, id string, k crypto.Signer, issuerURL string) *did.Document {
	t.Helper()
	mk, err := did.EncodeMultikey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	d := &did.Document{Context: []any{did.ContextV1}, ID: id,
		VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}},
		AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}}}
	if issuerURL != "" {
		d.Service = []did.Service{{ID: id + "#oid4vci", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: issuerURL}}
	}
	return d
}

func rawDoc(t *testing.T, d *did.Document) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// genesis makes the create operation of a DID controlled by k.
func genesis(t *testing.T, k crypto.Signer, nextKeyHashes []string, issuerURL string) *didregistry.Operation {
	t.Helper()
	op, err := didregistry.NewGenesis(k, document(t, didregistry.PlaceholderDID, k, issuerURL), []crypto.PublicKey{k.Public()}, nextKeyHashes, t0)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// genesisWith builds a genesis as NewGenesis does, but lets mod change
// it before its SCID is computed, so that a rule other than the SCID's is
// what refuses it; signer signs it.
func genesisWith(t *testing.T, k, signer crypto.Signer, mod func(op *didregistry.Operation)) *didregistry.Operation {
	t.Helper()
	mks, _ := didregistry.MultikeysOf(k.Public())
	op := &didregistry.Operation{Type: didregistry.OpCreate, DID: didregistry.PlaceholderDID, Seq: 1, VersionTime: didregistry.FormatTime(t0),
		UpdateKeys: mks, Document: rawDoc(t, document(t, didregistry.PlaceholderDID, k, ""))}
	mod(op)
	canon, err := op.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	scid := didregistry.EntryHash(canon) // the SCID is the same multihash
	var out didregistry.Operation
	if err := json.Unmarshal(bytes.ReplaceAll(canon, []byte(didregistry.SCIDPlaceholder), []byte(scid)), &out); err != nil {
		t.Fatal(err)
	}
	return sign(t, &out, signer)
}

// leaf is op's canonical form, parsed back as the log would hold it.
func leaf(t *testing.T, op *didregistry.Operation) ([]byte, *didregistry.Operation) {
	t.Helper()
	b, err := op.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := didregistry.ParseOperation(b)
	if err != nil {
		t.Fatalf("ParseOperation(%s) = %v", b, err)
	}
	return b, parsed
}

// apply validates op after head at t0 + one hour.
func apply(t *testing.T, rules didregistry.Rules, head *didregistry.State, op *didregistry.Operation) (*didregistry.State, error) {
	t.Helper()
	b, parsed := leaf(t, op)
	return rules.Validate(head, parsed, b, t0.Add(time.Hour))
}

func mustApply(t *testing.T, rules didregistry.Rules, head *didregistry.State, op *didregistry.Operation) *didregistry.State {
	t.Helper()
	s, err := apply(t, rules, head, op)
	if err != nil {
		t.Fatalf("Validate(%s #%d) = %v", op.Type, op.Seq, err)
	}
	return s
}

func sign(t *testing.T, op *didregistry.Operation, k crypto.Signer) *didregistry.Operation {
	t.Helper()
	if err := op.Sign(k); err != nil {
		t.Fatal(err)
	}
	return op
}

func TestGenesis(t *testing.T) {
	t.Parallel()
	k := key(1)
	op := genesis(t, k, nil, "")
	if !strings.HasPrefix(op.DID, didregistry.Prefix+"z") || strings.Contains(op.DID, didregistry.SCIDPlaceholder) {
		t.Fatalf("NewGenesis DID = %q, want did:tong:z<SCID>", op.DID)
	}
	b, parsed := leaf(t, op)
	s, err := didregistry.Rules{}.Validate(nil, parsed, b, t0)
	if err != nil {
		t.Fatalf("Validate(genesis) = %v", err)
	}
	if s.DID != op.DID || s.Seq != 1 || s.EntryHash != didregistry.EntryHash(b) || !s.Created.Equal(t0) || s.Deactivated {
		t.Errorf("genesis state = %+v", s)
	}
	if s.VersionID() != "1-"+didregistry.EntryHash(b) {
		t.Errorf("VersionID() = %q", s.VersionID())
	}
	// The same key and document at the same time give the same DID.
	if again := genesis(t, k, nil, ""); again.DID != op.DID {
		t.Errorf("NewGenesis is not deterministic: %s, then %s", op.DID, again.DID)
	}
}

func TestGenesisRules(t *testing.T) {
	t.Parallel()
	k, other := key(1), key(2)
	otherMK, _ := didregistry.MultikeysOf(other.Public())
	for _, tc := range []struct {
		name string
		// pre changes the genesis before its SCID is computed; post after
		// it is signed (so the SCID or the signature no longer match).
		pre, post func(op *didregistry.Operation)
		signer    crypto.Signer
		now       time.Time
		want      didregistry.Code
	}{
		{name: "valid"},
		{name: "seq 2", pre: func(op *didregistry.Operation) { op.Seq = 2 }, want: didregistry.CodeInvalidOperation},
		{name: "has prev", pre: func(op *didregistry.Operation) { op.Prev = "zabc" }, want: didregistry.CodeInvalidOperation},
		{name: "not a create", pre: func(op *didregistry.Operation) { op.Type = didregistry.OpUpdate }, want: didregistry.CodeNotFound},
		{name: "signed by a key that is not its update key", signer: other, want: didregistry.CodeUnauthorized},
		{name: "no update keys", pre: func(op *didregistry.Operation) { op.UpdateKeys = nil }, want: didregistry.CodeInvalidOperation},
		{name: "no document", pre: func(op *didregistry.Operation) { op.Document = nil }, want: didregistry.CodeInvalidOperation},
		{name: "carries an accreditation", pre: func(op *didregistry.Operation) {
			op.Accreditation = &didregistry.Accreditation{Subject: "did:key:z6Mk", Role: didregistry.RoleIssuer}
		}, want: didregistry.CodeInvalidOperation},
		{name: "document of another DID", pre: func(op *didregistry.Operation) {
			op.Document = rawDoc(t, document(t, "did:tong:zOther", k, ""))
		}, want: didregistry.CodeInvalidOperation},
		{name: "update key not a Multikey", pre: func(op *didregistry.Operation) { op.UpdateKeys = []string{"znope"} }, want: didregistry.CodeInvalidOperation},
		{name: "too many keys", pre: func(op *didregistry.Operation) {
			for range didregistry.MaxKeys + 1 {
				op.NextKeyHashes = append(op.NextKeyHashes, didregistry.KeyHash(otherMK[0]))
			}
		}, want: didregistry.CodeInvalidOperation},
		{name: "SCID does not match", post: func(op *didregistry.Operation) {
			op.VersionTime = didregistry.FormatTime(t0.Add(time.Second))
			if err := op.Sign(k); err != nil {
				t.Fatal(err)
			}
		}, want: didregistry.CodeInvalidSCID},
		{name: "tampered after signing", post: func(op *didregistry.Operation) { op.UpdateKeys = append(op.UpdateKeys, otherMK...) }, want: didregistry.CodeInvalidSignature},
		{name: "unknown proof type", post: func(op *didregistry.Operation) { op.Proof.Type = "Ed25519Signature2020" }, want: didregistry.CodeInvalidSignature},
		{name: "proofValue not base64url", post: func(op *didregistry.Operation) { op.Proof.ProofValue = "!!" }, want: didregistry.CodeInvalidSignature},
		{name: "proof key not a Multikey", post: func(op *didregistry.Operation) { op.Proof.VerificationMethod = "zQ3nope" }, want: didregistry.CodeInvalidSignature},
		{name: "no proof", post: func(op *didregistry.Operation) { op.Proof = nil }, want: didregistry.CodeInvalidSignature},
		{name: "versionTime in the future", now: t0.Add(-time.Hour), want: didregistry.CodeTime},
		{name: "versionTime not whole seconds", post: func(op *didregistry.Operation) { op.VersionTime = "2026-03-01T09:00:00.5Z" }, want: didregistry.CodeTime},
		{name: "versionTime not UTC", post: func(op *didregistry.Operation) { op.VersionTime = "2026-03-01T10:00:00+01:00" }, want: didregistry.CodeTime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			signer := tc.signer
			if signer == nil {
				signer = k
			}
			pre := tc.pre
			if pre == nil {
				pre = func(*didregistry.Operation) {}
			}
			op := genesisWith(t, k, signer, pre)
			if tc.post != nil {
				tc.post(op)
			}
			now := tc.now
			if now.IsZero() {
				now = t0.Add(time.Hour)
			}
			b, err := op.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := didregistry.ParseOperation(b)
			if err == nil {
				_, err = didregistry.Rules{}.Validate(nil, parsed, b, now)
			}
			if got := didregistry.CodeOf(err); got != tc.want {
				t.Errorf("Validate(genesis: %s) = %v, want code %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestDocumentRules(t *testing.T) {
	t.Parallel()
	k := key(1)
	for _, tc := range []struct {
		name string
		doc  func(id string) *did.Document
		want didregistry.Code
	}{
		{"id is another DID", func(string) *did.Document { return document(t, "did:tong:zOther", k, "") }, didregistry.CodeInvalidOperation},
		{"not a DID document", func(id string) *did.Document { d := document(t, id, k, ""); d.ID = "not a did"; return d }, didregistry.CodeInvalidOperation},
		{"too many issuer URLs", func(id string) *did.Document {
			d := document(t, id, k, "")
			for i := range didregistry.MaxIssuerURLs + 1 {
				d.Service = append(d.Service, did.Service{ID: id + "#s" + string(rune('a'+i)), Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: "https://issuer.example/" + string(rune('a'+i))})
			}
			return d
		}, didregistry.CodeInvalidOperation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := genesis(t, k, nil, "")
			head := mustApply(t, didregistry.Rules{}, nil, g)
			op := didregistry.Next(head, didregistry.OpUpdate, t0.Add(time.Minute))
			op.Document = rawDoc(t, tc.doc(head.DID))
			_, err := apply(t, didregistry.Rules{}, head, sign(t, op, k))
			if got := didregistry.CodeOf(err); got != tc.want {
				t.Errorf("Validate(update: %s) = %v, want %s", tc.name, err, tc.want)
			}
		})
	}
}

func TestSuccessorRules(t *testing.T) {
	t.Parallel()
	k, other := key(1), key(2)
	otherMK, _ := didregistry.MultikeysOf(other.Public())
	g := genesis(t, k, nil, "")
	head := mustApply(t, didregistry.Rules{}, nil, g)
	newDoc := rawDoc(t, document(t, head.DID, other, "https://issuer.example"))
	for _, tc := range []struct {
		name   string
		typ    string
		at     time.Time
		mod    func(op *didregistry.Operation)
		signer crypto.Signer
		want   didregistry.Code
	}{
		{name: "update the document", typ: didregistry.OpUpdate, mod: func(op *didregistry.Operation) { op.Document = newDoc }},
		{name: "rotate the update keys", typ: didregistry.OpUpdate, mod: func(op *didregistry.Operation) { op.UpdateKeys = otherMK }},
		{name: "deactivate", typ: didregistry.OpDeactivate},
		{name: "an update that changes nothing", typ: didregistry.OpUpdate, want: didregistry.CodeInvalidOperation},
		{name: "an update that leaves no update key", typ: didregistry.OpUpdate, mod: func(op *didregistry.Operation) { op.UpdateKeys = nil; op.Document = newDoc }, want: didregistry.CodeInvalidOperation},
		{name: "signed by a key that is not an update key", typ: didregistry.OpUpdate, signer: other, mod: func(op *didregistry.Operation) { op.Document = newDoc }, want: didregistry.CodeUnauthorized},
		{name: "wrong seq", typ: didregistry.OpUpdate, mod: func(op *didregistry.Operation) { op.Seq = 3; op.Document = newDoc }, want: didregistry.CodeConflict},
		{name: "wrong prev", typ: didregistry.OpUpdate, mod: func(op *didregistry.Operation) { op.Prev = didregistry.EntryHash([]byte("x")); op.Document = newDoc }, want: didregistry.CodeConflict},
		{name: "versionTime not after the head's", typ: didregistry.OpUpdate, at: t0, mod: func(op *didregistry.Operation) { op.Document = newDoc }, want: didregistry.CodeTime},
		{name: "for another DID", typ: didregistry.OpUpdate, mod: func(op *didregistry.Operation) {
			op.DID = "did:tong:zOther"
			op.Document = nil
			op.UpdateKeys = otherMK
		}, want: didregistry.CodeInvalidOperation},
		{name: "a deactivation with a document", typ: didregistry.OpDeactivate, mod: func(op *didregistry.Operation) { op.Document = newDoc }, want: didregistry.CodeInvalidOperation},
		// A create is always checked as a genesis: its SCID cannot match.
		{name: "a second create", typ: didregistry.OpCreate, mod: func(op *didregistry.Operation) { op.Document = nil }, want: didregistry.CodeInvalidSCID},
		{name: "an unknown type", typ: "merge", want: didregistry.CodeInvalidOperation},
		{name: "an accreditation by a DID that is not the trust authority", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) {
			op.Accreditation = &didregistry.Accreditation{Subject: "did:tong:zOther", Role: didregistry.RoleIssuer, Scope: []string{"urn:x"}, ValidFrom: didregistry.FormatTime(t0)}
		}, want: didregistry.CodeNotAuthority},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := tc.at
			if at.IsZero() {
				at = t0.Add(time.Minute)
			}
			op := didregistry.Next(head, tc.typ, at)
			if tc.mod != nil {
				tc.mod(op)
			}
			signer := tc.signer
			if signer == nil {
				signer = k
			}
			next, err := apply(t, didregistry.Rules{}, head, sign(t, op, signer))
			if got := didregistry.CodeOf(err); got != tc.want {
				t.Fatalf("Validate(%s) = %v, want code %q", tc.name, err, tc.want)
			}
			if err != nil {
				return
			}
			if next.Seq != 2 || next.Created != head.Created || !next.VersionTime.Equal(at) {
				t.Errorf("state after %s = %+v", tc.name, next)
			}
			if next.Deactivated != (tc.typ == didregistry.OpDeactivate) {
				t.Errorf("Deactivated = %v after %s", next.Deactivated, tc.typ)
			}
		})
	}
}

// TestReplayedOperation: an operation accepted once is refused the
// second time (the head has moved on), and nothing follows a
// deactivation.
func TestReplayedOperation(t *testing.T) {
	t.Parallel()
	k, other := key(1), key(2)
	head := mustApply(t, didregistry.Rules{}, nil, genesis(t, k, nil, ""))
	up := didregistry.Next(head, didregistry.OpUpdate, t0.Add(time.Minute))
	up.Document = rawDoc(t, document(t, head.DID, other, ""))
	sign(t, up, k)
	h2 := mustApply(t, didregistry.Rules{}, head, up)
	if _, err := apply(t, didregistry.Rules{}, h2, up); !errors.Is(err, didregistry.ErrConflict) {
		t.Errorf("Validate(the same update again) = %v, want ErrConflict", err)
	}
	// The genesis replayed onto an existing DID is not its successor either.
	if _, err := apply(t, didregistry.Rules{}, h2, genesis(t, k, nil, "")); !errors.Is(err, didregistry.ErrConflict) {
		t.Errorf("Validate(the genesis again) = %v, want ErrConflict", err)
	}
	deact := sign(t, didregistry.Next(h2, didregistry.OpDeactivate, t0.Add(2*time.Minute)), k)
	h3 := mustApply(t, didregistry.Rules{}, h2, deact)
	after := didregistry.Next(h3, didregistry.OpUpdate, t0.Add(3*time.Minute))
	after.Document = rawDoc(t, document(t, head.DID, k, ""))
	if _, err := apply(t, didregistry.Rules{}, h3, sign(t, after, k)); !errors.Is(err, didregistry.ErrDeactivated) {
		t.Errorf("Validate(update after deactivation) = %v, want ErrDeactivated", err)
	}
}

func TestPreRotation(t *testing.T) {
	t.Parallel()
	k, next, stranger := key(1), key(2), key(3)
	hashes, err := didregistry.KeyHashesOf(next.Public())
	if err != nil {
		t.Fatal(err)
	}
	head := mustApply(t, didregistry.Rules{}, nil, genesis(t, k, hashes, ""))
	if len(head.NextKeyHashes) != 1 {
		t.Fatalf("genesis NextKeyHashes = %v", head.NextKeyHashes)
	}
	nextMK, _ := didregistry.MultikeysOf(next.Public())
	strangerMK, _ := didregistry.MultikeysOf(stranger.Public())
	for _, tc := range []struct {
		name   string
		keys   []string
		signer crypto.Signer
		want   didregistry.Code
	}{
		{"the committed key, signed by it", nextMK, next, ""},
		{"the committed key, signed by the old key", nextMK, k, didregistry.CodePreRotation},
		{"a key that was not committed to", strangerMK, stranger, didregistry.CodePreRotation},
		{"no new keys (keys carried over)", nil, k, didregistry.CodePreRotation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := didregistry.Next(head, didregistry.OpUpdate, t0.Add(time.Minute))
			op.UpdateKeys, op.NextKeyHashes = tc.keys, nil
			if tc.keys == nil {
				op.UpdateKeys = nil
				op.Document = rawDoc(t, document(t, head.DID, k, ""))
			}
			s, err := apply(t, didregistry.Rules{}, head, sign(t, op, tc.signer))
			if got := didregistry.CodeOf(err); got != tc.want {
				t.Fatalf("Validate(%s) = %v, want %q", tc.name, err, tc.want)
			}
			if err == nil && (len(s.NextKeyHashes) != 0 || s.UpdateKeys[0] != nextMK[0]) {
				t.Errorf("state after rotation = keys %v, hashes %v", s.UpdateKeys, s.NextKeyHashes)
			}
		})
	}
}

func TestAccreditationRules(t *testing.T) {
	t.Parallel()
	authKey := key(9)
	auth := mustApply(t, didregistry.Rules{}, nil, genesis(t, authKey, nil, ""))
	rules := didregistry.Rules{TrustAuthority: auth.DID}
	subject := genesis(t, key(1), nil, "").DID
	from := didregistry.FormatTime(t0)
	valid := func() *didregistry.Accreditation {
		return &didregistry.Accreditation{Subject: subject, Role: didregistry.RoleIssuer, Scope: []string{"urn:tong:citizen-identity"}, ValidFrom: from,
			ValidUntil: didregistry.FormatTime(t0.Add(24 * time.Hour)), CredentialIssuer: "https://psb.example/issuers/psb"}
	}
	for _, tc := range []struct {
		name string
		typ  string
		mod  func(op *didregistry.Operation)
		want didregistry.Code
	}{
		{name: "issuer accreditation", typ: didregistry.OpAccredit},
		{name: "verifier accreditation", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) {
			op.Accreditation.Role, op.Accreditation.CredentialIssuer = didregistry.RoleVerifier, ""
		}},
		{name: "open-ended", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.ValidUntil = "" }},
		{name: "revocation", typ: didregistry.OpRevoke, mod: func(op *didregistry.Operation) { op.Accreditation, op.Revokes = nil, auth.VersionID() }},
		{name: "subject not a DID", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.Subject = "psb" }, want: didregistry.CodeInvalidOperation},
		{name: "unknown role", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.Role = "auditor" }, want: didregistry.CodeInvalidOperation},
		{name: "empty scope", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.Scope = []string{} }, want: didregistry.CodeInvalidOperation},
		{name: "scope too long", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) {
			op.Accreditation.Scope = make([]string, didregistry.MaxScope+1)
		}, want: didregistry.CodeInvalidOperation},
		{name: "validFrom not RFC 3339", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.ValidFrom = "March 1st" }, want: didregistry.CodeInvalidOperation},
		{name: "window ends before it starts", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) {
			op.Accreditation.ValidUntil = didregistry.FormatTime(t0.Add(-time.Hour))
		}, want: didregistry.CodeInvalidOperation},
		{name: "window of no length", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.ValidUntil = from }, want: didregistry.CodeInvalidOperation},
		{name: "credentialIssuer on a verifier", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.Role = didregistry.RoleVerifier }, want: didregistry.CodeInvalidOperation},
		{name: "credentialIssuer with a trailing slash", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.CredentialIssuer += "/" }, want: didregistry.CodeInvalidOperation},
		{name: "credentialIssuer with a query", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.CredentialIssuer += "?a=b" }, want: didregistry.CodeInvalidOperation},
		{name: "credentialIssuer not http", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation.CredentialIssuer = "ftp://psb.example" }, want: didregistry.CodeInvalidOperation},
		{name: "accreditation with a document", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Document = rawDoc(t, document(t, auth.DID, authKey, "")) }, want: didregistry.CodeInvalidOperation},
		{name: "accreditation without its object", typ: didregistry.OpAccredit, mod: func(op *didregistry.Operation) { op.Accreditation = nil }, want: didregistry.CodeInvalidOperation},
		{name: "revocation of something that is not a versionId", typ: didregistry.OpRevoke, mod: func(op *didregistry.Operation) { op.Accreditation, op.Revokes = nil, "latest" }, want: didregistry.CodeInvalidOperation},
		{name: "revocation carrying an accreditation", typ: didregistry.OpRevoke, mod: func(op *didregistry.Operation) { op.Revokes = auth.VersionID() }, want: didregistry.CodeInvalidOperation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := didregistry.Next(auth, tc.typ, t0.Add(time.Minute))
			op.Accreditation = valid()
			if tc.mod != nil {
				tc.mod(op)
			}
			s, err := apply(t, rules, auth, sign(t, op, authKey))
			if got := didregistry.CodeOf(err); got != tc.want {
				t.Fatalf("Validate(%s) = %v, want %q", tc.name, err, tc.want)
			}
			if err != nil {
				return
			}
			if s.Seq != 2 || s.Document == nil {
				t.Errorf("an accreditation must leave the authority's document as it was: %+v", s)
			}
			_, parsed := leaf(t, op)
			u, subj := parsed.BoundIssuer()
			binds := tc.typ == didregistry.OpAccredit && op.Accreditation.Role == didregistry.RoleIssuer
			if binds && (u != "https://psb.example/issuers/psb" || subj != subject) {
				t.Errorf("BoundIssuer() = %q, %q, want the credentialIssuer and the subject", u, subj)
			}
			if !binds && u != "" {
				t.Errorf("BoundIssuer() = %q for %s, want none", u, tc.name)
			}
		})
	}
}

func TestParseOperation(t *testing.T) {
	t.Parallel()
	op := genesis(t, key(1), nil, "")
	good, err := op.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		leaf []byte
		want didregistry.Code
	}{
		{"canonical", good, ""},
		{"with spaces", bytes.Replace(good, []byte(`{"did"`), []byte(`{ "did"`), 1), didregistry.CodeNotCanonical},
		{"members out of order", bytes.Replace(good, []byte(`{"did":`), []byte(`{"zz":1,"did":`), 1), didregistry.CodeNotCanonical},
		{"a repeated member", bytes.Replace(good, []byte(`{"did":`), []byte(`{"did":"x","did":`), 1), didregistry.CodeNotCanonical},
		{"not JSON", []byte(`{"did":`), didregistry.CodeInvalidOperation},
		{"not an object", []byte(`[1,2]`), didregistry.CodeInvalidOperation},
		{"an unknown member", []byte(`{"did":"did:tong:z","extra":1,"seq":1,"type":"create","versionTime":"2026-03-01T09:00:00Z"}`), didregistry.CodeInvalidOperation},
		{"seq not an integer", []byte(`{"did":"did:tong:z","seq":1.5,"type":"create","versionTime":"2026-03-01T09:00:00Z"}`), didregistry.CodeInvalidOperation},
		{"a null member", []byte(`{"did":null,"seq":1,"type":"create","versionTime":"2026-03-01T09:00:00Z"}`), didregistry.CodeInvalidOperation},
		{"document not an object", []byte(`{"did":"did:tong:z","document":[],"seq":1,"type":"create","versionTime":"2026-03-01T09:00:00Z"}`), didregistry.CodeInvalidOperation},
		{"updateKeys not strings", []byte(`{"did":"did:tong:z","seq":1,"type":"create","updateKeys":[1],"versionTime":"2026-03-01T09:00:00Z"}`), didregistry.CodeInvalidOperation},
		{"proof with an unknown member", []byte(`{"did":"did:tong:z","proof":{"x":"y"},"seq":1,"type":"create","versionTime":"2026-03-01T09:00:00Z"}`), didregistry.CodeInvalidOperation},
		{"accreditation with an unknown member", []byte(`{"accreditation":{"x":"y"},"did":"did:tong:z","seq":1,"type":"accredit","versionTime":"2026-03-01T09:00:00Z"}`), didregistry.CodeInvalidOperation},
		{"too large", append(append([]byte(`{"did":"`), bytes.Repeat([]byte("a"), didregistry.MaxOperationSize)...), `"}`...), didregistry.CodeTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := didregistry.ParseOperation(tc.leaf)
			if code := didregistry.CodeOf(err); code != tc.want {
				t.Fatalf("ParseOperation(%.60s) = %v, want %q", tc.leaf, err, tc.want)
			}
			if err == nil {
				again, _ := got.Canonical()
				if !bytes.Equal(again, tc.leaf) {
					t.Errorf("ParseOperation then Canonical = %s, want %s", again, tc.leaf)
				}
			}
		})
	}
}

func TestVersionID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		seq  int64
		hash string
		ok   bool
	}{
		{"1-zabc", 1, "zabc", true},
		{"12-z9", 12, "z9", true},
		{"0-zabc", 0, "", false},
		{"01-zabc", 0, "", false},
		{"-1-zabc", 0, "", false},
		{"1-", 0, "", false},
		{"1", 0, "", false},
		{"x-zabc", 0, "", false},
	} {
		seq, h, ok := didregistry.ParseVersionID(tc.in)
		if seq != tc.seq || h != tc.hash || ok != tc.ok {
			t.Errorf("ParseVersionID(%q) = %d, %q, %v, want %d, %q, %v", tc.in, seq, h, ok, tc.seq, tc.hash, tc.ok)
		}
		if tc.ok && didregistry.VersionID(seq, h) != tc.in {
			t.Errorf("VersionID(%d, %q) = %q, want %q", seq, h, didregistry.VersionID(seq, h), tc.in)
		}
	}
}

func TestIssuerURLs(t *testing.T) {
	t.Parallel()
	k := key(1)
	op := genesis(t, k, nil, "https://psb.example/issuers/psb/")
	if got := didregistry.IssuerURLs(op.Document); len(got) != 1 || got[0] != "https://psb.example/issuers/psb" {
		t.Errorf("IssuerURLs = %v, want the URL without its trailing slash", got)
	}
	if got := didregistry.IssuerURLs(genesis(t, k, nil, "").Document); got != nil {
		t.Errorf("IssuerURLs(no service) = %v", got)
	}
	for _, tc := range []struct {
		name    string
		boundTo string
		err     error
		want    didregistry.Code
	}{
		{"unbound", "", nil, ""},
		{"bound to this DID", op.DID, nil, ""},
		{"bound to another DID", "did:tong:zOther", nil, didregistry.CodeIssuerURLTaken},
		{"lookup fails", "", &didregistry.Error{Code: didregistry.CodeUnavailable, Description: "down"}, didregistry.CodeUnavailable},
	} {
		err := didregistry.CheckIssuerURLs(op, func(u string) (string, error) {
			if u != "https://psb.example/issuers/psb" {
				t.Errorf("boundTo(%q)", u)
			}
			return tc.boundTo, tc.err
		})
		if got := didregistry.CodeOf(err); got != tc.want {
			t.Errorf("CheckIssuerURLs(%s) = %v, want %q", tc.name, err, tc.want)
		}
	}
	// A deactivation names no URL, whatever the lookup says.
	deact := &didregistry.Operation{Type: didregistry.OpDeactivate, DID: op.DID}
	if err := didregistry.CheckIssuerURLs(deact, func(string) (string, error) { return "did:tong:zOther", nil }); err != nil {
		t.Errorf("CheckIssuerURLs(deactivate) = %v", err)
	}
}
