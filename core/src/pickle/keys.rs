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

use super::decode::arena::{self, Container, ContainerKind, Edge, Id, Node, NodeId, NIL};
use super::pynum::hash_small;
#[cfg(feature = "any-keys")]
use super::pynum::{hash_big, hash_float, is_nan, num_eq, Num};
use super::text::{self, TextEncoding};
use super::value::{Item, Tree};

/// `hash(None)` since CPython 3.12 (before, the object's address).
const HASH_NONE: u64 = 0xFCA8_6420;
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

/// A hash and whether CPython computes the same one in every process.
#[derive(Clone, Copy)]
struct Hash {
    value: u64,
    fixed: bool,
}

impl Hash {
    const fn fixed(value: u64) -> Self {
        Hash { value, fixed: true }
    }
}

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

    // ---- Python's hash ----

    #[cfg(all(test, feature = "float-text", feature = "any-keys"))]
    pub(crate) fn python_hash(&mut self, id: NodeId) -> Work<(u64, bool)> {
        self.hash(id).map(|h| (h.value, h.fixed))
    }

    /// `hash(value)` as 64-bit CPython computes it where that is fixed; otherwise a hash
    /// consistent with [`eq`](Self::eq), marked not fixed.
    fn hash(&mut self, id: NodeId) -> Work<Hash> {
        self.spend(1)?;
        Ok(match self.node(id) {
            Node::None => Hash::fixed(HASH_NONE),
            Node::Bool(b) => Hash::fixed(b.into()),
            Node::Int(i) => Hash::fixed(hash_small(i)),
            #[cfg(feature = "any-keys")]
            Node::BigInt { start, len, digits } => {
                self.spend(len as usize)?;
                Hash::fixed(hash_big(self.span(start, len), digits))
            }
            #[cfg(feature = "any-keys")]
            Node::Float(f) if is_nan(f) => Hash {
                value: u64::from(id),
                fixed: false,
            },
            #[cfg(feature = "any-keys")]
            Node::Float(f) => Hash::fixed(hash_float(f)),
            Node::Str {
                start, len, enc, ..
            } => {
                self.spend(len as usize)?;
                let chars = text::text_chars(self.span(start, len), enc).map(u32::from);
                fnv(0xcbf2_9ce4_8422_2325, chars)
            }
            #[cfg(feature = "any-keys")]
            Node::Bytes {
                start, len, enc, ..
            } => {
                self.spend(len as usize)?;
                let bytes = text::bytes_iter(self.span(start, len), enc).map(u32::from);
                fnv(0x6c62_272e_07bb_0142, bytes)
            }
            #[cfg(feature = "any-keys")]
            Node::Container(c) if c.kind == ContainerKind::Tuple => self.hash_tuple(c)?,
            // Standard values hash by value where brine models their `==`
            // (`objects::equality`); other objects by identity (as `object.__hash__`).
            #[cfg(feature = "any-keys")]
            Node::Container(Container {
                kind: ContainerKind::Object(_),
                ..
            }) => Hash {
                value: self.object_hash(id),
                fixed: false,
            },
            #[cfg(feature = "any-keys")]
            Node::Global(_) => Hash {
                value: u64::from(id),
                fixed: false,
            },
            #[cfg(feature = "any-keys")]
            Node::Container(c) => self.hash_frozenset(c)?,
            #[cfg(feature = "any-keys")]
            Node::Builtin(_) => Hash::fixed(0),
            #[cfg(not(feature = "any-keys"))]
            _ => return Err(Halt::KeyType),
        })
    }

    /// CPython's `tuplehash` (xxHash-based, 3.8 and later).
    #[cfg(feature = "any-keys")]
    fn hash_tuple(&mut self, c: Container) -> Work<Hash> {
        const P1: u64 = 11_400_714_785_074_694_791;
        const P2: u64 = 14_029_467_366_897_019_727;
        const P5: u64 = 2_870_177_450_012_600_261;
        let (mut acc, mut fixed) = (P5, true);
        let mut e = c.first;
        for _ in 0..c.len {
            let Link { child, next } = self.edge(e);
            e = next;
            let lane = self.hash(child)?;
            fixed &= lane.fixed;
            acc = acc.wrapping_add(lane.value.wrapping_mul(P2));
            acc = acc.rotate_left(31).wrapping_mul(P1);
        }
        acc = acc.wrapping_add(u64::from(c.len) ^ (P5 ^ 3_527_539));
        if acc == u64::MAX {
            acc = 1_546_275_796;
        }
        Ok(Hash { value: acc, fixed })
    }

    /// CPython's `frozenset_hash` (its items already merged).
    #[cfg(feature = "any-keys")]
    fn hash_frozenset(&mut self, c: Container) -> Work<Hash> {
        let shuffle = |h: u64| ((h ^ 89_869_747) ^ (h << 16)).wrapping_mul(3_644_798_167);
        let (mut h, mut fixed) = (0u64, true);
        let mut e = c.first;
        for _ in 0..c.len {
            let Link { child, next } = self.edge(e);
            e = next;
            let item = self.hash(child)?;
            fixed &= item.fixed;
            h ^= shuffle(item.value);
        }
        h ^= (u64::from(c.len) + 1).wrapping_mul(1_927_868_237);
        h ^= (h >> 11) ^ (h >> 25);
        h = h.wrapping_mul(69_069).wrapping_add(907_133_923);
        if h == u64::MAX {
            h = 590_923_713;
        }
        Ok(Hash { value: h, fixed })
    }

    // ---- Python's == ----

    /// `a == b` for hashable values as Python decides it (identity first, as CPython's
    /// containers compare).
    #[inline]
    fn eq(&mut self, a: NodeId, b: NodeId) -> Work<bool> {
        if a == b {
            return Ok(true);
        }
        let (x, y) = (self.node(a), self.node(b));
        // The common case first: UTF-8 strs (every str key of protocol 1 and later).
        if let (
            Node::Str {
                start,
                len,
                enc: TextEncoding::Utf8,
                ..
            },
            Node::Str {
                start: s2,
                len: l2,
                enc: TextEncoding::Utf8,
                ..
            },
        ) = (x, y)
        {
            if len != l2 {
                return Ok(false);
            }
            self.spend(len as usize + 1)?;
            return Ok(self.span(start, len) == self.span(s2, l2));
        }
        self.eq_other(a, b, x, y)
    }

    /// [`eq`](Self::eq) for all but identical nodes and UTF-8 strs.
    fn eq_other(&mut self, a: NodeId, b: NodeId, x: Node, y: Node) -> Work<bool> {
        self.spend(1)?;
        #[cfg(feature = "any-keys")]
        if let (Some(x), Some(y)) = (self.num(x), self.num(y)) {
            return Ok(num_eq(x, y));
        }
        #[cfg(not(feature = "any-keys"))]
        if let (Some(x), Some(y)) = (small(x), small(y)) {
            return Ok(x == y);
        }
        Ok(match (x, y) {
            (Node::None, Node::None) => true,
            #[cfg(not(feature = "any-keys"))]
            (Node::Str { len, .. }, Node::Str { len: l2, .. }) => {
                self.spend(len.min(l2) as usize)?;
                let tree = Tree {
                    input: self.input,
                    nodes: self.nodes,
                    edges: self.edges,
                };
                matches!((tree.item(a), tree.item(b)), (Item::Str(s), Item::Str(t)) if s == t)
            }
            // Of two types compared: unequal (`'1' != 1`, `None != 0`).
            #[cfg(not(feature = "any-keys"))]
            _ if small_key(x) && small_key(y) => false,
            #[cfg(not(feature = "any-keys"))]
            _ => return Err(Halt::KeyType),
            #[cfg(feature = "any-keys")]
            (Node::Str { len, .. }, Node::Str { len: l2, .. })
            | (Node::Bytes { len, .. }, Node::Bytes { len: l2, .. }) => {
                self.spend(len.min(l2) as usize)?;
                let tree = Tree {
                    input: self.input,
                    nodes: self.nodes,
                    edges: self.edges,
                };
                match (tree.item(a), tree.item(b)) {
                    (Item::Str(s), Item::Str(t)) => s == t,
                    (Item::Bytes(s) | Item::ByteArray(s), Item::Bytes(t) | Item::ByteArray(t)) => {
                        s == t
                    }
                    _ => false,
                }
            }
            #[cfg(feature = "any-keys")]
            (Node::Container(c), Node::Container(d)) if c.len == d.len => match (c.kind, d.kind) {
                (ContainerKind::Tuple, ContainerKind::Tuple) => {
                    let (mut e, mut f) = (c.first, d.first);
                    for _ in 0..c.len {
                        let (ea, eb) = (self.edge(e), self.edge(f));
                        if !self.eq(ea.child, eb.child)? {
                            return Ok(false);
                        }
                        (e, f) = (ea.next, eb.next);
                    }
                    true
                }
                (ContainerKind::FrozenSet, ContainerKind::FrozenSet) => {
                    // Both merged and as long: equal if every item of one is in the other.
                    let mut e = c.first;
                    for _ in 0..c.len {
                        let item = self.edge(e);
                        if !self.contains(d, item.child)? {
                            return Ok(false);
                        }
                        e = item.next;
                    }
                    true
                }
                #[cfg(feature = "objects")]
                (ContainerKind::Object(_), ContainerKind::Object(_)) => self.objects_eq(a, b),
                _ => false,
            },
            #[cfg(feature = "any-keys")]
            _ => false,
        })
    }

    /// An object's hash: by value for a standard value whose `==` brine models, else by
    /// identity. (Out of line, as `objects_eq`: keeps `hash` and `eq_other` small.)
    #[cfg(feature = "any-keys")]
    #[cold]
    #[inline(never)]
    fn object_hash(&self, id: NodeId) -> u64 {
        #[cfg(feature = "objects")]
        if let Some(key) = self.standard_key(id) {
            return crate::pickle::objects::equality::hash(key);
        }
        u64::from(id)
    }

    /// `a == b` for two objects: standard values whose `==` brine models, by value.
    #[cfg(feature = "objects")]
    #[cold]
    #[inline(never)]
    fn objects_eq(&self, a: NodeId, b: NodeId) -> bool {
        let (x, y) = (self.standard_key(a), self.standard_key(b));
        x.is_some() && x == y
    }

    /// A standard value's `==` key ([`equality::key`](crate::pickle::objects::equality::key)).
    #[cfg(feature = "objects")]
    fn standard_key(&self, id: NodeId) -> Option<crate::pickle::objects::equality::Key<'_>> {
        let tree = Tree {
            input: self.input,
            nodes: self.nodes,
            edges: self.edges,
        };
        match tree.value(id) {
            super::value::Value::Object(o) => crate::pickle::objects::equality::key(o.standard()?),
            _ => None,
        }
    }

    #[cfg(feature = "any-keys")]
    fn contains(&mut self, set: Container, item: NodeId) -> Work<bool> {
        let mut e = set.first;
        for _ in 0..set.len {
            let edge = self.edge(e);
            if self.eq(edge.child, item)? {
                return Ok(true);
            }
            e = edge.next;
        }
        Ok(false)
    }

    #[cfg(feature = "any-keys")]
    fn num(&self, node: Node) -> Option<Num<'a>> {
        Some(match node {
            Node::Bool(b) => Num::Small(b.into()),
            Node::Int(i) => Num::Small(i),
            Node::Float(f) => Num::Float(f),
            Node::BigInt { start, len, digits } => Num::Big(self.span(start, len), digits),
            _ => return None,
        })
    }
}

/// A `bool` or 64-bit `int` key as a number (`True == 1`).
#[cfg(not(feature = "any-keys"))]
fn small(node: Node) -> Option<i64> {
    match node {
        Node::Bool(b) => Some(b.into()),
        Node::Int(i) => Some(i),
        _ => None,
    }
}

/// A key type compared without the `any-keys` feature.
#[cfg(not(feature = "any-keys"))]
fn small_key(node: Node) -> bool {
    matches!(
        node,
        Node::None | Node::Bool(_) | Node::Int(_) | Node::Str { .. }
    )
}

/// FNV-1a over `items`, for `str` and `bytes`, whose CPython hashes vary per process (the
/// empty ones hash to 0 everywhere).
fn fnv(seed: u64, items: impl Iterator<Item = u32>) -> Hash {
    let mut h = seed;
    let mut empty = true;
    for item in items {
        empty = false;
        h = (h ^ u64::from(item)).wrapping_mul(0x0100_0000_01b3);
    }
    if empty {
        Hash::fixed(0)
    } else {
        Hash {
            value: h,
            fixed: false,
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
