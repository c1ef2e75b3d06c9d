//! The decoder: runs the pickle machine over a byte slice into a fixed arena of nodes.
//!
//! Only data is built. Opcodes that would import or call anything are refused, except the
//! exact patterns CPython writes for builtin `set`, `frozenset`, `bytes` and `bytearray`
//! in protocols 0–3 (and `bytearray` in protocol 4); those are recognised, never called.

use heapless::Vec;

use super::error::{Capacity, Error, Global};
use super::flat;
use super::keys::{Keys, Scratch};
use super::opcodes::Opcode;

use super::number;
use super::text::{self, BytesEncoding, TextEncoding};
use super::value::{Tree, Value};

/// Deepest container nesting the decoder accepts (`[[[...]]]` 64 levels deep). Bounds the
/// recursion of `Display` and deserialization.
pub const MAX_DEPTH: usize = 64;

/// Largest expanded size of a pickle's value, with shared references (memo GET of a
/// container or a string) expanded: every value counts 1, a `str` or `bytes` also its
/// encoded bytes, an `int` beyond 64 bits its decimal digits. Bounds the work and output of
/// printing or deserializing a pickle built to refer to the same data over and over (16 MiB
/// of strings; a 4096-byte message that refers to the same strings without nesting stays
/// under 2048 items × 4096 bytes).
pub const MAX_EXPANSION: u32 = 1 << 24;

/// Index of a node in the decoder's arena.
pub(crate) type NodeId = u16;
/// "No node" / "no edge".
pub(crate) const NIL: u16 = u16::MAX;
/// A MARK on the stack.
const MARK_ENTRY: u16 = u16::MAX;

/// The kind of a container node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContainerKind {
    List,
    Tuple,
    Set,
    FrozenSet,
    Dict,
}

/// A builtin a GLOBAL may name: the only callables a pickle may use (never called; the
/// REDUCE pattern is recognised and the data built directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    Set,
    FrozenSet,
    Bytes,
    ByteArray,
    CodecsEncode,
}

/// How an integer's digits are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntDigits {
    /// Two's complement, little-endian (LONG1, LONG4).
    LittleEndian,
    /// Decimal text with optional sign and whitespace (INT, LONG in protocol 0).
    Decimal,
}

/// One decoded value. Strings, bytes and big integers are spans of the input.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node {
    None,
    Bool(bool),
    Int(i64),
    BigInt {
        start: u32,
        len: u32,
        digits: IntDigits,
    },
    Float(f64),
    Str {
        start: u32,
        len: u32,
        enc: TextEncoding,
    },
    Bytes {
        start: u32,
        len: u32,
        enc: BytesEncoding,
        mutable: bool,
    },
    Container(Container),
    Builtin(Builtin),
}

/// A container's items: a chain of edges `first ..= last`, `len` long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Container {
    pub(crate) kind: ContainerKind,
    pub(crate) first: u16,
    pub(crate) last: u16,
    /// Items (for a dict: keys and values, so twice the entries).
    pub(crate) len: u16,
    /// 1 + the deepest child's depth (leaves have depth 0).
    depth: u16,
    /// Expanded size (see [`MAX_EXPANSION`]), this one included.
    pub(crate) expansion: u32,
    /// Post-pass mark: 0 unvisited, 1 on the current path, 2 done.
    visit: u8,
    /// Why it cannot be a dict key or set item ([`Unhashable`]); for a tuple, its first
    /// unhashable item's reason.
    pub(crate) unhashable: Unhashable,
}

/// Whether a value can be a dict key or set item, and if not, the type Python names in
/// its `TypeError: unhashable type: '...'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unhashable {
    No,
    List,
    Dict,
    Set,
    ByteArray,
}

impl Unhashable {
    /// Python's name of the unhashable type; `None` if hashable.
    pub(crate) fn type_name(self) -> Option<&'static str> {
        match self {
            Unhashable::No => None,
            Unhashable::List => Some("list"),
            Unhashable::Dict => Some("dict"),
            Unhashable::Set => Some("set"),
            Unhashable::ByteArray => Some("bytearray"),
        }
    }
}

impl Container {
    /// A container of `kind` with no items.
    pub(crate) const fn empty(kind: ContainerKind) -> Self {
        Container {
            kind,
            first: NIL,
            last: NIL,
            len: 0,
            depth: 1,
            expansion: 1,
            visit: 0,
            unhashable: match kind {
                ContainerKind::List => Unhashable::List,
                ContainerKind::Dict => Unhashable::Dict,
                ContainerKind::Set => Unhashable::Set,
                ContainerKind::Tuple | ContainerKind::FrozenSet => Unhashable::No,
            },
        }
    }
}

/// The expanded size (see [`MAX_EXPANSION`]) of a value that is not a container: 1, plus a
/// string's encoded bytes, plus a big integer's decimal digits (at most `8n·log10(2) + 1`
/// for `n` little-endian bytes).
pub(crate) fn leaf_weight(node: Node) -> u32 {
    match node {
        Node::Str { len, .. } | Node::Bytes { len, .. } => len.saturating_add(1),
        Node::BigInt {
            len,
            digits: IntDigits::Decimal,
            ..
        } => len.saturating_add(1),
        Node::BigInt { len, .. } => (len.saturating_mul(241) / 100).saturating_add(2),
        _ => 1,
    }
}

/// A link in a container's item chain.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub(crate) child: NodeId,
    pub(crate) next: u16,
}

/// A fixed-capacity stack of `Copy` items over an initialised array: pushes are a bounds
/// check and a store (heapless' `MaybeUninit` storage costs more per push here, and its
/// construction zero-fills anyway).
struct Slab<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> Slab<T, N> {
    const fn new(fill: T) -> Self {
        Slab {
            items: [fill; N],
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, item: T) -> Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
                Ok(())
            }
            None => Err(item),
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.len = self.len.checked_sub(1)?;
        self.items.get(self.len).copied()
    }

    #[inline]
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline]
    fn clear(&mut self) {
        self.len = 0;
    }

    #[inline]
    fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [T] {
        self.items.get_mut(..self.len).unwrap_or(&mut [])
    }
}

impl<T: Copy, const N: usize> core::ops::Deref for Slab<T, N> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Copy, const N: usize> core::ops::DerefMut for Slab<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

/// A pickle decoder with fixed capacities: `VALUES` nodes, `ITEMS` container items, `STACK`
/// pickle-machine stack entries, `MEMO` memo slots. The defaults fit typical messages up to
/// 4096 bytes in about 27 KiB. Allocates nothing. Construction fills that storage, so reuse
/// one decoder for many pickles where speed matters (each `decode` only resets lengths).
pub struct Decoder<
    const VALUES: usize = 1024,
    const ITEMS: usize = 2048,
    const STACK: usize = 512,
    const MEMO: usize = 1024,
