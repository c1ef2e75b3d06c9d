//! [`Standard`]: a standard type's value, read from the shape the decoder accepted.

use super::super::value::{Dict, Seq, Str, Value};
use super::{shape, Class, Object};

/// A calendar date: year (1-9999), month (1-12), day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// Year, 1-9999.
    pub year: u16,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month.
    pub day: u8,
}

/// A time of day; `fold` is 1 for the second of two equal wall times (protocols 4-5 keep
/// it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
    /// Microsecond, 0-999999.
    pub microsecond: u32,
    /// The second of two equal wall times (PEP 495).
    pub fold: bool,
}

/// A `timedelta`, normalized as CPython keeps it: `0 <= seconds < 86400`,
/// `0 <= microseconds < 10**6`, `|days| <= 999999999`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeDelta {
    /// Days.
    pub days: i64,
    /// Seconds, 0-86399.
    pub seconds: i64,
    /// Microseconds, 0-999999.
    pub microseconds: i64,
}

impl TimeDelta {
    /// The whole duration in microseconds.
    pub fn total_microseconds(&self) -> i128 {
        (i128::from(self.days) * 86_400 + i128::from(self.seconds)) * 1_000_000
            + i128::from(self.microseconds)
    }
}

/// A `datetime.timezone`: a fixed offset from UTC (strictly within a day) and its name if
/// one was given (`timezone.utc` has none and a zero offset).
#[derive(Clone, Copy, Debug)]
pub struct TimeZone<'a> {
    /// The offset from UTC.
    pub offset: TimeDelta,
    /// The name given, if any.
    pub name: Option<Str<'a>>,
}

/// The value of a standard type (see [`Object::standard`]).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Standard<'a> {
    /// `datetime.datetime`, its time zone if it has one.
    DateTime(Date, Time, Option<TimeZone<'a>>),
    /// `datetime.date`.
    Date(Date),
    /// `datetime.time`, its time zone if it has one.
    Time(Time, Option<TimeZone<'a>>),
    /// `datetime.timedelta`.
    TimeDelta(TimeDelta),
    /// `datetime.timezone`.
    TimeZone(TimeZone<'a>),
    /// `decimal.Decimal`, as `str(d)` writes it (exact: `'1.50'`, `'-Infinity'`, `'1E+5'`).
    Decimal(&'a str),
    /// `complex`: real and imaginary parts.
    Complex(f64, f64),
    /// `fractions.Fraction` in lowest terms: numerator, denominator (> 0).
    Fraction(i64, i64),
    /// `uuid.UUID`, its 128-bit value.
    Uuid(u128),
    /// `collections.OrderedDict`: its entries in order.
    OrderedDict(Option<Dict<'a>>),
    /// `collections.Counter`: its counts in insertion order (the repr sorts them).
    Counter(Dict<'a>),
    /// `collections.deque`: its items and `maxlen`.
    Deque(Option<Seq<'a>>, Option<u64>),
    /// `collections.defaultdict`: its factory (a builtin type: `List`, `Dict`, `Int`, ...,
    /// or `None`) and its entries.
    DefaultDict(Option<Class>, Option<Dict<'a>>),
    /// `range(start, stop, step)`.
    Range(i64, i64, i64),
    /// `slice(start, stop, step)`: any values.
    Slice(Value<'a>, Value<'a>, Value<'a>),
}

impl<'a> Object<'a> {
    /// The value, if this is a standard type (not a stub). The decoder accepted only the
    /// shapes read here, so this is `Some` for every standard type it returns.
    pub fn standard(&self) -> Option<Standard<'a>> {
        if self.is_stub() {
            return None;
        }
        let args = self.args()?;
        let arg = |i| args.get(i);
        Some(match self.class() {
            Class::DateTime => {
                let ((year, month, day), t) = shape::datetime_bytes(arg(0)?)?;
                Standard::DateTime(Date { year, month, day }, time(t), tz(arg(1)))
            }
            Class::Date => {
                let (year, month, day) = shape::date_bytes(arg(0)?)?;
                Standard::Date(Date { year, month, day })
            }
            Class::Time => Standard::Time(time(shape::time_bytes(arg(0)?)?), tz(arg(1))),
            Class::TimeDelta => Standard::TimeDelta(delta(shape::timedelta(args)?)),
            Class::TimeZone => Standard::TimeZone(timezone(args)?),
            Class::Decimal => Standard::Decimal(shape::decimal(arg(0)?)?),
            Class::Complex => match (arg(0)?, arg(1)?) {
                (Value::Float(re), Value::Float(im)) => Standard::Complex(re, im),
                _ => return None,
            },
            Class::Fraction => {
                let (n, d) = shape::fraction(args)?;
                Standard::Fraction(n, d)
            }
            Class::Uuid => Standard::Uuid(shape::uuid(self.state()?)?),
            Class::OrderedDict => Standard::OrderedDict(self.dict_items()),
            Class::Counter => Standard::Counter(shape::counter(arg(0)?)?),
            Class::Deque => Standard::Deque(self.list_items(), shape::deque_maxlen(args)?),
            Class::DefaultDict => {
                let factory = match arg(0) {
                    Some(Value::Object(o)) => Some(o.class()),
                    _ => None,
                };
                Standard::DefaultDict(factory, self.dict_items())
            }
            Class::Range => Standard::Range(
                shape::int(arg(0))?,
                shape::int(arg(1))?,
                shape::int(arg(2))?,
            ),
            Class::Slice => Standard::Slice(arg(0)?, arg(1)?, arg(2)?),
            _ => return None,
        })
    }
}

fn time((hour, minute, second, microsecond, fold): shape::TimeFields) -> Time {
    Time {
        hour,
        minute,
        second,
        microsecond,
        fold,
    }
}

fn delta((days, seconds, microseconds): (i64, i64, i64)) -> TimeDelta {
    TimeDelta {
        days,
        seconds,
        microseconds,
    }
}

fn timezone(args: Seq<'_>) -> Option<TimeZone<'_>> {
    let (offset, name) = shape::timezone(args)?;
    let name = match name {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    };
    Some(TimeZone {
        offset: delta(offset),
        name,
    })
}

/// A datetime's or time's tzinfo argument (a `timezone`, checked by the decoder).
fn tz(v: Option<Value<'_>>) -> Option<TimeZone<'_>> {
    match v? {
        Value::Object(o) => timezone(o.args()?),
        _ => None,
    }
}
