//! Python's `==` and `hash` of standard values used as dict keys or set items, so equal
//! ones merge as they do in CPython (two equal datetimes are one key).
//!
//! Modelled within each type: `datetime` (naive by its fields, `fold` ignored; aware by its
//! UTC instant), `date`, `time` (likewise), `timedelta`, `timezone` (its offset; the name is
//! ignored), `Decimal` (by value: `Decimal('1.0') == Decimal('1')`, `-0 == 0`), `Fraction`,
//! `complex`, `uuid.UUID`, `range` (as a sequence: `range(0) == range(5, 5)`). Not modelled:
//! equality across types (`Decimal('1') == 1 == Fraction(1) == complex(1, 0)`, which CPython
//! merges), a Decimal NaN (hashed by identity, as CPython 3.10+ does for a quiet NaN; a
//! signaling NaN, which CPython cannot hash, is kept too), and `slice` (unhashable before
//! 3.12): these keep brine's identity comparison.

use super::standard::{Date, Standard, Time, TimeZone};

/// A standard value as `==` sees it; `None` where brine compares by identity.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Key<'a> {
    /// Microseconds from 0001-01-01 00:00 (naive).
    NaiveDateTime(i128),
    /// Microseconds from 0001-01-01 00:00 UTC.
    AwareDateTime(i128),
    Date(Date),
    /// Microseconds from midnight (naive).
    NaiveTime(i64),
    /// Microseconds from midnight UTC (may be out of 0..1 day).
    AwareTime(i128),
    /// Microseconds.
    TimeDelta(i128),
    /// The offset in microseconds.
    TimeZone(i128),
    Decimal(Decimal<'a>),
    Fraction(i64, i64),
    Complex(f64, f64),
    Uuid(u128),
    /// Length, first item, step (0 when fewer than two items).
    Range(i128, i64, i64),
}

/// The key of `v`, if brine models its equality.
pub(crate) fn key(v: Standard<'_>) -> Option<Key<'_>> {
    Some(match v {
        Standard::DateTime(d, t, None) => Key::NaiveDateTime(datetime_us(d, t)),
        Standard::DateTime(d, t, Some(tz)) => Key::AwareDateTime(datetime_us(d, t) - offset(tz)),
        Standard::Date(d) => Key::Date(d),
        Standard::Time(t, None) => Key::NaiveTime(time_us(t)),
        Standard::Time(t, Some(tz)) => Key::AwareTime(i128::from(time_us(t)) - offset(tz)),
        Standard::TimeDelta(d) => Key::TimeDelta(d.total_microseconds()),
        Standard::TimeZone(tz) => Key::TimeZone(offset(tz)),
        Standard::Decimal(text) => Key::Decimal(Decimal::parse(text)?),
        Standard::Fraction(n, d) => Key::Fraction(n, d),
        Standard::Complex(re, im) => Key::Complex(re, im),
        Standard::Uuid(u) => Key::Uuid(u),
        Standard::Range(start, stop, step) => range(start, stop, step)?,
        _ => return None,
    })
}

/// A hash equal for equal keys (not CPython's: those of these types vary per process or
/// are not modelled).
pub(crate) fn hash(k: Key<'_>) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    let zero = |x: f64| if x == 0.0 { 0 } else { x.to_bits() };
    match k {
        Key::NaiveDateTime(us) => h.add(1).add128(us),
        Key::AwareDateTime(us) => h.add(2).add128(us),
        Key::Date(d) => h
            .add(3)
            .add(u64::from(d.year))
            .add(u64::from(d.month))
            .add(u64::from(d.day)),
        Key::NaiveTime(us) => h.add(4).add(us as u64),
        Key::AwareTime(us) => h.add(5).add128(us),
        Key::TimeDelta(us) => h.add(6).add128(us),
        Key::TimeZone(us) => h.add(7).add128(us),
        Key::Decimal(d) => {
            h.add(8).add(u64::from(d.negative)).add(d.exponent as u64);
            for digit in d.digits() {
                h.add(u64::from(digit));
            }
            &mut h
        }
        Key::Fraction(n, d) => h.add(9).add(n as u64).add(d as u64),
        Key::Complex(re, im) => h.add(10).add(zero(re)).add(zero(im)),
        Key::Uuid(u) => h.add(11).add128(u as i128),
        Key::Range(len, start, step) => h.add(12).add128(len).add(start as u64).add(step as u64),
    };
    h.0
}

struct Fnv(u64);

impl Fnv {
    fn add(&mut self, v: u64) -> &mut Self {
        for b in v.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    fn add128(&mut self, v: i128) -> &mut Self {
        self.add(v as u64).add((v >> 64) as u64)
    }
}

/// `range(start, stop, step)` as the sequence it is.
fn range(start: i64, stop: i64, step: i64) -> Option<Key<'static>> {
    let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
    let len = match step {
        0 => return None,
        s if s > 0 && stop > start => (stop - start + s - 1) / s,
        s if s < 0 && stop < start => (start - stop - s - 1) / -s,
        _ => 0,
    };
    Some(match len {
        0 => Key::Range(0, 0, 0),
        1 => Key::Range(1, start as i64, 0),
        _ => Key::Range(len, start as i64, step as i64),
    })
}

fn time_us(t: Time) -> i64 {
    (i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second)) * 1_000_000
        + i64::from(t.microsecond)
}

