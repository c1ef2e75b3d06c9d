//! The serde encoder: Rust values to pickle bytes, written straight into a caller's slice.
//! How serde's data model maps to Python's: see [`Serializer`].

use core::cmp::min;
use core::fmt::{self, Display, Write as _};

use serde::ser::{self, Serialize};

use super::{Capacity, Encoding, Error, Opcode};

use compound::{Compound, Mode, Shape};
use memo::{hash_bytes, payload_hash, str_bit, Memo, StreamHash, KIND_BYTES, KIND_STR};
use output::{copy_short, PendingMark};
use text::{ByteString, Form, Latin1, Shown, Surrogates, Text, Utf8};
use values::Stored;

pub use python::{PyInt, PyStr};
#[cfg(feature = "alloc")]
pub use standard::PyStandard;
#[cfg(feature = "alloc")]
pub use standard_collections::{DefaultFactory, PyCounter, PyDefaultDict, PyDeque, PyOrderedDict};

/// The default number of distinct strings and bytes values one pickle may hold (each costs
/// 20 bytes of stack while encoding, about 5 KiB in all). Choose another with
/// [`to_slice_with_memo`].
pub const MEMO_CAPACITY: usize = 256;

/// CPython's `BATCHSIZE`: APPENDS and SETITEMS carry at most this many items.
const BATCHSIZE: usize = 1000;
/// A frame with a shorter body is written without its FRAME header.
const FRAME_SIZE_MIN: usize = 4;
/// CPython closes a frame when a value starts after the frame reached this size, and writes
/// str and bytes payloads of at least this size outside frames.
const FRAME_SIZE_TARGET: usize = 64 * 1024;
/// FRAME opcode and its 8-byte length.
const FRAME_HEADER_SIZE: usize = 9;
/// `frame_start` when no frame is open.
const NO_FRAME: usize = usize::MAX;
/// Nesting depth of unknown-length lists and dicts whose lone item is written as CPython
/// writes it; deeper ones keep `MARK item APPENDS` for a lone item.
const MARK_STACK: usize = 8;
/// Up to this many remembered values are found by a scan; more through a hash index.
const LINEAR_MEMO: usize = 24;
/// A free slot in the memo's hash index.
const NO_ENTRY: u32 = u32::MAX;
/// `Memo::lean_from` once the lean start ended.
const NO_LEAN: usize = usize::MAX;
/// The memo index bit that marks a bytes entry (a str entry otherwise).
const BYTES_BIT: u32 = 1 << 31;

const MARK: u8 = Opcode::MARK.byte();
/// Strs up to this many bytes are written inline by `save_str` (`copy_short`'s limit).
const INLINE_STR: usize = 32;

/// Encodes `value` as a pickle of `encoding` (a [`Protocol`](super::Protocol), or an
/// [`Encoding`] for Python 2's types) into `buf` and returns the used part of `buf`.
///
/// The bytes equal CPython's `pickle.dumps(obj, protocol)` for the equivalent Python object
/// (see [`Serializer`] for how serde's data model maps to Python's); with [`Encoding::python2`], Python 2.7's.
/// Allocates nothing; the memo holds up to [`MEMO_CAPACITY`] distinct strings and bytes
/// values.
///
/// # Errors
///
/// [`Error::BufferFull`] when `buf` is too small, [`Error::Capacity`] when the memo is full,
/// [`Error::Unsupported`] for a value Python cannot represent (a list or dict as a dict key),
/// [`Error::Message`] from the value's `Serialize` implementation.
///
/// ```
/// use brine_core::pickle::{to_slice, Protocol};
///
/// let mut buf = [0u8; 64];
/// let bytes = to_slice(&("clientid", 54321), &mut buf, Protocol::V2).unwrap();
/// assert_eq!(bytes, b"\x80\x02X\x08\x00\x00\x00clientidq\x00M1\xd4\x86q\x01.");
///
/// // What a Python 2 client writes: ('clientid', 54321) with a byte string.
/// use brine_core::pickle::Encoding;
/// let bytes = to_slice(&("clientid", 54321), &mut buf, Encoding::python2(Protocol::V2));
/// assert_eq!(bytes.unwrap(), b"\x80\x02U\x08clientidq\x00M1\xd4\x86q\x01.");
/// ```
pub fn to_slice<'b, T: Serialize + ?Sized>(
    value: &T,
    buf: &'b mut [u8],
    encoding: impl Into<Encoding>,
) -> Result<&'b mut [u8], Error> {
    to_slice_with_memo::<MEMO_CAPACITY, T>(value, buf, encoding)
}

