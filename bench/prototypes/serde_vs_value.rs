//! Prototype, not built by the workspace (issue 21 point 4, s9-serde): the identity (and the
//! clientid) through the two designs measured for serde and the lean Value machine, in one
//! binary, to see whether a `&str` struct can be "never slower than the Value path" once the
//! general machine is the lean one (bench/prototypes/value_lean_machine.rs, which s9-machine
//! is porting). `stream_*`: serde_stream_machine.rs's `from_slice` (one machine feeding the
//! visitor, no arena; fills its 1 KiB of arrays per call). `lean_value_*`: lean_machine.rs's
//! `decode` into a reused arena (UTF-8 checked, ASCII fast path; the 17 `lean_more` opcodes
//! compiled in, as the identity needs BININT). `brine_*`: today's `Decoder::decode` (reused)
//! and `pickle::from_slice`. This file is the tail of the example; to measure:
//!
//!   mkdir core/examples/idp
//!   sed -e 's#"../benches/fixtures#"../../benches/fixtures#' -e '/^fn main() {/,$d' \
//!       bench/prototypes/serde_stream_machine.rs > core/examples/idp/main.rs
//!   sed '1,/^\/\/ -- end of header --$/d' bench/prototypes/serde_vs_value.rs >> core/examples/idp/main.rs
//!   sed '/#\[cfg(lean_more)\]/d' bench/prototypes/lean_machine.rs > core/examples/idp/lean_machine.rs
//!   /work/bin/cargo-slot build --release -p brine-core --example idp
//!   for op in stream_cid lean_value_cid stream_id lean_value_id brine_value_id brine_struct_id; do
//!     for n in 2000 4000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/idp $op $n 2>&1 | grep Collected; done; done; rm -r core/examples/idp
//!
//! (difference / 2000). 2026-12-07 04:07 UTC, s9-serde at main e8a6e70 + this branch, rustc
//! 1.95: stream_cid 384, lean_value_cid 454; stream_id 1,422, lean_value_id 1,405;
//! brine_value_id 1,906, brine_struct_id 2,454 (this binary's inlining; codec_ops counts
//! 1,916 and 2,417). So with the lean machine the Value path of the identity is ~1,400, and
//! the best serde design measured (streaming, no arena) ties it (+1%); "one machine, then a
//! visit of its arena" (serde_lean_machine.rs, 1,743) stays ~25% above it.
// -- end of header --
mod lean {
    include!("lean_machine.rs");
    pub struct Lean(Box<Arena>);
    impl Lean {
        pub fn new() -> Self {
            Lean(Box::new(Arena { nodes: [N::None; NODES], items: [0; ITEMS], stack: [0; STACK],
                marks: [0; MARKS], memo: [0; MEMO], n_nodes: 0, n_items: 0 }))
        }
        #[inline(never)]
        pub fn decode(&mut self, input: &[u8]) -> Option<u16> { decode(&mut self.0, input).ok() }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap();
    let n: u32 = args.next().unwrap().parse().unwrap();
    assert_eq!(from_slice::<Hello>(CLIENTID).unwrap().clientid, 54321);
    let id = from_slice::<Identity>(IDENTITY).unwrap();
    assert_eq!((id.name, id.email, id.student_id, id.github_username),
        ("Jose Ortiz", "jose@sfsu.edu", 917654321, "jortiz"));
    let mut lean = lean::Lean::new();
    lean.decode(IDENTITY).expect("the identity takes the lean path");
    lean.decode(CLIENTID).expect("the clientid takes the lean path");
    let mut decoder: brine_core::pickle::Decoder = brine_core::pickle::Decoder::new();
    for _ in 0..n {
        match op.as_str() {
            "stream_cid" => { black_box(from_slice::<Hello>(black_box(CLIENTID)).unwrap()); }
            "stream_id" => { black_box(from_slice::<Identity>(black_box(IDENTITY)).unwrap()); }
            "lean_value_cid" => { black_box(lean.decode(black_box(CLIENTID)).unwrap()); }
            "lean_value_id" => { black_box(lean.decode(black_box(IDENTITY)).unwrap()); }
            "brine_value_id" => { black_box(decoder.decode(black_box(IDENTITY)).unwrap()); }
            "brine_struct_id" => { black_box(brine_core::pickle::from_slice::<Identity>(black_box(IDENTITY)).unwrap()); }
            _ => panic!(),
        }
    }
}
