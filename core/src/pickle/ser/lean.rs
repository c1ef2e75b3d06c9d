//! The lean encoder (feature `fast`): protocol 4+ pickles of structs, short strs, ints, floats,
//! bools and None, written by a serializer small enough to live in registers, the first try
//! of [`to_slice_with_memo`]. Any other shape, and any error, ends
//! it with [`Fallback`], and the general [`Serializer`] writes the pickle
//! from the start: the bytes are the general serializer's (which equal CPython's), only cheaper.
//!
//! Its state: the output slice (cut to one frame's worth, so one bounds check per write also
//! keeps the frame under CPython's 64 KiB target), the position, the next memo index, how many
//! strs were remembered, and the memo's 64-bit filter (`str_bit`). Memo entries are not
//! stored: a str whose filter bit is set is looked for in the output written so far
//! (`next_lean_str`, the walker the general serializer's lean start reads back with).

use super::memo::next_lean_str;
use super::values::binint;
use super::*;

/// Why the lean encoder stopped: a shape or condition it leaves to the general serializer.
#[derive(Debug)]
pub(super) struct Fallback;

impl Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to the general serializer")
    }
}

impl core::error::Error for Fallback {}

impl ser::Error for Fallback {
    fn custom<T: Display>(_: T) -> Self {
        Fallback
    }
}

/// PROTO 4, then room for the FRAME header.
const BODY: usize = 2 + FRAME_HEADER_SIZE;

pub(super) struct Lean<'b, const MEMO: usize> {
    /// The caller's buffer, cut to `BODY` + `FRAME_SIZE_TARGET` bytes.
    out: &'b mut [u8],
    pos: usize,
    /// The next memo index.
    memo: u32,
    /// Strs remembered (the general serializer's memo entries).
    strs: usize,
    /// `str_bit` of each str remembered.
    bits: u64,
}

/// Writes `value` as protocol `proto` (4 or 5) into `buf`: the pickle's length, or `None`
/// (with `buf` partly written) when the general serializer must write it.
#[inline(always)]
pub(super) fn to_slice<const MEMO: usize, T: Serialize + ?Sized>(
    value: &T,
    buf: &mut [u8],
    proto: u8,
) -> Option<usize> {
    let limit = min(buf.len(), BODY + FRAME_SIZE_TARGET);
    let out = buf.get_mut(..limit)?;
    let (head, _) = out.split_first_chunk_mut::<2>()?;
    *head = [Opcode::PROTO.byte(), proto];
    let mut lean = Lean::<MEMO> {
        out,
        pos: BODY,
        memo: 0,
        strs: 0,
        bits: 0,
    };
    value.serialize(&mut lean).ok()?;
    lean.put(&[Opcode::STOP.byte()]).ok()?;
    let (out, len) = (lean.out, lean.pos);
    let body = len - BODY;
    if body >= FRAME_SIZE_MIN {
        let [a, b, c, d, e, f, g, h] = (body as u64).to_le_bytes();
        let header = [Opcode::FRAME.byte(), a, b, c, d, e, f, g, h];
        out.get_mut(2..BODY)?.copy_from_slice(&header);
        Some(len)
    } else {
        // Too short for a FRAME (CPython's _FRAME_SIZE_MIN): close the gap.
        crate::shift::move_back(out, BODY, len, 2);
        Some(len - FRAME_HEADER_SIZE)
    }
}

