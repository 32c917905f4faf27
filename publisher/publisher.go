// Package publisher writes records to Kafka and returns only once every
// in-sync replica acknowledged them (acks=all). It is the only package that
// produces with kafka-go, and no kafka-go type crosses its API.
//
// kafka-go's Writer gathers records behind a batch timer (1 s by default,
// about 1.6 ms at best), so a lone webhook would wait for the timer. The
// publisher therefore drives kafka-go's lower-level protocol round trip
// itself, the way franz-go does: per broker, a record is sent at once when
// no request is in flight, and records that arrive while one is in flight
// are gathered into the next request, one batch per partition the broker
// leads. A single webhook is published in one round trip; concurrent ones
// share requests. One request at a time per broker also keeps records of
// one key in the order they were handed over, retries included.
package publisher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
)

var (
	// ErrUnavailable means Kafka did not acknowledge the record in time or
	// refused it for a reason that may pass (broker down, leader moving,
	// not enough in-sync replicas, topic missing). The sender should retry.
	ErrUnavailable = errors.New("kafka unavailable")
	// ErrRejected means Kafka refused the record for good (for example
	// larger than the topic's max.message.bytes). Retrying the same record
	// fails the same way until an operator changes the topic.
	ErrRejected = errors.New("kafka rejected the record")
	// ErrMissingTopic comes with ErrUnavailable when the record's topic
	// does not exist: only `engage-bridge topics` creates topics, never the
	// publisher, so the sender's retries fail until an operator runs it.
	ErrMissingTopic = errors.New("missing topic")
)

// Message is one record to write. The publisher refers to Key, Value and
// header values until it hands the record back through Publish's done
// callback; only then may the caller reuse them.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []Header
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// Ack says where Kafka stored a record.
type Ack struct {
	Partition int32
	Offset    int64
}

// Config configures a Publisher. Zero values take the documented defaults.
type Config struct {
	// Conn says how to reach the brokers.
	Conn kafkaconn.Config
	// MaxBatchBytes bounds the records gathered into one produce request.
	// A record larger than this is sent alone. Default 512 KiB, half the
	// broker's default message.max.bytes, so batches of small records
	// never hit the broker limit while a 1 MiB webhook still goes through
	// alone on a topic created by `engage-bridge topics`.
	MaxBatchBytes int
	// RequestTimeout bounds one produce round trip. Default 10 s. A
	// request is not cut short when its callers leave (their contexts end
	// their wait, not the request): until it ends, its partitions take no
	// other request, so that order holds, and its records stay the
	// publisher's, so that callers can account for their memory. Records
	// of a request that ended without an answer are in doubt and are kept
	// and resent first for up to 3 x RequestTimeout (see Publish).
	RequestTimeout time.Duration
	// MetadataTTL bounds how long partition counts and leaders are cached.
	// Default 6 s (kafka-go's own default).
	MetadataTTL time.Duration
	// Compression is the codec of every record batch sent. Default
	// CompressionNone. Webhook bodies are small JSON: a codec saves bytes
	// on the wire and on disk at some CPU per request (docs/performance.md
	// has the measurements).
	Compression Compression
	// MissingTopic, when not nil, is told the topic of every publish that
	// failed with ErrMissingTopic (for a metric): once per Publish call,
	// not per attempt or metadata fetch. Default nil.
	MissingTopic func(topic string)
}

