//! `Display` of [`Object`]: CPython 3.11's repr of each standard type, and the text form of
//! a stub, which no reader can take for data:
//!
//! - a bare global: `<menu.Menu>`;
//! - a call (REDUCE, INST, OBJ): `<posix.system('echo hi')>`;
//! - `__new__` (NEWOBJ, NEWOBJ_EX, `copyreg._reconstructor`): `<menu.Menu object>`, with
//!   its arguments `<shapes.Point object (1, 2)>` (keyword arguments as `k=v`);
//! - then the state: its attributes as a dict (`{'client': None}`; a `(dict, slots)` pair
//!   as one dict of both), any other state as `state=...`; appended items as a list
//!   (`[1, 2]`), items set as `items {...}`.

use core::fmt::{self, Display, Formatter, Write as _};

use super::super::float_repr::{float_repr, FLOAT_REPR_LEN};
use super::super::value::{Dict, Seq, Value};
use super::standard::{Date, Standard, Time, TimeDelta, TimeZone};
use super::{Class, Object};

impl Display for Object<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // Without the `objects` feature the decoder makes no objects: this early return lets
        // a `repr` firmware leave the standard types' text out (16,940 bytes of the UART lab
        // firmware at opt-level z).
        if !cfg!(feature = "objects") {
            return f.write_str("<object>");
        }
        let Some(value) = self.standard() else {
            return self.write_stub(f);
        };
        match value {
            Standard::DateTime(Date { year, month, day }, time, tz) => {
                write!(f, "datetime.datetime({year}, {month}, {day}, ")?;
                write_time(f, time, tz, false)
            }
            Standard::Date(Date { year, month, day }) => {
                write!(f, "datetime.date({year}, {month}, {day})")
            }
            Standard::Time(time, tz) => {
                f.write_str("datetime.time(")?;
                write_time(f, time, tz, true)
            }
            Standard::TimeDelta(delta) => write_timedelta(f, delta),
            Standard::TimeZone(tz) => write_timezone(f, tz),
            Standard::Decimal(text) => write!(f, "Decimal('{text}')"),
            Standard::Complex(re, im) => write_complex(f, re, im),
            Standard::Fraction(n, d) => write!(f, "Fraction({n}, {d})"),
            Standard::Uuid(n) => {
                f.write_str("UUID('")?;
                write_uuid(f, n)?;
                f.write_str("')")
            }
            Standard::OrderedDict(Some(d)) if !d.is_empty() => {
                f.write_str("OrderedDict([")?;
                for (i, (k, v)) in d.iter().enumerate() {
                    let sep = if i > 0 { ", " } else { "" };
                    write!(f, "{sep}({k}, {v})")?;
                }
                f.write_str("])")
            }
            Standard::OrderedDict(_) => f.write_str("OrderedDict()"),
            Standard::Counter(d) => write_counter(f, d),
            Standard::Deque(items, maxlen) => {
                f.write_str("deque(")?;
                write_seq(f, items, "[", "]")?;
                match maxlen {
                    Some(max) => write!(f, ", maxlen={max})"),
                    None => f.write_str(")"),
                }
            }
            Standard::DefaultDict(factory, items) => {
                f.write_str("defaultdict(")?;
                match factory.and_then(Class::dotted) {
                    Some((_, name)) => write!(f, "<class '{name}'>")?,
                    None => f.write_str("None")?,
                }
                f.write_str(", ")?;
                write_dict(f, items)?;
                f.write_str(")")
            }
            Standard::Range(a, b, 1) => write!(f, "range({a}, {b})"),
            Standard::Range(a, b, c) => write!(f, "range({a}, {b}, {c})"),
            Standard::Slice(a, b, c) => write!(f, "slice({a}, {b}, {c})"),
        }
    }
}

/// The 32 hex digits of a UUID in its 8-4-4-4-12 groups.
pub(crate) fn write_uuid(f: &mut impl fmt::Write, n: u128) -> fmt::Result {
    for (i, b) in n.to_be_bytes().iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            f.write_char('-')?;
        }
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

fn write_timezone(f: &mut Formatter<'_>, tz: TimeZone<'_>) -> fmt::Result {
    let utc = tz.offset
        == TimeDelta {
            days: 0,
            seconds: 0,
            microseconds: 0,
        };
    match tz.name {
        None if utc => f.write_str("datetime.timezone.utc"),
        None => {
            f.write_str("datetime.timezone(")?;
            write_timedelta(f, tz.offset)?;
            f.write_str(")")
        }
        Some(name) => {
            f.write_str("datetime.timezone(")?;
            write_timedelta(f, tz.offset)?;
            write!(f, ", {})", Value::Str(name))
        }
    }
}

