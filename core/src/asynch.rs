//! The client over async `embedded-io-async` transports (feature `async`): the blocking
//! client's loop with `.await`s, on the same [`Session`]; no executor dependency. Both are
//! the one [`driver::Client`] type and share its [`Error`] and [`BeforeRead`].

use embedded_io_async::{Read, Write};

use crate::driver::{self, read_outcome, write_outcome, Io, SmallSession};
pub use crate::driver::{BeforeRead, Error};
use crate::pickle::ToPickle;
use crate::session::{ClientId, Decode, Event, Found, Session};

/// The lab client over an async transport `T` (an embassy-net or tokio socket), with a
/// session `S` that owns its buffers and decoder (by default 4 KiB buffers and the default
/// decoder: 36 KiB in all); `H` prepares each read (see [`BeforeRead`]). Allocates nothing; see [`driver::Client`] for
/// choosing sizes.
///
/// **Cancel safety.** [`next_event`](driver::Client::next_event) may be dropped at any await
/// point (e.g. by a `select` with a timer) without losing received bytes: bytes enter the
/// session only when a read completes, and bytes leave the transmit queue only when a write
/// completes, so a new call resumes where the dropped one stopped (given a transport whose
/// `read`/`write` are cancel-safe, as embedded-io-async asks of them).
///
/// ```
/// # use brine_core::asynch::Client;
/// # fn f(transport: impl embedded_io_async::Read + embedded_io_async::Write) {
/// let client = Client::new(transport); // Client<_>: no annotation needed
/// # }
/// ```
pub type Client<T, H = (), S = Session> = driver::Client<T, H, S, driver::Async>;

/// A [`Client`] with a [`SmallSession`]:
/// `SmallClient::with_storage(transport, ())`.
pub type SmallClient<T, H = ()> = Client<T, H, SmallSession>;

impl<T: Read + Write, H: BeforeRead<T>, const RX: usize, const TX: usize, D: Decode>
    driver::Client<T, H, Session<RX, TX, D>, driver::Async>
{
    /// As the blocking client's `handshake`: waits for the client id, then sends `identity`.
    ///
    /// # Errors
    ///
    /// As the blocking client's.
    pub async fn handshake<I: ToPickle + ?Sized>(
        &mut self,
        identity: &I,
    ) -> Result<ClientId, Error<T::Error>> {
        self.session.start(identity)?;
        // The session's first event is the client id, or its error.
        let id = loop {
            if let Event::ClientId(id) = self.next_event().await? {
                break id;
            }
        };
        self.flush().await?;
        Ok(id)
    }

    /// Begins a connection with any [`Greeting`](crate::session::Greeting): queues `identity`
    /// (sent when the greeting allows) and returns at once; the server's first message
    /// comes from [`next_event`](Self::next_event) (`ClientId`, `Greeting` or `Message`).
    ///
    /// # Errors
    ///
    /// The identity cannot be pickled into the transmit buffer; the transport's.
    pub async fn begin<I: ToPickle + ?Sized>(
        &mut self,
        identity: &I,
    ) -> Result<(), Error<T::Error>> {
        self.session.start(identity)?;
        self.flush().await
    }

    /// [`begin`](Self::begin) with no identity to send.
    pub fn begin_without_identity(&mut self) {
        self.session.start_without_identity();
    }

    /// As the blocking client's `wait_event`: reads until an event is ready. Cancel-safe
    /// (see [`Client`]).
    ///
    /// # Errors
    ///
    /// As the blocking client's.
    pub async fn wait_event(&mut self) -> Result<(), Error<T::Error>> {
        let found = self.wait().await?;
        self.keep_found(found);
        Ok(())
    }

    /// Reads until the session finds an event (`Session::find`): what it found.
    async fn wait(&mut self) -> Result<Found, Error<T::Error>> {
        loop {
            match self.wait_step()? {
                Io::Flush => self.flush().await?,
                Io::Read => self.read().await?,
                Io::Done(found) => return Ok(found),
            }
        }
    }

    /// One read into the session, prepared by the [`BeforeRead`] hook (`Interrupted`: none).
    async fn read(&mut self) -> Result<(), Error<T::Error>> {
        let waiting = self.session.waiting();
        let hook = self.before_read.before_read(&mut self.transport, waiting);
        hook.map_err(Error::Transport)?;
        let read = self.transport.read(self.session.receive_buffer()).await;
        if let Some(n) = read_outcome(read)? {
            self.session.commit(n);
        }
        Ok(())
    }

    /// As the blocking client's `next_event`: the next event. Cancel-safe (see [`Client`]).
    ///
    /// # Errors
    ///
    /// As the blocking client's.
    pub async fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        let found = self.wait().await?;
        self.found_event(found)
    }

    /// As the blocking client's `run`: every event to `on_event` until the server closes,
    /// the events [`next_event`](Self::next_event) would return, every complete message of a
    /// read handed out in one loop ([`Session::poll_messages`](crate::session::Session::poll_messages)).
    /// Cancel-safe as `next_event` is: dropped at an await point, it loses no received bytes
    /// (the events passed stay passed).
    ///
    /// # Errors
    ///
    /// As the blocking client's.
    pub async fn run(
        &mut self,
        mut on_event: impl FnMut(Event<'_>),
    ) -> Result<(), Error<T::Error>> {
        let mut arrived = false;
        loop {
            match self.run_step(&mut arrived, &mut on_event)? {
                Io::Flush => self.flush().await?,
                Io::Read => self.read().await?,
                Io::Done(()) => return Ok(()),
            }
        }
    }

    /// As the blocking client's `send`: pickles `message` and writes it.
    ///
    /// # Errors
    ///
    /// As the blocking client's.
    pub async fn send<M: ToPickle + ?Sized>(&mut self, message: &M) -> Result<(), Error<T::Error>> {
        self.session.queue(message)?;
        self.flush().await
    }

    /// Writes everything queued; retries `Interrupted`, fails on `Ok(0)`.
    async fn flush(&mut self) -> Result<(), Error<T::Error>> {
        let mut wrote = false;
        while !self.session.transmit().is_empty() {
            let result = self.transport.write(self.session.transmit()).await;
            if let Some(n) = write_outcome(result)? {
                self.session.transmitted(n);
                wrote = true;
            }
        }
        if wrote {
            self.transport.flush().await.map_err(Error::Transport)?;
        }
        Ok(())
    }
}