func (c Config) withDefaults() Config {
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = 512 << 10
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.MetadataTTL <= 0 {
		c.MetadataTTL = 6 * time.Second
	}
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.Conn.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBatchBytes < 0 {
		errs = append(errs, errors.New("max batch bytes must not be negative"))
	}
	if err := c.Compression.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Publisher writes records with acks=all. It is safe for concurrent use;
// one Publisher serves the whole process.
type Publisher struct {
	cfg      Config
	log      zerolog.Logger
	conn     atomic.Pointer[conn] // replaced when its metadata cache lags (Ready)
	balancer kafka.Murmur2Balancer

	// aborted ends when Close stops waiting for records in flight: retries
	// end at once instead of at their waiters' deadlines.
	aborted context.Context
	abort   context.CancelFunc

	mu      sync.Mutex
	closed  bool
	topics  map[string]*topicMeta
	fetches uint64 // metadata fetches started, numbering topicMeta.fetch
	queues  map[partitionKey]*queue
	senders map[int32]*sender // by broker id
	running sync.WaitGroup

	buffers sync.Pool // *requestBuffers of answered produce requests
}

// conn is a kafka-go transport and the client over it. The transport
// routes produce requests by its own metadata cache, refreshed at random
// within MetadataTTL; nothing else can make it refresh without asking the
// broker to create missing topics, so a conn whose cache lags is replaced.
type conn struct {
	transport *kafka.Transport
	client    *kafka.Client
	used      atomic.Bool // its metadata cache is running
	cancel    context.CancelFunc
}

func newConn(cfg Config) (*conn, error) {
	transport, err := cfg.Conn.Transport(cfg.MetadataTTL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	transport.Context = ctx
	return &conn{
		transport: transport,
		client:    &kafka.Client{Addr: cfg.Conn.Addr(), Transport: transport, Timeout: cfg.RequestTimeout},
		cancel:    cancel,
	}, nil
}

// retire closes a replaced conn. A request that loaded it just before it
// was replaced may still start on it, and kafka-go would then open a new
// connection pool: cancelling the transport's context after the longest
// request ends that pool too.
func (c *conn) retire(after time.Duration) {
	c.transport.CloseIdleConnections()
	time.AfterFunc(after, c.cancel)
}

// metadata asks the transport's cache, never the broker: kafka-go sends a
// Metadata request only for AllowAutoTopicCreation, which the publisher
// never sets.
func (c *conn) metadata(ctx context.Context, topics []string) (*kafka.MetadataResponse, error) {
	c.used.Store(true)
	return c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
}

type partitionKey struct {
	topic     string
	partition int32
}

type topicMeta struct {
	partitions []int   // 0..n-1, the balancer's argument
	leaders    []int32 // broker id leading each partition
	fetched    time.Time
	fetch      uint64 // the fetch's number: a later one holds newer metadata
}

// New returns a Publisher. It does not contact Kafka: the first Publish
// does, so that the bridge can start while Kafka is still coming up.
func New(cfg Config, log zerolog.Logger) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c, err := newConn(cfg)
	if err != nil {
		return nil, err
	}
	aborted, abort := context.WithCancel(context.Background())
	p := &Publisher{
		cfg: cfg,
		log: log,
		// The Java client's default partitioner: murmur2 of the key, so Java,
		// Kafka Streams and ksqlDB consumers co-partition with the bridge.
		balancer: kafka.Murmur2Balancer{Consistent: true},
		aborted:  aborted,
		abort:    abort,
		topics:   make(map[string]*topicMeta),
		queues:   make(map[partitionKey]*queue),
		senders:  make(map[int32]*sender),
	}
	p.conn.Store(c)
	return p, nil
}

// Publish writes m and returns once Kafka acknowledged it with acks=all,
// or with an error wrapping ErrUnavailable or ErrRejected. The context
// bounds the wait: when it ends first, Publish returns ErrUnavailable.
//
// done hands the record back, as franz-go's Produce promise does: it is
// called exactly once, with the record's final outcome, when the publisher
// no longer refers to m. That is before Publish returns, except when ctx
// ended while a request carrying m was in flight: the record stays the
// publisher's until that request resolves, and done then says whether
// Kafka acknowledged it after all (the caller has been told
// ErrUnavailable; at least once, never at most once). If that request
// ended without an answer (RequestTimeout, a broken connection), the
// broker may still append m: m is in doubt, and is sent again before any
// newer record of its partition until Kafka acknowledges or refuses it,
// or for at most 3 x RequestTimeout after that first unanswered request
// (then done gets ErrUnavailable). A record whose caller left before it
// went out, and that is not in doubt, is dropped and never written. done runs
// on a publisher goroutine, possibly with the publisher's lock held: it
// must be quick and must not call the Publisher. It may be nil.
func (p *Publisher) Publish(ctx context.Context, m Message, done func(Ack, error)) (Ack, error) {
	ack, err := p.publish(ctx, m, done)
	if p.cfg.MissingTopic != nil && errors.Is(err, ErrMissingTopic) {
		p.cfg.MissingTopic(m.Topic) // once per failed publish, however many attempts it took
	}
	return ack, err
}

func (p *Publisher) publish(ctx context.Context, m Message, done func(Ack, error)) (Ack, error) {
	if done == nil {
		done = func(Ack, error) {}
	}
	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("%w: gave up before publishing: %w", ErrUnavailable, err)
		done(Ack{}, err)
		return Ack{}, err
	}
	t, err := p.topic(ctx, m.Topic)
	if err != nil {
		done(Ack{}, err)
		return Ack{}, err
	}
	partition := int32(p.balancer.Balance(kafka.Message{Key: m.Key}, t.partitions...))

	w := &waiter{ctx: ctx, msg: m, time: time.Now(), done: done, result: make(chan result, 1)}
	if err := p.enqueue(partitionKey{m.Topic, partition}, t.leaders[partition], w); err != nil {
		done(Ack{}, err)
		return Ack{}, err
	}
	select {
	case r := <-w.result:
		return r.ack, r.err
	case <-ctx.Done():
	}
	// A record still queued is dropped now, so that it holds no memory
	// after its caller left; one in a request stays until the request
	// resolves (its partition's order depends on it).
	p.mu.Lock()
	if w.state == queued && w.doubted.IsZero() {
		w.q.remove(w)
		w.finish(0, w.gaveUp())
	}
	p.mu.Unlock()
	select {
	case r := <-w.result:
		return r.ack, r.err
	default:
		return Ack{}, w.gaveUp()
	}
}

