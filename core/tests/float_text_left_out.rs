//! Without the `float-text` feature a protocol-0 float is refused with a reason naming the
//! feature, and the session skips that message and goes on (never a misread value).
//! Run by .ci/run: `cargo test -p brine-core --no-default-features --test float_text_left_out`.
#![cfg(not(feature = "float-text"))]

use brine_core::pickle::{Decoder, Value};
use brine_core::session::{Event, Session, SkipReason};

/// `pickle.dumps(1.5, 0)` and `pickle.dumps(1.5, 2)`.
const FLOAT_P0: &[u8] = b"F1.5\n.";
const FLOAT_P2: &[u8] = b"\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.";

#[test]
fn a_protocol_0_float_is_refused_naming_the_feature() {
    let mut decoder: Decoder = Decoder::new();
    let error = decoder.decode(FLOAT_P0).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("FLOAT at byte 0"), "{text}");
    assert!(text.contains("brine-core feature `float-text`"), "{text}");
    // Binary floats need no parsing.
    assert!(matches!(decoder.decode(FLOAT_P2), Ok(Value::Float(v)) if v == 1.5));
}

#[test]
fn the_session_skips_it_and_goes_on() {
    let mut session: Session = Session::new();
    let mut decoder: Decoder = Decoder::new();
    session.start(&[("name", "Ada")]).unwrap();
    // pickle.dumps({'clientid': 1}, 4), then the float in protocol 0, then 1.5 in protocol 2
    let clientid = b"\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94K\x01s.";
    let stream = [&clientid[..], FLOAT_P0, FLOAT_P2].concat();
    let buf = session.receive_buffer();
    buf[..stream.len()].copy_from_slice(&stream);
    session.commit(stream.len());
    assert!(matches!(
        session.next_event(&mut decoder).unwrap(),
        Some(Event::ClientId(_))
    ));
    match session.next_event(&mut decoder).unwrap() {
        Some(Event::Skipped {
            len: 6,
            reason: SkipReason::Refused(e),
        }) => assert!(e.to_string().contains("float-text"), "{e}"),
        other => panic!("expected the float skipped, got {other:?}"),
    }
    assert!(matches!(
        session.next_event(&mut decoder).unwrap(),
        Some(Event::Message(Value::Float(v))) if v == 1.5
    ));
}
