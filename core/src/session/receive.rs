//! The receive side: the `RX`-byte buffer, where each message ends, and which messages are
//! decoded, skipped or fatal. It knows nothing of the handshake except whether the message
//! it waits for is the first one.
//!
//! A message ends at its STOP opcode ([`Framer`], the lab's framing) or where its length
//! prefix says ([`Deframer`], the other [`Framing`]s): both give the same [`Ready`] results,
//! with the prefix dropped before the message is handed out.
//!
//! The decoder the session owns is reached through [`Decode`], whose methods are this
//! module's only calls into the decoding machine.

use super::{Error, Limit, PeerFault};
use crate::framing::{Deframer, Frame, Framing};
use crate::pickle::{self, Decoder, Framer, NodeId, Progress, Value};

/// A decoder a [`Session`](super::Session) can own: a [`Decoder`] of any capacities (the
/// session's third type parameter, `Session<RX, TX, Decoder<VALUES, ITEMS, STACK, MEMO>>`).
/// Sealed: its methods are the session's own.
pub trait Decode: sealed::Sealed {}

impl<const V: usize, const I: usize, const S: usize, const M: usize> Decode
    for Decoder<V, I, S, M>
{
}

pub(super) mod sealed {
    use crate::handshake::CLIENT_ID_VALUES;
    use crate::pickle::{self, Decoder, NodeId, Value};

    /// What the receive side asks of its decoder.
    pub trait Sealed: Sized {
        /// True if this decoder decodes every pickle as the client id's decoder does
        /// (`handshake::IdDecoder`: the same capacities; stubs exist only with `objects`), so
        /// a first message it decoded needs no second decoding to check the id.
        const AS_ID_DECODER: bool;
        /// An empty decoder, built at run time (an associated const would be evaluated at
        /// compile time and stored in flash as an image of the whole decoder, copied in).
        fn empty() -> Self;
        /// Decodes the pickle at the start of `input` with the machine: its root and length,
        /// if it is complete, valid and within its own bytes (a FRAME reaching past its
        /// STOP, into the next message, is left to the framed path).
        fn decode_head(&mut self, input: &[u8]) -> Option<(NodeId, usize)>;
        /// [`decode_head`](Self::decode_head) and the [`view`](Self::view) of its root (over
        /// the pickle's bytes) handed to `on_message`, in one step: its length, or `None`
        /// (nothing handed out). With `fast`, the machine's entry hands a one-str pickle out
        /// from its bytes (no node written and read back).
        fn hand_out_head<F: FnMut(Value<'_>)>(
            &mut self,
            input: &[u8],
            on_message: &mut F,
        ) -> Option<usize>;
        /// The value at `root` of the pickle last decoded from `input`.
        fn view<'a>(&'a self, input: &'a [u8], root: NodeId) -> Value<'a>;
        /// Decodes the whole pickle `input`.
        fn decode_all<'a>(&'a mut self, input: &'a [u8]) -> Result<Value<'a>, pickle::Error>;
        /// Decodes the whole pickle `input` as [`decode_all`](Self::decode_all) does: its
        /// root, to [`view`](Self::view) (a copy, borrowing nothing).
        fn decode_root(&mut self, input: &[u8]) -> Result<NodeId, pickle::Error>;
        /// See [`Decoder::allow_stubs`].
        fn allow_stubs(&mut self, allow: bool);
    }

