//! The decoder: runs the pickle machine over a byte slice into a fixed arena of nodes.
//!
//! Only data is built. Opcodes that would import or call anything are refused, except the
//! exact patterns CPython writes for builtin `set`, `frozenset`, `bytes` and `bytearray`
//! in protocols 0–3 (and `bytearray` in protocol 4); those are recognised, never called.

//!
//! The folder: `arena` (nodes, edges, the slabs holding them; read by
//! [`Value`]), `machine` (the loop, dispatching on the raw opcode byte; stack,
//! MARKs and memo), `entry` (with `fast`: PROTO, FRAME and a one-str pickle read before the
//! loop), `hot` (the loop's inline arms for the binary protocols' common opcodes),
//! the opcode families in `leaves`, `containers` and `globals` (every opcode, and the exact
//! errors when an inline arm declines), `shared` (the checks at STOP), `shape` (with `fast`: a
//! small message of the last one's shape taken over the arena as it is); `corpus` holds test
//! inputs.
//! Imports go one way: arena, then value, then the decoder.

pub(crate) mod arena;
mod containers;
#[cfg(test)]
pub(crate) mod corpus;
mod entry;
mod fault;
mod globals;
#[cfg(feature = "alloc")]
mod heap;
mod hot;
mod leaves;
mod machine;
#[cfg(feature = "objects")]
mod objects;
#[cfg(feature = "fast")]
mod shape;
mod shared;

use super::error::Error;
use super::value::{Tree, Value};

use arena::{Backing, Edge, Id, Node, NodeId, Slab, NIL};
use machine::Machine;

#[cfg(feature = "alloc")]
pub use heap::HeapDecoder;
pub(crate) use hot::{leaf, memoize_next};

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

/// The storage one run of the machine works in, the backing of its four [`Slab`]s: fixed
/// arrays ([`Decoder`]) or, with `alloc`, vectors grown to fit the input ([`HeapDecoder`]).
pub(crate) trait Arena {
    type Nodes: Backing<Item = Node>;
    type Edges: Backing<Item = Edge>;
    type Stack: Backing<Item = Id>;
    type Memo: Backing<Item = Id>;
}

/// The arena of [`Decoder`]: four arrays sized at compile time.
pub(crate) struct Fixed<const V: usize, const I: usize, const S: usize, const M: usize>;

impl<const V: usize, const I: usize, const S: usize, const M: usize> Arena for Fixed<V, I, S, M> {
    type Nodes = [Node; V];
    type Edges = [Edge; I];
    type Stack = [Id; S];
    type Memo = [Id; M];
}

/// A decoder's storage: the arena (nodes and edges, read by [`Value`]) and the machine's
/// stack and memo.
pub(crate) struct Storage<A: Arena> {
    pub(super) nodes: Slab<A::Nodes>,
    pub(super) edges: Slab<A::Edges>,
    pub(super) stack: Slab<A::Stack>,
    pub(super) memo: Slab<A::Memo>,
    /// Where the current (at the end: the last) FRAME of the pickle ends (0: none).
    frame_end: usize,
    /// Objects of classes brine does not know are decoded as inert stubs (else refused).
    stubs: bool,
    /// A global was linked into a container in this run (checked at STOP without stubs).
    globals_linked: bool,
    /// The last message's shape, for the next (`shape.rs`).
    #[cfg(feature = "fast")]
    shape: shape::Shape,
}

impl<A: Arena> Storage<A> {
    /// Runs the machine over `input` within `expansion` (see [`MAX_EXPANSION`]); returns the
    /// root node and the pickle's length. `check_utf8`: validate UTF-8 strings now (for
    /// `Value`, whose `Display` relies on it); the serde path validates each string when it
    /// reads it instead, and only those.
    #[cfg_attr(feature = "fast", inline(always))]
    fn run(
        &mut self,
        input: &[u8],
        check_utf8: bool,
        expansion: u32,
    ) -> Result<(NodeId, usize), Error> {
        match self.start::<true>(input, check_utf8) {
            Ok((root, len)) => Ok((root.node(), len)),
            Err((h, proto)) => self.machine(input, h, proto, check_utf8, expansion),
        }
    }