// topic returns the topic's partitions and their leaders, from a cache
// refreshed every MetadataTTL.
func (p *Publisher) topic(ctx context.Context, topic string) (*topicMeta, error) {
	p.mu.Lock()
	t := p.topics[topic]
	p.mu.Unlock()
	if t != nil && time.Since(t.fetched) < p.cfg.MetadataTTL {
		return t, nil
	}
	return p.fetchTopic(ctx, topic)
}

// fetchTopic asks kafka-go's transport for the topic's layout. The
// transport answers from its own metadata cache, so this is cheap and does
// not reach the brokers. Queues of partitions whose leader changed move to
// the new leader's sender.
func (p *Publisher) fetchTopic(ctx context.Context, topic string) (*topicMeta, error) {
	p.mu.Lock()
	p.fetches++
	fetch := p.fetches
	p.mu.Unlock()
	meta, err := p.conn.Load().metadata(ctx, []string{topic})
	if err != nil {
		p.mu.Lock()
		last := p.topics[topic] // as of now: another fetch may have stored one meanwhile
		p.mu.Unlock()
		if last != nil {
			return last, nil // keep the last known layout through a blip
		}
		return nil, fmt.Errorf("%w: metadata for topic %s: %w", ErrUnavailable, topic, err)
	}
	for _, mt := range meta.Topics {
		if mt.Name != topic {
			continue
		}
		if errors.Is(mt.Error, kafka.UnknownTopicOrPartition) {
			return nil, p.topicGone(topic)
		}
		if mt.Error != nil {
			return nil, fmt.Errorf("%w: topic %s: %w", ErrUnavailable, topic, mt.Error)
		}
		n := len(mt.Partitions)
		if n == 0 {
			return nil, fmt.Errorf("%w: topic %s has no partitions", ErrUnavailable, topic)
		}
		t := &topicMeta{partitions: make([]int, n), leaders: make([]int32, n), fetched: time.Now(), fetch: fetch}
		for i := range n {
			t.partitions[i] = i
		}
		for _, mp := range mt.Partitions {
			if mp.ID < 0 || mp.ID >= n {
				return nil, fmt.Errorf("%w: topic %s: partition %d out of 0..%d", ErrUnavailable, topic, mp.ID, n-1)
			}
			// kafka-go hands a partition without a leader (leader id -1) an
			// empty Broker, whose ID 0 is a real broker's in most clusters.
			// Other partition errors (REPLICA_NOT_AVAILABLE, say) come with
			// a leader that takes produce requests.
			t.leaders[mp.ID] = int32(mp.Leader.ID)
			if mp.Leader.Host == "" {
				t.leaders[mp.ID] = -1
			}
		}
		return p.storeLayout(topic, t), nil
	}
	return nil, p.topicGone(topic)
}

// topicGone is the metadata saying the topic does not exist: never created,
// or deleted while the bridge runs. Its cached layout is forgotten and the
// records queued for it are handed back with ErrMissingTopic at once:
// retrying cannot help until an operator creates it, and Svix retries the
// 503. Records in a request in flight follow when it ends (a deleted
// topic's produce fails, send refreshes the layout, and lands here).
func (p *Publisher) topicGone(topic string) error {
	err := fmt.Errorf("%w: %w: %s does not exist; create it with engage-bridge topics", ErrUnavailable, ErrMissingTopic, topic)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.topics, topic)
	for key, q := range p.queues {
		if key.topic == topic {
			finishAll(q.pending, err)
			clear(q.pending)
			q.pending = q.pending[:0]
		}
	}
	return err
}

