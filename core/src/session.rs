//! The lab protocol as a sans-IO state machine: handshake, then listen until the server closes.
//!
//! The session owns fixed receive and transmit buffers and does no I/O. A driver reads into
//! [`Session::receive_buffer`] and reports the count with [`Session::commit`] (0: the peer
//! closed), writes [`Session::transmit`] and reports what went out with
//! [`Session::transmitted`], and takes [`Event`]s from [`Session::next_event`].
//!
//! ```text
//!  NotStarted --start--> AwaitingClientId --{'clientid': id}--> IdentityQueued
//!      --identity written--> Listening --EOF--> Closed
//! ```

use core::fmt::{self, Display};

use crate::handshake::{self, NotAnId};
pub use crate::handshake::{ClientId, Dialect, Preview, CLIENT_ID_PICKLE_LEN, CLIENT_ID_VALUES};
use crate::pickle::{self, Decoder, Encoding, Framer, NodeId, Progress, Protocol, ToPickle, Value};

/// Where the session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum State {
    /// A new session: [`Session::start`] has not been called.
    NotStarted,
    /// Connected; waiting for the server's `{'clientid': id}` (the identity is held back).
    AwaitingClientId,
    /// The id arrived; the identity is queued for transmission.
    IdentityQueued,
    /// The identity went out; receiving messages until the server closes.
    Listening,
    /// The server closed the connection in order, or the session failed.
    Closed,
}

impl Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::NotStarted => "not started",
            State::AwaitingClientId => "awaiting client id",
            State::IdentityQueued => "identity queued",
            State::Listening => "listening",
            State::Closed => "closed",
        })
    }
}

/// What the session waits for, so a driver can choose a timeout (core has no clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Waiting {
    /// The client id: bound this wait.
    ClientId,
    /// The rest of a message whose first bytes arrived: bound this wait.
    RestOfMessage,
    /// The next message: silence here is normal; the lab client listens as long as the
    /// server stays connected.
    NextMessage,
    /// Nothing: the session is not started or closed.
    Nothing,
}

/// Why a message was skipped.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The pickle is larger than the receive buffer; its bytes were discarded unread.
    TooLarge {
        /// The receive buffer's size.
        limit: usize,
    },
    /// The decoder refused the pickle (code-running opcodes, malformed, over capacity).
    Refused(pickle::Error),
}

impl Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TooLarge { limit } => {
                write!(f, "larger than the {limit}-byte receive buffer")
            }
            SkipReason::Refused(e) => Display::fmt(e, f),
        }
    }
}

/// What happened on the connection, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The server assigned this id (first event of a session).
    ClientId(ClientId),
    /// A message; it borrows the receive buffer and the decoder until the next call.
    Message(Value<'a>),
    /// A message that was not delivered, and why; the session goes on with the next one.
    Skipped {
        /// The pickle's length in bytes.
        len: usize,
        /// Why it was skipped.
        reason: SkipReason,
    },
    /// The server closed the connection in order (last event).
    Closed,
}

