//! The decoder's arena: nodes (one per decoded value; strings, bytes and big integers are
//! spans of the input), the edges that chain a container's items, and the fixed-capacity
//! slabs that hold both. [`Value`](crate::pickle::Value) reads this arena; nothing here
//! knows the pickle machine.

#[cfg(feature = "alloc")]
extern crate alloc;

use crate::pickle::text::{BytesEncoding, TextEncoding};

/// Index of a node or an edge in the decoder's arena: 16 bits (at most 65,535 of each per
/// pickle, the smallest arena), or 32 bits with the `alloc` feature, for
/// [`HeapDecoder`](super::HeapDecoder), which sizes its arena to its input.
#[cfg(not(feature = "alloc"))]
pub(crate) type Id = u16;
/// Index of a node or an edge in the decoder's arena (32 bits: the `alloc` feature is on).
#[cfg(feature = "alloc")]
pub(crate) type Id = u32;
/// Index of a node in the decoder's arena.
pub(crate) type NodeId = Id;
/// "No node" / "no edge".
pub(crate) const NIL: Id = Id::MAX;
/// The `first` edge of a container that stands where a container appears inside itself
/// (Python's repr prints `[...]` there; it has no items). See `shared.rs`.
pub(crate) const CYCLE: Id = Id::MAX - 1;

/// The kind of a container node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContainerKind {
    List,
    Tuple,
    Set,
    FrozenSet,
    Dict,
    /// An object built from a global (see [`objects`](crate::pickle::objects)): its items
    /// are the slots [`objects::Slot`](crate::pickle::objects::Slot) names, in order.
    Object(Made),
}

/// How the pickle made an object: by calling its global (REDUCE, INST, OBJ), or by its
/// class's `__new__` (NEWOBJ, NEWOBJ_EX, `copyreg._reconstructor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Made {
    Call,
    // Made by the `objects` feature's hook only.
    #[cfg_attr(not(feature = "objects"), allow(dead_code))]
    New,
}

/// A global a pickle named, kept as a reference: `module.name` (spans of the input, UTF-8)
/// and what brine knows of it. Nothing is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GlobalRef {
    pub(crate) module_start: u32,
    pub(crate) name_start: u32,
    pub(crate) module_len: u8,
    pub(crate) name_len: u8,
    pub(crate) class: crate::pickle::objects::Class,
}

impl GlobalRef {
    /// No global: empty spans, [`Class::Unknown`](crate::pickle::objects::Class::Unknown)
    /// (what an object's class reads as where its node is not a global; the decoder never
    /// makes one).
    pub(crate) const NONE: GlobalRef = GlobalRef {
        module_start: 0,
        name_start: 0,
        module_len: 0,
        name_len: 0,
        class: crate::pickle::objects::Class::Unknown,
    };
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

/// One decoded value. Strings, bytes and big integers are spans of the input. An explicit
/// one-byte tag (see [`Container`]); 16 bytes without `alloc` (checked below).
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
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
        /// A UTF-8 str's [`key_slot`]; 0 for the other encodings.
        key: u8,
    },
    Bytes {
        start: u32,
        len: u32,
        enc: BytesEncoding,
        mutable: bool,
    },
    Container(Container),
    Builtin(Builtin),
    /// A global other than the builtins above (a standard type, or any class when stubs
    /// are allowed). Made by the `objects` feature's hook only.
    #[cfg_attr(not(feature = "objects"), allow(dead_code))]
    Global(GlobalRef),
}

#[cfg(not(feature = "alloc"))]
const _: () = assert!(core::mem::size_of::<Node>() == 16);

impl Node {
    /// Its variant's number (its one-byte tag in memory: a byte load).
    #[inline(always)]
    pub(crate) const fn tag(&self) -> u8 {
        match self {
            Node::None => 0,
            Node::Bool(_) => 1,
            Node::Int(_) => 2,
            Node::BigInt { .. } => 3,
            Node::Float(_) => 4,
            Node::Str { .. } => 5,
            Node::Bytes { .. } => 6,
            Node::Container(_) => 7,
            Node::Builtin(_) => 8,
            Node::Global(_) => 9,
        }
    }

