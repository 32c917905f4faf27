package buildtest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCIRunsTheReadmeCommand holds .ci/run to the test command the README
// opens with: CI must run exactly what a newcomer is told to run. .ci/run
// runs its two halves (the product's tests, then the deployment checks) as
// two lines, in that order, the second one last, with no exit before it.
func TestCIRunsTheReadmeCommand(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	var command string
	for line := range strings.SplitSeq(string(readme), "\n") {
		if strings.HasPrefix(line, "go test ") {
			command, _, _ = strings.Cut(line, "#")
			command = strings.TrimSpace(command)
			break
		}
	}
	product, deploy, ok := strings.Cut(command, " && (cd deploy")
	if !ok {
		t.Fatalf("README's test command %q is not `<product tests> && (cd deploy && <deployment checks>)`", command)
	}
	deploy = "(cd deploy" + deploy
	var lines []string // .ci/run's commands, comments and blank lines left out
	for line := range strings.SplitSeq(string(ci), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	p, d := slices.Index(lines, product), slices.Index(lines, deploy)
	switch {
	case p < 0:
		t.Errorf(".ci/run has no line that is exactly the README's product tests:\n%s", product)
	case d < 0:
		t.Errorf(".ci/run has no line that is exactly the README's deployment checks:\n%s", deploy)
	case p > d || d != len(lines)-1:
		t.Errorf(".ci/run must run the product's tests, then the deployment checks as its last line")
	}
	for _, line := range lines[:max(d, 0)] {
		if line == "exit" || strings.HasPrefix(line, "exit ") {
			t.Errorf(".ci/run exits (%q) before the deployment checks", line)
		}
	}
}
