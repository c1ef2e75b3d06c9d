//! [`Timeouts`]: every bound on a wait of the TCP clients (std and tokio), the idle clock,
//! and the one classification of a wait that ran out.

use std::io;
use std::time::{Duration, Instant};

use brine_core::blocking::{self, BeforeRead};
use brine_core::session::Waiting;

use super::{Error, Transport};

/// The client's bounds on waiting: `reply` bounds the wait for the client id (from the
/// first read to the id, in all) and each wait for more bytes of a started message; `idle`
/// bounds the time without an event (`None`: wait as long as the server stays connected, as
/// the lab client does).
///
/// The idle clock runs from the last event reported with
/// [`event_arrived`](Timeouts::event_arrived) ([`Client`](super::Client) and the tokio
/// client report every one; the core clients' `run` reports each read's events through
/// [`BeforeRead::events_arrived`]), so a peer trickling a message that never ends is cut off
/// after `idle` too. Used directly as a [`BeforeRead`] hook without those reports (the core
/// clients' `next_event`), `idle` bounds each wait for a next message instead.
///
/// ```no_run
/// # use brine_adapters::tcp::{Client, ConnectOptions, Timeouts};
/// # use std::time::Duration;
/// let timeouts = Timeouts::new(Some(Duration::from_secs(5)));
/// let mut client = Client::connect("127.0.0.1:12000", &ConnectOptions::new(), timeouts).unwrap();
/// let me = [("name", "Jose Ortiz")].into_iter().collect::<std::collections::BTreeMap<_, _>>();
/// if let Err(e) = client.handshake(&me) {
///     eprintln!("{e}"); // "timed out after 5 s waiting for the client id", ...
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Timeouts {
    /// Bound on the client id wait and on each wait inside a message.
    pub reply: Option<Duration>,
    /// Bound on the time without an event.
    pub idle: Option<Duration>,
    /// When the wait for the client id began.
    id_since: Option<Instant>,
    /// When the last event arrived (the idle clock), once one did.
    last_event: Option<Instant>,
    /// Whether the bound last given is what is left of `idle`.
    idle_cut: bool,
    /// The read timeout last set on the socket (to skip redundant system calls).
    current: Option<Option<Duration>>,
}

impl Timeouts {
    /// `reply` for the id and started messages, no idle bound.
    pub fn new(reply: Option<Duration>) -> Self {
        Timeouts {
            reply,
            ..Timeouts::default()
        }
    }

    /// Sets the idle bound.
    pub fn with_idle(mut self, idle: Option<Duration>) -> Self {
        self.idle = idle;
        self
    }

    /// An event (the client id, a message, a skipped message) arrived now: restarts the idle
    /// clock.
    pub fn event_arrived(&mut self) {
        self.last_event = Some(Instant::now());
    }

    /// The bound on a wait while the session is `waiting` (`client.session().waiting()`):
    /// for [`Waiting::ClientId`] what is left of `reply` since the first wait for the id, for
    /// [`Waiting::RestOfMessage`] `reply` or, if shorter, what is left of `idle`, for
    /// [`Waiting::NextMessage`] what is left of `idle`; `None` means no bound.
    ///
    /// # Errors
    ///
    /// The timeout error ([`Error::Timeout`], [`Error::Idle`]) when that time is already up.
    pub fn bound(&mut self, waiting: Waiting) -> Result<Option<Duration>, Error> {
        self.idle_cut = false;
        let bound = match waiting {
            Waiting::ClientId => self.reply.map(|reply| {
                let since = *self.id_since.get_or_insert_with(Instant::now);
                reply.saturating_sub(since.elapsed())
            }),
            Waiting::RestOfMessage => match (self.reply, self.idle_left()) {
                (reply, Some(left)) if reply.is_none_or(|reply| left < reply) => {
                    self.idle_cut = true;
                    Some(left)
                }
                (reply, _) => reply,
            },
            Waiting::NextMessage => {
                self.idle_cut = true;
                self.idle.map(|idle| self.idle_left().unwrap_or(idle))
            }
            _ => None,
        };
        match bound {
            Some(left) if left.is_zero() => Err(self.ran_out(waiting)),
            _ => Ok(bound),
        }
    }

