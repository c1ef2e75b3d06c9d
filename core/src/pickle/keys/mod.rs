//! Dict keys and set items as CPython treats them, applied once a pickle is decoded: equal
//! keys merged (the first key kept with the last value), sets put in CPython's iteration
//! order where every item's hash is the same in every CPython process.
//!
//! Equality is Python's: `1 == True == 1.0`, `0.0 == -0.0`, a Python 2 `'a'` equals `u'a'`,
//! a NaN equals only itself (the same memoized object). Hashes are CPython's 64-bit ones
//! (`Python/pyhash.c`, `Objects/tupleobject.c`, `Objects/setobject.c`) for `int`, `bool`,
//! `float`, `None` (CPython 3.12's constant), empty `str`/`bytes`, and tuples and frozensets
//! of those. Other `str` and `bytes` hashes are randomized per CPython process, so sets
//! holding them keep pickle order; NaN hashes by address (pickle order too).
//!
//! Scratch is the decoder's memo and stack storage and its unused item slots, all free
//! once the machine stopped: no allocation, no extra memory. A container too large for
//! that scratch is merged by pairwise comparison and, if a set, keeps pickle order. All
//! work is bounded by a budget (hashing or comparing nested tuples can be made exponential
//! with shared references).

mod equality;

use super::decode::arena::{self, Container, ContainerKind, Edge, Id, Node, NodeId, NIL};
use super::pynum::hash_small;
#[cfg(feature = "any-keys")]
use super::pynum::{hash_float, is_nan};
use super::text::TextEncoding;

/// CPython's set table: smallest size, linear probes before perturbing, perturb shift.
const SET_MINSIZE: usize = 8;
const LINEAR_PROBES: u64 = 9;
const PERTURB_SHIFT: u32 = 5;
/// Containers up to this many keys are merged by pairwise comparison (no hashing).
const PAIRWISE: usize = 8;
/// Containers up to this many keys are first checked for all-distinct fingerprints.
const DISTINCT_CHECK: usize = 1024;

/// Why merging stopped.
pub(crate) enum Halt {
    /// The work budget ran out.
    OverBudget,
    /// Without the `any-keys` feature: a key of a container with two or more keys is not a
    /// `str`, an `int` of 64 bits, a `bool` or `None` (equality not compiled in).
    #[cfg(not(feature = "any-keys"))]
    KeyType,
}

type Work<T> = Result<T, Halt>;

/// Storage the decoder no longer needs after STOP, seen as one array of `Id` slots.
pub(crate) struct Scratch<'a> {
    pub(crate) a: &'a mut [Id],
    pub(crate) b: &'a mut [Id],
    /// Unused item slots, two `Id` each.
    pub(crate) spare: &'a mut [Edge],
}

impl Scratch<'_> {
    fn len(&self) -> usize {
        self.a.len() + self.b.len() + 2 * self.spare.len()
    }

    fn get(&self, i: usize) -> Id {
        if let Some(&v) = self.a.get(i) {
            return v;
        }
        let i = i - self.a.len();
        if let Some(&v) = self.b.get(i) {
            return v;
        }
        let i = i - self.b.len();
        match self.spare.get(i / 2) {
            Some(e) if i % 2 == 0 => e.child,
            Some(e) => e.scratch(),
            None => NIL,
        }
    }

    fn set(&mut self, i: usize, v: Id) {
        if let Some(slot) = self.a.get_mut(i) {
            *slot = v;
            return;
        }
        let i = i - self.a.len();
        if let Some(slot) = self.b.get_mut(i) {
            *slot = v;
            return;
        }
        let i = i - self.b.len();
        if let Some(e) = self.spare.get_mut(i / 2) {
            if i % 2 == 0 {
                e.child = v;
            } else {
                e.set_scratch(v);
            }
        }
    }

    fn clear(&mut self, from: usize, len: usize) {
        for i in from..from + len {
            self.set(i, NIL);
        }
    }
}

/// A link of an item chain with the index of the link after it ([`Edge`] holds it as a
/// step from its own index).
#[derive(Clone, Copy)]
struct Link {
    child: NodeId,
    next: Id,
}

