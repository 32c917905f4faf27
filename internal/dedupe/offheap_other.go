//go:build !unix

package dedupe

// allocate returns n zeroed Ts on the heap: off-heap mappings are used on
// unix systems only (offheap_unix.go).
func allocate[T any](n int) ([]T, func()) {
	return make([]T, n), func() {}
}