impl Object<'_> {
    /// The text form of a stub (see the module's documentation).
    fn write_stub(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.is_cycle() {
            return f.write_str("<...>");
        }
        write!(f, "<{}.{}", self.module(), self.name())?;
        if self.is_reference() {
            return f.write_char('>');
        }
        let args = self.args();
        let kwargs = self.kwargs();
        if self.is_call() {
            write_seq(f, args, "(", ")")?;
        } else {
            f.write_str(" object")?;
            let has_args = args.is_some_and(|a| !a.is_empty());
            if has_args || kwargs.is_some_and(|k| !k.is_empty()) {
                f.write_str(" (")?;
                let mut first = true;
                for v in args.into_iter().flatten() {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    Display::fmt(&v, f)?;
                }
                for (k, v) in kwargs.into_iter().flat_map(|d| d.iter()) {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    match k.as_str() {
                        Some(name) if super::is_dotted_name(name.as_bytes()) => {
                            write!(f, "{name}={v}")?
                        }
                        _ => write!(f, "**{{{k}: {v}}}")?,
                    }
                }
                f.write_char(')')?;
            }
        }
        match self.state() {
            None => {}
            Some(Value::Dict(d)) => {
                f.write_char(' ')?;
                write_dict(f, Some(d))?;
            }
            Some(Value::Tuple(pair)) if is_attrs_pair(pair) => {
                // (dict or None, slots dict): one dict of every attribute.
                f.write_str(" {")?;
                let entries = pair
                    .iter()
                    .filter_map(|v| v.as_dict())
                    .flat_map(|d| d.iter());
                for (i, (k, v)) in entries.enumerate() {
                    let sep = if i > 0 { ", " } else { "" };
                    write!(f, "{sep}{k}: {v}")?;
                }
                f.write_char('}')?;
            }
            Some(state) => write!(f, " state={state}")?,
        }
        if let Some(items) = self.list_items() {
            f.write_char(' ')?;
            write_seq(f, Some(items), "[", "]")?;
        }
        if let Some(items) = self.dict_items() {
            f.write_str(" items ")?;
            write_dict(f, Some(items))?;
        }
        f.write_char('>')
    }
}

/// A `(dict or None, dict)` state: `__getstate__` of an object with `__slots__`.
fn is_attrs_pair(pair: Seq<'_>) -> bool {
    pair.len() == 2
        && matches!(pair.get(0), Some(Value::Dict(_) | Value::None))
        && matches!(pair.get(1), Some(Value::Dict(_)))
}

fn write_seq(
    f: &mut Formatter<'_>,
    items: Option<Seq<'_>>,
    open: &str,
    close: &str,
) -> fmt::Result {
    f.write_str(open)?;
    for (i, v) in items.into_iter().flatten().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        Display::fmt(&v, f)?;
    }
    f.write_str(close)
}

fn write_dict(f: &mut Formatter<'_>, d: Option<Dict<'_>>) -> fmt::Result {
    f.write_char('{')?;
    for (i, (k, v)) in d.into_iter().flat_map(|d| d.iter()).enumerate() {
        let sep = if i > 0 { ", " } else { "" };
        write!(f, "{sep}{k}: {v}")?;
    }
    f.write_char('}')
}

/// `h, m[, s[, us]][, fold=1][, tzinfo=...])`, as datetime's repr ends; with `fold_last`,
/// `h, m[, s[, us]][, tzinfo=...][, fold=1])`, as time's repr ends.
fn write_time(
    f: &mut Formatter<'_>,
    t: Time,
    tz: Option<TimeZone<'_>>,
    fold_last: bool,
) -> fmt::Result {
    write!(f, "{}, {}", t.hour, t.minute)?;
    if t.microsecond != 0 {
        write!(f, ", {}, {}", t.second, t.microsecond)?;
    } else if t.second != 0 {
        write!(f, ", {}", t.second)?;
    }
    if t.fold && !fold_last {
        f.write_str(", fold=1")?;
    }
    if let Some(tz) = tz {
        f.write_str(", tzinfo=")?;
        write_timezone(f, tz)?;
    }
    if t.fold && fold_last {
        f.write_str(", fold=1")?;
    }
    f.write_char(')')
}

fn write_timedelta(f: &mut Formatter<'_>, d: TimeDelta) -> fmt::Result {
    f.write_str("datetime.timedelta(")?;
    let mut sep = "";
    for (name, v) in [
        ("days", d.days),
        ("seconds", d.seconds),
        ("microseconds", d.microseconds),
    ] {
        if v != 0 {
            write!(f, "{sep}{name}={v}")?;
            sep = ", ";
        }
    }
    if sep.is_empty() {
        f.write_char('0')?;
    }
    f.write_char(')')
}

/// CPython's `complex.__repr__`: `repr` of each part without a forced `.0`, the imaginary
/// part signed, parentheses unless the real part is +0.
fn write_complex(f: &mut Formatter<'_>, re: f64, im: f64) -> fmt::Result {
    let part = |x: f64, signed: bool, f: &mut Formatter<'_>| {
        let mut buf = [0u8; FLOAT_REPR_LEN];
        let n = float_repr(&mut buf, x);
        let text = core::str::from_utf8(buf.get(..n).unwrap_or(&[])).map_err(|_| fmt::Error)?;
        let text = text.strip_suffix(".0").unwrap_or(text);
        if signed && !text.starts_with('-') {
            f.write_char('+')?;
        }
        f.write_str(text)
    };
    if re == 0.0 && re.is_sign_positive() {
        part(im, false, f)?;
        return f.write_char('j');
    }
    f.write_char('(')?;
    part(re, false, f)?;
    part(im, true, f)?;
    f.write_str("j)")
}

/// `Counter.__repr__`: `Counter()`, or the entries by count, highest first (equal counts
/// in insertion order, as `most_common`'s stable sort keeps them).
fn write_counter(f: &mut Formatter<'_>, d: Dict<'_>) -> fmt::Result {
    if d.is_empty() {
        return f.write_str("Counter()");
    }
    let count = |v: Value<'_>| match v {
        Value::Int(i) => i,
        _ => i64::MIN,
    };
    f.write_str("Counter({")?;
    let mut above: Option<i64> = None;
    let mut first = true;
    // One pass per distinct count, from the highest: no memory beyond the dict.
    while let Some(c) = d
        .iter()
        .map(|(_, v)| count(v))
        .filter(|&c| above.is_none_or(|a| c < a))
        .max()
    {
        for (k, v) in d.iter().filter(|(_, v)| count(*v) == c) {
            let sep = if first { "" } else { ", " };
            first = false;
            write!(f, "{sep}{k}: {v}")?;
        }
        above = Some(c);
    }
    f.write_str("})")
}
