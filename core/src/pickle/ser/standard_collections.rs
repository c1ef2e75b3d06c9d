//! `collections.OrderedDict`, `Counter`, `deque` and `defaultdict` written as `pickle.dumps`
//! writes them (protocols 2–5, feature `alloc`), holding any serde values.
//!
//! Each wrapper is a newtype struct with a private name around its items (and, for a deque
//! and a defaultdict, a `(maxlen or factory, items)` pair); the encoder recognizes the name
//! and writes the class and CPython's `__reduce__` of the value:
//!
//! | type | CPython's reduce | items |
//! | --- | --- | --- |
//! | `OrderedDict` | `(OrderedDict, ())`, then the items | SETITEMS from an iterator |
//! | `Counter` | `(Counter, (dict(self),))` | the dict's, as any dict |
//! | `deque` | `(deque, ())` or `(deque, ((), maxlen))`, then the items | APPENDS from an iterator |
//! | `defaultdict` | `(defaultdict, ())` or `(defaultdict, (factory,))`, then the items | SETITEMS from an iterator |
//!
//! Items from an iterator go in batches of 1000 as a dict's or list's do, except that a
//! batch of one item is written without MARK (`batch_setitems`/`batch_appends`), and no
//! empty batch follows 1000·k items. The class is memoized once per pickle, the
//! `collections` and `builtins` module names once each (protocol 4+: STACK_GLOBAL of two
//! strs), never shared with an equal str value.

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeSeq, SerializeTuple};

use super::compound::Compound;
use super::text::Utf8;
use super::{Error, Opcode, Serializer};

const ORDERED_DICT: &str = "$brine::pickle::PyOrderedDict";
const COUNTER: &str = "$brine::pickle::PyCounter";
const DEQUE: &str = "$brine::pickle::PyDeque";
const DEFAULT_DICT: &str = "$brine::pickle::PyDefaultDict";

/// A `collections.OrderedDict` of the entries of a serde map (in the map's order), for the
/// encoder. Other serializers see a newtype struct holding the map.
///
/// ```
/// use brine_core::pickle::{to_vec, Protocol, PyOrderedDict};
///
/// // pickle.dumps(collections.OrderedDict([('a', 1)]), 2)
/// let od = PyOrderedDict([("a", 1)].into_iter().collect::<std::collections::BTreeMap<_, _>>());
/// let bytes = to_vec(&od, Protocol::V2).unwrap();
/// assert_eq!(bytes, b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00aq\x02K\x01s.");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyOrderedDict<M>(pub M);

/// A `collections.Counter` of the entries of a serde map (any values, as Python's
/// `Counter(dict)` takes), for the encoder. Other serializers see a newtype struct holding the
/// map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyCounter<M>(pub M);

/// A `collections.deque` of the elements of a serde sequence, with its `maxlen`, for the
/// encoder, which refuses more items than `maxlen` (Python would drop the first ones). Other
/// serializers see a newtype struct holding `(maxlen, items)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyDeque<S> {
    /// The items, first to last.
    pub items: S,
    /// `deque(items, maxlen)`; `None` for an unbounded deque.
    pub maxlen: Option<u64>,
}

/// A `collections.defaultdict` of the entries of a serde map, for the encoder. Other
/// serializers see a newtype struct holding `(factory name or None, items)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyDefaultDict<M> {
    /// Its `default_factory`.
    pub factory: DefaultFactory,
    /// The entries, in order.
    pub items: M,
}

/// A `defaultdict`'s `default_factory`: `None` or one of the builtin types brine's decoder
/// shows as a factory (it never calls one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultFactory {
    /// `defaultdict(None, …)`.
    None,
    /// `list`.
    List,
    /// `dict`.
    Dict,
    /// `int`.
    Int,
    /// `str`.
    Str,
    /// `float`.
    Float,
    /// `bool`.
    Bool,
    /// `tuple`.
    Tuple,
}

