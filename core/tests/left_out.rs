//! What a firmware leaves out (`default-features = false`) is refused with a reason naming the
//! feature, never misread: a protocol-0 float without `float-text` (the session skips that
//! message and goes on), a client id or first message that needs Python's repr without
//! `repr`, re-pickling the identity for a Python 2 server (under auto protocol, feature
//! `dialects`), pickling Python 2's types without `python2`, or a dict keyed by floats (or
//! other types than str, int, bool and None) without `any-keys`. With a feature on,
//! its test checks the value it gives instead.
//! Run by .ci/run: `cargo test -p brine-core --no-default-features --test left_out` (and with
//! the default features in the workspace's tests).

use brine_core::pickle::{Decoder, Pickled, Value};
#[cfg(not(feature = "float-text"))]
use brine_core::session::SkipReason;
use brine_core::session::{Error, Event, PeerFault, Session, Status};

/// `pickle.dumps(1.5, 0)` and `pickle.dumps(1.5, 2)`.
const FLOAT_P0: &[u8] = b"F1.5\n.";
const FLOAT_P2: &[u8] = b"\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.";
/// `pickle.dumps({'name': 'Ada'}, 4)`: the identity, pickled beforehand.
const IDENTITY: Pickled<'static> =
    Pickled(b"\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x04name\x94\x8c\x03Ada\x94s.");

/// A started session (identity pickled beforehand) that has received `stream`.
fn session_with(stream: &[u8]) -> Session {
    let mut session: Session = Session::new();
    session.start(&IDENTITY).unwrap();
    session.receive_buffer()[..stream.len()].copy_from_slice(stream);
    session.commit(stream.len());
    session
}

#[test]
fn a_protocol_0_float_is_refused_naming_the_feature_or_read() {
    let mut decoder: Decoder = Decoder::new();
    let got = decoder.decode(FLOAT_P0);
    #[cfg(feature = "float-text")]
    assert!(matches!(got, Ok(Value::Float(v)) if v == 1.5), "{got:?}");
    #[cfg(not(feature = "float-text"))]
    {
        let text = got.unwrap_err().to_string();
        assert!(text.contains("FLOAT at byte 0"), "{text}");
        assert!(text.contains("brine-core feature `float-text`"), "{text}");
    }
    // Binary floats need no parsing.
    assert!(matches!(decoder.decode(FLOAT_P2), Ok(Value::Float(v)) if v == 1.5));
}

#[test]
fn the_session_skips_a_float_it_cannot_read_and_goes_on() {
    // pickle.dumps({'clientid': 1}, 4), then the float in protocol 0, then 1.5 in protocol 2
    let clientid = b"\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94K\x01s.";
    let mut session = session_with(&[&clientid[..], FLOAT_P0, FLOAT_P2].concat());
    assert!(matches!(
        session.poll().unwrap(),
        Status::Event(Event::ClientId(_))
    ));
    match session.poll().unwrap() {
        #[cfg(feature = "float-text")]
        Status::Event(Event::Message(Value::Float(v))) => assert_eq!(v, 1.5),
        #[cfg(not(feature = "float-text"))]
        Status::Event(Event::Skipped {
            len: 6,
            reason: SkipReason::Refused(e),
        }) => assert!(e.to_string().contains("float-text"), "{e}"),
        other => panic!("expected the protocol-0 float, got {other:?}"),
    }
    assert!(matches!(
        session.poll().unwrap(),
        Status::Event(Event::Message(Value::Float(v))) if v == 1.5
    ));
}

#[test]
fn an_id_without_its_repr_is_printed_by_type_naming_the_feature() {
    // pickle.dumps({'clientid': {'room': 7}}, 4)
    let mut session = session_with(
        b"\x80\x04\x95\x1b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94}\x94\x8c\x04room\x94K\x07ss.",
    );
    let Status::Event(Event::ClientId(id)) = session.poll().unwrap() else {
        panic!("expected the client id");
    };
    #[cfg(feature = "repr")]
    assert_eq!(id.to_string(), "{'room': 7}");
    #[cfg(not(feature = "repr"))]
    assert_eq!(
        id.to_string(),
        "<a dict: repr left out (brine-core feature `repr`)>"
    );
}

#[test]
fn an_int_id_prints_as_its_digits_with_or_without_repr() {
    // pickle.dumps({'clientid': 54321}, 4)
    let mut session = session_with(
        b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.",
    );
    let Status::Event(Event::ClientId(id)) = session.poll().unwrap() else {
        panic!("expected the client id");
    };
    assert_eq!(id.to_string(), "54321");
    assert_eq!(format!("{id:?}"), "ClientId(54321)");
}

