package buildtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCIRunsTheReadmeCommand holds .ci/run to the test command the README
// opens with: CI must run exactly what a newcomer is told to run.
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
	if command == "" {
		t.Fatal("README.md has no line starting with `go test `")
	}
	for line := range strings.SplitSeq(string(ci), "\n") {
		if strings.TrimSpace(line) == command {
			return
		}
	}
	t.Errorf(".ci/run has no line that is exactly the README's test command:\n%s", command)
}
