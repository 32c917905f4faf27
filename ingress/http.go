package ingress

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

var contentTypeJSON = []string{"application/json"}

// handle is the webhook path's whole life, and the HTTP layer's one
// verb: a span when tracing is on, the outer layers and the pipeline
// (guard), the answer and the log line (respond).
func (h *Handler) handle(w http.ResponseWriter, r *http.Request, ep *served) {
	start := time.Now()
	if h.tracer != nil {
		h.handleTraced(w, r, ep, start)
		return
	}
	res, ip, err := h.guard(r, ep)
	h.respond(w, r, ep.name, ip, res, err, start)
}

// guard runs the outer layers in the order of docs/contract.md#http-answers
// (source address, body size, custom token), takes an in-flight slot,
// reads the body once and hands it to the pipeline (accept, pipeline.go).
// The slot is taken before the body is read and given back with the body,
// when the pipeline releases it, so MaxInFlight also bounds the memory
// held by bodies: at most MaxInFlight × MaxBodyBytes. The price is that an
// unsigned request arriving while the bridge is full is answered 429
// rather than 401; nothing is published either way.
//
// ip is the client address, for the log line. A panic is turned into
// errPanic, answered 500, never 2xx, so that Svix retries the delivery;
// its log line names nothing of the request.
func (h *Handler) guard(r *http.Request, ep *served) (res Result, ip netip.Addr, err error) {
	var held *holding // set once the slot is taken
	defer func() {
		if p := recover(); p != nil {
			// A panic may have left the record with the publisher or not:
			// give the slot back, but never recycle a body that a request
			// might still carry; the collector takes it.
			if held != nil {
				held.free(false)
			}
			// The stack names code, not data; the panic value is our own.
			h.log.Error().Str("panic", fmt.Sprint(p)).Str("stack", string(debug.Stack())).Msg("panic in webhook handler")
			res, ip, err = Result{}, netip.Addr{}, errPanic
		}
	}()
	ip = clientIP(r, h.cfg.TrustedProxies)
	if len(h.cfg.AllowedIPs) > 0 && !contains(h.cfg.AllowedIPs, ip) {
		return res, ip, ErrForbidden
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return res, ip, ErrBodyTooLarge
	}
	if h.cfg.AuthHeader != "" && !tokenMatches(r.Header.Get(h.cfg.AuthHeader), *h.authToken.Load()) {
		return res, ip, ErrUnauthorized
	}

	select {
	case h.slots <- struct{}{}:
	default:
		return res, ip, ErrOverloaded
	}
	h.metrics.InFlight(1)
	// The slot and the body are held until the publisher hands the record
	// back, which may be after the answer (a sender that left, a publish
	// that timed out while its request was in flight): so MaxInFlight ×
	// MaxBodyBytes bounds the bodies held by the publisher too.
	held = &holding{h: h}
	body, err := h.bodies.read(r.Body, r.ContentLength, h.cfg.MaxBodyBytes)
	held.body = body
	if err != nil {
		held.free(true)
		return res, ip, err
	}
	// Read to its end: closed now, net/http need not look for more of it
	// before answering.
	_ = r.Body.Close()
	res, err = h.accept(r.Context(), ep.state.Load(), r.Header, body, held.release)
	return res, ip, err
}

// holding is a request's in-flight slot and body, given back once: by
// release when the pipeline is done with the body, or by free(false) after
// a panic, when a record might still carry it.
type holding struct {
	h        *Handler
	body     []byte
	released atomic.Bool
}

func (s *holding) free(recycle bool) {
	if !s.released.CompareAndSwap(false, true) {
		return
	}
	if recycle {
		s.h.bodies.put(s.body)
	}
	<-s.h.slots
	s.h.metrics.InFlight(-1)
}

func (s *holding) release() { s.free(true) }

