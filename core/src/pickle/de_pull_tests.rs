//! Tests of [`de_pull`](super): the pull path, and `from_slice` and `Decoder::deserialize`
//! that try it first, give the general path's value or error on every input (the general
//! path: a default decoder's machine, then serde over its arena with every request sent to
//! the general deserializer), and the pull path is taken for the lab's shapes.

extern crate std;

use core::fmt::Debug;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::format;
use std::string::String;
use std::vec::Vec;

use super::pull;
use crate::pickle::de::from_slice_by_machine;
use crate::pickle::de::tests::Identity;
use crate::pickle::oracle::unhex;
use crate::pickle::{from_slice, Decoder};

/// `pickle.dumps({'clientid': 54321}, 4)`, CPython 3.11 (`core/benches/fixtures/`).
const CLIENTID: &[u8] = include_bytes!("../../benches/fixtures/clientid.pickle");
/// `pickle.dumps({'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321,
/// 'github_username': 'jortiz'}, 4)`, CPython 3.11.
const IDENTITY: &[u8] = include_bytes!("../../benches/fixtures/identity.pickle");

/// The same two dicts from Python 2.7.18 (`$(pyenv root)/versions/2.7.18/bin/python`,
/// `binascii.hexlify(pickle.dumps(d, p))` for protocols 0, 1, 2), with `str` keys and
/// values (Python 2's bytes: SHORT_BINSTRING, which the pull path leaves to the general
/// path), then with `unicode` ones (BINUNICODE, which it takes).
const PYTHON_2_7: &[&str] = &[
    "286470300a5327636c69656e746964270a70310a4935343332310a732e",
    "7d71005508636c69656e74696471014d31d4732e",
    "80027d71005508636c69656e74696471014d31d4732e",
    "286470300a56636c69656e7469640a70310a4935343332310a732e",
    "7d71005808000000636c69656e74696471014d31d4732e",
    "80027d71005808000000636c69656e74696471014d31d4732e",
    "286470300a532773747564656e745f6964270a70310a493931373635343332310a7353276769746875625f757365726e616d65270a70320a53276a6f7274697a270a70330a7353276e616d65270a70340a53274a6f7365204f7274697a270a70350a735327656d61696c270a70360a53276a6f736540736673752e656475270a70370a732e",
    "7d710028550a73747564656e745f696471014a314bb236550f6769746875625f757365726e616d65710255066a6f7274697a710355046e616d657104550a4a6f7365204f7274697a71055505656d61696c7106550d6a6f736540736673752e6564757107752e",
    "80027d710028550a73747564656e745f696471014a314bb236550f6769746875625f757365726e616d65710255066a6f7274697a710355046e616d657104550a4a6f7365204f7274697a71055505656d61696c7106550d6a6f736540736673752e6564757107752e",
    "286470300a5673747564656e745f69640a70310a493931373635343332310a73566769746875625f757365726e616d650a70320a566a6f7274697a0a70330a73566e616d650a70340a564a6f7365204f7274697a0a70350a7356656d61696c0a70360a566a6f736540736673752e6564750a70370a732e",
    "7d710028580a00000073747564656e745f696471014a314bb236580f0000006769746875625f757365726e616d65710258060000006a6f7274697a710358040000006e616d657104580a0000004a6f7365204f7274697a71055805000000656d61696c7106580d0000006a6f736540736673752e6564757107752e",
    "80027d710028580a00000073747564656e745f696471014a314bb236580f0000006769746875625f757365726e616d65710258060000006a6f7274697a710358040000006e616d657104580a0000004a6f7365204f7274697a71055805000000656d61696c7106580d0000006a6f736540736673752e6564757107752e",
];

#[derive(Deserialize, Debug, PartialEq)]
struct Hello {
    clientid: u32,
}

/// Every leaf type a value may be, each optional.
#[derive(Deserialize, Debug, PartialEq)]
#[serde(default)]
struct Leaves<'a> {
    clientid: Option<i64>,
    name: Option<&'a str>,
    student_id: Option<u8>,
    b: Option<bool>,
    f: Option<f64>,
    n: Option<()>,
    s: Option<String>,
}

impl Default for Leaves<'_> {
    fn default() -> Self {
        Leaves {
            clientid: Some(-7),
            name: None,
            student_id: None,
            b: None,
            f: None,
            n: None,
            s: None,
        }
    }
}

