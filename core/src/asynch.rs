//! The client over async `embedded-io-async` transports (feature `async`): the blocking
//! client's API on the same [`Session`]; no executor dependency.

use embedded_io::{Error as _, ErrorKind};
use embedded_io_async::{Read, Write};
use serde::Serialize;

use crate::blocking::{BeforeRead, Error};
use crate::pickle::{Decoder, Protocol};
use crate::session::{self, ClientId, Event, Session, State};

/// The lab client over an async transport `T` (e.g. an embassy-net or tokio socket), with a
/// [`Session`] of `RX`/`TX`-byte buffers and a [`Decoder`] of `VALUES`/`ITEMS`/`STACK`/`MEMO`
/// capacities (the decoder's defaults, about 27 KiB); `H` prepares each read (see
/// [`BeforeRead`]). Allocates nothing. A program that runs thousands of clients and expects
/// only small messages shrinks both in the type, e.g.
/// `Client::<_, _, 1024, 512, 64, 64, 32, 64>::with_buffers(transport, ())` (about 3 KiB);
/// a message the decoder has no room for is skipped and reported
/// (`SkipReason::Refused` with the capacity error), as an oversized one is.
///
/// **Cancel safety.** [`next_event`](Self::next_event) may be dropped at any await point
/// (e.g. by a `select` with a timer) without losing received bytes: bytes enter the session
/// only when a read completes, and bytes leave the transmit queue only when a write
/// completes, so a new call resumes where the dropped one stopped (given a transport whose
/// `read`/`write` are cancel-safe, as embedded-io-async asks of them).
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
    /// A client with 4096-byte buffers that calls `before_read` before every read.
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
    /// A client with `RX`/`TX`-byte buffers.
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

    /// Waits for the server's client id, then sends `identity`; as
    /// [`blocking::Client::handshake`](crate::blocking::Client::handshake).
    pub async fn handshake<I: Serialize + ?Sized>(
        &mut self,
        identity: &I,
    ) -> Result<ClientId, Error<T::Error>> {
        self.session.start(identity)?;
        let id = match self.next_event().await? {
            Event::ClientId(id) => id,
            _ => {
                return Err(Error::Session(session::Error::NoClientId {
                    found: "another event",
                }))
            }
        };
        self.flush().await?;
        Ok(id)
    }

    /// The next event; as [`blocking::Client::next_event`](crate::blocking::Client::next_event).
    /// Cancel-safe (see [`Client`]).
    pub async fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        loop {
            self.flush().await?;
            if self.session.poll()? {
                break;
            }
            self.before_read
                .before_read(&mut self.transport, self.session.waiting())
                .map_err(Error::Transport)?;
            let buf = self.session.receive_buffer();
            let n = loop {
                match self.transport.read(buf).await {
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    other => break other.map_err(Error::Transport)?,
                }
            };
            self.session.commit(n);
        }
        self.session
            .next_event(&mut self.decoder)?
            // `poll` returned true, so an event is ready.
            .ok_or(Error::Session(session::Error::Closed))
    }

    /// Calls `on_event` for every event until the server closes in order.
    pub async fn run(
        &mut self,
        mut on_event: impl FnMut(Event<'_>),
    ) -> Result<(), Error<T::Error>> {
        loop {
            let event = self.next_event().await?;
            let closed = matches!(event, Event::Closed);
            on_event(event);
            if closed {
                return Ok(());
            }
        }
    }

    /// Pickles `message` and writes it completely. Allowed after the handshake.
    pub async fn send<M: Serialize + ?Sized>(
        &mut self,
        message: &M,
    ) -> Result<(), Error<T::Error>> {
        self.session.queue(message)?;
        self.flush().await
    }

    /// Writes everything queued; retries `Interrupted`, fails on `Ok(0)`.
    async fn flush(&mut self) -> Result<(), Error<T::Error>> {
        let mut wrote = false;
        while !self.session.transmit().is_empty() {
            match self.transport.write(self.session.transmit()).await {
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
            self.transport.flush().await.map_err(Error::Transport)?;
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

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }
}