/// The decoded arena, for merging.
pub(crate) struct Keys<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) nodes: &'a mut [Node],
    pub(crate) edges: &'a mut [Edge],
    /// Work left (units: values visited, bytes compared or hashed, table probes).
    pub(crate) budget: u32,
}

impl<'a> Keys<'a> {
    /// Merges every frozenset, then every set and dict, and orders the sets.
    /// `frozensets`: a frozenset got a second item (else their pass is skipped).
    pub(crate) fn merge_all(&mut self, scratch: &mut Scratch<'_>, frozensets: bool) -> Work<()> {
        // Frozensets first, in creation order: a frozenset only holds older ones, and a
        // set or dict may hold any (inside tuples), so each is merged before it is hashed.
        for pass in [true, false] {
            if pass && !frozensets {
                continue;
            }
            for id in 0..self.nodes.len() {
                let Some(c) = self.container(id as NodeId) else {
                    continue;
                };
                let frozen = c.kind == ContainerKind::FrozenSet;
                match c.kind {
                    ContainerKind::FrozenSet | ContainerKind::Set if frozen == pass => {
                        self.merge(id as NodeId, 1, scratch)?;
                        self.order_set(id as NodeId, scratch)?;
                    }
                    ContainerKind::Dict if !pass => self.merge(id as NodeId, 2, scratch)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn spend(&mut self, units: usize) -> Work<()> {
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        self.budget = self.budget.checked_sub(units).ok_or(Halt::OverBudget)?;
        Ok(())
    }

    fn node(&self, id: NodeId) -> Node {
        self.nodes.get(id as usize).copied().unwrap_or(Node::None)
    }

    fn container(&self, id: NodeId) -> Option<Container> {
        match self.node(id) {
            Node::Container(c) => Some(c),
            _ => None,
        }
    }

    /// The link at index `e`, its next link's index resolved (NIL, NIL: none). Without
    /// `fast`, out of line (inlined at each of its uses it cost the smallest lab firmware
    /// 112 bytes).
    #[cfg_attr(not(feature = "fast"), inline(never))]
    fn edge(&self, e: Id) -> Link {
        match self.edges.get(e as usize) {
            Some(&edge) => Link {
                child: edge.child,
                next: edge.next(e),
            },
            None => Link {
                child: NIL,
                next: NIL,
            },
        }
    }

    /// Makes the link at `next` follow the one at `e`.
    fn set_next(&mut self, e: Id, next: Id) {
        if let Some(edge) = self.edges.get_mut(e as usize) {
            edge.set_next(e, next);
        }
    }

    fn span(&self, start: u32, len: u32) -> &'a [u8] {
        arena::span(self.input, start, len)
    }

    // ---- merging ----

    /// Merges equal keys of container `id` (`stride` 1: a set's items; 2: a dict's
    /// key-value pairs): the first key stays, with the last value.
    fn merge(&mut self, id: NodeId, stride: Id, scratch: &mut Scratch<'_>) -> Work<()> {
        let Some(c) = self.container(id) else {
            return Ok(());
        };
        let n = (c.len / stride) as usize;
        if n < 2 || self.all_distinct(c, stride, n, scratch.a)? {
            return Ok(());
        }
        let size = (2 * n).next_power_of_two();
        let table = n > PAIRWISE && size <= scratch.len();
        if table {
            scratch.clear(0, size);
        }
        let (mut first, mut tail, mut kept) = (NIL, NIL, 0 as Id);
        let mut key_edge = c.first;
        for _ in 0..n {
            let key = self.edge(key_edge);
            let last = if stride == 2 { key.next } else { key_edge };
            let after = self.edge(last).next;
            let same = if table {
                self.find_or_insert(key_edge, size, scratch)?
            } else {
                self.find_pairwise(first, kept, stride, key.child)?
            };
            match same {
                Some(old) => {
                    if stride == 2 {
                        // The old key keeps its place and takes this value.
                        let value = self.edge(key.next).child;
                        let old_value = self.edge(old).next;
                        if let Some(e) = self.edges.get_mut(old_value as usize) {
                            e.child = value;
                        }
                    }
                }
                None => {
                    if tail == NIL {
                        first = key_edge;
                    } else {
                        self.set_next(tail, key_edge);
                    }
                    tail = last;
                    kept += 1;
                }
            }
            key_edge = after;
        }
        if tail != NIL {
            self.set_next(tail, NIL);
        }
        if let Some(Node::Container(c)) = self.nodes.get_mut(id as usize) {
            c.first = first;
            c.last = tail;
            c.len = kept * stride;
        }
        Ok(())
    }

    /// True if the `n` keys of `c` are certainly pairwise unequal: their fingerprints
    /// (in `fp`) are nonzero and distinct. The common case (CPython never writes equal
    /// keys), checked without touching the item chain again; quadratic, so only up to
    /// [`DISTINCT_CHECK`] keys (larger containers go to the hash table).
    fn all_distinct(&mut self, c: Container, stride: Id, n: usize, fp: &mut [Id]) -> Work<bool> {
        if n > DISTINCT_CHECK {
            return Ok(false);
        }
        let Some(fp) = fp.get_mut(..n) else {
            return Ok(false);
        };
        self.spend(n * n / 2)?;
        let mut e = c.first;
        for i in 0..n {
            let key = self.edge(e);
            let f = Id::from(self.fingerprint(key.child));
            if f == 0 || fp.get(..i).unwrap_or_default().contains(&f) {
                return Ok(false);
            }
            fp[i] = f;
            e = if stride == 2 {
                self.edge(key.next).next
            } else {
                key.next
            };
        }
        Ok(true)
    }

    /// 16 bits equal for equal keys, 0 for keys without a cheap one (always compared): a
    /// UTF-8 str's length and end bytes, a number's Python hash.
    fn fingerprint(&self, id: NodeId) -> u16 {
        match self.node(id) {
            Node::Str {
                start,
                len,
                enc: TextEncoding::Utf8,
                ..
            } => {
                let raw = self.span(start, len);
                let (first, last) = (raw.first().copied(), raw.last().copied());
                let ends = u16::from(first.unwrap_or(0)) << 7 ^ u16::from(last.unwrap_or(0));
                (len as u16).wrapping_mul(0x2f1) ^ ends | 0x8000
            }
            Node::Int(i) => hash_small(i) as u16 | 1,
            Node::Bool(b) => u16::from(b) | 1,
            #[cfg(feature = "any-keys")]
            Node::Float(f) if !is_nan(f) => hash_float(f) as u16 | 1,
            _ => 0,
        }
    }

    /// The key edge of an earlier equal key in the open-addressing table of `size` slots
    /// at the start of `scratch`; inserts `key_edge` if there is none.
    fn find_or_insert(
        &mut self,
        key_edge: Id,
        size: usize,
        scratch: &mut Scratch<'_>,
    ) -> Work<Option<Id>> {
        let key = self.edge(key_edge).child;
        let mut i = self.hash(key)?.value as usize;
        loop {
            i &= size - 1;
            self.spend(1)?;
            let slot = scratch.get(i);
            if slot == NIL {
                scratch.set(i, key_edge);
                return Ok(None);
            }
            if self.eq(self.edge(slot).child, key)? {
                return Ok(Some(slot));
            }
            i += 1;
        }
    }

    /// The key edge of an earlier equal key among the `kept` entries from edge `first`.
    fn find_pairwise(&mut self, first: Id, kept: Id, stride: Id, key: NodeId) -> Work<Option<Id>> {
        let mut e = first;
        for _ in 0..kept {
            let edge = self.edge(e);
            if self.eq(edge.child, key)? {
                return Ok(Some(e));
            }
            e = if stride == 2 {
                self.edge(edge.next).next
            } else {
                edge.next
            };
        }
        Ok(None)
    }

    // ---- CPython's set order ----

    /// Puts the (merged) items of set `id` in the order CPython's table holds them after
    /// adding them in pickle order, when every item's hash is fixed and the table fits the
    /// scratch; otherwise leaves pickle order. Without `fast`, out of line (flash: 20 bytes
    /// of the smallest lab firmware).
    #[cfg_attr(not(feature = "fast"), inline(never))]
    fn order_set(&mut self, id: NodeId, scratch: &mut Scratch<'_>) -> Work<()> {
        let Some(c) = self.container(id) else {
            return Ok(());
        };
        if c.len < 2 || SET_MINSIZE > scratch.len() {
            return Ok(());
        }
        // The table lives at scratch[off..off + size]; a resize lists the old table's
        // items at scratch[..used] and builds the new table after them.
        let (mut off, mut size, mut used) = (0usize, SET_MINSIZE, 0usize);
        scratch.clear(0, size);
        let mut e = c.first;
        for _ in 0..c.len {
            let Link { child, next } = self.edge(e);
            e = next;
            let h = self.hash(child)?;
            if !h.fixed {
                return Ok(());
            }
            self.insert_clean(scratch, off, size, child, h.value)?;
            used += 1;
            if used * 5 < (size - 1) * 3 {
                continue;
            }
            let minused = if used > 50_000 { used * 2 } else { used * 4 };
            let mut new_size = SET_MINSIZE;
            while new_size <= minused {
                new_size <<= 1;
            }
            if used + new_size > scratch.len() {
                return Ok(());
            }
            let mut k = 0;
            for j in off..off + size {
                let v = scratch.get(j);
                if v != NIL {
                    scratch.set(k, v);
                    k += 1;
                }
            }
            (off, size) = (used, new_size);
            scratch.clear(off, size);
            for j in 0..used {
                let v = scratch.get(j);
                let h = self.hash(v)?.value;
                self.insert_clean(scratch, off, size, v, h)?;
            }
        }
        let mut e = c.first;
        for j in off..off + size {
            let v = scratch.get(j);
            if v != NIL {
                if let Some(edge) = self.edges.get_mut(e as usize) {
                    edge.child = v;
                    e = edge.next(e);
                }
            }
        }
        Ok(())
    }

    /// CPython's `set_insert_clean`: the first free slot on `hash`'s probe sequence.
    fn insert_clean(
        &mut self,
        scratch: &mut Scratch<'_>,
        off: usize,
        size: usize,
        item: NodeId,
        hash: u64,
    ) -> Work<()> {
        let mask = size as u64 - 1;
        let mut perturb = hash;
        let mut i = hash & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            for j in i..=i + probes {
                self.spend(1)?;
                if scratch.get(off + j as usize) == NIL {
                    scratch.set(off + j as usize, item);
                    return Ok(());
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb) & mask;
        }
    }
}

// Its CPython fixtures include protocol-0 floats.
#[cfg(all(test, feature = "float-text", feature = "any-keys"))]
mod tests {
    extern crate std;
    use super::super::decode::Decoder;
    use super::super::oracle::{python3, unhex};
    use std::string::ToString;

    /// Every fixed hash equals CPython's `hash()` (as an unsigned 64-bit number).
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn hashes_match_cpython() {
        let out = python3(
            r#"
import pickle, math
vals = [0, 1, -1, -2, 2**61 - 1, 2**61, 2**61 + 1, -2**61, 2**63 - 1, -2**63, 2**63, 2**64 + 5,
        -2**64 - 5, 16773816977060927817, -17787456706561215841, 10**40, -10**40, 2**200 - 1,
        True, False, 0.0, -0.0, 1.0, -1.5, 0.1, 1e300, -1e-300, 5e-324, 2.2250738585072014e-308,
        9.223372036854776e+18, float('inf'), float('-inf'), 2.0**64, 123456.789, '', b'',
        (), (1,), (1, 2), (1.0, (2, -3)), ((), ''), frozenset(), frozenset({1, 2, 3}),
        frozenset({(1, 2), frozenset({4.5})}), (frozenset({-1}), True)]
for v in vals:
    for proto in (0, 2, 4):
        print(pickle.dumps(v, proto).hex(), hash(v) % 2**64, repr(v))
"#,
        );
        let mut d: Decoder = Decoder::new();
        for line in out.lines() {
            let mut f = line.splitn(3, ' ');
            let (hex, want, what) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let got = d.python_hash(&unhex(hex)).unwrap();
            assert_eq!(
                (got.0.to_string().as_str(), got.1),
                (want, true),
                "{what} {hex}"
            );
        }
    }
}
