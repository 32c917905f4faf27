package publisher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

func newPublisher(t testing.TB, addrs []string) *Publisher {
	t.Helper()
	p, err := New(Config{Conn: kafkaconn.Config{Brokers: addrs}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func publish(t testing.TB, p *Publisher, m Message, timeout time.Duration) (Ack, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Publish(ctx, m, nil)
}

func TestPublishRecord(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 6, nil)
	p := newPublisher(t, c.ListenAddrs())

	keys := []string{"515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "d3bdcad4-3f90-46ce-be4c-b3d800dc7979", "21", "foobar", "abc"}
	acks := map[string]Ack{}
	for _, k := range keys {
		ack, err := publish(t, p, Message{
			Topic:   "engage.contact",
			Key:     []byte(k),
			Value:   []byte(`{"amount":100.10,"k":"` + k + `"}`),
			Headers: []Header{{Key: "svix-id", Value: []byte("msg_" + k)}, {Key: "content-type", Value: []byte("application/json")}},
		}, 5*time.Second)
		if err != nil {
			t.Fatalf("Publish(%s): %v", k, err)
		}
		acks[k] = ack
	}

	recs := kafkatest.ReadAll(t, c.ListenAddrs(), len(keys), 10*time.Second, "engage.contact")
	if len(recs) != len(keys) {
		t.Fatalf("read %d records, want %d", len(recs), len(keys))
	}
	for _, r := range recs {
		ack := acks[r.Key]
		if want := kafkatest.Murmur2Partition([]byte(r.Key), 6); r.Partition != want {
			t.Errorf("key %s on partition %d, Java's murmur2 partitioner says %d", r.Key, r.Partition, want)
		}
		if r.Partition != ack.Partition || r.Offset != ack.Offset {
			t.Errorf("key %s stored at %d/%d, Ack said %d/%d", r.Key, r.Partition, r.Offset, ack.Partition, ack.Offset)
		}
		if want := `{"amount":100.10,"k":"` + r.Key + `"}`; string(r.Value) != want {
			t.Errorf("value %s, want %s", r.Value, want)
		}
		if diff := cmp.Diff([]string{"svix-id", "content-type"}, r.HeaderOrder); diff != "" {
			t.Errorf("header order (-want +got):\n%s", diff)
		}
		if r.Headers["svix-id"] != "msg_"+r.Key {
			t.Errorf("svix-id header %q", r.Headers["svix-id"])
		}
	}
}

// TestAcksAll checks on the wire that every produce request asks for acks=all.
func TestAcksAll(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	var produces, notAll atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces.Add(1)
		if req.(*kmsg.ProduceRequest).Acks != -1 {
			notAll.Add(1)
		}
		return nil, nil, false
	})
	p := newPublisher(t, c.ListenAddrs())
	for i := range 3 {
		if _, err := publish(t, p, Message{Topic: "t", Key: []byte{byte(i)}, Value: []byte("{}")}, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if produces.Load() == 0 || notAll.Load() != 0 {
		t.Fatalf("%d produce requests, %d without acks=all", produces.Load(), notAll.Load())
	}
}

// TestConcurrentPublishesShareRequests: records arriving while a request is
// in flight are gathered, so N concurrent publishes need far fewer than N
// produce requests, and every one is acknowledged at a distinct offset.
func TestConcurrentPublishesShareRequests(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	var produces, records atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces.Add(1)
		// Hold each request a moment so that the next records gather.
		time.Sleep(5 * time.Millisecond)
		return nil, nil, false
	})
	p := newPublisher(t, c.ListenAddrs())

	const n = 200
	var wg sync.WaitGroup
	offsets := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ack, err := publish(t, p, Message{Topic: "t", Key: []byte("same-key"), Value: fmt.Appendf(nil, `{"i":%d}`, i)}, 10*time.Second)
			offsets[i], errs[i] = ack.Offset, err
			if err == nil {
				records.Add(1)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, o := range offsets {
		if seen[o] {
			t.Fatalf("offset %d acknowledged twice", o)
		}
		seen[o] = true
	}
	if got := produces.Load(); got >= n/4 {
		t.Errorf("%d produce requests for %d concurrent records: not batching", got, n)
	}
	t.Logf("%d records in %d produce requests", records.Load(), produces.Load())
}

// TestRetriesRetriableErrors: NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS
// and REQUEST_TIMED_OUT are retried within the deadline.
func TestRetriesRetriableErrors(t *testing.T) {
	for _, code := range []int16{6, 19, 7} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			c := kafkatest.Cluster(t)
			kafkatest.CreateTopic(t, c, "t", 1, nil)
			var failed atomic.Int32
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				if failed.Add(1) > 2 {
					return nil, nil, false // the third attempt goes through
				}
				c.KeepControl()
				return kafkatest.ProduceError(req.(*kmsg.ProduceRequest), code), nil, true
			})
			p := newPublisher(t, c.ListenAddrs())
			if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("{}")}, 5*time.Second); err != nil {
				t.Fatalf("Publish after two failures: %v", err)
			}
			if n := failed.Load(); n != 3 {
				t.Fatalf("%d produce requests reached the broker, want 2 failed + 1 good", n)
			}
			if recs := kafkatest.ReadAll(t, c.ListenAddrs(), 1, 5*time.Second, "t"); len(recs) != 1 {
				t.Fatalf("%d records stored, want 1", len(recs))
			}
		})
	}
}

