extern crate std;

use super::*;
use crate::pickle::Protocol;
use serde::Serialize;
use std::collections::BTreeMap;
use std::vec;
use std::vec::Vec;

const PROTOCOLS: [Protocol; 6] = [
    Protocol::V0,
    Protocol::V1,
    Protocol::V2,
    Protocol::V3,
    Protocol::V4,
    Protocol::V5,
];

// Fixtures: `pickle.dumps(obj, p)` for p = 0..5 from CPython 3.11.7 (each test names
// its Python object).
const CLIENTID: [&[u8]; 6] = [
    b"(dp0\nVclientid\np1\nI54321\ns.",
    b"}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
    b"\x80\x02}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
    b"\x80\x03}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
    b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.",
    b"\x80\x05\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.",
];
const IDENTITY: [&[u8]; 6] = [
    b"(dp0\nVname\np1\nVAda Lovelace\np2\nsVemail\np3\nVada@example.com\np4\nsVstudent_id\np5\nV12345678\np6\nsVgithub_username\np7\nVada\np8\ns.",
    b"}q\x00(X\x04\x00\x00\x00nameq\x01X\x0c\x00\x00\x00Ada Lovelaceq\x02X\x05\x00\x00\x00emailq\x03X\x0f\x00\x00\x00ada@example.comq\x04X\n\x00\x00\x00student_idq\x05X\x08\x00\x00\x0012345678q\x06X\x0f\x00\x00\x00github_usernameq\x07X\x03\x00\x00\x00adaq\x08u.",
    b"\x80\x02}q\x00(X\x04\x00\x00\x00nameq\x01X\x0c\x00\x00\x00Ada Lovelaceq\x02X\x05\x00\x00\x00emailq\x03X\x0f\x00\x00\x00ada@example.comq\x04X\n\x00\x00\x00student_idq\x05X\x08\x00\x00\x0012345678q\x06X\x0f\x00\x00\x00github_usernameq\x07X\x03\x00\x00\x00adaq\x08u.",
    b"\x80\x03}q\x00(X\x04\x00\x00\x00nameq\x01X\x0c\x00\x00\x00Ada Lovelaceq\x02X\x05\x00\x00\x00emailq\x03X\x0f\x00\x00\x00ada@example.comq\x04X\n\x00\x00\x00student_idq\x05X\x08\x00\x00\x0012345678q\x06X\x0f\x00\x00\x00github_usernameq\x07X\x03\x00\x00\x00adaq\x08u.",
    b"\x80\x04\x95e\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\x0cAda Lovelace\x94\x8c\x05email\x94\x8c\x0fada@example.com\x94\x8c\nstudent_id\x94\x8c\x0812345678\x94\x8c\x0fgithub_username\x94\x8c\x03ada\x94u.",
    b"\x80\x05\x95e\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\x0cAda Lovelace\x94\x8c\x05email\x94\x8c\x0fada@example.com\x94\x8c\nstudent_id\x94\x8c\x0812345678\x94\x8c\x0fgithub_username\x94\x8c\x03ada\x94u.",
];
const INTS: [&[u8]; 6] = [
    b"((lp0\nI0\naI255\naI256\naI65535\naI65536\naI-1\naI-256\naI2147483647\naI-2147483648\naL2147483648L\naL-2147483649L\naL9223372036854775807L\naL-9223372036854775808L\naL18446744073709551615L\naL170141183460469231731687303715884105727L\naL-170141183460469231731687303715884105728L\naL340282366920938463463374607431768211455L\ntp1\n.",
    b"(]q\x00(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80L2147483648L\nL-2147483649L\nL9223372036854775807L\nL-9223372036854775808L\nL18446744073709551615L\nL170141183460469231731687303715884105727L\nL-170141183460469231731687303715884105728L\neL340282366920938463463374607431768211455L\ntq\x01.",
    b"\x80\x02]q\x00(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86q\x01.",
    b"\x80\x03]q\x00(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86q\x01.",
    b"\x80\x04\x95\x8e\x00\x00\x00\x00\x00\x00\x00]\x94(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86\x94.",
    b"\x80\x05\x95\x8e\x00\x00\x00\x00\x00\x00\x00]\x94(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86\x94.",
];
const VARIANTS: [&[u8]; 6] = [
    b"(lp0\nVUnit\np1\na(dp2\nVNewtype\np3\nI7\nsa(dp4\nVTuple\np5\n(I1\nVx\np6\ntp7\nsa(dp8\nVStruct\np9\n(dp10\nVa\np11\nI01\nsVb\np12\nNssa.",
    b"]q\x00(X\x04\x00\x00\x00Unitq\x01}q\x02X\x07\x00\x00\x00Newtypeq\x03K\x07s}q\x04X\x05\x00\x00\x00Tupleq\x05(K\x01X\x01\x00\x00\x00xq\x06tq\x07s}q\x08X\x06\x00\x00\x00Structq\x09}q\n(X\x01\x00\x00\x00aq\x0bI01\nX\x01\x00\x00\x00bq\x0cNuse.",
    b"\x80\x02]q\x00(X\x04\x00\x00\x00Unitq\x01}q\x02X\x07\x00\x00\x00Newtypeq\x03K\x07s}q\x04X\x05\x00\x00\x00Tupleq\x05K\x01X\x01\x00\x00\x00xq\x06\x86q\x07s}q\x08X\x06\x00\x00\x00Structq\x09}q\n(X\x01\x00\x00\x00aq\x0b\x88X\x01\x00\x00\x00bq\x0cNuse.",
    b"\x80\x03]q\x00(X\x04\x00\x00\x00Unitq\x01}q\x02X\x07\x00\x00\x00Newtypeq\x03K\x07s}q\x04X\x05\x00\x00\x00Tupleq\x05K\x01X\x01\x00\x00\x00xq\x06\x86q\x07s}q\x08X\x06\x00\x00\x00Structq\x09}q\n(X\x01\x00\x00\x00aq\x0b\x88X\x01\x00\x00\x00bq\x0cNuse.",
    b"\x80\x04\x95H\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x04Unit\x94}\x94\x8c\x07Newtype\x94K\x07s}\x94\x8c\x05Tuple\x94K\x01\x8c\x01x\x94\x86\x94s}\x94\x8c\x06Struct\x94}\x94(\x8c\x01a\x94\x88\x8c\x01b\x94Nuse.",
    b"\x80\x05\x95H\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x04Unit\x94}\x94\x8c\x07Newtype\x94K\x07s}\x94\x8c\x05Tuple\x94K\x01\x8c\x01x\x94\x86\x94s}\x94\x8c\x06Struct\x94}\x94(\x8c\x01a\x94\x88\x8c\x01b\x94Nuse.",
];
const BYTES: [&[u8]; 6] = [
    b"(c__builtin__\nbytes\np0\n(tRp1\nc_codecs\nencode\np2\n(Vab\np3\nVlatin1\np4\ntp5\nRp6\ng6\ng2\n(V\xe9\np7\ng4\ntp8\nRp9\ng7\ntp10\n.",
    b"(c__builtin__\nbytes\nq\x00)Rq\x01c_codecs\nencode\nq\x02(X\x02\x00\x00\x00abq\x03X\x06\x00\x00\x00latin1q\x04tq\x05Rq\x06h\x06h\x02(X\x02\x00\x00\x00\xc3\xa9q\x07h\x04tq\x08Rq\x09h\x07tq\n.",
    b"\x80\x02(c__builtin__\nbytes\nq\x00)Rq\x01c_codecs\nencode\nq\x02X\x02\x00\x00\x00abq\x03X\x06\x00\x00\x00latin1q\x04\x86q\x05Rq\x06h\x06h\x02X\x02\x00\x00\x00\xc3\xa9q\x07h\x04\x86q\x08Rq\x09h\x07tq\n.",
    b"\x80\x03(C\x00q\x00C\x02abq\x01h\x01C\x01\xe9q\x02X\x02\x00\x00\x00\xc3\xa9q\x03tq\x04.",
    b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00(C\x00\x94C\x02ab\x94h\x01C\x01\xe9\x94\x8c\x02\xc3\xa9\x94t\x94.",
    b"\x80\x05\x95\x17\x00\x00\x00\x00\x00\x00\x00(C\x00\x94C\x02ab\x94h\x01C\x01\xe9\x94\x8c\x02\xc3\xa9\x94t\x94.",
];
const STRINGS: [&[u8]; 6] = [
    b"(lp0\nVa\np1\naVb\np2\nag1\naV\np3\naV\xe9\np4\naV\\U0001f600\\u000a\\u005c\np5\na.",
    b"]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02h\x01X\x00\x00\x00\x00q\x03X\x02\x00\x00\x00\xc3\xa9q\x04X\x06\x00\x00\x00\xf0\x9f\x98\x80\n\\q\x05e.",
    b"\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02h\x01X\x00\x00\x00\x00q\x03X\x02\x00\x00\x00\xc3\xa9q\x04X\x06\x00\x00\x00\xf0\x9f\x98\x80\n\\q\x05e.",
    b"\x80\x03]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02h\x01X\x00\x00\x00\x00q\x03X\x02\x00\x00\x00\xc3\xa9q\x04X\x06\x00\x00\x00\xf0\x9f\x98\x80\n\\q\x05e.",
    b"\x80\x04\x95 \x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x01a\x94\x8c\x01b\x94h\x01\x8c\x00\x94\x8c\x02\xc3\xa9\x94\x8c\x06\xf0\x9f\x98\x80\n\\\x94e.",
    b"\x80\x05\x95 \x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x01a\x94\x8c\x01b\x94h\x01\x8c\x00\x94\x8c\x02\xc3\xa9\x94\x8c\x06\xf0\x9f\x98\x80\n\\\x94e.",
];
const FLOATS: [&[u8]; 6] = [
    b"(lp0\nF1.5\naF1e+16\naF-0.0\naFinf\naF0.1\naF5e-324\na.",
    b"]q\x00(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
    b"\x80\x02]q\x00(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
    b"\x80\x03]q\x00(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
    b"\x80\x04\x95;\x00\x00\x00\x00\x00\x00\x00]\x94(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
    b"\x80\x05\x95;\x00\x00\x00\x00\x00\x00\x00]\x94(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
];

/// Asserts brine writes `want[p]` for every protocol p.
fn check<T: Serialize + ?Sized>(value: &T, want: &[&[u8]; 6]) {
    let mut buf = vec![0u8; 4096];
    for (p, want) in PROTOCOLS.iter().zip(want) {
        let got = to_slice(value, &mut buf, *p).unwrap();
        assert_eq!(&*got, *want, "protocol {p}");
    }
}

#[test]
fn clientid_dict() {
    // {'clientid': 54321}
    let mut map = BTreeMap::new();
    map.insert("clientid", 54321);
    check(&map, &CLIENTID);
}

#[derive(Serialize)]
struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: &'a str,
    github_username: &'a str,
}

