#!/usr/bin/env bash
# The repeatable benchmark (docs/performance.md): builds the bridge, a
# standalone kfake broker, the verify-only sink, Benthos v4.27.0 and the
# vegeta CLI (both from the Go module proxy, once), then runs every
# scenario against each target with two load generators (send --load and
# the vegeta CLI) 3 times on this machine and prints the medians and the
# ratios per generator.
#
#   bench/run.sh                         # everything, 3 runs of 10 s
#   bench/run.sh -runs 1 -duration 5s    # a quick look
#   bench/run.sh -scenarios "closed c64"
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/.bin bench/results
# Built as deploy/Dockerfile builds it (static, no cgo): peak RSS counts the
# binary's mapped pages, and a cgo build maps libc besides.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bench/.bin/engage-bridge ./cmd/engage-bridge
go build -o bench/.bin/kfake ./bench/kfake
go build -o bench/.bin/sink ./bench/sink
go build -o bench/.bin/brokerfloor ./bench/brokerfloor
if [ ! -x bench/.bin/benthos ]; then
  echo "building Benthos v4.27.0 (once; a few minutes)" >&2
  (cd bench/benthos && go build -o ../.bin/benthos .)
fi
# The second generator: the vegeta CLI at the version of the library in
# go.mod (the runner decodes the CLI's results with it).
vegeta_version=$(go list -m -f '{{.Version}}' github.com/tsenart/vegeta/v12)
if [ ! -x bench/.bin/vegeta ] || [ "$(cat bench/.bin/vegeta.version 2>/dev/null)" != "$vegeta_version" ]; then
  echo "building the vegeta CLI $vegeta_version (once)" >&2
  GOBIN="$PWD/bench/.bin" go install "github.com/tsenart/vegeta/v12@$vegeta_version"
  echo "$vegeta_version" > bench/.bin/vegeta.version
fi
go build -o bench/.bin/runner ./bench/runner
# Every result as JSON, and the report with the machine it ran on as
# Markdown, side by side; docs/performance.md quotes a committed copy
# (docs/results/).
stamp="bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
{
  echo "# bench/run.sh${*:+$(printf ' %q' "$@")}"
  echo
  echo "- started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $(go env GOVERSION)"
  echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
} > "$stamp.md"
# A run that fails (a wrong flag, a target that does not start) leaves no
# report behind.
set +e
bench/.bin/runner -bin bench/.bin -out "$stamp.json" "$@" | tee -a "$stamp.md"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  rm -f "$stamp.md" "$stamp.json"
  exit "$status"
fi
echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$stamp.md"
echo "results: $stamp.json, report: $stamp.md" >&2