impl<const MEMO: usize> Lean<'_, MEMO> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Fallback> {
        let end = self.pos.wrapping_add(bytes.len());
        let dst = self.out.get_mut(self.pos..end).ok_or(Fallback)?;
        copy_short(dst, bytes);
        self.pos = end;
        Ok(())
    }

    /// SHORT_BINUNICODE + MEMOIZE, or BINGET of an equal str written before.
    #[inline(always)]
    fn str(&mut self, s: &str) -> Result<(), Fallback> {
        let bytes = s.as_bytes();
        let n = bytes.len();
        let bit = str_bit(bytes);
        if self.bits & bit != 0 || n > INLINE_STR {
            return self.str_general(bytes, bit);
        }
        let end = self.pos.wrapping_add(n + 3);
        let dst = self.out.get_mut(self.pos..end).ok_or(Fallback)?;
        if let Some(([op, len], rest)) = dst.split_first_chunk_mut::<2>() {
            *op = Opcode::SHORT_BINUNICODE.byte();
            *len = n as u8;
            if let Some((payload, [put])) = rest.split_last_chunk_mut::<1>() {
                copy_short(payload, bytes);
                *put = Opcode::MEMOIZE.byte();
            }
        }
        self.pos = end;
        self.remember(bit)
    }

    #[inline(always)]
    fn remember(&mut self, bit: u64) -> Result<(), Fallback> {
        if self.strs >= MEMO {
            return Err(Fallback); // the general serializer's memo is full
        }
        self.strs += 1;
        self.memo += 1;
        self.bits |= bit;
        Ok(())
    }

    /// `str` for a str whose filter bit is set, or over `INLINE_STR` bytes.
    #[inline(never)]
    fn str_general(&mut self, bytes: &[u8], bit: u64) -> Result<(), Fallback> {
        if self.bits & bit != 0 {
            let (mut p, mut index) = (BODY, 0);
            let written = self.out.get(..self.pos).unwrap_or_default();
            while let Some((off, len, i)) = next_lean_str(written, &mut p, &mut index) {
                if written.get(off..off + len) == Some(bytes) {
                    return match u8::try_from(i) {
                        Ok(i) => self.put(&[Opcode::BINGET.byte(), i]),
                        Err(_) => Err(Fallback),
                    };
                }
            }
        }
        let n = u8::try_from(bytes.len()).map_err(|_| Fallback)?;
        self.put(&[Opcode::SHORT_BINUNICODE.byte(), n])?;
        self.put(bytes)?;
        self.put(&[Opcode::MEMOIZE.byte()])?;
        self.remember(bit)
    }

    #[inline(always)]
    fn int(&mut self, v: i64) -> Result<(), Fallback> {
        let v = i32::try_from(v).map_err(|_| Fallback)?;
        // All 5 bytes (one store), the position past the first `n`.
        let (bytes, n) = binint(v);
        let end = self.pos.wrapping_add(5);
        self.out
            .get_mut(self.pos..end)
            .ok_or(Fallback)?
            .copy_from_slice(&bytes);
        self.pos += n;
        Ok(())
    }
}

/// The struct being written: how many fields are left of those serde announced.
pub(super) struct Fields<'a, 'b, const MEMO: usize> {
    lean: &'a mut Lean<'b, MEMO>,
    left: usize,
    one: bool,
}

impl<const MEMO: usize> ser::SerializeStruct for Fields<'_, '_, MEMO> {
    type Ok = ();
    type Error = Fallback;

    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Fallback> {
        // More fields than announced: the general serializer's batching decides.
        self.left = self.left.checked_sub(1).ok_or(Fallback)?;
        self.lean.str(key)?;
        value.serialize(&mut *self.lean)
    }

    #[inline(always)]
    fn end(self) -> Result<(), Fallback> {
        if self.left != 0 {
            return Err(Fallback);
        }
        let op = if self.one {
            Opcode::SETITEM
        } else {
            Opcode::SETITEMS
        };
        self.lean.put(&[op.byte()])
    }
}

/// `serialize_x(self, v: T)` as `self.int(v.into())`.
macro_rules! ints {
    ($($method:ident($ty:ty),)*) => {$(
        #[inline]
        fn $method(self, v: $ty) -> Result<(), Fallback> {
            self.int(v.into())
        }
    )*};
}

impl<'a, 'b, const MEMO: usize> ser::Serializer for &'a mut Lean<'b, MEMO> {
    type Ok = ();
    type Error = Fallback;
    type SerializeSeq = ser::Impossible<(), Fallback>;
    type SerializeTuple = ser::Impossible<(), Fallback>;
    type SerializeTupleStruct = ser::Impossible<(), Fallback>;
    type SerializeTupleVariant = ser::Impossible<(), Fallback>;
    type SerializeMap = ser::Impossible<(), Fallback>;
    type SerializeStruct = Fields<'a, 'b, MEMO>;
    type SerializeStructVariant = ser::Impossible<(), Fallback>;

