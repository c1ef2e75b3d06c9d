//! The machine's errors while it runs: [`Error`]'s decoding variants in a few words (20 bytes
//! on a 32-bit target, where an `Error`, with room for a refused global's names and a serde
//! message, is 72), so that each `?` between the opcode families moves a few words, not a
//! whole `Error` (measured: 2.9 KB of the smallest lab firmware's flash). A refused global's
//! names stay where they are (input offsets, or a name the decoder knows) until the run
//! ends, where [`Fault::error`] makes the `Error` a caller sees, once.

use crate::pickle::error::{Capacity, Error, Global, GLOBAL_NAME_LEN};
use crate::pickle::opcodes::Opcode;

use super::arena::{span, Builtin};
use super::globals::builtin_name;
use super::machine::At;

/// One decoding error inside the machine; [`Fault::error`] is its [`Error`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Fault {
    /// [`Error::Truncated`].
    Truncated { offset: usize },
    /// [`Error::Refused`], with the global's names where they are.
    Refused {
        opcode: Opcode,
        offset: usize,
        global: Option<Name>,
    },
    /// [`Error::InvalidArgument`].
    InvalidArgument {
        opcode: Opcode,
        offset: usize,
        reason: &'static str,
    },
    /// pickle.py's error for a read that starts inside a FRAME and ends past it (an
    /// argument, or part of one read at once, may not cross its frame's end): the
    /// [`Error::InvalidArgument`] of the opcode being executed, which the reader of the
    /// argument does not know.
    FrameExhausted,
    /// [`Error::InvalidStack`].
    InvalidStack {
        opcode: Opcode,
        offset: usize,
        reason: &'static str,
    },
    /// [`Error::MemoMissing`].
    MemoMissing { index: u32, offset: usize },
    /// [`Error::UnsupportedProtocol`].
    UnsupportedProtocol { version: u8, offset: usize },
    /// [`Error::Unhashable`].
    Unhashable {
        opcode: Opcode,
        offset: usize,
        type_name: &'static str,
    },
    /// [`Error::Recursive`].
    Recursive { offset: usize },
    /// [`Error::Capacity`].
    Capacity {
        what: Capacity,
        limit: usize,
        offset: usize,
    },
}

/// The dotted name of a refused global, not yet copied into a [`Global`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Name {
    /// The module and the name at these input offsets (their first [`GLOBAL_NAME_LEN`]
    /// bytes: all a `Global` keeps).
    Input {
        module: u32,
        name: u32,
        module_len: u8,
        name_len: u8,
    },
    /// A data builtin called with arguments CPython never writes for it.
    Builtin(Builtin),
    /// A standard type's class (feature `objects`).
    #[cfg(feature = "objects")]
    Class(crate::pickle::objects::Class),
}

impl Name {
    /// `module` and `name`, slices of the input starting at these offsets.
    pub(super) fn input(
        (module, module_at): (&[u8], usize),
        (name, name_at): (&[u8], usize),
    ) -> Self {
        // Inputs are addressed by u32 offsets, as the arena's strings are.
        let kept = |s: &[u8]| s.len().min(GLOBAL_NAME_LEN) as u8;
        Name::Input {
            module: module_at as u32,
            name: name_at as u32,
            module_len: kept(module),
            name_len: kept(name),
        }
    }

    /// The names as [`Error::Refused`] reports them.
    fn global(self, input: &[u8]) -> Global {
        let (module, name): (&[u8], &[u8]) = match self {
            Name::Input {
                module,
                name,
                module_len,
                name_len,
            } => (
                span(input, module, module_len.into()),
                span(input, name, name_len.into()),
            ),
            Name::Builtin(builtin) => builtin_name(builtin),
            #[cfg(feature = "objects")]
            Name::Class(class) => {
                let (module, name) = class.dotted().unwrap_or(("", ""));
                (module.as_bytes(), name.as_bytes())
            }
        };
        Global::new(module, name)
    }
}

