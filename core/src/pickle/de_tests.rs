//! Tests of [`de`](super): moved out of `de.rs` to keep that file short.

use super::*;
use serde::Deserialize;

/// `pickle.dumps({'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321,
/// 'github_username': 'jortiz'}, 4)`
const IDENTITY: &[u8] = b"\x80\x04\x95^\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\nJose Ortiz\x94\x8c\x05email\x94\x8c\rjose@sfsu.edu\x94\x8c\nstudent_id\x94J1K\xb26\x8c\x0fgithub_username\x94\x8c\x06jortiz\x94u.";

/// `pickle.dumps({'a': None, 'b': 300, 'c': b'\x00\xff', 'd': [1, 2], 'e': (3, 'x')}, 4)`
const MIXED: &[u8] = b"\x80\x04\x952\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94N\x8c\x01b\x94M,\x01\x8c\x01c\x94C\x02\x00\xff\x94\x8c\x01d\x94]\x94(K\x01K\x02e\x8c\x01e\x94K\x03\x8c\x01x\x94\x86\x94u.";

#[derive(Deserialize, Debug, PartialEq)]
pub(crate) struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: u32,
    github_username: &'a str,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Mixed<'a> {
    a: Option<u8>,
    b: u16,
    #[serde(borrow, with = "serde_bytes")]
    c: &'a [u8],
    d: [i64; 2],
    e: (u8, char),
}

#[test]
fn struct_of_borrowed_str() {
    let id: Identity = from_slice(IDENTITY).unwrap();
    assert_eq!(
        id,
        Identity {
            name: "Jose Ortiz",
            email: "jose@sfsu.edu",
            student_id: 917654321,
            github_username: "jortiz",
        }
    );
    // The strings borrow the input.
    let start = IDENTITY.as_ptr() as usize;
    assert!((id.name.as_ptr() as usize) >= start);
    assert!((id.name.as_ptr() as usize) < start + IDENTITY.len());
}

#[test]
fn options_bytes_sequences_tuples() {
    let m: Mixed = from_slice(MIXED).unwrap();
    assert_eq!(
        m,
        Mixed {
            a: None,
            b: 300,
            c: b"\x00\xff",
            d: [1, 2],
            e: (3, 'x'),
        }
    );
}

#[test]
fn integer_range_is_checked() {
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Small {
        b: u8,
    }
    let err = from_slice::<Small>(MIXED).unwrap_err();
    assert_eq!(err, Error::IntegerOutOfRange { target: "u8" });
}

#[test]
fn type_mismatch_names_python_type() {
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrong<'a> {
        a: &'a str,
    }
    let err = from_slice::<Wrong>(MIXED).unwrap_err();
    assert_eq!(
        err,
        Error::TypeMismatch {
            expected: "str",
            found: "NoneType"
        }
    );
}

#[test]
fn enums_externally_tagged() {
    #[derive(Deserialize, Debug, PartialEq)]
    enum Command {
        Stop,
        Move(u8, u8),
    }
    // pickle.dumps('Stop', 4), pickle.dumps({'Move': [1, 2]}, 4)
    let stop = b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8c\x04Stop\x94.";
    let mv =
        b"\x80\x04\x95\x13\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x04Move\x94]\x94(K\x01K\x02es.";
    assert_eq!(from_slice::<Command>(stop).unwrap(), Command::Stop);
    assert_eq!(from_slice::<Command>(mv).unwrap(), Command::Move(1, 2));
}

#[test]
fn value_deserializes_too() {
    let mut decoder: Decoder = Decoder::new();
    let value = decoder.decode(IDENTITY).unwrap();
    let name = value.as_dict().unwrap().get("name").unwrap();
    assert_eq!(name.deserialize::<&str>().unwrap(), "Jose Ortiz");
    let id: Identity = value.deserialize().unwrap();
    assert_eq!(id.student_id, 917654321);
}

/// `from_slice` against a default-sized decoder (moved here with the streaming path's
/// removal; the cases are unchanged).
mod differential {
    extern crate std;
    use super::super::super::oracle::{python3, unhex};
    use super::*;
    use serde::de::{Deserializer, MapAccess, SeqAccess};
    use std::collections::BTreeMap;
    use std::format;
    use std::string::String;

    /// Everything serde's `deserialize_any` shows of a value, as text.
    #[derive(Debug)]
    struct Trace(#[allow(dead_code)] String);

    impl<'de> Deserialize<'de> for Trace {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(TraceVisitor).map(Trace)
        }
    }

    struct TraceVisitor;

    macro_rules! trace {
        ($($method:ident: $ty:ty,)*) => {
            $(fn $method<E: de::Error>(self, v: $ty) -> Result<String, E> {
                Ok(format!("{}({:?})", stringify!($method), v))
            })*
        };
    }

