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

    /// [`run`](Self::run), its root as the machine's entry gives it: with `NODE` false, a
    /// one-str pickle the entry takes is its text's span, no node written (`entry::Root`).
    #[cfg(feature = "fast")]
    #[inline(always)]
    fn run_root<const NODE: bool>(
        &mut self,
        input: &[u8],
        check_utf8: bool,
        expansion: u32,
    ) -> Result<(entry::Root, usize), Error> {
        match self.start::<NODE>(input, check_utf8) {
            Ok(done) => Ok(done),
            Err((h, proto)) => self
                .machine(input, h, proto, check_utf8, expansion)
                .map(|(root, len)| (entry::Root::Node(root), len)),
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
    ) -> Result<(entry::Root, usize), (machine::Hot<'i>, u8)> {
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
    /// length (frames are checked against the input's end, as CPython checks them).
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
mod tests {
    extern crate std;
    use super::*;
    use crate::pickle::error::Capacity;
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
    pub(super) const OPCODE_CASES: &[(&str, &[u8], &str)] = &[
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
        // l = []; l.append(l): printed as CPython's repr prints it.
        assert_eq!(repr(b"]q\x00h\x00a."), "[[...]]");
        // A cycle through another list, closed after both were built.
        assert_eq!(repr(b"]q\x00]q\x01h\x00h\x01ah\x01h\x00a0."), "[[[...]]]");
        assert_eq!(repr(b"]q\x00]q\x01h\x00h\x01ah\x01h\x00a."), "[[[...]]]");
        // a = [b]; b = [a]; [a, b]: where repr prints [...] depends on the path: refused.
        assert_eq!(
            repr(b"(lp0\n(lp1\n(lp2\ng1\naaag2\na."),
            "error: pickle refused at byte 25: a container that contains itself is also \
             reached another way (its repr would depend on the path; brine prints [...] only \
             for cycles each container of which is reached one way)"
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
    pub(super) const SEMANTICS_CASES: &[(&str, &[u8], &str)] = &[
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
    fn equal_str_keys_in_one_setitems_are_merged() {
        // CPython 3.11's repr of each: the filter that skips merging must see equal strs
        // (empty, memo reads of one object, UTF-8 from two opcodes) as possibly equal.
        for (pickle, expected) in [
            (&b"}(\x8c\x01aK\x01\x8c\x01aK\x02u."[..], "{'a': 2}"),
            (b"}(\x8c\x00K\x01\x8c\x00K\x02u.", "{'': 2}"),
            (
                b"\x80\x04}(\x8c\x02ab\x94K\x01h\x00K\x02\x8c\x02abK\x03u.",
                "{'ab': 3}",
            ),
            (
                b"}(X\x01\x00\x00\x00aK\x01\x8c\x01bK\x02\x8c\x01aK\x03u.",
                "{'a': 3, 'b': 2}",
            ),
        ] {
            assert_eq!(repr(pickle), expected, "{pickle:?}");
        }
        // More keys than the filter has bits: 64 keys of 64 distinct slots (63 of one
        // ASCII byte, `#&`), then the first again, merged as CPython merges them.
        let keys = "!\"#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`g";
        let keys: std::vec::Vec<&str> = keys.split("").filter(|k| !k.is_empty()).collect();
        let keys = [&keys[..], &["#&"]].concat();
        let mut pickle = std::vec::Vec::from(&b"}("[..]);
        for (key, value) in keys.iter().zip(0u8..).chain([(&keys[0], 99)]) {
            pickle.extend_from_slice(&[0x8c, key.len() as u8]);
            pickle.extend_from_slice(key.as_bytes());
            pickle.extend_from_slice(&[b'K', value]);
        }
        pickle.extend_from_slice(b"u.");
        let items: std::vec::Vec<_> = (keys.iter().zip(0..))
            .map(|(k, i)| std::format!("'{k}': {}", if i == 0 { 99 } else { i }))
            .collect();
        assert_eq!(repr(&pickle), std::format!("{{{}}}", items.join(", ")));
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
    fn empty_appends_setitems_additems_are_no_ops_on_any_value_as_in_cpython() {
        // CPython 3.11's `repr(pickle.loads(...))`: with no items after the MARK, _pickle.c
        // returns before it looks at the target.
        let cases: &[(&[u8], &str)] = &[
            (b"](u.", "[]"),
            (b"K\x01(u.", "1"),
            (b"N(u.", "None"),
            (b"\x8f(u.", "set()"),
            (b")(u.", "()"),
            (b"}(e.", "{}"),
            (b"K\x01(e.", "1"),
            (b"X\x01\x00\x00\x00a(e.", "'a'"),
            (b"\x8f(e.", "set()"),
            (b"](\x90.", "[]"),
            (b"}(\x90.", "{}"),
            (b"(\x91(\x90.", "frozenset()"),
            (b"K\x01(\x90.", "1"),
            (b"N(\x90.", "None"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(repr(bytes), *expected, "{bytes:?}");
        }
        // CPython: stack underflow, unexpected MARK, odd number of items.
        for bytes in [&b"(u."[..], b"(e.", b"((u.", b"(\x90.", b"}(K\x01u."] {
            assert!(repr(bytes).starts_with("error: "), "{bytes:?}");
        }
    }

    #[test]
    fn items_on_the_wrong_container_are_refused() {
        // CPython 3.11: SETITEM(S) on a list or bytearray assigns by index through
        // __setitem__ (`]K\x05a(K\x00K\x07u.` loads as [7]), APPEND on a bytearray calls
        // its append (bytearray(b'ab')); brine refuses, naming why. The others fail in
        // CPython too (AttributeError, TypeError).
        for (bytes, reason) in [
            (
                &b"]K\x05a(K\x00K\x07u."[..],
                "items set by index on a list or bytearray",
            ),
            (
                b"]K\x05aK\x00K\x07s.",
                "items set by index on a list or bytearray",
            ),
            (
                b"\x96\x01\x00\x00\x00\x00\x00\x00\x00aKba.",
                "items appended to a bytearray",
            ),
            (
                b"\x96\x01\x00\x00\x00\x00\x00\x00\x00a(K\x00Kbu.",
                "items set by index on a list or bytearray",
            ),
            (
                b"\x8f(K\x01e.",
                "items appended to something that is not a list",
            ),
            (
                b"\x8fK\x01a.",
                "items appended to something that is not a list",
            ),
            (
                b"](K\x01\x90.",
                "items added to something that is not a set",
            ),
            (
                b"(\x91(K\x01\x90.",
                "items added to something that is not a set",
            ),
            (
                b"\x8f(K\x01K\x02u.",
                "items set on something that is not a dict",
            ),
        ] {
            let got = repr(bytes);
            assert!(got.contains(reason), "{bytes:?}: {got}");
        }
    }

    #[test]
    fn builtin_module_is_python_2_only() {
        // CPython maps __builtin__ to builtins only below protocol 3.
        assert!(repr(b"\x80\x03c__builtin__\nset\n]\x85R.")
            .starts_with("error: refused GLOBAL of __builtin__.set"));
        assert_eq!(repr(b"\x80\x02c__builtin__\nset\n]\x85R."), "set()");
        assert_eq!(repr(b"\x80\x03cbuiltins\nset\n]\x85R."), "set()");
    }

    /// Issue 12's expansion bombs (see [`bombs`]).
    #[test]
    fn expansion_bombs_are_refused_by_size() {
        for bomb in bombs() {
            let got = repr(&bomb);
            assert!(
                got.starts_with("error: pickle too large")
                    && got.contains("after expanding shared references"),
                "{got}"
            );
        }
    }

    /// Issue 12's expansion bombs: a 1000-byte string, or a 1785-byte int, in a doubling
    /// chain of 19 lists.
    pub(super) fn bombs() -> [std::vec::Vec<u8>; 2] {
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
        [str_bomb, int_bomb]
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

    /// A pickle that is one str (the lab's ack) stops without the loop (`hot.rs`), but meets
    /// the capacities the loop's MEMOIZE and stack push would.
    #[test]
    fn one_str_meets_the_capacities_of_the_loop() {
        // pickle.dumps('Server got the data'), and without its MEMOIZE (pickletools.optimize).
        let ack = b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data\x94.";
        let bare = b"\x80\x04\x95\x16\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data.";
        let mut d: Decoder<1, 0, 1, 1> = Decoder::new();
        let (v, len) = d.decode_prefix(ack).unwrap();
        assert_eq!((v.as_str(), len), (Some("Server got the data"), 34));
        let memo = Capacity::Memo;
        let err = Decoder::<1, 0, 1, 0>::new().decode(ack).unwrap_err();
        assert!(
            matches!(err, Error::Capacity { what, offset: 32, .. } if what == memo),
            "{err:?}"
        );
        assert!(Decoder::<1, 0, 1, 0>::new().decode(bare).is_ok());
        let stack = Capacity::Stack;
        let err = Decoder::<1, 0, 0, 1>::new().decode(bare).unwrap_err();
        assert!(
            matches!(err, Error::Capacity { what, offset: 11, .. } if what == stack),
            "{err:?}"
        );
        let err = Decoder::<0, 0, 1, 1>::new().decode(bare).unwrap_err();
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