const ADA: Identity<'static> = Identity {
    name: "Ada Lovelace",
    email: "ada@example.com",
    student_id: "12345678",
    github_username: "ada",
};

#[test]
fn identity_struct() {
    // {'name': 'Ada Lovelace', 'email': 'ada@example.com', 'student_id': '12345678',
    //  'github_username': 'ada'}
    check(&ADA, &IDENTITY);
}

// `pickle.dumps(obj, p)` of Python 2.7 (pickle.py) for the identity above, p = 0..2: the
// same dict with byte strings (Lib/pickle.py's save_string; CPython 3 loads it back with
// encoding='bytes').
#[cfg(feature = "python2")]
const IDENTITY_PY2: [&[u8]; 3] = [
    b"(dp0\nS'name'\np1\nS'Ada Lovelace'\np2\nsS'email'\np3\nS'ada@example.com'\np4\nsS'student_id'\np5\nS'12345678'\np6\nsS'github_username'\np7\nS'ada'\np8\ns.",
    b"}q\x00(U\x04nameq\x01U\x0cAda Lovelaceq\x02U\x05emailq\x03U\x0fada@example.comq\x04U\nstudent_idq\x05U\x0812345678q\x06U\x0fgithub_usernameq\x07U\x03adaq\x08u.",
    b"\x80\x02}q\x00(U\x04nameq\x01U\x0cAda Lovelaceq\x02U\x05emailq\x03U\x0fada@example.comq\x04U\nstudent_idq\x05U\x0812345678q\x06U\x0fgithub_usernameq\x07U\x03adaq\x08u.",
];

