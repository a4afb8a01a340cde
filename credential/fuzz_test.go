package credential

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse: no input panics the parser or the verifier, and whatever
// parses serializes back to exactly the input.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/sd-jwt*/*.json")
	if len(files) == 0 {
		f.Fatal("no seed vectors in testdata")
	}
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		var v map[string]any
		json.Unmarshal(raw, &v)
		for _, val := range v {
			if s, ok := val.(string); ok && strings.Count(s, "~") > 0 {
				f.Add(s)
			}
		}
	}
	f.Add("e30.e30.~")
	f.Add("~~~")
	key := issuerKey(f)
	v := &Verifier{Keys: StaticIssuerKeys{"https://example.com/issuer": key}, Now: func() time.Time { return time.Unix(1683000000, 0) }}
	f.Fuzz(func(t *testing.T, s string) {
		sd, err := Parse(s)
		if err == nil {
			if got := sd.String(); got != s {
				t.Fatalf("Parse(%q).String() = %q", s, got)
			}
			sd.Process()
		} else if CodeOf(err) == "" {
			t.Fatalf("Parse error without a code: %v", err)
		}
		res, err := v.Verify(context.Background(), s, VerifyOptions{KeyBinding: &KBPolicy{Nonce: "n", Audience: "a"}})
		if err != nil && (CodeOf(err) == "" || len(res.Checks) == 0 || res.Checks[len(res.Checks)-1].OK) {
			t.Fatalf("Verify error %v with checks %v: want a coded error recorded as the last check", err, res.Checks)
		}
	})
}
