//! [`HeapDecoder`]: the general machine over vectors sized to each input (`alloc` feature).

use super::arena::{Edge, Growing, Id, Node, Slab, NIL};
use super::{Arena, Storage, MAX_EXPANSION};
use crate::pickle::error::Error;
use crate::pickle::value::Value;

/// The arena of [`HeapDecoder`].
pub(crate) struct Heap;

impl Arena for Heap {
    type Nodes = Growing<Node>;
    type Edges = Growing<Edge>;
    type Stack = Growing<Id>;
    type Memo = Growing<Id>;
}

/// Fewest slots of each kind a [`HeapDecoder`] allows, whatever the input's length (the
/// default [`Decoder`](super::Decoder)'s largest capacity).
const MIN_SLOTS: usize = 2048;

/// A pickle decoder for callers with a heap, sized to each input rather than at compile
/// time: a pickle of `n` bytes may hold up to `max(2n, 2048)` values, container items,
/// stack entries and memo slots, and expand (see [`MAX_EXPANSION`]) to `max(4n,
/// MAX_EXPANSION)`. Honest pickles of any length fit: CPython writes at least one byte per
/// value, item and memo slot, and a value expands to at most about 2.5 times its bytes
/// unless shared. Memory grows with what a pickle holds (about 40 bytes per value), never
/// with what its length allows, and is kept for the next pickle.
///
/// It decodes exactly as [`Decoder`](super::Decoder) does (the same machine; the fast path
/// for small common shapes is left out), with the same [`MAX_DEPTH`](super::MAX_DEPTH).
///
/// ```
/// use brine_core::pickle::{HeapDecoder, Value};
///
/// // A list of 100,000 ints in protocol 2 (BININT each, one APPENDS): more values than a
/// // fixed decoder's 16-bit ids can name.
/// let mut pickle = b"\x80\x02]q\x00(".to_vec();
/// for i in 0..100_000u32 {
///     pickle.push(b'J');
///     pickle.extend(i.to_le_bytes());
/// }
/// pickle.extend(b"e.");
/// let mut decoder = HeapDecoder::new();
/// let Value::List(list) = decoder.decode(&pickle)? else { unreachable!() };
/// assert_eq!(list.len(), 100_000);
/// assert_eq!(list.iter().last().and_then(|v| v.as_i64()), Some(99_999));
/// # Ok::<(), brine_core::pickle::Error>(())
/// ```
pub struct HeapDecoder {
    store: Storage<Heap>,
}

impl Default for HeapDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HeapDecoder {
    /// A decoder with no storage yet (nothing is allocated until a pickle needs it).
    pub const fn new() -> Self {
        HeapDecoder {
            store: Storage {
                nodes: Slab::growing(Node::None),
                edges: Slab::growing(Edge::UNUSED),
                stack: Slab::growing(NIL),
                memo: Slab::growing(NIL),
                frame_end: 0,
                stubs: false,
                globals_linked: false,
                #[cfg(feature = "fast")]
                shape: super::shape::Shape::NONE,
            },
        }
    }

    /// As [`Decoder::allow_stubs`](super::Decoder::allow_stubs).
    pub fn allow_stubs(&mut self, allow: bool) {
        self.store.stubs = allow;
    }

    /// Decodes the one pickle at the start of `input`; bytes after its STOP are ignored (as
    /// Python's `pickle.loads` does). The value borrows `input` and this decoder.
    ///
    /// Fails as [`Decoder::decode`](super::Decoder::decode) does, with the limits above; a
    /// failed allocation is reported as a capacity error. Never panics.
    pub fn decode<'a>(&'a mut self, input: &'a [u8]) -> Result<Value<'a>, Error> {
        self.decode_prefix(input).map(|(value, _)| value)
    }

    /// Like [`decode`](Self::decode), also returning the pickle's length (up to and including
    /// STOP).
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode).
    pub fn decode_prefix<'a>(&'a mut self, input: &'a [u8]) -> Result<(Value<'a>, usize), Error> {
        let slots = input
            .len()
            .saturating_mul(2)
            .clamp(MIN_SLOTS, usize::try_from(NIL).unwrap_or(usize::MAX));
        let s = &mut self.store;
        s.nodes.reset(slots);
        s.edges.reset(slots);
        s.stack.reset(slots);
        s.memo.reset(slots);
        let expansion = u32::try_from(input.len().saturating_mul(4))
            .unwrap_or(u32::MAX)
            .max(MAX_EXPANSION);
        let (root, len) = s.run(input, true, expansion)?;
        Ok((s.tree(input).value(root), len))
    }
}

// It reuses the decoder's tests and their fixtures (see `decode/tests.rs`).
#[cfg(all(test, feature = "repr", feature = "float-text", feature = "objects"))]
mod tests {
    extern crate std;
    use super::super::tests::{bombs, OPCODE_CASES, SEMANTICS_CASES};
    use super::*;
    use crate::pickle::error::Capacity;
    use crate::pickle::oracle::{python3, unhex};
    use std::string::{String, ToString};

    fn repr(d: &mut HeapDecoder, bytes: &[u8]) -> String {
        match d.decode(bytes) {
            Ok(v) => v.to_string(),
            Err(e) => std::format!("error: {e}"),
        }
    }

    /// The same machine as `Decoder`: every fixture decodes to CPython's repr (one decoder
    /// reused, as the CLI reuses it).
    #[test]
    fn every_fixture_as_cpython() {
        let mut d = HeapDecoder::new();
        for (name, pickle, expected) in OPCODE_CASES.iter().chain(SEMANTICS_CASES) {
            assert_eq!(repr(&mut d, pickle), *expected, "{name}");
        }
    }

    /// Sized to the input: past 65,535 values and items, as CPython loads and prints them,
    /// in the text and binary protocols, with dict keys merged and sets in CPython's order.
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn past_65535_values_as_cpython() {
        let out = python3(
            "import pickle
values = [
    list(range(-100000, 100000)),
    {str(i): i for i in range(70000)},
    {i * 7919 % 1000003 for i in range(70000)},
    [[i, None] for i in range(40000)],
    tuple('x' * (i % 5) for i in range(70000)),
]
for v in values:
    for p in (0, 2, 4):
        print(pickle.dumps(v, p).hex())
        print(repr(pickle.loads(pickle.dumps(v, p))))",
        );
        let mut d = HeapDecoder::new();
        let mut lines = out.lines();
        let mut cases = 0;
        while let (Some(pickle), Some(want)) = (lines.next(), lines.next()) {
            let pickle = unhex(pickle);
            assert_eq!(repr(&mut d, &pickle), want, "case {cases}");
            cases += 1;
        }
        assert_eq!(cases, 15);
    }

    /// What the input's length does not allow is refused with a capacity error, not
    /// allocated: a memo index far past it, shared-reference bombs.
    #[test]
    fn limits_follow_the_input() {
        let mut d = HeapDecoder::new();
        // LONG_BINPUT 2**30 in a 10-byte pickle (CPython would allocate an 8 GiB memo).
        let far = b"\x80\x02K\x01r\x00\x00\x00\x40.";
        assert!(matches!(
            d.decode(far),
            Err(Error::Capacity {
                what: Capacity::Memo,
                limit: MIN_SLOTS,
                ..
            })
        ));
        for bomb in bombs() {
            assert!(matches!(
                d.decode(&bomb),
                Err(Error::Capacity {
                    what: Capacity::Expansion,
                    ..
                })
            ));
        }
        // Still usable afterwards.
        assert_eq!(repr(&mut d, b"K\x07."), "7");
    }
}
