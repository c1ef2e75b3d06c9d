#!/usr/bin/env bash
# Many clients: brine-server and `brine load` as two processes on 127.0.0.1 (release builds),
# one run of N clients; prints brine load's report, both sides' peak RSS and the limits.
# Usage: bash examples/client/bench/load.sh [CLIENTS] [DURATION_SECS] [extra brine load flags]
set -euo pipefail
cd "$(dirname "$0")/../../.."

CLIENTS=${1:-10000}
DURATION=${2:-20}
shift $(($# < 2 ? $# : 2))

cargo build --release -q -p brine-cli -p brine-server
out=$(mktemp)
times=$(mktemp)
./target/release/brine-server 127.0.0.1:0 -q --max-clients "$((CLIENTS + 100))" >"$out" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -f "$out" "$times"' EXIT
for _ in $(seq 50); do
    grep -q '^Listening on' "$out" && break
    sleep 0.1
done
addr=$(sed -n 's/^Listening on \([^ ]*\) .*/\1/p' "$out")

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "open-file limit (soft/hard) before raising: $(ulimit -Sn)/$(ulimit -Hn)"
echo "command: brine load $addr --clients $CLIENTS --duration $DURATION $*"
/usr/bin/time -v ./target/release/brine load "$addr" --clients "$CLIENTS" --duration "$DURATION" -q "$@" 2>"$times" || true
grep -E 'Maximum resident set size' "$times" | sed 's/^\s*/client (time -v): /' 
echo "server peak RSS: $(grep VmHWM "/proc/$server/status" | awk '{print $2, $3}')"
grep -c 'identity:' "$out" | sed 's/^/server identities printed: /'
grep 'brine-server:' "$out" || true
