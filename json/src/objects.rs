//! Objects → JSON: the standard types as the data they hold (ISO 8601 for dates and times,
//! strings where a number would be rounded), stubs as objects that carry the dotted name
//! under a `$` key no dict from a pickle is mistaken for (the mapping is in the crate's
//! documentation).

use core::fmt::{self, Write};

use brine_core::pickle::{Date, Object, Standard, Time, TimeDelta, TimeZone, Value};

use crate::out::{write_json, write_key_as, write_text, Surrogates};

/// Writes object `o` as JSON.
pub(crate) fn write_object<W: Write + ?Sized>(
    w: &mut W,
    o: &Object<'_>,
    how: Surrogates,
) -> fmt::Result {
    match o.standard() {
        Some(value) => write_standard(w, o, value, how),
        None => write_stub(w, o, how),
    }
}

fn write_standard<W: Write + ?Sized>(
    w: &mut W,
    o: &Object<'_>,
    value: Standard<'_>,
    how: Surrogates,
) -> fmt::Result {
    match value {
        Standard::DateTime(date, time, tz) => {
            w.write_char('"')?;
            write_date(w, date)?;
            w.write_char('T')?;
            write_time(w, time)?;
            if let Some(tz) = tz {
                write_offset(w, tz.offset)?;
            }
            w.write_char('"')
        }
        Standard::Date(date) => {
            w.write_char('"')?;
            write_date(w, date)?;
            w.write_char('"')
        }
        Standard::Time(time, tz) => {
            w.write_char('"')?;
            write_time(w, time)?;
            if let Some(tz) = tz {
                write_offset(w, tz.offset)?;
            }
            w.write_char('"')
        }
        Standard::TimeDelta(delta) => write_duration(w, delta),
        Standard::TimeZone(TimeZone { offset, .. }) => {
            w.write_char('"')?;
            write_offset(w, offset)?;
            w.write_char('"')
        }
        Standard::Decimal(text) => write!(w, "\"{text}\""),
        Standard::Complex(re, im) => {
            w.write_str("{\"real\":")?;
            write_json(w, &Value::Float(re), how)?;
            w.write_str(",\"imag\":")?;
            write_json(w, &Value::Float(im), how)?;
            w.write_char('}')
        }
        Standard::Fraction(n, 1) => write!(w, "\"{n}\""),
        Standard::Fraction(n, d) => write!(w, "\"{n}/{d}\""),
        Standard::Uuid(n) => {
            w.write_char('"')?;
            for (i, b) in n.to_be_bytes().iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    w.write_char('-')?;
                }
                write!(w, "{b:02x}")?;
            }
            w.write_char('"')
        }
        Standard::OrderedDict(items) | Standard::DefaultDict(_, items) => match items {
            Some(d) => write_json(w, &Value::Dict(d), how),
            None => w.write_str("{}"),
        },
        Standard::Counter(d) => write_json(w, &Value::Dict(d), how),
        Standard::Deque(items, _) => match items {
            Some(s) => write_json(w, &Value::List(s), how),
            None => w.write_str("[]"),
        },
        Standard::Range(a, b, c) => write!(w, "{{\"start\":{a},\"stop\":{b},\"step\":{c}}}"),
        Standard::Slice(a, b, c) => {
            w.write_str("{\"start\":")?;
            write_json(w, &a, how)?;
            w.write_str(",\"stop\":")?;
            write_json(w, &b, how)?;
            w.write_str(",\"step\":")?;
            write_json(w, &c, how)?;
            w.write_char('}')
        }
        // A standard type added to brine-core after this crate: its parts.
        _ => write_stub(w, o, how),
    }
}

/// `{"$global": "m.f"}`, `{"$call": "m.f", "args": [...]}` or
/// `{"$object": "m.C", "args": [...]}`, then `"kwargs"`, `"state"`, `"items"`,
/// `"dict_items"` where the pickle gave them.
fn write_stub<W: Write + ?Sized>(w: &mut W, o: &Object<'_>, how: Surrogates) -> fmt::Result {
    if o.is_cycle() {
        return w.write_str("{\"$cycle\":\"<...>\"}");
    }
    let key = if o.is_reference() {
        "$global"
    } else if o.is_call() {
        "$call"
    } else {
        "$object"
    };
    write!(w, "{{\"{key}\":")?;
    let name = [o.module(), ".", o.name()];
    write_text(w, name.iter().flat_map(|s| s.chars()).map(u32::from), how)?;
    if o.is_reference() {
        return w.write_char('}');
    }
    w.write_str(",\"args\":")?;
    match o.args() {
        Some(args) => write_json(w, &Value::Tuple(args), how)?,
        None => w.write_str("[]")?,
    }
    if let Some(kwargs) = o.kwargs() {
        w.write_str(",\"kwargs\":")?;
        write_json(w, &Value::Dict(kwargs), how)?;
    }
    if let Some(state) = o.state() {
        w.write_str(",\"state\":")?;
        write_json(w, &state, how)?;
    }
    if let Some(items) = o.list_items() {
        w.write_str(",\"items\":")?;
        write_json(w, &Value::List(items), how)?;
    }
    if let Some(items) = o.dict_items() {
        w.write_str(",\"dict_items\":{")?;
        for (i, (k, v)) in items.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            write_key_as(w, &k, how)?;
            w.write_char(':')?;
            write_json(w, &v, how)?;
        }
        w.write_char('}')?;
    }
    w.write_char('}')
}

