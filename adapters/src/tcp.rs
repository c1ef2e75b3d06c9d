//! std [`TcpStream`] for the blocking client: connect, socket options, read timeouts, errors
//! that say what happened.
//!
//! - [`connect`] resolves `HOST:PORT` (an IPv4 or IPv6 address, `[v6]:port`, or a host name),
//!   tries each address in turn with a connect timeout, optionally retries with exponential
//!   backoff and jitter while the server refuses connections (it is not up yet), then sets
//!   TCP_NODELAY (each message leaves in one segment, as a `recv(4096)` server wants) and TCP
//!   keepalive (a server that vanished without closing is noticed while the client listens).
//!   It returns the stream wrapped in [`FromStd`], the `embedded-io` adapter the core's
//!   [`Client`](brine_core::blocking::Client) reads and writes.
//! - [`Client`] is the blocking client over that stream with its [`Timeouts`], the one place
//!   that bounds waits: the client id and the rest of a started message by `reply`, the time
//!   without a message by `idle` (unbounded unless set: the lab client listens until the
//!   server closes). Its errors are [`Error`]s: a wait that ran out is [`Error::Timeout`] or
//!   [`Error::Idle`].
//! - [`Error`] is one line of text for a person and an [`ErrorKind`] for a program (the CLI
//!   maps kinds to exit codes).
//!
//! [`TcpStream`]: std::net::TcpStream

use std::fmt::{self, Display};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;

use brine_core::session::{self, Waiting};
pub use embedded_io_adapters::std::FromStd;
use socket2::{SockRef, TcpKeepalive};

mod client;
mod stream;
mod timeouts;
pub use client::{Client, SmallClient};
#[cfg(feature = "tokio")]
pub(crate) use stream::Reset;
pub use stream::{Stream, FIRST_BYTES};
#[cfg(feature = "tokio")]
pub(crate) use timeouts::client_error;
pub use timeouts::Timeouts;

/// The transport the core's client runs over: a std `TcpStream` ([`Stream`]) behind the
/// `embedded-io` adapter. Reach the stream with `inner()` / `inner_mut()`.
pub type Transport = FromStd<Stream>;

/// The port used when an address names none (the lab's).
pub const DEFAULT_PORT: u16 = 12000;

/// What went wrong, coarsely, for programs (the CLI's exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The address is malformed.
    InvalidInput,
    /// No connection could be made: the host does not resolve, the server refused, the
    /// network is unreachable.
    Connect,
    /// A bounded wait ran out: connecting, the client id, the rest of a message, or the
    /// idle timeout.
    Timeout,
    /// The server broke the protocol: no client id, an invalid or truncated pickle.
    Protocol,
    /// The established connection failed: reset by the server, no keepalive answer, any
    /// other I/O error.
    Io,
}

/// A std-transport client error. `Display` is one line that says what happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `input` is not `HOST`, `HOST:PORT` or `[IPV6]:PORT`.
    InvalidAddress {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The host name does not resolve (or resolves to no address).
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error, if it gave one.
        source: Option<io::Error>,
    },
    /// Every address refused the connection: nothing listens there.
    Refused {
        /// What was asked for.
        target: Target,
        /// The (last) address tried.
        addr: SocketAddr,
    },
    /// Connecting took longer than the connect timeout.
    ConnectTimeout {
        /// What was asked for.
        target: Target,
        /// The (last) address tried.
        addr: SocketAddr,
        /// The timeout.
        after: Duration,
    },
    /// Connecting failed otherwise (network unreachable, ...).
    Connect {
        /// What was asked for.
        target: Target,
        /// The (last) address tried.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// A bounded wait for data ran out: for the client id ([`Waiting::ClientId`]) or the
    /// rest of a started message ([`Waiting::RestOfMessage`]).
    Timeout {
        /// What the client waited for.
        waiting: Waiting,
        /// The timeout.
        after: Duration,
    },
    /// No message arrived within the idle timeout.
    Idle {
        /// The idle timeout.
        after: Duration,
    },
    /// The established connection failed (reset, keepalive without answer, ...).
    Io(io::Error),
    /// The server broke the protocol (see [`session::Error`]).
    Protocol(session::Error),
}

