//! `Value`: a borrowed view of a decoded pickle, printed exactly as Python's `repr()`.

use core::fmt::{self, Display, Write as _};

use super::decode::arena::{self, ContainerKind, Edge, Id, IntDigits, Node, NodeId};
#[cfg(feature = "repr")]
use super::float_repr::write_float_repr;
use super::number;
pub use super::objects::Object;
use super::repr;
use super::text::{self, BytesEncoding, TextEncoding};

/// The decoder's arena (`'n`) and the input it points into (`'i`).
#[derive(Clone, Copy)]
pub(crate) struct Tree<'i, 'n> {
    pub(crate) input: &'i [u8],
    pub(crate) nodes: &'n [Node],
    pub(crate) edges: &'n [Edge],
}

/// One node seen through a [`Tree`]: scalars borrow the input, containers are item chains.
#[derive(Clone, Copy)]
pub(crate) enum Item<'i> {
    None,
    Bool(bool),
    Int(i64),
    BigInt(BigInt<'i>),
    Float(f64),
    Str(Str<'i>),
    Bytes(Bytes<'i>),
    ByteArray(Bytes<'i>),
    Container(ContainerKind, Chain),
    /// A bare global (see [`Object`]).
    Global,
}

/// A container's item chain: `len` items from edge `first`.
#[derive(Clone, Copy)]
pub(crate) struct Chain {
    pub(crate) first: Id,
    pub(crate) len: Id,
}

impl<'i, 'n> Tree<'i, 'n> {
    /// A tree with no nodes (for scalars, which need none).
    pub(crate) const EMPTY: Tree<'static, 'static> = Tree {
        input: &[],
        nodes: &[],
        edges: &[],
    };

    /// The input bytes `start..start + len` (empty if out of range, which the decoder never
    /// produces).
    pub(crate) fn span(self, start: u32, len: u32) -> &'i [u8] {
        arena::span(self.input, start, len)
    }

    pub(crate) fn node(self, id: NodeId) -> Node {
        self.nodes.get(id as usize).copied().unwrap_or(Node::None)
    }

    /// Node `id` as an [`Item`].
    #[inline]
    pub(crate) fn item(self, id: NodeId) -> Item<'i> {
        self.item_of(self.node(id))
    }

    /// `node`, a node of this tree (or a leaf of its input), as an [`Item`].
    #[inline]
    pub(crate) fn item_of(self, node: Node) -> Item<'i> {
        match node {
            Node::None | Node::Builtin(_) => Item::None,
            Node::Global(_) => Item::Global,
            Node::Bool(b) => Item::Bool(b),
            Node::Int(i) => Item::Int(i),
            Node::BigInt { start, len, digits } => Item::BigInt(BigInt {
                raw: self.span(start, len),
                digits,
            }),
            Node::Float(f) => Item::Float(f),
            Node::Str {
                start, len, enc, ..
            } => Item::Str(Str {
                raw: self.span(start, len),
                enc,
            }),
            Node::Bytes {
                start,
                len,
                enc,
                mutable,
            } => {
                let bytes = Bytes {
                    raw: self.span(start, len),
                    enc,
                };
                if mutable {
                    Item::ByteArray(bytes)
                } else {
                    Item::Bytes(bytes)
                }
            }
            Node::Container(c) => Item::Container(
                c.kind,
                Chain {
                    first: c.first,
                    len: c.len,
                },
            ),
        }
    }

    /// The items of a container, as node ids.
    pub(crate) fn children(self, chain: Chain) -> Children<'n> {
        Children {
            edges: self.edges,
            next: chain.first,
            left: chain.len,
        }
    }
}

