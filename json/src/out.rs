//! Python values → JSON text, streamed into any `fmt::Write` (never built whole).

use core::fmt::{self, Write};

use brine_core::pickle::{Budget, Value};

/// Writes `value` as one line of JSON (the mapping is in the crate's documentation). Walks
/// the value once, writing as it goes; allocates nothing. Fails only when `w` fails, so
/// behind a [`Budget`] it stops at the budget.
pub fn write_value<W: Write + ?Sized>(w: &mut W, value: &Value<'_>) -> fmt::Result {
    write_json(w, value, Surrogates::Escaped)
}

/// How a lone surrogate is written: escaped (`\ud800`, what `json.dumps` writes), or as U+FFFD
/// for [`to_json_value`] (a `serde_json::Value` holds Rust strings, which cannot hold one).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surrogates {
    Escaped,
    Replaced,
}

pub(crate) fn write_json<W: Write + ?Sized>(
    w: &mut W,
    value: &Value<'_>,
    how: Surrogates,
) -> fmt::Result {
    match value {
        Value::None => w.write_str("null"),
        Value::Bool(b) => w.write_str(if *b { "true" } else { "false" }),
        Value::Int(i) => write!(w, "{i}"),
        // Decimal digits, exact, up to Python's 4300 (what `json.loads` and `int()` read);
        // beyond, Python's `hex()` of it as a string (`"0x1f..."`): its repr is that hex
        // text (CPython refuses the decimal one), and no JSON reader takes such a number.
        Value::BigInt(b) => {
            let mut int = HexAsString::new(w);
            write!(int, "{b}")?;
            int.finish()
        }
        // Python's repr ("1.5", "1e+100", "-0.0") is valid JSON, as json.dumps writes it.
        Value::Float(x) if x.is_finite() => write!(w, "{value}"),
        Value::Float(_) => w.write_str("null"),
        Value::Str(s) => write_text(w, s.code_points(), how),
        Value::Bytes(b) | Value::ByteArray(b) => {
            w.write_str("{\"bytes_hex\":\"")?;
            for byte in b.iter() {
                write!(w, "{byte:02x}")?;
            }
            w.write_str("\"}")
        }
        // A container inside itself, where Python's repr prints `[...]`: marked, as a stub is.
        Value::List(items) | Value::Tuple(items) if items.is_cycle() => {
            let repr = if let Value::List(_) = value {
                "[...]"
            } else {
                "(...)"
            };
            write!(w, "{{\"$cycle\":\"{repr}\"}}")
        }
        Value::Dict(dict) if dict.is_cycle() => w.write_str("{\"$cycle\":\"{...}\"}"),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            w.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    w.write_char(',')?;
                }
                write_json(w, &item, how)?;
            }
            w.write_char(']')
        }
        Value::Dict(dict) => {
            w.write_char('{')?;
            for (i, (key, item)) in dict.iter().enumerate() {
                if i > 0 {
                    w.write_char(',')?;
                }
                write_key_as(w, &key, how)?;
                w.write_char(':')?;
                write_json(w, &item, how)?;
            }
            w.write_char('}')
        }
        Value::Object(o) => crate::objects::write_object(w, o, how),
    }
}

/// A dict key as a JSON object key, as `json.dumps` writes str, int, float, bool and None
/// keys (`"7"`, `"1.5"`, `"NaN"`, `"true"`, `"null"`); any other key (a tuple, bytes) as its
/// Python repr (`"(1, 2)"`), where `json.dumps` would raise.
pub fn write_key<W: Write + ?Sized>(w: &mut W, key: &Value<'_>) -> fmt::Result {
    write_key_as(w, key, Surrogates::Escaped)
}

pub(crate) fn write_key_as<W: Write + ?Sized>(
    w: &mut W,
    key: &Value<'_>,
    how: Surrogates,
) -> fmt::Result {
    match key {
        Value::Str(s) => write_text(w, s.code_points(), how),
        Value::Bool(true) => w.write_str("\"true\""),
        Value::Bool(false) => w.write_str("\"false\""),
        Value::None => w.write_str("\"null\""),
        Value::Float(x) if x.is_nan() => w.write_str("\"NaN\""),
        Value::Float(x) if x.is_infinite() => w.write_str(if *x > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        }),
        other => {
            // The repr, escaped on the fly.
            w.write_char('"')?;
            write!(Escaped(w), "{other}")?;
            w.write_char('"')
        }
    }
}

