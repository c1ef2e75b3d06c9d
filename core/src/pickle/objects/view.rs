//! [`Object`]: the public view of an object node or a bare global, and [`Class`].

use core::fmt;

use super::super::decode::arena::{ContainerKind, GlobalRef, Made, Node, NodeId};
use super::super::value::{Chain, Dict, Item, Seq, Tree, Value};
use super::Slot;

/// What brine knows of an object's class. Standard types are data (they print as CPython's
/// repr); [`Class::Unknown`] is a class brine does not know: the object is an inert stub.
/// The helpers after `Slice` appear only as arguments (`copyreg._reconstructor`'s base,
/// a `defaultdict`'s factory) or as bare references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Class {
    /// A class brine does not know (an inert stub).
    Unknown,
    /// `datetime.datetime`.
    DateTime,
    /// `datetime.date`.
    Date,
    /// `datetime.time`.
    Time,
    /// `datetime.timedelta`.
    TimeDelta,
    /// `datetime.timezone` (`timezone.utc` too).
    TimeZone,
    /// `decimal.Decimal`.
    Decimal,
    /// `complex`.
    Complex,
    /// `fractions.Fraction`.
    Fraction,
    /// `uuid.UUID`.
    Uuid,
    /// `collections.OrderedDict`.
    OrderedDict,
    /// `collections.Counter`.
    Counter,
    /// `collections.deque`.
    Deque,
    /// `collections.defaultdict`.
    DefaultDict,
    /// `range`.
    Range,
    /// `slice`.
    Slice,
    /// `copyreg._reconstructor` (never a value's class).
    Reconstructor,
    /// `object`.
    Object,
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

impl Class {
    /// The module and name CPython 3 gives the class; `None` for [`Class::Unknown`].
    pub fn dotted(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Class::Unknown => return None,
            Class::DateTime => ("datetime", "datetime"),
            Class::Date => ("datetime", "date"),
            Class::Time => ("datetime", "time"),
            Class::TimeDelta => ("datetime", "timedelta"),
            Class::TimeZone => ("datetime", "timezone"),
            Class::Decimal => ("decimal", "Decimal"),
            Class::Complex => ("builtins", "complex"),
            Class::Fraction => ("fractions", "Fraction"),
            Class::Uuid => ("uuid", "UUID"),
            Class::OrderedDict => ("collections", "OrderedDict"),
            Class::Counter => ("collections", "Counter"),
            Class::Deque => ("collections", "deque"),
            Class::DefaultDict => ("collections", "defaultdict"),
            Class::Range => ("builtins", "range"),
            Class::Slice => ("builtins", "slice"),
            Class::Reconstructor => ("copyreg", "_reconstructor"),
            Class::Object => ("builtins", "object"),
            Class::List => ("builtins", "list"),
            Class::Dict => ("builtins", "dict"),
            Class::Int => ("builtins", "int"),
            Class::Str => ("builtins", "str"),
            Class::Float => ("builtins", "float"),
            Class::Bool => ("builtins", "bool"),
            Class::Tuple => ("builtins", "tuple"),
        })
    }
}

/// An object the pickle built from a global, or a bare global it refers to. Standard types
/// ([`class`](Self::class) other than [`Class::Unknown`]) are data and print as CPython's
/// repr (`Decimal('1.5')`); an object of any other class is an inert stub: what the pickle
/// said to build, never built — its dotted name, arguments and state, printed so no reader
/// takes it for data (`<menu.Menu object {'client': None}>`, `<posix.system('echo hi')>`).
/// A decoder makes stubs only when allowed ([`Decoder::allow_stubs`](crate::pickle::Decoder::allow_stubs)).
#[derive(Clone, Copy)]
pub struct Object<'a> {
    pub(crate) tree: Tree<'a, 'a>,
    pub(crate) id: NodeId,
}

impl<'a> Object<'a> {
    /// The global behind the object.
    fn global(&self) -> GlobalRef {
        let id = match self.tree.node(self.id) {
            Node::Container(c) => self.tree.children(chain(c.first, c.len)).next(),
            _ => Some(self.id),
        };
        match id.map(|id| self.tree.node(id)) {
            Some(Node::Global(g)) => g,
            // Never produced by the decoder.
            _ => GlobalRef::NONE,
        }
    }