fn offset(tz: TimeZone<'_>) -> i128 {
    tz.offset.total_microseconds()
}

/// Days from 0001-01-01 (CPython's `ymd_to_ord` less one).
fn days(d: Date) -> i64 {
    const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let y = i64::from(d.year) - 1;
    let leap = d.year % 4 == 0 && (d.year % 100 != 0 || d.year % 400 == 0);
    let month = usize::from(d.month.clamp(1, 12)) - 1;
    let before = BEFORE.get(month).copied().unwrap_or(0) + i64::from(leap && d.month > 2);
    y * 365 + y / 4 - y / 100 + y / 400 + before + i64::from(d.day) - 1
}

fn datetime_us(d: Date, t: Time) -> i128 {
    i128::from(days(d)) * 86_400_000_000 + i128::from(time_us(t))
}

/// A finite Decimal's value: sign, significant digits (no leading or trailing zeros; none
/// for zero) and the exponent of the last one; or an infinity.
#[derive(Clone, Copy)]
pub(crate) struct Decimal<'a> {
    negative: bool,
    /// The coefficient's text (digits and at most one `.`), `lead..len - trail` significant.
    text: &'a [u8],
    lead: usize,
    trail: usize,
    /// Of the last significant digit; `i64::MAX` for an infinity, 0 for zero.
    exponent: i64,
}

impl<'a> Decimal<'a> {
    /// From `str(Decimal)`'s text; `None` for a NaN.
    fn parse(text: &'a str) -> Option<Self> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        if rest == "Infinity" {
            let text = &[][..];
            let (lead, trail, exponent) = (0, 0, i64::MAX);
            return Some(Decimal {
                negative,
                text,
                lead,
                trail,
                exponent,
            });
        }
        let (coefficient, exp) = match rest.split_once(['E', 'e']) {
            Some((c, e)) => (c, e.parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let bytes = coefficient.as_bytes();
        if bytes.is_empty() || !bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
            return None;
        }
        let frac = coefficient.split_once('.').map_or(0, |(_, f)| f.len());
        let lead = bytes
            .iter()
            .take_while(|&&b| b == b'0' || b == b'.')
            .count();
        let trail = bytes
            .iter()
            .rev()
            .take_while(|&&b| b == b'0' || b == b'.')
            .count();
        if lead == bytes.len() {
            // Zero, whatever its sign and exponent.
            let (text, lead, trail) = (&[][..], 0, 0);
            return Some(Decimal {
                negative: false,
                text,
                lead,
                trail,
                exponent: 0,
            });
        }
        // Zeros after the point among the trailing ones lower the exponent less.
        let trailing_zeros = bytes
            .iter()
            .rev()
            .take(trail)
            .filter(|&&b| b == b'0')
            .count();
        let exponent = exp
            .checked_sub(i64::try_from(frac).ok()?)?
            .checked_add(i64::try_from(trailing_zeros).ok()?)?;
        Some(Decimal {
            negative,
            text: bytes,
            lead,
            trail,
            exponent,
        })
    }

    fn digits(self) -> impl Iterator<Item = u8> + 'a {
        let end = self.text.len().saturating_sub(self.trail);
        self.text
            .get(self.lead..end)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|&b| b != b'.')
    }
}

