package inquiries

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCleanText: any input either is refused with invalid_request or comes
// out trimmed, valid UTF-8, within the bound, without control characters
// other than newline and tab; and cleaning is idempotent.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "  hi  ", "a\r\nb", "\x00", "a\xffb", strings.Repeat("问", MaxText), strings.Repeat("x", MaxText+1), "<script>", "\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := cleanText("text", in, MaxText, true)
		if err != nil {
			if CodeOf(err) != CodeInvalidRequest {
				t.Fatalf("cleanText(%q) error %v, want invalid_request", in, err)
			}
			return
		}
		if out == "" || !utf8.ValidString(out) || utf8.RuneCountInString(out) > MaxText || out != strings.TrimSpace(out) || strings.Contains(out, "\r\n") {
			t.Fatalf("cleanText(%q) = %q", in, out)
		}
		for _, r := range out {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
				t.Fatalf("cleanText(%q) kept control character %U", in, r)
			}
		}
		again, err := cleanText("text", out, MaxText, true)
		if err != nil || again != out {
			t.Fatalf("cleanText is not idempotent on %q: %q %v", out, again, err)
		}
	})
}