impl DefaultFactory {
    /// Every factory but `None`, in the order of the serializer's table.
    const TYPES: [DefaultFactory; 7] = [
        DefaultFactory::List,
        DefaultFactory::Dict,
        DefaultFactory::Int,
        DefaultFactory::Str,
        DefaultFactory::Float,
        DefaultFactory::Bool,
        DefaultFactory::Tuple,
    ];

    /// The type's name in Python 3 (`"list"`), `None` for `DefaultFactory::None`.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            DefaultFactory::None => return None,
            DefaultFactory::List => "list",
            DefaultFactory::Dict => "dict",
            DefaultFactory::Int => "int",
            DefaultFactory::Str => "str",
            DefaultFactory::Float => "float",
            DefaultFactory::Bool => "bool",
            DefaultFactory::Tuple => "tuple",
        })
    }

    /// The factory named `name` (a [`DefaultFactory::name`]); `None` for another name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::TYPES.into_iter().find(|f| f.name() == Some(name))
    }

    /// The name protocols 0–2 write (`_compat_pickle`'s mapping: `__builtin__.long` for
    /// `int`, `__builtin__.unicode` for `str`).
    fn py2_name(self) -> &'static str {
        match self {
            DefaultFactory::Int => "long",
            DefaultFactory::Str => "unicode",
            other => other.name().unwrap_or("None"),
        }
    }
}

impl<M: Serialize> Serialize for PyOrderedDict<M> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(ORDERED_DICT, &self.0)
    }
}

impl<M: Serialize> Serialize for PyCounter<M> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(COUNTER, &self.0)
    }
}

impl<S: Serialize> Serialize for PyDeque<S> {
    fn serialize<T: ser::Serializer>(&self, s: T) -> Result<T::Ok, T::Error> {
        s.serialize_newtype_struct(DEQUE, &(self.maxlen, &self.items))
    }
}

impl<M: Serialize> Serialize for PyDefaultDict<M> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(DEFAULT_DICT, &(self.factory.name(), &self.items))
    }
}

/// Which collection a newtype name marks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    OrderedDict,
    Counter,
    Deque,
    DefaultDict,
}

impl Kind {
    /// The collection `name` marks, if any.
    #[inline]
    pub(super) fn of(name: &str) -> Option<Kind> {
        match name {
            ORDERED_DICT => Some(Kind::OrderedDict),
            COUNTER => Some(Kind::Counter),
            DEQUE => Some(Kind::Deque),
            DEFAULT_DICT => Some(Kind::DefaultDict),
            _ => None,
        }
    }

    fn class_name(self) -> &'static str {
        match self {
            Kind::OrderedDict => "OrderedDict",
            Kind::Counter => "Counter",
            Kind::Deque => "deque",
            Kind::DefaultDict => "defaultdict",
        }
    }

    fn wrapper(self) -> &'static str {
        match self {
            Kind::OrderedDict => "PyOrderedDict",
            Kind::Counter => "PyCounter",
            Kind::Deque => "PyDeque",
            Kind::DefaultDict => "PyDefaultDict",
        }
    }

    /// The error for a wrapper whose parts are not what it holds.
    fn bad(self) -> Error {
        Error::message(format_args!(
            "a {} holds other than its items{}",
            self.wrapper(),
            match self {
                Kind::OrderedDict | Kind::Counter => " (a map)",
                Kind::Deque => " (maxlen, then a sequence)",
                Kind::DefaultDict => " (its factory's name, then a map)",
            }
        ))
    }
}

/// A deque's `maxlen` or a defaultdict's factory: what comes before the items.
#[derive(Clone, Copy)]
enum Head {
    Maxlen(Option<u64>),
    DefaultFactory(DefaultFactory),
}

/// Memo indexes of the collections' classes, the factories and the `collections` module
/// name (`builtins` is the standard types' table's).
#[derive(Clone, Copy, Default)]
pub(super) struct Classes {
    class: [Option<u32>; 4],
    factory: [Option<u32>; 7],
    collections: Option<u32>,
}

