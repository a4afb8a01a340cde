package credential

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// These tests pin the issuance format byte for byte against RFC 9901.
//
// The RFC's examples are written by a Python implementation that puts a
// space after every "," and ":" and keeps members in insertion order.
// Tong's issuer writes JSON as encoding/json does: no spaces, members in
// sorted order (see encode.go). RFC 9901 §4.2.1 allows both: the JSON is
// not canonicalized, and the digest is over the disclosure exactly as
// sent; its "No white space" example is Tong's form. So:
//
//   - TestRFC9901DisclosureNoWhiteSpace writes §4.2.1's claim in the
//     issuer's encoding and gets the RFC's "No white space" disclosure
//     and digest exactly;
//   - TestRFC9901MainFromInputs rebuilds §5's disclosures, digests and
//     issuer-signed payload from the example's inputs in the RFC's own
//     encoding, and gets the RFC's bytes;
//   - TestIssueRFC9901Main issues §5's example with Tong's issuer from
//     the same claims and salts, and pins the result byte for byte: every
//     disclosure is the RFC's with the spaces dropped (and, for address,
//     the members sorted), so every digest differs from the RFC's, and
//     the payload is the RFC's with those digests, no spaces and sorted
//     members.

// saltStream returns the salts (base64url, as printed in the RFC) as the
// byte stream an IssueOptions.Rand gives, padded with zeros to the 64
// salts the issuer reads at once (issue.go, salt).
func saltStream(t *testing.T, salts ...string) io.Reader {
	t.Helper()
	var b []byte
	for _, s := range salts {
		raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(raw) != saltBytes || base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("salt %q is not %d bytes in canonical base64url", s, saltBytes)
		}
		b = append(b, raw...)
	}
	return bytes.NewReader(append(b, make([]byte, 64*saltBytes)...))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func sha256B64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func decodeSegment(t *testing.T, seg string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	return string(raw)
}

// TestRFC9901DisclosureNoWhiteSpace: RFC 9901 §4.2.1 prints the
// disclosure of family_name "Möbius" in several encodings; the one
// labelled "No white space" is Tong's. Its salt has 23 characters, and
// Tong's salts are always 16 bytes (22 characters), so the issuer cannot
// be given it: this test writes the array with the two functions that
// disclose (issue.go) writes it with, in disclose's layout, and gets the
// RFC's bytes (non-ASCII characters as UTF-8, not \u escapes).
func TestRFC9901DisclosureNoWhiteSpace(t *testing.T) {
	t.Parallel()
	v := readVector(t, "sd-jwt/disclosure_digest_examples.json")
	type variant struct{ Label, Disclosure, Decoded, Digest_sha256 string }
	var variants []variant
	if err := json.Unmarshal(v["object_property_encoding_variants_same_claim_different_disclosure"], &variants); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(variants, func(x variant) bool { return x.Label == "No white space" })
	if i < 0 {
		t.Fatal("the vector has no \"No white space\" variant")
	}
	want := variants[i]
	// disclose: '[', '"', salt, '"', ',', name, ',', value, ']'
	d := append([]byte(`["`), "_26bc4LT-ac6q2KI6cBW5es"...)
	d = append(appendString(append(d, '"', ','), "family_name"), ',')
	d, err := appendScalar(d, "Möbius")
	if err != nil {
		t.Fatal(err)
	}
	d = append(d, ']')
	if string(d) != want.Decoded {
		t.Errorf("disclosure JSON = %s, want RFC 9901 §4.2.1 %s", d, want.Decoded)
	}
	if got := b64(string(d)); got != want.Disclosure {
		t.Errorf("disclosure = %s, want %s", got, want.Disclosure)
	}
	if got := sha256B64(b64(string(d))); got != want.Digest_sha256 {
		t.Errorf("digest = %s, want %s", got, want.Digest_sha256)
	}
}

// rfcJSON re-encodes raw JSON the way RFC 9901's examples print it: ", "
// between elements and members, ": " after a name, members in the order
// given, strings as the RFC writes them (no HTML escaping).
func rfcJSON(t *testing.T, raw []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	var value func() error
	str := func(s string) {
		var sb bytes.Buffer
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		b.Write(bytes.TrimSuffix(sb.Bytes(), []byte("\n")))
	}
	value = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch x := tok.(type) {
		case json.Delim:
			closing := map[json.Delim]string{'{': "}", '[': "]"}[x]
			b.WriteString(x.String())
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				if x == '{' {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					str(k.(string))
					b.WriteString(": ")
				}
				if err := value(); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			b.WriteString(closing)
		case string:
			str(x)
		case json.Number:
			b.WriteString(x.String())
		case bool:
			b.WriteString(map[bool]string{true: "true", false: "false"}[x])
		case nil:
			b.WriteString("null")
		default:
			return errors.New("unexpected token")
		}
		return nil
	}
	if err := value(); err != nil {
		t.Fatalf("rfcJSON(%s): %v", raw, err)
	}
	return b.String()
}

