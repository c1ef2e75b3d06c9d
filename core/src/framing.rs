//! How messages are delimited on the wire, as a runtime value ([`Framing`]), and the
//! receive side's bookkeeping for the length-prefixed ones ([`Deframer`]). Sans-IO, no
//! allocation: the caller owns the bytes.
//!
//! | framing | prefix before each pickle | who writes it |
//! | --- | --- | --- |
//! | [`Stop`](Framing::Stop) | none: a pickle ends at its STOP opcode | the course's lab servers (`conn.send(pickle.dumps(x))`) |
//! | [`Len32`](Framing::Len32) | 4-byte big-endian unsigned length | `struct.pack('!I', len(data)) + data` |
//! | [`Cookbook`](Framing::Cookbook) | `struct.pack("L", socket.htonl(n))`: on 64-bit Linux the length as 4 big-endian bytes, then 4 zero bytes | Python Network Programming Cookbook, ch. 2 (chat server) |
//! | [`Multiprocessing`](Framing::Multiprocessing) | signed 4-byte big-endian length; past 2 GiB −1 then an 8-byte length | `multiprocessing.connection`'s `_send_bytes` |
//!
//! STOP-delimited pickles are framed by the pickle layer's own scanner; [`Deframer`] answers
//! [`Frame::Delimited`] for them so that one runtime value chooses either path.

use core::fmt::{self, Display};

/// Most bytes of a length prefix (multiprocessing's −1 and 8-byte length).
pub const MAX_PREFIX: usize = 12;

/// How messages are delimited on a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Framing {
    /// No prefix: each pickle ends at its STOP opcode (the lab's framing).
    #[default]
    Stop,
    /// A 4-byte big-endian unsigned length before each pickle.
    Len32,
    /// The cookbook's `struct.pack("L", socket.htonl(n))` on 64-bit Linux: 4 big-endian
    /// length bytes, then 4 zero bytes.
    Cookbook,
    /// `multiprocessing.connection`: a signed 4-byte big-endian length; −1 then an 8-byte
    /// big-endian length for messages over 0x7fff_ffff bytes (Python ≥ 3.8).
    Multiprocessing,
}

/// A length prefix read at the start of some bytes ([`Framing::decode_prefix`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefix {
    /// The framing has no prefix ([`Framing::Stop`]).
    Delimited,
    /// More bytes are needed to read the prefix.
    Incomplete,
    /// The prefix is `header` bytes long and announces a message of `len` bytes.
    Length {
        /// Bytes of the prefix itself (4, 8 or 12).
        header: usize,
        /// Bytes of the message after it.
        len: u64,
    },
}

/// A prefix that cannot be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// A multiprocessing prefix with a negative length other than −1.
    NegativeLength {
        /// The prefix's 4 bytes.
        prefix: [u8; 4],
    },
    /// A cookbook prefix whose last 4 bytes are not zero (Python's `socket.ntohl` refuses
    /// such a value: it is larger than 32 bits).
    CookbookHighBytes {
        /// The prefix's 8 bytes.
        prefix: [u8; 8],
    },
    /// A message too long for the framing's prefix (over 4 GiB for `len32` and `cookbook`).
    TooLong {
        /// The message's length.
        len: u64,
    },
}

impl Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NegativeLength { prefix } => write!(
                f,
                "length prefix {} is negative (multiprocessing allows only -1, before an 8-byte length)",
                Hex(prefix)
            ),
            FrameError::CookbookHighBytes { prefix } => write!(
                f,
                "cookbook length prefix {} has non-zero bytes after the 4-byte length",
                Hex(prefix)
            ),
            FrameError::TooLong { len } => {
                // The crate's own digits, not core's u64 Display (its 64-bit division is
                // about 1 KB of a Cortex-M3's flash).
                f.write_str("a ")?;
                crate::pickle::number::fmt_i128((*len).into(), f)?;
                f.write_str("-byte message is too long for this framing's prefix")
            }
        }
    }
}

impl core::error::Error for FrameError {}

/// Bytes as spaced hex (`80 04 95 13`).
struct Hex<'a>(&'a [u8]);

impl Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Framing {
    /// Every framing, in the order of their names.
    pub const ALL: [Framing; 4] = [
        Framing::Stop,
        Framing::Len32,
        Framing::Cookbook,
        Framing::Multiprocessing,
    ];

