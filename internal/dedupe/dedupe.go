// Package dedupe remembers the svix-ids the bridge already published, for a
// while and up to a bound, so that a delivery Svix sends again (a retry
// after a lost answer, a manual resend) is answered "duplicate" instead of
// being written twice.
//
// It must never report an id it was not given: a false "duplicate" drops a
// customer's webhook. Ids are therefore stored as the first 96 bits of
// their SHA-256: fixed-size keys (a bounded, predictable footprint whatever
// the id's length) with which a delivery never published is taken for a
// remembered one with a probability of n/2⁹⁶ per lookup: 6·10⁻²⁴ with
// 500 000 ids remembered, at a million webhooks a day once in about 10¹⁴
// years. No probabilistic structure (Bloom or cuckoo filter) is used.
//
// Memory: 16 bytes per ring position plus 4 to 8 bytes of index, with
// ring capacities in powers of two: the default 500 000 entries cost about
// 12.6 MB when full (BenchmarkMemory reports bytes per id; MaxFootprint is
// the bound for any MaxEntries). On unix systems the arrays live outside
// the Go heap (offheap_unix.go), so the garbage collector, which lets the
// heap grow to twice what is live, does not double them, and only the
// pages written are resident. Entries expire
// lazily, on Remember; nothing runs in the background. The cache is per
// process: several bridge instances each keep their own.
package dedupe

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"runtime"
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

// fingerprint is the first 96 bits of an id's SHA-256.
type fingerprint [3]uint32

// home is the fingerprint's first 64 bits: its index slot, masked.
func (fp fingerprint) home() int {
	return int(uint64(fp[0]) | uint64(fp[1])<<32)
}

func fingerprintOf(id string) fingerprint {
	sum := sha256.Sum256([]byte(id))
	return fingerprint{binary.LittleEndian.Uint32(sum[0:4]), binary.LittleEndian.Uint32(sum[4:8]), binary.LittleEndian.Uint32(sum[8:12])}
}

// Cache is a bounded TTL set of ids. It is safe for concurrent use; a nil
// *Cache is not valid, but a disabled one (TTL 0) is, so callers need no
// nil checks.
//
// Time is counted from the cache's creation on the clock's monotonic
// reading where it has one, so a step of the wall clock neither forgets
// nor prolongs anything. An id is remembered for the TTL rounded up to the
// next whole second since then: never less than the TTL, at most a second
// more, and its expiry fits in 32 bits.
//
// The ids live in a ring in the order they were remembered (fingerprint
// and expiry, 16 bytes, no pointers for the garbage collector to follow),
// and an open-addressing index (4 bytes a slot, at most 3/4 full) finds
// them by fingerprint. The ring holds MaxEntries rounded up to a power of
// two, in chunks allocated as the ring first reaches them and never moved;
// the index doubles as entries arrive and is rebuilt from the ring. The
// oldest entries are forgotten from the ring's head when they expire or
// when the cache is full.
type Cache struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	born time.Time // expiries are whole seconds since then

	mu     sync.Mutex
	chunks []chunk  // the ring
	mask   int      // ring capacity - 1; the capacity is a power of two
	head   int      // ring position of the oldest entry
	n      int      // entries in the ring
	index  []uint32 // linear probing: 0 is empty, else tag | ring position + 1
	// posBits low bits of an index slot hold a ring position + 1; the bits
	// above hold a tag, the fingerprint's top bits, so that a probe reads
	// the ring only when the tag matches.
	posBits uint
	mem     *memory // gives chunks and index back (offheap_*.go)
}

// chunkBits sizes the ring's chunks: 16384 entries, 256 KiB.
const chunkBits = 14

// chunk is a part of the ring: fingerprints and their expiries,
// 1<<chunkBits of each or the whole ring if smaller.
type chunk struct {
	fps  []fingerprint
	exps []expiry
}

// expiry is the end of an entry's life in whole seconds since the cache's
// creation, rounded up.
type expiry uint32

// maxTTL is the longest TTL an expiry can hold, 136 years; longer ones are
// cut to it.
const maxTTL = time.Duration(math.MaxUint32) * time.Second

// expiryAt is the expiry of an id remembered at elapsed: ttl later,
// rounded up to a whole second.
func expiryAt(elapsed, ttl time.Duration) expiry {
	return expiry(min((elapsed+ttl+time.Second-1)/time.Second, math.MaxUint32))
}

// alive reports whether an entry expiring at e is still remembered at
// elapsed.
func (e expiry) alive(elapsed time.Duration) bool {
	return elapsed < time.Duration(e)*time.Second
}

// memory gives back the cache's arrays; it is the argument of the cleanup
// that runs once the Cache is unreachable.
type memory struct {
	chunks []func()
	index  func()
}

func (m *memory) release() {
	for _, free := range m.chunks {
		free()
	}
	m.chunks = nil
	m.freeIndex()
}

func (m *memory) freeIndex() {
	if m.index != nil {
		m.index()
		m.index = nil
	}
}

// New returns a Cache. now is the clock (nil means time.Now).
func New(cfg Config, now func() time.Time) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	c := &Cache{ttl: min(cfg.TTL, maxTTL), max: cfg.MaxEntries, now: now, born: now(), mem: &memory{}}
	if c.ttl > 0 {
		c.mask = ceilPow2(c.max) - 1
		c.posBits = uint(bits.Len(uint(c.mask + 1)))
		c.growIndex(min(2048, 2*(c.mask+1)))
		runtime.AddCleanup(c, (*memory).release, c.mem)
	}
	return c, nil
}

