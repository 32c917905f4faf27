package schemas

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jsonView is what a consumer decoding the record with encoding/json into
// string and bool fields reads: the oracle for ParseEnvelope's key rules.
type jsonView struct {
	EventID     string `json:"eventId"`
	EventType   string `json:"eventType"`
	Tenant      string `json:"tenant"`
	IsEncrypted bool   `json:"isEncrypted"`
	ContactID   string
}

// jsonFields decodes body the way a consumer's encoding/json would. ok is
// false when encoding/json reports an error (a field of another type),
// where it promises nothing about the fields.
func jsonFields(body []byte) (v jsonView, ok bool) {
	var ref struct {
		jsonView
		Payload struct {
			ContactID string `json:"contactId"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &ref); err != nil {
		return jsonView{}, false
	}
	ref.jsonView.ContactID = ref.Payload.ContactID
	return ref.jsonView, true
}

// TestDuplicateKeyNull is issue 14 defect 10: a duplicate key whose value
// is null leaves the earlier value in place, as encoding/json does for a
// string or bool field, in the envelope and for contactId in any casing.
func TestDuplicateKeyNull(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want jsonView
	}{
		{"tenant", `{"eventType":"t","tenant":"acme","tenant":null,"payload":{"contactId":"c"}}`,
			jsonView{EventType: "t", Tenant: "acme", ContactID: "c"}},
		{"tenant other casing", `{"eventType":"t","tenant":"acme","TENANT":null,"payload":{"contactId":"c"}}`,
			jsonView{EventType: "t", Tenant: "acme", ContactID: "c"}},
		{"tenant null first", `{"eventType":"t","tenant":null,"tenant":"acme","payload":{"contactId":"c"}}`,
			jsonView{EventType: "t", Tenant: "acme", ContactID: "c"}},
		{"eventId", `{"eventType":"t","eventId":"e1","eventId":null,"payload":{"contactId":"c"}}`,
			jsonView{EventType: "t", EventID: "e1", ContactID: "c"}},
		{"eventType", `{"eventType":"t","eventType":null,"payload":{"contactId":"c"}}`,
			jsonView{EventType: "t", ContactID: "c"}},
		{"eventType other casing", `{"EventType":"t","eventtype":null,"payload":{"contactId":"c"}}`,
			jsonView{EventType: "t", ContactID: "c"}},
		{"isEncrypted", `{"eventType":"t","isEncrypted":true,"isEncrypted":null,"payload":{"contactId":"c"}}`,
			jsonView{EventType: "t", IsEncrypted: true, ContactID: "c"}},
		{"contactId", `{"eventType":"t","payload":{"contactId":"c","contactId":null}}`,
			jsonView{EventType: "t", ContactID: "c"}},
		{"contactId other casing", `{"eventType":"t","payload":{"ContactId":"c","contactid":null}}`,
			jsonView{EventType: "t", ContactID: "c"}},
		{"contactId null first", `{"eventType":"t","payload":{"contactId":null,"CONTACTID":"c"}}`,
			jsonView{EventType: "t", ContactID: "c"}},
		{"contactId last non-null casing wins", `{"eventType":"t","payload":{"contactId":"a","ContactId":"b","contactID":null}}`,
			jsonView{EventType: "t", ContactID: "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, ok := jsonFields([]byte(tt.body))
			if !ok {
				t.Fatalf("encoding/json rejects the test's body")
			}
			if diff := cmp.Diff(tt.want, ref); diff != "" {
				t.Fatalf("the table disagrees with encoding/json (-table +json):\n%s", diff)
			}
			env, err := ParseEnvelope([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			got := jsonView{EventID: env.EventID, EventType: env.EventType, Tenant: env.Tenant, IsEncrypted: env.IsEncrypted}
			got.ContactID, err = env.ContactID()
			if err != nil {
				t.Fatalf("Envelope.ContactID: %v", err)
			}
			if diff := cmp.Diff(ref, got); diff != "" {
				t.Errorf("ParseEnvelope disagrees with encoding/json (-json +scanned):\n%s", diff)
			}
			standalone, err := ContactID(env.Payload)
			if err != nil || standalone != ref.ContactID {
				t.Errorf("ContactID(payload) = %q, %v; encoding/json reads %q", standalone, err, ref.ContactID)
			}
		})
	}
}
