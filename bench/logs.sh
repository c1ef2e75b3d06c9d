#!/usr/bin/env bash
# Records per second received and formatted: `brine logs` against the logging cookbook's
# receiver in CPython (tests/servers/log_receiver.py --whole-prefix: as written, the cookbook's
# handler loses a fast stream at the first short recv(4)), on the same stream in one run: N records
# made once by SocketHandler.makePickle, sent over one TCP connection from a file, each
# receiver printing them with the same format to a file. Time: from connecting to the
# receiver's exit after the Nth record (--count). Both outputs must be the same lines.
#
#   bash bench/logs.sh [N]      # N records (default 200000)
set -euo pipefail
[[ -n "${DEBUG:-}" ]] && set -x
cd "$(dirname "$0")/.."
N=${1:-200000}
FORMAT='%(asctime)s %(levelname)-8s %(name)s: %(message)s'
cargo build -q --release -p brine-cli
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
brine="$target_dir/release/brine"
work=$(mktemp -d)
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$work"; [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; true' EXIT

# The stream: N records as SocketHandler frames them (a few shapes of record, %-args applied).
TZ=UTC python3 - "$N" "$work/stream" <<'PY'
import logging, logging.handlers, sys
n, path = int(sys.argv[1]), sys.argv[2]
h = logging.handlers.SocketHandler("127.0.0.1", 9)
log = logging.getLogger("bench.app")
with open(path, "wb") as out:
    for i in range(n):
        level = (logging.INFO, logging.WARNING, logging.DEBUG, logging.ERROR)[i % 4]
        r = log.makeRecord("bench.app", level, "app.py", i % 500, "request %d served in %.3f ms for %s",
                           (i, i / 7, "user-%d" % (i % 97)), None, func="serve")
        out.write(h.makePickle(r))
PY

# Sends the stream to 127.0.0.1:$1 once something listens there, in writes of whole records
# of at most 32 KiB (as a busy SocketHandler would); prints the seconds until the receiver
# ($2, a pid) exits, or fails after 300 s.
send() {
    python3 - "$1" "$work/stream" "$2" <<'PY'
import os, socket, struct, sys, time
port, path, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
batches, start, at = [], 0, 0
while at < len(data):
    end = at + 4 + struct.unpack(">L", data[at:at + 4])[0]
    if end - start > 32768 and at > start:
        batches.append(data[start:at]); start = at
    at = end
batches.append(data[start:])
for _ in range(500):
    try:
        s = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.02)
begin = time.perf_counter()
for batch in batches:
    s.sendall(batch)
s.shutdown(socket.SHUT_WR)  # the end of the stream: the cookbook's handler thread ends
while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
    if time.perf_counter() - begin > 300:
        sys.exit(f"receiver {pid} did not take every record within 300 s")
    time.sleep(0.001)
print(f"{time.perf_counter() - begin:.3f}")
PY
}

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bytes=$(stat -c %s "$work/stream")

TZ=UTC "$brine" logs "127.0.0.1:$port" -q --count "$N" --log-format "$FORMAT" >"$work/brine.out" 2>"$work/brine.err" &
pid=$!
brine_s=$(send "$port" "$pid")
wait "$pid"; pid=

TZ=UTC python3 tests/servers/log_receiver.py "$port" --count "$N" --format "$FORMAT" --whole-prefix >"$work/py.out" 2>"$work/py.err" &
pid=$!
python_s=$(send "$port" "$pid")
wait "$pid" || true; pid=

tail -n +2 "$work/py.out" >"$work/py.records"
if cmp -s "$work/brine.out" "$work/py.records"; then same=yes; else same=NO; fi
lines=$(wc -l <"$work/brine.out")
python3 - "$N" "$bytes" "$brine_s" "$python_s" "$same" "$lines" <<'PY'
import sys
n, size, b, p, same, lines = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
print(f"{n} records ({size / n:.0f} bytes each), one connection")
print(f"{'receiver':<34} {'seconds':>8} {'records/s':>10}")
print(f"{'brine logs':<34} {b:>8.3f} {n / b:>10,.0f}")
print(f"{'cookbook LogRecordStreamHandler':<34} {p:>8.3f} {n / p:>10,.0f}")
print(f"brine / cookbook: {p / b:.1f}x; same {lines} lines: {same}")
PY
