//! The decoder on arbitrary bytes: `Decoder::decode_prefix` into a `Value`, then its `Display`
//! (Python's repr, which walks the whole value) and the error's `Display`, into a sink.
//! Both a default-sized decoder and a tiny one (every capacity error path) run.
#![no_main]

use core::fmt::{self, Write};

use brine_core::pickle::{Decoder, Value};
use libfuzzer_sys::fuzz_target;

/// Counts what it is given, keeps nothing.
struct Sink(usize);

impl Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
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
    let mut sink = Sink(0);
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
});
