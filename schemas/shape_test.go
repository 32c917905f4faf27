package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// reference compiles the embedded schemas with santhosh-tekuri/jsonschema,
// a maintained draft 2020-12 validator: the oracle the fast checker is
// held to.
func reference(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	entries, _ := schemaFiles.ReadDir("jsonschema")
	for _, e := range entries {
		b, _ := schemaFiles.ReadFile("jsonschema/" + e.Name())
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(schemaBase+e.Name(), doc); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, name := range SchemaNames() {
		s, err := c.Compile(schemaBase + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	return out
}

func refValid(s *jsonschema.Schema, data []byte) bool {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	return err == nil && s.Validate(doc) == nil
}

// hasDuplicateKeys reports whether any object in data repeats a key. The
// reference decodes into maps (the last duplicate wins) while the checker
// checks every occurrence; such payloads are left out of the comparison.
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, _ := dec.Token()
				if seen[k.(string)] {
					return true
				}
				seen[k.(string)] = true
				if walk() {
					return true
				}
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for dec.More() {
				if walk() {
					return true
				}
			}
			_, _ = dec.Token()
		}
		return false
	}
	return walk()
}

// mutations replaces each property of an object (at the top and one level
// down, and in the first element of arrays of objects) with values of
// every JSON type, and deletes each, one at a time.
func mutations(t *testing.T, payload []byte) [][]byte {
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	replacements := []any{nil, true, json.Number("1"), json.Number("1.5"), json.Number("2.0"), json.Number("1e2"), "", "x", "ab", []any{}, []any{map[string]any{}}, map[string]any{}}
	var out [][]byte
	emit := func() {
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	var visit func(obj map[string]any, depth int)
	visit = func(obj map[string]any, depth int) {
		for k, v := range obj {
			for _, r := range replacements {
				obj[k] = r
				emit()
			}
			delete(obj, k)
			emit()
			obj[k] = v
			if depth > 0 {
				switch inner := v.(type) {
				case map[string]any:
					visit(inner, depth-1)
				case []any:
					if len(inner) > 0 {
						if first, ok := inner[0].(map[string]any); ok {
							visit(first, depth-1)
						}
					}
				}
			}
		}
	}
	visit(doc, 2)
	return out
}

// TestShapeAgreesWithReference: on Engage's example of every event type
// and on hundreds of mutations of each, the fast checker and the reference
// validator say the same.
func TestShapeAgreesWithReference(t *testing.T) {
	t.Parallel()
	ref := reference(t)
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	compared, invalid := 0, 0
	for _, et := range EventTypes() {
		example, _ := Example(et)
		env, err := ParseEnvelope(example)
		if err != nil {
			t.Fatal(err)
		}
		payload := env.Payload
		cases := append([][]byte{payload}, mutations(t, payload)...)
		for i, c := range cases {
			_, err := v.Check(et, c)
			want := refValid(ref[et], c)
			if (err == nil) != want {
				t.Errorf("%s case %d: checker says %v, reference valid=%v\n%s", et, i, err, want, c)
			}
			if i == 0 && err != nil {
				t.Errorf("%s: Engage's example drifts: %v", et, err)
			}
			var drift *DriftError
			if err != nil && !errors.As(err, &drift) {
				t.Errorf("%s case %d: %T is not a *DriftError", et, i, err)
			}
			compared++
			if !want {
				invalid++
			}
		}
		if err := v.CheckEnvelope(example); (err == nil) != refValid(ref[EnvelopeSchema], example) {
			t.Errorf("%s: envelope check disagrees: %v", et, err)
		}
	}
	t.Logf("%d payloads compared, %d of them invalid", compared, invalid)
	if invalid < compared/10 {
		t.Errorf("only %d of %d mutations are invalid: the mutations do not exercise the schemas", invalid, compared)
	}
}

// FuzzShapeAgreesWithReference holds the checker to the reference on
// arbitrary payloads for every event type's schema.
func FuzzShapeAgreesWithReference(f *testing.F) {
	for i, et := range EventTypes() {
		example, _ := Example(et)
		env, _ := ParseEnvelope(example)
		f.Add(uint8(i), env.Payload)
	}
	f.Add(uint8(0), []byte(`{"contactId":"","changedValues":[{"path":1}]}`))
	f.Add(uint8(3), []byte(`{"balance":1e999999999,"contactId":"a"}`))
	ref := reference(f)
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	names := SchemaNames()
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		name := names[int(which)%len(names)]
		if !json.Valid(payload) || hasDuplicateKeys(payload) || bytes.Contains(payload, []byte("e+")) && len(payload) > 4096 {
			return
		}
		var err error
		if name == EnvelopeSchema {
			err = v.CheckEnvelope(payload)
		} else {
			_, err = v.Check(name, payload)
		}
		if want := refValid(ref[name], payload); (err == nil) != want {
			t.Fatalf("%s: checker says %v, reference valid=%v\n%s", name, err, want, payload)
		}
	})
}

func TestIsWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lit  string
		want bool
	}{
		{"0", true}, {"-0", true}, {"12", true}, {"1.0", true}, {"1.50", false}, {"1.5", false},
		{"1e2", true}, {"1E+2", true}, {"1.25e2", true}, {"1.255e2", false}, {"100e-2", true},
		{"150e-2", false}, {"0.0e-5", true}, {"1e-999999999999", false}, {"1e999999999999", true},
		{"-3.000", true}, {"0.1", false}, {"10e-1", true},
	} {
		if got := isWhole([]byte(tc.lit)); got != tc.want {
			t.Errorf("isWhole(%s) = %v, want %v", tc.lit, got, tc.want)
		}
	}
}

// FuzzIsWhole holds isWhole to math/big for numbers with small exponents.
func FuzzIsWhole(f *testing.F) {
	for _, s := range []string{"1", "1.0", "1e2", "1.25e2", "100e-2", "-0.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		if !validValue([]byte(lit)) || !strings.ContainsAny(lit[:1], "-0123456789") || len(lit) > 40 {
			return
		}
		if _, exp, ok := strings.Cut(strings.ToLower(lit), "e"); ok && len(strings.TrimLeft(exp, "+-0")) > 3 {
			return
		}
		r, ok := new(big.Rat).SetString(lit)
		if !ok {
			return
		}
		if got := isWhole([]byte(lit)); got != r.IsInt() {
			t.Fatalf("isWhole(%s) = %v, math/big says %v", lit, got, r.IsInt())
		}
	})
}

func BenchmarkCheckShapeVsReference(b *testing.B) {
	example, _ := Example(EventContactUpdated)
	env, _ := ParseEnvelope(example)
	payload := env.Payload
	b.Run("shape", func(b *testing.B) {
		v, _ := NewValidator()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Check(EventContactUpdated, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("santhosh-tekuri", func(b *testing.B) {
		s := reference(b)[EventContactUpdated]
		b.ReportAllocs()
		for b.Loop() {
			doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
			if err := s.Validate(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