#[test]
#[cfg(feature = "python2")]
fn python2_types() {
    let mut buf = [0u8; 256];
    for (p, want) in PROTOCOLS.iter().zip(IDENTITY_PY2) {
        let got = to_slice(&ADA, &mut buf, Encoding::python2(*p)).unwrap();
        assert_eq!(&*got, want, "protocol {p}");
    }
    // Python 2.7: pickle.dumps(("it's", u'\xe9', 2**40, '\xff'), p) for p = 0, 2: repr
    // quoting, unicode for other text, INT text for a 64-bit int.
    let value = ("it's", "é", 1u64 << 40, serde_bytes::Bytes::new(b"\xff"));
    let got = to_slice(&value, &mut buf, Encoding::python2(Protocol::V0)).unwrap();
    assert_eq!(
        &*got,
        b"(S\"it's\"\np0\nV\xe9\np1\nI1099511627776\nS'\\xff'\np2\ntp3\n."
    );
    let got = to_slice(&value, &mut buf, Encoding::python2(Protocol::V2)).unwrap();
    assert_eq!(
        &*got,
        b"\x80\x02(U\x04it'sq\x00X\x02\x00\x00\x00\xc3\xa9q\x01I1099511627776\nU\x01\xffq\x02tq\x03."
    );
    // Protocols 3-5 are Python 3's only: the flag changes nothing there.
    for p in [Protocol::V3, Protocol::V4, Protocol::V5] {
        let mut plain = [0u8; 256];
        let want = to_slice(&value, &mut plain, p).unwrap();
        assert_eq!(
            to_slice(&value, &mut buf, Encoding::python2(p)).unwrap(),
            want
        );
    }
}

