package ingress

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Delivery identifies one delivery attempt, as its headers say.
type Delivery struct {
	ID string // svix-id (or webhook-id): stable across retries
	// Timestamp is the attempt's time, svix-timestamp as the signature
	// covers it: the canonical decimal of the verified integer, never the
	// header text as received ("+0017…" verifies as 17…).
	Timestamp string
}

// Verifier checks Svix signatures against every configured secret, so a
// secret can be rotated without downtime. Secrets are parsed by the svix
// library; the signature is computed here, as the library computes it
// (HMAC-SHA256 over "id.timestamp.body", standard base64, compared in
// constant time with every v1 entry of the header), but as one HMAC over
// the three parts instead of over a concatenated copy of the body, with
// pooled hashes: the library's Verify allocates a copy of the body and
// several strings per call and secret (measured in BenchmarkVerify). The
// tests hold it to the library on Svix's vectors and under fuzzing
// (FuzzVerify). The library's 5-minute tolerance is fixed and its errors
// are unexported, so the timestamp is checked here too.
type Verifier struct {
	macs      []*sync.Pool // one pool of *signer per secret
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier accepts whsec_ secrets as ParseSecrets does. Errors name
// the secret's position, never its value.
func NewVerifier(secrets []string, tolerance time.Duration, now func() time.Time) (*Verifier, error) {
	keys, err := ParseSecrets(secrets)
	if err != nil {
		return nil, err
	}
	return newVerifier(keys, tolerance, now)
}

// NewSecretsVerifier takes parsed secrets (an endpoint's, from
// ParseSecrets or ParseSecretsFile): at least one.
func NewSecretsVerifier(secrets []Secret, tolerance time.Duration, now func() time.Time) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("at least one signing secret is required")
	}
	return newVerifier(secrets, tolerance, now)
}

// newVerifier takes parsed secrets of any length; the tests use it for Svix's published
// vector whose key is shorter than ParseSecrets accepts.
func newVerifier(secrets []Secret, tolerance time.Duration, now func() time.Time) (*Verifier, error) {
	if tolerance <= 0 {
		return nil, errors.New("timestamp tolerance must be positive")
	}
	if now == nil {
		now = time.Now
	}
	v := &Verifier{tolerance: tolerance, now: now}
	for _, s := range secrets {
		key := s.key
		v.macs = append(v.macs, &sync.Pool{New: func() any { return &signer{mac: hmac.New(sha256.New, key)} }})
	}
	return v, nil
}

// The signature headers as net/http keys a request's headers (canonical
// form): Header.Get with Svix's lowercase names would canonicalize them,
// and so allocate a string, on every call. TestCanonicalHeaderNames holds
// them to schemas' names.
const (
	canonicalSvixID           = "Svix-Id"
	canonicalSvixTimestamp    = "Svix-Timestamp"
	canonicalSvixSignature    = "Svix-Signature"
	canonicalWebhookID        = "Webhook-Id"
	canonicalWebhookTimestamp = "Webhook-Timestamp"
	canonicalWebhookSignature = "Webhook-Signature"
)

// Verify checks a delivery's signature over the raw body. It uses the
// svix-* headers when all three are present, else the webhook-* set, as
// the svix library does. The timestamp is checked before the signature,
// also as the library does; an error is always a *SignatureError.
func (v *Verifier) Verify(h http.Header, body []byte) (Delivery, error) {
	id := h.Get(canonicalSvixID)
	ts := h.Get(canonicalSvixTimestamp)
	sig := h.Get(canonicalSvixSignature)
	if id == "" || ts == "" || sig == "" {
		id = h.Get(canonicalWebhookID)
		ts = h.Get(canonicalWebhookTimestamp)
		sig = h.Get(canonicalWebhookSignature)
		if id == "" || ts == "" || sig == "" {
			return Delivery{}, &SignatureError{ReasonMissingHeaders}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Delivery{}, &SignatureError{ReasonBadTimestamp}
	}
	// Same comparisons as the svix library, with our tolerance.
	now := v.now()
	if now.Sub(time.Unix(sec, 0)) > v.tolerance {
		return Delivery{}, &SignatureError{ReasonTooOld}
	}
	if sec > now.Add(v.tolerance).Unix() {
		return Delivery{}, &SignatureError{ReasonTooNew}
	}
	if v.matches(id, sec, sig, body) {
		return Delivery{ID: id, Timestamp: canonical(ts, sec)}, nil
	}
	return Delivery{}, &SignatureError{ReasonNoMatch}
}

// canonical is the decimal of sec, the signed value: ts itself when it is
// already written so (no allocation), a new string when the sender wrote
// the integer another way (a sign, leading zeros).
func canonical(ts string, sec int64) string {
	var buf [20]byte
	if b := strconv.AppendInt(buf[:0], sec, 10); string(b) != ts {
		return string(b)
	}
	return ts
}

// signer is one secret's pooled HMAC with the scratch space a signature
// takes: the signed prefix "id.timestamp." and the sum. Kept with the hash,
// they are not allocated per request (a local array passed to the hash's
// interface methods would be).
type signer struct {
	mac    hash.Hash
	prefix []byte
	sum    [sha256.Size]byte
}

// maxPooledPrefix bounds the prefix buffer a signer keeps: a longer svix-id
// is signed from a buffer left to the collector.
const maxPooledPrefix = 256

// matches computes the v1 signature with each secret and looks for it in
// the signature header. Like the library, it signs the timestamp as the
// parsed integer, not the header text.
func (v *Verifier) matches(id string, sec int64, header string, body []byte) bool {
	var want [44]byte // base64 of 32 bytes
	for _, pool := range v.macs {
		s := pool.Get().(*signer)
		s.prefix = append(s.prefix[:0], id...)
		s.prefix = append(s.prefix, '.')
		s.prefix = strconv.AppendInt(s.prefix, sec, 10)
		s.prefix = append(s.prefix, '.')
		s.mac.Reset()
		_, _ = s.mac.Write(s.prefix)
		_, _ = s.mac.Write(body)
		s.mac.Sum(s.sum[:0])
		base64.StdEncoding.Encode(want[:], s.sum[:])
		if cap(s.prefix) > maxPooledPrefix {
			s.prefix = nil
		}
		pool.Put(s)
		if listed(header, want[:]) {
			return true
		}
	}
	return false
}

// listed reports whether the space-separated signature header holds a v1
// entry equal to want, splitting as the svix library does ("v1,<sig>";
// anything after a second comma is ignored) and comparing in constant
// time.
func listed(header string, want []byte) bool {
	found := false
	for entry := range strings.SplitSeq(header, " ") {
		version, rest, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		sig, _, _ := strings.Cut(rest, ",")
		if constantTimeEqual(sig, want) {
			found = true
		}
	}
	return found
}

// constantTimeEqual is subtle.ConstantTimeCompare for a string and a byte
// slice, without converting (and so copying) the string.
func constantTimeEqual(a string, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var diff byte
	for i := range len(b) {
		diff |= a[i] ^ b[i]
	}
	return diff == 0
}