    impl<const V: usize, const I: usize, const S: usize, const M: usize> Sealed
        for Decoder<V, I, S, M>
    {
        const AS_ID_DECODER: bool = !cfg!(feature = "objects")
            && V == CLIENT_ID_VALUES
            && I == CLIENT_ID_VALUES
            && S == CLIENT_ID_VALUES
            && M == CLIENT_ID_VALUES;

        fn empty() -> Self {
            Decoder::new()
        }

        #[cfg_attr(feature = "fast", inline(always))]
        fn decode_head(&mut self, input: &[u8]) -> Option<(NodeId, usize)> {
            // With `fast`, a first FRAME not all in is not run (`Decoder::decode_head_root`).
            #[cfg(feature = "fast")]
            return self.decode_head_root(input);
            #[cfg(not(feature = "fast"))]
            {
                let (root, len) = self.run(input, true).ok()?;
                (self.frame_end() <= len).then_some((root, len))
            }
        }

        #[cfg_attr(feature = "fast", inline(always))]
        fn hand_out_head<F: FnMut(Value<'_>)>(
            &mut self,
            input: &[u8],
            on_message: &mut F,
        ) -> Option<usize> {
            #[cfg(feature = "fast")]
            return Decoder::hand_out_head(self, input, on_message);
            #[cfg(not(feature = "fast"))]
            {
                let (root, len) = self.decode_head(input)?;
                on_message(self.view(input.get(..len)?, root));
                Some(len)
            }
        }

        #[cfg_attr(feature = "fast", inline)]
        fn view<'a>(&'a self, input: &'a [u8], root: NodeId) -> Value<'a> {
            self.tree(input).value(root)
        }

        fn decode_all<'a>(&'a mut self, input: &'a [u8]) -> Result<Value<'a>, pickle::Error> {
            self.decode(input)
        }

        fn decode_root(&mut self, input: &[u8]) -> Result<NodeId, pickle::Error> {
            // `decode` is this run and a view of its root.
            self.run(input, true).map(|(root, _)| root)
        }

        fn allow_stubs(&mut self, allow: bool) {
            Decoder::allow_stubs(self, allow);
        }
    }
}

/// An event found by framing, not yet handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ready {
    Nothing,
    /// A complete pickle at the head of the receive buffer.
    Pickle {
        len: usize,
    },
    /// A pickle at the head of the receive buffer, already decoded into the session's
    /// decoder with root node `root`.
    Decoded {
        len: usize,
        root: NodeId,
    },
    /// An oversized pickle was discarded.
    Skipped {
        len: usize,
    },
    /// Orderly close.
    Closed,
}

/// The receive buffer and what is known about the bytes in it. `repr(C)`: the counters
/// first, at small offsets (Rust's layout put them after the buffer, at offsets past 4 KiB
/// that Thumb-2 loads and stores cannot hold in one instruction: flash).
#[repr(C)]
pub(super) struct Receiver<const RX: usize> {
    /// Received bytes not yet consumed: `buf[head..tail]`.
    head: usize,
    tail: usize,
    /// Of those, how many the framer has scanned (all part of the current pickle).
    scanned: usize,
    /// Bytes at `head` handed out as the last message, dropped on the next call.
    release: usize,
    /// Bytes of an oversized pickle discarded so far, while discarding one.
    skipping: Option<usize>,
    /// Stream offset of `buf[head]`.
    stream_offset: usize,
    framer: Framer,
    /// The length-prefixed framings; [`Framing::Stop`] leaves framing to `framer`.
    deframer: Deframer,
    peer_closed: bool,
    ready: Ready,
    buf: [u8; RX],
}

impl<const RX: usize> Receiver<RX> {
    // Out of line: built in its caller's slot, its buffer zeroed by the aligned
    // `__aeabi_memclr4` (inline, a firmware's client built on the stack linked the unaligned
    // `__aeabi_memclr` for it: 232 bytes of flash).
    #[inline(never)]
    pub(super) const fn new() -> Self {
        Receiver {
            buf: [0; RX],
            head: 0,
            tail: 0,
            scanned: 0,
            release: 0,
            skipping: None,
            stream_offset: 0,
            framer: Framer::new(),
            deframer: Deframer::new(Framing::Stop),
            ready: Ready::Nothing,
            peer_closed: false,
        }
    }

    /// How messages are delimited from now on (set before a connection starts).
    #[cfg(feature = "dialects")]
    pub(super) fn set_framing(&mut self, framing: Framing) {
        self.deframer = Deframer::new(framing);
    }

    /// True if messages carry a length prefix.
    fn prefixed(&self) -> bool {
        // Without `dialects` only STOP framing can be set: a constant, nothing else linked.
        cfg!(feature = "dialects") && self.deframer.framing() != Framing::Stop
    }

    /// Forgets everything received (a new connection).
    pub(super) fn reset(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.scanned = 0;
        self.release = 0;
        self.skipping = None;
        self.stream_offset = 0;
        self.framer.reset();
        self.deframer.reset();
        self.ready = Ready::Nothing;
        self.peer_closed = false;
    }

