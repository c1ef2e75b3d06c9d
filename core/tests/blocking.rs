//! The blocking client over scripted in-memory transports: every chunking of the same server
//! stream gives the same events; short writes, interrupted calls and faults are handled. The
//! suite itself is shared with the async client (`common/driver.rs`).

mod common;

use brine_core::blocking::{Client, Error};
use brine_core::pickle::Decoder;
use brine_core::session::{Session, Waiting};
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
    // 136 bytes; 200 with `alloc` (32-bit arena ids).
    let small = if cfg!(feature = "alloc") { 208 } else { 144 };
    assert!(core::mem::size_of::<Decoder<4, 4, 4, 4>>() <= small);
}
