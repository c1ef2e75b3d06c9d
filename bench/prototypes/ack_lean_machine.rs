//! Prototype, not built by the workspace (issue 21, s8-ack): what the session's ack costs
//! through a machine whose state stays in registers, against today's general machine and
//! the one-str shortcut (`core/src/pickle/decode/one_str.rs`) it would replace. The lean
//! loop keeps `pos`, the stack pointer, the frame's end and the memo count in locals, its
//! stack holds leaf values themselves (a str is a span of the input) and the root is read
//! off the stack at STOP: no arena to clear, no node table to view. It runs the opcodes of
//! the lab's scalar messages (PROTO, FRAME, the short strs and ints, None, bools, MEMOIZE,
//! STOP) with the general machine's checks on them (frame bounds, UTF-8, memo capacity);
//! anything else returns `E`, where a real design would go on in the general machine. To
//! measure:
//!
//!   cp bench/prototypes/ack_lean_machine.rs core/examples/ack_proto.rs
//!   cargo build --release -p brine-core --example ack_proto
//!   for op in lean machine; do for n in 2000 4000; do valgrind --tool=callgrind \
//!       --callgrind-out-file=/dev/null target/release/examples/ack_proto $op $n 2>&1 |
//!       grep Collected; done; done
//!
//! (difference / 2000). 2026-12-07, 01:22 UTC, s8-ack, rustc 1.95, main at 6d420fe: lean 201
//! (the function itself about 150, the loop around it about 50), machine 416
//! (`Decoder::decode_prefix` to a `Value`). The one-str shortcut reads the ack in about 99
//! (callgrind of `codec_ops brine_listen_ack`), so in the session the lean loop would give
//! about 306 - 99 + 150 = 357 instructions per ack (the guard's `brine_listen_ack` is 306
//! with the shortcut, 561 with it disabled).
use brine_core::pickle::{Decoder, Value};
use std::hint::black_box;

/// The lab server's ack, `pickle.dumps('Server got the data', 4)` (34 bytes).
const ACK: &[u8] = b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data\x94.";

/// A stack entry: a leaf's value.
#[derive(Clone, Copy)]
enum N {
    None,
    Bool(bool),
    Int(i64),
    Str(u32, u32),
}

#[derive(Debug)]
struct E;

const STACK: usize = 16;
const MEMO: usize = 16;

/// One run over `input`: the root (a leaf) and the pickle's length.
#[inline(never)]
fn lean(input: &[u8]) -> Result<(N, usize), E> {
    let mut stack = [N::None; STACK];
    let mut sp = 0usize;
    let mut memo = 0usize;
    let mut pos = 0usize;
    let mut frame_end = 0usize;
    // The argument `pos..pos + n`: inside the input and, when it starts in a frame, inside it.
    let take = |pos: usize, n: usize, frame_end: usize| -> Result<usize, E> {
        let end = pos.checked_add(n).ok_or(E)?;
        if end > input.len() || (pos < frame_end && end > frame_end) {
            return Err(E);
        }
        Ok(end)
    };
    macro_rules! push {
        ($n:expr) => {{
            if sp >= STACK {
                return Err(E);
            }
            stack[sp] = $n;
            sp += 1;
        }};
    }
    loop {
        let op = *input.get(pos).ok_or(E)?;
        pos += 1;
        match op {
            0x80 => {
                let v = *input.get(pos).ok_or(E)?;
                if v > 5 {
                    return Err(E);
                }
                pos += 1;
            }
            0x95 => {
                let end = take(pos, 8, frame_end)?;
                let n = u64::from_le_bytes(input[pos..end].try_into().map_err(|_| E)?);
                if n > (input.len() - end) as u64 || pos < frame_end {
                    return Err(E);
                }
                pos = end;
                frame_end = pos + n as usize;
            }
            0x8c | b'X' => {
                let w = if op == 0x8c { 1 } else { 4 };
                let end = take(pos, w, frame_end)?;
                let n = match input[pos..end] {
                    [n] => usize::from(n),
                    [a, b, c, d] => u32::from_le_bytes([a, b, c, d]) as usize,
                    _ => return Err(E),
                };
                let s = end;
                let e = take(s, n, frame_end)?;
                let raw = &input[s..e];
                if !raw.is_ascii() && core::str::from_utf8(raw).is_err() {
                    return Err(E);
                }
                pos = e;
                push!(N::Str(s as u32, n as u32))
            }
            b'K' => {
                let end = take(pos, 1, frame_end)?;
                let v = input[pos];
                pos = end;
                push!(N::Int(v.into()))
            }
            b'N' => push!(N::None),
            0x88 => push!(N::Bool(true)),
            0x89 => push!(N::Bool(false)),
            0x94 => {
                if sp == 0 || memo >= MEMO {
                    return Err(E);
                }
                memo += 1;
            }
            b'.' => {
                if sp != 1 {
                    return Err(E);
                }
                return Ok((stack[0], pos));
            }
            _ => return Err(E),
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().expect("usage: ack_proto lean|machine N");
    let n: u32 = args.next().and_then(|n| n.parse().ok()).expect("N");
    let mut decoder: Decoder = Decoder::new();
    for _ in 0..n {
        let input = black_box(ACK);
        match op.as_str() {
            "lean" => {
                let (root, len) = lean(input).unwrap();
                let text = match root {
                    N::Str(s, l) => &input[s as usize..(s + l) as usize],
                    _ => panic!("not a str"),
                };
                black_box((text, len));
            }
            "machine" => {
                let (value, len) = decoder.decode_prefix(input).unwrap();
                assert!(matches!(value, Value::Str(_)));
                black_box((value, len));
            }
            other => panic!("unknown op {other}"),
        }
    }
}
