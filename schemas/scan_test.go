package schemas

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestPlainWord holds the eight-bytes-at-once test to the byte table: every
// byte value at every position among plain bytes, and random words.
func TestPlainWord(t *testing.T) {
	t.Parallel()
	bytewise := func(w [8]byte) bool {
		for _, c := range w {
			if !plainStringByte[c] {
				return false
			}
		}
		return true
	}
	check := func(w [8]byte) {
		t.Helper()
		if got, want := plainWord(binary.LittleEndian.Uint64(w[:])), bytewise(w); got != want {
			t.Fatalf("plainWord(%q) = %v, want %v", w[:], got, want)
		}
	}
	for _, fill := range []byte{'a', 0x20, 0x7f, 0x80, 0xff, '"' + 1, '\\' - 1} {
		for pos := range 8 {
			for c := range 256 {
				w := [8]byte{fill, fill, fill, fill, fill, fill, fill, fill}
				w[pos] = byte(c)
				check(w)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		// Bias towards the interesting bytes.
		for i := range w {
			if rng.IntN(4) == 0 {
				w[i] = []byte{'"', '\\', 0x1f, 0x20, 0x00, 0x21, 0x5b, 0x5d}[rng.IntN(8)]
			}
		}
		check(w)
	}
}
