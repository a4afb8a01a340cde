package credential

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/internal/jose"
)

func readVector(t testing.TB, name string) map[string]json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func str(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// normalize turns any JSON-able value into plain decoded JSON, so that
// json.Number and float64 compare equal.
func normalize(t testing.TB, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func issuerKey(t testing.TB) any {
	t.Helper()
	raw, err := os.ReadFile("testdata/sd-jwt/issuer_public_key.jwk.json")
	if err != nil {
		t.Fatal(err)
	}
	k, err := jose.ParsePublicJWK(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDisclosureDigests(t *testing.T) {
	t.Parallel()
	v := readVector(t, "sd-jwt/disclosure_digest_examples.json")
	var prop struct {
		Salt, ClaimName, Disclosure, Digest string
		Value                               any
	}
	var raw map[string]any
	json.Unmarshal(v["object_property"], &raw)
	prop.Salt, prop.ClaimName = raw["salt"].(string), raw["claim_name"].(string)
	prop.Disclosure, prop.Digest, prop.Value = raw["disclosure"].(string), raw["digest_sha256"].(string), raw["value"]
	d, err := parseDisclosure(prop.Disclosure)
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest() != prop.Digest || d.Salt != prop.Salt || d.Name != prop.ClaimName || d.Value != prop.Value {
		t.Errorf("parseDisclosure(§4.2.1) = %+v, want digest %s name %s value %v", d, prop.Digest, prop.ClaimName, prop.Value)
	}
	json.Unmarshal(v["array_element"], &raw)
	d, err = parseDisclosure(raw["disclosure"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsArrayElement() || d.Digest() != raw["digest_sha256"].(string) || d.Value != raw["value"] {
		t.Errorf("parseDisclosure(§4.2.4.2) = %+v, want array element %v with digest %v", d, raw["value"], raw["digest_sha256"])
	}
}

// RFC 9901 §5: the main example's SD-JWT+KB verifies with the §A.5 key,
// processes to the printed payload, and its KB-JWT checks out.
func TestRFC9901Main(t *testing.T) {
	t.Parallel()
	v := readVector(t, "sd-jwt/main_example.json")
	pres := str(t, v["sd_jwt_kb_presentation"])
	sd, err := Parse(pres)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.jws.Verify(issuerKey(t)); err != nil {
		t.Fatalf("issuer signature: %v", err)
	}
	claims, err := sd.Process()
	if err != nil {
		t.Fatal(err)
	}
	var want any
	json.Unmarshal(v["processed_payload_after_presentation"], &want)
	if diff := cmp.Diff(want, normalize(t, claims)); diff != "" {
		t.Errorf("processed payload (-want +got):\n%s", diff)
	}
	var kb struct {
		Nonce, Aud string
		Iat        int64
	}
	json.Unmarshal(v["kb_jwt_payload"], &kb)
	cnf, _ := json.Marshal(sd.payload["cnf"].(map[string]any)["jwk"])
	holder, err := jose.ParsePublicJWK(cnf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := verifyKB(sd.KBJWT, sd.presented(), nil, holder, &KBPolicy{Nonce: kb.Nonce, Audience: kb.Aud}, time.Unix(kb.Iat, 0), DefaultSkew)
	if err != nil {
		t.Fatalf("KB-JWT: %v", err)
	}
	if got.Nonce != kb.Nonce || got.Audience != kb.Aud {
		t.Errorf("KB claims = %+v", got)
	}
	// The issuance (all disclosures, no KB) is the JWT plus every disclosure.
	iss, err := Parse(str(t, v["sd_jwt_issuance"]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Process(); err != nil || len(iss.Disclosures) != 10 || iss.KBJWT != "" {
		t.Errorf("issuance: %d disclosures, KB %q, %v; want 10, none, nil", len(iss.Disclosures), iss.KBJWT, err)
	}
}

func TestRFC9901A1(t *testing.T) {
	t.Parallel()
	v := readVector(t, "sd-jwt/appendix_a1_structured_with_decoys.json")
	sd, err := Parse(str(t, v["sd_jwt_presentation_region_and_country"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.jws.Verify(issuerKey(t)); err != nil {
		t.Fatal(err)
	}
	claims, err := sd.Process()
	if err != nil {
		t.Fatal(err)
	}
	var want any
	json.Unmarshal(v["processed_payload_after_presentation"], &want)
	if diff := cmp.Diff(want, normalize(t, claims)); diff != "" {
		t.Errorf("processed payload (-want +got):\n%s", diff)
	}
}

// §6.1–6.3 give payloads and disclosures (no signature): processing all
// disclosures must use every one of them and leave no _sd behind.
func TestRFC9901Nested(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"nested_6_1_flat.json", "nested_6_2_structured.json", "nested_6_3_recursive.json"} {
		v := readVector(t, "sd-jwt/"+f)
		var payload map[string]any
		if err := unmarshalValue(v["issuer_jwt_payload"], new(any)); err != nil {
			t.Fatal(err)
		}
		var pv any
		unmarshalValue(v["issuer_jwt_payload"], &pv)
		payload = pv.(map[string]any)
		var ds []struct {
			Disclosure string `json:"disclosure"`
		}
		json.Unmarshal(v["disclosures"], &ds)
		sd := &SDJWT{payload: payload}
		for _, d := range ds {
			p, err := parseDisclosure(d.Disclosure)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			sd.Disclosures = append(sd.Disclosures, p)
		}
		claims, err := sd.Process()
		if err != nil {
			t.Fatalf("%s: Process = %v", f, err)
		}
		addr, ok := claims["address"].(map[string]any)
		if !ok || addr["locality"] == nil || addr["_sd"] != nil {
			t.Errorf("%s: address = %v, want a disclosed locality and no _sd", f, claims["address"])
		}
	}
}

func TestSDJWTVCExamples(t *testing.T) {
	t.Parallel()
	key := issuerKey(t)
	for _, tc := range []struct {
		file, token, want, kb string
	}{
		{"sd-jwt-vc/vc_example_identity_credential.json", "sd_jwt_kb_presentation", "processed_payload_after_kb_presentation", "kb"},
		{"sd-jwt-vc/vc_example_identity_credential.json", "sd_jwt_presentation_without_kb", "processed_payload_without_kb", ""},
		{"sd-jwt-vc/vc_example_pid_appendix_a1.json", "sd_jwt_kb_presentation", "processed_payload", "kb_jwt_payload"},
	} {
		t.Run(tc.file+"/"+tc.token, func(t *testing.T) {
			t.Parallel()
			v := readVector(t, tc.file)
			tok := str(t, v[tc.token])
			sd, _ := Parse(tok)
			var iss string
			json.Unmarshal([]byte(sd.jws.Payload), &struct{ Iss *string }{&iss})
			now := time.Unix(1683000000, 0).Add(time.Hour)
			opts := VerifyOptions{}
			if sd.KBJWT != "" {
				kj, _ := jose.Parse(sd.KBJWT, MaxTokenSize)
				var kb struct {
					Nonce, Aud string
					Iat        int64
				}
				json.Unmarshal([]byte(kj.Payload), &kb)
				now = time.Unix(kb.Iat, 0)
				opts.KeyBinding = &KBPolicy{Nonce: kb.Nonce, Audience: kb.Aud}
			}
			vf := &Verifier{Keys: StaticIssuerKeys{iss: key}, Now: func() time.Time { return now }}
			res, err := vf.Verify(context.Background(), tok, opts)
			if err != nil {
				t.Fatalf("Verify = %v (checks %v)", err, res.Checks)
			}
			var want any
			json.Unmarshal(v[tc.want], &want)
			if tc.want != "" && want != nil {
				if diff := cmp.Diff(want, normalize(t, res.Claims)); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
			}
			if (res.KeyBinding != nil) != (sd.KBJWT != "") {
				t.Errorf("KeyBinding = %v, want set iff a KB-JWT is present", res.KeyBinding)
			}
		})
	}
}
