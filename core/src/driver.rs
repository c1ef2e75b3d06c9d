//! What the blocking and the async client share: the [`Client`] type, its [`Error`], the
//! [`BeforeRead`] hook and the small session's aliases. The I/O loops are in
//! [`blocking`](crate::blocking) and `asynch` (feature `async`), and differ by `.await` only.

use core::marker::PhantomData;

use embedded_io::{ErrorKind, ErrorType};

use crate::pickle::{Decoder, Encoding};
use crate::session::{self, Decode, Event, Found, Misuse, Session, State, Status, Waiting};

/// A client error: the transport's own error (kept typed) or the session's.
#[derive(Debug, PartialEq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The transport failed.
    Transport(E),
    /// The transport accepted no bytes (`write` returned `Ok(0)`).
    WriteZero,
    /// The protocol failed (see [`session::Error`]).
    Session(session::Error),
}

impl<E> From<session::Error> for Error<E> {
    fn from(e: session::Error) -> Self {
        Error::Session(e)
    }
}

impl<E: core::fmt::Display> core::fmt::Display for Error<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Transport(e) => write!(f, "transport error: {e}"),
            Error::WriteZero => f.write_str("the connection accepted no more bytes"),
            Error::Session(e) => core::fmt::Display::fmt(e, f),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for Error<E> {}

#[cfg(feature = "defmt")]
impl<E: defmt::Format> defmt::Format for Error<E> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::Transport(e) => defmt::write!(f, "Transport({})", e),
            Error::WriteZero => defmt::write!(f, "WriteZero"),
            Error::Session(e) => defmt::write!(f, "Session({})", e),
        }
    }
}

/// Called before every read with what the session waits for, so a transport can bound the
/// wait (core has no clock): e.g. a read timeout for [`Waiting::ClientId`] and
/// [`Waiting::RestOfMessage`], none for [`Waiting::NextMessage`].
pub trait BeforeRead<T: ErrorType> {
    /// Prepares `transport` for a read while the session is `waiting`.
    ///
    /// # Errors
    ///
    /// The transport's error, which the client returns as [`Error::Transport`].
    fn before_read(&mut self, transport: &mut T, waiting: Waiting) -> Result<(), T::Error>;

    /// Called by the clients' `run` before a read, once for the events it handed out since
    /// the previous read (at least one), so an idle clock can restart; `next_event` never
    /// calls it (its caller reports each event it takes). Does nothing by default.
    fn events_arrived(&mut self) {}
}

/// No preparation: reads block as the transport does.
impl<T: ErrorType> BeforeRead<T> for () {
    fn before_read(&mut self, _: &mut T, _: Waiting) -> Result<(), T::Error> {
        Ok(())
    }
}

impl<T: ErrorType, F: FnMut(&mut T, Waiting) -> Result<(), T::Error>> BeforeRead<T> for F {
    fn before_read(&mut self, transport: &mut T, waiting: Waiting) -> Result<(), T::Error> {
        self(transport, waiting)
    }
}

/// A decoder for small messages: 64 values, 64 items, 32 open containers, 64 memo entries
/// (about 0.8 KiB instead of the default's 27 KiB).
pub type SmallDecoder = Decoder<64, 64, 32, 64>;

/// A session for small messages: 1 KiB to receive, 512 bytes to send, a [`SmallDecoder`]
/// (3.2 KiB in all on x86_64).
pub type SmallSession = Session<1024, 512, SmallDecoder>;

/// Marks a [`Client`] driven by blocking `embedded-io` calls.
#[derive(Debug)]
pub enum Blocking {}

/// Marks a [`Client`] driven by `embedded-io-async` calls.
#[derive(Debug)]
pub enum Async {}

