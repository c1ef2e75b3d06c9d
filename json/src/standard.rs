//! JSON → Python's standard types, for the encoder: an object whose one key is a `$` form
//! (the `$` marks brine's forms, as in the JSON brine writes for objects). This file:
//! `$decimal`, `$uuid`, `$date` (the text `str()` of the value gives in Python), the
//! dispatch to the other files (`standard_time.rs`: `$datetime`, `$time`, `$timedelta`,
//! `$timezone`; `standard_numbers.rs`: `$complex`, `$fraction`, `$range`, `$slice`) and
//! what they share.

use brine_core::pickle::PyStandard;

use crate::Python;

/// The standard value `{key: value}` stands for: `None` if `key` is not one of the forms
/// (then the object is a dict), `Some(Err)` if it is one and `value` is not valid for it.
pub(crate) fn standard(key: &[u8], value: &Python) -> Option<Result<PyStandard, String>> {
    let form = match key {
        b"$decimal" => "$decimal",
        b"$uuid" => "$uuid",
        b"$date" => "$date",
        _ => {
            return crate::standard_time::standard(key, value)
                .or_else(|| crate::standard_numbers::standard(key, value))
        }
    };
    let Python::Str(text) = value else {
        return Some(Err(format!("{{\"{form}\": ...}} takes a string")));
    };
    let text = String::from_utf8_lossy(text);
    let parsed = match form {
        "$decimal" => PyStandard::decimal(&text),
        "$uuid" => uuid(&text).map(PyStandard::uuid),
        _ => date(&text).and_then(|(y, m, d)| PyStandard::date(y, m, d)),
    };
    Some(parsed.ok_or_else(|| {
        format!(
            "{{\"{form}\": {text:?}}}: not {}",
            match form {
                "$decimal" => "a decimal as Python's str(Decimal(...)) writes it (\"1.50\", \"-0.001\", \"NaN\"; no exponent)",
                "$uuid" => "a UUID as str(uuid.UUID(...)) writes it (\"12345678-1234-5678-1234-567812345678\")",
                _ => "a date as date.isoformat() writes it (\"2026-12-06\")",
            }
        )
    }))
}

/// The values of an object form's keys, in the order of `keys` (`None` where absent);
/// `Err` names the form, an unknown key and the keys it takes.
pub(crate) fn fields<'a, const N: usize>(
    form: &str,
    value: &'a Python,
    keys: [&str; N],
) -> Result<[Option<&'a Python>; N], String> {
    let takes = || {
        let names: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
        names.join(", ")
    };
    let Python::Dict(entries) = value else {
        return Err(format!(
            "{{\"{form}\": ...}} takes an object with the keys {}",
            takes()
        ));
    };
    let mut out = [None; N];
    for (key, item) in entries {
        match keys.iter().position(|k| k.as_bytes() == key.as_slice()) {
            Some(i) => out[i] = Some(item),
            None => {
                return Err(format!(
                    "{{\"{form}\": ...}}: unknown key {:?} (it takes {})",
                    String::from_utf8_lossy(key),
                    takes()
                ))
            }
        }
    }
    Ok(out)
}

/// An int that fits in an i64, for the key `key` of form `form`.
pub(crate) fn int64(form: &str, key: &str, value: &Python) -> Result<i64, String> {
    match value {
        Python::Int(text) => text.parse().map_err(|_| {
            format!("{{\"{form}\": ...}}: \"{key}\" is {text}, beyond what brine writes (an int from -2**63 to 2**63-1)")
        }),
        other => Err(format!(
            "{{\"{form}\": ...}}: \"{key}\" must be an int, not {}",
            kind(other)
        )),
    }
}

/// What a JSON value is, for errors.
pub(crate) fn kind(value: &Python) -> &'static str {
    match value {
        Python::None => "null",
        Python::Bool(_) => "a boolean",
        Python::Int(_) => "an int",
        Python::Float(_) => "a float",
        Python::Str(_) => "a string",
        Python::List(_) => "an array",
        Python::Dict(_) | Python::Standard(_) | Python::Collection(_) => "an object",
    }
}

