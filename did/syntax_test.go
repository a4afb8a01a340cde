package did

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type syntaxCase struct {
	expect string // did, url or invalid
	input  string
}

// loadSyntaxCases reads testdata/syntax.txt: "<expect> <input>" per line.
func loadSyntaxCases(tb testing.TB) []syntaxCase {
	tb.Helper()
	f, err := os.Open("testdata/syntax.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []syntaxCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		expect, input, _ := strings.Cut(line, " ")
		out = append(out, syntaxCase{expect, input})
	}
	if len(out) < 20 {
		tb.Fatalf("testdata/syntax.txt: only %d cases", len(out))
	}
	return out
}

func TestParseSyntaxFile(t *testing.T) {
	t.Parallel()
	for _, tc := range loadSyntaxCases(t) {
		t.Run(tc.expect+"/"+tc.input, func(t *testing.T) {
			d, errD := Parse(tc.input)
			u, errU := ParseURL(tc.input)
			switch tc.expect {
			case "did":
				if errD != nil || errU != nil {
					t.Fatalf("Parse(%q) = %v, ParseURL = %v, want both to succeed", tc.input, errD, errU)
				}
				if d.String() != tc.input || u.String() != tc.input || !u.IsDID() {
					t.Errorf("round trip: %q, %q, IsDID %v", d.String(), u.String(), u.IsDID())
				}
			case "url":
				if CodeOf(errD) != CodeInvalidDID {
					t.Errorf("Parse(%q) error = %v, want %s", tc.input, errD, CodeInvalidDID)
				}
				if errU != nil {
					t.Fatalf("ParseURL(%q) = %v, want success", tc.input, errU)
				}
				if u.String() != tc.input || u.IsDID() {
					t.Errorf("ParseURL(%q).String() = %q, IsDID %v", tc.input, u.String(), u.IsDID())
				}
			case "invalid":
				if CodeOf(errD) != CodeInvalidDID {
					t.Errorf("Parse(%q) error = %v, want %s", tc.input, errD, CodeInvalidDID)
				}
				if CodeOf(errU) != CodeInvalidDIDURL {
					t.Errorf("ParseURL(%q) error = %v, want %s", tc.input, errU, CodeInvalidDIDURL)
				}
			default:
				t.Fatalf("unknown expect %q", tc.expect)
			}
		})
	}
}

func TestParseURLParts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want URL
	}{
		{"did:example:123", URL{DID: DID{"example", "123"}}},
		{"did:example:123/p/q", URL{DID: DID{"example", "123"}, Path: "/p/q"}},
		{"did:example:123?versionId=1", URL{DID: DID{"example", "123"}, Query: "versionId=1"}},
		{"did:example:123#key-1", URL{DID: DID{"example", "123"}, Fragment: "key-1"}},
		{"did:example:a:b/c?d=e#f?g/h", URL{DID: DID{"example", "a:b"}, Path: "/c", Query: "d=e", Fragment: "f?g/h"}},
	}
	for _, tc := range tests {
		got, err := ParseURL(tc.in)
		if err != nil {
			t.Fatalf("ParseURL(%q) = %v", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseURL(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestLengthLimit(t *testing.T) {
	t.Parallel()
	long := "did:example:" + strings.Repeat("a", MaxLength)
	if _, err := Parse(long); CodeOf(err) != CodeInvalidDID {
		t.Errorf("Parse(long) = %v, want %s", err, CodeInvalidDID)
	}
	ok := "did:example:" + strings.Repeat("a", MaxLength-len("did:example:"))
	if _, err := Parse(ok); err != nil {
		t.Errorf("Parse(%d bytes) = %v", len(ok), err)
	}
}

func TestResolveReference(t *testing.T) {
	t.Parallel()
	base := DID{"example", "123"}
	tests := []struct {
		ref  string
		want string
		code Code
	}{
		{ref: "#key-1", want: "did:example:123#key-1"},
		{ref: "?versionId=2#k", want: "did:example:123?versionId=2#k"},
		{ref: "/path", want: "did:example:123/path"},
		{ref: "did:other:9#k", want: "did:other:9#k"},
		{ref: "key-1", code: CodeInvalidDIDURL},
		{ref: "", code: CodeInvalidDIDURL},
		{ref: "#", code: CodeInvalidDIDURL},
		{ref: "#a b", code: CodeInvalidDIDURL},
		{ref: "https://example.com/#k", code: CodeInvalidDIDURL},
	}
	for _, tc := range tests {
		got, err := ResolveReference(base, tc.ref)
		if CodeOf(err) != tc.code {
			t.Errorf("ResolveReference(%q) error = %v, want code %q", tc.ref, err, tc.code)
			continue
		}
		if err == nil && got.String() != tc.want {
			t.Errorf("ResolveReference(%q) = %q, want %q", tc.ref, got, tc.want)
		}
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	u, _ := ParseURL("did:example:1?versionId=3&service=files")
	p, err := u.Params()
	if err != nil || p.Get("versionId") != "3" || p.Get("service") != "files" {
		t.Errorf("Params() = %v, %v", p, err)
	}
	u, _ = ParseURL("did:example:1?service=a&service=b")
	if _, err := u.Params(); CodeOf(err) != CodeInvalidDIDURL {
		t.Errorf("Params() with duplicate = %v, want %s", err, CodeInvalidDIDURL)
	}
}

func TestErrorShape(t *testing.T) {
	t.Parallel()
	_, err := Parse("nope")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidDID {
		t.Fatalf("Parse error %v is not an *Error with %s", err, CodeInvalidDID)
	}
	p := ProblemOf(e)
	if p.Type != "https://www.w3.org/ns/did#INVALID_DID" {
		t.Errorf("ProblemOf().Type = %q", p.Type)
	}
	if got := p.Err(); got.Code != CodeInvalidDID {
		t.Errorf("Problem.Err().Code = %q", got.Code)
	}
	for _, typ := range []string{"https://other.example#X", "https://www.w3.org/ns/did#MADE_UP", ""} {
		if got := (&Problem{Type: typ}).Err(); got.Code != CodeInternalError {
			t.Errorf("problem type %q gave %q", typ, got.Code)
		}
	}
}

// FuzzParseDID checks that Parse never panics and that what it accepts
// prints back to the same string, which ParseURL also accepts.
func FuzzParseDID(f *testing.F) {
	for _, tc := range loadSyntaxCases(f) {
		f.Add(tc.input)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if CodeOf(err) != CodeInvalidDID {
				t.Fatalf("Parse(%q) error without code: %v", s, err)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, d.String())
		}
		u, err := ParseURL(s)
		if err != nil || !u.IsDID() || u.DID != d {
			t.Fatalf("ParseURL(%q) = %+v, %v; Parse gave %+v", s, u, err, d)
		}
	})
}

// FuzzParseURL checks ParseURL the same way, and that a DID URL's DID part
// parses as a DID.
func FuzzParseURL(f *testing.F) {
	for _, tc := range loadSyntaxCases(f) {
		f.Add(tc.input)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			if CodeOf(err) != CodeInvalidDIDURL {
				t.Fatalf("ParseURL(%q) error without code: %v", s, err)
			}
			return
		}
		if u.String() != s {
			t.Fatalf("ParseURL(%q).String() = %q", s, u.String())
		}
		d, err := Parse(u.DID.String())
		if err != nil || d != u.DID {
			t.Fatalf("Parse(%q) = %v, %v", u.DID.String(), d, err)
		}
		u2, err := ParseURL(u.String())
		if err != nil || u2 != u {
			t.Fatalf("reparse %q = %+v, %v", u.String(), u2, err)
		}
	})
}
