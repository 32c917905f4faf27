package schemas

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"
)

// review27NearMisses are spellings of name that are not name as written:
// each byte's case flipped, each byte dropped, doubled or replaced by its
// neighbour, padding, and each byte written as a \u escape or a
// surrogate-free \/ (which decode to name itself).
func review27NearMisses(name string) []string {
	var out []string
	for i := range len(name) {
		c := rune(name[i])
		if unicode.IsLetter(c) {
			flipped := unicode.ToUpper(c)
			if unicode.IsUpper(c) {
				flipped = unicode.ToLower(c)
			}
			out = append(out, name[:i]+string(flipped)+name[i+1:])
		}
		out = append(out, name[:i]+name[i+1:], name[:i]+name[i:i+1]+name[i:])
		if i+1 < len(name) {
			out = append(out, name[:i]+name[i+1:i+2]+name[i+1:])
		}
		out = append(out, name[:i]+fmt.Sprintf(`\u%04x`, c)+name[i+1:])
	}
	out = append(out, " "+name, name+" ", name+`\u0000`, name+".", strings.ToUpper(name), name+`\n`, `\/`+name)
	return out
}

// TestReview27DocumentedMatchesDecoding: ParseEnvelope's eventType is
// what encoding/json decodes the string to, for every documented type and
// every near miss of it: the constant only for the exact spelling or an
// escaped spelling of it, never for a different name.
func TestReview27DocumentedMatchesDecoding(t *testing.T) {
	for _, name := range EventTypes() {
		for _, raw := range append([]string{name}, review27NearMisses(name)...) {
			literal := `"` + raw + `"`
			var want string
			if err := json.Unmarshal([]byte(literal), &want); err != nil {
				continue // not a JSON string
			}
			body := []byte(`{"eventType":` + literal + `,"payload":{"contactId":"c1"}}`)
			env, err := ParseEnvelope(body)
			if err != nil {
				t.Errorf("eventType %s: %v", literal, err)
				continue
			}
			if env.EventType != want {
				t.Errorf("eventType %s parsed as %q, want %q", literal, env.EventType, want)
			}
			if IsDocumented(env.EventType) != IsDocumented(want) {
				t.Errorf("eventType %s: documented %v, want %v", literal, IsDocumented(env.EventType), IsDocumented(want))
			}
		}
	}
}

// TestReview27DocumentedLastMemberWins: with the eventType key given
// several times (any casing, null skipped), the documented-name shortcut
// takes the member encoding/json would, not the first one.
func TestReview27DocumentedLastMemberWins(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"eventType":"contact.created","eventType":"contact.updated","payload":{"contactId":"c"}}`, EventContactUpdated},
		{`{"eventType":"contact.created","EventType":"x.y","payload":{"contactId":"c"}}`, "x.y"},
		{`{"eventType":"x.y","EVENTTYPE":"contact.deleted","payload":{"contactId":"c"}}`, EventContactDeleted},
		{`{"eventType":"contact.deleted","eventType":null,"payload":{"contactId":"c"}}`, EventContactDeleted},
		{`{"eventType":"contact.deleted","eventtype":"contact.deleteD","payload":{"contactId":"c"}}`, "contact.deleteD"},
	} {
		env, err := ParseEnvelope([]byte(tc.body))
		if err != nil || env.EventType != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.body, env.EventType, err, tc.want)
		}
		var viaJSON struct {
			EventType string `json:"eventType"`
		}
		if err := json.Unmarshal([]byte(tc.body), &viaJSON); err == nil && viaJSON.EventType != env.EventType {
			t.Errorf("%s: encoding/json says %q, ParseEnvelope %q", tc.body, viaJSON.EventType, env.EventType)
		}
	}
}
