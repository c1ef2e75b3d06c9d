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
//! | str | string; control characters (C0, DEL, C1) escaped (`\n`, `\u001b`), so none reaches a terminal raw |
//! | int (any size) | number with every digit |
//! | float | number as Python's repr writes it (`1e+100`, `-0.0`); NaN and ±inf → `null` (JSON has none) |
//! | bool, None | `true`/`false`, `null` |
//! | bytes, bytearray | `{"bytes_hex": "00ff"}` |
//!
//! **JSON → Python** ([`AsPython`], for the pickle encoder): what `json.loads` builds. Object
//! → dict (key order kept), array → list, integer → int, other number → float (`1e999` →
//! `inf`), string → str, `true`/`false` → bool, `null` → None.
//!
//! No other crate of the workspace converts between the two (the client, the server and
//! `brine pickle` drifted apart when each had its own). brine-core stays `no_std` without
//! this: JSON is a host concern.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod out;
mod python;

pub use out::{
    repr_line, to_json_line, to_json_value, too_long, write_chars, write_key, write_str,
    write_value, CUT_MARK,
};
pub use python::{check, number, AsPython, Number};
