//! The collections against CPython: `pickle.dumps` byte for byte in protocols 2–5 (random
//! nested values, every batch boundary, frames past 64 KiB), brine's decoder printing them
//! as CPython's repr, and the refusals.

extern crate std;

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serialize;

use super::super::super::oracle::{python3, unhex};
use super::super::super::{to_vec, to_vec_with_memo, HeapDecoder, Protocol};
use super::*;

/// A Python value as the tests describe it.
enum V {
    Int(i64),
    Str(String),
    List(Vec<V>),
    Dict(Vec<(V, V)>),
    OrderedDict(Vec<(V, V)>),
    Counter(Vec<(V, V)>),
    Deque(Vec<V>, Option<u64>),
    DefaultDict(DefaultFactory, Vec<(V, V)>),
}

/// Entries as a serde map, in order.
struct Entries<'a>(&'a [(V, V)]);

impl Serialize for Entries<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for V {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            V::Int(i) => s.serialize_i64(*i),
            V::Str(t) => s.serialize_str(t),
            V::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            V::Dict(e) => Entries(e).serialize(s),
            V::OrderedDict(e) => PyOrderedDict(Entries(e)).serialize(s),
            V::Counter(e) => PyCounter(Entries(e)).serialize(s),
            V::Deque(items, maxlen) => PyDeque {
                items: Seq(items),
                maxlen: *maxlen,
            }
            .serialize(s),
            V::DefaultDict(factory, e) => PyDefaultDict {
                factory: *factory,
                items: Entries(e),
            }
            .serialize(s),
        }
    }
}

/// A slice of values as a serde sequence.
struct Seq<'a>(&'a [V]);

impl Serialize for Seq<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

/// Reads the prefix notation the Python side prints (see `DESCRIBE`).
fn read(tokens: &mut core::str::SplitWhitespace<'_>) -> V {
    let mut next = || tokens.next().expect("a token");
    let tag = next();
    match tag {
        "i" => V::Int(next().parse().unwrap()),
        "s" => V::Str(String::from_utf8(unhex(&next()[1..])).unwrap()),
        _ => {
            let head = (tag == "q" || tag == "f").then(|| next().to_string());
            let n: usize = next().parse().unwrap();
            if tag == "l" || tag == "q" {
                let items = (0..n).map(|_| read(tokens)).collect();
                return match head {
                    Some(m) => V::Deque(items, m.parse().ok()),
                    None => V::List(items),
                };
            }
            let entries = (0..n).map(|_| (read(tokens), read(tokens))).collect();
            match (tag, head) {
                ("d", _) => V::Dict(entries),
                ("o", _) => V::OrderedDict(entries),
                ("c", _) => V::Counter(entries),
                (_, Some(f)) => V::DefaultDict(
                    DefaultFactory::from_name(&f).unwrap_or(DefaultFactory::None),
                    entries,
                ),
                _ => panic!("tag {tag}"),
            }
        }
    }
}

/// Python: `describe(v)` prints a value in the notation `read` takes; `values(seed, n)`
/// yields the fixed cases (every batch boundary of each collection, repeated classes and
/// factories, nesting) then `n` random nested values. Strs are all distinct, as brine takes
/// equal strs to be one object. A Counter's counts are ints: brine's decoder shows no other.
const DESCRIBE: &str = r#"
import collections, pickle, random
C = collections
def describe(v):
    if isinstance(v, bool) or v is None: raise TypeError(v)
    if isinstance(v, int): return 'i %d' % v
    if isinstance(v, str): return 's x' + v.encode().hex()
    def pairs(d): return ' '.join(describe(k) + ' ' + describe(x) for k, x in d.items())
    def seq(s): return ' '.join(describe(x) for x in s)
    if isinstance(v, C.OrderedDict): return 'o %d %s' % (len(v), pairs(v))
    if isinstance(v, C.Counter): return 'c %d %s' % (len(v), pairs(v))
    if isinstance(v, C.defaultdict):
        f = v.default_factory.__name__ if v.default_factory else 'None'
        return 'f %s %d %s' % (f, len(v), pairs(v))
    if isinstance(v, dict): return 'd %d %s' % (len(v), pairs(v))
    if isinstance(v, C.deque): return 'q %s %d %s' % (v.maxlen, len(v), seq(v))
    if isinstance(v, list): return 'l %d %s' % (len(v), seq(v))
    raise TypeError(v)
