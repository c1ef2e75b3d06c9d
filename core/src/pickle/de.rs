//! serde: deserializing Rust types from a decoded pickle, borrowing strings and bytes.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::de_node::NodeDe;
use super::de_pull;
use super::decode::arena::{ContainerKind, NodeId};
use super::decode::Decoder;
use super::error::{Capacity, Error};
use super::text::TextEncoding;
use super::value::{Chain, Children, Item, Str, Tree, Value};

/// Longest protocol-0 (escaped) string or bytes value that can be deserialized: these are
/// unescaped into a buffer of this size on the stack, as they cannot be borrowed.
pub const MAX_ESCAPED_LEN: usize = 256;

/// Decodes the pickle at the start of `input` and deserializes a `T` from it, borrowing
/// strings and bytes from `input` (`&'a str` fields work for protocol 1 and later).
///
/// A dict of str keys and scalar values (the lab's messages) is first read by the pull path
/// (`de_pull.rs`, feature `fast`): `T` takes each item as the machine's leaf reading decodes
/// it, straight from the input, with no decoder; any other pickle, and anything that path
/// cannot prove the general path would give the same answer for, runs the general path:
/// one run of the decoder's machine, then `T` reads the decoded arena. That decoder lives on
/// the stack: a small one (32 values, 64 items, 64 stack entries, 32 memo slots; about
/// 1 KiB, ~75 instructions to make), and only for a pickle that outgrows it a default-sized one
/// (about 27 KiB of stack, which a small firmware may not have; making it fills that
/// storage), which decodes the pickle again. To choose the size (a firmware: always), or to
/// reuse a decoder, call [`Decoder::deserialize`]. Fails as
/// [`Decoder::decode`] does (with the default capacities), and when the value does not fit
/// `T` ([`Error::TypeMismatch`], [`Error::IntegerOutOfRange`], or a message from `T`'s
/// `Deserialize`). Allocates nothing.
pub fn from_slice<'a, T: de::Deserialize<'a>>(input: &'a [u8]) -> Result<T, Error> {
    if cfg!(feature = "fast") {
        if let Ok(t) = de_pull::pull(input) {
            return Ok(t);
        }
    }
    from_slice_general(input)
}

/// [`from_slice`] by the general path: the machine, then `T` reads its arena. Out of line,
/// so that the pull path's frame holds no decoder.
#[inline(never)]
fn from_slice_general<'a, T: de::Deserialize<'a>>(input: &'a [u8]) -> Result<T, Error> {
    // Deserialization starts after decoding succeeds, so `T` never sees the first attempt.
    let mut small = Decoder::<32, 64, 64, 32>::new();
    match small.run(input, false) {
        Ok((root, _)) => small.visit(input, root),
        Err(Error::Capacity {
            what: Capacity::Values | Capacity::Items | Capacity::Stack | Capacity::Memo,
            ..
        }) => from_slice_large(input),
        Err(e) => Err(e),
    }
}

/// [`from_slice`] with the default-sized decoder, in its own stack frame (so that its
/// ~27 KiB are only reserved when used).
#[inline(never)]
fn from_slice_large<'a, T: de::Deserialize<'a>>(input: &'a [u8]) -> Result<T, Error> {
    Decoder::<1024, 2048, 512, 1024>::new().deserialize_general(input)
}

