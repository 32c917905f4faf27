#!/usr/bin/env bash
# A CPU profile of the bridge under load, split by where the time goes
# (HTTP, verify, parse, decrypt, dedupe, produce, metrics, logging, GC, the
# rest): docs/performance.md#the-split-and-the-part-removed.
#
#   bench/profile.sh                       # concurrency 64, 10 s profile
#   bench/profile.sh -c 256 -s 20 -encrypt
#
# Builds the bridge with -tags benchprofile (net/http/pprof on
# $BRIDGE_BENCH_PPROF_LISTEN, in this build only), starts a kfake broker
# and the bridge in its default configuration (info level: one log line
# per request, to /dev/null), drives it with send --load, takes the CPU
# profile of the middle of the run, and prints the split. The profile
# stays in bench/results/ for `go tool pprof`.
set -euo pipefail
cd "$(dirname "$0")/.."
conc=64 secs=10 encrypt=()
usage() { echo "usage: bench/profile.sh [-c concurrency] [-s seconds] [-encrypt]" >&2; exit 2; }
positive() { [[ "${1:-}" =~ ^[1-9][0-9]*$ ]] || { echo "bench/profile.sh: $2 wants a positive whole number, not '${1:-}'" >&2; usage; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    -c) positive "${2:-}" -c; conc=$2; shift 2 ;;
    -s) positive "${2:-}" -s; secs=$2; shift 2 ;;
    -encrypt) encrypt=(--encrypt --encryption-key BenchOnlyInsecureEngageBridgeKey); shift ;;
    *) usage ;;
  esac
done
secret=whsec_ZW5nYWdlLWJyaWRnZS1iZW5jaC1zZWNyZXQ=
broker=127.0.0.1:19092 listen=127.0.0.1:18080 admin=127.0.0.1:19090 pprof=127.0.0.1:19091
for a in $broker $listen $admin $pprof; do
  if (exec 3<>"/dev/tcp/${a%:*}/${a#*:}") 2>/dev/null; then echo "something already listens on $a: stop it first" >&2; exit 1; fi
done
mkdir -p bench/.bin bench/results
CGO_ENABLED=0 go build -tags benchprofile -trimpath -o bench/.bin/engage-bridge-profile ./cmd/engage-bridge
go build -o bench/.bin/kfake ./bench/kfake
go build -o bench/.bin/profsplit ./bench/profsplit

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
bench/.bin/kfake -addr $broker -partitions 6 >/dev/null 2>&1 & pids+=($!)
until (exec 3<>"/dev/tcp/${broker%:*}/${broker#*:}") 2>/dev/null; do sleep 0.1; done
BRIDGE_LISTEN=$listen BRIDGE_ADMIN_LISTEN=$admin BRIDGE_KAFKA_BROKERS=$broker BRIDGE_SIGNING_SECRETS=$secret \
  BRIDGE_ENCRYPTION_KEY=BenchOnlyInsecureEngageBridgeKey BRIDGE_BENCH_PPROF_LISTEN=$pprof \
  bench/.bin/engage-bridge-profile serve >/dev/null 2>&1 & pids+=($!)
until curl -sf "http://$admin/readyz" >/dev/null; do sleep 0.1; done

out="bench/results/cpu-c$conc-$(date -u +%Y%m%dT%H%M%SZ)"
# 2 s warm-up, then the profile from second 3 to 3+secs of a run 2 s longer.
bench/.bin/engage-bridge-profile send --load --url "http://$listen/webhooks/engage" --secret $secret \
  --concurrency "$conc" --duration "$((secs + 3))s" --warmup 2s "${encrypt[@]}" > "$out.load.txt" &
load=$!
sleep 3
published() { curl -sf "http://$admin/metrics" | awk '/^engage_bridge_request_duration_seconds_count\{outcome="published"\}/ {print $2}'; }
n0=$(published)
curl -sf -o "$out.pb.gz" "http://$pprof/debug/pprof/profile?seconds=$secs"
n1=$(published)
wait $load
tail -1 "$out.load.txt"
requests=$(awk -v a="${n0:-0}" -v b="${n1:-0}" 'BEGIN {printf "%d", b - a}')
echo
echo "CPU profile of the bridge, concurrency $conc, ${secs} s, $requests requests published during it ($out.pb.gz):"
bench/.bin/profsplit -requests "$requests" "$out.pb.gz"