// mainExample is RFC 9901 §5's example, read from the vector: the input
// claims (each member's raw JSON, in the RFC's order) and the disclosures
// the RFC prints.
type mainExample struct {
	claims      map[string]json.RawMessage
	registered  map[string]json.RawMessage // iss, iat, exp, cnf: added by the issuer
	disclosures []struct {
		Kind, Claim_name, Salt, Disclosure, Decoded_json_array, Digest_sha256 string
	}
	signedJWT string
}

func readMainExample(t *testing.T) *mainExample {
	t.Helper()
	v := readVector(t, "sd-jwt/main_example.json")
	ex := &mainExample{signedJWT: str(t, v["issuer_signed_jwt"])}
	var payload map[string]json.RawMessage
	if json.Unmarshal(v["input_claims"], &ex.claims) != nil || json.Unmarshal(v["disclosures"], &ex.disclosures) != nil ||
		json.Unmarshal(v["issuer_jwt_payload"], &payload) != nil {
		t.Fatal("main_example.json is malformed")
	}
	ex.registered = map[string]json.RawMessage{}
	for _, k := range []string{"iss", "iat", "exp", "cnf"} {
		ex.registered[k] = payload[k]
	}
	if len(ex.disclosures) != 10 {
		t.Fatalf("main example has %d disclosures, want 10", len(ex.disclosures))
	}
	return ex
}

// nationalities returns the raw JSON of the elements of the nationalities
// claim, in order.
func (ex *mainExample) nationalities(t *testing.T) []json.RawMessage {
	var els []json.RawMessage
	if err := json.Unmarshal(ex.claims["nationalities"], &els); err != nil || len(els) != 2 {
		t.Fatalf("nationalities = %s", ex.claims["nationalities"])
	}
	return els
}

// TestRFC9901MainFromInputs rebuilds RFC 9901 §5 from its inputs (claims,
// salts, and the RFC's JSON encoding) and checks the disclosures, digests
// and issuer-signed JWT's header and payload against the RFC's bytes.
func TestRFC9901MainFromInputs(t *testing.T) {
	t.Parallel()
	ex := readMainExample(t)
	els := ex.nationalities(t)
	digests := map[string]string{}
	elem := 0
	for _, d := range ex.disclosures {
		var text string
		switch d.Kind {
		case "object_property":
			text = "[" + rfcJSON(t, []byte(`"`+d.Salt+`"`)) + ", " + rfcJSON(t, []byte(`"`+d.Claim_name+`"`)) + ", " + rfcJSON(t, ex.claims[d.Claim_name]) + "]"
		case "array_element":
			text = "[" + rfcJSON(t, []byte(`"`+d.Salt+`"`)) + ", " + rfcJSON(t, els[elem]) + "]"
			d.Claim_name = "nationalities/" + string(rune('0'+elem))
			elem++
		default:
			t.Fatalf("unknown disclosure kind %q", d.Kind)
		}
		if text != d.Decoded_json_array {
			t.Errorf("%s: built %s, RFC prints %s", d.Claim_name, text, d.Decoded_json_array)
		}
		if got := b64(text); got != d.Disclosure {
			t.Errorf("%s: disclosure %s, RFC %s", d.Claim_name, got, d.Disclosure)
		}
		if got := sha256B64(d.Disclosure); got != d.Digest_sha256 {
			t.Errorf("%s: digest %s, RFC %s", d.Claim_name, got, d.Digest_sha256)
		}
		digests[d.Claim_name] = d.Digest_sha256
	}
	var sd []string
	for _, k := range []string{"given_name", "family_name", "email", "phone_number", "phone_number_verified", "address", "birthdate", "updated_at"} {
		sd = append(sd, `"`+digests[k]+`"`)
	}
	slices.Sort(sd) // RFC 9901 §4.2.4.1: shuffled by sorting
	payload := `{"_sd": [` + strings.Join(sd, ", ") + `], ` +
		`"iss": ` + rfcJSON(t, ex.registered["iss"]) + `, "iat": ` + rfcJSON(t, ex.registered["iat"]) +
		`, "exp": ` + rfcJSON(t, ex.registered["exp"]) + `, "sub": ` + rfcJSON(t, ex.claims["sub"]) +
		`, "nationalities": [{"...": "` + digests["nationalities/0"] + `"}, {"...": "` + digests["nationalities/1"] + `"}]` +
		`, "_sd_alg": "sha-256", "cnf": ` + rfcJSON(t, ex.registered["cnf"]) + `}`
	jws := strings.Split(ex.signedJWT, ".")
	if len(jws) != 3 {
		t.Fatalf("issuer_signed_jwt has %d segments", len(jws))
	}
	if got, want := decodeSegment(t, jws[0]), `{"alg": "ES256", "typ": "example+sd-jwt"}`; got != want {
		t.Errorf("RFC header = %s, want %s", got, want)
	}
	if got := decodeSegment(t, jws[1]); got != payload {
		t.Errorf("RFC payload differs from the one built from the inputs:\n got %s\nwant %s", payload, got)
	}
}

