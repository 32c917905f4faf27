package ingress

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// Signature failure reasons, the machine `reason` of a 401 answer.
const (
	ReasonMissingHeaders = "missing_headers"
	ReasonBadTimestamp   = "bad_timestamp"
	ReasonNoMatch        = "no_match"
	ReasonTooOld         = "too_old"
	ReasonTooNew         = "too_new"
)

// SignatureError says why a delivery's Svix signature was not accepted.
type SignatureError struct {
	Reason string // one of the Reason* constants
}

func (e *SignatureError) Error() string { return "invalid signature: " + e.Reason }

// Delivery identifies one delivery attempt, as its headers say.
type Delivery struct {
	ID        string // svix-id (or webhook-id): stable across retries
	Timestamp string // svix-timestamp as received: the attempt's time
}

// Verifier checks Svix signatures against every configured secret, so a
// secret can be rotated without downtime. The svix library computes and
// compares the HMAC (in constant time); the verifier reads the headers and
// checks the timestamp itself, because the library's 5-minute tolerance is
// fixed and its errors are unexported.
type Verifier struct {
	hooks     []*svix.Webhook
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier accepts whsec_ secrets (the prefix is optional; the rest is
// standard base64). Errors name the secret's position, never its value.
func NewVerifier(secrets []string, tolerance time.Duration, now func() time.Time) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("at least one signing secret is required")
	}
	if tolerance <= 0 {
		return nil, errors.New("timestamp tolerance must be positive")
	}
	if now == nil {
		now = time.Now
	}
	v := &Verifier{tolerance: tolerance, now: now}
	for i, s := range secrets {
		wh, err := svix.NewWebhook(s)
		if err != nil {
			// The library's error may quote the base64 input: do not wrap it.
			return nil, fmt.Errorf("signing secret %d of %d is not a whsec_ secret (expected whsec_ followed by standard base64)", i+1, len(secrets))
		}
		v.hooks = append(v.hooks, wh)
	}
	return v, nil
}

// Verify checks a delivery's signature over the raw body. It uses the
// svix-* headers when all three are present, else the webhook-* set, as
// the svix library does. The timestamp is checked before the signature,
// also as the library does; an error is always a *SignatureError.
func (v *Verifier) Verify(h http.Header, body []byte) (Delivery, error) {
	id := h.Get(schemas.HeaderSvixID)
	ts := h.Get(schemas.HeaderSvixTimestamp)
	sig := h.Get(schemas.HeaderSvixSignature)
	if id == "" || ts == "" || sig == "" {
		id = h.Get(schemas.HeaderWebhookID)
		ts = h.Get(schemas.HeaderWebhookTimestamp)
		sig = h.Get(schemas.HeaderWebhookSignature)
		if id == "" || ts == "" || sig == "" {
			return Delivery{}, &SignatureError{ReasonMissingHeaders}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Delivery{}, &SignatureError{ReasonBadTimestamp}
	}
	// Same comparisons as the svix library, with our tolerance.
	now := v.now()
	if now.Sub(time.Unix(sec, 0)) > v.tolerance {
		return Delivery{}, &SignatureError{ReasonTooOld}
	}
	if sec > now.Add(v.tolerance).Unix() {
		return Delivery{}, &SignatureError{ReasonTooNew}
	}
	for _, wh := range v.hooks {
		if wh.VerifyIgnoringTimestamp(body, h) == nil {
			return Delivery{ID: id, Timestamp: ts}, nil
		}
	}
	return Delivery{}, &SignatureError{ReasonNoMatch}
}
