package ingress

import (
	"net/http"
	"strconv"
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