    /// What is left of `idle` since the last event, once the idle clock runs.
    fn idle_left(&self) -> Option<Duration> {
        let since = self.last_event?;
        Some(self.idle?.saturating_sub(since.elapsed()))
    }

    /// The error for a wait bounded by [`bound`](Timeouts::bound) that ran out while the
    /// session was `waiting`: [`Error::Idle`] when the bound was what was left of `idle`,
    /// else [`Error::Timeout`]; `None` when that wait had no bound.
    pub fn elapsed(&self, waiting: Waiting) -> Option<Error> {
        if self.idle_cut {
            return self.idle.map(|after| Error::Idle { after });
        }
        match waiting {
            Waiting::ClientId | Waiting::RestOfMessage => {
                self.reply.map(|after| Error::Timeout { waiting, after })
            }
            _ => self.idle.map(|after| Error::Idle { after }),
        }
    }

    /// The error for a wait bounded by [`bound`](Timeouts::bound) that ran out: as
    /// [`elapsed`](Timeouts::elapsed), or a plain timed-out I/O error for an unbounded wait.
    /// An [`Error::Idle`] restarts the idle clock, so a caller that goes on waits `idle` again.
    pub(crate) fn ran_out(&mut self, waiting: Waiting) -> Error {
        let error = self
            .elapsed(waiting)
            .unwrap_or_else(|| Error::Io(io::ErrorKind::TimedOut.into()));
        if matches!(error, Error::Idle { .. }) {
            self.event_arrived();
        }
        error
    }

    /// Turns a client error into an [`Error`], given what the session waited for when it
    /// failed (`client.session().waiting()`): a read that timed out becomes
    /// [`Error::Timeout`] or [`Error::Idle`] (which restarts the idle clock), other I/O errors
    /// [`Error::Io`], session errors [`Error::Protocol`].
    pub fn error(&mut self, error: blocking::Error<io::Error>, waiting: Waiting) -> Error {
        match error {
            blocking::Error::Transport(e) if is_read_timeout(&e) => match self.elapsed(waiting) {
                Some(_) => self.ran_out(waiting),
                None => Error::Io(e),
            },
            other => client_error(other),
        }
    }
}

/// A client error that is not a timeout: transport errors as [`Error::Io`], session errors
/// as [`Error::Protocol`].
pub(crate) fn client_error(error: blocking::Error<io::Error>) -> Error {
    match error {
        blocking::Error::Transport(e) => Error::Io(e),
        blocking::Error::WriteZero => Error::Io(io::ErrorKind::WriteZero.into()),
        blocking::Error::Session(e) => Error::Protocol(e),
        other => Error::Io(io::Error::other(other.to_string())),
    }
}

/// Whether a read failed because its timeout ran out: the one classification of timeout
/// errors. Unix reports a read timeout as `WouldBlock` (EAGAIN) and a dead connection found
/// by keepalive as `TimedOut` (ETIMEDOUT, a lost connection); Windows reports a read timeout
/// as `TimedOut`.
fn is_read_timeout(e: &io::Error) -> bool {
    match e.kind() {
        io::ErrorKind::WouldBlock => true,
        io::ErrorKind::TimedOut => cfg!(not(unix)),
        _ => false,
    }
}

impl BeforeRead<Transport> for Timeouts {
    /// Sets the socket's read timeout to [`bound`](Timeouts::bound); a bound already up is a
    /// `WouldBlock` error, which [`error`](Timeouts::error) turns into the timeout.
    fn before_read(&mut self, transport: &mut Transport, waiting: Waiting) -> io::Result<()> {
        let timeout = self
            .bound(waiting)
            .map_err(|_| io::Error::from(io::ErrorKind::WouldBlock))?
            // A zero read timeout means "none" to std: never set one.
            .map(|t| t.max(Duration::from_millis(1)));
        if self.current != Some(timeout) {
            transport.inner().set_read_timeout(timeout)?;
            self.current = Some(timeout);
        }
        Ok(())
    }

    /// The core clients' `run` reports the events of each read here: the idle clock
    /// restarts ([`event_arrived`](Timeouts::event_arrived)).
    fn events_arrived(&mut self) {
        self.event_arrived();
    }
}
