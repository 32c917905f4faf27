package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// validateWithPython validates each instance against its schema file with
// python-jsonschema's Draft 2020-12 validator and prints one line per
// instance: "valid NAME" or "invalid NAME". A schema it cannot use (an
// unresolvable $ref included) is an exception, so a non-zero exit.
const validateWithPython = `
import json, sys
import jsonschema
for line in sys.stdin:
    name, schema_file, instance_file = line.split()
    with open(schema_file) as f:
        schema = json.load(f)
    with open(instance_file) as f:
        instance = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    print(("invalid " if errors else "valid ") + name)
`

// TestSchemasStandaloneValidator is issue 14 defect 12b: what `schemas`
// prints is usable by a validator that is not ours and has nothing but the
// printed document (python3-jsonschema, as Debian ships it): Engage's
// examples validate, and broken ones, including one that only the bundled
// contact.created schema rejects, do not.
func TestSchemasStandaloneValidator(t *testing.T) {
	t.Parallel()
	python := pythonWithJSONSchema()
	if python == "" {
		t.Skip("no python3 with the jsonschema module (apt-get install python3-jsonschema); .ci/run installs it")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	printed := func(name string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args := []string{"schemas"}
		if name != schemas.EnvelopeSchema {
			args = append(args, name)
		}
		if err := run(context.Background(), args, envOf(nil), &out, &errOut); err != nil {
			t.Fatalf("schemas %s: %v\n%s", name, err, errOut.String())
		}
		return write("schema-"+name+".json", out.Bytes())
	}

	var input strings.Builder
	var want []string
	check := func(name, schemaFile string, instance []byte, valid bool) {
		input.WriteString(name + " " + schemaFile + " " + write("instance-"+name+".json", instance) + "\n")
		want = append(want, map[bool]string{true: "valid ", false: "invalid "}[valid]+name)
	}
	envelope := printed(schemas.EnvelopeSchema)
	for _, et := range schemas.EventTypes() {
		body, err := os.ReadFile(filepath.Join("..", "..", "schemas", "examples", et+".json"))
		if err != nil {
			t.Fatal(err)
		}
		env, err := schemas.ParseEnvelope(body)
		if err != nil {
			t.Fatalf("%s: %v", et, err)
		}
		check("envelope-of-"+et, envelope, body, true)
		check(et, printed(et), env.Payload, true)
	}
	check("envelope-without-eventType", envelope, []byte(`{"payload":{"contactId":"c"}}`), false)
	check("contact.created-contactId-number", printed(schemas.EventContactCreated), []byte(`{"contactId":5}`), false)
	// contact.updated requires contactId only through its $ref to
	// contact.created: rejected only when the reference resolves.
	check("contact.updated-without-contactId", printed(schemas.EventContactUpdated), []byte(`{"changedValues":[]}`), false)
	check("contact.updated-contactId-empty", printed(schemas.EventContactUpdated), []byte(`{"contactId":""}`), false)

	cmd := exec.Command(python, "-c", validateWithPython)
	cmd.Stdin = strings.NewReader(input.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 jsonschema: %v\n%s", err, stderr.String())
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("python3 jsonschema's verdicts (-want +got):\n%s", diff)
	}
}

// pythonWithJSONSchema is the first python3 that imports jsonschema: the
// one on PATH (which may be a pyenv shim) or Debian's, where
// python3-jsonschema installs it. Empty when there is none.
func pythonWithJSONSchema() string {
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import jsonschema").Run() == nil {
			return path
		}
	}
	return ""
}
