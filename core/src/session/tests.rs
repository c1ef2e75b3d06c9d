//! The session's unit tests: the lab exchange cut at every byte, skips, faults, sending.

extern crate std;
use super::*;
use crate::Identity;
use std::string::{String, ToString};
use std::vec::Vec;

include!("../../tests/common/fixtures.rs");

pub(super) fn identity() -> Identity<'static> {
    Identity::new()
        .with("name", "Jose Ortiz")
        .and_then(|i| i.with("email", "jose@sfsu.edu"))
        .and_then(|i| i.with("student_id", 917654321))
        .and_then(|i| i.with("github_username", "jortiz"))
        .unwrap()
}

/// Feeds `stream` in chunks of `chunk` bytes (0: all at once) to a lab session and
/// collects the events as text, writing out whatever the session transmits.
fn run(stream: &[u8], chunk: usize) -> (Vec<String>, Vec<u8>) {
    let (events, sent, _) = run_dialect(Framing::Stop, Greeting::ClientId, true, stream, chunk);
    (events, sent)
}

/// Feeds `stream` `chunk` bytes at a time (0: all at once) to a session with `framing` and
/// `greeting` (identity: the lab's, or none), writing out what it transmits; the events as
/// text, the bytes sent, and how many bytes had been fed when the first byte was sent.
pub(super) fn run_dialect(
    framing: Framing,
    greeting: Greeting,
    with_identity: bool,
    stream: &[u8],
    chunk: usize,
) -> (Vec<String>, Vec<u8>, Option<usize>) {
    let mut session: Session = Session::new();
    #[cfg(feature = "dialects")]
    {
        session.set_framing(framing);
        session.set_greeting(greeting);
    }
    #[cfg(not(feature = "dialects"))]
    assert!(
        framing == Framing::Stop && greeting == Greeting::ClientId,
        "other framings and greetings need feature `dialects`"
    );
    match with_identity {
        true => session.start(&identity()).unwrap(),
        false => session.start_without_identity(),
    }
    let (mut events, mut sent, mut first_sent) = (Vec::new(), Vec::new(), None);
    let mut fed = 0;
    loop {
        let n = session.transmit().len();
        if n > 0 && first_sent.is_none() {
            first_sent = Some(fed);
        }
        sent.extend_from_slice(session.transmit());
        session.transmitted(n);
        match session.poll() {
            Ok(Status::Event(event)) => {
                let closed = matches!(event, Event::Closed);
                events.push(describe(&event));
                if closed {
                    break;
                }
                continue;
            }
            Ok(Status::Partial) => {}
            Err(e) => {
                events.push(std::format!("error: {e}"));
                break;
            }
        }
        let rest = &stream[fed..];
        let buf = session.receive_buffer();
        let n = match chunk {
            0 => rest.len(),
            _ => chunk.min(rest.len()),
        }
        .min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        fed += n;
        session.commit(n);
    }
    (events, sent, first_sent)
}

pub(super) fn describe(event: &Event<'_>) -> String {
    match event {
        Event::ClientId(id) => std::format!("id {id}"),
        Event::Message(v) => std::format!("message {v}"),
        Event::Skipped { len, reason } => std::format!("skipped {len}: {reason}"),
        Event::Greeting(v) => std::format!("greeting {v}"),
        Event::Closed => "closed".to_string(),
    }
}

fn lab_stream() -> Vec<u8> {
    [CLIENT_ID, ACK, LIST, ACK].concat()
}

const LAB_EVENTS: [&str; 5] = [
    "id 54321",
    "message 'Server got the data'",
    "message [1, 2, 3]",
    "message 'Server got the data'",
    "closed",
];

#[test]
fn lab_exchange_sends_identity_after_the_id() {
    let (events, sent) = run(&lab_stream(), 0);
    assert_eq!(events, LAB_EVENTS);
    assert_eq!(
        sent, IDENTITY,
        "identity bytes equal CPython's pickle.dumps"
    );
}

