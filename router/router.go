// Package router maps an Engage eventType to a Kafka topic. The table is
// built and checked once (patterns, topic names, templates) and is then
// immutable and safe for concurrent use; looking a topic up allocates
// nothing unless a template has to be filled in.
package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Default topic names (SPEC §6).
const (
	DefaultFallback   = "engage.unrouted"
	DefaultDeadLetter = "engage.deadletter"
)

// Route is one rule of the table. Line is where it was written in a routes
// file (0 when built in code), so that errors can name the line.
type Route struct {
	// Match holds glob patterns on eventType: `*` matches any run of
	// characters, dots included; everything else is literal and
	// case-sensitive.
	Match []string
	// Topic is a topic name or a template with {eventType} and {tenant}.
	Topic string
	Line  int
}

// Config is a routing table as written.
type Config struct {
	Routes []Route
	// Fallback receives event types no route matches, so that nothing is
	// dropped when Engage adds event types. Default engage.unrouted.
	Fallback     string
	FallbackLine int
	// DeadLetter receives signed deliveries that cannot be used. Default
	// engage.deadletter.
	DeadLetter     string
	DeadLetterLine int
}

// Default is the built-in table: family topics, so that one contact's
// related events stay in order on one partition of one topic.
func Default() Config {
	return Config{
		Routes: []Route{
			{Match: []string{"contact.*"}, Topic: "engage.contact"},
			{Match: []string{"loyalty.*", "point.*"}, Topic: "engage.loyalty"},
			{Match: []string{"reward.*"}, Topic: "engage.reward"},
			{Match: []string{"promotion.*"}, Topic: "engage.promotion"},
		},
		Fallback:   DefaultFallback,
		DeadLetter: DefaultDeadLetter,
	}
}

// Table is a checked, immutable routing table.
type Table struct {
	routes     []route
	fallback   string
	deadLetter string
}

type route struct {
	patterns []pattern
	topic    template
}

