//! serde's hot path over the decoded arena: a [`NodeDe`] is a node id (two words, passed in
//! registers), read straight from its node for the common requests (an int, a bool, a
//! float, a `&str`, a field name, an `Option`, a dict as a struct or map, a list or tuple as
//! a sequence). Every other request, and every request the node does not answer plainly (a
//! wrong type, an int out of range, a string that is not valid UTF-8, a container inside
//! itself), goes to the general [`De`](super::de) of the same node, which gives the exact
//! result or error: this file only skips work, it decides nothing.

use serde::de::{self, Deserializer, Visitor};

use super::de::{cycle, De, Items};
use super::decode::arena::{ContainerKind, Node, NodeId, CYCLE};
use super::error::Error;
use super::text::TextEncoding;
use super::value::{Chain, Tree};

#[cfg(test)]
extern crate std;

#[cfg(test)]
std::thread_local! {
    /// Tests set this to send every request to the general deserializer (see `de_tests`).
    pub(super) static GENERAL_ONLY: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Whether the shortcuts below are taken (always, outside tests).
#[inline(always)]
fn fast() -> bool {
    #[cfg(test)]
    return !GENERAL_ONLY.with(core::cell::Cell::get);
    #[cfg(not(test))]
    true
}

/// A deserializer for one node of a decoded pickle: the node itself (read once, when the
/// deserializer is made) and the tree it is part of (for the general deserializer and a
/// container's items). The serde pull path (`de_pull.rs`) makes one for each leaf it reads,
/// with a tree of no nodes: a leaf needs only the input.
#[derive(Clone, Copy)]
pub(super) struct NodeDe<'de, 't> {
    pub(super) tree: &'t Tree<'de, 't>,
    pub(super) node: Node,
}

impl<'de, 't> NodeDe<'de, 't> {
    /// The deserializer of node `id` of `tree`.
    #[inline(always)]
    pub(super) fn new(tree: &'t Tree<'de, 't>, id: NodeId) -> Self {
        NodeDe {
            tree,
            node: tree.node(id),
        }
    }

    /// The general deserializer of this node; an error for a container inside itself
    /// (Python's `[...]`), which no Rust value holds.
    #[inline]
    fn de(self) -> Result<De<'de, 't>, Error> {
        if self.is_cycle() {
            return Err(cycle());
        }
        Ok(De::new(self.tree, self.tree.item_of(self.node)))
    }

    /// The general deserializer's answer to `request` for this node: out of line, so that
    /// each shortcut stays small enough to inline into `T`'s visitor.
    #[inline(never)]
    fn general<V: Visitor<'de>>(
        self,
        visitor: V,
        request: impl FnOnce(De<'de, 't>, V) -> Result<V::Value, Error>,
    ) -> Result<V::Value, Error> {
        request(self.de()?, visitor)
    }

    /// Whether this node stands where a container appears inside itself.
    fn is_cycle(self) -> bool {
        matches!(self.node, Node::Container(c) if c.len == 0 && c.first == CYCLE)
    }

    /// The node's items if it is a container of one of `kinds`.
    #[inline(always)]
    fn items(self, kinds: fn(ContainerKind) -> bool) -> Option<Items<'de, 't>> {
        match self.node {
            Node::Container(c) if kinds(c.kind) && !(c.len == 0 && c.first == CYCLE) && fast() => {
                Some(Items::new(
                    self.tree,
                    Chain {
                        first: c.first,
                        len: c.len,
                    },
                ))
            }
            _ => None,
        }
    }

    /// The node as a leaf, for the requests a leaf answers plainly (outside tests, always).
    #[inline(always)]
    fn leaf(self) -> Option<LeafDe<'de>> {
        Some(LeafDe {
            node: self.node,
            text: self.node.utf8(self.tree.input).unwrap_or(&[]),
        })
        .filter(|_| fast())
    }
}

/// Requests answered by the general deserializer.
macro_rules! general {
    ($($method:ident($($arg:ident: $ty:ty),*),)*) => {
        $(#[inline]
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Error> {
            self.general(visitor, |de, v| de.$method($($arg,)* v))
        })*
    };
}

/// Requests a leaf may answer plainly ([`LeafDe`]), else the general deserializer.
macro_rules! plain {
    ($($method:ident,)*) => {
        $(#[inline]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let answer = match self.leaf() {
                Some(leaf) => leaf.$method::<V, Error>(visitor),
                None => Err(visitor),
            };
            match answer {
                Ok(answer) => answer,
                Err(visitor) => self.general(visitor, |de, v| de.$method(v)),
            }
        })*
    };
}

impl<'de> Deserializer<'de> for NodeDe<'de, '_> {
    type Error = Error;

    plain! {
        deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64, deserialize_u8,
        deserialize_u16, deserialize_u32, deserialize_u64, deserialize_bool, deserialize_f64,
        deserialize_str, deserialize_identifier,
    }

