//! tokio [`TcpStream`] for the async client (feature `tokio`): async connect, timeouts,
//! the same errors as the std path.
//!
//! - [`connect`] does what [`tcp::connect`](crate::tcp::connect) does (parse `HOST:PORT`,
//!   resolve, try each address with a connect timeout, retry refusals with backoff and
//!   jitter, set TCP_NODELAY and keepalive) without blocking a thread, and fails with the same
//!   [`Error`]s and messages: the decisions (which error, whether to retry, socket options)
//!   are the std module's functions; only the waiting is tokio's. The stream is handed to the
//!   core through `embedded-io-adapters` ([`FromTokio`]).
//! - **Timeouts.** The async client calls the same [`BeforeRead`]
//!   hook as the blocking one, but a tokio socket has no read timeout to set there. Instead,
//!   [`next_event`] and [`handshake`] wrap the client's call in [`tokio::time::timeout`], with
//!   the bound [`Timeouts::bound`] chooses from what the session waits for when the call
//!   starts (`client.session().waiting()`): the rest of the `reply` bound for the client id,
//!   `reply` for the rest of a started message, `idle` (by default none) for the next message.
//!   This is sound because the async client's `next_event` is cancel-safe: a call dropped at
//!   the deadline loses no received bytes. The bound covers the whole call, not each read;
//!   and a call that starts while the session waits, unbounded, for the next message stays
//!   unbounded if that message then stalls half-way (TCP keepalive still notices a server
//!   that vanished; set an idle bound to bound every wait).
//!
//! ```no_run
//! use brine_adapters::tcp::{ConnectOptions, Error, Timeouts};
//! use brine_adapters::tokio_tcp;
//! use brine_core::{asynch::Client, session::Event, Identity};
//! use std::time::Duration;
//!
//! # async fn lab() -> Result<(), Error> {
//! let mut timeouts = Timeouts::new(Some(Duration::from_secs(10)));
//! let stream = tokio_tcp::connect("127.0.0.1:12000", &ConnectOptions::new()).await?;
//! let mut client = Client::new(stream);
//! let me = Identity::<4>::new().with("name", "Jose Ortiz").unwrap();
//! let id = tokio_tcp::handshake(&mut client, &me, &mut timeouts).await?;
//! println!("Assigned client id by server: {id}");
//! loop {
//!     match tokio_tcp::next_event(&mut client, &mut timeouts).await? {
//!         Event::Message(value) => println!("{value}"),
//!         Event::Closed => return Ok(()),
//!         _ => {}
//!     }
//! }
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use brine_core::asynch::Client;
use brine_core::blocking::BeforeRead;
use brine_core::pickle::Decoder;
use brine_core::session::Session;
use brine_core::session::{ClientId, Event};
pub use embedded_io_adapters::tokio_1::FromTokio;
use serde::Serialize;
use socket2::SockRef;
use tokio::net::TcpStream;

use crate::tcp::{
    configure, connect_error, more_telling, retry_after, ConnectOptions, Error, Progress, Target,
    Timeouts,
};

/// The transport the async client runs over: a tokio `TcpStream` behind the
/// `embedded-io-async` adapter. Reach the stream with `inner()` / `inner_mut()`.
pub type Transport = FromTokio<TcpStream>;

/// Connects to `address` (`HOST:PORT`, see [`Target::parse`]) as `options` say; the async
/// [`tcp::connect`](crate::tcp::connect). See [`connect_with`].
pub async fn connect(address: &str, options: &ConnectOptions) -> Result<Transport, Error> {
    connect_with(address, options, |_| {}).await
}