impl<'a> Tree<'a, 'a> {
    /// The value of node `id`.
    #[cfg_attr(feature = "fast", inline)]
    pub(crate) fn value(self, id: NodeId) -> Value<'a> {
        match self.item(id) {
            Item::None => Value::None,
            Item::Bool(b) => Value::Bool(b),
            Item::Int(i) => Value::Int(i),
            Item::BigInt(b) => Value::BigInt(b),
            Item::Float(f) => Value::Float(f),
            Item::Str(s) => Value::Str(s),
            Item::Bytes(b) => Value::Bytes(b),
            Item::ByteArray(b) => Value::ByteArray(b),
            Item::Global | Item::Container(ContainerKind::Object(_), _) => {
                Value::Object(Object { tree: self, id })
            }
            Item::Container(kind, chain) => {
                let seq = Seq { tree: self, chain };
                match kind {
                    ContainerKind::List => Value::List(seq),
                    ContainerKind::Tuple => Value::Tuple(seq),
                    ContainerKind::Set => Value::Set(seq),
                    ContainerKind::FrozenSet => Value::FrozenSet(seq),
                    ContainerKind::Dict => Value::Dict(Dict(seq)),
                    // Matched above.
                    ContainerKind::Object(_) => Value::None,
                }
            }
        }
    }
}

/// Node ids of a container's items, in order.
#[derive(Clone)]
pub(crate) struct Children<'a> {
    edges: &'a [Edge],
    next: Id,
    left: Id,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.left == 0 {
            return None;
        }
        // NIL (a chain's end) is past every slab (`Slab::push_id` stops below it): `get` ends it too.
        let edge = self.edges.get(self.next as usize)?;
        self.left -= 1;
        self.next = edge.next(self.next);
        Some(edge.child)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// A decoded Python value. Strings, bytes and big integers borrow the pickle's bytes;
/// containers borrow the decoder. `Display` prints what Python's `repr()` prints (set
/// elements in pickle order, which may differ from Python's hash order).
#[derive(Clone, Copy)]
pub enum Value<'a> {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits 64 bits.
    Int(i64),
    /// An `int` that does not fit 64 bits.
    BigInt(BigInt<'a>),
    /// A `float`.
    Float(f64),
    /// A `str` (also a Python 2 byte string that is valid ASCII).
    Str(Str<'a>),
    /// `bytes` (also a Python 2 byte string that is not ASCII).
    Bytes(Bytes<'a>),
    /// A `bytearray`.
    ByteArray(Bytes<'a>),
    /// A `list`.
    List(Seq<'a>),
    /// A `tuple`.
    Tuple(Seq<'a>),
    /// A `set`.
    Set(Seq<'a>),
    /// A `frozenset`.
    FrozenSet(Seq<'a>),
    /// A `dict`, in insertion order.
    Dict(Dict<'a>),
    /// An object built from a global: a standard type (`datetime`, `Decimal`, ...) as data,
    /// or an inert stub of a class brine does not know (see [`Object`]).
    Object(Object<'a>),
}

impl<'a> Value<'a> {
    /// Python's name for the value's type (`"int"`, `"str"`, `"dict"`, ...; a standard
    /// type's class name, `"object"` for a stub: its name is [`Object::name`]).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::ByteArray(_) => "bytearray",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
            Value::Dict(_) => "dict",
            #[cfg(feature = "objects")]
            Value::Object(o) => o.class().dotted().map_or("object", |(_, name)| name),
            // Never made without `objects` (its decoder refuses globals that are not data).
            #[cfg(not(feature = "objects"))]
            Value::Object(_) => "object",
        }
    }

    /// The text if this is a `str` the pickle holds verbatim (see [`Str::as_str`]); `None`
    /// otherwise.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => s.as_str(),
            _ => None,
        }
    }

    /// The integer if this is an `int` that fits 64 bits (or a `bool`, as in Python).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::Bool(b) => Some(b.into()),
            _ => None,
        }
    }

    /// The dict if this is one.
    pub fn as_dict(&self) -> Option<Dict<'a>> {
        match *self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
}

/// Structural: the variant and its contents (`List([Int(1), Str('a')])`); `{:#?}` spreads it
/// over lines. [`Display`] is Python's repr.
impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(b) => f.debug_tuple("Bool").field(b).finish(),
            Value::Int(i) => f.debug_tuple("Int").field(i).finish(),
            Value::BigInt(b) => f.debug_tuple("BigInt").field(b).finish(),
            Value::Float(x) => f.debug_tuple("Float").field(x).finish(),
            Value::Str(s) => f.debug_tuple("Str").field(s).finish(),
            Value::Bytes(b) => f.debug_tuple("Bytes").field(b).finish(),
            Value::ByteArray(b) => f.debug_tuple("ByteArray").field(b).finish(),
            Value::List(items) => f.debug_tuple("List").field(items).finish(),
            Value::Tuple(items) => f.debug_tuple("Tuple").field(items).finish(),
            Value::Set(items) => f.debug_tuple("Set").field(items).finish(),
            Value::FrozenSet(items) => f.debug_tuple("FrozenSet").field(items).finish(),
            Value::Dict(entries) => f.debug_tuple("Dict").field(entries).finish(),
            Value::Object(o) => fmt::Debug::fmt(o, f),
        }
    }
}