/// [`to_slice`] with room for `MEMO` distinct strings and bytes values in the memo.
///
/// # Errors
///
/// As [`to_slice`], with `MEMO` for the memo's capacity.
pub fn to_slice_with_memo<'b, const MEMO: usize, T: Serialize + ?Sized>(
    value: &T,
    buf: &'b mut [u8],
    encoding: impl Into<Encoding>,
) -> Result<&'b mut [u8], Error> {
    let encoding = encoding.into();
    #[cfg(feature = "fast")]
    if encoding.protocol().as_u8() >= 4 && !encoding.is_python2() {
        if let Some(len) = lean::to_slice::<MEMO, T>(value, buf, encoding.protocol().as_u8()) {
            let capacity = buf.len();
            return buf.get_mut(..len).ok_or(Error::BufferFull { capacity });
        }
    }
    to_slice_general::<MEMO, T>(value, buf, encoding)
}

/// [`to_slice_with_memo`] by the general serializer (with `fast`, out of line: its frame
/// holds the memo table, which the lean encoder's callers need not set up).
#[cfg_attr(feature = "fast", inline(never))]
#[cfg_attr(not(feature = "fast"), inline(always))]
fn to_slice_general<'b, const MEMO: usize, T: Serialize + ?Sized>(
    value: &T,
    buf: &'b mut [u8],
    encoding: Encoding,
) -> Result<&'b mut [u8], Error> {
    let mut ser = Serializer::<MEMO>::blank(buf, encoding);
    ser.start()?;
    value.serialize(&mut ser)?;
    ser.finish_in_place()
}

