package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/produce"
)

// queue holds the records waiting for one partition. All its fields are
// guarded by the Publisher's mutex. A queue is at most one of: listed in
// its sender's ready list, or carried by a request in flight.
type queue struct {
	key      partitionKey
	leader   int32 // the broker leading the partition, as last known
	pending  []*waiter
	listed   bool      // in its sender's ready list
	inFlight bool      // a request in flight carries a batch of it
	attempts int       // failed attempts in a row at its oldest records
	retryAt  time.Time // backing off: no request before this
	alone    int       // the next records go one per request (a batch was too large)
	// isolated: a request carrying it with other partitions failed as a
	// whole (kafka-go found no leader, or leaders that differ), so it goes
	// in a request of its own until it succeeds, and one partition's fault
	// cannot keep failing the others in lockstep.
	isolated bool
}

// sender sends the produce requests for the partitions one broker leads.
// Each request carries a batch of every partition with records ready, so
// concurrent webhooks for different partitions share one round trip, and a
// partition is in at most one request at a time, which keeps its records in
// the order they were handed over, retries included. Normally one request
// is in flight per broker, so that records gather while it is; when it has
// been in flight for stallAfter (a partition slow to reach its in-sync
// replicas, say), the partitions not in it go in another request, up to
// maxBrokerRequests at once, so that one slow partition does not hold up
// the others.
type sender struct {
	leader    int32
	ready     []*queue
	busy      bool          // a run goroutine owns the sender
	wake      chan struct{} // records became ready, or a request ended
	inFlight  int           // requests in flight
	lastStart time.Time     // when the latest request was sent
}

const (
	stallAfter        = 50 * time.Millisecond
	maxBrokerRequests = 5
)

// batch is one partition's share of a request.
type batch struct {
	q       *queue
	waiters []*waiter
}

// maxRequestBytes bounds one request across partitions, well under the
// broker's socket.request.max.bytes (100 MiB by default).
const maxRequestBytes = 16 << 20

// waiter is one Publish call's record, from Publish until done is called.
type waiter struct {
	ctx  context.Context
	msg  Message
	time time.Time
	q    *queue // its partition's queue; guarded by the Publisher's mutex
	// state is where the record is; guarded by the Publisher's mutex.
	state  waiterState
	done   func(Ack, error)      // the caller's hand-back, called once by finish
	result chan result           // buffered: the sender never blocks on a caller that left
	last   atomic.Pointer[error] // why the latest attempt failed, for a timeout's message
	// doubted is when a request carrying the record first ended without
	// the broker's answer (zero if none did). The broker may still append
	// it, so until it is acknowledged or refused for good it is sent
	// again before anything newer of its partition, even after its caller
	// left, for at most maxDoubt. Guarded by the Publisher's mutex.
	doubted time.Time
}

type waiterState int

const (
	queued   waiterState = iota // in q.pending
	sent                        // in a request in flight
	finished                    // handed back
)

type result struct {
	ack Ack
	err error
}

// finish hands the record back to its caller. The caller holds p.mu (or
// the waiter was never enqueued).
func (w *waiter) finish(offset int64, err error) {
	if w.state == finished {
		return
	}
	w.state = finished
	var ack Ack
	if err == nil {
		ack = Ack{Partition: w.q.key.partition, Offset: offset}
	}
	w.done(ack, err)
	w.result <- result{ack, err}
}

// maxDoubt is how long, in RequestTimeouts, a record in doubt is kept for
// a caller that left: three round trips that time out.
const maxDoubt = 3

// abandoned reports whether the record may be handed back unwritten: its
// caller left, and no request carrying it went unanswered, or the first
// did more than limit ago. The caller holds p.mu.
func (w *waiter) abandoned(now time.Time, limit time.Duration) bool {
	if w.ctx.Err() == nil {
		return false
	}
	return w.doubted.IsZero() || now.Sub(w.doubted) >= limit
}

// gaveUp is the error of a record whose caller left before Kafka
// acknowledged it.
func (w *waiter) gaveUp() error {
	if last := w.last.Load(); last != nil {
		return fmt.Errorf("%w: no acknowledgement before the deadline (%w), last attempt: %w", ErrUnavailable, w.ctx.Err(), *last)
	}
	return fmt.Errorf("%w: no acknowledgement before the deadline: %w", ErrUnavailable, w.ctx.Err())
}

func (w *waiter) size() int {
	n := len(w.msg.Key) + len(w.msg.Value) + 32
	for _, h := range w.msg.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}