    /// The name used on the command line: `stop`, `len32`, `cookbook`, `multiprocessing`.
    pub const fn name(self) -> &'static str {
        match self {
            Framing::Stop => "stop",
            Framing::Len32 => "len32",
            Framing::Cookbook => "cookbook",
            Framing::Multiprocessing => "multiprocessing",
        }
    }

    /// The framing called `name` ([`name`](Self::name)), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Bytes of the prefix before a message shorter than 2 GiB (0, 4, 8 or 4).
    pub const fn prefix_len(self) -> usize {
        match self {
            Framing::Stop => 0,
            Framing::Len32 | Framing::Multiprocessing => 4,
            Framing::Cookbook => 8,
        }
    }

    /// Writes the prefix of a `len`-byte message into `out`; returns its length (0 for
    /// [`Stop`](Self::Stop)). Fails if `len` does not fit the prefix.
    pub fn encode_prefix(
        self,
        len: usize,
        out: &mut [u8; MAX_PREFIX],
    ) -> Result<usize, FrameError> {
        let len64 = len as u64;
        let too_long = FrameError::TooLong { len: len64 };
        match self {
            Framing::Stop => Ok(0),
            Framing::Len32 => {
                let n = u32::try_from(len).map_err(|_| too_long)?;
                out[..4].copy_from_slice(&n.to_be_bytes());
                Ok(4)
            }
            Framing::Cookbook => {
                let n = u32::try_from(len).map_err(|_| too_long)?;
                out[..4].copy_from_slice(&n.to_be_bytes());
                out[4..8].fill(0);
                Ok(8)
            }
            // connection.py `_send_bytes`: `n > 0x7fffffff` gets `!i` -1 and `!Q` n.
            Framing::Multiprocessing => match i32::try_from(len) {
                Ok(n) => {
                    out[..4].copy_from_slice(&n.to_be_bytes());
                    Ok(4)
                }
                Err(_) => {
                    out[..4].copy_from_slice(&(-1i32).to_be_bytes());
                    out[4..12].copy_from_slice(&len64.to_be_bytes());
                    Ok(12)
                }
            },
        }
    }

    /// Reads the prefix at the start of `bytes`. Fails if it is not one this framing writes.
    pub fn decode_prefix(self, bytes: &[u8]) -> Result<Prefix, FrameError> {
        let Some(word) = bytes.first_chunk::<4>() else {
            return Ok(match self {
                Framing::Stop => Prefix::Delimited,
                _ => Prefix::Incomplete,
            });
        };
        match self {
            Framing::Stop => Ok(Prefix::Delimited),
            Framing::Len32 => Ok(Prefix::Length {
                header: 4,
                len: u64::from(u32::from_be_bytes(*word)),
            }),
            Framing::Cookbook => {
                let Some(prefix) = bytes.first_chunk::<8>() else {
                    return Ok(Prefix::Incomplete);
                };
                if prefix[4..] != [0; 4] {
                    return Err(FrameError::CookbookHighBytes { prefix: *prefix });
                }
                Ok(Prefix::Length {
                    header: 8,
                    len: u64::from(u32::from_be_bytes(*word)),
                })
            }
            // connection.py `_recv_bytes`: `!i`; -1 means an `!Q` length follows.
            Framing::Multiprocessing => match i32::from_be_bytes(*word) {
                -1 => match bytes.get(4..12).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                    Some(long) => Ok(Prefix::Length {
                        header: 12,
                        len: u64::from_be_bytes(long),
                    }),
                    None => Ok(Prefix::Incomplete),
                },
                n if n < 0 => Err(FrameError::NegativeLength { prefix: *word }),
                n => Ok(Prefix::Length {
                    header: 4,
                    len: n.unsigned_abs().into(),
                }),
            },
        }
    }
}

impl Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`Deframer::next`] found at the start of the buffered bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The framing has no prefix: the pickle layer's STOP scanner frames these bytes.
    Delimited,
    /// Nothing complete yet: read more.
    NeedMore,
    /// A whole message is `buffered[start..end]`; consume `end` bytes once done with it.
    Message {
        /// Where the message starts (after its prefix).
        start: usize,
        /// Where it ends.
        end: usize,
    },
    /// Part of a message too large for the buffer: consume (drop) `n` bytes.
    Discard {
        /// Bytes to drop from the front of the buffered bytes.
        n: usize,
    },
    /// The last part of a message too large for the buffer: consume (drop) `n` bytes; the
    /// whole message, prefix included, was `len` bytes.
    Skipped {
        /// Bytes to drop from the front of the buffered bytes.
        n: usize,
        /// The skipped message's length with its prefix.
        len: u64,
    },
}

