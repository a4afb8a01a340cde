package faulttest_test

import (
	"slices"
	"testing"

	"github.com/tongid/tong/internal/fault/faulttest"
)

func TestCodes(t *testing.T) {
	t.Parallel()
	got := faulttest.Codes(t, "testdata", "Code")
	want := []string{"not_found", "conflict", "grouped_a", "grouped_b"}
	if !slices.Equal(got, want) {
		t.Errorf("Codes(testdata) = %q, want %q", got, want)
	}
}
