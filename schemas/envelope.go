package schemas

import (
	"errors"
	"fmt"
)

// Errors of ParseEnvelope and ContactID. Each names one way a correctly
// signed delivery can be unusable; the ingress maps them to dead-letter
// reasons with errors.Is. Wrapped detail never quotes input bytes.
var (
	// ErrNotObject means the body is not one syntactically valid JSON object.
	ErrNotObject = errors.New("body is not a JSON object")
	// ErrMissingEventType means eventType is absent, empty or not a string.
	ErrMissingEventType = errors.New("eventType missing")
	// ErrInvalidPayload means payload is absent or of a type the envelope's
	// isEncrypted flag does not allow, or isEncrypted is not a boolean.
	ErrInvalidPayload = errors.New("invalid payload")
	// ErrPayloadNotJSON means a decrypted payload is not valid JSON.
	ErrPayloadNotJSON = errors.New("payload is not JSON")
	// ErrMissingContactID means the payload has no non-empty string
	// contactId under any key casing.
	ErrMissingContactID = errors.New("contactId missing")
)

// Envelope is the outer object Engage sends for every event:
//
//	{"eventId": "…", "eventType": "contact.updated", "isEncrypted": false,
//	 "payload": {…}, "tenant": "myTenantName"}
//
// Keys match as encoding/json matches a struct's string and bool fields, so
// a consumer decoding the record with encoding/json sees what the bridge
// routed on. The exact rule, for the envelope's keys and for contactId:
//
//   - a key matches a name exactly or under Unicode case folding
//     (strings.EqualFold), so "Tenant" and "TENANT" are tenant;
//   - a member whose value is null is skipped, as encoding/json leaves a
//     string or bool field untouched on null: "tenant":"acme","tenant":null
//     is tenant acme;
//   - of the other matching members, the last one wins, whatever its key's
//     casing; when its value has the wrong type (where encoding/json reports
//     an error and keeps the earlier value) the field counts as not a string.
//
// payload is the exception to the null rule: encoding/json hands null to a
// json.RawMessage, so a last payload of null means no payload.
type Envelope struct {
	// EventID is eventId, or id when eventId is absent or null
	// (loyalty.addPoints and point.balance.updated use id); empty when
	// neither is there.
	EventID string
	// EventType is the event's name, for example "contact.updated".
	EventType string
	// IsEncrypted is the envelope's flag. When it is true and Payload is a
	// JSON string, the payload must be decrypted; when it is true and
	// Payload is an object (as in Voyado's own examples), it is cleartext.
	IsEncrypted bool
	// Tenant is the Engage tenant name; empty when absent.
	Tenant string
	// Payload is the payload value's bytes exactly as received: a JSON
	// object, or a JSON string with its quotes when encrypted.
	Payload []byte

	// tenantsDisagree: see TenantsDisagree.
	tenantsDisagree bool

	body        []byte
	payload     span
	isEncrypted span // the literal true/false; empty when the key is absent
	contactID   string
	contactErr  error
}

// TenantsDisagree reports whether the envelope has more than one tenant
// key (in any casing, null included) and their values are not all the same
// JSON value. Tenant follows encoding/json (last non-null wins), but a
// case-sensitive reader (JavaScript, Jackson, Python, jq) may read another
// of them, so a check of the tenant holds for every reader only when this
// is false.
func (e *Envelope) TenantsDisagree() bool { return e.tenantsDisagree }

// PayloadIsObject reports whether the payload is a JSON object, that is
// cleartext whatever IsEncrypted says.
func (e *Envelope) PayloadIsObject() bool { return len(e.Payload) > 0 && e.Payload[0] == '{' }

// PayloadIsString reports whether the payload is a JSON string, the shape
// of an encrypted payload.
func (e *Envelope) PayloadIsString() bool { return len(e.Payload) > 0 && e.Payload[0] == '"' }

// ContactID returns the cleartext payload's contactId, found during the
// same pass that parsed the envelope. It is only meaningful when
// PayloadIsObject; for an encrypted payload use the package function
// ContactID on the decrypted bytes.
func (e *Envelope) ContactID() (string, error) {
	if !e.PayloadIsObject() {
		return "", fmt.Errorf("%w: payload is not an object", ErrMissingContactID)
	}
	return e.contactID, e.contactErr
}