impl<'b, const MEMO: usize> Serializer<'b, MEMO> {
    /// Writes a global as CPython's `save_global` does: GLOBAL `module\nname\n` before
    /// protocol 4 (with `py2` names in protocols 0–2), else STACK_GLOBAL of the module
    /// name (memoized once, in `module`) and `name`; memoized. A reference to it once written
    /// (`class`).
    fn save_memo_global(
        &mut self,
        names: (&str, &str),
        py2: (&str, &str),
        class: Option<u32>,
        module: &mut Option<u32>,
    ) -> Result<u32, Error> {
        self.begin_save()?;
        if let Some(index) = class {
            self.memo_get(index)?;
            return Ok(index);
        }
        if self.proto < 4 {
            let (m, n) = if self.proto < 3 { py2 } else { names };
            self.write(b"c")?;
            self.write(m.as_bytes())?;
            self.write(b"\n")?;
            self.write(n.as_bytes())?;
            self.write(b"\n")?;
        } else {
            match *module {
                Some(index) => {
                    self.begin_save()?;
                    self.memo_get(index)?;
                }
                None => {
                    self.save_text(&Utf8(names.0), false)?;
                    *module = Some(self.next_memo.wrapping_sub(1));
                }
            }
            self.save_text(&Utf8(names.1), false)?;
            self.write(&[Opcode::STACK_GLOBAL.byte()])?;
        }
        self.memo_put()
    }

    /// The collection's class, `collections.<name>`.
    fn save_collection_class(&mut self, kind: Kind) -> Result<(), Error> {
        let slot = kind as usize;
        let table = &mut self.classes.table().collections;
        let class = table.class.get(slot).copied().flatten();
        let mut module = table.collections;
        let names = ("collections", kind.class_name());
        let index = self.save_memo_global(names, names, class, &mut module)?;
        let table = &mut self.classes.table().collections;
        table.collections = module;
        if let Some(s) = table.class.get_mut(slot) {
            *s = Some(index);
        }
        Ok(())
    }

    /// A defaultdict's factory, `builtins.<name>` (`__builtin__.<name>` in protocol 2).
    fn save_factory(&mut self, factory: DefaultFactory) -> Result<(), Error> {
        let slot = DefaultFactory::TYPES.iter().position(|&f| f == factory);
        let slot = slot.ok_or_else(|| Kind::DefaultDict.bad())?;
        let table = self.classes.table();
        let class = table.collections.factory.get(slot).copied().flatten();
        let mut module = *table.builtins();
        let name = factory.name().unwrap_or_default();
        let names = ("builtins", name);
        let py2 = ("__builtin__", factory.py2_name());
        let index = self.save_memo_global(names, py2, class, &mut module)?;
        let table = self.classes.table();
        *table.builtins() = module;
        if let Some(s) = table.collections.factory.get_mut(slot) {
            *s = Some(index);
        }
        Ok(())
    }

    /// Everything before the items: the class, its arguments, REDUCE (for a Counter, up to
    /// its dict's EMPTY_DICT).
    fn save_collection_head(&mut self, kind: Kind, head: Option<Head>) -> Result<(), Error> {
        if self.proto < 2 || self.py2() {
            return Err(Error::Unsupported {
                what: "OrderedDict, Counter, deque or defaultdict in protocol 0 or 1 or as \
                       Python 2's types (brine writes them in protocols 2-5)",
            });
        }
        self.refuse_in_key(
            "an OrderedDict, Counter, deque or defaultdict as a dict key (they are unhashable)",
        )?;
        self.save_collection_class(kind)?;
        let empty_tuple = Opcode::EMPTY_TUPLE.byte();
        match (kind, head) {
            (Kind::Counter, None) => return self.begin_dict(),
            (Kind::OrderedDict, None)
            | (Kind::Deque, Some(Head::Maxlen(None)))
            | (Kind::DefaultDict, Some(Head::DefaultFactory(DefaultFactory::None))) => {
                self.begin_save()?;
                self.write(&[empty_tuple])?;
            }
            (Kind::Deque, Some(Head::Maxlen(Some(maxlen)))) => {
                self.begin_save()?;
                self.begin_save()?;
                self.write(&[empty_tuple])?;
                self.save_u64(maxlen)?;
                self.write(&[Opcode::TUPLE2.byte()])?;
                self.memo_put()?;
            }
            (Kind::DefaultDict, Some(Head::DefaultFactory(factory))) => {
                self.begin_save()?;
                self.save_factory(factory)?;
                self.write(&[Opcode::TUPLE1.byte()])?;
                self.memo_put()?;
            }
            _ => return Err(kind.bad()),
        }
        self.write(&[Opcode::REDUCE.byte()])?;
        self.memo_put().map(|_| ())
    }
}

