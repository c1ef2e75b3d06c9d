//! brine's pickle codec against serde-pickle, on CPython's own bytes.
//!
//! Fixtures (`benches/fixtures/*.pickle`) are `pickle.dumps(obj, 4)` from CPython, written by
//! `fixtures/gen_fixtures.py`; `bench/cpython_codec.py` times CPython on the same bytes and
//! `bench/codec_report.sh` prints the ratios.
//!
//! Benchmark ids are `<group>/<function>`; codec_report.sh reads them from target/criterion.
//! - `a_decode_clientid`: the lab server's `{'clientid': 54321}`.
//! - `b_decode_identity`: the identity dict, into a struct (brine: `&str` fields borrowed from
//!   the input; serde-pickle: `String` fields, as it can't lend strings) and into a value tree.
//! - `c_decode_message`: a 3.6 KB list of 40 dicts, into a value tree.
//! - `d_encode_identity`, `e_encode_clientid`: brine writes protocol 4, byte-identical to
//!   CPython (checked once, outside the timing); serde-pickle writes protocol 3 only (no FRAME,
//!   no memo, BINUNICODE instead of SHORT_BINUNICODE), so its bytes differ and are not checked.

use std::hint::black_box;

use brine_core::pickle::{self, Decoder, Protocol};
use criterion::{criterion_group, criterion_main, Criterion};
use serde::{Deserialize, Serialize};

const CLIENTID: &[u8] = include_bytes!("fixtures/clientid.pickle");
const IDENTITY: &[u8] = include_bytes!("fixtures/identity.pickle");
/// The `brine_value` benches decode a fixture and its twin in turn, so each is a first decode
/// (gen_fixtures.py says why); `brine_value_repeat`, the same pickle over and over.
const CLIENTID_TWIN: &[u8] = include_bytes!("fixtures/clientid_twin.pickle");
const IDENTITY_TWIN: &[u8] = include_bytes!("fixtures/identity_twin.pickle");
const MESSAGE: &[u8] = include_bytes!("fixtures/message.pickle");
const MESSAGE_REPR: &str = include_str!("fixtures/message.repr");

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Hello {
    clientid: u32,
}

/// brine's target: strings borrowed from the pickle.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: u32,
    github_username: &'a str,
}

/// serde-pickle's target: it reads through `std::io::Read` and hands out owned strings only.
#[derive(Debug, PartialEq, Deserialize)]
struct IdentityOwned {
    name: String,
    email: String,
    student_id: u32,
    github_username: String,
}

const ME: Identity<'static> = Identity {
    name: "Jose Ortiz",
    email: "jose@sfsu.edu",
    student_id: 917_654_321,
    github_username: "jortiz",
};

fn de_opts() -> serde_pickle::DeOptions {
    serde_pickle::DeOptions::new()
}

fn ser_opts() -> serde_pickle::SerOptions {
    serde_pickle::SerOptions::new()
}

fn decode_clientid(c: &mut Criterion) {
    let mut g = c.benchmark_group("a_decode_clientid");
    g.bench_function("brine_value", |b| {
        let mut decoder: Decoder = Decoder::new();
        assert_eq!(
            decoder.decode(CLIENTID).unwrap().to_string(),
            "{'clientid': 54321}"
        );
        let mut twin = false;
        b.iter(|| {
            twin = !twin;
            let input = if twin { CLIENTID_TWIN } else { CLIENTID };
            let value = decoder.decode(black_box(input)).unwrap();
            black_box(value);
        })
    });
    g.bench_function("brine_value_repeat", |b| {
        let mut decoder: Decoder = Decoder::new();
        b.iter(|| {
            let value = decoder.decode(black_box(CLIENTID)).unwrap();
            black_box(value);
        })
    });
    g.bench_function("brine_struct", |b| {
        assert_eq!(
            pickle::from_slice::<Hello>(CLIENTID),
            Ok(Hello { clientid: 54321 })
        );
        b.iter(|| black_box(pickle::from_slice::<Hello>(black_box(CLIENTID)).unwrap()))
    });
    g.bench_function("serde_pickle_value", |b| {
        b.iter(|| {
            black_box(serde_pickle::value_from_slice(black_box(CLIENTID), de_opts()).unwrap())
        })
    });
    g.bench_function("serde_pickle_struct", |b| {
        assert_eq!(
            serde_pickle::from_slice::<Hello>(CLIENTID, de_opts()).unwrap(),
            Hello { clientid: 54321 }
        );
        b.iter(|| {
            black_box(serde_pickle::from_slice::<Hello>(black_box(CLIENTID), de_opts()).unwrap())
        })
    });
    g.finish();
}

