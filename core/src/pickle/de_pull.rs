//! serde's pull path: `T` pulls the items of a root dict of leaves straight from the input.
//! Each `next_key_seed` and `next_value_seed` reads one leaf opcode (and the MEMOIZE or
//! BINPUT after it) with the machine's own reading of it, [`decode::leaf`](super::decode::leaf),
//! and hands the leaf to `T` at once: an int, bool, float, `&str` or field name as the
//! [`LeafDe`] the general path's [`NodeDe`] also answers those requests by (so leaf to
//! visitor is written once), anything else as the `NodeDe` of a one-node tree. No stack,
//! memo or arena; no decoder made or filled.
//!
//! This is a driver of the machine's leaf decoder, not a walker of its own: what it adds is
//! the order the lab's dicts come in (`}`, then `(` key value … `u` or key value `s`, then
//! `.`) and the checks that prove the machine would accept the same bytes with the same
//! result. Anything else gives up ([`Fallback`]) and the caller runs the general path from
//! the start, so every value and every error is the general path's:
//!
//! - any other opcode or shape, an argument past the input or its FRAME, no STOP;
//! - a key that may repeat another (a 64-slot filter of [`key_slot`](super::decode::arena::key_slot),
//!   which Python would merge): so at most 64 keys, which bounds what the general decoder
//!   needs (129 values, 128 items, 130 stack entries, 385 memo slots) and the work of its
//!   key merge at STOP (inputs up to [`MAX_INPUT`]);
//! - any error, from a leaf's deserializer or from `T`'s visitor;
//! - a visitor that asks the map's `size_hint` (the general path knows it; this one would
//!   have to read ahead), or stops before the STOP.

use core::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::de_node::{LeafDe, NodeDe};
use super::decode::arena::Node;
use super::decode::{leaf, memoize_next};
use super::opcodes::op::{
    BININT, BININT1, BININT2, BINPUT, BINUNICODE, EMPTY_DICT, FRAME, MARK, PROTO, SETITEM,
    SETITEMS, SHORT_BINUNICODE, STOP,
};
use super::value::Tree;

/// The longest input the pull path reads (its key merge at STOP stays far inside the
/// general decoder's work budget).
pub(super) const MAX_INPUT: usize = 1 << 16;

/// The smallest decoder capacities (values, items, stack, memo) whose general path the pull
/// path stands for: a dict of 64 keys (see the module's doc) memoized by BINPUT up to 255.
pub(super) const NEEDS: [usize; 4] = [129, 128, 130, 256 + 129];

/// "Not this way": the general path decides. Never seen by a caller.
#[derive(Debug)]
pub(super) struct Fallback;

impl core::fmt::Display for Fallback {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the pull path gives up")
    }
}

impl core::error::Error for Fallback {}

impl de::Error for Fallback {
    #[cold]
    fn custom<M: core::fmt::Display>(_: M) -> Self {
        Fallback
    }
}

/// `T` from the pickle at the start of `input` if it is a dict of str keys and leaf values
/// and everything above holds; else [`Fallback`]. Allocates nothing.
#[inline(always)]
pub(super) fn pull<'a, T: de::Deserialize<'a>>(input: &'a [u8]) -> Result<T, Fallback> {
    let mut p = Pull::start(input)?;
    let t = T::deserialize(Root(&mut p))?;
    if p.phase.get() != Phase::Stopped {
        return Err(Fallback);
    }
    Ok(t)
}

/// Reads the next leaf of `$pull` (a value, with its memo opcode) by [`leaf`] and evaluates
/// `$then` with the reader as `$p` and the leaf as `$node`. The opcodes `$hint` names come
/// first, each in an arm of its own with its opcode a constant, so that `leaf`'s match and
/// `$then`'s match of the node fold to that opcode's; any other leaf out of line
/// ([`Pull::other`]), so that the common path stays small enough to inline into `T`'s
/// visitor. A macro, not a function taking a closure: the closure was not inlined (+36
/// instructions per `&str` value).
macro_rules! with_leaf {
    ($pull:expr, $hint:expr, |$p:ident, $node:ident| $then:expr) => {{
        let $p: &mut Pull<'_> = $pull;
        let byte = $p.byte()?;
        with_leaf!(@arms ($hint, byte), $p, $node, $then,
            Str: SHORT_BINUNICODE, Int: BININT1, Int: BININT2, Int: BININT)
    }};
    (@arms $on:expr, $p:ident, $node:ident, $then:expr, $($hint:ident: $op:ident),*) => {
        match $on {
            $((Hint::$hint, $op) => {
                let $node = $p.value($op)?;
                $then
            })*
            (_, byte) => $p.other(byte, |$p, $node| $then),
        }
    };
}