    impl<'de> Visitor<'de> for TraceVisitor {
        type Value = String;

        fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            f.write_str("anything")
        }

        trace! {
            visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128,
            visit_str: &str, visit_borrowed_str: &'de str, visit_bytes: &[u8],
            visit_borrowed_bytes: &'de [u8],
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(format!("f64({:x})", v.to_bits()))
        }

        fn visit_unit<E: de::Error>(self) -> Result<String, E> {
            Ok("unit".into())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
            let mut out = format!("seq{:?}[", seq.size_hint());
            while let Some(Trace(item)) = seq.next_element()? {
                out += &format!("{item}, ");
            }
            Ok(out + "]")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
            let mut out = format!("map{:?}{{", map.size_hint());
            while let Some(Trace(key)) = map.next_key()? {
                let Trace(value) = map.next_value()?;
                out += &format!("{key}: {value}, ");
            }
            Ok(out + "}")
        }
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Hello {
        clientid: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Identity<'a> {
        name: &'a str,
        email: Option<&'a str>,
        student_id: i64,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    #[serde(default)]
    struct Fields<'a> {
        a: Option<f32>,
        b: bool,
        c: String,
        #[serde(borrow, with = "serde_bytes")]
        ab: &'a [u8],
        ba: Option<char>,
        x: i8,
    }

    impl Default for Fields<'_> {
        fn default() -> Self {
            Fields {
                a: None,
                b: false,
                c: String::new(),
                ab: b"",
                ba: None,
                x: 0,
            }
        }
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum Command {
        Stop,
        Move(u8),
        Go { c: u8 },
    }

    /// `from_slice` (a small decoder first) and `Decoder::deserialize` against a default-sized
    /// decoder read by the general deserializer alone (no `NodeDe` shortcut), on one input as
    /// one target type: the same value or the same error.
    fn agree<'a, T: Deserialize<'a> + core::fmt::Debug>(
        machine: &'a mut Decoder,
        reused: &mut Decoder,
        input: &'a [u8],
    ) {
        let want = format!("{:?}", from_slice_by_machine::<T>(machine, input));
        let got = format!("{:?}", from_slice::<T>(input));
        let what = core::any::type_name::<T>();
        assert_eq!(got, want, "from_slice, {input:x?} as {what}");
        let got = format!("{:?}", reused.deserialize::<T>(input));
        assert_eq!(got, want, "Decoder::deserialize, {input:x?} as {what}");
    }

    fn agree_all(input: &[u8]) {
        let (mut m, mut r): (Decoder, Decoder) = (Decoder::new(), Decoder::new());
        agree::<Trace>(&mut m, &mut r, input);
        agree::<Hello>(&mut m, &mut r, input);
        agree::<Identity<'_>>(&mut m, &mut r, input);
        agree::<Fields<'_>>(&mut m, &mut r, input);
        agree::<BTreeMap<&str, Option<i64>>>(&mut m, &mut r, input);
        agree::<BTreeMap<String, Trace>>(&mut m, &mut r, input);
        agree::<Command>(&mut m, &mut r, input);
        agree::<(u8, String)>(&mut m, &mut r, input);
        agree::<Option<Hello>>(&mut m, &mut r, input);
        agree::<&str>(&mut m, &mut r, input);
        agree::<de::IgnoredAny>(&mut m, &mut r, input);
    }

    /// Random objects pickled by CPython in protocols 0–5, most of them dicts of str keys to
    /// scalars (the lab's shape; once the streaming path's) and many near it: int keys, nesting, a str object
    /// twice (a memo read), more than 8 entries, big ints, lone surrogates (invalid
    /// UTF-8), keys whose filter bits collide ('ab' and 'c').
    const RANDOM_PICKLES: &str = r#"
import pickle, random
r = random.Random(14)
def scalar():
    return r.choice([None, True, False, r.randrange(256), r.randrange(65536),
        r.randrange(-2**31, 2**31), r.randrange(-2**63, 2**63), r.randrange(2**63, 2**70),
        -r.randrange(2**63 + 1, 2**70), r.random() * 1e6 - 5e5, float('nan'), -0.0,
        'x' * r.randrange(300), 'é' + str(r.randrange(99)), '\ud800', 'a',
        b'\x00\xff' * r.randrange(3), b'x' * 300, bytearray(b'ab')])
def key():
    if r.random() < 0.05:
        return r.randrange(5)
    return r.choice(['clientid', 'name', 'email', 'student_id', 'a', 'b', 'c', 'ab', 'ba',
        'x', 'Stop', 'Move', 'Go', 'é', '\ud800', 'k' * r.randrange(1, 70)])
def obj(depth=0):
    k = r.randrange(10)
    if k < 7:
        d, shared = {}, 'shared' + str(r.randrange(3))
        for _ in range(r.choice([0, 1, 1, 2, 3, 4, 5, 16, 17, 20])):
            v = obj(depth + 1) if depth == 0 and r.random() < 0.1 else scalar()
            d[key()] = shared if r.random() < 0.05 else v
        return d
    if k == 7:
        return [scalar() for _ in range(r.randrange(4))]
    if k == 8:
        return tuple(scalar() for _ in range(r.randrange(4)))
    return scalar()
for _ in range(150):
    o = obj()
    for p in range(6):
        print(pickle.dumps(o, p).hex())
"#;

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn from_slice_agrees_with_the_machine_on_random_cpython_pickles() {
        for line in python3(RANDOM_PICKLES).lines() {
            let pickle = unhex(line);
            agree_all(&pickle);
            // Cut short, and one byte changed: errors agree too.
            for cut in [1, 2, pickle.len() / 2, pickle.len() - 1] {
                agree_all(&pickle[..cut]);
            }
            for i in (0..pickle.len()).step_by(11) {
                let mut bad = pickle.clone();
                bad[i] ^= 0x41;
                agree_all(&bad);
            }
        }
    }