/// Python's repr (feature `repr`).
#[cfg(feature = "repr")]
impl Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(i) => super::number::fmt_i128((*i).into(), f),
            Value::BigInt(b) => Display::fmt(b, f),
            Value::Float(x) => write_float_repr(f, *x),
            Value::Str(s) => repr::write_str_repr(f, s.code_points()),
            Value::Bytes(b) => repr::write_bytes_repr(f, b.iter()),
            Value::ByteArray(b) => repr::write_bytearray_repr(f, b.iter()),
            Value::List(s) => s.write_items(f, "[", "]"),
            Value::Tuple(s) if s.len() == 1 => s.write_items(f, "(", ",)"),
            Value::Tuple(s) => s.write_items(f, "(", ")"),
            Value::Set(s) if s.is_empty() => f.write_str("set()"),
            Value::Set(s) => s.write_items(f, "{", "}"),
            Value::FrozenSet(s) if s.is_empty() => f.write_str("frozenset()"),
            Value::FrozenSet(s) => s.write_items(f, "frozenset({", "})"),
            Value::Dict(d) if d.is_cycle() => f.write_str("{...}"),
            Value::Dict(d) => {
                f.write_char('{')?;
                for (i, (k, v)) in d.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_char('}')
            }
            Value::Object(o) => Display::fmt(o, f),
        }
    }
}

impl PartialEq<&str> for Value<'_> {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, Value::Str(s) if s == *other)
    }
}

/// A Python `str`, borrowed from the pickle. Protocol 1+ strings are UTF-8 and available
/// as `&str` ([`as_str`](Self::as_str)); protocol 0 strings are escaped on the wire and are
/// read with [`chars`](Self::chars).
///
/// A Python str may hold lone surrogates (`'\ud800'`), which CPython pickles as 3 bytes each
/// of 'surrogatepass' UTF-8 (or as `\ud800` in protocol 0) and a Rust `str` or `char` cannot
/// hold: [`code_points`](Self::code_points) yields them, [`as_str`](Self::as_str) and
/// [`copy_to`](Self::copy_to) give `None` for such a str, [`chars`](Self::chars) yields
/// U+FFFD in their place. The repr (`Debug`, and [`Value`]'s `Display`) is Python's.
#[derive(Clone, Copy)]
pub struct Str<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) enc: TextEncoding,
}

impl<'a> Str<'a> {
    /// The text, borrowed from the pickle, when the pickle holds it verbatim: UTF-8 strings
    /// (protocol 1 and later, and Python 2's ASCII byte strings) and protocol-0 strings
    /// (`V...`, Python 2's `S'...'`) that are ASCII without a backslash. `None` when escapes
    /// would have to be undone: then [`chars`](Str::chars) or [`copy_to`](Str::copy_to);
    /// `None` also for a str with a lone surrogate. Allocates nothing.
    pub fn as_str(&self) -> Option<&'a str> {
        let verbatim = match self.enc {
            TextEncoding::Utf8 => self.raw,
            TextEncoding::RawUnicodeEscape => self.raw,
            // Between the quotes.
            TextEncoding::PyLiteral => self.raw.get(1..self.raw.len().checked_sub(1)?)?,
        };
        // Other encodings: ASCII without a backslash, in one pass (flash: not `is_ascii`
        // and a `memchr` inlined here).
        if self.enc != TextEncoding::Utf8 && !verbatim.iter().all(|&b| b < 0x80 && b != b'\\') {
            return None;
        }
        core::str::from_utf8(verbatim).ok()
    }

    /// The code points, as Python's `map(ord, s)`: lone surrogates (U+D800..U+DFFF) included.
    pub fn code_points(&self) -> impl Iterator<Item = u32> + Clone + 'a {
        text::code_points(self.raw, self.enc)
    }

    /// The characters; a lone surrogate comes out as U+FFFD (see
    /// [`code_points`](Self::code_points)).
    pub fn chars(&self) -> impl Iterator<Item = char> + Clone + 'a {
        text::text_chars(self.raw, self.enc)
    }

    /// Whether the str holds a lone surrogate, which a Rust `str` cannot.
    pub fn has_surrogates(&self) -> bool {
        self.as_str().is_none() && self.code_points().any(text::is_surrogate)
    }

    /// Copies the text into `buf` and returns it; `None` if it does not fit, or if it holds a
    /// lone surrogate.
    pub fn copy_to<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        let mut used = 0;
        for cp in self.code_points() {
            let c = char::from_u32(cp)?;
            let n = c.len_utf8();
            let dst = buf.get_mut(used..used + n)?;
            c.encode_utf8(dst);
            used += n;
        }
        core::str::from_utf8(buf.get(..used)?).ok()
    }
}

