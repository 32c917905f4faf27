package ingress

import (
	"sync"
	"unicode/utf8"

	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// headerBuilder lays header values end to end in one buffer, so that a
// record's dozen headers cost one allocation (two when the values outgrow
// the inline buffer).
type headerBuilder struct {
	n       int
	headers [maxHeaders]publisher.Header
	spans   [maxHeaders][2]int
	inline  [384]byte
	buf     []byte
}

// maxHeaders is the most headers a record gets from us: docs/contract.md#event-record's event
// headers.
const maxHeaders = 14

func newHeaderBuilder(size int) *headerBuilder {
	b := &headerBuilder{}
	b.reset(size)
	return b
}

// reset empties b for a record whose header values take about size bytes.
func (b *headerBuilder) reset(size int) {
	b.n = 0
	if size <= len(b.inline) {
		b.buf = b.inline[:0]
	} else {
		b.buf = make([]byte, 0, size)
	}
}

// builderPool recycles the header builders of event records. A builder is
// about 1.2 KB, a sixth of the bytes a request allocated at concurrency 64
// (bench/profile.sh with an allocation profile), and it is garbage as soon
// as the publisher hands its record back: Process returns it there, with
// the body. Shared by the Processors of every endpoint.
type builderPool struct{ pool sync.Pool }

func (bp *builderPool) get() *headerBuilder {
	if b, ok := bp.pool.Get().(*headerBuilder); ok {
		return b
	}
	return &headerBuilder{}
}

// put takes b back once nothing reads its headers any more.
func (bp *builderPool) put(b *headerBuilder) {
	// A grown buffer goes with the record, and so do the values sliced
	// from it; the inline buffer stays.
	b.buf = nil
	clear(b.headers[:])
	bp.pool.Put(b)
}

func (b *headerBuilder) add(key string, parts ...string) {
	start := len(b.buf)
	for _, p := range parts {
		b.buf = append(b.buf, p...)
	}
	b.headers[b.n].Key = key
	b.spans[b.n] = [2]int{start, len(b.buf)}
	b.n++
}

// done returns the headers. Values are sliced only now: the buffer may have
// moved while it grew.
func (b *headerBuilder) done() []publisher.Header {
	for i, s := range b.spans[:b.n] {
		b.headers[i].Value = b.buf[s[0]:s[1]:s[1]]
	}
	return b.headers[:b.n:b.n]
}

// value returns the value of the header key, after done; nil when there
// is none.
func (b *headerBuilder) value(key string) []byte {
	for _, h := range b.headers[:b.n] {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// eventHeaders are the headers of an event record (docs/contract.md#event-record), including
// the CloudEvents Kafka binding in binary mode.
// They are laid out in b, which the caller takes from a builderPool and
// hands back when the publisher is done with the record.
func eventHeaders(b *headerBuilder, d Delivery, env *schemas.Envelope, contactID, endpoint string, drift bool) []publisher.Header {
	b.reset(eventHeadersSize(d, env, contactID, endpoint))
	b.add(schemas.RecordSvixID, d.ID)
	b.add(schemas.RecordSvixTimestamp, d.Timestamp)
	b.add(schemas.RecordEventType, env.EventType)
	if env.EventID != "" {
		b.add(schemas.RecordEventID, env.EventID)
	}
	if env.Tenant != "" {
		b.add(schemas.RecordTenant, env.Tenant)
	}
	b.add(schemas.RecordEndpoint, endpoint)
	b.add(schemas.RecordContentType, schemas.ContentTypeJSON)
	b.add(schemas.RecordCESpecVersion, schemas.CESpecVersion)
	b.add(schemas.RecordCEID, d.ID)
	b.add(schemas.RecordCESource, schemas.CESourcePrefix, env.Tenant)
	b.add(schemas.RecordCEType, env.EventType)
	b.add(schemas.RecordCESubject, contactID)
	if drift {
		b.add(schemas.RecordSchemaValid, schemas.SchemaValidFalse)
	}
	return b.done()
}

// eventHeadersSize is about how many bytes an event record's header values
// take.
func eventHeadersSize(d Delivery, env *schemas.Envelope, contactID, endpoint string) int {
	return 2*len(d.ID) + len(d.Timestamp) + 2*len(env.EventType) + len(env.EventID) +
		2*len(env.Tenant) + len(contactID) + len(endpoint) + 64
}

// maxDetail bounds engage-dlq-detail.
const maxDetail = 200

// deadLetterHeaders are the headers of a dead-letter record (docs/contract.md#dead-letter-record).
// The detail is our own error text, which never quotes the body.
func deadLetterHeaders(d Delivery, reason string, cause error, eventType, tenant, endpoint string) []publisher.Header {
	detail := cause.Error()
	if len(detail) > maxDetail {
		detail = detail[:maxDetail]
		for !utf8.ValidString(detail) {
			detail = detail[:len(detail)-1]
		}
	}
	b := newHeaderBuilder(len(d.ID) + len(d.Timestamp) + len(reason) + len(detail) + len(eventType) + len(tenant) + len(endpoint))
	b.add(schemas.RecordSvixID, d.ID)
	b.add(schemas.RecordSvixTimestamp, d.Timestamp)
	b.add(schemas.RecordDLQReason, reason)
	b.add(schemas.RecordDLQDetail, detail)
	if eventType != "" {
		b.add(schemas.RecordEventType, eventType)
	}
	if tenant != "" {
		b.add(schemas.RecordTenant, tenant)
	}
	b.add(schemas.RecordEndpoint, endpoint)
	return b.done()
}
