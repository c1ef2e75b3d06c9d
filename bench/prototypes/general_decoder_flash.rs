//! Prototype harness, not built by the workspace (issue 21 point 3, s8-flash): today's
//! general machine (`brine_core::pickle::Decoder::decode`, without default features, as the
//! smallest lab firmware has it) behind one `#[no_mangle]` entry, built exactly as
//! value_lean_flash.rs builds the lean machine, so the two compare symbol by symbol. Needs the
//! firmware's brine-core rlib (thumbv7m, opt-level z, bitcode kept for LTO). From the root:
//!
//!   bash bench/prototypes/lean_flash.sh
//!
//! (it builds the smallest firmware, then this file as a staticlib against the newest
//! `libbrine_core-*.rlib` of examples/firmware/target/thumbv7m-none-eabi/release/deps, the
//! build just made without default features, and links each entry alone.)
//! The same archive also holds `brine_lean_then_general`: the lean machine of
//! lean_machine.rs with today's general machine as its slow path (the prototype's design as a
//! real build would first have it); link it with `-e`/`-u brine_lean_then_general` instead.
#![no_std]
#![allow(private_interfaces)]

include!("lean_machine.rs");

use brine_core::pickle::{Decoder, Error, Value};

/// Decodes `input` with `decoder`: the value, or the error naming what and where.
#[no_mangle]
pub fn brine_general_decode<'a>(decoder: &'a mut Decoder, input: &'a [u8]) -> Result<Value<'a>, Error> {
    decoder.decode(input)
}

/// The lean machine into `arena`, and on `Slow` (any other shape or error) the general
/// machine from the start: whether `input` decoded (the lean root's id, or `u16::MAX` for the
/// general one's value), or the general machine's error.
#[no_mangle]
pub fn brine_lean_then_general(
    arena: &mut Arena,
    decoder: &mut Decoder,
    input: &[u8],
) -> Result<u16, Error> {
    match decode(arena, input) {
        Ok(root) => Ok(root),
        Err(Stop::Slow) => decoder.decode(input).map(|_| u16::MAX),
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
