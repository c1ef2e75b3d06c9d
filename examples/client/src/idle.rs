//! `--idle-timeout` as the time allowed without a message, even while one is arriving.
//!
//! The adapter's [`Timeouts`] bound each read: `--timeout` each wait for more bytes of a
//! started message, `--idle-timeout` the wait for the first byte of the next one. A peer that
//! sends one byte per second keeps every read short, so a message that never ends would keep
//! the client forever. [`IdleBound`] also caps each read inside a message by what is left of
//! `--idle-timeout` since the last message (the client id, a message or a skipped one), which
//! the session loop reports through the shared [`IdleClock`].
//!
//! The clock also holds the hint deadline (`--hint-after`): a wait for the next message is cut
//! there once, so the session loop can print its hint and go on listening.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use brine_adapters::tcp::{Timeouts, Transport};
use brine_core::blocking::BeforeRead;
use brine_core::session::Waiting;

/// When the last message arrived, and whether the read in progress is bounded by what is
/// left of the idle timeout (so its timing out means: no message for that long).
#[derive(Clone, Debug)]
pub struct IdleClock {
    last: Rc<Cell<Instant>>,
    cut: Rc<Cell<bool>>,
    hint_at: Rc<Cell<Option<Instant>>>,
    hint_cut: Rc<Cell<bool>>,
}

impl IdleClock {
    pub fn new() -> Self {
        IdleClock {
            last: Rc::new(Cell::new(Instant::now())),
            cut: Rc::new(Cell::new(false)),
            hint_at: Rc::new(Cell::new(None)),
            hint_cut: Rc::new(Cell::new(false)),
        }
    }

    /// Cut the wait for the next message at `at` (once), for the hint; `None`: never.
    pub fn hint_at(&self, at: Option<Instant>) {
        self.hint_at.set(at);
    }

    /// Whether the last read was cut at the hint deadline (which is then spent).
    pub fn hint_due(&self) -> bool {
        let due = self.hint_cut.replace(false);
        if due {
            self.hint_at.set(None);
        }
        due
    }

    /// A message (or the client id, or a skipped message) arrived now.
    pub fn message(&self) {
        self.last.set(Instant::now());
    }

    /// Whether the last read was bounded by the idle timeout rather than by `--timeout`.
    pub fn cut(&self) -> bool {
        self.cut.get()
    }
}

/// The read hook: [`Timeouts`], and inside a message at most what is left of `idle`.
pub struct IdleBound {
    timeouts: Timeouts,
    clock: IdleClock,
}

impl IdleBound {
    pub fn new(timeouts: Timeouts, clock: IdleClock) -> Self {
        IdleBound { timeouts, clock }
    }
}

impl BeforeRead<Transport> for IdleBound {
    fn before_read(&mut self, transport: &mut Transport, waiting: Waiting) -> io::Result<()> {
        self.clock.cut.set(false);
        self.clock.hint_cut.set(false);
        self.timeouts.before_read(transport, waiting)?;
        if let (Some(at), Waiting::NextMessage) = (self.clock.hint_at.get(), waiting) {
            let left = at.saturating_duration_since(Instant::now());
            if self.timeouts.idle.is_none_or(|idle| left < idle) {
                self.clock.hint_cut.set(true);
                if left.is_zero() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                self.set(transport, left)?;
            }
            return Ok(());
        }
        let (Some(idle), Waiting::RestOfMessage) = (self.timeouts.idle, waiting) else {
            return Ok(());
        };
        let left = idle.saturating_sub(self.clock.last.get().elapsed());
        let reply = self.timeouts.reply;
        if reply.is_some_and(|reply| reply <= left) {
            return Ok(());
        }
        self.clock.cut.set(true);
        if left.is_zero() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.set(transport, left)
    }
}

impl IdleBound {
    /// Sets the socket's read timeout to `left` (at least 1 ms) for this read.
    fn set(&mut self, transport: &mut Transport, left: Duration) -> io::Result<()> {
        transport
            .inner()
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        // The socket's timeout is no longer the one `Timeouts` set and remembers: a fresh
        // copy (same bounds) sets it again on the next read. Its client-id clock is not
        // needed any more: this is past the handshake.
        self.timeouts = Timeouts::new(self.timeouts.reply).with_idle(self.timeouts.idle);
        Ok(())
    }
}
