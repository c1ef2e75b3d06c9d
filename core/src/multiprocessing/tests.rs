//! Unit tests with CPython transcripts: what `deliver_challenge`/`answer_challenge` of
//! 3.11.7 and 3.12.1 write with `os.urandom` fixed to `bytes(range(n))` and the key
//! `b'secret'` (`tests/servers/mp_transcript.py`; 3.13.0 writes 3.12.1's bytes).

extern crate std;

use std::vec::Vec;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// 3.11.7: the listener's bytes (challenge, then WELCOME, then its answer) and the
/// client's (its answer, then its challenge, then WELCOME).
const PY311_LISTENER: &str = "0000001f234348414c4c454e474523000102030405060708090a0b0c0d0e0f10111213000000092357454c434f4d4523000000107defa9cc46abc3583325d17ccda75190";
const PY311_CLIENT: &str = "000000107defa9cc46abc3583325d17ccda751900000001f234348414c4c454e474523000102030405060708090a0b0c0d0e0f10111213000000092357454c434f4d4523";
/// 3.12.1 (and 3.13.0).
const PY312_LISTENER: &str = "0000003b234348414c4c454e4745237b7368613235367d000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627000000092357454c434f4d4523000000287b7368613235367dfc57fbe650d6124b98215e7b5d197d5807ad69982d275a9735ea2d56f1fa6989";
const PY312_CLIENT: &str = "000000287b7368613235367dfc57fbe650d6124b98215e7b5d197d5807ad69982d275a9735ea2d56f1fa69890000003b234348414c4c454e4745237b7368613235367d000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627000000092357454c434f4d4523";

fn nonce() -> [u8; NONCE_LEN] {
    core::array::from_fn(|i| i as u8)
}

/// Plays `ours` against the peer's recorded bytes, fed `chunk` bytes at a time; returns
/// everything `ours` sent and the first error.
fn replay(ours: &mut Handshake<'_>, peer: &[u8], chunk: usize) -> (Vec<u8>, Option<AuthError>) {
    let mut sent = Vec::new();
    let mut fed = 0;
    loop {
        let tx = ours.transmit().to_vec();
        ours.transmitted(tx.len());
        sent.extend(tx);
        if ours.is_done() || fed == peer.len() {
            return (sent, ours.peer_closed());
        }
        let end = (fed + chunk).min(peer.len());
        match ours.receive(&peer[fed..end]) {
            Ok(n) => fed += n,
            Err(e) => {
                sent.extend_from_slice(ours.transmit());
                return (sent, Some(e));
            }
        }
        if fed < end && !ours.is_done() {
            panic!("bytes left before the handshake ended");
        }
    }
}

#[test]
fn as_a_client_it_writes_what_cpython_clients_write() {
    for (listener, client, offer) in [
        (PY311_LISTENER, PY311_CLIENT, Offer::Legacy),
        (PY312_LISTENER, PY312_CLIENT, Offer::Digest(Digest::Sha256)),
    ] {
        for chunk in 1..=8 {
            let mut ours = Handshake::new(Role::Client, b"secret", nonce()).with_offer(offer);
            // The listener's bytes up to its answer to our challenge (the rest is its answer).
            let (sent, err) = replay(&mut ours, &hex(listener), chunk);
            assert_eq!(err, None, "{offer:?} {chunk}");
            assert_eq!(sent, hex(client), "{offer:?} {chunk}");
            assert!(ours.is_done());
        }
    }
}

#[test]
fn as_a_listener_it_writes_what_cpython_listeners_write() {
    for (listener, client, offer) in [
        (PY311_LISTENER, PY311_CLIENT, Offer::Legacy),
        (PY312_LISTENER, PY312_CLIENT, Offer::Digest(Digest::Sha256)),
    ] {
        for chunk in 1..=8 {
            let mut ours = Handshake::new(Role::Listener, b"secret", nonce()).with_offer(offer);
            let (sent, err) = replay(&mut ours, &hex(client), chunk);
            assert_eq!(err, None);
            assert_eq!(sent, hex(listener), "{offer:?} {chunk}");
            assert!(ours.is_done());
        }
    }
}