/// A serde `Serializer` writing one pickle into a byte slice.
///
/// [`to_slice`] is the usual way in; use this type directly to serialize with a custom
/// `Serialize` call (`value.serialize(&mut ser)`), then [`Serializer::finish`].
///
/// For data made of dicts, lists, tuples, str, bytes, int, float, bool and None the output is
/// byte for byte what CPython 3.11's C pickler (`pickle.dumps(obj, protocol)`) writes for the
/// same Python object, for protocols 2–5, when equal strings (and equal bytes) are one object in
/// Python, as literals and interned names are. Protocols 0 and 1 load back to an equal object
/// (and match CPython too, except for the notes below).
///
/// How the serde data model maps to Python:
///
/// | serde | Python |
/// | --- | --- |
/// | bool | `bool` |
/// | i8…i128, u8…u128, [`PyInt`] (any size, from decimal digits) | `int` |
/// | f32, f64 | `float` |
/// | char, str, `collect_str`, [`PyStr`] (with lone surrogates) | `str` |
/// | bytes (`serde_bytes`) | `bytes` |
/// | [`PyStandard`] (feature `alloc`) | `datetime`, `date`, `time`, `timedelta`, `timezone`, `Decimal`, `UUID`, `complex`, `Fraction`, `range`, `slice` (protocols 2–5) |
/// | None, unit, unit struct | `None` |
/// | `Some(x)`, newtype struct | `x` |
/// | seq | `list` |
/// | tuple, tuple struct | `tuple` |
/// | map | `dict` (list or dict keys are refused: Python cannot hash them) |
/// | struct | `dict` with `str` keys in field order |
/// | unit variant | `str` (the variant name) |
/// | newtype, tuple, struct variant | `{name: value}` (externally tagged, as serde_json) |
///
/// No heap: the memo (which strings and bytes were written, so that equal ones are written once
/// and then referenced with `BINGET`) is a fixed table of `MEMO` entries, each remembering where
/// the value's bytes lie in the output so later values are compared against the output itself.
/// Running out of entries is [`Error::Capacity`] (never silently different bytes).
///
/// Notes where brine can differ from CPython:
/// - A list or dict whose length serde is not told in advance (`serialize_seq(None)`,
///   `#[serde(flatten)]`) and that ends up with exactly one item is rewritten as CPython writes
///   it (`item APPEND`, no MARK). If a 64 KiB frame closed inside that item, the frame may be
///   split one byte from where CPython splits it (still a valid pickle). Deeper than
///   8 such containers nested, a lone item keeps `MARK item APPENDS`.
/// - Equal strs are taken to be one object (as literals and interned names are), and in
///   protocols 0–2 the one-character str that `bytes` of length 1 decode to is CPython's
///   one-character singleton, equal to an equal one-character str value.
/// - A `Display` used through `collect_str` is formatted up to three times (measure, compare,
///   write; four with Python 2's types); one that prints differently each time is an error.
///
/// With [`Encoding::python2`] (protocols 0–2) the output is what Python 2.7's `pickle.py`
/// writes for the Python 2 object in which ASCII strs and bytes are byte strings (`str`), other
/// strs `unicode`, and ints of up to 64 bits `int`s (tested against a rewrite of its
/// `Pickler` and loaded back by CPython 3). Python 2's cPickle differs in one way: it does not
/// memoize strs shorter than 2 characters. Characters beyond U+FFFF in protocol 0 are written
/// as Linux (UCS-4) builds write them, `\U0001f600`.
pub struct Serializer<'b, const MEMO: usize = MEMO_CAPACITY> {
    buf: &'b mut [u8],
    pos: usize,
    proto: u8,
    /// Python 2's types: ASCII strs and bytes as byte strings, ints as Python 2 ints
    /// (`Encoding::is_python2`).
    py2: bool,
    /// True while writes go into frames (protocol 4+, except for large payloads).
    framing: bool,
    /// Where the open frame's header (reserved or not) starts, or `NO_FRAME`.
    frame_start: usize,
    /// Whether the open frame's 9 header bytes were reserved (false only in tiny buffers).
    frame_reserved: bool,
    /// While a frame is open, the end of the room the fast paths may write to without
    /// `begin_save`/`write`'s frame checks: within the buffer, below 4 GiB, and before the
    /// frame reaches its 64 KiB target (counted from its header, so `begin_save` would not
    /// close it). 0 when no frame is open. See `set_fast_end`.
    fast_end: usize,
    /// Offsets of the first MARK of unknown-length lists and dicts being written (innermost
    /// last), and of the FRAME header that counts it once its frame is closed (`NO_FRAME`
    /// before), kept up to date as bytes move.
    marks: heapless::Vec<PendingMark, MARK_STACK>,
    /// The memo index the next PUT/MEMOIZE gets.
    next_memo: u32,
    memo: Memo<MEMO>,
    /// True while serializing a dict key (where lists and dicts cannot go).
    in_key: bool,
    /// Memo indexes of the two globals CPython writes for bytes in protocols 0–2.
    codecs_encode: Option<u32>,
    builtins_bytes: Option<u32>,
    /// Memo indexes of the standard types' classes and modules written (feature `alloc`).
    #[cfg(feature = "alloc")]
    classes: standard::Classes,
}

impl<'b, const MEMO: usize> Serializer<'b, MEMO> {
    /// Starts a pickle of `encoding` in `buf` (writes the PROTO opcode for protocol 2+).
    ///
    /// # Errors
    ///
    /// [`Error::BufferFull`] when `buf` has no room for the PROTO opcode.
    pub fn new(buf: &'b mut [u8], encoding: impl Into<Encoding>) -> Result<Self, Error> {
        let mut ser = Self::blank(buf, encoding.into());
        ser.start()?;
        Ok(ser)
    }

