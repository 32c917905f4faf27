// Package dedupe remembers the svix-ids the bridge already published, for a
// while and up to a bound, so that a delivery Svix sends again (a retry
// after a lost answer, a manual resend) is answered "duplicate" instead of
// being written twice.
//
// It must never report an id it was not given: a false "duplicate" drops a
// customer's webhook. Ids are therefore stored as the first 128 bits of
// their SHA-256: fixed-size keys (a bounded, predictable footprint whatever
// the id's length) with a collision chance of about n²/2¹²⁹, 10⁻²⁷ for
// 500 000 ids. No probabilistic structure (Bloom or cuckoo filter) is used.
//
// Memory: about 85 bytes per remembered id (the map entry and the FIFO
// entry), so the default 500 000 entries cost about 42 MB when full; see
// BenchmarkMemory. Entries expire lazily, on Remember; nothing runs in the
// background. The cache is per process: several bridge instances each
// keep their own.
package dedupe

import (
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// Config bounds the cache.
type Config struct {
	// TTL is how long an id is remembered; 0 turns dedupe off.
	TTL time.Duration
	// MaxEntries bounds memory: when full, the oldest ids are forgotten
	// first, even before their TTL.
	MaxEntries int
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.TTL < 0 {
		errs = append(errs, errors.New("dedupe TTL must not be negative"))
	}
	if c.TTL > 0 && c.MaxEntries < 1 {
		errs = append(errs, errors.New("dedupe max entries must be at least 1"))
	}
	return errors.Join(errs...)
}

type key [16]byte

func keyOf(id string) key {
	sum := sha256.Sum256([]byte(id))
	var k key
	copy(k[:], sum[:16])
	return k
}

type entry struct {
	key     key
	expires int64 // unix nanoseconds
}

// Cache is a bounded TTL set of ids. It is safe for concurrent use; a nil
// *Cache is not valid, but a disabled one (TTL 0) is, so callers need no
// nil checks.
type Cache struct {
	ttl int64
	max int
	now func() time.Time

	mu    sync.Mutex
	ids   map[key]int64 // id → expiry
	queue []entry       // insertion order; may hold stale entries of refreshed ids
	head  int
}

// New returns a Cache. now is the clock (nil means time.Now).
func New(cfg Config, now func() time.Time) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	c := &Cache{ttl: int64(cfg.TTL), max: cfg.MaxEntries, now: now}
	if c.ttl > 0 {
		c.ids = make(map[key]int64)
	}
	return c, nil
}

// Seen reports whether id was remembered and has not expired.
func (c *Cache) Seen(id string) bool {
	if c.ttl == 0 {
		return false
	}
	k := keyOf(id)
	now := c.now().UnixNano()
	c.mu.Lock()
	exp, ok := c.ids[k]
	c.mu.Unlock()
	return ok && now < exp
}

// Remember records id for the TTL. Remembering an id again refreshes it.
func (c *Cache) Remember(id string) {
	if c.ttl == 0 {
		return
	}
	k := keyOf(id)
	now := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Forget what expired, then the oldest while full.
	for c.head < len(c.queue) {
		e := c.queue[c.head]
		if e.expires > now && len(c.ids) < c.max {
			break
		}
		if c.ids[e.key] == e.expires {
			delete(c.ids, e.key) // not stale: the id's current entry
		}
		c.head++
	}
	if c.head > 1024 && c.head > len(c.queue)/2 {
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue = c.queue[:n]
		c.head = 0
	}
	exp := now + c.ttl
	c.ids[k] = exp
	c.queue = append(c.queue, entry{k, exp})
}

// Len is the number of ids remembered, expired ones not yet forgotten
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}
