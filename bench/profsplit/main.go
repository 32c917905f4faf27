// Command profsplit summarises a CPU profile of the bridge by where the
// time goes (issue 17's split): HTTP, verify, parse, decrypt, dedupe,
// produce, metrics, logging, GC, and the rest. bench/profile.sh runs it.
//
//	go run ./bench/profsplit [-requests N] cpu.pb.gz
//
// Each sample goes to one category: GC if any frame of its stack is the
// collector's (background marking, assists, sweeping, write barriers);
// otherwise the category of the frame nearest the leaf that belongs to a
// known package or function, so that a write, an allocation or a hash
// counts for the code that asked for it (a socket write under kafka-go is
// produce, under net/http it is HTTP). Samples with no such frame (the
// scheduler, netpoll, idle) are "runtime, other".
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"
)

// category is a name and the frames (function names as pprof prints them)
// that belong to it, tried in order.
type category struct {
	name   string
	frames *regexp.Regexp
}

const mod = `github\.com/engage-bridge/engage-bridge/`

// splitter holds the categories, tried in order on each frame from the
// leaf up: the first frame that matches any of them decides. GC is checked
// first, on the whole stack.
type splitter struct {
	gc         *regexp.Regexp
	categories []category
}

func newSplitter() splitter {
	return splitter{gc: regexp.MustCompile(`^runtime\.(gc|bgsweep|bgscavenge|markroot|scanobject|scanblock|scanstack|scanframeworker|greyobject|wbBuf|sweepone|\(\*gcWork\)|\(\*sweepLocked\)|\(\*mspan\)\.sweep|gcAssistAlloc)`),
		categories: []category{
			{"logging", regexp.MustCompile(`^github\.com/rs/zerolog`)},
			{"metrics", regexp.MustCompile(`^(` + mod + `internal/metrics|github\.com/prometheus/)`)},
			{"verify", regexp.MustCompile(`^` + mod + `ingress\..*(?i:verif)`)},
			{"decrypt", regexp.MustCompile(`^(` + mod + `internal/payloadcrypto|` + mod + `ingress\..*(?i:decrypt))`)},
			{"parse", regexp.MustCompile(`^` + mod + `schemas\.`)},
			{"dedupe", regexp.MustCompile(`^` + mod + `internal/dedupe`)},
			{"produce", regexp.MustCompile(`^(` + mod + `publisher|` + mod + `internal/kafkaconn|github\.com/segmentio/kafka-go|` + mod + `ingress\..*(eventRecord|eventHeaders|headerBuilder|deadLetter|publish))`)},
			{"route", regexp.MustCompile(`^` + mod + `router`)},
			{"HTTP", regexp.MustCompile(`^(net/http\.|github\.com/labstack/echo|` + mod + `ingress\..*(bodyPool|guard|handle|respond|HTTPHandler|clientIP|answer))`)},
			{"pipeline, other", regexp.MustCompile(`^` + mod + `ingress\.`)},
		}}
}

const rest = "runtime, other"

func main() {
	requests := flag.Int64("requests", 0, "requests served during the profile, to print µs per request")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: profsplit [-requests N] cpu.pb.gz")
		os.Exit(2)
	}
	cmd := exec.Command("go", "tool", "pprof", "-traces", flag.Arg(0))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "profsplit:", err)
		os.Exit(1)
	}
	split, total, err := newSplitter().split(out)
	if werr := cmd.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "profsplit:", err)
		os.Exit(1)
	}
	write(os.Stdout, split, total, *requests)
}

// split reads `go tool pprof -traces` output: a header, then blocks
// separated by dashed lines, each a sample value and its stack, leaf first.
func (sp splitter) split(r io.Reader) (map[string]time.Duration, time.Duration, error) {
	split := map[string]time.Duration{}
	var total time.Duration
	var value time.Duration
	var stack []string
	flush := func() {
		if value > 0 && len(stack) > 0 {
			split[sp.classify(stack)] += value
			total += value
		}
		value, stack = 0, nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	inHeader := true // File:, Type:, Duration: ...
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			inHeader = false
			continue
		}
		fields := strings.Fields(line)
		if inHeader || len(fields) == 0 {
			continue
		}
		if d, err := time.ParseDuration(fields[0]); err == nil && len(fields) >= 2 {
			value, stack = d, []string{fields[1]}
			continue
		}
		if value > 0 {
			stack = append(stack, fields[0])
		}
	}
	flush()
	return split, total, sc.Err()
}

func (sp splitter) classify(stack []string) string {
	for _, f := range stack {
		if sp.gc.MatchString(f) {
			return "GC"
		}
	}
	for _, f := range stack {
		for _, c := range sp.categories {
			if c.frames.MatchString(f) {
				return c.name
			}
		}
	}
	return rest
}

func write(w io.Writer, split map[string]time.Duration, total time.Duration, requests int64) {
	names := make([]string, 0, len(split))
	for n := range split {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(split[b] - split[a]) })
	perReq := requests > 0
	if perReq {
		fmt.Fprintln(w, "| category | CPU s | share | µs per request |")
		fmt.Fprintln(w, "|---|---:|---:|---:|")
	} else {
		fmt.Fprintln(w, "| category | CPU s | share |")
		fmt.Fprintln(w, "|---|---:|---:|")
	}
	for _, n := range append(names, "total") {
		d := split[n]
		if n == "total" {
			d = total
		}
		share := 0.0
		if total > 0 {
			share = 100 * float64(d) / float64(total)
		}
		if perReq {
			fmt.Fprintf(w, "| %s | %.2f | %.1f %% | %.1f |\n", n, d.Seconds(), share, float64(d.Microseconds())/float64(requests))
		} else {
			fmt.Fprintf(w, "| %s | %.2f | %.1f %% |\n", n, d.Seconds(), share)
		}
	}
}
