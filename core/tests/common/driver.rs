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
    /// Handshake, then listen to the end with `run`: the events as lines (an error as a last
    /// line `error: ...`), and the peer.
    fn run(peer: Scripted) -> (Vec<String>, Scripted);
    /// As [`run`](Driver::run), listening with `next_event` one event at a time.
    fn next_events(peer: Scripted) -> (Vec<String>, Scripted);
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

/// `run` and `next_event` one by one over the same peer: the same events, and the same reads
/// and writes in the same order.
fn run_is_next_event<D: Driver>(peer: impl Fn() -> Scripted) {
    let (events, ran) = D::run(peer());
    let (one_by_one, stepped) = D::next_events(peer());
    assert_eq!(events, one_by_one);
    assert_eq!(ran.log, stepped.log);
    assert_eq!(ran.written, stepped.written);
}

/// [`run_is_next_event`] for `stream` cut at every byte, in every read size up to 64 and
/// some larger, and (unless `whole`) ended at every byte in 3-byte reads.
fn run_is_next_event_in_every_chunking<D: Driver>(stream: &[u8], ends: bool) {
    let sizes = (1..=64).chain([100, 509, 1000, 4096, 5000]);
    let miri = |n: &usize| !cfg!(miri) || *n % 257 == 0 || *n <= 2;
    for chunk in sizes.filter(miri) {
        run_is_next_event::<D>(|| Scripted::chunked(stream, chunk));
    }
    for cut in (0..=stream.len()).filter(miri) {
        run_is_next_event::<D>(|| Scripted::cut(stream, &[cut]));
        if ends {
            run_is_next_event::<D>(|| Scripted::chunked(&stream[..cut], 3));
        }
    }
}

pub fn run_gives_next_events<D: Driver>() {
    // The lab's stream (an oversized and a refused message among acks and a list), a dict
    // and a pickle with no FRAME (framed when split), a fault after complete messages.
    let v2 = b"\x80\x02]q\x00(K\x01K\x02K\x03e.";
    run_is_next_event_in_every_chunking::<D>(&lab_stream(), false);
    let stream = [CLIENT_ID, ACK, IDENTITY, v2, ACK, LIST, ACK].concat();
    run_is_next_event_in_every_chunking::<D>(&stream, true);
    let bad = [CLIENT_ID, ACK, LIST, ACK, b"\xff", ACK].concat();
    run_is_next_event_in_every_chunking::<D>(&bad, false);
    // Reads that fail, writes that are short or interrupted.
    let mut peer = Scripted::chunked(&stream, 5);
    peer.reads.insert(3, Step::Fail(ErrorKind::Interrupted));
    peer.reads.insert(9, Step::Fail(ErrorKind::ConnectionReset));
    peer.max_write = 7;
    peer.write_faults.push_back(Err(ErrorKind::Interrupted));
    run_is_next_event::<D>(|| Scripted {
        reads: peer.reads.clone(),
        max_write: peer.max_write,
        write_faults: peer.write_faults.clone(),
        ..Scripted::default()
    });
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
        fn run_gives_the_events_reads_and_writes_of_next_event() {
            common::driver::run_gives_next_events::<$driver>();
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
