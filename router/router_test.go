package router

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
)

func mustNew(t testing.TB, cfg Config) *Table {
	t.Helper()
	tb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestDefaultTable(t *testing.T) {
	t.Parallel()
	tb := mustNew(t, Default())
	for eventType, want := range map[string]string{
		"contact.acceptsEmail.changed":    "engage.contact",
		"contact.acceptsSms.changed":      "engage.contact",
		"contact.acceptsPostal.changed":   "engage.contact",
		"contact.consent.changed":         "engage.contact",
		"contact.created":                 "engage.contact",
		"contact.updated":                 "engage.contact",
		"contact.deleted":                 "engage.contact",
		"loyalty.addPoints":               "engage.loyalty",
		"point.balance.updated":           "engage.loyalty",
		"reward.voucher.created":          "engage.reward",
		"promotion.multichannel.assigned": "engage.promotion",
		"order.created":                   "engage.unrouted",
		"contact":                         "engage.unrouted",
		"Contact.created":                 "engage.unrouted", // case-sensitive
		"":                                "engage.unrouted",
	} {
		got, ok := tb.Topic(eventType, "myTenantName")
		if !ok || got != want {
			t.Errorf("Topic(%q) = %q, %v; want %q", eventType, got, ok, want)
		}
	}
	if tb.DeadLetter() != "engage.deadletter" {
		t.Errorf("DeadLetter = %q", tb.DeadLetter())
	}
	want := []string{"engage.contact", "engage.deadletter", "engage.loyalty", "engage.promotion", "engage.reward", "engage.unrouted"}
	if diff := cmp.Diff(want, tb.Topics()); diff != "" {
		t.Errorf("Topics (-want +got):\n%s", diff)
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything.at.all", true},
		{"contact.*", "contact.created", true},
		{"contact.*", "contact.", true},
		{"contact.*", "contact", false},
		{"contact.*", "contactX.y", false},
		{"contact.*", "xcontact.created", false},
		{"*.changed", "contact.acceptsEmail.changed", true},
		{"*.changed", "contact.changed.not", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"**", "x", true},
		{"contact.created", "contact.created", true},
		{"contact.created", "contact.createdX", false},
		{"*a*a*a*b", strings.Repeat("a", 5000), false},
		{"*a*a*a*b", strings.Repeat("a", 5000) + "b", true},
	}
	for _, tt := range tests {
		if got := compilePattern(tt.pattern).match(tt.s); got != tt.want {
			t.Errorf("%q matches %.40q = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestFirstMatchWinsAndTemplates(t *testing.T) {
	t.Parallel()
	tb := mustNew(t, Config{Routes: []Route{
		{Match: []string{"contact.deleted"}, Topic: "engage.erasure"},
		{Match: []string{"contact.*", "customer.*"}, Topic: "engage.contact"},
		{Match: []string{"loyalty.*"}, Topic: "{tenant}.loyalty"},
		{Match: []string{"*"}, Topic: "engage.{eventType}"},
	}})
	tests := []struct {
		eventType, tenant, want string
		ok                      bool
	}{
		{"contact.deleted", "t", "engage.erasure", true},
		{"contact.updated", "t", "engage.contact", true},
		{"customer.merged", "t", "engage.contact", true},
		{"loyalty.addPoints", "acme", "acme.loyalty", true},
		{"loyalty.addPoints", "", ".loyalty", true},
		{"order.created", "t", "engage.order.created", true},
		{"order created", "t", "engage.order created", false},
		{"a/b", "t", "engage.a/b", false},
		{strings.Repeat("x", 242), "t", "engage." + strings.Repeat("x", 242), true},
		{strings.Repeat("x", 243), "t", "engage." + strings.Repeat("x", 243), false},
	}
	for _, tt := range tests {
		got, ok := tb.Topic(tt.eventType, tt.tenant)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Topic(%.20q, %q) = %.30q, %v; want %.30q, %v", tt.eventType, tt.tenant, got, ok, tt.want, tt.ok)
		}
	}
	// Templated topics are not known in advance.
	if diff := cmp.Diff([]string{"engage.contact", "engage.deadletter", "engage.erasure", "engage.unrouted"}, tb.Topics()); diff != "" {
		t.Errorf("Topics (-want +got):\n%s", diff)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"illegal static topic", Config{Routes: []Route{{Match: []string{"*"}, Topic: "engage contact", Line: 7}}}, []string{`line 7: route 1: topic "engage contact"`}},
		{"empty topic", Config{Routes: []Route{{Match: []string{"*"}, Topic: ""}}}, []string{"route 1: topic"}},
		{"dot", Config{Routes: []Route{{Match: []string{"*"}, Topic: ".."}}}, []string{`".." are not legal`}},
		{"too long", Config{Routes: []Route{{Match: []string{"*"}, Topic: strings.Repeat("a", 250)}}}, []string{"250 characters"}},
		{"unknown placeholder", Config{Routes: []Route{{Match: []string{"*"}, Topic: "engage.{type}", Line: 3}}}, []string{"line 3:", "{type} is not a placeholder"}},
		{"unbalanced {", Config{Routes: []Route{{Match: []string{"*"}, Topic: "engage.{eventType"}}}, []string{"{ without }"}},
		{"unbalanced }", Config{Routes: []Route{{Match: []string{"*"}, Topic: "engage.eventType}"}}}, []string{"} without {"}},
		{"illegal literal in a template", Config{Routes: []Route{{Match: []string{"*"}, Topic: "engage/{eventType}"}}}, []string{`has '/'`}},
		{"empty match", Config{Routes: []Route{{Topic: "a", Line: 2}}}, []string{"line 2: route 1: match is empty"}},
		{"empty pattern", Config{Routes: []Route{{Match: []string{""}, Topic: "a"}}}, []string{"empty pattern"}},
		{"template fallback", Config{Fallback: "engage.{eventType}", FallbackLine: 9}, []string{"line 9: fallback"}},
		{"bad dead-letter", Config{DeadLetter: "dead letters", DeadLetterLine: 10}, []string{"line 10: deadletter"}},
		{"every problem at once", Config{Routes: []Route{{Topic: "a b", Line: 2}, {Match: []string{"*"}, Topic: "{x}", Line: 5}}}, []string{"line 2: route 1: match is empty", "line 2: route 1: topic", "line 5: route 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// FuzzGlob compares the matcher with a regexp built from the pattern.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"contact.*", "contact.created"}, {"*a*b", "aab"}, {"", ""}, {"**x*", "yx"}, {"a*a", "a"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		// The reference regexp cannot compile invalid UTF-8; event types are
		// ASCII anyway.
		if len(pat) > 64 || !utf8.ValidString(pat) {
			return
		}
		parts := strings.Split(pat, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile(`^(?s:` + strings.Join(parts, ".*") + `)$`)
		if got, want := compilePattern(pat).match(s), re.MatchString(s); got != want {
			t.Fatalf("%q on %q: %v, regexp says %v", pat, s, got, want)
		}
	})
}

// TestTopicAllocBudget: routing a delivery allocates nothing with static
// topics (docs/performance.md).
func TestTopicAllocBudget(t *testing.T) {
	static := mustNew(t, Default())
	allocbudget.Check(t, 0, func() {
		if _, ok := static.Topic("point.balance.updated", "myTenantName"); !ok {
			t.Fatal("no route")
		}
	})
}

func BenchmarkTopic(b *testing.B) {
	static := mustNew(b, Default())
	tmpl := mustNew(b, Config{Routes: []Route{{Match: []string{"*"}, Topic: "engage.{eventType}"}}})
	b.Run("static", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := static.Topic("point.balance.updated", "myTenantName"); !ok {
				b.Fatal()
			}
		}
	})
	b.Run("template", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := tmpl.Topic("point.balance.updated", "myTenantName"); !ok {
				b.Fatal()
			}
		}
	})
}