/// 3.11's listener challenges with 20 bytes: a client answers raw MD5 (3.12.1 line 893);
/// 3.11's client answers our `{sha256}` challenge with a raw MD5 of all of it, accepted.
#[test]
fn either_generation_talks_to_the_other() {
    let mut ours = Handshake::new(Role::Client, b"secret", nonce());
    let (sent, err) = replay(&mut ours, &hex(PY311_LISTENER)[..35], 1);
    assert_eq!(
        err,
        Some(AuthError::Closed {
            awaiting: Awaiting::Verdict
        })
    );
    assert_eq!(sent, hex(PY311_CLIENT)[..20]);
    assert_eq!(ours.digests().0, Some(Digest::Md5));

    let mut listener = Handshake::new(Role::Listener, b"secret", nonce());
    listener.transmit();
    // hmac.new(b'secret', b'{sha256}' + bytes(range(40)), 'md5').digest(), as 3.11 answers.
    let mut answer = hex("00000010");
    answer.extend(hex("8e48d2bb349b4b72b9382999ed5b62eb"));
    assert_eq!(listener.receive(&answer), Ok(20));
    assert_eq!(listener.digests().1, Some(Digest::Md5));
    assert_eq!(listener.awaiting(), Awaiting::Challenge);
}

#[test]
fn every_digest_python_may_offer_is_answered() {
    // multiprocessing.connection._create_response(b'secret', b'{sha3_384}' + bytes(range(40)))
    let want = hex("7b736861335f3338347dbfbe71d4e622f58ebf6cbe049af4c8fe518645b482915af0940d678c37c0b46dd1a2a448f9ee5141c91bba42b46a7862");
    let mut challenge = hex("0000003d");
    challenge.extend_from_slice(b"#CHALLENGE#{sha3_384}");
    challenge.extend(nonce());
    let mut ours = Handshake::new(Role::Client, b"secret", nonce());
    assert_eq!(ours.receive(&challenge), Ok(challenge.len()));
    assert_eq!(&ours.transmit()[4..], want.as_slice());
    for digest in Digest::ALL {
        let offer = Offer::Digest(digest);
        let mut a = Handshake::new(Role::Listener, b"k", nonce()).with_offer(offer);
        let mut b = Handshake::new(Role::Client, b"k", [9; NONCE_LEN]).with_offer(offer);
        pump(&mut a, &mut b).unwrap();
        assert_eq!(a.digests(), (Some(digest), Some(digest)));
        assert_eq!(b.digests(), (Some(digest), Some(digest)));
    }
}

/// Runs two handshakes against each other until both are done or one fails.
fn pump(a: &mut Handshake<'_>, b: &mut Handshake<'_>) -> Result<(), AuthError> {
    for _ in 0..10 {
        let bytes = a.transmit().to_vec();
        a.transmitted(bytes.len());
        b.receive(&bytes)?;
        let bytes = b.transmit().to_vec();
        b.transmitted(bytes.len());
        a.receive(&bytes)?;
        if a.is_done() && b.is_done() {
            return Ok(());
        }
    }
    panic!("no progress");
}

#[test]
fn a_wrong_key_fails_on_both_sides_with_failure_sent() {
    let mut listener = Handshake::new(Role::Listener, b"right", nonce());
    let mut client = Handshake::new(Role::Client, b"wrong", nonce());
    let bytes = listener.transmit().to_vec();
    listener.transmitted(bytes.len());
    client.receive(&bytes).unwrap();
    let answer = client.transmit().to_vec();
    let err = listener.receive(&answer).unwrap_err();
    assert_eq!(
        err,
        AuthError::WrongAnswer {
            digest: Digest::Sha256
        }
    );
    assert!(std::format!("{err}").contains("authkey differs"));
    let failure = listener.transmit().to_vec();
    assert_eq!(failure, b"\x00\x00\x00\x09#FAILURE#");
    client.transmitted(answer.len());
    assert_eq!(client.receive(&failure), Err(AuthError::Rejected));
    assert!(!client.is_done() && !listener.is_done());
}

