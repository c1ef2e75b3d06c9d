//! The pickle wire format: opcodes, a zero-copy decoder, a serde encoder and a stream framer.
//!
//! Knows bytes and values only; nothing here does I/O or knows about sessions.

mod de;
mod decode;
mod error;
mod float_repr;
mod framer;
mod number;
pub mod opcodes;
#[cfg(test)]
mod oracle;
#[cfg(feature = "alloc")]
mod owned;
mod printable;
mod repr;
mod ser;
mod text;
mod value;

pub use de::{from_slice, MAX_ESCAPED_LEN};
pub use decode::{Decoder, MAX_DEPTH, MAX_EXPANSION};
pub use error::{Capacity, Error, Global, GLOBAL_NAME_LEN, MESSAGE_LEN};
pub use framer::{Framer, Progress};
pub use opcodes::Opcode;
#[cfg(feature = "alloc")]
pub use owned::{to_vec, to_vec_with_memo, Message, Pickles, StreamError};
pub use ser::{to_slice, to_slice_with_memo, Serializer, MEMO_CAPACITY};
pub use value::{BigInt, Bytes, Dict, DictIter, Seq, SeqIter, Str, Value};

/// A pickle protocol version. CPython 3.8–3.13 write [`Protocol::V4`] by default, and so does brine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Protocol {
    /// Protocol 0: the original text protocol (Python 1.x).
    V0 = 0,
    /// Protocol 1: the old binary protocol.
    V1 = 1,
    /// Protocol 2: Python 2.3+ (new-style classes, `PROTO` header).
    V2 = 2,
    /// Protocol 3: Python 3.0+ (`bytes`).
    V3 = 3,
    /// Protocol 4: Python 3.4+ (framing, short strings, sets). The default.
    #[default]
    V4 = 4,
    /// Protocol 5: Python 3.8+ (`bytearray` opcode, out-of-band buffers).
    V5 = 5,
}

impl Protocol {
    /// The newest protocol brine reads and writes.
    pub const HIGHEST: Protocol = Protocol::V5;

    /// The protocol numbered `n`, or `None` above 5.
    pub const fn from_u8(n: u8) -> Option<Self> {
        Some(match n {
            0 => Protocol::V0,
            1 => Protocol::V1,
            2 => Protocol::V2,
            3 => Protocol::V3,
            4 => Protocol::V4,
            5 => Protocol::V5,
            _ => return None,
        })
    }

    /// The protocol's number.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl core::fmt::Display for Protocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.as_u8())
    }
}
