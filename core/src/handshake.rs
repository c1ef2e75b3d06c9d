//! What the session learns from the server's first message, and how it answers.
//!
//! - [`ClientId`]: any value a lab server assigns (an int, a str, a nested dict, ...), kept
//!   as the bytes of the pickle it came in, so it needs no heap and no lifetime.
//! - [`Preview`]: a bounded repr of a first message that is not a client id, for the error.
//! - [`Dialect`]: the first pickle's protocol and whether it wrote Python 2 byte strings,
//!   which decide the protocol of the answer under [`Protocol`] auto (see [`Dialect::answer`]).

use core::fmt::{self, Display, Write as _};

#[cfg(feature = "python2")]
use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, SerializeTuple, Serializer};

use crate::pickle::opcodes::{Arg, Opcode};
use crate::pickle::{self, Decoder, Encoding, Protocol, Value};

/// Largest pickle a client id may come in, in bytes (`{'clientid': s}` holds a str of up
/// to about 90 characters); a larger one is refused with [`crate::session::Error`]'s
/// `ClientIdTooLarge`.
pub const CLIENT_ID_PICKLE_LEN: usize = 128;

/// Most values (nodes) a client id's pickle may hold, e.g. a dict of 15 pairs.
pub const CLIENT_ID_VALUES: usize = 32;

/// The decoder that re-reads a kept client id (about 0.8 KiB, on the caller's stack).
type IdDecoder = Decoder<CLIENT_ID_VALUES, CLIENT_ID_VALUES, CLIENT_ID_VALUES, CLIENT_ID_VALUES>;

/// The id a lab server assigned: whatever value it put under `'clientid'` in its first
/// message, or that message itself when it is a bare `int` or `str`.
///
/// Kept as the first message's pickle bytes (at most [`CLIENT_ID_PICKLE_LEN`]), decoded again
/// when asked ([`with_value`](Self::with_value), `Display`): no allocation, no borrow of the
/// session. Two ids are equal when the server sent the same bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientId {
    pickle: heapless::Vec<u8, CLIENT_ID_PICKLE_LEN>,
    bare: bool,
}

/// Why a first message gives no [`ClientId`].
pub(crate) enum NotAnId {
    /// Not a dict with `'clientid'`, nor a bare int or str.
    Shape,
    /// Its pickle is over [`CLIENT_ID_PICKLE_LEN`] bytes or [`CLIENT_ID_VALUES`] values.
    TooLarge,
}

impl ClientId {
    /// The id in the server's first message `value`, decoded from `pickle`: the value under
    /// `'clientid'` of a dict, or a bare `int` or `str`. `by_id_decoder`: `value` was decoded
    /// by a decoder of the id decoder's capacities without stubs, so decoding the pickle
    /// again with the id decoder (the check below) would give the same value.
    #[cfg(test)]
    pub(crate) fn from_first_message(
        pickle: &[u8],
        value: &Value<'_>,
        by_id_decoder: bool,
    ) -> Result<Self, NotAnId> {
        let bare = Self::check_first_message(pickle, value, by_id_decoder)?;
        Ok(Self::kept(pickle, bare))
    }

    /// Whether the server's first message `value` (decoded from `pickle`) gives an id, and
    /// whether it is bare (true) or under `'clientid'` (false), as
    /// [`from_first_message`](Self::from_first_message) says; nothing kept yet (the
    /// session builds the id in its event, [`kept`](Self::kept): one 136-byte value
    /// written once, not moved through each `?`).
    pub(crate) fn check_first_message(
        pickle: &[u8],
        value: &Value<'_>,
        by_id_decoder: bool,
    ) -> Result<bool, NotAnId> {
        let bare = match value {
            Value::Dict(dict) if dict.get("clientid").is_some() => false,
            Value::Int(_) | Value::BigInt(_) | Value::Str(_) => true,
            _ => return Err(NotAnId::Shape),
        };
        if pickle.len() > CLIENT_ID_PICKLE_LEN {
            return Err(NotAnId::TooLarge);
        }
        // Every later read uses the small decoder: check once that it holds the id.
        if !by_id_decoder {
            IdDecoder::new()
                .decode(pickle)
                .map_err(|_| NotAnId::TooLarge)?;
        }
        Ok(bare)
    }

