package publisher

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestDefect1ReadyNeverCreatesTopics (issue 14, defect 1): readiness read
// partitions with kafka-go's Conn.ReadPartitions, which asks the broker to
// create missing topics. On a cluster that auto-creates topics, checking
// readiness again and again, and publishing to the missing topics, must
// leave them missing, readiness failing and naming each one.
func TestDefect1ReadyNeverCreatesTopics(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t, kfake.AllowAutoTopicCreation())
	kafkatest.CreateTopic(t, c, "present", 1, nil)
	asked := kafkatest.WatchAutoCreate(c)
	p := newPublisher(t, c.ListenAddrs())
	topics := []string{"engage.contact", "engage.deadletter", "present"}
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := p.Ready(ctx, topics)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "engage.contact does not exist") || !strings.Contains(err.Error(), "engage.deadletter does not exist") || strings.Contains(err.Error(), "present") {
			t.Fatalf("Ready: %v; want an error naming engage.contact and engage.deadletter, only", err)
		}
		_, err = publish(t, p, Message{Topic: "engage.contact", Key: []byte("k"), Value: []byte("{}")}, time.Second)
		if !errors.Is(err, ErrMissingTopic) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Publish to a missing topic: %v; want ErrUnavailable and ErrMissingTopic", err)
		}
	}
	if got := kafkatest.Topics(t, c); strings.Join(got, ",") != "present" {
		t.Fatalf("topics on the cluster: %v; want only the one the test created", got)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("%d metadata requests asked the broker to create topics", n)
	}
}

// TestDefect4ReadyThenPublish (issue 14, defect 4): after a topic missing
// at the first publish was created, readiness said ready while publishes
// to it still failed from the publisher's cached metadata. Once Ready has
// seen a topic, the next publish to it must succeed. The metadata TTL is
// long so that no background refresh hides the lag.
func TestDefect4ReadyThenPublish(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 1, nil)
	var missing []string
	p, err := New(Config{
		Conn:         kafkaconn.Config{Brokers: c.ListenAddrs()},
		MetadataTTL:  time.Hour,
		MissingTopic: func(topic string) { missing = append(missing, topic) },
	}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	late := Message{Topic: "engage.contact.created", Key: []byte("k"), Value: []byte("{}")}
	if _, err := publish(t, p, Message{Topic: "engage.contact", Key: []byte("k"), Value: []byte("{}")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(t, p, late, 5*time.Second); !errors.Is(err, ErrMissingTopic) {
		t.Fatalf("Publish before the topic exists: %v; want ErrMissingTopic", err)
	}
	if strings.Join(missing, ",") != late.Topic {
		t.Errorf("MissingTopic was told %v; want [%s]", missing, late.Topic)
	}

	kafkatest.CreateTopic(t, c, late.Topic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Ready(ctx, []string{"engage.contact", late.Topic}); err != nil {
		t.Fatalf("Ready once the topic exists: %v", err)
	}
	if _, err := publish(t, p, late, 5*time.Second); err != nil {
		t.Fatalf("Publish after Ready saw the topic: %v", err)
	}
	if _, err := publish(t, p, Message{Topic: "engage.contact", Key: []byte("k"), Value: []byte("{}")}, 5*time.Second); err != nil {
		t.Fatalf("Publish to the other topic after the reconnect: %v", err)
	}
}