> {
    nodes: Slab<Node, VALUES>,
    edges: Slab<Edge, ITEMS>,
    stack: Slab<u16, STACK>,
    memo: Slab<u16, MEMO>,
    /// The furthest input offset a FRAME of the last pickle claimed (0: none).
    frame_end: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl<const VALUES: usize, const ITEMS: usize, const STACK: usize, const MEMO: usize>
    Decoder<VALUES, ITEMS, STACK, MEMO>
{
    /// A decoder with empty storage.
    pub const fn new() -> Self {
        Decoder {
            nodes: Slab::new(Node::None),
            edges: Slab::new(Edge {
                child: NIL,
                next: NIL,
            }),
            stack: Slab::new(NIL),
            memo: Slab::new(NIL),
            frame_end: 0,
        }
    }

    /// Decodes the one pickle at the start of `input`; bytes after its STOP are ignored (as
    /// Python's `pickle.loads` does). The value borrows `input` and this decoder.
    ///
    /// Fails on truncated or malformed input, on refused (code-running) opcodes, and when a
    /// capacity or [`MAX_DEPTH`] / [`MAX_EXPANSION`] is exceeded. Never panics, never
    /// allocates.
    pub fn decode<'a>(&'a mut self, input: &'a [u8]) -> Result<Value<'a>, Error> {
        self.decode_prefix(input).map(|(value, _)| value)
    }

    /// Like [`decode`](Self::decode), also returning the pickle's length (up to and including
    /// STOP), so concatenated pickles can be read one after another.
    pub fn decode_prefix<'a>(&'a mut self, input: &'a [u8]) -> Result<(Value<'a>, usize), Error> {
        let (root, len) = self.run_fast(input, true)?;
        Ok((self.tree(input).value(root), len))
    }

    /// Runs the machine; returns the root node and the pickle's length.
    /// `check_utf8`: validate UTF-8 strings now (for `Value`, whose `Display` relies on it);
    /// the serde path validates each string when it reads it instead, and only those.
    pub(crate) fn run(&mut self, input: &[u8], check_utf8: bool) -> Result<(NodeId, usize), Error> {
        self.nodes.clear();
        self.edges.clear();
        self.stack.clear();
        self.memo.clear();
        self.frame_end = 0;
        Machine {
            d: self,
            input,
            pos: 0,
            shared: false,
            keyed: 0,
            proto: 0,
            memo_len: 0,
            check_utf8,
        }
        .run()
    }

    /// [`run`](Self::run), through the fast path for common shapes when it applies.
    pub(crate) fn run_fast(
        &mut self,
        input: &[u8],
        check_utf8: bool,
    ) -> Result<(NodeId, usize), Error> {
        match self.run_flat(input, check_utf8) {
            Some(done) => Ok((done.root, done.len)),
            None => self.run(input, check_utf8),
        }
    }

    /// The fast path alone: `None` if the pickle is not a common shape (then run the machine).
    pub(crate) fn run_flat(&mut self, input: &[u8], check_utf8: bool) -> Option<flat::Flat> {
        let limits = flat::Limits {
            stack: STACK,
            memo: MEMO,
            check_utf8,
        };
        let done = flat::decode(input, &mut self.nodes.items, &mut self.edges.items, limits)?;
        self.nodes.len = done.nodes;
        self.edges.len = done.edges;
        self.stack.clear();
        self.memo.clear();
        self.frame_end = done.frame_end;
        Some(done)
    }

    /// The furthest input offset a FRAME of the last decoded pickle claimed (0 without FRAME):
    /// a pickle decoded from a longer input is refused on its own bytes if this exceeds its
    /// length (frames are checked against the input's end, as CPython checks them).
    pub(crate) fn frame_end(&self) -> usize {
        self.frame_end
    }

    /// A view of the arena after [`run`](Self::run).
    pub(crate) fn tree<'i>(&self, input: &'i [u8]) -> Tree<'i, '_> {
        Tree {
            input,
            nodes: &self.nodes,
            edges: &self.edges,
        }
    }
}

#[cfg(test)]
impl Decoder {
    /// Decodes `input` and returns the root's Python hash and whether it is fixed.
    pub(crate) fn python_hash(&mut self, input: &[u8]) -> Result<(u64, bool), Error> {
        let (root, _) = self.run(input, true)?;
        let used = self.edges.len;
        let mut keys = Keys {
            input,
            nodes: self.nodes.as_mut_slice(),
            edges: self.edges.items.get_mut(..used).unwrap_or_default(),
            budget: MAX_EXPANSION,
        };
        keys.python_hash(root)
            .map_err(|_| Error::Recursive { offset: 0 })
    }
}

/// One run of the pickle machine.
struct Machine<'d, 'i, const V: usize, const I: usize, const S: usize, const M: usize> {
    d: &'d mut Decoder<V, I, S, M>,
    input: &'i [u8],
    pos: usize,
    /// A container was pushed a second time (GET or DUP): check cycles, depth, expansion.
    shared: bool,
    /// A dict or set (1), a frozenset (2) got a second key: merge equal keys and order
    /// sets at STOP.
    keyed: u8,
    /// The protocol a PROTO opcode named (0 without one), as CPython's `Unpickler.proto`.
    proto: u8,
    /// Memo slots in use (MEMOIZE stores at this index, as CPython's `len(memo)`).
    memo_len: u32,
    /// Validate UTF-8 strings while decoding.
    check_utf8: bool,
}

/// The opcode being executed and its offset, for error reports.
#[derive(Clone, Copy)]
struct At {
    op: Opcode,
    offset: usize,
}

impl At {
    fn arg(self, reason: &'static str) -> Error {
        Error::InvalidArgument {
            opcode: self.op,
            offset: self.offset,
            reason,
        }
    }

    fn stack(self, reason: &'static str) -> Error {
        Error::InvalidStack {
            opcode: self.op,
            offset: self.offset,
            reason,
        }
    }

    fn capacity(self, what: Capacity, limit: usize) -> Error {
        Error::Capacity {
            what,
            limit,
            offset: self.offset,
        }
    }

    fn refused(self, global: Option<Global>) -> Error {
        Error::Refused {
            opcode: self.op,
            offset: self.offset,
            global,
        }
    }
}

