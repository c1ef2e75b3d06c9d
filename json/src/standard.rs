//! JSON → Python's standard types, for the encoder: an object whose one key is `$decimal`,
//! `$uuid`, `$date` or `$datetime` (the `$` marks brine's forms, as in the JSON brine writes
//! for objects) and whose value is the text `str()` of the value gives in Python.

use brine_core::pickle::PyStandard;

use crate::Python;

/// The standard value `{key: value}` stands for: `None` if `key` is not one of the forms
/// (then the object is a dict), `Some(Err)` if it is one and `value` is not valid for it.
pub(crate) fn standard(key: &[u8], value: &Python) -> Option<Result<PyStandard, String>> {
    let form = match key {
        b"$decimal" => "$decimal",
        b"$uuid" => "$uuid",
        b"$date" => "$date",
        b"$datetime" => "$datetime",
        _ => return None,
    };
    let Python::Str(text) = value else {
        return Some(Err(format!("{{\"{form}\": ...}} takes a string")));
    };
    let text = String::from_utf8_lossy(text);
    let parsed = match form {
        "$decimal" => PyStandard::decimal(&text),
        "$uuid" => uuid(&text).map(PyStandard::uuid),
        "$date" => date(&text).and_then(|(y, m, d)| PyStandard::date(y, m, d)),
        _ => datetime(&text),
    };
    Some(parsed.ok_or_else(|| {
        format!(
            "{{\"{form}\": {text:?}}}: not {}",
            match form {
                "$decimal" => "a decimal as Python's str(Decimal(...)) writes it (\"1.50\", \"-0.001\", \"NaN\"; no exponent)",
                "$uuid" => "a UUID as str(uuid.UUID(...)) writes it (\"12345678-1234-5678-1234-567812345678\")",
                "$date" => "a date as date.isoformat() writes it (\"2026-12-06\")",
                _ => "a naive datetime as datetime.isoformat() writes it (\"2026-12-06T14:00:00\", \"2026-12-06T14:00:00.000123\"; time zones are not written yet)",
            }
        )
    }))
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
fn num(text: &str, at: usize, n: usize) -> Option<u32> {
    let s = text.get(at..at + n)?;
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse().ok())?
}

/// `YYYY-MM-DD`.
fn date(text: &str) -> Option<(u16, u8, u8)> {
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

/// `YYYY-MM-DDTHH:MM:SS` or with `.ffffff` (as `isoformat()` writes a naive datetime).
fn datetime(text: &str) -> Option<PyStandard> {
    let (y, m, d) = date(text.get(..10)?)?;
    let b = text.as_bytes();
    if !(b.len() == 19 || b.len() == 26) || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let us = if b.len() == 26 {
        if b[19] != b'.' {
            return None;
        }
        num(text, 20, 6)?
    } else {
        0
    };
    PyStandard::datetime(
        y,
        m,
        d,
        num(text, 11, 2)? as u8,
        num(text, 14, 2)? as u8,
        num(text, 17, 2)? as u8,
        us,
    )
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
            r#"{"$datetime": "2026-12-06T14:00:00+00:00"}"#,
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
