package schemas

import "testing"

// Tenant keys given more than once, in any casing, with different values
// are reported: readers of the record would not agree on the tenant.
// Tenant itself keeps encoding/json's rule.
func TestTenantsDisagree(t *testing.T) {
	const rest = `"eventType":"contact.updated","payload":{"contactId":"c1"}`
	for _, tt := range []struct {
		name, body string
		tenant     string
		disagree   bool
	}{
		{"one", `{"tenant":"a",` + rest + `}`, "a", false},
		{"none", `{` + rest + `}`, "", false},
		{"same twice", `{"tenant":"a",` + rest + `,"tenant":"a"}`, "a", false},
		{"same once escaped", `{"tenant":"a",` + rest + `,"Tenant":"\u0061"}`, "a", false},
		{"case variant", `{"tenant":"a",` + rest + `,"Tenant":"b"}`, "b", true},
		{"upper case first", `{"TENANT":"b","tenant":"a",` + rest + `}`, "a", true},
		{"plain duplicate", `{"tenant":"a",` + rest + `,"tenant":"b"}`, "b", true},
		{"then null", `{"tenant":"a",` + rest + `,"tenant":null}`, "a", true},
		{"then number", `{"tenant":"a",` + rest + `,"tenant":1}`, "", true},
		{"null twice", `{"tenant":null,` + rest + `,"Tenant":null}`, "", false},
		{"nested not counted", `{"tenant":"a","eventType":"contact.updated","payload":{"contactId":"c1","tenant":"b"}}`, "a", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ParseEnvelope([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if env.Tenant != tt.tenant || env.TenantsDisagree() != tt.disagree {
				t.Errorf("Tenant %q, TenantsDisagree %v; want %q, %v", env.Tenant, env.TenantsDisagree(), tt.tenant, tt.disagree)
			}
		})
	}
}