// TestRejected: a record larger than the topic's max.message.bytes is
// rejected for good, and records batched with it are still written.
func TestRejected(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "small", 1, map[string]string{"max.message.bytes": "2000"})
	p := newPublisher(t, c.ListenAddrs())

	big := Message{Topic: "small", Key: []byte("k"), Value: []byte(`"` + strings.Repeat("x", 5000) + `"`)}
	if _, err := publish(t, p, big, 5*time.Second); !errors.Is(err, ErrRejected) {
		t.Fatalf("oversized record: %v, want ErrRejected", err)
	}

	// Several small records and one big one, published together.
	var wg sync.WaitGroup
	results := make([]error, 6)
	for i := range results {
		wg.Go(func() {
			m := Message{Topic: "small", Key: []byte("k"), Value: fmt.Appendf(nil, `{"i":%d}`, i)}
			if i == 3 {
				m = big
			}
			_, results[i] = publish(t, p, m, 5*time.Second)
		})
	}
	wg.Wait()
	for i, err := range results {
		if i == 3 && !errors.Is(err, ErrRejected) {
			t.Errorf("big record: %v, want ErrRejected", err)
		}
		if i != 3 && err != nil {
			t.Errorf("small record %d: %v", i, err)
		}
	}
}

// TestBrokerDown: with nothing listening, Publish answers ErrUnavailable
// within its context's deadline.
func TestBrokerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := newPublisher(t, []string{addr})
	start := time.Now()
	_, err = publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("{}")}, 500*time.Millisecond)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish with no broker: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Publish took %v with a 500ms deadline", d)
	}
}

// TestBrokerStopsAnswering: produce requests that get no answer end in
// ErrUnavailable at the deadline, never in a success.
func TestBrokerStopsAnswering(t *testing.T) {
	t.Parallel() // its own broker; it mostly waits on timers
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	p := newPublisher(t, c.ListenAddrs())
	if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("{}")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // swallow: no response at all
	})
	_, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("{}")}, 300*time.Millisecond)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish to a silent broker: %v, want ErrUnavailable", err)
	}
}

func TestMissingTopic(t *testing.T) {
	c := kafkatest.Cluster(t)
	p := newPublisher(t, c.ListenAddrs())
	_, err := publish(t, p, Message{Topic: "nope", Key: []byte("k"), Value: []byte("{}")}, 2*time.Second)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish to a missing topic: %v, want ErrUnavailable", err)
	}
}

func TestReady(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "a", 1, nil)
	p := newPublisher(t, c.ListenAddrs())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Ready(ctx, []string{"a"}); err != nil {
		t.Errorf("Ready with the topic present: %v", err)
	}
	if err := p.Ready(ctx, []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "b") {
		t.Errorf("Ready with topic b missing: %v", err)
	}
	c.Close()
	if err := p.Ready(ctx, []string{"a"}); err == nil {
		t.Errorf("Ready with the broker closed: nil error")
	}
}

