//! Prototype, not built by the workspace (issue 21 point 4, s7-encode): a lean protocol-4
//! serde `Serializer` for the lab's shapes (structs, strs, ints, bools, None), to see what
//! encoding the identity costs at best next to serde-pickle 1.2's `to_writer` in the same
//! binary. The design: the output cursor (slice, position) lives in the serializer, which every
//! call inlines into, so it stays in registers; a str is its opcode, length, bytes and MEMOIZE,
//! a struct key the same with a constant length (precomputed after inlining); memo indices are
//! counted, not stored: a 64-bit filter of the strs written so far (bit (5 * length + first
//! byte) % 64) is the only memo state, and only when a str hits it is the output rescanned
//! (the lazy table) for an equal str to write as BINGET (CPython memoizes interned/identical
//! strs; values compared as brine's encoder does); one bounds check per write, one `Result` per field, a one-byte error.
//! To measure:
//!
//!   cp bench/prototypes/encode_lean.rs core/examples/encode_lean.rs
//!   /work/bin/cargo-slot build --release -p brine-core --example encode_lean
//!   for op in lean to_writer; do for n in 2000 4000; do valgrind --tool=callgrind \
//!       --callgrind-out-file=/dev/null target/release/examples/encode_lean $op $n 2>&1 \
//!       | grep Collected; done; done; rm core/examples/encode_lean.rs
//!
//! (difference / 2000). The binary first asserts its bytes equal CPython 3.11's
//! `pickle.dumps(identity, 4)` (and a repeated-str case's). 2026-12-06, 23:22 UTC on s7-encode
//! after 1f3d64a: lean 354 instructions per identity, serde-pickle `to_writer` 550 in the same
//! binary (583 in `codec_ops`; brine's `to_slice` counts 720 there). With a length-only
//! filter ("Jose Ortiz" and "student_id" share length 10) the false hit's rescan made it 536:
//! the filter's spread is worth ~180.
use serde::ser::{self, Impossible, Serialize, SerializeStruct};
use std::hint::black_box;

/// `pickle.dumps({'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321,
/// 'github_username': 'jortiz'}, 4)`, CPython 3.11.
const CPYTHON_IDENTITY: &[u8] = b"\x80\x04\x95^\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\nJose Ortiz\x94\x8c\x05email\x94\x8c\rjose@sfsu.edu\x94\x8c\nstudent_id\x94J1K\xb26\x8c\x0fgithub_username\x94\x8c\x06jortiz\x94u.";
/// `pickle.dumps({'name': 'email', 'email': 'x', 'student_id': 7, 'github_username': 'x'}, 4)`
/// with the strs interned (literals), CPython 3.11: the repeated strs become BINGET.
const CPYTHON_REPEAT: &[u8] = b"\x80\x04\x95=\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\x05email\x94h\x02\x8c\x01x\x94\x8c\nstudent_id\x94K\x07\x8c\x0fgithub_username\x94h\x03u.";

#[derive(serde::Serialize)]
struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: u32,
    github_username: &'a str,
}

const ME: Identity<'static> = Identity {
    name: "Jose Ortiz",
    email: "jose@sfsu.edu",
    student_id: 917_654_321,
    github_username: "jortiz",
};

/// The one-byte error: 1 output full, 2 unsupported type, 3 custom.
#[derive(Debug)]
pub struct E(u8);
impl core::fmt::Display for E {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        write!(f, "encode error {}", self.0)
    }
}
impl std::error::Error for E {}
impl ser::Error for E {
    fn custom<T: core::fmt::Display>(_: T) -> Self {
        E(3)
    }
}

pub struct Lean<'b> {
    buf: &'b mut [u8],
    pos: usize,
    /// Next memo index (counted, never stored).
    memo: u32,
    /// Bit `(5 * len + first byte) % 64` set for each str written.
    lens: u64,
}

