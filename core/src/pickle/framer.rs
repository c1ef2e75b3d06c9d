//! A sans-IO stream framer: finds where each pickle of a byte stream ends.
//!
//! Pickles carry no length prefix; each one ends at its STOP opcode (`.`). To find that STOP
//! the framer walks the opcodes and steps over their arguments, so that a `.` inside a string
//! is not mistaken for the end. It keeps a handful of integers (which argument it is in, how
//! many bytes of it remain, the stream offset) and stores no bytes, so a session can skip a
//! pickle far larger than its buffer and resume at the next one.
//!
//! The framer builds no values and does not judge opcodes that import or call code: it only
//! finds boundaries, so a pickle the decoder refuses can be skipped. It rejects only what makes
//! the boundary unknowable: bytes that are not opcodes, negative BINSTRING/LONG4 lengths and
//! PROTO above 5.
//!
//! FRAME (protocol 4+) is treated as an opcode with an 8-byte argument; the opcodes inside the
//! frame are walked like any others, so frames need no buffering. An argument crossing its
//! frame's end does not move the pickle's end: the decoder refuses that pickle (as pickle.py
//! does) and the framer carries on with the next.
//!
//! A session keeps one [`Framer`] per connection and feeds it every received byte exactly once,
//! in order. When its buffer fills while [`Framer::in_pickle`] and the pickle began at the start
//! of the buffer, the pickle cannot fit: the session drops the buffered bytes and keeps feeding
//! new reads to the framer (without storing them) until [`Progress::Complete`], then reports the
//! skip ([`Framer::pickle_len`] is the skipped pickle's size) and carries on with `chunk[len..]`.

#[cfg(feature = "fast")]
use super::opcodes::{le_u64, Arg, Opcode};
use super::{Error, Protocol};
#[cfg(not(feature = "fast"))]
use lean::State;

/// What [`Framer::advance`] found in a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Progress {
    /// All of the chunk was consumed and the current pickle has not ended (or, for an empty
    /// chunk while idle, has not begun: see [`Framer::in_pickle`]).
    Incomplete,
    /// The current pickle ended: `chunk[..len]` completes it and `chunk[len - 1]` is its STOP.
    /// The framer is idle again; feed `chunk[len..]` to find the next pickle.
    Complete {
        /// Bytes of the chunk that belong to the pickle (at least 1).
        len: usize,
    },
}

/// Finds the end of each pickle in a stream of concatenated pickles fed in arbitrary chunks.
///
/// ```
/// use brine_core::pickle::{Framer, Progress};
///
/// // Two protocol-2 pickles ('a' and 1), split across reads at awkward places.
/// let stream = b"\x80\x02X\x01\x00\x00\x00aq\x00.\x80\x02K\x01.";
/// let mut framer = Framer::new();
/// assert_eq!(framer.advance(&stream[..4]), Ok(Progress::Incomplete));
/// assert!(framer.in_pickle());
/// let rest = &stream[4..];
/// assert_eq!(framer.advance(rest), Ok(Progress::Complete { len: 7 }));
/// assert_eq!(framer.pickle_len(), 11); // the pickle that just ended
/// assert!(!framer.in_pickle());
/// assert_eq!(framer.advance(&rest[7..]), Ok(Progress::Complete { len: 5 }));
/// assert_eq!(framer.stream_offset(), stream.len());
/// ```
///
/// Memory is constant (see `size_of::<Framer>()`), whatever the pickle's size: counted
/// arguments are skipped by arithmetic on their length (a claimed 2⁶³-byte BINBYTES8 simply
/// keeps the framer [`Progress::Incomplete`]), line arguments by searching for `\n`. Without the
/// `fast` feature lengths are counted in `usize`: on a 32-bit target a claimed length of
/// `usize::MAX` (4 GiB) or more keeps the pickle open for good, as no 4 GiB stream of it ends.
///
/// **Errors are final.** After [`advance`](Framer::advance) returns an error the stream's
/// boundaries are unknowable; every later call returns the same error without consuming
/// anything, until [`reset`](Framer::reset). The failing call consumed the bytes up to and
/// including the one that revealed the error (the bad opcode, PROTO's version byte, the
/// length's last byte), whatever the chunking. Error offsets are stream offsets: the offending
/// opcode's byte for [`Error::UnknownOpcode`], the opcode whose argument is bad for
/// [`Error::InvalidArgument`] (negative BINSTRING/LONG4 length) and the PROTO opcode for
/// [`Error::UnsupportedProtocol`] (as the decoder reports them, but counted from the start of
/// the stream rather than of the pickle).
///
/// A peer can keep a pickle open forever (a line argument that never ends, a huge claimed
/// length); the framer cannot tell that from a slow peer. Callers that need a bound compare
/// [`pickle_len`](Framer::pickle_len) against their own limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Framer {
    state: State,
    /// Bytes consumed since `new`/`reset`, modulo `usize::MAX + 1`.
    offset: usize,
    /// Bytes of the current (or, while idle, the last) pickle, saturating.
    pickle_len: usize,
}

