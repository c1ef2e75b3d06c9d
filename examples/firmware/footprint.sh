#!/usr/bin/env bash
# Measures the firmware's footprint (BENCHMARKS.md, "Firmware footprint"): for opt-level z,
# s and 3, the default build (prints messages' repr), the smallest (brine-core without its
# default features: `repr`, `float-text`, `pickler`, `any-keys`) and the baseline without brine-core:
# .text/.rodata/.data/.bss (arm-none-eabi-size or llvm-size), brine-core's share (the lab
# client minus the baseline, and by symbol), and the stack's high-water mark, from a run
# under QEMU against the CPython lab server (classic mode). Then brine-core's cargo features,
# each one's cost, and a last line `brine-core share: N bytes (<configuration>)` for the
# smallest lab configuration that completes the handshake and delivers messages as values.
# Usage: bash examples/firmware/footprint.sh   (needs qemu-system-arm, python3, the target)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
TARGET=thumbv7m-none-eabi
SIZE=$(command -v arm-none-eabi-size || command -v llvm-size || true)
NM=$(command -v arm-none-eabi-nm || command -v llvm-nm || true)
if [ -z "$SIZE" ] || [ -z "$NM" ]; then
    echo "error: needs arm-none-eabi-size/-nm (Debian: binutils-arm-none-eabi) or llvm-size/-nm" >&2
    exit 1
fi
OUT=target/footprint
mkdir -p "$OUT"

# section sizes: .text .rodata .data .bss .vector_table of an ELF
sections() {
    "$SIZE" -A "$1" | awk '
        $1==".vector_table"{v=$2} $1==".text"{t=$2} $1==".rodata"{r=$2} $1==".data"{d=$2} $1==".bss"{b=$2}
        END{printf "%d %d %d %d %d\n", t, r, d, b, v}'
}

# bytes of flash (code + read-only data) in symbols whose demangled name matches $2
symbols() {
    "$NM" -S -C -t d --size-sort "$1" | awk -v re="$2" '$3 ~ /^[tTrR]$/ && $0 ~ re {s += $2} END{print s+0}'
}

# the stack high-water mark of a run against the CPython lab server
stack() {
    local elf=$1 port log
    log=$(mktemp)
    python3 "$ROOT/tests/servers/lab_server.py" --mode classic --port 0 >"$log" &
    local pid=$!
    for _ in $(seq 100); do grep -q '^PORT' "$log" && break; sleep 0.05; done
    port=$(awk '/^PORT/{print $2}' "$log")
    timeout 60 qemu-system-arm -machine lm3s6965evb -cpu cortex-m3 -nographic -monitor none \
        -semihosting-config enable=on,target=native -serial "tcp:127.0.0.1:$port" -kernel "$elf" \
        2>/dev/null | awk '/^memory:/{print $4}'
    wait "$pid" || true
    rm -f "$log"
}