    /// Writes STOP, closes the last frame and returns the pickle: the used part of the buffer.
    ///
    /// # Errors
    ///
    /// [`Error::BufferFull`] when STOP (or the last frame's header) does not fit.
    pub fn finish(mut self) -> Result<&'b mut [u8], Error> {
        self.finish_in_place()
    }

    /// A serializer that wrote nothing yet. (Built in place by `to_slice_with_memo`: moving
    /// a `Serializer` copies its memo table.)
    #[inline(always)]
    fn blank(buf: &'b mut [u8], encoding: Encoding) -> Self {
        Serializer {
            buf,
            pos: 0,
            proto: encoding.protocol().as_u8(),
            py2: encoding.is_python2(),
            framing: false,
            frame_start: NO_FRAME,
            frame_reserved: false,
            fast_end: 0,
            marks: heapless::Vec::new(),
            next_memo: 0,
            memo: Memo::new(),
            in_key: false,
            codecs_encode: None,
            builtins_bytes: None,
            #[cfg(feature = "alloc")]
            classes: standard::Classes::default(),
        }
    }

    /// Writes the PROTO opcode (protocol 2+) and turns framing on (protocol 4+).
    #[inline(always)]
    fn start(&mut self) -> Result<(), Error> {
        if self.py2 && !cfg!(feature = "python2") {
            return Err(Error::Unsupported {
                what: "Python 2's types (Encoding::python2): this build leaves out \
                       brine-core feature `python2`",
            });
        }
        if self.proto >= 2 {
            self.put(&[Opcode::PROTO.byte(), self.proto])?;
        }
        self.framing = self.proto >= 4;
        if self.framing {
            // The first frame opens here rather than at the first value's save, so that the
            // first container takes the fast paths (the bytes are the same: a frame whose
            // body stays under FRAME_SIZE_MIN loses its header when committed).
            self.open_frame();
            self.begin_lean();
        }
        Ok(())
    }

    /// Whether strs and ints are written as Python 2's types ([`Encoding::is_python2`]);
    /// always false without the `python2` feature, so its code is left out of the build.
    #[inline(always)]
    fn py2(&self) -> bool {
        cfg!(feature = "python2") && self.py2
    }

    #[inline(always)]
    fn finish_in_place(&mut self) -> Result<&'b mut [u8], Error> {
        self.write_op(Opcode::STOP.byte())?;
        if !self.commit_frame_fast() {
            self.commit_frame()?;
        }
        let (pos, capacity) = (self.pos, self.buf.len());
        let buf = core::mem::take(&mut self.buf);
        buf.get_mut(..pos).ok_or(Error::BufferFull { capacity })
    }
}