impl PartialEq<str> for Str<'_> {
    fn eq(&self, other: &str) -> bool {
        match self.as_str() {
            Some(s) => s == other,
            None => self.code_points().eq(other.chars().map(u32::from)),
        }
    }
}

impl PartialEq<&str> for Str<'_> {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl PartialEq for Str<'_> {
    /// Same code points, whatever opcode wrote each (Python 2 `'a'` equals `u'a'`).
    fn eq(&self, other: &Str<'_>) -> bool {
        match (self.enc, other.enc) {
            // One encoding per code point, surrogates included.
            (TextEncoding::Utf8, TextEncoding::Utf8) => self.raw == other.raw,
            _ => self.code_points().eq(other.code_points()),
        }
    }
}

impl Display for Str<'_> {
    /// The text itself (not its repr); a lone surrogate as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => self.chars().try_for_each(|c| f.write_char(c)),
        }
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        repr::write_str_repr(f, self.code_points())
    }
}

/// Python `bytes` or `bytearray` contents, borrowed from the pickle.
#[derive(Clone, Copy)]
pub struct Bytes<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) enc: BytesEncoding,
}

impl<'a> Bytes<'a> {
    /// The bytes, when stored as they are (protocol 3 and later).
    pub fn as_slice(&self) -> Option<&'a [u8]> {
        match self.enc {
            BytesEncoding::Raw => Some(self.raw),
            _ => None,
        }
    }

    /// The bytes.
    pub fn iter(&self) -> impl Iterator<Item = u8> + Clone + 'a {
        text::bytes_iter(self.raw, self.enc)
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        text::bytes_len(self.raw, self.enc)
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies the bytes into `buf` and returns them; `None` if they do not fit.
    pub fn copy_to<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut used = 0;
        for b in self.iter() {
            *buf.get_mut(used)? = b;
            used += 1;
        }
        buf.get(..used)
    }
}

impl PartialEq for Bytes<'_> {
    /// Same bytes, whatever opcode wrote each.
    fn eq(&self, other: &Bytes<'_>) -> bool {
        match (self.enc, other.enc) {
            (BytesEncoding::Raw, BytesEncoding::Raw) => self.raw == other.raw,
            _ => self.iter().eq(other.iter()),
        }
    }
}

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        repr::write_bytes_repr(f, self.iter())
    }
}

/// An `int` too large for 64 bits, borrowed from the pickle. `Display` prints it in decimal.
#[derive(Clone, Copy)]
pub struct BigInt<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) digits: IntDigits,
}

impl BigInt<'_> {
    /// The value, if it fits 128 bits.
    pub fn to_i128(&self) -> Option<i128> {
        match self.digits {
            IntDigits::LittleEndian => number::le_to_i128(self.raw),
            IntDigits::Decimal => number::decimal_to_i128(self.raw),
        }
    }

    /// The two's-complement little-endian bytes, when stored that way (protocol 2 and later).
    pub fn as_le_bytes(&self) -> Option<&[u8]> {
        match self.digits {
            IntDigits::LittleEndian => Some(self.raw),
            IntDigits::Decimal => None,
        }
    }
}

