//! The `alloc` layer: pickles into a `Vec` and a stream splitter whose buffer grows, for
//! callers with a heap and no fixed buffer size (command-line tools, servers).
//!
//! Everything else in [`pickle`](super) works on caller-provided slices; this module is the
//! one place that allocates, and only with the `alloc` feature.

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

use serde::Serialize;

use super::{to_slice_with_memo, Encoding, Error, Framer, Progress, MEMO_CAPACITY};

/// Pickles `value` into a new `Vec`, as [`to_slice`](super::to_slice) does into a slice.
///
/// Allocates the returned vector; it grows (×4 from 256 bytes) until the pickle fits, so a
/// value may be pickled up to five times over for every doubling of 256 bytes it needs, and
/// the vector's capacity is at most 4× the pickle's length.
///
/// # Errors
///
/// As [`to_slice`](super::to_slice), except [`Error::BufferFull`], which never occurs (an
/// allocation failure aborts, as `Vec`'s do).
///
/// ```
/// use brine_core::pickle::{to_vec, Protocol};
///
/// let bytes = to_vec(&("clientid", 54321), Protocol::V2).unwrap();
/// assert_eq!(bytes, b"\x80\x02X\x08\x00\x00\x00clientidq\x00M1\xd4\x86q\x01.");
/// ```
pub fn to_vec<T: Serialize + ?Sized>(
    value: &T,
    protocol: impl Into<Encoding>,
) -> Result<Vec<u8>, Error> {
    to_vec_with_memo::<MEMO_CAPACITY, T>(value, protocol)
}

/// [`to_vec`] with room for `MEMO` distinct strings and bytes values in the memo (20 bytes of
/// stack each while encoding).
///
/// # Errors
///
/// As [`to_vec`].
pub fn to_vec_with_memo<const MEMO: usize, T: Serialize + ?Sized>(
    value: &T,
    protocol: impl Into<Encoding>,
) -> Result<Vec<u8>, Error> {
    let protocol = protocol.into();
    let mut buf = alloc::vec![0u8; 256];
    loop {
        match to_slice_with_memo::<MEMO, T>(value, &mut buf, protocol) {
            Ok(bytes) => {
                let len = bytes.len();
                buf.truncate(len);
                return Ok(buf);
            }
            Err(Error::BufferFull { .. }) => {
                let grown = buf.len().saturating_mul(4);
                buf.resize(grown, 0);
            }
            Err(e) => return Err(e),
        }
    }
}

/// One complete pickle found by [`Pickles::next_pickle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The pickle's bytes, from its first opcode to its STOP.
    pub bytes: &'a [u8],
    /// Stream offset of its first byte (bytes pushed before it).
    pub offset: usize,
}

/// Why [`Pickles`] cannot go on. Both are final: the stream's boundaries are lost.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StreamError {
    /// The bytes are not a pickle stream (the [`Framer`]'s error, with stream offsets).
    Framing(Error),
    /// The pickle starting at stream offset `offset` is longer than the limit set by
    /// [`Pickles::with_max_len`].
    TooLong {
        /// Stream offset of the pickle's first byte.
        offset: usize,
        /// The limit in bytes.
        max_len: usize,
    },
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Framing(e) => write!(f, "not a pickle stream: {e}"),
            StreamError::TooLong { offset, max_len } => write!(
                f,
                "the pickle at stream offset {offset} is larger than {max_len} bytes"
            ),
        }
    }
}

impl core::error::Error for StreamError {}

