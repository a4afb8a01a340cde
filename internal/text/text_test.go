package text_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tongid/tong/internal/text"
)

func TestName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		in     string
		ok     bool
		offset int
	}{
		{"plain", "Dongcheng hall – payments", true, 0},
		{"chinese", "北京市公安局", true, 0},
		{"empty", "", true, 0},
		{"real replacement character", "a\uFFFDb", true, 0},
		{"nul", "ab\x00c", false, 2},
		{"newline", "a\nSet-Cookie: x", false, 1},
		{"carriage return", "a\rb", false, 1},
		{"tab", "a\tb", false, 1},
		{"escape", "\x1b[31mred", false, 0},
		{"delete", "a\x7f", false, 1},
		{"c1 control", "a\u0085b", false, 1},
		{"rlo", "invoice\u202Etxt.exe", false, 7},
		{"lre", "\u202Aa", false, 0},
		{"pdf", "a\u202C", false, 1},
		{"lri", "a\u2066b", false, 1},
		{"pdi", "a\u2069", false, 1},
		{"rlm", "a\u200Fb", false, 1},
		{"line separator", "a\u2028b", false, 1},
		{"bom", "\uFEFFname", false, 0},
		{"invalid utf-8", "ab\xffcd", false, 2},
		{"truncated utf-8", "ab\xe5\x8c", false, 2},
		{"overlong", "\xc0\xaf", false, 0},
		{"surrogate", "\xed\xa0\x80", false, 0},
		{"longest", strings.Repeat("北", text.MaxName/3), true, 0},
		{"too long", strings.Repeat("a", text.MaxName+1), false, text.MaxName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := text.Name("label", tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("Name(%q) = %v, want nil", tc.in, err)
				}
				return
			}
			var te *text.Error
			if !errors.As(err, &te) {
				t.Fatalf("Name(%q) = %v, want *text.Error", tc.in, err)
			}
			if te.Code != text.CodeInvalidText || te.Field != "label" || te.Offset != tc.offset {
				t.Errorf("Name(%q) = {%s %s %d}, want {%s label %d}", tc.in, te.Code, te.Field, te.Offset, text.CodeInvalidText, tc.offset)
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	if err := text.Names("display name", "ok", "also ok"); err != nil {
		t.Errorf("Names(ok, also ok) = %v, want nil", err)
	}
	var te *text.Error
	if err := text.Names("display name", "ok", "bad\x00"); !errors.As(err, &te) || te.Field != "display name" {
		t.Errorf("Names(ok, bad NUL) = %v, want *text.Error for display name", err)
	}
}

func TestHeaderValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"/agency/", true}, {"a b\tc", true}, {"/a\x00b", false}, {"/a\r\nSet-Cookie: x", false}, {"/a\nb", false},
	} {
		if got := text.HeaderValue(tc.in); got != tc.ok {
			t.Errorf("HeaderValue(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

func FuzzName(f *testing.F) {
	for _, s := range []string{"a", "北京", "\u202E", "\x00", "\xff", "a\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := text.Name("f", s); err == nil {
			// Whatever passes is one line of valid UTF-8 without controls.
			for _, r := range s {
				if r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
					t.Fatalf("Name(%q) accepted %U", s, r)
				}
			}
			if !text.HeaderValue(s) {
				t.Fatalf("Name(%q) accepted a value that is no header value", s)
			}
		}
	})
}

func ExampleName() {
	fmt.Println(text.Name("label", "counter 3"))
	fmt.Println(text.Name("label", "invoice\u202Etxt.exe"))
	// Output:
	// <nil>
	// label holds a bidirectional control character at byte 7
}
