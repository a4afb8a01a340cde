package jose

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseJSON decodes one JSON value (RFC 8259) strictly, in one pass, into
// the types encoding/json uses for `any`, except that numbers are
// json.Number. Unlike encoding/json it refuses duplicate object member
// names (RFC 7515 §4 and RFC 9901 both require recipients to), invalid
// UTF-8 (instead of replacing it), nesting deeper than maxDepth, and
// trailing data. It is the decoder for every untrusted JOSE header, JWT
// payload and disclosure on the verification path.
//
// data may be a string or a byte slice; a string is parsed without a
// copy, and the strings in the result are substrings of it.
func ParseJSON[T ~string | ~[]byte](data T, maxDepth int) (any, error) {
	return parseJSON(string(data), maxDepth, false)
}

// parseJSON is ParseJSON; with check set it validates only, building no
// values (CheckJSON).
func parseJSON(text string, maxDepth int, check bool) (any, error) {
	return parseJSONRoom(text, maxDepth, check, 0)
}

// parseJSONRoom is parseJSON, making a top-level object's map with room
// for that many more members.
func parseJSONRoom(text string, maxDepth int, check bool, room int) (any, error) {
	stack := stacks.Get().(*[]member)
	p := jsonParser{text: text, maxDepth: maxDepth, stack: (*stack)[:0], check: check, room: room}
	defer func() {
		// A stack a huge document grew is left to the collector; a kept
		// one loses its references to the parsed values.
		if cap(p.stack) <= maxKeptStack {
			*stack = p.stack[:0]
			clear((*stack)[:p.used]) // entries past it were not written
			stacks.Put(stack)
		}
	}()
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.text) {
		return nil, p.errorf("trailing data")
	}
	return v, nil
}

// ParseJSONObject is ParseJSON for a value that must be an object.
func ParseJSONObject[T ~string | ~[]byte](data T, maxDepth int) (map[string]any, error) {
	return ParseJSONObjectRoom(data, maxDepth, 0)
}

// ParseJSONObjectRoom is ParseJSONObject with the object's map made with
// room for that many more members, for a caller that adds them in place
// (an SD-JWT's disclosed claims) without growing it.
func ParseJSONObjectRoom[T ~string | ~[]byte](data T, maxDepth, room int) (map[string]any, error) {
	v, err := parseJSONRoom(string(data), maxDepth, false, max(room, 0))
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("JSON value is not an object")
	}
	return m, nil
}

// errTooDeep is wrapped by ParseJSON errors about nesting.
var errTooDeep = errors.New("JSON nested too deeply")

// IsTooDeep reports whether a ParseJSON or CheckJSON error is about depth.
func IsTooDeep(err error) bool { return errors.Is(err, errTooDeep) }

type jsonParser struct {
	// text is the document: strings without escapes, member names and
	// numbers are substrings of it, which costs no allocation each.
	text     string
	i        int
	maxDepth int
	stack    []member
	used     int  // the most entries stack has held
	room     int  // extra members to make room for in a top-level object
	check    bool // validate only: values are nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("JSON at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.text) {
		switch p.text[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.i >= len(p.text) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.text[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		if p.check || err != nil {
			return nil, err
		}
		return s, nil
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := p.number()
		if p.check || err != nil {
			return nil, err
		}
		return n, nil
	}
	return nil, p.errorf("unexpected character %q", p.text[p.i])
}

func (p *jsonParser) literal(lit string) error {
	if len(p.text)-p.i < len(lit) || p.text[p.i:p.i+len(lit)] != lit {
		return p.errorf("invalid literal")
	}
	p.i += len(lit)
	return nil
}

// object and array gather members on p.stack and then allocate the map
// or slice once, at its final size.
func (p *jsonParser) object(depth int) (any, error) {
	if depth > p.maxDepth {
		return nil, fmt.Errorf("%w (limit %d)", errTooDeep, p.maxDepth)
	}
	p.i++ // {
	base := len(p.stack)
	defer func() { p.stack = p.stack[:base] }()
	p.skipSpace()
	if p.i < len(p.text) && p.text[p.i] == '}' {
		p.i++
		return map[string]any{}, nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.text) || p.text[p.i] != '"' {
			return nil, p.errorf("want a member name")
		}
		at := p.i
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.text) || p.text[p.i] != ':' {
			return nil, p.errorf("want ':'")
		}
		p.i++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.stack = append(p.stack, member{k, v, at})
		p.used = max(p.used, len(p.stack))
		p.skipSpace()
		if p.i >= len(p.text) {
			return nil, p.errorf("unexpected end in object")
		}
		switch p.text[p.i] {
		case ',':
			p.i++
			continue
		case '}':
			p.i++
		default:
			return nil, p.errorf("want ',' or '}'")
		}
		members := p.stack[base:]
		if p.check {
			return nil, p.checkNames(members)
		}
		size := len(members)
		if depth == 1 {
			size += p.room
		}
		m := make(map[string]any, size)
		for _, mb := range members {
			if _, dup := m[mb.name]; dup {
				p.i = mb.at
				return nil, p.errorf("duplicate member %q", mb.name)
			}
			m[mb.name] = mb.value
		}
		return m, nil
	}
}

