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
// tenant and payload bytes that encoding/json decodes into struct fields.
func FuzzParseEnvelope(f *testing.F) {
	addExampleSeeds(f)
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
			EventType   json.RawMessage `json:"eventType"`
			Tenant      json.RawMessage `json:"tenant"`
			Payload     json.RawMessage `json:"payload"`
			IsEncrypted json.RawMessage `json:"isEncrypted"`
		}
		if err := json.Unmarshal(body, &ref); err != nil {
			t.Fatalf("encoding/json rejects what json.Valid accepted: %v", err)
		}
		if err != nil {
			return
		}
		var eventType string
		if json.Unmarshal(ref.EventType, &eventType) != nil || eventType != env.EventType {
			t.Fatalf("eventType %q, encoding/json reads %s", env.EventType, ref.EventType)
		}
		if !bytes.Equal(ref.Payload, env.Payload) {
			t.Fatalf("payload bytes differ from encoding/json's RawMessage")
		}
		var tenant string
		if json.Unmarshal(ref.Tenant, &tenant) == nil && tenant != env.Tenant {
			t.Fatalf("tenant %q, encoding/json reads %q", env.Tenant, tenant)
		}
		if env.PayloadIsObject() {
			id, err := env.ContactID()
			id2, err2 := ContactID(env.Payload)
			if id != id2 || (err == nil) != (err2 == nil) {
				t.Fatalf("one-pass contactId %q/%v, standalone %q/%v", id, err, id2, err2)
			}
			var p struct {
				ContactID *string `json:"contactId"`
			}
			if json.Unmarshal(env.Payload, &p) == nil && p.ContactID != nil && *p.ContactID != "" && *p.ContactID != id {
				t.Fatalf("contactId %q, encoding/json reads %q", id, *p.ContactID)
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

// FuzzContactID: never panics, and agrees with encoding/json on validity.
func FuzzContactID(f *testing.F) {
	addExampleSeeds(f)
	f.Add([]byte(`{"ContactId":"x"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		id, err := ContactID(payload)
		if errors.Is(err, ErrPayloadNotJSON) == json.Valid(payload) {
			t.Fatalf("ContactID error %v, json.Valid = %v", err, json.Valid(payload))
		}
		if err == nil && id == "" {
			t.Fatalf("empty contactId without error")
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