impl<const VALUES: usize, const ITEMS: usize, const STACK: usize, const MEMO: usize>
    Decoder<VALUES, ITEMS, STACK, MEMO>
{
    /// Decodes the pickle at the start of `input` into this decoder (one run of its machine,
    /// strings not yet checked) and deserializes a `T` borrowing from `input`: `T` reads the
    /// decoded values, and each `str` it borrows is checked as UTF-8 then. A dict of str
    /// keys and scalar values is first read by the pull path, as [`from_slice`] does (for a
    /// decoder of at least 129 values, 128 items, 130 stack entries and 385 memo slots; the
    /// decoder is then left as it was). Allocates nothing.
    ///
    /// # Errors
    ///
    /// As [`from_slice`]: a pickle the decoder refuses, or one whose value does not fit `T`.
    pub fn deserialize<'a, T: de::Deserialize<'a>>(&mut self, input: &'a [u8]) -> Result<T, Error> {
        let [values, items, stack, memo] = de_pull::NEEDS;
        if cfg!(feature = "fast")
            && VALUES >= values
            && ITEMS >= items
            && STACK >= stack
            && MEMO >= memo
        {
            if let Ok(t) = de_pull::pull(input) {
                return Ok(t);
            }
        }
        self.deserialize_general(input)
    }

    /// [`deserialize`](Self::deserialize) by the general path: the machine, then `T` reads
    /// its arena.
    fn deserialize_general<'a, T: de::Deserialize<'a>>(
        &mut self,
        input: &'a [u8],
    ) -> Result<T, Error> {
        let (root, _) = self.run(input, false)?;
        self.visit(input, root)
    }

    /// Deserializes a `T` from node `root` of the last run over `input`.
    #[inline(always)]
    fn visit<'a, T: de::Deserialize<'a>>(&self, input: &'a [u8], root: NodeId) -> Result<T, Error> {
        let tree = self.tree(input);
        T::deserialize(NodeDe::new(&tree, root))
    }
}

/// The general path of [`Decoder::deserialize`] (no pull path) with a default-sized decoder
/// and every request sent to the
/// general deserializer [`De`], none of [`NodeDe`]'s shortcuts (for differential tests).
#[cfg(test)]
pub(crate) fn from_slice_by_machine<'a, T: de::Deserialize<'a>>(
    decoder: &'a mut Decoder,
    input: &'a [u8],
) -> Result<T, Error> {
    use super::de_node::GENERAL_ONLY;
    GENERAL_ONLY.with(|g| g.set(true));
    let result = decoder.deserialize_general(input);
    GENERAL_ONLY.with(|g| g.set(false));
    result
}

impl<'a> Value<'a> {
    /// Deserializes a `T` from this value, borrowing strings and bytes from the pickle.
    pub fn deserialize<T: de::Deserialize<'a>>(&self) -> Result<T, Error> {
        let (tree, item) = match *self {
            Value::None => (Tree::EMPTY, Item::None),
            Value::Bool(b) => (Tree::EMPTY, Item::Bool(b)),
            Value::Int(i) => (Tree::EMPTY, Item::Int(i)),
            Value::BigInt(b) => (Tree::EMPTY, Item::BigInt(b)),
            Value::Float(f) => (Tree::EMPTY, Item::Float(f)),
            Value::Str(s) => (Tree::EMPTY, Item::Str(s)),
            Value::Bytes(b) => (Tree::EMPTY, Item::Bytes(b)),
            Value::ByteArray(b) => (Tree::EMPTY, Item::ByteArray(b)),
            Value::List(s) => (s.tree, Item::Container(ContainerKind::List, s.chain)),
            Value::Tuple(s) => (s.tree, Item::Container(ContainerKind::Tuple, s.chain)),
            Value::Set(s) => (s.tree, Item::Container(ContainerKind::Set, s.chain)),
            Value::FrozenSet(s) => (s.tree, Item::Container(ContainerKind::FrozenSet, s.chain)),
            Value::Dict(d) => (d.0.tree, Item::Container(ContainerKind::Dict, d.0.chain)),
            Value::Object(o) => (o.tree, o.item()),
        };
        T::deserialize(De::new(&tree, item))
    }
}

/// A deserializer for one item of a decoded pickle.
#[derive(Clone, Copy)]
pub(super) struct De<'de, 'n> {
    tree: &'n Tree<'de, 'n>,
    item: Item<'de>,
}