    /// The id kept from `pickle`, which [`check_first_message`](Self::check_first_message)
    /// accepted (so it fits: never cut).
    pub(crate) fn kept(pickle: &[u8], bare: bool) -> Self {
        let mut id = ClientId {
            pickle: heapless::Vec::new(),
            bare,
        };
        // Checked to fit (`CLIENT_ID_PICKLE_LEN`).
        let _ = id.pickle.extend_from_slice(pickle);
        id
    }

    /// Calls `f` with the id's value, decoded again from the kept bytes (with a decoder of
    /// about 0.8 KiB on the stack). The decoding was checked when the id arrived; should it
    /// ever fail, `f` gets `None`.
    pub fn with_value<R>(&self, f: impl FnOnce(Value<'_>) -> R) -> R {
        let mut decoder = IdDecoder::new();
        let value = match decoder.decode(&self.pickle) {
            Ok(Value::Dict(dict)) if !self.bare => dict.get("clientid").unwrap_or(Value::None),
            Ok(value) => value,
            Err(_) => Value::None,
        };
        f(value)
    }

    /// The id if it is an `int` that fits 64 bits (the lab's usual id).
    pub fn as_i64(&self) -> Option<i64> {
        self.with_value(|v| match v {
            Value::Int(i) => Some(i),
            _ => None,
        })
    }

    /// True when the server's first message was the id itself (a bare `int` or `str`), not
    /// `{'clientid': id}`.
    pub fn is_bare(&self) -> bool {
        self.bare
    }

    /// The server's first message as it arrived (a whole pickle).
    pub fn pickle(&self) -> &[u8] {
        &self.pickle
    }

    /// How the server pickled its first message.
    pub fn dialect(&self) -> Dialect {
        Dialect::of(&self.pickle)
    }
}

/// As Python's `print(id)`: a `str` as its text, anything else as its repr (without the
/// `repr` feature: an int as its digits, any other id as `<a dict: repr left out ...>`).
impl Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_value(|v| match v {
            Value::Str(s) => s.chars().try_for_each(|c| f.write_char(c)),
            #[cfg(feature = "repr")]
            other => Display::fmt(&other, f),
            #[cfg(not(feature = "repr"))]
            Value::Int(i) => crate::pickle::number::fmt_i128(i.into(), f),
            #[cfg(not(feature = "repr"))]
            Value::BigInt(i) => Display::fmt(&i, f),
            #[cfg(not(feature = "repr"))]
            other => without_repr(f, other.type_name()),
        })
    }
}

impl fmt::Debug for ClientId {
    #[cfg(feature = "repr")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_value(|v| write!(f, "ClientId({v})"))
    }

    #[cfg(not(feature = "repr"))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({self})")
    }
}

/// What stands for the repr of a value of type `type_name` in a build without the `repr`
/// feature: `<a dict: repr left out (brine-core feature `repr`)>`.
#[cfg(not(feature = "repr"))]
fn without_repr(f: &mut impl fmt::Write, type_name: &str) -> fmt::Result {
    // Three writes, not `write!`: no `fmt::Arguments` built (flash of the smallest build).
    f.write_str("<a ")?;
    f.write_str(type_name)?;
    f.write_str(": repr left out (brine-core feature `repr`)>")
}

#[cfg(feature = "defmt")]
impl defmt::Format for ClientId {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self.as_i64() {
            Some(i) => defmt::write!(f, "{}", i),
            None => defmt::write!(f, "ClientId({=[u8]:x})", self.pickle()),
        }
    }
}

/// Longest repr kept by a [`Preview`], in bytes.
#[cfg(feature = "repr")]
pub const PREVIEW_LEN: usize = 64;

