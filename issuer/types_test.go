package issuer

import (
	"strings"
	"testing"
)

func TestDemoTypesAcceptTheirExamples(t *testing.T) {
	types, err := DemoTypes()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"citizen-identity", "beijing-residence", "government-official"} {
		ty, ok := types[id]
		if !ok {
			t.Fatalf("demo type %s missing", id)
		}
		if err := ty.ValidateClaims(ty.ExampleClaims); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		locales := map[string]bool{}
		for _, d := range ty.Display {
			locales[d.Locale] = true
		}
		if !locales["en"] || !locales["zh"] {
			t.Errorf("%s: display needs en and zh, has %v", id, locales)
		}
	}
	// Claim names follow the EU PID where one exists.
	pid := types["citizen-identity"]
	for _, name := range []string{"family_name", "given_name", "birthdate", "age_equal_or_over", "nationalities", "address", "personal_administrative_number", "picture"} {
		found := false
		for _, c := range pid.Claims {
			if c.Path[0] == name {
				found = true
			}
		}
		if !found {
			t.Errorf("citizen identity lacks %s", name)
		}
	}
}

func TestValidateClaimsRefusals(t *testing.T) {
	types, _ := DemoTypes()
	ty := types["citizen-identity"]
	base := func() map[string]any {
		m := map[string]any{}
		for k, v := range ty.ExampleClaims {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		mutate func(map[string]any)
		want   string
	}{
		{"missing mandatory", func(m map[string]any) { delete(m, "birthdate") }, "birthdate is required"},
		{"undeclared claim", func(m map[string]any) { m["blood_type"] = "O" }, "blood_type is not part"},
		{"bad date", func(m map[string]any) { m["birthdate"] = "17/05/1990" }, "birthdate must be a date"},
		{"wrong type", func(m map[string]any) { m["nationalities"] = "CN" }, "nationalities must be an array"},
		{"nested undeclared", func(m map[string]any) {
			m["address"] = map[string]any{"locality": "北京市", "district": "东城区", "floor": "3"}
		}, "address.floor"},
		{"registered name", func(m map[string]any) { m["iss"] = "https://evil" }, "iss is not part"},
		{"portrait not an image", func(m map[string]any) { m["picture"] = "javascript:alert(1)" }, "picture must be"},
		{"overlong string", func(m map[string]any) { m["given_name"] = strings.Repeat("名", 200) }, "given_name must be"},
	} {
		m := base()
		tc.mutate(m)
		err := ty.ValidateClaims(m)
		if CodeOf(err) != CodeInvalidClaims || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want invalid_claims mentioning %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "王") {
			t.Errorf("%s: the error shows a claim value: %v", tc.name, err)
		}
	}
}

func TestParseTypeRefusals(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"unknown member", `{"id":"x","vct":"urn:x","display":[{"name":"X"}],"validity_days":1,"claims":[{"path":["a"],"type":"string"}],"colour":"red"}`, "unknown field"},
		{"bad id", `{"id":"X Y","vct":"urn:x","display":[{"name":"X"}],"validity_days":1,"claims":[{"path":["a"],"type":"string"}]}`, "id must match"},
		{"registered claim", `{"id":"x","vct":"urn:x","display":[{"name":"X"}],"validity_days":1,"claims":[{"path":["cnf"],"type":"string"}]}`, "registered claim"},
		{"orphan nested claim", `{"id":"x","vct":"urn:x","display":[{"name":"X"}],"validity_days":1,"claims":[{"path":["a","b"],"type":"string"}]}`, "parent"},
		{"no validity", `{"id":"x","vct":"urn:x","display":[{"name":"X"}],"claims":[{"path":["a"],"type":"string"}]}`, "validity_days"},
		{"unknown claim type", `{"id":"x","vct":"urn:x","display":[{"name":"X"}],"validity_days":1,"claims":[{"path":["a"],"type":"blob"}]}`, "unknown type"},
	} {
		_, err := ParseType([]byte(tc.json))
		if CodeOf(err) != CodeInvalidType || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want invalid_credential_type mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestTxCodeIsSixDigits(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := txCode()
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("tx_code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct PINs in 200", len(seen))
	}
}
