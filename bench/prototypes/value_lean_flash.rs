//! Prototype, not built by the workspace (issue 21 point 3, s8-flash): the flash of the lean
//! machine (lean_machine.rs, the design of value_lean_machine.rs) on the lab board's target,
//! thumbv7m-none-eabi at opt-level z with fat LTO, one codegen unit and panic=abort (the
//! firmware's release profile), as a no_std staticlib whose one entry,
//! `brine_lean_decode`, decodes a buffer into a caller's arena. To rebuild and measure it next
//! to today's general machine (general_decoder_flash.rs), from the repository's root:
//!
//!   bash bench/prototypes/lean_flash.sh
//!
//! (rustc on this file alone as a staticlib with those flags, under a build slot, then
//! `arm-none-eabi-ld --gc-sections -e brine_lean_decode` of the archive, `arm-none-eabi-size -A`
//! and `arm-none-eabi-nm -S -C --size-sort` of that ELF; figures in BENCHMARKS.md, "Firmware
//! footprint"). The machine is measured as the prototype has it: the opcodes of the 3.6 KB lab message (PROTO, FRAME,
//! MEMOIZE, BINGET, SHORT_BINUNICODE, MARK, None, True/False, BININT1, BININT2, BINFLOAT,
//! EMPTY_LIST/DICT, TUPLE2, APPEND, APPENDS, SETITEMS, STOP) with their checks; every other
//! opcode, every error, equal keys, shared containers return `Stop::Slow`. A real build must
//! add those (BENCHMARKS.md, "Firmware footprint", counts what they would cost). Built with
//! `--cfg lean_more`, the machine has 17 more opcodes in its style (BININT, BINUNICODE,
//! SHORT_BINBYTES, BINBYTES, EMPTY_TUPLE, TUPLE1, TUPLE3, TUPLE, LIST, DICT, SETITEM, BINPUT,
//! LONG_BINPUT, LONG_BINGET, DUP, POP, POP_MARK), to measure what a further opcode costs.
#![no_std]
#![allow(private_interfaces)]

include!("lean_machine.rs");

/// Decodes `input` into `arena`; the root's node id, or `Slow` where the general path would
/// take over.
#[no_mangle]
pub fn brine_lean_decode(arena: &mut Arena, input: &[u8]) -> Result<u16, Stop> {
    decode(arena, input)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