/// The start of a value's repr (at most `PREVIEW_LEN` = 64 bytes, cut at a char boundary) and
/// its type, for error messages. Writing it stops at the limit, so a huge value costs no
/// more than a small one. Without the `repr` feature only the type is kept (nothing is
/// formatted; 8 bytes instead of 80, in every error that can hold one): it is shown as
/// `<a list: repr left out (brine-core feature `repr`)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    #[cfg(feature = "repr")]
    repr: heapless::String<PREVIEW_LEN>,
    #[cfg(feature = "repr")]
    cut: bool,
    type_name: &'static str,
}

impl Preview {
    /// The repr of `value`, cut to 64 bytes (`PREVIEW_LEN`).
    #[cfg(feature = "repr")]
    pub fn of(value: &Value<'_>) -> Self {
        let mut preview = Preview {
            repr: heapless::String::new(),
            cut: false,
            type_name: value.type_name(),
        };
        // Err only when the limit was reached: `cut` says so.
        let _ = write!(preview, "{value}");
        preview
    }

    /// The type of `value` (without the `repr` feature nothing is formatted).
    #[cfg(not(feature = "repr"))]
    pub fn of(value: &Value<'_>) -> Self {
        Preview {
            type_name: value.type_name(),
        }
    }

    /// The repr as kept (without the `…` a cut one is shown with); without the `repr`
    /// feature, empty (see [`Preview`]: its `Display` shows the type).
    pub fn repr(&self) -> &str {
        #[cfg(feature = "repr")]
        return &self.repr;
        #[cfg(not(feature = "repr"))]
        ""
    }

    /// True when the repr was longer than what is kept (never without the `repr` feature).
    pub fn is_cut(&self) -> bool {
        #[cfg(feature = "repr")]
        return self.cut;
        #[cfg(not(feature = "repr"))]
        false
    }

    /// Python's name for the value's type.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

#[cfg(feature = "repr")]
impl fmt::Write for Preview {
    /// Keeps the longest start of `s` that fits, cut at a char boundary; `Err` once cut.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut end = s.len().min(PREVIEW_LEN - self.repr.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let _ = self.repr.push_str(s.get(..end).unwrap_or_default());
        if end < s.len() {
            self.cut = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

/// `[1, 2, 3]`, or `'xxxx…` when cut; without the `repr` feature
/// `<a list: repr left out (brine-core feature `repr`)>`.
impl Display for Preview {
    #[cfg(feature = "repr")]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)?;
        if self.cut {
            f.write_char('…')?;
        }
        Ok(())
    }

    #[cfg(not(feature = "repr"))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        without_repr(f, self.type_name)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Preview {
    fn format(&self, f: defmt::Formatter<'_>) {
        #[cfg(feature = "repr")]
        defmt::write!(f, "{=str}", self.repr.as_str());
        #[cfg(not(feature = "repr"))]
        defmt::write!(f, "<a {=str}>", self.type_name);
    }
}

/// How a server pickled its first message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Dialect {
    /// The pickle's protocol: `PROTO`'s argument; without `PROTO`, 1 if a binary opcode
    /// appears, else 0.
    pub protocol: u8,
    /// A Python 2 byte string (`STRING`, `BINSTRING`, `SHORT_BINSTRING`) appears: only
    /// Python 2 writes those (CPython 3 writes `str` as unicode and `bytes` otherwise).
    pub py2_strings: bool,
}

/// Opcodes of protocol 0 (pickletools' `proto=0`).
const PROTOCOL_0: &[u8] = b"(.012FILNPRSVabcdgilpst";

impl Dialect {
    /// Reads the opcodes of `pickle` (a whole pickle that decoded), not their values.
    pub fn of(pickle: &[u8]) -> Self {
        let mut dialect = Dialect {
            protocol: 0,
            py2_strings: false,
        };
        let mut proto = None;
        let mut at = 0;
        while let Some(&byte) = pickle.get(at) {
            let Some(op) = Opcode::from_byte(byte) else {
                break;
            };
            at += 1;
            match op {
                Opcode::PROTO => proto = pickle.get(at).copied(),
                Opcode::STRING | Opcode::BINSTRING | Opcode::SHORT_BINSTRING => {
                    dialect.py2_strings = true;
                }
                _ => {}
            }
            if !PROTOCOL_0.contains(&byte) {
                dialect.protocol = 1;
            }
            at += arg_len(op.arg(), pickle.get(at..).unwrap_or(&[]));
            if op == Opcode::STOP {
                break;
            }
        }
        if let Some(p) = proto {
            dialect.protocol = p;
        }
        dialect
    }

