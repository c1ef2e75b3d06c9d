//! The exact argument, state and item shapes CPython 3.8-3.13 write for the standard types
//! (their `__reduce__`), and the fields read back from them. Anything else is refused: a
//! shape is accepted only if the value it describes prints exactly as CPython's repr.

use super::super::value::{Seq, Value};
use super::Class;
#[cfg(feature = "objects")]
use super::{Object, Slot};

/// Whether `args` are what CPython passes to `class` (by a call, or to `__new__` when
/// `new`).
#[cfg(feature = "objects")]
pub(crate) fn args_fit(class: Class, new: bool, args: Seq<'_>) -> bool {
    let arg = |i| args.get(i);
    let n = args.len();
    if new {
        // NEWOBJ / copyreg._reconstructor: uuid.UUID only (its state comes by BUILD).
        return class == Class::Uuid && n == 0;
    }
    match class {
        Class::DateTime => {
            (n == 1 || (n == 2 && arg(1).is_some_and(is_tzinfo)))
                && arg(0).is_some_and(|b| datetime_bytes(b).is_some())
        }
        Class::Date => n == 1 && arg(0).is_some_and(|b| date_bytes(b).is_some()),
        Class::Time => {
            (n == 1 || (n == 2 && arg(1).is_some_and(is_tzinfo)))
                && arg(0).is_some_and(|b| time_bytes(b).is_some())
        }
        Class::TimeDelta => n == 3 && timedelta(args).is_some(),
        Class::TimeZone => timezone(args).is_some(),
        Class::Decimal => n == 1 && arg(0).is_some_and(|s| decimal(s).is_some()),
        Class::Complex => n == 2 && args.iter().all(|v| matches!(v, Value::Float(_))),
        Class::Fraction => fraction(args).is_some(),
        Class::OrderedDict => n == 0,
        Class::Counter => n == 1 && arg(0).is_some_and(|d| counter(d).is_some()),
        Class::Deque => deque_maxlen(args).is_some(),
        Class::DefaultDict => n == 0 || (n == 1 && arg(0).is_some_and(is_factory)),
        Class::Range => {
            n == 3 && args.iter().all(|v| int(Some(v)).is_some()) && int(arg(2)) != Some(0)
        }
        Class::Slice => n == 3,
        _ => false,
    }
}

/// Whether BUILD may give `class` this state: a `uuid.UUID`'s `{'int': n}` (with
/// `'is_safe'` when known). Other standard types take no state.
#[cfg(feature = "objects")]
pub(crate) fn state_fits(class: Class, state: Value<'_>) -> bool {
    class == Class::Uuid && uuid(state).is_some()
}

/// Whether `class` takes items into `slot` (OrderedDict and defaultdict entries, a deque's
/// items); stubs take any.
#[cfg(feature = "objects")]
pub(crate) fn takes_items(class: Class, slot: Slot) -> bool {
    match class {
        Class::Unknown => true,
        Class::OrderedDict | Class::DefaultDict => slot == Slot::Dict,
        Class::Deque => slot == Slot::List,
        _ => false,
    }
}

/// Whether a standard type's items are within its bounds (a deque holds at most `maxlen`:
/// CPython would drop the first ones, which brine does not model).
#[cfg(feature = "objects")]
pub(crate) fn items_fit(object: Object<'_>) -> bool {
    match (object.class(), object.args()) {
        (Class::Deque, Some(args)) => match deque_maxlen(args) {
            Some(Some(max)) => object.list_items().map_or(0, |s| s.len() as u64) <= max,
            Some(None) => true,
            None => false,
        },
        _ => true,
    }
}

/// An `int` that fits 64 bits (not a bool).
pub(crate) fn int(v: Option<Value<'_>>) -> Option<i64> {
    match v? {
        Value::Int(i) => Some(i),
        _ => None,
    }
}

