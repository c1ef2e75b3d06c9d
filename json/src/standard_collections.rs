//! JSON → `collections.OrderedDict`, `Counter`, `deque` and `defaultdict`, for the encoder:
//!
//! - `{"$ordereddict": ENTRIES}`, `{"$counter": ENTRIES}` (counts are ints);
//! - `{"$deque": [ITEMS]}`, with `"maxlen": N` (or `null`) beside it;
//! - `{"$defaultdict": "list"}` (the factory: `"list"`, `"dict"`, `"int"`, `"str"`,
//!   `"float"`, `"bool"`, `"tuple"` or `null`), with `"items": ENTRIES` beside it;
//!
//! where ENTRIES is an object (str keys) or an array of `[key, value]` pairs whose keys are
//! str, int, float, `true`/`false` or `null`, merged as Python merges equal keys (`1`, `1.0`
//! and `true` are one key; the first keeps its place and takes the last value).

use std::collections::HashMap;

use brine_core::pickle::{DefaultFactory, PyCounter, PyDefaultDict, PyDeque, PyOrderedDict};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::Python;

/// One of the collections, from its `$` form.
#[derive(Clone, Debug, PartialEq)]
pub enum Collection {
    /// `collections.OrderedDict`: its entries in order.
    OrderedDict(Vec<(Python, Python)>),
    /// `collections.Counter`: its entries (int counts) in order.
    Counter(Vec<(Python, Python)>),
    /// `collections.deque(items, maxlen)`.
    Deque {
        /// The items, first to last.
        items: Vec<Python>,
        /// At least `items.len()`, or `None` for an unbounded deque.
        maxlen: Option<u64>,
    },
    /// `collections.defaultdict(factory, entries)`.
    DefaultDict {
        /// The `default_factory`.
        factory: DefaultFactory,
        /// Its entries in order.
        items: Vec<(Python, Python)>,
    },
}

/// The form keys and the one other key each takes.
const FORMS: [(&str, Option<&str>); 4] = [
    ("$ordereddict", None),
    ("$counter", None),
    ("$deque", Some("maxlen")),
    ("$defaultdict", Some("items")),
];

/// The collection an object's `entries` stand for: `None` if no key is one of the forms
/// (then the object is a dict), `Some(Err)` if one is and the object is not a valid form.
pub(crate) fn collection(entries: &mut [(Vec<u8>, Python)]) -> Option<Result<Collection, String>> {
    let (form, other) = FORMS
        .into_iter()
        .find(|(form, _)| entries.iter().any(|(k, _)| k == form.as_bytes()))?;
    Some(parse_form(form, other, entries))
}

fn parse_form(
    form: &str,
    other: Option<&str>,
    entries: &mut [(Vec<u8>, Python)],
) -> Result<Collection, String> {
    let mut main = None;
    let mut extra = None;
    for (key, value) in entries.iter_mut() {
        let value = std::mem::replace(value, Python::None);
        if key == form.as_bytes() {
            main = Some(value);
        } else if other.is_some_and(|o| key == o.as_bytes()) {
            extra = Some(value);
        } else {
            let beside = match other {
                Some(o) => format!("only \"{o}\" beside it"),
                None => "no other key".into(),
            };
            return Err(format!(
                "{{\"{form}\": ...}} takes {beside}, not {:?}",
                String::from_utf8_lossy(key)
            ));
        }
    }
    let main = main.unwrap_or(Python::None);
    match form {
        "$ordereddict" => Ok(Collection::OrderedDict(items(
            "{\"$ordereddict\": ...}",
            main,
        )?)),
        "$counter" => {
            let items = items("{\"$counter\": ...}", main)?;
            if items.iter().any(|(_, v)| !matches!(v, Python::Int(_))) {
                return Err("{\"$counter\": ...}: every count is an int".into());
            }
            Ok(Collection::Counter(items))
        }
        "$deque" => {
            let Python::List(items) = main else {
                return Err("{\"$deque\": ...} takes an array of the items".into());
            };
            let maxlen = match extra {
                None | Some(Python::None) => None,
                Some(Python::Int(n)) if n.parse::<u64>().is_ok() => n.parse().ok(),
                Some(_) => {
                    return Err(
                        "{\"$deque\": ...}'s \"maxlen\" is a non-negative int or null".into(),
                    )
                }
            };
            if maxlen.is_some_and(|m| items.len() as u64 > m) {
                return Err(format!(
                    "{{\"$deque\": ...}} holds {} items, more than its maxlen {}",
                    items.len(),
                    maxlen.unwrap_or_default()
                ));
            }
            Ok(Collection::Deque { items, maxlen })
        }
        _ => {
            let factory = match &main {
                Python::None => Some(DefaultFactory::None),
                Python::Str(name) => std::str::from_utf8(name)
                    .ok()
                    .and_then(DefaultFactory::from_name),
                _ => None,
            };
            let Some(factory) = factory else {
                return Err(
                    "{\"$defaultdict\": ...} takes the factory's name: \"list\", \
                            \"dict\", \"int\", \"str\", \"float\", \"bool\", \"tuple\" or null"
                        .into(),
                );
            };
            let items = match extra {
                Some(extra) => items("{\"$defaultdict\": ..., \"items\": ...}", extra)?,
                None => Vec::new(),
            };
            Ok(Collection::DefaultDict { factory, items })
        }
    }
}