// storeLayout makes t the topic's layout unless a fetch started after t's
// has already stored a newer one (two fetches may end in either order),
// and returns the layout in force.
func (p *Publisher) storeLayout(topic string, t *topicMeta) *topicMeta {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.topics[topic]; cur != nil && cur.fetch > t.fetch {
		return cur
	}
	p.topics[topic] = t
	for partition, leader := range t.leaders {
		if q := p.queues[partitionKey{topic, int32(partition)}]; q != nil {
			q.leader = leader // a listed queue moves at its sender's next collect
		}
	}
	return t
}

func (p *Publisher) enqueue(key partitionKey, leader int32, w *waiter) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%w: publisher is closed", ErrUnavailable)
	}
	q := p.queues[key]
	if q == nil {
		q = &queue{key: key, leader: leader}
		p.queues[key] = q
	}
	w.q, w.state = q, queued
	q.pending = append(q.pending, w)
	p.schedule(q)
	return nil
}

// Ready reports whether Kafka answers a metadata request on a fresh
// connection and every topic in topics exists there; the error names each
// missing topic. The request never lets the broker create a topic
// (AllowAutoTopicCreation false), however the cluster's
// auto.create.topics.enable is set: only `engage-bridge topics` creates
// topics. When the publisher's own cached metadata lags behind (a topic
// created since its last refresh), Ready replaces its connection, so that
// once Ready has seen a topic, publishing to it works.
func (p *Publisher) Ready(ctx context.Context, topics []string) error {
	meta, err := p.freshMetadata(ctx, topics)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	var missing []error
	for _, t := range topics {
		if err := topicError(meta, t); err != nil {
			missing = append(missing, err)
		}
	}
	if err := errors.Join(missing...); err != nil {
		return err
	}
	p.catchUp(ctx, topics)
	return nil
}

// freshMetadata asks a broker for the topics on a connection of its own:
// kafka-go's transport keeps serving cached metadata while brokers are
// down, so readiness must not ask the publisher's. kafka-go negotiates
// Metadata v4 or later with any broker since Kafka 0.11, and sends
// AllowAutoTopicCreation false. (kafka-go's Conn.ReadPartitions, which
// readiness used before, sets it true, and on a cluster with
// auto.create.topics.enable the first check created every topic with the
// broker's defaults.)
func (p *Publisher) freshMetadata(ctx context.Context, topics []string) (*kafka.MetadataResponse, error) {
	transport, err := p.cfg.Conn.Transport(p.cfg.MetadataTTL)
	if err != nil {
		return nil, err
	}
	transport.MetadataTopics = topics // the one request it sends: these topics only
	transport.Context = ctx           // its background refresh ends with the check
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: p.cfg.Conn.Addr(), Transport: transport}
	return client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
}

// topicError says why topic is not usable in meta, or nil.
func topicError(meta *kafka.MetadataResponse, topic string) error {
	for _, mt := range meta.Topics {
		switch {
		case mt.Name != topic:
		case errors.Is(mt.Error, kafka.UnknownTopicOrPartition):
			return fmt.Errorf("topic %s does not exist: create it with engage-bridge topics", topic)
		case mt.Error != nil:
			return fmt.Errorf("topic %s: %w", topic, mt.Error)
		case len(mt.Partitions) == 0:
			return fmt.Errorf("topic %s has no partitions", topic)
		default:
			return nil
		}
	}
	return fmt.Errorf("topic %s does not exist: create it with engage-bridge topics", topic)
}

// catchUp replaces the publisher's connection when its metadata cache
// does not know a topic that exists. Records in flight finish on the old
// connection, which closes once they have.
func (p *Publisher) catchUp(ctx context.Context, topics []string) {
	old := p.conn.Load()
	if !old.used.Load() {
		return // its cache starts with a fresh request on first use
	}
	meta, err := old.metadata(ctx, topics)
	if err != nil {
		return // its cache has no layout at all yet; it is fetching one
	}
	var lagging string
	for _, t := range topics {
		if topicError(meta, t) != nil {
			lagging = t
			break
		}
	}
	if lagging == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	c, err := newConn(p.cfg)
	if err != nil || !p.conn.CompareAndSwap(old, c) {
		return
	}
	p.log.Info().Str("topic", lagging).Msg("topic exists but the cached metadata lags: reconnecting")
	old.retire(p.cfg.RequestTimeout)
}

// Close stops accepting records, waits until every record handed over is
// acknowledged or abandoned (bounded by ctx), then closes connections.
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		p.running.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("records still in flight at close: %w", ctx.Err())
	}
	p.abort()
	p.conn.Load().retire(0)
	return err
}