/// A dict's entries in the order the visitor is given them, keys as text (a repeated key
/// read twice would show here, where a struct or `BTreeMap` would hide it).
#[derive(Debug, PartialEq)]
struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a dict")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Text>()?;
                    pairs.push((key, value.0));
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

/// What `deserialize_any` shows of a leaf.
#[derive(Debug, PartialEq)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        macro_rules! show {
            ($($method:ident: $ty:ty,)*) => {$(
                fn $method<E: de::Error>(self, v: $ty) -> Result<Text, E> {
                    Ok(Text(format!("{}({v:?})", stringify!($method))))
                }
            )*};
        }
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a leaf")
            }
            show! {
                visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64,
                visit_str: &str, visit_bytes: &[u8],
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text("unit".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `from_slice::<T>` and `Decoder::deserialize::<T>` (both pull first) against the general
/// path, on `input`: the same value or the same error. Whether the pull path itself took
/// the input (then its value is the general path's too).
fn agrees<'a, T: Deserialize<'a> + Debug>(machine: &'a mut Decoder, input: &'a [u8]) -> bool {
    let general = format!("{:?}", from_slice_by_machine::<T>(machine, input));
    let what = core::any::type_name::<T>();
    let got = format!("{:?}", from_slice::<T>(input));
    assert_eq!(got, general, "from_slice, {input:x?} as {what}");
    let got = format!(
        "{:?}",
        Decoder::<129, 128, 130, 385>::new().deserialize::<T>(input)
    );
    assert_eq!(got, general, "Decoder::deserialize, {input:x?} as {what}");
    match pull::<T>(input) {
        Ok(t) => {
            let got = format!("{:?}", Ok::<T, crate::pickle::Error>(t));
            assert_eq!(got, general, "the pull path, {input:x?} as {what}");
            true
        }
        Err(_) => false,
    }
}

/// [`agrees`] for each target type; whether the pull path took it as a `Hello`.
fn agree_all(input: &[u8]) -> [bool; 3] {
    let mut m: Decoder = Decoder::new();
    let hello = agrees::<Hello>(&mut m, input);
    let identity = agrees::<Identity<'_>>(&mut m, input);
    let leaves = agrees::<Leaves<'_>>(&mut m, input);
    agrees::<Pairs>(&mut m, input);
    agrees::<BTreeMap<&str, Text>>(&mut m, input);
    agrees::<Option<Hello>>(&mut m, input);
    agrees::<de::IgnoredAny>(&mut m, input);
    agrees::<BTreeMap<String, de::IgnoredAny>>(&mut m, input);
    [hello, identity, leaves]
}

#[test]
fn the_lab_shapes_take_the_pull_path() {
    assert_eq!(
        pull::<Hello>(CLIENTID).ok(),
        Some(Hello { clientid: 54321 })
    );
    assert!(pull::<Identity>(IDENTITY).is_ok());
    assert!(pull::<BTreeMap<&str, Text>>(IDENTITY).is_ok());
    assert!(pull::<Pairs>(IDENTITY).is_ok());
    assert_eq!(agree_all(CLIENTID), [true, false, true]);
    assert_eq!(agree_all(IDENTITY), [false, true, false]);
}

/// Every truncation and a changed byte at every position (three ways), of both fixtures.
#[test]
fn truncations_and_changed_bytes_agree_with_the_general_path() {
    // Under Miri, every ninth cut and position, one change each.
    let step = if cfg!(miri) { 9 } else { 1 };
    let flips: &[u8] = if cfg!(miri) {
        &[0x20]
    } else {
        &[0x01, 0x20, 0x80]
    };
    for fixture in [CLIENTID, IDENTITY] {
        for cut in (0..fixture.len()).step_by(step) {
            agree_all(&fixture[..cut]);
        }
        for at in (0..fixture.len()).step_by(step) {
            for &flip in flips {
                let mut bad = fixture.to_vec();
                bad[at] ^= flip;
                agree_all(&bad);
            }
        }
    }
}

/// Shapes the pull path must give up on or read exactly: repeated keys (Python keeps the
/// first key with the last value), ints out of a field's range, keys and values that are
/// not UTF-8, items after a MARK or one SETITEM at a time, memo opcodes, protocol and
/// FRAME variants.
#[test]
fn near_shapes_agree_with_the_general_path() {
    let cases: &[(&[u8], [bool; 3])] = &[
        // Repeated keys: in one SETITEMS, over two, by SETITEM, an ignored key twice.
        (b"\x80\x04}\x94(\x8c\x08clientid\x94K\x01\x8c\x08clientid\x94K\x02u.", [false; 3]),
        (b"\x80\x04}(\x8c\x08clientidK\x01u(\x8c\x08clientidK\x02u.", [false; 3]),
        (b"}\x8c\x08clientidK\x01s\x8c\x08clientidK\x02s.", [false; 3]),
        (b"}(\x8c\x01zK\x01\x8c\x08clientidK\x05\x8c\x01zK\x02u.", [false; 3]),
        // An empty key twice (its filter byte is its length's last byte), by both opcodes.
        (b"}(\x8c\x00K\x01\x8c\x00K\x02u.", [false; 3]),
        (b"}(X\x00\x00\x00\x00K\x01\x8c\x00K\x02u.", [false; 3]),
        // Different keys of one filter bit ('ab' and 'zb' ... length + last byte).
        (b"}(\x8c\x02abK\x01\x8c\x02zbK\x02\x8c\x08clientidK\x05u.", [false; 3]),
        // Ints: -1, 2**31 - 1, 300 into u32 / u8 / i64 fields.
        (b"\x80\x04}\x94\x8c\x08clientid\x94J\xff\xff\xff\xffs.", [false, false, true]),
        (b"}\x8c\x08clientidJ\xff\xff\xff\x7fs.", [true, false, true]),
        (b"}(\x8c\x08clientidK\x01\x8c\nstudent_idM,\x01u.", [true, false, false]),
        // Keys and values that are not UTF-8.
        (b"}(\x8c\x02\xff\xfeK\x01\x8c\x08clientidK\x02u.", [true, false, true]),
        (b"}(\x8c\x04name\x8c\x01\xff\x8c\x08clientidK\x02u.", [true, false, false]),
        (b"}(\x8c\x01s\x8c\x02\xc3(\x8c\x08clientidK\x02u.", [true, false, false]),
        // Every leaf opcode, BINPUT and MEMOIZE after them, a memo index past the end.
        (
            b"\x80\x02}q\x00(X\x01\x00\x00\x00bq\x01\x88X\x01\x00\x00\x00fq\x02G?\xf8\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00nq\xffNX\x08\x00\x00\x00clientid\x94M\x01\x01X\x01\x00\x00\x00s\x94\x8c\x03abc\x94u.",
            [true, false, true],
        ),
        (b"}(\x8c\x01b\x89\x8c\x01nN\x8c\x04name\x8c\x00u.", [false, false, true]),
        // Empty SETITEMS, a MARK left open, a MARK inside a MARK, no STOP, bytes after STOP.
        (b"}(u(\x8c\x08clientidK\x01u.", [true, false, true]),
        (b"}(\x8c\x08clientidK\x01.", [false; 3]),
        (b"}((\x8c\x08clientidK\x01uu.", [false; 3]),
        (b"}\x8c\x08clientidK\x01s", [false; 3]),
        (b"}\x8c\x08clientidK\x01s.\xff\xff", [true, false, true]),
        // A key without a value, a value opcode as a key, a SETITEM missing.
        // A MARK right after the dict (read with it), a SETITEMS before STOP (read with
        // it) or before something else.
        (b"}(u.", [false, false, true]),
        (b"}\x94(\x8c\x08clientidK\x01u(u.", [true, false, true]),
        (b"}(\x8c\x08clientidK\x01u\x94.", [false; 3]),
        (b"}(\x8c\x08clientidK\x01uu.", [false; 3]),
        (b"}(\x8c\x08clientidu.", [false; 3]),
        (b"}(K\x01K\x02u.", [false; 3]),
        (b"}\x8c\x08clientidK\x01\x8c\x01aK\x02s.", [false; 3]),
        // A MEMOIZE after a MARK, two after one value, one after SETITEM.
        (b"}(\x94\x8c\x08clientidK\x01u.", [false; 3]),
        (b"}(\x8c\x08clientidK\x01\x94\x94u.", [false; 3]),
        (b"}\x94\x8c\x08clientidK\x01s\x94.", [false; 3]),
        // PROTO 5 and 0, PROTO 6, FRAME past the input, FRAME short of STOP, a second FRAME.
        (b"\x80\x05\x95\x0f\x00\x00\x00\x00\x00\x00\x00}\x8c\x08clientidK\x01s.", [true, false, true]),
        (b"\x80\x00}\x8c\x08clientidK\x01s.", [true, false, true]),
        (b"\x80\x06}\x8c\x08clientidK\x01s.", [false; 3]),
        (b"\x80\x04\x95\x40\x00\x00\x00\x00\x00\x00\x00}\x8c\x08clientidK\x01s.", [false; 3]),
        (b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x8c\x08clientidK\x01s.", [false; 3]),
        (b"\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00}\x95\x0e\x00\x00\x00\x00\x00\x00\x00\x8c\x08clientidK\x01s.", [false; 3]),
        // Not a dict, a dict inside, a list value, a big int, bytes.
        (b"\x80\x04K\x01.", [false; 3]),
        (b"}\x8c\x08clientid}s.", [false; 3]),
        (b"}\x8c\x08clientid]s.", [false; 3]),
        (b"}\x8c\x08clientid\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01s.", [false; 3]),
        (b"}\x8c\x01sC\x01as.", [false; 3]),
    ];
    for (input, pulled) in cases {
        assert_eq!(agree_all(input), *pulled, "{input:x?}");
    }
}

/// The dicts of the fixtures as CPython 3 pickles them in protocols 0-5 (taken by the pull
/// path from protocol 1 on), and as Python 2.7 did (taken where its keys are `unicode`).
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn every_protocol_from_cpython_3_and_python_2_7() {
    let script = "import pickle\n\
        for d in [{'clientid': 54321}, {'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', \
        'student_id': 917654321, 'github_username': 'jortiz'}, {'b': True, 'f': -0.5, \
        'n': None, 's': 'é' * 300, 'clientid': -2**31}]:\n    \
        for p in range(6):\n        print(p, pickle.dumps(d, p).hex())";
    let out = crate::pickle::oracle::python3(script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 18);
    for (i, line) in lines.iter().enumerate() {
        let (protocol, hex) = line.split_once(' ').unwrap();
        let protocol: u8 = protocol.parse().unwrap();
        let took = agree_all(&unhex(hex)).iter().any(|&t| t);
        // Protocol 1 writes True as INT (`I01`), which the pull path leaves.
        let first = if i < 12 { 1 } else { 2 };
        assert_eq!(
            took,
            protocol >= first,
            "dict {}, protocol {protocol}",
            i / 6
        );
    }
    let took: Vec<bool> = PYTHON_2_7
        .iter()
        .map(|hex| agree_all(&unhex(hex)).iter().any(|&t| t))
        .collect();
    let unicode_binary = [false, false, false, false, true, true];
    assert_eq!(took, [unicode_binary, unicode_binary].concat());
}

/// A visitor that asks the map's size, or reads a key twice, leaves the pull path.
#[test]
fn size_hint_and_out_of_order_calls_give_up() {
    struct Sized(Option<usize>);
    impl<'de> Deserialize<'de> for Sized {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Sized;
                fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                    f.write_str("a dict")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sized, A::Error> {
                    let hint = map.size_hint();
                    while map
                        .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                        .is_some()
                    {}
                    Ok(Sized(hint))
                }
            }
            d.deserialize_map(V)
        }
    }
    assert!(pull::<Sized>(IDENTITY).is_err());
    assert_eq!(from_slice::<Sized>(IDENTITY).unwrap().0, Some(4));

    struct TwoKeys;
    impl<'de> Deserialize<'de> for TwoKeys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = TwoKeys;
                fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                    f.write_str("a dict")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TwoKeys, A::Error> {
                    while map.next_key::<de::IgnoredAny>()?.is_some() {}
                    Ok(TwoKeys)
                }
            }
            d.deserialize_map(V)
        }
    }
    assert!(pull::<TwoKeys>(IDENTITY).is_err());
    assert!(from_slice::<TwoKeys>(IDENTITY).is_ok());
}
