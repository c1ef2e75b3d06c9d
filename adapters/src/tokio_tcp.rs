//! tokio [`TcpStream`] for the async client (feature `tokio`): async connect, timeouts,
//! the same errors as the std path.
//!
//! - [`connect`] does what [`tcp::connect`](crate::tcp::connect) does (parse `HOST:PORT`,
//!   resolve, try each address with a connect timeout, retry refusals with backoff and
//!   jitter, set TCP_NODELAY and keepalive) without blocking a thread, and fails with the same
//!   [`Error`]s and messages: the decisions (which error, whether to retry, socket options)
//!   are the std module's functions; only the waiting is tokio's. The stream is handed to the
//!   core through `embedded-io-adapters` ([`FromTokio`]).
//! - **Timeouts.** [`Client`] owns its [`Timeouts`], as [`tcp::Client`](crate::tcp::Client)
//!   does, but a tokio socket has no read timeout to set before each read. Instead,
//!   [`Client::next_event`] and [`Client::handshake`] wrap the core client's call in
//!   [`tokio::time::timeout`], with the bound [`Timeouts::bound`] chooses from what the
//!   session waits for when the call starts: the rest of the `reply` bound for the client id,
//!   `reply` (or what is left of `idle`, if shorter) for the rest of a started message, what
//!   is left of `idle` (by default no bound) for the next message. This is sound because the
//!   async client's `next_event` is cancel-safe: a call dropped at the deadline loses no
//!   received bytes. The bound covers the whole call, not each read; and a call that starts
//!   while the session waits, unbounded, for the next message stays unbounded if that message
//!   then stalls half-way (TCP keepalive still notices a server that vanished; set an idle
//!   bound to bound every wait).
//!
//! ```no_run
//! use brine_adapters::tcp::{ConnectOptions, Error, Timeouts};
//! use brine_adapters::tokio_tcp::{self, Client};
//! use brine_core::{session::Event, Identity};
//! use std::time::Duration;
//!
//! # async fn lab() -> Result<(), Error> {
//! let stream = tokio_tcp::connect("127.0.0.1:12000", &ConnectOptions::new()).await?;
//! let mut client = Client::new(stream, Timeouts::new(Some(Duration::from_secs(10))));
//! let me = Identity::<4>::new().with("name", "Jose Ortiz").unwrap();
//! let id = client.handshake(&me).await?;
//! println!("Assigned client id by server: {id}");
//! loop {
//!     match client.next_event().await? {
//!         Event::Message(value) => println!("{value}"),
//!         Event::Closed => return Ok(()),
//!         _ => {}
//!     }
//! }
//! # }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use brine_core::asynch;
use brine_core::driver::SmallSession;
use brine_core::framing::Framing;
use brine_core::pickle::Encoding;
use brine_core::session::{ClientId, Decode, Event, Greeting, Session, Waiting};
pub use embedded_io_adapters::tokio_1::FromTokio;
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::tcp::{
    client_error, Attempts, ConnectOptions, Error, Progress, Reset, Target, Timeouts,
};

/// The transport the async client runs over: a tokio [`Stream`] behind the
/// `embedded-io-async` adapter. Reach the stream with `inner()` / `inner_mut()`.
pub type Transport = FromTokio<Stream>;

/// Connects to `address` (`HOST:PORT`, see [`Target::parse`]) as `options` say; the async
/// [`tcp::connect`](crate::tcp::connect). See [`connect_with`].
///
/// # Errors
///
/// As [`connect_with`].
pub async fn connect(address: &str, options: &ConnectOptions) -> Result<Transport, Error> {
    connect_with(address, options, |_| {}).await
}