/// Where in the opcode grammar the framer stands between two bytes.
#[cfg(feature = "fast")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    /// Between pickles (nothing seen yet, or the last byte was a STOP).
    #[default]
    Idle,
    /// Inside a pickle, the next byte is an opcode.
    Opcode,
    /// This many argument bytes remain to be skipped.
    Skip(u64),
    /// Inside a line argument; this many `\n` (1 or 2) remain to be found.
    Lines(u8),
    /// After a PROTO opcode at stream offset `at`, before its version byte.
    Proto {
        /// The PROTO's stream offset.
        at: usize,
    },
    /// Reading the little-endian length of a counted argument.
    Length {
        /// The opcode (its [`Arg`] gives the length's width and signedness).
        opcode: Opcode,
        /// The opcode's stream offset.
        at: usize,
        /// Length bytes read so far.
        got: u8,
        /// Their value so far.
        acc: u64,
    },
    /// An error was returned; the stream's boundaries are lost.
    Failed(Failure),
}

/// A returned error, kept small so it can be returned again.
#[cfg(feature = "fast")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Failure {
    UnknownOpcode { byte: u8, offset: usize },
    NegativeLength { opcode: Opcode, offset: usize },
    UnsupportedProtocol { version: u8, offset: usize },
}

#[cfg(feature = "fast")]
impl Failure {
    fn to_error(self) -> Error {
        match self {
            Failure::UnknownOpcode { byte, offset } => Error::UnknownOpcode { byte, offset },
            Failure::NegativeLength { opcode, offset } => Error::InvalidArgument {
                opcode,
                offset,
                reason: "negative length",
            },
            Failure::UnsupportedProtocol { version, offset } => {
                Error::UnsupportedProtocol { version, offset }
            }
        }
    }
}

impl Framer {
    /// An idle framer at stream offset 0.
    pub const fn new() -> Self {
        Framer {
            #[cfg(feature = "fast")]
            state: State::Idle,
            #[cfg(not(feature = "fast"))]
            state: State::IDLE,
            offset: 0,
            pickle_len: 0,
        }
    }

    /// Scans `chunk`, which continues the stream where the previous call stopped.
    ///
    /// Returns [`Progress::Complete`] as soon as the current pickle's STOP is found, without
    /// reading further: the caller feeds the rest of the chunk again for the next pickle.
    /// Otherwise consumes the whole chunk and returns [`Progress::Incomplete`]. An empty chunk
    /// changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownOpcode`], [`Error::InvalidArgument`] (negative BINSTRING or LONG4
    /// length) or [`Error::UnsupportedProtocol`] (PROTO above 5), with stream offsets. Errors
    /// are final until [`reset`](Framer::reset); see [`Framer`].
    // Out of line without `fast` (flash): one copy for the session's one call site.
    #[cfg_attr(not(feature = "fast"), inline(never))]
    pub fn advance(&mut self, chunk: &[u8]) -> Result<Progress, Error> {
        #[cfg(not(feature = "fast"))]
        return lean::advance(
            &mut self.state,
            &mut self.offset,
            &mut self.pickle_len,
            chunk,
        );
        #[cfg(feature = "fast")]
        {
            let mut state = self.state;
            match state {
                State::Failed(failure) => return Err(failure.to_error()),
                State::Idle if chunk.is_empty() => return Ok(Progress::Incomplete),
                State::Idle => {
                    state = State::Opcode;
                    self.pickle_len = 0;
                }
                _ => {}
            }
            let (consumed, result) = scan(&mut state, chunk, self.offset);
            self.state = state;
            self.offset = self.offset.wrapping_add(consumed);
            self.pickle_len = self.pickle_len.saturating_add(consumed);
            result
        }
    }

