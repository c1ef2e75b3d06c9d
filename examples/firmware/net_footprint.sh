#!/usr/bin/env bash
# Footprint of the Ethernet firmwares (BENCHMARKS.md, "Firmware over Ethernet"): each lab
# client next to its baseline (the same board, MAC driver and network stack without
# brine-core), built alone with its own feature (release profile: opt-level z, LTO), and each
# run once under QEMU against the CPython lab server (classic mode) to show it works.
# With --mqtt, also minimq 0.13.5 and rust-mqtt 0.6 on the same embassy-net setup
# (mqtt_footprint.sh, which this script sources).
# Usage: bash examples/firmware/net_footprint.sh [--mqtt]
#        (needs qemu-system-arm, python3, arm-none-eabi-size/-nm or llvm-size/-nm)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
TARGET=thumbv7m-none-eabi
SIZE=$(command -v arm-none-eabi-size || command -v llvm-size || true)
NM=$(command -v arm-none-eabi-nm || command -v llvm-nm || true)
[ -n "$SIZE" ] && [ -n "$NM" ] ||
    { echo "error: needs arm-none-eabi-size/-nm (Debian: binutils-arm-none-eabi) or llvm-size/-nm" >&2; exit 1; }
OUT=target/net-footprint
mkdir -p "$OUT"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BRINE_SERVER=10.0.2.2:$PORT

# flash (.vector_table + .text + .rodata + .data) and RAM (.data + .bss) of an ELF
sizes() {
    "$SIZE" -A "$1" | awk '
        $1==".vector_table"||$1==".text"||$1==".rodata"{f+=$2} $1==".data"{f+=$2; r+=$2} $1==".bss"{r+=$2}
        END{printf "%d %d\n", f, r}'
}

# bytes of flash in symbols whose demangled name matches $2
symbols() {
    "$NM" -S -C -t d --size-sort "$1" | awk -v re="$2" '$3 ~ /^[tTrR]$/ && $0 ~ re {s += $2} END{print s+0}'
}

# boots $1 under QEMU on the emulated network; prints `<its last line>` (exit <QEMU's status>)
boot() {
    local last status
    set +e
    last=$(timeout 60 qemu-system-arm -machine lm3s6965evb -cpu cortex-m3 -nographic -monitor none \
        -semihosting-config enable=on,target=native -serial null -nic user,model=stellaris \
        -kernel "$1" 2>/dev/null | tail -n 1)
    status=$?
    set -e
    echo "\`$last\` (exit $status)"
}

# boots $1 against the CPython lab server (classic mode)
run() {
    local log
    log=$(mktemp)
    python3 "$ROOT/tests/servers/lab_server.py" --mode classic --port "$PORT" --accept-timeout 20 >"$log" &
    local pid=$!
    for _ in $(seq 100); do grep -q '^PORT' "$log" && break; sleep 0.05; done
    boot "$1"
    wait "$pid" || true
    rm -f "$log"
}

printf "| binary | flash | RAM (static) | the client library's share of flash (minus the baseline) | its own symbols | run under QEMU |\n"
printf '| --- | ---: | ---: | ---: | ---: | --- |\n'
for stack in embassy nal; do
    cargo build --release -q --features "$stack" --bin "brine-firmware-$stack" --bin "baseline-$stack"
    cp "target/$TARGET/release/brine-firmware-$stack" "target/$TARGET/release/baseline-$stack" "$OUT/"
    read -r bflash bram < <(sizes "$OUT/baseline-$stack")
    read -r flash ram < <(sizes "$OUT/brine-firmware-$stack")
    printf '| baseline-%s (board + MAC driver + stack) | %d | %d | — | — | %s |\n' \
        "$stack" "$bflash" "$bram" "$(run "$OUT/baseline-$stack") against lab_server.py classic"
    printf '| brine-firmware-%s | %d | %d | %d | %d | %s |\n' "$stack" "$flash" "$ram" \
        $((flash - bflash)) "$(symbols "$OUT/brine-firmware-$stack" 'brine_core::')" \
        "$(run "$OUT/brine-firmware-$stack") against lab_server.py classic"
done
if [ "${1:-}" = "--mqtt" ]; then
    source ./mqtt_footprint.sh
fi
