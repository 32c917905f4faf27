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
// Memory: 24 bytes per ring position plus 8 bytes of index, with ring
// capacities in powers of two: the default 500 000 entries cost about
// 17 MB when full (BenchmarkMemory reports bytes per id). Entries expire lazily, on Remember; nothing runs in the
// background. The cache is per process: several bridge instances each
// keep their own.
package dedupe

import (
	"crypto/sha256"
	"encoding/binary"
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

// fingerprint is the first 128 bits of an id's SHA-256.
type fingerprint [2]uint64

func fingerprintOf(id string) fingerprint {
	sum := sha256.Sum256([]byte(id))
	return fingerprint{binary.LittleEndian.Uint64(sum[0:8]), binary.LittleEndian.Uint64(sum[8:16])}
}

// Cache is a bounded TTL set of ids. It is safe for concurrent use; a nil
// *Cache is not valid, but a disabled one (TTL 0) is, so callers need no
// nil checks.
//
// The ids live in a ring in the order they were remembered (fingerprint
// and expiry, 24 bytes, no pointers for the garbage collector to follow),
// and an open-addressing index (4 bytes a slot, at most half full) finds
// them by fingerprint. The ring grows by doubling up to MaxEntries; the
// oldest entries are forgotten from its head when they expire or when the
// cache is full.
type Cache struct {
	ttl int64
	max int
	now func() time.Time

	mu    sync.Mutex
	fps   []fingerprint // the ring; its length, the capacity, is a power of two
	exps  []int64       // expiry of each ring position, unix nanoseconds
	head  int           // ring position of the oldest entry
	n     int           // entries in the ring
	index []uint32      // linear probing: 0 is empty, else ring position + 1
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
		c.resize(min(1024, ceilPow2(c.max)))
	}
	return c, nil
}

func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// Seen reports whether id was remembered and has not expired.
func (c *Cache) Seen(id string) bool {
	if c.ttl == 0 {
		return false
	}
	fp := fingerprintOf(id)
	now := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	_, pos, ok := c.lookup(fp)
	return ok && now < c.exps[pos]
}

// Remember records id for the TTL. Remembering an id again refreshes its
// expiry in place (it keeps its place in the eviction order).
func (c *Cache) Remember(id string) {
	if c.ttl == 0 {
		return
	}
	fp := fingerprintOf(id)
	now := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, pos, ok := c.lookup(fp); ok {
		c.exps[pos] = now + c.ttl
		return
	}
	// Forget what expired, then the oldest while full. A refreshed entry
	// at the head keeps the expired ones behind it until it expires too;
	// they are never reported as seen, and MaxEntries still bounds them.
	for c.n > 0 && (c.exps[c.head] <= now || c.n >= c.max) {
		c.removeHead()
	}
	if c.n == len(c.fps) {
		c.resize(2 * len(c.fps))
	}
	pos := (c.head + c.n) & (len(c.fps) - 1)
	c.fps[pos], c.exps[pos] = fp, now+c.ttl
	c.n++
	slot, _, _ := c.lookup(fp)
	c.index[slot] = uint32(pos) + 1
}

// lookup finds fp's index slot: the one holding it (ok, with its ring
// position) or the empty one where it would go.
func (c *Cache) lookup(fp fingerprint) (slot, pos int, ok bool) {
	mask := len(c.index) - 1
	for i := int(fp[0]) & mask; ; i = (i + 1) & mask {
		v := c.index[i]
		if v == 0 {
			return i, 0, false
		}
		if c.fps[v-1] == fp {
			return i, int(v - 1), true
		}
	}
}

// removeHead forgets the oldest entry, closing the gap it leaves in the
// index by shifting later entries of its probe run back (no tombstones).
func (c *Cache) removeHead() {
	mask := len(c.index) - 1
	i, _, _ := c.lookup(c.fps[c.head])
	for j := (i + 1) & mask; c.index[j] != 0; j = (j + 1) & mask {
		home := int(c.fps[c.index[j]-1][0]) & mask
		// The entry at j may move to the gap at i unless its home slot lies
		// cyclically in (i, j].
		if (i < j && i < home && home <= j) || (i > j && (home > i || home <= j)) {
			continue
		}
		c.index[i] = c.index[j]
		i = j
	}
	c.index[i] = 0
	c.head = (c.head + 1) & (len(c.fps) - 1)
	c.n--
}

// resize moves the entries, oldest first, into a ring of the given
// capacity and rebuilds the index at twice that size.
func (c *Cache) resize(capacity int) {
	fps, exps := make([]fingerprint, capacity), make([]int64, capacity)
	for k := range c.n {
		from := (c.head + k) & (len(c.fps) - 1)
		fps[k], exps[k] = c.fps[from], c.exps[from]
	}
	c.fps, c.exps, c.head = fps, exps, 0
	c.index = make([]uint32, 2*capacity)
	for k := range c.n {
		slot, _, _ := c.lookup(fps[k])
		c.index[slot] = uint32(k) + 1
	}
}

// Len is the number of ids remembered, expired ones not yet forgotten
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
