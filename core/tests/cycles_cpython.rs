//! Containers that contain themselves (issue 22): brine prints them as CPython's `repr`
//! does (`[[...]]`, `{'a': {...}}`, `([(...)],)`), in every protocol, from the pickles
//! CPython writes; JSON marks the cycle (`{"$cycle": "[...]"}` in brine-json); serde refuses
//! it; a cycle whose repr would depend on the path is refused with its own error.
//!
//! python3 is required: if it is missing this test fails (it does not skip).
// Every test here runs python3, which Miri cannot spawn: skipped under `cargo miri test`.
#![cfg(not(miri))]

use std::process::Command;

use brine_core::pickle::{from_slice, Decoder, Error, Value};

/// Each shape (a Python expression building `v`), pickled in protocols 0-5: `hex<TAB>repr`.
const SCRIPT: &str = r#"
import pickle, sys
shapes = [
    "v = []; v.append(v)",
    "v = {}; v['a'] = v",
    "v = [1, [2]]; v[1].append(v)",
    "t = ([],); t[0].append(t); v = t",
    "d = {}; l = [d]; d['l'] = l; v = d",
    "d = {}; l = [d]; d['l'] = l; v = l",
    "l = []; l.append(l); v = [l, l, {'k': l}]",
    "v = []; v.append(v); v.append(v); v.append((v, 'x'))",
    "v = {'a': [], 'b': 2}; v['a'].append(v); v['a'].append(v['a']); v['c'] = (v['b'],)",
    "d = {}; d[1] = [d, [d]]; v = [d, 'tail']",
    "v = [[[[]]]]; v[0][0][0].append(v[0])",
]
for shape in shapes:
    env = {}
    exec(shape, env)
    v = env['v']
    for proto in range(6):
        print(pickle.dumps(v, proto).hex() + '\t' + repr(v))
"#;

/// Reads every item of any value (serde's `deserialize_any`, all the way down).
#[derive(Debug)]
struct Walk;

impl<'de> serde::Deserialize<'de> for Walk {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Walk;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("anything")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Walk, E> {
                Ok(Walk)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Walk, E> {
                Ok(Walk)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Walk, E> {
                Ok(Walk)
            }
            fn visit_str<E>(self, _: &str) -> Result<Walk, E> {
                Ok(Walk)
            }
            fn visit_unit<E>(self) -> Result<Walk, E> {
                Ok(Walk)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Walk, A::Error> {
                while seq.next_element::<Walk>()?.is_some() {}
                Ok(Walk)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Walk, A::Error> {
                while map.next_entry::<Walk, Walk>()?.is_some() {}
                Ok(Walk)
            }
        }
        d.deserialize_any(V)
    }
}

fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3 (the CPython oracle) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn cycles_print_as_cpython_prints_them() {
    let out = python(SCRIPT);
    let mut decoder: Box<Decoder> = Box::default();
    let mut count = 0;
    for line in out.lines() {
        let (hex, want) = line.split_once('\t').unwrap();
        let pickle = unhex(hex);
        let value = decoder
            .decode(&pickle)
            .unwrap_or_else(|e| panic!("{hex}: {e} (want {want})"));
        assert_eq!(value.to_string(), want, "{hex}");
        // Debug ends at the cycle too.
        assert!(format!("{value:?}").contains("..."));
        // No Rust value holds a cycle: serde refuses it, naming it.
        let e = from_slice::<Walk>(&pickle).unwrap_err();
        assert!(e.to_string().contains("contains itself"), "{hex}: {e}");
        count += 1;
    }
    assert_eq!(count, 11 * 6);
}

/// `a = [b]`, `b = [a]`, `v = [a, b]`: CPython prints `[[[[...]]], [[[...]]]]`, where the
/// `[...]` stands for `a` in the first item and for `b` in the second. brine marks each cycle
/// once, so it refuses such a value rather than print something else; also (conservatively)
/// `v = {'a': A, 'c': (A,)}` with `A = [v, A]`, a container of a cycle through its parent
/// that is also reached another way.
#[test]
fn a_cycle_reached_two_ways_is_refused() {
    let out = python(
        "import pickle\na = []; b = [a]; a.append(b); v = [a, b]\n\
         assert repr(v) == '[[[[...]]], [[[...]]]]'\n\
         w = {'a': []}; w['a'].append(w); w['a'].append(w['a']); w['c'] = (w['a'],)\n\
         for x in (v, w):\n\
         \x20   for p in range(6): print(pickle.dumps(x, p).hex())",
    );
    let mut decoder: Box<Decoder> = Box::default();
    for hex in out.lines() {
        let e = decoder.decode(&unhex(hex)).unwrap_err();
        assert!(matches!(e, Error::Recursive { .. }), "{hex}: {e}");
        assert!(e.to_string().contains("reached another way"), "{e}");
    }
}

/// A cycle is a leaf of the walk: many references to a self-containing list stay within the
/// expansion budget as the same references to any list do, and each `[...]` counts 1.
#[test]
fn cycles_count_against_the_budgets() {
    let out = python(
        "import pickle\nl = []; l.append(l); v = [l] * 300\n\
         print(pickle.dumps(v, 4).hex())",
    );
    let mut decoder: Box<Decoder> = Box::default();
    let pickle = unhex(out.trim());
    let value = decoder.decode(&pickle).unwrap();
    let Value::List(items) = value else {
        panic!("a list")
    };
    assert_eq!(items.len(), 300);
    let reprs: Vec<String> = items.iter().map(|v| v.to_string()).collect();
    assert!(reprs.iter().all(|r| r == "[[...]]"));
}