#[test]
fn a_new_session_is_not_started_until_start() {
    let mut session: Session = Session::new();
    assert_eq!(session.state(), State::NotStarted);
    assert_eq!(session.waiting(), Waiting::Nothing);
    assert!(matches!(
        session.poll(),
        Err(Error::Misuse(Misuse::NotStarted))
    ));
    assert_eq!(session.queue(&1), Err(Misuse::NotStarted.into()));
    assert!(session.transmit().is_empty());
    session.start(&1).unwrap();
    assert_eq!(session.state(), State::AwaitingClientId);
}

#[test]
fn every_cut_position_gives_the_same_events() {
    let stream = lab_stream();
    for chunk in 1..=stream.len() {
        let (events, sent) = run(&stream, chunk);
        assert_eq!(events, LAB_EVENTS, "chunk {chunk}");
        assert_eq!(sent, IDENTITY);
    }
}

#[test]
fn identity_is_held_until_the_id_arrives() {
    let mut session: Session = Session::new();
    session.start(&identity()).unwrap();
    assert_eq!(session.state(), State::AwaitingClientId);
    assert_eq!(session.waiting(), Waiting::ClientId);
    assert!(session.transmit().is_empty());
    let buf = session.receive_buffer();
    buf[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
    session.commit(CLIENT_ID.len());
    assert!(matches!(
        session.poll(),
        Ok(Status::Event(Event::ClientId(id))) if id.as_i64() == Some(54321)
    ));
    assert_eq!(session.state(), State::IdentityQueued);
    assert_eq!(session.transmit(), IDENTITY);
    session.transmitted(10);
    assert_eq!(session.state(), State::IdentityQueued);
    session.transmitted(IDENTITY.len() - 10);
    assert_eq!(session.state(), State::Listening);
    assert_eq!(session.waiting(), Waiting::NextMessage);
}

#[test]
fn str_and_protocol_2_client_ids() {
    let (events, _) = run(CLIENT_ID_STR, 0);
    assert_eq!(events, ["id abc", "closed"]);
    let (events, _) = run(CLIENT_ID_V2, 3);
    assert_eq!(events, ["id 54321", "closed"]);
}

#[test]
fn oversized_and_refused_messages_are_skipped_and_the_next_delivered() {
    let stream = [CLIENT_ID, ACK, &big_message(), EVIL, LIST].concat();
    for chunk in [0, 1, 7, 100, 4096] {
        let (events, _) = run(&stream, chunk);
        assert_eq!(
            events,
            [
                "id 54321",
                "message 'Server got the data'",
                "skipped 5018: larger than the 4096-byte receive buffer",
                "skipped 29: refused GLOBAL of os.system at byte 0: pickles that import or call code are not decoded",
                "message [1, 2, 3]",
                "closed",
            ],
            "chunk {chunk}"
        );
    }
}

#[test]
fn faults_come_after_every_complete_message() {
    // EOF in the middle of a pickle.
    let stream = [CLIENT_ID, ACK, &LIST[..7]].concat();
    let (events, _) = run(&stream, 0);
    assert_eq!(
        events,
        [
            "id 54321",
            "message 'Server got the data'",
            "error: the server closed the connection in the middle of a message (7 bytes of it received)",
        ]
    );
    // EOF before the id.
    let (events, _) = run(b"", 0);
    assert_eq!(
        events,
        ["error: the server closed the connection before sending a client id"]
    );
    // A byte that is not an opcode.
    let stream = [CLIENT_ID, ACK, b"\xff"].concat();
    let (events, _) = run(&stream, 1);
    assert_eq!(
        events,
        [
            "id 54321",
            "message 'Server got the data'",
            "error: invalid pickle: byte 0xff at offset 63 is not an opcode (message at stream offset 63)",
        ]
    );
    // First message not a client id.
    // A bare str is taken as the id; a list is not an id.
    let (events, _) = run(ACK, 0);
    assert_eq!(events, ["id Server got the data", "closed"]);
    let (events, _) = run(LIST, 0);
    assert_eq!(
        events,
        [
            "error: the server's first message is not a client id: got [1, 2, 3] (a list); \
          a lab server sends {'clientid': id} first (or a bare int or str)"
        ]
    );
}

/// Found by the `session_stream` fuzz target: a framing error inside a message that was
/// being skipped (larger than the receive buffer) reported the offset the buffer had
/// reached, which depends on the read sizes, instead of where the message began.
#[test]
fn framing_error_while_skipping_reports_where_the_message_began() {
    let mut stream = [CLIENT_ID, ACK].concat();
    let start = stream.len();
    // A 200-byte str with no FRAME, so its bytes are skipped, then a byte that is no opcode.
    stream.extend_from_slice(b"\x80\x04X\xc8\x00\x00\x00");
    stream.extend_from_slice(&[b'x'; 200]);
    stream.push(0xff);
    let bad = stream.len() - 1;
    let expected = std::format!(
        "error: invalid pickle: byte 0xff at offset {bad} is not an opcode (message at stream offset {start})"
    );
    for chunk in [1, 5, 63, 64, 100, 0] {
        let mut session: Session<64, 256> = Session::new();
        session.start(&("fuzz",)).unwrap();
        let mut rest = &stream[..];
        let mut last = String::new();
        for _ in 0..10_000 {
            let n = session.transmit().len();
            session.transmitted(n);
            match session.poll() {
                Ok(Status::Event(event)) => last = describe(&event),
                Ok(Status::Partial) => {
                    let buf = session.receive_buffer();
                    let n = if chunk == 0 {
                        rest.len()
                    } else {
                        chunk.min(rest.len())
                    };
                    let n = n.min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    session.commit(n);
                }
                Err(e) => {
                    last = std::format!("error: {e}");
                    break;
                }
            }
        }
        assert_eq!(last, expected, "chunk {chunk}");
    }
}

/// A FRAME claiming more than its pickle holds is refused on the pickle's own bytes, even
/// when the next message's bytes are in the buffer (decoded in one pass or framed).
#[test]
fn a_frame_reaching_into_the_next_message_is_refused() {
    let over = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00K\x01.";
    let stream = [CLIENT_ID, ACK, over, LIST].concat();
    for chunk in [0, 1, 5, 34, 100] {
        let (events, _) = run(&stream, chunk);
        assert_eq!(
            events,
            [
                "id 54321",
                "message 'Server got the data'",
                "skipped 14: pickle truncated: input ended at byte 14 before STOP",
                "message [1, 2, 3]",
                "closed",
            ],
            "chunk {chunk}"
        );
    }
}

/// The decoder is the session's, sized by its type: a message over its capacity is skipped
/// with the reason, and the next one, within capacity, is delivered.
#[test]
fn the_sessions_own_decoder_sizes_what_it_delivers() {
    let mut session: Session<4096, 4096, Decoder<4, 64, 64, 64>> = Session::new();
    session.start(&identity()).unwrap();
    // A list of 5 ints is 6 values; [1, 2, 3] is 4.
    let five = b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02K\x03K\x04K\x05e.";
    let stream = [CLIENT_ID, five, LIST].concat();
    session.receive_buffer()[..stream.len()].copy_from_slice(&stream);
    session.commit(stream.len());
    session.commit(0);
    let mut events = Vec::new();
    loop {
        match session.poll() {
            Ok(Status::Event(Event::Closed)) => break,
            Ok(Status::Event(event)) => events.push(describe(&event)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], "id 54321");
    assert!(
        events[1].starts_with("skipped 26: pickle too large at byte "),
        "{events:?}"
    );
    assert_eq!(events[2], "message [1, 2, 3]");
}

#[test]
fn a_first_message_larger_than_the_buffer_is_a_limit() {
    let mut session: Session<64, 256> = Session::new();
    session.start(&("me",)).unwrap();
    let big = big_message();
    let buf = session.receive_buffer();
    let n = buf.len();
    buf.copy_from_slice(&big[..n]);
    session.commit(n);
    let error = match session.poll() {
        Err(e) => e,
        Ok(other) => panic!("{other:?}"),
    };
    assert_eq!(error, Limit::FirstMessageTooLarge { limit: 64 }.into());
    assert_eq!(
        error.to_string(),
        "the server's first message is larger than the 64-byte receive buffer, so no client id \
         can be read from it"
    );
    assert_eq!(session.state(), State::Closed);
    assert!(matches!(session.poll(), Err(Error::Misuse(Misuse::Closed))));
}

#[test]
fn messages_in_the_same_read_as_the_id_are_delivered() {
    let mut session: Session = Session::new();
    session.start(&identity()).unwrap();
    let stream = [CLIENT_ID, ACK].concat();
    session.receive_buffer()[..stream.len()].copy_from_slice(&stream);
    session.commit(stream.len());
    assert!(matches!(
        session.poll(),
        Ok(Status::Event(Event::ClientId(_)))
    ));
    // The identity has not gone out yet; the ack is delivered anyway.
    assert_eq!(session.state(), State::IdentityQueued);
    match session.poll() {
        Ok(Status::Event(Event::Message(v))) => assert_eq!(v, "Server got the data"),
        other => panic!("{other:?}"),
    }
}

/// After a message decoded at the head is handed out, the next one is tried at once
/// (`head_clear`); whatever changes the session since (a failed restart, a framing, a refused
/// message's framing, the peer's close) is still seen exactly as without that shortcut.
#[test]
fn the_head_shortcut_sees_every_change_since_the_last_message() {
    let feed = |session: &mut Session, bytes: &[u8]| {
        session.receive_buffer()[..bytes.len()].copy_from_slice(bytes);
        session.commit(bytes.len());
    };
    let message = |session: &mut Session| match session.poll() {
        Ok(Status::Event(event)) => describe(&event),
        other => std::format!("{other:?}"),
    };
    let mut session: Session = Session::new();
    session.start(&identity()).unwrap();
    feed(&mut session, &[CLIENT_ID, ACK].concat());
    assert_eq!(message(&mut session), "id 54321");
    assert_eq!(message(&mut session), "message 'Server got the data'");
    // Refused, then a message, then the close: each in its place.
    feed(&mut session, &[EVIL, LIST].concat());
    assert!(message(&mut session).starts_with("skipped 29: refused GLOBAL of os.system"));
    assert_eq!(message(&mut session), "message [1, 2, 3]");
    session.commit(0);
    assert_eq!(message(&mut session), "closed");
    assert_eq!(
        std::format!("{:?}", session.poll().map(|_| ())),
        "Err(Misuse(Closed))"
    );
    // A restart whose identity does not fit leaves the session closed: a message that
    // arrives is not handed out.
    let mut small: Session<4096, 32> = Session::new();
    small.start(&"me").unwrap();
    small.receive_buffer()[..CLIENT_ID.len() + ACK.len()]
        .copy_from_slice(&[CLIENT_ID, ACK].concat());
    small.commit(CLIENT_ID.len() + ACK.len());
    assert!(matches!(
        small.poll(),
        Ok(Status::Event(Event::ClientId(_)))
    ));
    small.transmitted(small.transmit().len());
    assert!(matches!(small.poll(), Ok(Status::Event(Event::Message(_)))));
    assert!(small.start(&identity()).is_err());
    small.receive_buffer()[..ACK.len()].copy_from_slice(ACK);
    small.commit(ACK.len());
    assert!(matches!(small.poll(), Err(Error::Misuse(Misuse::Closed))));
    // A framing set between two messages applies to the next one.
    #[cfg(feature = "dialects")]
    {
        let mut session: Session = Session::new();
        session.start_without_identity();
        feed(&mut session, &[CLIENT_ID, ACK].concat());
        assert_eq!(message(&mut session), "id 54321");
        assert_eq!(message(&mut session), "message 'Server got the data'");
        session.set_framing(Framing::Len32);
        let len = u32::try_from(ACK.len()).unwrap().to_be_bytes();
        feed(&mut session, &[&len[..], ACK].concat());
        assert_eq!(message(&mut session), "message 'Server got the data'");
    }
}

#[test]
fn sending_after_the_handshake() {
    let mut session: Session = Session::new();
    session.start(&identity()).unwrap();
    assert_eq!(session.queue("hi"), Err(Misuse::HandshakeIncomplete.into()));
    session.receive_buffer()[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
    session.commit(CLIENT_ID.len());
    session.poll().unwrap();
    session.queue("Server got the data").unwrap();
    assert_eq!(session.transmit(), [IDENTITY, ACK].concat().as_slice());
    let big = [b'x'; 5000];
    let text = core::str::from_utf8(&big).unwrap();
    assert_eq!(
        session.queue(text),
        Err(Limit::TransmitBufferTooSmall { capacity: 4096 }.into())
    );
    // Nothing partial was queued.
    assert_eq!(session.transmit(), [IDENTITY, ACK].concat().as_slice());
}

#[test]
fn waiting_tells_idle_from_mid_message() {
    let mut session: Session = Session::new();
    session.start(&identity()).unwrap();
    session.receive_buffer()[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
    session.commit(CLIENT_ID.len());
    session.poll().unwrap();
    session.transmitted(IDENTITY.len());
    assert_eq!(session.waiting(), Waiting::NextMessage);
    session.receive_buffer()[..3].copy_from_slice(&ACK[..3]);
    session.commit(3);
    assert!(matches!(session.poll(), Ok(Status::Partial)));
    assert_eq!(session.waiting(), Waiting::RestOfMessage);
}

#[test]
fn size_of_default_session_is_its_decoder_and_at_most_8_5_kib() {
    let size = core::mem::size_of::<Session>();
    let decoder = core::mem::size_of::<Decoder>();
    // The session without a decoder (no `Decode` bound on the type itself).
    let rest = core::mem::size_of::<Session<4096, 4096, ()>>();
    assert!(rest <= 8704, "Session without its decoder is {rest} bytes");
    assert_eq!(size, rest + decoder, "Session is {size} bytes");
    // No more than the (session, decoder) pair it replaces.
    let small = core::mem::size_of::<crate::driver::SmallSession>();
    let parts = core::mem::size_of::<Session<1024, 512, ()>>()
        + core::mem::size_of::<crate::driver::SmallDecoder>();
    assert_eq!(small, parts, "SmallSession is {small} bytes");
}

/// Feeds `stream` to a listening session (after [`CLIENT_ID`]) in reads ending at the
/// offsets `cuts` (or sooner, where the free space ends), closing after the last when
/// `close`; the events, and the [`Waiting`] seen before each read.
fn listen_in_reads(stream: &[u8], cuts: &[usize], close: bool) -> (Vec<String>, Vec<Waiting>) {
    let mut session: Session = Session::new();
    session.start(&identity()).unwrap();
    session.receive_buffer()[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
    session.commit(CLIENT_ID.len());
    assert!(matches!(
        session.poll(),
        Ok(Status::Event(Event::ClientId(_)))
    ));
    session.transmitted(IDENTITY.len());
    let (mut events, mut waits) = (Vec::new(), Vec::new());
    let mut fed = 0;
    loop {
        match session.poll() {
            Ok(Status::Event(event)) => {
                events.push(describe(&event));
                if matches!(event, Event::Closed) {
                    break;
                }
            }
            Ok(Status::Partial) => {
                waits.push(session.waiting());
                // A read ends at the next cut, or where the free space does.
                let to = match cuts.iter().find(|&&to| to > fed) {
                    Some(&to) => to,
                    None if close => {
                        session.commit(0);
                        continue;
                    }
                    None => break,
                };
                let buf = session.receive_buffer();
                let n = (to - fed).min(buf.len());
                buf[..n].copy_from_slice(&stream[fed..fed + n]);
                session.commit(n);
                fed += n;
            }
            Err(e) => {
                events.push(std::format!("error: {e}"));
                break;
            }
        }
    }
    (events, waits)
}

/// A protocol 4 message whose FRAME has not all arrived is left to the machine (tried again
/// after each read), not walked by the framer: still a message under way for the timeouts,
/// delivered once its last byte is in, whatever the reads.
#[test]
fn a_pending_frame_waits_for_its_bytes() {
    let stream = [ACK, LIST].concat();
    for cut in 1..stream.len() {
        let (events, waits) = listen_in_reads(&stream, &[cut, stream.len()], true);
        assert_eq!(
            events,
            [
                "message 'Server got the data'",
                "message [1, 2, 3]",
                "closed"
            ],
            "cut {cut}"
        );
        let mid = cut != ACK.len();
        assert_eq!(waits[1] == Waiting::RestOfMessage, mid, "cut {cut}");
    }
}

/// Bad input inside a pending frame: the error is the framer's, found once the frame is in
/// or the peer closes, at the same offset whatever the reads; the message before it is
/// delivered; a frame cut short by the close is reported with what arrived of it.
#[test]
fn bad_bytes_in_a_pending_frame_are_found_when_it_is_in_or_closed() {
    // PROTO 4, a FRAME of 6 bytes: K 1, then 0xff (no opcode), K 2, STOP.
    let bad: &[u8] = b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00K\x01\xffK\x02.";
    let stream = [ACK, bad].concat();
    let at = CLIENT_ID.len() + ACK.len();
    let error = std::format!(
        "error: invalid pickle: byte 0xff at offset {} is not an opcode (message at stream offset {at})",
        at + 13
    );
    for cut in 1..stream.len() {
        let (events, _) = listen_in_reads(&stream, &[cut, stream.len()], false);
        assert_eq!(
            events,
            ["message 'Server got the data'", error.as_str()],
            "cut {cut}"
        );
    }
    // The frame incomplete: no error yet (the framer did not walk it), then the close.
    let upto = ACK.len() + 15;
    let (events, waits) = listen_in_reads(&stream[..upto], &[upto], false);
    assert_eq!(events, ["message 'Server got the data'"]);
    assert_eq!(waits.last(), Some(&Waiting::RestOfMessage));
    let (events, _) = listen_in_reads(&stream[..upto], &[upto], true);
    assert_eq!(events, ["message 'Server got the data'", error.as_str()]);
    // A valid frame cut short by the close.
    for cut in [ACK.len() + 11, ACK.len() + 12, ACK.len() + 20] {
        let stream = [ACK, ACK].concat();
        let (events, _) = listen_in_reads(&stream[..cut], &[cut], true);
        let got = cut - ACK.len();
        let closed = std::format!(
            "error: the server closed the connection in the middle of a message ({got} bytes of it received)"
        );
        assert_eq!(events, ["message 'Server got the data'", closed.as_str()]);
    }
}

/// A FRAME that claims more than the receive buffer holds is not waited for: the framer
/// skips the message as it arrives, and the next one is delivered. A FRAME shorter than
/// its pickle: the rest is framed after the frame is in, and the pickle refused.
#[test]
fn frames_over_the_buffer_or_short_of_their_pickle() {
    let big = big_message();
    let stream = [&big[..], ACK].concat();
    // Under Miri the 1- and 7-byte reads (about 5,800 polls) take over ten minutes.
    let chunks: &[usize] = if cfg!(miri) {
        &[100, 4096]
    } else {
        &[1, 7, 100, 4096]
    };
    for &chunk in chunks {
        let cuts: Vec<usize> = (1..=stream.len().div_ceil(chunk))
            .map(|i| (i * chunk).min(stream.len()))
            .collect();
        let (events, _) = listen_in_reads(&stream, &cuts, true);
        assert_eq!(
            events,
            [
                "skipped 5018: larger than the 4096-byte receive buffer",
                "message 'Server got the data'",
                "closed"
            ],
            "chunk {chunk}"
        );
    }
    // FRAME of 2 bytes (K 1), then K 2, TUPLE2, STOP outside it.
    let short: &[u8] = b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x01K\x02\x86.";
    let stream = [short, ACK].concat();
    let (whole, _) = listen_in_reads(&stream, &[stream.len()], true);
    for cut in 1..stream.len() {
        let (events, _) = listen_in_reads(&stream, &[cut, stream.len()], true);
        assert_eq!(events, whole, "cut {cut}");
    }
    assert_eq!(whole.last().map(String::as_str), Some("closed"));
}