/// Encodes with protocol 4 into `buf`.
fn p4<T: Serialize + ?Sized>(value: &T, buf: &mut [u8]) -> Vec<u8> {
    to_slice(value, buf, Protocol::V4).unwrap().to_vec()
}

#[test]
fn int_boundaries() {
    // ([0, 255, 256, 65535, 65536, -1, -256, 2**31-1, -2**31, 2**31, -2**31-1, 2**63-1,
    //   -2**63, 2**64-1, 2**127-1, -2**127], 2**128-1)
    let ints: Vec<i128> = vec![
        0,
        255,
        256,
        65535,
        65536,
        -1,
        -256,
        i32::MAX.into(),
        i32::MIN.into(),
        i128::from(i32::MAX) + 1,
        i128::from(i32::MIN) - 1,
        i64::MAX.into(),
        i64::MIN.into(),
        u64::MAX.into(),
        i128::MAX,
        i128::MIN,
    ];
    check(&(ints, u128::MAX), &INTS);
    // The same through the narrower serde methods (pickle.dumps(x, 4)).
    let mut buf = [0u8; 64];
    assert_eq!(p4(&255u8, &mut buf), b"\x80\x04K\xff.");
    assert_eq!(
        p4(&-1i8, &mut buf),
        b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00J\xff\xff\xff\xff."
    );
    assert_eq!(
        p4(&65535u16, &mut buf),
        b"\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00M\xff\xff."
    );
    assert_eq!(
        p4(&i64::MIN, &mut buf),
        b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80."
    );
    assert_eq!(
        p4(&u64::MAX, &mut buf),
        b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00."
    );
    assert_eq!(
        p4(&u32::MAX, &mut buf),
        b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8a\x05\xff\xff\xff\xff\x00."
    );
}

