//! Objects: Python's standard value types decoded as data, and objects of other classes
//! described as inert stubs. Nothing is imported, called or looked up: a global is a name
//! compared with the short list below, and what the pickle does with it (REDUCE, NEWOBJ,
//! BUILD, ...) is recorded, or checked against the exact shapes CPython 3.8-3.13 write.
//!
//! An object is a container node ([`ContainerKind::Object`](crate::pickle::decode::arena::ContainerKind::Object)) whose items are its
//! [`Slot`]s: the class (a [`Node::Global`](crate::pickle::decode::arena::Node::Global)), the arguments, the keyword arguments, the
//! state, the list items and the dict items. A slot that holds the class node again is
//! empty. The machine calls in here at GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, NEWOBJ_EX,
//! OBJ, INST and BUILD, and for items added to an object (`build`); shapes are checked in
//! `shape`; [`Object`] is the public view, printed by `repr`.

#[cfg(feature = "objects")]
pub(crate) mod equality;
#[cfg(feature = "repr")]
mod repr;
pub(crate) mod shape;
mod standard;
mod view;

pub use standard::{Date, Standard, Time, TimeDelta, TimeZone};
pub(crate) use view::as_data;
pub use view::{Class, Object};

/// The items of an object node, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// The [`Node::Global`](super::decode::arena::Node::Global) naming the class.
    Class = 0,
    /// The positional arguments (a tuple).
    Args = 1,
    /// The keyword arguments (a dict: NEWOBJ_EX).
    Kwargs = 2,
    /// The state BUILD set (a dict, a `(dict, slots)` pair, or anything).
    State = 3,
    /// Items appended (APPEND, APPENDS): a list.
    List = 4,
    /// Items set (SETITEM, SETITEMS): a dict.
    Dict = 5,
}

/// How many slots an object has.
#[cfg(feature = "objects")]
pub(crate) const SLOTS: usize = 6;

/// What a global names, as far as brine knows it. Python 2's names are mapped as CPython's
/// unpickler maps them below protocol 3 (`__builtin__`, `copy_reg`, `xrange`).
#[cfg(feature = "objects")]
pub(crate) fn lookup(module: &[u8], name: &[u8], proto: u8) -> Option<Class> {
    let py2 = proto < 3;
    let builtins = module == b"builtins" || (py2 && module == b"__builtin__");
    Some(match (module, name) {
        (b"datetime", b"datetime") => Class::DateTime,
        (b"datetime", b"date") => Class::Date,
        (b"datetime", b"time") => Class::Time,
        (b"datetime", b"timedelta") => Class::TimeDelta,
        (b"datetime", b"timezone") => Class::TimeZone,
        (b"decimal", b"Decimal") => Class::Decimal,
        (b"fractions", b"Fraction") => Class::Fraction,
        (b"uuid", b"UUID") => Class::Uuid,
        (b"collections", b"OrderedDict") => Class::OrderedDict,
        (b"collections", b"Counter") => Class::Counter,
        (b"collections", b"deque") => Class::Deque,
        (b"collections", b"defaultdict") => Class::DefaultDict,
        (b"copyreg", b"_reconstructor") => Class::Reconstructor,
        (b"copy_reg", b"_reconstructor") if py2 => Class::Reconstructor,
        (_, b"complex") if builtins => Class::Complex,
        (_, b"range") if builtins => Class::Range,
        (_, b"xrange") if py2 && builtins => Class::Range,
        (_, b"slice") if builtins => Class::Slice,
        (_, b"object") if builtins => Class::Object,
        (_, b"list") if builtins => Class::List,
        (_, b"dict") if builtins => Class::Dict,
        (_, b"int") if builtins => Class::Int,
        (_, b"long") if py2 && builtins => Class::Int,
        (_, b"str") if builtins => Class::Str,
        (_, b"unicode") if py2 && builtins => Class::Str,
        (_, b"float") if builtins => Class::Float,
        (_, b"bool") if builtins => Class::Bool,
        (_, b"tuple") if builtins => Class::Tuple,
        _ => return None,
    })
}

/// Whether `module.name` may be shown as a stub's name: dotted identifiers (letters, digits,
/// `_`, one `.` between parts), so no control character, space or bracket from the peer
/// reaches a terminal or blurs where a stub's text ends.
#[cfg(any(feature = "objects", feature = "repr"))]
pub(crate) fn is_dotted_name(name: &[u8]) -> bool {
    let Ok(text) = core::str::from_utf8(name) else {
        return false;
    };
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

#[cfg(all(test, feature = "repr", feature = "objects"))]
mod tests;
