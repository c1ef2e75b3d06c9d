//! The decoder's arena: nodes (one per decoded value; strings, bytes and big integers are
//! spans of the input), the edges that chain a container's items, and the fixed-capacity
//! slabs that hold both. [`Value`](crate::pickle::Value) reads this arena; nothing here
//! knows the pickle machine.

use crate::pickle::text::{BytesEncoding, TextEncoding};

/// Index of a node in the decoder's arena.
pub(crate) type NodeId = u16;
/// "No node" / "no edge".
pub(crate) const NIL: u16 = u16::MAX;

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
    pub(super) depth: u16,
    /// Expanded size (see [`MAX_EXPANSION`](super::MAX_EXPANSION)), this one included.
    pub(crate) expansion: u32,
    /// Post-pass mark: 0 unvisited, 1 on the current path, 2 done.
    pub(super) visit: u8,
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

/// The expanded size (see [`MAX_EXPANSION`](super::MAX_EXPANSION)) of a value that is not a container: 1, plus a
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
pub(super) struct Slab<T: Copy, const N: usize> {
    pub(super) items: [T; N],
    pub(super) len: usize,
}

impl<T: Copy, const N: usize> Slab<T, N> {
    pub(super) const fn new(fill: T) -> Self {
        Slab {
            items: [fill; N],
            len: 0,
        }
    }

    #[inline]
    pub(super) fn push(&mut self, item: T) -> Result<(), T> {
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
    pub(super) fn pop(&mut self) -> Option<T> {
        self.len = self.len.checked_sub(1)?;
        self.items.get(self.len).copied()
    }

    #[inline]
    pub(super) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline]
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }

    #[inline]
    pub(super) fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    #[inline]
    pub(super) fn as_mut_slice(&mut self) -> &mut [T] {
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
