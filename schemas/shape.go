package schemas

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// shape is a compiled JSON Schema of the subset our schema files use:
// type, properties, required, minLength, items, and allOf with $ref to
// another file; title, description, format and the like are annotations
// (format is not asserted in draft 2020-12). It checks a payload in one
// pass over its bytes, without decoding it, which is what keeps schema
// drift detection off the per-request profile. The tests hold it to
// santhosh-tekuri/jsonschema, a maintained validator, on Engage's examples
// and under fuzzing.
type shape struct {
	types     kinds // 0: any type
	props     map[string]*shape
	required  []string
	minLength int // -1: none
	items     *shape
	allOf     []*shape
}

// kinds is a set of JSON types.
type kinds uint8

const (
	kindNull kinds = 1 << iota
	kindBoolean
	kindObject
	kindArray
	kindNumber
	kindInteger // a number whose value is whole; "number" includes it
	kindString
)

var kindNames = map[string]kinds{
	"null": kindNull, "boolean": kindBoolean, "object": kindObject, "array": kindArray,
	"number": kindNumber, "integer": kindInteger, "string": kindString,
}

// annotations are keywords that do not constrain a value (format is an
// annotation unless a validator is asked to assert it, draft 2020-12 §7.2).
var annotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true,
	"format": true, "examples": true, "default": true, "deprecated": true, "readOnly": true, "writeOnly": true,
}

// compileShapes compiles every schema file; docs maps a file name
// ("contact.created.json") to its parsed document.
func compileShapes(docs map[string]any) (map[string]*shape, error) {
	out := map[string]*shape{}
	var compileFile func(name string, stack []string) (*shape, error)
	compileFile = func(name string, stack []string) (*shape, error) {
		if s := out[name]; s != nil {
			return s, nil
		}
		if slices.Contains(stack, name) {
			return nil, fmt.Errorf("%s: $ref cycle %v", name, stack)
		}
		doc, ok := docs[name]
		if !ok {
			return nil, fmt.Errorf("$ref to unknown schema %s", name)
		}
		s, err := compileShape(doc, func(ref string) (*shape, error) {
			return compileFile(strings.TrimPrefix(ref, schemaBase), append(stack, name))
		}, "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = s.flatten()
		return out[name], nil
	}
	for name := range docs {
		if _, err := compileFile(name, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func compileShape(doc any, ref func(string) (*shape, error), at string) (*shape, error) {
	obj, ok := doc.(map[string]any)
	if !ok {
		if b, isBool := doc.(bool); isBool && b {
			return &shape{minLength: -1}, nil // true: anything
		}
		return nil, fmt.Errorf("%s: only object schemas (or true) are supported", at)
	}
	s := &shape{minLength: -1}
	for k, v := range obj {
		switch {
		case annotations[k]:
		case k == "type":
			names, ok := v.([]any)
			if !ok {
				names = []any{v}
			}
			for _, n := range names {
				kind, ok := kindNames[fmt.Sprint(n)]
				if !ok {
					return nil, fmt.Errorf("%s: unknown type %v", at, n)
				}
				s.types |= kind
			}
		case k == "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: properties is not an object", at)
			}
			s.props = map[string]*shape{}
			for name, sub := range props {
				c, err := compileShape(sub, ref, at+"/properties/"+name)
				if err != nil {
					return nil, err
				}
				s.props[name] = c
			}
		case k == "required":
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: required is not an array", at)
			}
			for _, r := range list {
				s.required = append(s.required, fmt.Sprint(r))
			}
		case k == "minLength":
			n, ok := v.(float64)
			if !ok || n < 0 || n != float64(int(n)) {
				return nil, fmt.Errorf("%s: minLength %v", at, v)
			}
			s.minLength = int(n)
		case k == "items":
			c, err := compileShape(v, ref, at+"/items")
			if err != nil {
				return nil, err
			}
			s.items = c
		case k == "allOf":
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: allOf is not an array", at)
			}
			for i, sub := range list {
				c, err := compileShape(sub, ref, at+"/allOf/"+strconv.Itoa(i))
				if err != nil {
					return nil, err
				}
				s.allOf = append(s.allOf, c)
			}
		case k == "$ref":
			target, err := ref(fmt.Sprint(v))
			if err != nil {
				return nil, err
			}
			s.allOf = append(s.allOf, target)
		default:
			return nil, fmt.Errorf("%s: keyword %q is outside the subset the checker implements; add it to shape.go (and its tests)", at, k)
		}
	}
	return s, nil
}