/// Starts a collection from its wrapper's parts: the items (a map or a sequence), or for a
/// deque and a defaultdict first a `(head, items)` pair.
pub(super) struct Start<'s, 'b, const MEMO: usize> {
    pub(super) ser: &'s mut Serializer<'b, MEMO>,
    pub(super) kind: Kind,
    head: Option<Head>,
}

impl<'s, 'b, const MEMO: usize> Start<'s, 'b, MEMO> {
    pub(super) fn new(ser: &'s mut Serializer<'b, MEMO>, kind: Kind) -> Self {
        Start {
            ser,
            kind,
            head: None,
        }
    }

    fn items(self, dict: bool, len: Option<usize>) -> Result<Items<'s, 'b, MEMO>, Error> {
        let (kind, head) = (self.kind, self.head);
        let takes_head = matches!(kind, Kind::Deque | Kind::DefaultDict);
        if dict != (kind != Kind::Deque) || takes_head != head.is_some() {
            return Err(kind.bad());
        }
        let maxlen = match head {
            Some(Head::Maxlen(Some(maxlen))) => Some(maxlen),
            _ => None,
        };
        if let (Some(maxlen), Some(len)) = (maxlen, len) {
            if len as u64 > maxlen {
                return Err(over_maxlen());
            }
        }
        self.ser.save_collection_head(kind, head)?;
        let mut items = self.ser.items(dict, len, false)?;
        items.lone_last = kind != Kind::Counter;
        Ok(Items {
            items,
            kind,
            maxlen,
        })
    }
}

fn over_maxlen() -> Error {
    Error::Unsupported {
        what: "a deque with more items than its maxlen (Python keeps only the last maxlen)",
    }
}

/// A collection's items, then what follows them (a Counter's TUPLE1 and REDUCE).
pub(super) struct Items<'s, 'b, const MEMO: usize> {
    items: Compound<'s, 'b, MEMO>,
    kind: Kind,
    maxlen: Option<u64>,
}

impl<const MEMO: usize> Items<'_, '_, MEMO> {
    fn end(self) -> Result<(), Error> {
        let Items {
            mut items, kind, ..
        } = self;
        items.end_general()?;
        let ser = items.ser;
        if kind == Kind::Counter {
            ser.write(&[Opcode::TUPLE1.byte()])?;
            ser.memo_put()?;
            ser.write(&[Opcode::REDUCE.byte()])?;
            ser.memo_put()?;
        }
        Ok(())
    }
}

impl<const MEMO: usize> SerializeMap for Items<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.items.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.serialize_value(value)
    }

    fn end(self) -> Result<(), Error> {
        Items::end(self)
    }
}

impl<const MEMO: usize> SerializeSeq for Items<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if self.maxlen.is_some_and(|m| self.items.count as u64 >= m) {
            return Err(over_maxlen());
        }
        self.items.element(value)
    }

    fn end(self) -> Result<(), Error> {
        Items::end(self)
    }
}

/// A deque's or defaultdict's `(head, items)` pair.
pub(super) struct Parts<'s, 'b, const MEMO: usize> {
    ser: &'s mut Serializer<'b, MEMO>,
    kind: Kind,
    head: Option<Head>,
    done: bool,
}

impl<const MEMO: usize> SerializeTuple for Parts<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match (self.head, self.done) {
            (None, _) => self.head = Some(value.serialize(HeadOf(self.kind))?),
            (Some(head), false) => {
                let start = Start {
                    ser: &mut *self.ser,
                    kind: self.kind,
                    head: Some(head),
                };
                value.serialize(start)?;
                self.done = true;
            }
            (Some(_), true) => return Err(self.kind.bad()),
        }
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        if self.done {
            Ok(())
        } else {
            Err(self.kind.bad())
        }
    }
}