impl Error {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidAddress { .. } => ErrorKind::InvalidInput,
            Error::Resolve { .. } | Error::Refused { .. } | Error::Connect { .. } => {
                ErrorKind::Connect
            }
            Error::ConnectTimeout { .. } | Error::Timeout { .. } | Error::Idle { .. } => {
                ErrorKind::Timeout
            }
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::Io(_) => ErrorKind::Io,
        }
    }
}

/// A duration in seconds, exactly, as a person writes it: `5 s`, `1.5 s`, `0.0005 s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secs(pub Duration);

impl Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, nanos) = (self.0.as_secs(), self.0.subsec_nanos());
        if nanos == 0 {
            return write!(f, "{secs} s");
        }
        let fraction = format!("{nanos:09}");
        write!(f, "{secs}.{} s", fraction.trim_end_matches('0'))
    }
}

/// `127.0.0.1:12000` when the target is that address, `localhost:12000 (127.0.0.1:12000)`
/// when it is a name.
struct Peer<'a>(&'a Target, &'a SocketAddr);

impl Display for Peer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.host.parse::<IpAddr>().is_ok() {
            write!(f, "{}", self.1)
        } else {
            write!(f, "{} ({})", self.0, self.1)
        }
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidAddress { input, reason } => {
                write!(f, "invalid server address '{input}': {reason}")
            }
            Error::Resolve { host, source } => {
                write!(f, "could not resolve host '{host}'")?;
                match source {
                    Some(e) => write!(f, ": {e}"),
                    None => Ok(()),
                }
            }
            Error::Refused { target, addr } => write!(
                f,
                "connection refused by {}: is the server running?",
                Peer(target, addr)
            ),
            Error::ConnectTimeout {
                target,
                addr,
                after,
            } => write!(
                f,
                "timed out after {} connecting to {}",
                Secs(*after),
                Peer(target, addr)
            ),
            Error::Connect {
                target,
                addr,
                source,
            } => write!(f, "could not connect to {}: {source}", Peer(target, addr)),
            Error::Timeout { waiting, after } => {
                let what = match waiting {
                    Waiting::ClientId => "the client id",
                    Waiting::RestOfMessage => "the rest of a message",
                    Waiting::NextMessage => "the next message",
                    _ => "nothing",
                };
                write!(f, "timed out after {} waiting for {what}", Secs(*after))
            }
            Error::Idle { after } => {
                write!(f, "no message for {} (idle timeout)", Secs(*after))
            }
            Error::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionReset => f.write_str("the server reset the connection"),
                io::ErrorKind::ConnectionAborted => f.write_str("the connection was aborted"),
                io::ErrorKind::BrokenPipe => {
                    f.write_str("the server closed the connection while brine was sending")
                }
                io::ErrorKind::TimedOut => f.write_str(
                    "the connection was lost: the server stopped answering (TCP keepalive)",
                ),
                _ => write!(f, "connection error: {e}"),
            },
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve {
                source: Some(e), ..
            }
            | Error::Connect { source: e, .. } => Some(e),
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

