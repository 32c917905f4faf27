package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// queue holds the records waiting for one partition. busy is true while a
// drain goroutine owns the partition; both fields are guarded by the
// Publisher's mutex.
type queue struct {
	key     partitionKey
	pending []*waiter
	busy    bool
}

// waiter is one Publish call waiting for its record's acknowledgement.
type waiter struct {
	ctx  context.Context
	msg  Message
	time time.Time
	done chan result           // buffered: the drainer never blocks on a waiter that left
	last atomic.Pointer[error] // why the latest attempt failed, for a timeout's message
}

type result struct {
	offset int64
	err    error
}

func (w *waiter) finish(offset int64, err error) { w.done <- result{offset, err} }

func (w *waiter) size() int {
	n := len(w.msg.Key) + len(w.msg.Value) + 32
	for _, h := range w.msg.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}

// drain sends the queue's records, one produce request at a time, until
// the queue is empty. The first record goes out alone and at once; records
// that arrive meanwhile form the next request.
func (p *Publisher) drain(q *queue) {
	defer p.running.Done()
	for {
		p.mu.Lock()
		if len(q.pending) == 0 {
			q.busy = false
			p.mu.Unlock()
			return
		}
		n, bytes := 0, 0
		for n < len(q.pending) {
			s := q.pending[n].size()
			if n > 0 && bytes+s > p.cfg.MaxBatchBytes {
				break
			}
			bytes += s
			n++
		}
		batch := make([]*waiter, n)
		copy(batch, q.pending)
		clear(q.pending[:n])
		q.pending = q.pending[n:]
		p.mu.Unlock()

		p.send(q.key, batch)
	}
}

// backoff between attempts at one batch: short first, because a moving
// leader usually settles within a metadata refresh.
func backoff(attempt int) time.Duration {
	d := 10 * time.Millisecond << min(attempt, 6)
	return min(d, 500*time.Millisecond)
}

// send writes one batch, retrying errors that may pass for as long as any
// of its waiters still waits. Waiters that left are dropped before each
// attempt, so nothing is written after everyone gave up on it, except what
// an ambiguous earlier attempt may already have written.
func (p *Publisher) send(key partitionKey, batch []*waiter) {
	for attempt := 0; ; attempt++ {
		batch = live(batch)
		if len(batch) == 0 {
			return
		}
		if attempt > 0 {
			select {
			case <-time.After(backoff(attempt - 1)):
			case <-p.aborted:
				finishAll(batch, fmt.Errorf("%w: publisher closed", ErrUnavailable))
				return
			}
			batch = live(batch)
			if len(batch) == 0 {
				return
			}
		}

		base, err := p.produce(key, batch)
		if err == nil {
			for i, w := range batch {
				w.finish(base+int64(i), nil)
			}
			return
		}
		if isTooLarge(err) && len(batch) > 1 {
			// One oversized record must not fail the records batched with
			// it: send each alone, in order, so only the culprit fails.
			for _, w := range batch {
				p.send(key, []*waiter{w})
			}
			return
		}
		if isPermanent(err) {
			p.log.Error().Str("topic", key.topic).Int32("partition", key.partition).
				Int("records", len(batch)).Str("error", err.Error()).Msg("kafka rejected records")
			finishAll(batch, fmt.Errorf("%w: %w", ErrRejected, err))
			return
		}
		if !retriable(err) {
			p.log.Error().Str("topic", key.topic).Int32("partition", key.partition).
				Int("records", len(batch)).Str("error", err.Error()).Msg("produce failed")
			finishAll(batch, fmt.Errorf("%w: %w", ErrUnavailable, err))
			return
		}
		ev := p.log.Debug()
		if attempt == 0 {
			ev = p.log.Warn()
		}
		ev.Str("topic", key.topic).Int32("partition", key.partition).
			Int("records", len(batch)).Int("attempt", attempt+1).Str("error", err.Error()).Msg("produce failed, retrying")
		for _, w := range batch {
			w.last.Store(&err)
		}
	}
}

func live(batch []*waiter) []*waiter {
	out := batch[:0]
	for _, w := range batch {
		if w.ctx.Err() == nil {
			out = append(out, w)
		}
	}
	clear(batch[len(out):])
	return out
}

func finishAll(batch []*waiter, err error) {
	for _, w := range batch {
		w.finish(0, err)
	}
}

// produce sends one request with acks=all and returns the first offset.
// The request runs under the most patient waiter's context values (a
// trace, for instance) but not its cancellation: a record shared with
// other waiters must not be cut off when one of them leaves. It ends at
// that waiter's deadline, within RequestTimeout.
func (p *Publisher) produce(key partitionKey, batch []*waiter) (int64, error) {
	deadline := time.Now().Add(p.cfg.RequestTimeout)
	patient := batch[0]
	latest := time.Time{}
	for _, w := range batch {
		if d, ok := w.ctx.Deadline(); ok && d.After(latest) {
			latest, patient = d, w
		}
	}
	if !latest.IsZero() && latest.Before(deadline) {
		deadline = latest
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(patient.ctx), deadline)
	defer cancel()
	go func() {
		select {
		case <-p.aborted:
			cancel()
		case <-ctx.Done():
		}
	}()

	records := make([]kafka.Record, len(batch))
	for i, w := range batch {
		r := kafka.Record{Time: w.time, Key: kafka.NewBytes(w.msg.Key), Value: kafka.NewBytes(w.msg.Value)}
		if len(w.msg.Headers) > 0 {
			r.Headers = make([]kafka.Header, len(w.msg.Headers))
			for j, h := range w.msg.Headers {
				r.Headers[j] = kafka.Header{Key: h.Key, Value: h.Value}
			}
		}
		records[i] = r
	}
	res, err := p.client.Produce(ctx, &kafka.ProduceRequest{
		Topic:        key.topic,
		Partition:    int(key.partition),
		RequiredAcks: kafka.RequireAll,
		Records:      kafka.NewRecordReader(records...),
	})
	if err != nil {
		return 0, err
	}
	if res.Error != nil {
		return 0, res.Error
	}
	return res.BaseOffset, nil
}

func isTooLarge(err error) bool {
	return errors.Is(err, kafka.MessageSizeTooLarge) || errors.Is(err, kafka.RecordListTooLarge)
}

// isPermanent lists the broker answers that retrying the same record
// cannot change: its size, its format, the topic's policy or ACLs.
func isPermanent(err error) bool {
	for _, code := range []kafka.Error{
		kafka.MessageSizeTooLarge,
		kafka.RecordListTooLarge,
		kafka.InvalidRecord,
		kafka.InvalidTopic,
		kafka.PolicyViolation,
		kafka.TopicAuthorizationFailed,
		kafka.UnsupportedForMessageFormat,
		kafka.InvalidRequiredAcks,
	} {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}

// retriable reports whether another attempt may succeed: Kafka's own
// retriable codes, network trouble, and request timeouts.
func retriable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	var nerr net.Error
	return errors.As(err, &nerr) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, kafka.BrokerNotAvailable)
}
