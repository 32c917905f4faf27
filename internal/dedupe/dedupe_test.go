package dedupe

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newCache(t testing.TB, ttl time.Duration, max int) (*Cache, *clock) {
	t.Helper()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c, err := New(Config{TTL: ttl, MaxEntries: max}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func TestSeenAfterRemember(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t, time.Hour, 10)
	if c.Seen("msg_1") {
		t.Fatal("seen before remembered")
	}
	c.Remember("msg_1")
	if !c.Seen("msg_1") {
		t.Fatal("not seen after remembered")
	}
	if c.Seen("msg_2") || c.Seen("msg_") || c.Seen("MSG_1") {
		t.Fatal("another id reported as seen")
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, time.Hour, 10)
	c.Remember("msg_1")
	clk.add(time.Hour - time.Nanosecond)
	if !c.Seen("msg_1") {
		t.Fatal("forgotten before the TTL")
	}
	clk.add(time.Nanosecond)
	if c.Seen("msg_1") {
		t.Fatal("seen at the TTL")
	}
	c.Remember("msg_2") // expires msg_1 lazily
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
}

// TestExpiryRoundsUp: an id is remembered for the TTL rounded up to the
// next whole second since the cache was made, never less.
func TestExpiryRoundsUp(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, time.Hour, 10)
	clk.add(300 * time.Millisecond)
	c.Remember("msg_1")
	clk.add(time.Hour)
	if !c.Seen("msg_1") {
		t.Fatal("forgotten at the TTL, before the whole second")
	}
	clk.add(700*time.Millisecond - time.Nanosecond)
	if !c.Seen("msg_1") {
		t.Fatal("forgotten before the whole second")
	}
	clk.add(time.Nanosecond)
	if c.Seen("msg_1") {
		t.Fatal("seen past the whole second")
	}
}

// TestLongTTL: a TTL longer than an expiry holds is cut to 136 years, not
// wrapped around to something short.
func TestLongTTL(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, 200*365*24*time.Hour, 10)
	c.Remember("msg_1")
	clk.add(100 * 365 * 24 * time.Hour)
	if !c.Seen("msg_1") {
		t.Fatal("forgotten after 100 years of a 200-year TTL")
	}
	clk.add(37 * 365 * 24 * time.Hour)
	if c.Seen("msg_1") {
		t.Fatal("seen after 137 years")
	}
}

// TestLongestTTL: a TTL of the largest duration must not overflow into a
// short one when added to the time since the cache was made.
func TestLongestTTL(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, math.MaxInt64, 10)
	clk.add(time.Hour)
	c.Remember("msg_1")
	clk.add(130 * 365 * 24 * time.Hour)
	if !c.Seen("msg_1") {
		t.Fatal("forgotten after 130 years of the longest TTL")
	}
}

// TestRefreshNeverShortens: remembering an id again with an earlier clock
// reading (two racing calls) keeps the later expiry.
func TestRefreshNeverShortens(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, time.Hour, 10)
	clk.add(10 * time.Second)
	c.Remember("msg_1")
	clk.add(-5 * time.Second)
	c.Remember("msg_1")
	clk.add(time.Hour + 4*time.Second)
	if !c.Seen("msg_1") {
		t.Fatal("an earlier refresh shortened the expiry")
	}
}