fn write_date<W: Write + ?Sized>(w: &mut W, d: Date) -> fmt::Result {
    write!(w, "{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// `HH:MM:SS` and `.ffffff` when there are microseconds, as `isoformat()` writes.
fn write_time<W: Write + ?Sized>(w: &mut W, t: Time) -> fmt::Result {
    write!(w, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second)?;
    if t.microsecond != 0 {
        write!(w, ".{:06}", t.microsecond)?;
    }
    Ok(())
}

/// A UTC offset as `isoformat()` writes it: `+HH:MM`, with `:SS` and `.ffffff` when present.
fn write_offset<W: Write + ?Sized>(w: &mut W, offset: TimeDelta) -> fmt::Result {
    let total = offset.total_microseconds();
    let sign = if total < 0 { '-' } else { '+' };
    let us = total.unsigned_abs();
    let (secs, micros) = (us / 1_000_000, us % 1_000_000);
    write!(w, "{sign}{:02}:{:02}", secs / 3600, secs / 60 % 60)?;
    if secs % 60 != 0 || micros != 0 {
        write!(w, ":{:02}", secs % 60)?;
    }
    if micros != 0 {
        write!(w, ".{micros:06}")?;
    }
    Ok(())
}

/// A timedelta as an ISO 8601 duration of days and seconds, exact: `"P1DT2.000003S"`,
/// `"-PT0.000001S"`, `"PT0S"`.
fn write_duration<W: Write + ?Sized>(w: &mut W, delta: TimeDelta) -> fmt::Result {
    let total = delta.total_microseconds();
    let us = total.unsigned_abs();
    let (days, rest) = (us / 86_400_000_000, us % 86_400_000_000);
    let (secs, micros) = (rest / 1_000_000, rest % 1_000_000);
    w.write_char('"')?;
    if total < 0 {
        w.write_char('-')?;
    }
    w.write_char('P')?;
    if days != 0 {
        write!(w, "{days}D")?;
    }
    if rest != 0 || days == 0 {
        write!(w, "T{secs}")?;
        if micros != 0 {
            write!(w, ".{micros:06}")?;
        }
        w.write_char('S')?;
    }
    w.write_char('"')
}

#[cfg(test)]
mod tests {
    use brine_core::pickle::Decoder;

    /// CPython 3.11's `pickle.dumps([...], 4)` of the standard types (see the list below)
    /// and their JSON forms.
    #[test]
    fn standard_types_as_json() {
        // [datetime(2026,12,6,14,0,0,123, tzinfo=timezone(-timedelta(hours=5, seconds=30))),
        //  date(2026,1,2), time(1,2,3), timedelta(-1,5,6), timedelta(), Decimal('-1.50'),
        //  Fraction(-1,3), Fraction(4), 1+2j, UUID(int=1), deque([1]), Counter('aab'),
        //  range(3), slice(None, 2)]
        let hex = "800495b0010000000000005d94288c086461746574696d65948c086461746574696d65949394430a07ea0c060e000000007b9468018c0874696d657a6f6e6594939468018c0974696d6564656c74619493944affffffff4a120b01004b0087945294859452948694529468018c0464617465949394430407ea0102948594529468018c0474696d659493944306010203000000948594529468084affffffff4b054b068794529468084b004b004b00879452948c07646563696d616c948c07446563696d616c9493948c052d312e353094859452948c096672616374696f6e73948c084672616374696f6e9493944affffffff4b038694529468254b044b01869452948c086275696c74696e73948c07636f6d706c6578949394473ff0000000000000474000000000000000869452948c0475756964948c04555549449493942981947d948c03696e74944b0173628c0b636f6c6c656374696f6e73948c0564657175659493942952944b016168358c07436f756e7465729493947d94288c0161944b028c0162944b017585945294682a8c0572616e67659493944b004b034b0187945294682a8c05736c6963659493944e4b024e87945294652e";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut d: Decoder = Decoder::new();
        let value = d.decode(&bytes).unwrap();
        let mut json = String::new();
        crate::write_value(&mut json, &value).unwrap();
        assert_eq!(
            json,
            concat!(
                r#"["2026-12-06T14:00:00.000123-05:00:30","2026-01-02","01:02:03","#,
                r#""-PT86394.999994S","PT0S","-1.50","-1/3","4",{"real":1.0,"imag":2.0},"#,
                r#""00000000-0000-0000-0000-000000000001",[1],{"a":2,"b":1},"#,
                r#"{"start":0,"stop":3,"step":1},{"start":null,"stop":2,"step":null}]"#
            )
        );
    }

    /// A stub's JSON carries its dotted name under a `$` key; refused without stubs.
    #[test]
    fn stubs_as_json() {
        let pickle = b"cposix\nsystem\n(S'echo hi'\ntR.";
        let mut d: Decoder = Decoder::new();
        assert!(d.decode(pickle).is_err());
        d.allow_stubs(true);
        let value = d.decode(pickle).unwrap();
        let mut json = String::new();
        crate::write_value(&mut json, &value).unwrap();
        assert_eq!(json, r#"{"$call":"posix.system","args":["echo hi"]}"#);
    }
}
