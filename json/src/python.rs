//! `serde_json::Value` → the Python object `json.loads` builds, for the pickle encoder.

use brine_core::pickle::PyInt;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Serializes a `serde_json::Value` as the Python object `json.loads` builds: object → dict
/// (key order kept), array → list, integer → int of any size, other number → float, null →
/// None. (serde_json cannot hold what else `json.loads` accepts, `NaN` and lone surrogates:
/// [`parse`](crate::parse) reads those.)
///
/// Written by hand because `serde_json::Value`'s own `Serialize` turns numbers into a private
/// struct when `arbitrary_precision` is on (and it is: that keeps integer digits exact).
pub struct AsPython<'a>(pub &'a serde_json::Value);

/// The digits of an integer JSON number, or `None` for one with a fraction or exponent.
fn integer_text(n: &serde_json::Number) -> Option<&str> {
    let text = n.as_str();
    let digits = text.strip_prefix('-').unwrap_or(text);
    digits.bytes().all(|b| b.is_ascii_digit()).then_some(text)
}

impl Serialize for AsPython<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_json::Value as J;
        match self.0 {
            J::Null => s.serialize_none(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Number(n) => match (n.as_i64(), integer_text(n).and_then(PyInt::new)) {
                (Some(i), _) => s.serialize_i64(i),
                (None, Some(int)) => int.serialize(s),
                // Python's json.loads reads 1e999 as inf; so does Rust's parser.
                (None, None) => match n.as_str().parse::<f64>() {
                    Ok(x) => s.serialize_f64(x),
                    Err(_) => Err(S::Error::custom(format!("{n} is not a number"))),
                },
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
