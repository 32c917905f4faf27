//go:build benchprofile

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
)

// startProfiling serves net/http/pprof's CPU, allocation and heap profiles on
// $BRIDGE_BENCH_PPROF_LISTEN (loopback only), in the benchmark's profiling
// build alone (go build -tags benchprofile; bench/profile.sh). The product
// build has no such listener (profile_off.go).
func startProfiling(getenv func(string) string, stderr io.Writer) (stop func()) {
	addr := getenv("BRIDGE_BENCH_PPROF_LISTEN")
	if addr == "" {
		return func() {}
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintln(stderr, "BRIDGE_BENCH_PPROF_LISTEN must be a loopback ip:port; profiling off")
		return func() {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, "BRIDGE_BENCH_PPROF_LISTEN:", err)
		return func() {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.Handle("/debug/pprof/allocs", pprof.Handler("allocs"))
	mux.Handle("/debug/pprof/heap", pprof.Handler("heap"))
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}
