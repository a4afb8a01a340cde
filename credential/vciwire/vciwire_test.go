package vciwire_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/credential/vciwire"
)

// credentialConfigurations holds the example of §12.2.4 and Appendix
// A.3.2, which is only the credential_configurations_supported member.
type credentialConfigurations struct {
	C map[string]vciwire.CredentialConfiguration `json:"credential_configurations_supported"`
}

// types names the type each vector decodes into (its type: header).
var types = map[string]func() any{
	"CredentialOffer":                   func() any { return new(vciwire.CredentialOffer) },
	"TokenResponse":                     func() any { return new(vciwire.TokenResponse) },
	"NonceResponse":                     func() any { return new(vciwire.NonceResponse) },
	"CredentialRequest":                 func() any { return new(vciwire.CredentialRequest) },
	"CredentialResponse":                func() any { return new(vciwire.CredentialResponse) },
	"DeferredCredentialRequest":         func() any { return new(vciwire.DeferredCredentialRequest) },
	"NotificationRequest":               func() any { return new(vciwire.NotificationRequest) },
	"IssuerMetadata":                    func() any { return new(vciwire.IssuerMetadata) },
	"CredentialConfigurationsSupported": func() any { return new(credentialConfigurations) },
}

// vector is one testdata file: headers, a blank line, the JSON.
type vector struct {
	typ, expect string
	drops       []string // slash-separated member paths the types do not model
	body        []byte
}

func readVector(t *testing.T, path string) vector {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no blank line after the headers", path)
	}
	v := vector{body: body}
	for _, line := range strings.Split(string(head), "\n") {
		k, val, _ := strings.Cut(line, ": ")
		switch k {
		case "type":
			v.typ = val
		case "expect":
			v.expect = val
		case "drops":
			v.drops = append(v.drops, val)
		case "source":
		default:
			t.Fatalf("%s: unknown header %q", path, line)
		}
	}
	return v
}

// drop deletes the member at a slash-separated path of a decoded object.
func drop(t *testing.T, v any, path string) {
	t.Helper()
	parts := strings.Split(path, "/")
	for _, p := range parts[:len(parts)-1] {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("drops %s: %s is not an object", path, p)
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if _, has := m[parts[len(parts)-1]]; !ok || !has {
		t.Fatalf("drops %s: no such member in the example", path)
	}
	delete(m, parts[len(parts)-1])
}

// TestSpecExamplesRoundTrip decodes each of the specification's example
// messages into its type, encodes it again, and requires the same JSON:
// every member the example has, with the same value, except those listed
// as drops (members Tong does not model, which a recipient ignores).
func TestSpecExamplesRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found %d vectors in testdata, want the spec's examples", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			v := readVector(t, f)
			newT, ok := types[v.typ]
			if !ok || v.expect != "round-trip" {
				t.Fatalf("type %q, expect %q", v.typ, v.expect)
			}
			msg := newT()
			if err := json.Unmarshal(v.body, msg); err != nil {
				t.Fatalf("Unmarshal into %s: %v", v.typ, err)
			}
			out, err := json.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(v.body, &want); err != nil {
				t.Fatal(err)
			}
			for _, d := range v.drops {
				drop(t, want, d)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Marshal(Unmarshal(example)) differs (-example +got):\n%s", diff)
			}
		})
	}
}