impl Display for BigInt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.digits {
            IntDigits::LittleEndian => repr::write_int_le_repr(f, self.raw),
            IntDigits::Decimal => repr::write_int_decimal_repr(f, self.raw),
        }
    }
}

impl fmt::Debug for BigInt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Display::fmt(self, f)
    }
}

/// The items of a list, tuple, set or frozenset.
#[derive(Clone, Copy)]
pub struct Seq<'a> {
    pub(crate) tree: Tree<'a, 'a>,
    pub(crate) chain: Chain,
}

impl<'a> Seq<'a> {
    /// True where a container appears inside itself (`l = []; l.append(l)`, `d['a'] = d`):
    /// Python's repr prints `[...]`, `{...}` or `(...)` there, which `Display` prints too.
    /// Such a value has no items (the walk ends there; the container it stands for is the
    /// one being walked above it).
    pub fn is_cycle(&self) -> bool {
        self.chain.len == 0 && self.chain.first == arena::CYCLE
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.chain.len as usize
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.chain.len == 0
    }

    /// The items in order.
    pub fn iter(&self) -> SeqIter<'a> {
        SeqIter {
            tree: self.tree,
            children: self.tree.children(self.chain),
        }
    }

    /// The item at `index` (walks the items: O(index)).
    pub fn get(&self, index: usize) -> Option<Value<'a>> {
        self.iter().nth(index)
    }

    #[cfg(feature = "repr")]
    fn write_items(&self, f: &mut fmt::Formatter<'_>, open: &str, close: &str) -> fmt::Result {
        if self.is_cycle() {
            return f.write_str(match open {
                "[" => "[...]",
                "{" => "{...}",
                _ => "(...)",
            });
        }
        f.write_str(open)?;
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            Display::fmt(&v, f)?;
        }
        f.write_str(close)
    }
}

impl<'a> IntoIterator for Seq<'a> {
    type Item = Value<'a>;
    type IntoIter = SeqIter<'a>;

    fn into_iter(self) -> SeqIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`Seq`]'s items.
#[derive(Clone)]
pub struct SeqIter<'a> {
    tree: Tree<'a, 'a>,
    children: Children<'a>,
}

impl<'a> Iterator for SeqIter<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        self.children.next().map(|id| self.tree.value(id))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.children.size_hint()
    }
}

/// A dict's entries, in insertion order.
#[derive(Clone, Copy)]
pub struct Dict<'a>(pub(crate) Seq<'a>);

impl<'a> Dict<'a> {
    /// True where a dict appears inside itself (`d['a'] = d`): Python's repr prints `{...}`
    /// there (see [`Seq::is_cycle`]).
    pub fn is_cycle(&self) -> bool {
        self.0.is_cycle()
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `(key, value)` entries in order.
    pub fn iter(&self) -> DictIter<'a> {
        DictIter(self.0.iter())
    }

    /// The value for the `str` key `key` (the last one, if the pickle repeats a key).
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        // Over the node ids: only the value found is made a `Value` (flash and time).
        let Seq { tree, chain } = self.0;
        let mut children = tree.children(chain);
        let mut found = None;
        while let (Some(k), Some(v)) = (children.next(), children.next()) {
            if let Node::Str {
                start, len, enc, ..
            } = tree.node(k)
            {
                let raw = tree.span(start, len);
                if (Str { raw, enc }) == *key {
                    found = Some(v);
                }
            }
        }
        found.map(|v| tree.value(v))
    }
}

impl<'a> IntoIterator for Dict<'a> {
    type Item = (Value<'a>, Value<'a>);
    type IntoIter = DictIter<'a>;

    fn into_iter(self) -> DictIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Seq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cycle() {
            return f.write_str("[...]");
        }
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Dict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cycle() {
            return f.write_str("{...}");
        }
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Iterator over a [`Dict`]'s entries.
#[derive(Clone)]
pub struct DictIter<'a>(SeqIter<'a>);

impl<'a> Iterator for DictIter<'a> {
    type Item = (Value<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let key = self.0.next()?;
        let value = self.0.next()?;
        Some((key, value))
    }
}

#[cfg(all(test, feature = "repr"))]
#[path = "value_tests.rs"]
mod tests;