/// The receive side of a length-prefixed framing: finds each message in the bytes a caller
/// buffers, and walks past a message longer than the buffer by its announced length, so
/// the next message is found. Holds 24 bytes of state; allocates nothing.
#[derive(Clone, Debug)]
pub struct Deframer {
    framing: Framing,
    /// While dropping a message too large for the buffer: its whole length (prefix
    /// included) and the bytes of it still to drop.
    skipping: Option<(u64, u64)>,
}

impl Deframer {
    /// A deframer for `framing`, at the start of a stream.
    pub const fn new(framing: Framing) -> Self {
        Deframer {
            framing,
            skipping: None,
        }
    }

    /// The framing it reads.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Back to the start of a stream (a new connection).
    pub fn reset(&mut self) {
        self.skipping = None;
    }

    /// True while part of a message has arrived (its prefix or some of its bytes are in
    /// `buffered`, or a large message is being dropped).
    pub fn in_message(&self, buffered: &[u8]) -> bool {
        self.skipping.is_some() || !buffered.is_empty()
    }

    /// What the start of `buffered` (the received bytes not yet consumed) holds, for a
    /// receive buffer of `capacity` bytes: a message longer than `capacity` minus its prefix
    /// is dropped piece by piece ([`Frame::Discard`], then [`Frame::Skipped`]). Fails on a
    /// prefix the framing never writes; the stream cannot be resynchronised after that.
    pub fn next(&mut self, buffered: &[u8], capacity: usize) -> Result<Frame, FrameError> {
        if let Some((len, remaining)) = self.skipping {
            let n = usize::try_from(remaining).map_or(buffered.len(), |r| r.min(buffered.len()));
            let left = remaining - n as u64;
            if left == 0 {
                self.skipping = None;
                return Ok(Frame::Skipped { n, len });
            }
            self.skipping = Some((len, left));
            return Ok(if n == 0 {
                Frame::NeedMore
            } else {
                Frame::Discard { n }
            });
        }
        match self.framing.decode_prefix(buffered)? {
            Prefix::Delimited => Ok(Frame::Delimited),
            Prefix::Incomplete => Ok(Frame::NeedMore),
            Prefix::Length { header, len } => {
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|len| len.checked_add(header))
                    .filter(|&end| end <= capacity);
                match end {
                    Some(end) if end <= buffered.len() => Ok(Frame::Message { start: header, end }),
                    Some(_) => Ok(Frame::NeedMore),
                    None => {
                        let total = len.saturating_add(header as u64);
                        self.skipping = Some((total, len));
                        // The prefix goes now; the body on the next calls.
                        Ok(Frame::Discard { n: header })
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn prefix(framing: Framing, len: usize) -> Vec<u8> {
        let mut out = [0; MAX_PREFIX];
        let n = framing.encode_prefix(len, &mut out).unwrap();
        out[..n].to_vec()
    }

    #[test]
    fn prefixes_are_the_bytes_python_writes() {
        // struct.pack('!I', 300)
        assert_eq!(prefix(Framing::Len32, 300), b"\x00\x00\x01\x2c");
        // struct.pack("L", socket.htonl(300)) on x86_64 Linux (CPython 3.11)
        assert_eq!(
            prefix(Framing::Cookbook, 300),
            b"\x00\x00\x01\x2c\x00\x00\x00\x00"
        );
        // multiprocessing: struct.pack("!i", 16385)
        assert_eq!(prefix(Framing::Multiprocessing, 16385), b"\x00\x00\x40\x01");
        assert_eq!(prefix(Framing::Stop, 300), b"");
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn multiprocessing_past_2_gib_writes_minus_one_and_8_bytes() {
        // struct.pack("!i", -1) + struct.pack("!Q", 0x80000000)
        assert_eq!(
            prefix(Framing::Multiprocessing, 0x8000_0000),
            b"\xff\xff\xff\xff\x00\x00\x00\x00\x80\x00\x00\x00"
        );
        assert_eq!(
            prefix(Framing::Multiprocessing, 0x7fff_ffff),
            b"\x7f\xff\xff\xff"
        );
        let mut out = [0; MAX_PREFIX];
        assert_eq!(
            Framing::Len32.encode_prefix(1 << 32, &mut out),
            Err(FrameError::TooLong { len: 1 << 32 })
        );
        assert_eq!(
            std::format!("{}", FrameError::TooLong { len: u64::MAX }),
            "a 18446744073709551615-byte message is too long for this framing's prefix"
        );
        assert_eq!(
            Framing::Multiprocessing
                .decode_prefix(b"\xff\xff\xff\xff\x00\x00\x00\x00\x80\x00\x00\x00"),
            Ok(Prefix::Length {
                header: 12,
                len: 0x8000_0000
            })
        );
    }

    #[test]
    fn prefixes_decode_and_wait_for_their_bytes() {
        use Prefix::*;
        let mp = Framing::Multiprocessing;
        assert_eq!(mp.decode_prefix(b"\x00\x00"), Ok(Incomplete));
        assert_eq!(mp.decode_prefix(b"\xff\xff\xff\xff\x00"), Ok(Incomplete));
        assert_eq!(
            mp.decode_prefix(b"\xff\xff\xff\xfe"),
            Err(FrameError::NegativeLength {
                prefix: *b"\xff\xff\xff\xfe"
            })
        );
        // A lab server's pickle read as a multiprocessing prefix: PROTO 4, FRAME.
        assert!(mp.decode_prefix(b"\x80\x04\x95\x13").is_err());
        let cb = Framing::Cookbook;
        assert_eq!(
            cb.decode_prefix(b"\x00\x00\x00\x05\x00\x00\x00"),
            Ok(Incomplete)
        );
        assert_eq!(
            cb.decode_prefix(b"\x00\x00\x00\x05\x00\x00\x00\x00"),
            Ok(Length { header: 8, len: 5 })
        );
        assert!(cb
            .decode_prefix(b"\x00\x00\x00\x05\x00\x00\x00\x01")
            .is_err());
        assert_eq!(
            Framing::Len32.decode_prefix(b"\xff\xff\xff\xff"),
            Ok(Length {
                header: 4,
                len: 0xffff_ffff
            })
        );
        assert_eq!(Framing::Stop.decode_prefix(b""), Ok(Delimited));
    }

    #[test]
    fn names_round_trip() {
        for f in Framing::ALL {
            assert_eq!(Framing::from_name(f.name()), Some(f));
        }
        assert_eq!(Framing::from_name("STOP"), None);
    }

    /// Feeds `stream` to a deframer `chunk` bytes at a time through a `cap`-byte buffer,
    /// as a session does; returns the messages and skipped lengths in order.
    fn run(framing: Framing, stream: &[u8], chunk: usize, cap: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut d = Deframer::new(framing);
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut fed = 0;
        loop {
            match d.next(&buf, cap).unwrap() {
                Frame::Message { start, end } => {
                    out.push(Ok(buf[start..end].to_vec()));
                    buf.drain(..end);
                }
                Frame::Discard { n } => {
                    buf.drain(..n);
                }
                Frame::Skipped { n, len } => {
                    buf.drain(..n);
                    out.push(Err(len));
                }
                Frame::NeedMore => {
                    if fed == stream.len() {
                        assert!(!d.in_message(&buf), "bytes left over: {buf:?}");
                        return out;
                    }
                    let room = cap - buf.len();
                    assert!(room > 0, "a full buffer must hold a message");
                    let n = chunk.min(room).min(stream.len() - fed);
                    buf.extend_from_slice(&stream[fed..fed + n]);
                    fed += n;
                }
                Frame::Delimited => unreachable!(),
            }
        }
    }

    fn stream(framing: Framing, messages: &[&[u8]]) -> Vec<u8> {
        let mut s = Vec::new();
        for m in messages {
            s.extend(prefix(framing, m.len()));
            s.extend_from_slice(m);
        }
        s
    }

    #[test]
    fn every_split_gives_the_same_messages_and_skips_what_does_not_fit() {
        let big = [7u8; 100];
        let messages: [&[u8]; 4] = [b"K\x01.", &big, b"", b"X\x02\x00\x00\x00hi."];
        for framing in [Framing::Len32, Framing::Cookbook, Framing::Multiprocessing] {
            let s = stream(framing, &messages);
            let h = prefix(framing, 0).len();
            for chunk in 1..=s.len() {
                let got = run(framing, &s, chunk, 64);
                assert_eq!(
                    got,
                    [
                        Ok(messages[0].to_vec()),
                        Err(100 + h as u64),
                        Ok(Vec::new()),
                        Ok(messages[3].to_vec()),
                    ],
                    "{framing} in {chunk}-byte reads"
                );
            }
            // A buffer just large enough for the big message with its prefix keeps it.
            assert_eq!(
                run(framing, &s, 7, 100 + h)[1],
                Ok(big.to_vec()),
                "{framing}"
            );
        }
    }

    #[test]
    fn stop_framing_is_left_to_the_pickle_scanner() {
        assert_eq!(
            Deframer::new(Framing::Stop).next(b"K\x01.", 64),
            Ok(Frame::Delimited)
        );
    }
}