/// What the reader reads next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Key,
    Value,
    /// Nothing: STOP was read.
    Stopped,
    /// Nothing: `T` asked the map's `size_hint`, which the general path knows and this one
    /// does not (the result will be thrown away).
    GaveUp,
}

/// The reader: the input, the part of it the opcodes are read in (up to the FRAME's end),
/// a position.
struct Pull<'a> {
    window: &'a [u8],
    /// The reading position: a `u32`, so that no sum of it and a length can overflow
    /// (the input is at most [`MAX_INPUT`] bytes; no overflow test per leaf).
    pos: u32,
    /// The keys' filter slots seen: a possible repeat gives up.
    seen: u64,
    /// A cell: `size_hint` (a `&self` method) ends the reading.
    phase: Cell<Phase>,
    /// Inside MARK … SETITEMS (else a SETITEM follows each value).
    in_mark: bool,
}

impl<'a> Pull<'a> {
    /// Past PROTO (0-5, optional), FRAME (optional, right after PROTO, within the input),
    /// EMPTY_DICT and its memo opcode.
    #[inline(always)]
    fn start(input: &'a [u8]) -> Result<Self, Fallback> {
        if input.len() > MAX_INPUT {
            return Err(Fallback);
        }
        let (window, pos) = match input.split_first_chunk::<11>() {
            Some((&[PROTO, 0..=5, FRAME, a, b, c, d, e, f, g, h], rest)) => {
                let len = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
                if len > rest.len() as u64 {
                    return Err(Fallback);
                }
                (input.get(..11 + len as usize).ok_or(Fallback)?, 11)
            }
            _ => match *input {
                [PROTO, 0..=5, ..] => (input, 2),
                _ => (input, 0),
            },
        };
        let mut p = Pull {
            window,
            pos: pos as u32,
            seen: 0,
            phase: Cell::new(Phase::Key),
            in_mark: false,
        };
        if p.window.get(pos) != Some(&EMPTY_DICT) {
            return Err(Fallback);
        }
        let pos = p.memo_after(pos + 1);
        // A MARK here is read as `read_key` reads it (the lab's dicts all have one: no
        // round of its loop for it).
        p.in_mark = p.window.get(pos) == Some(&MARK);
        p.pos = (pos + usize::from(p.in_mark)) as u32;
        Ok(p)
    }

    /// Past the memo opcode at `pos` if there is one (MEMOIZE; BINPUT, any one-byte index:
    /// the general decoder's memo holds 256 slots and more), else `pos`.
    #[inline(always)]
    fn memo_after(&self, pos: usize) -> usize {
        if memoize_next(self.window, pos) {
            pos + 1
        } else if self.window.get(pos) == Some(&BINPUT) && pos + 2 <= self.window.len() {
            pos + 2
        } else {
            pos
        }
    }

    /// The leaf opcode at the reading position, if any is left.
    #[inline(always)]
    fn byte(&self) -> Result<u8, Fallback> {
        self.window.get(self.pos as usize).copied().ok_or(Fallback)
    }

    /// The leaf of opcode `byte` at the reading position, by [`leaf`], and past its memo
    /// opcode; with a str's last byte, for an empty str its length's last byte (0: no
    /// test for an empty str).
    #[inline(always)]
    fn leaf(&mut self, byte: u8) -> Result<(LeafDe<'a>, u8), Fallback> {
        let (leaf, end) = self.read(byte)?;
        self.pos = self.memo_after(end) as u32;
        let last = self.window.get(end.wrapping_sub(1)).copied().unwrap_or(0);
        Ok((leaf, last))
    }

    /// The leaf of opcode `byte` at the reading position, by [`leaf`], with a str's bytes,
    /// and where its argument ends.
    #[inline(always)]
    fn read(&self, byte: u8) -> Result<(LeafDe<'a>, usize), Fallback> {
        let (node, end) = leaf(byte, self.window, self.pos as usize + 1, false).ok_or(Fallback)?;
        let text = match node {
            // The `len` bytes before `end`.
            Node::Str { len, .. } => self.window.get(end.wrapping_sub(len as usize)..end),
            _ => None,
        };
        let node = match node {
            // Neither path reads a key filter slot (so none is kept).
            Node::Str {
                start, len, enc, ..
            } => Node::Str {
                start,
                len,
                enc,
                key: 0,
            },
            node => node,
        };
        let text = text.unwrap_or(&[]);
        Ok((LeafDe { node, text }, end))
    }