/// `str(uuid.UUID(...))`: 32 lowercase hex digits in groups of 8-4-4-4-12.
fn uuid(text: &str) -> Option<u128> {
    let b = text.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let hex: String = text.chars().filter(|&c| c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

/// `n` ASCII digits of `text` at `at`.
pub(crate) fn num(text: &str, at: usize, n: usize) -> Option<u32> {
    let s = text.get(at..at + n)?;
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse().ok())?
}

/// `YYYY-MM-DD`.
pub(crate) fn date(text: &str) -> Option<(u16, u8, u8)> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    Some((
        num(text, 0, 4)? as u16,
        num(text, 5, 2)? as u8,
        num(text, 8, 2)? as u8,
    ))
}

#[cfg(test)]
mod tests {
    use brine_core::pickle::{to_vec, Protocol};

    /// Issue 22 point 4: each JSON form pickles to `pickle.dumps` of the Python value, byte
    /// for byte, in protocols 2-5, alone and repeated (the class and module memoized once,
    /// each value's own text or state written afresh), beside equal plain strs and bytes.
    #[test]
    fn standard_types_pickle_as_cpython_does() {
        let cases: &[(&str, &str)] = &[
            (r#"{"$decimal": "1.5"}"#, "decimal.Decimal('1.5')"),
            (r#"{"$decimal": "-0.000001"}"#, "decimal.Decimal('-0.000001')"),
            (r#"{"$decimal": "120"}"#, "decimal.Decimal('120')"),
            (r#"{"$decimal": "NaN"}"#, "decimal.Decimal('NaN')"),
            (
                r#"{"$uuid": "12345678-1234-5678-1234-567812345678"}"#,
                "uuid.UUID('12345678-1234-5678-1234-567812345678')",
            ),
            (
                r#"{"$uuid": "00000000-0000-0000-0000-000000000005"}"#,
                "uuid.UUID(int=5)",
            ),
            (r#"{"$date": "2026-12-06"}"#, "datetime.date(2026, 12, 6)"),
            (
                r#"{"$datetime": "2026-12-06T14:00:05.000123"}"#,
                "datetime.datetime(2026, 12, 6, 14, 0, 5, 123)",
            ),
            (
                r#"{"$datetime": "0001-01-01T00:00:00"}"#,
                "datetime.datetime(1, 1, 1)",
            ),
            (
                r#"[{"$date": "2026-12-06"}, {"$datetime": "2026-12-06T14:00:00"}, {"$date": "2026-12-06"}, "2026-12-06", "datetime", "date", {"$decimal": "1.5"}, {"$decimal": "1.5"}, "1.5", {"$uuid": "12345678-1234-5678-1234-567812345678"}, {"$uuid": "12345678-1234-5678-1234-567812345678"}]"#,
                "[datetime.date(2026, 12, 6), datetime.datetime(2026, 12, 6, 14, 0), datetime.date(2026, 12, 6), '2026-12-06', 'datetime', 'date', decimal.Decimal('1.5'), decimal.Decimal('1.5'), '1.5', uuid.UUID('12345678-1234-5678-1234-567812345678'), uuid.UUID('12345678-1234-5678-1234-567812345678')]",
            ),
            (
                r#"{"when": {"$datetime": "2026-12-06T14:00:00"}, "x": [{"$date": "2026-01-31"}]}"#,
                "{'when': datetime.datetime(2026, 12, 6, 14, 0), 'x': [datetime.date(2026, 1, 31)]}",
            ),
        ];
        // The oracle: pickle.dumps(json.loads(text, object_hook=forms)), so every str is a
        // new object as json.loads makes it (a Python literal such as 'datetime' would be the
        // interned module name itself, which CPython's memo then shares).
        let mut script = String::from(
            "import datetime, decimal, json, pickle, sys, uuid\n\
             def forms(d):\n\
             \x20   if len(d) == 1:\n\
             \x20       (k, v), = d.items()\n\
             \x20       if k == '$decimal': return decimal.Decimal(v)\n\
             \x20       if k == '$uuid': return uuid.UUID(v)\n\
             \x20       if k == '$date': return datetime.date.fromisoformat(v)\n\
             \x20       if k == '$datetime': return datetime.datetime.fromisoformat(v)\n\
             \x20   return d\n\
             for text, expr in zip(sys.argv[1::2], sys.argv[2::2]):\n\
             \x20   v = json.loads(text, object_hook=forms)\n\
             \x20   assert repr(v) == repr(eval(expr)), (repr(v), expr)\n\
             \x20   print(' '.join(pickle.dumps(v, p).hex() for p in (2, 3, 4, 5)))\n",
        );
        script.push_str("");
        let out = std::process::Command::new("python3")
            .args(["-c", &script])
            .args(cases.iter().flat_map(|(json, expr)| [*json, *expr]))
            .output()
            .expect("python3 (the CPython oracle) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.lines().count(), cases.len());
        for ((json, expr), line) in cases.iter().zip(out.lines()) {
            let value = crate::parse(json).unwrap();
            for (proto, want) in [Protocol::V2, Protocol::V3, Protocol::V4, Protocol::V5]
                .into_iter()
                .zip(line.split(' '))
            {
                let got = to_vec(&value, proto).unwrap();
                let got: String = got.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(got, want, "{expr} in {proto:?}");
            }
            // Protocols 0 and 1 are refused, saying so.
            let e = to_vec(&value, Protocol::V0).unwrap_err().to_string();
            assert!(e.contains("protocol 0 or 1"), "{e}");
        }
    }

    /// Each bad value of the other forms: the error names the form, the field where there is
    /// one, and what it takes.
    #[test]
    fn bad_forms_name_the_field_and_what_it_takes() {
        for (bad, says) in [
            (
                r#"{"$datetime": "2026-12-06T14:00:00.123+01:00"}"#,
                "as datetime.isoformat() writes it",
            ),
            (
                r#"{"$datetime": "2026-12-06T14:00:00+01"}"#,
                "as datetime.isoformat() writes it",
            ),
            (
                r#"{"$datetime": 5}"#,
                "takes a string or an object {\"iso\"",
            ),
            (r#"{"$datetime": {"tzname": "CET"}}"#, "\"iso\" is missing"),
            (
                r#"{"$datetime": {"iso": "2026-12-06T14:00:00", "tzname": "CET"}}"#,
                "\"tzname\" needs a UTC offset",
            ),
            (
                r#"{"$datetime": {"iso": "2026-12-06T14:00:00", "fold": 2}}"#,
                "\"fold\" must be 0 or 1, not 2",
            ),
            (
                r#"{"$datetime": {"iso": "2026-12-06T14:00:00", "fold": true}}"#,
                "\"fold\" must be 0 or 1, not a boolean",
            ),
            (
                r#"{"$datetime": {"iso": "2026-12-06T14:00:00", "tz": "+01:00"}}"#,
                "unknown key \"tz\" (it takes \"iso\", \"tzname\", \"fold\")",
            ),
            (
                r#"{"$datetime": {"iso": "2026-12-06T14:00:00+01:00", "tzname": 1}}"#,
                "\"tzname\" must be a string",
            ),
            (r#"{"$time": "24:00:00"}"#, "as time.isoformat() writes it"),
            (
                r#"{"$time": "2026-12-06T14:00:00"}"#,
                "as time.isoformat() writes it",
            ),
            (
                r#"{"$timedelta": "P1000000000D"}"#,
                "within timedelta.min and timedelta.max",
            ),
            (r#"{"$timedelta": "P"}"#, "a duration"),
            (r#"{"$timedelta": "PT1.1234567S"}"#, "a duration"),
            (r#"{"$timedelta": "1 day"}"#, "a duration"),
            (r#"{"$timedelta": 86400}"#, "takes a string"),
            (r#"{"$timezone": "+24:00"}"#, "strictly within a day"),
            (r#"{"$timezone": "UTC"}"#, "a UTC offset"),
            (r#"{"$timezone": {"name": "CET"}}"#, "\"offset\" is missing"),
            (
                r#"{"$timezone": {"offset": 3600}}"#,
                "\"offset\" must be a string",
            ),
            (
                r#"{"$timezone": {"offset": "+01:00", "name": "\ud800"}}"#,
                "lone surrogate",
            ),
            (r#"{"$complex": {"real": 1.0}}"#, "\"imag\" is missing"),
            (
                r#"{"$complex": {"real": null, "imag": 0}}"#,
                "\"real\" must be a number (NaN",
            ),
            (
                r#"{"$complex": {"real": 1, "imag": 0, "j": 1}}"#,
                "unknown key \"j\"",
            ),
            (
                r#"{"$complex": [1, 2]}"#,
                "takes an object with the keys \"real\", \"imag\"",
            ),
            (r#"{"$fraction": "1/0"}"#, "a zero denominator"),
            (
                r#"{"$fraction": "1/-3"}"#,
                "as str(Fraction(...)) writes it",
            ),
            (r#"{"$fraction": "0.5"}"#, "as str(Fraction(...)) writes it"),
            (
                r#"{"$fraction": "9223372036854775808"}"#,
                "within -2**63..2**63-1",
            ),
            (r#"{"$fraction": 3}"#, "takes a string"),
            (r#"{"$range": {"start": 1}}"#, "\"stop\" is missing"),
            (
                r#"{"$range": {"stop": 3, "step": 0}}"#,
                "\"step\" must not be 0",
            ),
            (
                r#"{"$range": {"stop": 1.5}}"#,
                "\"stop\" must be an int, not a float",
            ),
            (
                r#"{"$range": {"stop": 9223372036854775808}}"#,
                "beyond what brine writes",
            ),
            (
                r#"{"$slice": {"start": "a"}}"#,
                "\"start\" must be an int or null, not a string",
            ),
            (
                r#"{"$slice": [1, 2]}"#,
                "takes an object with the keys \"start\", \"stop\", \"step\"",
            ),
        ] {
            let e = crate::parse(bad).unwrap_err();
            assert!(e.starts_with("{\"$"), "{bad}: {e}");
            assert!(e.contains(says), "{bad}: {e}");
        }
        // An int too large for a float, as Python's float() of it.
        let big = format!(
            r#"{{"$complex": {{"real": 1{}, "imag": 0}}}}"#,
            "0".repeat(400)
        );
        let e = crate::parse(&big).unwrap_err();
        assert!(
            e.contains("\"real\" is 1000") && e.contains("too large for a float"),
            "{e}"
        );
    }

    /// A form with a value it does not take is an error naming the form and what it takes;
    /// an object with another `$` key, or more keys, is a dict.
    #[test]
    fn bad_forms_are_refused_and_other_keys_are_dicts() {
        for bad in [
            r#"{"$decimal": "1e3"}"#,
            r#"{"$decimal": "01.5"}"#,
            r#"{"$decimal": "0.0000001"}"#,
            r#"{"$decimal": 1.5}"#,
            r#"{"$uuid": "12345678123456781234567812345678"}"#,
            r#"{"$date": "2026-02-30"}"#,
            r#"{"$datetime": "2026-12-06T14:00:00+24:00"}"#,
            r#"{"$datetime": "2026-12-06 14:00:00"}"#,
        ] {
            let e = crate::parse(bad).unwrap_err();
            assert!(e.starts_with("{\"$"), "{bad}: {e}");
        }
        for dict in [r#"{"$date": "2026-12-06", "x": 1}"#, r#"{"$other": "1"}"#] {
            assert!(
                matches!(crate::parse(dict), Ok(crate::Python::Dict(_))),
                "{dict}"
            );
        }
    }
}
