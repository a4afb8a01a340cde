package jcs

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	gowebpki "github.com/gowebpki/jcs"
)

// The RFC 8785 reference test cases (see testdata/README.md).
func TestVectors(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/input/*.json")
	if len(inputs) < 10 {
		t.Fatalf("found %d vectors", len(inputs))
	}
	for _, in := range inputs {
		raw, _ := os.ReadFile(in)
		want, err := os.ReadFile(filepath.Join("testdata/output", filepath.Base(in)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Transform(raw)
		if err != nil || !bytes.Equal(got, bytes.TrimRight(want, "\n")) {
			t.Errorf("%s:\n got %s, %v\nwant %s", filepath.Base(in), got, err, want)
		}
	}
}

// Numbers from RFC 8785 Appendix B and ECMAScript's edge cases.
func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"}, {0x8000000000000000, "0"}, {0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"}, {0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"}, {0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"}, {0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"}, {0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"}, {0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"}, {0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"}, {0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"}, {0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"}, {0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"}, {0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	} {
		got, err := appendNumber(nil, math.Float64frombits(tc.bits))
		if err != nil || string(got) != tc.want {
			t.Errorf("%016x: got %s, %v; want %s", tc.bits, got, err, tc.want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := appendNumber(nil, f); err == nil {
			t.Errorf("%v accepted", f)
		}
	}
	if _, err := Transform([]byte(`[1e400]`)); err == nil {
		t.Error("1e400 accepted")
	}
}

// Our canonical form is gowebpki/jcs's (the implementation we used
// before) on every input both accept, and our numbers are its numbers.
func FuzzTransform(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/input/*.json")
	for _, in := range inputs {
		raw, _ := os.ReadFile(in)
		f.Add(raw)
	}
	f.Add([]byte(`{"a":[1,2.5,-0,1e21,1e-7,123456789012345678901234567890],"\ue000":1,"\U0001F600":2,"b":"\u2028<>&\u007f"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Transform(data)
		if err != nil {
			return
		}
		want, err := gowebpki.Transform(data)
		if err != nil {
			return // gowebpki refuses some inputs we accept (e.g. deep nesting); no comparison
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Transform(%q)\n got %s\nwant %s", data, got, want)
		}
	})
}

func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "5e-324", "1e21", "1e-7", "333333333.33333329", "9007199254740993"} {
		v, _ := strconv.ParseFloat(s, 64)
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		got, err := appendNumber(nil, v)
		want, err2 := gowebpki.NumberToJSON(v)
		if err != nil || err2 != nil || string(got) != want {
			t.Fatalf("%016x: got %s, %v; gowebpki %s, %v", bits, got, err, want, err2)
		}
	})
}
