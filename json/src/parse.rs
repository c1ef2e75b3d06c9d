//! JSON text → the Python object `json.loads` builds, for the pickle encoder.
//!
//! Written by hand because serde_json, like RFC 8259, refuses three things Python's `json`
//! accepts: `NaN`, `Infinity`, `-Infinity` (floats), lone surrogate escapes (`"\ud800"`, a
//! str holding that surrogate) and nothing else; it also reads integers of any length,
//! refusing more than 4300 digits as Python 3.11's `int()` does.

use std::collections::HashMap;

use brine_core::pickle::{PyInt, PyStandard, PyStr};

use crate::standard_collections::Collection;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Nesting deeper than this is refused (serde_json's default limit, which brine had before;
/// Python's recursion limit stops `json.loads` near 1000).
pub const MAX_NESTING: usize = 128;

/// CPython 3.11's `sys.get_int_max_str_digits()`: `json.loads` refuses longer integers.
pub const MAX_INT_DIGITS: usize = 4300;

/// A Python value as `json.loads` builds it. Serializes (serde) as that Python object, so
/// brine's pickle encoder writes what `pickle.dumps(json.loads(text), protocol)` writes.
#[derive(Clone, Debug, PartialEq)]
pub enum Python {
    /// `null`.
    None,
    /// `true`, `false`.
    Bool(bool),
    /// An integer, as its decimal text (`-?[0-9]+`, at most 4300 digits).
    Int(String),
    /// A number with a fraction or an exponent, `NaN`, `Infinity` or `-Infinity`.
    Float(f64),
    /// A string: its 'surrogatepass' UTF-8 (plain UTF-8 unless it holds a lone surrogate).
    Str(Vec<u8>),
    /// An array.
    List(Vec<Python>),
    /// An object: its keys in first-seen order, each with its last value (as a dict built by
    /// `json.loads`).
    Dict(Vec<(Vec<u8>, Python)>),
    /// One of Python's standard types, from an object whose one key is a `$` form
    /// (`$datetime`, `$decimal`, ...: see the crate's documentation).
    Standard(PyStandard),
    /// `collections.OrderedDict`, `Counter`, `deque` or `defaultdict`, from an object with
    /// a `$ordereddict`, `$counter`, `$deque` or `$defaultdict` key (see the crate's
    /// documentation).
    Collection(Box<Collection>),
}

/// Parses `text` as Python's `json.loads` does; `Err` says what is wrong and where (a byte
/// offset into `text`).
pub fn parse(text: &str) -> Result<Python, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.ws();
    let value = p.value()?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(p.error("extra data after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        let found = self.s[self.pos..].starts_with(word.as_bytes());
        if found {
            self.pos += word.len();
        }
        found
    }

    fn value(&mut self) -> Result<Python, String> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().map(Python::Str),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if self.eat("null") => Ok(Python::None),
            _ if self.eat("true") => Ok(Python::Bool(true)),
            _ if self.eat("false") => Ok(Python::Bool(false)),
            _ if self.eat("NaN") => Ok(Python::Float(f64::NAN)),
            _ if self.eat("Infinity") => Ok(Python::Float(f64::INFINITY)),
            _ => Err(self.error("expected a value")),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Python, String>) -> Result<Python, String> {
        if self.depth >= MAX_NESTING {
            return Err(self.error(&format!("nested deeper than {MAX_NESTING}")));
        }
        self.depth += 1;
        self.pos += 1;
        let value = f(self);
        self.depth -= 1;
        value
    }

    /// After `[`.
    fn array(&mut self) -> Result<Python, String> {
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Ok(Python::List(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            if self.eat("]") {
                return Ok(Python::List(items));
            }
            if !self.eat(",") {
                return Err(self.error("expected ',' or ']'"));
            }
        }
    }

    /// After `{`.
    fn object(&mut self) -> Result<Python, String> {
        let mut entries: Vec<(Vec<u8>, Python)> = Vec::new();
        let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
        self.ws();
        if self.eat("}") {
            return Ok(Python::Dict(entries));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(":") {
                return Err(self.error("expected ':'"));
            }
            self.ws();
            let value = self.value()?;
            match index.get(&key) {
                Some(&i) => entries[i].1 = value,
                None => {
                    index.insert(key.clone(), entries.len());
                    entries.push((key, value));
                }
            }
            self.ws();
            if self.eat("}") {
                if let Some(c) = crate::standard_collections::collection(&mut entries) {
                    return c
                        .map(|c| Python::Collection(Box::new(c)))
                        .map_err(|e| self.error(&e));
                }
                if let [(key, value)] = entries.as_slice() {
                    if let Some(standard) = crate::standard::standard(key, value) {
                        return standard.map(Python::Standard).map_err(|e| self.error(&e));
                    }
                }
                return Ok(Python::Dict(entries));
            }
            if !self.eat(",") {
                return Err(self.error("expected ',' or '}'"));
            }
        }
    }

    /// A string from its opening quote, as 'surrogatepass' UTF-8. A `\u` escape of a high
    /// surrogate directly followed by one of a low surrogate is one character (as in
    /// Python); any other surrogate escape stays a lone surrogate.
    fn string(&mut self) -> Result<Vec<u8>, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let run = self.s[self.pos..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or_else(|| self.error("unterminated string"))?;
            out.extend_from_slice(&self.s[self.pos..self.pos + run]);
            self.pos += run;
            match self.s[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => self.escape(&mut out)?,
                _ => return Err(self.error("control character in string")),
            }
        }
    }

    /// After a backslash at `pos`.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let simple = match self.s.get(self.pos + 1) {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let mut cp = self.hex4(self.pos + 2)?;
                self.pos += 6;
                if (0xD800..0xDC00).contains(&cp) && self.s[self.pos..].starts_with(b"\\u") {
                    if let Ok(low @ 0xDC00..=0xDFFF) = self.hex4(self.pos + 2) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        self.pos += 6;
                    }
                }
                push_code_point(out, cp);
                return Ok(());
            }
            _ => return Err(self.error("invalid escape")),
        };
        out.push(simple);
        self.pos += 2;
        Ok(())
    }

    fn hex4(&self, at: usize) -> Result<u32, String> {
        let digits = self
            .s
            .get(at..at + 4)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| self.error("invalid \\uXXXX escape"))?;
        let text = std::str::from_utf8(digits).map_err(|e| e.to_string())?;
        u32::from_str_radix(text, 16).map_err(|e| e.to_string())
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?` as Python's scanner matches it, or
    /// `-Infinity`.
    fn number(&mut self) -> Result<Python, String> {
        let start = self.pos;
        if self.eat("-Infinity") {
            return Ok(Python::Float(f64::NEG_INFINITY));
        }
        self.eat("-");
        let digits = |p: &Self, from: usize| {
            p.s[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.pos += digits(self, self.pos),
            _ => return Err(self.error("expected a value")),
        }
        let int_end = self.pos;
        if self.peek() == Some(b'.') && digits(self, self.pos + 1) > 0 {
            self.pos += 1 + digits(self, self.pos + 1);
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.s.get(self.pos + 1), Some(b'+' | b'-')));
            let n = digits(self, self.pos + 1 + sign);
            if n > 0 {
                self.pos += 1 + sign + n;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).map_err(|e| e.to_string())?;
        if self.pos == int_end {
            let n = text.trim_start_matches('-').len();
            if n > MAX_INT_DIGITS {
                return Err(format!(
                    "an integer of {n} digits at byte {start}: Python's json refuses more than \
                     {MAX_INT_DIGITS} (its int() limit)"
                ));
            }
            return Ok(Python::Int(text.to_owned()));
        }
        // Correctly rounded, as Python's float(); 1e999 is inf.
        text.parse::<f64>()
            .map(Python::Float)
            .map_err(|e| format!("{e} at byte {start}"))
    }
}

/// Appends `cp` as 'surrogatepass' UTF-8 (a surrogate as its 3 bytes).
fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    match char::from_u32(cp) {
        Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        None => out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]),
    }
}

/// A str's 'surrogatepass' UTF-8 as the Python str.
struct Text<'a>(&'a [u8]);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => match PyStr::new(self.0) {
                Some(text) => text.serialize(s),
                None => Err(serde::ser::Error::custom("not 'surrogatepass' UTF-8")),
            },
        }
    }
}

impl Serialize for Python {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Python::None => s.serialize_none(),
            Python::Bool(b) => s.serialize_bool(*b),
            Python::Int(text) => match text.parse::<i64>() {
                Ok(i) => s.serialize_i64(i),
                Err(_) => match PyInt::new(text) {
                    Some(int) => int.serialize(s),
                    None => Err(serde::ser::Error::custom("not an integer")),
                },
            },
            Python::Float(x) => s.serialize_f64(*x),
            Python::Str(bytes) => Text(bytes).serialize(s),
            Python::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Python::Standard(value) => value.serialize(s),
            Python::Collection(value) => value.serialize(s),
            Python::Dict(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, item) in entries {
                    map.serialize_entry(&Text(key), item)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::python;
    use brine_core::pickle::{to_slice_with_memo, Protocol};

    fn pickle(value: &Python, protocol: u8) -> Vec<u8> {
        let mut buf = vec![0u8; 1 << 20];
        let p = Protocol::from_u8(protocol).unwrap();
        to_slice_with_memo::<4096, _>(value, &mut buf, p)
            .unwrap()
            .to_vec()
    }

    #[test]
    fn what_json_loads_accepts() {
        assert!(matches!(parse("NaN"), Ok(Python::Float(x)) if x.is_nan()));
        assert_eq!(parse(" -Infinity "), Ok(Python::Float(f64::NEG_INFINITY)));
        assert_eq!(
            parse("[Infinity]"),
            Ok(Python::List(vec![Python::Float(f64::INFINITY)]))
        );
        assert_eq!(parse("1e999"), Ok(Python::Float(f64::INFINITY)));
        assert_eq!(parse("-0"), Ok(Python::Int("-0".into())));
        assert_eq!(parse("1E+2"), Ok(Python::Float(100.0)));
        // Lone surrogates stay; a high and a low escape in a row are one character.
        assert_eq!(
            parse(r#""a\ud800""#),
            Ok(Python::Str(b"a\xed\xa0\x80".to_vec()))
        );
        assert_eq!(
            parse(r#""\ud83d\ude00\udc00\ud800\u0041""#),
            Ok(Python::Str(
                "😀".bytes().chain(*b"\xed\xb0\x80\xed\xa0\x80A").collect()
            ))
        );
        // A repeated key keeps its first place and takes its last value.
        assert_eq!(
            parse(r#"{"a": 1, "b": 2, "a": 3}"#),
            Ok(Python::Dict(vec![
                (b"a".to_vec(), Python::Int("3".into())),
                (b"b".to_vec(), Python::Int("2".into()))
            ]))
        );
        let digits = "9".repeat(4300);
        assert_eq!(
            parse(&format!("-{digits}")),
            Ok(Python::Int(format!("-{digits}")))
        );
        for bad in [
            "",
            "nan",
            "-NaN",
            "01",
            "1.",
            ".5",
            "- 1",
            "[1,]",
            "{\"a\"}",
            "\"\t\"",
            "\"\\x\"",
            "\"\\ud80\"",
            "[1] 2",
            "{1: 2}",
            "'a'",
            "\"abc",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let e = parse(&format!("[{digits}9]")).unwrap_err();
        assert!(e.contains("4301 digits at byte 1"), "{e}");
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(parse(&deep).unwrap_err().contains("nested deeper than 128"));
        assert!(parse(&deep[1..deep.len() - 1]).is_ok());
    }

    /// Random JSON (huge ints, NaN/Infinity, lone surrogates, nesting), one value a line:
    /// `pickle.dumps(json.loads(line), P)` and brine's pickle of `parse(line)` are the same
    /// bytes in every protocol. Strings are all distinct, as `json.loads` makes distinct
    /// objects of equal values (which brine's encoder takes to be one) but one of equal keys.
    #[test]
    fn pickles_as_cpython_pickles_json_loads() {
        let lines = python(
            r#"
import json, random
r = random.Random(8)
n = 0
def text(kind):
    global n
    n += 1
    pool = ['a', 'é', '€', '😀', '\ud800', '\udfff', '\udbff\udc00', '"', '\\', '\n', '\x1b']
    return kind + str(n) + ''.join(r.choice(pool) for _ in range(r.randrange(4)))
def value(depth):
    k = r.randrange(10 if depth < 4 else 6)
    if k == 0:
        d = r.choice([1, 2, 9, 10, 18, 19, 20, 38, 39, 40, 77, 300, 616, 617, 1000, 4300])
        return int(r.choice(['', '-']) + str(r.randrange(1, 10)) + ''.join(str(r.randrange(10)) for _ in range(d - 1)))
    if k == 1:
        return r.choice([2**31, -2**31, 2**31 - 1, -2**31 - 1, 2**63, -2**63, 2**64, 2**127, -2**127, 2**128, -2**128, -2**(8*255 - 1), 2**(8*255 - 1), -2**(8*256 - 1)])
    if k == 2:
        return r.choice([float('nan'), float('inf'), -float('inf'), 0.0, -0.0, 1e100, 1.5, 1e-300])
    if k == 3:
        return text('v')
    if k == 4:
        return r.choice([None, True, False, 0, -1, 255, 65536])
    if k == 5:
        return r.randrange(-10**12, 10**12)
    if k < 8:
        return [value(depth + 1) for _ in range(r.randrange(5))]
    return {text('k') if r.random() < .7 else r.choice(['x', 'y']): value(depth + 1) for _ in range(r.randrange(5))}
for _ in range(150):
    print(json.dumps(value(0)))
"#,
            b"",
        );
        let cpython = python(
            r#"
import json, pickle, sys
for line in sys.stdin:
    print(*[pickle.dumps(json.loads(line), p).hex() for p in range(6)])
"#,
            lines.as_bytes(),
        );
        let mut n = 0;
        for (line, want) in lines.lines().zip(cpython.lines()) {
            let value = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            for (protocol, want) in want.split(' ').enumerate() {
                let got = pickle(&value, protocol as u8);
                let got: String = got.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(got, want, "protocol {protocol}: {line}");
                n += 1;
            }
        }
        assert_eq!(n, 900);
    }

    /// Mutated JSON texts (from pieces of every token kind, cut and spliced): `parse`
    /// accepts exactly what `json.loads` accepts, and builds what it builds (the same
    /// pickle). Never panics.
    #[test]
    fn accepts_what_json_loads_accepts() {
        let out = python(
            r#"
import json, pickle, random
r = random.Random(21)
pieces = ['[', ']', '{', '}', ',', ':', ' ', '\t', '\n', '"', '"a"', '"\\u', 'd800', '\\', '\\ud800',
          '\\udc00', '\\n', '\\x', '0', '1', '-', '.', 'e', 'E', '+', '12', '01', '1.5', '1e5',
          'NaN', 'Infinity', '-Infinity', 'nan', 'null', 'true', 'false', 'tru', '\x01', 'é',
          '😀', '\x7f', '/', '\\/']
seen = 0
while seen < 3000:
    t = ''.join(r.choice(pieces) for _ in range(r.randrange(1, 9)))
    if seen % 2:
        # A valid text (ASCII or not, spaced or not), maybe with one piece spliced in.
        v = [{r.choice(pieces): r.choice([1.5, -0.0, 10**r.randrange(40), float('nan'), r.choice(pieces)])}, [None, True]]
        t = json.dumps(v, ensure_ascii=r.random() < .5, separators=r.choice([(',', ':'), (', ', ': ')]))
        if r.random() < .5:
            i = r.randrange(len(t) + 1)
            t = t[:i] + r.choice(pieces) + t[i:]
        t = t.encode('utf-8', 'replace').decode()
    seen += 1
    try:
        v = json.loads(t)
    except (ValueError, RecursionError):
        print(t.encode().hex(), 'ERR')
        continue
    print(t.encode().hex(), pickle.dumps(v, 4).hex())
"#,
            b"",
        );
        let (mut accepted, mut refused) = (0, 0);
        for line in out.lines() {
            let (hex, want) = line.split_once(' ').unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let text = String::from_utf8(bytes).unwrap();
            match (parse(&text), want) {
                (Err(_), "ERR") => refused += 1,
                (Ok(v), "ERR") => panic!("{text:?}: json.loads refuses it, parse gives {v:?}"),
                (Err(e), _) => panic!("{text:?}: json.loads accepts it, parse says {e}"),
                (Ok(v), want) => {
                    let got: String = pickle(&v, 4).iter().map(|b| format!("{b:02x}")).collect();
                    assert_eq!(got, want, "{text:?}");
                    accepted += 1;
                }
            }
        }
        assert!(accepted > 900 && refused > 1000, "{accepted} {refused}");
    }
}
