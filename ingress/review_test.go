package ingress

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestReview_UnsignedTimestampTextReachesKafka: the signature covers the
// timestamp as a parsed integer, but the record's svix-timestamp header
// is the header text as received. A sender (or anything on the path)
// can prefix "+" or zeros without breaking the signature, and those
// unsigned bytes are written to Kafka (contract: nothing unsigned is
// published; issue 14 defect 7: never a header value the sender chose).
func TestReview_UnsignedTimestampTextReachesKafka(t *testing.T) {
	b := newTestHandler(t, nil)
	body := example(t, schemas.EventContactUpdated)
	wh, err := svix.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign("msg_ts", now, body)
	if err != nil {
		t.Fatal(err)
	}
	canonical := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("svix-id", "msg_ts")
	h.Set("svix-timestamp", "+000"+canonical) // not what was signed
	h.Set("svix-signature", sig)
	w := post(t, b, "POST", "/webhooks/engage", h, body, "")
	msgs := b.pub.published()
	if w.Code != 200 || len(msgs) != 1 {
		t.Fatalf("answer %d %s, %d records; want the delivery accepted", w.Code, w.Body, len(msgs))
	}
	if got := headerMap(msgs[0].Headers)[schemas.RecordSvixTimestamp]; got != canonical {
		t.Errorf("record header %s = %q: bytes the signature does not cover; want the signed value %q",
			schemas.RecordSvixTimestamp, got, canonical)
	}
}

// TestReview_ContractStillCallsLandedBehaviourFuture: docs/contract.md says
// an extension "moves into [the tables] in the same commit" it lands in.
// Three landed in this range, yet #extensions still describes the old
// behaviour as today's ("today it is `unavailable`", "today the prefix is
// optional", OPTIONS "answered by Echo itself: 204"), and #http-answers
// has no client_closed row. TestContractOutcomes accepts #extensions as
// documentation, so it cannot notice.
func TestReview_ContractStillCallsLandedBehaviourFuture(t *testing.T) {
	answers := contractSection(t, "http-answers")
	ext := contractSection(t, "extensions")

	if a := answerFor(Result{}, ErrClientClosed); a.outcome == outcomeClientClosed {
		if !strings.Contains(answers, "`client_closed`") {
			t.Errorf("the code answers outcome client_closed (status %d), but #http-answers has no row for it", a.status)
		}
		if strings.Contains(ext, "today it is `unavailable`") {
			t.Errorf("#extensions still says a client hang-up is `unavailable` today; the code says %s", a.outcome)
		}
	}
	if _, err := ParseSecret("nope"); err != nil && strings.Contains(ext, "today the prefix is optional") {
		t.Errorf("#extensions still says the whsec_ prefix is optional today; ParseSecret(\"nope\") = %v", err)
	}
	b := newTestHandler(t, nil)
	if w := post(t, b, "OPTIONS", "/webhooks/engage", http.Header{}, nil, ""); w.Code == http.StatusMethodNotAllowed &&
		strings.Contains(ext, "answered by Echo itself: 204") {
		t.Errorf("#extensions still says OPTIONS gets Echo's 204; the code answers %d Allow: %q", w.Code, w.Header().Get("Allow"))
	}
}