    ints! {
        serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), Fallback> {
        self.int(i64::try_from(v).map_err(|_| Fallback)?)
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Fallback> {
        let op = if v { Opcode::NEWTRUE } else { Opcode::NEWFALSE };
        self.put(&[op.byte()])
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), Fallback> {
        self.serialize_f64(v.into())
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Fallback> {
        let [a, b, c, d, e, f, g, h] = v.to_be_bytes();
        self.put(&[Opcode::BINFLOAT.byte(), a, b, c, d, e, f, g, h])
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Fallback> {
        self.str(v)
    }

    #[inline]
    fn serialize_none(self) -> Result<(), Fallback> {
        self.put(&[Opcode::NONE.byte()])
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), Fallback> {
        self.put(&[Opcode::NONE.byte()])
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Fallback> {
        value.serialize(self)
    }

    #[inline(always)]
    fn serialize_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Fields<'a, 'b, MEMO>, Fallback> {
        // Empty dicts and whole batches: the general serializer's.
        if len == 0 || len >= BATCHSIZE {
            return Err(Fallback);
        }
        let one = len == 1;
        let head = [Opcode::EMPTY_DICT.byte(), Opcode::MEMOIZE.byte(), MARK];
        self.put(if one { &head[..2] } else { &head })?;
        self.memo += 1;
        Ok(Fields {
            lean: self,
            left: len,
            one,
        })
    }

    refuse! {
        ();
        serialize_char serialize_bytes serialize_unit_struct serialize_unit_variant
        serialize_seq serialize_tuple serialize_tuple_struct serialize_tuple_variant
        serialize_map serialize_struct_variant serialize_newtype_struct
        serialize_newtype_variant collect_str
    }
}

impl<const MEMO: usize> Lean<'_, MEMO> {
    /// Every refused shape: for the general serializer.
    fn refuse(&self) -> Fallback {
        Fallback
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::{to_slice, to_slice_with_memo, Serializer, MEMO_CAPACITY};
    use super::*;
    use crate::pickle::Protocol;
    use serde::ser::SerializeStruct;
    use serde::Serialize;
    use std::vec::Vec;

    /// `pickle.dumps({'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id':
    /// 917654321, 'github_username': 'jortiz'}, 4)`, CPython 3.11.
    const IDENTITY: &[u8] = b"\x80\x04\x95^\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\nJose Ortiz\x94\x8c\x05email\x94\x8c\rjose@sfsu.edu\x94\x8c\nstudent_id\x94J1K\xb26\x8c\x0fgithub_username\x94\x8c\x06jortiz\x94u.";
    /// `pickle.dumps({'name': 'email', 'email': 'x', 'student_id': 7, 'github_username':
    /// 'x'}, 4)` (literals: equal strs are one object), CPython 3.11: BINGET for the repeats.
    const REPEAT: &[u8] = b"\x80\x04\x95=\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\x05email\x94h\x02\x8c\x01x\x94\x8c\nstudent_id\x94K\x07\x8c\x0fgithub_username\x94h\x03u.";

    #[derive(Serialize)]
    struct Identity<'a> {
        name: &'a str,
        email: &'a str,
        student_id: i64,
        github_username: &'a str,
    }

    fn identity<'a>(name: &'a str, email: &'a str, id: i64, github: &'a str) -> Identity<'a> {
        Identity {
            name,
            email,
            student_id: id,
            github_username: github,
        }
    }

    #[derive(Serialize)]
    struct One<T> {
        only: T,
    }

    #[derive(Serialize)]
    struct Mixed<'a> {
        flag: bool,
        nothing: Option<u8>,
        some: Option<&'a str>,
        unit: (),
        ratio: f64,
        small: f32,
        inner: One<One<&'a str>>,
        again: &'a str,
    }

