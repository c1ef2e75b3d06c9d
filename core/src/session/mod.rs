//! The lab protocol as a sans-IO state machine: handshake, then listen until the server closes.
//!
//! The session owns fixed receive and transmit buffers and its decoder, and does no I/O. A
//! driver calls [`Session::poll`] for each step: it returns the next [`Event`], or
//! [`Status::Partial`] when more bytes are needed; the driver then reads into
//! [`Session::receive_buffer`] and reports the count with [`Session::commit`] (0: the peer
//! closed). It writes [`Session::transmit`] and reports what went out with
//! [`Session::transmitted`].
//!
//! ```text
//!  NotStarted --start--> AwaitingClientId --{'clientid': id}--> IdentityQueued
//!      --identity written--> Listening --EOF--> Closed
//! ```
//!
//! ```
//! use brine_core::session::{Event, Session, Status};
//!
//! // pickle.dumps({'clientid': 54321}), then pickle.dumps('hi'), in one read.
//! let server = b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.\
//!                \x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00\x8c\x02hi\x94.";
//! let mut session: Session = Session::new();
//! session.start(&("me",)).unwrap();
//! let mut input = &server[..];
//! let (mut id, mut messages) = (None, 0);
//! loop {
//!     match session.poll() {
//!         Ok(Status::Event(Event::ClientId(client_id))) => id = client_id.as_i64(),
//!         Ok(Status::Event(Event::Message(value))) => {
//!             assert_eq!(value, "hi");
//!             messages += 1;
//!         }
//!         Ok(Status::Event(Event::Closed)) => break,
//!         Ok(Status::Event(_)) => {}
//!         Ok(Status::Partial) => {
//!             // A transport would read here; 0 bytes means the peer closed.
//!             let buf = session.receive_buffer();
//!             let n = input.len().min(buf.len());
//!             buf[..n].copy_from_slice(&input[..n]);
//!             input = &input[n..];
//!             session.commit(n);
//!         }
//!         Err(e) => panic!("{e}"),
//!     }
//!     // The identity goes out once the id arrived.
//!     let n = session.transmit().len();
//!     session.transmitted(n);
//! }
//! assert_eq!((id, messages), (Some(54321), 1));
//! ```
//!
//! This file is the state machine; `receive.rs` finds and decodes messages, `send.rs`
//! queues pickles, `event.rs` and `error.rs` are what the session reports.

use core::fmt::{self, Display};

// The session tests send identities (`pickler`) and compare events by repr (`repr`).
#[cfg(all(test, feature = "pickler", feature = "repr"))]
mod batch_tests;
#[cfg(all(test, feature = "pickler", feature = "repr", feature = "dialects"))]
mod dialect_tests;
mod error;
mod event;
mod receive;
mod send;
#[cfg(all(test, feature = "pickler", feature = "repr"))]
mod tests;

pub use crate::handshake::{ClientId, Dialect, Preview, CLIENT_ID_PICKLE_LEN, CLIENT_ID_VALUES};
pub use error::{Error, Limit, Misuse, PeerFault};
pub use event::{Event, SkipReason, Status};
pub use receive::Decode;

pub use crate::framing::Framing;
use crate::handshake::NotAnId;
use crate::pickle::{self, Decoder, Encoding, NodeId, Protocol, ToPickle, Value};
use receive::{message, Ready, Receiver, Source};
use send::Transmitter;

/// What [`Session::find`] found (a copy of the session's state, borrowing nothing).
#[derive(Clone, Copy)]
pub(crate) enum Found {
    /// The `len`-byte message at the head, decoded with root `root`, not yet handed out.
    Message { len: usize, root: NodeId },
    /// Another event is kept, for [`Session::take`].
    Ready,
    /// No event in the bytes received so far.
    Nothing,
}

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
/// default, the lab's `MAX_MEM_ALLOC`) and the decoder `D` that messages are decoded with
/// (the default [`Decoder`], 27 KiB; any `Decoder<VALUES, ITEMS, STACK, MEMO>`). Allocates
/// nothing; performs no I/O.
// `repr(C)`: the state and the receive side's counters at small offsets (Rust's layout put
// them after the buffers, at offsets past 4 KiB that one Thumb-2 load or store cannot hold).
#[repr(C)]
pub struct Session<const RX: usize = 4096, const TX: usize = 4096, D = Decoder> {
    state: State,
    /// The last [`find`](Self::find) returned a message decoded at the head while listening,
    /// and nothing changed since (no state change, nothing kept, framed or reset): the next
    /// `find` tries the head at once, without checking again what allowed it.
    head_clear: bool,
    protocol: Encoding,
    /// The client id's pickle chooses `protocol` ([`Dialect::answer`]).
    #[cfg(feature = "dialects")]
    auto: bool,
    #[cfg(feature = "dialects")]
    greeting: Greeting,
    rx: Receiver<RX>,
    tx: Transmitter<TX>,
    decoder: D,
}

