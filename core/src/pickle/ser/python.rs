//! Python values serde has no type for: ints of any size and strs with lone surrogates, as
//! `json.loads` makes them (`10**400`, `'\ud800'`). Each is a newtype struct with a private
//! name around its bytes; the encoder recognizes the name and writes CPython's bytes.

use serde::ser::{self, Impossible, Serialize};

use super::{Error, Opcode, Serializer, Surrogates};
use crate::pickle::number::MAX_INT_DIGITS;
use crate::pickle::text::{self, TextEncoding};

/// The newtype name that marks a [`PyInt`].
pub(super) const PY_INT: &str = "$brine::pickle::PyInt";
/// The newtype name that marks a [`PyStr`].
pub(super) const PY_STR: &str = "$brine::pickle::PyStr";

/// A Python `int` of any size, given by its decimal digits (`-?[0-9]+`). The encoder writes
/// what `pickle.dumps` writes for it: INT/BININT* up to 32 bits, then LONG1/LONG4 (protocol
/// 2+) or `L…L` text (protocols 0 and 1), byte for byte. Other serializers see a newtype
/// struct holding the digits as bytes.
///
/// ```
/// use brine_core::pickle::{to_slice, Protocol, PyInt};
///
/// let mut buf = [0u8; 64];
/// // pickle.dumps(2**128, 2)
/// let two_128 = PyInt::new("340282366920938463463374607431768211456").unwrap();
/// let bytes = to_slice(&two_128, &mut buf, Protocol::V2).unwrap();
/// assert_eq!(bytes, b"\x80\x02\x8a\x11\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01.");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PyInt<'a>(&'a str);

impl<'a> PyInt<'a> {
    /// The int written in `digits`: an optional `-`, then at least one ASCII digit (leading
    /// zeros allowed); `None` for anything else.
    pub fn new(digits: &'a str) -> Option<Self> {
        let magnitude = digits.strip_prefix('-').unwrap_or(digits);
        let valid = !magnitude.is_empty() && magnitude.bytes().all(|b| b.is_ascii_digit());
        valid.then_some(PyInt(digits))
    }
}

impl Serialize for PyInt<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(PY_INT, &Raw(self.0.as_bytes()))
    }
}

/// A Python `str` that may hold lone surrogates (U+D800..U+DFFF), given as UTF-8 in which
/// each surrogate is 3 bytes (`ED A0 80` for `'\ud800'`), as CPython's
/// `str.encode('utf-8', 'surrogatepass')` writes it. The encoder writes what `pickle.dumps`
/// writes for that str (BINUNICODE with those bytes; `\ud800` in protocol 0). Other
/// serializers see a newtype struct holding the bytes.
///
/// ```
/// use brine_core::pickle::{to_slice, Protocol, PyStr};
///
/// let mut buf = [0u8; 64];
/// let text = PyStr::new(b"a\xed\xa0\x80").unwrap(); // 'a\ud800'
/// assert_eq!(to_slice(&text, &mut buf, Protocol::V0).unwrap(), b"Va\\ud800\np0\n.");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PyStr<'a>(&'a [u8]);

impl<'a> PyStr<'a> {
    /// The str whose 'surrogatepass' UTF-8 is `bytes`; `None` if `bytes` is not that.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        text::validate_text(bytes, TextEncoding::Utf8).ok()?;
        Some(PyStr(bytes))
    }
}

impl Serialize for PyStr<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(PY_STR, &Raw(self.0))
    }
}

