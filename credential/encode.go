package credential

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// Issuance writes JSON by appending to byte slices instead of building
// maps for encoding/json: it is most of an issuance's cost after the
// signature. The output is byte for byte what json.Marshal writes (sorted
// keys, HTML-safe escapes), which TestAppendJSONMatchesEncodingJSON checks.
//
// Why match json.Marshal rather than, say, RFC 9901's printed examples
// (which put a space after "," and ":")? Any JSON is valid in an SD-JWT,
// since the digests are over the bytes as sent; json.Marshal's form is
// the shortest, is what the rest of Tong (and most Go code reading our
// credentials back) writes, and has a reference implementation to test
// against. The issuer falls back to json.Marshal for any type without a
// fast path here, and the two must agree, or a claim's bytes would
// depend on its Go type. TestIssueRFC9901Main pins the result.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as json.Marshal does:
// ", \ and control characters escaped (\b \f \n \r \t short forms,
// others \u00XX), <, > and & as \u003c \u003e \u0026 (HTML-safe),
// U+2028 and U+2029 as \u2028 \u2029 (JavaScript-safe), invalid UTF-8 as
// \ufffd, and every other character as its UTF-8 bytes. Runs of bytes
// that need no escape are copied in one append (s[start:i]).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendScalar appends a JSON value that is not a map[string]any or an
// []any. Types without a fast path go through json.Marshal.
func appendScalar(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		// encoding/json's format in the common range; the rest (exponent
		// form, NaN and infinities) is left to it.
		if a := math.Abs(x); a == 0 || (a >= 1e-6 && a < 1e21) {
			return strconv.AppendFloat(dst, x, 'f', -1, 64), nil
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, raw...), nil
}
