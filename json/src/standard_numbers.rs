//! JSON → `complex`, `fractions.Fraction`, `range`, `slice`: `{"$complex": {"real": 1.0,
//! "imag": 2.0}}`, `{"$fraction": "-1/3"}`, `{"$range": {"start": 0, "stop": 10, "step": 2}}`,
//! `{"$slice": {"start": null, "stop": 2, "step": null}}` — the JSON
//! `brine pickle decode --format json` writes for each, under its `$` key.

use brine_core::pickle::PyStandard;

use crate::standard::{fields, int64, kind};
use crate::Python;

/// The value of form `key`, if it is one of this file's forms.
pub(crate) fn standard(key: &[u8], value: &Python) -> Option<Result<PyStandard, String>> {
    Some(match key {
        b"$complex" => complex(value),
        b"$fraction" => fraction(value),
        b"$range" => range(value),
        b"$slice" => slice(value),
        _ => return None,
    })
}

/// `{"real": number, "imag": number}`, each as Python's `float()` of it.
fn complex(value: &Python) -> Result<PyStandard, String> {
    let [real, imag] = fields("$complex", value, ["real", "imag"])?;
    let part = |key: &str, v: Option<&Python>| -> Result<f64, String> {
        match v {
            Some(Python::Float(x)) => Ok(*x),
            // An int's float: -0 is the int 0, so 0.0.
            Some(Python::Int(text)) => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x + 0.0),
                _ => Err(format!("{{\"$complex\": ...}}: \"{key}\" is {text}, too large for a float (Python's OverflowError)")),
            },
            None => Err(format!("{{\"$complex\": ...}}: \"{key}\" is missing (it takes {{\"real\": number, \"imag\": number}})")),
            Some(other) => Err(format!(
                "{{\"$complex\": ...}}: \"{key}\" must be a number (NaN, Infinity and -Infinity are written as those words), not {}",
                kind(other)
            )),
        }
    };
    Ok(PyStandard::complex(
        part("real", real)?,
        part("imag", imag)?,
    ))
}

const FRACTION_TEXT: &str = "a fraction as str(Fraction(...)) writes it (\"-1/3\", \"5\"; an unreduced \"6/4\" is reduced as Fraction(\"6/4\") reduces it), numerator and denominator within -2**63..2**63-1";

/// `"n"` or `"n/d"`.
fn fraction(value: &Python) -> Result<PyStandard, String> {
    let Python::Str(text) = value else {
        return Err(format!(
            "{{\"$fraction\": ...}} takes a string ({FRACTION_TEXT}), not {}",
            kind(value)
        ));
    };
    let text = String::from_utf8_lossy(text);
    let (n, d) = text.split_once('/').unwrap_or((&text, "1"));
    let int = |s: &str, signed: bool| -> Option<i64> {
        let digits = if signed {
            s.strip_prefix('-').unwrap_or(s)
        } else {
            s
        };
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let bad = || format!("{{\"$fraction\": {text:?}}}: not {FRACTION_TEXT}");
    let (n, d) = (
        int(n, true).ok_or_else(bad)?,
        int(d, false).ok_or_else(bad)?,
    );
    if d == 0 {
        return Err(format!(
            "{{\"$fraction\": {text:?}}}: a zero denominator (Python's ZeroDivisionError)"
        ));
    }
    PyStandard::fraction(n, d).ok_or_else(bad)
}

/// `{"start": int, "stop": int, "step": int}`: `start` 0 and `step` 1 when absent.
fn range(value: &Python) -> Result<PyStandard, String> {
    let [start, stop, step] = fields("$range", value, ["start", "stop", "step"])?;
    let Some(stop) = stop else {
        return Err("{\"$range\": ...}: \"stop\" is missing (it takes {\"start\": int, \"stop\": int, \"step\": int}; start 0 and step 1 when absent)".to_owned());
    };
    let part =
        |key, v: Option<&Python>, default| v.map_or(Ok(default), |v| int64("$range", key, v));
    let (start, stop, step) = (
        part("start", start, 0)?,
        int64("$range", "stop", stop)?,
        part("step", step, 1)?,
    );
    PyStandard::range(start, stop, step)
        .ok_or_else(|| "{\"$range\": ...}: \"step\" must not be 0 (Python's ValueError)".to_owned())
}

/// `{"start": int|null, "stop": int|null, "step": int|null}`: null when absent.
fn slice(value: &Python) -> Result<PyStandard, String> {
    let [start, stop, step] = fields("$slice", value, ["start", "stop", "step"])?;
    let part = |key, v: Option<&Python>| match v {
        None | Some(Python::None) => Ok(None),
        Some(v) => int64("$slice", key, v)
            .map(Some)
            .map_err(|e| e.replace("must be an int", "must be an int or null")),
    };
    Ok(PyStandard::slice(
        part("start", start)?,
        part("stop", stop)?,
        part("step", step)?,
    ))
}
