package publisher

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// kafkaCodes is Kafka's protocol error list as franz-go's kerr holds it,
// written independently of kafka-go: -1, then 1 up to the last code kerr
// knows.
func kafkaCodes() []*kerr.Error {
	out := []*kerr.Error{kerr.TypedErrorForCode(-1)}
	for code := int16(1); ; code++ {
		e := kerr.TypedErrorForCode(code)
		if e == kerr.UnknownServerError {
			return out
		}
		out = append(out, e)
	}
}

// TestKafkaErrorTable holds kafkaErrors to Kafka's list code by code: one
// row per code, in order, under Kafka's name, and retried exactly when
// Kafka calls the code retriable.
func TestKafkaErrorTable(t *testing.T) {
	codes := kafkaCodes()
	if len(kafkaErrors) != len(codes) {
		t.Errorf("kafkaErrors has %d rows, Kafka's list %d codes", len(kafkaErrors), len(codes))
	}
	for i, want := range codes {
		if i >= len(kafkaErrors) {
			t.Errorf("code %d %s: no row", want.Code, want.Message)
			continue
		}
		row := kafkaErrors[i]
		if int16(row.code) != want.Code || row.name != want.Message {
			t.Errorf("row %d is %d %s, Kafka's list has %d %s", i, row.code, row.name, want.Code, want.Message)
		}
		if retries := row.class == retry || row.class == refresh; retries != want.Retriable {
			t.Errorf("%d %s: class %v, but Kafka says retriable=%v", want.Code, want.Message, row.class, want.Retriable)
		}
	}
}

// TestErrorClassification: what each class means for the functions
// settle asks, for every code, bare and wrapped with the broker's message.
func TestErrorClassification(t *testing.T) {
	for _, row := range kafkaErrors {
		for _, err := range []error{row.code, fmt.Errorf("%w: broker says so", row.code)} {
			got := [3]bool{retriable(err), leaderError(err), isPermanent(err)}
			want := map[errorClass][3]bool{
				fail:    {false, false, false},
				retry:   {true, false, false},
				refresh: {true, true, false},
				reject:  {false, false, true},
			}[row.class]
			if got != want {
				t.Errorf("%s (%v): retriable, leaderError, isPermanent = %v, want %v", row.name, err, got, want)
			}
		}
	}
	if c := classOf(kafka.Error(32000)); c != fail {
		t.Errorf("a code Kafka adds later: %v, want fail", c)
	}
}

// TestDefect9BrokerNotAvailableRetried (issue 14, defect 9): a produce
// answered BROKER_NOT_AVAILABLE was failed at once because kafka-go's
// Temporary() leaves code 8 out. Against kfake, every code of the table:
// retry and refresh codes are retried until the broker accepts, reject
// codes end in ErrRejected and fail codes in ErrUnavailable, both after
// one attempt.
func TestDefect9BrokerNotAvailableRetried(t *testing.T) {
	t.Parallel()
	for _, row := range kafkaErrors {
		if row.code == kafka.MessageSizeTooLarge || row.code == kafka.RecordListTooLarge {
			continue // TestRejected: sent again alone before failing
		}
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Cluster(t)
			kafkatest.CreateTopic(t, c, "t", 1, nil)
			var attempts atomic.Int32
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				if attempts.Add(1) > 2 {
					return nil, nil, false // the third attempt goes through
				}
				c.KeepControl()
				return kafkatest.ProduceError(req.(*kmsg.ProduceRequest), int16(row.code)), nil, true
			})
			p := newPublisher(t, c.ListenAddrs())
			_, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("{}")}, 5*time.Second)
			switch row.class {
			case retry, refresh:
				if err != nil || attempts.Load() != 3 {
					t.Fatalf("after %d attempts: %v; want success at the third", attempts.Load(), err)
				}
			case reject:
				if !errors.Is(err, ErrRejected) || attempts.Load() != 1 {
					t.Fatalf("after %d attempts: %v; want ErrRejected after one", attempts.Load(), err)
				}
			case fail:
				if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRejected) || attempts.Load() != 1 {
					t.Fatalf("after %d attempts: %v; want ErrUnavailable after one", attempts.Load(), err)
				}
			}
		})
	}
}
