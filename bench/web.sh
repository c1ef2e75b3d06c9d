#!/usr/bin/env bash
# issue 16: do open projector pages slow the lab protocol? brine load's handshakes against
# brine-server (release, 127.0.0.1) in four setups, interleaved over ROUNDS rounds:
#   off    no --web
#   web    --web, no page open
#   read   --web and PAGES event streams reading every update (bench/web_pages.py)
#   stall  --web and PAGES event streams that never read (frozen tabs), drained at the end
# For each: handshake latency p50/p99 (brine load), the server's CPU time during the load
# (utime+stime from /proc), its peak RSS (VmHWM), and what the pages received.
#   bash bench/web.sh                      # CLIENTS=2000 PAGES=100 ROUNDS=3 DURATION=4
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-2000}
PAGES=${PAGES:-100}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4}
cargo build -q --release -p brine-cli -p brine-server
target=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release
tick=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {
    local mode=$1 web=() pages_pid=""
    [[ $mode != off ]] && web=(--web 127.0.0.1:0)
    "$target/brine-server" 127.0.0.1:0 --max-clients $((CLIENTS + 100)) -q "${web[@]}" \
        >"$work/server.out" 2>"$work/server.err" </dev/null &
    local server=$!
    local lab="" page=""
    for _ in $(seq 100); do
        lab=$(sed -n 's/^Listening on \([^ ]*\).*/\1/p' "$work/server.out")
        [[ -n $lab && ( $mode == off || -n $(grep -c 'Web page' "$work/server.out" | grep -v '^0$') ) ]] && break
        sleep 0.05
    done
    page=$(sed -n 's#^Web page on http://\([^/]*\)/#\1#p' "$work/server.out")
    if [[ $mode == read || $mode == stall ]]; then
        python3 bench/web_pages.py "$page" --pages "$PAGES" --mode "$mode" --seconds 120 \
            >"$work/pages.out" &
        pages_pid=$!
        for _ in $(seq 200); do grep -q ready "$work/pages.out" 2>/dev/null && break; sleep 0.05; done
    fi
    local before after
    before=$(cpu_ticks "$server")
    "$target/brine" load "$lab" --clients "$CLIENTS" --duration "$DURATION" --format json -q >"$work/load.json" || true
    after=$(cpu_ticks "$server")
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
    local pages_json="-"
    if [[ -n $pages_pid ]]; then
        kill -TERM "$pages_pid"
        wait "$pages_pid" || true
        pages_json=$(grep '^{' "$work/pages.out" | python3 -c 'import json, sys; d = json.load(sys.stdin); print("%.1f MB, %d snapshots, %d updates, %d ended early" % (d["bytes"] / 1e6, d["snapshots"], d["updates"], d["ended_early"]))')
    fi
    kill -TERM "$server"
    wait "$server" 2>/dev/null || true
    python3 - "$mode" "$work/load.json" "$(( (after - before) * 1000 / tick ))" "$hwm" "$pages_json" <<'PY'
import json, sys
mode, path, cpu_ms, hwm_kb, pages = sys.argv[1:]
d = json.load(open(path))
lat = d["latency_ms"]
print(f"| {mode} | {d['handshakes']} | {d['failed']} | {lat['p50']:.1f} | {lat['p99']:.1f} | {cpu_ms} | {int(hwm_kb) / 1000:.1f} | {pages} |")
PY
}

echo "brine load --clients $CLIENTS --duration $DURATION against brine-server (release); $PAGES pages; $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| setup | handshakes | failed | p50 ms | p99 ms | server CPU ms | server peak RSS MB | pages received |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
for _ in $(seq "$ROUNDS"); do
    for mode in off web read stall; do
        run "$mode"
    done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