    /// The protocol and string form to answer this server in, under `--protocol auto`:
    ///
    /// 1. Python 2 byte strings → protocol 2, ASCII `str`s written as Python 2 byte strings
    ///    (what a Python 2 client sends; Python 3 loads them as `str` too).
    /// 2. Otherwise protocol ≤ 2 → that protocol, also with ASCII `str`s as byte strings (the
    ///    server may be Python 2 with a first message that holds no string, `I5\n.`).
    /// 3. Otherwise protocol 3 → 3; anything newer → 4 (every Python 3 since 3.4 loads it).
    pub fn answer(self) -> Encoding {
        if self.py2_strings {
            return Encoding::python2(Protocol::V2);
        }
        match self.protocol {
            p @ 0..=2 => Encoding::python2(Protocol::from_u8(p).unwrap_or(Protocol::V2)),
            3 => Encoding::new(Protocol::V3),
            _ => Encoding::new(Protocol::V4),
        }
    }
}

/// Bytes taken by an argument laid out as `arg` at the start of `rest` (cut to `rest`).
fn arg_len(arg: Arg, rest: &[u8]) -> usize {
    let line = |from: usize| {
        rest.get(from..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
            .map_or(rest.len(), |i| from + i + 1)
    };
    let le = |n: usize| {
        rest.get(..n).map_or(usize::MAX, |bytes| {
            bytes.iter().rev().fold(0usize, |acc, &b| {
                acc.saturating_mul(256).saturating_add(b.into())
            })
        })
    };
    let len = match arg {
        Arg::None => 0,
        Arg::Fixed(n) => n.into(),
        Arg::Line => line(0),
        Arg::TwoLines => line(line(0)),
        Arg::Counted(n) => usize::from(n).saturating_add(le(n.into())),
        Arg::CountedSigned4 => 4usize.saturating_add(le(4)),
    };
    len.min(rest.len())
}

#[cfg(feature = "python2")]
/// A decoded value as serde data, to pickle it again in another protocol: ints, floats,
/// `str`, `bytes`, lists, tuples and dicts (what an identity holds). Sets, frozensets,
/// bytearrays, ints beyond 128 bits and protocol-0 strings are refused.
pub(crate) struct Repickle<'a>(pub Value<'a>);

#[cfg(feature = "python2")]
impl Serialize for Repickle<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::None => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(b),
            Value::Int(i) => s.serialize_i64(i),
            Value::BigInt(b) => match b.to_i128() {
                Some(i) => s.serialize_i128(i),
                None => Err(S::Error::custom("an int beyond 128 bits")),
            },
            Value::Float(x) => s.serialize_f64(x),
            Value::Str(text) => match text.as_str() {
                Some(text) => s.serialize_str(text),
                None => Err(S::Error::custom("an escaped str")),
            },
            Value::Bytes(b) => match b.as_slice() {
                Some(bytes) => s.serialize_bytes(bytes),
                None => Err(S::Error::custom("escaped bytes")),
            },
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                items
                    .iter()
                    .try_for_each(|item| seq.serialize_element(&Repickle(item)))?;
                seq.end()
            }
            Value::Tuple(items) => {
                let mut tuple = s.serialize_tuple(items.len())?;
                items
                    .iter()
                    .try_for_each(|item| tuple.serialize_element(&Repickle(item)))?;
                tuple.end()
            }
            Value::Dict(dict) => {
                let mut map = s.serialize_map(Some(dict.len()))?;
                dict.iter()
                    .try_for_each(|(k, v)| map.serialize_entry(&Repickle(k), &Repickle(v)))?;
                map.end()
            }
            other => Err(S::Error::custom(other.type_name())),
        }
    }
}