func TestCloseDrains(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.NumBrokers(1))
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	p, err := New(Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 50 {
		wg.Go(func() {
			if _, err := publish(t, p, Message{Topic: "t", Key: []byte{byte(i)}, Value: []byte("{}")}, 5*time.Second); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("{}")}, time.Second); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Publish after Close: %v, want ErrUnavailable", err)
	}
	if recs := kafkatest.ReadAll(t, c.ListenAddrs(), int(ok.Load()), 5*time.Second, "t"); len(recs) != int(ok.Load()) {
		t.Errorf("%d acknowledged, %d stored", ok.Load(), len(recs))
	}
}

// produceShape records, for each produce request, how many partitions it
// carries.
func produceShape(c *kfake.Cluster, hold time.Duration) func() []int {
	var mu sync.Mutex
	var shape []int
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		n := 0
		for _, t := range req.(*kmsg.ProduceRequest).Topics {
			n += len(t.Partitions)
		}
		mu.Lock()
		shape = append(shape, n)
		mu.Unlock()
		time.Sleep(hold) // let the next records gather
		return nil, nil, false
	})
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(shape)
	}
}

// TestOneRequestCarriesManyPartitions: records for different partitions
// (and topics) led by one broker share produce requests, and each is still
// acknowledged at its own partition's offset.
func TestOneRequestCarriesManyPartitions(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.NumBrokers(1))
	kafkatest.CreateTopic(t, c, "a", 6, nil)
	kafkatest.CreateTopic(t, c, "b", 6, nil)
	shape := produceShape(c, 10*time.Millisecond)
	p := newPublisher(t, c.ListenAddrs())

	const n = 240
	acks := make([]Ack, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			topic := []string{"a", "b"}[i%2]
			acks[i], errs[i] = publish(t, p, Message{Topic: topic, Key: fmt.Appendf(nil, "contact-%d", i), Value: fmt.Appendf(nil, `{"i":%d}`, i)}, 10*time.Second)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	requests := shape()
	if len(requests) >= n/4 {
		t.Errorf("%d produce requests for %d concurrent records: not batching", len(requests), n)
	}
	if most := slices.Max(requests); most < 6 {
		t.Errorf("at most %d partitions in one request (%v): partitions are not sharing requests", most, requests)
	}
	t.Logf("%d records in %d requests, partitions per request %v", n, len(requests), requests)

	// Every acknowledgement names where the record really is.
	stored := kafkatest.ReadAll(t, c.ListenAddrs(), n, 5*time.Second, "a", "b")
	at := map[string]int{}
	for _, r := range stored {
		var i int
		fmt.Sscanf(string(r.Value), `{"i":%d}`, &i)
		at[fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)] = i
	}
	for i, a := range acks {
		topic := []string{"a", "b"}[i%2]
		if got, ok := at[fmt.Sprintf("%s/%d/%d", topic, a.Partition, a.Offset)]; !ok || got != i {
			t.Fatalf("record %d acknowledged at %s/%d/%d, which holds record %d (found %v)", i, topic, a.Partition, a.Offset, got, ok)
		}
		if want := kafkatest.Murmur2Partition(fmt.Appendf(nil, "contact-%d", i), 6); a.Partition != want {
			t.Fatalf("record %d in partition %d, murmur2 says %d", i, a.Partition, want)
		}
	}
}

// TestBackoffHoldsOnlyItsPartition: a partition whose produce keeps failing
// backs off alone; records for another partition of the same broker go
// through meanwhile.
func TestBackoffHoldsOnlyItsPartition(t *testing.T) {
	t.Parallel() // its own broker; it mostly waits on timers
	c := kafkatest.Cluster(t, kfake.NumBrokers(1))
	kafkatest.CreateTopic(t, c, "t", 2, nil)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if carries(req, 0) {
			return kafkatest.ProduceError(req.(*kmsg.ProduceRequest), 19), nil, true // NOT_ENOUGH_REPLICAS
		}
		return nil, nil, false
	})
	p := newPublisher(t, c.ListenAddrs())
	key := func(partition int32) []byte { return keyFor(partition, 2) }

	stuck := make(chan error, 1)
	go func() {
		_, err := publish(t, p, Message{Topic: "t", Key: key(0), Value: []byte("{}")}, 4*time.Second)
		stuck <- err
	}()
	time.Sleep(100 * time.Millisecond) // partition 0 is backing off by now
	for i := range 20 {
		if _, err := publish(t, p, Message{Topic: "t", Key: key(1), Value: fmt.Appendf(nil, `{"i":%d}`, i)}, 3*time.Second); err != nil {
			t.Fatalf("record %d for partition 1 while partition 0 fails: %v", i, err)
		}
	}
	select {
	case err := <-stuck:
		t.Fatalf("partition 0's publish ended (%v) before partition 1's records were done: they waited for it", err)
	default:
	}
	if err := <-stuck; !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "NOT_ENOUGH_REPLICAS") && !strings.Contains(err.Error(), "Not Enough Replicas") {
		t.Errorf("partition 0: %v, want ErrUnavailable naming the last error", err)
	}
}