    /// The bytes of a `str` node that is UTF-8 as it stands (protocol 1 and later); `None`
    /// for any other node.
    pub(crate) fn utf8(self, input: &[u8]) -> Option<&[u8]> {
        match self {
            Node::Str {
                start,
                len,
                enc: TextEncoding::Utf8,
                ..
            } => Some(span(input, start, len)),
            _ => None,
        }
    }
}

/// A UTF-8 str's slot (1-64) in the decoder's filter of certainly distinct dict keys: a
/// hash of its length and its first and last eight bytes (fewer: first and last four, or
/// first, middle and last byte), so equal strs share it. Without `fast`, out of line (its
/// 64-bit mixing is long on a 32-bit target; inlined into both string arms it cost the
/// smallest lab firmware its size twice).
#[cfg_attr(feature = "fast", inline(always))]
#[cfg_attr(not(feature = "fast"), inline(never))]
pub(crate) fn key_slot(text: &[u8]) -> u8 {
    text_words(text).slot
}

/// What the machine reads of a str's text at once: its [`key_slot`] and whether it is ASCII.
pub(crate) struct TextWords {
    pub(crate) slot: u8,
    pub(crate) ascii: bool,
}

/// A str's text read by words, once for both [`TextWords`]: the first and the last eight
/// bytes (overlapping; a longer text's middle words for the ASCII test only), four for a
/// text of 4 to 7 bytes, the first, middle and last byte below that. The slot mixes the two
/// words and the length by a multiplication (its top six bits).
#[inline(always)]
pub(crate) fn text_words(raw: &[u8]) -> TextWords {
    let n = raw.len();
    let word = |at: usize| {
        let bytes = raw
            .get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok());
        u64::from_le_bytes(bytes.unwrap_or([0x80; 8]))
    };
    let half = |at: usize| {
        let bytes = raw
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok());
        u64::from(u32::from_le_bytes(bytes.unwrap_or([0x80; 4])))
    };
    let byte = |at: usize| u64::from(raw.get(at).copied().unwrap_or(0x80));
    let (first, last, middle) = if n >= 8 {
        // Words from the ninth byte on while more than eight bytes are left (the last word
        // covers the rest): none for up to 16 bytes.
        let (mut middle, mut at) = (0, 8);
        while at + 8 < n {
            middle |= word(at);
            at += 8;
        }
        (word(0), word(n - 8), middle)
    } else if n >= 4 {
        (half(0), half(n - 4), 0)
    } else if n > 0 {
        (byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16, 0, 0)
    } else {
        (0, 0, 0)
    };
    let mix = (first ^ last.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    TextWords {
        slot: (mix >> 58) as u8 + 1,
        ascii: (first | last | middle) & 0x8080_8080_8080_8080 == 0,
    }
}

/// The input bytes `start..start + len` of a node (empty if out of range, which the decoder
/// never produces).
pub(crate) fn span(input: &[u8], start: u32, len: u32) -> &[u8] {
    let start = start as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| input.get(start..end))
        .unwrap_or(&[])
}

