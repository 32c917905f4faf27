package schemas

import (
	"embed"
	"slices"
)

// The event types Voyado documents (domain doc §1.1). Engage adds new ones
// over time; the bridge routes unknown types too, so these are for samples,
// tests and bounded metric labels, never for rejecting a delivery.
const (
	EventContactAcceptsEmailChanged    = "contact.acceptsEmail.changed"
	EventContactAcceptsSmsChanged      = "contact.acceptsSms.changed"
	EventContactAcceptsPostalChanged   = "contact.acceptsPostal.changed"
	EventContactConsentChanged         = "contact.consent.changed"
	EventContactCreated                = "contact.created"
	EventContactUpdated                = "contact.updated"
	EventContactDeleted                = "contact.deleted"
	EventLoyaltyAddPoints              = "loyalty.addPoints"
	EventPointBalanceUpdated           = "point.balance.updated"
	EventRewardVoucherCreated          = "reward.voucher.created"
	EventPromotionMultichannelAssigned = "promotion.multichannel.assigned"
)

// EventTypes returns the documented event types in a stable order.
func EventTypes() []string {
	return []string{
		EventContactAcceptsEmailChanged,
		EventContactAcceptsSmsChanged,
		EventContactAcceptsPostalChanged,
		EventContactConsentChanged,
		EventContactCreated,
		EventContactUpdated,
		EventContactDeleted,
		EventLoyaltyAddPoints,
		EventPointBalanceUpdated,
		EventRewardVoucherCreated,
		EventPromotionMultichannelAssigned,
	}
}

// documented returns the constant of a documented event type written
// plainly in b, so that parsing a delivery of a documented type allocates
// no string for it (a switch on string(b) does not copy b). An escaped
// spelling never matches: the constants hold no backslash.
func documented(b []byte) (string, bool) {
	switch string(b) {
	case EventContactAcceptsEmailChanged:
		return EventContactAcceptsEmailChanged, true
	case EventContactAcceptsSmsChanged:
		return EventContactAcceptsSmsChanged, true
	case EventContactAcceptsPostalChanged:
		return EventContactAcceptsPostalChanged, true
	case EventContactConsentChanged:
		return EventContactConsentChanged, true
	case EventContactCreated:
		return EventContactCreated, true
	case EventContactUpdated:
		return EventContactUpdated, true
	case EventContactDeleted:
		return EventContactDeleted, true
	case EventLoyaltyAddPoints:
		return EventLoyaltyAddPoints, true
	case EventPointBalanceUpdated:
		return EventPointBalanceUpdated, true
	case EventRewardVoucherCreated:
		return EventRewardVoucherCreated, true
	case EventPromotionMultichannelAssigned:
		return EventPromotionMultichannelAssigned, true
	}
	return "", false
}

// IsDocumented reports whether eventType is one of EventTypes.
func IsDocumented(eventType string) bool {
	return slices.Contains(EventTypes(), eventType)
}

//go:embed examples/*.json
var examples embed.FS

// Example returns Engage's example delivery body for a documented event
// type (see examples/README.md for where each comes from; the
// preference, consent and promotion payloads are inferred).
func Example(eventType string) ([]byte, bool) {
	b, err := examples.ReadFile("examples/" + eventType + ".json")
	return b, err == nil
}
