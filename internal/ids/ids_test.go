package ids

import (
	"strings"
	"testing"
)

func TestRandomAndNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := Random(16)
		if len(s) != 22 || strings.ContainsAny(s, "+/=") || seen[s] {
			t.Fatalf("Random(16) = %q (repeat: %v)", s, seen[s])
		}
		seen[s] = true
	}
	if id := New("cred_"); !strings.HasPrefix(id, "cred_") || len(id) != len("cred_")+16 {
		t.Fatalf("New = %q", id)
	}
}
