//! The stream framer under arbitrary chunkings. Input: `k = data[0] % 8` chunk sizes in
//! `data[1..=k]` (cycled; 0 feeds an empty chunk), then the stream.
//!
//! Checks: the framer finds the same boundaries, the same error (value and stream offset)
//! and ends in the same state whatever the chunking (compared with one chunk); every
//! `Complete { len }` lies within its chunk and agrees with `stream_offset`; and wherever
//! the one-shot decoder accepts a pickle starting at a boundary, the framer's next boundary
//! is exactly where the decoder's pickle ends.
#![no_main]

use brine_core::pickle::{Decoder, Error, Framer, Progress};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Outcome {
    /// Stream offsets just past each STOP.
    boundaries: Vec<usize>,
    error: Option<Error>,
    in_pickle: bool,
    offset: usize,
}

fn frame(stream: &[u8], sizes: &[usize]) -> Outcome {
    let mut f = Framer::new();
    let mut out = Outcome {
        boundaries: Vec::new(),
        error: None,
        in_pickle: false,
        offset: 0,
    };
    let mut pos = 0;
    let mut i = 0;
    'feed: while pos < stream.len() {
        let size = sizes[i % sizes.len()];
        i += 1;
        let end = (pos + size).min(stream.len());
        let mut rest = &stream[pos..end];
        loop {
            match f.advance(rest) {
                Ok(Progress::Complete { len }) => {
                    assert!(len >= 1 && len <= rest.len(), "len {len} of {}", rest.len());
                    assert_eq!(rest[len - 1], b'.', "a pickle ends at a STOP");
                    assert!(!f.in_pickle());
                    rest = &rest[len..];
                    let at = end - rest.len();
                    assert_eq!(f.stream_offset(), at);
                    let start = out.boundaries.last().copied().unwrap_or(0);
                    assert_eq!(f.pickle_len(), at - start);
                    out.boundaries.push(at);
                    if rest.is_empty() {
                        break;
                    }
                }
                Ok(Progress::Incomplete) => {
                    assert_eq!(f.stream_offset(), end);
                    break;
                }
                Err(e) => {
                    // Errors are final, and a later call consumes nothing.
                    let offset = f.stream_offset();
                    assert_eq!(f.advance(b"N."), Err(e.clone()));
                    assert_eq!(f.stream_offset(), offset);
                    out.error = Some(e);
                    break 'feed;
                }
            }
        }
        pos = end;
    }
    out.in_pickle = f.in_pickle();
    out.offset = f.stream_offset();
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = (k % 8) as usize;
    if rest.len() < k {
        return;
    }
    let (sizes, stream) = rest.split_at(k);
    let mut sizes: Vec<usize> = sizes.iter().map(|&b| b as usize).collect();
    if sizes.iter().all(|&s| s == 0) {
        sizes.push(1);
    }

    let whole = frame(stream, &[stream.len().max(1)]);
    let chunked = frame(stream, &sizes);
    assert_eq!(whole, chunked, "chunking changed the framing");
    let bytewise = frame(stream, &[1]);
    assert_eq!(whole, bytewise, "byte-by-byte framing differs");

    // The decoder agrees with every boundary it can check.
    let mut decoder: Decoder = Decoder::new();
    let mut start = 0;
    for next in whole.boundaries.iter().copied().map(Some).chain([None]) {
        if start >= stream.len() {
            break;
        }
        if let Ok((_, len)) = decoder.decode_prefix(&stream[start..]) {
            assert_eq!(
                next,
                Some(start + len),
                "the decoder read a {len}-byte pickle at {start}, the framer disagrees ({:?})",
                whole.error
            );
        }
        match next {
            Some(n) => start = n,
            None => break,
        }
    }
});