/// Why the session failed. After an error the session is [`State::Closed`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The server closed the connection before sending the client id.
    ClosedBeforeClientId,
    /// The server closed the connection in the middle of a pickle.
    ClosedMidMessage {
        /// Bytes of the unfinished pickle received.
        received: usize,
    },
    /// The byte stream is not pickles (no message boundary can be found past this point), or
    /// the client-id message is not a pickle brine accepts.
    InvalidPickle {
        /// Offset in the stream where the failing message began (for a byte that begins no
        /// message, that byte's offset), whatever the sizes of the reads.
        stream_offset: usize,
        /// What is wrong.
        error: pickle::Error,
    },
    /// The first message cannot be read as a client id (larger than the receive buffer, or
    /// not the session's first event).
    NoClientId {
        /// What came instead.
        found: &'static str,
    },
    /// The first message is neither a dict with `'clientid'` nor a bare `int` or `str`.
    NotAClientId {
        /// The start of its repr, and its type.
        first: Preview,
    },
    /// The first message holds a client id larger than brine keeps
    /// ([`CLIENT_ID_PICKLE_LEN`] bytes pickled, [`CLIENT_ID_VALUES`] values).
    ClientIdTooLarge {
        /// The start of its repr, and its type.
        first: Preview,
        /// Its pickle's length in bytes.
        len: usize,
    },
    /// A message to send does not fit the transmit buffer.
    TransmitBufferTooSmall {
        /// The buffer's size in bytes.
        capacity: usize,
    },
    /// A message to send cannot be pickled.
    Encode(pickle::Error),
    /// Messages can be sent only once the client id arrived.
    HandshakeIncomplete,
    /// [`Session::start`] has not been called.
    NotStarted,
    /// The session is closed.
    Closed,
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ClosedBeforeClientId => {
                f.write_str("the server closed the connection before sending a client id")
            }
            Error::ClosedMidMessage { received } => write!(
                f,
                "the server closed the connection in the middle of a message ({received} bytes of it received)"
            ),
            Error::InvalidPickle {
                stream_offset,
                error,
            } => write!(f, "{error} (message at stream offset {stream_offset})"),
            Error::NoClientId { found } => write!(
                f,
                "the server's first message is not a dict with 'clientid': found {found}"
            ),
            Error::NotAClientId { first } => write!(
                f,
                "the server's first message is not a client id: got {first} (a {}); \
                 a lab server sends {{'clientid': id}} first (or a bare int or str)",
                first.type_name()
            ),
            Error::ClientIdTooLarge { first, len } => write!(
                f,
                "the server's client id is too large: {first} ({len} bytes pickled; brine \
                 keeps ids of up to {CLIENT_ID_PICKLE_LEN} bytes and {CLIENT_ID_VALUES} values)"
            ),
            Error::TransmitBufferTooSmall { capacity } => write!(
                f,
                "the message does not fit the {capacity}-byte transmit buffer"
            ),
            Error::Encode(e) => write!(f, "cannot pickle the message: {e}"),
            Error::HandshakeIncomplete => {
                f.write_str("cannot send before the server assigned a client id")
            }
            Error::NotStarted => f.write_str("the session has not been started"),
            Error::Closed => f.write_str("the session is closed"),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::ClosedBeforeClientId => defmt::write!(f, "ClosedBeforeClientId"),
            Error::ClosedMidMessage { received } => {
                defmt::write!(f, "ClosedMidMessage after {}", received)
            }
            Error::InvalidPickle {
                stream_offset,
                error,
            } => defmt::write!(f, "InvalidPickle at {}: {}", stream_offset, error),
            Error::NoClientId { found } => defmt::write!(f, "NoClientId: {=str}", found),
            Error::NotAClientId { first } => defmt::write!(f, "NotAClientId: {}", first),
            Error::ClientIdTooLarge { first, len } => {
                defmt::write!(f, "ClientIdTooLarge ({} bytes): {}", len, first)
            }
            Error::TransmitBufferTooSmall { capacity } => {
                defmt::write!(f, "TransmitBufferTooSmall {}", capacity)
            }
            Error::Encode(e) => defmt::write!(f, "Encode {}", e),
            Error::HandshakeIncomplete => defmt::write!(f, "HandshakeIncomplete"),
            Error::NotStarted => defmt::write!(f, "NotStarted"),
            Error::Closed => defmt::write!(f, "Closed"),
        }
    }
}

/// An event found by framing, not yet handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ready {
    Nothing,
    /// A complete pickle at the head of the receive buffer.
    Pickle {
        len: usize,
    },
    /// A pickle at the head of the receive buffer, already decoded into the decoder at
    /// address `decoder` with root node `root`.
    Decoded {
        len: usize,
        root: NodeId,
        decoder: usize,
    },
    /// A pickle at the head of the receive buffer that is one `str` (see
    /// [`pickle::one_str`]).
    Str {
        len: usize,
    },
    /// An oversized pickle was discarded.
    Skipped {
        len: usize,
    },
    /// Orderly close.
    Closed,
}

/// The client side of the lab protocol, with `RX`- and `TX`-byte buffers (4096 each by
/// default, the lab's `MAX_MEM_ALLOC`). Allocates nothing; performs no I/O.
pub struct Session<const RX: usize = 4096, const TX: usize = 4096> {
    rx: [u8; RX],
    /// Received bytes not yet consumed: `rx[head..tail]`.
    head: usize,
    tail: usize,
    /// Of those, how many the framer has scanned (all part of the current pickle).
    scanned: usize,
    /// Bytes at `head` handed out as the last message, dropped on the next call.
    release: usize,
    /// Bytes of an oversized pickle discarded so far, while discarding one.
    skipping: Option<usize>,
    /// Stream offset of `rx[head]`.
    stream_offset: usize,
    framer: Framer,
    ready: Ready,
    peer_closed: bool,
    tx: [u8; TX],
    /// Bytes to send: `tx[tx_head..tx_tail]`.
    tx_head: usize,
    tx_tail: usize,
    /// End of the identity in `tx` while it is queued (held back until the client id).
    identity_end: usize,
    state: State,
    protocol: Encoding,
    /// The client id's pickle chooses `protocol` ([`Dialect::answer`]).
    auto: bool,
}

impl<const RX: usize, const TX: usize> Default for Session<RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RX: usize, const TX: usize> Session<RX, TX> {
    /// A session that will write protocol 4 (CPython's default). Call [`start`](Self::start)
    /// for each connection.
    pub const fn new() -> Self {
        Session {
            rx: [0; RX],
            head: 0,
            tail: 0,
            scanned: 0,
            release: 0,
            skipping: None,
            stream_offset: 0,
            framer: Framer::new(),
            ready: Ready::Nothing,
            peer_closed: false,
            tx: [0; TX],
            tx_head: 0,
            tx_tail: 0,
            identity_end: 0,
            state: State::NotStarted,
            protocol: Encoding::new(Protocol::V4),
            auto: false,
        }
    }

