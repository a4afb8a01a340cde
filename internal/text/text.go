// Package text checks the short names and labels that people type and
// other people later read: API token labels, agency, counter and
// credential type names, official and topic names. Such a name is shown in
// consoles, logs, audit trails and terminals, so it must not carry bytes
// that change how the text around it is displayed.
//
// [Name] refuses a value that is not valid UTF-8 or that holds:
//
//   - NUL or any other C0 or C1 control character (U+0000–U+001F,
//     U+007F–U+009F), which covers CR, LF and TAB: a name is one line;
//   - a bidirectional embedding, override or isolate (U+202A–U+202E,
//     U+2066–U+2069) or a directional mark (U+200E, U+200F, U+061C), which
//     make "txt.exe" look like "exe.txt" (CVE-2021-42574, "Trojan Source");
//   - a line or paragraph separator (U+2028, U+2029), the byte-order mark
//     (U+FEFF) or a noncharacter (U+FFFE, U+FFFF);
//
// and a value longer than [MaxName] bytes.
//
// Every refusal is an [*Error] with the stable code [CodeInvalidText], which
// internal/httpx answers as 400.
//
// # Example
//
//	if err := text.Name("label", req.Label); err != nil {
//		return nil, err // 400 invalid_text: "label holds a control character at byte 3"
//	}
package text

import (
	"fmt"
	"unicode/utf8"

	"github.com/tongid/tong/internal/fault"
)

// Code is the stable code of a refusal.
type Code string

// CodeInvalidText is the stable error code of every refusal.
const CodeInvalidText Code = "invalid_text"

// MaxName is the longest name accepted, in bytes (170 Chinese characters).
const MaxName = 512

// Error says which field was refused and why: the shared error with Code
// [CodeInvalidText] and a Description that names the field and the byte
// offset, never echoes the value (the value may be the attack). Its
// message is the Description alone ("label holds a control character at
// byte 3"), as people read it in consoles.
type Error struct {
	base
	Field string
	// Offset is the byte offset of the first bad character.
	Offset int
}

// base is the fault.Error that an [Error] extends.
type base = fault.Error[Code, fault.Bare]

func (e *Error) Error() string { return e.Description }

func refusal(field, reason string, offset int) *Error {
	return &Error{base: base{Code: CodeInvalidText, Description: fmt.Sprintf("%s %s at byte %d", field, reason, offset)}, Field: field, Offset: offset}
}

// Name returns an *Error when s holds invalid UTF-8 or a character that
// package text refuses (see the package documentation), and nil otherwise.
// field names the input in the message ("label", "name"). The empty string
// is accepted: whether a name is required is the caller's rule.
func Name(field, s string) error {
	if len(s) > MaxName {
		return refusal(field, fmt.Sprintf("is longer than %d bytes", MaxName), MaxName)
	}
	for i, r := range s {
		if reason := refused(r, s[i:]); reason != "" {
			return refusal(field, reason, i)
		}
	}
	return nil
}

// Names is Name for each of values, all under one field name.
func Names(field string, values ...string) error {
	for _, v := range values {
		if err := Name(field, v); err != nil {
			return err
		}
	}
	return nil
}

// refused names what is wrong with rune r (rest starts at it), or "".
func refused(r rune, rest string) string {
	switch {
	case r == utf8.RuneError:
		if _, size := utf8.DecodeRuneInString(rest); size <= 1 {
			return "is not valid UTF-8"
		}
		return "" // a real U+FFFD, written out
	case r == 0:
		return "holds a NUL byte"
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		return "holds a control character"
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return "holds a bidirectional control character"
	case r == 0x2028, r == 0x2029:
		return "holds a line separator"
	case r == 0xfeff, r == 0xfffe, r == 0xffff:
		return "holds a byte-order mark or noncharacter"
	}
	return ""
}

// HeaderValue reports whether v may be written as an HTTP header field
// value: no NUL, CR or LF (RFC 9110 §5.5: "a recipient MUST ... reject
// the message or replace each of those characters with SP"; a sender has no
// such excuse).
func HeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case 0, '\r', '\n':
			return false
		}
	}
	return true
}
