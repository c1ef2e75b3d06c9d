//! JSON ⇄ Python values: scripted JSON messages are pickled as the Python object
//! `json.loads` would build, and identities are reported as JSON as well as repr.

use std::fmt::Write as _;

use brine_core::pickle::Value;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Serializes a `serde_json::Value` as the Python object `json.loads` builds: object → dict
/// (key order kept), array → list, integer → int, float → float, null → None.
///
/// Written by hand rather than through `serde_json::Value`'s own `Serialize`, which turns
/// numbers into a private struct when serde_json's `arbitrary_precision` feature is on
/// somewhere in the build. Integers are exact within `i64`/`u64`, and up to `i128` when that
/// feature keeps their digits.
pub(crate) struct AsPython<'a>(pub(crate) &'a serde_json::Value);

impl Serialize for AsPython<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_json::Value as J;
        match self.0 {
            J::Null => s.serialize_none(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    s.serialize_i64(i)
                } else if let Some(u) = n.as_u64() {
                    s.serialize_u64(u)
                } else {
                    let text = n.to_string();
                    if text.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
                        match text.parse::<i128>() {
                            Ok(i) => s.serialize_i128(i),
                            Err(_) => Err(S::Error::custom(format_args!(
                                "integer {text} does not fit 128 bits"
                            ))),
                        }
                    } else {
                        match n.as_f64() {
                            Some(x) => s.serialize_f64(x),
                            None => Err(S::Error::custom(format_args!("bad number {text}"))),
                        }
                    }
                }
            }
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
                for (key, value) in entries {
                    map.serialize_entry(key.as_str(), &AsPython(value))?;
                }
                map.end()
            }
        }
    }
}

/// A decoded Python value as JSON: dict → object (key order kept; non-str keys as
/// `json.dumps` writes them, else their repr), list/tuple/set/frozenset → array, int → number
/// (exact within 64 bits; larger ones exact only with serde_json's `arbitrary_precision`),
/// float → number (NaN and infinities → null), None → null, bytes/bytearray →
/// `{"bytes_hex": "..."}`.
pub fn value_to_json(value: &Value<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::None => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::BigInt(big) => match big.to_i128() {
            Some(i) if u64::try_from(i).is_ok() => J::from(i as u64),
            // Exact with `arbitrary_precision`, the nearest float without it.
            _ => serde_json::from_str(&big.to_string()).unwrap_or(J::Null),
        },
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(match s.as_str() {
            Some(text) => text.to_owned(),
            None => s.chars().collect(),
        }),
        Value::Bytes(b) | Value::ByteArray(b) => {
            let mut hex = String::with_capacity(b.len() * 2);
            for byte in b.iter() {
                let _ = write!(hex, "{byte:02x}");
            }
            let mut object = serde_json::Map::new();
            object.insert("bytes_hex".to_owned(), J::String(hex));
            J::Object(object)
        }
        Value::List(seq) | Value::Tuple(seq) | Value::Set(seq) | Value::FrozenSet(seq) => {
            J::Array(seq.iter().map(|item| value_to_json(&item)).collect())
        }
        Value::Dict(dict) => J::Object(
            dict.iter()
                .map(|(key, value)| (json_key(&key), value_to_json(&value)))
                .collect(),
        ),
    }
}

/// A dict key as a JSON object key, as `json.dumps` writes str, int, float, bool and None
/// keys; any other key (a tuple, bytes) as its repr.
fn json_key(key: &Value<'_>) -> String {
    match key {
        Value::Str(s) => match s.as_str() {
            Some(text) => text.to_owned(),
            None => s.chars().collect(),
        },
        Value::Bool(true) => "true".to_owned(),
        Value::Bool(false) => "false".to_owned(),
        Value::None => "null".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brine_core::pickle::{to_slice, Decoder, Protocol};

    fn round_trip(json: &str) -> (String, serde_json::Value) {
        let json: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut buf = [0u8; 1024];
        let bytes = to_slice(&AsPython(&json), &mut buf, Protocol::V4).unwrap();
        let mut decoder: Decoder = Decoder::new();
        let value = decoder.decode(bytes).unwrap();
        (value.to_string(), value_to_json(&value))
    }

    #[test]
    fn json_becomes_the_python_object_json_loads_builds() {
        let text = r#"{"b": [1, -2, 2.5, true, null, "x"], "a": {"n": 18446744073709551615}}"#;
        let (repr, back) = round_trip(text);
        assert_eq!(
            repr,
            "{'b': [1, -2, 2.5, True, None, 'x'], 'a': {'n': 18446744073709551615}}"
        );
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn python_values_become_json() {
        let mut decoder: Decoder = Decoder::new();
        // pickle.dumps({1: b'\x00\xff', (1, 2): {3}, None: True, 'f': float('nan')}, 4)
        let value = decoder
            .decode(
                b"\x80\x04\x95'\x00\x00\x00\x00\x00\x00\x00}\x94(K\x01C\x02\x00\xff\x94K\x01K\x02\x86\x94\x8f\x94(K\x03\x90N\x88\x8c\x01f\x94G\x7f\xf8\x00\x00\x00\x00\x00\x00u.",
            )
            .unwrap();
        assert_eq!(
            value.to_string(),
            "{1: b'\\x00\\xff', (1, 2): {3}, None: True, 'f': nan}"
        );
        assert_eq!(
            value_to_json(&value).to_string(),
            r#"{"1":{"bytes_hex":"00ff"},"(1, 2)":[3],"null":true,"f":null}"#
        );
    }
}