#[derive(Serialize)]
enum Variant {
    Unit,
    Newtype(u8),
    Tuple(u8, &'static str),
    Struct { a: bool, b: Option<u8> },
}

#[test]
fn enum_variants_are_externally_tagged() {
    // ['Unit', {'Newtype': 7}, {'Tuple': (1, 'x')}, {'Struct': {'a': True, 'b': None}}]
    let value = [
        Variant::Unit,
        Variant::Newtype(7),
        Variant::Tuple(1, "x"),
        Variant::Struct { a: true, b: None },
    ];
    check(&value[..], &VARIANTS);
}

#[test]
fn bytes_and_their_memo() {
    // (b'', b'ab', b'ab', b'\xe9', '\xe9'): equal bytes are one object; in protocols 0-2
    // the one-character str decoded from b'\xe9' is the singleton '\xe9' again.
    let value = (
        serde_bytes::Bytes::new(b""),
        serde_bytes::Bytes::new(b"ab"),
        serde_bytes::Bytes::new(b"ab"),
        serde_bytes::Bytes::new(b"\xe9"),
        "\u{e9}",
    );
    check(&value, &BYTES);
}

#[test]
fn equal_strings_are_written_once() {
    // ['a', 'b', 'a', '', 'é', '😀\n\\']
    check(&["a", "b", "a", "", "é", "😀\n\\"][..], &STRINGS);
}

#[test]
fn floats() {
    // [1.5, 1e16, -0.0, float('inf'), 0.1, 5e-324]
    check(&[1.5, 1e16, -0.0, f64::INFINITY, 0.1, 5e-324][..], &FLOATS);
    let mut buf = [0u8; 32];
    assert_eq!(
        &*to_slice(&1.5f32, &mut buf, Protocol::V0).unwrap(),
        b"F1.5\n."
    );
}

#[test]
fn small_pickles_have_no_frame() {
    let mut buf = [0u8; 32];
    // pickle.dumps(None, 4), pickle.dumps(1, 4), pickle.dumps(300, 4), pickle.dumps((), 4)
    assert_eq!(p4(&(), &mut buf), b"\x80\x04N.");
    assert_eq!(p4(&1u8, &mut buf), b"\x80\x04K\x01.");
    assert_eq!(
        p4(&300u16, &mut buf),
        b"\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00M,\x01."
    );
    let empty: [u8; 0] = [];
    assert_eq!(p4(&empty, &mut buf), b"\x80\x04).");
    // A buffer too small for the reserved FRAME header still fits an unframed pickle.
    let mut tiny = [0u8; 4];
    assert_eq!(p4(&(), &mut tiny), b"\x80\x04N.");
    let mut tiny = [0u8; 5];
    assert_eq!(
        to_slice(&300u16, &mut tiny, Protocol::V4),
        Err(Error::BufferFull { capacity: 5 })
    );
}

#[test]
fn batches_of_1000() {
    let mut buf = vec![0u8; 64 * 1024];
    // pickle.dumps([None] * 1001, 2) ends with b'NNNe(Ne.'
    let list = vec![(); 1001];
    let got = to_slice(&list, &mut buf, Protocol::V2).unwrap();
    assert!(got.ends_with(b"NNNe(Ne."));
    assert_eq!(got.iter().filter(|&&b| b == b'e').count(), 2);
    // pickle.dumps({i: None for i in range(1000)}, 2) ends with b'Nu(u.' (an empty batch)
    let map: BTreeMap<u32, ()> = (0..1000).map(|i| (i, ())).collect();
    let got = to_slice(&map, &mut buf, Protocol::V2).unwrap();
    assert!(got.ends_with(b"M\xe7\x03Nu(u."));
    // pickle.dumps([None], 2) and pickle.dumps({1: None}, 2): APPEND, SETITEM
    assert_eq!(
        &*to_slice(&[()][..], &mut buf, Protocol::V2).unwrap(),
        b"\x80\x02]q\x00Na."
    );
    let one: BTreeMap<u8, ()> = [(1, ())].into_iter().collect();
    assert_eq!(
        &*to_slice(&one, &mut buf, Protocol::V2).unwrap(),
        b"\x80\x02}q\x00K\x01Ns."
    );
}

/// A struct that announces `told` fields and writes none.
struct Announced {
    told: usize,
}

impl Serialize for Announced {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        s.serialize_struct("Announced", self.told)?.end()
    }
}

#[test]
fn a_struct_without_its_announced_fields_is_an_empty_dict() {
    // The first batch's MARK, written with the dict's start, goes again.
    let mut a = vec![0u8; 64];
    let mut b = vec![0u8; 64];
    for p in PROTOCOLS {
        let empty = to_slice(&BTreeMap::<u8, u8>::new(), &mut a, p).unwrap();
        for told in [2, 3, 5000] {
            let got = to_slice(&Announced { told }, &mut b, p).unwrap();
            assert_eq!(got, empty, "protocol {p}, {told} fields announced");
        }
    }
}

/// A sequence whose length serde is not told.
struct Unsized<'a>(&'a [u8]);

impl Serialize for Unsized<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter(|_| true))
    }
}