impl Fault {
    /// The [`Error`] this is, for the opcode `at` (named by [`Fault::FrameExhausted`]) of
    /// the pickle `input` (where a refused global's names are). Out of line: one copy.
    #[cold]
    #[inline(never)]
    pub(super) fn error(self, at: At, input: &[u8]) -> Error {
        match self {
            Fault::Truncated { offset } => Error::Truncated { offset },
            Fault::Refused {
                opcode,
                offset,
                global,
            } => Error::Refused {
                opcode,
                offset,
                global: global.map(|name| name.global(input)),
            },
            Fault::InvalidArgument {
                opcode,
                offset,
                reason,
            } => Error::InvalidArgument {
                opcode,
                offset,
                reason,
            },
            Fault::FrameExhausted => Error::InvalidArgument {
                opcode: at.op,
                offset: at.offset,
                reason:
                    "pickle exhausted before end of frame (the argument runs past its FRAME's end)",
            },
            Fault::InvalidStack {
                opcode,
                offset,
                reason,
            } => Error::InvalidStack {
                opcode,
                offset,
                reason,
            },
            Fault::MemoMissing { index, offset } => Error::MemoMissing { index, offset },
            Fault::UnsupportedProtocol { version, offset } => {
                Error::UnsupportedProtocol { version, offset }
            }
            Fault::Unhashable {
                opcode,
                offset,
                type_name,
            } => Error::Unhashable {
                opcode,
                offset,
                type_name,
            },
            Fault::Recursive { offset } => Error::Recursive { offset },
            Fault::Capacity {
                what,
                limit,
                offset,
            } => Error::Capacity {
                what,
                limit,
                offset,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::Decoder;
    use crate::pickle::error::{Error, Global};
    use crate::pickle::opcodes::Opcode;

    /// The refusal of `pickle`: its opcode, offset and global's names.
    fn refusal(pickle: &[u8]) -> (Opcode, usize, Option<Global>) {
        let mut d: Decoder = Decoder::new();
        match d.decode(pickle) {
            Err(Error::Refused {
                opcode,
                offset,
                global,
            }) => (opcode, offset, global),
            other => panic!("not refused: {other:?}"),
        }
    }

    fn named(module: &[u8], name: &[u8]) -> Option<Global> {
        Some(Global::new(module, name))
    }

    /// Each way a global is refused names it as before the machine kept its names as offsets:
    /// GLOBAL and STACK_GLOBAL (CPython 3.11's `pickle.dumps(os.system, 0)` and `, 4)` without
    /// the FRAME and memo), a name cut to `GLOBAL_NAME_LEN` bytes with a byte that is not
    /// printable ASCII, and a data builtin called with arguments CPython never writes for it
    /// (`set(1, 2)`, `bytes(1, 2)`).
    #[test]
    fn refused_globals_keep_their_names() {
        assert_eq!(
            refusal(b"cposix\nsystem\np0\n."),
            (Opcode::GLOBAL, 0, named(b"posix", b"system"))
        );
        assert_eq!(
            refusal(b"\x80\x04\x8c\x05posix\x8c\x06system\x93."),
            (Opcode::STACK_GLOBAL, 17, named(b"posix", b"system"))
        );
        let mut long = std::vec::Vec::from(&b"cm\x01"[..]);
        long.extend_from_slice(&[b'x'; 40]);
        long.extend_from_slice(b"\nname\n.");
        let cut: std::vec::Vec<u8> = b"m\x01".iter().chain(&[b'x'; 30]).copied().collect();
        assert_eq!(refusal(&long), (Opcode::GLOBAL, 0, named(&cut, b"name")));
        assert_eq!(
            refusal(b"c__builtin__\nset\n(I1\nI2\ntR."),
            (Opcode::REDUCE, 25, named(b"builtins", b"set"))
        );
        assert_eq!(
            refusal(b"\x80\x02c__builtin__\nbytes\nK\x01K\x02\x86R."),
            (Opcode::REDUCE, 26, named(b"builtins", b"bytes"))
        );
    }

    /// INST names its class (without `objects` at once; with it, as the object it would call).
    #[test]
    fn refused_inst_names_its_class() {
        let (opcode, offset, global) = refusal(b"(iposix\nsystem\n.");
        assert_eq!((opcode, offset), (Opcode::INST, 1));
        assert_eq!(global, named(b"posix", b"system"));
    }

    /// A standard type called with arguments it does not take is refused by its class's name.
    #[cfg(feature = "objects")]
    #[test]
    fn refused_standard_types_are_named_by_class() {
        let (opcode, _, global) = refusal(b"cdatetime\ndate\n(S'x'\ntR.");
        assert_eq!(opcode, Opcode::REDUCE);
        assert_eq!(global, named(b"datetime", b"date"));
    }
}