    #[inline]
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node {
            // As `Tree::item` reads a builtin.
            Node::None | Node::Builtin(_) if fast() => visitor.visit_none(),
            _ if fast() => visitor.visit_some(self),
            _ => self.general(visitor, |de, v| de.deserialize_option(v)),
        }
    }

    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if !fast() {
            return self.general(visitor, |de, v| de.deserialize_newtype_struct(_name, v));
        }
        visitor.visit_newtype_struct(self)
    }

    #[inline]
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_cycle() || !fast() {
            return self.general(visitor, |de, v| de.deserialize_ignored_any(v));
        }
        visitor.visit_unit()
    }

    /// A dict as a map, a list, tuple or set as a sequence (objects and the rest: general).
    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Some(items) = self.items(|k| k == ContainerKind::Dict) {
            return visitor.visit_map(items);
        }
        match self.items(is_sequence) {
            Some(items) => visitor.visit_seq(items),
            None => self.general(visitor, |de, v| de.deserialize_any(v)),
        }
    }

    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.items(|k| k == ContainerKind::Dict) {
            Some(items) => visitor.visit_map(items),
            None => self.general(visitor, |de, v| de.deserialize_map(v)),
        }
    }

    /// A dict's entries as fields (a list or tuple of the fields in order: general).
    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.items(|k| k == ContainerKind::Dict) {
            Some(items) => visitor.visit_map(items),
            None => self.general(visitor, |de, v| de.deserialize_struct(name, fields, v)),
        }
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.items(is_sequence) {
            Some(items) => visitor.visit_seq(items),
            None => self.general(visitor, |de, v| de.deserialize_seq(v)),
        }
    }

    #[inline]
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    general! {
        deserialize_i128(), deserialize_u128(), deserialize_char(), deserialize_bytes(),
        deserialize_byte_buf(), deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }
}

/// Containers read as a sequence (a dict is a map, an object is read by the general path).
fn is_sequence(kind: ContainerKind) -> bool {
    matches!(
        kind,
        ContainerKind::List | ContainerKind::Tuple | ContainerKind::Set | ContainerKind::FrozenSet
    )
}

/// A leaf's answer to a request: the visitor's result, or the visitor handed back
/// (`Err`) when the leaf does not answer that request plainly (the caller's general path
/// decides then).
pub(super) type Answer<'de, V, E> = Result<Result<<V as Visitor<'de>>::Value, E>, V>;

/// A leaf node (as `decode::leaf` reads it) to a visitor: the one place a leaf meets one,
/// for the requests a leaf answers plainly — an int that fits, a bool, a float, a UTF-8
/// `&str` (checked here, by `from_utf8`), a field name (its bytes, unchecked: derived
/// identifier visitors match bytes). [`NodeDe`] and the pull path (`de_pull.rs`) ask it
/// first and answer what it hands back in their own way (the general deserializer; giving up).
#[derive(Clone, Copy)]
pub(super) struct LeafDe<'de> {
    pub(super) node: Node,
    /// A UTF-8 `str` node's bytes (the input at its span; anything for other nodes).
    pub(super) text: &'de [u8],
}

/// Integers: a plain int that fits (bools, big ints and the rest: handed back).
macro_rules! leaf_integers {
    ($($method:ident => $visit:ident: $ty:ty,)*) => {
        $(#[inline(always)]
        pub(super) fn $method<V: Visitor<'de>, E: de::Error>(self, visitor: V) -> Answer<'de, V, E> {
            #[allow(irrefutable_let_patterns)] // i64 from i64
            if let Node::Int(i) = self.node {
                if let Ok(n) = <$ty>::try_from(i) {
                    return Ok(visitor.$visit(n));
                }
            }
            Err(visitor)
        })*
    };
}

impl<'de> LeafDe<'de> {
    leaf_integers! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    #[inline(always)]
    pub(super) fn deserialize_bool<V: Visitor<'de>, E: de::Error>(
        self,
        visitor: V,
    ) -> Answer<'de, V, E> {
        match self.node {
            Node::Bool(b) => Ok(visitor.visit_bool(b)),
            _ => Err(visitor),
        }
    }

    #[inline(always)]
    pub(super) fn deserialize_f64<V: Visitor<'de>, E: de::Error>(
        self,
        visitor: V,
    ) -> Answer<'de, V, E> {
        match self.node {
            Node::Float(f) => Ok(visitor.visit_f64(f)),
            _ => Err(visitor),
        }
    }

    #[inline(always)]
    pub(super) fn deserialize_str<V: Visitor<'de>, E: de::Error>(
        self,
        visitor: V,
    ) -> Answer<'de, V, E> {
        if let Node::Str {
            enc: TextEncoding::Utf8,
            ..
        } = self.node
        {
            if let Ok(text) = core::str::from_utf8(self.text) {
                return Ok(visitor.visit_borrowed_str(text));
            }
        }
        Err(visitor)
    }

    #[inline(always)]
    pub(super) fn deserialize_identifier<V: Visitor<'de>, E: de::Error>(
        self,
        visitor: V,
    ) -> Answer<'de, V, E> {
        match self.node {
            Node::Str {
                enc: TextEncoding::Utf8,
                ..
            } => Ok(visitor.visit_borrowed_bytes(self.text)),
            _ => Err(visitor),
        }
    }
}