#[test]
fn peers_that_are_not_multiprocessing_or_have_no_key_are_named() {
    // A lab server's first bytes: PROTO 4, FRAME (negative as a signed length).
    let mut c = Handshake::new(Role::Client, b"k", nonce());
    let err = c.receive(b"\x80\x04\x95\x13\x00\x00").unwrap_err();
    assert!(matches!(err, AuthError::Framing(_)), "{err:?}");
    assert!(std::format!("{err}").contains("multiprocessing"));
    // A listener without an authkey that sends data first: a pickle, framed.
    let mut c = Handshake::new(Role::Client, b"k", nonce());
    let err = c.receive(b"\x00\x00\x00\x05\x80\x04K\x01.").unwrap_err();
    assert_eq!(
        std::format!("{err}"),
        "the peer sent data without a #CHALLENGE# (b'\\x80\\x04K\\x01.' (5 bytes)): it has no authkey; connect without one"
    );
    // A client without an authkey that sends data at once, to our challenge.
    let mut l = Handshake::new(Role::Listener, b"k", nonce());
    l.transmit();
    let err = l.receive(b"\x00\x00\x00\x05\x80\x04K\x01.").unwrap_err();
    assert!(matches!(err, AuthError::NotAnAnswer(_)));
    assert!(l.transmit().ends_with(FAILURE));
    // Over the 256-byte cap (checked from the prefix, before the body).
    let mut c = Handshake::new(Role::Client, b"k", nonce());
    assert_eq!(
        c.receive(b"\x00\x00\x01\x01"),
        Err(AuthError::TooLarge { len: 257 })
    );
    // Closed while waiting: the error says for what.
    let mut c = Handshake::new(Role::Client, b"k", nonce());
    assert_eq!(
        c.peer_closed(),
        Some(AuthError::Closed {
            awaiting: Awaiting::Challenge
        })
    );
    // A challenge too short, or naming a digest 3.12 does not allow.
    for body in [
        &b"#CHALLENGE#0123456789"[..],
        b"#CHALLENGE#{sha1}0123456789abcdefghij",
    ] {
        let mut c = Handshake::new(Role::Client, b"k", nonce());
        let mut m = std::vec![0, 0, 0, body.len() as u8];
        m.extend_from_slice(body);
        assert!(matches!(c.receive(&m), Err(AuthError::BadChallenge(_))));
    }
}

#[test]
fn wanted_never_reaches_past_the_handshake() {
    let peer = hex(PY312_CLIENT);
    let mut ours = Handshake::new(Role::Listener, b"secret", nonce());
    let mut fed = 0;
    while !ours.is_done() {
        let n = ours.transmit().len();
        ours.transmitted(n);
        if ours.is_done() {
            break;
        }
        let want = ours.wanted();
        assert!(want >= 1 && fed + want <= peer.len(), "{want} at {fed}");
        assert_eq!(ours.receive(&peer[fed..fed + want]), Ok(want));
        fed += want;
    }
    assert_eq!(fed, peer.len());
    assert_eq!(ours.wanted(), 0);
}

#[test]
fn data_after_the_handshake_is_left_to_the_caller() {
    let mut bytes = hex(PY312_LISTENER);
    let data = b"\x00\x00\x00\x05\x80\x04K\x01.";
    let mut ours = Handshake::new(Role::Client, b"secret", nonce());
    // Challenge and WELCOME, then the client's challenge answered, all in one read.
    let (first, rest) = bytes.split_at(0x3f + 13);
    assert_eq!(ours.receive(first), Ok(first.len()));
    let mut tail = rest.to_vec();
    tail.extend_from_slice(data);
    bytes = tail;
    assert_eq!(ours.receive(&bytes), Ok(bytes.len() - data.len()));
    let n = ours.transmit().len();
    ours.transmitted(n);
    assert!(ours.is_done());
}
