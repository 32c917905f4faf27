package publisher

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestReview_RequestTimeoutReordersContact: the partition is held only
// until RequestTimeout ends the round trip, not until the broker resolves
// the request. A broker that appends the held request later (slow disk,
// purgatory, network) appends the older record after the newer one of the
// same contact. In production RequestTimeout (10 s) exceeds the publish
// timeout (8 s), so the older record's caller is gone, the older record is
// dropped as "gave up" while the broker still holds it, and the next
// record of the contact goes out at once.
func TestReview_RequestTimeoutReordersContact(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SleepOutOfOrder())
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	p, err := New(Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}, RequestTimeout: 300 * time.Millisecond}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("first")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	releaseOld := func() { once.Do(func() { close(release) }) }
	defer releaseOld()
	arrived := make(chan struct{})
	var held kmsg.Request
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if held == nil { // only the first request is held; the others pass
			held = req
			close(arrived)
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false // then appended as usual
	})
	olderDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, _ = p.Publish(ctx, Message{Topic: "t", Key: []byte("k"), Value: []byte("older")}, func(_ Ack, err error) { olderDone <- err })
	}()
	<-arrived
	newer := make(chan error, 1)
	go func() {
		_, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("newer")}, 5*time.Second)
		newer <- err
	}()
	select {
	case err := <-newer:
		t.Logf("newer acknowledged (err=%v) while the broker still holds the older record", err)
	case <-time.After(2 * time.Second):
	}
	releaseOld()
	// The older record's caller left, but the record was in doubt: it was
	// sent again before the newer one and acknowledged then.
	if err := <-olderDone; err != nil {
		t.Errorf("older record handed back with %v, want acknowledged", err)
	}
	// The held original lands late, after the newer record: a duplicate of
	// the older copy, which consumers drop (docs/consumers.md#ordering:
	// order holds for each record's first copy). Wait for all four.
	var got []string
	for _, r := range kafkatest.ReadAll(t, c.ListenAddrs(), 4, 5*time.Second, "t") {
		if v := string(r.Value); !slices.Contains(got, v) {
			got = append(got, v)
		}
	}
	if diff := cmp.Diff([]string{"first", "older", "newer"}, got); diff != "" {
		t.Errorf("one contact's records in partition order of first copies (-want +got):\n%s", diff)
	}
}

// TestReview_DeletedTopicNotReportedMissing: a routed topic deleted under a
// running bridge. Every publish to it is answered 503 (right) but, for as
// long as the cached layouts last, not as ErrMissingTopic and not counted
// by MissingTopic: the record is retried as a "refresh" error until the
// caller's deadline, so the operator's EngageBridgeMissingTopic alert and
// the `missing topic` log line (docs/operations.md) stay silent while
// deliveries fail.
func TestReview_DeletedTopicNotReportedMissing(t *testing.T) {
	t.Parallel() // its own broker; it mostly waits on timers
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	var missing atomic.Int32
	p, err := New(Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}, MissingTopic: func(string) { missing.Add(1) }}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("v")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteTopicsRequest()
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr("t")
	req.Topics = append(req.Topics, rt)
	req.TopicNames = []string{"t"}
	if _, err := req.RequestWith(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	_, err = publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("v2")}, 8*time.Second) // BRIDGE_PUBLISH_TIMEOUT default
	t.Logf("publish after deletion: %v; MissingTopic called %d times", err, missing.Load())
	if !errors.Is(err, ErrMissingTopic) {
		t.Errorf("publish to a deleted topic: %v, want ErrMissingTopic", err)
	}
	if missing.Load() != 1 {
		t.Errorf("MissingTopic told %d times for one failed publish, want 1", missing.Load())
	}
}