impl<const RX: usize, const TX: usize, D: Decode> Default for Session<RX, TX, D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RX: usize, const TX: usize, D: Decode> Session<RX, TX, D> {
    /// A session that will write protocol 4 (CPython's default). Call [`start`](Self::start)
    /// for each connection. Builds its buffers and decoder in place (their size, on the
    /// caller's stack unless the session is placed in a static or a `Box`).
    pub fn new() -> Self {
        Session {
            rx: Receiver::new(),
            tx: Transmitter::new(),
            decoder: D::empty(),
            state: State::NotStarted,
            head_clear: false,
            protocol: Encoding::new(Protocol::V4),
            #[cfg(feature = "dialects")]
            auto: false,
            #[cfg(feature = "dialects")]
            greeting: Greeting::ClientId,
        }
    }

    /// Whether the server's first message chooses the protocol: never without the
    /// `dialects` feature (a constant, so that path is not linked).
    #[inline(always)]
    fn auto(&self) -> bool {
        #[cfg(feature = "dialects")]
        return self.auto;
        #[cfg(not(feature = "dialects"))]
        false
    }

    /// Who speaks first: the client id, always, without the `dialects` feature.
    #[inline(always)]
    fn greeting(&self) -> Greeting {
        #[cfg(feature = "dialects")]
        return self.greeting;
        #[cfg(not(feature = "dialects"))]
        Greeting::ClientId
    }

    /// How messages are delimited, both ways (call before [`start`](Self::start); the lab's
    /// [`Framing::Stop`] by default).
    ///
    /// Feature `dialects` (on by default).
    #[cfg(feature = "dialects")]
    pub fn set_framing(&mut self, framing: Framing) {
        self.head_clear = false;
        self.rx.set_framing(framing);
        self.tx.set_framing(framing);
    }

    /// Whether messages holding objects of classes brine does not know are delivered with
    /// those objects as inert stubs ([`Object`](crate::pickle::Object)) instead of skipped as
    /// refused (the default). Nothing is imported or run either way (feature `objects`).
    pub fn allow_stubs(&mut self, allow: bool) {
        self.decoder.allow_stubs(allow);
    }

    /// Who speaks first (call before [`start`](Self::start); [`Greeting::ClientId`] by
    /// default). Under auto protocol ([`set_protocol_auto`](Self::set_protocol_auto)),
    /// [`Greeting::Any`]'s first message chooses the protocol as a client id does
    /// ([`Dialect::answer`]); under [`Greeting::None`] there is nothing to read first and
    /// the session writes protocol 4 (Python 3.8-3.13's `pickle.DEFAULT_PROTOCOL`).
    ///
    /// Feature `dialects` (on by default).
    #[cfg(feature = "dialects")]
    pub fn set_greeting(&mut self, greeting: Greeting) {
        self.greeting = greeting;
    }

    /// Sets the protocol of pickles this session writes (the identity and later messages): a
    /// [`Protocol`], or an [`Encoding`] (e.g. `Encoding::python2(Protocol::V2)` for a Python 2
    /// server).
    pub fn set_protocol(&mut self, protocol: impl Into<Encoding>) {
        self.protocol = protocol.into();
        #[cfg(feature = "dialects")]
        {
            self.auto = false;
        }
    }

    /// Lets the server's first message choose the encoding of what this session writes
    /// ([`Dialect::answer`]): the identity is pickled in protocol 4 by [`start`](Self::start)
    /// and pickled again, with the session's decoder, when the id asks for another encoding.
    /// That fails (as [`poll`](Self::poll)'s error) if the identity
    /// holds a set, a bytearray or an int beyond 128 bits, or no longer fits the transmit
    /// buffer.
    ///
    /// Feature `dialects` (on by default).
    #[cfg(feature = "dialects")]
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
        self.head_clear = false;
        self.rx.reset();
        self.state = State::Closed;
        if self.auto() {
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
        if self.auto() {
            self.protocol = Encoding::new(Protocol::V4);
        }
        self.begin();
    }

