#!/usr/bin/env bash
# Instruction-count regression guard (CI: .ci/run). Counts the instructions of each brine
# codec and listen operation in bench/icount_baseline.txt with valgrind (callgrind), through
# core/examples/codec_ops.rs (the batch listen rows through core/examples/listen_ops.rs), as
# (count at 2N - count at N) / N, and fails naming every operation that costs more than
# LIMIT_PERCENT (5) percent over its baseline. Counts are
# deterministic for one toolchain and do not depend on the machine's load.
#
#   bash bench/guard.sh            # check (about a minute after the build)
#   bash bench/guard.sh --update   # rewrite the baseline with today's counts
#   FEATURES=alloc bash bench/guard.sh   # the same operations with brine-core features on
#                                        # (the baseline is counted without)
#
# A change that moves a count (either way) updates the baseline in the same commit, and the
# commit message says why. The baseline holds for the rustc in its header line; a new rustc
# may move counts by itself (then update it in a commit of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
BASELINE=bench/icount_baseline.txt
LIMIT_PERCENT=${LIMIT_PERCENT:-5}
N=2000

die() { echo "error: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind is required (Debian: apt-get install valgrind; scripts/test install does it)"
[[ -f $BASELINE ]] || die "$BASELINE is missing"
update=
case ${1:-} in
    --update) update=1 ;;
    "") ;;
    *) die "usage: bash bench/guard.sh [--update]" ;;
esac
[[ -z $update || -z ${FEATURES:-} ]] || die "the baseline is counted without FEATURES"


cargo build -q --release -p brine-core --example codec_ops --example listen_ops ${FEATURES:+--features "$FEATURES"}
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/release/examples/codec_ops"

count() { # op n -> instructions of the whole run
    # The batch listen rows in a binary of their own (core/examples/listen_ops.rs says why).
    local b=$bin
    [[ $1 == brine_listen_batch_* ]] && b="$target_dir/release/examples/listen_ops"
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$b" "$1" "$2" 2>&1 | awk '/Collected/ {print $4}'
}

rustc_now=$(rustc --version)
rustc_base=$(sed -n 's/^# rustc: //p' "$BASELINE")
[[ -n $update || $rustc_now == "$rustc_base" ]] ||
    echo "note: the baseline was counted with '$rustc_base', this is '$rustc_now'"

mapfile -t ops < <(grep -v '^#' "$BASELINE" | awk 'NF {print $1}')
failed=()
new=$(mktemp)
printf '%-32s %10s %10s %8s\n' operation baseline now change
for op in "${ops[@]}"; do
    base=$(awk -v op="$op" '$1 == op {print $2}' "$BASELINE")
    a=$(count "$op" "$N")
    b=$(count "$op" "$((2 * N))")
    [[ -n $a && -n $b ]] || die "$op did not run under valgrind ($bin $op $N)"
    now=$(((b - a) / N))
    change=$(awk -v n="$now" -v b="$base" 'BEGIN {printf "%+.1f%%", (n - b) * 100 / b}')
    printf '%-32s %10d %10d %8s\n' "$op" "$base" "$now" "$change"
    echo "$op $now" >>"$new"
    if ((now * 100 > base * (100 + LIMIT_PERCENT))); then
        failed+=("$op: $now instructions, baseline $base ($change)")
    fi
done

if [[ -n $update ]]; then
    {
        echo "# Instructions per operation (bench/guard.sh --update); CI fails above +${LIMIT_PERCENT}%."
        echo "# Update in the commit that changes them, and say why in its message."
        echo "# rustc: $rustc_now"
        cat "$new"
    } >"$BASELINE"
    echo "updated $BASELINE"
elif ((${#failed[@]})); then
    for f in "${failed[@]}"; do echo "error: instruction count regression: $f" >&2; done
    echo "If the rise is deliberate, run bash bench/guard.sh --update and commit the baseline, saying why." >&2
    exit 1
fi
rm -f "$new"