// TestLeadersMove: with three brokers, records keep their per-key order
// and every publish succeeds while partition leaders move between brokers.
func TestLeadersMove(t *testing.T) {
	c := kafkatest.Cluster(t, kfake.NumBrokers(3))
	kafkatest.CreateTopic(t, c, "t", 6, nil)
	// Count the requests that reach a broker no longer leading one of their
	// partitions, to know the moves were felt.
	var misdirected atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, rt := range req.(*kmsg.ProduceRequest).Topics {
			for _, rp := range rt.Partitions {
				if c.LeaderFor(rt.Topic, rp.Partition) != c.CurrentNode() {
					misdirected.Add(1)
					return nil, nil, false
				}
			}
		}
		return nil, nil, false
	})
	p, err := New(Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}, MetadataTTL: 200 * time.Millisecond}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })

	const keys, each = 12, 40
	var wg sync.WaitGroup
	errs := make([]error, keys)
	var sent atomic.Int32
	for k := range keys {
		wg.Go(func() {
			for i := range each {
				m := Message{Topic: "t", Key: fmt.Appendf(nil, "contact-%d", k), Value: fmt.Appendf(nil, "%d", i)}
				if _, err := publish(t, p, m, 10*time.Second); err != nil {
					errs[k] = fmt.Errorf("key %d record %d: %w", k, i, err)
					return
				}
				sent.Add(1)
			}
		})
	}
	for sent.Load() < keys*each/4 {
		time.Sleep(time.Millisecond)
	}
	c.ShufflePartitionLeaders()
	for sent.Load() < keys*each/2 {
		time.Sleep(time.Millisecond)
	}
	for partition := range int32(6) {
		if err := c.MoveTopicPartition("t", partition, (c.LeaderFor("t", partition)+1)%3); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, r := range kafkatest.ReadAll(t, c.ListenAddrs(), keys*each, 5*time.Second, "t") {
		var i int
		fmt.Sscanf(string(r.Value), "%d", &i)
		if i != next[r.Key] {
			t.Fatalf("key %s: record %d where %d was next (partition %d offset %d)", r.Key, i, next[r.Key], r.Partition, r.Offset)
		}
		next[r.Key]++
	}
	for k := range keys {
		if n := next[fmt.Sprintf("contact-%d", k)]; n != each {
			t.Errorf("key contact-%d: %d records stored, want %d", k, n, each)
		}
	}
	if misdirected.Load() == 0 {
		t.Error("no request reached a broker that had lost the lead: the moves were not exercised")
	}
	t.Logf("%d requests reached a former leader", misdirected.Load())
}

// carries reports whether a produce request carries records for partition.
func carries(req kmsg.Request, partition int32) bool {
	for _, rt := range req.(*kmsg.ProduceRequest).Topics {
		for _, rp := range rt.Partitions {
			if rp.Partition == partition {
				return true
			}
		}
	}
	return false
}

// keyFor returns a key murmur2 sends to partition of n.
func keyFor(partition int32, n int) []byte {
	for i := 0; ; i++ {
		k := fmt.Appendf(nil, "k%d", i)
		if kafkatest.Murmur2Partition(k, n) == partition {
			return k
		}
	}
}

// publishUntil publishes to partition 0 of "t" (2 partitions) from 4
// goroutines with a 1 s deadline each until stop, and counts the outcomes.
func publishUntil(p *Publisher, stop <-chan struct{}, ok, failed *atomic.Int32) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err := p.Publish(ctx, Message{Topic: "t", Key: keyFor(0, 2), Value: []byte("{}")}, nil)
				cancel()
				if err == nil {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	return &wg
}