printf '| opt-level | variant | .text | .rodata | .data | .bss | flash (text+rodata+data+vectors) | stack high-water | brine-core share of flash (minus baseline) | brine_core::* symbols | float parse + format (core::num, core::fmt::float) |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for opt in z s 3; do
    build() { CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt cargo build --release -q "$@"; }
    build --bin baseline
    cp "target/$TARGET/release/baseline" "$OUT/baseline-$opt"
    # At opt-level 3 the default build can outgrow the board's 256 KiB of flash: say so.
    rm -f "$OUT/repr-$opt"
    if build --bin brine-firmware 2>"$OUT/repr-$opt.log"; then
        cp "target/$TARGET/release/brine-firmware" "$OUT/repr-$opt"
    elif grep -q "will not fit in region 'FLASH'" "$OUT/repr-$opt.log"; then
        printf '| %s | lab client, prints messages (repr) | does not fit the 256 KiB of flash: %s |\n' "$opt" \
            "$(grep -o "section '.rodata' will not fit.*" "$OUT/repr-$opt.log" | head -n 1)"
    else
        cat "$OUT/repr-$opt.log" >&2
        exit 1
    fi
    build --bin brine-firmware --no-default-features
    cp "target/$TARGET/release/brine-firmware" "$OUT/lean-$opt"
    read -r bt br bd bb bv < <(sections "$OUT/baseline-$opt")
    base=$((bt + br + bd + bv))
    for variant in repr lean baseline; do
        elf="$OUT/$variant-$opt"
        [ -f "$elf" ] || continue
        read -r t r d b v < <(sections "$elf")
        flash=$((t + r + d + v))
        case $variant in
            repr) name="lab client, prints messages (repr)" ;;
            lean) name="lab client, smallest (no repr, float-text, pickler, any-keys)" ;;
            baseline) name="baseline: board code, no brine-core" ;;
        esac
        if [ "$variant" = baseline ]; then
            share="—"; own="—"; float="—"
        else
            share=$((flash - base))
            own=$(symbols "$elf" 'brine_core::')
            float=$(symbols "$elf" 'core::num::(dec2flt|flt2dec|bignum)|core::fmt::float|POWER_OF_FIVE|CACHED_POW10|POW10')
        fi
        printf '| %s | %s | %d | %d | %d | %d | %d | %s | %s | %s | %s |\n' \
            "$opt" "$name" "$t" "$r" "$d" "$b" "$flash" "$(stack "$elf")" "$share" "$own" "$float"
    done
done
# brine-core's cargo features (forwarded by this firmware's own: `repr`, `float-text`,
# `pickler`, `any-keys`, `python2`; opt-level z): each alone on top of none, and each left out of the default (they
# share code: the pickler's protocol-0 float writing links the float formatter and parser).
features_build() { # firmware features (comma-separated, may be empty) -> the ELF's flash bytes
    local t r d b v
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build --release -q --bin brine-firmware \
        --no-default-features --features "$1"
    cp "target/$TARGET/release/brine-firmware" "$OUT/features-${1:-none}"
    read -r t r d b v < <(sections "target/$TARGET/release/brine-firmware")
    echo $((t + r + d + v))
}
read -r bt br bd bb bv < <(sections "$OUT/baseline-z")
base=$((bt + br + bd + bv))
share() { echo $(($(features_build "$1") - base)); }
# A change in bytes with its sign: +N, or −N (a feature can make a build smaller).
signed() { if [ "$1" -lt 0 ]; then printf '−%d' $((-$1)); else printf '+%d' "$1"; fi; }
DEFAULT=repr,float-text,pickler,any-keys
all=$(share $DEFAULT)
none=$(share '')
lean="$OUT/features-none"
echo
printf '| brine-core features (opt-level z; the firmware prints messages as repr with `repr`, else type and length) | brine-core share of flash | the feature alone: added to none | the feature left out of the default |\n'
printf '| --- | ---: | ---: | ---: |\n'
printf '| default: `repr`, `float-text`, `pickler`, `any-keys` | %d | | |\n' "$all"
for feature in repr float-text pickler any-keys; do
    alone=$(share "$feature")
    rest=$(share "$(echo $DEFAULT | tr ',' '\n' | grep -vx "$feature" | paste -sd,)")
    printf '| `%s` only / all but `%s` | %d / %d | %s | %s |\n' "$feature" "$feature" "$alone" "$rest" \
        "$(signed $((alone - none)))" "$(signed $((rest - all)))"
done
# `python2` (re-pickling the identity for a Python 2 server under auto protocol, and the
# encoder's Python 2 types) needs the pickler: its cost on top of `pickler` and of the default.
pickler=$(share pickler)
printf '| `python2` on top of `pickler` / of the default | %d / %d | +%d / +%d | |\n' \
    "$(share pickler,python2)" "$(share $DEFAULT,python2)" \
    $(($(share pickler,python2) - pickler)) $(($(share $DEFAULT,python2) - all))