/// A server to connect to: a host (IP address or name) and a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// An IPv4 or IPv6 address (without brackets) or a host name.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl Target {
    /// Parses `HOST:PORT`, `[IPV6]:PORT`, a host / IPv6 address alone (port
    /// `default_port`), or a bare `PORT` (on 127.0.0.1, as `brine-server PORT` listens).
    /// Allocates the host's `String`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidAddress`], saying what is wrong: empty, unclosed `[`, a non-IPv6
    /// address in brackets, an IPv6 address with a port but no brackets, a port outside
    /// 1-65535, a host of digits and dots that is not four numbers 0-255 (`10.1`, `12000`:
    /// the system's resolver would read them as IPv4 shorthands, `0.0.46.224`).
    pub fn parse(input: &str, default_port: u16) -> Result<Target, Error> {
        let bad = |reason| Error::InvalidAddress {
            input: input.to_owned(),
            reason,
        };
        let input_trimmed = input.trim();
        if input_trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        if input_trimmed.bytes().all(|b| b.is_ascii_digit()) {
            // A bare number is a port on this machine, as brine-server reads it.
            let port = input_trimmed
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| {
                    bad("a bare number is a port on 127.0.0.1 and must be from 1 to 65535")
                })?;
            return Ok(Target {
                host: "127.0.0.1".to_owned(),
                port,
            });
        }
        let (host, port) = if let Some(rest) = input_trimmed.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("'[' without a closing ']'"))?;
            if !is_ipv6(host) {
                return Err(bad("brackets must hold an IPv6 address"));
            }
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(bad("expected ':PORT' after ']'")),
                },
            }
        } else if is_ipv6(input_trimmed) {
            (input_trimmed, None)
        } else {
            match input_trimmed.rsplit_once(':') {
                Some((host, _)) if host.contains(':') => {
                    return Err(bad("write an IPv6 address with a port as [ADDRESS]:PORT"))
                }
                Some((host, port)) => (host, Some(port)),
                None => (input_trimmed, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if numeric && host.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(bad(
                "a host of digits and dots must be an IPv4 address, four numbers 0-255 \
                 (e.g. 10.0.0.5)",
            ));
        }
        let port = match port {
            None => default_port,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        };
        Ok(Target {
            host: host.to_owned(),
            port,
        })
    }

    /// The addresses the target names, in the resolver's order (blocking on the system
    /// resolver for a host name). Allocates the `Vec`.
    ///
    /// # Errors
    ///
    /// [`Error::Resolve`] when the name does not resolve or names no address.
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, Error> {
        if let Some(addr) = self.literal() {
            return Ok(vec![addr]);
        }
        self.resolved(
            (self.host.as_str(), self.port)
                .to_socket_addrs()
                .map(Iterator::collect),
        )
    }

    /// The address itself when the host is an IP address (nothing to resolve).
    pub(crate) fn literal(&self) -> Option<SocketAddr> {
        self.host
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, self.port))
    }

    /// A resolver's answer for this target's host as an [`Error::Resolve`] when it failed or
    /// named no address (one place for the std and the tokio resolvers).
    pub(crate) fn resolved(
        &self,
        answer: io::Result<Vec<SocketAddr>>,
    ) -> Result<Vec<SocketAddr>, Error> {
        match answer {
            Ok(addrs) if !addrs.is_empty() => Ok(addrs),
            Ok(_) => Err(Error::Resolve {
                host: self.host.clone(),
                source: None,
            }),
            Err(e) => Err(Error::Resolve {
                host: self.host.clone(),
                source: Some(e),
            }),
        }
    }
}

/// An IPv6 address, optionally with a zone (`fe80::1%eth0`, `fe80::1%2`); the resolver turns
/// the zone into the scope id.
fn is_ipv6(host: &str) -> bool {
    let (addr, zone) = host.split_once('%').unwrap_or((host, "x"));
    addr.parse::<std::net::Ipv6Addr>().is_ok()
        && !zone.is_empty()
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl FromStr for Target {
    type Err = Error;

    /// [`Target::parse`] with the lab's port, [`DEFAULT_PORT`].
    fn from_str(s: &str) -> Result<Target, Error> {
        Target::parse(s, DEFAULT_PORT)
    }
}

impl Display for Target {
    /// `host:port`, `[v6]:port`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// TCP keepalive settings: after `idle` without traffic the OS probes every `interval`, and
/// gives up after `retries` unanswered probes (then a pending read fails).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence before the first probe.
    pub idle: Duration,
    /// Time between probes (where the OS lets it be set).
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped (where the OS lets it be set).
    pub retries: u32,
}

impl Default for Keepalive {
    /// 30 s idle, then a probe every 10 s, 3 probes: a vanished server is noticed within
    /// about a minute.
    fn default() -> Self {
        Keepalive {
            idle: Duration::from_secs(30),
            interval: Duration::from_secs(10),
            retries: 3,
        }
    }
}

/// Retries while the server refuses connections (it is not up yet), with exponential backoff
/// and jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Further attempts after the first (0: no retries).
    pub retries: u32,
    /// Delay before the first retry; each next delay doubles, up to `max_delay`.
    pub initial_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Retry {
    /// No retries.
    pub const NONE: Retry = Retry {
        retries: 0,
        initial_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(8),
    };

    /// `retries` retries from 250 ms, doubling up to 8 s.
    pub const fn times(retries: u32) -> Retry {
        Retry {
            retries,
            ..Retry::NONE
        }
    }

    /// The delay before retry number `retry` (0-based): `initial_delay * 2^retry`, capped at
    /// `max_delay`, then scaled by a random factor in [0.5, 1] ("equal jitter") so that many
    /// clients started together do not retry in lockstep.
    pub fn delay(&self, retry: u32) -> Duration {
        let base = self
            .initial_delay
            .checked_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        base.mul_f64(0.5 + 0.5 * fastrand::f64())
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry::NONE
    }
}

/// How to connect: see [`connect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Bound on each address's connection attempt (`None`: the OS's own, often minutes).
    pub timeout: Option<Duration>,
    /// Retries while refused.
    pub retry: Retry,
    /// TCP_NODELAY (on by default).
    pub nodelay: bool,
    /// TCP keepalive (`None`: off).
    pub keepalive: Option<Keepalive>,
    /// Port used when the address names none.
    pub default_port: u16,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions::new()
    }
}

