package ingress

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestRecordTimestampIsSigned: the svix-timestamp header of every record
// the ingress writes, event or dead letter, is the signed integer in
// canonical decimal, whatever text the sender wrote for it
// (docs/contract.md#event-record, #dead-letter-record).
func TestRecordTimestampIsSigned(t *testing.T) {
	wh, err := svix.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	canonical := strconv.FormatInt(now.Unix(), 10)
	event := example(t, schemas.EventContactUpdated)
	deadLetter := []byte(`{"eventType":"contact.updated","payload":{"email":"x@example.com"},"tenant":"t1"}`)
	tests := []struct {
		name    string
		body    []byte
		prefix  string // the header set: svix- or webhook-
		text    string // the timestamp as sent
		outcome Outcome
	}{
		{"event, canonical", event, "svix-", canonical, Published},
		{"event, plus sign and zeros", event, "svix-", "+000" + canonical, Published},
		{"event, leading zeros, webhook headers", event, "webhook-", "00" + canonical, Published},
		{"dead letter, canonical", deadLetter, "svix-", canonical, DeadLettered},
		{"dead letter, plus sign", deadLetter, "svix-", "+" + canonical, DeadLettered},
		{"dead letter, leading zeros, webhook headers", deadLetter, "webhook-", "0" + canonical, DeadLettered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestHandler(t, nil)
			sig, err := wh.Sign("msg_ts", now, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set(tt.prefix+"id", "msg_ts")
			h.Set(tt.prefix+"timestamp", tt.text)
			h.Set(tt.prefix+"signature", sig)
			res, err := b.h.Accept(context.Background(), h, tt.body, nil)
			if err != nil || res.Outcome != tt.outcome {
				t.Fatalf("Accept: %+v, %v; want %s", res, err, tt.outcome)
			}
			var got []string
			for _, m := range b.pub.published() {
				got = append(got, headerMap(m.Headers)[schemas.RecordSvixTimestamp])
			}
			if diff := cmp.Diff([]string{canonical}, got); diff != "" {
				t.Errorf("records' %s headers (-want +got):\n%s", schemas.RecordSvixTimestamp, diff)
			}
		})
	}
}
