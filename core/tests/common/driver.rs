//! The scripted-transport test suite, written once and run against both drivers (blocking
//! and async): each driver implements [`Driver`], and `driver_tests!` makes the `#[test]`s.

use brine_core::session::Waiting;
use brine_core::Identity;
use embedded_io::ErrorKind;
use proptest::prelude::*;

use super::fixtures::*;
use super::{Scripted, Step};

/// What the suite does with a client; text results so both drivers compare alike.
pub trait Driver {
    /// Handshake, then listen to the end: the events as lines (an error as a last line
    /// `error: ...`), and the peer.
    fn run(peer: Scripted) -> (Vec<String>, Scripted);
    /// Only the handshake: the id, or the error's text.
    fn handshake(peer: Scripted) -> Result<String, String>;
    /// Handshake, send `message`, listen to the end, then send again: the late send's error
    /// text and the peer.
    fn send_then_close(peer: Scripted, message: &str) -> (String, Scripted);
    /// Handshake and listen with a before-read hook: what the session waited for, per read.
    fn waits(peer: Scripted) -> Vec<Waiting>;
}

/// The identity every test sends: `IDENTITY` in the fixtures.
pub fn identity() -> Identity<'static> {
    Identity::new()
        .with("name", "Jose Ortiz")
        .and_then(|i| i.with("email", "jose@sfsu.edu"))
        .and_then(|i| i.with("student_id", 917654321))
        .and_then(|i| i.with("github_username", "jortiz"))
        .unwrap()
}

/// The lab's server stream: id, ack, list, an oversized message, a refused one, ack.
pub fn lab_stream() -> Vec<u8> {
    [CLIENT_ID, ACK, LIST, &big_message(), EVIL, ACK].concat()
}

pub const LAB_EVENTS: [&str; 7] = [
    "id 54321",
    "message 'Server got the data'",
    "message [1, 2, 3]",
    "skipped 5018: larger than the 4096-byte receive buffer",
    "skipped 29: refused GLOBAL of os.system at byte 0: pickles that import or call code are not decoded",
    "message 'Server got the data'",
    "closed",
];

pub fn every_single_cut<D: Driver>() {
    let stream = lab_stream();
    for cut in 0..=stream.len() {
        let (events, peer) = D::run(Scripted::cut(&stream, &[cut]));
        assert_eq!(events, LAB_EVENTS, "cut at {cut}");
        assert_eq!(peer.written, IDENTITY, "cut at {cut}");
    }
}

pub fn one_byte_reads<D: Driver>() {
    let (events, peer) = D::run(Scripted::chunked(&lab_stream(), 1));
    assert_eq!(events, LAB_EVENTS);
    assert_eq!(peer.written, IDENTITY);
}

pub fn any_chunking<D: Driver>(mut cuts: Vec<usize>) -> Result<(), TestCaseError> {
    cuts.sort_unstable();
    let (events, peer) = D::run(Scripted::cut(&lab_stream(), &cuts));
    prop_assert_eq!(events, LAB_EVENTS);
    prop_assert_eq!(peer.written, IDENTITY);
    Ok(())
}

pub fn eof_at_any_byte<D: Driver>(end: usize) -> Result<(), TestCaseError> {
    let stream = lab_stream();
    let end = end.min(stream.len());
    let (events, _) = D::run(Scripted::chunked(&stream[..end], 3));
    // The events are a prefix of the full run's, then an error or the close.
    let complete = events.len() - 1;
    prop_assert_eq!(&events[..complete], &LAB_EVENTS[..complete]);
    let last = &events[complete];
    prop_assert!(last == "closed" || last.starts_with("error: "), "{}", last);
    Ok(())
}

pub fn short_writes<D: Driver>() {
    let mut peer = Scripted::cut(&[CLIENT_ID, ACK].concat(), &[]);
    peer.max_write = 7;
    let (events, peer) = D::run(peer);
    assert_eq!(
        events,
        ["id 54321", "message 'Server got the data'", "closed"]
    );
    assert_eq!(peer.written, IDENTITY);
    assert_eq!(peer.write_calls, IDENTITY.len().div_ceil(7));
}