impl<'i, const V: usize, const I: usize, const S: usize, const M: usize>
    Machine<'_, 'i, V, I, S, M>
{
    fn run(mut self) -> Result<(NodeId, usize), Error> {
        loop {
            let offset = self.pos;
            let byte = *self
                .input
                .get(offset)
                .ok_or_else(|| Error::Truncated { offset })?;
            let op =
                Opcode::from_byte(byte).ok_or_else(|| Error::UnknownOpcode { byte, offset })?;
            self.pos += 1;
            let at = At { op, offset };
            if op == Opcode::STOP {
                let root = self.pop(at)?;
                if let Node::Builtin(_) = self.node(root) {
                    return Err(at.stack("a global is not data"));
                }
                if self.keyed != 0 {
                    self.merge_keys(at)?;
                }
                if self.shared {
                    self.check_shared(root, at)?;
                }
                return Ok((root, self.pos));
            }
            self.step(at)?;
        }
    }

    /// Executes one opcode other than STOP.
    fn step(&mut self, at: At) -> Result<(), Error> {
        use Opcode::*;
        match at.op {
            PROTO => {
                let version = self.take(1)?[0];
                if version > 5 {
                    return Err(Error::UnsupportedProtocol {
                        version,
                        offset: at.offset,
                    });
                }
                self.proto = version;
            }
            FRAME => {
                // Frames only group opcodes for buffered reading; the slice is already whole.
                // As CPython does, refuse a frame that claims more bytes than there are.
                let b = self.take(8)?;
                let len = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                if len > (self.input.len() - self.pos) as u64 {
                    return Err(Error::Truncated {
                        offset: self.input.len(),
                    });
                }
                self.d.frame_end = self.d.frame_end.max(self.pos + len as usize);
            }
            MARK => self.push_raw(MARK_ENTRY, at)?,
            POP => {
                self.d
                    .stack
                    .pop()
                    .ok_or_else(|| at.stack("stack is empty"))?;
            }
            POP_MARK => {
                let mark = self.find_mark(at)?;
                self.d.stack.truncate(mark);
            }
            DUP => {
                let top = *self
                    .d
                    .stack
                    .last()
                    .ok_or_else(|| at.stack("stack is empty"))?;
                if top == MARK_ENTRY {
                    return Err(at.stack("DUP of a MARK"));
                }
                self.note_shared(top);
                self.push_raw(top, at)?;
            }
            NONE => self.push_node(Node::None, at)?,
            NEWTRUE => self.push_node(Node::Bool(true), at)?,
            NEWFALSE => self.push_node(Node::Bool(false), at)?,
            INT => {
                let start = self.pos;
                let line = self.line()?;
                let node = match int_bool(line) {
                    Some(b) => Node::Bool(b),
                    None => decimal_int(start, line, at)?,
                };
                self.push_node(node, at)?;
            }
            LONG => {
                let start = self.pos;
                let line = self.line()?;
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                let node = decimal_int(start, digits, at)?;
                self.push_node(node, at)?;
            }
            BININT => {
                let b = self.take(4)?;
                let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                self.push_node(Node::Int(v.into()), at)?;
            }
            BININT1 => {
                let v = self.take(1)?[0];
                self.push_node(Node::Int(v.into()), at)?;
            }
            BININT2 => {
                let b = self.take(2)?;
                self.push_node(Node::Int(u16::from_le_bytes([b[0], b[1]]).into()), at)?;
            }
            LONG1 | LONG4 => {
                // Any length, as CPython loads it (only printing has a digit limit).
                let n = self.count(at)?;
                let start = self.pos;
                let le = self.take(n)?;
                let node = match number::le_to_i64(le) {
                    Some(v) => Node::Int(v),
                    None => Node::BigInt {
                        start: start as u32,
                        len: n as u32,
                        digits: IntDigits::LittleEndian,
                    },
                };
                self.push_node(node, at)?;
            }
            FLOAT => {
                let line = self.line()?;
                let v = number::parse_float_line(line).map_err(|r| at.arg(r))?;
                self.push_node(Node::Float(v), at)?;
            }
            BINFLOAT => {
                let b = self.take(8)?;
                let v = f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                self.push_node(Node::Float(v), at)?;
            }
            STRING => {
                let start = self.pos;
                let line = self.line()?;
                let info = text::py_literal_info(line).map_err(|r| at.arg(r))?;
                let (start, len) = (start as u32, line.len() as u32);
                let node = if info.ascii {
                    Node::Str {
                        start,
                        len,
                        enc: TextEncoding::PyLiteral,
                    }
                } else {
                    Node::Bytes {
                        start,
                        len,
                        enc: BytesEncoding::PyLiteral,
                        mutable: false,
                    }
                };
                self.push_node(node, at)?;
            }
            BINSTRING | SHORT_BINSTRING => {
                let n = self.count(at)?;
                let start = self.pos;
                let raw = self.take(n)?;
                let (start, len) = (start as u32, n as u32);
                let node = if raw.is_ascii() {
                    Node::Str {
                        start,
                        len,
                        enc: TextEncoding::Utf8,
                    }
                } else {
                    Node::Bytes {
                        start,
                        len,
                        enc: BytesEncoding::Raw,
                        mutable: false,
                    }
                };
                self.push_node(node, at)?;
            }
            UNICODE => {
                let start = self.pos;
                let line = self.line()?;
                text::validate_text(line, TextEncoding::RawUnicodeEscape).map_err(|r| at.arg(r))?;
                self.push_node(
                    Node::Str {
                        start: start as u32,
                        len: line.len() as u32,
                        enc: TextEncoding::RawUnicodeEscape,
                    },
                    at,
                )?;
            }
            BINUNICODE | SHORT_BINUNICODE | BINUNICODE8 => {
                let n = self.count(at)?;
                let start = self.pos;
                let raw = self.take(n)?;
                if self.check_utf8 {
                    text::validate_text(raw, TextEncoding::Utf8).map_err(|r| at.arg(r))?;
                }
                self.push_node(
                    Node::Str {
                        start: start as u32,
                        len: n as u32,
                        enc: TextEncoding::Utf8,
                    },
                    at,
                )?;
            }
            BINBYTES | SHORT_BINBYTES | BINBYTES8 | BYTEARRAY8 => {
                let n = self.count(at)?;
                let start = self.pos;
                self.take(n)?;
                self.push_node(
                    Node::Bytes {
                        start: start as u32,
                        len: n as u32,
                        enc: BytesEncoding::Raw,
                        mutable: at.op == BYTEARRAY8,
                    },
                    at,
                )?;
            }
            EMPTY_LIST => self.push_container(ContainerKind::List, at)?,
            EMPTY_TUPLE => self.push_container(ContainerKind::Tuple, at)?,
            EMPTY_DICT => self.push_container(ContainerKind::Dict, at)?,
            EMPTY_SET => self.push_container(ContainerKind::Set, at)?,
            LIST | TUPLE | FROZENSET | DICT => {
                let kind = match at.op {
                    LIST => ContainerKind::List,
                    TUPLE => ContainerKind::Tuple,
                    FROZENSET => ContainerKind::FrozenSet,
                    _ => ContainerKind::Dict,
                };
                let mark = self.find_mark(at)?;
                if kind == ContainerKind::Dict && (self.d.stack.len() - mark - 1) % 2 != 0 {
                    return Err(at.stack("odd number of items for a dict"));
                }
                let id = self.new_container(kind, at)?;
                self.move_items(mark + 1, id, at)?;
                self.d.stack.truncate(mark);
                self.push_raw(id, at)?;
            }
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let n = match at.op {
                    TUPLE1 => 1,
                    TUPLE2 => 2,
                    _ => 3,
                };
                let from = self
                    .d
                    .stack
                    .len()
                    .checked_sub(n)
                    .ok_or_else(|| at.stack("not enough items for the tuple"))?;
                if self.d.stack[from..].contains(&MARK_ENTRY) {
                    return Err(at.stack("a MARK inside the tuple's items"));
                }
                let id = self.new_container(ContainerKind::Tuple, at)?;
                self.move_items(from, id, at)?;
                self.d.stack.truncate(from);
                self.push_raw(id, at)?;
            }
            APPEND | SETITEM => {
                let n = if at.op == APPEND { 1 } else { 2 };
                let from = self
                    .d
                    .stack
                    .len()
                    .checked_sub(n)
                    .ok_or_else(|| at.stack("not enough items on the stack"))?;
                if self.d.stack[from..].contains(&MARK_ENTRY) {
                    return Err(at.stack("a MARK where an item was expected"));
                }
                let want = if at.op == APPEND {
                    ContainerKind::List
                } else {
                    ContainerKind::Dict
                };
                let target = self.target_below(from, want, at)?;
                self.move_items(from, target, at)?;
                self.d.stack.truncate(from);
            }
            APPENDS | SETITEMS | ADDITEMS => {
                let mark = self.find_mark(at)?;
                let want = match at.op {
                    APPENDS => ContainerKind::List,
                    SETITEMS => ContainerKind::Dict,
                    _ => ContainerKind::Set,
                };
                if want == ContainerKind::Dict && (self.d.stack.len() - mark - 1) % 2 != 0 {
                    return Err(at.stack("odd number of items for a dict"));
                }
                let target = self.target_below(mark, want, at)?;
                self.move_items(mark + 1, target, at)?;
                self.d.stack.truncate(mark);
            }
            PUT | BINPUT | LONG_BINPUT | MEMOIZE => {
                let index = match at.op {
                    PUT => self.line_index(at)?,
                    BINPUT => self.take(1)?[0].into(),
                    LONG_BINPUT => self.u32_arg()?,
                    _ => self.memo_len,
                };
                let top = *self
                    .d
                    .stack
                    .last()
                    .ok_or_else(|| at.stack("stack is empty"))?;
                if top == MARK_ENTRY {
                    return Err(at.stack("cannot memoize a MARK"));
                }
                self.memo_put(index, top, at)?;
            }
            GET | BINGET | LONG_BINGET => {
                let index = match at.op {
                    GET => self.line_index(at)?,
                    BINGET => self.take(1)?[0].into(),
                    _ => self.u32_arg()?,
                };
                let id = self
                    .d
                    .memo
                    .get(index as usize)
                    .copied()
                    .filter(|&id| id != NIL)
                    .ok_or_else(|| Error::MemoMissing {
                        index,
                        offset: at.offset,
                    })?;
                self.note_shared(id);
                self.push_raw(id, at)?;
            }
            GLOBAL => {
                let module = self.line()?;
                let name = self.line()?;
                let builtin = builtin(module, name, self.proto)
                    .ok_or_else(|| at.refused(Some(Global::new(module, name))))?;
                self.push_node(Node::Builtin(builtin), at)?;
            }
            STACK_GLOBAL => {
                let name = self.pop(at)?;
                let module = self.pop(at)?;
                let (Some(module), Some(name)) = (self.utf8(module), self.utf8(name)) else {
                    return Err(at.refused(None));
                };
                let builtin = builtin(module, name, self.proto)
                    .ok_or_else(|| at.refused(Some(Global::new(module, name))))?;
                self.push_node(Node::Builtin(builtin), at)?;
            }
            REDUCE => {
                let args = self.pop(at)?;
                let callable = self.pop(at)?;
                let id = self.reduce(callable, args, at)?;
                self.push_raw(id, at)?;
            }
            INST => {
                let module = self.line()?;
                let name = self.line()?;
                return Err(at.refused(Some(Global::new(module, name))));
            }
            // Everything else imports, calls, or reaches outside the pickle.
            _ => return Err(at.refused(None)),
        }
        Ok(())
    }

    // ---- reading arguments ----

    /// The next `n` input bytes.
    fn take(&mut self, n: usize) -> Result<&'i [u8], Error> {
        let end = self.pos.checked_add(n);
        let bytes = end
            .and_then(|end| self.input.get(self.pos..end))
            .ok_or_else(|| Error::Truncated {
                offset: self.input.len(),
            })?;
        self.pos += n;
        Ok(bytes)
    }

    /// A `\n`-terminated argument, without the `\n`.
    fn line(&mut self) -> Result<&'i [u8], Error> {
        let rest = self.input.get(self.pos..).unwrap_or(&[]);
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| Error::Truncated {
                offset: self.input.len(),
            })?;
        let line = self.take(n)?;
        self.pos += 1;
        Ok(line)
    }

    fn u32_arg(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The length argument of a counted opcode.
    fn count(&mut self, at: At) -> Result<usize, Error> {
        use Opcode::*;
        let n: u64 = match at.op {
            SHORT_BINSTRING | SHORT_BINUNICODE | SHORT_BINBYTES | LONG1 => self.take(1)?[0].into(),
            BINSTRING | LONG4 => {
                let b = self.take(4)?;
                let n = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                u64::try_from(n).map_err(|_| at.arg("negative length"))?
            }
            BINUNICODE | BINBYTES => self.u32_arg()?.into(),
            _ => {
                let b = self.take(8)?;
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
        };
        // Longer than what is left: truncated (checked here so huge claims never overflow).
        let left = self.input.len() - self.pos;
        if n > left as u64 {
            return Err(Error::Truncated {
                offset: self.input.len(),
            });
        }
        Ok(n as usize)
    }

    /// A decimal memo index (GET, PUT).
    fn line_index(&mut self, at: At) -> Result<u32, Error> {
        let line = self.line()?;
        number::parse_decimal_int(line).map_err(|r| at.arg(r))?;
        number::decimal_to_i64(line)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| at.arg("memo index out of range"))
    }

    // ---- the stack and the arena ----

    fn node(&self, id: NodeId) -> Node {
        self.d.nodes.get(id as usize).copied().unwrap_or(Node::None)
    }

    fn push_raw(&mut self, id: u16, at: At) -> Result<(), Error> {
        self.d
            .stack
            .push(id)
            .map_err(|_| at.capacity(Capacity::Stack, S))
    }

    fn push_node(&mut self, node: Node, at: At) -> Result<(), Error> {
        let id = self.alloc(node, at)?;
        self.push_raw(id, at)
    }

    fn alloc(&mut self, node: Node, at: At) -> Result<NodeId, Error> {
        let id = self.d.nodes.len();
        if id >= NIL as usize {
            return Err(at.capacity(Capacity::Values, V.min(NIL as usize)));
        }
        self.d
            .nodes
            .push(node)
            .map_err(|_| at.capacity(Capacity::Values, V))?;
        Ok(id as NodeId)
    }

    fn new_container(&mut self, kind: ContainerKind, at: At) -> Result<NodeId, Error> {
        self.alloc(Node::Container(Container::empty(kind)), at)
    }

    fn push_container(&mut self, kind: ContainerKind, at: At) -> Result<(), Error> {
        let id = self.new_container(kind, at)?;
        self.push_raw(id, at)
    }

    /// Pops one item (not a MARK).
    fn pop(&mut self, at: At) -> Result<NodeId, Error> {
        match self.d.stack.pop() {
            Some(MARK_ENTRY) => Err(at.stack("a MARK where an item was expected")),
            Some(id) => Ok(id),
            None => Err(at.stack("stack is empty")),
        }
    }

    /// The stack index of the topmost MARK.
    fn find_mark(&self, at: At) -> Result<usize, Error> {
        self.d
            .stack
            .iter()
            .rposition(|&e| e == MARK_ENTRY)
            .ok_or_else(|| at.stack("no MARK on the stack"))
    }

    /// The container of kind `want` just below stack index `index`.
    fn target_below(&self, index: usize, want: ContainerKind, at: At) -> Result<NodeId, Error> {
        let id = index
            .checked_sub(1)
            .and_then(|i| self.d.stack.get(i).copied())
            .ok_or_else(|| at.stack("no container below the items"))?;
        match self.node(id) {
            Node::Container(c) if id != MARK_ENTRY && c.kind == want => Ok(id),
            _ => Err(at.stack(match want {
                ContainerKind::List => "items appended to something that is not a list",
                ContainerKind::Dict => "items set on something that is not a dict",
                _ => "items added to something that is not a set",
            })),
        }
    }

    /// Appends stack entries `from..` (all items, no MARK) to container `target`, in order.
    fn move_items(&mut self, from: usize, target: NodeId, at: At) -> Result<(), Error> {
        for i in from..self.d.stack.len() {
            let child = self.d.stack[i];
            if child == MARK_ENTRY {
                return Err(at.stack("a MARK among the items"));
            }
            self.add_child(target, child, at)?;
        }
        Ok(())
    }

    /// Links `child` as the last item of container `parent`. Refuses what CPython refuses:
    /// an unhashable dict key or set item (`TypeError`).
    #[inline(always)]
    fn add_child(&mut self, parent: NodeId, child: NodeId, at: At) -> Result<(), Error> {
        let (child_depth, weight, unhashable) = match self.node(child) {
            Node::Container(c) => (c.depth, c.expansion, c.unhashable),
            Node::Builtin(_) => return Err(at.stack("a global is not data")),
            Node::Bytes { mutable: true, .. } => (0, 1, Unhashable::ByteArray),
            leaf => (0, leaf_weight(leaf), Unhashable::No),
        };
        let edge = self.d.edges.len();
        if edge >= NIL as usize {
            return Err(at.capacity(Capacity::Items, I.min(NIL as usize)));
        }
        self.d
            .edges
            .push(Edge { child, next: NIL })
            .map_err(|_| at.capacity(Capacity::Items, I))?;
        let edge = edge as u16;
        let Some(Node::Container(c)) = self.d.nodes.get_mut(parent as usize) else {
            return Err(at.stack("not a container"));
        };
        if c.len == u16::MAX {
            return Err(at.capacity(Capacity::Items, u16::MAX as usize));
        }
        match c.kind {
            ContainerKind::Dict | ContainerKind::Set | ContainerKind::FrozenSet => {
                let is_key = c.kind != ContainerKind::Dict || c.len % 2 == 0;
                if is_key && unhashable != Unhashable::No {
                    return Err(Error::Unhashable {
                        opcode: at.op,
                        offset: at.offset,
                        type_name: unhashable.type_name().unwrap_or("?"),
                    });
                }
                // A second key: equal keys may need merging, a set ordering.
                if is_key && c.len > 0 {
                    self.keyed |= if c.kind == ContainerKind::FrozenSet {
                        2
                    } else {
                        1
                    };
                }
            }
            ContainerKind::Tuple if c.unhashable == Unhashable::No => c.unhashable = unhashable,
            _ => {}
        }
        c.expansion = c.expansion.saturating_add(weight);
        if c.expansion > MAX_EXPANSION {
            return Err(at.capacity(Capacity::Expansion, MAX_EXPANSION as usize));
        }
        if c.first == NIL {
            c.first = edge;
        } else if let Some(last) = self.d.edges.get_mut(c.last as usize) {
            last.next = edge;
        }
        c.last = edge;
        c.len += 1;
        c.depth = c.depth.max(child_depth + 1);
        if c.depth as usize > MAX_DEPTH {
            return Err(at.capacity(Capacity::Depth, MAX_DEPTH));
        }
        Ok(())
    }

    /// A container pushed again: its structure may now be shared or cyclic.
    fn note_shared(&mut self, id: NodeId) {
        if let Node::Container(_) = self.node(id) {
            self.shared = true;
        }
    }

    fn memo_put(&mut self, index: u32, id: NodeId, at: At) -> Result<(), Error> {
        let index = index as usize;
        if index >= M {
            return Err(at.capacity(Capacity::Memo, M));
        }
        while self.d.memo.len() <= index {
            // Cannot fail: index < M.
            let _ = self.d.memo.push(NIL);
        }
        if self.d.memo[index] == NIL {
            self.memo_len += 1;
        }
        self.d.memo[index] = id;
        Ok(())
    }

    /// The UTF-8 text of a `Str` node.
    fn utf8(&self, id: NodeId) -> Option<&'i [u8]> {
        match self.node(id) {
            Node::Str {
                start,
                len,
                enc: TextEncoding::Utf8,
            } => self
                .input
                .get(start as usize..(start as usize).checked_add(len as usize)?),
            _ => None,
        }
    }

    /// True if node `id` is the `str` `expected` (in any encoding).
    fn is_text(&self, id: NodeId, expected: &str) -> bool {
        match self.node(id) {
            Node::Str { start, len, enc } => {
                let raw = (start as usize)
                    .checked_add(len as usize)
                    .and_then(|end| self.input.get(start as usize..end))
                    .unwrap_or(&[]);
                text::text_chars(raw, enc).eq(expected.chars())
            }
            _ => false,
        }
    }

    /// Items of a container node as a stack-like list of ids (for REDUCE argument tuples).
    fn tuple_items<const N: usize>(&self, id: NodeId) -> Option<Vec<NodeId, N>> {
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
            edge = e.next;
        }
        Some(out)
    }

    /// REDUCE: recognises CPython's patterns for builtin data; refuses everything else.
    fn reduce(&mut self, callable: NodeId, args: NodeId, at: At) -> Result<NodeId, Error> {
        let Node::Builtin(builtin) = self.node(callable) else {
            return Err(at.refused(None));
        };
        let refuse = || {
            at.refused(Some(match builtin {
                Builtin::Set => Global::new(b"builtins", b"set"),
                Builtin::FrozenSet => Global::new(b"builtins", b"frozenset"),
                Builtin::Bytes => Global::new(b"builtins", b"bytes"),
                Builtin::ByteArray => Global::new(b"builtins", b"bytearray"),
                Builtin::CodecsEncode => Global::new(b"_codecs", b"encode"),
            }))
        };
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
                let id = self.new_container(kind, at)?;
                let mut edge = source.first;
                for _ in 0..source.len {
                    let Some(&Edge { child, next }) = self.d.edges.get(edge as usize) else {
                        break;
                    };
                    self.add_child(id, child, at)?;
                    edge = next;
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
                let Node::Str { start, len, enc } = self.node(text) else {
                    return Err(refuse());
                };
                let raw = self
                    .input
                    .get(start as usize..start as usize + len as usize)
                    .unwrap_or(&[]);
                text::validate_latin1(raw, enc).map_err(|r| at.arg(r))?;
                Node::Bytes {
                    start,
                    len,
                    enc: BytesEncoding::Latin1(enc),
                    mutable: builtin == Builtin::ByteArray,
                }
            }
            _ => return Err(refuse()),
        };
        self.alloc(node, at)
    }

    /// The empty value `builtin()` returns.
    fn empty(&self, builtin: Builtin) -> Node {
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

    // ---- dict keys and set items ----

    /// Merges equal dict keys and set items and puts sets in CPython's order (see
    /// [`keys`](super::keys)), in the storage the machine no longer needs. Fails only
    /// when that work exceeds [`MAX_EXPANSION`] units.
    fn merge_keys(&mut self, at: At) -> Result<(), Error> {
        let d = &mut *self.d;
        let used = d.edges.len.min(I);
        let (edges, spare) = d.edges.items.split_at_mut(used);
        let mut scratch = Scratch {
            a: &mut d.memo.items,
            b: &mut d.stack.items,
            spare,
        };
        Keys {
            input: self.input,
            nodes: d.nodes.as_mut_slice(),
            edges,
            budget: MAX_EXPANSION,
        }
        .merge_all(&mut scratch, self.keyed & 2 != 0)
        .map_err(|_| at.capacity(Capacity::Expansion, MAX_EXPANSION as usize))
    }

    // ---- shared structure: cycles, depth, expansion ----

    /// Walks the value from `root` once (iteratively) when containers were shared: refuses
    /// cycles, and computes exact depth and expansion (bounded by [`MAX_DEPTH`] and
    /// [`MAX_EXPANSION`]).
    fn check_shared(&mut self, root: NodeId, at: At) -> Result<(), Error> {
        struct Frame {
            node: NodeId,
            edge: u16,
            left: u16,
            depth: u16,
            expansion: u32,
        }
        let mut path: Vec<Frame, { MAX_DEPTH + 1 }> = Vec::new();
        let Some(Node::Container(c)) = self.d.nodes.get_mut(root as usize) else {
            return Ok(());
        };
        c.visit = 1;
        let _ = path.push(Frame {
            node: root,
            edge: c.first,
            left: c.len,
            depth: 1,
            expansion: 1,
        });
        while let Some(top) = path.last_mut() {
            if top.left == 0 {
                // Done with this container: record and fold into the parent.
                let Some(done) = path.pop() else { break };
                if let Some(Node::Container(c)) = self.d.nodes.get_mut(done.node as usize) {
                    c.visit = 2;
                    c.depth = done.depth;
                    c.expansion = done.expansion;
                }
                if let Some(parent) = path.last_mut() {
                    parent.depth = parent.depth.max(done.depth + 1);
                    parent.expansion = parent.expansion.saturating_add(done.expansion);
                }
                continue;
            }
            let Some(&Edge { child, next }) = self.d.edges.get(top.edge as usize) else {
                top.left = 0;
                continue;
            };
            top.edge = next;
            top.left -= 1;
            let (depth, expansion) = match self.d.nodes.get_mut(child as usize) {
                Some(Node::Container(c)) => match c.visit {
                    0 => {
                        c.visit = 1;
                        let frame = Frame {
                            node: child,
                            edge: c.first,
                            left: c.len,
                            depth: 1,
                            expansion: 1,
                        };
                        path.push(frame)
                            .map_err(|_| at.capacity(Capacity::Depth, MAX_DEPTH))?;
                        continue;
                    }
                    1 => return Err(Error::Recursive { offset: at.offset }),
                    _ => (c.depth, c.expansion),
                },
                Some(leaf) => (0, leaf_weight(*leaf)),
                None => (0, 1),
            };
            top.depth = top.depth.max(depth + 1);
            top.expansion = top.expansion.saturating_add(expansion);
            if top.depth as usize > MAX_DEPTH {
                return Err(at.capacity(Capacity::Depth, MAX_DEPTH));
            }
            if top.expansion > MAX_EXPANSION {
                return Err(at.capacity(Capacity::Expansion, MAX_EXPANSION as usize));
            }
        }
        Ok(())
    }
}

