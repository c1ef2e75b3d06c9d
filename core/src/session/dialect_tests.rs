//! The session under every framing and greeting: the exchange cut at every byte, a message
//! longer than the buffer skipped by its prefix, prefixes on what it sends.

extern crate std;
use super::tests::{big_message, run_dialect as run, ACK, CLIENT_ID, IDENTITY, LIST};
use super::*;
use crate::framing::MAX_PREFIX;
use std::string::String;
use std::vec::Vec;

fn framed(framing: Framing, pickles: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pickles {
        let mut prefix = [0; MAX_PREFIX];
        let n = framing.encode_prefix(p.len(), &mut prefix).unwrap();
        out.extend_from_slice(&prefix[..n]);
        out.extend_from_slice(p);
    }
    out
}

const PREFIXED: [Framing; 3] = [Framing::Len32, Framing::Cookbook, Framing::Multiprocessing];

#[test]
fn every_framing_cut_at_every_byte_gives_the_lab_exchange_and_skips_by_length() {
    let big = big_message();
    for framing in PREFIXED {
        let stream = framed(framing, &[CLIENT_ID, ACK, &big, LIST]);
        let h = framing.prefix_len();
        let want = [
            "id 54321".into(),
            "message 'Server got the data'".into(),
            std::format!(
                "skipped {}: larger than the 4096-byte receive buffer",
                5018 + h
            ),
            "message [1, 2, 3]".into(),
            "closed".into(),
        ];
        // Every read size natively; under Miri (which interprets each of the ~5,000 sizes'
        // runs) the smallest sizes, a sample and the whole stream.
        let sizes = (1..=stream.len())
            .filter(|&c| !cfg!(miri) || c <= 8 || c % 509 == 0 || c == stream.len());
        for chunk in sizes {
            let (events, sent, first) = run(framing, Greeting::ClientId, true, &stream, chunk);
            assert_eq!(events, want, "{framing} in {chunk}-byte reads");
            assert_eq!(sent, framed(framing, &[IDENTITY]), "{framing}");
            // The identity waits for the whole id, prefix and all.
            assert!(first.unwrap() >= h + CLIENT_ID.len(), "{framing} {chunk}");
        }
    }
}

#[test]
fn greeting_any_delivers_the_first_message_then_sends_the_identity() {
    for framing in [Framing::Stop, Framing::Len32] {
        let stream = framed(framing, &[ACK, LIST]);
        let (events, sent, first) = run(framing, Greeting::Any, true, &stream, 7);
        assert_eq!(
            events,
            [
                "greeting 'Server got the data'",
                "message [1, 2, 3]",
                "closed"
            ],
            "{framing}"
        );
        assert_eq!(sent, framed(framing, &[IDENTITY]));
        assert!(first.unwrap() >= framing.prefix_len() + ACK.len());
    }
}

#[test]
fn greeting_none_sends_the_identity_before_reading() {
    let stream = framed(Framing::Cookbook, &[ACK]);
    let (events, sent, first) = run(Framing::Cookbook, Greeting::None, true, &stream, 3);
    assert_eq!(events, ["message 'Server got the data'", "closed"]);
    assert_eq!(sent, framed(Framing::Cookbook, &[IDENTITY]));
    assert_eq!(first, Some(0));
}

#[test]
fn no_identity_sends_nothing_and_listens() {
    for greeting in [Greeting::ClientId, Greeting::Any, Greeting::None] {
        let (events, sent, _) = run(
            Framing::Len32,
            greeting,
            false,
            &framed(Framing::Len32, &[CLIENT_ID]),
            5,
        );
        assert!(sent.is_empty(), "{greeting:?}");
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[1], "closed");
    }
}

#[test]
fn queued_messages_carry_the_prefix() {
    let mut session: Session = Session::new();
    session.set_framing(Framing::Multiprocessing);
    session.set_greeting(Greeting::None);
    session.start_without_identity();
    session.queue(&"hi").unwrap();
    // len(pickle.dumps('hi')) is 17 (protocol 4).
    assert_eq!(session.transmit()[..4], [0, 0, 0, 17]);
    assert_eq!(session.transmit().len(), 4 + 17);
}

