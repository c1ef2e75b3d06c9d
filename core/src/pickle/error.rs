//! The pickle layer's one error type.

use core::fmt::{self, Display, Write as _};

use super::opcodes::Opcode;

/// Longest module or attribute name kept in a [`Error::Refused`] report; longer names are cut.
pub const GLOBAL_NAME_LEN: usize = 32;
/// Longest message kept from a serde `custom` error; longer messages are cut.
pub const MESSAGE_LEN: usize = 64;

/// A module and attribute named by a refused GLOBAL, STACK_GLOBAL or INST (cut to
/// [`GLOBAL_NAME_LEN`] bytes each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// The module, e.g. `os`.
    pub module: heapless::String<GLOBAL_NAME_LEN, u8>,
    /// The attribute, e.g. `system`.
    pub name: heapless::String<GLOBAL_NAME_LEN, u8>,
}

impl Global {
    /// Copies `module` and `name` (lossily, cut at [`GLOBAL_NAME_LEN`] bytes). Allocates nothing.
    pub fn new(module: &[u8], name: &[u8]) -> Self {
        Global {
            module: short_string(module),
            name: short_string(name),
        }
    }
}

/// Copies printable ASCII from `bytes` (others become `?`), cut to fit.
fn short_string<const N: usize>(bytes: &[u8]) -> heapless::String<N, u8> {
    let mut s = heapless::String::new();
    for &b in bytes {
        let c = if (0x20..0x7f).contains(&b) {
            b as char
        } else {
            '?'
        };
        if s.push(c).is_err() {
            break;
        }
    }
    s
}

impl Display for Global {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.module, self.name)
    }
}

/// Which fixed capacity ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Capacity {
    /// Values (nodes) in one decoded pickle.
    Values,
    /// Container items (list/tuple/set elements, dict keys and values) in one decoded pickle.
    Items,
    /// The pickle machine's stack.
    Stack,
    /// Memo entries (PUT, BINPUT, LONG_BINPUT, MEMOIZE).
    Memo,
    /// Nesting depth of containers.
    Depth,
    /// Expanded size (values, string bytes, integer digits) with shared references
    /// expanded: bounds the work of walking a pickle that refers to the same data many times.
    Expansion,
}

impl Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capacity::Values => "values",
            Capacity::Items => "container items",
            Capacity::Stack => "stack entries",
            Capacity::Memo => "memo entries",
            Capacity::Depth => "nesting depth",
            Capacity::Expansion => {
                "bytes of strings, digits and values after expanding shared references"
            }
        })
    }
}