// schedule lists q with the sender of its leader if it has records and is
// neither listed nor in flight, starting the sender if it is idle. The
// caller holds p.mu.
func (p *Publisher) schedule(q *queue) {
	if q.listed || q.inFlight || len(q.pending) == 0 {
		return
	}
	s := p.senders[q.leader]
	if s == nil {
		s = &sender{leader: q.leader, wake: make(chan struct{}, 1)}
		p.senders[q.leader] = s
	}
	s.ready = append(s.ready, q)
	q.listed = true
	if !s.busy {
		s.busy = true
		p.running.Add(1)
		go p.run(s)
		return
	}
	// A busy sender needs waking only when it waits for nothing that would
	// send these records anyway: backing off with no request in flight, or
	// with requests in flight but nothing ready (so no stall timer set).
	if s.inFlight == 0 || len(s.ready) == 1 {
		wake(s)
	}
}

func wake(s *sender) {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sends requests until the sender has nothing left: the first record
// goes out alone and at once; records that arrive meanwhile form the next
// request.
func (p *Publisher) run(s *sender) {
	defer p.running.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		p.mu.Lock()
		now := time.Now()
		var batches []batch
		var wait time.Duration
		switch {
		case s.inFlight == 0:
			batches, wait = p.collect(s, now)
		case s.inFlight < maxBrokerRequests && len(s.ready) > 0:
			if stalled := now.Sub(s.lastStart); stalled >= stallAfter {
				batches, wait = p.collect(s, now)
			} else {
				wait = stallAfter - stalled
			}
		}
		if len(batches) == 0 && wait == 0 && s.inFlight == 0 {
			s.busy = false
			p.mu.Unlock()
			return
		}
		if len(batches) > 0 {
			s.inFlight++
			s.lastStart = now
			p.running.Add(1)
			p.mu.Unlock()
			go p.request(s, batches)
			continue
		}
		p.mu.Unlock()
		// Partitions are backing off, or requests are in flight.
		var timeout <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			timeout = timer.C
		}
		aborted := p.aborted.Done()
		if p.aborted.Err() != nil {
			aborted = nil // requests in flight end at once; wait for them
		}
		select {
		case <-timeout:
		case <-s.wake:
		case <-aborted:
		}
		timer.Stop()
	}
}

// request sends one request and settles it, then tells its sender.
func (p *Publisher) request(s *sender, batches []batch) {
	defer p.running.Done()
	p.send(batches)
	p.mu.Lock()
	s.inFlight--
	p.mu.Unlock()
	wake(s)
}

// collect takes a batch from every ready partition that is not backing
// off, up to maxRequestBytes, and says how long until the next partition
// backing off may be retried when nothing was taken. The caller holds p.mu.
func (p *Publisher) collect(s *sender, now time.Time) ([]batch, time.Duration) {
	aborted := p.aborted.Err() != nil
	var batches []batch
	var wait time.Duration
	size, alone := 0, false
	keep := s.ready[:0]
	for _, q := range s.ready {
		switch {
		case q.leader != s.leader: // the partition moved to another broker
			q.listed = false
			p.schedule(q)
			continue
		case aborted:
			q.listed = false
			finishAll(q.pending, fmt.Errorf("%w: publisher closed", ErrUnavailable))
			clear(q.pending)
			q.pending = q.pending[:0]
			continue
		case now.Before(q.retryAt):
			if d := q.retryAt.Sub(now); wait == 0 || d < wait {
				wait = d
			}
			keep = append(keep, q)
			continue
		case size >= maxRequestBytes, alone, q.isolated && len(batches) > 0:
			keep = append(keep, q)
			continue
		}
		alone = q.isolated
		waiters, bytes := q.take(p, now)
		q.listed = false
		if len(waiters) == 0 {
			continue // everyone waiting on it left
		}
		q.inFlight = true
		batches = append(batches, batch{q, waiters})
		size += bytes
	}
	clear(s.ready[len(keep):])
	s.ready = keep
	return batches, wait
}

