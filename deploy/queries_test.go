package deploy

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

const runbook = "https://github.com/engage-bridge/engage-bridge/blob/main/docs/operations.md#"

// TestQueries holds the alert rules and the Grafana dashboard to what the
// bridge exports: every expression parses with Prometheus' own PromQL
// parser, every metric it names is on a running bridge's /metrics, and
// every runbook section it cites exists in docs/operations.md.
func TestQueries(t *testing.T) {
	exported := scrapeBridge(t)
	anchors := headingAnchors(t, "../docs/operations.md")
	p := parser.NewParser(parser.Options{})
	check := func(t *testing.T, where, expr string) {
		t.Helper()
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Errorf("%s: %s: %v", where, expr, err)
			return
		}
		named := 0
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				named++
				if !exported[vs.Name] {
					t.Errorf("%s: %s is not exported by the bridge", where, vs.Name)
				}
			}
			return nil
		})
		if named == 0 && !strings.HasPrefix(expr, "vector(") {
			t.Errorf("%s: %s names no metric", where, expr)
		}
	}

	t.Run("alert rules", func(t *testing.T) {
		// As `promtool check rules` loads them: strict fields, every
		// expression and template checked.
		groups, errs := rulefmt.ParseFile("prometheus/alerts.yaml", false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
		for _, err := range errs {
			t.Error(err)
		}
		if groups == nil {
			t.FailNow()
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				check(t, r.Alert, r.Expr)
				for _, k := range []string{"summary", "description", "runbook_url"} {
					if r.Annotations[k] == "" {
						t.Errorf("%s: no %s annotation", r.Alert, k)
					}
				}
				if a, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbook); !ok || !anchors[a] {
					t.Errorf("%s: runbook_url %q is not a section of docs/operations.md", r.Alert, r.Annotations["runbook_url"])
				}
			}
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		d := loadDashboard(t)
		for _, panel := range d.Panels {
			for _, tg := range panel.Targets {
				check(t, panel.Title, grafanaVariables().Replace(tg.Expr))
			}
			cited := regexp.MustCompile(`operations\.md#([\w-]+)`).FindAllStringSubmatch(panel.Description, -1)
			if len(cited) == 0 {
				t.Errorf("panel %q: the description cites no alert or runbook section", panel.Title)
			}
			for _, c := range cited {
				if !anchors[c[1]] {
					t.Errorf("panel %q: cites operations.md#%s, which does not exist", panel.Title, c[1])
				}
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				q := strings.TrimSuffix(strings.TrimPrefix(v.Definition, "label_values("), ")")
				sel, _, _ := strings.Cut(q, ",")
				check(t, "variable "+v.Name, grafanaVariables().Replace(sel))
			}
		}
	})
}

// grafanaVariables stands in for what Grafana substitutes before a query
// reaches Prometheus.
func grafanaVariables() *strings.Replacer {
	return strings.NewReplacer(
		"$__rate_interval", "5m",
		"$job", "engage-bridge",
		"$instance", ".*",
		"$endpoint", ".*",
		"$max_in_flight", "1024",
	)
}