#[test]
fn a_first_message_that_is_no_id_is_named_by_type_without_repr() {
    // pickle.dumps(['not', 'an', 'id'], 4)
    let mut session = session_with(
        b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03not\x94\x8c\x02an\x94\x8c\x02id\x94e.",
    );
    let error = session.poll().unwrap_err();
    let Error::Peer(PeerFault::NotAClientId { first }) = &error else {
        panic!("expected NotAClientId, got {error:?}");
    };
    assert_eq!(first.type_name(), "list");
    #[cfg(feature = "repr")]
    assert_eq!(first.repr(), "['not', 'an', 'id']");
    // Without `repr` nothing is formatted: the type is kept and shown.
    #[cfg(not(feature = "repr"))]
    assert_eq!(
        (first.repr(), first.to_string().as_str()),
        ("", "<a list: repr left out (brine-core feature `repr`)>")
    );
}

/// Auto protocol is one of the `dialects` (without it `set_protocol_auto` is absent and the
/// session writes the protocol set).
#[test]
#[cfg(feature = "dialects")]
fn a_python_2_server_needs_python2_to_answer_in_its_protocol() {
    // Python 2's pickle.dumps({'clientid': 54321}, 2): byte strings, so the answer under auto
    // protocol is protocol 2 with byte strings, which means pickling the identity again.
    let stream = b"\x80\x02}q\x00U\x08clientidq\x01M1\xd4s.";
    let mut session: Session = Session::new();
    session.set_protocol_auto();
    session.start(&IDENTITY).unwrap();
    session.receive_buffer()[..stream.len()].copy_from_slice(stream);
    session.commit(stream.len());
    let got = session.poll();
    #[cfg(feature = "python2")]
    {
        assert!(
            matches!(got, Ok(Status::Event(Event::ClientId(_)))),
            "{got:?}"
        );
        // Python 2's pickle.dumps({'name': 'Ada'}, 2)
        assert_eq!(
            session.transmit(),
            b"\x80\x02}q\x00U\x04nameq\x01U\x03Adaq\x02s."
        );
    }
    #[cfg(not(feature = "python2"))]
    {
        let text = got.unwrap_err().to_string();
        assert!(text.contains("brine-core feature `python2`"), "{text}");
        assert_eq!(session.state(), brine_core::session::State::Closed);
    }
}

#[cfg(feature = "pickler")]
#[test]
fn python_2_types_need_python2() {
    use brine_core::pickle::{to_slice, Encoding, Protocol};
    let mut buf = [0u8; 64];
    let got = to_slice(
        &("clientid", 54321),
        &mut buf,
        Encoding::python2(Protocol::V2),
    );
    #[cfg(feature = "python2")]
    assert_eq!(got.unwrap(), b"\x80\x02U\x08clientidq\x00M1\xd4\x86q\x01.");
    #[cfg(not(feature = "python2"))]
    {
        let text = got.unwrap_err().to_string();
        assert!(text.contains("brine-core feature `python2`"), "{text}");
    }
    // Protocol 2 with Python 3's types needs no feature beyond the pickler.
    let got = to_slice(&("clientid", 54321), &mut buf, Protocol::V2).unwrap();
    assert_eq!(
        got,
        b"\x80\x02X\x08\x00\x00\x00clientidq\x00M1\xd4\x86q\x01."
    );
}

/// Without `any-keys`, equal keys are still merged where every key is a str, an int of 64
/// bits, a bool or None (`1 == True`; a Python 2 `'name'` equals `u'name'`), and a dict of
/// float keys is refused naming the feature; with it, Python's equality for every type.
#[test]
fn keys_other_than_str_int_bool_none_need_any_keys() {
    let mut decoder: Decoder = Decoder::new();
    // {1: 'a', True: 'b', 'x': None} as protocol 2, written by hand (Python keeps `1`, with 'b').
    let merged = decoder
        .decode(b"\x80\x02}(K\x01X\x01\x00\x00\x00a\x88X\x01\x00\x00\x00bX\x01\x00\x00\x00xNu.")
        .unwrap();
    let Value::Dict(d) = merged else {
        panic!("expected a dict, got {merged:?}");
    };
    assert_eq!(d.len(), 2);
    let (k, v) = d.iter().next().unwrap();
    assert_eq!((k.as_i64(), v.as_str()), (Some(1), Some("b")));
    // Python 2's protocol 0: S'name' then Vname, equal keys: {'name': 7}
    let p2 = decoder
        .decode(b"(dp0\nS'name'\np1\nVAda\np2\nsVname\np3\nI7\ns.")
        .unwrap();
    let Value::Dict(d) = p2 else {
        panic!("expected a dict, got {p2:?}");
    };
    assert_eq!(
        (d.len(), d.get("name").and_then(|v| v.as_i64())),
        (1, Some(7))
    );
    // pickle.dumps({1.5: 'a', 2.5: 'b'}, 2)
    let floats = decoder.decode(
        b"\x80\x02}q\x00(G?\xf8\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00aq\x01G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00bq\x02u.",
    );
    #[cfg(feature = "any-keys")]
    assert!(
        matches!(floats, Ok(Value::Dict(d)) if d.len() == 2),
        "{floats:?}"
    );
    #[cfg(not(feature = "any-keys"))]
    {
        let text = floats.unwrap_err().to_string();
        assert!(text.contains("STOP at byte 41"), "{text}");
        assert!(text.contains("brine-core feature `any-keys`"), "{text}");
    }
}