/// Splits a byte stream of concatenated pickles into complete pickles, keeping the bytes of
/// an unfinished one in a buffer that grows as needed.
///
/// [`push`](Pickles::push) what was read, then take each complete pickle with
/// [`next_pickle`](Pickles::next_pickle) until it returns `Ok(None)`. Decoding is the caller's
/// (any [`Decoder`](super::Decoder) size): the splitter only finds boundaries, with a
/// [`Framer`].
///
/// Allocates the buffer, which holds the unfinished pickle plus what was pushed after it: at
/// most the `max_len` limit plus one push, when one is set. Between pickles a buffer grown
/// past 64 KiB is given back.
///
/// ```
/// use brine_core::pickle::{Decoder, Pickles};
///
/// let stream = b"\x80\x02X\x01\x00\x00\x00aq\x00.\x80\x02K\x01.";
/// let mut pickles = Pickles::new();
/// let mut decoder: Decoder = Decoder::new();
/// let mut seen = Vec::new();
/// for chunk in stream.chunks(3) {
///     pickles.push(chunk);
///     while let Some(message) = pickles.next_pickle().unwrap() {
///         seen.push((message.offset, decoder.decode(message.bytes).unwrap().to_string()));
///     }
/// }
/// assert_eq!(seen, [(0, "'a'".to_string()), (11, "1".to_string())]);
/// assert_eq!(pickles.unfinished(), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Pickles {
    framer: Framer,
    buf: Vec<u8>,
    /// `buf[start..]` is the current pickle so far.
    start: usize,
    /// `buf[scanned..]` has not been fed to the framer.
    scanned: usize,
    /// Stream offset of `buf[0]`.
    base: usize,
    max_len: Option<usize>,
    failed: Option<StreamError>,
}

/// Capacity kept between pickles; a buffer grown past it is given back.
const KEEP: usize = 64 * 1024;

impl Pickles {
    /// A splitter at stream offset 0 with no length limit. Allocates nothing until a push.
    pub fn new() -> Self {
        Pickles::default()
    }

    /// A splitter refusing pickles longer than `max_len` bytes, which bounds its buffer.
    pub fn with_max_len(max_len: usize) -> Self {
        Pickles {
            max_len: Some(max_len),
            ..Pickles::default()
        }
    }