impl ConnectOptions {
    /// 10 s connect timeout, no retries, TCP_NODELAY, default keepalive, port 12000.
    pub const fn new() -> Self {
        ConnectOptions {
            timeout: Some(Duration::from_secs(10)),
            retry: Retry::NONE,
            nodelay: true,
            keepalive: Some(Keepalive {
                idle: Duration::from_secs(30),
                interval: Duration::from_secs(10),
                retries: 3,
            }),
            default_port: DEFAULT_PORT,
        }
    }

    /// Sets the connect timeout.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retries.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Sets TCP keepalive.
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }
}

/// What [`connect_with`] reports as it goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// Trying this address (attempt `attempt`, from 1).
    Trying {
        /// The address.
        addr: SocketAddr,
        /// The attempt (1 = the first).
        attempt: u32,
    },
    /// The attempt failed with `error`; retrying after `delay`.
    Retrying {
        /// Why the attempt failed.
        error: &'a Error,
        /// The wait before the next attempt.
        delay: Duration,
        /// The next attempt (from 2).
        attempt: u32,
    },
}

/// Connects to `address` (`HOST:PORT`, see [`Target::parse`]) as `options` say. See
/// [`connect_with`].
///
/// # Errors
///
/// As [`connect_with`].
pub fn connect(address: &str, options: &ConnectOptions) -> Result<Transport, Error> {
    connect_with(address, options, |_| {})
}

/// Connects to `address`, reporting each attempt to `progress`: resolves it, tries each
/// address in turn (each bounded by `options.timeout`), and when every address refused,
/// retries after a backoff as `options.retry` allows. Host names are resolved again on each
/// attempt. Then sets TCP_NODELAY and keepalive and returns the stream, blocking, without
/// read timeouts (set them with [`Timeouts`]). A connection that completed is never a connect
/// failure, even if the server reset it at once (see [`Stream`]). Allocates the resolved
/// addresses and the error's strings.
///
/// # Errors
///
/// [`Error::InvalidAddress`], [`Error::Resolve`], [`Error::Refused`] (every address, every
/// attempt), [`Error::ConnectTimeout`], [`Error::Connect`]; [`Error::Io`] when a socket
/// option cannot be set.
pub fn connect_with(
    address: &str,
    options: &ConnectOptions,
    progress: impl FnMut(Progress<'_>),
) -> Result<Transport, Error> {
    let mut attempts = Attempts::new(address, options, progress)?;
    loop {
        for addr in attempts.target.resolve()? {
            attempts.trying(addr);
            match stream::connect(addr, options.timeout) {
                Ok(stream) => return attempts.connected(&*stream).map(|()| FromStd::new(stream)),
                Err(e) => attempts.failed(addr, e),
            }
        }
        std::thread::sleep(attempts.retry()?);
    }
}

/// The connect loop's state and decisions, one for the std and the tokio loops (which only
/// resolve, connect and sleep their own way): the attempt number, what `progress` hears, the
/// error to report, whether and when to retry, the options of a connected socket.
pub(crate) struct Attempts<'o, P> {
    pub(crate) target: Target,
    options: &'o ConnectOptions,
    progress: P,
    attempt: u32,
    /// The error to report if every address of this attempt fails.
    last: Option<Error>,
}