fn decode_identity(c: &mut Criterion) {
    let mut g = c.benchmark_group("b_decode_identity");
    g.bench_function("brine_struct_borrowed", |b| {
        assert_eq!(pickle::from_slice::<Identity>(IDENTITY), Ok(ME));
        b.iter(|| black_box(pickle::from_slice::<Identity>(black_box(IDENTITY)).unwrap()))
    });
    g.bench_function("brine_value", |b| {
        let mut decoder: Decoder = Decoder::new();
        let mut twin = false;
        b.iter(|| {
            twin = !twin;
            let input = if twin { IDENTITY_TWIN } else { IDENTITY };
            let value = decoder.decode(black_box(input)).unwrap();
            black_box(value);
        })
    });
    g.bench_function("brine_value_repeat", |b| {
        let mut decoder: Decoder = Decoder::new();
        b.iter(|| {
            let value = decoder.decode(black_box(IDENTITY)).unwrap();
            black_box(value);
        })
    });
    g.bench_function("serde_pickle_struct", |b| {
        let got = serde_pickle::from_slice::<IdentityOwned>(IDENTITY, de_opts()).unwrap();
        assert_eq!(
            (got.name.as_str(), got.student_id),
            (ME.name, ME.student_id)
        );
        b.iter(|| {
            black_box(
                serde_pickle::from_slice::<IdentityOwned>(black_box(IDENTITY), de_opts()).unwrap(),
            )
        })
    });
    g.bench_function("serde_pickle_value", |b| {
        b.iter(|| {
            black_box(serde_pickle::value_from_slice(black_box(IDENTITY), de_opts()).unwrap())
        })
    });
    g.finish();
}

fn decode_message(c: &mut Criterion) {
    let mut g = c.benchmark_group("c_decode_message");
    g.bench_function("brine_value", |b| {
        let mut decoder: Decoder = Decoder::new();
        assert_eq!(decoder.decode(MESSAGE).unwrap().to_string(), MESSAGE_REPR);
        b.iter(|| {
            let value = decoder.decode(black_box(MESSAGE)).unwrap();
            black_box(value);
        })
    });
    g.bench_function("serde_pickle_value", |b| {
        assert!(matches!(
            serde_pickle::value_from_slice(MESSAGE, de_opts()).unwrap(),
            serde_pickle::Value::List(ref records) if records.len() == 40
        ));
        b.iter(|| black_box(serde_pickle::value_from_slice(black_box(MESSAGE), de_opts()).unwrap()))
    });
    g.finish();
}

fn encode_identity(c: &mut Criterion) {
    let mut g = c.benchmark_group("d_encode_identity");
    g.bench_function("brine_to_slice_v4", |b| {
        let mut buf = [0u8; 256];
        let out = pickle::to_slice(&ME, &mut buf, Protocol::V4).unwrap();
        assert_eq!(&*out, IDENTITY, "brine's bytes differ from CPython's");
        b.iter(|| {
            let out = pickle::to_slice(black_box(&ME), &mut buf, Protocol::V4).unwrap();
            black_box(out.len());
        })
    });
    g.bench_function("serde_pickle_to_vec_v3", |b| {
        b.iter(|| black_box(serde_pickle::to_vec(black_box(&ME), ser_opts()).unwrap()))
    });
    g.bench_function("serde_pickle_to_writer_v3", |b| {
        // Reuses one Vec: no allocation per call, the fairest comparison with to_slice.
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            serde_pickle::to_writer(&mut out, black_box(&ME), ser_opts()).unwrap();
            black_box(out.len());
        })
    });
    g.finish();
}

fn encode_clientid(c: &mut Criterion) {
    let mut g = c.benchmark_group("e_encode_clientid");
    let hello = Hello { clientid: 54321 };
    g.bench_function("brine_to_slice_v4", |b| {
        let mut buf = [0u8; 64];
        let out = pickle::to_slice(&hello, &mut buf, Protocol::V4).unwrap();
        assert_eq!(&*out, CLIENTID, "brine's bytes differ from CPython's");
        b.iter(|| {
            let out = pickle::to_slice(black_box(&hello), &mut buf, Protocol::V4).unwrap();
            black_box(out.len());
        })
    });
    g.bench_function("serde_pickle_to_vec_v3", |b| {
        b.iter(|| black_box(serde_pickle::to_vec(black_box(&hello), ser_opts()).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    decode_clientid,
    decode_identity,
    decode_message,
    encode_identity,
    encode_clientid
);
criterion_main!(benches);