// MaxFootprint is the most memory, in bytes, a cache of maxEntries holds:
// its ring, whose capacity is maxEntries rounded up to a power of two and
// is all written once it wraps, and its index at its largest. About 25
// bytes an id at the default 500 000 (12.6 MB); up to about 43 just past
// a power of two (600 000 ids: 21 MB).
func MaxFootprint(maxEntries int) int {
	ring := ceilPow2(maxEntries)
	index := min(2048, 2*ring)
	for 4*maxEntries > 3*index {
		index *= 2
	}
	return ring*16 + index*4
}

func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// entry is ring position pos: its fingerprint and expiry.
func (c *Cache) entry(pos int) (*fingerprint, *expiry) {
	ch, i := &c.chunks[pos>>chunkBits], pos&(1<<chunkBits-1)
	return &ch.fps[i], &ch.exps[i]
}

// Seen reports whether id was remembered and has not expired.
func (c *Cache) Seen(id string) bool {
	if c.ttl == 0 {
		return false
	}
	fp := fingerprintOf(id)
	elapsed := c.since()
	c.mu.Lock()
	defer c.mu.Unlock()
	_, pos, ok := c.lookup(fp)
	return ok && c.expiry(pos).alive(elapsed)
}

// Remember records id for the TTL. Remembering an id again refreshes its
// expiry in place (it keeps its place in the eviction order).
func (c *Cache) Remember(id string) {
	if c.ttl == 0 {
		return
	}
	fp := fingerprintOf(id)
	elapsed := c.since()
	exp := expiryAt(elapsed, c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, pos, ok := c.lookup(fp); ok {
		// max: of two racing calls, the one that read the clock first may
		// get the lock last.
		_, e := c.entry(pos)
		*e = max(*e, exp)
		return
	}
	// Forget what expired, then the oldest while full. A refreshed entry
	// at the head keeps the expired ones behind it until it expires too;
	// they are never reported as seen, and MaxEntries still bounds them.
	for c.n > 0 && (!c.expiry(c.head).alive(elapsed) || c.n >= c.max) {
		c.removeHead()
	}
	if 4*(c.n+1) > 3*len(c.index) {
		c.growIndex(2 * len(c.index))
	}
	pos := (c.head + c.n) & c.mask
	if pos>>chunkBits == len(c.chunks) {
		size := min(1<<chunkBits, c.mask+1)
		fps, freeFps := allocate[fingerprint](size)
		exps, freeExps := allocate[expiry](size)
		c.chunks = append(c.chunks, chunk{fps, exps})
		c.mem.chunks = append(c.mem.chunks, freeFps, freeExps)
	}
	f, e := c.entry(pos)
	*f, *e = fp, exp
	c.n++
	slot, _, _ := c.lookup(fp)
	c.index[slot] = c.slotValue(fp, pos)
}

// slotValue is what the index holds for fp at ring position pos.
func (c *Cache) slotValue(fp fingerprint, pos int) uint32 {
	return c.tag(fp) | uint32(pos+1)
}

func (c *Cache) tag(fp fingerprint) uint32 {
	return fp[2] >> c.posBits << c.posBits
}

// position is the ring position an index slot's value points to.
func (c *Cache) position(v uint32) int {
	return int(v&(1<<c.posBits-1)) - 1
}

// since is the time since the cache was made, never negative.
func (c *Cache) since() time.Duration {
	return max(c.now().Sub(c.born), 0)
}

func (c *Cache) expiry(pos int) expiry {
	_, e := c.entry(pos)
	return *e
}

func (c *Cache) fingerprint(pos int) fingerprint {
	f, _ := c.entry(pos)
	return *f
}

// lookup finds fp's index slot: the one holding it (ok, with its ring
// position) or the empty one where it would go.
func (c *Cache) lookup(fp fingerprint) (slot, pos int, ok bool) {
	mask := len(c.index) - 1
	tag, tagMask := c.tag(fp), ^uint32(1<<c.posBits-1)
	for i := fp.home() & mask; ; i = (i + 1) & mask {
		v := c.index[i]
		if v == 0 {
			return i, 0, false
		}
		if v&tagMask == tag {
			if p := c.position(v); c.fingerprint(p) == fp {
				return i, p, true
			}
		}
	}
}

// removeHead forgets the oldest entry, closing the gap it leaves in the
// index by shifting later entries of its probe run back (no tombstones).
func (c *Cache) removeHead() {
	mask := len(c.index) - 1
	i, _, _ := c.lookup(c.fingerprint(c.head))
	for j := (i + 1) & mask; c.index[j] != 0; j = (j + 1) & mask {
		home := c.fingerprint(c.position(c.index[j])).home() & mask
		// The entry at j may move to the gap at i unless its home slot lies
		// cyclically in (i, j].
		if (i < j && i < home && home <= j) || (i > j && (home > i || home <= j)) {
			continue
		}
		c.index[i] = c.index[j]
		i = j
	}
	c.index[i] = 0
	c.head = (c.head + 1) & c.mask
	c.n--
}

// growIndex replaces the index by one of the given size (a power of two),
// built again from the ring. The old one is given back first, so the two
// are never held at once.
func (c *Cache) growIndex(size int) {
	c.mem.freeIndex()
	c.index, c.mem.index = allocate[uint32](size)
	for k := range c.n {
		pos := (c.head + k) & c.mask
		fp := c.fingerprint(pos)
		slot, _, _ := c.lookup(fp)
		c.index[slot] = c.slotValue(fp, pos)
	}
}

// Len is the number of ids remembered, expired ones not yet forgotten
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// footprint is the size in bytes of the arrays the cache holds (mapped,
// not necessarily all resident).
func (c *Cache) footprint() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.chunks)*min(1<<chunkBits, c.mask+1)*16 + len(c.index)*4
}
