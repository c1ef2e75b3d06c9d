//! Runs one codec operation `N` times, for instruction counting under valgrind
//! (`bench/icount.sh`): unlike wall time, the count does not depend on what else the machine
//! is doing. Usage: `codec_ops OP N`, OP one of the names below. `bench/guard.sh` checks the
//! `brine_*` operations against `bench/icount_baseline.txt` in CI.

use std::hint::black_box;

use brine_core::pickle::{self, Decoder, Protocol};
use brine_core::session::{Event, Session, Status};
use serde::{Deserialize, Serialize};

const CLIENTID: &[u8] = include_bytes!("../benches/fixtures/clientid.pickle");
const IDENTITY: &[u8] = include_bytes!("../benches/fixtures/identity.pickle");
const MESSAGE: &[u8] = include_bytes!("../benches/fixtures/message.pickle");
/// The value rows count a first decode: with `fast` a decoder keeps the shape of a small
/// message at the second of two in a row of one length and takes the next of that shape over
/// its arena (`decode/shape.rs`), which is what the `_repeat` rows count. So each iteration
/// decodes the fixture or its twin (gen_fixtures.py: the same opcodes, one argument a byte
/// longer or shorter) in turn (the `_repeat` rows take the fixture both times), which costs
/// each row ~3 instructions.
const CLIENTID_TWIN: &[u8] = include_bytes!("../benches/fixtures/clientid_twin.pickle");
const IDENTITY_TWIN: &[u8] = include_bytes!("../benches/fixtures/identity_twin.pickle");
/// The lab server's ack, `pickle.dumps('Server got the data', 4)` (34 bytes).
const ACK: &[u8] = b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data\x94.";
/// Protocol 0's text floats (Python 2 servers): `pickle.dumps([0.1, 1.5, 3.141592653589793,
/// 2.5e-10, 6.02e+23, 1234.5678, 1e300, 5e-324], 0)` (89 bytes, eight FLOATs).
const FLOATS_P0: &[u8] = b"(lp0\nF0.1\naF1.5\naF3.141592653589793\naF2.5e-10\naF6.02e+23\naF1234.5678\naF1e+300\naF5e-324\na.";

#[derive(Serialize, Deserialize)]
struct Hello {
    clientid: u32,
}

#[derive(Serialize, Deserialize)]
struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: u32,
    github_username: &'a str,
}

#[derive(Deserialize)]
#[allow(dead_code)] // only deserialized
struct IdentityOwned {
    name: String,
    email: String,
    student_id: u32,
    github_username: String,
}

/// One row of `rows()`: the encoder's larger case (a list of 40 dicts, 40 distinct strs and
/// a few repeated ones, so the memo outgrows its scan and uses its hash index).
#[derive(Serialize)]
struct Row {
    id: u32,
    user: String,
    role: &'static str,
    score: f64,
    active: bool,
}

fn rows() -> Vec<Row> {
    (0..40u32)
        .map(|i| Row {
            id: i,
            user: format!("user{i:02}@example.com"),
            role: ["student", "ta", "instructor"][i as usize % 3],
            score: f64::from(i) * 2.5,
            active: i % 2 == 0,
        })
        .collect()
}

