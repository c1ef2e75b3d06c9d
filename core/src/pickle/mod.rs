//! The pickle wire format: opcodes, a zero-copy decoder, a serde encoder and a stream framer.
//!
//! Knows bytes and values only; nothing here does I/O or knows about sessions.

#[cfg(any(feature = "float-text", feature = "repr", feature = "pickler"))]
mod big;
mod de;
mod de_node;
mod de_pull;
mod decode;
mod error;
#[cfg(any(feature = "repr", feature = "pickler"))]
mod float_repr;
#[cfg(feature = "float-text")]
mod float_text;
mod framer;
mod keys;
pub(crate) mod number;
pub(crate) mod objects;
pub mod opcodes;
#[cfg(test)]
mod oracle;
mod outgoing;
#[cfg(feature = "alloc")]
mod owned;
mod printable;
mod pynum;
mod repr;
#[cfg(feature = "pickler")]
mod ser;
mod text;
mod value;

pub use de::{from_slice, MAX_ESCAPED_LEN};
pub(crate) use decode::arena::NodeId;
#[cfg(feature = "alloc")]
pub use decode::HeapDecoder;
pub use decode::{Decoder, MAX_DEPTH, MAX_EXPANSION};
pub use error::{Capacity, Error, Global, GLOBAL_NAME_LEN, MESSAGE_LEN};
pub use framer::{Framer, Progress};
pub use objects::{Class, Date, Object, Standard, Time, TimeDelta, TimeZone};
pub use opcodes::Opcode;
pub use outgoing::{Pickled, ToPickle};
#[cfg(feature = "alloc")]
pub use owned::{to_vec, to_vec_with_memo, Message, Pickles, StreamError};
pub use repr::{Budget, Escaped};
#[cfg(feature = "pickler")]
pub use ser::{to_slice, to_slice_with_memo, PyInt, PyStr, Serializer, MEMO_CAPACITY};
#[cfg(feature = "alloc")]
pub use ser::{DefaultFactory, PyCounter, PyDefaultDict, PyDeque, PyOrderedDict, PyStandard};
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

/// How the encoder writes a pickle: its [`Protocol`] and whether it writes what Python 2.7's
/// `pickle` module writes. Every `Protocol` converts into one (`Encoding::new`), so
/// [`to_slice`] takes either.
///
/// With [`python2`](Self::python2), in protocols 0–2 (Python 2's own), strs of ASCII text and
/// bytes are written as Python 2 byte strings (`str`: SHORT_BINSTRING or BINSTRING, or STRING
/// with Python 2's `repr` quoting in protocol 0), other text as `unicode`, and ints of up to
/// 64 bits as Python 2 `int`s: a Python 2 server then sees `'Ada'`, not `u'Ada'`. Python 3
/// loads such strings as `str` (`bytes` with `pickle.loads(data, encoding='bytes')`). The
/// flag changes nothing in protocols 3–5, which Python 2 cannot read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Encoding {
    protocol: Protocol,
    python2: bool,
}

impl Encoding {
    /// `protocol`, written as CPython 3 writes it.
    pub const fn new(protocol: Protocol) -> Self {
        Encoding {
            protocol,
            python2: false,
        }
    }

    /// `protocol`, written as Python 2.7's `pickle.dumps(obj, protocol)` writes it (see the
    /// [type documentation](Self)); the same as [`new`](Self::new) for protocols 3–5.
    pub const fn python2(protocol: Protocol) -> Self {
        Encoding {
            protocol,
            python2: true,
        }
    }

    /// The protocol written.
    pub const fn protocol(self) -> Protocol {
        self.protocol
    }

    /// Whether strs and ints are written as Python 2 writes them (only ever true for
    /// protocols 0–2).
    pub const fn is_python2(self) -> bool {
        self.python2 && (self.protocol as u8) <= 2
    }
}

impl From<Protocol> for Encoding {
    fn from(protocol: Protocol) -> Self {
        Encoding::new(protocol)
    }
}

impl core::fmt::Display for Encoding {
    /// The protocol's number, with `(Python 2)` after it when [`is_python2`](Self::is_python2).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_python2() {
            write!(f, "{} (Python 2)", self.protocol)
        } else {
            write!(f, "{}", self.protocol)
        }
    }
}
