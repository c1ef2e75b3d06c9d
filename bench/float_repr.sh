#!/usr/bin/env bash
# Python's float repr: instructions per print (callgrind, (count at 2N - count at N) / N) of
# brine's `Display` of `Value::Float` and of CPython's `float.__repr__` called in a loop (its
# call and loop included), then the slow case's time (fuzz/extreme_floats.py's pickle decoded
# and printed, best of 3) against CPython's `repr(pickle.loads(...))` in the same run.
#
#   bash bench/float_repr.sh          # needs valgrind and python3
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "error: valgrind is required (apt-get install -y valgrind)" >&2; exit 1; }
python=$(python3 -c 'import sys; print(sys.executable)')
cargo build -q --release -p brine-core --example float_repr_ops
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release/examples/float_repr_ops"
N=${N:-4000}

count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/ {print $4}'; }
py_loop() { # expression of x, n
    echo "import random, struct
r = float.__repr__
if '$1' == 'sample':
    import sys
    s, xs = 0x5eedf10a, []
    M = (1 << 64) - 1
    while len(xs) < 1024:
        s = (s + 0x9e3779b97f4a7c15) & M
        z = s
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
        x = struct.unpack('<d', struct.pack('<Q', z ^ (z >> 31)))[0]
        if x == x and abs(x) != float('inf'):
            xs.append(x)
    xs = xs * ($2 // 1024 + 1)
    for x in xs[:$2]:
        r(x)
else:
    x = float('$1')
    for _ in range($2):
        r(x)"
}
per() { # label, brine arg
    local a b c d
    a=$(count "$bin" "$1" "$N"); b=$(count "$bin" "$1" "$((2 * N))")
    c=$(count "$python" -c "$(py_loop "$1" "$N")"); d=$(count "$python" -c "$(py_loop "$1" "$((2 * N))")")
    printf '%-26s %10d %10d\n' "$1" $(((b - a) / N)) $(((d - c) / N))
}
printf '%-26s %10s %10s\n' double brine CPython
for x in 0.1 3.141592653589793 1e23 5e-324 1.7976931348623157e308 2.2250738585072014e-308 \
    9.999933992428757e299 5.90147573e-315 123456.789 sample; do
    per "$x"
done
fixture=core/benches/fixtures/extreme_floats.pickle
"$bin" file "$fixture" 3
"$python" - "$fixture" <<'PY'
import pickle, sys, time
data = open(sys.argv[1], "rb").read()
best = min(
    (lambda t: (len(repr(pickle.loads(data))), time.perf_counter() - t)[1])(time.perf_counter())
    for _ in range(3)
)
print(f"CPython {sys.version.split()[0]} repr(pickle.loads(...)), best of 3: {best:.3f} s")
PY