/// The lab client: a transport `T`, a read hook `H` (see [`BeforeRead`]) and its session `S`
/// (a [`Session`], with its buffers and decoder), all owned; `M` is [`Blocking`] or
/// [`Async`]. Allocates nothing.
///
/// Name it through [`blocking::Client`](crate::blocking::Client) or `asynch::Client`,
/// `Client<T, H = (), S = Session>`, whose default is a [`Session`] with 4 KiB buffers and
/// the default [`Decoder`] (36 KiB in all; 55 KiB with the `alloc` feature's 32-bit arena
/// ids), or their `SmallClient` aliases ([`SmallSession`]: 3,248 bytes with a std transport;
/// 4,208 with `alloc`). Other sizes are chosen by type:
/// `Client<T, (), Session<2048, 512, Decoder<128, 256, 32, 64>>>`. A message the session has
/// no room for, or the decoder no capacity for, is skipped and reported (`Event::Skipped`),
/// not fatal.
pub struct Client<T, H, S, M> {
    pub(crate) transport: T,
    pub(crate) before_read: H,
    pub(crate) session: S,
    mode: PhantomData<M>,
}

impl<T: ErrorType, M> Client<T, (), Session, M> {
    /// A client over a connected transport, with 4096-byte buffers and the default decoder
    /// (36 KiB in all, built in place), writing protocol 4.
    pub fn new(transport: T) -> Self {
        Client::with_storage(transport, ())
    }
}

impl<T: ErrorType, H: BeforeRead<T>, M> Client<T, H, Session, M> {
    /// [`Client::new`] calling `before_read` before every read (to set timeouts).
    pub fn with_before_read(transport: T, before_read: H) -> Self {
        Client::with_storage(transport, before_read)
    }
}

impl<T, H, const RX: usize, const TX: usize, D: Decode, M> Client<T, H, Session<RX, TX, D>, M> {
    /// A client over a connected `transport` with the session named in its type, calling
    /// `before_read` before every read. Builds the session (buffers and decoder) in place
    /// (its size, on the caller's stack unless the client is placed in a static or a `Box`).
    pub fn with_storage(transport: T, before_read: H) -> Self {
        Client {
            transport,
            before_read,
            session: Session::new(),
            mode: PhantomData,
        }
    }

    /// Sets the protocol of the pickles this client writes (call before the handshake): a
    /// [`Protocol`](crate::pickle::Protocol) or an [`Encoding`].
    pub fn set_protocol(&mut self, protocol: impl Into<Encoding>) {
        self.session.set_protocol(protocol);
    }

    /// Answers in the protocol the server's client id asks for (see
    /// [`Session::set_protocol_auto`]; call before the handshake).
    ///
    /// Feature `dialects` (on by default).
    #[cfg(feature = "dialects")]
    pub fn set_protocol_auto(&mut self) {
        self.session.set_protocol_auto();
    }

    /// How messages are delimited, both ways (call before the handshake; see
    /// [`Session::set_framing`]).
    ///
    /// Feature `dialects` (on by default).
    #[cfg(feature = "dialects")]
    pub fn set_framing(&mut self, framing: crate::framing::Framing) {
        self.session.set_framing(framing);
    }

    /// Who speaks first (call before the handshake; see [`Session::set_greeting`]). With
    /// anything but [`Greeting::ClientId`](crate::session::Greeting::ClientId), begin with
    /// `begin` instead of `handshake`.
    ///
    /// Feature `dialects` (on by default).
    #[cfg(feature = "dialects")]
    pub fn set_greeting(&mut self, greeting: crate::session::Greeting) {
        self.session.set_greeting(greeting);
    }

    /// Objects of unknown classes as inert stubs (see [`Session::allow_stubs`]).
    pub fn allow_stubs(&mut self, allow: bool) {
        self.session.allow_stubs(allow);
    }

    /// The session (state, protocol, what it waits for).
    pub fn session(&self) -> &Session<RX, TX, D> {
        &self.session
    }

    /// The session's state.
    pub fn state(&self) -> State {
        self.session.state()
    }

    /// What the session waits for (see [`Session::waiting`]).
    pub fn waiting(&self) -> Waiting {
        self.session.waiting()
    }

    /// The read hook.
    pub fn before_read(&self) -> &H {
        &self.before_read
    }