/// serde `Serializer` methods that refuse what they are given with `Err(self.refuse())`:
/// `refuse!(Ok; name…)` writes each named method (its signature from the table below) for a
/// serializer whose `type Ok = Ok`. One table for the capturing serializers (`PyInt`, `PyStr`,
/// `PyStandard`, the standard collections), which each accept a few shapes only.
macro_rules! refuse {
    // (Before the `@ $ok:ty` arms, which would try to parse `fn …` as a type.)
    (@fn $method:ident $(<T: $bound:path>)? ($($arg:ty),*) -> $ret:ty) => {
        fn $method $(<T: $bound + ?Sized>)? (self $(, _: $arg)*) -> Result<$ret, Self::Error> {
            Err(self.refuse())
        }
    };
    ($ok:ty; $($method:ident)*) => { $(refuse!(@ $ok; $method);)* };
    (@ $ok:ty; serialize_seq) => { refuse!(@fn serialize_seq(Option<usize>) -> Self::SerializeSeq); };
    (@ $ok:ty; serialize_tuple) => { refuse!(@fn serialize_tuple(usize) -> Self::SerializeTuple); };
    (@ $ok:ty; serialize_tuple_struct) => {
        refuse!(@fn serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct);
    };
    (@ $ok:ty; serialize_tuple_variant) => {
        refuse!(@fn serialize_tuple_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeTupleVariant);
    };
    (@ $ok:ty; serialize_map) => { refuse!(@fn serialize_map(Option<usize>) -> Self::SerializeMap); };
    (@ $ok:ty; serialize_struct) => {
        refuse!(@fn serialize_struct(&'static str, usize) -> Self::SerializeStruct);
    };
    (@ $ok:ty; serialize_struct_variant) => {
        refuse!(@fn serialize_struct_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeStructVariant);
    };
    (@ $ok:ty; serialize_some) => { refuse!(@fn serialize_some<T: Serialize>(&T) -> $ok); };
    (@ $ok:ty; serialize_newtype_struct) => {
        refuse!(@fn serialize_newtype_struct<T: Serialize>(&'static str, &T) -> $ok);
    };
    (@ $ok:ty; serialize_newtype_variant) => {
        refuse!(@fn serialize_newtype_variant<T: Serialize>(&'static str, u32, &'static str, &T)
            -> $ok);
    };
    (@ $ok:ty; collect_str) => { refuse!(@fn collect_str<T: core::fmt::Display>(&T) -> $ok); };
    (@ $ok:ty; serialize_bool) => { refuse!(@fn serialize_bool(bool) -> $ok); };
    (@ $ok:ty; serialize_i8) => { refuse!(@fn serialize_i8(i8) -> $ok); };
    (@ $ok:ty; serialize_i16) => { refuse!(@fn serialize_i16(i16) -> $ok); };
    (@ $ok:ty; serialize_i32) => { refuse!(@fn serialize_i32(i32) -> $ok); };
    (@ $ok:ty; serialize_i64) => { refuse!(@fn serialize_i64(i64) -> $ok); };
    (@ $ok:ty; serialize_u8) => { refuse!(@fn serialize_u8(u8) -> $ok); };
    (@ $ok:ty; serialize_u16) => { refuse!(@fn serialize_u16(u16) -> $ok); };
    (@ $ok:ty; serialize_u32) => { refuse!(@fn serialize_u32(u32) -> $ok); };
    (@ $ok:ty; serialize_u64) => { refuse!(@fn serialize_u64(u64) -> $ok); };
    (@ $ok:ty; serialize_f32) => { refuse!(@fn serialize_f32(f32) -> $ok); };
    (@ $ok:ty; serialize_f64) => { refuse!(@fn serialize_f64(f64) -> $ok); };
    (@ $ok:ty; serialize_char) => { refuse!(@fn serialize_char(char) -> $ok); };
    (@ $ok:ty; serialize_str) => { refuse!(@fn serialize_str(&str) -> $ok); };
    (@ $ok:ty; serialize_bytes) => { refuse!(@fn serialize_bytes(&[u8]) -> $ok); };
    (@ $ok:ty; serialize_none) => { refuse!(@fn serialize_none() -> $ok); };
    (@ $ok:ty; serialize_unit) => { refuse!(@fn serialize_unit() -> $ok); };
    (@ $ok:ty; serialize_unit_struct) => { refuse!(@fn serialize_unit_struct(&'static str) -> $ok); };
    (@ $ok:ty; serialize_unit_variant) => {
        refuse!(@fn serialize_unit_variant(&'static str, u32, &'static str) -> $ok);
    };
}

mod compound;
#[cfg(feature = "fast")]
mod lean;
mod memo;
mod output;
mod python;
#[cfg(feature = "alloc")]
mod standard;
#[cfg(feature = "alloc")]
mod standard_collections;
#[cfg(feature = "alloc")]
mod standard_numbers;
#[cfg(feature = "alloc")]
mod standard_time;
mod text;
mod values;

#[cfg(test)]
mod tests;
