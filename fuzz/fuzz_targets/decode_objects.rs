//! Objects on arbitrary bytes (issue 22): decoders that allow inert stubs (default-sized,
//! tiny, heap) and one that does not. Checks: no panic; an accepted pickle ends at a STOP
//! within the input; every value, stubs' arguments, state and items included, stays within
//! `MAX_DEPTH` and `MAX_EXPANSION`; its repr, Debug, `standard()` and serde (a struct of
//! optional fields, a tuple struct, `IgnoredAny`) run; a decoder that refuses stubs never
//! returns one, and where it accepts, the stub-allowing one gives the same repr.
#![no_main]

use core::fmt::{self, Write};

use brine_core::pickle::{Decoder, HeapDecoder, Value};
use libfuzzer_sys::fuzz_target;

/// Counts what it is given, keeps nothing.
struct Sink(usize);

impl Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Fields<'a> {
    client: Option<i64>,
    #[serde(borrow)]
    name: Option<&'a str>,
    items: Option<Vec<i64>>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Pair(Option<i64>, Option<String>);

/// Values under `v` (objects' parts included); checks the depth bound.
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
        Value::Object(o) => {
            let _ = o.standard();
            let seqs = [o.args(), o.list_items()];
            let dicts = [o.kwargs(), o.dict_items()];
            1 + seqs
                .iter()
                .flatten()
                .flat_map(|s| s.iter())
                .map(|c| walk(&c, depth + 1))
                .sum::<usize>()
                + dicts
                    .iter()
                    .flatten()
                    .flat_map(|d| d.iter())
                    .map(|(k, v)| walk(&k, depth + 1) + walk(&v, depth + 1))
                    .sum::<usize>()
                + o.state().map_or(0, |s| walk(&s, depth + 1))
        }
        _ => 1,
    }
}

fn check(value: &Value<'_>, len: usize, data: &[u8]) -> usize {
    assert!(len >= 1 && len <= data.len() && data[len - 1] == b'.');
    let n = walk(value, 0);
    assert!(n as u64 <= 6 * u64::from(brine_core::pickle::MAX_EXPANSION) + 1);
    let mut sink = Sink(0);
    write!(sink, "{value}").unwrap();
    write!(sink, "{value:?}").unwrap();
    let _ = value.contains_stub();
    let _ = value.deserialize::<Fields<'_>>();
    let _ = value.deserialize::<Pair>();
    let _ = value.deserialize::<serde::de::IgnoredAny>();
    sink.0
}

fn repr(value: &Value<'_>) -> String {
    let mut s = String::new();
    write!(s, "{value}").unwrap();
    s
}

fuzz_target!(|data: &[u8]| {
    let mut stubs: Decoder = Decoder::new();
    stubs.allow_stubs(true);
    let with = stubs.decode_prefix(data);
    if let Ok((value, len)) = &with {
        check(value, *len, data);
    }
    let mut tiny: Decoder<8, 8, 8, 8> = Decoder::new();
    tiny.allow_stubs(true);
    if let Ok((value, len)) = tiny.decode_prefix(data) {
        check(&value, len, data);
    }
    let mut heap = HeapDecoder::new();
    heap.allow_stubs(true);
    if let Ok((value, len)) = heap.decode_prefix(data) {
        check(&value, len, data);
    }
    let mut plain: Decoder = Decoder::new();
    if let Ok((value, _)) = plain.decode_prefix(data) {
        assert!(!value.contains_stub(), "a stub without stubs allowed");
        let with = with.as_ref().map(|(v, _)| repr(v));
        assert_eq!(
            with.as_deref().ok(),
            Some(repr(&value).as_str()),
            "stubs changed data"
        );
    }
});
