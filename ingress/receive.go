package ingress

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// receive runs the outer layers in the order of docs/contract.md#http-answers (source address,
// body size, custom token), takes an in-flight slot, reads the body once
// and hands it to Accept. The slot is taken before the body is read and
// given back with the body, when Accept releases it, so MaxInFlight also
// bounds the memory held by bodies: at most MaxInFlight × MaxBodyBytes. The price is that an unsigned request arriving while the
// bridge is full is answered 429 rather than 401; nothing is published
// either way.
func (h *Handler) receive(r *http.Request, ep *served) (res Result, err error) {
	res.ClientIP = clientIP(r, h.cfg.TrustedProxies)
	if len(h.cfg.AllowedIPs) > 0 && !contains(h.cfg.AllowedIPs, res.ClientIP) {
		return res, ErrForbidden
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return res, ErrBodyTooLarge
	}
	if h.cfg.AuthHeader != "" && !tokenMatches(r.Header.Get(h.cfg.AuthHeader), *h.authToken.Load()) {
		return res, ErrUnauthorized
	}

	select {
	case h.slots <- struct{}{}:
	default:
		return res, ErrOverloaded
	}
	h.metrics.InFlight(1)
	// The slot and the body are held until the publisher hands the record
	// back, which may be after the answer (a sender that left, a publish
	// that timed out while its request was in flight): so MaxInFlight ×
	// MaxBodyBytes bounds the bodies held by the publisher too.
	var body []byte
	var released atomic.Bool
	free := func(recycle bool) {
		if !released.CompareAndSwap(false, true) {
			return
		}
		if recycle {
			h.bodies.put(body)
		}
		<-h.slots
		h.metrics.InFlight(-1)
	}
	release := func() { free(true) }
	defer func() {
		// A panic may have left the record with the publisher or not: give
		// the slot back (serve answers 500), but never recycle a body that
		// a request might still carry; the collector takes it.
		if p := recover(); p != nil {
			free(false)
			panic(p)
		}
	}()
	body, err = h.bodies.read(r.Body, r.ContentLength, h.cfg.MaxBodyBytes)
	if err != nil {
		release()
		return res, err
	}
	ip := res.ClientIP
	res, err = h.accept(r.Context(), ep.state.Load(), r.Header, body, release)
	res.ClientIP = ip
	return res, err
}

// bodyPool recycles body buffers so that steady traffic does not allocate
// a new one per request; buffers larger than max are not kept.
type bodyPool struct {
	pool sync.Pool
	max  int
}

func (p *bodyPool) get(size int) []byte {
	if v, ok := p.pool.Get().(*[]byte); ok && cap(*v) >= size {
		return (*v)[:0]
	}
	return make([]byte, 0, size)
}

func (p *bodyPool) put(b []byte) {
	if b == nil || cap(b) > p.max {
		return
	}
	b = b[:0]
	p.pool.Put(&b)
}

// read reads the whole body, never more than limit bytes: a known
// Content-Length sizes the buffer exactly, an unknown one grows it by
// doubling up to the limit.
func (p *bodyPool) read(r io.Reader, contentLength, limit int64) ([]byte, error) {
	size := 16 << 10
	if contentLength >= 0 {
		size = int(contentLength) + 1 // +1 to see EOF without growing
	}
	size = min(size, int(limit)+1)
	b := p.get(size)
	for {
		if len(b) == cap(b) {
			if int64(len(b)) > limit {
				return b, ErrBodyTooLarge
			}
			grown := make([]byte, len(b), min(2*cap(b), int(limit)+1))
			copy(grown, b)
			b = grown
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return b, ErrBodyTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return b, ErrBodyTooLarge
			}
			return b, fmt.Errorf("%w: %w", ErrBodyRead, err)
		}
	}
}
