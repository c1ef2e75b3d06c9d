//! JSON values → the Python objects `json.loads` builds, for the pickle encoder.

use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Serializes a `serde_json::Value` as the Python object `json.loads` builds: object → dict
/// (key order kept), array → list, integer → int, other number → float, null → None.
///
/// Written by hand because `serde_json::Value`'s own `Serialize` turns numbers into a private
/// struct when `arbitrary_precision` is on (and it is: that keeps integer digits exact).
pub struct AsPython<'a>(pub &'a serde_json::Value);

/// A JSON number as the Python number `json.loads` makes of it.
pub enum Number {
    /// An integer within `i64`.
    I64(i64),
    /// An integer within `u64`.
    U64(u64),
    /// An integer within `i128`.
    I128(i128),
    /// An integer within `u128`.
    U128(u128),
    /// Any other number (`1e999` is `inf`, as in Python).
    Float(f64),
}

/// Classifies a JSON number from its exact text; `Err` names an integer beyond 128 bits.
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

/// The first integer in `value` that brine cannot pickle, as a message.
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
