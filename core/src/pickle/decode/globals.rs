//! GLOBAL, STACK_GLOBAL, REDUCE and INST: only the exact patterns CPython writes for builtin
//! `set`, `frozenset`, `bytes` and `bytearray` (and `_codecs.encode`) are recognised, and the
//! data built directly; nothing is imported or called.

use heapless::Vec;

use crate::pickle::opcodes::Opcode;
use crate::pickle::text::{self, BytesEncoding};

use super::arena::{span, Builtin, Container, ContainerKind, Node, NodeId};
use super::fault::{Name, Stop};
use super::machine::{At, Machine};
use super::Arena;

impl<'i, A: Arena> Machine<'_, 'i, A> {
    /// GLOBAL, STACK_GLOBAL, REDUCE, INST: the builtins CPython names for data, never called.
    #[inline(always)]
    pub(super) fn global_op(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            GLOBAL => {
                let module_at = self.pos;
                let module = self.line()?;
                let name_at = self.pos;
                let name = self.line()?;
                let node = self.global_node((module, module_at), (name, name_at))?;
                self.push_node(node)?;
            }
            STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Node::Str { start: m_at, .. }, Node::Str { start: n_at, .. }) =
                    (self.node(module), self.node(name))
                else {
                    return Err(self.refuse(None));
                };
                let (Some(module), Some(name)) = (self.utf8(module), self.utf8(name)) else {
                    return Err(self.refuse(None));
                };
                let node = self.global_node((module, m_at as usize), (name, n_at as usize))?;
                self.push_node(node)?;
            }
            REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let id = self.reduce(callable, args)?;
                self.push_raw(id)?;
            }
            #[cfg(feature = "objects")]
            INST | OBJ | NEWOBJ | NEWOBJ_EX | BUILD => self.object_op(at)?,
            #[cfg(not(feature = "objects"))]
            INST => {
                let module_at = self.pos;
                let module = self.line()?;
                let name_at = self.pos;
                let name = self.line()?;
                return Err(self.refuse(Some(Name::input((module, module_at), (name, name_at)))));
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    /// The node GLOBAL or STACK_GLOBAL push for `module.name` (each with its input offset):
    /// a data builtin, else (feature `objects`) a standard type or a stub's class.
    fn global_node(&self, module: (&[u8], usize), name: (&[u8], usize)) -> Result<Node, Stop> {
        if let Some(builtin) = builtin(module.0, name.0, self.proto) {
            return Ok(Node::Builtin(builtin));
        }
        #[cfg(feature = "objects")]
        return self.global_ref(module, name);
        #[cfg(not(feature = "objects"))]
        Err(self.refuse(Some(Name::input(module, name))))
    }

    /// The UTF-8 text of a `Str` node.
    pub(super) fn utf8(&self, id: NodeId) -> Option<&'i [u8]> {
        self.node(id).utf8(self.input)
    }

    /// True if node `id` is the `str` `expected` (in any encoding).
    pub(super) fn is_text(&self, id: NodeId, expected: &str) -> bool {
        match self.node(id) {
            Node::Str {
                start, len, enc, ..
            } => text::text_chars(span(self.input, start, len), enc).eq(expected.chars()),
            _ => false,
        }
    }

    /// Items of a container node as a stack-like list of ids (for REDUCE argument tuples).
    pub(super) fn tuple_items<const N: usize>(&self, id: NodeId) -> Option<Vec<NodeId, N>> {
        let Node::Container(c) = self.node(id) else {
            return None;
        };
        if c.kind != ContainerKind::Tuple || c.len as usize > N {
            return None;
        }
        let mut out = Vec::new();
        let mut edge = c.first;
        for _ in 0..c.len {
            let e = self.d.edges.get(edge as usize)?;
            out.push(e.child).ok()?;
            edge = e.next(edge);
        }
        Some(out)
    }

    /// REDUCE: recognises CPython's patterns for builtin data; refuses everything else.
    pub(super) fn reduce(&mut self, callable: NodeId, args: NodeId) -> Result<NodeId, Stop> {
        let builtin = match self.node(callable) {
            Node::Builtin(builtin) => builtin,
            #[cfg(feature = "objects")]
            Node::Global(g) => return self.reduce_object(g, callable, args),
            _ => return Err(self.refuse(None)),
        };
        let refuse = || self.refuse(Some(Name::Builtin(builtin)));
        let Some(items) = self.tuple_items::<2>(args) else {
            return Err(refuse());
        };
        let node = match (builtin, items.as_slice()) {
            (Builtin::Set | Builtin::FrozenSet, &[]) => self.empty(builtin),
            (Builtin::Set | Builtin::FrozenSet, &[list]) => {
                let Node::Container(source) = self.node(list) else {
                    return Err(refuse());
                };
                if source.kind != ContainerKind::List {
                    return Err(refuse());
                }
                let kind = if builtin == Builtin::Set {
                    ContainerKind::Set
                } else {
                    ContainerKind::FrozenSet
                };
                // Copy the items: the set must not change if the list does later.
                let id = self.new_container(kind)?;
                let mut edge = source.first;
                for _ in 0..source.len {
                    let Some(&e) = self.d.edges.get(edge as usize) else {
                        break;
                    };
                    self.add_child(id, e.child)?;
                    edge = e.next(edge);
                }
                return Ok(id);
            }
            (Builtin::Bytes | Builtin::ByteArray, &[]) => self.empty(builtin),
            (Builtin::ByteArray, &[bytes]) => match self.node(bytes) {
                Node::Bytes {
                    start, len, enc, ..
                } => Node::Bytes {
                    start,
                    len,
                    enc,
                    mutable: true,
                },
                _ => return Err(refuse()),
            },
            // `_codecs.encode(text, 'latin1')`: bytes in protocols 0-2 (CPython 3);
            // `bytearray(text, 'latin-1')`: bytearray in protocols 0-2 (Python 2.7, CPython
            // <= 3.7).
            (Builtin::CodecsEncode | Builtin::ByteArray, &[text, encoding]) => {
                if !(self.is_text(encoding, "latin1") || self.is_text(encoding, "latin-1")) {
                    return Err(refuse());
                }
                let Node::Str {
                    start, len, enc, ..
                } = self.node(text)
                else {
                    return Err(refuse());
                };
                text::validate_latin1(span(self.input, start, len), enc)
                    .map_err(|r| self.arg(r))?;
                Node::Bytes {
                    start,
                    len,
                    enc: BytesEncoding::Latin1(enc),
                    mutable: builtin == Builtin::ByteArray,
                }
            }
            _ => return Err(refuse()),
        };
        self.alloc(node)
    }

    /// The empty value `builtin()` returns.
    pub(super) fn empty(&self, builtin: Builtin) -> Node {
        match builtin {
            Builtin::Set => Node::Container(Container::empty(ContainerKind::Set)),
            Builtin::FrozenSet => Node::Container(Container::empty(ContainerKind::FrozenSet)),
            _ => Node::Bytes {
                start: 0,
                len: 0,
                enc: BytesEncoding::Raw,
                mutable: builtin == Builtin::ByteArray,
            },
        }
    }
}