/// Pickles `value` again into `out` as `encoding` says; returns the length written. Not
/// inlined: the encoder's string memo lives on this frame only while pickling.
#[cfg(feature = "python2")]
#[inline(never)]
pub(crate) fn repickle(
    value: Value<'_>,
    out: &mut [u8],
    encoding: Encoding,
) -> Result<usize, pickle::Error> {
    pickle::to_slice(&Repickle(value), out, encoding).map(|b| b.len())
}

/// Without the `python2` feature the identity cannot be pickled again: refused, naming it.
#[cfg(not(feature = "python2"))]
pub(crate) const NO_REPICKLE: pickle::Error = pickle::Error::Unsupported {
    what: "the identity again in the server's protocol: this build leaves out \
           brine-core feature `python2`",
};

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    /// `Display` of the id in `pickle`, or why none.
    fn id(pickle: &[u8]) -> Result<(std::string::String, bool), &'static str> {
        let mut decoder: Decoder = Decoder::new();
        let value = decoder.decode(pickle).map_err(|_| "undecodable")?;
        match ClientId::from_first_message(pickle, &value, false) {
            Ok(id) => Ok((id.to_string(), id.is_bare())),
            Err(NotAnId::Shape) => Err("shape"),
            Err(NotAnId::TooLarge) => Err("too large"),
        }
    }

    // CPython 3.11: pickle.dumps(...) with the default protocol (4) unless said.
    #[test]
    #[cfg(feature = "repr")]
    fn any_value_under_clientid_and_bare_ints_and_strs() {
        // {'clientid': 54321}
        let p = b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.";
        assert_eq!(id(p), Ok(("54321".into(), false)));
        // {'clientid': {'clientid': 7}}
        let p = b"\x80\x04\x95\x16\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94}\x94h\x01K\x07ss.";
        assert_eq!(id(p), Ok(("{'clientid': 7}".into(), false)));
        // {'clientid': 'abc-123'} prints as print() does: no quotes.
        let p = b"\x80\x04\x95\x19\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94\x8c\x07abc-123\x94s.";
        assert_eq!(id(p), Ok(("abc-123".into(), false)));
        // {'clientid': [1, 2]}
        let p = b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94]\x94(K\x01K\x02es.";
        assert_eq!(id(p), Ok(("[1, 2]".into(), false)));
        // pickle.dumps(1)
        assert_eq!(id(b"\x80\x04K\x01."), Ok(("1".into(), true)));
        // pickle.dumps('abc')
        let p = b"\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03abc\x94.";
        assert_eq!(id(p), Ok(("abc".into(), true)));
        // Python 2.7: pickle.dumps({'clientid': 5}) (protocol 0, STRING key).
        assert_eq!(
            id(b"(dp0\nS'clientid'\np1\nI5\ns."),
            Ok(("5".into(), false))
        );
    }

    #[test]
    fn other_shapes_are_not_ids() {
        // [1, 2, 3]
        assert_eq!(
            id(b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02K\x03e."),
            Err("shape")
        );
        // {'id': 5}
        assert_eq!(
            id(b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x02id\x94K\x05s."),
            Err("shape")
        );
        // None, 1.5
        assert_eq!(id(b"\x80\x04N."), Err("shape"));
        assert_eq!(
            id(b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00G?\xf8\x00\x00\x00\x00\x00\x00."),
            Err("shape")
        );
        // pickle.dumps('x' * 200): over CLIENT_ID_PICKLE_LEN.
        let mut p =
            std::vec::Vec::from(&b"\x80\x04\x95\xcc\x00\x00\x00\x00\x00\x00\x00\x8c\xc8"[..]);
        p.extend_from_slice(&[b'x'; 200]);
        p.extend_from_slice(b"\x94.");
        assert_eq!(id(&p), Err("too large"));
    }

    #[test]
    #[cfg(feature = "repr")]
    fn preview_is_cut_at_the_limit() {
        let mut decoder: Decoder = Decoder::new();
        let value = decoder.decode(b"\x80\x04K\x01.").unwrap();
        let preview = Preview::of(&value);
        assert_eq!(
            (preview.to_string().as_str(), preview.type_name()),
            ("1", "int")
        );
        let mut p =
            std::vec::Vec::from(&b"\x80\x04\x95\xcc\x00\x00\x00\x00\x00\x00\x00\x8c\xc8"[..]);
        p.extend_from_slice(&[b'x'; 200]);
        p.extend_from_slice(b"\x94.");
        let value = decoder.decode(&p).unwrap();
        let preview = Preview::of(&value);
        assert!(preview.is_cut());
        assert_eq!(preview.repr().len(), PREVIEW_LEN);
        assert!(preview.to_string().starts_with("'xxx") && preview.to_string().ends_with('…'));
    }

    #[test]
    #[cfg(feature = "repr")]
    fn preview_keeps_whole_chars_up_to_the_limit() {
        use core::fmt::Write;
        let mut p = Preview {
            repr: heapless::String::new(),
            cut: false,
            type_name: "str",
        };
        assert!(p.write_str("'").is_ok());
        // 1 + 31 × 2 bytes fit in 64; the 32nd 'é' would not.
        assert!(p.write_str(&"é".repeat(40)).is_err());
        assert_eq!((p.repr().len(), p.is_cut()), (63, true));
        assert!(p.repr().ends_with('é'));
        let mut q = Preview {
            repr: heapless::String::new(),
            cut: false,
            type_name: "str",
        };
        assert!(q.write_str(&"x".repeat(PREVIEW_LEN)).is_ok());
        assert!(!q.is_cut());
        assert!(q.write_str("y").is_err());
        assert_eq!((q.repr().len(), q.is_cut()), (PREVIEW_LEN, true));
    }

    #[test]
    fn dialects_and_answers() {
        type Case = (&'static [u8], u8, bool, Encoding);
        let cases: [Case; 6] = [
            // CPython 3.11, protocol 4
            (
                b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.",
                4,
                false,
                Encoding::new(Protocol::V4),
            ),
            // CPython 3.11, protocol 3
            (
                b"\x80\x03}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
                3,
                false,
                Encoding::new(Protocol::V3),
            ),
            // CPython 3.11, protocol 0: UNICODE key
            (
                b"(dp0\nVclientid\np1\nI54321\ns.",
                0,
                false,
                Encoding::python2(Protocol::V0),
            ),
            // Python 2.7, protocol 0: STRING key
            (
                b"(dp0\nS'clientid'\np1\nI54321\ns.",
                0,
                true,
                Encoding::python2(Protocol::V2),
            ),
            // Python 2.7, protocol 2: SHORT_BINSTRING key
            (
                b"\x80\x02}q\x00U\x08clientidq\x01M1\xd4s.",
                2,
                true,
                Encoding::python2(Protocol::V2),
            ),
            // CPython 3.11, protocol 1: BINUNICODE key
            (
                b"}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
                1,
                false,
                Encoding::python2(Protocol::V1),
            ),
        ];
        for (pickle, protocol, py2_strings, answer) in cases {
            let dialect = Dialect::of(pickle);
            assert_eq!(
                dialect,
                Dialect {
                    protocol,
                    py2_strings
                },
                "{pickle:?}"
            );
            assert_eq!(dialect.answer(), answer, "{pickle:?}");
        }
        // CPython 3.11 protocol 5 → answered in 4.
        assert_eq!(
            Dialect::of(b"\x80\x05K\x01.").answer(),
            Encoding::new(Protocol::V4)
        );
    }
}
