package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// The pipeline, in the order a delivery meets it:
//
//	accept       verify the signature (verify.go)
//	Process      skip a known duplicate
//	eventRecord  parse the envelope, check the tenant, decrypt, find
//	             contactId, route, check the schema, build the record
//	             with its headers (headers.go)
//	Process      publish the record, or deadLetter an unusable delivery
//	publish      within the publish timeout (publishTraced in trace.go)
//
// Each returns once Kafka acknowledged the record, or with the error that
// stopped it; answerFor (errors.go) maps that to the HTTP answer.

// Accept runs one delivery through the pipeline: verify the signature over
// the raw body, skip known duplicates, parse, decrypt, find contactId,
// route, publish, and only then return. A signed delivery that cannot be
// used goes to the dead-letter topic instead. A nil error means Kafka
// acknowledged a record (or the delivery was a known duplicate).
//
// release hands body back: it is called exactly once, when nothing refers
// to body any longer. That is before Accept returns, except when Accept
// gave up waiting for a record still in a request to Kafka: then it is
// called when that request resolves. It may be nil.
//
// Accept serves the first endpoint (the only one of the single-endpoint
// configuration); requests on each endpoint's path use that endpoint.
func (h *Handler) Accept(ctx context.Context, header http.Header, body []byte, release func()) (Result, error) {
	return h.accept(ctx, h.endpoints[0].state.Load(), header, body, release)
}

// accept is Accept with the endpoint state the request took at its start.
func (h *Handler) accept(ctx context.Context, st *endpointState, header http.Header, body []byte, release func()) (Result, error) {
	span := startSpan(ctx, h.tracer, "verify")
	d, err := st.verifier.Verify(header, body)
	if err != nil {
		span.fail(err.Error())
		span.end()
		if release != nil {
			release()
		}
		return Result{}, err
	}
	span.end()
	return st.proc.Process(ctx, d, body, release)
}

// Process runs a verified delivery through the pipeline and returns only
// once Kafka acknowledged its record or dead letter, or with the error
// that stopped it. release hands body back, as for Handler.Accept.
func (p *Processor) Process(ctx context.Context, d Delivery, body []byte, release func()) (Result, error) {
	if release == nil {
		release = func() {}
	}
	res := Result{SvixID: d.ID}
	if p.seen.Seen(d.ID) {
		release()
		res.Outcome = Duplicate
		return res, nil
	}

	hb := p.builders.get()
	msg, err := p.eventRecord(ctx, d, body, hb, &res)
	if err != nil {
		p.builders.put(hb)
		reason, ok := deadLetterReason(err)
		if !ok {
			release()
			return res, err
		}
		return res, p.deadLetter(ctx, d, body, reason, err, &res, release)
	}
	res.Topic = msg.Topic
	// What happens once Kafka acknowledged the record runs when the
	// publisher hands it back, even when the sender has left by then: a
	// record acknowledged after all is remembered and counted like any
	// other, so that Svix's retry of it is answered as a duplicate.
	id, topic, eventType, drift := d.ID, p.topicLabel(msg.Topic, res.EventType), res.EventType, res.SchemaDrift
	err = p.publish(ctx, msg, &res, func(_ publisher.Ack, err error) {
		if err == nil {
			p.seen.Remember(id)
			p.metrics.Published(topic, eventType, p.endpoint)
			if drift {
				p.metrics.SchemaDrift(eventType)
			}
		}
		release()
		p.builders.put(hb)
	})
	if err != nil {
		return res, err
	}
	res.Outcome = Published
	return res, nil
}

