package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func addExampleSeeds(f *testing.F) {
	for _, et := range EventTypes() {
		b, _ := Example(et)
		f.Add(b)
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"eventType":"a","payload":{"contactId":"1"}}`,
		`{"eventType":"a","isEncrypted":true,"payload":"AAECAwQFBgcICQoLDA0ODw"}`,
		`{"eventType":"a","payload":{"ContactId":"1","contactid":"2"}}`,
		`{"eventType":"a\u00e9","payload":{"contact\u0049d":"\ud83d\ude00"}}`,
		`{"a":[[[[[]]]]],"b":-0.0e+0,"c":"\"\\\/\b\f\n\r\t"}`,
		"{\"eventType\":\"\xff\xfe\",\"payload\":{}}",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseEnvelope holds the scanner to encoding/json: it accepts exactly
// the JSON objects encoding/json accepts, and reads the same eventType,
// eventId, tenant, isEncrypted, contactId and payload bytes that
// encoding/json decodes into string, bool and json.RawMessage fields,
// duplicate keys (null ones included, in any casing) among them.
func FuzzParseEnvelope(f *testing.F) {
	addExampleSeeds(f)
	for _, s := range duplicateSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body)
		isObject := json.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
		if errors.Is(err, ErrNotObject) == isObject {
			t.Fatalf("ParseEnvelope error %v, but json.Valid && object = %v", err, isObject)
		}
		if !isObject {
			return
		}
		var ref struct {
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatalf("encoding/json rejects what json.Valid accepted: %v", err)
		}
		// Each field is decoded on its own, so that a type error in one
		// (where encoding/json promises nothing) leaves the others compared.
		var eventType struct {
			V string `json:"eventType"`
		}
		if json.Unmarshal(body, &eventType) == nil {
			if eventType.V == "" && !errors.Is(err, ErrMissingEventType) {
				t.Fatalf("ParseEnvelope error %v, but encoding/json reads no eventType", err)
			}
			if eventType.V != "" && env.EventType != eventType.V {
				t.Fatalf("eventType %q (%v), encoding/json reads %q", env.EventType, err, eventType.V)
			}
		}
		if err != nil && !errors.Is(err, ErrInvalidPayload) {
			return
		}
		var tenant struct {
			V string `json:"tenant"`
		}
		if json.Unmarshal(body, &tenant) == nil && tenant.V != env.Tenant {
			t.Fatalf("tenant %q, encoding/json reads %q", env.Tenant, tenant.V)
		}
		var eventID struct {
			V string `json:"eventId"`
		}
		if json.Unmarshal(body, &eventID) == nil && eventID.V != "" && eventID.V != env.EventID {
			t.Fatalf("eventId %q, encoding/json reads %q", env.EventID, eventID.V)
		}
		var isEncrypted struct {
			V bool `json:"isEncrypted"`
		}
		if json.Unmarshal(body, &isEncrypted) == nil && isEncrypted.V != env.IsEncrypted {
			t.Fatalf("isEncrypted %v, encoding/json reads %v", env.IsEncrypted, isEncrypted.V)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(ref.Payload, env.Payload) {
			t.Fatalf("payload bytes differ from encoding/json's RawMessage")
		}
		if env.PayloadIsObject() {
			id, err := env.ContactID()
			id2, err2 := ContactID(env.Payload)
			if id != id2 || (err == nil) != (err2 == nil) {
				t.Fatalf("one-pass contactId %q/%v, standalone %q/%v", id, err, id2, err2)
			}
			var p struct {
				ContactID string `json:"contactId"`
			}
			if json.Unmarshal(env.Payload, &p) == nil {
				if p.ContactID == "" && err == nil {
					t.Fatalf("contactId %q, encoding/json reads none", id)
				}
				if p.ContactID != "" && p.ContactID != id {
					t.Fatalf("contactId %q (%v), encoding/json reads %q", id, err, p.ContactID)
				}
			}
		}
		if env.IsEncrypted && env.PayloadIsString() {
			out := env.WithPayload([]byte(`{"contactId":"x"}`))
			if !json.Valid(out) {
				t.Fatalf("WithPayload produced invalid JSON: %s", out)
			}
			if _, err := env.Ciphertext(); err != nil {
				t.Fatalf("Ciphertext: %v", err)
			}
		}
	})
}

// duplicateSeeds repeat each key the envelope reads, with null and in
// other casings (issue 14 defect 10: the scanner once took a later null).
var duplicateSeeds = []string{
	`{"eventType":"t","tenant":"acme","tenant":null,"payload":{"contactId":"c"}}`,
	`{"eventType":"t","tenant":"acme","Tenant":null,"payload":{"contactId":"c"}}`,
	`{"eventType":"t","eventId":"e","eventId":null,"id":"i","payload":{"contactId":"c"}}`,
	`{"eventType":"t","eventId":null,"id":"i","payload":{"contactId":"c"}}`,
	`{"eventType":"t","eventType":null,"payload":{"contactId":"c"}}`,
	`{"eventType":"t","EVENTTYPE":null,"payload":{"contactId":"c"}}`,
	`{"eventType":"t","isEncrypted":true,"isEncrypted":null,"payload":"QUJD"}`,
	`{"eventType":"t","payload":{"contactId":"c","contactId":null}}`,
	`{"eventType":"t","payload":{"ContactId":"c","contactid":null}}`,
	`{"eventType":"t","payload":{"contactId":null,"ContactId":"c"}}`,
	`{"eventType":"t","payload":{"contactId":"a","ContactId":"b","CONTACTID":null}}`,
	`{"eventType":"t","tenant":"acme","tenant":7,"payload":{"contactId":"c","contactId":7}}`,
	`{"eventType":"t","payload":{"contactId":"c"},"payload":null}`,
}

// FuzzContactID: never panics, agrees with encoding/json on validity, and
// reads the contactId encoding/json decodes into a string field (duplicate
// keys, null ones and other casings included).
func FuzzContactID(f *testing.F) {
	addExampleSeeds(f)
	f.Add([]byte(`{"ContactId":"x"}`))
	for _, p := range []string{
		`{"contactId":"c","contactId":null}`, `{"ContactId":"c","contactid":null}`,
		`{"contactId":null,"CONTACTID":"c"}`, `{"contactId":"a","ContactId":"b","contactID":null}`,
	} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		id, err := ContactID(payload)
		if errors.Is(err, ErrPayloadNotJSON) == json.Valid(payload) {
			t.Fatalf("ContactID error %v, json.Valid = %v", err, json.Valid(payload))
		}
		if err == nil && id == "" {
			t.Fatalf("empty contactId without error")
		}
		var ref struct {
			ContactID string `json:"contactId"`
		}
		if errors.Is(err, ErrInvalidPayload) || json.Unmarshal(payload, &ref) != nil {
			return
		}
		if ref.ContactID != id || (ref.ContactID == "") != (err != nil) {
			t.Fatalf("ContactID = %q, %v; encoding/json reads %q", id, err, ref.ContactID)
		}
	})
}

// FuzzValidValue: the scanner's validity is encoding/json's, nesting limit included.
func FuzzValidValue(f *testing.F) {
	addExampleSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validValue(data), json.Valid(data); got != want {
			t.Fatalf("validValue = %v, json.Valid = %v", got, want)
		}
	})
}

func TestDeepNesting(t *testing.T) {
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		data := bytes.Repeat([]byte("["), depth)
		data = append(data, bytes.Repeat([]byte("]"), depth)...)
		if got, want := validValue(data), json.Valid(data); got != want {
			t.Errorf("depth %d: validValue = %v, json.Valid = %v", depth, got, want)
		}
	}
}
