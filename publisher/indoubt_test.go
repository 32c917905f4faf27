package publisher

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// heldPublisher is a publisher against c whose produce requests give up
// after requestTimeout, with a channel that the test's held produce
// requests wait on: releaseAll closes it, at the latest when the test ends,
// before the publisher is closed.
func heldPublisher(t *testing.T, c *kfake.Cluster, requestTimeout time.Duration, log zerolog.Logger) (p *Publisher, release <-chan struct{}, releaseAll func()) {
	t.Helper()
	p, err := New(Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}, RequestTimeout: requestTimeout}, log)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	var once sync.Once
	releaseAll = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(func() {
		releaseAll()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p, ch, releaseAll
}

// TestInDoubtRecordResentThenBounded: a broker that holds every produce
// request past RequestTimeout. The record's caller left before the first
// round trip ended, yet the record is in doubt (the broker may still
// append it), so it is sent again rather than dropped; and it is handed
// back unwritten once maxDoubt RequestTimeouts passed since the first
// unanswered round trip, so that a dead broker cannot hold it (and its
// caller's memory) forever. Then the partition is free again.
func TestInDoubtRecordResentThenBounded(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.SleepOutOfOrder())
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	const requestTimeout = 100 * time.Millisecond
	var logs bytes.Buffer
	p, release, releaseAll := heldPublisher(t, c, requestTimeout, zerolog.New(zerolog.SyncWriter(&logs)))
	if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("first")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var held atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		select {
		case <-release:
		default:
			held.Add(1)
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	done := make(chan error, 1)
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout/2)
	defer cancel()
	if _, err := p.Publish(ctx, Message{Topic: "t", Key: []byte("k"), Value: []byte("older")}, func(_ Ack, err error) { done <- err }); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("publish held by the broker: %v, want ErrUnavailable", err)
	}
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a record in doubt was never handed back")
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("record in doubt handed back with %v, want ErrUnavailable", err)
	}
	// Each round trip lasts at least RequestTimeout, and the record is kept
	// for maxDoubt of them after the first: at most maxDoubt+1 requests.
	if n := held.Load(); n < 2 || n > maxDoubt+1 {
		t.Errorf("the record in doubt went in %d requests, want 2 to %d", n, maxDoubt+1)
	}
	p.mu.Lock() // the log is written with the lock held
	log := logs.String()
	p.mu.Unlock()
	if !strings.Contains(log, `"records":1,"message":"gave up records in doubt`) {
		t.Errorf("giving up a record in doubt is not logged; log:\n%s", log)
	}
	releaseAll()
	if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("newer")}, 5*time.Second); err != nil {
		t.Errorf("publish once the broker answers again: %v", err)
	}
}