// take removes the next batch from the queue, at most limit bytes unless a
// single record is larger, handing back the records that are abandoned:
// nothing is written after everyone gave up on it, unless it may be
// written already (p.live). At most p.cfg.MaxBatchBytes unless a single
// record is larger. The caller holds p.mu.
func (q *queue) take(p *Publisher, now time.Time) ([]*waiter, int) {
	limit := p.cfg.MaxBatchBytes
	q.pending = p.live(q.key, q.pending, now)
	most := len(q.pending)
	if q.alone > 0 && most > 0 {
		most = 1
		q.alone--
	}
	n, bytes := 0, 0
	for n < most {
		s := q.pending[n].size()
		if n > 0 && bytes+s > limit {
			break
		}
		bytes += s
		n++
	}
	waiters := slices.Clone(q.pending[:n])
	for _, w := range waiters {
		w.state = sent
	}
	clear(q.pending[:n])
	q.pending = q.pending[n:]
	return waiters, bytes
}

// requeue puts records back at the head of the queue, in order, handing
// back those that are abandoned. The caller holds p.mu.
func (q *queue) requeue(p *Publisher, waiters []*waiter, now time.Time) {
	waiters = p.live(q.key, waiters, now)
	for _, w := range waiters {
		w.state = queued
	}
	q.pending = append(waiters, q.pending...)
}

// remove drops a queued record. The caller holds p.mu.
func (q *queue) remove(w *waiter) {
	if i := slices.Index(q.pending, w); i >= 0 {
		q.pending = slices.Delete(q.pending, i, i+1)
	}
}

// backoff between attempts at one partition's records: short first,
// because a moving leader usually settles within a metadata refresh.
func backoff(attempt int) time.Duration {
	d := 10 * time.Millisecond << min(attempt, 6)
	return min(d, 500*time.Millisecond)
}

// send writes one request and settles each partition's batch: finished,
// or put back at the head of its queue to be retried (errors that may
// pass are retried for as long as any of its waiters still waits).
func (p *Publisher) send(batches []batch) {
	offsets, errs, whole := p.produce(batches)
	now := time.Now()
	unanswered := whole && mayBeWritten(errs[0])
	var moved []string
	p.mu.Lock()
	for i, b := range batches {
		b.q.inFlight = false
		b.q.isolated = errs[i] != nil && (b.q.isolated || whole && len(batches) > 1)
		if unanswered {
			for _, w := range b.waiters {
				if w.doubted.IsZero() {
					w.doubted = now
				}
			}
		}
		if p.settle(b, offsets[i], errs[i], now) && !slices.Contains(moved, b.q.key.topic) {
			moved = append(moved, b.q.key.topic)
		}
		p.schedule(b.q)
	}
	p.mu.Unlock()
	// Leaders may have moved: learn where from kafka-go's metadata cache
	// (refreshed every MetadataTTL), so the next attempts group by the
	// right broker.
	for _, topic := range moved {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.RequestTimeout)
		_, _ = p.fetchTopic(ctx, topic)
		cancel()
	}
}

// doubtLimit is how long a record in doubt is kept after its caller left.
func (p *Publisher) doubtLimit() time.Duration { return maxDoubt * p.cfg.RequestTimeout }

// mayBeWritten reports whether a request that failed as a whole with err
// may still be appended by the broker: it ended without an answer, after
// it may have been sent (a timeout, a broken connection). kafka-go's
// routing errors and a refused connection mean it was never sent.
func mayBeWritten(err error) bool {
	var routing *produce.Error
	return err != nil && !errors.As(err, &routing) && !errors.Is(err, syscall.ECONNREFUSED)
}

// settle finishes a batch or puts it back, and reports whether the error
// says the partition's leader may have moved. A batch in doubt is put back
// whatever the error (unless the publisher is closing): it must go again
// before anything newer of its partition. The caller holds p.mu.
func (p *Publisher) settle(b batch, base int64, err error, now time.Time) (leaderMoved bool) {
	q, key := b.q, b.q.key
	if err == nil || !retriable(err) || isTooLarge(err) {
		q.attempts = 0 // the next records start their backoff afresh
	}
	switch {
	case err == nil:
		for i, w := range b.waiters {
			w.finish(base+int64(i), nil)
		}
	case p.aborted.Err() != nil:
		finishAll(b.waiters, fmt.Errorf("%w: publisher closed", ErrUnavailable))
	case isTooLarge(err) && len(b.waiters) > 1:
		// One oversized record must not fail the records batched with it:
		// send each alone, in order, so only the culprit fails.
		q.requeue(p, b.waiters, now)
		q.alone = len(b.waiters)
	case isPermanent(err):
		p.log.Error().Str("topic", key.topic).Int32("partition", key.partition).
			Int("records", len(b.waiters)).Str("error", err.Error()).Msg("kafka rejected records")
		finishAll(b.waiters, fmt.Errorf("%w: %w", ErrRejected, err))
	case !retriable(err) && !inDoubt(b.waiters):
		p.log.Error().Str("topic", key.topic).Int32("partition", key.partition).
			Int("records", len(b.waiters)).Str("error", err.Error()).Msg("produce failed")
		finishAll(b.waiters, fmt.Errorf("%w: %w", ErrUnavailable, err))
	default:
		ev := p.log.Debug()
		if q.attempts == 0 {
			ev = p.log.Warn()
		}
		ev.Str("topic", key.topic).Int32("partition", key.partition).
			Int("records", len(b.waiters)).Int("attempt", q.attempts+1).Str("error", err.Error()).Msg("produce failed, retrying")
		for _, w := range b.waiters {
			w.last.Store(&err)
		}
		q.requeue(p, b.waiters, now)
		q.retryAt = now.Add(backoff(q.attempts))
		q.attempts++
		return leaderError(err)
	}
	return false
}