    /// Sets the protocol of pickles this session writes (the identity and later messages): a
    /// [`Protocol`], or an [`Encoding`] (e.g. `Encoding::python2(Protocol::V2)` for a Python 2
    /// server).
    pub fn set_protocol(&mut self, protocol: impl Into<Encoding>) {
        self.protocol = protocol.into();
        self.auto = false;
    }

    /// Lets the server's first message choose the encoding of what this session writes
    /// ([`Dialect::answer`]): the identity is pickled in protocol 4 by [`start`](Self::start)
    /// and pickled again, with the decoder given to [`next_event`](Self::next_event), when
    /// the id asks for another encoding. That fails (as `next_event`'s error) if the identity
    /// holds a set, a bytearray or an int beyond 128 bits, or no longer fits the transmit
    /// buffer.
    pub fn set_protocol_auto(&mut self) {
        self.auto = true;
    }

    /// The encoding this session writes (under auto, the one chosen once the id arrived).
    pub fn protocol(&self) -> Encoding {
        self.protocol
    }

    /// Begins a connection: forgets all per-connection state and pickles `identity` (a dict:
    /// any `Serialize` map or struct, e.g. [`Identity`](crate::Identity), or bytes pickled
    /// beforehand, [`Pickled`](pickle::Pickled)) into the transmit buffer, held back until the
    /// server's client id arrives.
    ///
    /// Fails if the identity does not fit the transmit buffer or cannot be pickled.
    pub fn start<T: ToPickle + ?Sized>(&mut self, identity: &T) -> Result<(), Error> {
        self.head = 0;
        self.tail = 0;
        self.scanned = 0;
        self.release = 0;
        self.skipping = None;
        self.stream_offset = 0;
        self.framer.reset();
        self.ready = Ready::Nothing;
        self.peer_closed = false;
        self.tx_head = 0;
        self.tx_tail = 0;
        self.state = State::Closed;
        if self.auto {
            self.protocol = Encoding::new(Protocol::V4);
        }
        self.identity_end = self.encode(identity)?;
        self.tx_tail = self.identity_end;
        self.set_state(State::AwaitingClientId);
        Ok(())
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// What the session is waiting for (for the driver's timeouts).
    pub fn waiting(&self) -> Waiting {
        match self.state {
            State::NotStarted | State::Closed => Waiting::Nothing,
            State::AwaitingClientId => Waiting::ClientId,
            _ if self.skipping.is_some() || self.framer.in_pickle() => Waiting::RestOfMessage,
            _ => Waiting::NextMessage,
        }
    }

    // ---- input ----

    /// Free space to read received bytes into; report the count with
    /// [`commit`](Self::commit). Empty only while a complete message is waiting to be taken
    /// with [`next_event`](Self::next_event).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        self.drop_released();
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        } else if self.head > 0 {
            self.rx.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        self.rx.get_mut(self.tail..).unwrap_or(&mut [])
    }

    /// Reports `n` bytes read into [`receive_buffer`](Self::receive_buffer); 0 means the
    /// peer closed the connection.
    pub fn commit(&mut self, n: usize) {
        if n == 0 {
            self.peer_closed = true;
        } else {
            self.tail = self.tail.saturating_add(n).min(RX);
        }
    }

    /// True if the peer closed the connection (a read returned 0).
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Frames the received bytes; true if [`next_event`](Self::next_event) has an event to
    /// return. Cheap and idempotent: drivers call it to decide whether to read.
    ///
    /// Fails if the stream is not pickles, if the peer closed before the client id or in the
    /// middle of a pickle, or if the first message is larger than the receive buffer; after
    /// [`Event::Closed`] or an error, fails with [`Error::Closed`].
    pub fn poll(&mut self) -> Result<bool, Error> {
        if self.ready != Ready::Nothing {
            return Ok(true);
        }
        match self.state {
            State::NotStarted => return Err(Error::NotStarted),
            State::Closed => return Err(Error::Closed),
            _ => {}
        }
        self.drop_released();
        if let Some(discarded) = self.skipping {
            let chunk = self.rx.get(self.head..self.tail).unwrap_or(&[]);
            match self.framer.advance(chunk) {
                Ok(Progress::Complete { len }) => {
                    self.consume(len);
                    self.skipping = None;
                    self.ready = Ready::Skipped {
                        len: discarded.saturating_add(len),
                    };
                    return Ok(true);
                }
                Ok(Progress::Incomplete) => {
                    let n = self.tail - self.head;
                    self.consume(n);
                    self.skipping = Some(discarded.saturating_add(n));
                }
                // The message began `discarded` bytes before the head, whatever the reads.
                Err(error) => {
                    let start = self.stream_offset.wrapping_sub(discarded);
                    return Err(self.fail_stream(error, start));
                }
            }
        } else {
            if self.scanned == 0 && !self.framer.in_pickle() {
                // Messages decoded directly were never fed to the framer.
                self.framer.resume_at(self.stream_offset);
            }
            let from = self.head + self.scanned;
            let chunk = self.rx.get(from..self.tail).unwrap_or(&[]);
            match self.framer.advance(chunk) {
                Ok(Progress::Complete { len }) => {
                    self.ready = Ready::Pickle {
                        len: self.scanned + len,
                    };
                    self.scanned = 0;
                    return Ok(true);
                }
                Ok(Progress::Incomplete) => {
                    self.scanned = self.tail - self.head;
                    if self.scanned == RX {
                        // One pickle fills the whole buffer: it cannot be stored.
                        if self.state == State::AwaitingClientId {
                            return Err(self.fail(Error::NoClientId {
                                found: "a message larger than the receive buffer",
                            }));
                        }
                        log_warn!("message larger than the receive buffer: skipping it");
                        self.skipping = Some(RX);
                        self.consume(RX);
                        self.scanned = 0;
                    }
                }
                // The head is where the current message began.
                Err(error) => return Err(self.fail_stream(error, self.stream_offset)),
            }
        }
        if self.peer_closed {
            if self.skipping.is_some() || self.framer.in_pickle() {
                let received = self.framer.pickle_len();
                return Err(self.fail(Error::ClosedMidMessage { received }));
            }
            if self.state == State::AwaitingClientId {
                return Err(self.fail(Error::ClosedBeforeClientId));
            }
            self.ready = Ready::Closed;
            return Ok(true);
        }
        Ok(false)
    }

