package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const exampleContact = "515c1b2a-7124-4bb9-826b-aedbbe5da8c4"

// TestExamples parses Engage's own example of every documented event type.
func TestExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		eventType string
		eventID   string
		contactID string
		encrypted bool
	}{
		{EventContactAcceptsEmailChanged, "0d6f0005-2a4c-4e7b-9f1d-6b8e3c5a7d92", exampleContact, false},
		{EventContactAcceptsSmsChanged, "0d6f0003-2a4c-4e7b-9f1d-6b8e3c5a7d92", exampleContact, false},
		{EventContactAcceptsPostalChanged, "0d6f0006-2a4c-4e7b-9f1d-6b8e3c5a7d92", exampleContact, false},
		{EventContactConsentChanged, "7a3c9e1f-4b6d-4f82-a5c7-9e1b3d5f7a24", exampleContact, false},
		// Voyado's contact examples say isEncrypted: true beside a cleartext object.
		{EventContactCreated, "4ff4d68b-d299-4a17-81cc-e81abbf8932f", exampleContact, true},
		{EventContactUpdated, "4ff4d68b-d299-4a17-81cc-e81abbf8932f", exampleContact, true},
		{EventContactDeleted, "6a21bf40-56c1-49cf-ae6e-53b987ff2da4", "d3bdcad4-3f90-46ce-be4c-b3d800dc7979", true},
		// The loyalty events carry "id", not "eventId".
		{EventLoyaltyAddPoints, "8c1f5e2a-3b7d-4d92-a6e1-0f4b9c2d7e31", exampleContact, false},
		{EventPointBalanceUpdated, "c5a8e1d3-7f2b-4c96-8e4a-1b3d5f7a9c20", exampleContact, false},
		// PascalCase payload: ContactId.
		{EventRewardVoucherCreated, "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b", exampleContact, false},
		{EventPromotionMultichannelAssigned, "3e5a7c9f-1b2d-4e6f-8a0c-2d4f6b8e0a13", exampleContact, false},
	}
	if len(tests) != len(EventTypes()) {
		t.Fatalf("table covers %d event types, EventTypes has %d", len(tests), len(EventTypes()))
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			body, ok := Example(tt.eventType)
			if !ok {
				t.Fatalf("no example for %s", tt.eventType)
			}
			env, err := ParseEnvelope(body)
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			got := struct{ EventType, EventID, Tenant string }{env.EventType, env.EventID, env.Tenant}
			want := struct{ EventType, EventID, Tenant string }{tt.eventType, tt.eventID, "myTenantName"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("envelope (-want +got):\n%s", diff)
			}
			if env.IsEncrypted != tt.encrypted {
				t.Errorf("IsEncrypted = %v, want %v", env.IsEncrypted, tt.encrypted)
			}
			if !env.PayloadIsObject() {
				t.Fatalf("payload is not an object")
			}
			id, err := env.ContactID()
			if err != nil || id != tt.contactID {
				t.Errorf("ContactID() = %q, %v; want %q", id, err, tt.contactID)
			}
			// The standalone function agrees with the one-pass result.
			id2, err := ContactID(env.Payload)
			if err != nil || id2 != tt.contactID {
				t.Errorf("ContactID(payload) = %q, %v; want %q", id2, err, tt.contactID)
			}
			// Payload is the received bytes, not a re-encoding.
			var raw struct{ Payload json.RawMessage }
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(env.Payload, raw.Payload) {
				t.Errorf("Payload bytes differ from the received payload")
			}
		})
	}
}