// TestTxCodePresence: any tx_code member obliges the wallet to send a
// Transaction Code (§4.1.1), even {} or one whose members are malformed;
// only an absent or null one does not.
func TestTxCodePresence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, txCode string
		want         *vciwire.TxCode
	}{
		{"absent", ``, nil},
		{"null", `,"tx_code":null`, nil},
		{"empty", `,"tx_code":{}`, &vciwire.TxCode{}},
		{"full", `,"tx_code":{"input_mode":"text","length":6,"description":"SMS"}`, &vciwire.TxCode{InputMode: "text", Length: 6, Description: "SMS"}},
		{"malformed member", `,"tx_code":{"length":"six","description":"SMS"}`, &vciwire.TxCode{Description: "SMS"}},
		{"not an object", `,"tx_code":true`, &vciwire.TxCode{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := `{"credential_issuer":"https://i.example","credential_configuration_ids":["x"],"grants":{"` +
				vciwire.GrantPreAuthorizedCode + `":{"pre-authorized_code":"c"` + tc.txCode + `}}}`
			var o vciwire.CredentialOffer
			if err := json.Unmarshal([]byte(in), &o); err != nil {
				t.Fatalf("Unmarshal(%s) = %v", in, err)
			}
			g := o.Grants[vciwire.GrantPreAuthorizedCode]
			if g.PreAuthorizedCode != "c" {
				t.Errorf("pre-authorized_code = %q, want c", g.PreAuthorizedCode)
			}
			if diff := cmp.Diff(tc.want, g.TxCode); diff != "" {
				t.Errorf("tx_code (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWireBytes pins the exact bytes of messages both sides write, in
// the member order Tong has always sent: a change here is a change on
// the wire.
func TestWireBytes(t *testing.T) {
	t.Parallel()
	proofs, _ := json.Marshal(vciwire.Proofs{JWT: []string{"a.b.c"}})
	for _, tc := range []struct {
		name string
		msg  any
		want string
	}{
		{"credential request", vciwire.CredentialRequest{CredentialConfigurationID: "id", Proofs: proofs},
			`{"credential_configuration_id":"id","proofs":{"jwt":["a.b.c"]}}`},
		{"notification", vciwire.NotificationRequest{NotificationID: "n", Event: vciwire.EventCredentialAccepted},
			`{"event":"credential_accepted","notification_id":"n"}`},
		{"deferred request", vciwire.DeferredCredentialRequest{TransactionID: "t"}, `{"transaction_id":"t"}`},
		{"nonce", vciwire.NonceResponse{CNonce: "n"}, `{"c_nonce":"n"}`},
		{"offer", vciwire.CredentialOffer{CredentialIssuer: "https://i", CredentialConfigurationIDs: []string{"x"},
			Grants: map[string]vciwire.Grant{vciwire.GrantPreAuthorizedCode: {PreAuthorizedCode: "c", TxCode: &vciwire.TxCode{InputMode: "numeric", Length: 6}}}},
			`{"credential_issuer":"https://i","credential_configuration_ids":["x"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c","tx_code":{"input_mode":"numeric","length":6}}}}`},
		{"display without a name", vciwire.Display{Locale: "en"}, `{"name":"","locale":"en"}`},
	} {
		got, err := json.Marshal(tc.msg)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: Marshal = %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

// FuzzDecode decodes arbitrary bytes as the messages a wallet reads from
// an issuer it does not yet trust (an offer, the metadata, a token and a
// credential response). It must not panic, and a message that decodes
// must encode to JSON that decodes to the same encoding again.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if len(files) == 0 {
		f.Fatal("no seeds in testdata")
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		_, body, _ := bytes.Cut(raw, []byte("\n\n"))
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, name := range []string{"CredentialOffer", "IssuerMetadata", "TokenResponse", "CredentialResponse"} {
			msg := types[name]()
			if json.Unmarshal(b, msg) != nil {
				continue
			}
			once, err := json.Marshal(msg)
			if err != nil {
				t.Fatalf("%s: Marshal after Unmarshal: %v", name, err)
			}
			again := types[name]()
			if err := json.Unmarshal(once, again); err != nil {
				t.Fatalf("%s: Unmarshal(%s) = %v", name, once, err)
			}
			twice, _ := json.Marshal(again)
			if !bytes.Equal(once, twice) {
				t.Fatalf("%s: encoding is not stable:\n%s\n%s", name, once, twice)
			}
		}
	})
}

// TestMdocSigningAlgs: an issuer whose metadata also describes an
// mso_mdoc configuration lists COSE algorithm identifiers, which are
// integers (Appendix A.2.2); its metadata must still decode.
func TestMdocSigningAlgs(t *testing.T) {
	t.Parallel()
	in := `{"credential_issuer":"https://i.example","credential_endpoint":"https://i.example/c",
	  "credential_configurations_supported":{
	    "mdl":{"format":"mso_mdoc","doctype":"org.iso.18013.5.1.mDL","credential_signing_alg_values_supported":[-7,-9]},
	    "pid":{"format":"dc+sd-jwt","vct":"urn:pid","credential_signing_alg_values_supported":["ES256"]}}}`
	var md vciwire.IssuerMetadata
	if err := json.Unmarshal([]byte(in), &md); err != nil {
		t.Fatalf("Unmarshal = %v", err)
	}
	if got := md.CredentialConfigurationsSupported["mdl"].CredentialSigningAlgValuesSupported; len(got) != 2 || got[0] != -7.0 {
		t.Errorf("mdl algs = %v, want [-7 -9]", got)
	}
	if got := md.CredentialConfigurationsSupported["pid"].VCT; got != "urn:pid" {
		t.Errorf("pid vct = %q, want urn:pid", got)
	}
}
