//! Tests of [`value`](super): moved out of `value.rs` to keep that file short.

extern crate std;

use super::super::oracle::{python3, unhex};
use super::super::Decoder;
use super::*;
use std::format;
use std::string::String;
use std::vec::Vec;

/// CPython fixtures: `pickle.dumps(x, 0)` and Python 2.7's `pickle.dumps('abc')`.
#[test]
fn protocol_0_and_python_2_strings_borrow_as_str() {
    let mut decoder: Decoder = Decoder::new();
    let cases: &[(&[u8], Option<&str>, &str)] = &[
        (b"Vabc\np0\n.", Some("abc"), "'abc'"),
        (b"S'abc'\np0\n.", Some("abc"), "'abc'"),
        (b"S\"it's\"\np0\n.", Some("it's"), "\"it's\""),
        // Escapes to undo: no borrowed text, the characters are still there.
        (b"Va\\u005cb\np0\n.", None, "'a\\\\b'"),
        (b"S'a\\nb'\np0\n.", None, "'a\\nb'"),
        (b"\x80\x02X\x03\x00\x00\x00abcq\x00.", Some("abc"), "'abc'"),
    ];
    for (pickle, text, repr) in cases {
        let value = decoder.decode(pickle).unwrap();
        assert_eq!(value.as_str(), *text, "{pickle:?}");
        assert_eq!(format!("{value}"), *repr, "{pickle:?}");
    }
}

/// `pickle.dumps([1, 'a', {'k': None}], 2)`: Debug shows the structure, Display the repr.
#[test]
fn debug_is_structural_and_display_the_repr() {
    let mut decoder: Decoder = Decoder::new();
    let pickle = b"\x80\x02]q\x00(K\x01X\x01\x00\x00\x00aq\x01}q\x02X\x01\x00\x00\x00kq\x03Nse.";
    let value = decoder.decode(pickle).unwrap();
    assert_eq!(format!("{value}"), "[1, 'a', {'k': None}]");
    assert_eq!(
        format!("{value:?}"),
        "List([Int(1), Str('a'), Dict({Str('k'): None})])"
    );
}

