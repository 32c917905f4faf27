package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/engage-bridge/engage-bridge/publisher"
)

// TestAnswerFor covers every row of docs/contract.md#http-answers, and wrapped errors.
func TestAnswerFor(t *testing.T) {
	tests := []struct {
		name       string
		res        Result
		err        error
		status     int
		body       string
		retryAfter bool
	}{
		{"source not allowed", Result{}, ErrForbidden, 403, `{"error":"forbidden"}`, false},
		{"body too large", Result{}, ErrBodyTooLarge, 413, `{"error":"body_too_large"}`, false},
		{"custom token", Result{}, ErrUnauthorized, 401, `{"error":"unauthorized"}`, false},
		{"missing headers", Result{}, &SignatureError{ReasonMissingHeaders}, 401, `{"error":"invalid_signature","reason":"missing_headers"}`, false},
		{"bad timestamp", Result{}, &SignatureError{ReasonBadTimestamp}, 401, `{"error":"invalid_signature","reason":"bad_timestamp"}`, false},
		{"no match", Result{}, &SignatureError{ReasonNoMatch}, 401, `{"error":"invalid_signature","reason":"no_match"}`, false},
		{"too old", Result{}, &SignatureError{ReasonTooOld}, 401, `{"error":"invalid_signature","reason":"too_old"}`, false},
		{"too new", Result{}, &SignatureError{ReasonTooNew}, 401, `{"error":"invalid_signature","reason":"too_new"}`, false},
		{"overloaded", Result{}, ErrOverloaded, 429, `{"error":"overloaded"}`, true},
		{"duplicate", Result{Outcome: Duplicate}, nil, 200, `{"status":"duplicate"}`, false},
		{"deadlettered", Result{Outcome: DeadLettered, Reason: DLQNoEncryptionKey}, nil, 200, `{"status":"deadlettered","reason":"no_encryption_key"}`, false},
		{"published", Result{Outcome: Published}, nil, 200, `{"status":"published"}`, false},
		{"kafka unavailable", Result{}, publisher.ErrUnavailable, 503, `{"error":"unavailable"}`, true},
		{"kafka rejected for good", Result{}, publisher.ErrRejected, 503, `{"error":"unavailable"}`, true},
		{"wrapped unavailable", Result{}, fmt.Errorf("publish to engage.contact: %w", fmt.Errorf("%w: deadline", publisher.ErrUnavailable)), 503, `{"error":"unavailable"}`, true},
		{"sender left", Result{}, fmt.Errorf("publish to engage.contact: %w: %w", ErrClientClosed, context.Canceled), 499, `{"error":"client_closed"}`, false},
		{"wrapped rejected", Result{}, fmt.Errorf("publish: %w", publisher.ErrRejected), 503, `{"error":"unavailable"}`, true},
		{"wrapped signature error", Result{}, fmt.Errorf("verify: %w", &SignatureError{ReasonNoMatch}), 401, `{"error":"invalid_signature","reason":"no_match"}`, false},
		{"joined forbidden", Result{}, errors.Join(errors.New("x"), ErrForbidden), 403, `{"error":"forbidden"}`, false},
		{"body read failed", Result{}, fmt.Errorf("%w: unexpected EOF", ErrBodyRead), 400, `{"error":"bad_request"}`, false},
		{"not found", Result{}, ErrNotFound, 404, `{"error":"not_found"}`, false},
		{"method not allowed", Result{}, ErrMethodNotAllowed, 405, `{"error":"method_not_allowed"}`, false},
		{"unknown error", Result{}, errors.New("boom"), 500, `{"error":"internal"}`, false},
		{"panic", Result{}, errPanic, 500, `{"error":"internal"}`, false},
		{"nil error without an outcome is never 2xx", Result{}, nil, 500, `{"error":"internal"}`, false},
		// An error wins over an outcome: the Result may be partly filled.
		{"error with a published result", Result{Outcome: Published}, publisher.ErrUnavailable, 503, `{"error":"unavailable"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := answerFor(tt.res, tt.err)
			if a.status != tt.status || a.body != tt.body || a.retryAfter != tt.retryAfter {
				t.Errorf("answerFor = %d %s retryAfter=%v, want %d %s retryAfter=%v", a.status, a.body, a.retryAfter, tt.status, tt.body, tt.retryAfter)
			}
			if a.status >= 300 && a.status < 400 || a.status == http.StatusGone {
				t.Errorf("answered %d: never 3xx or 410", a.status)
			}
			if a.outcome == "" {
				t.Errorf("no outcome label")
			}
		})
	}
}
