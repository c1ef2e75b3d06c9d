//! `datetime.datetime` (naive or aware, with `fold`), `datetime.time`, `datetime.timedelta`
//! and `datetime.timezone` as [`PyStandard`]s, written as `pickle.dumps` writes them.
//!
//! CPython pickles each as REDUCE of its class: a datetime or time with its state bytes
//! (`fold` is bit 7 of the month or hour byte in protocols 4-5 only: 2-3 drop it), then its
//! `tzinfo`; a timedelta with `(days, seconds, microseconds)`; a timezone with
//! `(timedelta,)` or `(timedelta, name)`. `timezone.utc` is one object in Python (so is
//! `timezone(timedelta(0))`): written once per pickle, then referenced; any other time zone
//! is a new object each time. (CPython 3.13 also makes `timedelta(0)` one object, so it
//! refers back to a second zero timedelta in one pickle; 3.8-3.12 and brine write it again.)
//!
//! Payloads (after the tag): a datetime's 10 state bytes (naive, no fold) or its state, a
//! fold byte and a time zone; a time's 6 state bytes, a fold byte and a time zone; a
//! timedelta's days (i32), seconds and microseconds (u32), big-endian; a timezone's time
//! zone. A time zone is nothing (naive), [`UTC`], or [`OFFSET`] or [`NAMED`] then its offset
//! as a timedelta (and the name's UTF-8).

extern crate alloc;

use alloc::vec::Vec;

use super::standard::{bad, Class, DATETIME, TIME, TIMEDELTA, TIMEZONE};
use super::text::Utf8;
use super::{Error, Opcode, PyStandard, Serializer};
use crate::pickle::objects::shape::valid_time;

/// A time zone's first byte: `timezone.utc`, an offset without a name, with a name.
const UTC: u8 = 0;
const OFFSET: u8 = 1;
const NAMED: u8 = 2;

/// Microseconds in a day.
const DAY: i128 = 86_400_000_000;
/// `timedelta.max.days`.
const MAX_DAYS: i128 = 999_999_999;

impl PyStandard {
    /// A naive `datetime.time(hour, minute, second, microsecond)`; `None` if Python would
    /// refuse it. See [`with_timezone`](Self::with_timezone), [`with_fold`](Self::with_fold).
    pub fn time(hour: u8, minute: u8, second: u8, microsecond: u32) -> Option<Self> {
        valid_time(hour, minute, second, microsecond).then_some(())?;
        let [_, a, b, c] = microsecond.to_be_bytes();
        Some(Self::tagged(TIME, &[hour, minute, second, a, b, c, 0]))
    }

    /// The `datetime.timedelta` of `microseconds` (`timedelta(microseconds=n)`), kept as
    /// Python keeps it (`days`, `0 <= seconds < 86400`, `0 <= microseconds < 10**6`); `None`
    /// outside `timedelta.min..=timedelta.max`.
    pub fn timedelta(microseconds: i128) -> Option<Self> {
        Some(Self::tagged(TIMEDELTA, &delta_bytes(microseconds)?))
    }

    /// `datetime.timezone(timedelta(microseconds=offset), name)`: `timezone.utc` for a zero
    /// offset without a name (in Python `timezone(timedelta(0))` is that very object).
    /// `None` unless the offset is strictly within a day, as Python requires.
    pub fn timezone(offset_microseconds: i64, name: Option<&str>) -> Option<Self> {
        let mut payload = Vec::from([TIMEZONE]);
        push_zone(&mut payload, offset_microseconds, name)?;
        Some(PyStandard { payload })
    }

    /// This datetime or time with `tzinfo` a `datetime.timezone` (as
    /// [`timezone`](Self::timezone)); `None` for another type, one that has a time zone
    /// already, or an offset not strictly within a day.
    pub fn with_timezone(mut self, offset_microseconds: i64, name: Option<&str>) -> Option<Self> {
        let state = self.extend_time()?;
        if self.payload.len() != 1 + state + 1 {
            return None;
        }
        push_zone(&mut self.payload, offset_microseconds, name)?;
        Some(self)
    }

    /// This datetime or time with `fold=1` (the second of two equal wall times, PEP 495).
    /// Protocols 4-5 keep it; CPython drops it in protocols 2-3, and so does brine. `None`
    /// for another type.
    pub fn with_fold(mut self) -> Option<Self> {
        let state = self.extend_time()?;
        *self.payload.get_mut(1 + state)? = 1;
        Some(self)
    }

    /// Adds the fold byte to a naive datetime's payload; the length of the state bytes of a
    /// datetime or time, `None` for another type.
    fn extend_time(&mut self) -> Option<usize> {
        match *self.payload.first()? {
            DATETIME => {
                if self.payload.len() == 11 {
                    self.payload.push(0);
                }
                Some(10)
            }
            TIME => Some(6),
            _ => None,
        }
    }
}

