//! `pickle::from_slice` on arbitrary bytes into typed targets with borrowed `&str`, `Option`,
//! `Vec`, maps, enums, bytes and integers of every width: no panic, errors print.
#![no_main]

use std::collections::BTreeMap;
use std::fmt::Write;

use brine_core::pickle::from_slice;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Identity<'a> {
    name: &'a str,
    email: Option<&'a str>,
    student_id: Option<u32>,
    #[serde(borrow)]
    tags: Vec<&'a str>,
    #[serde(borrow, with = "serde_bytes", default)]
    blob: Option<&'a [u8]>,
    scores: Vec<(i8, f64)>,
    nested: Option<Box<Identity<'a>>>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
enum Kind<'a> {
    Unit,
    New(i128),
    Tuple(u16, bool),
    Struct { text: String, id: u64 },
    Borrowed(&'a str),
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct ClientId {
    clientid: i64,
}

fuzz_target!(|data: &[u8]| {
    let mut out = String::new();
    macro_rules! try_as {
        ($t:ty) => {
            match from_slice::<$t>(data) {
                Ok(v) => write!(out, "{v:?}").unwrap(),
                Err(e) => write!(out, "{e}").unwrap(),
            }
        };
    }
    try_as!(Identity<'_>);
    try_as!(ClientId);
    try_as!(Kind<'_>);
    try_as!(Vec<Kind<'_>>);
    try_as!(BTreeMap<String, Option<i32>>);
    try_as!((u8, String, Vec<u8>));
    try_as!(Option<&str>);
    try_as!(Vec<Vec<Vec<i64>>>);
    try_as!(f32);
    try_as!(serde::de::IgnoredAny);
});