// checkNames finds a duplicate member name without building the object.
func (p *jsonParser) checkNames(members []member) error {
	dup := func(mb member) error {
		p.i = mb.at
		return p.errorf("duplicate member %q", mb.name)
	}
	if len(members) <= 16 {
		for i := 1; i < len(members); i++ {
			for j := range i {
				if members[j].name == members[i].name {
					return dup(members[i])
				}
			}
		}
		return nil
	}
	seen := make(map[string]bool, len(members))
	for _, mb := range members {
		if seen[mb.name] {
			return dup(mb)
		}
		seen[mb.name] = true
	}
	return nil
}

// maxKeptStack bounds the member stacks kept for reuse.
const maxKeptStack = 256

// stacks holds parsers' member stacks for reuse.
var stacks = sync.Pool{New: func() any { s := make([]member, 0, 32); return &s }}

// member is an object member or (with no name) an array element being
// parsed; at is where it starts, for errors.
type member struct {
	name  string
	value any
	at    int
}

func (p *jsonParser) array(depth int) (any, error) {
	if depth > p.maxDepth {
		return nil, fmt.Errorf("%w (limit %d)", errTooDeep, p.maxDepth)
	}
	p.i++ // [
	base := len(p.stack)
	defer func() { p.stack = p.stack[:base] }()
	p.skipSpace()
	if p.i < len(p.text) && p.text[p.i] == ']' {
		p.i++
		return []any{}, nil
	}
	for {
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.stack = append(p.stack, member{value: v})
		p.used = max(p.used, len(p.stack))
		p.skipSpace()
		if p.i >= len(p.text) {
			return nil, p.errorf("unexpected end in array")
		}
		switch p.text[p.i] {
		case ',':
			p.i++
			continue
		case ']':
			p.i++
		default:
			return nil, p.errorf("want ',' or ']'")
		}
		if p.check {
			return nil, nil
		}
		a := make([]any, len(p.stack)-base)
		for i, el := range p.stack[base:] {
			a[i] = el.value
		}
		return a, nil
	}
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	d := p.text
	if p.i < len(d) && d[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(d) && d[p.i] == '0':
		p.i++
	case p.i < len(d) && d[p.i] >= '1' && d[p.i] <= '9':
		for p.i < len(d) && d[p.i] >= '0' && d[p.i] <= '9' {
			p.i++
		}
	default:
		return nil, p.errorf("invalid number")
	}
	if p.i < len(d) && d[p.i] == '.' {
		p.i++
		n := p.i
		for p.i < len(d) && d[p.i] >= '0' && d[p.i] <= '9' {
			p.i++
		}
		if p.i == n {
			return nil, p.errorf("invalid number")
		}
	}
	if p.i < len(d) && (d[p.i] == 'e' || d[p.i] == 'E') {
		p.i++
		if p.i < len(d) && (d[p.i] == '+' || d[p.i] == '-') {
			p.i++
		}
		n := p.i
		for p.i < len(d) && d[p.i] >= '0' && d[p.i] <= '9' {
			p.i++
		}
		if p.i == n {
			return nil, p.errorf("invalid number")
		}
	}
	return json.Number(p.text[start:p.i]), nil
}

// plain8 says whether the eight bytes in x are all ASCII characters that
// a JSON string may hold as they are: none is '"', '\\', a control
// character or a byte of a multi-byte UTF-8 sequence. It may say false
// of plain bytes (the caller then looks at them one at a time), never
// true of others.
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	return (x|(x-ones*0x20)|zero(x^(ones*'"'))|zero(x^(ones*'\\')))&highs == 0
}

// load64 reads eight bytes of s, little-endian (the compiler makes this
// one load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func (p *jsonParser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	d := p.text
	// Fast path: no escapes, ASCII or valid UTF-8.
	ascii := true
	for p.i < len(d) {
		// Eight plain ASCII characters at a time.
		for p.i+8 <= len(d) && plain8(load64(d[p.i:])) {
			p.i += 8
		}
		if p.i >= len(d) {
			break
		}
		c := d[p.i]
		if c == '"' {
			s := p.text[start:p.i]
			p.i++
			if !ascii && !utf8.ValidString(s) {
				return "", p.errorf("invalid UTF-8 in string")
			}
			return s, nil
		}
		ascii = ascii && c < utf8.RuneSelf
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errorf("control character in string")
		}
		p.i++
	}
	buf := make([]byte, 0, p.i-start+16)
	buf = append(buf, d[start:p.i]...)
	for p.i < len(d) {
		c := d[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(buf) {
				return "", p.errorf("invalid UTF-8 in string")
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(d) {
			break
		}
		p.i++
		switch e := d[p.i]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4(p.i + 1)
			if !ok {
				return "", p.errorf("invalid \\u escape")
			}
			p.i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if p.i+2 < len(d) && d[p.i+1] == '\\' && d[p.i+2] == 'u' {
					r2, ok = p.hex4(p.i + 3)
				}
				dec := utf16.DecodeRune(r, r2)
				if !ok || dec == utf8.RuneError {
					return "", p.errorf("unpaired surrogate")
				}
				p.i += 6
				r = dec
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape")
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.text) {
		return 0, false
	}
	var r rune
	for _, c := range p.text[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