func TestExampleFilesMatchEventTypes(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("examples/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	want := EventTypes()
	if diff := cmp.Diff(sortedCopy(want), sortedCopy(names)); diff != "" {
		t.Errorf("examples does not hold exactly one file per documented event type (-want +got):\n%s", diff)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if !json.Valid(b) {
			t.Errorf("%s is not valid JSON", f)
		}
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestParseEnvelopeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, ErrNotObject},
		{"whitespace", " \n ", ErrNotObject},
		{"array", `[{"eventType":"a","payload":{}}]`, ErrNotObject},
		{"string", `"x"`, ErrNotObject},
		{"truncated", `{"eventType":"contact.created","payload":{"contactId":"1"}`, ErrNotObject},
		{"trailing garbage", `{"eventType":"a","payload":{"contactId":"1"}} x`, ErrNotObject},
		{"two objects", `{"eventType":"a","payload":{"contactId":"1"}}{}`, ErrNotObject},
		{"trailing comma", `{"eventType":"a","payload":{"contactId":"1"},}`, ErrNotObject},
		{"doc double colon", `{"eventType":"a","payload": : {"contactId":"1"}}`, ErrNotObject},
		{"single quotes", `{'eventType':'a'}`, ErrNotObject},
		{"raw control char", "{\"eventType\":\"a\tb\",\"payload\":{}}", ErrNotObject},
		{"bad escape", `{"eventType":"a\x","payload":{}}`, ErrNotObject},
		{"leading zero", `{"eventType":"a","payload":{"n":01}}`, ErrNotObject},
		{"bare minus", `{"eventType":"a","payload":{"n":-}}`, ErrNotObject},
		{"NaN", `{"eventType":"a","payload":{"n":NaN}}`, ErrNotObject},
		{"no eventType", `{"payload":{"contactId":"1"}}`, ErrMissingEventType},
		{"eventType number", `{"eventType":1,"payload":{"contactId":"1"}}`, ErrMissingEventType},
		{"eventType null", `{"eventType":null,"payload":{"contactId":"1"}}`, ErrMissingEventType},
		{"eventType empty", `{"eventType":"","payload":{"contactId":"1"}}`, ErrMissingEventType},
		{"isEncrypted string", `{"eventType":"a","isEncrypted":"true","payload":"x"}`, ErrInvalidPayload},
		{"isEncrypted number", `{"eventType":"a","isEncrypted":1,"payload":{}}`, ErrInvalidPayload},
		{"no payload", `{"eventType":"a"}`, ErrInvalidPayload},
		{"payload null", `{"eventType":"a","payload":null}`, ErrInvalidPayload},
		{"payload array", `{"eventType":"a","payload":[{"contactId":"1"}]}`, ErrInvalidPayload},
		{"payload number", `{"eventType":"a","payload":12}`, ErrInvalidPayload},
		{"payload string not encrypted", `{"eventType":"a","payload":"AAAA"}`, ErrInvalidPayload},
		{"payload string isEncrypted false", `{"eventType":"a","isEncrypted":false,"payload":"AAAA"}`, ErrInvalidPayload},
		{"payload number encrypted", `{"eventType":"a","isEncrypted":true,"payload":12}`, ErrInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvelope([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseEnvelope error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestErrorsQuoteNoInput: error texts end up in dead-letter headers, which
// must not carry personal data, so they never quote the input.
func TestErrorsQuoteNoInput(t *testing.T) {
	t.Parallel()
	secret := "john.doe@example.com"
	bodies := []string{
		`{"eventType":"a","payload":{"email":"` + secret + `"` + "\x01}}",
		`{"eventType":"a","payload":{"contactId":{"email":"` + secret + `"}}}`,
		`{"eventType":"` + secret + "\x00" + `"}`,
		`{"eventType":"a","isEncrypted":"` + secret + `","payload":{}}`,
	}
	for _, b := range bodies {
		env, err := ParseEnvelope([]byte(b))
		if err == nil {
			_, err = env.ContactID()
		}
		if err == nil {
			t.Fatalf("%q parsed without error", b)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "john") {
			t.Errorf("error %q quotes the input", err)
		}
	}
}

func TestContactID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload string
		want    string
		wantErr error
	}{
		{"camel", `{"contactId":"abc"}`, "abc", nil},
		{"pascal", `{"ContactId":"abc"}`, "abc", nil},
		{"lower (old soft-id docs)", `{"contactid":"abc"}`, "abc", nil},
		{"upper", `{"CONTACTID":"abc"}`, "abc", nil},
		{"escaped key", `{"contact\u0049d":"abc"}`, "abc", nil},
		{"escaped value", `{"contactId":"a\u0062c"}`, "abc", nil},
		{"last duplicate wins, as encoding/json", `{"contactId":"a","ContactId":"b"}`, "b", nil},
		{"nested does not count", `{"customer":{"contactId":"abc"}}`, "", ErrMissingContactID},
		{"in changedValues path does not count", `{"changedValues":[{"path":"ContactId","value":"x"}]}`, "", ErrMissingContactID},
		{"among other fields", `{"a":[1,2,{"b":null}],"contactId" : "abc" ,"z":true}`, "abc", nil},
		{"missing", `{"id":"abc"}`, "", ErrMissingContactID},
		{"number", `{"contactId":123}`, "", ErrMissingContactID},
		{"null", `{"contactId":null}`, "", ErrMissingContactID},
		{"empty", `{"contactId":""}`, "", ErrMissingContactID},
		{"array payload", `[{"contactId":"abc"}]`, "", ErrInvalidPayload},
		{"string payload", `"abc"`, "", ErrInvalidPayload},
		{"not json", `{"contactId":"abc"`, "", ErrPayloadNotJSON},
		{"binary", "\x8f\x01\xff", "", ErrPayloadNotJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ContactID([]byte(tt.payload))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("ContactID error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ContactID = %q, want %q", got, tt.want)
			}
			// The one-pass path inside ParseEnvelope agrees.
			if tt.payload[0] == '{' && tt.wantErr != ErrPayloadNotJSON {
				env, err := ParseEnvelope([]byte(`{"eventType":"x","payload":` + tt.payload + `}`))
				if err != nil {
					t.Fatal(err)
				}
				got2, err2 := env.ContactID()
				if got2 != got || !errors.Is(err2, tt.wantErr) {
					t.Errorf("Envelope.ContactID = %q, %v; want %q, %v", got2, err2, got, tt.wantErr)
				}
			}
		})
	}
}

func TestEnvelopeFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want Envelope
	}{
		{"eventId preferred over id", `{"id":"b","eventId":"a","eventType":"t","payload":{}}`, Envelope{EventID: "a", EventType: "t"}},
		{"id when no eventId", `{"id":"b","eventType":"t","payload":{}}`, Envelope{EventID: "b", EventType: "t"}},
		{"numeric id", `{"id":42,"eventType":"t","payload":{}}`, Envelope{EventID: "42", EventType: "t"}},
		{"no id", `{"eventType":"t","payload":{}}`, Envelope{EventType: "t"}},
		{"pascal envelope keys", `{"EventId":"a","EventType":"t","IsEncrypted":false,"Payload":{},"Tenant":"x"}`, Envelope{EventID: "a", EventType: "t", Tenant: "x"}},
		{"tenant not a string is absent", `{"eventType":"t","tenant":7,"payload":{}}`, Envelope{EventType: "t"}},
		{"isEncrypted null", `{"eventType":"t","isEncrypted":null,"payload":{}}`, Envelope{EventType: "t"}},
		{"escaped eventType", `{"eventType":"contact\u002ecreated","payload":{}}`, Envelope{EventType: "contact.created"}},
		{"duplicate eventType: last wins", `{"eventType":"a","eventType":"b","payload":{}}`, Envelope{EventType: "b"}},
		{"whitespace everywhere", " \r\n\t{ \"eventType\" : \"t\" , \"payload\" : { } } \n", Envelope{EventType: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvelope([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			pick := func(e Envelope) [4]string {
				return [4]string{e.EventID, e.EventType, e.Tenant, map[bool]string{true: "enc"}[e.IsEncrypted]}
			}
			if diff := cmp.Diff(pick(tt.want), pick(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithPayload(t *testing.T) {
	t.Parallel()
	plain := []byte(`{"contactId":"c1","amount":100.10}`)
	tests := []struct {
		name string
		body string
		want string
	}{
		{
			"isEncrypted before payload",
			`{"eventId":"e","eventType":"t","isEncrypted":true,"payload":"QUJD","tenant":"x"}`,
			`{"eventId":"e","eventType":"t","isEncrypted":false,"payload":{"contactId":"c1","amount":100.10},"tenant":"x"}`,
		},
		{
			"isEncrypted after payload, odd spacing kept",
			"{ \"payload\" :  \"QUJD\" ,\n \"isEncrypted\":  true , \"eventType\":\"t\"}",
			"{ \"payload\" :  {\"contactId\":\"c1\",\"amount\":100.10} ,\n \"isEncrypted\":  false , \"eventType\":\"t\"}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !env.IsEncrypted || !env.PayloadIsString() {
				t.Fatalf("want an encrypted string payload")
			}
			got := env.WithPayload(plain)
			if string(got) != tt.want {
				t.Errorf("WithPayload =\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("result is not valid JSON")
			}
		})
	}
}

func TestCiphertext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, payload, want string
	}{
		{"plain", `"AAEC+/=="`, "AAEC+/=="},
		{"System.Text.Json escapes +", `"AAEC\u002B/=="`, "AAEC+/=="},
		{"escaped slash", `"AAEC+\/=="`, "AAEC+/=="},
		{"url-safe", `"AAEC-_"`, "AAEC-_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(`{"eventType":"t","isEncrypted":true,"payload":` + tt.payload + `}`))
			if err != nil {
				t.Fatal(err)
			}
			got, err := env.Ciphertext()
			if err != nil || string(got) != tt.want {
				t.Errorf("Ciphertext = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestDecimalsKept: Decimal amounts pass through byte for byte.
func TestDecimalsKept(t *testing.T) {
	t.Parallel()
	body, _ := Example(EventLoyaltyAddPoints)
	env, err := ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(env.Payload, []byte(`"amount": 100.10,`)) {
		t.Errorf("payload lost the exact amount literal:\n%s", env.Payload)
	}
}

func BenchmarkParseEnvelope(b *testing.B) {
	body, _ := Example(EventContactUpdated)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		env, err := ParseEnvelope(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := env.ContactID(); err != nil {
			b.Fatal(err)
		}
	}
}
