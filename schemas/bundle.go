package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// bundle returns the schema file name (without .json) as one self-contained
// document: every schema file it references, directly or through another,
// is embedded under $defs by its name, and every $ref is rewritten to a
// pointer into this document ("contact.created.json" becomes
// "#/$defs/contact.created"). A standalone validator then needs nothing
// but the printed document. Embedded schemas lose their $id and $schema,
// so that "#" keeps meaning the printed document's root inside them.
func bundle(name string) ([]byte, error) {
	root, err := loadOrdered(name)
	if err != nil {
		return nil, err
	}
	var defs object
	seen := map[string]bool{name: true}
	queue := rewriteRefs(root, "")
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		doc, err := loadOrdered(ref)
		if err != nil {
			return nil, err
		}
		doc = doc.without("$id", "$schema")
		queue = append(queue, rewriteRefs(doc, "/$defs/"+ref)...)
		defs = append(defs, schemaMember{ref, doc})
	}
	if len(defs) > 0 {
		if root.get("$defs") != nil {
			return nil, fmt.Errorf("schema %s: has its own $defs, which bundling does not merge", name)
		}
		root = append(root, schemaMember{"$defs", defs})
	}
	var compact bytes.Buffer
	if err := encodeOrdered(&compact, root); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// rewriteRefs rewrites, in place, every $ref under v: a reference to
// another file ("x.json" or "x.json#/p") to "#/$defs/x" (+ "/p"), and a
// local one ("#/p") to "#"+at+"/p", at being where v sits in the bundle.
// It returns the files referenced.
func rewriteRefs(v any, at string) (files []string) {
	switch v := v.(type) {
	case object:
		for i, m := range v {
			ref, ok := m.value.(string)
			if m.key != "$ref" || !ok {
				files = append(files, rewriteRefs(m.value, at)...)
				continue
			}
			file, fragment, _ := strings.Cut(ref, "#")
			if file == "" {
				v[i].value = "#" + at + fragment
				continue
			}
			file = strings.TrimSuffix(file, ".json")
			files = append(files, file)
			v[i].value = "#/$defs/" + file + fragment
		}
	case []any:
		for _, e := range v {
			files = append(files, rewriteRefs(e, at)...)
		}
	}
	return files
}

// object is a JSON object that keeps its keys in their order in the file,
// so that the printed schema reads like the file (title first, not $defs).
type object []schemaMember

// schemaMember is one key and value of an object.
type schemaMember struct {
	key   string
	value any
}

func (o object) get(key string) any {
	for _, m := range o {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

func (o object) without(keys ...string) object {
	var out object
	for _, m := range o {
		drop := false
		for _, k := range keys {
			drop = drop || m.key == k
		}
		if !drop {
			out = append(out, m)
		}
	}
	return out
}

func loadOrdered(name string) (object, error) {
	if strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("schema %q: not a schema name", name)
	}
	b, err := schemaFiles.ReadFile("jsonschema/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	o, ok := v.(object)
	if !ok {
		return nil, fmt.Errorf("schema %s: not an object", name)
	}
	return o, nil
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, schemaMember{k.(string), v})
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	return tok, nil
}

// encodeOrdered writes v compactly; json.Indent lays it out afterwards.
func encodeOrdered(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case object:
		buf.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeScalar(buf, m.key); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := encodeOrdered(buf, m.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeOrdered(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		return encodeScalar(buf, v)
	}
	return nil
}

// encodeScalar writes a string, number, bool or null as the file had it
// (no HTML escaping of <, > and & in descriptions).
func encodeScalar(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding a schema value: %w", err)
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