pub fn interrupted<D: Driver>() {
    let mut peer = Scripted::cut(&[CLIENT_ID, ACK].concat(), &[10]);
    peer.reads.insert(1, Step::Fail(ErrorKind::Interrupted));
    peer.write_faults.push_back(Err(ErrorKind::Interrupted));
    let (events, peer) = D::run(peer);
    assert_eq!(
        events,
        ["id 54321", "message 'Server got the data'", "closed"]
    );
    assert_eq!(peer.written, IDENTITY);
}

pub fn write_zero<D: Driver>() {
    let mut peer = Scripted::cut(CLIENT_ID, &[]);
    peer.write_faults.push_back(Ok(0));
    assert_eq!(
        D::handshake(peer),
        Err("the connection accepted no more bytes".to_string())
    );
}

pub fn transport_errors<D: Driver>() {
    let mut peer = Scripted::cut(&[CLIENT_ID, ACK].concat(), &[CLIENT_ID.len()]);
    peer.reads.insert(1, Step::Fail(ErrorKind::ConnectionReset));
    let (events, _) = D::run(peer);
    assert_eq!(
        events,
        ["id 54321", "error: transport error: ConnectionReset"]
    );

    let mut peer = Scripted::cut(CLIENT_ID, &[]);
    peer.write_faults.push_back(Err(ErrorKind::BrokenPipe));
    assert_eq!(
        D::handshake(peer),
        Err("transport error: BrokenPipe".to_string())
    );
}

pub fn send_after_handshake_and_close<D: Driver>() {
    let (late, peer) = D::send_then_close(Scripted::cut(CLIENT_ID, &[]), "Server got the data");
    assert_eq!(late, "the session is closed");
    assert_eq!(peer.written, [IDENTITY, ACK].concat());
}

pub fn before_read_sees_waits<D: Driver>() {
    // The ack arrives in two pieces: the second read happens mid-message.
    let stream = [CLIENT_ID, ACK].concat();
    let peer = Scripted::cut(&stream, &[CLIENT_ID.len(), CLIENT_ID.len() + 5]);
    assert_eq!(
        D::waits(peer),
        [
            Waiting::ClientId,
            Waiting::NextMessage,
            Waiting::RestOfMessage,
            Waiting::NextMessage
        ]
    );
}

/// The suite's `#[test]`s for driver `$driver`.
#[macro_export]
macro_rules! driver_tests {
    ($driver:ty) => {
        #[test]
        #[cfg_attr(miri, ignore = "too slow under Miri: a 5,200-byte stream cut at every byte")]
        fn every_single_cut_gives_the_same_events() {
            common::driver::every_single_cut::<$driver>();
        }

        #[test]
        fn one_byte_reads() {
            common::driver::one_byte_reads::<$driver>();
        }

        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig {
                // Under Miri: a few cases, and no failure file (Miri's isolation has no file system).
                cases: if cfg!(miri) { 4 } else { 256 },
                failure_persistence: if cfg!(miri) { None } else { proptest::prelude::ProptestConfig::default().failure_persistence },
                ..proptest::prelude::ProptestConfig::default()
            })]
            #[test]
            fn any_chunking_gives_the_same_events(cuts in proptest::collection::vec(0usize..5200, 0..40)) {
                common::driver::any_chunking::<$driver>(cuts)?;
            }

            #[test]
            fn eof_at_any_byte_delivers_every_complete_message(end in 0usize..5200) {
                common::driver::eof_at_any_byte::<$driver>(end)?;
            }
        }

        #[test]
        fn short_writes_are_completed() {
            common::driver::short_writes::<$driver>();
        }

        #[test]
        fn interrupted_calls_are_retried() {
            common::driver::interrupted::<$driver>();
        }

        #[test]
        fn write_of_zero_bytes_is_an_error_not_a_panic() {
            common::driver::write_zero::<$driver>();
        }

        #[test]
        fn transport_errors_stay_typed() {
            common::driver::transport_errors::<$driver>();
        }

        #[test]
        fn send_after_handshake_and_after_close() {
            common::driver::send_after_handshake_and_close::<$driver>();
        }

        #[test]
        fn before_read_sees_what_the_session_waits_for() {
            common::driver::before_read_sees_waits::<$driver>();
        }
    };
}
