package dcql

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics, that every error is an *Error,
// that an accepted query round-trips (Parse→Marshal→Parse gives the same
// Query and the same bytes), and that matching it never fails.
func FuzzParse(f *testing.F) {
	for _, data := range specQueries(f) {
		f.Add(data)
	}
	invalid, err := filepath.Glob("testdata/invalid/*.txt")
	if err != nil || len(invalid) == 0 {
		f.Fatalf("no invalid seeds: %v", err)
	}
	for _, name := range invalid {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		_, body, _ := bytes.Cut(b, []byte("\n"))
		f.Add(body)
	}
	creds := []Credential{fullPID(f), {ID: "mdl", Format: FormatMdoc, DocType: "org.iso.18013.5.1.mDL", HolderBinding: true,
		Claims: map[string]any{"org.iso.18013.5.1": map[string]any{"given_name": "Max"}}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("Parse error %v is not an *Error", err)
			}
			return
		}
		out, err := json.Marshal(q)
		if err != nil {
			t.Fatalf("Marshal = %v", err)
		}
		q2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(q)) = %v\n%s", err, out)
		}
		if diff := cmp.Diff(q, q2); diff != "" {
			t.Fatalf("round trip changed the query (-first +second):\n%s", diff)
		}
		out2, err := json.Marshal(q2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("Marshal not stable:\n%s\n%s", out, out2)
		}
		if _, err := q.Match(creds); err != nil {
			t.Fatalf("Match of a parsed query = %v", err)
		}
	})
}
