#!/usr/bin/env bash
# Flash of the lean machine (lean_machine.rs) against today's general machine, both built the
# same way (BENCHMARKS.md, "Firmware footprint"): thumbv7m-none-eabi, opt-level z, fat LTO,
# one codegen unit, panic=abort, a no_std staticlib per entry linked with --gc-sections from
# that entry alone; then .text + .rodata and the symbols. Entries: brine_lean_decode (the
# lean machine alone: value_lean_flash.rs), brine_general_decode (`Decoder::decode` without
# default features) and brine_lean_then_general (the lean machine, today's machine as its slow
# path): general_decoder_flash.rs; brine_lean_decode once more with `--cfg lean_more` (17 more
# opcodes); brine_lean_client (lean_client_flash.rs with `--cfg lean_full`: the lean machine
# completed, a skip-only scan and a session, a whole lab client core; its self-check first). Also builds the smallest lab firmware (its brine-core rlib is the one linked) and
# prints its decoder's symbols. Usage: bash bench/prototypes/lean_flash.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=target/lean-flash
D=examples/firmware/target/thumbv7m-none-eabi/release/deps
mkdir -p "$OUT"
(cd examples/firmware && /work/bin/cargo-slot build --release -q --bin brine-firmware --no-default-features)
cp examples/firmware/target/thumbv7m-none-eabi/release/brine-firmware "$OUT/firmware-none.elf"
rustc_z() { flock /tmp/cargo-slot-1 rustc --edition 2021 --crate-type staticlib --cap-lints allow \
    --target thumbv7m-none-eabi -C opt-level=z -C lto=fat -C codegen-units=1 -C panic=abort "$@"; }
rustc_z -o "$OUT/liblean.a" bench/prototypes/value_lean_flash.rs
# with 17 more opcodes (lean_machine.rs's `cfg(lean_more)` arms): what a further opcode costs
rustc_z --cfg lean_more -o "$OUT/libleanmore.a" bench/prototypes/value_lean_flash.rs
# a whole lab client core in the lean design: the 36-opcode machine, a skip-only scan, a session
# with fault codes (lean_client_flash.rs; `lean_full`: what the smallest lab build accepts,
# the rest refused with codes), after its self-check on the host (CPython fixtures)
flock /tmp/cargo-slot-1 rustc --edition 2021 --test --cfg lean_more --cfg lean_end --cfg lean_full \
    -o "$OUT/client-test" bench/prototypes/lean_client_flash.rs
"$OUT/client-test" -q
rustc_z --cfg lean_more --cfg lean_end --cfg lean_full -o "$OUT/libclient.a" bench/prototypes/lean_client_flash.rs
rustc_z -L "dependency=$D" --extern "brine_core=$(ls -t "$D"/libbrine_core-*.rlib | head -n 1)" \
    -o "$OUT/libgeneral.a" bench/prototypes/general_decoder_flash.rs
flash() { arm-none-eabi-size -A "$1" | awk '$1==".text"{t=$2} $1==".rodata"{r=$2} END{printf "%d (.text %d, .rodata %d)", t+r, t, r}'; }
syms() { arm-none-eabi-nm -S -C -t d --size-sort "$1" | awk -v re="$2" '$3 ~ /^[tTrR]$/ && $0 ~ re {s += $2} END{print s+0}'; }
for entry in brine_lean_decode:liblean brine_lean_decode:libleanmore brine_lean_client:libclient brine_general_decode:libgeneral brine_lean_then_general:libgeneral; do
    e=${entry%%:*}
    elf="$OUT/${entry#*:}-$e.elf"
    arm-none-eabi-ld --gc-sections -e "$e" -u "$e" -o "$elf" "$OUT/${entry#*:}.a"
    printf '%s (%s): flash %s; memcpy %d, pickle::decode %d, keys+pynum %d, core::fmt %d\n' "$e" \
        "${entry#*:}" "$(flash "$elf")" "$(syms "$elf" 'mem::memcpy')" "$(syms "$elf" 'pickle::decode')" \
        "$(syms "$elf" 'pickle::(keys|pynum)')" "$(syms "$elf" 'core::fmt')"
done
arm-none-eabi-nm -S -C -t d --size-sort "$OUT/liblean-brine_lean_decode.elf" | awk '$3 ~ /^[tTrR]$/'
printf 'smallest lab firmware: flash %s; pickle::decode %d by symbol\n' \
    "$(arm-none-eabi-size -A "$OUT/firmware-none.elf" | awk '$1==".vector_table"{v=$2} $1==".text"{t=$2} $1==".rodata"{r=$2} $1==".data"{d=$2} END{print v+t+r+d}')" \
    "$(syms "$OUT/firmware-none.elf" 'brine_core::pickle::decode')"
