//! [`Client`]: the blocking lab client over a std TCP stream, owning its [`Timeouts`].

use std::io;

use brine_core::blocking;
use brine_core::driver::SmallSession;
use brine_core::pickle::Encoding;
use brine_core::session::{ClientId, Decode, Event, Session};
use serde::Serialize;

use super::timeouts::client_error;
use super::{connect, ConnectOptions, Error, Timeouts, Transport};

/// The blocking lab client over TCP: the core's [`blocking::Client`] with [`Timeouts`] as its
/// read hook, reporting every event to the idle clock, with errors as [`Error`]s (a wait that
/// ran out is [`Error::Timeout`] or [`Error::Idle`]). The session (buffers and decoder) is
/// chosen by type as for the core's client (`S`); [`SmallClient`] is the small one.
///
/// ```no_run
/// use brine_adapters::tcp::{Client, ConnectOptions, Error, Timeouts};
/// use brine_core::{session::Event, Identity};
/// use std::time::Duration;
///
/// # fn main() -> Result<(), Error> {
/// let timeouts = Timeouts::new(Some(Duration::from_secs(5)));
/// let mut client = Client::connect("127.0.0.1:12000", &ConnectOptions::new(), timeouts)?;
/// let me = Identity::<4>::new().with("name", "Jose Ortiz").unwrap();
/// println!("Assigned client id by server: {}", client.handshake(&me)?);
/// loop {
///     match client.next_event()? {
///         Event::Message(value) => println!("{value}"),
///         Event::Closed => return Ok(()),
///         _ => {}
///     }
/// }
/// # }
/// ```
pub struct Client<S = Session> {
    inner: blocking::Client<Transport, Timeouts, S>,
}

/// A [`Client`] with the core's small session, its buffers and decoder (about 3.3 KiB).
pub type SmallClient = Client<SmallSession>;

impl Client {
    /// Connects to `addr` (see [`connect`]) and makes a client with 4 KiB buffers and the
    /// default decoder (36 KiB, on the caller's stack).
    ///
    /// # Errors
    ///
    /// As [`connect`].
    pub fn connect(
        addr: &str,
        options: &ConnectOptions,
        timeouts: Timeouts,
    ) -> Result<Self, Error> {
        connect(addr, options).map(|transport| Client::new(transport, timeouts))
    }

    /// A client over a connected transport, with 4 KiB buffers and the default decoder.
    pub fn new(transport: Transport, timeouts: Timeouts) -> Self {
        Client::with_storage(transport, timeouts)
    }
}

impl<const RX: usize, const TX: usize, D: Decode> Client<Session<RX, TX, D>> {
    /// A client over a connected transport with the session (buffers and decoder) named in
    /// its type.
    pub fn with_storage(transport: Transport, timeouts: Timeouts) -> Self {
        Client {
            inner: blocking::Client::with_storage(transport, timeouts),
        }
    }

    /// Sets the protocol (or [`Encoding`]) of the pickles this client writes.
    pub fn set_protocol(&mut self, protocol: impl Into<Encoding>) {
        self.inner.set_protocol(protocol);
    }

    /// Answers in the encoding the server's client id asks for (see the core's
    /// `Session::set_protocol_auto`).
    pub fn set_protocol_auto(&mut self) {
        self.inner.set_protocol_auto();
    }

    /// How messages are delimited, both ways (call before the handshake; see the core's
    /// `Session::set_framing`).
    pub fn set_framing(&mut self, framing: brine_core::framing::Framing) {
        self.inner.set_framing(framing);
    }

    /// Objects of classes brine does not know as inert stubs instead of refused (see the
    /// core's `Session::allow_stubs`).
    pub fn allow_stubs(&mut self, allow: bool) {
        self.inner.allow_stubs(allow);
    }

    /// Who speaks first (call before beginning; see the core's `Session::set_greeting`).
    /// With anything but `Greeting::ClientId`, begin with [`begin`](Self::begin).
    pub fn set_greeting(&mut self, greeting: brine_core::session::Greeting) {
        self.inner.set_greeting(greeting);
    }

