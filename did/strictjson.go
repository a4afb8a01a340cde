package did

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting in documents and JWKs.
const maxJSONDepth = 32

// checkJSON rejects what encoding/json lets through but a strict parser must
// not: duplicate object keys at any depth (two "id"s could be read
// differently by two implementations), nesting deeper than maxJSONDepth,
// trailing data, and invalid UTF-8.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		// encoding/json would turn bad bytes into U+FFFD silently.
		return errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []jsonFrame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			top := &stack[len(stack)-1]
			if top.wantKV {
				if d, ok := tok.(json.Delim); ok && d == '}' {
					stack = stack[:len(stack)-1]
					markValueDone(stack)
					continue
				}
				k, ok := tok.(string)
				if !ok {
					return errors.New("malformed JSON object")
				}
				if _, dup := top.keys[k]; dup {
					return errors.New("duplicate JSON object key " + strconvQuote(k))
				}
				top.keys[k] = struct{}{}
				top.wantKV = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if len(stack) >= maxJSONDepth {
				return errors.New("JSON nested too deeply")
			}
			stack = append(stack, jsonFrame{obj: true, keys: map[string]struct{}{}, wantKV: true})
		case json.Delim('['):
			if len(stack) >= maxJSONDepth {
				return errors.New("JSON nested too deeply")
			}
			stack = append(stack, jsonFrame{})
		case json.Delim(']'), json.Delim('}'):
			stack = stack[:len(stack)-1]
			markValueDone(stack)
		default:
			markValueDone(stack)
		}
		if len(stack) == 0 {
			if _, err := dec.Token(); err != io.EOF {
				return errors.New("trailing data after JSON value")
			}
			return nil
		}
	}
	return nil
}

// jsonFrame is one open container in checkJSON.
type jsonFrame struct {
	obj    bool
	keys   map[string]struct{}
	wantKV bool // in an object, the next token is a key or '}'
}

// markValueDone records that a value ended inside the innermost container.
func markValueDone(stack []jsonFrame) {
	if len(stack) > 0 && stack[len(stack)-1].obj {
		stack[len(stack)-1].wantKV = true
	}
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
