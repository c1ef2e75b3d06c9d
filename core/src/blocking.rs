//! The client over blocking `embedded-io` transports: a thin loop around [`Session`].
//!
//! The async client (`asynch`, feature `async`) is the same loop with `.await`s; both are
//! the one [`driver::Client`] type and share its [`Error`] and [`BeforeRead`].

use embedded_io::{Read, Write};

use crate::driver::{self, read_outcome, write_outcome, Io, SmallSession};
pub use crate::driver::{BeforeRead, Error};
use crate::pickle::ToPickle;
use crate::session::{ClientId, Decode, Event, Found, Session};

/// The lab client over a blocking transport `T` (a `std::net::TcpStream` through
/// `brine-adapters`, a UART, an embedded-nal socket), with a session `S` that owns its
/// buffers and decoder (by default 4 KiB buffers and the default decoder: 36 KiB in all);
/// `H` prepares each read (see
/// [`BeforeRead`]). Allocates nothing; see [`driver::Client`] for choosing sizes.
///
/// ```
/// # use brine_core::blocking::Client;
/// # fn f(transport: impl embedded_io::Read + embedded_io::Write) {
/// let client = Client::new(transport); // Client<_>: no annotation needed
/// # }
/// ```
pub type Client<T, H = (), S = Session> = driver::Client<T, H, S, driver::Blocking>;

/// A [`Client`] for small messages: a [`SmallSession`] (3,248 bytes with a std transport;
/// 4,208 with the `alloc` feature, whose arena ids are 32-bit), made with
/// `SmallClient::with_storage(transport, ())`.
pub type SmallClient<T, H = ()> = Client<T, H, SmallSession>;

impl<T: Read + Write, H: BeforeRead<T>, const RX: usize, const TX: usize, D: Decode>
    driver::Client<T, H, Session<RX, TX, D>, driver::Blocking>
{
    /// Waits for the server's client id, then sends `identity` (a dict: a `Serialize` map or
    /// struct, e.g. [`Identity`](crate::Identity), or [`Pickled`](crate::pickle::Pickled)
    /// bytes). Messages that arrived together with the id are kept for
    /// [`next_event`](Self::next_event).
    ///
    /// # Errors
    ///
    /// The session's: the server closes or sends something other than `{'clientid': id}`
    /// first, or the identity cannot be pickled into the transmit buffer; and the
    /// transport's.
    pub fn handshake<I: ToPickle + ?Sized>(
        &mut self,
        identity: &I,
    ) -> Result<ClientId, Error<T::Error>> {
        self.session.start(identity)?;
        // The session's first event is the client id, or its error.
        let id = loop {
            if let Event::ClientId(id) = self.next_event()? {
                break id;
            }
        };
        self.flush()?;
        Ok(id)
    }

    /// Begins a connection with any [`Greeting`](crate::session::Greeting): queues `identity`
    /// (sent when the greeting allows) and returns at once; the server's first message
    /// comes from [`next_event`](Self::next_event) (`ClientId`, `Greeting` or `Message`).
    ///
    /// # Errors
    ///
    /// The identity cannot be pickled into the transmit buffer; the transport's.
    pub fn begin<I: ToPickle + ?Sized>(&mut self, identity: &I) -> Result<(), Error<T::Error>> {
        self.session.start(identity)?;
        self.flush()
    }

    /// [`begin`](Self::begin) with no identity to send.
    pub fn begin_without_identity(&mut self) {
        self.session.start_without_identity();
    }

    /// Reads until an event is ready, without taking it: [`next_event`](Self::next_event)
    /// then returns it without reading.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Self::next_event).
    pub fn wait_event(&mut self) -> Result<(), Error<T::Error>> {
        let found = self.wait()?;
        self.keep_found(found);
        Ok(())
    }

    /// Reads until the session finds an event (`Session::find`): what it found.
    #[cfg_attr(feature = "fast", inline)]
    fn wait(&mut self) -> Result<Found, Error<T::Error>> {
        loop {
            match self.wait_step()? {
                Io::Flush => self.flush()?,
                Io::Read => self.read()?,
                Io::Done(found) => return Ok(found),
            }
        }
    }

    /// One read into the session, prepared by the [`BeforeRead`] hook (`Interrupted`: none).
    #[cfg_attr(feature = "fast", inline)]
    fn read(&mut self) -> Result<(), Error<T::Error>> {
        let waiting = self.session.waiting();
        let hook = self.before_read.before_read(&mut self.transport, waiting);
        hook.map_err(Error::Transport)?;
        let read = self.transport.read(self.session.receive_buffer());
        if let Some(n) = read_outcome(read)? {
            self.session.commit(n);
        }
        Ok(())
    }

    /// The next event: reads until one is complete. Blocks as long as the transport's reads
    /// do (bound them with a [`BeforeRead`] hook). A message borrows the client until the
    /// next call.
    ///
    /// # Errors
    ///
    /// The transport's and the session's; after [`Event::Closed`], [`Misuse::Closed`](crate::session::Misuse::Closed).
    // Inline with `fast` (no lab firmware has it): the read loop, the machine's entry and the
    // event built in the caller's frame, not a call and a returned result per message
    // (measured: -30 instructions per message, BENCHMARKS.md "Listen path").
    #[cfg_attr(feature = "fast", inline(always))]
    pub fn next_event(&mut self) -> Result<Event<'_>, Error<T::Error>> {
        let found = self.wait()?;
        self.found_event(found)
    }

    /// Calls `on_event` for every event until the server closes in order (the last event
    /// passed is [`Event::Closed`]): the events [`next_event`](Self::next_event) would return
    /// one by one, in the same order, with the same writes before each read and the same
    /// error after the same events. After each read every complete message in the buffer is
    /// decoded and handed to `on_event` in one loop ([`Session::poll_messages`]), no event
    /// returned in between; before the next read the [`BeforeRead`] hook's
    /// [`events_arrived`](BeforeRead::events_arrived) is called once.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Self::next_event), after every event before the failure was passed.
    pub fn run(&mut self, mut on_event: impl FnMut(Event<'_>)) -> Result<(), Error<T::Error>> {
        let mut arrived = false;
        loop {
            match self.run_step(&mut arrived, &mut on_event)? {
                Io::Flush => self.flush()?,
                Io::Read => self.read()?,
                Io::Done(()) => return Ok(()),
            }
        }
    }

    /// Pickles `message` and writes it (completely, in as few writes as the transport allows).
    ///
    /// # Errors
    ///
    /// Before the handshake, [`Misuse::HandshakeIncomplete`](crate::session::Misuse::HandshakeIncomplete);
    /// a message that cannot be pickled or does not fit the transmit buffer; the transport's.
    pub fn send<M: ToPickle + ?Sized>(&mut self, message: &M) -> Result<(), Error<T::Error>> {
        self.session.queue(message)?;
        self.flush()
    }

    /// Writes everything queued (e.g. an identity released by the server's first message,
    /// before writing on the transport by other means); retries `Interrupted`.
    ///
    /// # Errors
    ///
    /// The transport's; [`Error::WriteZero`] when it accepts no bytes.
    pub fn flush(&mut self) -> Result<(), Error<T::Error>> {
        let mut wrote = false;
        while !self.session.transmit().is_empty() {
            let result = self.transport.write(self.session.transmit());
            if let Some(n) = write_outcome(result)? {
                self.session.transmitted(n);
                wrote = true;
            }
        }
        if wrote {
            self.transport.flush().map_err(Error::Transport)?;
        }
        Ok(())
    }
}