/// Writes a JSON string literal of `text`.
pub fn write_str<W: Write + ?Sized>(w: &mut W, text: &str) -> fmt::Result {
    write_code_points(w, text.chars().map(u32::from))
}

/// Writes a JSON string literal of a Python str's code points: `"` and `\` escaped,
/// control characters (C0, DEL and C1, so none reaches a terminal raw) as `\n`, `\t`, ... or
/// `\u00XX`, a lone surrogate as its escape (`\ud800`, which `json.loads` reads back as
/// that surrogate); everything else as UTF-8.
pub fn write_code_points<W: Write + ?Sized>(
    w: &mut W,
    code_points: impl Iterator<Item = u32>,
) -> fmt::Result {
    write_text(w, code_points, Surrogates::Escaped)
}

pub(crate) fn write_text<W: Write + ?Sized>(
    w: &mut W,
    code_points: impl Iterator<Item = u32>,
    how: Surrogates,
) -> fmt::Result {
    w.write_char('"')?;
    for cp in code_points {
        match char::from_u32(cp) {
            Some(c) => write_char_escaped(w, c)?,
            None if how == Surrogates::Replaced => w.write_char(char::REPLACEMENT_CHARACTER)?,
            None => write!(w, "\\u{cp:04x}")?,
        }
    }
    w.write_char('"')
}

fn write_char_escaped<W: Write + ?Sized>(w: &mut W, c: char) -> fmt::Result {
    match c {
        '"' => w.write_str("\\\""),
        '\\' => w.write_str("\\\\"),
        '\n' => w.write_str("\\n"),
        '\r' => w.write_str("\\r"),
        '\t' => w.write_str("\\t"),
        '\u{8}' => w.write_str("\\b"),
        '\u{c}' => w.write_str("\\f"),
        c if c.is_control() => write!(w, "\\u{:04x}", u32::from(c)),
        c => w.write_char(c),
    }
}

/// Escapes what is written through it as the inside of a JSON string.
struct Escaped<'w, W: ?Sized>(&'w mut W);

impl<W: Write + ?Sized> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.chars().try_for_each(|c| write_char_escaped(self.0, c))
    }
}

/// Passes an int's repr through, quoted when it is the hex form (`0x...`, `-0x...`) of an int
/// past the 4300-digit limit: decides on the first three bytes, holding them until then.
struct HexAsString<'w, W: ?Sized> {
    w: &'w mut W,
    held: [u8; 3],
    len: usize,
    decided: bool,
    quoted: bool,
}

impl<'w, W: Write + ?Sized> HexAsString<'w, W> {
    fn new(w: &'w mut W) -> Self {
        Self {
            w,
            held: [0; 3],
            len: 0,
            decided: false,
            quoted: false,
        }
    }

    /// Writes what is held once the start tells decimal from hex (or the text ended).
    fn decide(&mut self, at_end: bool) -> fmt::Result {
        let held = self.held.get(..self.len).unwrap_or_default();
        let hex = held == b"0x" || held == b"-0x";
        let decimal = !b"0x".starts_with(held) && !b"-0x".starts_with(held);
        if !(hex || decimal || at_end) {
            return Ok(());
        }
        self.decided = true;
        self.quoted = hex;
        if hex {
            self.w.write_char('"')?;
        }
        // The held bytes are ASCII (a sign, digits, `x`).
        self.w
            .write_str(core::str::from_utf8(held).map_err(|_| fmt::Error)?)
    }

    fn finish(mut self) -> fmt::Result {
        if !self.decided {
            self.decide(true)?;
        }
        if self.quoted {
            self.w.write_char('"')?;
        }
        Ok(())
    }
}

impl<W: Write + ?Sized> Write for HexAsString<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while !self.decided {
            let Some(c) = rest.bytes().next() else {
                return Ok(());
            };
            if !c.is_ascii() {
                return Err(fmt::Error);
            }
            *self.held.get_mut(self.len).ok_or(fmt::Error)? = c;
            self.len += 1;
            rest = rest.get(1..).unwrap_or_default();
            self.decide(false)?;
        }
        self.w.write_str(rest)
    }
}

