package kafkaops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

func TestEnsureTopicsTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 1, nil)
	ops, err := New(kafkaconn.Config{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	specs := []TopicSpec{
		{Name: "engage.contact", Partitions: 3, ReplicationFactor: 1},
		{Name: "engage.loyalty", Partitions: 3, ReplicationFactor: 1, Configs: map[string]string{"max.message.bytes": fmt.Sprint(MaxMessageBytes(1 << 20))}},
	}
	first, err := ops.EnsureTopics(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	want := []TopicState{{"engage.contact", 1, false}, {"engage.loyalty", 3, true}}
	if fmt.Sprint(first) != fmt.Sprint(want) {
		t.Errorf("first run %v, want %v", first, want)
	}
	second, err := ops.EnsureTopics(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	want[1].Created = false
	if fmt.Sprint(second) != fmt.Sprint(want) {
		t.Errorf("second run %v, want %v", second, want)
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "a", 2, nil)
	kafkatest.CreateTopic(t, c, "b", 1, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 10 {
		topic := "a"
		if i%3 == 0 {
			topic = "b"
		}
		r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprintf(`{"i":%d}`, i)),
			Headers: []kgo.RecordHeader{{Key: "svix-id", Value: []byte(fmt.Sprint("msg_", i))}}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	ops, err := New(kafkaconn.Config{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()

	seen := map[string]bool{}
	err = ops.Tail(ctx, TailOptions{Topics: []string{"a", "b"}, StopAtEnd: true}, func(r Record) error {
		if len(r.Headers) != 1 || !strings.HasPrefix(string(r.Headers[0].Value), "msg_") {
			t.Errorf("headers %v", r.Headers)
		}
		seen[string(r.Key)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 10 {
		t.Errorf("read %d distinct records, want 10", len(seen))
	}

	// fn's error stops the tail.
	stop := errors.New("stop")
	n := 0
	err = ops.Tail(ctx, TailOptions{Topics: []string{"a"}, StopAtEnd: true}, func(Record) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Tail with a failing fn: %v after %d records", err, n)
	}

	// From the end with StopAtEnd there is nothing to read.
	if err := ops.Tail(ctx, TailOptions{Topics: []string{"a"}, FromEnd: true, StopAtEnd: true}, func(Record) error {
		t.Error("record read from the end")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ops.Tail(ctx, TailOptions{Topics: []string{"nope"}, StopAtEnd: true}, func(Record) error { return nil }); err == nil {
		t.Error("tail of a missing topic: no error")
	}
}

// TestEnsureTopicsReplicationFactorHint: a replication factor above the
// cluster's brokers says what to do (found in the new-user trial: dev's
// one broker and topics' default of 3).
func TestEnsureTopicsReplicationFactorHint(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	ops, err := New(kafkaconn.Config{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	_, err = ops.EnsureTopics(context.Background(), []TopicSpec{{Name: "engage.rf", Partitions: 1, ReplicationFactor: 9}})
	if err == nil || !strings.Contains(err.Error(), "--replication-factor 1") {
		t.Fatalf("EnsureTopics with a replication factor above the brokers: %v", err)
	}
}