n = 0
def text():
    global n
    n += 1
    return 's%d' % n + random_.choice(['', 'é', '😀'])
random_ = random.Random(22)
def values(count):
    r = random_
    for size in [0, 1, 2, 999, 1000, 1001, 1002, 2000, 2001]:
        yield C.OrderedDict((i, -i) for i in range(size))
        yield C.Counter({i: i for i in range(size)})
        yield C.deque(range(size))
        yield C.deque(range(size), size + r.randrange(2))
        yield C.defaultdict(int, {i: i for i in range(size)})
    yield C.deque(maxlen=0)
    yield [C.defaultdict(f) for _ in range(2) for f in (list, dict, int, str, float, bool, tuple, None)]
    yield [C.OrderedDict(), C.Counter(), C.deque(), C.OrderedDict(), C.deque(), C.Counter()]
    yield C.OrderedDict([(text(), C.deque([C.Counter({text(): 1}), C.defaultdict(list, {1: [2]})], 9))])
    def value(depth):
        k = r.randrange(10 if depth < 4 else 2)
        if k == 0: return r.choice([0, -1, 255, 256, 65536, 2**31, -2**31 - 1, 2**63 - 1])
        if k == 1: return text()
        if k == 2: return [value(depth + 1) for _ in range(r.randrange(4))]
        if k == 3: return {key(): value(depth + 1) for _ in range(r.randrange(4))}
        if k == 4: return C.OrderedDict((key(), value(depth + 1)) for _ in range(r.randrange(4)))
        if k == 5: return C.Counter({key(): r.randrange(-9, 2**40) for _ in range(r.randrange(4))})
        if k == 6: return C.deque([value(depth + 1) for _ in range(r.randrange(4))], r.choice([None, 3, 5]))
        f = r.choice([list, dict, int, str, float, bool, tuple, None])
        return C.defaultdict(f, {key(): value(depth + 1) for _ in range(r.randrange(4))})
    def key():
        return r.choice([text(), r.randrange(-99, 99)])
    for _ in range(count):
        yield value(0)
"#;

/// Every value of `DESCRIBE` pickles as `pickle.dumps` pickles it in protocols 2–5, and
/// brine's decoder prints brine's bytes as CPython's repr of the value.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn collections_pickle_as_cpython_does() {
    let out = python3(&format!(
        "{DESCRIBE}
for v in values(300):
    print(describe(v), '|', repr(v).encode().hex(), *[pickle.dumps(v, p).hex() for p in (2, 3, 4, 5)])"
    ));
    let mut n = 0;
    let mut decoder = HeapDecoder::new();
    for line in out.lines() {
        let (description, rest) = line.split_once(" | ").unwrap();
        let value = read(&mut description.split_whitespace());
        let mut rest = rest.split(' ');
        let repr = String::from_utf8(unhex(rest.next().unwrap())).unwrap();
        for (p, want) in (2u8..=5).zip(rest) {
            let got = to_vec(&value, Protocol::from_u8(p).unwrap()).unwrap();
            assert!(got == unhex(want), "protocol {p}: {description:.200}");
            let shown = decoder.decode(&got).map(|v| v.to_string());
            assert_eq!(shown.as_deref(), Ok(repr.as_str()), "{description:.200}");
            n += 1;
        }
    }
    assert!(n > 4 * 340, "{n}");
}

/// Past 64 KiB, frames close where CPython closes them (protocols 4 and 5).
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn large_collections_frame_as_cpython_does() {
    let out = python3(&format!(
        "{DESCRIBE}
big = 'x' * 70000
for v in [C.deque(range(40000)), C.OrderedDict((i, [i]) for i in range(30000)),
          C.Counter({{i: i for i in range(30000)}}), C.defaultdict(list, {{1: 'y' * 70000, 2: 3}}),
          [C.deque([text() for _ in range(5000)], 5000), C.OrderedDict([(text(), 'z' * 65530)])]]:
    print(describe(v), '|', *[pickle.dumps(v, p).hex() for p in (4, 5)])"
    ));
    for line in out.lines() {
        let (description, rest) = line.split_once(" | ").unwrap();
        let value = read(&mut description.split_whitespace());
        for (p, want) in [4u8, 5].into_iter().zip(rest.split(' ')) {
            let got = to_vec_with_memo::<8192, _>(&value, Protocol::from_u8(p).unwrap()).unwrap();
            assert!(got == unhex(want), "protocol {p}: {description:.100}");
        }
    }
    assert_eq!(out.lines().count(), 5);
}

