//go:build unix

package dedupe

import (
	"syscall"
	"unsafe"
)

// allocate returns n zeroed Ts outside the Go heap, in an anonymous
// private mapping, and the function that gives them back. Ts must hold no
// pointers. Outside the heap, the cache does not count towards the
// garbage collector's heap goal, which would otherwise let the heap grow
// to about twice the cache before collecting; and only the pages written
// are resident. When the mapping fails it falls back to the heap.
func allocate[T any](n int) ([]T, func()) {
	size := n * int(unsafe.Sizeof(*new(T)))
	if size == 0 {
		return nil, func() {}
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]T, n), func() {}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n), func() { _ = syscall.Munmap(b) }
}