// Ciphertext returns the encrypted payload's text with JSON escapes
// resolved. .NET's System.Text.Json writes '+' as \u002B by default, so a
// standard-alphabet base64 payload must be unescaped before decoding.
func (e *Envelope) Ciphertext() ([]byte, error) {
	if !e.PayloadIsString() {
		return nil, fmt.Errorf("%w: payload is not a string", ErrInvalidPayload)
	}
	content := span{e.payload.start + 1, e.payload.end - 1}
	raw := e.body[content.start:content.end]
	for _, c := range raw {
		if c == '\\' {
			s, ok := unquote(e.body, content)
			if !ok {
				return nil, fmt.Errorf("%w: payload string cannot be unescaped", ErrInvalidPayload)
			}
			return []byte(s), nil
		}
	}
	return raw, nil
}

// WithPayload returns the received body with the payload value replaced
// by plain (verbatim) and isEncrypted set to false; every other byte is
// kept as received. This is the record value of a decrypted delivery.
func (e *Envelope) WithPayload(plain []byte) []byte {
	first, second := e.payload, e.isEncrypted
	firstNew, secondNew := plain, []byte("false")
	if second.end > second.start && second.start < first.start {
		first, second = second, first
		firstNew, secondNew = secondNew, firstNew
	}
	out := make([]byte, 0, len(e.body)-(first.end-first.start)-(second.end-second.start)+len(firstNew)+len(secondNew))
	out = append(out, e.body[:first.start]...)
	out = append(out, firstNew...)
	if second.end > second.start {
		out = append(out, e.body[first.end:second.start]...)
		out = append(out, secondNew...)
		out = append(out, e.body[second.end:]...)
	} else {
		out = append(out, e.body[first.end:]...)
	}
	return out
}

// ParseEnvelope reads the envelope in one pass over body without copying
// the payload. When the payload is an object it also finds contactId in the
// same pass. Errors wrap ErrNotObject, ErrMissingEventType or
// ErrInvalidPayload, checked in that order; with ErrInvalidPayload the
// returned Envelope still holds EventType, EventID and Tenant.
func ParseEnvelope(body []byte) (Envelope, error) {
	e := Envelope{body: body}
	var eventID, id, eventType, isEncrypted, tenant, payload member
	var haveEventID, haveID, haveEventType, haveIsEncrypted, haveTenant, havePayload bool
	var contact contactFinder
	var firstTenant span // the first tenant member's value, null included
	var tenants int
	descend := func(m member) func(member) error {
		if !keyIs(body, m, "payload") {
			return nil
		}
		contact = contactFinder{data: body}
		return contact.member
	}
	err := scanObject(body, func(m member) error {
		if keyIs(body, m, "tenant") {
			tenants++
			if tenants == 1 {
				firstTenant = m.value
			} else if !sameValue(body, firstTenant, m.value) {
				e.tenantsDisagree = true
			}
		}
		if body[m.value.start] == 'n' && !keyIs(body, m, "payload") {
			return nil // null leaves the field as it was (see Envelope)
		}
		switch {
		case keyIs(body, m, "eventType"):
			eventType, haveEventType = m, true
		case keyIs(body, m, "payload"):
			payload, havePayload = m, true
		case keyIs(body, m, "isEncrypted"):
			isEncrypted, haveIsEncrypted = m, true
		case keyIs(body, m, "tenant"):
			tenant, haveTenant = m, true
		case keyIs(body, m, "eventId"):
			eventID, haveEventID = m, true
		case keyIs(body, m, "id"):
			id, haveID = m, true
		}
		return nil
	}, descend)
	if err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrNotObject, err)
	}

	if !haveEventType {
		return Envelope{}, fmt.Errorf("%w: no eventType key, or only null", ErrMissingEventType)
	}
	v := body[eventType.value.start:eventType.value.end]
	if v[0] != '"' {
		return Envelope{}, fmt.Errorf("%w: eventType is not a string", ErrMissingEventType)
	}
	if name, ok := documented(v[1 : len(v)-1]); ok {
		e.EventType = name // no string to allocate for a documented type
	} else {
		e.EventType, _ = unquote(body, span{eventType.value.start + 1, eventType.value.end - 1})
	}
	if e.EventType == "" {
		return Envelope{}, fmt.Errorf("%w: eventType is empty", ErrMissingEventType)
	}

	if haveTenant {
		e.Tenant = stringValue(body, tenant.value)
	}
	switch {
	case haveEventID:
		e.EventID = idValue(body, eventID.value)
	case haveID:
		e.EventID = idValue(body, id.value)
	}

	// From here on errors are about the payload; the envelope's names are
	// returned with them so that a dead letter can carry them.
	if haveIsEncrypted {
		switch string(body[isEncrypted.value.start:isEncrypted.value.end]) {
		case "true":
			e.IsEncrypted = true
			e.isEncrypted = isEncrypted.value
		case "false":
			e.isEncrypted = isEncrypted.value
		default:
			return e, fmt.Errorf("%w: isEncrypted is not a boolean", ErrInvalidPayload)
		}
	}

	if !havePayload {
		return e, fmt.Errorf("%w: no payload key", ErrInvalidPayload)
	}
	e.payload = payload.value
	e.Payload = body[payload.value.start:payload.value.end]
	switch {
	case e.PayloadIsObject():
		e.contactID, e.contactErr = contact.result()
	case e.PayloadIsString() && e.IsEncrypted:
	case e.PayloadIsString():
		return e, fmt.Errorf("%w: payload is a string but isEncrypted is not true", ErrInvalidPayload)
	default:
		return e, fmt.Errorf("%w: payload is %s, not an object", ErrInvalidPayload, kindOf(e.Payload))
	}
	return e, nil
}