// tongMain is what Tong's issuer writes for RFC 9901 §5's example, given
// the RFC's salts: each disclosure is the RFC's with the spaces after ","
// and ":" dropped and, inside address, the members in sorted order.
var tongMain = []struct{ claim, decoded string }{
	{"given_name", `["2GLC42sKQveCfGfryNRN9w","given_name","John"]`},
	{"family_name", `["eluV5Og3gSNII8EYnsxA_A","family_name","Doe"]`},
	{"email", `["6Ij7tM-a5iVPGboS5tmvVA","email","johndoe@example.com"]`},
	{"phone_number", `["eI8ZWm9QnKPpNPeNenHdhQ","phone_number","+1-202-555-0101"]`},
	{"phone_number_verified", `["Qg_O64zqAxe412a108iroA","phone_number_verified",true]`},
	{"address", `["AJx-095VPrpTtN4QMOqROA","address",{"country":"US","locality":"Anytown","region":"Anystate","street_address":"123 Main St"}]`},
	{"birthdate", `["Pc33JM2LchcU_lHggv_ufQ","birthdate","1940-01-01"]`},
	{"updated_at", `["G02NSrQfjFXQ7Io09syajA","updated_at",1570000000]`},
	{"nationalities/0", `["lklxF5jMYlGTPUovMNIvCA","US"]`},
	{"nationalities/1", `["nPuoQnkRFq3BIeAm7AnXFA","DE"]`},
}

// tongMainPayload is the issuer-signed payload Tong writes for the
// example: sorted members, no spaces, the digests of tongMain (computed
// apart from Tong, with Python's json.dumps(separators=(',', ':'),
// sort_keys=True, ensure_ascii=False) and hashlib).
const tongMainPayload = `{"_sd":["3aAASYULazfvj9j7DWsr6avqBB-5pzZiddFLDaxo684","4g9haoAo_0nPJHU3ZO4P9MXRwRtPruXpp6lKw29_kJI","8VHiz7qTXavxvpiTYDCSr_shkUO6qRcVXjkhEnt1os4","Ojp8q_HO8_C7o5n2cMBcKfXFgAj-9RKfv7y5QhvD0b0","ae-RDmKMDGOqT24ajJM_OM-uQJGaKeQFaxmOTM6ZHu4","gLxyLLMPNO46NvIVNADcaqhcBWkffnj0DTUpUJOR9N0","h9VR1mE_yzqU2UaPPbAOfWCZm1v4QxqmW3HBXVUdmGA","uAhW02Z-QRooOEI3WZp_2UURdgy1ZUxteC0mVxNLSHc"],"_sd_alg":"sha-256","cnf":{"jwk":{"crv":"P-256","kty":"EC","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}},"exp":1883000000,"iat":1683000000,"iss":"https://issuer.example.com","nationalities":[{"...":"rfyFr4WlK_bCHtsRaMXOxJh3cSm7bG0fPCBsLTq1A6A"},{"...":"z5d-RfpnS2IoqNAMVAZj73cEpbGydNm5gYfnkYOYZxw"}],"sub":"user_42"}`