/// A container's items: a chain of edges `first ..= last`, `len` long. Packed to
/// alignment 2 and 14 bytes (without `alloc`), so that [`Node`] keeps an explicit one-byte
/// tag and stays 16 bytes: a match on a node is one byte compare (with the tag in this
/// struct's niche, every match decoded it first: ~13 instructions; measured -4% on the
/// 3.6 KB message).
#[derive(Clone, Copy, Debug)]
#[repr(Rust, packed(2))]
pub(crate) struct Container {
    pub(crate) kind: ContainerKind,
    pub(crate) first: Id,
    pub(crate) last: Id,
    /// Items (for a dict: keys and values, so twice the entries).
    pub(crate) len: Id,
    /// 1 + the deepest child's depth (leaves have depth 0): at most
    /// [`MAX_DEPTH`](super::MAX_DEPTH) + 1.
    pub(super) depth: u8,
    /// Expanded size (see [`MAX_EXPANSION`](super::MAX_EXPANSION)), this one included.
    pub(crate) expansion: u32,
    /// Post-pass mark (see `shared.rs`): unvisited, on the current path, done, in a cycle.
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
    /// A standard collection (`collections.OrderedDict`, `Counter`, `deque`,
    /// `defaultdict`): its name is the object's class (`Machine::collection_name`). One
    /// variant for the four: more would move `Node`'s niche out of this field and cost the
    /// decoder's hot loop (measured: 9 variants, +1.2% on the 3.6 KB message).
    #[cfg(feature = "objects")]
    Collection,
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
            #[cfg(feature = "objects")]
            Unhashable::Collection => None,
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
                ContainerKind::Tuple | ContainerKind::FrozenSet | ContainerKind::Object(_) => {
                    Unhashable::No
                }
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

/// A link in a container's item chain: its item, and the way to the next link as a step
/// from its own index (wrapping, so [`NIL`] is reached as any index is). The links of items
/// added together lie one after another and all hold the step 1: a batch is written
/// without an index per item (measured: -1,300 instructions on the 3.6 KB message).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub(crate) child: NodeId,
    step: Id,
}

impl Edge {
    /// What fills an unused slot: every bit set, so an array of them is filled with one
    /// byte pattern (`from_slice` makes a small decoder per call).
    pub(crate) const UNUSED: Edge = Edge {
        child: NIL,
        step: NIL,
    };

    /// The link at index `at` to `child`, followed by the link at `next` ([`NIL`]: none).
    #[inline]
    pub(crate) const fn new(at: Id, child: NodeId, next: Id) -> Self {
        Edge {
            child,
            step: next.wrapping_sub(at),
        }
    }

    /// A link to `child` followed by the link just after it.
    #[inline]
    pub(crate) const fn adjacent(child: NodeId) -> Self {
        Edge { child, step: 1 }
    }

    /// The index of the link after this one, which is at index `at` ([`NIL`]: none).
    #[inline]
    pub(crate) const fn next(self, at: Id) -> Id {
        at.wrapping_add(self.step)
    }

    /// Makes the link at `next` follow this one, which is at index `at`.
    #[inline]
    pub(crate) fn set_next(&mut self, at: Id, next: Id) {
        self.step = next.wrapping_sub(at);
    }

    /// Its second word as scratch storage (`keys.rs` keeps tables in spare links).
    pub(crate) fn scratch(self) -> Id {
        self.step
    }

    /// Stores `v` in its second word (see [`scratch`](Self::scratch)).
    pub(crate) fn set_scratch(&mut self, v: Id) {
        self.step = v;
    }
}

/// Where a [`Slab`] keeps its items: a fixed array, or with `alloc` a vector grown on
/// demand ([`Growing`]).
pub(crate) trait Backing {
    type Item: Copy;
    /// Whether [`grow`](Self::grow) can add slots.
    const GROWS: bool;
    /// Every slot it has now (the used ones first).
    fn slots(&self) -> &[Self::Item];
    fn slots_mut(&mut self) -> &mut [Self::Item];
    /// Most items a [`Slab`] pushes into it (reported in capacity errors).
    fn capacity(&self) -> usize;
    /// Makes at least `len` slots; false if it cannot (an array never grows, a failed
    /// allocation is "cannot", never an abort).
    fn grow(&mut self, len: usize) -> bool;
}

impl<T: Copy, const N: usize> Backing for [T; N] {
    type Item = T;
    const GROWS: bool = false;

    #[inline]
    fn slots(&self) -> &[T] {
        self
    }

    #[inline]
    fn slots_mut(&mut self) -> &mut [T] {
        self
    }

    #[inline]
    fn capacity(&self) -> usize {
        N
    }

    #[inline]
    fn grow(&mut self, len: usize) -> bool {
        len <= N
    }
}

/// A vector of slots grown as a [`Slab`] needs them, which pushes at most `limit` items.
#[cfg(feature = "alloc")]
pub(crate) struct Growing<T: Copy> {
    items: alloc::vec::Vec<T>,
    limit: usize,
    fill: T,
}

