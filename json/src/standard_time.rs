//! JSON → the time types: `{"$datetime": ...}`, `{"$time": ...}`, `{"$timedelta": ...}`,
//! `{"$timezone": ...}`. Each takes the string `brine pickle decode --format json` writes for
//! the value (ISO 8601, as `isoformat()` writes it; a timedelta as an exact duration; a
//! timezone as its offset); what that string cannot say (a time zone's name, `fold`) is
//! written with an object instead: `{"iso": ..., "tzname": ..., "fold": 1}`,
//! `{"offset": ..., "name": ...}`.

use brine_core::pickle::PyStandard;

use crate::standard::{date, fields, kind, num};
use crate::Python;

/// Microseconds in a second and in a day.
const SECOND: i128 = 1_000_000;
const DAY: i128 = 86_400 * SECOND;

/// The value of form `key`, if it is one of this file's forms.
pub(crate) fn standard(key: &[u8], value: &Python) -> Option<Result<PyStandard, String>> {
    Some(match key {
        b"$datetime" => wall_clock("$datetime", value),
        b"$time" => wall_clock("$time", value),
        b"$timedelta" => timedelta(value),
        b"$timezone" => timezone(value),
        _ => return None,
    })
}

const DATETIME_TEXT: &str = "a datetime as datetime.isoformat() writes it (\"2026-12-06T14:00:00\", \"2026-12-06T14:00:00.000123+01:00\"; \"Z\" for +00:00)";
const TIME_TEXT: &str = "a time as time.isoformat() writes it (\"14:00:00\", \"14:00:00.000123-05:30\"; \"Z\" for +00:00)";
const OFFSET_TEXT: &str = "a UTC offset as isoformat() writes it, strictly within a day (\"+01:00\", \"-05:30\", \"+05:30:15.000001\"; \"Z\" for +00:00)";
const DURATION_TEXT: &str = "a duration as brine's JSON writes a timedelta (\"P1DT2.000003S\", \"-PT0.000001S\", \"PT0S\": an optional -, P, days D, T, seconds with up to 6 decimals S), within timedelta.min and timedelta.max";

/// `$datetime` or `$time`: its ISO string, or `{"iso": ..., "tzname": ..., "fold": 0|1}`.
fn wall_clock(form: &str, value: &Python) -> Result<PyStandard, String> {
    let (iso, tzname, fold) = match value {
        Python::Str(_) => (value, None, None),
        Python::Dict(_) => match fields(form, value, ["iso", "tzname", "fold"])? {
            [Some(iso), tzname, fold] => (iso, tzname, fold),
            [None, ..] => {
                return Err(format!(
                    "{{\"{form}\": ...}}: \"iso\" is missing (the {} as isoformat() writes it)",
                    &form[1..]
                ))
            }
        },
        other => {
            return Err(format!(
                "{{\"{form}\": ...}} takes a string or an object {{\"iso\": ..., \"tzname\": ..., \"fold\": 0 or 1}}, not {}",
                kind(other)
            ))
        }
    };
    let Python::Str(text) = iso else {
        return Err(format!(
            "{{\"{form}\": ...}}: \"iso\" must be a string, not {}",
            kind(iso)
        ));
    };
    let text = String::from_utf8_lossy(text);
    let (what, parsed) = if form == "$datetime" {
        (DATETIME_TEXT, parse_datetime(&text))
    } else {
        (TIME_TEXT, parse_time(&text))
    };
    let (mut v, offset) = parsed.ok_or_else(|| format!("{{\"{form}\": {text:?}}}: not {what}"))?;
    let name = match tzname {
        None => None,
        Some(Python::Str(name)) if offset.is_some() => Some(text_of(form, "tzname", name)?),
        Some(Python::Str(_)) => {
            return Err(format!(
                "{{\"{form}\": ...}}: \"tzname\" needs a UTC offset in \"iso\" ({text:?} has none)"
            ))
        }
        Some(other) => {
            return Err(format!(
                "{{\"{form}\": ...}}: \"tzname\" must be a string, not {}",
                kind(other)
            ))
        }
    };
    if let Some(offset) = offset {
        v = v
            .with_timezone(offset, name.as_deref())
            .ok_or_else(|| format!("{{\"{form}\": {text:?}}}: not {what}"))?;
    }
    match fold {
        None => Ok(v),
        Some(Python::Int(f)) if f == "0" => Ok(v),
        Some(Python::Int(f)) if f == "1" => v
            .with_fold()
            .ok_or_else(|| format!("{{\"{form}\": ...}}: fold")),
        Some(other) => Err(format!(
            "{{\"{form}\": ...}}: \"fold\" must be 0 or 1, not {}",
            match other {
                Python::Int(f) => f.clone(),
                other => kind(other).to_owned(),
            }
        )),
    }
}