// TestIssueRFC9901Main issues RFC 9901 §5's example with Tong's issuer
// from its claims and salts and pins the disclosures, their digests and
// the payload byte for byte. Where they differ from the RFC's text, the
// difference is only the JSON encoding (see the top of this file), which
// the test checks too: parse each of our disclosures and the RFC's, and
// they hold the same salt, name and value.
func TestIssueRFC9901Main(t *testing.T) {
	t.Parallel()
	ex := readMainExample(t)
	claims := map[string]any{}
	for k, raw := range ex.claims {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		claims[k] = v
	}
	for k, raw := range ex.registered {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		claims[k] = v
	}
	salts := map[string]string{}
	elem := 0
	for _, d := range ex.disclosures {
		name := d.Claim_name
		if d.Kind == "array_element" {
			name = "nationalities/" + string(rune('0'+elem))
			elem++
		}
		salts[name] = d.Salt
	}
	// The issuer draws salts as it writes: first the disclosable members
	// of the top-level object in sorted order, then, while writing the
	// members that stay in the payload (sorted), the elements of
	// nationalities.
	order := []string{"address", "birthdate", "email", "family_name", "given_name", "phone_number", "phone_number_verified", "updated_at", "nationalities/0", "nationalities/1"}
	var stream []string
	for _, k := range order {
		stream = append(stream, salts[k])
	}
	disclosable := []Path{{"given_name"}, {"family_name"}, {"email"}, {"phone_number"}, {"phone_number_verified"}, {"address"}, {"birthdate"}, {"updated_at"}, {"nationalities", 0}, {"nationalities", 1}}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	out, err := IssueSDJWT(key, map[string]any{"alg": "ES256", "typ": "example+sd-jwt"}, claims, disclosable,
		IssueOptions{Rand: saltStream(t, stream...), Decoys: -1})
	if err != nil {
		t.Fatal(err)
	}

	parts := strings.Split(out, "~")
	if len(parts) != len(tongMain)+2 || parts[len(parts)-1] != "" {
		t.Fatalf("IssueSDJWT gave %d parts, want JWT, %d disclosures and an empty end", len(parts), len(tongMain))
	}
	got := map[string]string{}
	for i, enc := range parts[1 : len(parts)-1] {
		got[order[i]] = enc
	}
	digests := map[string]string{}
	for _, want := range tongMain {
		enc := got[want.claim]
		if dec := decodeSegment(t, enc); dec != want.decoded {
			t.Errorf("disclosure of %s = %s, want %s", want.claim, dec, want.decoded)
		}
		if enc != b64(want.decoded) {
			t.Errorf("disclosure of %s = %s, want %s", want.claim, enc, b64(want.decoded))
		}
		digests[want.claim] = sha256B64(b64(want.decoded))
	}
	// Same salt, name and value as the RFC's disclosure: only the
	// encoding differs.
	elem = 0
	for _, d := range ex.disclosures {
		name := d.Claim_name
		if d.Kind == "array_element" {
			name = "nationalities/" + string(rune('0'+elem))
			elem++
		}
		ours, err := parseDisclosure(got[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		theirs, err := parseDisclosure(d.Disclosure)
		if err != nil {
			t.Fatalf("RFC %s: %v", name, err)
		}
		if ours.Salt != theirs.Salt || ours.Name != theirs.Name || !cmp.Equal(normalize(t, ours.Value), normalize(t, theirs.Value)) {
			t.Errorf("%s: ours [%s %s %v], RFC [%s %s %v]", name, ours.Salt, ours.Name, ours.Value, theirs.Salt, theirs.Name, theirs.Value)
		}
		if ours.Digest() == d.Digest_sha256 {
			t.Errorf("%s: our digest equals the RFC's, but the encodings differ: the test's premise is wrong", name)
		}
	}

	jws := strings.Split(parts[0], ".")
	if got, want := decodeSegment(t, jws[0]), `{"alg":"ES256","typ":"example+sd-jwt"}`; got != want {
		t.Errorf("header = %s, want %s", got, want)
	}
	payload := decodeSegment(t, jws[1])
	if payload != tongMainPayload {
		t.Errorf("payload:\n got %s\nwant %s", payload, tongMainPayload)
	}
	// The pinned payload is the RFC's with our digests: swap them in and
	// the two decode to the same object.
	var rfc, ours map[string]any
	rfcPayload := decodeSegment(t, strings.Split(ex.signedJWT, ".")[1])
	for _, d := range ex.disclosures {
		name := d.Claim_name
		if name == "" {
			if strings.Contains(d.Decoded_json_array, `"US"`) {
				name = "nationalities/0"
			} else {
				name = "nationalities/1"
			}
		}
		rfcPayload = strings.ReplaceAll(rfcPayload, d.Digest_sha256, digests[name])
	}
	if json.Unmarshal([]byte(rfcPayload), &rfc) != nil || json.Unmarshal([]byte(payload), &ours) != nil {
		t.Fatal("payloads do not decode")
	}
	sortSD := func(m map[string]any) {
		sd, _ := m["_sd"].([]any)
		slices.SortFunc(sd, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	}
	sortSD(rfc)
	sortSD(ours)
	if diff := cmp.Diff(rfc, ours); diff != "" {
		t.Errorf("payload differs from the RFC's beyond digests and encoding (-rfc +ours):\n%s", diff)
	}

	// And it verifies and processes back to the input claims.
	sd, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.jws.Verify(&key.PublicKey); err != nil {
		t.Fatal(err)
	}
	processed, err := sd.Process()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(normalize(t, claims), normalize(t, processed)); diff != "" {
		t.Errorf("processed claims (-issued +processed):\n%s", diff)
	}
}