#[test]
fn faults_under_a_prefix_name_what_and_where() {
    // A negative multiprocessing length after a whole message.
    let mut stream = framed(Framing::Multiprocessing, &[CLIENT_ID]);
    stream.extend_from_slice(b"\xff\xff\xff\xf0");
    let (events, _, _) = run(
        Framing::Multiprocessing,
        Greeting::ClientId,
        true,
        &stream,
        4,
    );
    assert_eq!(events[0], "id 54321");
    assert!(
        events[1].starts_with("error: length prefix ff ff ff f0 is negative"),
        "{}",
        events[1]
    );
    assert!(events[1].contains(&std::format!("stream offset {}", 4 + CLIENT_ID.len())));
    // The first message larger than the buffer: no id can be read.
    let big = big_message();
    let (events, _, _) = run(
        Framing::Len32,
        Greeting::ClientId,
        true,
        &framed(Framing::Len32, &[&big]),
        100,
    );
    assert!(
        events[0].contains("larger than the 4096-byte receive buffer"),
        "{events:?}"
    );
    // Closed in the middle of a message.
    let stream = framed(Framing::Len32, &[CLIENT_ID, ACK]);
    let cut = &stream[..stream.len() - 3];
    let (events, _, _) = run(Framing::Len32, Greeting::ClientId, true, cut, 9);
    // The 34-byte ACK's 4-byte prefix and 31 of its bytes.
    assert_eq!(
        events[1],
        "error: the server closed the connection in the middle of a message (35 bytes of it received)"
    );
}

/// A session with `framing`, `greeting` and auto protocol, identity `{'name': 'Ada'}`, fed
/// `stream` whole: the first event and the bytes it sent.
fn auto_first(framing: Framing, greeting: Greeting, stream: &[u8]) -> (String, Vec<u8>) {
    let mut session: Session = Session::new();
    session.set_framing(framing);
    session.set_greeting(greeting);
    session.set_protocol_auto();
    session
        .start(&crate::Identity::<1>::new().with("name", "Ada").unwrap())
        .unwrap();
    let mut sent = session.transmit().to_vec();
    session.transmitted(sent.len());
    session.receive_buffer()[..stream.len()].copy_from_slice(stream);
    session.commit(stream.len());
    let event = match session.poll() {
        Ok(Status::Event(Event::Greeting(v) | Event::Message(v))) => std::format!("{v}"),
        other => std::format!("{other:?}"),
    };
    sent.extend_from_slice(session.transmit());
    (event, sent)
}

#[cfg(feature = "python2")]
#[test]
fn auto_protocol_answers_the_greeting_in_its_protocol_and_writes_4_when_speaking_first() {
    // Python 2.7's pickle.dumps('hi', 2) and pickle.dumps({'name': 'Ada'}, 2).
    const HI_PY2: &[u8] = b"\x80\x02U\x02hiq\x00.";
    const ADA_PY2: &[u8] = b"\x80\x02}q\x00U\x04nameq\x01U\x03Adaq\x02s.";
    // CPython 3's pickle.dumps({'name': 'Ada'}) (protocol 4).
    const ADA_V4: &[u8] =
        b"\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x04name\x94\x8c\x03Ada\x94s.";
    let (event, sent) = auto_first(
        Framing::Len32,
        Greeting::Any,
        &framed(Framing::Len32, &[HI_PY2]),
    );
    assert_eq!(
        (event.as_str(), sent),
        ("'hi'", framed(Framing::Len32, &[ADA_PY2]))
    );
    // A protocol-4 greeting keeps protocol 4.
    let (event, sent) = auto_first(Framing::Stop, Greeting::Any, ACK);
    assert_eq!(
        (event.as_str(), sent),
        ("'Server got the data'", ADA_V4.to_vec())
    );
    // Nothing to read before speaking: Python 3's default protocol.
    let (event, sent) = auto_first(
        Framing::Cookbook,
        Greeting::None,
        &framed(Framing::Cookbook, &[HI_PY2]),
    );
    assert_eq!(
        (event.as_str(), sent),
        ("'hi'", framed(Framing::Cookbook, &[ADA_V4]))
    );
}