    /// True from the first byte of a pickle until its STOP: the stream is in the middle of a
    /// message. False while idle between messages (and after an error).
    pub fn in_pickle(&self) -> bool {
        #[cfg(not(feature = "fast"))]
        return self.state.in_pickle();
        #[cfg(feature = "fast")]
        !matches!(self.state, State::Idle | State::Failed(_))
    }

    /// Bytes consumed since [`new`](Framer::new) or [`reset`](Framer::reset): the stream
    /// offset of the next byte to feed. Wraps at `usize::MAX` (after 4 GiB on 32-bit targets);
    /// the boundaries [`advance`](Framer::advance) reports are relative to the chunk and are
    /// not affected.
    pub fn stream_offset(&self) -> usize {
        self.offset
    }

    /// Bytes of the current pickle seen so far; while idle, the whole length of the pickle that
    /// ended last (0 before the first). Saturates at `usize::MAX`.
    pub fn pickle_len(&self) -> usize {
        self.pickle_len
    }

    /// Forgets everything, including an error: back to [`Framer::new`] at stream offset 0.
    /// Use it when the stream itself starts over (a new connection).
    pub fn reset(&mut self) {
        *self = Framer::new();
    }

    /// Forgets everything, as [`reset`](Framer::reset), but continues at stream offset
    /// `offset`: for a stream whose first `offset` bytes were framed by other means (a session
    /// that decoded complete messages directly), so error offsets stay stream offsets.
    pub fn resume_at(&mut self, offset: usize) {
        *self = Framer {
            offset,
            ..Framer::new()
        };
    }
}

#[cfg(feature = "fast")]
/// What the scanner does on reading an opcode byte: [`Opcode::from_byte`] and [`Opcode::arg`]
/// folded into one value, so the hot loop makes one table lookup per opcode.
#[derive(Clone, Copy)]
enum Step {
    /// Not an opcode.
    Unknown,
    /// An opcode without argument.
    Plain,
    /// STOP: the pickle ends.
    Stop,
    /// PROTO: one version byte, checked.
    Proto,
    /// This many argument bytes.
    Fixed(u8),
    /// This many `\n`-terminated lines.
    Lines(u8),
    /// A length of this many bytes (unsigned, or signed 4-byte for BINSTRING and LONG4), then
    /// that many bytes.
    Counted(Opcode, u8),
}

#[cfg(feature = "fast")]
impl Step {
    const fn of(byte: u8) -> Step {
        let Some(opcode) = Opcode::from_byte(byte) else {
            return Step::Unknown;
        };
        match (opcode, opcode.arg()) {
            (Opcode::STOP, _) => Step::Stop,
            (Opcode::PROTO, _) => Step::Proto,
            (_, Arg::None) => Step::Plain,
            (_, Arg::Fixed(n)) => Step::Fixed(n),
            (_, Arg::Line) => Step::Lines(1),
            (_, Arg::TwoLines) => Step::Lines(2),
            (_, arg @ (Arg::Counted(_) | Arg::CountedSigned4)) => {
                Step::Counted(opcode, arg.width() as u8)
            }
        }
    }
}

#[cfg(feature = "fast")]
/// [`Step::of`] every byte, computed at compile time from the opcode table (512 bytes of
/// read-only data).
const STEPS: [Step; 256] = {
    let mut steps = [Step::Unknown; 256];
    let mut byte = 0;
    // Runs at compile time: an out-of-range index would fail the build, not panic.
    while byte < 256 {
        steps[byte] = Step::of(byte as u8);
        byte += 1;
    }
    steps
};

#[cfg(feature = "fast")]
/// The framer's outcome for one chunk: bytes consumed and the result.
type Scanned = (usize, Result<Progress, Error>);

