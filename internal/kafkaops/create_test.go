package kafkaops

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

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
			_, err := ops.NewGroupConsumer(conn, "engage-bridge-redrive", topic).Run(ctx, func(context.Context, Record) error { return nil })
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
