//! The blocking client over scripted in-memory transports: every chunking of the same server
//! stream gives the same events; short writes, interrupted calls and faults are handled. The
//! suite itself is shared with the async client (`common/driver.rs`).

mod common;

use brine_core::blocking::{Client, Error};
use brine_core::pickle::Decoder;
use brine_core::session::{Event, Session, Waiting};
use common::driver::{identity, lab_stream, Driver, LAB_EVENTS};
use common::fixtures::*;
use common::{describe, Scripted};
use embedded_io::ErrorKind;

struct Blocking;

impl Driver for Blocking {
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

    fn next_events(peer: Scripted) -> (Vec<String>, Scripted) {
        let mut client: Client<Scripted> = Client::new(peer);
        let mut events = Vec::new();
        match client.handshake(&identity()) {
            Ok(id) => events.push(format!("id {id}")),
            Err(e) => {
                events.push(format!("error: {e}"));
                return (events, client.into_inner());
            }
        }
        loop {
            match client.next_event() {
                Ok(event) => {
                    events.push(describe(&event));
                    if matches!(event, Event::Closed) {
                        break;
                    }
                }
                Err(e) => {
                    events.push(format!("error: {e}"));
                    break;
                }
            }
        }
        (events, client.into_inner())
    }

    fn handshake(peer: Scripted) -> Result<String, String> {
        let mut client: Client<Scripted> = Client::new(peer);
        client
            .handshake(&identity())
            .map(|id| id.to_string())
            .map_err(|e| e.to_string())
    }

    fn send_then_close(peer: Scripted, message: &str) -> (String, Scripted) {
        let mut client: Client<Scripted> = Client::new(peer);
        client.handshake(&identity()).unwrap();
        client.send(message).unwrap();
        client.run(|_| {}).unwrap();
        let late = client.send(message).unwrap_err().to_string();
        (late, client.into_inner())
    }

    fn waits(peer: Scripted) -> Vec<Waiting> {
        let mut seen = Vec::new();
        let mut client = Client::with_before_read(peer, |_: &mut Scripted, waiting| {
            seen.push(waiting);
            Ok(())
        });
        client.handshake(&identity()).unwrap();
        client.run(|_| {}).unwrap();
        drop(client);
        seen
    }
}

driver_tests!(Blocking);

#[test]
fn errors_keep_the_transport_type() {
    let mut peer = Scripted::cut(CLIENT_ID, &[]);
    peer.write_faults.push_back(Err(ErrorKind::BrokenPipe));
    let mut client: Client<Scripted> = Client::new(peer);
    assert_eq!(
        client.handshake(&identity()),
        Err(Error::Transport(ErrorKind::BrokenPipe))
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
    // Four of each: the id and the ack fit, the list of three ints needs more stack entries.
    let mut client: Client<Scripted, (), Session<4096, 4096, Decoder<4, 4, 4, 4>>> =
        Client::with_storage(Scripted::chunked(&lab_stream(), 7), ());
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
    // 144 bytes with `fast` (measured; 136 before the shape replay's 4-byte field and its padding); 200 with `alloc` (32-bit arena ids).
    let small = if cfg!(feature = "alloc") { 208 } else { 144 };
    assert!(core::mem::size_of::<Decoder<4, 4, 4, 4>>() <= small);
}

/// `run` after `begin` under `Greeting::Any`: the identity goes out after the greeting and
/// before the next read, as with `next_event`; a message kept by `wait_event` comes first.
/// (`Greeting::Any` is a `dialects` setting.)
#[cfg(feature = "dialects")]
#[test]
fn run_flushes_after_the_greeting_and_takes_a_kept_message() {
    use brine_core::session::Greeting;
    let stream = [ACK, LIST, ACK, b"\xff"].concat();
    for chunk in [1, 5, 34, 1000] {
        let listen = |by_run: bool, keep: bool| {
            let mut client: Client<Scripted> = Client::new(Scripted::chunked(&stream, chunk));
            client.set_greeting(Greeting::Any);
            client.begin(&identity()).unwrap();
            let mut events = Vec::new();
            if keep {
                client.wait_event().unwrap();
            }
            let result = if by_run {
                client.run(|event| events.push(describe(&event)))
            } else {
                loop {
                    match client.next_event() {
                        Ok(event) => events.push(describe(&event)),
                        Err(e) => break Err(e),
                    }
                }
            };
            events.push(format!("{result:?}"));
            (events, client.into_inner().log)
        };
        for keep in [false, true] {
            let (events, log) = listen(true, keep);
            assert_eq!(
                (&events, &log),
                (&listen(false, keep).0, &listen(false, keep).1)
            );
            assert!(
                events[0].starts_with("unknown event Greeting"),
                "{events:?}"
            );
            assert_eq!(events.len(), 4, "{events:?}");
            let wrote = log.iter().position(|s| s.starts_with("write")).unwrap();
            assert!(
                log[wrote + 1..].iter().all(|s| s.starts_with("read")),
                "{log:?}"
            );
        }
    }
}

/// `run` tells the read hook once per batch of events before the next read
/// (`BeforeRead::events_arrived`); `next_event` never does.
#[test]
fn run_reports_events_to_the_hook_before_each_read() {
    #[derive(Default)]
    struct Hook(Vec<String>);
    impl brine_core::blocking::BeforeRead<Scripted> for Hook {
        fn before_read(&mut self, _: &mut Scripted, waiting: Waiting) -> Result<(), ErrorKind> {
            self.0.push(format!("read {waiting:?}"));
            Ok(())
        }
        fn events_arrived(&mut self) {
            self.0.push("arrived".into());
        }
    }
    let stream = [CLIENT_ID, ACK, LIST, &ACK[..5], &ACK[5..], ACK].concat();
    let cuts = [CLIENT_ID.len() + ACK.len() + LIST.len() + 5];
    let mut client = Client::with_before_read(Scripted::cut(&stream, &cuts), Hook::default());
    client.handshake(&identity()).unwrap();
    let mut events = 0;
    client.run(|_| events += 1).unwrap();
    assert_eq!(events, 5); // four messages, then the close
    assert_eq!(
        client.before_read().0,
        [
            "read ClientId",
            "arrived",
            "read RestOfMessage",
            "arrived",
            "read NextMessage",
        ]
    );
    let mut client = Client::with_before_read(Scripted::cut(&stream, &cuts), Hook::default());
    client.handshake(&identity()).unwrap();
    while !matches!(
        client.next_event().unwrap(),
        brine_core::session::Event::Closed
    ) {}
    assert!(!client.before_read().0.contains(&"arrived".to_string()));
}