// respond writes the answer, counts it, and logs the request's one line:
// what happened and where the record went, never a body, a payload field,
// a contactId or a secret. endpoint is the name of the endpoint whose path
// the request came to, empty for any other path; ip is the client address,
// invalid when not known.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, endpoint string, ip netip.Addr, res Result, err error, start time.Time) answer {
	a := answerFor(res, err)
	header := w.Header()
	header["Content-Type"] = contentTypeJSON // shared, never modified: no allocation per answer
	if a.retryAfter {
		header.Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)

	d := time.Since(start)
	h.metrics.Request(a.outcome, endpoint, d)
	var sigErr *SignatureError
	if errors.As(err, &sigErr) {
		h.metrics.SignatureFailure(sigErr.Reason, endpoint)
	}
	if res.Outcome == Duplicate && err == nil {
		h.metrics.Duplicate()
	}

	var ev *zerolog.Event
	switch {
	case a.status >= 500:
		ev = h.log.Error()
	case a.status >= 400 || res.Outcome == DeadLettered:
		ev = h.log.Warn()
	default:
		ev = h.log.Info()
	}
	if !ev.Enabled() {
		return a
	}
	ev.Str("method", cut(r.Method, maxLoggedMethod))
	if endpoint != "" {
		ev.Str("path", r.URL.Path).Str("endpoint", endpoint)
	} else {
		ev.Str("path", cut(r.URL.Path, maxLoggedPath))
	}
	if ip.IsValid() {
		var text [48]byte // an IPv6 address with a zone fits; AppendTo grows it otherwise
		ev.Bytes("client_ip", ip.AppendTo(text[:0]))
	}
	if res.SvixID != "" {
		ev.Str("svix_id", cut(res.SvixID, maxLoggedField))
	}
	if res.EventType != "" {
		ev.Str("event_type", cut(res.EventType, maxLoggedField))
	}
	if res.Tenant != "" {
		ev.Str("tenant", cut(res.Tenant, maxLoggedField))
	}
	if res.Topic != "" {
		ev.Str("topic", cut(res.Topic, maxLoggedPath))
	}
	if res.Outcome == Published || res.Outcome == DeadLettered {
		ev.Int32("partition", res.Partition).Int64("offset", res.Offset)
	}
	if res.Encryption != "" {
		ev.Str("encryption", string(res.Encryption))
	}
	if res.SchemaDrift {
		ev.Bool("schema_valid", false)
	}
	if res.Reason != "" {
		ev.Str("reason", res.Reason)
	}
	if sigErr != nil {
		ev.Str("reason", sigErr.Reason)
	}
	if err != nil && a.status >= 500 {
		// Our own error texts: they name topics and Kafka errors, not data.
		ev.Str("error", err.Error())
	}
	ev.Str("outcome", a.outcome).Int("status", a.status).Float64("duration_ms", float64(d.Microseconds())/1000).Msg("webhook")
	return a
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

// What the log line carries of the sender's choosing is cut to these
// lengths (docs/contract.md#operations, Logs): a request's method and the
// path of a request to no endpoint's path, up to the server's header limit
// before the signature is checked; svix_id, event_type and tenant, from a
// signed request's header and body, up to the body limit; the topic, which
// a template may build from them. An endpoint's own path is logged whole;
// POST, Svix's ids, Engage's event types and valid topic names (at most
// 249 bytes) fit. Counted in bytes before JSON escaping, which writes a
// control or invalid byte as six.
const (
	maxLoggedMethod = 32
	maxLoggedField  = 128
	maxLoggedPath   = 256
)

// cut returns s, or its first n bytes followed by "…" when it is longer;
// a character the cut would split is left out whole.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// The last byte before the cut that can start a character, at most
	// utf8.UTFMax-1 back: a character that starts there and ends past n is
	// dropped. Stray continuation bytes are invalid anyway and are kept.
	i := n - 1
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	if _, size := utf8.DecodeRuneInString(s[i:]); i+size > n {
		n = i
	}
	return s[:n] + "…"
}