impl PartialEq for Decimal<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.negative == other.negative
            && self.exponent == other.exponent
            && self.digits().eq(other.digits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value() {
        let d = |t| Decimal::parse(t).unwrap();
        for (a, b) in [
            ("1.0", "1"),
            ("1.00", "1"),
            ("1E+1", "10"),
            ("0", "-0.00"),
            ("0E-8", "0"),
            ("123.4560", "123.456"),
            ("-1.2E+40", "-12E+39"),
            ("0.0010", "0.001"),
            ("100", "1E+2"),
            ("Infinity", "Infinity"),
        ] {
            assert!(d(a) == d(b), "{a} == {b}");
            assert_eq!(
                hash(Key::Decimal(d(a))),
                hash(Key::Decimal(d(b))),
                "{a} {b}"
            );
        }
        for (a, b) in [
            ("1", "-1"),
            ("1", "10"),
            ("0.1", "1"),
            ("12", "21"),
            ("Infinity", "-Infinity"),
            ("1E+2", "1E+3"),
        ] {
            assert!(d(a) != d(b), "{a} != {b}");
        }
        assert!(Decimal::parse("NaN").is_none());
        assert!(Decimal::parse("-sNaN12").is_none());
    }

    #[test]
    fn ranges_compare_as_sequences() {
        assert!(range(0, 0, 1) == range(5, 5, 3));
        assert!(range(0, 3, 2) == range(0, 4, 2));
        assert!(range(1, 2, 1) == range(1, 0, -5).or(range(1, 2, 7)));
        assert!(range(0, 3, 1) != range(0, 3, 2));
        assert!(range(-3, -30, -7) == range(-3, -29, -7));
    }

    #[test]
    fn ordinal_days_match_cpython() {
        // date.toordinal() - 1
        for (y, m, d, want) in [
            (1, 1, 1, 0),
            (2026, 12, 6, 739_955),
            (2024, 2, 29, 738_944),
            (9999, 12, 31, 3_652_058),
        ] {
            let date = Date {
                year: y,
                month: m,
                day: d,
            };
            assert_eq!(days(date), want, "{y}-{m}-{d}");
        }
    }

    /// Standard values as dict keys and set items (pickles built item by item, as no
    /// CPython dict writes equal keys): brine merges the ones CPython merges, keeps the
    /// ones it keeps, and refuses the collections as CPython's `TypeError` does.
    #[test]
    #[cfg(feature = "repr")] // compares with CPython's repr
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn standard_keys_merge_as_cpython_merges_them() {
        extern crate std;
        use crate::pickle::oracle::{python3, unhex};
        use crate::pickle::{Decoder, Value};
        use std::format;
        use std::string::String;
        use std::vec::Vec;
        let out = python3(
            r#"
import collections as C, datetime as dt, decimal, fractions, pickle, pickletools, uuid
D, F, utc = decimal.Decimal, fractions.Fraction, dt.timezone.utc
cet = dt.timezone(dt.timedelta(hours=1), 'CET')
plus1 = dt.timezone(dt.timedelta(hours=1))
keys = [
    [dt.datetime(2026, 1, 1, 12), dt.datetime(2026, 1, 1, 12)],
    [dt.datetime(2026, 1, 1, 12, tzinfo=utc), dt.datetime(2026, 1, 1, 13, tzinfo=cet)],
    [dt.datetime(2026, 1, 1, 12), dt.datetime(2026, 1, 1, 12, tzinfo=utc)],
    [dt.datetime(2026, 1, 1, 0, 30, tzinfo=plus1), dt.datetime(2025, 12, 31, 23, 30, tzinfo=utc)],
    [dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.datetime(2026, 1, 1)],
    [dt.time(12), dt.time(12), dt.time(12, tzinfo=utc), dt.time(13, tzinfo=cet)],
    [dt.timedelta(1), dt.timedelta(hours=24), dt.timedelta(-1), dt.timedelta(0)],
    [cet, plus1, utc, dt.timezone(dt.timedelta(0), 'Z')],
    [D('1.0'), D('1'), D('1.00'), D('0'), D('-0.0'), D('1E+1'), D('10'), D('-1')],
    [D('NaN'), D('NaN'), D('Infinity'), D('Infinity'), D('-Infinity')],
    [uuid.UUID(int=5), uuid.UUID(int=5), uuid.UUID(int=6)],
    [F(1, 3), F(1, 3), F(-1, 3)],
    [1 + 2j, 1 + 2j, complex(0, 0), complex(-0.0, 0), complex(0, -0.0)],
    [range(0), range(5, 5), range(0, 3, 2), range(0, 4, 2), range(1, 2), range(1, 0, -3)],
    [(dt.date(2026, 1, 1), 1), (dt.date(2026, 1, 1), 1), 'x', 7],
    [C.OrderedDict()], [C.Counter()], [C.deque()], [C.defaultdict(list)], [(1, C.deque())],
]
def body(v, p):
    return pickletools.optimize(pickle.dumps(v, p))[2:-1]
for ks in keys:
    for p in (2, 3):
        builtins = b'__builtin__' if p == 2 else b'builtins'
        items = b''.join(body(k, p) + body(i, p) for i, k in enumerate(ks))
        members = b''.join(body(k, p) for k in ks)
        for pk in [b'\x80' + bytes([p]) + b'}(' + items + b'u.',
                   b'\x80' + bytes([p]) + b'c' + builtins + b'\nset\n](' + members + b'e\x85R.']:
            try:
                v = pickle.loads(pk)
                out = 'SET' + '|'.join(sorted(map(repr, v))) if isinstance(v, set) else repr(v)
            except TypeError as e:
                out = 'TypeError: ' + str(e)
            print(pk.hex(), out.encode().hex())
"#,
        );
        let mut n = 0;
        for line in out.lines() {
            let (pickle, want) = line.split_once(' ').unwrap();
            let (pickle, want) = (unhex(pickle), String::from_utf8(unhex(want)).unwrap());
            let mut d: Decoder = Decoder::new();
            let got = match d.decode(&pickle) {
                // CPython's set order follows per-process hashes: items compared sorted.
                Ok(Value::Set(items)) => {
                    let mut shown: Vec<String> = items.iter().map(|v| format!("{v}")).collect();
                    shown.sort();
                    format!("SET{}", shown.join("|"))
                }
                Ok(v) => format!("{v}"),
                Err(e) => format!("{e}"),
            };
            match want.strip_prefix("TypeError: ") {
                Some(reason) => assert!(got.contains(reason), "{got}\n  want {want}"),
                None => assert_eq!(got, want),
            }
            n += 1;
        }
        assert_eq!(n, 20 * 4);
    }
}