# `objects` (standard types as data; stubs, which the firmware does not allow): its cost on
# top of none and of the default.
printf '| `objects` on top of none / of the default | %d / %d | +%d / +%d | |\n' \
    "$(share objects)" "$(share $DEFAULT,objects)" \
    $(($(share objects) - none)) $(($(share $DEFAULT,objects) - all))
# `fast` (the decode loop's inline arms for the common binary opcodes; brine-core's default,
# off in these firmwares): its cost on top of none and of the default.
printf '| `fast` on top of none / of the default | %d / %d | +%d / +%d | |\n' \
    "$(share fast)" "$(share $DEFAULT,fast)" \
    $(($(share fast) - none)) $(($(share $DEFAULT,fast) - all))
# `dialects` (length-prefixed framings, other greetings, auto protocol; off in the lab
# clients): its cost on top of none and of the default.
printf '| `dialects` on top of none / of the default | %d / %d | +%d / +%d | |\n' \
    "$(share dialects)" "$(share $DEFAULT,dialects)" \
    $(($(share dialects) - none)) $(($(share $DEFAULT,dialects) - all))
# `multiprocessing` (the HMAC handshake, RustCrypto's hmac/md-5/sha2/sha3): the same program,
# brine-firmware-mp, with and without it (without it, it reaches a listener without an
# authkey: the framing stays), on top of none and of the default.
mp_build() { # firmware features -> flash bytes of brine-firmware-mp
    local t r d b v
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build --release -q --bin brine-firmware-mp \
        --no-default-features --features "dialects,$1"
    read -r t r d b v < <(sections "target/$TARGET/release/brine-firmware-mp")
    echo $((t + r + d + v))
}
mp_none=$(mp_build '')
mp_on=$(mp_build multiprocessing)
mp_all=$(mp_build $DEFAULT)
mp_all_on=$(mp_build $DEFAULT,multiprocessing)
printf '| `multiprocessing` (brine-firmware-mp with it) on top of none / of the default | %d / %d | +%d / +%d | |\n' \
    $((mp_on - base)) $((mp_all_on - base)) $((mp_on - mp_none)) $((mp_all_on - mp_all))
printf '| none (identity pickled by build.rs, protocol-0 floats skipped with their reason) | %d | | |\n' "$none"
echo
printf 'Where the smallest one goes (bytes of flash by symbol): brine_core::pickle::decode %d, keys %d, pynum %d, framer %d, session %d, blocking %d, handshake %d; compiler_builtins %d; core::fmt %d\n' \
    "$(symbols "$lean" 'brine_core::pickle::decode')" \
    "$(symbols "$lean" 'brine_core::pickle::keys')" "$(symbols "$lean" 'brine_core::pickle::pynum')" \
    "$(symbols "$lean" 'brine_core::pickle::framer')" "$(symbols "$lean" 'brine_core::session')" \
    "$(symbols "$lean" 'brine_core::blocking')" "$(symbols "$lean" 'brine_core::handshake')" \
    "$(symbols "$lean" 'compiler_builtins|^[0-9]+ [0-9]+ [tT] __')" "$(symbols "$lean" 'core::fmt')"
# The prototype of a lean receive side (src/bin/proto.rs; BENCHMARKS.md): the smallest
# configuration with one buffer and a skip-only scan in place of brine-core's session,
# blocking client, framer and handshake, brine-core's decoder for each whole message.
CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build --release -q --bin brine-firmware-proto --no-default-features
cp "target/$TARGET/release/brine-firmware-proto" "$OUT/proto-none"
read -r t r d b v < <(sections "$OUT/proto-none")
printf 'Prototype, a lean receive side around brine-core'"'"'s decoder (src/bin/proto.rs, no default features): share %d bytes; brine_core::pickle::decode %d by symbol\n' \
    $((t + r + d + v - base)) "$(symbols "$OUT/proto-none" 'brine_core::pickle::decode')"
# leave the default build as it was
cargo build --release -q
echo "brine-core share: $none bytes (lab client, opt-level z, brine-core default-features = false: no float-text, repr, pickler or any-keys; identity pickled by build.rs)"
