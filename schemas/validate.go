package schemas

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
)

//go:embed jsonschema/*.json
var schemaFiles embed.FS

// EnvelopeSchema is the name of the envelope's JSON Schema.
const EnvelopeSchema = "envelope"

// schemaBase is the $id prefix of every schema file; the ids are names,
// not addresses the bridge fetches.
const schemaBase = "https://github.com/engage-bridge/engage-bridge/schemas/jsonschema/"

// JSONSchema returns a self-contained JSON Schema (draft 2020-12) document:
// the envelope's for EnvelopeSchema, else the payload schema of a
// documented event type. The schemas it builds on are bundled under $defs
// and referenced as "#/$defs/<name>", so any standalone validator can use
// the document alone.
func JSONSchema(name string) ([]byte, bool) {
	b, err := bundle(name)
	return b, err == nil
}

// SchemaNames lists the schemas, the envelope first.
func SchemaNames() []string {
	return append([]string{EnvelopeSchema}, EventTypes()...)
}

// Validator checks payloads against their event type's JSON Schema. It is
// compiled once from the embedded schema files and safe for concurrent use.
type Validator struct {
	byName map[string]*shape
}

// NewValidator compiles the embedded schemas.
func NewValidator() (*Validator, error) {
	entries, err := schemaFiles.ReadDir("jsonschema")
	if err != nil {
		return nil, err
	}
	docs := map[string]any{}
	for _, e := range entries {
		b, _ := schemaFiles.ReadFile("jsonschema/" + e.Name())
		doc, err := parseSchemaDoc(b)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		docs[e.Name()] = doc
	}
	shapes, err := compileShapes(docs)
	if err != nil {
		return nil, fmt.Errorf("schema %w", err)
	}
	v := &Validator{byName: map[string]*shape{}}
	for file, sh := range shapes {
		v.byName[strings.TrimSuffix(file, path.Ext(file))] = sh
	}
	if missing := slices.DeleteFunc(SchemaNames(), func(n string) bool { return v.byName[n] != nil }); len(missing) > 0 {
		return nil, fmt.Errorf("no schema for %v", missing)
	}
	return v, nil
}

// Check validates a cleartext payload against its event type's schema.
// checked is false for event types without a schema (new ones Engage
// adds); err, when checked, says where the payload drifted from the schema
// (a *DriftError naming a JSON pointer and a rule, never a value), or that
// the payload is not JSON at all (an error naming an offset).
// Extra fields are never drift.
func (v *Validator) Check(eventType string, payload []byte) (checked bool, err error) {
	s := v.byName[eventType]
	if s == nil || eventType == EnvelopeSchema {
		return false, nil
	}
	return true, checkShape(s, payload)
}

// CheckEnvelope validates a whole record value or delivery body against
// the envelope schema.
func (v *Validator) CheckEnvelope(body []byte) error {
	return checkShape(v.byName[EnvelopeSchema], body)
}

// checkShape checks data in one pass; the scan validates the JSON syntax
// of everything it reads, and the rest of the input after a drift is not
// read at all.
func checkShape(s *shape, data []byte) error {
	sc := scanner{data: data}
	sc.skipSpace()
	if err := s.check(&sc); err != nil {
		return err
	}
	sc.skipSpace()
	if sc.pos != len(data) {
		return syntaxErrorAt(sc.pos)
	}
	return nil
}