#[cfg(feature = "fast")]
/// Scans `chunk` from `state` (never `Idle`), updating it; `base` is the stream offset of
/// `chunk[0]`.
fn scan(state: &mut State, chunk: &[u8], base: usize) -> Scanned {
    let mut st = *state;
    let mut rest = chunk;
    let consumed = |rest: &[u8]| chunk.len().saturating_sub(rest.len());
    let offset = |rest: &[u8]| base.wrapping_add(consumed(rest));
    let outcome = 'scan: loop {
        match st {
            State::Opcode => loop {
                // The hot loop: one opcode per iteration; arguments that are wholly inside the
                // chunk are stepped over here, the others continue in their own state.
                let Some((&byte, tail)) = rest.split_first() else {
                    break 'scan Ok(Progress::Incomplete);
                };
                // `byte` < 256 = `STEPS.len()`: never `Unknown` by default. Without `fast`,
                // computed from the opcode table the decoder links anyway (flash: `STEPS` is
                // 512 bytes).
                let step = if cfg!(feature = "fast") {
                    STEPS
                        .get(usize::from(byte))
                        .copied()
                        .unwrap_or(Step::Unknown)
                } else {
                    Step::of(byte)
                };
                match step {
                    Step::Plain => rest = tail,
                    Step::Stop => {
                        rest = tail;
                        st = State::Idle;
                        break 'scan Ok(Progress::Complete {
                            len: consumed(rest),
                        });
                    }
                    // With `fast`, arguments wholly inside the chunk are stepped over here;
                    // without it (flash), every argument goes through its own state.
                    Step::Fixed(n) => match tail.get(usize::from(n)..) {
                        Some(after) if cfg!(feature = "fast") => rest = after,
                        _ => {
                            rest = tail;
                            st = State::Skip(u64::from(n));
                            continue 'scan;
                        }
                    },
                    Step::Lines(lines) => {
                        rest = tail;
                        st = State::Lines(lines);
                        continue 'scan;
                    }
                    Step::Counted(opcode, width) => {
                        let at = offset(rest);
                        let width = usize::from(width);
                        let (true, Some(le), Some(after)) =
                            (cfg!(feature = "fast"), tail.get(..width), tail.get(width..))
                        else {
                            // The length is cut by the chunk's end: read it byte by byte.
                            rest = tail;
                            st = State::Length {
                                opcode,
                                at,
                                got: 0,
                                acc: 0,
                            };
                            continue 'scan;
                        };
                        rest = after;
                        let Some(len) = opcode.arg().length(le_u64(le)) else {
                            break 'scan Err(Failure::NegativeLength { opcode, offset: at });
                        };
                        // Most arguments are wholly inside the chunk: step over in O(1).
                        match usize::try_from(len).ok().and_then(|n| after.get(n..)) {
                            Some(next) => rest = next,
                            None => {
                                st = State::Skip(len);
                                continue 'scan;
                            }
                        }
                    }
                    Step::Proto => {
                        let at = offset(rest);
                        match tail.split_first() {
                            Some((&version, after))
                                if cfg!(feature = "fast")
                                    && Protocol::from_u8(version).is_some() =>
                            {
                                rest = after;
                            }
                            _ => {
                                // Checked (or waited for) by the `Proto` state.
                                rest = tail;
                                st = State::Proto { at };
                                continue 'scan;
                            }
                        }
                    }
                    Step::Unknown => {
                        let offset = offset(rest);
                        rest = tail;
                        break 'scan Err(Failure::UnknownOpcode { byte, offset });
                    }
                }
            },
            State::Skip(remaining) => {
                match usize::try_from(remaining).ok().and_then(|n| rest.get(n..)) {
                    Some(after) => {
                        rest = after;
                        st = State::Opcode;
                    }
                    None => {
                        // `remaining` > `rest.len()`: take all of it, stay in the argument.
                        st = State::Skip(remaining.saturating_sub(rest.len() as u64));
                        rest = &[];
                    }
                }
            }
            State::Lines(lines) => match rest.iter().position(|&b| b == b'\n') {
                Some(newline) => {
                    rest = rest.get(newline.saturating_add(1)..).unwrap_or(&[]);
                    st = match lines {
                        2 => State::Lines(1),
                        _ => State::Opcode,
                    };
                }
                None => rest = &[],
            },
            State::Proto { at } => {
                let Some((&version, tail)) = rest.split_first() else {
                    break 'scan Ok(Progress::Incomplete);
                };
                rest = tail;
                if Protocol::from_u8(version).is_none() {
                    break 'scan Err(Failure::UnsupportedProtocol {
                        version,
                        offset: at,
                    });
                }
                st = State::Opcode;
            }
            State::Length {
                opcode,
                at,
                mut got,
                mut acc,
            } => {
                let width = opcode.arg().width() as u8;
                while got < width {
                    let Some((&byte, tail)) = rest.split_first() else {
                        break;
                    };
                    rest = tail;
                    // `got` < `width` <= 8, so the shift is at most 56.
                    acc |= u64::from(byte) << (8 * u32::from(got));
                    got = got.saturating_add(1);
                }
                st = if got < width {
                    State::Length {
                        opcode,
                        at,
                        got,
                        acc,
                    }
                } else {
                    match opcode.arg().length(acc) {
                        Some(len) => State::Skip(len),
                        None => break 'scan Err(Failure::NegativeLength { opcode, offset: at }),
                    }
                };
            }
            State::Idle | State::Failed(_) => break 'scan Ok(Progress::Incomplete),
        }
        if rest.is_empty() && !matches!(st, State::Skip(0)) {
            break 'scan Ok(Progress::Incomplete);
        }
    };
    match outcome {
        Ok(progress) => {
            *state = st;
            (consumed(rest), Ok(progress))
        }
        Err(failure) => {
            *state = State::Failed(failure);
            (consumed(rest), Err(failure.to_error()))
        }
    }
}

