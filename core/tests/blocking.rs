//! The blocking client over scripted in-memory transports: every chunking of the same server
//! stream gives the same events; short writes, interrupted calls and faults are handled.

mod common;

use brine_core::blocking::{Client, Error};
use brine_core::session::{self, Event};
use brine_core::Identity;
use common::fixtures::*;
use common::{describe, Scripted, Step};
use embedded_io::ErrorKind;
use proptest::prelude::*;

fn identity() -> Identity<'static> {
    Identity::new()
        .with("name", "Jose Ortiz")
        .and_then(|i| i.with("email", "jose@sfsu.edu"))
        .and_then(|i| i.with("student_id", 917654321))
        .and_then(|i| i.with("github_username", "jortiz"))
        .unwrap()
}

/// Runs the client to the end; returns the events (and a final error line) and the peer.
fn run(peer: Scripted) -> (Vec<String>, Scripted) {
    let mut client: Client<Scripted> = Client::new(peer);
    let mut events = Vec::new();
    match client.handshake(&identity()) {
        Ok(id) => events.push(format!("id {id}")),
        Err(e) => {
            events.push(format!("error: {e}"));
            return (events, client.into_inner());
        }
    }
    if let Err(e) = client.run(|event| events.push(describe(&event))) {
        events.push(format!("error: {e}"));
    }
    (events, client.into_inner())
}

fn lab_stream() -> Vec<u8> {
    [CLIENT_ID, ACK, LIST, &big_message(), EVIL, ACK].concat()
}

const LAB_EVENTS: [&str; 7] = [
    "id 54321",
    "message 'Server got the data'",
    "message [1, 2, 3]",
    "skipped 5018: larger than the 4096-byte receive buffer",
    "skipped 29: refused GLOBAL of os.system at byte 0: pickles that import or call code are not decoded",
    "message 'Server got the data'",
    "closed",
];

#[test]
fn every_single_cut_gives_the_same_events() {
    let stream = lab_stream();
    for cut in 0..=stream.len() {
        let (events, peer) = run(Scripted::cut(&stream, &[cut]));
        assert_eq!(events, LAB_EVENTS, "cut at {cut}");
        assert_eq!(peer.written, IDENTITY, "cut at {cut}");
    }
}

#[test]
fn one_byte_reads() {
    let (events, peer) = run(Scripted::chunked(&lab_stream(), 1));
    assert_eq!(events, LAB_EVENTS);
    assert_eq!(peer.written, IDENTITY);
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_events(mut cuts in proptest::collection::vec(0usize..5200, 0..40)) {
        let stream = lab_stream();
        cuts.sort_unstable();
        let (events, peer) = run(Scripted::cut(&stream, &cuts));
        prop_assert_eq!(events, LAB_EVENTS);
        prop_assert_eq!(peer.written, IDENTITY);
    }

    #[test]
    fn eof_at_any_byte_delivers_every_complete_message(end in 0usize..5200) {
        let stream = lab_stream();
        let end = end.min(stream.len());
        let (events, _) = run(Scripted::chunked(&stream[..end], 3));
        // The events are a prefix of the full run's, then an error or the close.
        let complete = events.len() - 1;
        prop_assert_eq!(&events[..complete], &LAB_EVENTS[..complete]);
        let last = &events[complete];
        prop_assert!(last == "closed" || last.starts_with("error: "), "{}", last);
    }
}

#[test]
fn short_writes_are_completed() {
    let mut peer = Scripted::cut(&[CLIENT_ID, ACK].concat(), &[]);
    peer.max_write = 7;
    let (events, peer) = run(peer);
    assert_eq!(
        events,
        ["id 54321", "message 'Server got the data'", "closed"]
    );
    assert_eq!(peer.written, IDENTITY);
    assert_eq!(peer.write_calls, IDENTITY.len().div_ceil(7));
}

#[test]
fn interrupted_calls_are_retried() {
    let mut peer = Scripted::cut(&[CLIENT_ID, ACK].concat(), &[10]);
    peer.reads.insert(1, Step::Fail(ErrorKind::Interrupted));
    peer.write_faults.push_back(Err(ErrorKind::Interrupted));
    let (events, peer) = run(peer);
    assert_eq!(
        events,
        ["id 54321", "message 'Server got the data'", "closed"]
    );
    assert_eq!(peer.written, IDENTITY);
}