    /// True where an object appears inside itself (its state holds it: `m.me = m`): the
    /// walk at STOP ends there, as Python's repr of a container does; it prints `<...>` and
    /// has no class, arguments or state of its own (the object it stands for is the one
    /// being walked above it).
    pub fn is_cycle(&self) -> bool {
        matches!(self.tree.node(self.id), Node::Container(c) if c.len == 0 && c.first == super::super::decode::arena::CYCLE)
    }

    /// What brine knows of the class.
    pub fn class(&self) -> Class {
        self.global().class
    }

    /// True if this is an inert stub (a class brine does not know, or a bare reference to a
    /// global): a description, not data.
    pub fn is_stub(&self) -> bool {
        self.is_reference() || self.class() == Class::Unknown
    }

    /// True if this is a bare global (a class or function the pickle refers to without
    /// building anything: `<menu.Menu>`).
    pub fn is_reference(&self) -> bool {
        matches!(self.tree.node(self.id), Node::Global(_))
    }

    /// True if the pickle called the global (REDUCE, INST, OBJ); false if it made the
    /// object with its class's `__new__` (NEWOBJ, NEWOBJ_EX, `copyreg._reconstructor`) or
    /// this is a bare reference.
    pub fn is_call(&self) -> bool {
        matches!(self.tree.node(self.id), Node::Container(c) if c.kind == ContainerKind::Object(Made::Call))
    }

    /// The module, as the pickle names it (Python 3's name for a standard type).
    pub fn module(&self) -> &'a str {
        let g = self.global();
        match g.class.dotted() {
            Some((module, _)) => module,
            None => text(self.tree.span(g.module_start, g.module_len.into())),
        }
    }

    /// The name in the module (a dotted qualified name for a nested class).
    pub fn name(&self) -> &'a str {
        let g = self.global();
        match g.class.dotted() {
            Some((_, name)) => name,
            None => text(self.tree.span(g.name_start, g.name_len.into())),
        }
    }

    /// The item in `slot`, if the pickle set it.
    pub(crate) fn slot(&self, slot: Slot) -> Option<NodeId> {
        let Node::Container(c) = self.tree.node(self.id) else {
            return None;
        };
        let mut ids = self.tree.children(chain(c.first, c.len));
        let class = ids.next()?;
        let id = ids.nth(slot as usize - 1)?;
        (slot != Slot::Class && id != class).then_some(id)
    }

    fn seq(&self, slot: Slot) -> Option<Seq<'a>> {
        match self.tree.value(self.slot(slot)?) {
            Value::Tuple(s) | Value::List(s) => Some(s),
            _ => None,
        }
    }

    fn dict(&self, slot: Slot) -> Option<Dict<'a>> {
        self.tree.value(self.slot(slot)?).as_dict()
    }

    /// The positional arguments of the call or of `__new__` (`None` for a bare reference).
    pub fn args(&self) -> Option<Seq<'a>> {
        self.seq(Slot::Args)
    }

    /// The keyword arguments of `__new__` (NEWOBJ_EX), if any.
    pub fn kwargs(&self) -> Option<Dict<'a>> {
        self.dict(Slot::Kwargs)
    }

    /// The state BUILD gave (`__setstate__`'s argument: a dict, or a `(dict, slots)` pair).
    pub fn state(&self) -> Option<Value<'a>> {
        self.slot(Slot::State).map(|id| self.tree.value(id))
    }

    /// The attributes: the state's dict (of a `(dict, slots)` pair, the dict and then the
    /// slots dict's entries are both given by [`state`](Self::state)).
    pub fn fields(&self) -> Option<Dict<'a>> {
        match self.state()? {
            Value::Dict(d) => Some(d),
            Value::Tuple(pair) if pair.len() == 2 => pair.get(0)?.as_dict(),
            _ => None,
        }
    }

    /// Items appended to the object (APPEND, APPENDS: `append`/`extend` in Python).
    pub fn list_items(&self) -> Option<Seq<'a>> {
        self.seq(Slot::List)
    }

    /// Items set on the object (SETITEM, SETITEMS: `__setitem__` in Python).
    pub fn dict_items(&self) -> Option<Dict<'a>> {
        self.dict(Slot::Dict)
    }

    /// The node as a generic item (for the serde path).
    pub(crate) fn item(&self) -> Item<'a> {
        self.tree.item(self.id)
    }
}

