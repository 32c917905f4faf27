package publisher

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// codecs are the codecs with the compression type kgo reports for a batch
// written with each (Kafka's attribute bits).
var codecs = []struct {
	c    Compression
	code uint8
}{
	{"", 0}, {CompressionNone, 0}, {CompressionGzip, 1}, {CompressionSnappy, 2}, {CompressionLz4, 3}, {CompressionZstd, 4},
}

func TestCompressionValidate(t *testing.T) {
	for _, tc := range []struct {
		c    Compression
		want string
	}{
		{"", ""}, {"none", ""}, {"gzip", ""}, {"snappy", ""}, {"lz4", ""}, {"zstd", ""},
		{"GZIP", `compression "GZIP" is not none, gzip, snappy, lz4 or zstd`},
		{"brotli", `compression "brotli" is not none, gzip, snappy, lz4 or zstd`},
		{"producer", `compression "producer" is not none, gzip, snappy, lz4 or zstd`},
	} {
		t.Run(string(tc.c), func(t *testing.T) {
			got := ""
			if err := (Config{Conn: kafkaconn.Config{Brokers: []string{"k:9092"}}, Compression: tc.c}).Validate(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

// benchMessages are the load generator's bodies (`engage-bridge send
// --load`: Engage's contact.updated and point.balance.updated examples,
// alternating, each with its own contactId) with the headers the bridge
// puts on their records.
func benchMessages(t testing.TB, topic string, n int) []Message {
	t.Helper()
	var out []Message
	for i := range n {
		et := schemas.EventContactUpdated
		if i%2 == 1 {
			et = schemas.EventPointBalanceUpdated
		}
		body, ok := schemas.Example(et)
		if !ok {
			t.Fatalf("no example of %s", et)
		}
		env, err := schemas.ParseEnvelope(body)
		if err != nil {
			t.Fatal(err)
		}
		sampleID, err := env.ContactID()
		if err != nil {
			t.Fatal(err)
		}
		// Each record its own contactId, as the load generator does, so
		// that records spread over partitions.
		r := rand.New(rand.NewPCG(uint64(i), 0))
		contactID := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
		body = bytes.Replace(body, []byte(`"`+sampleID+`"`), []byte(`"`+contactID+`"`), 1)
		id := fmt.Sprintf("msg_2Yz%022d", i)
		ts := fmt.Sprint(time.Now().Unix())
		out = append(out, Message{
			Topic: topic, Key: []byte(contactID), Value: body,
			Headers: []Header{
				{"svix-id", []byte(id)}, {"svix-timestamp", []byte(ts)}, {"engage-event-type", []byte(et)},
				{"engage-event-id", []byte(env.EventID)}, {"engage-tenant", []byte(env.Tenant)},
				{"content-type", []byte("application/json")}, {"ce_specversion", []byte("1.0")}, {"ce_id", []byte(id)},
				{"ce_source", []byte("/engage/" + env.Tenant)}, {"ce_type", []byte(et)}, {"ce_subject", []byte(contactID)},
			},
		})
	}
	return out
}

// TestCompressionCodecs publishes the load generator's bodies with each
// codec and reads them back with franz-go: every batch carries the codec,
// and keys, values and headers come back byte for byte.
func TestCompressionCodecs(t *testing.T) {
	c := kafkatest.Cluster(t)
	for _, tc := range codecs {
		t.Run(string(tc.c), func(t *testing.T) {
			topic := "t-" + string(tc.c)
			kafkatest.CreateTopic(t, c, topic, 3, nil)
			p, err := New(Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}, Compression: tc.c}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			sent := benchMessages(t, topic, 4)
			for _, m := range sent {
				if _, err := publish(t, p, m, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}

			got := readWithCodecs(t, c.ListenAddrs(), topic, len(sent))
			if len(got) != len(sent) {
				t.Fatalf("read %d records, sent %d", len(got), len(sent))
			}
			for _, r := range got {
				if r.codec != tc.code {
					t.Errorf("record %s stored with compression type %d, want %d", r.id, r.codec, tc.code)
				}
			}
			if diff := cmp.Diff(sent, messagesOf(got)); diff != "" {
				t.Errorf("records read back (-sent +read):\n%s", diff)
			}
		})
	}
}

type readRecord struct {
	msg   Message
	id    string
	codec uint8
}

func messagesOf(rs []readRecord) []Message {
	out := make([]Message, len(rs))
	for i, r := range rs {
		out[i] = r.msg
	}
	return out
}

// readWithCodecs reads n records of topic with franz-go, in the order of
// their svix-id (the order benchMessages made them), with each record's
// batch compression type.
func readWithCodecs(t *testing.T, addrs []string, topic string, n int) []readRecord {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []readRecord
	for len(out) < n && ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		fetches.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil {
				t.Errorf("fetch %s/%d: %v", topic, p, err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			m := Message{Topic: r.Topic, Key: r.Key, Value: r.Value}
			id := ""
			for _, h := range r.Headers {
				m.Headers = append(m.Headers, Header{h.Key, h.Value})
				if h.Key == "svix-id" {
					id = string(h.Value)
				}
			}
			out = append(out, readRecord{m, id, r.Attrs.CompressionType()})
		})
	}
	// svix-ids are fixed-width: their order is the order sent.
	slices.SortFunc(out, func(a, b readRecord) int { return strings.Compare(a.id, b.id) })
	return out
}