/// The builtin a GLOBAL names, if it is one CPython uses for builtin data. Python 2's
/// `__builtin__` is read as `builtins` only below protocol 3, as CPython's unpickler maps
/// it (`fix_imports`) only then.
fn builtin(module: &[u8], name: &[u8], proto: u8) -> Option<Builtin> {
    let builtins = module == b"builtins" || (module == b"__builtin__" && proto < 3);
    match (module, name) {
        (_, b"set") if builtins => Some(Builtin::Set),
        (_, b"frozenset") if builtins => Some(Builtin::FrozenSet),
        (_, b"bytes") if builtins => Some(Builtin::Bytes),
        (_, b"bytearray") if builtins => Some(Builtin::ByteArray),
        (b"_codecs", b"encode") => Some(Builtin::CodecsEncode),
        _ => None,
    }
}

/// An INT argument CPython's C unpickler reads as a bool: two characters (`strtol` of
/// them is 0 or 1 and ends at the newline), such as `00`, `01`, ` 1`, `+1`, `-0`.
fn int_bool(line: &[u8]) -> Option<bool> {
    match *line {
        [b'0' | b'+' | b' ' | b'\t' | 0x0b | 0x0c | b'\r', d @ (b'0' | b'1')] => Some(d == b'1'),
        [b'-', b'0'] => Some(false),
        _ => None,
    }
}

