package publisher

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
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
	var got []string
	for _, r := range kafkatest.ReadAll(t, c.ListenAddrs(), 3, 5*time.Second, "t") {
		got = append(got, string(r.Value))
	}
	if diff := cmp.Diff([]string{"first", "older", "newer"}, got); diff != "" {
		t.Errorf("one contact's records in partition order (-want +got):\n%s", diff)
	}
}