/// Connects to `address`, reporting each attempt to `progress`, as
/// [`tcp::connect_with`](crate::tcp::connect_with) does (the same loop, `Attempts`, with
/// tokio's resolver, connect and sleep): resolves it without blocking the runtime, tries each
/// address in turn (each bounded by `options.timeout`), retries refusals as `options.retry`
/// allows, then sets TCP_NODELAY and keepalive. A connection that completed is never a
/// connect failure, even if the server reset it at once (see [`Stream`]). Allocates the
/// resolved addresses and the error's strings.
///
/// # Errors
///
/// As [`tcp::connect_with`](crate::tcp::connect_with).
pub async fn connect_with(
    address: &str,
    options: &ConnectOptions,
    progress: impl FnMut(Progress<'_>),
) -> Result<Transport, Error> {
    let mut attempts = Attempts::new(address, options, progress)?;
    loop {
        for addr in resolve(&attempts.target).await? {
            attempts.trying(addr);
            match connect_stream(addr, options.timeout).await {
                Ok(stream) => {
                    return attempts
                        .connected(&*stream)
                        .map(|()| FromTokio::new(stream))
                }
                Err(e) => attempts.failed(addr, e),
            }
        }
        tokio::time::sleep(attempts.retry()?).await;
    }
}

/// The target's addresses, resolved without blocking the runtime.
async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, Error> {
    match target.literal() {
        Some(addr) => Ok(vec![addr]),
        None => target.resolved(
            tokio::net::lookup_host((target.host.as_str(), target.port))
                .await
                .map(Iterator::collect),
        ),
    }
}

/// Connects to `addr` within `timeout`, as the std path does: a connection that completed and
/// was reset before this returned is a connected [`Stream`] whose reads end with that reset
/// (tokio's own `TcpStream::connect` returns the socket's pending error and drops it).
async fn connect_stream(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<Stream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Err(e) if !in_progress(&e) => return Err(e),
        _ => {}
    }
    let tcp = TcpStream::from_std(socket.into())?;
    let done = async {
        tcp.writable().await?;
        tcp.take_error()
    };
    let pending = match bounded(timeout, done).await {
        Some(pending) => pending?,
        None => return Err(io::ErrorKind::TimedOut.into()),
    };
    let reset = Reset::after_connect(pending.map_or(Ok(()), Err))?;
    Ok(Stream { tcp, reset })
}

/// A non-blocking connect's "under way" answer (EINPROGRESS; WSAEWOULDBLOCK on Windows).
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

/// A connected tokio `TcpStream` (it derefs to one) that, as the std [`tcp::Stream`], reports
/// a reset the OS announced early (while connecting, or as a write's error) when the bytes
/// received before it have been read.
///
/// [`tcp::Stream`]: crate::tcp::Stream
#[derive(Debug)]
pub struct Stream {
    tcp: TcpStream,
    reset: Reset,
}

impl Deref for Stream {
    type Target = TcpStream;

    fn deref(&self) -> &TcpStream {
        &self.tcp
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let (before, asked) = (buf.filled().len(), buf.remaining());
        let result = ready!(Pin::new(&mut this.tcp).poll_read(cx, buf));
        let read = result.map(|()| buf.filled().len() - before);
        Poll::Ready(this.reset.read(read, asked).map(drop))
    }
}

