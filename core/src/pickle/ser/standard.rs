//! Python's standard value types written as `pickle.dumps` writes them (protocols 2–5, feature
//! `alloc`): [`PyStandard`], its classes and the types of this file: `decimal.Decimal`,
//! `uuid.UUID`, `datetime.date`. The time types (`datetime`, `time`, `timedelta`,
//! `timezone`) are in `standard_time.rs`; `complex`, `Fraction`, `range`, `slice` in
//! `standard_numbers.rs`.
//!
//! Each is its class (GLOBAL, or STACK_GLOBAL of its module and name in protocol 4+, the
//! class memoized once per pickle and its module name once per module, as CPython's memo of
//! the class and of the interned module name), then CPython's `__reduce__` of the value. The
//! parts CPython makes afresh for each value (a Decimal's text, a date's state bytes) are
//! written afresh, never shared with an equal str or bytes value elsewhere in the pickle.

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;

use serde::ser::{self, Serialize};

use super::text::{Latin1, Utf8};
use super::values::Global;
use super::{Error, Opcode, Serializer};
use crate::pickle::objects::shape::{valid_date, valid_time};

/// The newtype name that marks a [`PyStandard`].
pub(super) const PY_STANDARD: &str = "$brine::pickle::PyStandard";

/// A value of one of Python's standard types, for the encoder (which writes what
/// `pickle.dumps` writes for it in protocols 2–5; protocols 0 and 1 are refused). Other
/// serializers see a newtype struct holding its tagged bytes. Allocates its few bytes (a
/// time zone's name and a Decimal's text are its only parts of variable length).
///
/// ```
/// use brine_core::pickle::{to_vec, Protocol, PyStandard};
///
/// // pickle.dumps(decimal.Decimal('1.5'), 2)
/// let d = PyStandard::decimal("1.5").unwrap();
/// let bytes = to_vec(&d, Protocol::V2).unwrap();
/// assert_eq!(bytes, b"\x80\x02cdecimal\nDecimal\nq\x00X\x03\x00\x00\x001.5q\x01\x85q\x02Rq\x03.");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyStandard {
    /// A tag byte naming the type, then its fields (see each type's constructor).
    pub(super) payload: Vec<u8>,
}

/// The first byte of a payload: which type.
const DECIMAL: u8 = b'D';
const UUID: u8 = b'U';
const DATE: u8 = b'd';
pub(super) const DATETIME: u8 = b'T';
pub(super) const TIME: u8 = b'h';
pub(super) const TIMEDELTA: u8 = b't';
pub(super) const TIMEZONE: u8 = b'z';
pub(super) const COMPLEX: u8 = b'c';
pub(super) const FRACTION: u8 = b'f';
pub(super) const RANGE: u8 = b'r';
pub(super) const SLICE: u8 = b's';

impl PyStandard {
    pub(super) fn tagged(tag: u8, rest: &[u8]) -> Self {
        let mut payload = Vec::with_capacity(1 + rest.len());
        payload.push(tag);
        payload.extend_from_slice(rest);
        PyStandard { payload }
    }

    /// `decimal.Decimal(text)`, where `text` is written as Python's `str()` of that Decimal
    /// writes it in positional notation (`"1.5"`, `"-0.00"`, `"120"`; no exponent, no
    /// leading zeros, at most 6 zeros after the point before the first digit), or `"NaN"`, `"Infinity"`, `"-Infinity"`; `None` otherwise (then Python
    /// would write another text).
    pub fn decimal(text: &str) -> Option<Self> {
        if !matches!(text, "NaN" | "Infinity" | "-Infinity") && !canonical_decimal(text) {
            return None;
        }
        Some(Self::tagged(DECIMAL, text.as_bytes()))
    }

    /// `uuid.UUID(int=value)`.
    pub fn uuid(value: u128) -> Self {
        Self::tagged(UUID, &value.to_be_bytes())
    }

    /// `datetime.date(year, month, day)`; `None` if it is not a date Python accepts.
    pub fn date(year: u16, month: u8, day: u8) -> Option<Self> {
        valid_date(year, month, day).then_some(())?;
        let [hi, lo] = year.to_be_bytes();
        Some(Self::tagged(DATE, &[hi, lo, month, day]))
    }