// TestDefect4TopicsForTemplates (issue 14, defect 4): with the README's
// routes example, Topics (what topics created and readiness checked)
// left out the templated topic of every event type, so their deliveries
// got 503 forever while readiness said ready. TopicsFor fills each
// template with every given event type that reaches it first.
func TestDefect4TopicsForTemplates(t *testing.T) {
	t.Parallel()
	readme := Config{Routes: []Route{
		{Match: []string{"contact.*"}, Topic: "engage.contact"},
		{Match: []string{"*"}, Topic: "engage.{eventType}"},
	}}
	tenants := Config{Routes: []Route{
		{Match: []string{"contact.*"}, Topic: "{tenant}.contact"},
		{Match: []string{"loyalty.*"}, Topic: "{tenant}.{eventType}"},
		{Match: []string{"reward.*"}, Topic: "engage.{eventType}"},
	}}
	documented := []string{"contact.created", "contact.deleted", "loyalty.addPoints", "point.balance.updated", "reward.voucher.created", "bad type"}
	tests := []struct {
		name    string
		cfg     Config
		want    []string
		tenants []string
	}{
		{"README example", readme, []string{
			"engage.contact", "engage.deadletter", "engage.loyalty.addPoints", "engage.point.balance.updated",
			"engage.reward.voucher.created", "engage.unrouted",
		}, nil},
		{"built-in table", Default(), []string{
			"engage.contact", "engage.deadletter", "engage.loyalty", "engage.promotion", "engage.reward", "engage.unrouted",
		}, nil},
		{"tenant templates", tenants, []string{
			"engage.deadletter", "engage.reward.voucher.created", "engage.unrouted",
		}, []string{"{tenant}.contact", "{tenant}.{eventType}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tb.TopicsFor(documented)); diff != "" {
				t.Errorf("TopicsFor (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.tenants, tb.TenantTemplates()); diff != "" {
				t.Errorf("TenantTemplates (-want +got):\n%s", diff)
			}
		})
	}
}