#[cfg(feature = "alloc")]
impl<T: Copy> Backing for Growing<T> {
    type Item = T;
    const GROWS: bool = true;

    #[inline]
    fn slots(&self) -> &[T] {
        &self.items
    }

    #[inline]
    fn slots_mut(&mut self) -> &mut [T] {
        &mut self.items
    }

    fn capacity(&self) -> usize {
        self.limit
    }

    fn grow(&mut self, len: usize) -> bool {
        let more = len.saturating_sub(self.items.len());
        if more == 0 {
            return true;
        }
        // At least doubling keeps pushes amortized O(1).
        let more = more.max(self.items.len());
        if self.items.try_reserve(more).is_err() && self.items.try_reserve_exact(more).is_err() {
            return false;
        }
        self.items.resize(self.items.len() + more, self.fill);
        true
    }
}

impl<T: Copy, const N: usize> Slab<[T; N]> {
    /// An empty slab over an array of `fill`.
    pub(super) const fn filled(fill: T) -> Self {
        Slab {
            items: [fill; N],
            len: 0,
        }
    }
}

#[cfg(feature = "alloc")]
impl<T: Copy> Slab<Growing<T>> {
    /// An empty slab that takes no items yet and has no memory (`fill` fills new slots).
    pub(super) const fn growing(fill: T) -> Self {
        Slab {
            items: Growing {
                items: alloc::vec::Vec::new(),
                limit: 0,
                fill,
            },
            len: 0,
        }
    }

    /// Empties it and sets how many items it takes; keeps the memory it has.
    pub(super) fn reset(&mut self, limit: usize) {
        self.len = 0;
        self.items.limit = limit;
    }
}

/// One of the decoder's stacks of `Copy` items (nodes, edges, the machine's stack, the memo)
/// over a [`Backing`]. Over an array, a push is a bounds check and a store (heapless'
/// `MaybeUninit` storage costs more per push here, and its construction zero-fills anyway).
pub(crate) struct Slab<B: Backing> {
    pub(super) items: B,
    pub(super) len: usize,
}

impl<B: Backing> Slab<B> {
    /// Appends `item`; gives it back when full.
    #[inline]
    pub(super) fn push(&mut self, item: B::Item) -> Result<(), B::Item> {
        // An array's slots are its capacity: one bounds check (the first test folds away).
        if B::GROWS && self.len >= self.items.capacity() {
            return Err(item);
        }
        if self.len >= self.items.slots().len() && !(B::GROWS && self.items.grow(self.len + 1)) {
            return Err(item);
        }
        match self.items.slots_mut().get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
                Ok(())
            }
            None => Err(item),
        }
    }

    /// Appends `item` and returns its index; when full, `Err` with the most items it takes
    /// (at most [`NIL`]: the largest index is one less).
    #[inline]
    pub(super) fn push_id(&mut self, item: B::Item) -> Result<Id, usize> {
        let limit = self.capacity().min(NIL as usize);
        let id = self.len;
        if id >= limit {
            return Err(limit);
        }
        self.push(item).map_err(|_| limit)?;
        Ok(id as Id)
    }

    /// Appends `n` slots and returns them (holding whatever they held) to be filled;
    /// `None`, having changed nothing, if that passes the most items it takes or the
    /// largest index ([`NIL`] - 1).
    #[inline]
    pub(super) fn grow_by(&mut self, n: usize) -> Option<&mut [B::Item]> {
        let (start, end) = (self.len, self.len.checked_add(n)?);
        if end > self.capacity().min(NIL as usize)
            || (end > self.items.slots().len() && !(B::GROWS && self.items.grow(end)))
        {
            return None;
        }
        let slots = self.items.slots_mut().get_mut(start..end)?;
        self.len = end;
        Some(slots)
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Option<B::Item> {
        self.len = self.len.checked_sub(1)?;
        self.items.slots().get(self.len).copied()
    }

    #[inline]
    pub(super) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline]
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }

    /// Slot `i`, used or not: for an index known to be in use, one compare with the
    /// array's size (no length to load).
    #[inline]
    pub(super) fn slot(&self, i: usize) -> Option<&B::Item> {
        self.items.slots().get(i)
    }

    /// Slot `i` to write, used or not: for the inline arms, which keep the length in a
    /// local while they run ([`Lens`](super::hot::Lens)).
    #[inline]
    pub(super) fn slot_mut(&mut self, i: usize) -> Option<&mut B::Item> {
        self.items.slots_mut().get_mut(i)
    }

    /// How many items it may hold without growing: its slots, at most its capacity.
    #[inline]
    pub(super) fn room(&self) -> usize {
        self.items.slots().len().min(self.capacity())
    }

    /// Most items it holds (reported in capacity errors).
    #[inline]
    pub(super) fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// The whole storage, used part first, grown to at least `want()` slots where it can
    /// grow (`want` is not called over an array): scratch once the machine stopped. Best
    /// effort: what cannot be allocated is done without.
    pub(super) fn storage(&mut self, want: impl FnOnce() -> usize) -> &mut [B::Item] {
        if B::GROWS {
            let _ = self.items.grow(want());
        }
        self.items.slots_mut()
    }
}