fn chain(first: super::super::decode::arena::Id, len: super::super::decode::arena::Id) -> Chain {
    Chain { first, len }
}

/// A span the decoder checked is a dotted name (UTF-8); empty otherwise.
fn text(raw: &[u8]) -> &str {
    core::str::from_utf8(raw).unwrap_or("")
}

impl fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Object");
        s.field("module", &self.module())
            .field("name", &self.name());
        if let Some(args) = self.args() {
            s.field("args", &args);
        }
        if let Some(kwargs) = self.kwargs() {
            s.field("kwargs", &kwargs);
        }
        if let Some(state) = self.state() {
            s.field("state", &state);
        }
        if let Some(items) = self.list_items() {
            s.field("list_items", &items);
        }
        if let Some(items) = self.dict_items() {
            s.field("dict_items", &items);
        }
        s.finish()
    }
}

impl Value<'_> {
    /// True if the value is or holds an inert stub ([`Object::is_stub`]): a walk of the
    /// value, stopping at the first (its depth is bounded by [`MAX_DEPTH`](crate::pickle::MAX_DEPTH)).
    pub fn contains_stub(&self) -> bool {
        match self {
            Value::Object(o) if o.is_stub() => true,
            Value::Object(o) => {
                // A standard type's arguments may name a builtin type (a defaultdict's
                // factory): a reference brine knows, not a stub.
                let known = |v: &Value<'_>| matches!(v, Value::Object(r) if r.is_reference() && r.class() != Class::Unknown);
                let args = o.args().into_iter().flatten();
                if args.filter(|v| !known(v)).any(|v| v.contains_stub()) {
                    return true;
                }
                let seqs = [o.list_items()];
                let dicts = [o.kwargs(), o.dict_items()];
                seqs.iter()
                    .flatten()
                    .any(|s| s.iter().any(|v| v.contains_stub()))
                    || dicts.iter().flatten().any(|d| {
                        d.iter()
                            .any(|(k, v)| k.contains_stub() || v.contains_stub())
                    })
                    || o.state().is_some_and(|s| s.contains_stub())
            }
            Value::List(s) | Value::Tuple(s) | Value::Set(s) | Value::FrozenSet(s) => {
                s.iter().any(|v| v.contains_stub())
            }
            Value::Dict(d) => d
                .iter()
                .any(|(k, v)| k.contains_stub() || v.contains_stub()),
            _ => false,
        }
    }
}

/// An object stub read as data, for serde: its fields (its state's dict: a dataclass's, a
/// plain class's; of a `(dict, slots)` state, the dict, else the slots), or, when
/// `prefer_args` (a sequence or tuple struct is asked) or it has no dict state, its
/// arguments (a namedtuple's items). Any other item, a standard type included, as is.
pub(crate) fn as_data<'i>(tree: Tree<'i, '_>, item: Item<'i>, prefer_args: bool) -> Item<'i> {
    let Item::Container(ContainerKind::Object(_), chain) = item else {
        return item;
    };
    let mut slots = tree.children(chain);
    let Some(class) = slots.next() else {
        return item;
    };
    if !matches!(tree.node(class), Node::Global(g) if g.class == Class::Unknown) {
        return item;
    }
    let slot = |id: Option<NodeId>| id.filter(|&id| id != class);
    let (args, _kwargs, state) = (slot(slots.next()), slot(slots.next()), slot(slots.next()));
    let is_dict = |id: NodeId| matches!(tree.item(id), Item::Container(ContainerKind::Dict, _));
    let fields = state.and_then(|id| match tree.item(id) {
        Item::Container(ContainerKind::Dict, _) => Some(id),
        Item::Container(ContainerKind::Tuple, pair) if pair.len == 2 => {
            let mut two = tree.children(pair);
            let (first, second) = (two.next()?, two.next()?);
            [first, second].into_iter().find(|&id| is_dict(id))
        }
        _ => None,
    });
    let args_nonempty =
        args.filter(|&id| matches!(tree.item(id), Item::Container(_, c) if c.len > 0));
    let chosen = match args_nonempty {
        Some(a) if prefer_args || fields.is_none() => Some(a),
        _ => fields.or(args),
    };
    chosen.map_or(item, |id| tree.item(id))
}