impl<const MEMO: usize> Serializer<'_, MEMO> {
    /// An int of any size from its decimal digits (`-?[0-9]+`, a [`PyInt`]):
    /// through `save_i128`/`save_u128` when it has at most 38 digits, else `save_big_int`.
    pub(super) fn save_int_digits(&mut self, text: &[u8]) -> Result<(), Error> {
        let (negative, digits) = match text {
            [b'-', rest @ ..] => (true, rest),
            _ => (false, text),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(Error::message("a PyInt's text is not -?[0-9]+"));
        }
        let start = digits
            .iter()
            .position(|&d| d != b'0')
            .unwrap_or(digits.len());
        let digits = digits.get(start..).unwrap_or_default();
        if digits.len() <= 38 {
            // Below 10^38 < 2^127: every such value fits both types.
            let m = digits
                .iter()
                .fold(0u128, |m, &d| m * 10 + u128::from(d - b'0'));
            return if negative {
                self.save_i128(-(m as i128))
            } else {
                self.save_u128(m)
            };
        }
        self.begin_save()?;
        self.save_big_int(negative, digits)
    }

    /// An int of 39 or more significant decimal `digits`, as CPython's `save_long` writes it:
    /// `L…L\n` text in protocols 0 and 1 (which CPython 3 refuses past 4300 digits, its
    /// repr limit), else LONG1/LONG4 with `encode_long`'s little-endian two's complement in
    /// `(bit_length >> 3) + 1` bytes (one fewer for a negative value whose top byte is only
    /// sign). The payload is computed in place in the output (base-256 digits multiplied up
    /// by 10^9 at a time), so nothing is allocated; the output needs room for about 0.42
    /// bytes a digit plus 7 while it is computed.
    fn save_big_int(&mut self, negative: bool, digits: &[u8]) -> Result<(), Error> {
        if self.proto < 2 {
            if !self.py2() && digits.len() > MAX_INT_DIGITS {
                return Err(Error::Unsupported {
                    what: "an int of more than 4300 digits in protocol 0 or 1 (CPython 3 refuses its repr)",
                });
            }
            self.write(if negative { b"L-" } else { b"L" })?;
            self.write(digits)?;
            return self.write(b"L\n");
        }
        // LONG4's header first (opening a frame if need be); LONG1's is 3 bytes shorter.
        self.write(&[Opcode::LONG4.byte(), 0, 0, 0, 0])?;
        let start = self.pos;
        // log2(10) / 8 < 0.41525 bytes a digit, and a sign byte.
        let room = digits.len() / 8000 * 3322 + (digits.len() % 8000) * 3322 / 8000 + 2;
        let capacity = self.buf.len();
        let full = || Error::BufferFull { capacity };
        let out = start
            .checked_add(room)
            .and_then(|end| self.buf.get_mut(start..end))
            .ok_or_else(full)?;
        out.fill(0);
        let mut used = 0usize;
        for chunk in digits.chunks(9) {
            let mut carry = chunk
                .iter()
                .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
            let scale = 10u64.pow(chunk.len() as u32);
            for b in out.iter_mut().take(used) {
                let t = u64::from(*b) * scale + carry;
                *b = t as u8;
                carry = t >> 8;
            }
            while carry != 0 {
                *out.get_mut(used).ok_or_else(full)? = carry as u8;
                used += 1;
                carry >>= 8;
            }
        }
        let top = out.get(used.wrapping_sub(1)).copied().unwrap_or(0);
        let mut n = used + usize::from(top & 0x80 != 0);
        let payload = out.get_mut(..n).ok_or_else(full)?;
        if negative {
            // Two's complement: invert, add one.
            let mut carry = true;
            for b in payload.iter_mut() {
                let (v, c) = (!*b).overflowing_add(u8::from(carry));
                *b = v;
                carry = c;
            }
            if let [.., before, 0xff] = payload {
                if *before & 0x80 != 0 {
                    n -= 1;
                }
            }
        }
        let l = (n as u32).to_le_bytes();
        if n < 256 {
            crate::shift::move_back(self.buf, start, start + n, start - 3);
            if let Some(header) = self.buf.get_mut(start - 5..start - 3) {
                header.copy_from_slice(&[Opcode::LONG1.byte(), l[0]]);
            }
            self.pos = start - 3 + n;
        } else {
            if let Some(header) = self.buf.get_mut(start - 4..start) {
                header.copy_from_slice(&l);
            }
            self.pos = start + n;
        }
        Ok(())
    }

    /// A str given as 'surrogatepass' UTF-8 (a [`PyStr`]): as `save_str` when it
    /// is plain UTF-8, else through `save_text` with its lone surrogates.
    pub(super) fn save_surrogate_str(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Ok(s) = core::str::from_utf8(bytes) {
            return self.save_str(s);
        }
        if text::validate_text(bytes, TextEncoding::Utf8).is_err() {
            return Err(Error::message(
                "a PyStr's bytes are not 'surrogatepass' UTF-8",
            ));
        }
        self.save_text(&Surrogates(bytes), true).map(|_| ())
    }
}

/// Bytes serialized as serde bytes.
pub(super) struct Raw<'a>(pub(super) &'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// Which of the two a marked newtype holds.
#[derive(Clone, Copy)]
pub(super) enum Special {
    Int,
    Str,
    /// A [`PyStandard`](super::PyStandard) (feature `alloc`).
    #[cfg(feature = "alloc")]
    Standard,
}

impl Special {
    /// The kind a newtype name marks, if any.
    #[inline]
    pub(super) fn of(name: &str) -> Option<Special> {
        match name {
            PY_INT => Some(Special::Int),
            PY_STR => Some(Special::Str),
            #[cfg(feature = "alloc")]
            super::standard::PY_STANDARD => Some(Special::Standard),
            _ => None,
        }
    }
}