// live hands back the abandoned records and returns the others. A record
// in doubt given up is logged: if the broker appends it after all, it
// lands after newer records of its partition. The caller holds p.mu.
func (p *Publisher) live(key partitionKey, waiters []*waiter, now time.Time) []*waiter {
	out := waiters[:0]
	doubted := 0
	for _, w := range waiters {
		if !w.abandoned(now, p.doubtLimit()) {
			out = append(out, w)
			continue
		}
		if !w.doubted.IsZero() {
			doubted++
		}
		w.finish(0, w.gaveUp())
	}
	if doubted > 0 {
		p.log.Warn().Str("topic", key.topic).Int32("partition", key.partition).Int("records", doubted).
			Msg("gave up records in doubt: a produce request was not answered; if the broker appends it late, its records land after newer ones")
	}
	clear(waiters[len(out):])
	return out
}

// inDoubt reports whether a request carrying any of the records went
// unanswered. The caller holds p.mu.
func inDoubt(waiters []*waiter) bool {
	return slices.ContainsFunc(waiters, func(w *waiter) bool { return !w.doubted.IsZero() })
}

func finishAll(waiters []*waiter, err error) {
	for _, w := range waiters {
		w.finish(0, err)
	}
}

// errNoAnswer is a partition the broker's response left out.
var errNoAnswer = errors.New("the broker's answer left out the partition")

