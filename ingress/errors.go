package ingress

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// Errors of the outer layers (http.go), in the order they are checked.
var (
	// ErrForbidden means the source address is not in AllowedIPs.
	ErrForbidden = errors.New("source address not allowed")
	// ErrBodyTooLarge means the body is over MaxBodyBytes.
	ErrBodyTooLarge = errors.New("body too large")
	// ErrUnauthorized means the custom auth header is missing or wrong.
	ErrUnauthorized = errors.New("custom auth token missing or wrong")
	// ErrOverloaded means MaxInFlight requests are already in flight.
	ErrOverloaded = errors.New("too many requests in flight")
	// ErrBodyRead means reading the request body failed.
	ErrBodyRead = errors.New("reading the request body failed")
)

// Routing errors (echo.go), answered by the same table as everything else.
var (
	// ErrNotFound means no endpoint is served on the request's path.
	ErrNotFound = errors.New("no such path")
	// ErrMethodNotAllowed means a method other than POST on an endpoint's path.
	ErrMethodNotAllowed = errors.New("method not allowed on the webhook path")
	// errPanic means the request's handling panicked: answered 500.
	errPanic = errors.New("panic while handling the request")
)

// Signature failure reasons (verify.go), the machine `reason` of a 401 answer.
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

// Errors of the pipeline (pipeline.go) about the delivery itself: each is
// dead-lettered with its reason (deadLetterReason), as are the schemas
// package's envelope and payload errors and a *decryptError.
var (
	// ErrNoEncryptionKey means the payload is encrypted and no key is
	// configured.
	ErrNoEncryptionKey = errors.New("payload is encrypted and no encryption key is configured")
	// ErrTenantMismatch means the endpoint lists its tenants and the
	// envelope's tenant is missing or not one of them, or its tenant keys
	// disagree (schemas.Envelope.TenantsDisagree).
	ErrTenantMismatch = errors.New("the envelope's tenant is not one this endpoint accepts")
	// ErrInvalidTopic means the routing template produced an illegal topic
	// name.
	ErrInvalidTopic = errors.New("routing produced an illegal topic name")
)

// ErrClientClosed means the sender closed its connection (or its context
// ended) before Kafka acknowledged the record. Not a Kafka fault: a record
// already in a request may still be acknowledged, and is then remembered
// as published like any other.
var ErrClientClosed = errors.New("the sender left before the record was acknowledged")

// ErrNoSuchEndpoint means Rotate was given a name the Handler does not
// serve.
var ErrNoSuchEndpoint = errors.New("no endpoint of that name is served")

// decryptError marks a failure of the decryption itself (base64, length,
// padding), as opposed to what the decrypted bytes turn out to hold.
type decryptError struct{ err error }

func (e *decryptError) Error() string { return "decrypt: " + e.err.Error() }
func (e *decryptError) Unwrap() error { return e.err }

// answer is the HTTP answer to one request. outcome is the metric label
// and the request log's outcome field.
type answer struct {
	status     int
	body       string
	retryAfter bool
	outcome    string
}

// Outcome labels of answers that are not a 2xx Outcome.
const (
	outcomeForbidden        = "forbidden"
	outcomeBodyTooLarge     = "body_too_large"
	outcomeUnauthorized     = "unauthorized"
	outcomeInvalidSignature = "invalid_signature"
	outcomeOverloaded       = "overloaded"
	outcomeUnavailable      = "unavailable"
	outcomeClientClosed     = "client_closed"
	outcomeRejected         = "rejected"
	outcomeBadRequest       = "bad_request"
	outcomeInternal         = "internal"
	outcomeNotFound         = "not_found"
	outcomeMethodNotAllowed = "method_not_allowed"
)

// statusClientClosed is the status logged for a sender that left before
// its answer (nginx's 499); the sender never sees it.
const statusClientClosed = 499

