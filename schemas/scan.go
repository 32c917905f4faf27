package schemas

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxDepth matches encoding/json's nesting limit, so that the scanner and
// json.Valid agree on every input (the fuzz test holds them to it).
const maxDepth = 10000

// errSyntax is the scanner's only error. Its text carries an offset, never
// the offending byte: dead-letter details must be free of personal data.
var errSyntax = errors.New("json syntax error")

func syntaxErrorAt(off int) error {
	return fmt.Errorf("%w at offset %d", errSyntax, off)
}

// span is a half-open byte range [start, end) of the scanned input.
type span struct{ start, end int }

// member is one key/value pair of an object. key spans the key's content
// without its quotes; keyEscaped tells whether it holds backslash escapes.
type member struct {
	key        span
	keyEscaped bool
	value      span
}

// scanner is a strict RFC 8259 scanner over a byte slice. It validates what
// it skips and reports byte spans instead of building values, so callers can
// pick out a few fields and keep every other byte verbatim.
type scanner struct {
	data  []byte
	pos   int
	depth int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// object scans an object starting at s.pos (which must be at '{') and calls
// fn for each member in order, after the member's value has been validated.
// When fn is nil, members are only validated. When descend returns a
// callback for a member whose value is an object, that object's members are
// reported to it during the same pass (the value is scanned only once).
func (s *scanner) object(fn func(member) error, descend func(member) func(member) error) error {
	if empty, err := s.open('}'); empty || err != nil {
		return err
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return syntaxErrorAt(s.pos)
		}
		var m member
		var err error
		m.key, m.keyEscaped, err = s.str()
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return syntaxErrorAt(s.pos)
		}
		s.pos++
		s.skipSpace()
		start := s.pos
		var inner func(member) error
		if descend != nil && s.pos < len(s.data) && s.data[s.pos] == '{' {
			inner = descend(m)
		}
		if inner != nil {
			err = s.object(inner, nil)
		} else {
			err = s.value()
		}
		if err != nil {
			return err
		}
		m.value = span{start, s.pos}
		if fn != nil {
			if err := fn(m); err != nil {
				return err
			}
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

func (s *scanner) array() error {
	if empty, err := s.open(']'); empty || err != nil {
		return err
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

// open enters the object or array at s.pos, whose closing byte is closer,
// and moves to its first item; empty is true (and the container left)
// when it has none.
func (s *scanner) open(closer byte) (empty bool, err error) {
	s.depth++
	if s.depth > maxDepth {
		return false, syntaxErrorAt(s.pos)
	}
	s.pos++ // '{' or '['
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == closer {
		s.pos++
		s.depth--
		return true, nil
	}
	return false, nil
}

// next moves past what follows an item: a comma (to the next item) or the
// closing byte (done, the container left).
func (s *scanner) next(closer byte) (done bool, err error) {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return false, syntaxErrorAt(s.pos)
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
		s.skipSpace()
		return false, nil
	case closer:
		s.pos++
		s.depth--
		return true, nil
	}
	return false, syntaxErrorAt(s.pos)
}

// value validates and skips one value starting at s.pos (no leading space).
func (s *scanner) value() error {
	if s.pos >= len(s.data) {
		return syntaxErrorAt(s.pos)
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(nil, nil)
	case c == '[':
		return s.array()
	case c == '"':
		_, _, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	default:
		return syntaxErrorAt(s.pos)
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return syntaxErrorAt(s.pos)
	}
	s.pos += len(lit)
	return nil
}

// number follows RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	start := s.pos
	if s.data[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(s.data) && s.data[s.pos] == '0':
		s.pos++
	case s.pos < len(s.data) && '1' <= s.data[s.pos] && s.data[s.pos] <= '9':
		s.digits()
	default:
		return syntaxErrorAt(start)
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return syntaxErrorAt(s.pos)
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return syntaxErrorAt(s.pos)
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

// str scans a string starting at s.pos (which must be at '"') and returns
// the span of its content without quotes. Like encoding/json it accepts any
// byte >= 0x20 (invalid UTF-8 included) and rejects raw control characters.
func (s *scanner) str() (content span, escaped bool, err error) {
	s.pos++ // opening quote
	start := s.pos
	for s.pos < len(s.data) {
		// Most bytes of a string need no decision: skip them eight at a
		// time, then one at a time up to the next byte that does.
		for s.pos+8 <= len(s.data) && plainWord(binary.LittleEndian.Uint64(s.data[s.pos:])) {
			s.pos += 8
		}
		for s.pos < len(s.data) && plainStringByte[s.data[s.pos]] {
			s.pos++
		}
		if s.pos >= len(s.data) {
			break
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			content = span{start, s.pos}
			s.pos++
			return content, escaped, nil
		case c == '\\':
			escaped = true
			s.pos++
			if s.pos >= len(s.data) {
				return span{}, false, syntaxErrorAt(s.pos)
			}
			switch s.data[s.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos++
			case 'u':
				s.pos++
				if len(s.data)-s.pos < 4 {
					return span{}, false, syntaxErrorAt(s.pos)
				}
				for _, h := range s.data[s.pos : s.pos+4] {
					if !isHex(h) {
						return span{}, false, syntaxErrorAt(s.pos)
					}
				}
				s.pos += 4
			default:
				return span{}, false, syntaxErrorAt(s.pos)
			}
		case c < 0x20:
			return span{}, false, syntaxErrorAt(s.pos)
		default:
			s.pos++
		}
	}
	return span{}, false, syntaxErrorAt(s.pos)
}

// plainWord reports whether none of the eight bytes of x is a quote, a
// backslash or a control character (below 0x20), the usual bit tricks for
// "has a zero byte" and "has a byte less than n": exact as to whether any
// byte matches, which is all that is asked.
func plainWord(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	quote := hasZero(x ^ (ones * '"'))
	backslash := hasZero(x ^ (ones * '\\'))
	control := (x - ones*0x20) & ^x & highs
	return quote|backslash|control == 0
}

// plainStringByte marks the bytes a string holds as they are: everything
// from 0x20 up but the quote and the backslash.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// scanObject validates that data is exactly one JSON object (surrounding
// whitespace allowed) and calls fn for each of its top-level members; see
// scanner.object for descend.
func scanObject(data []byte, fn func(member) error, descend func(member) func(member) error) error {
	s := scanner{data: data}
	s.skipSpace()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return syntaxErrorAt(s.pos)
	}
	if err := s.object(fn, descend); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(data) {
		return syntaxErrorAt(s.pos)
	}
	return nil
}

// validValue reports whether data is exactly one JSON value of any kind.
func validValue(data []byte) bool {
	s := scanner{data: data}
	s.skipSpace()
	if err := s.value(); err != nil {
		return false
	}
	s.skipSpace()
	return s.pos == len(data)
}

// keyIs reports whether the member's key equals name the way encoding/json
// matches a struct field: exactly or under Unicode case folding.
func keyIs(data []byte, m member, name string) bool {
	if !m.keyEscaped {
		k := data[m.key.start:m.key.end]
		if len(k) == len(name) && string(k) == name {
			return true
		}
		// bytes.EqualFold, not strings.EqualFold(string(k), ...): a key
		// longer than 32 bytes (swedishFinnishPersonalIdentityNumber)
		// would be copied to the heap for the conversion.
		return bytes.EqualFold(k, []byte(name))
	}
	k, ok := unquote(data, m.key)
	return ok && strings.EqualFold(k, name)
}

// unquote returns the decoded content of a string span, replacing invalid
// UTF-8 with U+FFFD exactly as encoding/json does.
func unquote(data []byte, content span) (string, bool) {
	raw := data[content.start:content.end]
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(raw), true
	}
	var out string
	if err := json.Unmarshal(data[content.start-1:content.end+1], &out); err != nil {
		return "", false
	}
	return out, true
}
