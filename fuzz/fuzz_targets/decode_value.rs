//! The decoder on arbitrary bytes: `Decoder::decode_prefix` into a `Value`, then its `Display`
//! (Python's repr, which walks the whole value) and the error's `Display`, into a sink.
//! Both a default-sized decoder and a tiny one (every capacity error path) run, and the
//! `HeapDecoder` (sized to the input), which must agree with the default one: the same repr
//! when that accepts, the same error when that refuses for any reason but a capacity.
#![no_main]

use core::fmt::{self, Write};

use brine_core::pickle::{Decoder, Error, HeapDecoder, Value};
use libfuzzer_sys::fuzz_target;

/// Counts and hashes (FNV-1a) what it is given, keeps nothing.
#[derive(PartialEq, Eq, Debug)]
struct Sink(usize, u64);

impl Sink {
    fn new() -> Self {
        Sink(0, 0xcbf2_9ce4_8422_2325)
    }
}

impl Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        for &b in s.as_bytes() {
            self.1 = (self.1 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Ok(())
    }
}

/// Items of the largest set or frozenset in `v`.
fn largest_set(v: &Value<'_>) -> usize {
    match v {
        Value::Set(s) | Value::FrozenSet(s) => {
            s.iter().map(|c| largest_set(&c)).fold(s.len(), usize::max)
        }
        Value::List(s) | Value::Tuple(s) => s.iter().map(|c| largest_set(&c)).max().unwrap_or(0),
        Value::Dict(d) => d
            .iter()
            .map(|(k, v)| largest_set(&k).max(largest_set(&v)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

/// The largest set the default `Decoder` always puts in CPython's order (README: its scratch,
/// 1,536 slots and the unused item slots, holds CPython's table for up to 306 items); a
/// larger set may keep pickle order there, while `HeapDecoder` grows its scratch.
const ORDERED_SET: usize = 306;

/// What a decode gave, as the repr's or the error's text (length and hash).
fn outcome(result: Result<(Value<'_>, usize), Error>) -> (Result<usize, bool>, Sink) {
    let mut sink = Sink::new();
    match result {
        Ok((value, len)) => {
            write!(sink, "{value}").unwrap();
            (Ok(len), sink)
        }
        Err(e) => {
            write!(sink, "{e}").unwrap();
            (Err(matches!(e, Error::Capacity { .. })), sink)
        }
    }
}

fn walk(v: &Value<'_>, depth: usize) -> usize {
    assert!(
        depth <= brine_core::pickle::MAX_DEPTH + 1,
        "depth bound broken"
    );
    match v {
        Value::List(s) | Value::Tuple(s) | Value::Set(s) | Value::FrozenSet(s) => {
            1 + s.iter().map(|c| walk(&c, depth + 1)).sum::<usize>()
        }
        Value::Dict(d) => {
            1 + d
                .iter()
                .map(|(k, v)| walk(&k, depth + 1) + walk(&v, depth + 1))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn check<const V: usize, const I: usize, const S: usize, const M: usize>(
    d: &mut Decoder<V, I, S, M>,
    data: &[u8],
) {
    let mut sink = Sink::new();
    match d.decode_prefix(data) {
        Ok((value, len)) => {
            assert!(
                len >= 1 && len <= data.len(),
                "length {len} of {}",
                data.len()
            );
            assert_eq!(data[len - 1], b'.', "a pickle ends at its STOP");
            let n = walk(&value, 0);
            assert!(n as u64 <= u64::from(brine_core::pickle::MAX_EXPANSION) + 1);
            write!(sink, "{value}").unwrap();
            write!(sink, "{value:?}").unwrap();
        }
        Err(e) => {
            write!(sink, "{e}").unwrap();
            write!(sink, "{e:?}").unwrap();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut big: Decoder = Decoder::new();
    check(&mut big, data);
    let mut tiny: Decoder<8, 8, 8, 8> = Decoder::new();
    check(&mut tiny, data);
    let big_set = big
        .decode_prefix(data)
        .map_or(0, |(value, _)| largest_set(&value));
    let fixed = outcome(big.decode_prefix(data));
    let mut heap = HeapDecoder::new();
    let sized = outcome(heap.decode_prefix(data));
    if fixed.0 != Err(true) && big_set <= ORDERED_SET {
        assert_eq!(fixed, sized, "HeapDecoder differs from Decoder");
    }
});
