//! Prototype, not built by the workspace (issue 21 points 1 and 4, s8-machine): the general
//! machine's per-opcode and per-item work redesigned for the 3.6 KB lab message to a value
//! arena, to measure what the design costs against `Decoder::decode` in the same binary.
//! The design: one function whose hot state (input position, frame window, stack and MARK
//! heights, memo length) lives in locals, so in registers; dispatch on the raw opcode byte;
//! MARKs on a stack of their own (no MARK entries among the items, no search); a
//! container's items contiguous in one item array (a fill copies the stack's slice; an append
//! to a container that is not the last filled would move its items to the end); the same
//! checks the general machine makes for these shapes, item by item: expansion (weights summed
//! per container, against the limit), depth (against 64), hashable keys, the distinct-key bit
//! filter (a str's slot computed once when decoded), shared containers (a GET of a container),
//! UTF-8 (ASCII fast path), FRAME bounds; every slice access bounds-checked (no unsafe). Any
//! other opcode, a full array, a key filter hit or a shared container returns `Slow`, where
//! the real machine would continue on its exact general path (errors, merging, cycles). To
//! measure:
//!
//!   mkdir core/examples/value_lean
//!   cp bench/prototypes/value_lean_machine.rs core/examples/value_lean/main.rs
//!   cp bench/prototypes/lean_machine.rs core/examples/value_lean/
//!   /work/bin/cargo-slot build --release -p brine-core --example value_lean
//!   for op in lean brine; do for n in 1000 2000; do valgrind --tool=callgrind \
//!       --callgrind-out-file=/dev/null target/release/examples/value_lean $op $n 2>&1 \
//!       | grep Collected; done; done; rm -r core/examples/value_lean
//!
//! (The machine itself is in lean_machine.rs, shared with value_lean_flash.rs, which measures
//! its flash.)
//!
//! (difference / 1000). The binary first checks that the arena's Python repr equals
//! `core/benches/fixtures/message.repr` (CPython's). 2026-12-07, 01:15 UTC, s8-machine at
//! 7dd6ce0, rustc 1.95: lean 61,100 instructions per message (62,091 before a MEMOIZE after a
//! new value ran with its push, as brine's `fast_leaf` does), `Decoder::decode` 94,155 in the
//! same binary; CPython 3.11 247,081 (BENCHMARKS.md), so lean is 4.04x (4x: 61,770). Where
//! the difference is (callgrind --dump-instr, per message): a dict's key-value pair checked
//! and linked in 34 instructions against 69 (the lean node's tag is one byte compare; brine's
//! `Node` keeps its tag in `Container`'s niche, decoded at every match in ~13), the dispatch
//! 11 per opcode against 14 (position in a register, not stored back), no call per new leaf
//! (brine's `fast_leaf` is out of line for flash), SHORT_BINUNICODE 59 against ~100.
use std::hint::black_box;

const MESSAGE: &[u8] = include_bytes!("../../benches/fixtures/message.pickle");
const MESSAGE_REPR: &str = include_str!("../../benches/fixtures/message.repr");

include!("lean_machine.rs");

impl Arena {
    fn new() -> Box<Self> {
        Box::new(Arena {
            nodes: [N::None; NODES],
            items: [0; ITEMS],
            stack: [0; STACK],
            marks: [0; MARKS],
            memo: [0; MEMO],
            n_nodes: 0,
            n_items: 0,
        })
    }
}

fn repr(a: &Arena, input: &[u8], id: u16, out: &mut String) {
    match a.nodes[id as usize] {
        N::None => out.push_str("None"),
        N::Bool(b) => out.push_str(if b { "True" } else { "False" }),
        N::Int(v) => out.push_str(&v.to_string()),
        N::Float(v) => out.push_str(&format!("{v:?}")),
        N::Str { start, len, .. } => {
            let s = core::str::from_utf8(&input[start as usize..(start + len) as usize]).unwrap();
            assert!(!s.contains(['\'', '\\']));
            out.push('\'');
            out.push_str(s);
            out.push('\'');
        }
        N::Seq(s) => {
            let items = &a.items[s.first as usize..s.first as usize + s.len as usize];
            let (open, close) = match s.kind {
                Kind::List => ("[", "]"),
                Kind::Tuple => ("(", ")"),
                Kind::Dict => ("{", "}"),
            };
            out.push_str(open);
            let step = if s.kind == Kind::Dict { 2 } else { 1 };
            for (i, chunk) in items.chunks(step).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr(a, input, chunk[0], out);
                if step == 2 {
                    out.push_str(": ");
                    repr(a, input, chunk[1], out);
                }
            }
            if s.kind == Kind::Tuple && items.len() == 1 {
                out.push(',');
            }
            out.push_str(close);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (op, n): (&str, u32) = (&args[1], args[2].parse().unwrap());
    let mut arena = Arena::new();
    let root = decode(&mut arena, MESSAGE).expect("the message takes the lean path");
    let mut text = String::new();
    repr(&arena, MESSAGE, root, &mut text);
    assert_eq!(text, MESSAGE_REPR.trim_end(), "the arena's repr is CPython's");
    let mut decoder: brine_core::pickle::Decoder = brine_core::pickle::Decoder::new();
    for _ in 0..n {
        match op {
            "lean" => {
                black_box(decode(&mut arena, black_box(MESSAGE)).unwrap());
            }
            "brine" => {
                black_box(decoder.decode(black_box(MESSAGE)).unwrap());
            }
            other => panic!("unknown op {other}"),
        }
    }
}