    /// [`leaf`](Self::leaf) for a value: after a key, and past the SETITEM that follows it
    /// outside a MARK.
    #[inline(always)]
    fn value(&mut self, byte: u8) -> Result<LeafDe<'a>, Fallback> {
        if self.phase.get() != Phase::Value {
            return Err(Fallback);
        }
        let (leaf, end) = self.read(byte)?;
        let mut pos = self.memo_after(end);
        if !self.in_mark {
            if self.window.get(pos) != Some(&SETITEM) {
                return Err(Fallback);
            }
            pos += 1;
        }
        self.pos = pos as u32;
        self.phase.set(Phase::Key);
        Ok(leaf)
    }

    /// [`value`](Self::value) of opcode `byte`, then `then` of it: the leaves a request
    /// does not expect first (see [`with_leaf`]).
    #[cold]
    #[inline(never)]
    fn other<R>(
        &mut self,
        byte: u8,
        then: impl FnOnce(&mut Self, LeafDe<'a>) -> Result<R, Fallback>,
    ) -> Result<R, Fallback> {
        let leaf = self.value(byte)?;
        then(self, leaf)
    }

    /// The next key, or `None` at STOP.
    #[inline(always)]
    fn read_key<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, Fallback> {
        if self.phase.get() != Phase::Key {
            return Err(Fallback);
        }
        // The two str opcodes first, each with its opcode a constant; one call of `seed`.
        let (key, last) = loop {
            let byte = self.byte()?;
            // Tested first: most keys follow a value directly. (`black_box` keeps LLVM from
            // merging this test into a search over all six opcodes: 3 instructions per key,
            // was 9; 2 more per MARK, SETITEMS and STOP.)
            if byte == SHORT_BINUNICODE {
                break self.leaf(SHORT_BINUNICODE)?;
            }
            match core::hint::black_box(byte) {
                BINUNICODE => break self.leaf(BINUNICODE)?,
                MARK if !self.in_mark => self.in_mark = true,
                SETITEMS if self.in_mark => {
                    self.in_mark = false;
                    // A STOP next is read here, as the next round would read it.
                    if self.window.get(self.pos as usize + 1) == Some(&STOP) {
                        self.phase.set(Phase::Stopped);
                        return Ok(None);
                    }
                }
                STOP if !self.in_mark => {
                    self.phase.set(Phase::Stopped);
                    return Ok(None);
                }
                _ => return Err(Fallback),
            }
            self.pos += 1;
        };
        // The filter: the key's length and last byte (equal keys share a bit); the
        // machine's filter slot in the node is not needed (so not computed).
        // (An empty key's "last byte" is 0, its length's.)
        let bit = 1u64 << ((key.text.len() + usize::from(last)) & 63);
        if self.seen & bit != 0 {
            return Err(Fallback);
        }
        self.seen |= bit;
        self.phase.set(Phase::Value);
        let key = seed.deserialize(Key {
            leaf: key,
            window: self.window,
        });
        key.map(Some).map_err(|_| Fallback)
    }

    /// The next value, read when `seed` asks for it (as [`Leaf`]).
    #[inline(always)]
    fn read_value<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Fallback> {
        let value = seed.deserialize(Leaf(self))?;
        // The value was read (the phase moves on only then).
        if self.phase.get() != Phase::Key {
            return Err(Fallback);
        }
        Ok(value)
    }
}

/// Which leaf opcodes a request reads first ([`with_leaf`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    Str,
    Int,
    Any,
}

/// A value: the next leaf, read at `T`'s request and handed with that request to its
/// [`LeafDe`] or to the general path's deserializer of it.
struct Leaf<'p, 'a>(&'p mut Pull<'a>);

