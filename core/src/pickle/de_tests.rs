//! Tests of [`de`](super): moved out of `de.rs` to keep that file short.

use super::*;
use serde::Deserialize;

/// `pickle.dumps({'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321,
/// 'github_username': 'jortiz'}, 4)`
const IDENTITY: &[u8] = b"\x80\x04\x95^\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\nJose Ortiz\x94\x8c\x05email\x94\x8c\rjose@sfsu.edu\x94\x8c\nstudent_id\x94J1K\xb26\x8c\x0fgithub_username\x94\x8c\x06jortiz\x94u.";

/// `pickle.dumps({'a': None, 'b': 300, 'c': b'\x00\xff', 'd': [1, 2], 'e': (3, 'x')}, 4)`
const MIXED: &[u8] = b"\x80\x04\x952\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94N\x8c\x01b\x94M,\x01\x8c\x01c\x94C\x02\x00\xff\x94\x8c\x01d\x94]\x94(K\x01K\x02e\x8c\x01e\x94K\x03\x8c\x01x\x94\x86\x94u.";

#[derive(Deserialize, Debug, PartialEq)]
struct Identity<'a> {
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