// TestMaxFootprint: the bound the deployment checks its memory against is
// what a full cache holds, for capacities at, below and past powers of two.
func TestMaxFootprint(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3, 10, 1000, 2048, 16384, 20_000, 70_000} {
		c, _ := newCache(t, time.Hour, n)
		for i := range 2*n + 10 {
			c.Remember(fmt.Sprint("msg_", i))
		}
		if got, want := c.footprint(), MaxFootprint(n); got != want {
			t.Errorf("MaxEntries %d: a full cache holds %d bytes, MaxFootprint says %d", n, got, want)
		}
	}
	if got := MaxFootprint(500_000); got != 12_582_912 {
		t.Errorf("MaxFootprint(500000) = %d, the documented 12.6 MB is 12582912", got)
	}
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	c, err := New(Config{TTL: 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Remember("msg_1")
	if c.Seen("msg_1") || c.Len() != 0 {
		t.Fatal("a disabled cache remembered")
	}
}

func TestEvictsOldestWhenFull(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, time.Hour, 3)
	for i := range 5 {
		c.Remember(fmt.Sprint("msg_", i))
		clk.add(time.Second)
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := c.Seen(fmt.Sprint("msg_", i)); got != want {
			t.Errorf("msg_%d seen = %v, want %v", i, got, want)
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
}

// TestRefresh: remembering again keeps an id past its first expiry, and
// its stale queue entry does not evict it.
func TestRefresh(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, time.Hour, 10)
	c.Remember("msg_1")
	clk.add(30 * time.Minute)
	c.Remember("msg_1")
	clk.add(45 * time.Minute) // past the first expiry
	c.Remember("msg_2")       // pops the stale entry
	if !c.Seen("msg_1") {
		t.Fatal("refreshed id forgotten at its old expiry")
	}
	clk.add(time.Hour)
	if c.Seen("msg_1") {
		t.Fatal("refreshed id never expires")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{TTL: time.Hour, MaxEntries: 1}, true},
		{Config{TTL: 0, MaxEntries: 0}, true},
		{Config{TTL: -time.Second, MaxEntries: 1}, false},
		{Config{TTL: time.Hour, MaxEntries: 0}, false},
	} {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: %v", tt.cfg, err)
		}
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	t.Run("under the bound", testConcurrentUnderBound)
	t.Run("at the bound", testConcurrentAtBound)
}

// testConcurrentAtBound: with eviction racing, the bound holds.
func testConcurrentAtBound(t *testing.T) {
	c, _ := newCache(t, time.Hour, 1000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				c.Remember(fmt.Sprintf("msg_%d_%d", g, i))
			}
		})
	}
	wg.Wait()
	if c.Len() != 1000 {
		t.Errorf("Len %d, want the bound 1000", c.Len())
	}
	c.Remember("msg_last")
	if !c.Seen("msg_last") {
		t.Error("the newest id was evicted")
	}
}

func testConcurrentUnderBound(t *testing.T) {
	c, _ := newCache(t, time.Hour, 100_000)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				id := fmt.Sprintf("msg_%d_%d", g, i)
				c.Remember(id)
				if !c.Seen(id) {
					t.Errorf("%s not seen right after Remember", id)
					return
				}
			}
		})
	}
	wg.Wait()
	if c.Len() != 16_000 {
		t.Errorf("Len %d, want 16000", c.Len())
	}
}

// TestAllocBudgets: a lookup and remembering an id allocate nothing on
// the Go heap.
func TestAllocBudgets(t *testing.T) {
	c, _ := newCache(t, time.Hour, 1000)
	c.Remember("msg_2QmTjK8nS2kLp9yXvZ3rW1aBcDe")
	allocbudget.Check(t, 0, func() { c.Seen("msg_2QmTjK8nS2kLp9yXvZ3rW1aBcDe") })
	allocbudget.Check(t, 0, func() { c.Remember("msg_2QmTjK8nS2kLp9yXvZ3rW1aBcDe") })
	// New ids into a full cache: each forgets the oldest.
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprint("msg_", i)
		c.Remember(ids[i])
	}
	next := 0
	allocbudget.Check(t, 0, func() {
		c.Remember(ids[next%len(ids)])
		next += 7
	})
}

func BenchmarkSeen(b *testing.B) {
	c, _ := newCache(b, time.Hour, 500_000)
	c.Remember("msg_2QmTjK8nS2kLp9yXvZ3rW1aBcDe")
	b.ReportAllocs()
	for b.Loop() {
		c.Seen("msg_2QmTjK8nS2kLp9yXvZ3rW1aBcDe")
	}
}

