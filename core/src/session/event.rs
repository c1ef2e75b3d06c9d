//! What the session reports: its [`Event`]s, in stream order, and why a message was skipped.

use core::fmt::{self, Display};

use super::ClientId;
use crate::pickle::{self, Value};

/// What happened on the connection, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The server assigned this id (first event of a session).
    ClientId(ClientId),
    /// The server's first message under [`Greeting::Any`](super::Greeting::Any) (first event
    /// of such a session; the identity is sent after it); borrows as a message does.
    Greeting(Value<'a>),
    /// A message; it borrows the receive buffer and the decoder until the next call.
    Message(Value<'a>),
    /// A message that was not delivered, and why; the session goes on with the next one.
    Skipped {
        /// The pickle's length in bytes.
        len: usize,
        /// Why it was skipped.
        reason: SkipReason,
    },
    /// The server closed the connection in order (last event).
    Closed,
}

/// Why a message was skipped.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The pickle is larger than the receive buffer; its bytes were discarded unread.
    TooLarge {
        /// The receive buffer's size.
        limit: usize,
    },
    /// The decoder refused the pickle (code-running opcodes, malformed, over capacity).
    Refused(pickle::Error),
}

impl Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TooLarge { limit } => {
                write!(f, "larger than the {limit}-byte receive buffer")
            }
            SkipReason::Refused(e) => Display::fmt(e, f),
        }
    }
}

/// One step of the session ([`Session::poll`](super::Session::poll)): an event, or a request
/// for more bytes, as httparse's `Status` and postcard's `FeedResult` say it.
#[derive(Debug)]
pub enum Status<'a> {
    /// The next event; a message borrows the session until the next call.
    Event(Event<'a>),
    /// The bytes received so far hold no complete event: read into
    /// [`receive_buffer`](super::Session::receive_buffer), [`commit`](super::Session::commit),
    /// and call again.
    Partial,
}