    /// Like [`poll`](Self::poll), and decodes a complete message at the head of the receive
    /// buffer into `decoder` in the same pass (the framer then only runs for a message that
    /// is incomplete, refused or larger than the buffer). Drivers call this, then
    /// [`next_event`](Self::next_event) with the same `decoder`, untouched in between.
    ///
    /// Fails as [`poll`](Self::poll) does.
    pub fn poll_decode<const V: usize, const I: usize, const S: usize, const M: usize>(
        &mut self,
        decoder: &mut Decoder<V, I, S, M>,
    ) -> Result<bool, Error> {
        let idle = self.ready == Ready::Nothing
            && self.state != State::Closed
            && self.skipping.is_none()
            && self.scanned == 0
            && !self.framer.in_pickle();
        if idle {
            self.drop_released();
            if let Some(ready) = self.decode_head(decoder) {
                self.ready = ready;
                return Ok(true);
            }
        }
        self.poll()
    }

    /// The message at the head of the receive buffer, decoded, if it is complete and valid;
    /// `None` otherwise (the framer then finds its end, or waits for the rest).
    fn decode_head<const V: usize, const I: usize, const S: usize, const M: usize>(
        &self,
        decoder: &mut Decoder<V, I, S, M>,
    ) -> Option<Ready> {
        let bytes = self.rx.get(self.head..self.tail)?;
        // What the machine makes of these bytes, when it has room for one value.
        if V > 0 && S > 0 && M > 0 {
            if let Some((_, len)) = pickle::one_str(bytes) {
                return Some(Ready::Str { len });
            }
        }
        let (root, len) = decoder.run_fast(bytes, true).ok()?;
        // A FRAME that claims bytes past this pickle reaches into the next message: the
        // pickle on its own bytes is truncated. Leave it to the framed path.
        (decoder.frame_end() <= len).then_some(Ready::Decoded {
            len,
            root,
            decoder: core::ptr::from_ref(decoder) as usize,
        })
    }

