package schemas

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestJSONSchemaSelfContained is issue 14 defect 12b on the Go side: each
// document JSONSchema returns compiles alone (every $ref a pointer into
// itself) and judges Engage's examples and a broken payload as the
// schema files compiled together do. cmd/engage-bridge holds the printed
// output to a validator that is not Go.
func TestJSONSchemaSelfContained(t *testing.T) {
	t.Parallel()
	ref := reference(t)
	refValue := regexp.MustCompile(`"\$ref":\s*"([^"]*)"`)
	for _, name := range SchemaNames() {
		b, ok := JSONSchema(name)
		if !ok {
			t.Fatalf("no schema %s", name)
		}
		for _, m := range refValue.FindAllSubmatch(b, -1) {
			if !bytes.HasPrefix(m[1], []byte("#/$defs/")) {
				t.Errorf("%s: $ref %q points outside the document", name, m[1])
			}
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.UseLoader(refuseLoader{t})
		if err := c.AddResource("urn:engage-bridge:standalone", doc); err != nil {
			t.Fatal(err)
		}
		alone, err := c.Compile("urn:engage-bridge:standalone")
		if err != nil {
			t.Fatalf("%s does not compile alone: %v", name, err)
		}
		var instances [][]byte
		for _, et := range EventTypes() {
			body, _ := Example(et)
			env, _ := ParseEnvelope(body)
			instances = append(instances, body, env.Payload)
		}
		instances = append(instances, []byte(`{"changedValues":[]}`), []byte(`{"contactId":""}`), []byte(`{"payload":{}}`))
		for _, in := range instances {
			if got, want := refValid(alone, in), refValid(ref[name], in); got != want {
				t.Errorf("%s: bundled schema says valid=%v, the schema files %v, for %.60s", name, got, want, in)
			}
		}
	}
}

// refuseLoader fails the test if the compiler tries to load anything.
type refuseLoader struct{ t *testing.T }

func (l refuseLoader) Load(url string) (any, error) {
	l.t.Errorf("the bundled schema needed %s", url)
	return nil, errors.New("loading refused")
}