    /// Appends `bytes`, the next bytes of the stream. Allocates when the buffer must grow;
    /// after an error, drops them.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start == self.buf.len() {
            // Everything is consumed: start over at the front.
            self.base = self.base.wrapping_add(self.buf.len());
            self.buf.clear();
            self.buf.shrink_to(KEEP);
            self.start = 0;
            self.scanned = 0;
        } else if self.start > 0 && self.start >= self.buf.len() / 2 {
            // Drop consumed bytes when that moves no more than it frees.
            self.buf.drain(..self.start);
            self.base = self.base.wrapping_add(self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete pickle, or `None` until more bytes are pushed. Never allocates.
    ///
    /// # Errors
    ///
    /// [`StreamError::Framing`] when the bytes are not a pickle stream and
    /// [`StreamError::TooLong`] past the limit; the same error on every later call. Every
    /// pickle that ended before the fault is returned first.
    pub fn next_pickle(&mut self) -> Result<Option<Message<'_>>, StreamError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        while self.scanned < self.buf.len() {
            let progress = self.framer.advance(&self.buf[self.scanned..]);
            let offset = self.base.wrapping_add(self.start);
            let too_long = self
                .max_len
                .filter(|&max| self.framer.pickle_len() > max)
                .map(|max_len| StreamError::TooLong { offset, max_len });
            match (progress, too_long) {
                (Err(e), _) => return Err(self.failed.insert(StreamError::Framing(e)).clone()),
                (_, Some(e)) => return Err(self.failed.insert(e).clone()),
                (Ok(Progress::Incomplete), None) => self.scanned = self.buf.len(),
                (Ok(Progress::Complete { len }), None) => {
                    let (start, end) = (self.start, self.scanned + len);
                    self.start = end;
                    self.scanned = end;
                    return Ok(Some(Message {
                        bytes: &self.buf[start..end],
                        offset,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// The stream offset and length so far of a pickle that has begun and not ended, if any:
    /// at the end of the input, the truncated message.
    pub fn unfinished(&self) -> Option<(usize, usize)> {
        let len = self.buf.len() - self.start;
        (len > 0).then(|| (self.base.wrapping_add(self.start), len))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::oracle::{python3, unhex};
    use super::super::{Decoder, Protocol};
    use super::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    #[test]
    fn to_vec_grows_past_its_first_buffer() {
        let small = to_vec(&1u8, Protocol::V2).unwrap();
        assert_eq!(small, b"\x80\x02K\x01.");
        let big: Vec<u32> = (0..10_000).collect();
        let bytes = to_vec(&big, Protocol::V4).unwrap();
        let mut buf = std::vec![0u8; bytes.len()];
        assert_eq!(
            to_slice_with_memo::<MEMO_CAPACITY, _>(&big, &mut buf, Protocol::V4).unwrap(),
            &bytes[..]
        );
        assert!(to_vec(&f64::NAN, Protocol::V0).is_ok());
    }

    /// Every split of a stream of CPython pickles gives the same pickles at the same offsets.
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn any_chunking_finds_cpython_pickles() {
        let out = python3(
            "import pickle\nfor p, v in [(0, 'a.b'), (2, [1, 2.5, None]), (4, {'k': b'\\x2e' * 300}), (5, 2**70)]:\n    print(pickle.dumps(v, p).hex())",
        );
        let pickles: Vec<Vec<u8>> = out.lines().map(unhex).collect();
        let stream: Vec<u8> = pickles.concat();
        let mut decoder: Decoder = Decoder::new();
        for size in [1, 2, 3, 7, 64, stream.len()] {
            let mut split = Pickles::new();
            let mut got = Vec::new();
            for chunk in stream.chunks(size) {
                split.push(chunk);
                while let Some(m) = split.next_pickle().unwrap() {
                    decoder.decode(m.bytes).unwrap();
                    got.push((m.offset, m.bytes.to_vec()));
                }
            }
            let mut offset = 0;
            let want: Vec<(usize, Vec<u8>)> = pickles
                .iter()
                .map(|p| {
                    offset += p.len();
                    (offset - p.len(), p.clone())
                })
                .collect();
            assert_eq!(got, want, "chunks of {size}");
            assert_eq!(split.unfinished(), None);
        }
    }

    #[test]
    fn faults_come_after_the_good_pickles_and_stay() {
        let mut split = Pickles::new();
        split.push(b"K\x01.K\x02.\xffK\x03.");
        assert_eq!(split.next_pickle().unwrap().unwrap().bytes, b"K\x01.");
        assert_eq!(split.next_pickle().unwrap().unwrap().offset, 3);
        let e = split.next_pickle().unwrap_err();
        assert_eq!(
            e,
            StreamError::Framing(Error::UnknownOpcode {
                byte: 0xff,
                offset: 6
            })
        );
        assert!(e.to_string().starts_with("not a pickle stream"), "{e}");
        split.push(b"K\x04.");
        assert_eq!(split.next_pickle(), Err(e));
    }

    #[test]
    fn truncated_input_and_the_length_limit() {
        let mut split = Pickles::new();
        split.push(b"K\x01.\x80\x02K");
        assert!(split.next_pickle().unwrap().is_some());
        assert_eq!(split.next_pickle(), Ok(None));
        assert_eq!(split.unfinished(), Some((3, 3)));

        let mut limited = Pickles::with_max_len(10);
        limited.push(b"K\x01.");
        assert!(limited.next_pickle().unwrap().is_some());
        // A 12-byte string: refused once its length is past 10, before its end arrives.
        limited.push(b"X\x0c\x00\x00\x00abcdef");
        let e = limited.next_pickle().unwrap_err();
        assert_eq!(
            e,
            StreamError::TooLong {
                offset: 3,
                max_len: 10
            }
        );
        assert_eq!(
            e.to_string(),
            "the pickle at stream offset 3 is larger than 10 bytes"
        );
        let mut exact = Pickles::with_max_len(10);
        exact.push(b"X\x04\x00\x00\x00abcd.");
        assert_eq!(exact.next_pickle().unwrap().unwrap().bytes.len(), 10);
    }

    /// The buffer holds only the unfinished pickle: a long stream of small pickles keeps it
    /// small, and a big pickle's buffer is given back after it.
    #[test]
    fn memory_follows_the_unfinished_pickle() {
        let mut split = Pickles::new();
        let one = b"\x80\x02K\x01.";
        for _ in 0..100_000 {
            split.push(one);
            while split.next_pickle().unwrap().is_some() {}
        }
        assert!(split.buf.capacity() <= KEEP, "{}", split.buf.capacity());
        let big = to_vec(
            &String::from_utf8(std::vec![b'x'; 1 << 20]).unwrap(),
            Protocol::V4,
        )
        .unwrap();
        split.push(&big);
        assert_eq!(split.next_pickle().unwrap().unwrap().offset, 500_000);
        split.push(one);
        assert!(split.next_pickle().unwrap().is_some());
        assert!(split.buf.capacity() <= KEEP, "{}", split.buf.capacity());
    }
}
