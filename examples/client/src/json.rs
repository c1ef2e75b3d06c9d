//! JSON ⇄ Python values.
//!
//! - [`write_value`]: a decoded pickle [`Value`] as one line of JSON: dict → object (key order
//!   kept; a key that is not a `str` becomes its repr), list/tuple/set/frozenset → array, str,
//!   int (any size, exact digits), float (Python's repr digits; nan and ±inf → `null`, since
//!   JSON has no such numbers), bool, None → `null`, bytes/bytearray → `{"bytes_hex": "..."}`.
//! - [`AsPython`]: a `serde_json::Value` serialized as the Python object `json.loads` builds
//!   (object → dict in order, array → list, integers exact up to 128 bits, floats, null →
//!   None), for the pickle encoder.

use std::fmt::Write as _;

use brine_core::pickle::Value;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Appends `value` as JSON to `out`.
pub fn write_value(out: &mut String, value: &Value<'_>) {
    match value {
        Value::None => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        // Decimal digits, exact: a JSON number has no size limit.
        Value::BigInt(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Float(x) if x.is_finite() => {
            // Python's repr ("1.5", "1e+100", "-0.0") is valid JSON, as json.dumps writes it.
            let _ = write!(out, "{value}");
        }
        Value::Float(_) => out.push_str("null"),
        Value::Str(s) => match s.as_str() {
            Some(text) => write_str(out, text),
            None => write_str(out, &s.chars().collect::<String>()),
        },
        Value::Bytes(b) | Value::ByteArray(b) => {
            out.push_str("{\"bytes_hex\":\"");
            for byte in b.iter() {
                let _ = write!(out, "{byte:02x}");
            }
            out.push_str("\"}");
        }
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, &item);
            }
            out.push(']');
        }
        Value::Dict(dict) => {
            out.push('{');
            for (i, (key, item)) in dict.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match key {
                    Value::Str(s) => match s.as_str() {
                        Some(text) => write_str(out, text),
                        None => write_str(out, &s.chars().collect::<String>()),
                    },
                    other => write_str(out, &other.to_string()),
                }
                out.push(':');
                write_value(out, &item);
            }
            out.push('}');
        }
    }
}

/// `value` as one line of JSON.
pub fn to_json(value: &Value<'_>) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Appends a JSON string literal.
pub fn write_str(out: &mut String, text: &str) {
    // serde_json's escaping; serializing a str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// Serializes a `serde_json::Value` as the Python object `json.loads` would build.
///
/// Written by hand because `serde_json::Value`'s own `Serialize` turns numbers into a private
/// struct when `arbitrary_precision` is on (and it is: that keeps integer digits exact).
pub struct AsPython<'a>(pub &'a serde_json::Value);

/// An integer's digits: Ok(Some(i128 or u128)) for an integer that fits, Ok(None) for a
/// float, Err for an integer beyond 128 bits.
pub enum Number {
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    Float(f64),
}

/// Classifies a JSON number from its exact text.
pub fn number(n: &serde_json::Number) -> Result<Number, String> {
    let text = n.as_str();
    if let Some(i) = n.as_i64() {
        return Ok(Number::I64(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Number::U64(u));
    }
    if text.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i128>() {
            return Ok(Number::I128(i));
        }
        if let Ok(u) = text.parse::<u128>() {
            return Ok(Number::U128(u));
        }
        let digits = text.trim_start_matches('-').len();
        return Err(format!(
            "the integer {}… ({digits} digits) does not fit 128 bits; brine writes ints up to 128 bits",
            &text[..text.len().min(20)]
        ));
    }
    // Python's json.loads reads 1e999 as inf; so does Rust's parser.
    text.parse::<f64>()
        .map(Number::Float)
        .map_err(|_| format!("{text} is not a number"))
}

/// The first integer in `value` that brine cannot pickle (beyond 128 bits), as a message.
pub fn check(value: &serde_json::Value) -> Result<(), String> {
    match value {
        serde_json::Value::Number(n) => number(n).map(|_| ()),
        serde_json::Value::Array(items) => items.iter().try_for_each(check),
        serde_json::Value::Object(entries) => entries.values().try_for_each(check),
        _ => Ok(()),
    }
}

impl Serialize for AsPython<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_json::Value as J;
        match self.0 {
            J::Null => s.serialize_none(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Number(n) => match number(n).map_err(S::Error::custom)? {
                Number::I64(i) => s.serialize_i64(i),
                Number::U64(u) => s.serialize_u64(u),
                Number::I128(i) => s.serialize_i128(i),
                Number::U128(u) => s.serialize_u128(u),
                Number::Float(x) => s.serialize_f64(x),
            },
            J::String(text) => s.serialize_str(text),
            J::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&AsPython(item))?;
                }
                seq.end()
            }
            J::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, item) in entries {
                    map.serialize_entry(key.as_str(), &AsPython(item))?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brine_core::pickle::{to_slice, Decoder, Protocol};

    fn round_trip(json: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut buf = vec![0u8; 4096];
        let bytes = to_slice(&AsPython(&value), &mut buf, Protocol::V4).unwrap();
        let mut decoder: Decoder = Decoder::new();
        to_json(&decoder.decode(bytes).unwrap())
    }

    #[test]
    fn json_round_trips_through_pickle() {
        for json in [
            r#"{"b":1,"a":[true,false,null],"c":"x\"y\n"}"#,
            "123456789012345678901234567890",
            "-170141183460469231731687303715884105728",
            "340282366920938463463374607431768211455",
            "1.5",
            "1e+100",
            "-0.0",
            r#"["é","😀",{}]"#,
        ] {
            assert_eq!(round_trip(json), json);
        }
    }

    #[test]
    fn beyond_128_bits_is_refused_clearly() {
        let value: serde_json::Value =
            serde_json::from_str("[1, 3402823669209384634633746074317682114550]").unwrap();
        let err = check(&value).unwrap_err();
        assert!(err.contains("does not fit 128 bits"), "{err}");
    }
}