/// Takes a marked newtype's bytes (and nothing else) and writes its value.
pub(super) struct Capture<'s, 'b, const MEMO: usize> {
    pub(super) ser: &'s mut Serializer<'b, MEMO>,
    pub(super) kind: Special,
}

impl<const MEMO: usize> Capture<'_, '_, MEMO> {
    fn refuse(&self) -> Error {
        Error::message(match self.kind {
            Special::Int => "a PyInt holds other than its digits",
            Special::Str => "a PyStr holds other than its bytes",
            #[cfg(feature = "alloc")]
            Special::Standard => "a PyStandard holds other than its value",
        })
    }
}

impl<const MEMO: usize> ser::Serializer for Capture<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        match self.kind {
            Special::Int => self.ser.save_int_digits(v),
            Special::Str => self.ser.save_surrogate_str(v),
            #[cfg(feature = "alloc")]
            Special::Standard => self.ser.save_standard(v),
        }
    }

    refuse! {
        ();
        serialize_bool serialize_i8 serialize_i16 serialize_i32 serialize_i64 serialize_u8
        serialize_u16 serialize_u32 serialize_u64 serialize_f32 serialize_f64 serialize_char
        serialize_str serialize_none serialize_unit serialize_unit_struct serialize_unit_variant
        serialize_seq serialize_tuple serialize_tuple_struct serialize_tuple_variant serialize_map
        serialize_struct serialize_struct_variant collect_str serialize_some
        serialize_newtype_struct serialize_newtype_variant
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::super::oracle::{python3, unhex};
    use super::super::super::Protocol;
    use super::super::to_slice;
    use super::*;
    use std::vec;

    /// Ints around every length boundary of INT, BININT*, LONG1/LONG4 and `L…L`, and strs
    /// with lone surrogates: `pickle.dumps(v, P)` byte for byte, every protocol.
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn writes_what_pickle_dumps_writes() {
        let out = python3(
            r#"
vals = []
for e in [31, 63, 64, 127, 128, 129, 2039, 2040, 2047, 2048, 14280]:
    for d in [-1, 0, 1]:
        vals += [2**e + d, -(2**e) + d]
vals += [10**38 - 1, 10**38, -10**38, 10**616, 10**617, -(10**4299), 0, -1]
import pickle
for v in vals:
    print(str(v), *[pickle.dumps(v, p).hex() for p in range(6)])
for s in ['\ud800', 'a\udfff\ud800b', '\udc00' * 3 + 'é€😀\n\\']:
    print('S' + s.encode('utf-8', 'surrogatepass').hex(), *[pickle.dumps([s, s], p).hex() for p in range(6)])
"#,
        );
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0;
        for line in out.lines() {
            let mut it = line.split(' ');
            let what = it.next().unwrap();
            for (p, want) in it.enumerate() {
                let protocol = Protocol::from_u8(p as u8).unwrap();
                let got = match what.strip_prefix('S') {
                    Some(hex) => {
                        let bytes = unhex(hex);
                        let s = PyStr::new(&bytes).unwrap();
                        to_slice(&[s, s][..], &mut buf, protocol).unwrap().to_vec()
                    }
                    None => to_slice(&PyInt::new(what).unwrap(), &mut buf, protocol)
                        .unwrap()
                        .to_vec(),
                };
                assert_eq!(got, unhex(want), "{what} protocol {p}");
                n += 1;
            }
        }
        assert_eq!(n, 6 * (66 + 8 + 3));
    }

    #[test]
    fn refuses_what_is_not_an_int_or_a_str_and_the_unwritable() {
        for bad in ["", "-", "+1", "1.0", " 1", "1_000", "--1", "0x10"] {
            assert_eq!(PyInt::new(bad), None, "{bad:?}");
        }
        assert!(PyInt::new("-007").is_some());
        for bad in [&b"\xed\xa0"[..], b"\xff", b"\xc0\x80"] {
            assert_eq!(PyStr::new(bad), None, "{bad:?}");
        }
        let mut buf = vec![0u8; 1 << 14];
        // CPython 3 cannot write the repr of an int over 4300 digits: protocols 0 and 1 refuse.
        let digits = std::string::String::from("9").repeat(4301);
        let big = PyInt::new(&digits).unwrap();
        assert!(to_slice(&big, &mut buf, Protocol::V1).is_err());
        assert!(to_slice(&big, &mut buf, Protocol::V2).is_ok());
        // Too small a buffer is BufferFull, never a panic.
        for len in 0..40 {
            let _ = to_slice(
                &PyInt::new("-123456789012345678901234567890123456789012345").unwrap(),
                &mut buf[..len],
                Protocol::V4,
            );
        }
    }
}
