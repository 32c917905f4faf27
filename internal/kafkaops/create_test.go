package kafkaops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestDefect1OpsNeverCreateTopics (issue 14, defect 1): only `topics`
// (EnsureTopics) may create a topic. On a cluster that auto-creates
// topics, what tail, redrive and replay ask about a missing topic must
// fail naming it and leave it missing. They ask kafka-go's transport,
// whose metadata requests never set AllowAutoTopicCreation; redrive's
// kafka-go Reader (whose Conn.ReadPartitions would set it) starts only
// once the topic was found.
func TestDefect1OpsNeverCreateTopics(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t, kfake.AllowAutoTopicCreation())
	conn := kafkaconn.Config{Brokers: c.ListenAddrs()}
	ops, err := New(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	const topic = "engage.deadletter"
	tests := []struct {
		name string
		run  func() error
	}{
		{"tail", func() error {
			return ops.Tail(ctx, TailOptions{Topics: []string{topic}, StopAtEnd: true}, func(Record) error { return nil })
		}},
		{"tail as a group", func() error {
			return ops.Tail(ctx, TailOptions{Topics: []string{topic}, StopAtEnd: true, Group: "g"}, func(Record) error { return nil })
		}},
		{"replay", func() error {
			_, err := ops.PlanReset(ctx, "g", []string{topic}, ResetTarget{Earliest: true})
			return err
		}},
		{"redrive", func() error {
			_, err := ops.NewGroupConsumer("engage-bridge-redrive", topic).Run(ctx, func(context.Context, Record) error { return nil })
			return err
		}},
	}
	for _, tt := range tests {
		if err := tt.run(); err == nil || !strings.Contains(err.Error(), topic) {
			t.Errorf("%s on a missing topic: %v; want an error naming it", tt.name, err)
		}
	}
	if parts, err := ops.Partitions(ctx, topic); err != nil || len(parts) != 0 {
		t.Errorf("Partitions of a missing topic: %v, %v; want none", parts, err)
	}
	if got := kafkatest.Topics(t, c); len(got) != 0 {
		t.Errorf("topics on the cluster: %v; want none", got)
	}
}

// TestDefect1NoMetadataAsksToCreate (issue 14, defect 1): redrive read
// through kafka-go's group Reader, whose Conn.ReadPartitions sends
// Metadata with AllowAutoTopicCreation: had the topic gone between the
// check and the read, the broker would have created it. No request of
// tail, replay or redrive, on a topic that exists, may ask for creation.
func TestDefect1NoMetadataAsksToCreate(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t, kfake.AllowAutoTopicCreation())
	kafkatest.CreateTopic(t, c, "dlq", 2, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("dlq"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 6 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte{byte('a' + i)}, Value: []byte("{}")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	asked := kafkatest.WatchAutoCreate(c)

	ops, err := New(kafkaconn.Config{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	tailed := 0
	if err := ops.Tail(ctx, TailOptions{Topics: []string{"dlq"}, StopAtEnd: true}, func(Record) error { tailed++; return nil }); err != nil || tailed != 6 {
		t.Fatalf("tail: %d records, %v", tailed, err)
	}
	if _, err := ops.PlanReset(ctx, "g", []string{"dlq"}, ResetTarget{Earliest: true}); err != nil {
		t.Fatalf("replay plan: %v", err)
	}
	handled, err := ops.NewGroupConsumer("redrive", "dlq").Run(ctx, func(context.Context, Record) error { return nil })
	if err != nil || handled != 6 {
		t.Fatalf("redrive: %d records, %v", handled, err)
	}
	committed, err := ops.Committed(ctx, "redrive", "dlq")
	if err != nil {
		t.Fatal(err)
	}
	if sum := committed["dlq"][0] + committed["dlq"][1]; sum != 6 {
		t.Errorf("redrive committed %v, want the end of both partitions (6 records)", committed)
	}
	if again, err := ops.NewGroupConsumer("redrive", "dlq").Run(ctx, func(context.Context, Record) error { return nil }); err != nil || again != 0 {
		t.Errorf("second redrive: %d records, %v; want none", again, err)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("%d metadata requests asked the broker to create topics", n)
	}
}