impl AsyncWrite for Stream {
    /// A write the peer's reset refused is taken as written (as the std [`tcp::Stream`]'s).
    ///
    /// [`tcp::Stream`]: crate::tcp::Stream
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.reset.announced() {
            return Poll::Ready(Ok(buf.len()));
        }
        let result = ready!(Pin::new(&mut this.tcp).poll_write(cx, buf));
        Poll::Ready(this.reset.write(result, buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// `future`'s output, or `None` when `bound` ran out first (`None` bound: no limit).
async fn bounded<F: Future>(bound: Option<Duration>, future: F) -> Option<F::Output> {
    match bound {
        Some(bound) => tokio::time::timeout(bound, future).await.ok(),
        None => Some(future.await),
    }
}

/// The async lab client over a tokio stream: the core's [`asynch::Client`] and its
/// [`Timeouts`], each call bounded by [`Timeouts::bound`] for what the session waits for when
/// it starts (see the module's notes), every event reported to the idle clock, errors as
/// [`Error`]s. The session (buffers and decoder) is chosen by type as for the core's client;
/// [`SmallClient`] is the small one.
pub struct Client<S = Session> {
    inner: asynch::Client<Transport, (), S>,
    timeouts: Timeouts,
}

/// A [`Client`] with the core's small session, its buffers and decoder (about 3.3 KiB).
pub type SmallClient = Client<SmallSession>;

impl Client {
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
            inner: asynch::Client::with_storage(transport, ()),
            timeouts,
        }
    }

    /// Sets the protocol (or [`Encoding`]) of the pickles this client writes.
    pub fn set_protocol(&mut self, protocol: impl Into<Encoding>) {
        self.inner.set_protocol(protocol);
    }

    /// Answers in the encoding the server's first message asks for (see the core's
    /// `Session::set_protocol_auto`).
    pub fn set_protocol_auto(&mut self) {
        self.inner.set_protocol_auto();
    }

    /// How messages are delimited, both ways (call before beginning; see the core's
    /// `Session::set_framing`).
    pub fn set_framing(&mut self, framing: Framing) {
        self.inner.set_framing(framing);
    }

    /// Who speaks first (call before beginning; see the core's `Session::set_greeting`).
    /// With anything but `Greeting::ClientId`, begin with [`begin`](Self::begin).
    pub fn set_greeting(&mut self, greeting: Greeting) {
        self.inner.set_greeting(greeting);
    }

    /// Begins with any greeting: queues `identity` (written at once under `Greeting::None`,
    /// else after the server's first message) and returns; the first message comes from
    /// [`next_event`](Self::next_event).
    ///
    /// # Errors
    ///
    /// As [`tcp::Client::begin`](crate::tcp::Client::begin).
    pub async fn begin<I: Serialize + ?Sized>(&mut self, identity: &I) -> Result<(), Error> {
        self.inner.begin(identity).await.map_err(client_error)
    }

    /// [`begin`](Self::begin) with no identity to send.
    pub fn begin_without_identity(&mut self) {
        self.inner.begin_without_identity();
    }

    /// Waits for the client id (at most `reply`), then sends `identity`.
    ///
    /// # Errors
    ///
    /// As [`tcp::Client::handshake`](crate::tcp::Client::handshake).
    pub async fn handshake<I: Serialize + ?Sized>(
        &mut self,
        identity: &I,
    ) -> Result<ClientId, Error> {
        let waiting = Waiting::ClientId;
        let bound = self.timeouts.bound(waiting)?;
        match bounded(bound, self.inner.handshake(identity)).await {
            Some(Ok(id)) => {
                self.timeouts.event_arrived();
                Ok(id)
            }
            // A tokio socket has no read timeout: no transport error is a timeout.
            Some(Err(e)) => Err(client_error(e)),
            None => Err(self.timeouts.ran_out(waiting)),
        }
    }

    /// The next event, bounded as the [`Timeouts`] say. Cancel-safe. A message borrows the
    /// client until the next call.
    ///
    /// # Errors
    ///
    /// As [`tcp::Client::next_event`](crate::tcp::Client::next_event).
    pub async fn next_event(&mut self) -> Result<Event<'_>, Error> {
        let waiting = self.inner.waiting();
        let bound = self.timeouts.bound(waiting)?;
        match bounded(bound, self.inner.wait_event()).await {
            Some(Ok(())) => self.timeouts.event_arrived(),
            Some(Err(e)) => return Err(client_error(e)),
            None => return Err(self.timeouts.ran_out(waiting)),
        }
        self.inner.next_event().await.map_err(client_error)
    }

    /// Pickles `message` and writes it.
    ///
    /// # Errors
    ///
    /// As [`tcp::Client::send`](crate::tcp::Client::send).
    pub async fn send<M: Serialize + ?Sized>(&mut self, message: &M) -> Result<(), Error> {
        self.inner.send(message).await.map_err(client_error)
    }

    /// The session (state, protocol, what it waits for).
    pub fn session(&self) -> &Session<RX, TX, D> {
        self.inner.session()
    }

    /// The timeouts.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// Gives the transport back.
    pub fn into_inner(self) -> Transport {
        self.inner.into_inner()
    }
}