impl<B: Backing> core::ops::Deref for Slab<B> {
    type Target = [B::Item];

    #[inline]
    fn deref(&self) -> &[B::Item] {
        // `len` never passes the slots (every push checks): the index cannot fail, and
        // costs one compare where `get` cost a select at every stack and memo access.
        // Without `fast`, `get`: no panic path, which would link `core::fmt` (flash).
        let slots = self.items.slots();
        if cfg!(feature = "fast") {
            &slots[..self.len]
        } else {
            slots.get(..self.len).unwrap_or_default()
        }
    }
}

impl<B: Backing> core::ops::DerefMut for Slab<B> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [B::Item] {
        let len = self.len;
        let slots = self.items.slots_mut();
        if cfg!(feature = "fast") {
            &mut slots[..len]
        } else {
            slots.get_mut(..len).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    /// 64 str keys of 64 distinct filter slots ([`key_slot`](super::key_slot)),
    /// then the first again, in one SETITEMS: the filter sees every bit taken, so the
    /// repeat is merged as CPython merges it (`{k: last value}` in first-seen order).
    #[test]
    fn a_key_past_a_full_filter_is_merged() {
        extern crate std;
        use std::{format, string::String, vec::Vec};
        let mut keys: Vec<String> = Vec::new();
        let mut seen = 0u64;
        for i in 0..100_000 {
            let key = format!("k{i}");
            let bit = 1u64 << (super::key_slot(key.as_bytes()) & 63);
            if seen & bit == 0 {
                seen |= bit;
                keys.push(key);
            }
            if keys.len() == 64 {
                break;
            }
        }
        assert_eq!(seen, u64::MAX);
        let mut pickle = Vec::from(&b"\x80\x04}("[..]);
        for (key, value) in keys.iter().zip(0u8..).chain([(&keys[0], 99)]) {
            pickle.extend_from_slice(&[0x8c, key.len() as u8]);
            pickle.extend_from_slice(key.as_bytes());
            pickle.extend_from_slice(&[b'K', value]);
        }
        pickle.extend_from_slice(b"u.");
        let mut d: super::super::Decoder = super::super::Decoder::new();
        let Ok(crate::pickle::Value::Dict(dict)) = d.decode(&pickle) else {
            panic!("not a dict");
        };
        assert_eq!(dict.len(), 64);
        let got: Vec<(String, i64)> = dict
            .iter()
            .map(|(k, v)| {
                (
                    String::from(k.as_str().unwrap_or("?")),
                    v.as_i64().unwrap_or(-1),
                )
            })
            .collect();
        let want: Vec<(String, i64)> = keys
            .iter()
            .zip(0..)
            .map(|(k, i)| (k.clone(), if i == 0 { 99 } else { i }))
            .collect();
        assert_eq!(got, want);
    }
}