const ME: Identity<'static> = Identity {
    name: "Jose Ortiz",
    email: "jose@sfsu.edu",
    student_id: 917_654_321,
    github_username: "jortiz",
};

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().expect("usage: codec_ops OP N");
    let n: u32 = args.next().and_then(|n| n.parse().ok()).expect("N");
    let de = serde_pickle::DeOptions::new;
    let ser = serde_pickle::SerOptions::new;
    let mut decoder: Decoder = Decoder::new();
    let mut buf = [0u8; 256];
    let rows = rows();
    let mut big = vec![0u8; 4096];
    let mut out = Vec::with_capacity(256);
    let mut session: Session = Session::new();
    // The value rows' other input: the fixture's twin, or the fixture itself for `_repeat`
    // (one call site per fixture: a second one moves the other rows' inlining).
    let repeat = op.ends_with("_repeat");
    let clientid_other = if repeat { CLIENTID } else { CLIENTID_TWIN };
    let identity_other = if repeat { IDENTITY } else { IDENTITY_TWIN };
    let mut twin = false;
    if let Some(message) = op.strip_prefix("brine_listen_") {
        let message = if message == "ack" { ACK } else { MESSAGE };
        listen(&mut session, message, n);
        return;
    }
    // The operation is chosen once; each arm loops over its own body, so no count includes
    // the choice (a match on the name costs about 40 instructions per iteration).
    macro_rules! ops {
        ($($($name:literal)|+ => $body:block)*) => {
            match op.as_str() {
                $($($name)|+ => for _ in 0..n $body)*
                other => panic!("unknown op {other}"),
            }
        };
    }
    ops! {
        "brine_decode_clientid_value" | "brine_decode_clientid_value_repeat" => {
            twin = !twin;
            let input = if twin { clientid_other } else { CLIENTID };
            black_box(decoder.decode(black_box(input)).unwrap());
        }
        "brine_decode_clientid_struct" => {
            black_box(pickle::from_slice::<Hello>(black_box(CLIENTID)).unwrap());
        }
        "brine_decode_identity_value" | "brine_decode_identity_value_repeat" => {
            twin = !twin;
            let input = if twin { identity_other } else { IDENTITY };
            black_box(decoder.decode(black_box(input)).unwrap());
        }
        "brine_decode_identity_struct" => {
            black_box(pickle::from_slice::<Identity>(black_box(IDENTITY)).unwrap());
        }
        "brine_decode_identity_struct_reused" => {
            black_box(
                decoder
                    .deserialize::<Identity>(black_box(IDENTITY))
                    .unwrap(),
            );
        }
        "brine_decode_floats_p0_value" => {
            black_box(decoder.decode(black_box(FLOATS_P0)).unwrap());
        }
        "brine_decode_message_value" => {
            black_box(decoder.decode(black_box(MESSAGE)).unwrap());
        }
        "brine_encode_identity" => {
            black_box(pickle::to_slice(black_box(&ME), &mut buf, Protocol::V4).unwrap());
        }
        "brine_encode_clientid" => {
            let hello = Hello { clientid: 54321 };
            black_box(pickle::to_slice(black_box(&hello), &mut buf, Protocol::V4).unwrap());
        }
        "brine_encode_identity_p2" => {
            black_box(pickle::to_slice(black_box(&ME), &mut buf, Protocol::V2).unwrap());
        }
        "brine_encode_rows" => {
            black_box(pickle::to_slice(black_box(&rows), &mut big, Protocol::V4).unwrap());
        }
        "serde_pickle_decode_clientid_value" => {
            black_box(serde_pickle::value_from_slice(black_box(CLIENTID), de()).unwrap());
        }
        "serde_pickle_decode_clientid_struct" => {
            black_box(serde_pickle::from_slice::<Hello>(black_box(CLIENTID), de()).unwrap());
        }
        "serde_pickle_decode_identity_struct" => {
            black_box(
                serde_pickle::from_slice::<IdentityOwned>(black_box(IDENTITY), de()).unwrap(),
            );
        }
        "serde_pickle_decode_message_value" => {
            black_box(serde_pickle::value_from_slice(black_box(MESSAGE), de()).unwrap());
        }
        "serde_pickle_encode_identity_to_vec" => {
            black_box(serde_pickle::to_vec(black_box(&ME), ser()).unwrap());
        }
        "serde_pickle_encode_identity" => {
            out.clear();
            serde_pickle::to_writer(&mut out, black_box(&ME), ser()).unwrap();
            black_box(&out);
        }
    }
}

/// The listen path: after the handshake, `message` arrives `n` times, each in one read, and is
/// taken as an event (session, framer, decoder; no socket).
fn listen(session: &mut Session, message: &[u8], n: u32) {
    session.start(&ME).unwrap();
    let feed = |session: &mut Session, bytes: &[u8]| {
        let buf = session.receive_buffer();
        buf[..bytes.len()].copy_from_slice(bytes);
        session.commit(bytes.len());
    };
    feed(session, CLIENTID);
    assert!(matches!(
        session.poll().unwrap(),
        Status::Event(Event::ClientId(_))
    ));
    let sent = session.transmit().len();
    session.transmitted(sent);
    for _ in 0..n {
        feed(session, black_box(message));
        match session.poll().unwrap() {
            Status::Event(Event::Message(value)) => {
                black_box(value);
            }
            _ => panic!("expected a message"),
        }
    }
}