impl<'b> Lean<'b> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> Result<(), E> {
        let end = self.pos + bytes.len();
        self.buf.get_mut(self.pos..end).ok_or(E(1))?.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// A str: BINGET of an equal str already written, or SHORT_BINUNICODE/BINUNICODE + MEMOIZE.
    #[inline(always)]
    fn str(&mut self, s: &str) -> Result<(), E> {
        let first = s.as_bytes().first().map_or(0, |&b| b as usize);
        let bit = 1u64 << ((5 * s.len() + first) & 63);
        if self.lens & bit != 0 {
            if let Some(i) = self.find(s.as_bytes()) {
                return self.get(i);
            }
        }
        self.lens |= bit;
        self.memo += 1;
        let n = s.len();
        if n < 256 {
            let end = self.pos + 2 + n + 1;
            let out = self.buf.get_mut(self.pos..end).ok_or(E(1))?;
            out[0] = 0x8c;
            out[1] = n as u8;
            out[2..2 + n].copy_from_slice(s.as_bytes());
            out[2 + n] = 0x94;
            self.pos = end;
            Ok(())
        } else {
            self.put(&[0x8d])?;
            self.put(&(n as u32).to_le_bytes())?;
            self.put(s.as_bytes())?;
            self.put(&[0x94])
        }
    }

    #[cold]
    #[inline(never)]
    fn get(&mut self, i: u32) -> Result<(), E> {
        if i < 256 {
            self.put(&[b'h', i as u8])
        } else {
            self.put(&[b'j'])?;
            self.put(&i.to_le_bytes())
        }
    }

    /// The lazy table: rescan what this serializer wrote (after PROTO and FRAME) for a
    /// memoized str equal to `s`; its memo index.
    #[cold]
    #[inline(never)]
    fn find(&self, s: &[u8]) -> Option<u32> {
        let out = &self.buf[..self.pos];
        let mut p = 11;
        let mut memo = 0u32;
        while p < out.len() {
            let op = out[p];
            p += 1;
            match op {
                0x94 => memo += 1,
                0x8c | 0x8d => {
                    let (n, h) = if op == 0x8c {
                        (out[p] as usize, 1)
                    } else {
                        (u32::from_le_bytes(out[p..p + 4].try_into().unwrap()) as usize, 4)
                    };
                    p += h;
                    if &out[p..p + n] == s {
                        return Some(memo);
                    }
                    p += n;
                }
                b'K' | b'h' => p += 1,
                b'M' => p += 2,
                b'J' | b'j' => p += 4,
                0x8a => p += 1 + out[p] as usize,
                _ => {} // '}', '(', 'u', 's', ']', 'e', 'a', N, bools: no argument
            }
        }
        None
    }

    #[inline(always)]
    fn int(&mut self, v: i64) -> Result<(), E> {
        if (0..256).contains(&v) {
            self.put(&[b'K', v as u8])
        } else if (0..65536).contains(&v) {
            let b = (v as u16).to_le_bytes();
            self.put(&[b'M', b[0], b[1]])
        } else if v as i32 as i64 == v {
            let b = (v as i32).to_le_bytes();
            self.put(&[b'J', b[0], b[1], b[2], b[3]])
        } else {
            // LONG1: the fewest two's-complement little-endian bytes.
            let b = v.to_le_bytes();
            let mut n = 8;
            while n > 1 && ((b[n - 1] == 0 && b[n - 2] < 0x80) || (b[n - 1] == 0xff && b[n - 2] >= 0x80)) {
                n -= 1;
            }
            self.put(&[0x8a, n as u8])?;
            self.put(&b[..n])
        }
    }
}

/// `pickle.dumps(value, 4)` into `buf`: its length.
#[inline(never)]
pub fn to_slice<T: Serialize>(value: &T, buf: &mut [u8]) -> Result<usize, E> {
    if buf.len() < 12 {
        return Err(E(1));
    }
    buf[0] = 0x80;
    buf[1] = 4;
    let mut s = Lean { buf, pos: 11, memo: 0, lens: 0 };
    value.serialize(&mut s)?;
    let end = s.pos;
    let out = s.buf.get_mut(end).ok_or(E(1))?;
    *out = b'.';
    let len = end + 1;
    let frame = (len - 11) as u64;
    if frame >= 4 {
        s.buf[2] = 0x95;
        s.buf[3..11].copy_from_slice(&frame.to_le_bytes());
        Ok(len)
    } else {
        // Too short for a FRAME (CPython's _FRAME_SIZE_MIN): close the gap.
        s.buf.copy_within(11..len, 2);
        Ok(len - 9)
    }
}