/// The framer without `fast` (flash): one byte at a time (a counted argument's bytes are
/// stepped over at once), lengths in `usize`, the opcode table the decoder links anyway, and
/// the state as four plain fields (an error is a [`Mode`] too).
#[cfg(any(test, not(feature = "fast")))]
mod lean {
    use super::{Error, Progress, Protocol};
    use crate::pickle::opcodes::{Arg, Opcode};

    /// What the next byte is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Mode {
        /// Between pickles (nothing seen yet, or the last byte was a STOP).
        Idle,
        /// Inside a pickle, the next byte is an opcode.
        Opcode,
        /// `n` argument bytes remain to be skipped (`usize::MAX`: endless, see below).
        Skip,
        /// Inside a line argument; `got` `\n` (1 or 2) remain to be found.
        Lines,
        /// After `op`, reading its argument's little-endian length (PROTO: its version byte):
        /// `got` bytes so far, `n` their value. `op` is `got + 1` bytes back in the stream.
        Length,
        /// Returned [`Error::UnknownOpcode`]: byte `got` at stream offset `n`.
        UnknownOpcode,
        /// Returned [`Error::InvalidArgument`]: `op`'s negative length, `op` at offset `n`.
        NegativeLength,
        /// Returned [`Error::UnsupportedProtocol`]: version `got`, PROTO at offset `n`.
        UnsupportedProtocol,
    }

    /// Where in the opcode grammar the framer stands between two bytes. Fields a [`Mode`]
    /// does not use keep what the same bytes left there, so equal streams give equal states
    /// whatever their chunking.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct State {
        mode: Mode,
        op: Opcode,
        got: u8,
        /// Saturates at `usize::MAX` (a length byte beyond `usize` on a 32-bit target): a
        /// claimed length that large is skipped endlessly, as no stream reaches its end.
        n: usize,
    }

    impl State {
        /// Idle.
        pub(super) const IDLE: State = State {
            mode: Mode::Idle,
            op: Opcode::STOP,
            got: 0,
            n: 0,
        };

        /// Inside a pickle.
        pub(super) fn in_pickle(&self) -> bool {
            matches!(
                self.mode,
                Mode::Opcode | Mode::Skip | Mode::Lines | Mode::Length
            )
        }

        /// The error an error [`Mode`] returned.
        fn error(self) -> Error {
            match self.mode {
                Mode::UnknownOpcode => Error::UnknownOpcode {
                    byte: self.got,
                    offset: self.n,
                },
                Mode::UnsupportedProtocol => Error::UnsupportedProtocol {
                    version: self.got,
                    offset: self.n,
                },
                _ => Error::InvalidArgument {
                    opcode: self.op,
                    offset: self.n,
                    reason: "negative length",
                },
            }
        }
    }

    impl Default for State {
        fn default() -> Self {
            State::IDLE
        }
    }

    /// [`Framer::advance`](super::Framer::advance) on the framer's parts.
    #[inline(always)]
    pub(super) fn advance(
        state: &mut State,
        offset: &mut usize,
        pickle_len: &mut usize,
        chunk: &[u8],
    ) -> Result<Progress, Error> {
        let mut s = *state;
        if s.mode == Mode::Idle && !chunk.is_empty() {
            *pickle_len = 0;
        }
        let base = *offset;
        let mut i = 0;
        // `None`: `s` holds the error.
        let progress = loop {
            if !matches!(
                s.mode,
                Mode::Idle | Mode::Opcode | Mode::Skip | Mode::Lines | Mode::Length
            ) {
                break None;
            }
            if s.mode == Mode::Skip {
                // `i` <= `chunk.len()`.
                let take = s.n.min(chunk.len().wrapping_sub(i));
                i = i.wrapping_add(take);
                if s.n != usize::MAX {
                    s.n = s.n.wrapping_sub(take);
                }
                if s.n == 0 {
                    s.mode = Mode::Opcode;
                }
            }
            let Some(&byte) = chunk.get(i) else {
                break Some(Progress::Incomplete);
            };
            // The stream offset of `byte`.
            let at = base.wrapping_add(i);
            i = i.wrapping_add(1);
            match s.mode {
                Mode::Lines => {
                    if byte == b'\n' {
                        s.got = s.got.wrapping_sub(1);
                        if s.got == 0 {
                            s.mode = Mode::Opcode;
                        }
                    }
                }
                Mode::Length => {
                    // Saturating where a length byte lies beyond `usize` (32-bit targets).
                    s.n = match usize::from(byte).checked_shl(8 * u32::from(s.got)) {
                        Some(bits) => s.n | bits,
                        None if byte == 0 => s.n,
                        None => usize::MAX,
                    };
                    s.got = s.got.wrapping_add(1);
                    if usize::from(s.got) < s.op.width() {
                        continue;
                    }
                    let op_at = at.wrapping_sub(usize::from(s.got));
                    if s.op == Opcode::PROTO {
                        if Protocol::from_u8(byte).is_none() {
                            s.mode = Mode::UnsupportedProtocol;
                            s.got = byte;
                            s.n = op_at;
                            continue;
                        }
                        s.mode = Mode::Opcode;
                    } else if s.op.arg().length(s.n as u64).is_none() {
                        s.mode = Mode::NegativeLength;
                        s.n = op_at;
                    } else {
                        s.mode = Mode::Skip;
                    }
                }
                _ => {
                    // An opcode (`Idle`: the first of a pickle).
                    let Some(op) = Opcode::from_byte(byte) else {
                        s.mode = Mode::UnknownOpcode;
                        s.got = byte;
                        s.n = at;
                        continue;
                    };
                    s.mode = Mode::Opcode;
                    match op.arg() {
                        _ if op == Opcode::STOP => {
                            s.mode = Mode::Idle;
                            break Some(Progress::Complete { len: i });
                        }
                        Arg::None => {}
                        Arg::Fixed(n) if op != Opcode::PROTO => {
                            s.mode = Mode::Skip;
                            s.n = usize::from(n);
                        }
                        Arg::Line => {
                            s.mode = Mode::Lines;
                            s.got = 1;
                        }
                        Arg::TwoLines => {
                            s.mode = Mode::Lines;
                            s.got = 2;
                        }
                        _ => {
                            s.mode = Mode::Length;
                            s.op = op;
                            s.got = 0;
                            s.n = 0;
                        }
                    }
                }
            }
        };
        *state = s;
        *offset = base.wrapping_add(i);
        *pickle_len = pickle_len.saturating_add(i);
        progress.ok_or_else(|| s.error())
    }
}

#[cfg(test)]
#[path = "framer_tests.rs"]
mod tests;