// flatten merges allOf subschemas into their parent where that keeps the
// meaning (draft 2020-12 applies all of them to the same value: their
// types intersect, their properties and required lists add up, the
// longest minLength wins), so that a value is scanned once, not once per
// subschema. A property defined on both sides keeps both, as an allOf of
// its own.
func (sh *shape) flatten() *shape {
	for _, sub := range sh.allOf {
		sub.flatten()
	}
	for name, p := range sh.props {
		sh.props[name] = p.flatten()
	}
	if sh.items != nil {
		sh.items = sh.items.flatten()
	}
	var keep []*shape
	for _, sub := range sh.allOf {
		if len(sub.allOf) > 0 || (sub.items != nil && sh.items != nil) {
			keep = append(keep, sub)
			continue
		}
		merged := *sh
		switch {
		case sub.types == 0:
		case merged.types == 0:
			merged.types = sub.types
		default:
			t := merged.types & sub.types
			// integer ⊂ number: number ∩ integer is integer.
			if merged.types&kindNumber != 0 && sub.types&kindInteger != 0 || sub.types&kindNumber != 0 && merged.types&kindInteger != 0 {
				t |= kindInteger
			}
			if t == 0 {
				keep = append(keep, sub) // nothing can match; keep the message right
				continue
			}
			merged.types = t
		}
		if len(sub.props) > 0 {
			props := make(map[string]*shape, len(merged.props)+len(sub.props))
			for k, v := range merged.props {
				props[k] = v
			}
			for k, v := range sub.props {
				if mine, ok := props[k]; ok {
					props[k] = (&shape{minLength: -1, allOf: []*shape{mine, v}}).flatten()
				} else {
					props[k] = v
				}
			}
			merged.props = props
		}
		for _, r := range sub.required {
			if !slices.Contains(merged.required, r) {
				merged.required = append(merged.required, r)
			}
		}
		merged.minLength = max(merged.minLength, sub.minLength)
		if merged.items == nil {
			merged.items = sub.items
		}
		*sh = merged
	}
	sh.allOf = keep
	return sh
}

// DriftError says where and how a payload departs from its schema. It
// names the place (a JSON pointer) and the rule, never a value.
type DriftError struct {
	Pointer string
	Reason  string
}

func (e *DriftError) Error() string {
	if e.Pointer == "" {
		return "payload: " + e.Reason
	}
	return e.Pointer + ": " + e.Reason
}

// prefix puts a path segment in front of an error from below.
func prefix(err error, segment string) error {
	if d, ok := err.(*DriftError); ok {
		d.Pointer = "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(segment) + d.Pointer
	}
	return err
}

// check validates the JSON value at s.pos against sh and leaves s.pos
// after it. The input must be valid JSON (the envelope parser checked).
func (sh *shape) check(s *scanner) error {
	start := s.pos
	if s.pos >= len(s.data) {
		return syntaxErrorAt(s.pos)
	}
	var kind kinds
	switch c := s.data[s.pos]; {
	case c == '{':
		kind = kindObject
	case c == '[':
		kind = kindArray
	case c == '"':
		kind = kindString
	case c == 't' || c == 'f':
		kind = kindBoolean
	case c == 'n':
		kind = kindNull
	default:
		kind = kindNumber
	}
	if sh.types != 0 {
		ok := sh.types&kind != 0
		if !ok && kind == kindNumber && sh.types&kindInteger != 0 {
			if err := s.number(); err != nil {
				return err
			}
			ok = isWhole(s.data[start:s.pos])
			s.pos = start
		}
		if !ok {
			return &DriftError{Reason: "type is not " + sh.typeNames()}
		}
	}
	var err error
	switch kind {
	case kindObject:
		err = sh.checkObject(s)
	case kindArray:
		err = sh.checkArray(s)
	case kindString:
		var content span
		var escaped bool
		if content, escaped, err = s.str(); err == nil && sh.minLength > 0 {
			n := 0
			if escaped {
				text, _ := unquote(s.data, content)
				n = utf8.RuneCountInString(text)
			} else {
				n = utf8.RuneCount(s.data[content.start:content.end])
			}
			if n < sh.minLength {
				err = &DriftError{Reason: fmt.Sprintf("shorter than %d characters", sh.minLength)}
			}
		}
	default:
		err = s.value()
	}
	if err != nil {
		return err
	}
	end := s.pos
	for _, sub := range sh.allOf {
		s.pos = start
		if err := sub.check(s); err != nil {
			return err
		}
	}
	s.pos = end
	return nil
}