    /// A naive `datetime.datetime(year, month, day, hour, minute, second, microsecond)`;
    /// `None` if Python would refuse it. [`with_timezone`](Self::with_timezone) and
    /// [`with_fold`](Self::with_fold) make it aware or the second of two equal wall times.
    #[allow(clippy::too_many_arguments)]
    pub fn datetime(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        microsecond: u32,
    ) -> Option<Self> {
        (valid_date(year, month, day) && valid_time(hour, minute, second, microsecond))
            .then_some(())?;
        let [hi, lo] = year.to_be_bytes();
        let [_, a, b, c] = microsecond.to_be_bytes();
        Some(Self::tagged(
            DATETIME,
            &[hi, lo, month, day, hour, minute, second, a, b, c],
        ))
    }
}

/// Whether `str(Decimal(text)) == text` for a positional decimal `-?digits(.digits)?`.
fn canonical_decimal(text: &str) -> bool {
    let magnitude = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = magnitude.split_once('.').unwrap_or((magnitude, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || magnitude.ends_with('.') {
        return false;
    }
    if int.len() > 1 && int.starts_with('0') {
        return false;
    }
    if int != "0" {
        return true;
    }
    // 0.000ddd: Python switches to an exponent below an adjusted exponent of -6.
    let zeros = frac.bytes().take_while(|&b| b == b'0').count();
    let adjusted = if zeros == frac.len() {
        frac.len()
    } else {
        zeros + 1
    };
    adjusted <= 6
}

impl Serialize for PyStandard {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(PY_STANDARD, &super::python::Raw(&self.payload))
    }
}

/// The classes, in the serializer's table of their memo indexes.
#[derive(Clone, Copy)]
pub(super) enum Class {
    Decimal,
    Uuid,
    Date,
    DateTime,
    Time,
    TimeDelta,
    TimeZone,
    Complex,
    Fraction,
    Range,
    Slice,
}

/// How many [`Class`]es and modules there are.
const CLASSES: usize = 11;
const MODULES: usize = 5;

impl Class {
    /// Module, name, and the module's slot in the table of module names (protocols 3-5).
    fn names(self) -> (&'static str, &'static str, usize) {
        match self {
            Class::Decimal => ("decimal", "Decimal", 0),
            Class::Uuid => ("uuid", "UUID", 1),
            Class::Date => ("datetime", "date", 2),
            Class::DateTime => ("datetime", "datetime", 2),
            Class::Time => ("datetime", "time", 2),
            Class::TimeDelta => ("datetime", "timedelta", 2),
            Class::TimeZone => ("datetime", "timezone", 2),
            Class::Complex => ("builtins", "complex", 3),
            Class::Fraction => ("fractions", "Fraction", 4),
            Class::Range => ("builtins", "range", 3),
            Class::Slice => ("builtins", "slice", 3),
        }
    }

    /// Module and name as protocols 0-2 write them: Python 2's, as CPython's `fix_imports`
    /// maps them (`__builtin__`, `xrange`).
    fn py2_names(self) -> (&'static str, &'static str) {
        match self {
            Class::Range => ("__builtin__", "xrange"),
            _ => match self.names() {
                ("builtins", name, _) => ("__builtin__", name),
                (module, name, _) => (module, name),
            },
        }
    }
}

/// Memo indexes of the classes ([`Class`] order) and module names written so far, and of
/// `timezone.utc` (one object in Python: written once, then referenced).
#[derive(Default)]
pub(super) struct Table {
    class: [Option<u32>; CLASSES],
    module: [Option<u32>; MODULES],
    pub(super) utc: Option<u32>,
    /// The collections' classes and factories (`standard_collections.rs`).
    pub(super) collections: super::standard_collections::Classes,
}

impl Table {
    /// The memo index of the `builtins` module name (protocols 4-5), which a defaultdict's
    /// factory shares with complex, range and slice (one interned str in CPython).
    pub(super) fn builtins(&mut self) -> &mut Option<u32> {
        // Slot 3, `Class::Complex`'s (a change of `MODULES` fails to compile here).
        let [_, _, _, builtins, _] = &mut self.module;
        builtins
    }
}

/// The serializer's [`Table`], allocated at the first standard value: a pickle without one
/// pays for one pointer (measured: initializing the table in place cost 8 instructions per
/// encode of the identity dict).
#[derive(Default)]
pub(super) struct Classes(Option<Box<Table>>);

impl Classes {
    /// The table, allocated on first use.
    pub(super) fn table(&mut self) -> &mut Table {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<const MEMO: usize> Serializer<'_, MEMO> {
    /// Writes the value of a [`PyStandard`]'s payload.
    pub(super) fn save_standard(&mut self, payload: &[u8]) -> Result<(), Error> {
        if self.proto < 2 {
            return Err(Error::Unsupported {
                what: "Python's standard types in protocol 0 or 1 (brine writes them in 2-5)",
            });
        }
        self.refuse_in_key("a standard type as a dict key")?;
        match payload {
            [DECIMAL, text @ ..] => {
                let text = core::str::from_utf8(text).map_err(|_| bad())?;
                self.save_class(Class::Decimal)?;
                self.save_text(&Utf8(text), false)?;
                self.reduce_one()
            }
            [UUID, be @ ..] => {
                let value = u128::from_be_bytes(be.try_into().map_err(|_| bad())?);
                self.save_class(Class::Uuid)?;
                self.write(&[Opcode::EMPTY_TUPLE.byte(), Opcode::NEWOBJ.byte()])?;
                self.memo_put()?;
                self.write(&[Opcode::EMPTY_DICT.byte()])?;
                self.memo_put()?;
                self.save_str("int")?;
                self.save_u128(value)?;
                self.write(&[Opcode::SETITEM.byte(), Opcode::BUILD.byte()])
            }
            [DATE, state @ ..] if state.len() == 4 => {
                self.save_class(Class::Date)?;
                self.save_fresh_bytes(state)?;
                self.reduce_one()
            }
            [DATETIME | TIME | TIMEDELTA | TIMEZONE, ..] => self.save_time_type(payload),
            [COMPLEX | FRACTION | RANGE | SLICE, ..] => self.save_number_type(payload),
            _ => Err(bad()),
        }
    }

    /// TUPLE1 of the value on top, REDUCE, each memoized (as `save_tuple`, `save_reduce`).
    pub(super) fn reduce_one(&mut self) -> Result<(), Error> {
        self.reduce(Opcode::TUPLE1).map(|_| ())
    }

    /// `tuple` (TUPLE1, TUPLE2 or TUPLE3) of the values on top, REDUCE, each memoized; the
    /// memo index of the result.
    pub(super) fn reduce(&mut self, tuple: Opcode) -> Result<u32, Error> {
        self.write(&[tuple.byte()])?;
        self.memo_put()?;
        self.write(&[Opcode::REDUCE.byte()])?;
        self.memo_put()
    }

    /// The class, or a reference to it once written.
    pub(super) fn save_class(&mut self, class: Class) -> Result<(), Error> {
        self.begin_save()?;
        let slot = class as usize;
        if let Some(index) = self.classes.table().class.get(slot).copied().flatten() {
            return self.memo_get(index);
        }
        let (module, name, m) = class.names();
        if self.proto < 4 {
            let (module, name) = if self.proto < 3 {
                class.py2_names()
            } else {
                (module, name)
            };
            self.write(b"c")?;
            self.write(module.as_bytes())?;
            self.write(b"\n")?;
            self.write(name.as_bytes())?;
            self.write(b"\n")?;
        } else {
            match self.classes.table().module.get(m).copied().flatten() {
                Some(index) => self.memo_get(index)?,
                None => {
                    self.save_text(&Utf8(module), false)?;
                    let index = self.next_memo.wrapping_sub(1);
                    if let Some(s) = self.classes.table().module.get_mut(m) {
                        *s = Some(index);
                    }
                }
            }
            self.save_text(&Utf8(name), false)?;
            self.write(&[Opcode::STACK_GLOBAL.byte()])?;
        }
        let index = self.memo_put()?;
        if let Some(s) = self.classes.table().class.get_mut(slot) {
            *s = Some(index);
        }
        Ok(())
    }

    /// A bytes object made afresh (a date's state): memoized, never shared with an equal one.
    pub(super) fn save_fresh_bytes(&mut self, v: &[u8]) -> Result<(), Error> {
        self.begin_save()?;
        if self.proto >= 3 {
            let len = u8::try_from(v.len()).map_err(|_| bad())?;
            self.write(&[Opcode::SHORT_BINBYTES.byte(), len])?;
            self.write(v)?;
        } else {
            // _codecs.encode(v.decode('latin1'), 'latin1'), as `save_bytes` in protocol 2.
            self.save_global(Global::CodecsEncode)?;
            self.save_text(&Latin1(v), v.len() == 1)?;
            self.save_str("latin1")?;
            self.write(&[Opcode::TUPLE2.byte()])?;
            self.memo_put()?;
            self.write(&[Opcode::REDUCE.byte()])?;
        }
        self.memo_put().map(|_| ())
    }
}

pub(super) fn bad() -> Error {
    Error::message("a PyStandard holds other than its value")
}
