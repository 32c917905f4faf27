package contracttest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAnchor(t *testing.T) {
	for _, tt := range []struct{ heading, want string }{
		{" HTTP answers", "http-answers"},
		{" Dead-letter reasons", "dead-letter-reasons"},
		{" `engage-bridge serve` (v2)", "engage-bridge-serve-v2"},
		{" snake_case", "snake_case"},
	} {
		if got := anchor(tt.heading); got != tt.want {
			t.Errorf("anchor(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

func TestLinesSkipsFencedHeadings(t *testing.T) {
	var headings []string
	for _, l := range lines("# A\n```\n## not a heading\n```\n## B\n#C\ntext") {
		if l.level > 0 {
			headings = append(headings, l.heading)
		}
	}
	if diff := cmp.Diff([]string{" A", " B"}, headings); diff != "" {
		t.Errorf("headings (-want +got):\n%s", diff)
	}
}

func TestTable(t *testing.T) {
	section := "text\n| a | b |\n|---|---|\n| `x` | 1 |\n\n| c |\n|---|\n| `y`, `z` |\n"
	for _, tt := range []struct {
		n    int
		want [][]string
	}{
		{0, [][]string{{"`x`", "1"}}},
		{1, [][]string{{"`y`, `z`"}}},
	} {
		if diff := cmp.Diff(tt.want, Table(t, section, tt.n)); diff != "" {
			t.Errorf("Table(%d) (-want +got):\n%s", tt.n, diff)
		}
	}
	if diff := cmp.Diff([]string{"y", "z"}, Quoted("`y`, `z`")); diff != "" {
		t.Errorf("Quoted (-want +got):\n%s", diff)
	}
}
