package did

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"

	"github.com/tongid/tong/internal/jose"
)

// maxJSONDepth bounds nesting in documents and JWKs.
const maxJSONDepth = 32

// checkJSON rejects what encoding/json lets through but a strict parser must
// not: duplicate object keys at any depth (two "id"s could be read
// differently by two implementations), nesting deeper than maxJSONDepth,
// trailing data, and invalid UTF-8.
func checkJSON(data []byte) error {
	return jose.CheckJSON(data, maxJSONDepth)
}

// isJSONNull reports whether raw is the literal null.
func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// objectWriter writes a JSON object with members in a fixed order.
type objectWriter struct {
	buf bytes.Buffer
	n   int
	err error
}

func (w *objectWriter) raw(name string, v []byte) {
	if w.err != nil {
		return
	}
	if w.n == 0 {
		w.buf.WriteByte('{')
	} else {
		w.buf.WriteByte(',')
	}
	w.n++
	k, _ := json.Marshal(name)
	w.buf.Write(k)
	w.buf.WriteByte(':')
	w.buf.Write(v)
}

func (w *objectWriter) field(name string, v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = err
		return
	}
	w.raw(name, b)
}

// extra writes the members of m in key order, refusing names that the type
// already defines.
func (w *objectWriter) extra(m map[string]json.RawMessage, known map[string]bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if known[k] {
			w.err = errors.New("did: Extra holds defined property " + strconvQuote(k))
			return
		}
		v := m[k]
		if !json.Valid(v) {
			w.err = errors.New("did: Extra property " + strconvQuote(k) + " is not valid JSON")
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, v); err != nil {
			w.err = err
			return
		}
		w.raw(k, c.Bytes())
	}
}

func (w *objectWriter) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.n == 0 {
		return []byte("{}"), nil
	}
	w.buf.WriteByte('}')
	return w.buf.Bytes(), nil
}

// compactRaw returns a valid JSON value in the form json.Marshal writes it
// (compact, with <, >, & and U+2028/9 escaped in strings), so that raw
// members compare equal however the input was written, and marshalling
// does not change them.
func compactRaw(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return append(json.RawMessage(nil), raw...)
	}
	var h bytes.Buffer
	json.HTMLEscape(&h, b.Bytes())
	return h.Bytes()
}
