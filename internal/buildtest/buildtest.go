// Package buildtest builds the real engage-bridge binary for end-to-end
// tests, with the race detector when the test binary has it.
//
// Building the binary the way the test itself was built lets it reuse the
// test build's compiled dependencies: a race test run that built the
// binary without -race compiled every dependency a second time, the
// largest avoidable part of a cold CI run. It also runs the real binary
// under the race detector in every race test run.
package buildtest

import (
	"fmt"
	"os/exec"

	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
)

// Build runs `go build -o out pkg` in dir ("" is the current directory),
// with -race when the running test binary has it. The error holds go build's
// output.
func Build(dir, out, pkg string) error {
	args := []string{"build", "-o", out}
	if allocbudget.RaceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %v\n%s", cmd.Args[1:], err, b)
	}
	return nil
}