/// `value` as one line of JSON of at most `limit` bytes, or `Err` with the reason when its
/// JSON is longer (what was written is dropped). Allocates at most `limit` bytes.
pub fn to_json_line(value: &Value<'_>, limit: usize) -> Result<String, String> {
    let mut out = Budget::new(String::new(), limit);
    match write_value(&mut out, value) {
        Ok(()) => Ok(out.into_inner()),
        Err(_) => Err(too_long("JSON", limit)),
    }
}

/// `value` as a `serde_json::Value`, built from at most `limit` bytes of JSON text; a longer
/// one is `{"cut": "<reason>"}`. Integers keep every digit (serde_json's
/// `arbitrary_precision`); a lone surrogate, which a Rust string cannot hold, becomes U+FFFD.
pub fn to_json_value(value: &Value<'_>, limit: usize) -> serde_json::Value {
    let cut = |reason: String| serde_json::json!({ "cut": reason });
    let mut out = Budget::new(String::new(), limit);
    match write_json(&mut out, value, Surrogates::Replaced) {
        Ok(()) => serde_json::from_str(&out.into_inner()).unwrap_or_else(|e| cut(e.to_string())),
        Err(_) => cut(too_long("JSON", limit)),
    }
}

/// Python's repr of `value`, at most `limit` bytes; when it is longer, what fits followed by
/// [`CUT_MARK`] and the reason (so a cut line is never mistaken for a whole one).
pub fn repr_line(value: &Value<'_>, limit: usize) -> String {
    let mut out = Budget::new(String::new(), limit);
    match out.write_display(value) {
        Ok(true) | Err(_) => out.into_inner(),
        Ok(false) => {
            let mut text = out.into_inner();
            let _ = write!(text, "{CUT_MARK}{}]", too_long("repr", limit));
            text
        }
    }
}

/// Ends a repr cut at its budget: `…[cut: its repr is longer than N bytes]`.
pub const CUT_MARK: &str = "…[cut: ";