// produce sends one request with acks=all carrying every batch, and
// returns each batch's first offset or error. The request runs under a
// waiter's context values (a trace, for instance) but not its
// cancellation or deadline: it ends when the broker answers, after
// RequestTimeout, or when the publisher is aborted. Its partitions take no
// other request meanwhile. What holds for order (docs/consumers.md#ordering):
// when it ends with an answer, its records are settled before anything
// newer of their partitions is sent. When it ends without one, the broker
// may still append them, so send keeps them at the head of their queues,
// in doubt, and they go again before anything newer, whether or not their
// callers still wait; if the held request is appended after all, it lands
// later as a duplicate of a copy that is already in order. The one
// exception: a record still in doubt maxDoubt RequestTimeouts after its
// first unanswered request is handed back unwritten, and if the broker
// appends a held copy of it later, that copy is the record's only one and
// lands after newer records.
func (p *Publisher) produce(batches []batch) (offsets []int64, errs []error, whole bool) {
	offsets, errs = make([]int64, len(batches)), make([]error, len(batches))
	deadline := time.Now().Add(p.cfg.RequestTimeout)
	n, nh, size := 0, 0, 0
	for _, b := range batches {
		n += len(b.waiters)
		for _, w := range b.waiters {
			nh += len(w.msg.Headers)
			size += len(w.msg.Key) + len(w.msg.Value)
			for _, h := range w.msg.Headers {
				size += len(h.Value)
			}
		}
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(batches[0].waiters[0].ctx), deadline)
	defer cancel()
	defer context.AfterFunc(p.aborted, cancel)()

	// The broker's own timeout comes a little before ours, so that a
	// partition slow to reach its replicas is answered REQUEST_TIMED_OUT
	// while the others in the request are answered with their offsets.
	req := &produce.Request{
		Acks:    int16(kafka.RequireAll),
		Timeout: int32(max(time.Until(deadline).Milliseconds()*9/10, 1)),
	}
	// kafka-go gets a copy of every byte: its connection may encode a
	// request after RoundTrip gave up on it (the request waited behind
	// another on the connection), so the callers' buffers, handed back
	// when this returns, must not be what it reads. The copies go in one
	// buffer for the whole request, and the records and their headers in
	// one slice each, taken from a pool and put back only once the broker
	// answered: kafka-go wrote the whole request before it read the answer.
	// A request that ends without an answer leaves them to the collector.
	bufs := p.requestBuffers()
	data := slices.Grow(bufs.data[:0], size)
	clone := func(b []byte) []byte {
		from := len(data)
		data = append(data, b...)
		return data[from:len(data):len(data)]
	}
	attributes, _ := p.cfg.Compression.attributes() // valid: New checked it
	records := slices.Grow(bufs.records[:0], n)
	headers := slices.Grow(bufs.headers[:0], nh) // every record's headers, in one allocation
	for _, b := range batches {
		from := len(records)
		for _, w := range b.waiters {
			r := kafka.Record{Time: w.time, Key: kafka.NewBytes(clone(w.msg.Key)), Value: kafka.NewBytes(clone(w.msg.Value))}
			if len(w.msg.Headers) > 0 {
				h0 := len(headers)
				for _, h := range w.msg.Headers {
					headers = append(headers, kafka.Header{Key: h.Key, Value: clone(h.Value)})
				}
				r.Headers = headers[h0:len(headers):len(headers)]
			}
			records = append(records, r)
		}
		part := produce.RequestPartition{
			Partition: b.q.key.partition,
			RecordSet: protocol.RecordSet{Attributes: attributes, Records: protocol.NewRecordReader(records[from:]...)},
		}
		i := slices.IndexFunc(req.Topics, func(t produce.RequestTopic) bool { return t.Topic == b.q.key.topic })
		if i < 0 {
			req.Topics = append(req.Topics, produce.RequestTopic{Topic: b.q.key.topic})
			i = len(req.Topics) - 1
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, part)
	}

	c := p.conn.Load()
	m, err := c.transport.RoundTrip(ctx, c.client.Addr, req)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return offsets, errs, true
	}
	bufs.data, bufs.records, bufs.headers = data, records, headers
	p.recycle(bufs)
	res, ok := m.(*produce.Response)
	for i, b := range batches {
		errs[i] = errNoAnswer
		if !ok {
			continue
		}
		for _, t := range res.Topics {
			if t.Topic != b.q.key.topic {
				continue
			}
			for _, rp := range t.Partitions {
				if rp.Partition == b.q.key.partition {
					offsets[i], errs[i] = rp.BaseOffset, kafkaError(rp.ErrorCode, rp.ErrorMessage)
				}
			}
		}
	}
	return offsets, errs, false
}

// requestBuffers are a produce request's copies of its records' bytes, its
// records and their headers (see produce). Pooled: at concurrency 64 they
// were a fifth of the bytes the bridge allocated per webhook.
type requestBuffers struct {
	data    []byte
	records []kafka.Record
	headers []kafka.Header
}

// What the pool keeps is bounded: a request of large or many records
// leaves its buffers to the collector rather than hold them for the next.
const (
	maxPooledData    = 256 << 10
	maxPooledRecords = 1024
	maxPooledHeaders = 16 * maxPooledRecords
)

func (p *Publisher) requestBuffers() *requestBuffers {
	if b, ok := p.buffers.Get().(*requestBuffers); ok {
		return b
	}
	return &requestBuffers{}
}

// recycle pools b once nothing reads it: the request it carried was
// answered. The bytes are zeroed, so that were anything to read them after
// all, it would find no other record's content; records and headers are
// cleared so that the pool holds no reference to kafka-go's readers.
func (p *Publisher) recycle(b *requestBuffers) {
	if !poolable(b) {
		return
	}
	clear(b.data)
	clear(b.records)
	clear(b.headers)
	b.data, b.records, b.headers = b.data[:0], b.records[:0], b.headers[:0]
	p.buffers.Put(b)
}

// poolable reports whether b is small enough to keep for the next request.
func poolable(b *requestBuffers) bool {
	return cap(b.data) <= maxPooledData && cap(b.records) <= maxPooledRecords && cap(b.headers) <= maxPooledHeaders
}

func kafkaError(code int16, message string) error {
	switch {
	case code == 0:
		return nil
	case message == "":
		return kafka.Error(code)
	default:
		return fmt.Errorf("%w: %s", kafka.Error(code), message)
	}
}