func BenchmarkRemember(b *testing.B) {
	c, _ := newCache(b, time.Hour, 500_000)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("msg_%027d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Remember(ids[i&(len(ids)-1)])
		i++
	}
}

// BenchmarkMemory reports the bytes per id of a full default cache: the
// arrays it holds, and what it leaves on the Go heap (none on unix, where
// the arrays are mapped outside it).
func BenchmarkMemory(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c, _ := New(Config{TTL: time.Hour, MaxEntries: 500_000}, nil)
		for i := range 500_000 {
			c.Remember(fmt.Sprintf("msg_%027d", i))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(c.footprint())/500_000, "bytes/entry")
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/500_000, "heap-bytes/entry")
		runtime.KeepAlive(c)
	}
}

// TestArraysOffHeap: on unix the cache's arrays do not count towards the
// Go heap, and they are given back when the cache is dropped.
func TestArraysOffHeap(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" || runtime.GOOS == "plan9" {
		t.Skip("arrays are on the heap here")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c, _ := New(Config{TTL: time.Hour, MaxEntries: 200_000}, nil)
	id := []byte("msg_000000000000000000000000000")
	for i := range 200_000 {
		copy(id[4:], fmt.Sprintf("%027d", i))
		c.Remember(string(id))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if c.footprint() < 200_000*16 {
		t.Fatalf("footprint %d bytes for 200000 ids", c.footprint())
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("the heap grew by %d bytes for a cache of %d bytes", grew, c.footprint())
	}
	if !c.Seen("msg_000000000000000000000199999") || c.Seen("msg_000000000000000000000200000") {
		t.Error("lookups wrong after growing")
	}

	released := make(chan struct{})
	runtime.AddCleanup(c, func(m *memory) {
		// Cleanups run one after another on one goroutine; this one may run
		// before or after the cache's own.
		close(released)
	}, c.mem)
	c = nil
	for range 20 {
		runtime.GC()
		select {
		case <-released:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Error("a dropped cache was never cleaned up")
}

// model is the cache's behaviour written the plain way: a map and a list
// in remembering order, refreshed in place.
type model struct {
	ttl, max int64
	exp      map[string]int64
	order    []string
}

func (m *model) seen(id string, now int64) bool {
	e, ok := m.exp[id]
	return ok && now < e
}

// expiry: the TTL later, rounded up to a whole second (the clocks of the
// model tests start on a whole second).
func (m *model) expiry(now int64) int64 {
	e := now + m.ttl
	if r := e % int64(time.Second); r != 0 {
		e += int64(time.Second) - r
	}
	return e
}

func (m *model) remember(id string, now int64) {
	if _, ok := m.exp[id]; ok {
		m.exp[id] = m.expiry(now)
		return
	}
	for len(m.order) > 0 && (m.exp[m.order[0]] <= now || int64(len(m.order)) >= m.max) {
		delete(m.exp, m.order[0])
		m.order = m.order[1:]
	}
	m.exp[id] = m.expiry(now)
	m.order = append(m.order, id)
}

// FuzzAgainstModel drives the cache and the model with the same operations
// (remember, seen, time passing) and compares every answer: the index's
// deletions and growth must never lose an id or invent one.
func FuzzAgainstModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint8(3))
	f.Add([]byte("remember seen forget 0123456789 abcdefghijklmnopqrstuvwxyz"), uint8(7))
	f.Add(bytes.Repeat([]byte{0x11, 0x93, 0x27, 0xc4}, 200), uint8(40))
	f.Fuzz(func(t *testing.T, ops []byte, maxEntries uint8) {
		maxN := int64(maxEntries%64) + 1
		clk := &clock{t: time.Unix(1_700_000_000, 0)}
		c, err := New(Config{TTL: 100 * time.Second, MaxEntries: int(maxN)}, clk.now)
		if err != nil {
			t.Fatal(err)
		}
		m := &model{ttl: int64(100 * time.Second), max: maxN, exp: map[string]int64{}}
		for i, op := range ops {
			id := fmt.Sprint("msg_", op%97)
			now := clk.now().UnixNano()
			switch op % 4 {
			case 0, 1:
				c.Remember(id)
				m.remember(id, now)
			case 2:
				if got, want := c.Seen(id), m.seen(id, now); got != want {
					t.Fatalf("op %d: Seen(%s) = %v, model %v", i, id, got, want)
				}
			case 3:
				clk.add(time.Duration(op) * time.Second / 4)
			}
			if c.Len() != len(m.order) {
				t.Fatalf("op %d: Len %d, model %d", i, c.Len(), len(m.order))
			}
		}
		for k := range 97 {
			id := fmt.Sprint("msg_", k)
			if got, want := c.Seen(id), m.seen(id, clk.now().UnixNano()); got != want {
				t.Fatalf("end: Seen(%s) = %v, model %v", id, got, want)
			}
		}
	})
}

// TestAgainstModelLong runs a long random sequence with growth from the
// initial capacity through several doublings and constant eviction.
func TestAgainstModelLong(t *testing.T) {
	t.Parallel()
	runAgainstModel(t, 5000, 200_000, 8000, 60*time.Second, rand.NewPCG(1, 2))
}

// runAgainstModel compares a cache of maxN entries with the model over ops
// random operations on ids drawn from space, half of them Remember, the
// clock moving by up to step at a time.
func runAgainstModel(t *testing.T, maxN, ops, space int, step time.Duration, src rand.Source) *Cache {
	t.Helper()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c, _ := New(Config{TTL: time.Hour, MaxEntries: maxN}, clk.now)
	m := &model{ttl: int64(time.Hour), max: int64(maxN), exp: map[string]int64{}}
	rng := rand.New(src)
	for i := range ops {
		id := fmt.Sprint("msg_", rng.IntN(space))
		now := clk.now().UnixNano()
		switch rng.IntN(10) {
		case 0, 1, 2, 3, 4:
			c.Remember(id)
			m.remember(id, now)
		case 9:
			clk.add(time.Duration(rng.Int64N(int64(step))))
		default:
			if got, want := c.Seen(id), m.seen(id, now); got != want {
				t.Fatalf("op %d: Seen(%s) = %v, model %v", i, id, got, want)
			}
		}
	}
	if c.Len() != len(m.order) {
		t.Fatalf("Len %d, model %d", c.Len(), len(m.order))
	}
	return c
}

// TestAgainstModelSmall runs many random sequences on small caches, whose
// small index makes probe runs wrap around its end often.
func TestAgainstModelSmall(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		maxN := int64(rng.IntN(40) + 1)
		clk := &clock{t: time.Unix(1_700_000_000, 0)}
		c, _ := New(Config{TTL: time.Minute, MaxEntries: int(maxN)}, clk.now)
		m := &model{ttl: int64(time.Minute), max: maxN, exp: map[string]int64{}}
		for i := range 3000 {
			id := fmt.Sprint("msg_", rng.IntN(int(2*maxN)+3))
			now := clk.now().UnixNano()
			switch rng.IntN(8) {
			case 0, 1, 2, 3:
				c.Remember(id)
				m.remember(id, now)
			case 7:
				clk.add(time.Duration(rng.IntN(20)) * time.Second)
			default:
				if got, want := c.Seen(id), m.seen(id, now); got != want {
					t.Fatalf("seed %d op %d: Seen(%s) = %v, model %v", seed, i, id, got, want)
				}
			}
		}
	}
}

// TestAgainstModelShortTags: at the largest MaxEntries a ring position
// takes 28 bits of an index slot and leaves 4 bits of tag, so one probe in
// sixteen matches a tag that is not its id's and must be told apart by the
// fingerprint in the ring.
func TestAgainstModelShortTags(t *testing.T) {
	t.Parallel()
	c := runAgainstModel(t, 100_000_000, 100_000, 40_000, 10*time.Second, rand.NewPCG(3, 4))
	if c.posBits != 28 {
		t.Fatalf("posBits %d at the largest MaxEntries, want 28", c.posBits)
	}
}
