package ingress

import (
	"errors"
	"net/http"

	"github.com/engage-bridge/engage-bridge/publisher"
)

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