/// An INT or LONG decimal argument that starts at input offset `start` (at most
/// Python's 4300 digits: `parse_decimal_int` refuses longer ones).
fn decimal_int(start: usize, digits: &[u8], at: At) -> Result<Node, Error> {
    number::parse_decimal_int(digits).map_err(|r| at.arg(r))?;
    Ok(match number::decimal_to_i64(digits) {
        Some(v) => Node::Int(v),
        None => Node::BigInt {
            start: start as u32,
            len: digits.len() as u32,
            digits: IntDigits::Decimal,
        },
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    fn repr(bytes: &[u8]) -> std::string::String {
        let mut d: Decoder = Decoder::new();
        match d.decode(bytes) {
            Ok(v) => v.to_string(),
            Err(e) => std::format!("error: {e}"),
        }
    }

    /// Generated by `python3 core/tests/python/opcode_fixtures.py`: one pickle per data opcode
    /// and CPython's `repr(pickle.loads(pickle))`.
    const OPCODE_CASES: &[(&str, &[u8], &str)] = &[
        ("PROTO, FRAME, STOP", b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.", "None"),
        ("MARK, TUPLE", b"(K\x01K\x02t.", "(1, 2)"),
        ("POP", b"K\x01K\x020.", "1"),
        ("POP of a bare MARK", b"K\x01(0.", "1"),
        ("POP_MARK", b"K\x01(K\x02K\x031.", "1"),
        ("DUP", b"]2\x86.", "([], [])"),
        ("NONE", b"N.", "None"),
        ("NEWTRUE, NEWFALSE", b"\x88\x89\x86.", "(True, False)"),
        ("INT", b"I-42\x0a.", "-42"),
        ("INT true", b"I01\x0a.", "True"),
        ("INT false", b"I00\x0a.", "False"),
        ("INT beyond 64 bits", b"I123456789012345678901234567890\x0a.", "123456789012345678901234567890"),
        ("BININT", b"J\xff\xff\xff\xff.", "-1"),
        ("BININT1", b"K\xff.", "255"),
        ("BININT2", b"M\xff\xff.", "65535"),
        ("LONG", b"L-123456789012345678901234567890L\x0a.", "-123456789012345678901234567890"),
        ("LONG small", b"L5L\x0a.", "5"),
        ("LONG1", b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.", "9223372036854775808"),
        ("LONG1 empty is zero", b"\x8a\x00.", "0"),
        ("LONG4", b"\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff.", "-18446744073709551616"),
        ("FLOAT", b"F0.1\x0a.", "0.1"),
        ("FLOAT exponent", b"F1e+16\x0a.", "1e+16"),
        ("BINFLOAT", b"G\xbf\xf8\x00\x00\x00\x00\x00\x00.", "-1.5"),
        ("BINFLOAT -0.0", b"G\x80\x00\x00\x00\x00\x00\x00\x00.", "-0.0"),
        ("BINFLOAT inf", b"G\x7f\xf0\x00\x00\x00\x00\x00\x00.", "inf"),
        ("STRING", b"S'clientid'\x0a.", "'clientid'"),
        ("STRING escapes", b"S'it\x5c's\x5cn\x5cx41'\x0a.", "\"it's\\nA\""),
        ("STRING double quotes", b"S\x22it's\x22\x0a.", "\"it's\""),
        ("BINSTRING", b"T\x03\x00\x00\x00abc.", "'abc'"),
        ("SHORT_BINSTRING", b"U\x03abc.", "'abc'"),
        ("UNICODE", b"Vcaf\xe9 \x5cu20ac\x0a.", "'café €'"),
        ("BINUNICODE", b"X\x05\x00\x00\x00caf\xc3\xa9.", "'café'"),
        ("SHORT_BINUNICODE", b"\x8c\x02\xc3\xa9.", "'é'"),
        ("BINUNICODE8", b"\x8d\x02\x00\x00\x00\x00\x00\x00\x00hi.", "'hi'"),
        ("BINBYTES", b"B\x02\x00\x00\x00\x00\xff.", "b'\\x00\\xff'"),
        ("SHORT_BINBYTES", b"C\x03a'\x22.", "b'a\\'\"'"),
        ("BINBYTES8", b"\x8e\x01\x00\x00\x00\x00\x00\x00\x00\x0a.", "b'\\n'"),
        ("BYTEARRAY8", b"\x96\x02\x00\x00\x00\x00\x00\x00\x00ab.", "bytearray(b'ab')"),
        ("EMPTY_LIST", b"].", "[]"),
        ("LIST", b"(K\x01K\x02l.", "[1, 2]"),
        ("APPEND", b"]K\x01a.", "[1]"),
        ("APPENDS", b"](K\x01K\x02K\x03e.", "[1, 2, 3]"),
        ("EMPTY_TUPLE", b").", "()"),
        ("TUPLE1", b"K\x01\x85.", "(1,)"),
        ("TUPLE2", b"K\x01K\x02\x86.", "(1, 2)"),
        ("TUPLE3", b"K\x01K\x02K\x03\x87.", "(1, 2, 3)"),
        ("EMPTY_DICT", b"}.", "{}"),
        ("DICT", b"(U\x01aK\x01U\x01bK\x02d.", "{'a': 1, 'b': 2}"),
        ("SETITEM", b"}U\x01aK\x01s.", "{'a': 1}"),
        ("SETITEMS", b"}(U\x01aK\x01U\x01bK\x02u.", "{'a': 1, 'b': 2}"),
        ("EMPTY_SET", b"\x8f.", "set()"),
        ("ADDITEMS", b"\x8f(K\x01\x90.", "{1}"),
        ("FROZENSET", b"(K\x01\x91.", "frozenset({1})"),
        ("FROZENSET empty", b"(\x91.", "frozenset()"),
        ("PUT, GET", b"Vab\x0ap0\x0ag0\x0a\x86.", "('ab', 'ab')"),
        ("BINPUT, BINGET", b"]q\x05\x8c\x01x\x94h\x05\x86.", "('x', [])"),
        ("LONG_BINPUT, LONG_BINGET", b"K\x07r\x00\x01\x00\x00j\x00\x01\x00\x00\x86.", "(7, 7)"),
        ("MEMOIZE", b"\x8c\x01a\x94\x8c\x01b\x94h\x00h\x01\x87.", "('b', 'a', 'b')"),
        ("set via GLOBAL+REDUCE (protocol 2)", b"\x80\x02c__builtin__\x0aset\x0aq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03.", "{1, 2}"),
        ("frozenset via GLOBAL+REDUCE (protocol 3)", b"\x80\x03cbuiltins\x0afrozenset\x0aq\x00]q\x01K\x01a\x85q\x02Rq\x03.", "frozenset({1})"),
        ("bytes via _codecs.encode (protocol 2)", b"\x80\x02c_codecs\x0aencode\x0aq\x00X\x03\x00\x00\x00\xc3\xbfaq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.", "b'\\xffa'"),
        ("empty bytes (protocol 2)", b"\x80\x02c__builtin__\x0abytes\x0aq\x00)Rq\x01.", "b''"),
        ("bytearray (protocol 0)", b"c__builtin__\x0abytearray\x0ap0\x0a(c_codecs\x0aencode\x0ap1\x0a(Vab\x0ap2\x0aVlatin1\x0ap3\x0atp4\x0aRp5\x0atp6\x0aRp7\x0a.", "bytearray(b'ab')"),
        ("bytearray via STACK_GLOBAL (protocol 4)", b"\x80\x04\x95#\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x09bytearray\x94\x93\x94C\x02ab\x94\x85\x94R\x94.", "bytearray(b'ab')"),
        ("empty set (protocol 1)", b"c__builtin__\x0aset\x0aq\x00(]q\x01tq\x02Rq\x03.", "set()"),
    ];

    #[test]
    fn every_data_opcode_matches_cpython() {
        let mismatches: std::vec::Vec<_> = OPCODE_CASES
            .iter()
            .map(|(name, pickle, expected)| (name, repr(pickle), expected))
            .filter(|(_, got, expected)| got != *expected)
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }

    #[test]
    fn lab_client_id() {
        // pickle.dumps({'clientid': 54321}) in CPython 3.11
        let p = b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.";
        assert_eq!(repr(p), "{'clientid': 54321}");
    }

    #[test]
    fn bytes_after_stop_are_ignored_and_length_reported() {
        let mut d: Decoder = Decoder::new();
        let (v, len) = d.decode_prefix(b"K\x01.K\x02.").unwrap();
        assert_eq!((v.as_i64(), len), (Some(1), 3));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for (name, pickle, _) in OPCODE_CASES {
            for cut in 0..pickle.len() {
                let mut d: Decoder = Decoder::new();
                match d.decode(&pickle[..cut]) {
                    Err(Error::Truncated { .. }) => {}
                    other => panic!("{name} cut at {cut}: {:?}", other.map(|v| v.to_string())),
                }
            }
        }
    }

    #[test]
    fn malformed_arguments_name_opcode_and_offset() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"\xff.",
                "invalid pickle: byte 0xff at offset 0 is not an opcode",
            ),
            (
                b"\x80\x06N.",
                "unsupported pickle protocol 6 at byte 0 (0 to 5 are supported)",
            ),
            (
                b"T\xff\xff\xff\xff.",
                "invalid pickle: BINSTRING at byte 0: negative length",
            ),
            (
                b"N\x8c\x01\xff.",
                "invalid pickle: SHORT_BINUNICODE at byte 1: invalid utf-8",
            ),
            (
                b"h\x03.",
                "invalid pickle: memo index 3 read at byte 0 was never stored",
            ),
            (
                b"K\x01a.",
                "invalid pickle: APPEND at byte 2: no container below the items",
            ),
            (
                b"a.",
                "invalid pickle: APPEND at byte 0: not enough items on the stack",
            ),
            (
                b"K\x01K\x02a.",
                "invalid pickle: APPEND at byte 4: items appended to something that is not a list",
            ),
            (
                b"e.",
                "invalid pickle: APPENDS at byte 0: no MARK on the stack",
            ),
            (b".", "invalid pickle: STOP at byte 0: stack is empty"),
            (
                b"(.",
                "invalid pickle: STOP at byte 1: a MARK where an item was expected",
            ),
            (
                b"(K\x01d.",
                "invalid pickle: DICT at byte 3: odd number of items for a dict",
            ),
        ];
        for (pickle, expected) in cases {
            assert_eq!(
                repr(pickle),
                std::format!("error: {expected}"),
                "{pickle:?}"
            );
        }
    }

    #[test]
    fn code_running_opcodes_are_refused_with_offset() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"cos\nsystem\n(S'echo hi'\ntR.",
                "refused GLOBAL of os.system at byte 0",
            ),
            (
                b"\x80\x04\x8c\x02os\x8c\x06system\x93.",
                "refused STACK_GLOBAL of os.system at byte 14",
            ),
            (
                b"(S'x'\nios\nsystem\n.",
                "refused INST of os.system at byte 6",
            ),
            (b"c__builtin__\nset\n)\x81.", "refused NEWOBJ at byte 18"),
            (b"]\x92.", "refused NEWOBJ_EX at byte 1"),
            (b"\x82\x01.", "refused EXT1 at byte 0"),
            (b"\x83\x01\x00.", "refused EXT2 at byte 0"),
            (b"\x84\x01\x00\x00\x00.", "refused EXT4 at byte 0"),
            (b"Pid\n.", "refused PERSID at byte 0"),
            (b"NQ.", "refused BINPERSID at byte 1"),
            (b"}}b.", "refused BUILD at byte 2"),
            (b"(o.", "refused OBJ at byte 1"),
            (b"\x97.", "refused NEXT_BUFFER at byte 0"),
            (b"N\x98.", "refused READONLY_BUFFER at byte 1"),
            (b"N)R.", "refused REDUCE at byte 2"),
            (
                b"c__builtin__\nset\n(K\x01tR.",
                "refused REDUCE of builtins.set at byte 21",
            ),
            (
                b"c_codecs\nencode\n(Vab\nVutf8\ntR.",
                "refused REDUCE of _codecs.encode at byte 28",
            ),
        ];
        for (pickle, expected) in cases {
            let got = repr(pickle);
            assert!(got.starts_with(&std::format!("error: {expected}")), "{got}");
        }
    }

    #[test]
    fn shared_containers_and_cycles() {
        // l = [1]; pickle.dumps([l, l], 4)
        let p = b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94K\x01ah\x01e.";
        assert_eq!(repr(p), "[[1], [1]]");
        // l = []; l.append(l)
        assert_eq!(
            repr(b"]q\x00h\x00a."),
            "error: pickle refused at byte 6: a container contains itself"
        );
        // A cycle through another list, closed after both were built.
        assert_eq!(
            repr(b"]q\x00]q\x01h\x00h\x01ah\x01h\x00a0."),
            "error: pickle refused at byte 17: a container contains itself"
        );
        assert_eq!(
            repr(b"]q\x00]q\x01h\x00h\x01ah\x01h\x00a."),
            "error: pickle refused at byte 16: a container contains itself"
        );
    }

    #[test]
    fn depth_is_bounded() {
        let mut p = std::vec![b']'; MAX_DEPTH];
        p.extend(std::iter::repeat_n(b'a', MAX_DEPTH - 1));
        p.push(b'.');
        assert!(repr(&p).starts_with("[[[["));
        p.insert(0, b']');
        p.insert(p.len() - 1, b'a');
        assert_eq!(
            repr(&p),
            std::format!(
                "error: pickle too large at byte {}: more than 64 nesting depth",
                p.len() - 2
            )
        );
    }

    #[test]
    fn shared_reference_bombs_are_bounded() {
        // Each level is a list holding the previous level twice: 2^40 values when expanded.
        let mut p = std::vec::Vec::from(&b"]\x94"[..]);
        for level in 0..40u32 {
            p.extend_from_slice(b"(h");
            p.push(level as u8);
            p.push(b'h');
            p.push(level as u8);
            p.extend_from_slice(b"l\x94");
        }
        p.push(b'.');
        let got = repr(&p);
        assert!(
            got.starts_with("error: pickle too large")
                && got.ends_with("values after expanding shared references"),
            "{got}"
        );
    }

    /// Issue 12's pickles and CPython 3.11's `repr(pickle.loads(p))` of each.
    const SEMANTICS_CASES: &[(&str, &[u8], &str)] = &[
        ("equal dict keys", b"}(K\x01U\x01aK\x01U\x01bu.", "{1: 'b'}"),
        ("1, True, False, 0 in a set", b"\x80\x04\x8f(K\x01\x88\x89K\x00\x90.", "{False, 1}"),
        ("frozenset order", b"\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00(K\x05K\x14K-\x91\x94.", "frozenset({45, 20, 5})"),
        ("0.0 and -0.0", b"}(G\x00\x00\x00\x00\x00\x00\x00\x00K\x01G\x80\x00\x00\x00\x00\x00\x00\x00K\x02u.", "{0.0: 2}"),
        ("'a' as Python 2 str, BINUNICODE, SHORT_BINUNICODE", b"\x80\x02}(U\x01aK\x01X\x01\x00\x00\x00aK\x02\x8c\x01aK\x03u.", "{'a': 3}"),
        ("one NaN object twice", b"\x80\x04\x8f(G\x7f\xf8\x00\x00\x00\x00\x00\x00\x94h\x00\x90.", "{nan}"),
        ("two NaN objects", b"\x80\x04\x8f(G\x7f\xf8\x00\x00\x00\x00\x00\x00G\x7f\xf8\x00\x00\x00\x00\x00\x00\x90.", "{nan, nan}"),
        ("one NaN key twice", b"\x80\x04}(G\x7f\xf8\x00\x00\x00\x00\x00\x00\x94K\x01h\x00K\x02u.", "{nan: 2}"),
        ("INT ' 1'", b"I 1\n.", "True"),
        ("INT '+1'", b"I+1\n.", "True"),
        ("INT '-0'", b"I-0\n.", "False"),
        ("INT '+0'", b"I+0\n.", "False"),
        ("INT '\\t0'", b"I\t0\n.", "False"),
        ("INT '-1'", b"I-1\n.", "-1"),
        ("INT '1'", b"I1\n.", "1"),
        ("bytearray, Python 2.7 / CPython <= 3.7 protocol 2", b"\x80\x02c__builtin__\nbytearray\nq\x00X\x02\x00\x00\x00abq\x01X\x07\x00\x00\x00latin-1q\x02\x86q\x03R.", "bytearray(b'ab')"),
        ("bytearray, Python 2.7 protocol 0", b"c__builtin__\nbytearray\np0\n(V\xff\np1\nS'latin-1'\np2\ntp3\nRp4\n.", "bytearray(b'\\xff')"),
        ("empty bytearray, Python 2.7 protocol 2", b"\x80\x02c__builtin__\nbytearray\nq\x00X\x00\x00\x00\x00q\x01U\x07latin-1q\x02\x86q\x03R.", "bytearray(b'')"),
    ];

    #[test]
    fn dict_set_and_int_semantics_match_cpython() {
        let mismatches: std::vec::Vec<_> = SEMANTICS_CASES
            .iter()
            .map(|(name, pickle, expected)| (name, repr(pickle), expected))
            .filter(|(_, got, expected)| got != *expected)
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
        // A decoder too small to order in its scratch still merges (and keeps pickle order).
        let mut tiny: Decoder<8, 4, 6, 1> = Decoder::new();
        let v = tiny
            .decode(b"\x80\x04\x8f(K\x01\x88\x89K\x00\x90.")
            .unwrap();
        assert_eq!(v.to_string(), "{1, False}");
    }

    #[test]
    fn unhashable_keys_are_refused_as_cpython_raises_type_error() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"\x80\x04\x8f(]\x90.",
                "invalid pickle: ADDITEMS at byte 5: unhashable type: 'list'",
            ),
            (
                b"\x80\x04}(]K\x01u.",
                "invalid pickle: SETITEMS at byte 7: unhashable type: 'list'",
            ),
            (
                b"}]K\x01s.",
                "invalid pickle: SETITEM at byte 4: unhashable type: 'list'",
            ),
            (
                b"(K\x01}\x86\x91.",
                "invalid pickle: FROZENSET at byte 5: unhashable type: 'dict'",
            ),
            (
                b"c__builtin__\nset\n(\x8f\x85l\x85R.",
                "invalid pickle: REDUCE at byte 22: unhashable type: 'set'",
            ),
            (
                b"}\x96\x00\x00\x00\x00\x00\x00\x00\x00Ns.",
                "invalid pickle: SETITEM at byte 11: unhashable type: 'bytearray'",
            ),
        ];
        for (pickle, expected) in cases {
            assert!(
                repr(pickle).starts_with(&std::format!("error: {expected}")),
                "{}",
                repr(pickle)
            );
        }
        // A list as a value is fine.
        assert_eq!(repr(b"}(K\x01]u."), "{1: []}");
    }

    #[test]
    fn builtin_module_is_python_2_only() {
        // CPython maps __builtin__ to builtins only below protocol 3.
        assert!(repr(b"\x80\x03c__builtin__\nset\n]\x85R.")
            .starts_with("error: refused GLOBAL of __builtin__.set"));
        assert_eq!(repr(b"\x80\x02c__builtin__\nset\n]\x85R."), "set()");
        assert_eq!(repr(b"\x80\x03cbuiltins\nset\n]\x85R."), "set()");
    }

    /// Issue 12's expansion bombs: a 1000-byte string, or a 1785-byte int, in a doubling
    /// chain of 19 lists.
    #[test]
    fn expansion_bombs_are_refused_by_size() {
        let levels: std::vec::Vec<u8> = (0..19u8)
            .flat_map(|i| [40, 104, i, 104, i, 108, 148])
            .collect();
        let mut str_bomb = std::vec::Vec::from(&b"\x80\x04B\xe8\x03\x00\x00"[..]);
        str_bomb.extend([0u8; 1000]);
        str_bomb.push(0x94);
        str_bomb.extend(&levels);
        str_bomb.push(b'.');
        let mut int_bomb = std::vec::Vec::from(&b"\x80\x04\x8b\xf9\x06\x00\x00"[..]);
        int_bomb.extend([0xff; 1784]);
        int_bomb.push(0x7f); // 2**14279 - 1
        int_bomb.push(0x94);
        int_bomb.extend(&levels);
        int_bomb.push(b'.');
        for bomb in [str_bomb, int_bomb] {
            let got = repr(&bomb);
            assert!(
                got.starts_with("error: pickle too large")
                    && got.contains("after expanding shared references"),
                "{got}"
            );
        }
    }

    #[test]
    fn long_ints_of_any_length_load() {
        // 4300 decimal digits need 1786 bytes: CPython loads (and prints) it.
        let mut p = std::vec::Vec::from(&b"\x8b\xfa\x06\x00\x00"[..]);
        p.extend([0u8; 1785]);
        p.push(0x40);
        p.push(b'.');
        let mut d: Decoder = Decoder::new();
        assert!(matches!(d.decode(&p), Ok(Value::BigInt(_))));
    }

    #[test]
    fn capacities_are_errors_not_panics() {
        let mut tiny: Decoder<4, 4, 4, 4> = Decoder::new();
        let err = tiny.decode(b"(K\x01K\x02K\x03K\x04K\x05l.").unwrap_err();
        assert_eq!(
            err,
            Error::Capacity {
                what: Capacity::Stack,
                limit: 4,
                offset: 7
            }
        );
        let err = tiny.decode(b"K\x01r\x04\x00\x00\x00.").unwrap_err();
        assert_eq!(
            err,
            Error::Capacity {
                what: Capacity::Memo,
                limit: 4,
                offset: 2
            }
        );
        let err = tiny.decode(b"](K\x01K\x01e(K\x01K\x01K\x01e.").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Capacity {
                    what: Capacity::Values,
                    ..
                }
            ),
            "{err:?}"
        );
        let mut few_items: Decoder<16, 4, 16, 4> = Decoder::new();
        let err = few_items.decode(b"](NNNNNe.").unwrap_err();
        assert_eq!(
            err,
            Error::Capacity {
                what: Capacity::Items,
                limit: 4,
                offset: 7
            }
        );
    }
}
