//! A random server stream with random read sizes into a `Session`. Input: `data[0]` picks
//! the receive buffer and decoder sizes, `k = data[1] % 8` read sizes follow in
//! `data[2..2 + k]` (cycled), then the stream.
//!
//! Checks: no panic; never stuck (no event yet always leaves room to read; after end of
//! stream every call yields an event or an error); events end with `Closed` or an error,
//! after which the session stays closed; and the same events, in the same order, whatever
//! the read sizes (compared with reads as large as the buffer allows).
#![no_main]

use brine_core::pickle::Decoder;
use brine_core::session::{Error, Event, Misuse, Session, Status};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;

#[derive(Serialize)]
struct Ident<'a> {
    name: &'a str,
    student_id: i64,
}

fn run<const RX: usize, const V: usize, const I: usize, const S: usize, const M: usize>(
    stream: &[u8],
    sizes: &[usize],
) -> Vec<String> {
    let mut session: Session<RX, 256, Decoder<V, I, S, M>> = Session::new();
    session
        .start(&Ident {
            name: "fuzz",
            student_id: 7,
        })
        .unwrap();
    let mut events = Vec::new();
    let (mut pos, mut read, mut eof) = (0, 0, false);
    // Every call either consumes input or hands out an event that consumed some: bounded.
    let limit = 4 * stream.len() + 16;
    for _ in 0..limit {
        let pending = session.transmit().len();
        if pending > 0 {
            session.transmitted(pending.min(sizes[read % sizes.len()]));
        }
        match session.poll() {
            Ok(Status::Event(event)) => {
                let closed = matches!(event, Event::Closed);
                events.push(format!("{event:?}"));
                if closed {
                    assert!(eof, "Closed before the end of the stream");
                    assert!(matches!(session.poll(), Err(Error::Misuse(Misuse::Closed))));
                    return events;
                }
            }
            Ok(Status::Partial) => {
                assert!(!eof, "no event and no error after the end of the stream");
                let buf = session.receive_buffer();
                assert!(!buf.is_empty(), "no event, and no room to read");
                if pos == stream.len() {
                    session.commit(0);
                    eof = true;
                } else {
                    let n = sizes[read % sizes.len()]
                        .min(buf.len())
                        .min(stream.len() - pos);
                    read += 1;
                    buf[..n].copy_from_slice(&stream[pos..pos + n]);
                    session.commit(n);
                    pos += n;
                }
            }
            Err(e) => {
                events.push(format!("error: {e}"));
                assert!(matches!(session.poll(), Err(Error::Misuse(Misuse::Closed))));
                assert!(matches!(
                    session.poll(),
                    Err(Error::Misuse(Misuse::Closed))
                ));
                return events;
            }
        }
    }
    panic!("no end after {limit} steps: {events:?}");
}

fn both<const RX: usize, const V: usize, const I: usize, const S: usize, const M: usize>(
    stream: &[u8],
    sizes: &[usize],
) {
    let chunked = run::<RX, V, I, S, M>(stream, sizes);
    let whole = run::<RX, V, I, S, M>(stream, &[usize::MAX]);
    assert_eq!(chunked, whole, "read sizes changed the events");
}

fuzz_target!(|data: &[u8]| {
    let [flags, k, rest @ ..] = data else {
        return;
    };
    let k = (k % 8) as usize;
    if rest.len() < k {
        return;
    }
    let (sizes, stream) = rest.split_at(k);
    let scale = if flags & 4 != 0 { 61 } else { 1 };
    let mut sizes: Vec<usize> = sizes.iter().map(|&b| (b as usize + 1) * scale).collect();
    if sizes.is_empty() {
        sizes.push(usize::MAX);
    }
    match flags % 4 {
        0 => both::<4096, 1024, 2048, 512, 1024>(stream, &sizes),
        1 => both::<64, 1024, 2048, 512, 1024>(stream, &sizes),
        2 => both::<4096, 8, 8, 8, 8>(stream, &sizes),
        _ => both::<17, 16, 16, 16, 16>(stream, &sizes),
    }
});
