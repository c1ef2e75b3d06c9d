//! The one bridge between JSON and Python values, for the `brine` client, `brine-server` and
//! `brine pickle`.
//!
//! **Python → JSON** ([`write_value`], streamed; [`to_json_line`] / [`to_json_value`] within a
//! byte budget). Strict JSON (RFC 8259), one line:
//!
//! | Python | JSON |
//! | --- | --- |
//! | dict | object, key order kept; a str key as is, int/float keys as their repr (`"7"`, `"1.5"`), `True`/`False`/`None` keys `"true"`/`"false"`/`"null"`, NaN/inf keys `"NaN"`/`"Infinity"`/`"-Infinity"` (all as `json.dumps`), any other key (tuple, bytes) as its repr (`"(1, 2)"`) |
//! | list, tuple, set, frozenset | array (a set in the order it was pickled) |
//! | str | string; control characters (C0, DEL, C1) escaped (`\n`, `\u001b`), so none reaches a terminal raw; a lone surrogate as its escape (`\ud800`, as `json.dumps` writes it) |
//! | int (any size) | number with every digit, up to the 4300 digits `json.loads` and `int()` read; past them a string of Python's `hex()` of it (`"0x5a5a…"`, exact, as brine's repr of it) |
//! | float | number as Python's repr writes it (`1e+100`, `-0.0`); NaN and ±inf → `null` (JSON has none) |
//! | bool, None | `true`/`false`, `null` |
//! | bytes, bytearray | `{"bytes_hex": "00ff"}` |
//! | `datetime.datetime`, `date`, `time` | ISO 8601 string as `isoformat()` writes it: `"2026-12-06T14:00:00+00:00"`, `"2026-12-06"`, `"01:02:03.000004+01:00"` (`fold` is not kept) |
//! | `datetime.timedelta` | ISO 8601 duration string, exact: `"P1DT2.000003S"`, `"-PT0.000001S"`, `"PT0S"` |
//! | `datetime.timezone` | its UTC offset: `"+01:00"` (the name is not kept) |
//! | `decimal.Decimal`, `fractions.Fraction` | string, exact: `"1.50"`, `"-Infinity"`, `"1/3"`, `"5"` |
//! | `uuid.UUID` | string `"12345678-1234-5678-1234-567812345678"` |
//! | complex | `{"real": 1.0, "imag": 2.0}` |
//! | `OrderedDict`, `Counter`, `defaultdict` | object, as a dict |
//! | `deque` | array |
//! | range, slice | `{"start": 0, "stop": 3, "step": 1}` (a slice's parts any value) |
//! | an object of a class brine does not know (an inert stub) | `{"$object": "menu.Menu", "args": [], "state": {"client": null}}` (made by `__new__`: NEWOBJ, `copyreg._reconstructor`), `{"$call": "posix.system", "args": ["echo hi"]}` (REDUCE, INST, OBJ), then `"kwargs"`, `"state"`, `"items"` (appended), `"dict_items"` where the pickle set them; a bare global as `{"$global": "menu.Menu"}`. A key starting with `$` is how a script tells a stub from a dict |
//! | a container inside itself (`l.append(l)`: Python's repr prints `[...]`, `{...}` or `(...)` there) | `{"$cycle": "[...]"}` (that repr; a `$` key, as a stub's, so no dict is mistaken for it) |
//!
//! **JSON → Python** ([`parse`] → [`Python`], for the pickle encoder): what `json.loads`
//! builds, so the encoder writes `pickle.dumps(json.loads(text), protocol)`'s bytes. Object →
//! dict (key order kept; a repeated key keeps its first place and takes its last value),
//! array → list, integer → int of any size up to the 4300 digits Python's `int()` accepts,
//! other number → float (`1e999` → `inf`), `NaN`/`Infinity`/`-Infinity` → float, string →
//! str (a `\uXXXX` escape of a lone surrogate is that surrogate; a high and a low one in a
//! row are one character), `true`/`false` → bool, `null` → None; an object whose one key is
//! a `$` form → that standard type, pickled in protocols 2–5 as `pickle.dumps` pickles the
//! value (`brine_core::pickle::PyStandard`; another value for such a key is an error naming
//! the form, the key and what it takes). The value under the key is the JSON the table above
//! writes for the type; an object form adds what that JSON drops:
//!
//! | form | Python |
//! | --- | --- |
//! | `{"$decimal": "1.50"}`, `{"$uuid": "12345678-1234-5678-1234-567812345678"}`, `{"$date": "2026-12-06"}` | `Decimal`, `UUID`, `date`, each as `str()`/`isoformat()` writes it |
//! | `{"$datetime": "2026-12-06T14:00:00.000123+01:00"}`, `{"$time": "14:00:00Z"}` | `datetime`, `time` as `isoformat()` writes them; an offset (or `Z`) makes them aware: `+00:00` is `timezone.utc`, another a `timezone(timedelta(...))` |
//! | `{"$datetime": {"iso": "...", "tzname": "CET", "fold": 1}}` (also `$time`) | the same with a named time zone and/or `fold=1` |
//! | `{"$timedelta": "-P1DT2.000003S"}` | `timedelta`: `-`, `P`, days `D`, `T` seconds (up to 6 decimals) `S` |
//! | `{"$timezone": "+05:30"}`, `{"$timezone": {"offset": "+01:00", "name": "CET"}}` | `timezone` (`"+00:00"`: `timezone.utc`) |
//! | `{"$complex": {"real": 1.0, "imag": -0.0}}` | `complex` |
//! | `{"$fraction": "-1/3"}` | `Fraction` (64-bit parts; reduced as `Fraction('6/4')`) |
//! | `{"$range": {"start": 0, "stop": 10, "step": -2}}`, `{"$slice": {"start": null, "stop": 2, "step": null}}` | `range` (`start` 0, `step` 1 when absent), `slice` (`null` when absent), 64-bit ints |
//! | `{"$ordereddict": ENTRIES}`, `{"$counter": ENTRIES}` | `OrderedDict`, `Counter` (int counts) ([`Collection`]) |
//! | `{"$deque": [1, 2]}`, `{"$deque": [1, 2], "maxlen": 3}` | `deque` (`maxlen` an int or `null`; more items than it is an error) |
//! | `{"$defaultdict": "list", "items": ENTRIES}` | `defaultdict`: factory `"list"`, `"dict"`, `"int"`, `"str"`, `"float"`, `"bool"`, `"tuple"` or `null`; `items` optional |
//!
//! ENTRIES is an object, or an array of `[key, value]` pairs whose keys are str, int, float,
//! `true`/`false` or `null`, merged as Python merges equal keys (`1`, `1.0` and `true` are one
//! key: the first keeps its place and takes the last value). A collection's form takes no
//! other key than its own (`maxlen`, `items`): anything else beside it is an error.
//!
//! [`AsPython`] does the same for a `serde_json::Value` (which cannot hold `NaN` or a lone
//! surrogate), without the standard types.
//!
//! No other crate of the workspace converts between the two (the client, the server and
//! `brine pickle` drifted apart when each had its own). brine-core stays `no_std` without
//! this: JSON is a host concern.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod objects;
#[cfg(test)]
mod oracle;
mod out;
mod parse;
mod python;
mod standard;
mod standard_collections;
mod standard_numbers;
mod standard_time;

pub use out::{
    repr_line, to_json_line, to_json_value, too_long, write_code_points, write_key, write_str,
    write_value, CUT_MARK,
};
pub use parse::{parse, Python, MAX_INT_DIGITS, MAX_NESTING};
pub use python::AsPython;
pub use standard_collections::Collection;