/// "its repr is longer than 4096 bytes".
pub fn too_long(what: &str, limit: usize) -> String {
    format!("its {what} is longer than {limit} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AsPython;
    use brine_core::pickle::{to_slice, Decoder, Protocol};

    fn decode_with<T>(pickle: &[u8], f: impl FnOnce(&Value<'_>) -> T) -> T {
        let mut decoder: Box<Decoder> = Box::default();
        f(&decoder.decode(pickle).unwrap())
    }

    fn json(value: &Value<'_>) -> String {
        to_json_line(value, usize::MAX).unwrap()
    }

    fn round_trip(text: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut buf = vec![0u8; 4096];
        let bytes = to_slice(&AsPython(&value), &mut buf, Protocol::V4).unwrap();
        decode_with(bytes, json)
    }

    #[test]
    fn json_round_trips_through_pickle() {
        for text in [
            r#"{"b":1,"a":[true,false,null],"c":"x\"y\n"}"#,
            "123456789012345678901234567890",
            "-170141183460469231731687303715884105728",
            "340282366920938463463374607431768211455",
            "1.5",
            "1e+100",
            "-0.0",
            r#"["é","😀",{}]"#,
        ] {
            assert_eq!(round_trip(text), text);
        }
    }

    #[test]
    fn keys_as_json_dumps_writes_them_and_the_rest_as_repr() {
        // pickle.dumps({1: b'\x00\xff', (1, 2): {3}, None: True, 'f': float('nan'),
        //               True: 1.5, 1.5: 1e100, float('inf'): '\x1b[2K\x9b'}, 4)
        let pickle = b"\x80\x04\x95O\x00\x00\x00\x00\x00\x00\x00}\x94(K\x01G?\xf8\x00\x00\x00\x00\x00\x00K\x01K\x02\x86\x94\x8f\x94(K\x03\x90N\x88\x8c\x01f\x94G\x7f\xf8\x00\x00\x00\x00\x00\x00G?\xf8\x00\x00\x00\x00\x00\x00GT\xb2I\xad%\x94\xc3}G\x7f\xf0\x00\x00\x00\x00\x00\x00\x8c\x06\x1b[2K\xc2\x9b\x94u.";
        decode_with(pickle, |value| {
            assert_eq!(
                value.to_string(),
                "{1: 1.5, (1, 2): {3}, None: True, 'f': nan, 1.5: 1e+100, inf: '\\x1b[2K\\x9b'}"
            );
            assert_eq!(
                json(value),
                r#"{"1":1.5,"(1, 2)":[3],"null":true,"f":null,"1.5":1e+100,"Infinity":"\u001b[2K\u009b"}"#
            );
        });
    }

    #[test]
    fn budget_cuts_repr_with_a_marker_and_refuses_long_json() {
        // ['abc'] * 500 as pickle.dumps writes it, without the frame: 3500 bytes of repr.
        let mut pickle = b"\x80\x04]\x94(\x8c\x03abc\x94".to_vec();
        for _ in 0..499 {
            pickle.extend_from_slice(b"h\x01");
        }
        pickle.extend_from_slice(b"e.");
        decode_with(&pickle, |value| {
            let whole = repr_line(value, usize::MAX);
            assert_eq!(whole.len(), 3500);
            let cut = repr_line(value, 100);
            assert_eq!(
                cut,
                format!(
                    "{}{CUT_MARK}its repr is longer than 100 bytes]",
                    &whole[..100]
                )
            );
            assert_eq!(
                to_json_line(value, 3001),
                Ok(whole.replace('\'', "\"").replace(", ", ","))
            );
            assert_eq!(
                to_json_line(value, 3000),
                Err("its JSON is longer than 3000 bytes".to_owned())
            );
            assert_eq!(
                to_json_value(value, 10),
                serde_json::json!({"cut": "its JSON is longer than 10 bytes"})
            );
        });
    }

    /// `pickle.dumps(['a\ud800\udc00', {'\udfff': '\x1b'}], 4)`: each lone surrogate as its
    /// escape, as `json.dumps` writes it, so `json.loads` reads the same as from `json.dumps`
    /// (checked by CPython; both pair a high and a low surrogate that follow each other);
    /// U+FFFD in a `serde_json::Value`.
    #[test]
    fn lone_surrogates_as_json_escapes() {
        let pickle = b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x07a\xed\xa0\x80\xed\xb0\x80\x94}\x94\x8c\x03\xed\xbf\xbf\x94\x8c\x01\x1b\x94se.";
        decode_with(pickle, |value| {
            let line = json(value);
            assert_eq!(line, r#"["a\ud800\udc00",{"\udfff":"\u001b"}]"#);
            let check = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import json, sys; v = ['a\\ud800\\udc00', {'\\udfff': '\\x1b'}]; assert json.loads(sys.argv[1]) == json.loads(json.dumps(v))",
                    &line,
                ])
                .status()
                .expect("python3 (the CPython oracle) must be installed");
            assert!(check.success());
            assert_eq!(
                to_json_value(value, 1000),
                serde_json::json!(["a\u{FFFD}\u{FFFD}", {"\u{FFFD}": "\u{1b}"}])
            );
        });
    }

    /// Issue 12 "Why" 10, the drifts between the old copies of the bridge: dict keys
    /// None/True, `1e100`, ints above `i128::MAX` (and beyond 128 bits) come out the same
    /// through every path: the JSON line (client, `brine pickle`), the `serde_json::Value`
    /// (server), and both JSON readers into pickles (`parse`, `AsPython`).
    #[test]
    fn one_mapping_for_the_old_drifts() {
        let text = r#"{"null": 1e100, "true": 340282366920938463463374607431768211455, "x": -1606938044258990275541962092341162602522202993782792835301376}"#;
        let via_serde: serde_json::Value = serde_json::from_str(text).unwrap();
        let via_parse = crate::parse(text).unwrap();
        for protocol in [Protocol::V0, Protocol::V2, Protocol::V4] {
            let mut a = vec![0u8; 4096];
            let mut b = vec![0u8; 4096];
            let a = to_slice(&AsPython(&via_serde), &mut a, protocol).unwrap();
            let b = to_slice(&via_parse, &mut b, protocol).unwrap();
            assert_eq!(a, b);
        }
        // pickle.dumps({None: 1e100, True: 2**128 - 1, 'x': -2**200}, 4)
        let pickle = b"\x80\x04\x95C\x00\x00\x00\x00\x00\x00\x00}\x94(NGT\xb2I\xad%\x94\xc3}\x88\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8c\x01x\x94\x8a\x1a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xffu.";
        decode_with(pickle, |value| {
            let line = json(value);
            // As json.dumps writes it (1e+100, "null" and "true" keys), without spaces.
            let want = text
                .replace(": ", ":")
                .replace(", ", ",")
                .replace("1e100", "1e+100");
            assert_eq!(line, want);
            let as_value: serde_json::Value = serde_json::from_str(&want).unwrap();
            assert_eq!(to_json_value(value, 4096), as_value);
        });
    }

    /// Issue 22: ints past Python's 4300 digits (whose repr is their `hex()`) are JSON
    /// strings of that hex, ints up to it numbers; checked by CPython's `json.loads` of each
    /// line, in every protocol (LONG1/LONG4 and protocol 0's decimal LONG), inside a list and
    /// as a dict key.
    #[test]
    fn every_int_is_valid_json() {
        let script = r#"
import pickle, sys
ns = [10**4299, -10**4299, 10**4300 - 1, 10**4300, -10**4300, 2**20000, -2**20000 + 1, 2**64, -2**63 - 1]
for n in ns:
    for proto in range(6):
        if proto < 2 and abs(n) >= 10**4300:
            continue  # protocol 0/1 write decimal text, which int() refuses to read back
        print(proto, pickle.dumps([n, {n: n}], proto).hex())
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .output()
            .expect("python3 (the CPython oracle) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines = Vec::new();
        let mut count = 0;
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let (proto, hex) = line.split_once(' ').unwrap();
            let pickle: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let (line, as_value) =
                decode_with(&pickle, |v| (json(v), to_json_value(v, usize::MAX)));
            // brine-server's form: the same JSON.
            assert_eq!(
                as_value,
                serde_json::from_str::<serde_json::Value>(&line).unwrap()
            );
            lines.push(format!("{proto} {hex} {line}"));
            count += 1;
        }
        assert_eq!(count, 9 * 6 - 4 * 2);
        // CPython reads each line and finds n as a number, or hex(n) past the limit.
        let check = r#"
import json, pickle, sys
for l in sys.stdin:
    proto, p, line = l.split(' ', 2)
    n = pickle.loads(bytes.fromhex(p))[0]
    sys.set_int_max_str_digits(0)
    want = n if len(str(abs(n))) <= 4300 else hex(n)
    sys.set_int_max_str_digits(4300)  # json.loads as it reads by default
    got = json.loads(line)
    assert got == [want, {str(want): want}], (proto, hex(n)[:20], line[:80])
print('ok')
"#;
        let mut child = std::process::Command::new("python3")
            .args(["-c", check])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 (the CPython oracle) must be installed");
        let mut stdin = child.stdin.take().unwrap();
        let text = lines.join("\n");
        let writer = std::thread::spawn(move || {
            use std::io::Write as _;
            stdin.write_all(text.as_bytes()).unwrap();
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    }

    /// Issue 22: a container inside itself is `{"$cycle": "[...]"}` (the repr Python prints
    /// there), never a loop. `l = []; l.append(l); d = {}; d['a'] = d; t = ([],);
    /// t[0].append(t); pickle.dumps([l, d, t], 4)`.
    #[test]
    fn cycles_are_marked() {
        let pickle = b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94h\x01a}\x94\x8c\x01a\x94h\x02s]\x94h\x04\x85\x94a0h\x05e.";
        decode_with(pickle, |value| {
            assert_eq!(value.to_string(), "[[[...]], {'a': {...}}, ([(...)],)]");
            let line = json(value);
            assert_eq!(
                line,
                r#"[[{"$cycle":"[...]"}],{"a":{"$cycle":"{...}"}},[[{"$cycle":"(...)"}]]]"#
            );
            assert_eq!(to_json_value(value, 1000).to_string(), line);
        });
    }
}