#[test]
fn unknown_lengths_match_known_lengths() {
    let mut a = vec![0u8; 256];
    let mut b = vec![0u8; 256];
    for p in PROTOCOLS {
        for items in [&[][..], &[1], &[1, 2], &[1, 2, 3, 4, 5]] {
            let known = to_slice(&items, &mut a, p).unwrap();
            let unknown = to_slice(&Unsized(items), &mut b, p).unwrap();
            assert_eq!(known, unknown, "protocol {p} {items:?}");
        }
    }
}

#[test]
fn collect_str_is_memoized_like_str() {
    struct Shout(&'static str);
    impl core::fmt::Display for Shout {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            for part in self.0.split(' ') {
                f.write_str(part)?;
                f.write_str("!")?;
            }
            Ok(())
        }
    }
    impl Serialize for Shout {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }
    let mut a = [0u8; 128];
    let mut b = [0u8; 128];
    for p in PROTOCOLS {
        let shown = to_slice(&(Shout("a é"), "a!é!", Shout("a é")), &mut a, p).unwrap();
        let plain = to_slice(&("a!é!", "a!é!", "a!é!"), &mut b, p).unwrap();
        assert_eq!(shown, plain, "protocol {p}");
    }
}

#[test]
fn unhashable_keys_are_refused() {
    let mut buf = [0u8; 64];
    let mut map = BTreeMap::new();
    map.insert(vec![1], 2);
    assert!(matches!(
        to_slice(&map, &mut buf, Protocol::V4),
        Err(Error::Unsupported { .. })
    ));
    let map: Vec<((u8, Variant), u8)> = vec![((1, Variant::Newtype(1)), 2)];
    struct AsMap(Vec<((u8, Variant), u8)>);
    impl Serialize for AsMap {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    assert!(matches!(
        to_slice(&AsMap(map), &mut buf, Protocol::V4),
        Err(Error::Unsupported { .. })
    ));
    // Tuples of hashables are fine keys.
    let mut map = BTreeMap::new();
    map.insert((1, "a"), 2);
    assert!(to_slice(&map, &mut buf, Protocol::V4).is_ok());
}

#[test]
fn a_full_memo_is_an_error_not_other_bytes() {
    let mut buf = [0u8; 128];
    let ok = to_slice_with_memo::<3, _>(&["a", "b", "c", "a"], &mut buf, Protocol::V4);
    assert!(ok.is_ok());
    assert!(matches!(
        to_slice_with_memo::<3, _>(&["a", "b", "c", "d"], &mut buf, Protocol::V4),
        Err(Error::Capacity {
            what: Capacity::Memo,
            limit: 3,
            ..
        })
    ));
}

#[test]
fn many_distinct_strings_use_the_hash_index() {
    let strings: Vec<std::string::String> = (0..200).map(|i| std::format!("s{i}")).collect();
    let twice: Vec<&str> = strings.iter().chain(&strings).map(|s| s.as_str()).collect();
    let mut buf = vec![0u8; 8192];
    let got = to_slice(&twice, &mut buf, Protocol::V4).unwrap();
    // The second half are BINGETs of memo indexes 1..=200 (0 is the list), then APPENDS.
    let tail = got.get(got.len() - 2 - 400..got.len() - 2).unwrap();
    for (i, get) in tail.chunks(2).enumerate() {
        assert_eq!(get, [Opcode::BINGET.byte(), i as u8 + 1]);
    }
}

#[test]
fn strs_sharing_a_filter_bit_are_told_apart() {
    // Same length and first byte: the same bit in Memo::strs, so the second is compared
    // with the first (and written), the third found.
    assert_eq!(str_bit(b"axb"), str_bit(b"ayb"));
    let mut buf = [0u8; 64];
    // pickle.dumps(['axb', 'ayb', 'axb'], 4)
    assert_eq!(
        p4(&["axb", "ayb", "axb"][..], &mut buf),
        b"\x80\x04\x95\x13\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03axb\x94\x8c\x03ayb\x94h\x01e."
    );
}

#[test]
fn strs_of_the_lean_start_are_read_back_with_their_memo_indexes() {
    // The strs before the first BINGET are written without table entries; the look-up reads
    // them back from the output, across every opcode the fast paths write.
    #[derive(Serialize)]
    struct Sub {
        q: &'static str,
    }
    #[derive(Serialize)]
    struct Lean {
        a: &'static str,
        n: u32,
        m: u32,
        k: u8,
        t: bool,
        f: bool,
        z: Option<u8>,
        tup: (u8, u8),
        sub: Sub,
        again: &'static str,
    }
    let value = Lean {
        a: "xy",
        n: 300,
        m: 70000,
        k: 5,
        t: true,
        f: false,
        z: None,
        tup: (1, 2),
        sub: Sub { q: "xy" },
        again: "sub",
    };
    let mut buf = [0u8; 128];
    // pickle.dumps({'a': 'xy', 'n': 300, 'm': 70000, 'k': 5, 't': True, 'f': False,
    // 'z': None, 'tup': (1, 2), 'sub': {'q': 'xy'}, 'again': 'sub'}, 4)
    assert_eq!(
        p4(&value, &mut buf),
        b"\x80\x04\x95X\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94\x8c\x02xy\x94\x8c\x01n\x94M,\x01\x8c\x01m\x94Jp\x11\x01\x00\x8c\x01k\x94K\x05\x8c\x01t\x94\x88\x8c\x01f\x94\x89\x8c\x01z\x94N\x8c\x03tup\x94K\x01K\x02\x86\x94\x8c\x03sub\x94}\x94\x8c\x01q\x94h\x02s\x8c\x05again\x94h\x0bu."
    );
}

#[test]
fn the_hash_index_finds_strs_and_bytes_in_every_protocol() {
    // Past LINEAR_MEMO entries, values are found through hashes of their payloads as
    // written (escaped in protocol 0, latin-1 strs for bytes before protocol 3): each
    // distinct value is written once, then referenced.
    let strs: Vec<std::string::String> = (0..20)
        .map(|i| std::format!("<s{i:02}>\\\n\u{e9}"))
        .collect();
    let bytes: Vec<Vec<u8>> = (0..20)
        .map(|i| [&std::format!("<b{i:02}>").into_bytes()[..], b"\xe9\\\n"].concat())
        .collect();
    let items: Vec<(&str, &serde_bytes::Bytes)> = strs
        .iter()
        .zip(&bytes)
        .map(|(s, b)| (s.as_str(), serde_bytes::Bytes::new(b)))
        .collect();
    let mut buf = vec![0u8; 16 * 1024];
    for p in PROTOCOLS {
        let got = to_slice(&(&items, &items, &items), &mut buf, p).unwrap();
        for i in 0..20 {
            for token in [std::format!("<s{i:02}>"), std::format!("<b{i:02}>")] {
                let n = got.windows(5).filter(|w| *w == token.as_bytes()).count();
                assert_eq!(n, 1, "protocol {p}, {token}");
            }
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "too slow under Miri: a 70,000-byte str encoded at every truncation"
)]
fn every_truncation_is_buffer_full() {
    let big = "x".repeat(70_000);
    type Encode<'a> = &'a dyn Fn(&mut [u8]) -> Result<usize, Error>;
    let len = |r: Result<&mut [u8], Error>| r.map(|s| s.len());
    let encoders: [Encode<'_>; 5] = [
        &|b| len(to_slice(&ADA, b, Protocol::V4)),
        &|b| len(to_slice(&ADA, b, Protocol::V0)),
        &|b| {
            let v = (serde_bytes::Bytes::new(b"ab\xff"), "ab", [1.5, -2.0]);
            len(to_slice(&v, b, Protocol::V2))
        },
        &|b| {
            let v = [Variant::Struct {
                a: true,
                b: Some(3),
            }];
            len(to_slice(&v, b, Protocol::V1))
        },
        &|b| {
            len(to_slice(
                &(1u128 << 100, &big[..], Unsized(&[1])),
                b,
                Protocol::V5,
            ))
        },
    ];
    for (i, encode) in encoders.iter().enumerate() {
        let mut buf = vec![0u8; 1 << 20];
        let full = encode(&mut buf).unwrap();
        let mut exact = vec![0u8; full];
        assert_eq!(encode(&mut exact), Ok(full));
        let step = if full > 1000 { 97 } else { 1 };
        for n in (0..full).step_by(step).chain(full - 20..full) {
            let mut buf = vec![0u8; n];
            assert_eq!(
                encode(&mut buf),
                Err(Error::BufferFull { capacity: n }),
                "value {i}, {n} of {full} bytes"
            );
        }
    }
}