/// Entries from an object or an array of `[key, value]` pairs (equal keys merged); `form`
/// names the form in errors.
fn items(form: &str, value: Python) -> Result<Vec<(Python, Python)>, String> {
    let pairs = match value {
        Python::Dict(entries) => {
            return Ok(entries
                .into_iter()
                .map(|(k, v)| (Python::Str(k), v))
                .collect())
        }
        Python::List(pairs) => pairs,
        _ => return Err(format!("{form} takes an object or [key, value] pairs")),
    };
    let mut out: Vec<(Python, Python)> = Vec::with_capacity(pairs.len());
    let mut index: HashMap<Key, usize> = HashMap::new();
    for pair in pairs {
        let Python::List(kv) = pair else {
            return Err(format!("{form}: each entry is a [key, value] pair"));
        };
        let Ok::<[Python; 2], _>([k, v]) = kv.try_into() else {
            return Err(format!("{form}: each entry is a [key, value] pair"));
        };
        let Some(key) = Key::of(&k) else {
            return Err(format!(
                "{form}: a key is a str, int, float, true, false or null \
                 (Python cannot hash a list or dict; brine writes no other key here)"
            ));
        };
        match index.get(&key) {
            Some(&i) => out[i].1 = v,
            None => {
                index.insert(key, out.len());
                out.push((k, v));
            }
        }
    }
    Ok(out)
}

/// A key up to Python's equality: `1 == 1.0 == True`, `0 == -0.0 == False`; `NaN` is
/// `json.loads`'s one NaN object, equal to itself.
#[derive(PartialEq, Eq, Hash)]
enum Key {
    Str(Vec<u8>),
    None,
    /// An integral number: its digits, `-` first when negative, no leading zeros.
    Integral(String),
    /// A float that is not integral (or infinite): its bits.
    Float(u64),
    Nan,
}

impl Key {
    fn of(v: &Python) -> Option<Key> {
        Some(match v {
            Python::Str(s) => Key::Str(s.clone()),
            Python::None => Key::None,
            Python::Bool(b) => Key::Integral(if *b { "1" } else { "0" }.into()),
            Python::Int(text) => Key::Integral(normal_int(text)),
            Python::Float(x) if x.is_nan() => Key::Nan,
            // Rust prints an integral float's exact digits with `{:.0}`.
            Python::Float(x) if x.is_finite() && x.fract() == 0.0 => {
                Key::Integral(normal_int(&format!("{x:.0}")))
            }
            Python::Float(x) => Key::Float(x.to_bits()),
            _ => return None,
        })
    }
}

/// `-?[0-9]+` without leading zeros, and `0` for minus zero.
fn normal_int(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let digits = digits.trim_start_matches('0');
    match (digits.is_empty(), negative) {
        (true, _) => "0".into(),
        (false, true) => format!("-{digits}"),
        (false, false) => digits.into(),
    }
}

/// Entries as a serde map.
struct Entries<'a>(&'a [(Python, Python)]);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for Collection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Collection::OrderedDict(e) => PyOrderedDict(Entries(e)).serialize(s),
            Collection::Counter(e) => PyCounter(Entries(e)).serialize(s),
            Collection::Deque { items, maxlen } => PyDeque {
                items,
                maxlen: *maxlen,
            }
            .serialize(s),
            Collection::DefaultDict { factory, items } => PyDefaultDict {
                factory: *factory,
                items: Entries(items),
            }
            .serialize(s),
        }
    }
}

#[cfg(test)]
#[path = "standard_collections_tests.rs"]
mod tests;