    /// A run's start: the storage emptied and, with `fast`, the machine's entry
    /// (`entry::enter`: the ack stops there, `Ok`); else where the machine starts, and the
    /// protocol read.
    #[inline(always)]
    fn start<'i, const NODE: bool>(
        &mut self,
        input: &'i [u8],
        check_utf8: bool,
    ) -> Result<(entry::Root<'i>, usize), (machine::Hot<'i>, u8)> {
        // The batch path's ack: nothing to empty (`entry::ack`).
        #[cfg(feature = "fast")]
        if !NODE {
            if let Some(done) = entry::ack(self, input, check_utf8) {
                return Ok(done);
            }
        }
        self.nodes.clear();
        self.edges.clear();
        self.stack.clear();
        self.memo.clear();
        self.frame_end = 0;
        self.globals_linked = false;
        if cfg!(feature = "fast") {
            return entry::enter::<NODE, A>(self, input, check_utf8);
        }
        Err((
            machine::Hot {
                pos: 0,
                window: input,
            },
            0,
        ))
    }

    /// The machine over `input` from `h` (protocol `proto` read).
    #[inline(always)]
    fn machine(
        &mut self,
        input: &[u8],
        h: machine::Hot<'_>,
        proto: u8,
        check_utf8: bool,
        expansion: u32,
    ) -> Result<(NodeId, usize), Error> {
        Machine {
            d: self,
            input,
            pos: h.pos,
            shared: false,
            keyed: 0,
            proto,
            holes: 0,
            check_utf8,
            expansion,
            open: 0,
            marks: [0; machine::MARKS],
            fault: fault::Record::new(),
        }
        .run(h)
    }

    /// A view of the arena after a run.
    #[cfg_attr(feature = "fast", inline)]
    fn tree<'i>(&self, input: &'i [u8]) -> Tree<'i, '_> {
        Tree {
            input,
            nodes: &self.nodes,
            edges: &self.edges,
        }
    }
}

/// A pickle decoder with fixed capacities: `VALUES` nodes, `ITEMS` container items, `STACK`
/// pickle-machine stack entries, `MEMO` memo slots. The defaults fit typical messages up to
/// 4096 bytes in about 27 KiB. Allocates nothing. Construction fills that storage, so reuse
/// one decoder for many pickles where speed matters (each `decode` only resets lengths).
/// Without the `alloc` feature, node and item ids are 16-bit: at most 65,535 values and
/// 65,535 items per pickle, whatever the capacities.
pub struct Decoder<
    const VALUES: usize = 1024,
    const ITEMS: usize = 2048,
    const STACK: usize = 512,
    const MEMO: usize = 1024,
> {
    store: Storage<Fixed<VALUES, ITEMS, STACK, MEMO>>,
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
            store: Storage {
                nodes: Slab::filled(Node::None),
                edges: Slab::filled(Edge::UNUSED),
                stack: Slab::filled(NIL),
                memo: Slab::filled(NIL),
                frame_end: 0,
                stubs: false,
                globals_linked: false,
                #[cfg(feature = "fast")]
                shape: shape::Shape::NONE,
            },
        }
    }

    /// Whether objects of classes brine does not know are decoded as inert stubs
    /// ([`Value::Object`], [`Object::is_stub`](super::Object::is_stub)) instead of refused
    /// (the default). Nothing is imported or called either way. Needs the `objects`
    /// feature; without it such objects are always refused.
    pub fn allow_stubs(&mut self, allow: bool) {
        self.store.stubs = allow;
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
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode).
    pub fn decode_prefix<'a>(&'a mut self, input: &'a [u8]) -> Result<(Value<'a>, usize), Error> {
        let (root, len) = self.run(input, true)?;
        Ok((self.tree(input).value(root), len))
    }

    /// Runs the machine; returns the root node and the pickle's length.
    /// `check_utf8`: see [`Storage::run`].
    #[cfg_attr(feature = "fast", inline(always))]
    pub(crate) fn run(&mut self, input: &[u8], check_utf8: bool) -> Result<(NodeId, usize), Error> {
        self.store.run(input, check_utf8, MAX_EXPANSION)
    }

    /// The furthest input offset a FRAME of the last decoded pickle claimed (0 without FRAME):
    /// a pickle decoded from a longer input is refused on its own bytes if this exceeds its
    /// length (frames are checked against the input's end, as CPython checks them). With
    /// `fast` the session reads it in `decode_head_root` (decode/entry.rs) instead.
    #[cfg(any(all(test, not(miri)), not(feature = "fast")))]
    pub(crate) fn frame_end(&self) -> usize {
        self.store.frame_end
    }

    /// A view of the arena after [`run`](Self::run).
    #[cfg_attr(feature = "fast", inline)]
    pub(crate) fn tree<'i>(&self, input: &'i [u8]) -> Tree<'i, '_> {
        self.store.tree(input)
    }
}

#[cfg(all(test, feature = "float-text", feature = "any-keys"))]
impl Decoder {
    /// Decodes `input` and returns the root's Python hash and whether it is fixed.
    pub(crate) fn python_hash(&mut self, input: &[u8]) -> Result<(u64, bool), Error> {
        let (root, _) = self.run(input, true)?;
        let s = &mut self.store;
        let mut keys = super::keys::Keys {
            input,
            nodes: &mut s.nodes,
            edges: &mut s.edges,
            budget: MAX_EXPANSION,
        };
        keys.python_hash(root)
            .map_err(|_| Error::Recursive { offset: 0 })
    }
}

// The tests compare each decoded value with CPython's repr of it; their fixtures include
// protocol-0 floats and standard types.
#[cfg(all(test, feature = "repr", feature = "float-text", feature = "objects"))]
mod tests;
