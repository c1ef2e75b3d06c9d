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
//!
//! This file is the state machine; `receive.rs` finds and decodes messages, `send.rs`
//! queues pickles, `event.rs` and `error.rs` are what the session reports.

use core::fmt::{self, Display};

#[cfg(test)]
mod dialect_tests;
mod error;
mod event;
mod receive;
mod send;
#[cfg(test)]
mod tests;

pub use crate::handshake::{ClientId, Dialect, Preview, CLIENT_ID_PICKLE_LEN, CLIENT_ID_VALUES};
pub use error::{Error, Limit, Misuse, PeerFault};
pub use event::{Event, SkipReason};

pub use crate::framing::Framing;
use crate::handshake::NotAnId;
use crate::pickle::{Decoder, Encoding, Protocol, ToPickle};
use receive::{message, Ready, Receiver, Source};
use send::Transmitter;

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

/// Who speaks first, and what the server's first message is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Greeting {
    /// The lab's: the server speaks first with `{'clientid': id}` (or a bare int or str),
    /// reported as [`Event::ClientId`]; anything else is an error.
    #[default]
    ClientId,
    /// The server speaks first with any message, reported as [`Event::Greeting`].
    Any,
    /// The client speaks first: the identity goes out at once, and every server message is
    /// an [`Event::Message`].
    None,
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

