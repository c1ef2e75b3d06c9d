//! The client over blocking `embedded-io` transports: a thin loop around [`Session`].

use embedded_io::{Error as _, ErrorKind, ErrorType, Read, Write};
use serde::Serialize;

use crate::pickle::{Decoder, Protocol};
use crate::session::{self, ClientId, Event, Session, State, Waiting};

/// A client error: the transport's own error (kept typed) or the session's.
#[derive(Debug, PartialEq)]
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
    fn before_read(&mut self, transport: &mut T, waiting: Waiting) -> Result<(), T::Error>;
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

/// The lab client over a blocking transport `T`, with a [`Session`] of `RX`/`TX`-byte
/// buffers and a [`Decoder`] of `VALUES`/`ITEMS`/`STACK`/`MEMO` capacities (the decoder's
/// defaults, about 27 KiB); `H` prepares each read (see [`BeforeRead`]). Allocates nothing.
/// Firmware that expects only small messages shrinks both in the type, e.g.
/// `Client::<_, _, 1024, 512, 64, 64, 32, 64>::with_buffers(transport, ())`; a message the
/// decoder has no room for is skipped and reported
/// (`SkipReason::Refused` with the capacity error), as an oversized one is.
pub struct Client<
    T,
    H = (),
    const RX: usize = 4096,
    const TX: usize = 4096,
    const VALUES: usize = 1024,
    const ITEMS: usize = 2048,
    const STACK: usize = 512,
    const MEMO: usize = 1024,
> {
    transport: T,
    before_read: H,
    session: Session<RX, TX>,
    decoder: Decoder<VALUES, ITEMS, STACK, MEMO>,
}

impl<T: Read + Write> Client<T> {
    /// A client over a connected transport, with 4096-byte buffers, writing protocol 4.
    pub fn new(transport: T) -> Self {
        Self::with_buffers(transport, ())
    }
}

impl<T: Read + Write, H: BeforeRead<T>> Client<T, H> {
    /// A client with 4096-byte buffers that calls `before_read` before every read (to set
    /// timeouts).
    pub fn with_before_read(transport: T, before_read: H) -> Self {
        Self::with_buffers(transport, before_read)
    }
}

impl<
        T: Read + Write,
        H: BeforeRead<T>,
        const RX: usize,
        const TX: usize,
        const VALUES: usize,
        const ITEMS: usize,
        const STACK: usize,
        const MEMO: usize,
    > Client<T, H, RX, TX, VALUES, ITEMS, STACK, MEMO>
{
    /// A client with `RX`/`TX`-byte buffers and the decoder capacities named in the type
    /// (`Client::<_, _, 1024, 512>::with_buffers(transport, ())` keeps the default decoder).
    pub fn with_buffers(transport: T, before_read: H) -> Self {
        Client {
            transport,
            before_read,
            session: Session::new(),
            decoder: Decoder::new(),
        }
    }

    /// Sets the protocol of the pickles this client writes (call before the handshake).
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.session.set_protocol(protocol);
    }

    /// Answers in the protocol the server's client id asks for (see
    /// [`Session::set_protocol_auto`]; call before the handshake).
    pub fn set_protocol_auto(&mut self) {
        self.session.set_protocol_auto();
    }

    /// Waits for the server's client id, then sends `identity` (a dict: a `Serialize` map or
    /// struct, e.g. [`Identity`](crate::Identity)). Messages that arrived together with the
    /// id are kept for [`next_event`](Self::next_event).
    ///
    /// Fails if the server closes or sends something other than `{'clientid': id}` first, if
    /// the identity cannot be pickled into the transmit buffer, or on transport errors.
    pub fn handshake<I: Serialize + ?Sized>(
        &mut self,
        identity: &I,
    ) -> Result<ClientId, Error<T::Error>> {
        self.session.start(identity)?;
        let id = match self.next_event()? {
            Event::ClientId(id) => id,
            // The session's first event is always the id (or an error).
            _ => {
                return Err(Error::Session(session::Error::NoClientId {
                    found: "another event",
                }))
            }
        };
        self.flush()?;
        Ok(id)
    }

    /// The next event: reads until one is complete. Blocks as long as the transport's reads
    /// do (bound them with a [`BeforeRead`] hook). A message borrows the client until the
    /// next call.
    ///
    /// Fails on transport errors and session errors; after [`Event::Closed`] it fails with
    /// [`session::Error::Closed`].
    pub fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        loop {
            self.flush()?;
            if self.session.poll()? {
                break;
            }
            self.before_read
                .before_read(&mut self.transport, self.session.waiting())
                .map_err(Error::Transport)?;
            let buf = self.session.receive_buffer();
            let n = loop {
                match self.transport.read(buf) {
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    other => break other.map_err(Error::Transport)?,
                }
            };
            self.session.commit(n);
        }
        self.session
            .next_event(&mut self.decoder)?
            // `poll` returned true, so an event is ready.
            .ok_or_else(|| Error::Session(session::Error::Closed))
    }

    /// Calls `on_event` for every event until the server closes in order (the last event
    /// passed is [`Event::Closed`]). Fails as [`next_event`](Self::next_event) does.
    pub fn run(&mut self, mut on_event: impl FnMut(Event<'_>)) -> Result<(), Error<T::Error>> {
        loop {
            let event = self.next_event()?;
            let closed = matches!(event, Event::Closed);
            on_event(event);
            if closed {
                return Ok(());
            }
        }
    }

    /// Pickles `message` and writes it (completely, in as few writes as the transport allows).
    /// Allowed after the handshake.
    pub fn send<M: Serialize + ?Sized>(&mut self, message: &M) -> Result<(), Error<T::Error>> {
        self.session.queue(message)?;
        self.flush()
    }

    /// Writes everything queued; retries `Interrupted`, fails on `Ok(0)`.
    fn flush(&mut self) -> Result<(), Error<T::Error>> {
        let mut wrote = false;
        while !self.session.transmit().is_empty() {
            match self.transport.write(self.session.transmit()) {
                Ok(0) => return Err(Error::WriteZero),
                Ok(n) => {
                    self.session.transmitted(n);
                    wrote = true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Transport(e)),
            }
        }
        if wrote {
            self.transport.flush().map_err(Error::Transport)?;
        }
        Ok(())
    }

    /// The session (state, client id, what it waits for).
    pub fn session(&self) -> &Session<RX, TX> {
        &self.session
    }

    /// The session's state.
    pub fn state(&self) -> State {
        self.session.state()
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
}