    /// The first state of a connection: waiting for the server's first message, or (the
    /// client speaks first) sending the identity at once.
    fn begin(&mut self) {
        self.head_clear = false;
        self.state = State::Closed;
        match self.greeting() {
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
    /// with [`poll`](Self::poll).
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

    /// One step: the next event, or [`Status::Partial`] if the bytes received so far hold
    /// none (read more, then call again). A message borrows the session (its receive buffer
    /// and decoder) until the next call, which releases it.
    ///
    /// A complete message at the head of the buffer is decoded in one pass; the framer runs
    /// only for a message that is incomplete, refused or larger than the buffer.
    ///
    /// Fails if the stream is not pickles, if the peer closed before the client id or in the
    /// middle of a pickle, if the first message is larger than the receive buffer or not a
    /// valid client id (or, under auto protocol, the identity cannot be pickled again); the
    /// session is then closed. After [`Event::Closed`] or an error, fails with
    /// [`Misuse::Closed`]; before [`start`](Self::start), with [`Misuse::NotStarted`].
    pub fn poll(&mut self) -> Result<Status<'_>, Error> {
        match self.find()? {
            // A message decoded at the head while listening is handed out at once, not kept
            // as the ready event first.
            Found::Nothing => Ok(Status::Partial),
            found => self.take(found, Status::Event, || Ok(Status::Partial)),
        }
    }

    /// [`poll`](Self::poll) for every message the bytes received so far hold: each message
    /// is handed to `on_message` in stream order (borrowing the session only for that call),
    /// and the first step that is not a message is returned: [`Status::Partial`] (read more,
    /// then call again) or another event ([`Event::ClientId`], [`Event::Greeting`],
    /// [`Event::Skipped`], [`Event::Closed`]; never [`Event::Message`]). The events and
    /// errors are [`poll`](Self::poll)'s, in the same order: calling `poll` until it returns
    /// something other than a message gives the same messages and the same result. Bytes to
    /// [`transmit`](Self::transmit) appear only with an event returned, never between two
    /// messages, so a driver flushes after this call, as after `poll`.
    ///
    /// A message decoded at the head is handed out, and the next one decoded, with no event
    /// built or returned in between (BENCHMARKS.md, "Listen path").
    ///
    /// Fails as [`poll`](Self::poll) does, after every message before the failure was
    /// handed out; never reads, writes or allocates.
    #[cfg_attr(feature = "fast", inline)]
    pub fn poll_messages(
        &mut self,
        mut on_message: impl FnMut(Value<'_>),
    ) -> Result<Status<'_>, Error> {
        loop {
            let (len, root) = match self.find()? {
                Found::Message { len, root } => {
                    // It and every message decoded whole after it, in one loop.
                    let on_message = &mut on_message;
                    self.rx
                        .hand_out_each(&mut self.decoder, (len, root), on_message);
                    // The head it stopped at is not a whole message: `find`'s full path next,
                    // without trying it again by the shortcut first.
                    self.head_clear = false;
                    continue;
                }
                Found::Nothing => return Ok(Status::Partial),
                Found::Ready => match self.take_message() {
                    Some((len, Ok(root))) => (len, root),
                    Some((len, Err(error))) => {
                        return Ok(Status::Event(Event::Skipped {
                            len,
                            reason: SkipReason::Refused(error),
                        }))
                    }
                    None => return self.take_other(Status::Event, || Ok(Status::Partial)),
                },
            };
            let (_, bytes) = self.rx.hand_out(len);
            on_message(self.decoder.view(bytes, root));
        }
    }

    /// Finds (and, when complete, decodes) the next event without handing it out. A message
    /// decoded at the head while listening is returned as [`Found::Message`] (a copy: no
    /// borrow, so a driver's read loop can return it), to hand out with [`take`](Self::take)
    /// or keep with [`keep`](Self::keep); any other event is kept, for `take`.
    #[cfg_attr(feature = "fast", inline(always))]
    pub(crate) fn find(&mut self) -> Result<Found, Error> {
        // With `fast` only (speed; no lab firmware has it, so its flash holds one path).
        if cfg!(feature = "fast") && self.head_clear {
            if let Some((len, root)) = self.rx.decode_clear_head(&mut self.decoder) {
                return Ok(Found::Message { len, root });
            }
            self.head_clear = false;
        }
        if self.rx.has_ready() {
            return Ok(Found::Ready);
        }
        self.check_open()?;
        // Without `fast` (flash), every message is framed first and then decoded (two
        // passes, one path): no decoding at the head, no FRAME wait, no message kept decoded.
        if !cfg!(feature = "fast") {
            return Ok(if self.frame()? {
                Found::Ready
            } else {
                Found::Nothing
            });
        }
        if let Some((len, root)) = self.rx.decode_head(&mut self.decoder) {
            if self.state != State::AwaitingClientId {
                self.head_clear = true;
                return Ok(Found::Message { len, root });
            }
            self.rx.decoded(len, root);
            return Ok(Found::Ready);
        }
        Ok(if self.frame()? {
            Found::Ready
        } else {
            Found::Nothing
        })
    }

    /// Keeps a message [`find`](Self::find) returned as the event ready, for
    /// [`take`](Self::take).
    pub(crate) fn keep(&mut self, len: usize, root: NodeId) {
        self.head_clear = false;
        self.rx.decoded(len, root);
    }

    /// Fails unless the session was started and is not closed.
    fn check_open(&self) -> Result<(), Error> {
        match self.state {
            State::NotStarted => Err(Misuse::NotStarted.into()),
            State::Closed => Err(Misuse::Closed.into()),
            _ => Ok(()),
        }
    }

    /// Frames the received bytes (see [`Receiver::frame`]); true if an event is ready.
    fn frame(&mut self) -> Result<bool, Error> {
        let first = self.state == State::AwaitingClientId;
        self.rx.frame(first).map_err(|e| self.fail(e))
    }

    /// The `len`-byte message at the head, decoded with root `root`, as the event: a view of
    /// the decoder's nodes, built in the caller's result by `event` (a `Status` returned and
    /// then converted is copied whole: 144 bytes).
    #[cfg_attr(feature = "fast", inline(always))]
    fn decoded_message<'s, R>(
        &'s mut self,
        len: usize,
        root: NodeId,
        event: impl FnOnce(Event<'s>) -> R,
    ) -> R {
        let (_, bytes) = self.rx.hand_out(len);
        event(Event::Message(self.decoder.view(bytes, root)))
    }

    /// Hands out what [`find`](Self::find) found as `event(...)`: a message it decoded, or
    /// the event kept; `none()` if there is none. The caller's result type, built in place
    /// (a driver's `Result<Event, _>` converted from a returned `Status` was two 144-byte
    /// copies per event).
    #[cfg_attr(feature = "fast", inline)]
    pub(crate) fn take<'s, R, X: From<Error>>(
        &'s mut self,
        found: Found,
        event: impl FnOnce(Event<'s>) -> R,
        none: impl FnOnce() -> Result<R, X>,
    ) -> Result<R, X> {
        // The common cases, kept small enough to inline into the driver: a message decoded
        // at the head while listening, handed out now or kept by `wait_event`.
        let decoded = match found {
            Found::Message { len, root } if cfg!(feature = "fast") => Some((len, root)),
            _ if cfg!(feature = "fast") && self.state != State::AwaitingClientId => {
                self.rx.take_decoded()
            }
            _ => None,
        };
        if let Some((len, root)) = decoded {
            return Ok(self.decoded_message(len, root, event));
        }
        self.take_other(event, none)
    }

    /// [`take`](Self::take) for every other event.
    #[inline(never)]
    fn take_other<'s, R, X: From<Error>>(
        &'s mut self,
        event: impl FnOnce(Event<'s>) -> R,
        none: impl FnOnce() -> Result<R, X>,
    ) -> Result<R, X> {
        if let Some((len, message)) = self.take_message() {
            return Ok(match message {
                Ok(root) => self.decoded_message(len, root, event),
                Err(error) => event(Event::Skipped {
                    len,
                    reason: SkipReason::Refused(error),
                }),
            });
        }
        let (len, source) = match self.rx.take() {
            Ready::Nothing => return none(),
            Ready::Closed => {
                self.set_state(State::Closed);
                return Ok(event(Event::Closed));
            }
            Ready::Skipped { len } => {
                return Ok(event(Event::Skipped {
                    len,
                    reason: SkipReason::TooLarge { limit: RX },
                }))
            }
            // Without `fast` nothing is decoded at the head (see `find`); were it, its bytes
            // decode again to the same value.
            Ready::Decoded { len, root } if cfg!(feature = "fast") => (len, Source::Root(root)),
            Ready::Pickle { len } | Ready::Decoded { len, .. } => (len, Source::Exact),
        };
        // The server's first message (`take_message` took any later one).
        debug_assert!(self.state == State::AwaitingClientId);
        if self.greeting() == Greeting::ClientId {
            let bare = self.client_id(len, source)?;
            // Built in the event, once (see `ClientId::check_first_message`).
            let (_, bytes) = self.rx.hand_out(len);
            return Ok(event(Event::ClientId(ClientId::kept(bytes, bare))));
        }
        // Any first message: its pickle chooses the protocol under auto, as a client id's
        // does; the identity is released after it.
        if self.auto() {
            let (_, bytes) = self.rx.hand_out(len);
            let answer = Dialect::of(bytes).answer();
            self.answer_in(answer)?;
        }
        self.identity_released();
        let (_, bytes) = self.rx.hand_out(len);
        Ok(event(match message(bytes, source, &mut self.decoder) {
            Ok(value) => Event::Greeting(value),
            Err(error) => Event::Skipped {
                len,
                reason: SkipReason::Refused(error),
            },
        }))
    }

    /// The event kept, if it is a message after the server's first: taken (then nothing is
    /// kept) and, if the framer found it, decoded now: its length and root, or its length
    /// and the decoder's refusal (the message is then skipped).
    fn take_message(&mut self) -> Option<(usize, Result<NodeId, pickle::Error>)> {
        if self.state == State::AwaitingClientId {
            return None;
        }
        match self.rx.ready() {
            Ready::Decoded { len, root } if cfg!(feature = "fast") => {
                self.rx.take();
                Some((len, Ok(root)))
            }
            Ready::Pickle { len } | Ready::Decoded { len, .. } => {
                self.rx.take();
                let (_, bytes) = self.rx.hand_out(len);
                Some((len, self.decoder.decode_root(bytes)))
            }
            _ => None,
        }
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

    /// True if [`transmit`](Self::transmit) is not empty (checked by the drivers before each
    /// step, without making the slice).
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        self.state != State::AwaitingClientId && self.tx.has_pending()
    }

    /// Reports that `n` bytes of [`transmit`](Self::transmit) were written.
    pub fn transmitted(&mut self, n: usize) {
        self.tx.transmitted(n);
        if self.state == State::IdentityQueued && self.tx.identity_sent() {
            self.set_state(State::Listening);
        }
    }

    // ---- the handshake ----

    /// Checks the client id in the first message, `len` bytes at the head read as `source`
    /// (whether it is bare: [`ClientId::check_first_message`]); the identity is then
    /// released (pickled again first under auto).
    fn client_id(&mut self, len: usize, source: Source) -> Result<bool, Error> {
        let (offset, bytes) = self.rx.hand_out(len);
        let checked = match message(bytes, source, &mut self.decoder) {
            Ok(value) => {
                let by_id_decoder = <D as receive::sealed::Sealed>::AS_ID_DECODER;
                ClientId::check_first_message(bytes, &value, by_id_decoder)
                    .map_err(|e| not_an_id(e, &value, len))
            }
            Err(error) => Err(PeerFault::InvalidPickle {
                stream_offset: offset,
                error,
            }
            .into()),
        };
        let bare = checked.map_err(|e| self.fail(e))?;
        if self.auto() {
            let (_, bytes) = self.rx.hand_out(len);
            let answer = Dialect::of(bytes).answer();
            self.answer_in(answer)?;
        }
        self.identity_released();
        Ok(bare)
    }

    /// Under auto protocol: writes `answer` from now on, the identity still held back
    /// pickled again in it. Fails (closing the session) if the identity cannot be.
    fn answer_in(&mut self, answer: Encoding) -> Result<(), Error> {
        if answer != self.protocol {
            self.protocol = answer;
            if !self.tx.identity_sent() {
                let repickled = self.tx.repickle_identity(answer, &mut self.decoder);
                repickled.map_err(|e| self.fail(e))?;
            }
        }
        Ok(())
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
            self.head_clear = false;
            log_debug!("session: {} -> {}", self.state, state);
            self.state = state;
        }
    }
}

/// The error for a first message of `len` bytes, `value`, that gives no client id, with a
/// [`Preview`] of the value. Out of line with `repr` (a rare path that formats the value);
/// without it the preview is the value's type only, and inline is smaller.
#[cfg_attr(feature = "repr", inline(never))]
fn not_an_id(e: NotAnId, value: &Value<'_>, len: usize) -> Error {
    let first = Preview::of(value);
    match e {
        NotAnId::Shape => PeerFault::NotAClientId { first }.into(),
        NotAnId::TooLarge => Limit::ClientIdTooLarge { first, len }.into(),
    }
}