// ContactID validates that payload is one JSON object and returns its
// contactId, matching the key in any casing (reward.voucher.created sends
// ContactId) by encoding/json's rule spelled out on Envelope: null skipped,
// then the last match wins. Errors wrap ErrPayloadNotJSON, ErrInvalidPayload (valid JSON
// but not an object) or ErrMissingContactID.
func ContactID(payload []byte) (string, error) {
	contact := contactFinder{data: payload}
	if err := scanObject(payload, contact.member, nil); err != nil {
		if validValue(payload) {
			return "", fmt.Errorf("%w: payload is %s, not an object", ErrInvalidPayload, kindOf(payload))
		}
		return "", fmt.Errorf("%w: %w", ErrPayloadNotJSON, err)
	}
	return contact.result()
}

// contactFinder collects the last member named contactId (any casing) of
// the object it is shown, skipping null values: encoding/json's rule for a
// string field, spelled out on Envelope.
type contactFinder struct {
	data  []byte
	found member
	have  bool
}

func (c *contactFinder) member(m member) error {
	if c.data[m.value.start] != 'n' && keyIs(c.data, m, "contactId") {
		c.found, c.have = m, true
	}
	return nil
}

func (c *contactFinder) result() (string, error) {
	if !c.have {
		return "", fmt.Errorf("%w: no contactId key, or only null", ErrMissingContactID)
	}
	v := c.found.value
	if c.data[v.start] != '"' {
		return "", fmt.Errorf("%w: contactId is %s, not a string", ErrMissingContactID, kindOf(c.data[v.start:v.end]))
	}
	id, _ := unquote(c.data, span{v.start + 1, v.end - 1})
	if id == "" {
		return "", fmt.Errorf("%w: contactId is empty", ErrMissingContactID)
	}
	return id, nil
}

// sameValue reports whether the values a and b of data are the same JSON
// value as far as a tenant goes: the same bytes, or strings equal once
// unescaped. Objects or arrays that differ only in spacing count as
// different (a tenant that is not a string fails the check anyway).
func sameValue(data []byte, a, b span) bool {
	va, vb := data[a.start:a.end], data[b.start:b.end]
	if string(va) == string(vb) {
		return true
	}
	if va[0] != '"' || vb[0] != '"' {
		return false
	}
	sa, okA := unquote(data, span{a.start + 1, a.end - 1})
	sb, okB := unquote(data, span{b.start + 1, b.end - 1})
	return okA && okB && sa == sb
}

// stringValue returns a string value's content, or "" for any other type.
func stringValue(data []byte, v span) string {
	if data[v.start] != '"' {
		return ""
	}
	s, _ := unquote(data, span{v.start + 1, v.end - 1})
	return s
}

// idValue accepts a string or, in case a producer serialises an integer
// id, a number's literal text.
func idValue(data []byte, v span) string {
	c := data[v.start]
	if c == '-' || ('0' <= c && c <= '9') {
		return string(data[v.start:v.end])
	}
	return stringValue(data, v)
}

func kindOf(v []byte) string {
	if len(v) == 0 {
		return "empty"
	}
	switch c := v[0]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	default:
		return "a number"
	}
}