/// Python's type name for an item, for error messages.
fn type_name(item: &Item<'_>) -> &'static str {
    match item {
        Item::None => "NoneType",
        Item::Bool(_) => "bool",
        Item::Int(_) | Item::BigInt(_) => "int",
        Item::Float(_) => "float",
        Item::Str(_) => "str",
        Item::Bytes(_) => "bytes",
        Item::ByteArray(_) => "bytearray",
        Item::Container(ContainerKind::List, _) => "list",
        Item::Container(ContainerKind::Tuple, _) => "tuple",
        Item::Container(ContainerKind::Set, _) => "set",
        Item::Container(ContainerKind::FrozenSet, _) => "frozenset",
        Item::Container(ContainerKind::Dict, _) => "dict",
        Item::Container(ContainerKind::Object(_), _) => "object",
        Item::Global => "global",
    }
}

impl<'de, 'n> De<'de, 'n> {
    pub(super) fn new(tree: &'n Tree<'de, 'n>, item: Item<'de>) -> Self {
        De { tree, item }
    }

    /// The items of this container, which has the item chain `chain`.
    fn items(self, chain: Chain) -> Items<'de, 'n> {
        Items::new(self.tree, chain)
    }

    fn mismatch(&self, expected: &'static str) -> Error {
        Error::TypeMismatch {
            expected,
            found: type_name(&self.item),
        }
    }

    /// The integer value (bools count, as in Python), if it fits 128 bits.
    fn integer(&self, target: &'static str) -> Result<i128, Error> {
        match self.item {
            Item::Int(i) => Ok(i.into()),
            Item::Bool(b) => Ok(b.into()),
            Item::BigInt(b) => b
                .to_i128()
                .ok_or_else(|| Error::IntegerOutOfRange { target }),
            _ => Err(self.mismatch(target)),
        }
    }

    /// A `str`: borrowed when stored as UTF-8 (validated here, once: the serde path skips
    /// the decoder's own check), unescaped into a stack buffer otherwise.
    fn visit_text<V: Visitor<'de>>(&self, s: Str<'de>, visitor: V) -> Result<V::Value, Error> {
        if s.enc == TextEncoding::Utf8 {
            return match core::str::from_utf8(s.raw) {
                Ok(text) => visitor.visit_borrowed_str(text),
                Err(_) if s.has_surrogates() => Err(self.mismatch(NO_SURROGATES)),
                Err(_) => Err(Error::InvalidUtf8 {
                    offset: self.offset_of(s.raw),
                }),
            };
        }
        let mut buf = [0u8; MAX_ESCAPED_LEN];
        let text = s.copy_to(&mut buf).ok_or_else(|| {
            if s.has_surrogates() {
                self.mismatch(NO_SURROGATES)
            } else {
                Error::Unsupported {
                    what: "an escaped (protocol 0) string longer than MAX_ESCAPED_LEN",
                }
            }
        })?;
        visitor.visit_str(text)
    }

    /// The byte offset of `part` in the pickle.
    fn offset_of(&self, part: &[u8]) -> usize {
        (part.as_ptr() as usize).wrapping_sub(self.tree.input.as_ptr() as usize)
    }
}

/// What a str with a lone surrogate (`'\ud800'`) is refused as, where a Rust string is asked.
const NO_SURROGATES: &str = "a str without lone surrogates (a Rust string cannot hold one)";

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident : $ty:ty,)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                let wide = self.integer(stringify!($ty))?;
                let narrow = <$ty>::try_from(wide)
                    .map_err(|_| Error::IntegerOutOfRange { target: stringify!($ty) })?;
                visitor.$visit(narrow)
            }
        )*
    };
}