    /// Begins with any greeting: queues `identity` (sent at once under `Greeting::None`,
    /// else after the server's first message) and returns; the first message comes from
    /// [`next_event`](Self::next_event).
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for an identity that cannot be pickled into the transmit buffer;
    /// [`Error::Io`] when the connection fails.
    pub fn begin<I: Serialize + ?Sized>(&mut self, identity: &I) -> Result<(), Error> {
        self.inner.begin(identity).map_err(client_error)
    }

    /// [`begin`](Self::begin) with no identity to send.
    pub fn begin_without_identity(&mut self) {
        self.inner.begin_without_identity();
    }

    /// Waits for the client id (at most `reply`), then sends `identity`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the id takes longer than `reply`; [`Error::Protocol`] when the
    /// server closes or sends something else first; [`Error::Io`] when the connection fails.
    pub fn handshake<I: Serialize + ?Sized>(&mut self, identity: &I) -> Result<ClientId, Error> {
        match self.inner.handshake(identity) {
            Ok(id) => {
                self.inner.before_read_mut().event_arrived();
                Ok(id)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// The next event, within the bounds of the [`Timeouts`]. A message borrows the client
    /// until the next call.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] (the rest of a message took longer than `reply`), [`Error::Idle`]
    /// (no event for `idle`), [`Error::Protocol`], [`Error::Io`].
    pub fn next_event(&mut self) -> Result<Event<'_>, Error> {
        if let Err(e) = self.inner.wait_event() {
            return Err(self.error(e));
        }
        self.inner.before_read_mut().event_arrived();
        // An event is ready: no read, so no timeout, can happen here.
        self.inner.next_event().map_err(client_error)
    }

    /// Calls `on_event` for every event until the server closes in order (the last event
    /// passed is [`Event::Closed`]), within the bounds of the [`Timeouts`]: the core's
    /// blocking `run`, the events [`next_event`](Self::next_event) would return in the same
    /// order, every complete message of a read handed out in one loop. The idle clock restarts
    /// once per read that brought events, before the next read
    /// ([`Timeouts::event_arrived`], through `BeforeRead::events_arrived`), not per event.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Self::next_event), after every event before the failure was passed;
    /// after [`Error::Idle`] the session goes on (call `run` or `next_event` again).
    pub fn run(&mut self, on_event: impl FnMut(Event<'_>)) -> Result<(), Error> {
        match self.inner.run(on_event) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Pickles `message` and writes it.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] before the handshake, for a message that cannot be pickled or does
    /// not fit the transmit buffer; [`Error::Io`] when the connection fails.
    pub fn send<M: Serialize + ?Sized>(&mut self, message: &M) -> Result<(), Error> {
        self.inner.send(message).map_err(client_error)
    }

    /// Writes everything the session has queued (see the core's blocking `flush`).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the connection fails.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.inner.flush().map_err(client_error)
    }

    /// The session (state, protocol, what it waits for).
    pub fn session(&self) -> &Session<RX, TX, D> {
        self.inner.session()
    }

    /// The timeouts.
    pub fn timeouts(&self) -> &Timeouts {
        self.inner.before_read()
    }

    /// The timeouts, to change a bound between calls (e.g. `idle`).
    pub fn timeouts_mut(&mut self) -> &mut Timeouts {
        self.inner.before_read_mut()
    }

    /// The connected stream (e.g. for `peer_addr`).
    pub fn stream(&self) -> &super::Stream {
        self.inner.transport().inner()
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> Transport {
        self.inner.into_inner()
    }

    /// A failed wait as an [`Error`], given what the session waited for.
    fn error(&mut self, error: blocking::Error<io::Error>) -> Error {
        let waiting = self.inner.waiting();
        self.inner.before_read_mut().error(error, waiting)
    }
}
