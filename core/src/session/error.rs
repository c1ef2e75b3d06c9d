//! Why a session failed, by domain: the server broke the protocol ([`PeerFault`]), a message
//! does not fit the session's fixed memory ([`Limit`]), the session was called out of order
//! ([`Misuse`]), or a message to send cannot be pickled.

use core::fmt::{self, Display};

use super::{Preview, CLIENT_ID_PICKLE_LEN, CLIENT_ID_VALUES};
use crate::framing::FrameError;
use crate::pickle;

/// Why the session failed. After an error from the receive side (`poll`, `next_event`) or
/// from [`start`](super::Session::start), the session is [`State::Closed`](super::State);
/// [`queue`](super::Session::queue)'s errors leave it as it was.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The server broke the protocol.
    Peer(PeerFault),
    /// A message does not fit the session's fixed memory.
    Limit(Limit),
    /// The session was called out of order.
    Misuse(Misuse),
    /// A message to send cannot be pickled (or the identity cannot be pickled again in the
    /// encoding the server asks for).
    Encode(pickle::Error),
}

/// The server broke the protocol.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PeerFault {
    /// The server closed the connection before sending the client id.
    ClosedBeforeClientId,
    /// The server closed the connection in the middle of a pickle.
    ClosedMidMessage {
        /// Bytes of the unfinished pickle received.
        received: usize,
    },
    /// The byte stream is not pickles (no message boundary can be found past this point), or
    /// the client-id message is not a pickle brine accepts.
    InvalidPickle {
        /// Offset in the stream where the failing message began (for a byte that begins no
        /// message, that byte's offset), whatever the sizes of the reads.
        stream_offset: usize,
        /// What is wrong.
        error: pickle::Error,
    },
    /// A length prefix the session's [`Framing`](crate::framing::Framing) never writes (the
    /// stream cannot be followed past it).
    BadPrefix {
        /// Offset in the stream where the prefix began.
        stream_offset: usize,
        /// What is wrong.
        error: FrameError,
    },
    /// The first message is neither a dict with `'clientid'` nor a bare `int` or `str`.
    NotAClientId {
        /// The start of its repr, and its type.
        first: Preview,
    },
}

/// A message does not fit the session's fixed memory.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Limit {
    /// The first message is larger than the receive buffer, so no client id can be read
    /// from it (a later message that large is skipped instead).
    FirstMessageTooLarge {
        /// The receive buffer's size in bytes.
        limit: usize,
    },
    /// The first message holds a client id larger than brine keeps
    /// ([`CLIENT_ID_PICKLE_LEN`] bytes pickled, [`CLIENT_ID_VALUES`] values).
    ClientIdTooLarge {
        /// The start of its repr, and its type.
        first: Preview,
        /// Its pickle's length in bytes.
        len: usize,
    },
    /// A message to send does not fit the transmit buffer.
    TransmitBufferTooSmall {
        /// The buffer's size in bytes.
        capacity: usize,
    },
}

/// The session was called out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// Messages can be sent only once the client id arrived.
    HandshakeIncomplete,
    /// [`Session::start`](super::Session::start) has not been called.
    NotStarted,
    /// The session is closed.
    Closed,
}

impl From<PeerFault> for Error {
    fn from(e: PeerFault) -> Self {
        Error::Peer(e)
    }
}

impl From<Limit> for Error {
    fn from(e: Limit) -> Self {
        Error::Limit(e)
    }
}

impl From<Misuse> for Error {
    fn from(e: Misuse) -> Self {
        Error::Misuse(e)
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Peer(e) => Display::fmt(e, f),
            Error::Limit(e) => Display::fmt(e, f),
            Error::Misuse(e) => Display::fmt(e, f),
            Error::Encode(e) => write!(f, "cannot pickle the message: {e}"),
        }
    }
}

impl Display for PeerFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerFault::ClosedBeforeClientId => {
                f.write_str("the server closed the connection before sending a client id")
            }
            PeerFault::ClosedMidMessage { received } => write!(
                f,
                "the server closed the connection in the middle of a message ({received} bytes of it received)"
            ),
            PeerFault::InvalidPickle {
                stream_offset,
                error,
            } => write!(f, "{error} (message at stream offset {stream_offset})"),
            PeerFault::BadPrefix {
                stream_offset,
                error,
            } => write!(
                f,
                "{error} (at stream offset {stream_offset}); is --framing right for this server?"
            ),
            PeerFault::NotAClientId { first } => write!(
                f,
                "the server's first message is not a client id: got {first} (a {}); \
                 a lab server sends {{'clientid': id}} first (or a bare int or str)",
                first.type_name()
            ),
        }
    }
}

impl Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::FirstMessageTooLarge { limit } => write!(
                f,
                "the server's first message is larger than the {limit}-byte receive buffer, \
                 so no client id can be read from it"
            ),
            Limit::ClientIdTooLarge { first, len } => write!(
                f,
                "the server's client id is too large: {first} ({len} bytes pickled; brine \
                 keeps ids of up to {CLIENT_ID_PICKLE_LEN} bytes and {CLIENT_ID_VALUES} values)"
            ),
            Limit::TransmitBufferTooSmall { capacity } => write!(
                f,
                "the message does not fit the {capacity}-byte transmit buffer"
            ),
        }
    }
}

impl Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Misuse::HandshakeIncomplete => "cannot send before the server assigned a client id",
            Misuse::NotStarted => "the session has not been started",
            Misuse::Closed => "the session is closed",
        })
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::Peer(e) => defmt::write!(f, "Peer({})", e),
            Error::Limit(e) => defmt::write!(f, "Limit({})", e),
            Error::Misuse(e) => defmt::write!(f, "Misuse({})", e),
            Error::Encode(e) => defmt::write!(f, "Encode({})", e),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for PeerFault {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            PeerFault::ClosedBeforeClientId => defmt::write!(f, "ClosedBeforeClientId"),
            PeerFault::ClosedMidMessage { received } => {
                defmt::write!(f, "ClosedMidMessage after {}", received)
            }
            PeerFault::InvalidPickle {
                stream_offset,
                error,
            } => defmt::write!(f, "InvalidPickle at {}: {}", stream_offset, error),
            PeerFault::BadPrefix {
                stream_offset,
                error,
            } => defmt::write!(f, "BadPrefix at {}: {}", stream_offset, error),
            PeerFault::NotAClientId { first } => defmt::write!(f, "NotAClientId: {}", first),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Limit {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Limit::FirstMessageTooLarge { limit } => {
                defmt::write!(f, "FirstMessageTooLarge (over {})", limit)
            }
            Limit::ClientIdTooLarge { first, len } => {
                defmt::write!(f, "ClientIdTooLarge ({} bytes): {}", len, first)
            }
            Limit::TransmitBufferTooSmall { capacity } => {
                defmt::write!(f, "TransmitBufferTooSmall {}", capacity)
            }
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Misuse {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Misuse::HandshakeIncomplete => defmt::write!(f, "HandshakeIncomplete"),
            Misuse::NotStarted => defmt::write!(f, "NotStarted"),
            Misuse::Closed => defmt::write!(f, "Closed"),
        }
    }
}
