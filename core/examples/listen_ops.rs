//! The batch listen path (`Session::poll_messages`) for instruction counts under valgrind, in
//! a binary of its own: a second caller of the machine's entry in `codec_ops` moves the
//! counts of its serde rows (`brine_decode_identity_struct` 967 -> 1,009: LLVM inlines the
//! shared decode helpers differently), so the guard (`bench/guard.sh`) counts this row here.
//!
//! ```text
//! listen_ops brine_listen_batch_ack N   # N acks after the handshake, a receive buffer's worth per read
//! ```
//! Count one message as (instructions at 2N - instructions at N) / N.

use std::hint::black_box;

use brine_core::pickle::Pickled;
use brine_core::session::{Event, Session, Status};

/// `pickle.dumps({'clientid': 54321})`
const CLIENT_ID: &[u8] =
    b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.";
/// `pickle.dumps('Server got the data')`: 34 bytes.
const ACK: &[u8] = b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data\x94.";
/// `pickle.dumps({'name': 'bench'})`
const ME: &[u8] =
    b"\x80\x04\x95\x13\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x04name\x94\x8c\x05bench\x94s.";

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().expect("usage: listen_ops OP N");
    let n: u32 = args.next().and_then(|n| n.parse().ok()).expect("N");
    let message = match op.as_str() {
        "brine_listen_batch_ack" => ACK,
        other => panic!("unknown op {other}"),
    };
    let mut session: Session = Session::new();
    listen_batch(&mut session, message, n);
}

/// After the handshake, `message` arrives `n` times, as many copies per read as the
/// 4096-byte receive buffer holds, each read's messages handed out by one `poll_messages`.
fn listen_batch(session: &mut Session, message: &[u8], n: u32) {
    session.start(&Pickled(ME)).unwrap();
    session.receive_buffer()[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
    session.commit(CLIENT_ID.len());
    assert!(matches!(
        session.poll().unwrap(),
        Status::Event(Event::ClientId(_))
    ));
    let sent = session.transmit().len();
    session.transmitted(sent);
    let per_read = (4096 / message.len()) as u32;
    let mut left = n;
    while left > 0 {
        let k = per_read.min(left);
        let buf = session.receive_buffer();
        for copy in buf.chunks_exact_mut(message.len()).take(k as usize) {
            copy.copy_from_slice(black_box(message));
        }
        session.commit(k as usize * message.len());
        let mut got = 0;
        match session.poll_messages(|value| {
            black_box(value);
            got += 1;
        }) {
            Ok(Status::Partial) if got == k => {}
            _ => panic!("expected {k} messages"),
        }
        left -= k;
    }
}