/// The bytes of a `bytes` value, copied into `N` bytes if it is exactly that long.
fn exact<const N: usize>(v: Value<'_>) -> Option<[u8; N]> {
    let Value::Bytes(b) = v else { return None };
    let mut out = [0u8; N];
    (b.len() == N).then_some(())?;
    b.copy_to(&mut out)?;
    Some(out)
}

/// A `datetime.date`'s fields from its 4-byte state: year, month, day.
pub(crate) fn date_bytes(v: Value<'_>) -> Option<(u16, u8, u8)> {
    let [y1, y0, month, day] = exact::<4>(v)?;
    let year = u16::from_be_bytes([y1, y0]);
    valid_date(year, month, day).then_some((year, month, day))
}

/// Whether `datetime.date` accepts `year`, `month`, `day` (CPython's `_check_date_fields`;
/// also the encoder's check, `PyStandard::date`).
pub(crate) fn valid_date(year: u16, month: u8, day: u8) -> bool {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    (1..=9999).contains(&year) && day >= 1 && day <= days
}

/// A time of day: hour, minute, second, microsecond, fold.
pub(crate) type TimeFields = (u8, u8, u8, u32, bool);

/// Whether `datetime.time` accepts hour, minute, second, microsecond (also the encoder's
/// check, `PyStandard::time` and `PyStandard::datetime`).
pub(crate) fn valid_time(h: u8, m: u8, s: u8, us: u32) -> bool {
    h < 24 && m < 60 && s < 60 && us < 1_000_000
}

/// A `datetime.time`'s fields from its 6-byte state (the fold in the hour's high bit).
pub(crate) fn time_bytes(v: Value<'_>) -> Option<TimeFields> {
    let [h, m, s, u2, u1, u0] = exact::<6>(v)?;
    let us = u32::from_be_bytes([0, u2, u1, u0]);
    let (fold, h) = (h & 0x80 != 0, h & 0x7f);
    valid_time(h, m, s, us).then_some((h, m, s, us, fold))
}

/// A `datetime.datetime`'s fields from its 10-byte state (the fold in the month's high
/// bit).
pub(crate) fn datetime_bytes(v: Value<'_>) -> Option<((u16, u8, u8), TimeFields)> {
    let b = exact::<10>(v)?;
    let (fold, month) = (b[2] & 0x80 != 0, b[2] & 0x7f);
    let year = u16::from_be_bytes([b[0], b[1]]);
    let us = u32::from_be_bytes([0, b[7], b[8], b[9]]);
    (valid_date(year, month, b[3]) && valid_time(b[4], b[5], b[6], us))
        .then_some(((year, month, b[3]), (b[4], b[5], b[6], us, fold)))
}

/// A `timedelta`'s (days, seconds, microseconds), normalized as CPython keeps them.
pub(crate) fn timedelta(args: Seq<'_>) -> Option<(i64, i64, i64)> {
    let (d, s, us) = (int(args.get(0))?, int(args.get(1))?, int(args.get(2))?);
    let ok = args.len() == 3
        && (-999_999_999..=999_999_999).contains(&d)
        && (0..86_400).contains(&s)
        && (0..1_000_000).contains(&us);
    ok.then_some((d, s, us))
}

/// A `timezone`'s offset (days, seconds, microseconds) and name, if the args are
/// `(timedelta,)` or `(timedelta, str)` with the offset strictly within a day.
pub(crate) fn timezone(args: Seq<'_>) -> Option<((i64, i64, i64), Option<Value<'_>>)> {
    let name = match args.len() {
        1 => None,
        2 => Some(args.get(1).filter(|v| matches!(v, Value::Str(_)))?),
        _ => return None,
    };
    let Value::Object(offset) = args.get(0)? else {
        return None;
    };
    if offset.class() != Class::TimeDelta || offset.is_reference() {
        return None;
    }
    let td = timedelta(offset.args()?)?;
    // -timedelta(hours=24) < offset < timedelta(hours=24)
    let within = matches!(td, (0, _, _)) || (td.0 == -1 && (td.1, td.2) != (0, 0));
    within.then_some((td, name))
}