#[test]
fn write_of_zero_bytes_is_an_error_not_a_panic() {
    let mut peer = Scripted::cut(CLIENT_ID, &[]);
    peer.write_faults.push_back(Ok(0));
    let mut client: Client<Scripted> = Client::new(peer);
    assert_eq!(client.handshake(&identity()), Err(Error::WriteZero));
}

#[test]
fn transport_errors_stay_typed() {
    let mut peer = Scripted::cut(&[CLIENT_ID, ACK].concat(), &[CLIENT_ID.len()]);
    peer.reads.insert(1, Step::Fail(ErrorKind::ConnectionReset));
    let (events, _) = run(peer);
    assert_eq!(
        events,
        ["id 54321", "error: transport error: ConnectionReset"]
    );

    let mut peer = Scripted::cut(CLIENT_ID, &[]);
    peer.write_faults.push_back(Err(ErrorKind::BrokenPipe));
    let mut client: Client<Scripted> = Client::new(peer);
    assert_eq!(
        client.handshake(&identity()),
        Err(Error::Transport(ErrorKind::BrokenPipe))
    );
}

#[test]
fn send_after_handshake_and_after_close() {
    let mut client: Client<Scripted> = Client::new(Scripted::cut(CLIENT_ID, &[]));
    client.handshake(&identity()).unwrap();
    client.send("Server got the data").unwrap();
    assert!(matches!(client.next_event(), Ok(Event::Closed)));
    assert_eq!(
        client.send("late").unwrap_err(),
        Error::Session(session::Error::Closed)
    );
    assert_eq!(client.into_inner().written, [IDENTITY, ACK].concat());
}

#[test]
fn before_read_sees_what_the_session_waits_for() {
    use brine_core::session::Waiting;
    // The ack arrives in two pieces: the second read happens mid-message.
    let stream = [CLIENT_ID, ACK].concat();
    let peer = Scripted::cut(&stream, &[CLIENT_ID.len(), CLIENT_ID.len() + 5]);
    let mut seen = Vec::new();
    let mut client = Client::with_before_read(peer, |_: &mut Scripted, waiting| {
        seen.push(waiting);
        Ok(())
    });
    client.handshake(&identity()).unwrap();
    client.run(|_| {}).unwrap();
    drop(client);
    assert_eq!(
        seen,
        [
            Waiting::ClientId,
            Waiting::NextMessage,
            Waiting::RestOfMessage,
            Waiting::NextMessage
        ]
    );
}

#[test]
fn before_read_errors_stop_the_client() {
    let peer = Scripted::cut(CLIENT_ID, &[]);
    let mut client = Client::with_before_read(peer, |_: &mut Scripted, _| Err(ErrorKind::TimedOut));
    assert_eq!(
        client.handshake(&identity()),
        Err(Error::Transport(ErrorKind::TimedOut))
    );
}

#[test]
fn a_small_decoder_skips_what_exceeds_its_capacities_and_goes_on() {
    use brine_core::pickle::Decoder;
    // Four of each: the id and the ack fit, the list of three ints needs more stack entries.
    let mut client: Client<Scripted, (), 4096, 4096, Decoder<4, 4, 4, 4>> =
        Client::with_decoder(Scripted::chunked(&lab_stream(), 7), (), Decoder::new());
    let mut events = vec![format!("id {}", client.handshake(&identity()).unwrap())];
    client.run(|event| events.push(describe(&event))).unwrap();
    assert_eq!(events[0], "id 54321");
    assert_eq!(events[1], "message 'Server got the data'");
    assert_eq!(
        events[2],
        "skipped 22: pickle too large at byte 18: more than 4 stack entries"
    );
    assert_eq!(events[3..], LAB_EVENTS[3..]);
    assert_eq!(client.into_inner().written, IDENTITY);
    assert!(core::mem::size_of::<Decoder<4, 4, 4, 4>>() < 200);
}
