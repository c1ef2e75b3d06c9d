//! Python's `hash()` and `==` over the decoded arena, for merging keys: CPython's 64-bit
//! hashes where they are fixed in every process, FNV-1a where CPython's are randomized.

#[cfg(not(feature = "any-keys"))]
use super::Halt;
use super::{Keys, Work};
use crate::pickle::decode::arena::{Node, NodeId};
use crate::pickle::pynum::hash_small;
use crate::pickle::text::{self, TextEncoding};
#[cfg(not(feature = "any-keys"))]
use crate::pickle::value::Str;
#[cfg(feature = "any-keys")]
use crate::pickle::value::{Item, Tree};
#[cfg(feature = "any-keys")]
use {
    super::Link,
    crate::pickle::decode::arena::{Container, ContainerKind},
    crate::pickle::pynum::{hash_big, hash_float, is_nan, num_eq, Num},
};

/// `hash(None)` since CPython 3.12 (before, the object's address).
const HASH_NONE: u64 = 0xFCA8_6420;

/// A hash and whether CPython computes the same one in every process.
#[derive(Clone, Copy)]
pub(super) struct Hash {
    pub(super) value: u64,
    pub(super) fixed: bool,
}

impl Hash {
    const fn fixed(value: u64) -> Self {
        Hash { value, fixed: true }
    }
}

impl<'a> Keys<'a> {
    // ---- Python's hash ----

    #[cfg(all(test, feature = "float-text", feature = "any-keys"))]
    pub(crate) fn python_hash(&mut self, id: NodeId) -> Work<(u64, bool)> {
        self.hash(id).map(|h| (h.value, h.fixed))
    }

    /// `hash(value)` as 64-bit CPython computes it where that is fixed; otherwise a hash
    /// consistent with [`eq`](Self::eq), marked not fixed.
    pub(super) fn hash(&mut self, id: NodeId) -> Work<Hash> {
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
    pub(super) fn eq(&mut self, a: NodeId, b: NodeId) -> Work<bool> {
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
        // Without `any-keys` the nodes say all (the ids only name objects and NaNs).
        #[cfg(not(feature = "any-keys"))]
        let _ = (a, b);
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
            (
                Node::Str {
                    start, len, enc, ..
                },
                Node::Str {
                    start: s2,
                    len: l2,
                    enc: e2,
                    ..
                },
            ) => {
                self.spend(len.min(l2) as usize)?;
                // As `Tree::item` makes them (its `Item` unmade here: flash).
                let s = Str {
                    raw: self.span(start, len),
                    enc,
                };
                s == Str {
                    raw: self.span(s2, l2),
                    enc: e2,
                }
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
            crate::pickle::value::Value::Object(o) => {
                crate::pickle::objects::equality::key(o.standard()?)
            }
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