    /// The next event, if one is ready (see [`poll_decode`](Self::poll_decode)); `None`
    /// means: read more. A message borrows the receive buffer and `decoder` until the next
    /// call.
    ///
    /// Fails as [`poll`](Self::poll) does, and if the first message is not a valid client id.
    pub fn next_event<'a, const V: usize, const I: usize, const S: usize, const M: usize>(
        &'a mut self,
        decoder: &'a mut Decoder<V, I, S, M>,
    ) -> Result<Option<Event<'a>>, Error> {
        if !self.poll_decode(decoder)? {
            return Ok(None);
        }
        let (len, source) = match core::mem::replace(&mut self.ready, Ready::Nothing) {
            Ready::Nothing => return Ok(None),
            Ready::Closed => {
                self.set_state(State::Closed);
                return Ok(Some(Event::Closed));
            }
            Ready::Skipped { len } => {
                return Ok(Some(Event::Skipped {
                    len,
                    reason: SkipReason::TooLarge { limit: RX },
                }))
            }
            Ready::Pickle { len } => (len, Source::Exact),
            Ready::Str { len } => (len, Source::Str),
            // Decoded when polled, into this decoder (else decoded again below).
            Ready::Decoded {
                len,
                root,
                decoder: at,
            } => match at == core::ptr::from_ref(decoder) as usize {
                true => (len, Source::Root(root)),
                false => (len, Source::Exact),
            },
        };
        self.release = len;
        let offset = self.stream_offset;
        let span = self.head..self.head + len;
        if self.state == State::AwaitingClientId {
            let bytes = self.rx.get(span).unwrap_or(&[]);
            let id = match message(bytes, source, decoder) {
                Ok(value) => match ClientId::from_first_message(bytes, &value) {
                    Ok(id) => Ok(id),
                    Err(NotAnId::Shape) => Err(Error::NotAClientId {
                        first: Preview::of(&value),
                    }),
                    Err(NotAnId::TooLarge) => Err(Error::ClientIdTooLarge {
                        first: Preview::of(&value),
                        len,
                    }),
                },
                Err(error) => Err(Error::InvalidPickle {
                    stream_offset: offset,
                    error,
                }),
            };
            let id = id.map_err(|e| self.fail(e))?;
            if self.auto {
                let answer = id.dialect().answer();
                self.answer_in(answer, decoder).map_err(|e| self.fail(e))?;
            }
            self.set_state(State::IdentityQueued);
            if self.tx_head >= self.identity_end {
                self.set_state(State::Listening);
            }
            return Ok(Some(Event::ClientId(id)));
        }
        Ok(Some(
            match message(self.rx.get(span).unwrap_or(&[]), source, decoder) {
                Ok(value) => Event::Message(value),
                Err(error) => Event::Skipped {
                    len,
                    reason: SkipReason::Refused(error),
                },
            },
        ))
    }

    // ---- output ----

    /// Pickles `message` (protocol as set) after any bytes still queued. Allowed once the
    /// client id arrived.
    ///
    /// Fails if the message does not fit the free transmit space or cannot be pickled; then
    /// nothing is queued.
    pub fn queue<T: ToPickle + ?Sized>(&mut self, message: &T) -> Result<(), Error> {
        match self.state {
            State::AwaitingClientId => return Err(Error::HandshakeIncomplete),
            State::NotStarted => return Err(Error::NotStarted),
            State::Closed => return Err(Error::Closed),
            _ => {}
        }
        if self.tx_head > 0 {
            self.tx.copy_within(self.tx_head..self.tx_tail, 0);
            self.tx_tail -= self.tx_head;
            self.identity_end = self.identity_end.saturating_sub(self.tx_head);
            self.tx_head = 0;
        }
        let start = self.tx_tail;
        let len = {
            let free = self.tx.get_mut(start..).unwrap_or(&mut []);
            match message.to_pickle(free, self.protocol) {
                Ok(used) => used,
                Err(pickle::Error::BufferFull { .. }) => {
                    return Err(Error::TransmitBufferTooSmall { capacity: TX })
                }
                Err(e) => return Err(Error::Encode(e)),
            }
        };
        self.tx_tail += len;
        Ok(())
    }

    /// Bytes to write now (empty while the identity is held back or nothing is queued).
    /// Write them, in as few writes as possible, and report with
    /// [`transmitted`](Self::transmitted).
    pub fn transmit(&self) -> &[u8] {
        if self.state == State::AwaitingClientId {
            return &[];
        }
        self.tx.get(self.tx_head..self.tx_tail).unwrap_or(&[])
    }

    /// Reports that `n` bytes of [`transmit`](Self::transmit) were written.
    pub fn transmitted(&mut self, n: usize) {
        self.tx_head = self.tx_head.saturating_add(n).min(self.tx_tail);
        if self.state == State::IdentityQueued && self.tx_head >= self.identity_end {
            self.set_state(State::Listening);
        }
        if self.tx_head == self.tx_tail {
            self.identity_end = self.identity_end.saturating_sub(self.tx_head);
            self.tx_head = 0;
            self.tx_tail = 0;
        }
    }

    // ---- internals ----

    /// Not inlined: the serializer (with its memo of up to 256 strings, about 5 KiB) lives on
    /// this frame only while pickling, not in the frame of a caller that goes on to decode
    /// (firmware's stack high-water mark: BENCHMARKS.md).
    #[inline(never)]
    fn encode<T: ToPickle + ?Sized>(&mut self, message: &T) -> Result<usize, Error> {
        match message.to_pickle(&mut self.tx, self.protocol) {
            Ok(used) => Ok(used),
            Err(pickle::Error::BufferFull { .. }) => {
                Err(Error::TransmitBufferTooSmall { capacity: TX })
            }
            Err(e) => Err(Error::Encode(e)),
        }
    }

    /// Pickles the queued identity (nothing else is queued before the id) again in
    /// `encoding`, unless it already is.
    fn answer_in<const V: usize, const I: usize, const S: usize, const M: usize>(
        &mut self,
        encoding: Encoding,
        decoder: &mut Decoder<V, I, S, M>,
    ) -> Result<(), Error> {
        if encoding == self.protocol {
            return Ok(());
        }
        self.protocol = encoding;
        let end = self.identity_end.min(TX);
        let (identity, free) = self.tx.split_at_mut(end);
        let value = decoder.decode(identity).map_err(Error::Encode)?;
        let len = match handshake::repickle(value, free, encoding) {
            Ok(len) => len,
            Err(pickle::Error::BufferFull { .. }) => {
                return Err(Error::TransmitBufferTooSmall { capacity: TX })
            }
            Err(e) => return Err(Error::Encode(e)),
        };
        self.tx.copy_within(end..end + len, 0);
        self.tx_head = 0;
        self.tx_tail = len;
        self.identity_end = len;
        Ok(())
    }

    /// Drops the bytes of the message handed out last.
    fn drop_released(&mut self) {
        let n = core::mem::take(&mut self.release);
        self.consume(n);
    }

    /// Drops `n` bytes at the head of the receive buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.tail - self.head);
        self.head += n;
        self.stream_offset = self.stream_offset.wrapping_add(n);
    }

    fn fail(&mut self, error: Error) -> Error {
        log_warn!("session failed: {}", error);
        self.set_state(State::Closed);
        self.ready = Ready::Nothing;
        error
    }

    /// A framing error in the message that began at stream offset `start`.
    fn fail_stream(&mut self, error: pickle::Error, start: usize) -> Error {
        self.fail(Error::InvalidPickle {
            stream_offset: start,
            error,
        })
    }

    fn set_state(&mut self, state: State) {
        if self.state != state {
            log_debug!("session: {} -> {}", self.state, state);
            self.state = state;
        }
    }
}