    /// Free space to read into, after moving the unconsumed bytes to the front.
    pub(super) fn space(&mut self) -> &mut [u8] {
        self.drop_released();
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        } else if self.head > 0 {
            crate::shift::move_back(&mut self.buf, self.head, self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        self.buf.get_mut(self.tail..).unwrap_or(&mut [])
    }

    /// `n` bytes were read into [`space`](Self::space); 0: the peer closed.
    pub(super) fn commit(&mut self, n: usize) {
        if n == 0 {
            self.peer_closed = true;
        } else {
            self.tail = self.tail.saturating_add(n).min(RX);
        }
    }

    pub(super) fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// True while some bytes of a message arrived and not yet its end.
    pub(super) fn in_message(&self) -> bool {
        if self.prefixed() {
            let rest = self
                .buf
                .get(self.head + self.release..self.tail)
                .unwrap_or(&[]);
            return self.deframer.in_message(rest);
        }
        self.skipping.is_some() || self.framer.in_pickle() || self.frame_pending()
    }

    /// True if the bytes at the head (after the message handed out last) are the start of
    /// a protocol 4+ pickle whose first FRAME has not all arrived and ends within the
    /// buffer. Such a pickle is left to the machine, tried again after each read (it refuses
    /// an incomplete FRAME at once), not walked by the framer: walking it cost 1.2-1.3x
    /// decoding it again per read (BENCHMARKS.md, "The framer"). CPython's `Unpickler` also
    /// reads a whole frame before its opcodes. Not while the peer closed: the framer then
    /// finds what is wrong with the bytes that arrived.
    fn frame_pending(&self) -> bool {
        let bytes = self.buf.get(self.head + self.release..self.tail);
        let Some([0x80, 4 | 5, 0x95, rest @ ..]) = bytes else {
            return false;
        };
        let Some(len) = rest.first_chunk::<8>().map(|b| u64::from_le_bytes(*b)) else {
            return false;
        };
        // PROTO (2 bytes), FRAME and its length (9), then the frame; an end past `usize`
        // is past the buffer.
        match usize::try_from(len)
            .ok()
            .and_then(|len| len.checked_add(11))
        {
            Some(end) => end > self.tail - self.head - self.release && end <= RX,
            None => false,
        }
    }

    /// True if an event is waiting to be taken.
    pub(super) fn has_ready(&self) -> bool {
        self.ready != Ready::Nothing
    }

    /// The event waiting to be taken (then nothing is).
    pub(super) fn take(&mut self) -> Ready {
        core::mem::replace(&mut self.ready, Ready::Nothing)
    }

    /// The event waiting, left waiting.
    pub(super) fn ready(&self) -> Ready {
        self.ready
    }

    /// The message decoded at the head, if that is the event waiting (then nothing is).
    #[cfg_attr(feature = "fast", inline)]
    pub(super) fn take_decoded(&mut self) -> Option<(usize, NodeId)> {
        match self.ready {
            Ready::Decoded { len, root } => {
                self.ready = Ready::Nothing;
                Some((len, root))
            }
            _ => None,
        }
    }

    /// Forgets the event waiting (the session failed).
    pub(super) fn clear(&mut self) {
        self.ready = Ready::Nothing;
    }

    /// Hands out the `len`-byte message at the head: its stream offset and bytes, valid
    /// until the next call (which drops them).
    #[cfg_attr(not(feature = "fast"), inline(never))]
    pub(super) fn hand_out(&mut self, len: usize) -> (usize, &[u8]) {
        self.release = len;
        let bytes = self.buf.get(self.head..self.head + len).unwrap_or(&[]);
        (self.stream_offset, bytes)
    }

    /// Frames the received bytes; true if an event is ready. `first`: the message awaited
    /// is the session's first (one larger than the buffer, or the peer closing, is then
    /// fatal).
    ///
    /// Fails if the stream is not pickles, if the peer closed in the middle of a pickle or
    /// (`first`) before any, or if the first message is larger than the buffer.
    pub(super) fn frame(&mut self, first: bool) -> Result<bool, Error> {
        self.drop_released();
        if self.prefixed() {
            return self.frame_prefixed(first);
        }
        // While skipping, the framer is inside the skipped pickle and nothing is scanned
        // (`scanned` is 0): one call of the framer for both, from `head + scanned`.
        if self.scanned == 0 && !self.framer.in_pickle() {
            if !self.peer_closed && self.frame_pending() {
                // Not walked: the machine decodes it once its frame is in.
                return Ok(false);
            }
            // Messages decoded directly were never fed to the framer.
            self.framer.resume_at(self.stream_offset);
        }
        let from = self.head + self.scanned;
        let chunk = self.buf.get(from..self.tail).unwrap_or(&[]);
        match (self.framer.advance(chunk), self.skipping) {
            (Ok(Progress::Complete { len }), Some(discarded)) => {
                self.consume(len);
                self.skipping = None;
                self.ready = Ready::Skipped {
                    len: discarded.saturating_add(len),
                };
                return Ok(true);
            }
            (Ok(Progress::Complete { len }), None) => {
                self.ready = Ready::Pickle {
                    len: self.scanned + len,
                };
                self.scanned = 0;
                return Ok(true);
            }
            (Ok(Progress::Incomplete), Some(discarded)) => {
                let n = self.tail - self.head;
                self.consume(n);
                self.skipping = Some(discarded.saturating_add(n));
            }
            (Ok(Progress::Incomplete), None) => {
                self.scanned = self.tail - self.head;
                if self.scanned == RX {
                    // One pickle fills the whole buffer: it cannot be stored.
                    if first {
                        return Err(Limit::FirstMessageTooLarge { limit: RX }.into());
                    }
                    log_warn!("message larger than the receive buffer: skipping it");
                    self.skipping = Some(RX);
                    self.consume(RX);
                    self.scanned = 0;
                }
            }
            // The message began at the head, or (skipping) `discarded` bytes before it,
            // whatever the reads.
            (Err(error), skipping) => {
                let start = self.stream_offset.wrapping_sub(skipping.unwrap_or(0));
                return Err(invalid(error, start));
            }
        }
        let received = self.framer.pickle_len();
        self.at_end(first, received)
    }

    /// [`frame`](Self::frame) for a length-prefixed framing: the prefix is dropped once the
    /// whole message is in, so the message starts at the head as a STOP-framed one does; a
    /// message longer than the buffer is dropped by its announced length.
    fn frame_prefixed(&mut self, first: bool) -> Result<bool, Error> {
        loop {
            let bytes = self.buf.get(self.head..self.tail).unwrap_or(&[]);
            let frame = self.deframer.next(bytes, RX).map_err(|error| {
                Error::from(PeerFault::BadPrefix {
                    stream_offset: self.stream_offset,
                    error,
                })
            })?;
            match frame {
                Frame::Message { start, end } => {
                    self.consume(start);
                    self.ready = Ready::Pickle { len: end - start };
                    return Ok(true);
                }
                Frame::Discard { .. } if first => {
                    return Err(Limit::FirstMessageTooLarge { limit: RX }.into());
                }
                Frame::Discard { n } => {
                    log_warn!("message larger than the receive buffer: skipping it");
                    self.consume(n);
                }
                Frame::Skipped { n, len } => {
                    self.consume(n);
                    self.ready = Ready::Skipped {
                        len: usize::try_from(len).unwrap_or(usize::MAX),
                    };
                    return Ok(true);
                }
                Frame::NeedMore | Frame::Delimited => break,
            }
        }
        let received = self.tail - self.head;
        self.at_end(first, received)
    }

    /// After framing what arrived: if the peer closed, the last event or the fault (closed
    /// in the middle of a message of which `received` bytes arrived, or before the first);
    /// true if an event is ready.
    fn at_end(&mut self, first: bool, received: usize) -> Result<bool, Error> {
        if !self.peer_closed {
            return Ok(false);
        }
        if self.in_message() {
            return Err(PeerFault::ClosedMidMessage { received }.into());
        }
        if first {
            return Err(PeerFault::ClosedBeforeClientId.into());
        }
        self.ready = Ready::Closed;
        Ok(true)
    }

    /// Decodes the message at the head of the buffer into `decoder` when it is complete and
    /// valid, and nothing else is under way: its length and root (hand it out, or keep it
    /// with [`decoded`](Self::decoded)). Otherwise (`None`) the framer finds its end, or
    /// waits for the rest. Called only with no event ready ([`has_ready`](Self::has_ready)
    /// false: the session checks it first).
    #[inline]
    pub(super) fn decode_head<D: Decode>(&mut self, decoder: &mut D) -> Option<(usize, NodeId)> {
        debug_assert!(self.ready == Ready::Nothing);
        // A length prefix at the head: framed first (`frame_prefixed`), then decoded.
        let idle = !self.prefixed()
            && self.skipping.is_none()
            && self.scanned == 0
            && !self.framer.in_pickle();
        if !idle {
            return None;
        }
        self.drop_released();
        let bytes = self.buf.get(self.head..self.tail)?;
        decoder.decode_head(bytes).map(|(root, len)| (len, root))
    }

    /// [`decode_head`](Self::decode_head) when nothing changed since it last decoded a
    /// message (the session's `head_clear`): the same result, its checks of what is under
    /// way skipped (nothing can be: only framing, a kept event or a reset change them).
    #[inline(always)]
    pub(super) fn decode_clear_head<D: Decode>(
        &mut self,
        decoder: &mut D,
    ) -> Option<(usize, NodeId)> {
        debug_assert!(self.ready == Ready::Nothing && !self.prefixed() && self.skipping.is_none());
        debug_assert!(self.scanned == 0 && !self.framer.in_pickle());
        self.drop_released();
        let bytes = self.buf.get(self.head..self.tail)?;
        decoder.decode_head(bytes).map(|(root, len)| (len, root))
    }

    /// Hands out the `len`-byte message decoded at the head with root `root` as
    /// `on_message(value)`, then each message after it that the machine decodes whole at the
    /// head ([`Decode::decode_head`], as [`decode_clear_head`](Self::decode_clear_head) would
    /// on the next call), and drops them: each is released once `on_message` returns, not on
    /// the next call. Stops at the first head that is not such a message (partial, refused,
    /// framed: left to the next call's full path). Nothing else may be under way (the
    /// session's `head_clear`).
    #[inline(never)]
    pub(super) fn hand_out_each<D: Decode>(
        &mut self,
        decoder: &mut D,
        (len, root): (usize, NodeId),
        on_message: &mut impl FnMut(Value<'_>),
    ) {
        debug_assert!(self.ready == Ready::Nothing && !self.prefixed() && self.skipping.is_none());
        debug_assert!(self.scanned == 0 && !self.framer.in_pickle());
        self.drop_released();
        let rest = self.buf.get(self.head..self.tail).unwrap_or(&[]);
        let Some((message, mut rest)) = rest.split_at_checked(len) else {
            return;
        };
        on_message(decoder.view(message, root));
        let mut handed = len;
        // The next ones decoded and handed out in one step (`Decode::hand_out_head`).
        while let Some(len) = decoder.hand_out_head(rest, on_message) {
            handed += len;
            rest = rest.get(len..).unwrap_or(&[]);
        }
        self.consume(handed);
    }

    /// Keeps the message [`decode_head`](Self::decode_head) decoded as the event ready.
    pub(super) fn decoded(&mut self, len: usize, root: NodeId) {
        self.ready = Ready::Decoded { len, root };
    }

    /// Drops the bytes of the message handed out last.
    fn drop_released(&mut self) {
        let n = core::mem::take(&mut self.release);
        self.consume(n);
    }

    /// Drops `n` bytes at the head of the buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.tail - self.head);
        self.head += n;
        self.stream_offset = self.stream_offset.wrapping_add(n);
    }
}

/// A framing error in the message that began at stream offset `start`.
fn invalid(error: pickle::Error, start: usize) -> Error {
    PeerFault::InvalidPickle {
        stream_offset: start,
        error,
    }
    .into()
}

/// How a ready message is read.
#[derive(Clone, Copy)]
pub(super) enum Source {
    /// Decode its bytes.
    Exact,
    /// It was decoded into the decoder by [`Receiver::decode_head`]: a view from this root.
    Root(NodeId),
}

/// The message in `bytes` (one whole pickle), read as `source` says.
pub(super) fn message<'a, D: Decode>(
    bytes: &'a [u8],
    source: Source,
    decoder: &'a mut D,
) -> Result<Value<'a>, pickle::Error> {
    match source {
        Source::Exact => decoder.decode_all(bytes),
        Source::Root(root) => Ok(decoder.view(bytes, root)),
    }
}
