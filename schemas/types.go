package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is a record value as consumers decode it: the Engage envelope,
// payload in cleartext (the bridge decrypts it and sets IsEncrypted to
// false). Decode it with encoding/json, then the payload with
// DecodePayload:
//
//	var e schemas.Event
//	if err := json.Unmarshal(record.Value, &e); err != nil { … }
//	p, err := e.DecodePayload() // *schemas.ContactUpdated, *schemas.PointBalanceUpdated, …
//
// The bridge's record headers carry eventType, the id and tenant too, so a
// consumer can filter before decoding the value.
type Event struct {
	// EventID identifies the event in Engage. contact.* and
	// reward.voucher.created send it as eventId; loyalty.addPoints and
	// point.balance.updated send id instead (see ID). It is not the
	// svix-id: deduplicate deliveries on the svix-id record header.
	EventID string `json:"eventId,omitempty"`
	// ID is EventID's name in the loyalty events.
	ID string `json:"id,omitempty"`
	// EventType names the event, for example "contact.updated".
	EventType string `json:"eventType"`
	// IsEncrypted is false in every record the bridge writes. Voyado's
	// own examples show true beside a cleartext payload; the bridge passes
	// such deliveries on unchanged, so a consumer must not rely on it.
	IsEncrypted bool `json:"isEncrypted"`
	// Payload is the event's data, exactly as Engage sent it.
	Payload json.RawMessage `json:"payload"`
	// Tenant is the Engage tenant (one per client environment).
	Tenant string `json:"tenant"`
}

// Identifier is EventID, or ID when the event uses that name.
func (e Event) Identifier() string {
	if e.EventID != "" {
		return e.EventID
	}
	return e.ID
}

// ErrUnknownEventType is returned for an event type Voyado does not
// document. Engage adds event types over time; a consumer should skip (or
// route to a fallback) rather than fail on it.
var ErrUnknownEventType = errors.New("event type without a Go type")

// DecodePayload decodes the payload into the Go type of the event type:
// *ContactCreated, *ContactUpdated, *ContactDeleted, *PreferenceChanged
// (the three contact.accepts*.changed), *ConsentChanged,
// *LoyaltyAddPoints, *PointBalanceUpdated, *RewardVoucherCreated or
// *PromotionAssigned. Unknown fields are ignored, so new fields Engage adds
// do not break consumers; numbers that Engage sends as Decimal decode into
// json.Number and keep every digit.
func (e Event) DecodePayload() (any, error) {
	return DecodePayload(e.EventType, e.Payload)
}

// DecodePayload is Event.DecodePayload for a payload on its own.
func DecodePayload(eventType string, payload []byte) (any, error) {
	var v any
	switch eventType {
	case EventContactCreated:
		v = new(ContactCreated)
	case EventContactUpdated:
		v = new(ContactUpdated)
	case EventContactDeleted:
		v = new(ContactDeleted)
	case EventContactAcceptsEmailChanged, EventContactAcceptsSmsChanged, EventContactAcceptsPostalChanged:
		v = new(PreferenceChanged)
	case EventContactConsentChanged:
		v = new(ConsentChanged)
	case EventLoyaltyAddPoints:
		v = new(LoyaltyAddPoints)
	case EventPointBalanceUpdated:
		v = new(PointBalanceUpdated)
	case EventRewardVoucherCreated:
		v = new(RewardVoucherCreated)
	case EventPromotionMultichannelAssigned:
		v = new(PromotionAssigned)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, eventType)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", eventType, err)
	}
	return v, nil
}

// ContactCreated is the payload of contact.created, sent when a contact is
// created in Engage (through the UI, an import, the API or a store).
//
// Fields Engage leaves empty may come as null; they decode to "". Dates
// are strings as Engage writes them: DateOfBirth is a date
// ("2004-02-17"), CreationTime and RegistrationDate are RFC 3339 date-times.
// The payload holds personal data: keep it out of logs, and erase it
// downstream on contact.deleted.
type ContactCreated struct {
	ContactID     string `json:"contactId"`
	ContactTypeID string `json:"contactTypeId"` // for example "Member"
	ExternalID    string `json:"externalId"`
	MemberNumber  string `json:"memberNumber"`

	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Email       string `json:"email"`
	MobilePhone string `json:"mobilePhone"`
	DateOfBirth string `json:"dateOfBirth"`
	Gender      string `json:"gender"`
	Language    string `json:"language"`
	// SwedishFinnishPersonalIdentityNumber is a national identity number:
	// the most sensitive field Engage sends.
	SwedishFinnishPersonalIdentityNumber string `json:"swedishFinnishPersonalIdentityNumber"`

	CareOf      string `json:"careOf"`
	Street      string `json:"street"`
	PostalCode  string `json:"postalCode"`
	City        string `json:"city"`
	CountryCode string `json:"countryCode"`

	MarketingGroupID           string `json:"marketingGroupId"`
	RegistrationByStoreID      string `json:"registrationByStoreId"`
	RegistrationDate           string `json:"registrationDate"`
	RegistrationSourceType     string `json:"registrationSourceType"`
	RegistrationSpecificSource string `json:"registrationSpecificSource"`
	CreationTime               string `json:"creationTime"`

	// CustomAttributes are the tenant's own fields, values as sent.
	CustomAttributes map[string]json.RawMessage `json:"customAttributes"`
}