/// A timedelta of `us` microseconds: days (i32), seconds, microseconds (u32), big-endian.
fn delta_bytes(us: i128) -> Option<[u8; 12]> {
    let days = us.div_euclid(DAY);
    if !(-MAX_DAYS..=MAX_DAYS).contains(&days) {
        return None;
    }
    let rest = us.rem_euclid(DAY);
    let days = i32::try_from(days).ok()?.to_be_bytes();
    let secs = u32::try_from(rest / 1_000_000).ok()?.to_be_bytes();
    let micros = u32::try_from(rest % 1_000_000).ok()?.to_be_bytes();
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(&days);
    out[4..8].copy_from_slice(&secs);
    out[8..].copy_from_slice(&micros);
    Some(out)
}

/// Appends a time zone (see the file's documentation).
fn push_zone(payload: &mut Vec<u8>, offset: i64, name: Option<&str>) -> Option<()> {
    if offset.unsigned_abs() >= DAY as u64 {
        return None;
    }
    match name {
        None if offset == 0 => payload.push(UTC),
        None => {
            payload.push(OFFSET);
            payload.extend_from_slice(&delta_bytes(offset.into())?);
        }
        Some(name) => {
            payload.push(NAMED);
            payload.extend_from_slice(&delta_bytes(offset.into())?);
            payload.extend_from_slice(name.as_bytes());
        }
    }
    Some(())
}

