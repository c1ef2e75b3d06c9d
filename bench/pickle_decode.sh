#!/usr/bin/env bash
# `brine pickle decode` on large pickles against CPython doing the same (pickle.load, then
# print repr or json.dumps), one line per case: wall time and peak RSS of each (GNU time).
# Issue 12: pickles of any length decode (HeapDecoder); this shows at what cost.
#
#   bash bench/pickle_decode.sh [N]      # N values per case (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
[[ -x /usr/bin/time ]] || { echo "error: GNU time is required (Debian: apt-get install time)" >&2; exit 1; }
cargo build -q --release -p brine-cli
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
brine="$target_dir/release/brine"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # label command... -> "seconds peak_kB", output to $work/out
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" <"$work/in" >"$work/out"
    cat "$work/time"
}

printf '%-34s %-5s %9s %9s %8s %12s %12s %10s\n' case format "bytes" "brine s" "python s" "brine MB" "python MB" "same?"
for case in "list(range(N))" "{str(i): i for i in range(N)}" "[[i, str(i)] for i in range(N // 2)]" "set(range(0, 7 * N, 7))"; do
    python3 -c "import pickle, sys; N = $N; sys.stdout.buffer.write(pickle.dumps($case, 4))" >"$work/in"
    bytes=$(stat -c %s "$work/in")
    for format in repr json; do
        if [[ $format == repr ]]; then
            py='import pickle, sys; print(repr(pickle.load(sys.stdin.buffer)))'
        else
            py='import json, pickle, sys; v = pickle.load(sys.stdin.buffer); print(json.dumps(list(v) if isinstance(v, set) else v, separators=(",", ":")))'
        fi
        read -r b_s b_kb < <(measure "$brine" pickle decode --format "$format")
        cp "$work/out" "$work/brine.out"
        read -r p_s p_kb < <(measure python3 -c "$py")
        same=$(cmp -s "$work/out" "$work/brine.out" && echo yes || echo NO)
        printf '%-34s %-5s %9d %9s %8s %12.1f %12.1f %10s\n' "${case//N/$N}" "$format" "$bytes" "$b_s" "$p_s" \
            "$(echo "$b_kb / 1000" | bc -l)" "$(echo "$p_kb / 1000" | bc -l)" "$same"
    done
done