/// Everything that can go wrong in the pickle layer. Variants say which side failed:
/// decoding (input offsets are byte offsets into the pickle), deserializing into a Rust type,
/// or encoding.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    // ---- decoding: the input is not a pickle we accept ----
    /// The input ended at `offset` before the pickle's STOP opcode.
    Truncated {
        /// Where more bytes were needed.
        offset: usize,
    },
    /// The byte at `offset` is not a pickle opcode.
    UnknownOpcode {
        /// The byte.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// An opcode that would import, call or build arbitrary objects. Nothing is looked up or
    /// called; the pickle is refused.
    Refused {
        /// The opcode.
        opcode: Opcode,
        /// Its offset.
        offset: usize,
        /// The global it names, if any.
        global: Option<Global>,
    },
    /// An opcode's argument is malformed (bad digits, bad UTF-8, negative length, ...).
    InvalidArgument {
        /// The opcode.
        opcode: Opcode,
        /// Its offset.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An opcode found the wrong things on the stack (nothing there, no MARK, not a list, ...).
    InvalidStack {
        /// The opcode.
        opcode: Opcode,
        /// Its offset.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// GET of a memo index that was never stored.
    MemoMissing {
        /// The index asked for.
        index: u32,
        /// The GET's offset.
        offset: usize,
    },
    /// A PROTO opcode names a protocol above 5.
    UnsupportedProtocol {
        /// The protocol number.
        version: u8,
        /// The PROTO's offset.
        offset: usize,
    },
    /// A `str` whose bytes are not UTF-8 (found when it is read).
    InvalidUtf8 {
        /// Offset of the string's bytes in the pickle.
        offset: usize,
    },
    /// A dict key or set item that Python cannot hash (a list, dict, set, bytearray, or a
    /// tuple holding one): CPython's `TypeError: unhashable type`.
    Unhashable {
        /// The opcode that added it.
        opcode: Opcode,
        /// Its offset.
        offset: usize,
        /// Python's name of the unhashable type (`"list"`, ...).
        type_name: &'static str,
    },
    /// A container that contains itself and is also reached another way, whose repr would
    /// depend on the path (cycles reached one way are decoded: see [`Seq::is_cycle`]).
    ///
    /// [`Seq::is_cycle`]: super::Seq::is_cycle
    Recursive {
        /// Offset of the STOP at which the cycle was found.
        offset: usize,
    },
    /// A fixed capacity ran out.
    Capacity {
        /// Which one.
        what: Capacity,
        /// Its size.
        limit: usize,
        /// Where (byte offset into the pickle; 0 when not tied to one byte).
        offset: usize,
    },

    // ---- deserializing into a Rust type ----
    /// The pickle holds a Python value of another type than the Rust type wants.
    TypeMismatch {
        /// What the Rust side wanted.
        expected: &'static str,
        /// The Python type found (`"str"`, `"dict"`, ...).
        found: &'static str,
    },
    /// An integer does not fit the Rust integer type.
    IntegerOutOfRange {
        /// The Rust type.
        target: &'static str,
    },
    /// A message from a `Deserialize` or `Serialize` implementation (cut to [`MESSAGE_LEN`]).
    Message(heapless::String<MESSAGE_LEN, u8>),

    // ---- encoding ----
    /// The output buffer is too small for the pickle.
    BufferFull {
        /// The buffer's size in bytes.
        capacity: usize,
    },
    /// A value that has no pickle form in this encoder (e.g. a map key that is a list).
    Unsupported {
        /// What it was.
        what: &'static str,
    },
}

impl Error {
    /// Builds [`Error::Message`] from anything printable, cut to [`MESSAGE_LEN`]. Allocates nothing.
    pub fn message(msg: impl Display) -> Self {
        let mut out = Truncating(heapless::String::new());
        let _ = write!(out, "{msg}");
        Error::Message(out.0)
    }

    /// The byte offset in the pickle the error refers to, if it refers to one.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            Error::Truncated { offset }
            | Error::UnknownOpcode { offset, .. }
            | Error::Refused { offset, .. }
            | Error::InvalidArgument { offset, .. }
            | Error::InvalidStack { offset, .. }
            | Error::MemoMissing { offset, .. }
            | Error::UnsupportedProtocol { offset, .. }
            | Error::Recursive { offset }
            | Error::Unhashable { offset, .. }
            | Error::InvalidUtf8 { offset }
            | Error::Capacity { offset, .. } => Some(offset),
            _ => None,
        }
    }
}

/// A `fmt::Write` into a fixed string that keeps what fits and drops the rest.
struct Truncating<const N: usize>(heapless::String<N, u8>);