impl<'o, P: FnMut(Progress<'_>)> Attempts<'o, P> {
    /// The first attempt at `address`; fails if it is not a valid address.
    pub(crate) fn new(
        address: &str,
        options: &'o ConnectOptions,
        progress: P,
    ) -> Result<Self, Error> {
        Ok(Attempts {
            target: Target::parse(address, options.default_port)?,
            options,
            progress,
            attempt: 1,
            last: None,
        })
    }

    /// Reports that `addr` is tried.
    pub(crate) fn trying(&mut self, addr: SocketAddr) {
        let attempt = self.attempt;
        (self.progress)(Progress::Trying { addr, attempt });
    }

    /// `addr` failed with `e`. Of an attempt's errors the last is reported, except that a
    /// refusal is reported over a timeout or other error only when every address refused.
    pub(crate) fn failed(&mut self, addr: SocketAddr, e: io::Error) {
        let error = connect_error(&self.target, addr, e, self.options);
        self.last = Some(more_telling(self.last.take(), error));
    }

    /// Sets TCP_NODELAY and keepalive on a connected socket as the options say.
    pub(crate) fn connected<'s>(&self, socket: impl Into<SockRef<'s>>) -> Result<(), Error> {
        configure(socket.into(), self.options).map_err(Error::Io)
    }

    /// Every address of this attempt failed: the wait before the next attempt (reported to
    /// `progress`), or the error when it is final. Only a refusal is retried, as
    /// `options.retry` allows.
    pub(crate) fn retry(&mut self) -> Result<Duration, Error> {
        let error = self.last.take().unwrap_or_else(|| Error::Resolve {
            host: self.target.host.clone(),
            source: None,
        });
        if !matches!(error, Error::Refused { .. }) || self.attempt > self.options.retry.retries {
            return Err(error);
        }
        let delay = self.options.retry.delay(self.attempt - 1);
        self.attempt += 1;
        (self.progress)(Progress::Retrying {
            error: &error,
            delay,
            attempt: self.attempt,
        });
        Ok(delay)
    }
}

/// A failed connection attempt to `addr` as an [`Error`]: refused, timed out (std reports
/// `connect_timeout`'s expiry as `TimedOut` or `WouldBlock`), or anything else.
fn connect_error(
    target: &Target,
    addr: SocketAddr,
    e: io::Error,
    options: &ConnectOptions,
) -> Error {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Error::Refused {
            target: target.clone(),
            addr,
        },
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::ConnectTimeout {
            target: target.clone(),
            addr,
            after: options.timeout.unwrap_or_default(),
        },
        _ => Error::Connect {
            target: target.clone(),
            addr,
            source: e,
        },
    }
}

/// Of two failed attempts, the error to report: anything but a refusal beats a refusal (a
/// refusal is retried, and says "is the server running?", which is wrong if one address
/// timed out); otherwise the later one.
fn more_telling(last: Option<Error>, error: Error) -> Error {
    match last {
        Some(prev @ (Error::ConnectTimeout { .. } | Error::Connect { .. }))
            if matches!(error, Error::Refused { .. }) =>
        {
            prev
        }
        _ => error,
    }
}

/// TCP_NODELAY and keepalive.
fn configure(socket: SockRef<'_>, options: &ConnectOptions) -> io::Result<()> {
    socket.set_tcp_nodelay(options.nodelay)?;
    if let Some(k) = options.keepalive {
        let params = TcpKeepalive::new().with_time(k.idle);
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "windows"
        ))]
        let params = params.with_interval(k.interval).with_retries(k.retries);
        socket.set_tcp_keepalive(&params)?;
    }
    Ok(())
}
