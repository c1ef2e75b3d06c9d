//! The machine's errors while it runs: [`Error`]'s decoding variants in a few words (12 bytes
//! on a 32-bit target, where an `Error`, with room for a refused global's names and a serde
//! message, is 72). A fault is recorded in the machine where it arises ([`Record::fail`]) and
//! the fallible steps return a [`Stop`], which has no bytes, so that each `?` between the
//! opcode families moves no fault at all (measured: 1,468 bytes of the smallest lab
//! firmware's flash, against returning the 12-byte fault). A fault keeps only what the
//! opcode being executed does not say: every `Error` it becomes names that opcode and its
//! offset (a truncated pickle, the input's length), which [`Record::error`] takes from the
//! machine where the run ends; a refused global's names stay where they are (input offsets,
//! or a name the decoder knows) until then.

use core::cell::Cell;

use crate::pickle::error::{Capacity, Error, Global, GLOBAL_NAME_LEN};

use super::arena::{span, Builtin};
use super::globals::builtin_name;
use super::machine::At;

/// One decoding error inside the machine, raised by the opcode being executed (an [`At`]);
/// [`Fault::error`] is its [`Error`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Fault {
    /// [`Error::Truncated`] (at the input's end).
    Truncated,
    /// [`Error::Refused`] without a global.
    Refused,
    /// [`Error::Refused`] of a global whose module and name are in the input at these
    /// offsets (their first [`GLOBAL_NAME_LEN`] bytes: all a `Global` keeps).
    RefusedInput {
        module: u32,
        name: u32,
        module_len: u8,
        name_len: u8,
    },
    /// [`Error::Refused`] of a data builtin called with arguments CPython never writes for it.
    RefusedBuiltin(Builtin),
    /// [`Error::Refused`] of a standard type's class (feature `objects`).
    #[cfg(feature = "objects")]
    RefusedClass(crate::pickle::objects::Class),
    /// [`Error::InvalidArgument`].
    InvalidArgument(&'static str),
    /// pickle.py's error for a read that starts inside a FRAME and ends past it (an
    /// argument, or part of one read at once, may not cross its frame's end): the
    /// [`Error::InvalidArgument`] of the opcode being executed.
    FrameExhausted,
    /// [`Error::InvalidStack`].
    InvalidStack(&'static str),
    /// [`Error::MemoMissing`] of this index.
    MemoMissing(u32),
    /// [`Error::UnsupportedProtocol`] of this version.
    UnsupportedProtocol(u8),
    /// [`Error::Unhashable`] of this type.
    Unhashable(&'static str),
    /// [`Error::Recursive`].
    Recursive,
    /// [`Error::Capacity`].
    Capacity { what: Capacity, limit: usize },
}

/// A fault recorded: what the machine's fallible steps return (no bytes, so a `Result` of
/// one fits in registers and each `?` between them moves no fault). Only
/// [`Record::fail`] makes one, so every `Stop` has its [`Fault`] in the machine's [`Record`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Stop(());

/// The fault of a run, kept by the machine where it arises ([`Record::fail`]) and made an
/// [`Error`] once, where the run ends ([`Record::error`]).
pub(super) struct Record(Cell<Fault>);

impl Record {
    pub(super) fn new() -> Self {
        Record(Cell::new(Fault::Truncated))
    }

    /// Records `fault` as the run's; the caller returns `Err` of the [`Stop`].
    #[inline(always)]
    pub(super) fn fail(&self, fault: Fault) -> Stop {
        self.0.set(fault);
        Stop(())
    }

    /// The [`Error`] the last fault recorded is, raised by the opcode `at` of `input`.
    #[cold]
    #[inline(never)]
    pub(super) fn error(&self, at: At, input: &[u8]) -> Error {
        self.0.get().error(at, input)
    }
}

/// The dotted name of a refused global, not yet copied into a [`Global`] (what
/// [`At::refused`] is given; kept in the [`Fault`] as its own variant).
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
}

impl Fault {
    /// [`Error::Refused`] of `global`.
    #[inline(always)]
    pub(super) fn refused(global: Option<Name>) -> Self {
        match global {
            None => Fault::Refused,
            Some(Name::Input {
                module,
                name,
                module_len,
                name_len,
            }) => Fault::RefusedInput {
                module,
                name,
                module_len,
                name_len,
            },
            Some(Name::Builtin(builtin)) => Fault::RefusedBuiltin(builtin),
            #[cfg(feature = "objects")]
            Some(Name::Class(class)) => Fault::RefusedClass(class),
        }
    }

    /// The [`Error`] this is, raised by the opcode `at` of the pickle `input` (where a
    /// truncated pickle ends and a refused global's names are). Out of line: one copy.
    #[inline(always)]
    fn error(self, at: At, input: &[u8]) -> Error {
        let At { op: opcode, offset } = at;
        let refused = |(module, name): (&[u8], &[u8])| Error::Refused {
            opcode,
            offset,
            global: Some(Global::new(module, name)),
        };
        match self {
            Fault::Truncated => Error::Truncated {
                offset: input.len(),
            },
            Fault::Refused => Error::Refused {
                opcode,
                offset,
                global: None,
            },
            Fault::RefusedInput {
                module,
                name,
                module_len,
                name_len,
            } => refused((
                span(input, module, module_len.into()),
                span(input, name, name_len.into()),
            )),
            Fault::RefusedBuiltin(builtin) => refused(builtin_name(builtin)),
            #[cfg(feature = "objects")]
            Fault::RefusedClass(class) => {
                let (module, name) = class.dotted().unwrap_or(("", ""));
                refused((module.as_bytes(), name.as_bytes()))
            }
            Fault::InvalidArgument(reason) => Error::InvalidArgument {
                opcode,
                offset,
                reason,
            },
            Fault::FrameExhausted => Error::InvalidArgument {
                opcode,
                offset,
                reason:
                    "pickle exhausted before end of frame (the argument runs past its FRAME's end)",
            },
            Fault::InvalidStack(reason) => Error::InvalidStack {
                opcode,
                offset,
                reason,
            },
            Fault::MemoMissing(index) => Error::MemoMissing { index, offset },
            Fault::UnsupportedProtocol(version) => Error::UnsupportedProtocol { version, offset },
            Fault::Unhashable(type_name) => Error::Unhashable {
                opcode,
                offset,
                type_name,
            },
            Fault::Recursive => Error::Recursive { offset },
            Fault::Capacity { what, limit } => Error::Capacity {
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