// ContactUpdated is the payload of contact.updated: the whole contact as
// it is now, plus ChangedValues, the delta Engage tracked.
type ContactUpdated struct {
	ContactCreated
	// ChangedValues lists what changed. Paths are PascalCase property
	// names ("Email"), not the camelCase keys of the payload.
	ChangedValues             []ChangedValue `json:"changedValues"`
	UpdatedViaSourceType      string         `json:"updatedViaSourceType"`
	UpdatedWithSpecificSource string         `json:"updatedWithSpecificSource"`
}

// ChangedValue is one entry of contact.updated's delta. Values are raw
// JSON because a property may be of any type (null when unset).
type ChangedValue struct {
	Path          string          `json:"path"`
	PreviousValue json.RawMessage `json:"previousValue"`
	Value         json.RawMessage `json:"value"`
}

// ContactDeleted is the payload of contact.deleted: the erasure signal.
// A consumer holding personal data of the contact deletes it.
type ContactDeleted struct {
	ContactID      string `json:"contactId"`
	DeletionReason string `json:"deletionReason"`
}

// PreferenceChanged is the payload of contact.acceptsEmail.changed,
// contact.acceptsSms.changed and contact.acceptsPostal.changed, sent when
// an existing contact's channel opt-in changes (never on creation).
//
// INFERRED: Voyado publishes no payload for these events. The fields are
// our guess: the contactId and the flag that changed, the one matching the
// event type set and the others nil. Check a captured test event from the
// Svix portal before relying on more than ContactID.
type PreferenceChanged struct {
	ContactID     string `json:"contactId"`
	AcceptsEmail  *bool  `json:"acceptsEmail,omitempty"`
	AcceptsSms    *bool  `json:"acceptsSms,omitempty"`
	AcceptsPostal *bool  `json:"acceptsPostal,omitempty"`
}

// ConsentChanged is the payload of contact.consent.changed, sent when a
// consent-typed field of an existing contact changes. Consents are
// per-brand custom fields; once set, a consent never goes back to "not set".
//
// INFERRED: Voyado publishes no payload for this event. ConsentID and
// Value are our guess; Value is raw JSON because a consent's type is the
// tenant's choice.
type ConsentChanged struct {
	ContactID string          `json:"contactId"`
	ConsentID string          `json:"consentId"`
	Value     json.RawMessage `json:"value"`
}

// LoyaltyAddPoints is the payload of loyalty.addPoints: a points
// transaction made in the Engage UI or by an automation, for tenants on the
// "point follower" solution. The envelope carries id, not eventId.
type LoyaltyAddPoints struct {
	// Amount is a Decimal: json.Number keeps it exact ("100.10" stays so).
	Amount            json.Number `json:"amount"`
	ContactID         string      `json:"contactId"`
	PointDefinitionID int64       `json:"pointDefinitionId"` // an integer here…
	Source            string      `json:"source"`
	Description       string      `json:"description"`
	UserID            string      `json:"userId"`
	UserName          string      `json:"userName"`
	Reason            string      `json:"reason"`
	SourceID          string      `json:"sourceId"`
}

// PointBalanceUpdated is the payload of point.balance.updated, sent when a
// contact's point balance changes. The envelope carries id, not eventId.
type PointBalanceUpdated struct {
	// Balance is a Decimal, kept exact.
	Balance   json.Number `json:"balance"`
	ContactID string      `json:"contactId"`
	AccountID int64       `json:"accountId"`
	// DefinitionID is a string here, while loyalty.addPoints sends
	// pointDefinitionId as an integer.
	DefinitionID   string    `json:"definitionId"`
	BalanceExpires time.Time `json:"balanceExpires"` // DateTimeOffset
}

// RewardVoucherCreated is the payload of reward.voucher.created. Its keys
// are PascalCase, unlike every other event: ContactId, not contactId.
type RewardVoucherCreated struct {
	// Amount is a Decimal, kept exact.
	Amount     json.Number `json:"Amount"`
	ContactID  string      `json:"ContactId"`
	Currency   string      `json:"Currency"`
	ID         string      `json:"Id"`
	UniqueCode string      `json:"UniqueCode"`
	ValidFrom  time.Time   `json:"ValidFrom"` // DateTimeOffset
	ValidTo    time.Time   `json:"ValidTo"`   // DateTimeOffset
}

// PromotionAssigned is the payload of promotion.multichannel.assigned,
// sent when a multichannel promotion is assigned to a contact, from the
// UI, an automation or the API, so that POS and e-commerce can expose the
// matching coupon.
//
// INFERRED: Voyado publishes no payload for this event. The fields mirror
// the promotion-assignment API (contactId, promotionId).
type PromotionAssigned struct {
	ContactID   string `json:"contactId"`
	PromotionID string `json:"promotionId"`
}