// TestSlowPartitionDoesNotHoldOthers: a partition whose acknowledgements
// take seconds (a slow in-sync follower) does not hold up another partition
// of the same broker: after stallAfter its records go in another request.
func TestSlowPartitionDoesNotHoldOthers(t *testing.T) {
	t.Parallel() // its own broker; it mostly waits on timers
	c := kafkatest.Cluster(t, kfake.NumBrokers(1))
	kafkatest.CreateTopic(t, c, "t", 2, nil)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if carries(req, 1) {
			c.SleepControl(func() { time.Sleep(2 * time.Second) })
		}
		return nil, nil, false
	})
	p := newPublisher(t, c.ListenAddrs())
	slow := make(chan error, 1)
	go func() {
		_, err := publish(t, p, Message{Topic: "t", Key: keyFor(1, 2), Value: []byte("{}")}, 20*time.Second)
		slow <- err
	}()
	time.Sleep(100 * time.Millisecond) // partition 1's request is in flight
	stop := make(chan struct{})
	var ok, failed atomic.Int32
	wg := publishUntil(p, stop, &ok, &failed)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() > 0 || ok.Load() < 20 {
		t.Errorf("partition 0 while partition 1 is slow: %d published, %d failed", ok.Load(), failed.Load())
	}
	if err := <-slow; err != nil {
		t.Errorf("the slow partition's record: %v", err)
	}
}

// TestLeaderlessPartitionDoesNotHoldOthers: a partition without a leader
// (metadata leader -1) is not taken for broker 0's, and while its requests
// fail the other partitions keep publishing.
func TestLeaderlessPartitionDoesNotHoldOthers(t *testing.T) {
	t.Parallel() // its own broker; it mostly waits on timers
	c := kafkatest.Cluster(t, kfake.NumBrokers(1))
	kafkatest.CreateTopic(t, c, "t", 2, nil)
	host, port, _ := net.SplitHostPort(c.ListenAddrs()[0])
	portN, _ := strconv.Atoi(port)
	node := c.LeaderFor("t", 0)
	var leaderless atomic.Bool
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !leaderless.Load() {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		resp.Version = req.GetVersion()
		b := kmsg.NewMetadataResponseBroker()
		b.NodeID, b.Host, b.Port = node, host, int32(portN)
		resp.Brokers, resp.ControllerID = append(resp.Brokers, b), node
		rt := kmsg.NewMetadataResponseTopic()
		rt.Topic = kmsg.StringPtr("t")
		for partition := range int32(2) {
			rp := kmsg.NewMetadataResponseTopicPartition()
			rp.Partition, rp.Replicas = partition, []int32{node}
			if partition == 1 {
				rp.Leader, rp.ErrorCode = -1, 5 // LEADER_NOT_AVAILABLE
			} else {
				rp.Leader, rp.ISR = node, []int32{node}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
		return resp, nil, true
	})
	p, err := New(Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}, MetadataTTL: 100 * time.Millisecond}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	if node != 0 {
		t.Fatalf("kfake's single broker is node %d; the test needs node 0", node)
	}
	// Both partitions busy, then partition 1 loses its leader: the next
	// request carrying both fails as a whole. Counted from 300 ms after, when
	// kafka-go's metadata cache (refreshed every 100 ms here) knows.
	var counting atomic.Bool
	stuck := make(chan error, 1)
	go func() {
		for {
			after := counting.Load()
			_, err := publish(t, p, Message{Topic: "t", Key: keyFor(1, 2), Value: []byte("{}")}, time.Second)
			if after {
				stuck <- err
				return
			}
		}
	}()
	stop := make(chan struct{})
	var ok, failed atomic.Int32
	wg := publishUntil(p, stop, &ok, &failed)
	time.Sleep(300 * time.Millisecond)
	if failed.Load() > 0 || ok.Load() == 0 {
		t.Fatalf("before: %d published, %d failed", ok.Load(), failed.Load())
	}
	leaderless.Store(true)
	time.Sleep(300 * time.Millisecond)
	counting.Store(true)
	ok0, failed0 := ok.Load(), failed.Load()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n, f := ok.Load()-ok0, failed.Load()-failed0; f > 0 || n < 20 {
		t.Errorf("partition 0 while partition 1 has no leader: %d published, %d failed", n, f)
	}
	if err := <-stuck; !errors.Is(err, ErrUnavailable) {
		t.Errorf("the leaderless partition's record: %v, want ErrUnavailable", err)
	}
}