pub struct Struct<'a, 'b> {
    s: &'a mut Lean<'b>,
    one: bool,
}

impl SerializeStruct for Struct<'_, '_> {
    type Ok = ();
    type Error = E;
    #[inline(always)]
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), E> {
        self.s.str(key)?;
        value.serialize(&mut *self.s)
    }
    #[inline(always)]
    fn end(self) -> Result<(), E> {
        self.s.put(if self.one { b"s" } else { b"u" })
    }
}

macro_rules! unsupported {
    ($($f:ident($($t:ty),*) -> $r:ty;)*) => {$(
        fn $f(self $(, _: $t)*) -> Result<$r, E> { Err(E(2)) }
    )*};
}

impl<'a, 'b> ser::Serializer for &'a mut Lean<'b> {
    type Ok = ();
    type Error = E;
    type SerializeSeq = Impossible<(), E>;
    type SerializeTuple = Impossible<(), E>;
    type SerializeTupleStruct = Impossible<(), E>;
    type SerializeTupleVariant = Impossible<(), E>;
    type SerializeMap = Impossible<(), E>;
    type SerializeStruct = Struct<'a, 'b>;
    type SerializeStructVariant = Impossible<(), E>;

    #[inline(always)]
    fn serialize_bool(self, v: bool) -> Result<(), E> {
        self.put(&[if v { 0x88 } else { 0x89 }])
    }
    fn serialize_i8(self, v: i8) -> Result<(), E> { self.int(v.into()) }
    fn serialize_i16(self, v: i16) -> Result<(), E> { self.int(v.into()) }
    fn serialize_i32(self, v: i32) -> Result<(), E> { self.int(v.into()) }
    fn serialize_i64(self, v: i64) -> Result<(), E> { self.int(v) }
    fn serialize_u8(self, v: u8) -> Result<(), E> { self.int(v.into()) }
    fn serialize_u16(self, v: u16) -> Result<(), E> { self.int(v.into()) }
    #[inline(always)]
    fn serialize_u32(self, v: u32) -> Result<(), E> { self.int(v.into()) }
    fn serialize_u64(self, v: u64) -> Result<(), E> {
        self.int(i64::try_from(v).map_err(|_| E(2))?)
    }
    #[inline(always)]
    fn serialize_str(self, v: &str) -> Result<(), E> { self.str(v) }
    fn serialize_none(self) -> Result<(), E> { self.put(b"N") }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), E> { v.serialize(self) }
    fn serialize_unit(self) -> Result<(), E> { self.put(b"N") }
    #[inline(always)]
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Struct<'a, 'b>, E> {
        if len > 1000 {
            return Err(E(2)); // would need batches
        }
        self.memo += 1;
        self.put(if len > 1 { b"}\x94(" } else { b"}\x94" })?;
        Ok(Struct { s: self, one: len == 1 })
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Result<(), E> {
        v.serialize(self)
    }
    unsupported! {
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Impossible<(), E>;
        serialize_tuple(usize) -> Impossible<(), E>;
        serialize_tuple_struct(&'static str, usize) -> Impossible<(), E>;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<(), E>;
        serialize_map(Option<usize>) -> Impossible<(), E>;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<(), E>;
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<(), E> {
        Err(E(2))
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().expect("usage: encode_lean lean|to_writer N");
    let n: u32 = args.next().and_then(|n| n.parse().ok()).expect("N");
    let mut buf = [0u8; 256];
    let len = to_slice(&ME, &mut buf).unwrap();
    assert_eq!(&buf[..len], CPYTHON_IDENTITY);
    let repeat = Identity { name: "email", email: "x", student_id: 7, github_username: "x" };
    let len = to_slice(&repeat, &mut buf).unwrap();
    assert_eq!(&buf[..len], CPYTHON_REPEAT);
    let mut out = Vec::with_capacity(256);
    for _ in 0..n {
        match op.as_str() {
            "lean" => {
                black_box(to_slice(black_box(&ME), &mut buf).unwrap());
            }
            "to_writer" => {
                out.clear();
                serde_pickle::to_writer(&mut out, black_box(&ME), serde_pickle::SerOptions::new()).unwrap();
                black_box(&out);
            }
            other => panic!("unknown op {other}"),
        }
    }
}