/// Whether `v` is a tzinfo brine decodes: a `datetime.timezone`.
#[cfg(feature = "objects")]
fn is_tzinfo(v: Value<'_>) -> bool {
    matches!(v, Value::Object(o) if o.class() == Class::TimeZone && !o.is_reference())
}

/// The text of a `Decimal`, if it is a str in the form `str(Decimal)` writes (so its repr
/// is `Decimal('text')` as CPython prints it).
pub(crate) fn decimal(v: Value<'_>) -> Option<&str> {
    let text = v.as_str()?;
    is_canonical_decimal(text).then_some(text)
}

/// Whether `s` is what CPython's `str(Decimal)` (to-scientific-string) writes: parsed as
/// Decimal's constructor reads it, written back the way `str` does, and compared.
pub(crate) fn is_canonical_decimal(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    if body == "Infinity" {
        return true;
    }
    for nan in ["NaN", "sNaN"] {
        if let Some(payload) = body.strip_prefix(nan) {
            // A payload without leading zeros.
            return payload.is_empty()
                || (payload.bytes().all(|b| b.is_ascii_digit()) && !payload.starts_with('0'));
        }
    }
    let (mantissa, exp) = match body.split_once(['E', 'e']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac.len() == 0 || !digits(int_part) || !digits(frac) {
        return false;
    }
    let exp: i64 = match exp {
        None => 0,
        Some(e) => {
            let mag = e.strip_prefix(['+', '-']).unwrap_or(e);
            if mag.is_empty() || mag.len() > 18 || !digits(mag) {
                return false;
            }
            match e.parse() {
                Ok(v) => v,
                Err(_) => return false,
            }
        }
    };
    // The coefficient without leading zeros (one 0 if all are zeros), and its exponent.
    let all = || int_part.bytes().chain(frac.bytes());
    let zeros = all().take_while(|&b| b == b'0').count();
    let total = int_part.len() + frac.len();
    let skip = zeros.min(total - 1);
    let coefficient = || all().skip(skip);
    let len = (total - skip) as i64;
    let exponent = exp - frac.len() as i64;
    let adjusted = exponent + len - 1;
    let mut want = body.bytes();
    let mut same = |b: u8| want.next() == Some(b);
    let mut ok = true;
    if exponent <= 0 && adjusted >= -6 {
        let point = len + exponent;
        if point <= 0 {
            ok &= same(b'0') && same(b'.');
            for _ in 0..-point {
                ok &= same(b'0');
            }
            for b in coefficient() {
                ok &= same(b);
            }
        } else {
            for (i, b) in coefficient().enumerate() {
                if i as i64 == point {
                    ok &= same(b'.');
                }
                ok &= same(b);
            }
        }
    } else {
        for (i, b) in coefficient().enumerate() {
            if i == 1 {
                ok &= same(b'.');
            }
            ok &= same(b);
        }
        ok &= same(b'E') && same(if adjusted < 0 { b'-' } else { b'+' });
        let mut buf = [0u8; 20];
        let mut n = adjusted.unsigned_abs();
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &b in &buf[i..] {
            ok &= same(b);
        }
    }
    ok && want.next().is_none()
}

/// A `Fraction`'s numerator and denominator: `(n, d)` ints (Python 3.11 and later) or
/// `str(fraction)` (`'n/d'` or `'n'`, earlier), in lowest terms with `d > 0`.
pub(crate) fn fraction(args: Seq<'_>) -> Option<(i64, i64)> {
    let (n, d) = match args.len() {
        2 => (int(args.get(0))?, int(args.get(1))?),
        1 => {
            let text = args.get(0)?.as_str()?;
            let (n, d) = text.split_once('/').unwrap_or((text, "1"));
            let parse = |t: &str| {
                let digits = t.strip_prefix('-').unwrap_or(t);
                let ok = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == "0" || !digits.starts_with('0'));
                ok.then(|| t.parse::<i64>().ok()).flatten()
            };
            (parse(n)?, parse(d)?)
        }
        _ => return None,
    };
    (d > 0 && gcd(n.unsigned_abs(), d.unsigned_abs()) == 1).then_some((n, d))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A `uuid.UUID`'s 128-bit value from its state `{'int': n}` (and `'is_safe'`: 0 or -1).
pub(crate) fn uuid(state: Value<'_>) -> Option<u128> {
    let d = state.as_dict()?;
    let mut value = None;
    for (k, v) in d.iter() {
        match k.as_str()? {
            "int" if value.is_none() => value = Some(to_u128(v)?),
            "is_safe" if matches!(v, Value::Int(0 | -1)) => {}
            _ => return None,
        }
    }
    value
}

/// A non-negative int below 2**128.
fn to_u128(v: Value<'_>) -> Option<u128> {
    match v {
        Value::Int(i) => u128::try_from(i).ok(),
        Value::BigInt(b) => match b.as_le_bytes() {
            Some(le) => {
                // Two's complement: up to 17 bytes, the 17th (sign) zero.
                let (low, high) = le.split_at(le.len().min(16));
                if high.iter().any(|&x| x != 0) || le.last().is_some_and(|&x| x & 0x80 != 0) {
                    return None;
                }
                let mut bytes = [0u8; 16];
                bytes.get_mut(..low.len())?.copy_from_slice(low);
                Some(u128::from_le_bytes(bytes))
            }
            // Decimal text: its digits, through the exact decimal Display.
            None => {
                let mut acc = Digits(Some(0));
                core::fmt::write(&mut acc, format_args!("{b}")).ok()?;
                acc.0
            }
        },
        _ => None,
    }
}

/// Accumulates decimal digits written to it into a u128 (`None` on anything else or
/// overflow).
struct Digits(Option<u128>);

impl core::fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            self.0 = self.0.and_then(|v| {
                let digit = b.is_ascii_digit().then(|| u128::from(b - b'0'))?;
                v.checked_mul(10)?.checked_add(digit)
            });
        }
        Ok(())
    }
}