/// The builtin a GLOBAL names, if it is one CPython uses for builtin data. Python 2's
/// `__builtin__` is read as `builtins` only below protocol 3, as CPython's unpickler maps
/// it (`fix_imports`) only then.
/// A loop over a table, not a `match` of byte strings (which compares each pattern inline:
/// 360 bytes of a Cortex-M3 build).
fn builtin(module: &[u8], name: &[u8], proto: u8) -> Option<Builtin> {
    // A slice compare, not a pattern (compared inline: flash).
    let module: &[u8] = if proto < 3 && module == b"__builtin__" {
        b"builtins"
    } else {
        module
    };
    BUILTIN_NAMES
        .iter()
        .find(|&&(m, n, _)| m == module && n == name)
        .map(|&(_, _, builtin)| builtin)
}

/// The module and name of each data builtin, as CPython 3 names it.
const BUILTIN_NAMES: [(&[u8], &[u8], Builtin); 5] = [
    (b"builtins", b"set", Builtin::Set),
    (b"builtins", b"frozenset", Builtin::FrozenSet),
    (b"builtins", b"bytes", Builtin::Bytes),
    (b"builtins", b"bytearray", Builtin::ByteArray),
    (b"_codecs", b"encode", Builtin::CodecsEncode),
];

/// The module and name of `builtin` (as [`BUILTIN_NAMES`] holds them), for the error that
/// refuses it.
pub(super) fn builtin_name(builtin: Builtin) -> (&'static [u8], &'static [u8]) {
    BUILTIN_NAMES
        .iter()
        .find(|&&(_, _, b)| b == builtin)
        .map_or((&[], &[]), |&(module, name, _)| (module, name))
}