// eventRecord builds the Kafka record of a usable delivery, its headers in
// hb, or returns why the delivery is unusable. It fills res with what the
// log may show.
func (p *Processor) eventRecord(ctx context.Context, d Delivery, body []byte, hb *headerBuilder, res *Result) (publisher.Message, error) {
	env, err := schemas.ParseEnvelope(body)
	res.EventType, res.Tenant = env.EventType, env.Tenant // known even for payload errors
	if err != nil {
		return publisher.Message{}, err
	}
	// Before decryption: the tenant is in the cleartext envelope, and a
	// delivery that is not this endpoint's is not decrypted with its key.
	// A tenant key given twice with different values is read differently
	// by different consumers of the record: it matches no tenant.
	if len(p.tenants) > 0 && (env.TenantsDisagree() || !slices.Contains(p.tenants, env.Tenant)) {
		return publisher.Message{}, ErrTenantMismatch
	}

	value, payload, contactID := body, env.Payload, ""
	switch {
	case env.IsEncrypted && env.PayloadIsString():
		if p.key == nil {
			return publisher.Message{}, ErrNoEncryptionKey
		}
		text, err := env.Ciphertext()
		if err != nil {
			return publisher.Message{}, err
		}
		span := startSpan(ctx, p.tracer, "decrypt")
		plain, err := p.key.Decrypt(text)
		if err != nil {
			span.fail("decrypt failed")
			span.end()
			return publisher.Message{}, &decryptError{err}
		}
		span.end()
		if contactID, err = schemas.ContactID(plain); err != nil {
			return publisher.Message{}, err
		}
		value, payload = env.WithPayload(plain), plain
		res.Encryption = Decrypted
	default:
		if contactID, err = env.ContactID(); err != nil {
			return publisher.Message{}, err
		}
		res.Encryption = Cleartext
		if env.IsEncrypted {
			res.Encryption = FlagOnly
		}
	}

	topic, ok := p.routes.Topic(env.EventType, env.Tenant)
	if !ok {
		return publisher.Message{}, ErrInvalidTopic
	}
	if p.schemas != nil {
		// Only whether it drifted is kept; the drift (a place and a rule,
		// never a value) is for tests and tools.
		checked, err := p.schemas.Check(env.EventType, payload)
		res.SchemaDrift = checked && err != nil
	}
	headers := eventHeaders(hb, d, &env, contactID, p.endpoint, res.SchemaDrift)
	return publisher.Message{
		Topic: topic,
		// The key is the contactId as ce_subject carries it: the same bytes
		// in hb, which goes back to its pool only when the publisher hands
		// the record back, so the key needs no copy of its own.
		Key:     hb.value(schemas.RecordCESubject),
		Value:   value,
		Headers: headers,
	}, nil
}

// deadLetter writes an unusable signed delivery, body unchanged, to the
// dead-letter topic. Its svix-id is not remembered as published, so that a
// resend after the cause is fixed (an encryption key added) goes through.
func (p *Processor) deadLetter(ctx context.Context, d Delivery, body []byte, reason string, cause error, res *Result, release func()) error {
	msg := publisher.Message{
		Topic:   p.routes.DeadLetter(),
		Key:     []byte(d.ID),
		Value:   body,
		Headers: deadLetterHeaders(d, reason, cause, res.EventType, res.Tenant, p.endpoint),
	}
	res.Topic, res.Reason = msg.Topic, reason
	err := p.publish(ctx, msg, res, func(_ publisher.Ack, err error) {
		if err == nil {
			p.metrics.DeadLetter(reason, p.endpoint)
		}
		release()
	})
	if err != nil {
		return err
	}
	res.Outcome = DeadLettered
	return nil
}

// publish writes msg within the publish timeout and records where it went.
// With tracing on, the record carries the publish span's traceparent, so
// that consumers continue the trace. done is the publisher's hand-back of
// the record: called exactly once, possibly after publish returned.
func (p *Processor) publish(ctx context.Context, msg publisher.Message, res *Result, done func(publisher.Ack, error)) error {
	if p.tracer == nil {
		return p.publishWithTimeout(ctx, msg, res, done)
	}
	return p.publishTraced(ctx, msg, res, done)
}

// publishWithTimeout hands the record to the publisher within the publish
// timeout and counts the outcome. A sender that left (its request's context ended) is
// not a Kafka fault: ErrClientClosed, whatever the publisher said.
func (p *Processor) publishWithTimeout(ctx context.Context, msg publisher.Message, res *Result, done func(publisher.Ack, error)) error {
	request := ctx
	ctx, cancel := context.WithTimeout(ctx, p.publishTimeout)
	defer cancel()
	start := time.Now()
	ack, err := p.pub.Publish(ctx, msg, done)
	switch {
	case err == nil:
		p.metrics.Publish("ok", time.Since(start))
	case request.Err() != nil && !errors.Is(err, publisher.ErrRejected):
		p.metrics.Publish("client_closed", time.Since(start))
		return fmt.Errorf("publish to %s: %w: %w", msg.Topic, ErrClientClosed, request.Err())
	case errors.Is(err, publisher.ErrRejected):
		p.metrics.Publish("rejected", time.Since(start))
		p.metrics.Rejected(p.topicLabel(msg.Topic, res.EventType))
		return fmt.Errorf("publish to %s: %w", msg.Topic, err)
	default:
		p.metrics.Publish("unavailable", time.Since(start))
		return fmt.Errorf("publish to %s: %w", msg.Topic, err)
	}
	res.Partition, res.Offset = ack.Partition, ack.Offset
	return nil
}
