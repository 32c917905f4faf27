package schemas

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestExamplesMatchSchemas: Engage's example of every event type is valid
// for its JSON Schema (checked by a maintained validator), and every body
// for the envelope's.
func TestExamplesMatchSchemas(t *testing.T) {
	t.Parallel()
	v := mustValidator(t)
	for _, et := range EventTypes() {
		t.Run(et, func(t *testing.T) {
			body, _ := Example(et)
			if err := v.CheckEnvelope(body); err != nil {
				t.Errorf("envelope: %v", err)
			}
			env, err := ParseEnvelope(body)
			if err != nil {
				t.Fatal(err)
			}
			checked, err := v.Check(et, env.Payload)
			if !checked || err != nil {
				t.Errorf("payload: checked=%v %v", checked, err)
			}
		})
	}
}

// TestGoTypesAndSchemasAgree cross-checks the Go types with the schemas:
// every example decodes into its Go type, and what the Go type encodes is
// valid for the schema again.
func TestGoTypesAndSchemasAgree(t *testing.T) {
	t.Parallel()
	v := mustValidator(t)
	for _, et := range EventTypes() {
		t.Run(et, func(t *testing.T) {
			body, _ := Example(et)
			var e Event
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatal(err)
			}
			if e.EventType != et || e.Tenant != "myTenantName" || e.Identifier() == "" {
				t.Errorf("envelope %+v", e)
			}
			p, err := e.DecodePayload()
			if err != nil {
				t.Fatalf("DecodePayload: %v", err)
			}
			// Every field of the schema that the example sets is set in Go.
			var raw map[string]json.RawMessage
			_ = json.Unmarshal(e.Payload, &raw)
			again, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]json.RawMessage
			_ = json.Unmarshal(again, &back)
			for k := range raw {
				if _, ok := back[k]; !ok {
					t.Errorf("field %s of the example is not in the Go type", k)
				}
			}
			if checked, err := v.Check(et, again); !checked || err != nil {
				t.Errorf("the Go type's encoding is not valid for the schema: %v", err)
			}
		})
	}
}

func TestDecodePayloadKeepsDecimalsAndTimes(t *testing.T) {
	t.Parallel()
	body, _ := Example(EventLoyaltyAddPoints)
	var e Event
	_ = json.Unmarshal(body, &e)
	p, err := e.DecodePayload()
	if err != nil {
		t.Fatal(err)
	}
	if a := p.(*LoyaltyAddPoints).Amount; a.String() != "100.10" {
		t.Errorf("amount %s, want the exact 100.10", a)
	}
	if e.ID == "" || e.EventID != "" || e.Identifier() != e.ID {
		t.Errorf("loyalty events use id: %+v", e)
	}
	body, _ = Example(EventRewardVoucherCreated)
	_ = json.Unmarshal(body, &e)
	p, _ = e.DecodePayload()
	r := p.(*RewardVoucherCreated)
	if r.ContactID != "515c1b2a-7124-4bb9-826b-aedbbe5da8c4" || r.Amount.String() != "100.00" {
		t.Errorf("PascalCase voucher %+v", r)
	}
	if want := time.Date(2026, 3, 1, 0, 0, 0, 0, time.FixedZone("", 3600)); !r.ValidFrom.Equal(want) {
		t.Errorf("ValidFrom %v", r.ValidFrom)
	}
	body, _ = Example(EventContactUpdated)
	_ = json.Unmarshal(body, &e)
	p, _ = e.DecodePayload()
	u := p.(*ContactUpdated)
	if u.ContactID == "" || len(u.ChangedValues) != 1 || u.ChangedValues[0].Path != "Email" || u.Email != "john.doe@example.com" {
		t.Errorf("contact.updated %+v", u)
	}
	if _, err := DecodePayload("order.created", []byte(`{}`)); !errors.Is(err, ErrUnknownEventType) {
		t.Errorf("unknown type: %v", err)
	}
}

// TestDrift: a payload that contradicts its schema is reported; extra
// fields and nulls for optional fields are not drift.
func TestDrift(t *testing.T) {
	t.Parallel()
	v := mustValidator(t)
	tests := []struct {
		name, eventType, payload string
		drift                    bool
	}{
		{"extra field", EventContactDeleted, `{"contactId":"c","deletionReason":"x","newField":{"a":1}}`, false},
		{"null optional field", EventContactCreated, `{"contactId":"c","careOf":null,"customAttributes":null}`, false},
		{"amount as a string", EventLoyaltyAddPoints, `{"contactId":"c","amount":"100.10"}`, true},
		{"no amount", EventLoyaltyAddPoints, `{"contactId":"c"}`, true},
		{"pointDefinitionId not an integer", EventLoyaltyAddPoints, `{"contactId":"c","amount":1,"pointDefinitionId":1.5}`, true},
		{"camelCase voucher", EventRewardVoucherCreated, `{"contactId":"c","amount":1}`, true},
		{"contactId a number", EventContactDeleted, `{"contactId":42}`, true},
		{"email an object", EventContactUpdated, `{"contactId":"c","email":{"a":1}}`, true},
		{"changedValues not a list", EventContactUpdated, `{"contactId":"c","changedValues":{"path":"Email"}}`, true},
		{"inferred: only contactId required", EventPromotionMultichannelAssigned, `{"contactId":"c","somethingElse":1}`, false},
		{"inferred: ContactId is drift", EventContactAcceptsEmailChanged, `{"ContactId":"c","acceptsEmail":true}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checked, err := v.Check(tt.eventType, []byte(tt.payload))
			if !checked {
				t.Fatal("not checked")
			}
			if (err != nil) != tt.drift {
				t.Errorf("drift = %v (%v), want %v", err != nil, err, tt.drift)
			}
		})
	}
	if checked, err := v.Check("order.created", []byte(`{}`)); checked || err != nil {
		t.Errorf("unknown event type: checked=%v %v", checked, err)
	}
	if checked, _ := v.Check(EnvelopeSchema, []byte(`{}`)); checked {
		t.Error("the envelope is not an event type")
	}
}

func TestJSONSchemaFiles(t *testing.T) {
	t.Parallel()
	for _, name := range SchemaNames() {
		b, ok := JSONSchema(name)
		if !ok {
			t.Fatalf("no schema %s", name)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || !strings.HasSuffix(doc["$id"].(string), "/"+name+".json") {
			t.Errorf("%s: $schema %v $id %v", name, doc["$schema"], doc["$id"])
		}
	}
	if _, ok := JSONSchema("../events/x"); ok {
		t.Error("path outside the schema directory")
	}
}

// TestGoTypesCoverDocumentedTypes: DecodePayload has a Go type for every
// documented event type.
func TestGoTypesCoverDocumentedTypes(t *testing.T) {
	t.Parallel()
	for _, et := range EventTypes() {
		p, err := DecodePayload(et, []byte(`{"contactId":"c"}`))
		if err != nil || reflect.ValueOf(p).Kind() != reflect.Pointer {
			t.Errorf("%s: %T %v", et, p, err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	v := mustValidator(b)
	body, _ := Example(EventContactUpdated)
	env, _ := ParseEnvelope(body)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Check(EventContactUpdated, env.Payload); err != nil {
			b.Fatal(err)
		}
	}
}
