package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed jsonschema/*.json
var schemaFiles embed.FS

// EnvelopeSchema is the name of the envelope's JSON Schema.
const EnvelopeSchema = "envelope"

// schemaBase is the $id prefix of every schema file; the ids are names,
// not addresses the bridge fetches.
const schemaBase = "https://github.com/engage-bridge/engage-bridge/schemas/jsonschema/"

// JSONSchema returns a JSON Schema (draft 2020-12) document: the envelope's
// for EnvelopeSchema, else the payload schema of a documented event type.
func JSONSchema(name string) ([]byte, bool) {
	b, err := schemaFiles.ReadFile("jsonschema/" + name + ".json")
	return b, err == nil
}

// SchemaNames lists the schemas, the envelope first.
func SchemaNames() []string {
	return append([]string{EnvelopeSchema}, EventTypes()...)
}

// Validator checks payloads against their event type's JSON Schema. It is
// compiled once and safe for concurrent use.
type Validator struct {
	byName map[string]*jsonschema.Schema
}

// NewValidator compiles the embedded schemas.
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	entries, err := schemaFiles.ReadDir("jsonschema")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, _ := schemaFiles.ReadFile("jsonschema/" + e.Name())
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		if err := c.AddResource(schemaBase+e.Name(), doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
	}
	v := &Validator{byName: map[string]*jsonschema.Schema{}}
	for _, e := range entries {
		s, err := c.Compile(schemaBase + e.Name())
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		v.byName[strings.TrimSuffix(e.Name(), path.Ext(e.Name()))] = s
	}
	if missing := slices.DeleteFunc(SchemaNames(), func(n string) bool { return v.byName[n] != nil }); len(missing) > 0 {
		return nil, fmt.Errorf("no schema for %v", missing)
	}
	return v, nil
}

// Check validates a cleartext payload against its event type's schema.
// checked is false for event types without a schema (new ones Engage
// adds); err, when checked, says how the payload drifted from the schema.
// Extra fields are never drift. err may quote payload values: count it,
// do not log it.
func (v *Validator) Check(eventType string, payload []byte) (checked bool, err error) {
	s := v.byName[eventType]
	if s == nil || eventType == EnvelopeSchema {
		return false, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return true, err
	}
	return true, s.Validate(doc)
}

// CheckEnvelope validates a whole record value or delivery body against
// the envelope schema.
func (v *Validator) CheckEnvelope(body []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return v.byName[EnvelopeSchema].Validate(doc)
}