/// A `Counter`'s dict: every count an int (what `most_common` sorts).
pub(crate) fn counter(v: Value<'_>) -> Option<super::super::value::Dict<'_>> {
    let d = v.as_dict()?;
    d.iter()
        .all(|(_, count)| matches!(count, Value::Int(_)))
        .then_some(d)
}

/// A deque's `maxlen` from its args `((), maxlen)` (or `((),)`, `()`): `Some(None)`
/// unbounded; `None` if the args are another shape.
pub(crate) fn deque_maxlen(args: Seq<'_>) -> Option<Option<u64>> {
    let empty_tuple = |v: Option<Value<'_>>| matches!(v, Some(Value::Tuple(t)) if t.is_empty());
    match args.len() {
        0 => Some(None),
        1 if empty_tuple(args.get(0)) => Some(None),
        2 if empty_tuple(args.get(0)) => match args.get(1)? {
            Value::None => Some(None),
            Value::Int(n) => u64::try_from(n).ok().map(Some),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `v` is a `defaultdict` factory brine shows: None, or `list`, `dict`, `int`,
/// `str`, `float`, `bool`, `tuple` (a reference to a builtin type, never called).
#[cfg(feature = "objects")]
pub(crate) fn is_factory(v: Value<'_>) -> bool {
    match v {
        Value::None => true,
        Value::Object(o) => {
            o.is_reference()
                && matches!(
                    o.class(),
                    Class::List
                        | Class::Dict
                        | Class::Int
                        | Class::Str
                        | Class::Float
                        | Class::Bool
                        | Class::Tuple
                )
        }
        _ => false,
    }
}