impl<const MEMO: usize> Serializer<'_, MEMO> {
    /// Writes a datetime, time, timedelta or timezone payload.
    pub(super) fn save_time_type(&mut self, payload: &[u8]) -> Result<(), Error> {
        match payload {
            [DATETIME, state @ ..] if state.len() == 10 => {
                self.save_class(Class::DateTime)?;
                self.save_fresh_bytes(state)?;
                self.reduce_one()
            }
            [DATETIME, rest @ ..] if rest.len() > 10 => {
                self.save_class(Class::DateTime)?;
                // fold: the month's bit 7.
                self.save_time_state::<10>(rest, 2)
            }
            [TIME, rest @ ..] if rest.len() > 6 => {
                self.save_class(Class::Time)?;
                // fold: the hour's bit 7.
                self.save_time_state::<6>(rest, 0)
            }
            [TIMEDELTA, delta @ ..] => self.save_timedelta(delta).map(|_| ()),
            [TIMEZONE, zone @ ..] if !zone.is_empty() => self.save_zone(zone),
            _ => Err(bad()),
        }
    }

    /// The `N` state bytes (with `fold` at byte `fold_at` in protocols 4-5), the time zone
    /// if any, and the REDUCE of the class written before.
    fn save_time_state<const N: usize>(
        &mut self,
        rest: &[u8],
        fold_at: usize,
    ) -> Result<(), Error> {
        let (state, rest) = rest.split_at(N);
        let (&fold, zone) = rest.split_first().ok_or_else(bad)?;
        let mut state: [u8; N] = state.try_into().map_err(|_| bad())?;
        if fold == 1 && self.proto >= 4 {
            if let Some(b) = state.get_mut(fold_at) {
                *b |= 0x80;
            }
        }
        self.save_fresh_bytes(&state)?;
        if zone.is_empty() {
            return self.reduce_one();
        }
        self.save_zone(zone)?;
        self.reduce(Opcode::TUPLE2).map(|_| ())
    }

    /// A timedelta from its 12 payload bytes; its memo index.
    fn save_timedelta(&mut self, delta: &[u8]) -> Result<u32, Error> {
        let field = |at: usize| -> Result<[u8; 4], Error> {
            delta
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(bad)
        };
        if delta.len() != 12 {
            return Err(bad());
        }
        self.save_class(Class::TimeDelta)?;
        self.save_i64(i32::from_be_bytes(field(0)?).into())?;
        self.save_i64(u32::from_be_bytes(field(4)?).into())?;
        self.save_i64(u32::from_be_bytes(field(8)?).into())?;
        self.reduce(Opcode::TUPLE3)
    }

    /// A time zone (see the file's documentation); `timezone.utc` once, then referenced.
    fn save_zone(&mut self, zone: &[u8]) -> Result<(), Error> {
        const ZERO: [u8; 12] = [0; 12];
        let (delta, name) = match zone {
            [UTC] => {
                if let Some(index) = self.classes.table().utc {
                    self.begin_save()?;
                    return self.memo_get(index);
                }
                (&ZERO[..], None)
            }
            [OFFSET, delta @ ..] if delta.len() == 12 => (delta, None),
            [NAMED, rest @ ..] if rest.len() >= 12 => {
                let (delta, name) = rest.split_at(12);
                let name = core::str::from_utf8(name).map_err(|_| bad())?;
                (delta, Some(name))
            }
            _ => return Err(bad()),
        };
        self.save_class(Class::TimeZone)?;
        self.save_timedelta(delta)?;
        let index = match name {
            // The name: the str object the timezone holds, shared with an equal str only
            // when CPython's are one object (the empty str and one Latin-1 character).
            Some(name) => {
                let mut chars = name.chars();
                let singleton = match (chars.next(), chars.next()) {
                    (None, _) => true,
                    (Some(c), None) => u32::from(c) < 256,
                    _ => false,
                };
                self.save_text(&Utf8(name), singleton)?;
                self.reduce(Opcode::TUPLE2)?
            }
            None => self.reduce(Opcode::TUPLE1)?,
        };
        if zone == [UTC] {
            self.classes.table().utc = Some(index);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use alloc::vec;

    use super::super::super::oracle::unhex;
    use super::super::super::{to_vec, Protocol};
    use super::PyStandard;

    /// CPython 3.11's `pickle.dumps([datetime(2026, 12, 6, 14, 0, tzinfo=timezone.utc),
    /// time(14, 0, tzinfo=timezone.utc)], 2)`: utc written once, then referenced.
    #[test]
    fn utc_is_written_once() {
        let utc = |v: PyStandard| v.with_timezone(0, None).unwrap();
        let v = vec![
            utc(PyStandard::datetime(2026, 12, 6, 14, 0, 0, 0).unwrap()),
            utc(PyStandard::time(14, 0, 0, 0).unwrap()),
        ];
        assert_eq!(
            to_vec(&v, Protocol::V2).unwrap(),
            unhex("80025d710028636461746574696d650a6461746574696d650a7101635f636f646563730a656e636f64650a7102580b00000007c3aa0c060e0000000000710358060000006c6174696e317104867105527106636461746574696d650a74696d657a6f6e650a7107636461746574696d650a74696d6564656c74610a71084b004b004b0087710952710a85710b52710c86710d52710e636461746574696d650a74696d650a710f680258060000000e000000000071106804867111527112680c867113527114652e")
        );
    }

    /// `time(1, 2, 3, 4, tzinfo=timezone(-timedelta(hours=1), 'X Y'), fold=1)`: protocol 4
    /// keeps fold (the hour's bit 7), protocol 3 drops it, as CPython 3.11.
    #[test]
    fn fold_is_kept_from_protocol_4() {
        let t = PyStandard::time(1, 2, 3, 4)
            .and_then(|t| t.with_timezone(-3_600_000_000, Some("X Y")))
            .and_then(PyStandard::with_fold)
            .unwrap();
        assert_eq!(
            to_vec(&t, Protocol::V4).unwrap(),
            unhex("8004955b000000000000008c086461746574696d65948c0474696d6594939443068102030000049468008c0874696d657a6f6e6594939468008c0974696d6564656c74619493944affffffff4a704301004b00879452948c035820599486945294869452942e")
        );
        assert_eq!(
            to_vec(&t, Protocol::V3).unwrap(),
            unhex("8003636461746574696d650a74696d650a710043060102030000047101636461746574696d650a74696d657a6f6e650a7102636461746574696d650a74696d6564656c74610a71034affffffff4a704301004b008771045271055803000000582059710686710752710886710952710a2e")
        );
    }

    /// `timedelta(-1, 5, 6)` (`-timedelta(seconds=86394, microseconds=999994)`) in protocol 4.
    #[test]
    fn timedelta_is_kept_as_python_keeps_it() {
        let d = PyStandard::timedelta(-86_394_999_994).unwrap();
        assert_eq!(
            to_vec(&d, Protocol::V4).unwrap(),
            unhex("80049527000000000000008c086461746574696d65948c0974696d6564656c74619493944affffffff4b054b06879452942e")
        );
    }

    /// What Python refuses, brine does not make.
    #[test]
    fn out_of_range_values_are_none() {
        let day = 86_400_000_000;
        assert!(PyStandard::time(24, 0, 0, 0).is_none());
        assert!(PyStandard::time(0, 0, 0, 1_000_000).is_none());
        assert!(PyStandard::timezone(day, None).is_none());
        assert!(PyStandard::timezone(-day, Some("x")).is_none());
        assert!(PyStandard::timezone(day - 1, None).is_some());
        assert!(PyStandard::timedelta(1_000_000_000 * i128::from(day)).is_none());
        assert!(PyStandard::timedelta(-999_999_999 * i128::from(day)).is_some());
        assert!(PyStandard::timedelta(-999_999_999 * i128::from(day) - 1).is_none());
        // A timezone, a date or a second time zone cannot be given a time zone or a fold.
        let tz = PyStandard::timezone(0, None).unwrap();
        assert!(tz.clone().with_fold().is_none());
        assert!(tz.with_timezone(0, None).is_none());
        assert!(PyStandard::date(2026, 1, 1).unwrap().with_fold().is_none());
        let aware = PyStandard::time(1, 0, 0, 0).unwrap().with_timezone(0, None);
        assert!(aware.unwrap().with_timezone(60_000_000, None).is_none());
    }
}
