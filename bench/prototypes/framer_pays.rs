//! Measurement, not built by the workspace (issue 21 point 1, s9-ack): does the framer (the
//! one walker kept beside the machine, `core/src/pickle/framer.rs`) pay for itself in speed?
//! A message that arrives in pieces is, in the session today, tried whole once by the machine
//! (it fails at the first piece's end), then scanned by the framer piece by piece (each byte
//! once), then decoded once when its STOP is in. Without a framer the session would have to
//! run the machine from the message's start after every read until it completes. This counts
//! both for the 3.6 KB message (`core/benches/fixtures/message.pickle`) arriving in reads of
//! P bytes. To measure:
//!
//!   cp bench/prototypes/framer_pays.rs core/examples/framer_pays.rs
//!   cargo build --release -p brine-core --example framer_pays
//!   python3 -c "import pickle; o = pickle.load(open('core/benches/fixtures/message.pickle', 'rb'));
//!       open('/tmp/message_p2.pickle', 'wb').write(pickle.dumps(o, 2))"
//!   for file in core/benches/fixtures/message.pickle /tmp/message_p2.pickle; do
//!   for op in framed redecode session; do for p in 64 536 1460; do for n in 200 400; do
//!       valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/framer_pays $op $p $n $file 2>&1 | grep Collected; done; done; done; done
//!   rm core/examples/framer_pays.rs
//!
//! (difference / 200 = instructions per message). Results in BENCHMARKS.md ("The framer").
use brine_core::pickle::{Decoder, Framer, Pickled, Progress};
use brine_core::session::{Event, Session, Status};
use std::hint::black_box;

/// The message: `core/benches/fixtures/message.pickle` (protocol 4, one FRAME), or the file
/// named by a fourth argument (the same object pickled in protocol 2 or 0: no FRAME).
static MESSAGE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    match std::env::args().nth(4) {
        Some(path) => std::fs::read(path).expect("the message file"),
        None => include_bytes!("../benches/fixtures/message.pickle").to_vec(),
    }
});

/// `pickle.dumps({'clientid': 54321}, 4)`, and an identity (`pickle.dumps({'name': 'me'}, 4)`).
const CLIENTID: &[u8] = include_bytes!("../benches/fixtures/clientid.pickle");
const IDENTITY: &[u8] = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x04name\x94\x8c\x02me\x94s.";

/// The session's way: one whole-message try, the framer over each new piece, one decode.
fn framed(decoder: &mut Decoder, framer: &mut Framer, piece: usize) -> usize {
    let message = &MESSAGE[..];
    let mut got = piece.min(message.len());
    assert!(got == message.len() || decoder.decode(&message[..got]).is_err());
    framer.reset();
    let mut scanned = 0;
    loop {
        match framer.advance(&message[scanned..got]).unwrap() {
            Progress::Complete { len } => {
                let v = decoder.decode(&message[..scanned + len]).unwrap();
                black_box(&v);
                return scanned + len;
            }
            Progress::Incomplete => {
                scanned = got;
                got = (got + piece).min(message.len());
            }
        }
    }
}

/// Without a framer: the machine from the start after every read until it completes.
fn redecode(decoder: &mut Decoder, piece: usize) -> usize {
    let message = &MESSAGE[..];
    let mut got = 0;
    loop {
        got = (got + piece).min(message.len());
        if let Ok((v, len)) = decoder.decode_prefix(&message[..got]) {
            black_box(&v);
            return len;
        }
    }
}

/// The session itself (what the two above model): the message fed to a listening `Session`
/// in reads of `piece` bytes, polled after each, until it is handed out.
fn session(session: &mut Session<8192>, piece: usize) -> usize {
    let message = &MESSAGE[..];
    let mut got = 0;
    loop {
        match session.poll().unwrap() {
            Status::Event(Event::Message(v)) => {
                black_box(&v);
                return got;
            }
            Status::Event(_) => panic!("expected the message"),
            Status::Partial => {
                let n = piece.min(message.len() - got);
                session.receive_buffer()[..n].copy_from_slice(&message[got..got + n]);
                session.commit(n);
                got += n;
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().expect("usage: framer_pays framed|redecode|session PIECE N");
    let piece: usize = args.next().and_then(|p| p.parse().ok()).expect("PIECE");
    let n: u32 = args.next().and_then(|n| n.parse().ok()).expect("N");
    let mut decoder: Decoder = Decoder::new();
    let mut framer = Framer::new();
    // A listening session with an 8 KiB receive buffer (the 3.6 KB message and the next).
    let mut listening: Box<Session<8192>> = Box::default();
    listening.start(&Pickled(IDENTITY)).unwrap();
    listening.receive_buffer()[..CLIENTID.len()].copy_from_slice(CLIENTID);
    listening.commit(CLIENTID.len());
    assert!(matches!(listening.poll(), Ok(Status::Event(Event::ClientId(_)))));
    let sent = listening.transmit().len();
    listening.transmitted(sent);
    for _ in 0..n {
        let len = match op.as_str() {
            "framed" => framed(&mut decoder, &mut framer, black_box(piece)),
            "redecode" => redecode(&mut decoder, black_box(piece)),
            "session" => session(&mut listening, black_box(piece)),
            other => panic!("unknown op {other}"),
        };
        assert_eq!(len, MESSAGE.len());
    }
}