// answerFor is the one place that decides the HTTP answer (docs/contract.md#http-answers). It
// never answers 3xx or 410: Svix treats a redirect as a failure and a
// Standard Webhooks sender may disable an endpoint on 410.
func answerFor(res Result, err error) answer {
	if err == nil {
		switch res.Outcome {
		case Duplicate:
			return answer{http.StatusOK, `{"status":"duplicate"}`, false, string(Duplicate)}
		case DeadLettered:
			// Reasons are our own fixed identifiers: no escaping needed.
			return answer{http.StatusOK, `{"status":"deadlettered","reason":"` + res.Reason + `"}`, false, string(DeadLettered)}
		case Published:
			return answer{http.StatusOK, `{"status":"published"}`, false, string(Published)}
		}
		// A nil error without an outcome is a bug; do not answer 2xx.
		return answer{http.StatusInternalServerError, `{"error":"internal"}`, false, outcomeInternal}
	}
	var sigErr *SignatureError
	switch {
	case errors.Is(err, ErrForbidden):
		return answer{http.StatusForbidden, `{"error":"forbidden"}`, false, outcomeForbidden}
	case errors.Is(err, ErrBodyTooLarge):
		return answer{http.StatusRequestEntityTooLarge, `{"error":"body_too_large"}`, false, outcomeBodyTooLarge}
	case errors.Is(err, ErrUnauthorized):
		return answer{http.StatusUnauthorized, `{"error":"unauthorized"}`, false, outcomeUnauthorized}
	case errors.As(err, &sigErr):
		return answer{http.StatusUnauthorized, `{"error":"invalid_signature","reason":"` + sigErr.Reason + `"}`, false, outcomeInvalidSignature}
	case errors.Is(err, ErrOverloaded):
		return answer{http.StatusTooManyRequests, `{"error":"overloaded"}`, true, outcomeOverloaded}
	case errors.Is(err, ErrClientClosed):
		// Nobody reads this answer: the sender has gone. 499 is nginx's
		// "client closed request"; it is not a 5xx, so it is not logged as
		// our fault nor counted by the unavailable alert.
		return answer{statusClientClosed, `{"error":"client_closed"}`, false, outcomeClientClosed}
	case errors.Is(err, publisher.ErrRejected):
		// Refused for good, yet answered 503 so that Svix keeps retrying
		// for ~27 h while an operator fixes the topic (docs/contract.md#http-answers).
		return answer{http.StatusServiceUnavailable, `{"error":"unavailable"}`, true, outcomeRejected}
	case errors.Is(err, publisher.ErrUnavailable):
		return answer{http.StatusServiceUnavailable, `{"error":"unavailable"}`, true, outcomeUnavailable}
	case errors.Is(err, ErrBodyRead):
		return answer{http.StatusBadRequest, `{"error":"bad_request"}`, false, outcomeBadRequest}
	case errors.Is(err, ErrNotFound):
		return answer{http.StatusNotFound, `{"error":"not_found"}`, false, outcomeNotFound}
	case errors.Is(err, ErrMethodNotAllowed):
		return answer{http.StatusMethodNotAllowed, `{"error":"method_not_allowed"}`, false, outcomeMethodNotAllowed}
	}
	return answer{http.StatusInternalServerError, `{"error":"internal"}`, false, outcomeInternal}
}

// Dead-letter reasons (docs/contract.md#dead-letter-reasons), the engage-dlq-reason header and the
// `reason` of a deadlettered answer.
const (
	DLQInvalidJSON      = "invalid_json"
	DLQMissingEventType = "missing_event_type"
	DLQMissingContactID = "missing_contact_id"
	DLQNoEncryptionKey  = "no_encryption_key"
	DLQDecryptFailed    = "decrypt_failed"
	DLQInvalidPayload   = "invalid_payload"
	// DLQInvalidTopic means the routes file's template made a name Kafka would
	// refuse (docs/contract.md#routing says dead-letter it).
	DLQInvalidTopic = "invalid_topic"
	// DLQTenantMismatch means the endpoint lists its tenants and the envelope's
	// tenant is missing or another (checked before decryption).
	DLQTenantMismatch = "tenant_mismatch"
)

// deadLetterReason maps why a signed delivery is unusable to its
// dead-letter reason; ok is false for errors that are not about the
// delivery (those must not be dead-lettered).
func deadLetterReason(err error) (reason string, ok bool) {
	var de *decryptError
	switch {
	case errors.Is(err, schemas.ErrNotObject):
		return DLQInvalidJSON, true
	case errors.Is(err, schemas.ErrMissingEventType):
		return DLQMissingEventType, true
	case errors.Is(err, ErrNoEncryptionKey):
		return DLQNoEncryptionKey, true
	case errors.As(err, &de), errors.Is(err, schemas.ErrPayloadNotJSON):
		return DLQDecryptFailed, true
	case errors.Is(err, schemas.ErrInvalidPayload):
		return DLQInvalidPayload, true
	case errors.Is(err, schemas.ErrMissingContactID):
		return DLQMissingContactID, true
	case errors.Is(err, ErrInvalidTopic):
		return DLQInvalidTopic, true
	case errors.Is(err, ErrTenantMismatch):
		return DLQTenantMismatch, true
	}
	return "", false
}

// Configuration errors (config.go, secret.go): returned by Config.Validate,
// ParseSecret and ParseSecrets, never answered to a request.

// FieldError is a problem with one field of a Config, named as the Config
// names it (Path, SigningSecrets, AuthHeader, ...). Its message may name
// other fields the same way, so that a command can rename each to the
// variable or flag that sets it. No message quotes a secret.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// ErrRequired is a field that must be set (alone or given another field).
var ErrRequired = errors.New("required")

// ErrPath is a webhook path outside the accepted set (see ValidPath).
var ErrPath = errors.New("not a webhook path")

// ErrSecretPrefix and ErrSecretEncoding say why a secret was refused;
// SecretError wraps them with the secret's position.
var (
	// ErrSecretPrefix is a secret that does not start with whsec_.
	ErrSecretPrefix = errors.New("does not start with whsec_")
	// ErrSecretEncoding is a secret whose rest is not standard base64.
	ErrSecretEncoding = errors.New("is not a whsec_ secret (expected whsec_ followed by standard base64)")
	// ErrSecretShort is a secret that decodes to fewer than MinSecretBytes.
	ErrSecretShort = fmt.Errorf("is shorter than %d bytes after base64 decoding (Svix's secrets have 24 or 32)", MinSecretBytes)
)

// SecretError names which secret of a list is wrong, by position, never by
// value.
type SecretError struct {
	Index int // 1-based position in the list
	Count int // length of the list
	Err   error
}

func (e *SecretError) Error() string {
	return fmt.Sprintf("signing secret %d of %d %v", e.Index, e.Count, e.Err)
}

func (e *SecretError) Unwrap() error { return e.Err }