    /// A struct that announces `told` fields and writes `fields` (serde's contract broken).
    struct Liar {
        told: usize,
        fields: &'static [&'static str],
    }

    impl Serialize for Liar {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("Liar", self.told)?;
            for &f in self.fields {
                st.serialize_field(f, f)?;
            }
            st.end()
        }
    }

    /// The general serializer's bytes (or error), without the lean encoder.
    fn general<const MEMO: usize, T: Serialize>(v: &T, len: usize) -> Result<Vec<u8>, Error> {
        let mut buf = std::vec![0u8; len];
        let mut ser = Serializer::<MEMO>::new(&mut buf, Protocol::V4)?;
        v.serialize(&mut ser)?;
        Ok(ser.finish()?.to_vec())
    }

    /// `to_slice` (lean first) equals the general serializer, and the lean encoder wrote the
    /// pickle itself when `lean` (fell back otherwise).
    fn check<T: Serialize>(v: &T, lean: bool) -> Vec<u8> {
        let mut buf = [0u8; 1024];
        let wrote = to_slice_lean(v, &mut buf).is_some();
        assert_eq!(wrote, lean, "lean encoder wrote it: {wrote}");
        let bytes = to_slice(v, &mut buf, Protocol::V4).unwrap().to_vec();
        assert_eq!(bytes, general::<MEMO_CAPACITY, T>(v, 1024).unwrap());
        bytes
    }

    fn to_slice_lean<T: Serialize>(v: &T, buf: &mut [u8]) -> Option<usize> {
        super::to_slice::<MEMO_CAPACITY, T>(v, buf, 4)
    }

    #[test]
    fn writes_what_cpython_writes() {
        let me = identity("Jose Ortiz", "jose@sfsu.edu", 917_654_321, "jortiz");
        assert_eq!(check(&me, true), IDENTITY);
        let repeat = identity("email", "x", 7, "x");
        assert_eq!(check(&repeat, true), REPEAT);
        // Protocol 5: the same but for PROTO.
        let mut buf = [0u8; 128];
        let v5 = to_slice(&me, &mut buf, Protocol::V5).unwrap();
        assert_eq!(v5[1], 5);
        assert_eq!(v5[2..], IDENTITY[2..]);
    }

    #[test]
    fn writes_what_the_general_serializer_writes() {
        let long = "y".repeat(300);
        let mixed = Mixed {
            flag: true,
            nothing: None,
            some: Some("flag"),
            unit: (),
            ratio: -2.5,
            small: 0.25,
            inner: One {
                only: One { only: "inner" },
            },
            again: "some",
        };
        check(&mixed, true);
        check(&One { only: false }, true);
        check(&One { only: () }, true);
        // Bodies under 4 bytes: no FRAME.
        assert_eq!(check(&(), true), b"\x80\x04N.");
        assert_eq!(check(&7u8, true), b"\x80\x04K\x07.");
        check(&"ab", true);
        for s in ["", "a", &"b".repeat(32), &"c".repeat(33), &"d".repeat(255)] {
            check(&One { only: s }, true);
        }
        for v in [
            0,
            255,
            256,
            65_535,
            65_536,
            -1,
            -256,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
        ] {
            check(&One { only: v }, true);
        }
        // Left to the general serializer: longer strs, wider ints, shapes it does not write,
        // a broken length.
        check(
            &One {
                only: long.as_str(),
            },
            false,
        );
        for v in [i64::from(i32::MAX) + 1, i64::MIN] {
            check(&One { only: v }, false);
        }
        check(&One { only: u64::MAX }, false);
        check(&One { only: [1, 2] }, false);
        check(&One { only: 'c' }, false);
        check(
            &Liar {
                told: 3,
                fields: &["a", "b"],
            },
            false,
        );
        check(
            &Liar {
                told: 1,
                fields: &["a", "b"],
            },
            false,
        );
        check(
            &Liar {
                told: 0,
                fields: &[],
            },
            false,
        );
    }

    #[test]
    fn leaves_errors_to_the_general_serializer() {
        let me = identity("a", "b", 1, "c");
        // The memo holds 2 strs: the general serializer's result (its lean start lists
        // none), then its error once a repeated str needs the table.
        let repeat = identity("a", "b", 1, "a");
        let mut buf = [0u8; 128];
        for v in [&me, &repeat] {
            let lean = to_slice_with_memo::<2, _>(v, &mut buf, Protocol::V4).map(|b| b.to_vec());
            assert_eq!(lean, general::<2, _>(v, 128));
        }
        assert!(general::<2, _>(&repeat, 128).is_err());
        // Too small a buffer: the general serializer's error.
        let mut small = [0u8; 20];
        let lean = to_slice(&me, &mut small, Protocol::V4).unwrap_err();
        assert_eq!(lean, general::<MEMO_CAPACITY, _>(&me, 20).unwrap_err());
    }
}