/// Connects to `address`, reporting each attempt to `progress`, as
/// [`tcp::connect_with`](crate::tcp::connect_with) does: resolves it (without blocking the
/// runtime), tries each address in turn (each bounded by `options.timeout`), retries
/// refusals as `options.retry` allows, then sets TCP_NODELAY and keepalive.
pub async fn connect_with(
    address: &str,
    options: &ConnectOptions,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Transport, Error> {
    let target = Target::parse(address, options.default_port)?;
    let mut attempt = 1;
    loop {
        match connect_once(&target, options, attempt, &mut progress).await {
            Ok(stream) => {
                configure(SockRef::from(&stream), options).map_err(Error::Io)?;
                return Ok(FromTokio::new(stream));
            }
            Err(error) => {
                let delay = retry_after(error, &mut attempt, options, &mut progress)?;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One attempt over every address, as the std module's.
async fn connect_once(
    target: &Target,
    options: &ConnectOptions,
    attempt: u32,
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<TcpStream, Error> {
    let addrs = match target.literal() {
        Some(addr) => vec![addr],
        None => target.resolved(
            tokio::net::lookup_host((target.host.as_str(), target.port))
                .await
                .map(Iterator::collect),
        )?,
    };
    let mut last = None;
    for addr in addrs {
        progress(Progress::Trying { addr, attempt });
        let result = match bounded(options.timeout, TcpStream::connect(addr)).await {
            Some(result) => result,
            None => Err(std::io::ErrorKind::TimedOut.into()),
        };
        let error = match result {
            Ok(stream) => return Ok(stream),
            Err(e) => connect_error(target, addr, e, options),
        };
        last = Some(more_telling(last, error));
    }
    Err(last.unwrap_or_else(|| Error::Resolve {
        host: target.host.clone(),
        source: None,
    }))
}

/// `future`'s output, or `None` when `bound` ran out first (`None` bound: no limit).
async fn bounded<F: Future>(bound: Option<Duration>, future: F) -> Option<F::Output> {
    match bound {
        Some(bound) => tokio::time::timeout(bound, future).await.ok(),
        None => Some(future.await),
    }
}

/// The client's handshake (wait for the client id, send `identity`), bounded by
/// `timeouts.reply` (see the module's notes), with errors as [`Error`].
pub async fn handshake<
    H: BeforeRead<Transport>,
    I: Serialize + ?Sized,
    const RX: usize,
    const TX: usize,
    const VALUES: usize,
    const ITEMS: usize,
    const STACK: usize,
    const MEMO: usize,
>(
    client: &mut Client<Transport, H, Session<RX, TX>, Decoder<VALUES, ITEMS, STACK, MEMO>>,
    identity: &I,
    timeouts: &mut Timeouts,
) -> Result<ClientId, Error> {
    let waiting = brine_core::session::Waiting::ClientId;
    let bound = timeouts.bound(waiting)?;
    match bounded(bound, client.handshake(identity)).await {
        Some(Ok(id)) => Ok(id),
        Some(Err(e)) => Err(timeouts.error(e, client.session().waiting())),
        None => Err(elapsed(timeouts, waiting)),
    }
}

/// The client's next event, bounded by what `timeouts` allow for what the session waits
/// for when the call starts (see the module's notes), with errors as [`Error`]. A message
/// borrows the client until the next call.
pub async fn next_event<
    'c,
    H: BeforeRead<Transport>,
    const RX: usize,
    const TX: usize,
    const VALUES: usize,
    const ITEMS: usize,
    const STACK: usize,
    const MEMO: usize,
>(
    client: &'c mut Client<Transport, H, Session<RX, TX>, Decoder<VALUES, ITEMS, STACK, MEMO>>,
    timeouts: &mut Timeouts,
) -> Result<Event<'c>, Error> {
    let waiting = client.session().waiting();
    let bound = timeouts.bound(waiting)?;
    match bounded(bound, client.next_event()).await {
        Some(Ok(event)) => Ok(event),
        // A tokio socket has no read timeout, so no transport error is a timeout: the state
        // the call started in serves to convert it.
        Some(Err(e)) => Err(timeouts.error(e, waiting)),
        None => Err(elapsed(timeouts, waiting)),
    }
}

/// The timeout error for a bounded wait that ran out.
fn elapsed(timeouts: &Timeouts, waiting: brine_core::session::Waiting) -> Error {
    timeouts
        .elapsed(waiting)
        .unwrap_or_else(|| Error::Io(std::io::ErrorKind::TimedOut.into()))
}