/// The client side of the lab protocol, with `RX`- and `TX`-byte buffers (4096 each by
/// default, the lab's `MAX_MEM_ALLOC`). Allocates nothing; performs no I/O.
pub struct Session<const RX: usize = 4096, const TX: usize = 4096> {
    rx: Receiver<RX>,
    tx: Transmitter<TX>,
    state: State,
    protocol: Encoding,
    /// The client id's pickle chooses `protocol` ([`Dialect::answer`]).
    auto: bool,
    greeting: Greeting,
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
            rx: Receiver::new(),
            tx: Transmitter::new(),
            state: State::NotStarted,
            protocol: Encoding::new(Protocol::V4),
            auto: false,
            greeting: Greeting::ClientId,
        }
    }

    /// How messages are delimited, both ways (call before [`start`](Self::start); the lab's
    /// [`Framing::Stop`] by default).
    pub fn set_framing(&mut self, framing: Framing) {
        self.rx.set_framing(framing);
        self.tx.set_framing(framing);
    }

    /// Who speaks first (call before [`start`](Self::start); [`Greeting::ClientId`] by
    /// default). Under [`Greeting::Any`] and [`Greeting::None`], auto protocol
    /// ([`set_protocol_auto`](Self::set_protocol_auto)) writes protocol 4.
    pub fn set_greeting(&mut self, greeting: Greeting) {
        self.greeting = greeting;
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
    /// beforehand, [`Pickled`](crate::pickle::Pickled)) into the transmit buffer, held back
    /// until the server's client id arrives.
    ///
    /// Fails if the identity does not fit the transmit buffer or cannot be pickled.
    pub fn start<T: ToPickle + ?Sized>(&mut self, identity: &T) -> Result<(), Error> {
        self.rx.reset();
        self.state = State::Closed;
        if self.auto {
            self.protocol = Encoding::new(Protocol::V4);
        }
        self.tx.start(identity, self.protocol)?;
        self.begin();
        Ok(())
    }

    /// Begins a connection as [`start`](Self::start) does, with no identity to send: the
    /// session only listens (and sends what is [`queue`](Self::queue)d).
    pub fn start_without_identity(&mut self) {
        self.rx.reset();
        self.tx.clear();
        if self.auto {
            self.protocol = Encoding::new(Protocol::V4);
        }
        self.begin();
    }

    /// The first state of a connection: waiting for the server's first message, or (the
    /// client speaks first) sending the identity at once.
    fn begin(&mut self) {
        self.state = State::Closed;
        match self.greeting {
            Greeting::None if self.tx.identity_sent() => self.set_state(State::Listening),
            Greeting::None => self.set_state(State::IdentityQueued),
            _ => self.set_state(State::AwaitingClientId),
        }
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
            _ if self.rx.in_message() => Waiting::RestOfMessage,
            _ => Waiting::NextMessage,
        }
    }

    // ---- input ----

    /// Free space to read received bytes into; report the count with
    /// [`commit`](Self::commit). Empty only while a complete message is waiting to be taken
    /// with [`next_event`](Self::next_event).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        self.rx.space()
    }

    /// Reports `n` bytes read into [`receive_buffer`](Self::receive_buffer); 0 means the
    /// peer closed the connection.
    pub fn commit(&mut self, n: usize) {
        self.rx.commit(n);
    }

    /// True if the peer closed the connection (a read returned 0).
    pub fn peer_closed(&self) -> bool {
        self.rx.peer_closed()
    }

    /// Frames the received bytes; true if [`next_event`](Self::next_event) has an event to
    /// return. Cheap and idempotent: drivers call it to decide whether to read.
    ///
    /// Fails if the stream is not pickles, if the peer closed before the client id or in the
    /// middle of a pickle, or if the first message is larger than the receive buffer; after
    /// [`Event::Closed`] or an error, fails with [`Misuse::Closed`].
    pub fn poll(&mut self) -> Result<bool, Error> {
        if self.rx.has_ready() {
            return Ok(true);
        }
        match self.state {
            State::NotStarted => return Err(Misuse::NotStarted.into()),
            State::Closed => return Err(Misuse::Closed.into()),
            _ => {}
        }
        let first = self.state == State::AwaitingClientId;
        self.rx.frame(first).map_err(|e| self.fail(e))
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
        if self.state != State::Closed && self.rx.decode_head(decoder) {
            return Ok(true);
        }
        self.poll()
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
        let (len, source) = match self.rx.take() {
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
        let greeting = self.state == State::AwaitingClientId;
        if greeting && self.greeting == Greeting::ClientId {
            let id = self.client_id(len, source, decoder);
            return id.map(|id| Some(Event::ClientId(id)));
        }
        if greeting {
            // Any first message: the identity is released after it.
            self.identity_released();
        }
        let (_, bytes) = self.rx.hand_out(len);
        Ok(Some(match message(bytes, source, decoder) {
            Ok(value) if greeting => Event::Greeting(value),
            Ok(value) => Event::Message(value),
            Err(error) => Event::Skipped {
                len,
                reason: SkipReason::Refused(error),
            },
        }))
    }

    // ---- output ----

    /// Pickles `message` (protocol as set) after any bytes still queued. Allowed once the
    /// client id arrived.
    ///
    /// Fails if the message does not fit the free transmit space or cannot be pickled; then
    /// nothing is queued.
    pub fn queue<T: ToPickle + ?Sized>(&mut self, message: &T) -> Result<(), Error> {
        match self.state {
            State::AwaitingClientId => return Err(Misuse::HandshakeIncomplete.into()),
            State::NotStarted => return Err(Misuse::NotStarted.into()),
            State::Closed => return Err(Misuse::Closed.into()),
            _ => {}
        }
        self.tx.queue(message, self.protocol)
    }

    /// Bytes to write now (empty while the identity is held back or nothing is queued).
    /// Write them, in as few writes as possible, and report with
    /// [`transmitted`](Self::transmitted).
    pub fn transmit(&self) -> &[u8] {
        if self.state == State::AwaitingClientId {
            return &[];
        }
        self.tx.pending()
    }

    /// Reports that `n` bytes of [`transmit`](Self::transmit) were written.
    pub fn transmitted(&mut self, n: usize) {
        self.tx.transmitted(n);
        if self.state == State::IdentityQueued && self.tx.identity_sent() {
            self.set_state(State::Listening);
        }
    }

    // ---- the handshake ----

    /// The client id in the first message, `len` bytes at the head read as `source`; the
    /// identity is then released (pickled again first under auto).
    fn client_id<const V: usize, const I: usize, const S: usize, const M: usize>(
        &mut self,
        len: usize,
        source: Source,
        decoder: &mut Decoder<V, I, S, M>,
    ) -> Result<ClientId, Error> {
        let (offset, bytes) = self.rx.hand_out(len);
        let id = match message(bytes, source, decoder) {
            Ok(value) => ClientId::from_first_message(bytes, &value).map_err(|e| match e {
                NotAnId::Shape => Error::from(PeerFault::NotAClientId {
                    first: Preview::of(&value),
                }),
                NotAnId::TooLarge => Error::from(Limit::ClientIdTooLarge {
                    first: Preview::of(&value),
                    len,
                }),
            }),
            Err(error) => Err(PeerFault::InvalidPickle {
                stream_offset: offset,
                error,
            }
            .into()),
        };
        let id = id.map_err(|e| self.fail(e))?;
        if self.auto {
            let answer = id.dialect().answer();
            if answer != self.protocol {
                self.protocol = answer;
                let repickled = self.tx.repickle_identity(answer, decoder);
                repickled.map_err(|e| self.fail(e))?;
            }
        }
        self.identity_released();
        Ok(id)
    }

    /// The server's first message arrived: the identity (if any) may go out.
    fn identity_released(&mut self) {
        self.set_state(State::IdentityQueued);
        if self.tx.identity_sent() {
            self.set_state(State::Listening);
        }
    }

    fn fail(&mut self, error: Error) -> Error {
        log_warn!("session failed: {}", error);
        self.set_state(State::Closed);
        self.rx.clear();
        error
    }

    fn set_state(&mut self, state: State) {
        if self.state != state {
            log_debug!("session: {} -> {}", self.state, state);
            self.state = state;
        }
    }
}