impl<const N: usize> fmt::Write for Truncating<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { offset } => {
                write!(f, "pickle truncated: input ended at byte {offset} before STOP")
            }
            Error::UnknownOpcode { byte, offset } => {
                write!(f, "invalid pickle: byte {byte:#04x} at offset {offset} is not an opcode")
            }
            Error::Refused {
                opcode,
                offset,
                global: Some(global),
            } => write!(
                f,
                "refused {opcode} of {global} at byte {offset}: pickles that import or call code are not decoded"
            ),
            Error::Refused { opcode, offset, .. } => write!(
                f,
                "refused {opcode} at byte {offset}: pickles that import or call code are not decoded"
            ),
            Error::InvalidArgument {
                opcode,
                offset,
                reason,
            } => write!(f, "invalid pickle: {opcode} at byte {offset}: {reason}"),
            Error::InvalidStack {
                opcode,
                offset,
                reason,
            } => write!(f, "invalid pickle: {opcode} at byte {offset}: {reason}"),
            Error::MemoMissing { index, offset } => write!(
                f,
                "invalid pickle: memo index {index} read at byte {offset} was never stored"
            ),
            Error::UnsupportedProtocol { version, offset } => write!(
                f,
                "unsupported pickle protocol {version} at byte {offset} (0 to 5 are supported)"
            ),
            Error::InvalidUtf8 { offset } => {
                write!(f, "invalid pickle: the str at byte {offset} is not valid UTF-8")
            }
            Error::Recursive { offset } => write!(
                f,
                "pickle refused at byte {offset}: a container that contains itself is also \
                 reached another way (its repr would depend on the path; brine prints [...] \
                 only for cycles each container of which is reached one way)"
            ),
            Error::Unhashable {
                opcode,
                offset,
                type_name,
            } => write!(
                f,
                "invalid pickle: {opcode} at byte {offset}: unhashable type: '{type_name}' (Python's TypeError)"
            ),
            Error::Capacity {
                what,
                limit,
                offset,
            } => write!(
                f,
                "pickle too large at byte {offset}: more than {limit} {what}"
            ),
            Error::TypeMismatch { expected, found } => {
                write!(f, "expected {expected}, found Python {found}")
            }
            Error::IntegerOutOfRange { target } => {
                write!(f, "integer out of range for {target}")
            }
            Error::Message(msg) => f.write_str(msg),
            Error::BufferFull { capacity } => {
                write!(f, "pickle does not fit the {capacity}-byte output buffer")
            }
            Error::Unsupported { what } => write!(f, "cannot pickle {what}"),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "defmt")]
impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::Truncated { offset } => defmt::write!(f, "Truncated at {}", offset),
            Error::UnknownOpcode { byte, offset } => {
                defmt::write!(f, "UnknownOpcode {=u8:#x} at {}", byte, offset)
            }
            Error::Refused { opcode, offset, .. } => {
                defmt::write!(f, "Refused {} at {}", opcode, offset)
            }
            Error::InvalidArgument {
                opcode,
                offset,
                reason,
            } => defmt::write!(
                f,
                "InvalidArgument {} at {}: {=str}",
                opcode,
                offset,
                reason
            ),
            Error::InvalidStack {
                opcode,
                offset,
                reason,
            } => defmt::write!(f, "InvalidStack {} at {}: {=str}", opcode, offset, reason),
            Error::MemoMissing { index, offset } => {
                defmt::write!(f, "MemoMissing {} at {}", index, offset)
            }
            Error::UnsupportedProtocol { version, offset } => {
                defmt::write!(f, "UnsupportedProtocol {} at {}", version, offset)
            }
            Error::Recursive { offset } => defmt::write!(f, "Recursive at {}", offset),
            Error::Unhashable {
                opcode,
                offset,
                type_name,
            } => defmt::write!(f, "Unhashable {=str} {} at {}", type_name, opcode, offset),
            Error::InvalidUtf8 { offset } => defmt::write!(f, "InvalidUtf8 at {}", offset),
            Error::Capacity {
                what,
                limit,
                offset,
            } => defmt::write!(f, "Capacity {} > {} at {}", what, limit, offset),
            Error::TypeMismatch { expected, found } => {
                defmt::write!(f, "TypeMismatch {=str} / {=str}", expected, found)
            }
            Error::IntegerOutOfRange { target } => {
                defmt::write!(f, "IntegerOutOfRange {=str}", target)
            }
            Error::Message(msg) => defmt::write!(f, "Message {=str}", msg.as_str()),
            Error::BufferFull { capacity } => defmt::write!(f, "BufferFull {}", capacity),
            Error::Unsupported { what } => defmt::write!(f, "Unsupported {=str}", what),
        }
    }
}

impl serde::de::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::message(msg)
    }
}

impl serde::ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::message(msg)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn refused_names_opcode_global_and_offset() {
        let e = Error::Refused {
            opcode: Opcode::GLOBAL,
            offset: 2,
            global: Some(Global::new(b"os", b"system")),
        };
        assert_eq!(
            e.to_string(),
            "refused GLOBAL of os.system at byte 2: pickles that import or call code are not decoded"
        );
        assert_eq!(e.offset(), Some(2));
    }

    #[test]
    fn long_messages_are_cut_not_lost() {
        let long = "x".repeat(500);
        match Error::message(&long) {
            Error::Message(m) => assert_eq!(m.len(), MESSAGE_LEN),
            other => panic!("{other:?}"),
        }
    }
}