func (sh *shape) checkObject(s *scanner) error {
	if sh.props == nil && len(sh.required) == 0 {
		return s.object(nil, nil)
	}
	var found uint64 // bit i: required[i] seen
	if len(sh.required) > 64 {
		return &DriftError{Reason: "more than 64 required properties"}
	}
	if empty, err := s.open('}'); err != nil {
		return err
	} else if empty {
		return sh.missing(found)
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return syntaxErrorAt(s.pos)
		}
		key, escaped, err := s.str()
		if err != nil {
			return err
		}
		raw := s.data[key.start:key.end]
		var name string
		if escaped {
			name, _ = unquote(s.data, key)
			raw = []byte(name)
		}
		for i, r := range sh.required {
			if string(raw) == r {
				found |= 1 << i
			}
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return syntaxErrorAt(s.pos)
		}
		s.pos++
		s.skipSpace()
		if sub := sh.props[string(raw)]; sub != nil {
			if err := sub.check(s); err != nil {
				return prefix(err, string(raw))
			}
		} else if err := s.value(); err != nil {
			return err
		}
		if done, err := s.next('}'); err != nil {
			return err
		} else if done {
			return sh.missing(found)
		}
	}
}

func (sh *shape) missing(found uint64) error {
	for i, r := range sh.required {
		if found&(1<<i) == 0 {
			return &DriftError{Reason: fmt.Sprintf("required property %q is missing", r)}
		}
	}
	return nil
}

func (sh *shape) checkArray(s *scanner) error {
	if sh.items == nil {
		return s.array()
	}
	if empty, err := s.open(']'); empty || err != nil {
		return err
	}
	for i := 0; ; i++ {
		if err := sh.items.check(s); err != nil {
			return prefix(err, strconv.Itoa(i))
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

func (sh *shape) typeNames() string {
	var names []string
	for name, k := range kindNames {
		if sh.types&k != 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, " or ")
}

// isWhole reports whether a JSON number literal has an integer value (as
// draft 2020-12 says, 1.0 and 1e2 are integers). It works on the digits,
// never computing the value, so 1e999999999 costs nothing.
func isWhole(lit []byte) bool {
	text := strings.TrimPrefix(string(lit), "-")
	mant, expText, _ := strings.Cut(strings.ToLower(text), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimRight(intPart+frac, "0")
	if strings.Trim(digits, "0") == "" {
		return true // zero
	}
	scale := len(intPart+frac) - len(digits) - len(frac) // value = digits × 10^(exp+scale)
	exp := 0
	if expText != "" {
		neg := strings.HasPrefix(expText, "-")
		expText = strings.TrimLeft(expText, "+-")
		if len(strings.TrimLeft(expText, "0")) > 9 {
			return !neg // |exp| ≥ 10^9: far beyond any digits
		}
		exp, _ = strconv.Atoi(expText)
		if neg {
			exp = -exp
		}
	}
	return exp+scale >= 0
}

// parseSchemaDoc parses a schema file for compileShapes.
func parseSchemaDoc(b []byte) (any, error) {
	var doc any
	err := json.Unmarshal(b, &doc)
	return doc, err
}