/// Every request, each with the leaf opcodes a value reads first ([`with_leaf`]) and who
/// answers it (`answer!`), to `$requests`.
macro_rules! requests {
    ($requests:ident) => {
        $requests! {
            node Any: deserialize_any(), plain Any: deserialize_bool(),
            plain Int: deserialize_i8(), plain Int: deserialize_i16(),
            plain Int: deserialize_i32(), plain Int: deserialize_i64(),
            node Int: deserialize_i128(), plain Int: deserialize_u8(),
            plain Int: deserialize_u16(), plain Int: deserialize_u32(),
            plain Int: deserialize_u64(), node Int: deserialize_u128(),
            node Any: deserialize_f32(), plain Any: deserialize_f64(),
            node Any: deserialize_char(), plain Str: deserialize_str(),
            node Str: deserialize_string(), node Any: deserialize_bytes(),
            node Any: deserialize_byte_buf(), node Any: deserialize_option(),
            node Any: deserialize_unit(), node Any: deserialize_unit_struct(name: &'static str),
            node Any: deserialize_newtype_struct(name: &'static str), node Any: deserialize_seq(),
            node Any: deserialize_tuple(len: usize),
            node Any: deserialize_tuple_struct(name: &'static str, len: usize),
            node Any: deserialize_map(),
            node Any: deserialize_struct(name: &'static str, fields: &'static [&'static str]),
            node Any: deserialize_enum(name: &'static str, variants: &'static [&'static str]),
            node Any: deserialize_ignored_any(), plain Str: deserialize_identifier(),
        }
    };
}

/// The answer to request `$method` of leaf `$leaf` (read in `$window`): `plain`, its
/// [`LeafDe`]'s; `node`, the general path's deserializer's of it ([`NodeDe`], over a tree
/// of no nodes: a leaf needs the input only). Anything not answered gives up.
macro_rules! answer {
    (plain $window:expr, $leaf:expr, $method:ident(), $visitor:ident) => {{
        let _: &[u8] = $window;
        match $leaf.$method::<V, Fallback>($visitor) {
            Ok(answer) => answer,
            Err(_) => Err(Fallback),
        }
    }};
    (node $window:expr, $leaf:expr, $method:ident($($arg:ident),*), $visitor:ident) => {{
        let tree = Tree {
            input: $window,
            nodes: &[],
            edges: &[],
        };
        NodeDe { tree: &tree, node: $leaf.node }
            .$method($($arg,)* $visitor)
            .map_err(|_| Fallback)
    }};
}

/// Requests of a value: the leaf read with the hint, then answered by `answer!`.
macro_rules! value_requests {
    ($($how:ident $hint:ident: $method:ident($($arg:ident: $ty:ty),*),)*) => {$(
        #[inline(always)]
        fn $method<V: Visitor<'a>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Fallback> {
            with_leaf!(self.0, Hint::$hint, |p, leaf| {
                answer!($how p.window, leaf, $method($($arg),*), visitor)
            })
        }
    )*};
}

impl<'a> Deserializer<'a> for Leaf<'_, 'a> {
    type Error = Fallback;

    requests!(value_requests);
}

/// Requests of a key: answered by `answer!`.
macro_rules! key_requests {
    ($($how:ident $hint:ident: $method:ident($($arg:ident: $ty:ty),*),)*) => {$(
        #[inline(always)]
        fn $method<V: Visitor<'a>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Fallback> {
            answer!($how self.window, self.leaf, $method($($arg),*), visitor)
        }
    )*};
}

/// A key (a UTF-8 str) and the window it was read in. A field name is its bytes
/// ([`LeafDe`]), small enough for `T`'s field match to inline.
struct Key<'a> {
    leaf: LeafDe<'a>,
    window: &'a [u8],
}

impl<'a> Deserializer<'a> for Key<'a> {
    type Error = Fallback;

    requests!(key_requests);
}

/// The root dict's items.
impl<'a> MapAccess<'a> for &mut Pull<'a> {
    type Error = Fallback;

    #[inline(always)]
    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Fallback> {
        Pull::read_key(self, seed)
    }

    #[inline(always)]
    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Fallback> {
        Pull::read_value(self, seed)
    }

    /// Unknown here: the result will be thrown away (the general path knows it).
    fn size_hint(&self) -> Option<usize> {
        self.phase.set(Phase::GaveUp);
        None
    }
}

/// Requests of the root that give up.
macro_rules! gives_up {
    ($($method:ident,)*) => {$(
        fn $method<V: Visitor<'a>>(self, _: V) -> Result<V::Value, Fallback> {
            Err(Fallback)
        }
    )*};
}

/// The root dict, read as the general path's [`NodeDe`] reads a dict: as a map, a struct's
/// fields, `Some` or a newtype's content; any other request gives up.
struct Root<'p, 'a>(&'p mut Pull<'a>);

impl<'a> Deserializer<'a> for Root<'_, 'a> {
    type Error = Fallback;

    #[inline(always)]
    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_map(self.0)
    }

    #[inline(always)]
    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_map(self.0)
    }

    #[inline(always)]
    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        visitor.visit_map(self.0)
    }

    #[inline(always)]
    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Fallback> {
        visitor.visit_some(self)
    }

    #[inline(always)]
    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Fallback> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }

    gives_up! {
        deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32, deserialize_i64,
        deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32, deserialize_u64,
        deserialize_u128, deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
        deserialize_string, deserialize_bytes, deserialize_byte_buf, deserialize_unit,
        deserialize_seq, deserialize_identifier,
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _: V,
    ) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, _: V) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        _: V,
    ) -> Result<V::Value, Fallback> {
        Err(Fallback)
    }
}

#[cfg(test)]
#[path = "de_pull_tests.rs"]
mod tests;
