package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// configError is a configuration problem: exit code 2, one line naming
// each bad variable.
type configError struct{ problems []string }

func (e *configError) Error() string {
	return "invalid configuration: " + strings.Join(e.problems, "; ")
}

// usageError is a command-line mistake: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// exitCode prints err and returns the process exit code: 0 for success,
// 2 for configuration and usage errors, 1 for everything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "engage-bridge:", err)
	var ce *configError
	var ue *usageError
	if errors.As(err, &ce) || errors.As(err, &ue) {
		return 2
	}
	return 1
}