type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	SchemaVersion int    `json:"schemaVersion"`
	UID           string `json:"uid"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Type        string `json:"type"`
		Datasource  struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/engage-bridge.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDashboard checks what Grafana needs to import the dashboard and
// what an operator expects to find on it.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.SchemaVersion < 39 {
		t.Errorf("schemaVersion %d; Grafana 10+ dashboards are 39 or later", d.SchemaVersion)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("__inputs %+v; want the one Prometheus data source DS_PROMETHEUS", d.Inputs)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${DS_PROMETHEUS}") {
			t.Errorf("variable %s: data source is not ${DS_PROMETHEUS}", v.Name)
		}
	}
	for _, want := range []string{"job", "instance", "endpoint", "max_in_flight"} {
		if !vars[want] {
			t.Errorf("no %s variable", want)
		}
	}
	titles := map[string]bool{}
	for _, p := range d.Panels {
		titles[p.Title] = true
		if p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: data source %q, want ${DS_PROMETHEUS}", p.Title, p.Datasource.UID)
		}
		if p.Description == "" || strings.Contains(p.Description, "\n") {
			t.Errorf("panel %q: needs a one-line description", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.Contains(tg.Expr, "engage_bridge_") && !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("panel %q: %s ignores the job variable", p.Title, tg.Expr)
			}
		}
	}
	for _, want := range []string{
		"Webhooks/s by outcome", "Answer latency p50 / p99", "Kafka publish latency p50 / p99",
		"Kafka publish error rate", "Dead letters by reason", "Signature failures by reason",
		"Duplicates", "Schema drift by event type", "Kafka ready",
		"In-flight requests against BRIDGE_MAX_IN_FLIGHT", "Kafka rejections by topic",
		"Process CPU", "Process memory against the container limit",
	} {
		if !titles[want] {
			t.Errorf("no panel %q", want)
		}
	}
}

// headingAnchors returns the GitHub anchors of a Markdown file's headings.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
	for line := range strings.SplitSeq(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			anchors[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	return anchors
}

// TestUnavailableAlertIgnoresClientHangUps evaluates the unavailable alert's
// expression with Prometheus' engine over series in promtool's notation
// (one sample a minute): a
// flood of client hang-ups (outcome client_closed) never fires it, while
// the same share of 503s does.
func TestUnavailableAlertIgnoresClientHangUps(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile("prometheus/alerts.yaml", false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var expr string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "EngageBridgeUnavailableAnswers" {
				expr = r.Expr
			}
		}
	}
	if expr == "" {
		t.Fatal("no EngageBridgeUnavailableAnswers rule")
	}
	for _, c := range []struct {
		name   string
		series string
		fires  bool
	}{
		{"clients hang up", `
  engage_bridge_requests_total{outcome="published"} 0+100x30
  engage_bridge_requests_total{outcome="client_closed"} 0+100x30
  engage_bridge_requests_total{outcome="unavailable"} 0+0x30
`, false},
		{"Kafka does not acknowledge", `
  engage_bridge_requests_total{outcome="published"} 0+100x30
  engage_bridge_requests_total{outcome="unavailable"} 0+100x30
`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			storage := seriesStorage(t, p, c.series)
			engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, Parser: p})
			defer engine.Close()
			// Every minute from 10 to 30: past the rule's "for: 5m".
			for m := 10; m <= 30; m++ {
				q, err := engine.NewInstantQuery(context.Background(), storage, nil, expr, time.Unix(0, 0).Add(time.Duration(m)*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				res := q.Exec(context.Background())
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				v, err := res.Vector()
				if err != nil {
					t.Fatal(err)
				}
				if fires := len(v) > 0; fires != c.fires {
					t.Fatalf("at minute %d the expression returned %v; the alert fires: %v, want %v", m, v, fires, c.fires)
				}
				q.Close()
			}
		})
	}
}

// seriesStorage holds series given in promtool's notation, one per line
// (`metric{l="v"} 0+100x30`), one sample a minute from time 0, in
// Prometheus' own mock queryable. promqltest.LoadedStorage would do the
// same in a TSDB, whose imports (the TSDB, service discovery, cloud SDKs)
// took the deploy module's cold build about a minute longer.
func seriesStorage(t *testing.T, p parser.Parser, text string) storage.Queryable {
	t.Helper()
	var all []storage.Series
	for line := range strings.SplitSeq(strings.TrimSpace(text), "\n") {
		lset, vals, err := p.ParseSeriesDesc(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		var samples []chunks.Sample
		for i, v := range vals {
			if !v.Omitted {
				samples = append(samples, floatSample{t: int64(i) * time.Minute.Milliseconds(), f: v.Value})
			}
		}
		all = append(all, storage.NewListSeries(lset, samples))
	}
	return &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
			set := &seriesSet{i: -1}
			for _, s := range all {
				if matchesAll(s.Labels(), ms) {
					set.series = append(set.series, s)
				}
			}
			slices.SortFunc(set.series, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
			return set
		},
	}}
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// seriesSet is a storage.SeriesSet over a sorted slice; i is the series
// At returns, -1 before the first Next.
type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                      { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series              { return s.series[s.i] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }

// floatSample is one float sample of a series (chunks.Sample).
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                    { return s.t }
func (floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                  { return s.f }
func (floatSample) H() *histogram.Histogram       { return nil }
func (floatSample) FH() *histogram.FloatHistogram { return nil }
func (floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample         { return s }