    /// The read hook, mutably (e.g. to tell a timeout hook that an event arrived).
    pub fn before_read_mut(&mut self) -> &mut H {
        &mut self.before_read
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably (e.g. to set a read timeout from [`Session::waiting`]).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// The event the read loop found (`Session::find`): a message decoded at the head,
    /// handed out at once, or the event the session keeps. Built in place in the returned
    /// `Result` (see `Session::take`).
    #[cfg_attr(feature = "fast", inline)]
    pub(crate) fn found_event<E>(&mut self, found: Found) -> Result<Event<'_>, Error<E>> {
        // Not after `find` said nothing; closed is the answer a closed session gives.
        let none = || Err(Error::Session(Misuse::Closed.into()));
        self.session.take(found, |event| event, none)
    }

    /// Keeps what the read loop found for the next `next_event` (`wait_event` returns
    /// without handing it out).
    pub(crate) fn keep_found(&mut self, found: Found) {
        if let Found::Message { len, root } = found {
            self.session.keep(len, root);
        }
    }
}

/// What a client's read loop does next, as [`Client::wait_step`] and [`Client::run_step`]
/// say: the I/O (with `.await` in the async client), then the next step, or its result.
pub(crate) enum Io<R> {
    /// Write what the session has queued (`flush`).
    Flush,
    /// Read once into the session (`read`).
    Read,
    /// Done: what `wait` found; for `run`, the server closed (the last event passed was
    /// [`Event::Closed`]).
    Done(R),
}

impl<T: ErrorType, H: BeforeRead<T>, const RX: usize, const TX: usize, D: Decode, M>
    Client<T, H, Session<RX, TX, D>, M>
{
    /// The work of `wait` (blocking and async, behind `next_event` and `wait_event`) between
    /// two I/O calls: what the session found (`Session::find`), once nothing is queued to
    /// write. Says which I/O comes next.
    #[cfg_attr(feature = "fast", inline)]
    pub(crate) fn wait_step(&mut self) -> Result<Io<Found>, Error<T::Error>> {
        // Checked here, inline: a call to `flush` per event cost ~29 instructions.
        if self.session.has_pending() {
            return Ok(Io::Flush);
        }
        Ok(match self.session.find()? {
            Found::Nothing => Io::Read,
            found => Io::Done(found),
        })
    }

    /// The work of `run` (blocking and async) between two I/O calls: while nothing is
    /// queued to write, every complete message to `on_event` ([`Session::poll_messages`]),
    /// then any other event (a client id may release the identity: checked again); when
    /// the session needs bytes, the [`BeforeRead`] hook's `events_arrived` once for the
    /// events passed since the last read (`arrived`). Says which I/O comes next.
    pub(crate) fn run_step(
        &mut self,
        arrived: &mut bool,
        on_event: &mut impl FnMut(Event<'_>),
    ) -> Result<Io<()>, Error<T::Error>> {
        loop {
            if self.session.has_pending() {
                return Ok(Io::Flush);
            }
            let status = self.session.poll_messages(|value| {
                *arrived = true;
                on_event(Event::Message(value));
            })?;
            let Status::Event(event) = status else {
                if core::mem::take(arrived) {
                    self.before_read.events_arrived();
                }
                return Ok(Io::Read);
            };
            // Not a message: back to the flush check (a client id releases the identity).
            let closed = matches!(event, Event::Closed);
            on_event(event);
            if closed {
                return Ok(Io::Done(()));
            }
            *arrived = true;
        }
    }
}

/// What a completed read means for the loop: `Some(n)` to commit, `None` to retry
/// (`Interrupted`).
pub(crate) fn read_outcome<E: embedded_io::Error>(
    result: Result<usize, E>,
) -> Result<Option<usize>, Error<E>> {
    match result {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(Error::Transport(e)),
    }
}

/// What a completed write means for the loop: `Some(n)` bytes went out, `None` to retry
/// (`Interrupted`); `Ok(0)` is [`Error::WriteZero`].
pub(crate) fn write_outcome<E: embedded_io::Error>(
    result: Result<usize, E>,
) -> Result<Option<usize>, Error<E>> {
    match result {
        Ok(0) => Err(Error::WriteZero),
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(Error::Transport(e)),
    }
}