/// How a ready message is read.
#[derive(Clone, Copy)]
enum Source {
    /// Decode its bytes.
    Exact,
    /// It was decoded into the decoder in [`Session::poll_decode`]: a view from this root.
    Root(NodeId),
    /// One `str`, checked in [`Session::poll_decode`] ([`pickle::one_str`]).
    Str,
}

/// The message in `bytes` (one whole pickle), read as `source` says.
fn message<'a, const V: usize, const I: usize, const S: usize, const M: usize>(
    bytes: &'a [u8],
    source: Source,
    decoder: &'a mut Decoder<V, I, S, M>,
) -> Result<Value<'a>, pickle::Error> {
    match source {
        Source::Root(root) => Ok(decoder.tree(bytes).value(root)),
        Source::Str => Ok(Value::Str(pickle::one_str_text(bytes))),
        Source::Exact => decoder.decode(bytes),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::Identity;
    use std::string::{String, ToString};
    use std::vec::Vec;

    include!("../tests/common/fixtures.rs");

    fn identity() -> Identity<'static> {
        Identity::new()
            .with("name", "Jose Ortiz")
            .and_then(|i| i.with("email", "jose@sfsu.edu"))
            .and_then(|i| i.with("student_id", 917654321))
            .and_then(|i| i.with("github_username", "jortiz"))
            .unwrap()
    }

    /// Feeds `stream` in chunks of `chunk` bytes (0: all at once) and collects the events as
    /// text, writing out whatever the session transmits.
    fn run(stream: &[u8], chunk: usize) -> (Vec<String>, Vec<u8>) {
        let mut session: Session = Session::new();
        let mut decoder: Decoder = Decoder::new();
        session.start(&identity()).unwrap();
        let mut events = Vec::new();
        let mut sent = Vec::new();
        let mut rest = stream;
        loop {
            sent.extend_from_slice(session.transmit());
            let n = session.transmit().len();
            session.transmitted(n);
            match session.next_event(&mut decoder) {
                Ok(Some(event)) => {
                    let closed = matches!(event, Event::Closed);
                    events.push(describe(&event));
                    if closed {
                        break;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    events.push(std::format!("error: {e}"));
                    break;
                }
            }
            let buf = session.receive_buffer();
            let n = if chunk == 0 {
                rest.len()
            } else {
                chunk.min(rest.len())
            }
            .min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            session.commit(n);
        }
        (events, sent)
    }

    fn describe(event: &Event<'_>) -> String {
        match event {
            Event::ClientId(id) => std::format!("id {id}"),
            Event::Message(v) => std::format!("message {v}"),
            Event::Skipped { len, reason } => std::format!("skipped {len}: {reason}"),
            Event::Closed => "closed".to_string(),
        }
    }

    fn lab_stream() -> Vec<u8> {
        [CLIENT_ID, ACK, LIST, ACK].concat()
    }

    const LAB_EVENTS: [&str; 5] = [
        "id 54321",
        "message 'Server got the data'",
        "message [1, 2, 3]",
        "message 'Server got the data'",
        "closed",
    ];

    #[test]
    fn lab_exchange_sends_identity_after_the_id() {
        let (events, sent) = run(&lab_stream(), 0);
        assert_eq!(events, LAB_EVENTS);
        assert_eq!(
            sent, IDENTITY,
            "identity bytes equal CPython's pickle.dumps"
        );
    }

    #[test]
    fn a_new_session_is_not_started_until_start() {
        let mut session: Session = Session::new();
        assert_eq!(session.state(), State::NotStarted);
        assert_eq!(session.waiting(), Waiting::Nothing);
        assert_eq!(session.poll(), Err(Error::NotStarted));
        assert_eq!(session.queue(&1), Err(Error::NotStarted));
        assert!(session.transmit().is_empty());
        session.start(&1).unwrap();
        assert_eq!(session.state(), State::AwaitingClientId);
    }

    #[test]
    fn every_cut_position_gives_the_same_events() {
        let stream = lab_stream();
        for chunk in 1..=stream.len() {
            let (events, sent) = run(&stream, chunk);
            assert_eq!(events, LAB_EVENTS, "chunk {chunk}");
            assert_eq!(sent, IDENTITY);
        }
    }

    #[test]
    fn identity_is_held_until_the_id_arrives() {
        let mut session: Session = Session::new();
        session.start(&identity()).unwrap();
        assert_eq!(session.state(), State::AwaitingClientId);
        assert_eq!(session.waiting(), Waiting::ClientId);
        assert!(session.transmit().is_empty());
        let mut decoder: Decoder = Decoder::new();
        let buf = session.receive_buffer();
        buf[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
        session.commit(CLIENT_ID.len());
        assert!(matches!(
            session.next_event(&mut decoder),
            Ok(Some(Event::ClientId(id))) if id.as_i64() == Some(54321)
        ));
        assert_eq!(session.state(), State::IdentityQueued);
        assert_eq!(session.transmit(), IDENTITY);
        session.transmitted(10);
        assert_eq!(session.state(), State::IdentityQueued);
        session.transmitted(IDENTITY.len() - 10);
        assert_eq!(session.state(), State::Listening);
        assert_eq!(session.waiting(), Waiting::NextMessage);
    }

    #[test]
    fn str_and_protocol_2_client_ids() {
        let (events, _) = run(CLIENT_ID_STR, 0);
        assert_eq!(events, ["id abc", "closed"]);
        let (events, _) = run(CLIENT_ID_V2, 3);
        assert_eq!(events, ["id 54321", "closed"]);
    }

    #[test]
    fn oversized_and_refused_messages_are_skipped_and_the_next_delivered() {
        let stream = [CLIENT_ID, ACK, &big_message(), EVIL, LIST].concat();
        for chunk in [0, 1, 7, 100, 4096] {
            let (events, _) = run(&stream, chunk);
            assert_eq!(
                events,
                [
                    "id 54321",
                    "message 'Server got the data'",
                    "skipped 5018: larger than the 4096-byte receive buffer",
                    "skipped 29: refused GLOBAL of os.system at byte 0: pickles that import or call code are not decoded",
                    "message [1, 2, 3]",
                    "closed",
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn faults_come_after_every_complete_message() {
        // EOF in the middle of a pickle.
        let stream = [CLIENT_ID, ACK, &LIST[..7]].concat();
        let (events, _) = run(&stream, 0);
        assert_eq!(
            events,
            [
                "id 54321",
                "message 'Server got the data'",
                "error: the server closed the connection in the middle of a message (7 bytes of it received)",
            ]
        );
        // EOF before the id.
        let (events, _) = run(b"", 0);
        assert_eq!(
            events,
            ["error: the server closed the connection before sending a client id"]
        );
        // A byte that is not an opcode.
        let stream = [CLIENT_ID, ACK, b"\xff"].concat();
        let (events, _) = run(&stream, 1);
        assert_eq!(
            events,
            [
                "id 54321",
                "message 'Server got the data'",
                "error: invalid pickle: byte 0xff at offset 63 is not an opcode (message at stream offset 63)",
            ]
        );
        // First message not a client id.
        // A bare str is taken as the id; a list is not an id.
        let (events, _) = run(ACK, 0);
        assert_eq!(events, ["id Server got the data", "closed"]);
        let (events, _) = run(LIST, 0);
        assert_eq!(
            events,
            [
                "error: the server's first message is not a client id: got [1, 2, 3] (a list); \
              a lab server sends {'clientid': id} first (or a bare int or str)"
            ]
        );
    }

    /// Found by the `session_stream` fuzz target: a framing error inside a message that was
    /// being skipped (larger than the receive buffer) reported the offset the buffer had
    /// reached, which depends on the read sizes, instead of where the message began.
    #[test]
    fn framing_error_while_skipping_reports_where_the_message_began() {
        let mut stream = [CLIENT_ID, ACK].concat();
        let start = stream.len();
        // A 200-byte str with no FRAME, so its bytes are skipped, then a byte that is no opcode.
        stream.extend_from_slice(b"\x80\x04X\xc8\x00\x00\x00");
        stream.extend_from_slice(&[b'x'; 200]);
        stream.push(0xff);
        let bad = stream.len() - 1;
        let expected = std::format!(
            "error: invalid pickle: byte 0xff at offset {bad} is not an opcode (message at stream offset {start})"
        );
        for chunk in [1, 5, 63, 64, 100, 0] {
            let mut session: Session<64, 256> = Session::new();
            let mut decoder: Decoder = Decoder::new();
            session.start(&("fuzz",)).unwrap();
            let mut rest = &stream[..];
            let mut last = String::new();
            for _ in 0..10_000 {
                let n = session.transmit().len();
                session.transmitted(n);
                match session.next_event(&mut decoder) {
                    Ok(Some(event)) => last = describe(&event),
                    Ok(None) => {
                        let buf = session.receive_buffer();
                        let n = if chunk == 0 {
                            rest.len()
                        } else {
                            chunk.min(rest.len())
                        };
                        let n = n.min(buf.len());
                        buf[..n].copy_from_slice(&rest[..n]);
                        rest = &rest[n..];
                        session.commit(n);
                    }
                    Err(e) => {
                        last = std::format!("error: {e}");
                        break;
                    }
                }
            }
            assert_eq!(last, expected, "chunk {chunk}");
        }
    }

    /// A FRAME claiming more than its pickle holds is refused on the pickle's own bytes, even
    /// when the next message's bytes are in the buffer (decoded in one pass or framed).
    #[test]
    fn a_frame_reaching_into_the_next_message_is_refused() {
        let over = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00K\x01.";
        let stream = [CLIENT_ID, ACK, over, LIST].concat();
        for chunk in [0, 1, 5, 34, 100] {
            let (events, _) = run(&stream, chunk);
            assert_eq!(
                events,
                [
                    "id 54321",
                    "message 'Server got the data'",
                    "skipped 14: pickle truncated: input ended at byte 14 before STOP",
                    "message [1, 2, 3]",
                    "closed",
                ],
                "chunk {chunk}"
            );
        }
    }

    /// `next_event` with another decoder than `poll_decode` decodes again, correctly.
    #[test]
    fn another_decoder_decodes_again() {
        let mut session: Session = Session::new();
        let (mut a, mut b): (Decoder, Decoder) = (Decoder::new(), Decoder::new());
        session.start(&identity()).unwrap();
        let stream = [CLIENT_ID, LIST].concat();
        session.receive_buffer()[..stream.len()].copy_from_slice(&stream);
        session.commit(stream.len());
        assert!(matches!(
            session.next_event(&mut a),
            Ok(Some(Event::ClientId(_)))
        ));
        assert!(session.poll_decode(&mut a).unwrap());
        match session.next_event(&mut b) {
            Ok(Some(Event::Message(v))) => assert_eq!(v.to_string(), "[1, 2, 3]"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn messages_in_the_same_read_as_the_id_are_delivered() {
        let mut session: Session = Session::new();
        let mut decoder: Decoder = Decoder::new();
        session.start(&identity()).unwrap();
        let stream = [CLIENT_ID, ACK].concat();
        session.receive_buffer()[..stream.len()].copy_from_slice(&stream);
        session.commit(stream.len());
        assert!(matches!(
            session.next_event(&mut decoder),
            Ok(Some(Event::ClientId(_)))
        ));
        // The identity has not gone out yet; the ack is delivered anyway.
        assert_eq!(session.state(), State::IdentityQueued);
        match session.next_event(&mut decoder) {
            Ok(Some(Event::Message(v))) => assert_eq!(v, "Server got the data"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sending_after_the_handshake() {
        let mut session: Session = Session::new();
        let mut decoder: Decoder = Decoder::new();
        session.start(&identity()).unwrap();
        assert_eq!(session.queue("hi"), Err(Error::HandshakeIncomplete));
        session.receive_buffer()[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
        session.commit(CLIENT_ID.len());
        session.next_event(&mut decoder).unwrap();
        session.queue("Server got the data").unwrap();
        assert_eq!(session.transmit(), [IDENTITY, ACK].concat().as_slice());
        let big = [b'x'; 5000];
        let text = core::str::from_utf8(&big).unwrap();
        assert_eq!(
            session.queue(text),
            Err(Error::TransmitBufferTooSmall { capacity: 4096 })
        );
        // Nothing partial was queued.
        assert_eq!(session.transmit(), [IDENTITY, ACK].concat().as_slice());
    }

    #[test]
    fn waiting_tells_idle_from_mid_message() {
        let mut session: Session = Session::new();
        let mut decoder: Decoder = Decoder::new();
        session.start(&identity()).unwrap();
        session.receive_buffer()[..CLIENT_ID.len()].copy_from_slice(CLIENT_ID);
        session.commit(CLIENT_ID.len());
        session.next_event(&mut decoder).unwrap();
        session.transmitted(IDENTITY.len());
        assert_eq!(session.waiting(), Waiting::NextMessage);
        session.receive_buffer()[..3].copy_from_slice(&ACK[..3]);
        session.commit(3);
        assert!(matches!(session.next_event(&mut decoder), Ok(None)));
        assert_eq!(session.waiting(), Waiting::RestOfMessage);
    }

    #[test]
    fn size_of_default_session_is_at_most_8_5_kib() {
        let size = core::mem::size_of::<Session>();
        assert!(size <= 8704, "Session is {size} bytes");
    }
}
