//go:build !benchprofile

package main

import "io"

// startProfiling does nothing in the product build; the benchmark's
// profiling build (-tags benchprofile) serves a CPU profile
// (profile_bench.go).
func startProfiling(func(string) string, io.Writer) (stop func()) { return func() {} }