/// A name as UTF-8; a lone surrogate is refused.
fn text_of(form: &str, key: &str, bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        format!("{{\"{form}\": ...}}: \"{key}\" holds a lone surrogate, which brine does not write in a time zone's name")
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff][offset]`: the naive datetime and the offset.
fn parse_datetime(text: &str) -> Option<(PyStandard, Option<i64>)> {
    let (y, mo, d) = date(text.get(..10)?)?;
    if text.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    let (h, mi, s, us, offset) = clock(text.get(11..)?)?;
    Some((PyStandard::datetime(y, mo, d, h, mi, s, us)?, offset))
}

/// `HH:MM:SS[.ffffff][offset]`: the naive time and the offset.
fn parse_time(text: &str) -> Option<(PyStandard, Option<i64>)> {
    let (h, mi, s, us, offset) = clock(text)?;
    Some((PyStandard::time(h, mi, s, us)?, offset))
}

/// `HH:MM:SS[.ffffff]` and an optional offset.
fn clock(text: &str) -> Option<(u8, u8, u8, u32, Option<i64>)> {
    let b = text.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (num(text, 0, 2)?, num(text, 3, 2)?, num(text, 6, 2)?);
    let (us, rest) = match b.get(8) {
        Some(b'.') => (num(text, 9, 6)?, text.get(15..)?),
        _ => (0, text.get(8..)?),
    };
    let offset = if rest.is_empty() {
        None
    } else {
        Some(parse_offset(rest)?)
    };
    Some((
        h.try_into().ok()?,
        m.try_into().ok()?,
        s.try_into().ok()?,
        us,
        offset,
    ))
}

/// `Z` or `±HH:MM[:SS[.ffffff]]`, in microseconds, strictly within a day.
fn parse_offset(text: &str) -> Option<i64> {
    if text == "Z" {
        return Some(0);
    }
    let b = text.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if !matches!(b.len(), 6 | 9 | 16) || b[3] != b':' {
        return None;
    }
    let (h, m) = (num(text, 1, 2)?, num(text, 4, 2)?);
    let s = if b.len() > 6 {
        (b[6] == b':').then_some(())?;
        num(text, 7, 2)?
    } else {
        0
    };
    let us = if b.len() == 16 {
        (b[9] == b'.').then_some(())?;
        num(text, 10, 6)?
    } else {
        0
    };
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let total = ((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s)) * 1_000_000;
    Some(sign * (total + i64::from(us)))
}

/// `$timedelta`: `-?P[nD][Tn[.f]S]`.
fn timedelta(value: &Python) -> Result<PyStandard, String> {
    let Python::Str(text) = value else {
        return Err(format!(
            "{{\"$timedelta\": ...}} takes a string ({DURATION_TEXT}), not {}",
            kind(value)
        ));
    };
    let text = String::from_utf8_lossy(text);
    duration(&text)
        .and_then(PyStandard::timedelta)
        .ok_or_else(|| format!("{{\"$timedelta\": {text:?}}}: not {DURATION_TEXT}"))
}

/// An ISO 8601 duration of days and seconds, in microseconds.
fn duration(text: &str) -> Option<i128> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let rest = rest.strip_prefix('P')?;
    let (days, rest) = match rest.split_once('D') {
        Some((days, rest)) => (Some(digits(days)?), rest),
        None => (None, rest),
    };
    let seconds = match rest {
        "" => None,
        _ => {
            let s = rest.strip_prefix('T')?.strip_suffix('S')?;
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            if frac.len() > 6 || (s.contains('.') && frac.is_empty()) {
                return None;
            }
            let frac = if frac.is_empty() {
                0
            } else {
                digits(frac)? * 10i128.pow(6 - frac.len() as u32)
            };
            Some(digits(whole)?.checked_mul(SECOND)?.checked_add(frac)?)
        }
    };
    if days.is_none() && seconds.is_none() {
        return None;
    }
    let total = days
        .unwrap_or(0)
        .checked_mul(DAY)?
        .checked_add(seconds.unwrap_or(0))?;
    Some(if negative { -total } else { total })
}

/// ASCII digits (1 to 30 of them) as a number.
fn digits(s: &str) -> Option<i128> {
    if s.is_empty() || s.len() > 30 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `$timezone`: its offset, or `{"offset": ..., "name": ...}`.
fn timezone(value: &Python) -> Result<PyStandard, String> {
    let (offset, name) = match value {
        Python::Str(_) => (value, None),
        Python::Dict(_) => match fields("$timezone", value, ["offset", "name"])? {
            [Some(offset), name] => (offset, name),
            [None, _] => {
                return Err(format!(
                    "{{\"$timezone\": ...}}: \"offset\" is missing ({OFFSET_TEXT})"
                ))
            }
        },
        other => {
            return Err(format!(
                "{{\"$timezone\": ...}} takes a string ({OFFSET_TEXT}) or an object {{\"offset\": ..., \"name\": ...}}, not {}",
                kind(other)
            ))
        }
    };
    let Python::Str(text) = offset else {
        return Err(format!(
            "{{\"$timezone\": ...}}: \"offset\" must be a string ({OFFSET_TEXT}), not {}",
            kind(offset)
        ));
    };
    let text = String::from_utf8_lossy(text);
    let name = match name {
        None => None,
        Some(Python::Str(name)) => Some(text_of("$timezone", "name", name)?),
        Some(other) => {
            return Err(format!(
                "{{\"$timezone\": ...}}: \"name\" must be a string, not {}",
                kind(other)
            ))
        }
    };
    parse_offset(&text)
        .and_then(|offset| PyStandard::timezone(offset, name.as_deref()))
        .ok_or_else(|| format!("{{\"$timezone\": {text:?}}}: not {OFFSET_TEXT}"))
}