/// `pickle.dumps('a\ud800\udc00', P)`: two lone surrogates (Python does not pair them),
/// escaped in protocol 0, 'surrogatepass' UTF-8 from protocol 1.
#[test]
fn lone_surrogates_load_as_cpython_writes_them() {
    let mut decoder: Decoder = Decoder::new();
    let cases: &[&[u8]] = &[
        b"Va\\ud800\\udc00\np0\n.",
        b"X\x07\x00\x00\x00a\xed\xa0\x80\xed\xb0\x80q\x00.",
        b"\x80\x02X\x07\x00\x00\x00a\xed\xa0\x80\xed\xb0\x80q\x00.",
        b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x8c\x07a\xed\xa0\x80\xed\xb0\x80\x94.",
    ];
    for pickle in cases {
        let value = decoder.decode(pickle).unwrap();
        assert_eq!(format!("{value}"), r"'a\ud800\udc00'", "{pickle:?}");
        let Value::Str(s) = value else {
            panic!("{pickle:?}: not a str")
        };
        assert_eq!(s.code_points().collect::<Vec<_>>(), [0x61, 0xD800, 0xDC00]);
        assert_eq!((s.as_str(), s.has_surrogates()), (None, true));
        assert_eq!(s.chars().collect::<String>(), "a\u{FFFD}\u{FFFD}");
        assert_eq!(s.copy_to(&mut [0u8; 64]), None);
        assert_eq!(format!("{s:?}"), r"'a\ud800\udc00'");
        assert!(s != "a\u{FFFD}\u{FFFD}");
    }
    // The same str written two ways is equal; a U+FFFD is not a surrogate.
    let p0 = decoder.decode(cases[0]).unwrap();
    let mut other: Decoder = Decoder::new();
    let p4 = other.decode(cases[3]).unwrap();
    assert!(matches!((p0, p4), (Value::Str(a), Value::Str(b)) if a == b));
    // pickle.dumps(['\udfff', '\udfff'], 4): memoized, and quotes picked as Python does.
    let value = decoder
        .decode(b"\x80\x04\x95\r\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03\xed\xbf\xbf\x94h\x01e.")
        .unwrap();
    assert_eq!(format!("{value}"), r"['\udfff', '\udfff']");
    let value = decoder.decode(b"V'\\udfff\"\n.").unwrap();
    assert_eq!(format!("{value}"), r#"'\'\udfff"'"#);
    // The serde path cannot give one as a Rust string, and says why.
    for pickle in [cases[0], cases[3]] {
        let e = super::super::from_slice::<String>(pickle).unwrap_err();
        let e = std::string::ToString::to_string(&e);
        assert_eq!(
                e,
                "expected a str without lone surrogates (a Rust string cannot hold one), found Python str"
            );
        assert!(super::super::from_slice::<&str>(pickle).is_err());
        assert!(super::super::from_slice::<char>(b"V\\ud800\n.").is_err());
    }
}

/// Random strs with lone surrogates, pickled by CPython in every protocol, print as
/// CPython's repr and yield CPython's code points.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn lone_surrogates_match_cpython_in_every_protocol() {
    let out = python3(
        r#"
import pickle, random
r = random.Random(5)
pool = ['a', "'", '"', '\\', '\n', 'é', '€', '😀', '\udfff', '\ud800', '\udbff', '\udc00', '\ud7ff', '\ue000']
for _ in range(400):
    s = ''.join(r.choice(pool) for _ in range(r.randrange(1, 9)))
    for proto in range(6):
        print(pickle.dumps(s, proto).hex(), repr(s).encode('utf-8', 'surrogatepass').hex(), *[ord(c) for c in s])
"#,
    );
    let mut decoder: Decoder = Decoder::new();
    let mut n = 0;
    for line in out.lines() {
        let mut it = line.split(' ');
        let pickle = unhex(it.next().unwrap());
        let repr = unhex(it.next().unwrap());
        let points: Vec<u32> = it.map(|d| d.parse().unwrap()).collect();
        let value = decoder.decode(&pickle).unwrap();
        let Value::Str(s) = value else {
            panic!("{line}: not a str")
        };
        // CPython's repr of a str with surrogates has them escaped: it is UTF-8.
        assert_eq!(format!("{value}").as_bytes(), repr, "{line}");
        assert_eq!(s.code_points().collect::<Vec<_>>(), points, "{line}");
        let surrogate = points.iter().any(|p| (0xD800..0xE000).contains(p));
        assert_eq!(s.has_surrogates(), surrogate, "{line}");
        if surrogate {
            assert_eq!(s.as_str(), None, "{line}");
        }
        n += 1;
    }
    assert_eq!(n, 2400);
}

/// Python 2.7's forms of unicode with lone surrogates (its `pickle.py` `save_unicode`:
/// protocol 0 `V` + raw-unicode-escape with PUT `pN`, protocols 1-2 BINUNICODE of its
/// UTF-8, which writes a surrogate as 3 bytes, and a pair written as two code points
/// separately), load as CPython 3's C unpickler loads them: repr and code points.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn python2_lone_surrogates_as_cpython_loads_them() {
    let cases: &[&[u8]] = &[
        b"V\\ud800\np0\n.",
        b"(lp0\nV\\ud83d\\ude00\np1\naVa\\udfffb\np2\na.",
        b"(dp0\nV\\udc80\np1\nI1\nsV\\udc80\np2\nI2\ns.",
        b"X\x03\x00\x00\x00\xed\xb3\xbfq\x00.",
        b"\x80\x02X\x03\x00\x00\x00\xed\xa0\x80q\x00.",
        b"\x80\x02X\x06\x00\x00\x00\xed\xa0\xbd\xed\xb8\x80q\x00.",
        b"\x80\x02]q\x00(X\x04\x00\x00\x00a\xed\xbf\xbfq\x01h\x01U\x01aq\x02e.",
    ];
    let input: Vec<u8> = cases.iter().flat_map(|c| c.iter().copied()).collect();
    let out = super::super::oracle::python3_with_input(
        "import io, pickle
f = io.BytesIO(sys.stdin.buffer.read())
while f.tell() < len(f.getbuffer()):
    v = pickle.load(f)
    print(repr(v).encode('utf-8', 'surrogatepass').hex())",
        &input,
    );
    let mut decoder: Decoder = Decoder::new();
    let mut lines = out.lines();
    for pickle in cases {
        let want = unhex(lines.next().expect("one line per pickle"));
        let value = decoder.decode(pickle).unwrap();
        assert_eq!(format!("{value}").as_bytes(), want, "{pickle:?}");
    }
    assert_eq!(lines.next(), None);
}