fn od(entries: Vec<(V, V)>) -> V {
    V::OrderedDict(entries)
}

/// Protocols 0 and 1, Python 2's types, a collection as a key, a deque over its maxlen
/// and wrappers holding other shapes are errors saying so, never other bytes.
#[test]
fn refusals_say_what() {
    let err = |v: &dyn erased::Ser, p: super::super::super::Encoding| match v.pickle(p) {
        Ok(bytes) => panic!("pickled {bytes:?}"),
        Err(e) => e.to_string(),
    };
    let one = || od(std::vec![(V::Int(1), V::Int(2))]);
    for p in [Protocol::V0, Protocol::V1] {
        assert!(err(&one(), p.into()).contains("protocol 0 or 1"));
    }
    let py2 = super::super::super::Encoding::python2(Protocol::V2);
    assert!(err(&one(), py2).contains("Python 2"));
    let keyed = V::Dict(std::vec![(one(), V::Int(1))]);
    assert!(err(&keyed, Protocol::V2.into()).contains("unhashable"));
    let over = V::Deque(std::vec![V::Int(1), V::Int(2)], Some(1));
    assert!(err(&over, Protocol::V4.into()).contains("maxlen"));
    // A deque of unknown length over its maxlen stops at the first item too many.
    struct Unsized;
    impl Serialize for Unsized {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(None)?;
            seq.serialize_element(&1)?;
            seq.serialize_element(&2)?;
            seq.end()
        }
    }
    let unsized_over = PyDeque {
        items: Unsized,
        maxlen: Some(1),
    };
    assert!(err(&unsized_over, Protocol::V4.into()).contains("maxlen"));
    // Wrappers of other shapes.
    assert!(err(&PyOrderedDict(1), Protocol::V2.into()).contains("PyOrderedDict holds"));
    assert!(err(&PyCounter([1, 2]), Protocol::V2.into()).contains("a map"));
    let deque_of_map = PyDeque {
        items: PyOrderedDict(Entries(&[])),
        maxlen: None,
    };
    assert!(err(&deque_of_map, Protocol::V3.into()).contains("PyDeque"));
    let factory_of_list = PyDefaultDict {
        factory: DefaultFactory::List,
        items: [1],
    };
    assert!(err(&factory_of_list, Protocol::V3.into()).contains("PyDefaultDict"));
    assert_eq!(DefaultFactory::from_name("set"), None);
    assert_eq!(
        DefaultFactory::from_name("list"),
        Some(DefaultFactory::List)
    );
    // Too small a buffer is BufferFull, never a panic.
    let v = od(std::vec![(
        V::Str("a".into()),
        V::Deque(std::vec![V::Int(1)], Some(2))
    )]);
    let mut buf = [0u8; 80];
    for len in 0..80 {
        let _ = super::super::to_slice(&v, &mut buf[..len], Protocol::V4);
    }
    assert!(super::super::to_slice(&v, &mut buf, Protocol::V4).is_ok());
}

/// Object-safe pickling of the test values.
mod erased {
    use super::super::super::super::{to_vec, Encoding, Error};
    use serde::Serialize;
    use std::vec::Vec;

    extern crate std;

    pub(super) trait Ser {
        fn pickle(&self, e: Encoding) -> Result<Vec<u8>, Error>;
    }

    impl<T: Serialize> Ser for T {
        fn pickle(&self, e: Encoding) -> Result<Vec<u8>, Error> {
            to_vec(self, e)
        }
    }
}

/// A fixture from `pickle.dumps`, checked without python3 (and under Miri).
#[test]
fn a_deque_with_maxlen_in_protocol_4() {
    // pickle.dumps(collections.deque([1, 2], 3), 4)
    let want = b"\x80\x04\x95&\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x05deque\x94\x93\x94)K\x03\x86\x94R\x94(K\x01K\x02e.";
    let v = V::Deque(std::vec![V::Int(1), V::Int(2)], Some(3));
    assert_eq!(to_vec(&v, Protocol::V4).unwrap(), want);
}
