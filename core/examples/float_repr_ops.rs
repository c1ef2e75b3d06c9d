//! Python's float repr (`Display` of `Value::Float`), for instruction counts under valgrind
//! and for the slow case's time (BENCHMARKS.md, "Float repr speed").
//!
//! ```text
//! float_repr_ops X N          # print the double X (a Rust float literal) N times
//! float_repr_ops sample N     # N prints cycling over 1,024 seeded random bit patterns
//! float_repr_ops file PATH R  # decode the pickle at PATH and print it, R times; the best time
//! ```
//! Count one print as (instructions at 2N - instructions at N) / N.

use std::fmt::Write;
use std::hint::black_box;
use std::time::Instant;

use brine_core::pickle::{Decoder, Value};

/// 1,024 finite doubles from a fixed seed (splitmix64 bit patterns, nan and inf left out).
fn sample() -> Vec<f64> {
    let mut state = 0x5eed_f10a_u64;
    let mut out = Vec::new();
    while out.len() < 1024 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let x = f64::from_bits(z ^ (z >> 31));
        if x.is_finite() {
            out.push(x);
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: float_repr_ops X N | sample N | file PATH R";
    if args.first().map(String::as_str) == Some("file") {
        let data = std::fs::read(args.get(1).expect(usage)).expect("read the pickle");
        let reps: u32 = args.get(2).and_then(|r| r.parse().ok()).expect(usage);
        let mut decoder: Decoder = Decoder::new();
        let mut best = f64::INFINITY;
        let mut len = 0;
        for _ in 0..reps {
            let start = Instant::now();
            let value = decoder.decode(&data).expect("a valid pickle");
            let text = value.to_string();
            best = best.min(start.elapsed().as_secs_f64());
            len = black_box(text).len();
        }
        println!("{len} bytes printed, best of {reps}: {best:.3} s");
        return;
    }
    let n: usize = args.get(1).and_then(|n| n.parse().ok()).expect(usage);
    let values = match args.first().map(String::as_str) {
        Some("sample") => sample(),
        Some(x) => vec![x.parse::<f64>().expect(usage)],
        None => panic!("{usage}"),
    };
    let mut out = String::with_capacity(64);
    for i in 0..n {
        out.clear();
        let x = values[i % values.len()];
        write!(out, "{}", Value::Float(black_box(x))).unwrap();
        black_box(&out);
    }
}