// TestOlderLayoutDoesNotOverwriteNewer: two metadata fetches may end in
// either order; the layout of the one started later stays, and queues
// follow it.
func TestOlderLayoutDoesNotOverwriteNewer(t *testing.T) {
	p := newPublisher(t, []string{"127.0.0.1:1"})
	key := partitionKey{"engage.contact", 0}
	p.queues[key] = &queue{key: key, leader: 1}
	older := &topicMeta{partitions: []int{0}, leaders: []int32{1}, fetch: 1}
	newer := &topicMeta{partitions: []int{0}, leaders: []int32{2}, fetch: 2}

	if got := p.storeLayout("engage.contact", newer); got != newer {
		t.Fatal("the first layout stored was not kept")
	}
	if got := p.storeLayout("engage.contact", older); got != newer {
		t.Error("an older fetch's layout replaced a newer one")
	}
	if p.topics["engage.contact"] != newer || p.queues[key].leader != 2 {
		t.Errorf("layout leader %d, queue leader %d; want the newer fetch's 2", p.topics["engage.contact"].leaders[0], p.queues[key].leader)
	}
	newest := &topicMeta{partitions: []int{0}, leaders: []int32{3}, fetch: 3}
	if got := p.storeLayout("engage.contact", newest); got != newest || p.queues[key].leader != 3 {
		t.Error("a newer fetch's layout was not stored")
	}
}

// TestTimedOutPublishKeepsOrder (issue 14, defect 11): when a caller gives
// up while its record's request is in flight, the partition stays blocked
// until that request resolves, so a newer record of the same key cannot be
// appended before the older one.
func TestTimedOutPublishKeepsOrder(t *testing.T) {
	// A broker that lets a newer request overtake one it holds (on another
	// connection, or a real broker's purgatory): order is the client's job.
	c := kafkatest.Cluster(t, kfake.SleepOutOfOrder())
	kafkatest.CreateTopic(t, c, "t", 1, nil)
	p := newPublisher(t, c.ListenAddrs())
	if _, err := publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("first")}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// The next produce request is held by the broker until released, then
	// appended as usual: an answer that comes after the caller's deadline.
	release := make(chan struct{})
	var once sync.Once
	releaseOld := func() { once.Do(func() { close(release) }) }
	defer releaseOld()
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	type outcome struct {
		ack Ack
		err error
	}
	handedBack := make(chan outcome, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := p.Publish(ctx, Message{Topic: "t", Key: []byte("k"), Value: []byte("older")}, func(ack Ack, err error) {
		handedBack <- outcome{ack, err}
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("publish held by the broker: %v, want ErrUnavailable", err)
	}
	newer := make(chan error, 1)
	var newerAck Ack
	go func() {
		var err error
		newerAck, err = publish(t, p, Message{Topic: "t", Key: []byte("k"), Value: []byte("newer")}, 5*time.Second)
		newer <- err
	}()
	// The broker answers the older request once the newer record was
	// acknowledged (which must not happen first) or after a while.
	select {
	case err = <-newer:
		releaseOld()
	case <-time.After(300 * time.Millisecond):
		releaseOld()
		err = <-newer
	}
	if err != nil {
		t.Fatalf("newer publish: %v", err)
	}
	// The older record's caller was told 503; the hand-back says Kafka
	// acknowledged it after all, before the newer one.
	older := <-handedBack
	if older.err != nil || older.ack.Offset >= newerAck.Offset {
		t.Errorf("older record handed back with %+v, %v; newer acknowledged at %+v", older.ack, older.err, newerAck)
	}
	var got []string
	for _, r := range kafkatest.ReadAll(t, c.ListenAddrs(), 3, 5*time.Second, "t") {
		got = append(got, string(r.Value))
	}
	if diff := cmp.Diff([]string{"first", "older", "newer"}, got); diff != "" {
		t.Errorf("records in partition order (-want +got):\n%s", diff)
	}
}
