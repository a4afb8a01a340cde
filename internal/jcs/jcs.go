// Package jcs writes the JSON Canonicalization Scheme form (RFC 8785) of
// JSON values: members sorted by their names' UTF-16 code units, numbers
// as ECMAScript writes them, strings with the fewest escapes, no
// whitespace. It works on the values jose.ParseJSON returns, so that one
// strict parse serves both the checks and the canonical form.
package jcs

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tongid/tong/internal/jose"
)

// MaxDepth bounds the nesting Transform accepts.
const MaxDepth = 64

// Transform returns the canonical form of the JSON text data, which is
// parsed strictly (jose.ParseJSON: no duplicate member names, valid
// UTF-8, one value).
func Transform(data []byte) ([]byte, error) {
	v, err := jose.ParseJSON(data, MaxDepth)
	if err != nil {
		return nil, fmt.Errorf("jcs: %w", err)
	}
	return Append(make([]byte, 0, len(data)), v)
}

// Append appends the canonical form of v: a map[string]any, []any,
// string, json.Number, float64, int, int64, bool or nil, nested.
func Append(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		return appendString(dst, x), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("jcs: number %s is not an IEEE 754 double", x)
		}
		return appendNumber(dst, f)
	case float64:
		return appendNumber(dst, x)
	case int:
		return appendNumber(dst, float64(x))
	case int64:
		return appendNumber(dst, float64(x))
	case []any:
		dst = append(dst, '[')
		for i, el := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = Append(dst, el); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		names := make([]string, 0, len(x))
		ascii := true
		for k := range x {
			names = append(names, k)
			ascii = ascii && isASCII(k)
		}
		// Spec: RFC 8785 §3.2.3: members are sorted by their names as
		// arrays of UTF-16 code units. For ASCII names that is byte order.
		if ascii {
			slices.Sort(names)
		} else {
			slices.SortFunc(names, compareUTF16)
		}
		dst = append(dst, '{')
		for i, k := range names {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(dst, k), ':')
			var err error
			if dst, err = Append(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("jcs: cannot canonicalize a %T", v)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// compareUTF16 orders a and b by their UTF-16 code units. It differs from
// byte (code point) order only where a character above U+FFFF, written as
// surrogates D800–DFFF, meets one in U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return cmp.Compare(unit(ra), unit(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// unit is the first UTF-16 code unit of r; for distinct runes with equal
// first units (two supplementary characters with the same high
// surrogate) it falls back to the rune, which orders the second unit the
// same way.
func unit(r rune) uint32 {
	if r > 0xFFFF {
		hi, _ := utf16.EncodeRune(r)
		return uint32(hi)<<16 | uint32(r&0x3FF)
	}
	return uint32(r) << 16
}

// appendString escapes as RFC 8785 §3.2.2.2 says: '"', '\\' and control
// characters only, with the short forms where JSON has them.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	return append(append(dst, s[start:]...), '"')
}

var errNotFinite = errors.New("jcs: NaN and infinities have no JSON form")

// appendNumber writes f as ECMAScript's Number.prototype.toString does
// (ECMA-262 §6.1.6.1.20), which RFC 8785 §3.2.2.3 requires: the shortest
// digits that round-trip, in plain notation for exponents from -6 to 20.
func appendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errNotFinite
	}
	if f == 0 {
		return append(dst, '0'), nil // -0 too
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d[.ddd]e±XX
	mark := slices.Index(e, 'e')
	exp, _ := strconv.Atoi(string(e[mark+1:]))
	digits := make([]byte, 0, 17)
	digits = append(digits, e[0])
	if mark > 1 {
		digits = append(digits, e[2:mark]...)
	}
	// The value is digits × 10^(n−k), in the standard's terms.
	k, n := len(digits), exp+1
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(append(append(dst, digits[:n]...), '.'), digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(append(dst, '.'), digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst, nil
}