/// Takes the head of a deque (`maxlen`: None or an int) or defaultdict (the factory's name
/// or None).
struct HeadOf(Kind);

impl HeadOf {
    fn refuse(&self) -> Error {
        self.0.bad()
    }

    fn maxlen(self, v: Option<u64>) -> Result<Head, Error> {
        match self.0 {
            Kind::Deque => Ok(Head::Maxlen(v)),
            _ => Err(self.refuse()),
        }
    }
}

impl ser::Serializer for HeadOf {
    type Ok = Head;
    type Error = Error;
    type SerializeSeq = Impossible<Head, Error>;
    type SerializeTuple = Impossible<Head, Error>;
    type SerializeTupleStruct = Impossible<Head, Error>;
    type SerializeTupleVariant = Impossible<Head, Error>;
    type SerializeMap = Impossible<Head, Error>;
    type SerializeStruct = Impossible<Head, Error>;
    type SerializeStructVariant = Impossible<Head, Error>;

    fn serialize_none(self) -> Result<Head, Error> {
        match self.0 {
            Kind::DefaultDict => Ok(Head::DefaultFactory(DefaultFactory::None)),
            _ => self.maxlen(None),
        }
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Head, Error> {
        value.serialize(self)
    }

    fn serialize_u64(self, v: u64) -> Result<Head, Error> {
        self.maxlen(Some(v))
    }

    fn serialize_u32(self, v: u32) -> Result<Head, Error> {
        self.maxlen(Some(v.into()))
    }

    fn serialize_i64(self, v: i64) -> Result<Head, Error> {
        match u64::try_from(v) {
            Ok(v) => self.maxlen(Some(v)),
            Err(_) => Err(self.refuse()),
        }
    }

    fn serialize_str(self, v: &str) -> Result<Head, Error> {
        match (self.0, DefaultFactory::from_name(v)) {
            (Kind::DefaultDict, Some(factory)) => Ok(Head::DefaultFactory(factory)),
            _ => Err(self.refuse()),
        }
    }

    refuse! {
        Head;
        serialize_bool serialize_i8 serialize_i16 serialize_i32 serialize_u8 serialize_u16
        serialize_f32 serialize_f64 serialize_char serialize_bytes serialize_unit
        serialize_unit_struct serialize_unit_variant serialize_seq serialize_tuple
        serialize_tuple_struct serialize_tuple_variant serialize_map serialize_struct
        serialize_struct_variant serialize_newtype_struct serialize_newtype_variant collect_str
    }
}

impl<const MEMO: usize> Start<'_, '_, MEMO> {
    fn refuse(&self) -> Error {
        self.kind.bad()
    }
}

impl<'s, 'b, const MEMO: usize> ser::Serializer for Start<'s, 'b, MEMO> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Items<'s, 'b, MEMO>;
    type SerializeTuple = Parts<'s, 'b, MEMO>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Items<'s, 'b, MEMO>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        self.items(false, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        self.items(true, len)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        let takes_head = matches!(self.kind, Kind::Deque | Kind::DefaultDict);
        if len != 2 || !takes_head || self.head.is_some() {
            return Err(self.refuse());
        }
        Ok(Parts {
            ser: self.ser,
            kind: self.kind,
            head: None,
            done: false,
        })
    }

    refuse! {
        ();
        serialize_bool serialize_i8 serialize_i16 serialize_i32 serialize_i64 serialize_u8
        serialize_u16 serialize_u32 serialize_u64 serialize_f32 serialize_f64 serialize_char
        serialize_str serialize_bytes serialize_none serialize_unit serialize_unit_struct
        serialize_unit_variant serialize_tuple_struct serialize_tuple_variant serialize_struct
        serialize_struct_variant serialize_some serialize_newtype_struct
        serialize_newtype_variant collect_str
    }
}

#[cfg(all(test, feature = "repr"))]
#[path = "standard_collections_tests.rs"]
mod tests;