impl<'de, 'n> De<'de, 'n> {
    /// `deserialize_any` of an item that is not an object stub.
    fn any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::None => visitor.visit_unit(),
            Item::Bool(b) => visitor.visit_bool(b),
            Item::Int(i) => visitor.visit_i64(i),
            Item::BigInt(b) => match b.to_i128() {
                Some(i) => visitor.visit_i128(i),
                None => Err(Error::IntegerOutOfRange { target: "i128" }),
            },
            Item::Float(f) => visitor.visit_f64(f),
            Item::Str(s) => self.visit_text(s, visitor),
            Item::Bytes(_) | Item::ByteArray(_) => self.deserialize_bytes(visitor),
            Item::Container(ContainerKind::Dict, chain) => visitor.visit_map(self.items(chain)),
            Item::Container(ContainerKind::Object(_), _) | Item::Global => {
                Err(self.mismatch("data"))
            }
            Item::Container(_, chain) => visitor.visit_seq(self.items(chain)),
        }
    }

    /// An object stub read as data (see [`objects::as_data`](super::objects::as_data)).
    #[inline(always)]
    fn object_as_data(self, prefer_args: bool) -> Self {
        match self.item {
            Item::Container(ContainerKind::Object(_), _) => De::new(
                self.tree,
                super::objects::as_data(*self.tree, self.item, prefer_args),
            ),
            _ => self,
        }
    }
}