    /// Pickles near the lab's shape that the removed streaming path left to the machine.
    #[test]
    fn near_misses_agree_with_the_machine() {
        let refused: &[&[u8]] = &[
            // A repeated key, read the machine's way (the last value wins).
            b"\x80\x04}\x94(\x8c\x01a\x94K\x01\x8c\x01a\x94K\x02u.",
            // Keys 'ab' and 'c' share a filter bit: compared, different, taken (below).
            // A memo index out of sequence, a memo read, a nested list, a big int.
            b"\x80\x04}q\x05(\x8c\x01aK\x01u.",
            b"\x80\x04}\x94(\x8c\x01a\x94h\x01u.",
            b"\x80\x04}\x94(\x8c\x01a\x94]\x94u.",
            b"\x80\x04}\x94(\x8c\x01a\x94\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01u.",
            // A FRAME longer than the input, a protocol above 5, no STOP.
            b"\x80\x04\x95\x40\x00\x00\x00\x00\x00\x00\x00}\x94.",
            b"\x80\x06}.",
            b"\x80\x04}\x94(\x8c\x01aK\x01u",
        ];
        // Containers inside themselves (refused when read, skipped fields included).
        let cycles: &[&[u8]] = &[
            b"]q\x00h\x00a.",
            b"}q\x00X\x01\x00\x00\x00ah\x00s.",
            b"}q\x00(X\x02\x00\x00\x00zzh\x00X\x08\x00\x00\x00clientidK\x07u.",
            b"}q\x00(X\x08\x00\x00\x00clientidK\x07X\x01\x00\x00\x00c]q\x01h\x01au.",
        ];
        for input in refused.iter().chain(cycles) {
            agree_all(input);
        }
        agree_all(b"\x80\x04}\x94(\x8c\x02ab\x94K\x01\x8c\x01c\x94K\x02u.");
    }
}

/// A corpus around the shapes the lab sends (CPython's bytes, every truncation, many one-byte
/// changes, `decode::corpus`): `from_slice` against a default decoder then serde.
mod corpus {
    extern crate std;
    use serde::Deserialize;
    use std::string::String;
    use std::vec::Vec;

    use crate::pickle::decode::corpus::corpus;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Identity<'a> {
        name: &'a str,
        email: Option<&'a str>,
        student_id: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Hello {
        clientid: i64,
    }

    /// `from_slice` (a small decoder first) and a default decoder followed by the same serde
    /// code agree, on values and on errors.
    #[test]
    fn from_slice_agrees_with_the_machine() {
        fn check<'a, T: Deserialize<'a> + core::fmt::Debug>(
            machine: &'a mut crate::pickle::Decoder,
            input: &'a [u8],
        ) {
            let fast = std::format!("{:?}", crate::pickle::from_slice::<T>(input));
            let slow = std::format!(
                "{:?}",
                crate::pickle::de::from_slice_by_machine::<T>(machine, input)
            );
            assert_eq!(fast, slow, "{input:x?} as {}", core::any::type_name::<T>());
        }
        let mut machine: crate::pickle::Decoder = crate::pickle::Decoder::new();
        let m = &mut machine;
        // Five target types per input: under Miri a tenth of its sample.
        for input in corpus()
            .into_iter()
            .step_by(if cfg!(miri) { 10 } else { 1 })
        {
            check::<Hello>(m, &input);
            check::<Identity<'_>>(m, &input);
            check::<std::collections::BTreeMap<String, Option<i32>>>(m, &input);
            check::<Vec<i64>>(m, &input);
            check::<(u8, String, Vec<u8>)>(m, &input);
            check::<&str>(m, &input);
            check::<serde::de::IgnoredAny>(m, &input);
        }
    }
}
