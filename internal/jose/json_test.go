package jose

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var jsonSeeds = []string{
	`{}`, `[]`, `{"a":1,"b":[1,2,{"c":null}],"d":"\u00e9\n\"","e":-1.5e+3,"f":true,"g":false}`,
	`{"_sd":["a","b","c","d","e","f","g","h","i","j","k"],"iss":"x","cnf":{"jwk":{"kty":"EC"}}}`,
	`[[[[1]]],[],{},""]`, `"\ud83d\ude00"`, `  {"王":"芳"}  `, `{"a":{"a":{"a":{}}}}`, `0`, `-0.0e-0`,
}

// ParseJSON agrees with encoding/json on everything it accepts.
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseJSON(data, 32)
		if cerr := CheckJSON(data, 32); (cerr == nil) != (err == nil) {
			t.Fatalf("CheckJSON(%q) = %v but ParseJSON = %v", data, cerr, err)
		}
		if err != nil {
			return
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var want any
		if err := d.Decode(&want); err != nil {
			t.Fatalf("ParseJSON accepted %q, encoding/json says %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseJSON(%q) = %#v, encoding/json %#v", data, got, want)
		}
	})
}

func TestParseJSONRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"a":2}`, "duplicate member"},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"a":18}`, "duplicate member"},
		{`{"a":{"b":1,"c":[{"d":1,"d":1}]}}`, "duplicate member"},
		{"\"\xff\"", "invalid UTF-8"},
		{`{"a":1} x`, "trailing data"},
		{`{"a":1,}`, "want a member name"},
		{`[1,]`, "unexpected character"},
		{`"\ud800"`, "unpaired surrogate"},
		{"\"a\x01\"", "control character"},
		{`01`, "trailing data"},
		{`{"a" 1}`, "want ':'"},
		{`[1 2]`, "want ',' or ']'"},
		{strings.Repeat("[", 40) + strings.Repeat("]", 40), "nested too deeply"},
	} {
		if _, err := ParseJSON([]byte(tc.in), 32); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseJSON(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
		if err := CheckJSON([]byte(tc.in), 32); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckJSON(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	// Strings and numbers come back intact, escaped or not, after nesting.
	v, err := ParseJSON([]byte(`{"k":["x\"y",{"n":12.50,"s":"plain"}],"z":"é"}`), 32)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"k": []any{`x"y`, map[string]any{"n": json.Number("12.50"), "s": "plain"}}, "z": "é"}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got %#v", v)
	}
}

// plain8 must never call a word plain that holds a byte the string loop
// has to look at; it may miss plain words (they are then read bytewise).
func TestPlain8(t *testing.T) {
	t.Parallel()
	plain := func(b byte) bool { return b >= 0x20 && b < 0x80 && b != '"' && b != '\\' }
	for b := 0; b < 256; b++ {
		for pos := range 8 {
			for _, fill := range []byte{' ', 'a', 0x7f} {
				w := bytes.Repeat([]byte{fill}, 8)
				w[pos] = byte(b)
				if got := plain8(binary.LittleEndian.Uint64(w)); got && !plain(byte(b)) {
					t.Fatalf("plain8(%q) = true, but %#x is not plain", w, b)
				}
			}
		}
	}
	if !plain8(binary.LittleEndian.Uint64([]byte("abcdefgh"))) {
		t.Error(`plain8("abcdefgh") = false; the fast path never runs`)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		x := r.Uint64()
		all := true
		for i := range 8 {
			all = all && plain(byte(x>>(8*i)))
		}
		if plain8(x) && !all {
			t.Fatalf("plain8(%#016x) = true, but a byte is not plain", x)
		}
	}
}