impl<'de> Deserializer<'de> for De<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let this = self.object_as_data(false);
        this.any(visitor)
    }

    deserialize_integer! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::BigInt(b) if b.to_i128().is_none() => {
                // Above i128::MAX: read the 16 low bytes if the value is a positive u128.
                let le = b
                    .as_le_bytes()
                    .ok_or_else(|| Error::IntegerOutOfRange { target: "u128" })?;
                let fits = le.len() <= 16 || (le.len() == 17 && le[16] == 0);
                if !fits || le.last().is_some_and(|&top| top & 0x80 != 0) {
                    return Err(Error::IntegerOutOfRange { target: "u128" });
                }
                let mut bytes = [0u8; 16];
                for (dst, src) in bytes.iter_mut().zip(le) {
                    *dst = *src;
                }
                visitor.visit_u128(u128::from_le_bytes(bytes))
            }
            _ => {
                let wide = self.integer("u128")?;
                let narrow = u128::try_from(wide)
                    .map_err(|_| Error::IntegerOutOfRange { target: "u128" })?;
                visitor.visit_u128(narrow)
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::Bool(b) => visitor.visit_bool(b),
            _ => Err(self.mismatch("bool")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::Float(f) => visitor.visit_f64(f),
            // Python code passes ints where floats are expected; so do we.
            Item::Int(i) => visitor.visit_f64(i as f64),
            _ => Err(self.mismatch("float")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::Str(s) => {
                let mut points = s.code_points();
                match (points.next().and_then(char::from_u32), points.next()) {
                    (Some(c), None) => visitor.visit_char(c),
                    _ => Err(self.mismatch("a str of one character")),
                }
            }
            _ => Err(self.mismatch("a str of one character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::Str(s) => self.visit_text(s, visitor),
            _ => Err(self.mismatch("str")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let bytes = match self.item {
            Item::Bytes(b) | Item::ByteArray(b) => b,
            _ => return Err(self.mismatch("bytes")),
        };
        if let Some(raw) = bytes.as_slice() {
            return visitor.visit_borrowed_bytes(raw);
        }
        let mut buf = [0u8; MAX_ESCAPED_LEN];
        let raw = bytes.copy_to(&mut buf).ok_or_else(|| Error::Unsupported {
            what: "escaped (protocol 0-2) bytes longer than MAX_ESCAPED_LEN",
        })?;
        visitor.visit_bytes(raw)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::None => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            Item::None => visitor.visit_unit(),
            _ => Err(self.mismatch("None")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let this = self.object_as_data(true);
        match this.item {
            Item::Container(kind, _) if kind != ContainerKind::Dict => this.any(visitor),
            _ => Err(this.mismatch("a list, tuple or set")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let this = self.object_as_data(false);
        match this.item {
            Item::Container(ContainerKind::Dict, _) => this.any(visitor),
            _ => Err(this.mismatch("dict")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let this = self.object_as_data(false);
        match this.item {
            Item::Container(ContainerKind::Dict, _) => this.any(visitor),
            // A struct may also come as a tuple of its fields in order.
            Item::Container(ContainerKind::List | ContainerKind::Tuple, _) => this.any(visitor),
            _ => Err(this.mismatch("dict")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.item {
            Item::Str(_) => visitor.visit_enum(Variant {
                tag: self,
                value: None,
            }),
            Item::Container(ContainerKind::Dict, chain) if chain.len == 2 => {
                let mut items = self.items(chain);
                let (Some(tag), Some(value)) = (items.next_item(), items.next_item()) else {
                    return Err(self.mismatch("an enum: a str or a dict of one entry"));
                };
                visitor.visit_enum(Variant {
                    tag: De::new(self.tree, self.tree.item_of(tag.node)),
                    value: Some(De::new(self.tree, self.tree.item_of(value.node))),
                })
            }
            _ => Err(self.mismatch("an enum: a str or a dict of one entry")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item {
            // Field and variant names: derived identifier visitors match bytes, which spares
            // a UTF-8 check per key.
            Item::Str(s) if s.enc == TextEncoding::Utf8 => visitor.visit_borrowed_bytes(s.raw),
            Item::Str(s) => self.visit_text(s, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The items of a container: a list, tuple, set or frozenset as a sequence, or a dict as a
/// map (keys and values alternate in the item chain).
pub(super) struct Items<'de, 'n> {
    tree: &'n Tree<'de, 'n>,
    children: Children<'n>,
}

impl<'de, 'n> Items<'de, 'n> {
    /// The items of the chain `chain` of `tree`.
    #[inline(always)]
    pub(super) fn new(tree: &'n Tree<'de, 'n>, chain: Chain) -> Self {
        Items {
            tree,
            children: tree.children(chain),
        }
    }

    /// A deserializer for the next item, if any.
    #[inline(always)]
    fn next_item(&mut self) -> Option<NodeDe<'de, 'n>> {
        let id = self.children.next()?;
        Some(NodeDe::new(self.tree, id))
    }

    /// [`next_item`](Self::next_item) for `T` to read: a container that appears inside
    /// itself (Python's `[...]`) is refused when read, as no Rust value holds it (see
    /// [`NodeDe`]).
    #[inline(always)]
    fn next_de(&mut self) -> Result<Option<NodeDe<'de, 'n>>, Error> {
        Ok(self.next_item())
    }

    /// How many items are left.
    fn left(&self) -> usize {
        self.children.size_hint().1.unwrap_or(0)
    }
}

impl<'de> SeqAccess<'de> for Items<'de, '_> {
    type Error = Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.next_de()?.map(|de| seed.deserialize(de)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left())
    }
}

impl<'de> MapAccess<'de> for Items<'de, '_> {
    type Error = Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        self.next_de()?.map(|de| seed.deserialize(de)).transpose()
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let de = self
            .next_de()?
            .ok_or_else(|| Error::message("dict entry without a value"))?;
        seed.deserialize(de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left() / 2)
    }
}

/// The error for a container inside itself.
#[cold]
pub(super) fn cycle() -> Error {
    Error::message("a container contains itself (Python prints [...] there)")
}

/// An enum: a variant name, and for non-unit variants `{name: value}`'s value.
struct Variant<'de, 'n> {
    tag: De<'de, 'n>,
    value: Option<De<'de, 'n>>,
}

impl<'de, 'n> EnumAccess<'de> for Variant<'de, 'n> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self), Error> {
        let tag = seed.deserialize(self.tag)?;
        Ok((tag, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            None => Ok(()),
            Some(v) => de::Deserialize::deserialize(v),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.value {
            Some(v) => seed.deserialize(v),
            None => Err(Error::TypeMismatch {
                expected: "a dict {variant: value}",
                found: "str",
            }),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Some(v) => v.deserialize_seq(visitor),
            None => Err(Error::TypeMismatch {
                expected: "a dict {variant: (values...)}",
                found: "str",
            }),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Some(v) => v.deserialize_map(visitor),
            None => Err(Error::TypeMismatch {
                expected: "a dict {variant: {fields...}}",
                found: "str",
            }),
        }
    }
}

impl<'de> IntoDeserializer<'de, Error> for De<'de, '_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
#[path = "de_tests.rs"]
pub(super) mod tests;