// New checks the whole table and reports every problem at once, each
// naming its line when known.
func New(cfg Config) (*Table, error) {
	var errs []error
	at := func(line int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if line > 0 {
			msg = fmt.Sprintf("line %d: %s", line, msg)
		}
		errs = append(errs, errors.New(msg))
	}
	t := &Table{fallback: cfg.Fallback, deadLetter: cfg.DeadLetter}
	if t.fallback == "" {
		t.fallback = DefaultFallback
	}
	if t.deadLetter == "" {
		t.deadLetter = DefaultDeadLetter
	}
	if err := LegalTopic(t.fallback); err != nil {
		at(cfg.FallbackLine, "fallback: %v", err)
	}
	if err := LegalTopic(t.deadLetter); err != nil {
		at(cfg.DeadLetterLine, "deadletter: %v", err)
	}
	for i, r := range cfg.Routes {
		name := fmt.Sprintf("route %d", i+1)
		if len(r.Match) == 0 {
			at(r.Line, "%s: match is empty", name)
		}
		var rt route
		for _, m := range r.Match {
			if m == "" {
				at(r.Line, "%s: an empty pattern matches nothing", name)
				continue
			}
			rt.patterns = append(rt.patterns, compilePattern(m))
		}
		tmpl, err := parseTemplate(r.Topic)
		if err != nil {
			at(r.Line, "%s: topic %q: %v", name, r.Topic, err)
		}
		rt.topic = tmpl
		t.routes = append(t.routes, rt)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// Topic returns the topic for an event type: the first matching route's,
// else the fallback. ok is false only when a template produced a name Kafka
// would refuse; the caller dead-letters the delivery.
func (t *Table) Topic(eventType, tenant string) (topic string, ok bool) {
	if r := t.route(eventType); r != nil {
		return r.topic.fill(eventType, tenant)
	}
	return t.fallback, true
}

// route is the first route matching eventType, or nil.
func (t *Table) route(eventType string) *route {
	for i := range t.routes {
		r := &t.routes[i]
		for j := range r.patterns {
			if r.patterns[j].match(eventType) {
				return r
			}
		}
	}
	return nil
}

// DeadLetter is the dead-letter topic.
func (t *Table) DeadLetter() string { return t.deadLetter }

// Topics lists every topic known without an event (static route topics,
// the fallback, the dead-letter topic), sorted and without duplicates: the
// topics to create and to check for readiness.
func (t *Table) Topics() []string {
	out := []string{t.fallback, t.deadLetter}
	for _, r := range t.routes {
		if r.topic.static {
			out = append(out, r.topic.text)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TopicsFor lists the topics that deliveries of eventTypes (the documented
// ones, say) can go to, plus Topics: for each event type, the topic its
// first matching route names, a template filled in. The topics command
// creates them and readiness checks them. A template with {tenant} needs
// a delivery's tenant, which no configuration lists, so its topics are
// left out (TenantTemplates names them); so is a filled-in name Kafka
// would refuse, whose deliveries are dead-lettered.
func (t *Table) TopicsFor(eventTypes []string) []string {
	out := t.Topics()
	for _, et := range eventTypes {
		r := t.route(et)
		if r == nil || r.topic.static || r.topic.has(fieldTenant) {
			continue
		}
		if name, ok := r.topic.fill(et, ""); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TenantTemplates lists the route topics that use {tenant}, as written:
// the topics they name are known only from deliveries.
func (t *Table) TenantTemplates() []string {
	var out []string
	for _, r := range t.routes {
		if r.topic.has(fieldTenant) && !slices.Contains(out, r.topic.text) {
			out = append(out, r.topic.text)
		}
	}
	return out
}

// MaxTopicLength is Kafka's limit on topic names.
const MaxTopicLength = 249

// LegalTopic reports why name is not a legal Kafka topic name, or nil.
func LegalTopic(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case name == "." || name == "..":
		return errors.New(`"." and ".." are not legal topic names`)
	case len(name) > MaxTopicLength:
		return fmt.Errorf("is %d characters long, more than Kafka's %d", len(name), MaxTopicLength)
	}
	for i := 0; i < len(name); i++ {
		if !legalTopicByte(name[i]) {
			return fmt.Errorf("has %q at position %d; only a-z A-Z 0-9 . _ - are allowed", name[i], i)
		}
	}
	return nil
}

func legalTopicByte(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '.' || c == '_' || c == '-'
}

// pattern is a glob split at its stars: a match starts with the first
// part, ends with the last, and contains the middle ones in order.
type pattern struct {
	parts []string
	star  bool // at least one '*'
}

func compilePattern(s string) pattern {
	parts := strings.Split(s, "*")
	return pattern{parts: parts, star: len(parts) > 1}
}

// match runs in linear time: with only `*` as a metacharacter, taking the
// leftmost occurrence of each middle part is always right, so there is no
// backtracking.
func (p pattern) match(s string) bool {
	if !p.star {
		return s == p.parts[0]
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	mid := s[len(first) : len(s)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(mid, part)
		if i < 0 {
			return false
		}
		mid = mid[i+len(part):]
	}
	return true
}

// template is a topic name with optional {eventType} and {tenant}.
type template struct {
	text   string
	static bool
	pieces []piece
}

type piece struct {
	literal string
	field   int // 0 literal, 1 eventType, 2 tenant
}

const (
	fieldEventType = 1
	fieldTenant    = 2
)

func parseTemplate(s string) (template, error) {
	t := template{text: s}
	rest := s
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return t, errors.New("has a } without {")
		}
		if open < 0 {
			t.pieces = append(t.pieces, piece{literal: rest})
			break
		}
		if open > 0 {
			t.pieces = append(t.pieces, piece{literal: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return t, errors.New("has a { without }")
		}
		switch name := rest[open+1 : open+end]; name {
		case "eventType":
			t.pieces = append(t.pieces, piece{field: fieldEventType})
		case "tenant":
			t.pieces = append(t.pieces, piece{field: fieldTenant})
		default:
			return t, fmt.Errorf("{%s} is not a placeholder (use {eventType} or {tenant})", name)
		}
		rest = rest[open+end+1:]
	}
	t.static = true
	for _, p := range t.pieces {
		if p.field != 0 {
			t.static = false
		} else {
			for i := 0; i < len(p.literal); i++ {
				if !legalTopicByte(p.literal[i]) {
					return t, fmt.Errorf("has %q; only a-z A-Z 0-9 . _ - are allowed", p.literal[i])
				}
			}
		}
	}
	if t.static {
		if err := LegalTopic(s); err != nil {
			return t, fmt.Errorf("is not a legal Kafka topic name: %v", err)
		}
	}
	return t, nil
}

func (t *template) has(field int) bool {
	for _, p := range t.pieces {
		if p.field == field {
			return true
		}
	}
	return false
}

func (t *template) fill(eventType, tenant string) (string, bool) {
	if t.static {
		return t.text, true
	}
	var b strings.Builder
	b.Grow(len(t.text) + len(eventType) + len(tenant))
	for _, p := range t.pieces {
		switch p.field {
		case fieldEventType:
			b.WriteString(eventType)
		case fieldTenant:
			b.WriteString(tenant)
		default:
			b.WriteString(p.literal)
		}
	}
	name := b.String()
	return name, LegalTopic(name) == nil
}
