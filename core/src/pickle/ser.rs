//! The serde encoder: Rust values to pickle bytes, written straight into a caller's slice.
//!
//! For data made of dicts, lists, tuples, str, bytes, int, float, bool and None the output is
//! byte for byte what CPython 3.11's C pickler (`pickle.dumps(obj, protocol)`) writes for the
//! same Python object, for protocols 2–5, when equal strings (and equal bytes) are one object in
//! Python, as literals and interned names are. Protocols 0 and 1 load back to an equal object
//! (and match CPython too, except for the notes below).
//!
//! How the serde data model maps to Python:
//!
//! | serde | Python |
//! | --- | --- |
//! | bool | `bool` |
//! | i8…i128, u8…u128 | `int` |
//! | f32, f64 | `float` |
//! | char, str, `collect_str` | `str` |
//! | bytes (`serde_bytes`) | `bytes` |
//! | None, unit, unit struct | `None` |
//! | `Some(x)`, newtype struct | `x` |
//! | seq | `list` |
//! | tuple, tuple struct | `tuple` |
//! | map | `dict` (list or dict keys are refused: Python cannot hash them) |
//! | struct | `dict` with `str` keys in field order |
//! | unit variant | `str` (the variant name) |
//! | newtype, tuple, struct variant | `{name: value}` (externally tagged, as serde_json) |
//!
//! No heap: the memo (which strings and bytes were written, so that equal ones are written once
//! and then referenced with `BINGET`) is a fixed table of `MEMO` entries, each remembering where
//! the value's bytes lie in the output so later values are compared against the output itself.
//! Running out of entries is [`Error::Capacity`] (never silently different bytes).
//!
//! Notes where brine can differ from CPython:
//! - A list or dict whose length serde is not told in advance (`serialize_seq(None)`,
//!   `#[serde(flatten)]`) and that ends up with exactly one item is rewritten as CPython writes
//!   it (`item APPEND`, no MARK). If a 64 KiB frame closed inside that item, the frame may be
//!   split one byte from where CPython splits it (still a valid pickle). Deeper than
//!   8 such containers nested, a lone item keeps `MARK item APPENDS`.
//! - Equal strs are taken to be one object (as literals and interned names are), and in
//!   protocols 0–2 the one-character str that `bytes` of length 1 decode to is CPython's
//!   one-character singleton, equal to an equal one-character str value.
//! - A `Display` used through `collect_str` is formatted up to three times (measure, compare,
//!   write; four with Python 2's types); one that prints differently each time is an error.
//!
//! With [`Encoding::python2`] (protocols 0–2) the output is what Python 2.7's `pickle.py`
//! writes for the Python 2 object in which ASCII strs and bytes are byte strings (`str`), other
//! strs `unicode`, and ints of up to 64 bits `int`s (tested against a rewrite of its
//! `Pickler` and loaded back by CPython 3). Python 2's cPickle differs in one way: it does not
//! memoize strs shorter than 2 characters. Characters beyond U+FFFF in protocol 0 are written
//! as Linux (UCS-4) builds write them, `\U0001f600`.

use core::cmp::min;
use core::fmt::{self, Display, Write as _};

use serde::ser::{self, Serialize};

use super::float_repr::write_float_repr;
use super::{Capacity, Encoding, Error, Opcode};

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
/// The memo index bit that marks a bytes entry (a str entry otherwise).
const BYTES_BIT: u32 = 1 << 31;

const MARK: u8 = Opcode::MARK.byte();

/// Encodes `value` as a pickle of `encoding` (a [`Protocol`](super::Protocol), or an
/// [`Encoding`] for Python 2's types) into `buf` and returns the used part of `buf`.
///
/// The bytes equal CPython's `pickle.dumps(obj, protocol)` for the equivalent Python object
/// (see the [module documentation](self)); with [`Encoding::python2`], Python 2.7's.
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
pub fn to_slice_with_memo<'b, const MEMO: usize, T: Serialize + ?Sized>(
    value: &T,
    buf: &'b mut [u8],
    encoding: impl Into<Encoding>,
) -> Result<&'b mut [u8], Error> {
    let mut ser = Serializer::<MEMO>::blank(buf, encoding.into());
    ser.start()?;
    value.serialize(&mut ser)?;
    ser.finish_in_place()
}

/// A serde `Serializer` writing one pickle into a byte slice.
///
/// [`to_slice`] is the usual way in; use this type directly to serialize with a custom
/// `Serialize` call (`value.serialize(&mut ser)`), then [`Serializer::finish`].
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
    marks: [PendingMark; MARK_STACK],
    marks_len: usize,
    /// The memo index the next PUT/MEMOIZE gets.
    next_memo: u32,
    memo: Memo<MEMO>,
    /// True while serializing a dict key (where lists and dicts cannot go).
    in_key: bool,
    /// Memo indexes of the two globals CPython writes for bytes in protocols 0–2.
    codecs_encode: Option<u32>,
    builtins_bytes: Option<u32>,
}

/// A remembered str or bytes value: where its encoding lies in the output.
#[derive(Clone, Copy)]
struct Entry {
    /// Offset of the payload in the output.
    off: u32,
    /// Length of the payload in the output.
    len: u32,
    /// Memo index, with `BYTES_BIT` set for bytes.
    index: u32,
    /// `payload_hash` of the payload; computed only once the memo has a hash index (while
    /// there are at most `LINEAR_MEMO` entries, values are found by a scan).
    hash: u32,
}

impl Entry {
    fn payload(self) -> (usize, usize) {
        let off = self.off as usize;
        (off, off.saturating_add(self.len as usize))
    }

    fn is_bytes(self) -> bool {
        self.index & BYTES_BIT != 0
    }
}

/// See `Serializer::marks`.
#[derive(Clone, Copy)]
struct PendingMark {
    at: usize,
    header: usize,
}

/// The fixed memo table: entries in insertion order, and past `LINEAR_MEMO` entries an
/// open-addressing hash index over them.
///
/// Both are `None` until first needed: an empty `heapless::Vec` built inside the serializer
/// compiles to a memset of its whole (uninitialized) storage, kilobytes for every pickle,
/// while `None` is one byte written.
struct Memo<const N: usize> {
    /// A bit per remembered str (`str_bit` of its payload): a str whose bit is clear was
    /// not written before, without a scan.
    strs: u64,
    entries: Option<heapless::Vec<Entry, N>>,
    /// Indexes into `entries` (`NO_ENTRY` for a free slot), grown and rebuilt as entries
    /// are added.
    index: Option<heapless::Vec<u32, N>>,
}

impl<const N: usize> Memo<N> {
    #[inline]
    fn entries(&self) -> &[Entry] {
        match &self.entries {
            Some(v) => v,
            None => &[],
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |v| v.len())
    }

    /// The hash index, when there is one (more than `LINEAR_MEMO` entries).
    #[inline]
    fn index(&self) -> Option<&[u32]> {
        self.index.as_deref().filter(|slots| !slots.is_empty())
    }

    /// Puts entry `i` (whose hash is known) into the index (linear probing; there is always a
    /// free slot, since the index has as many slots as the table has entries).
    fn index_entry(&mut self, i: usize) {
        let Some(hash) = self.entries().get(i).map(|e| e.hash) else {
            return;
        };
        let Some(index) = self.index.as_mut() else {
            return;
        };
        let slots = index.len();
        if slots == 0 {
            return;
        }
        let mut slot = hash as usize % slots;
        for _ in 0..slots {
            match index.get_mut(slot) {
                Some(free) if *free == NO_ENTRY => {
                    *free = i as u32;
                    return;
                }
                _ => slot = if slot + 1 == slots { 0 } else { slot + 1 },
            }
        }
    }
}

/// Which of CPython's two globals for bytes in protocols 0–2.
#[derive(Clone, Copy)]
enum Global {
    /// `_codecs.encode`, for `_codecs.encode('…', 'latin1')`.
    CodecsEncode,
    /// `__builtin__.bytes`, for `bytes()`.
    BuiltinsBytes,
}

/// The payload of a str written (or found) in the output.
#[derive(Clone, Copy)]
struct Stored {
    off: usize,
    len: usize,
}

impl<'b, const MEMO: usize> Serializer<'b, MEMO> {
    /// Starts a pickle of `encoding` in `buf` (writes the PROTO opcode for protocol 2+).
    pub fn new(buf: &'b mut [u8], encoding: impl Into<Encoding>) -> Result<Self, Error> {
        let mut ser = Self::blank(buf, encoding.into());
        ser.start()?;
        Ok(ser)
    }

    /// Writes STOP, closes the last frame and returns the pickle: the used part of the buffer.
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
            // Only `marks[..marks_len]` is ever read.
            marks: [PendingMark { at: 0, header: 0 }; MARK_STACK],
            marks_len: 0,
            next_memo: 0,
            memo: Memo {
                strs: 0,
                entries: None,
                index: None,
            },
            in_key: false,
            codecs_encode: None,
            builtins_bytes: None,
        }
    }

    /// Writes the PROTO opcode (protocol 2+) and turns framing on (protocol 4+).
    fn start(&mut self) -> Result<(), Error> {
        if self.proto >= 2 {
            self.put(&[Opcode::PROTO.byte(), self.proto])?;
        }
        self.framing = self.proto >= 4;
        Ok(())
    }

    fn finish_in_place(&mut self) -> Result<&'b mut [u8], Error> {
        self.write(&[Opcode::STOP.byte()])?;
        self.commit_frame()?;
        let (pos, capacity) = (self.pos, self.buf.len());
        let buf = core::mem::take(&mut self.buf);
        buf.get_mut(..pos).ok_or(Error::BufferFull { capacity })
    }

    // ---- raw output ----

    fn full(&self) -> Error {
        Error::BufferFull {
            capacity: self.buf.len(),
        }
    }

    /// Copies `bytes` to the output, outside any frame logic.
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let start = self.pos;
        let end = start.wrapping_add(bytes.len());
        match self.buf.get_mut(start..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
                Ok(())
            }
            None => Err(self.full()),
        }
    }

    /// Writes `bytes`, opening a frame first when framing and none is open (CPython's
    /// `_Pickler_Write`).
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.framing && self.frame_start == NO_FRAME {
            self.open_frame();
        }
        self.put(bytes)
    }

    /// Reserves room for a FRAME header, filled in when the frame closes.
    fn open_frame(&mut self) {
        self.frame_start = self.pos;
        // In a buffer too small even for the header, the frame is tracked unreserved: it can
        // then only end up shorter than FRAME_SIZE_MIN (no header) or overflow anyway.
        self.frame_reserved = self.put(&[0; FRAME_HEADER_SIZE]).is_ok();
        self.set_fast_end();
    }

    /// Recomputes `fast_end` after `frame_start` changed.
    fn set_fast_end(&mut self) {
        self.fast_end = if self.frame_start == NO_FRAME {
            0
        } else {
            min(
                min(self.buf.len(), u32::MAX as usize),
                self.frame_start.saturating_add(FRAME_SIZE_TARGET),
            )
        };
    }

    fn frame_body_start(&self) -> usize {
        if self.frame_reserved {
            self.frame_start.saturating_add(FRAME_HEADER_SIZE)
        } else {
            self.frame_start
        }
    }

    /// Closes the open frame: fills in its header, or drops the header when the body is
    /// shorter than FRAME_SIZE_MIN (CPython's `_Pickler_CommitFrame`).
    fn commit_frame(&mut self) -> Result<(), Error> {
        if self.frame_start == NO_FRAME {
            return Ok(());
        }
        let start = self.frame_start;
        let body = self.frame_body_start();
        self.frame_start = NO_FRAME;
        self.fast_end = 0;
        let len = self.pos.saturating_sub(body);
        if len >= FRAME_SIZE_MIN {
            if !self.frame_reserved {
                return Err(self.full());
            }
            let live = self.marks_len;
            for m in self.marks.iter_mut().take(live) {
                if m.header == NO_FRAME && m.at >= body {
                    m.header = start;
                }
            }
            let l = (len as u64).to_le_bytes();
            let header = [
                Opcode::FRAME.byte(),
                l[0],
                l[1],
                l[2],
                l[3],
                l[4],
                l[5],
                l[6],
                l[7],
            ];
            let capacity = self.buf.len();
            self.buf
                .get_mut(start..body)
                .ok_or(Error::BufferFull { capacity })?
                .copy_from_slice(&header);
        } else if self.frame_reserved {
            self.remove(start, FRAME_HEADER_SIZE);
        }
        Ok(())
    }

    /// Deletes `n` output bytes at `at`, moving what follows back (and the memo's offsets).
    fn remove(&mut self, at: usize, n: usize) {
        let from = at.saturating_add(n);
        if from > self.pos || self.pos > self.buf.len() {
            return; // cannot happen: callers remove bytes they wrote
        }
        self.buf.copy_within(from..self.pos, at);
        self.pos -= n;
        for e in self.memo.entries.iter_mut().flatten() {
            if e.off as usize >= from {
                e.off = e.off.saturating_sub(n as u32);
            }
        }
        let live = self.marks_len;
        for m in self.marks.iter_mut().take(live) {
            if m.at >= from {
                m.at -= n;
            }
            if m.header != NO_FRAME && m.header >= from {
                m.header -= n;
            }
        }
        if self.frame_start != NO_FRAME && self.frame_start >= from {
            self.frame_start -= n;
            self.set_fast_end();
        }
    }

    /// Takes one byte off the body of the closed frame whose header is at `header` (after a
    /// MARK inside it was removed); drops the header if the body became too short for one.
    fn shrink_closed_frame(&mut self, header: usize) {
        let len_at = header.saturating_add(1);
        let Some(field) = self.buf.get_mut(len_at..len_at.saturating_add(8)) else {
            return;
        };
        let mut l = [0u8; 8];
        l.copy_from_slice(field);
        let len = u64::from_le_bytes(l).saturating_sub(1);
        if len >= FRAME_SIZE_MIN as u64 {
            field.copy_from_slice(&len.to_le_bytes());
        } else {
            self.remove(header, FRAME_HEADER_SIZE);
        }
    }

    /// Called where CPython's `save()` starts: closes the frame once it reached 64 KiB.
    #[inline]
    fn begin_save(&mut self) -> Result<(), Error> {
        if self.frame_start != NO_FRAME
            && self.pos.saturating_sub(self.frame_body_start()) >= FRAME_SIZE_TARGET
        {
            self.commit_frame()?;
        }
        Ok(())
    }

    /// Writes an opcode header before a payload of `len` bytes; payloads of 64 KiB or more
    /// go outside frames, as in CPython's `_Pickler_write_bytes`. Returns whether framing was
    /// suspended (pass it to `end_payload`).
    #[inline]
    fn begin_payload(&mut self, header: &[u8], len: usize) -> Result<bool, Error> {
        if self.framing && len >= FRAME_SIZE_TARGET {
            self.commit_frame()?;
            self.framing = false;
            self.put(header)?;
            Ok(true)
        } else {
            self.write(header)?;
            Ok(false)
        }
    }

    fn end_payload(&mut self, suspended: bool) {
        if suspended {
            self.framing = true;
        }
    }

    /// Writes the decimal digits of `v`.
    fn write_decimal(&mut self, v: u128) -> Result<(), Error> {
        let mut digits = [0u8; 40];
        let mut i = digits.len();
        let mut v = v;
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        let text = digits.get(i..).unwrap_or_default();
        self.write(text)
    }

    // ---- memo ----

    fn memo_full(&self) -> Error {
        Error::Capacity {
            what: Capacity::Memo,
            limit: MEMO,
            offset: self.pos,
        }
    }

    /// Gives the value just written the next memo index (PUT, BINPUT, LONG_BINPUT or MEMOIZE).
    fn memo_put(&mut self) -> Result<u32, Error> {
        let index = self.next_memo;
        if index >= BYTES_BIT {
            return Err(Error::Capacity {
                what: Capacity::Memo,
                limit: BYTES_BIT as usize,
                offset: self.pos,
            });
        }
        self.next_memo = index + 1;
        match self.proto {
            0 => {
                self.write(b"p")?;
                self.write_decimal(u128::from(index))?;
                self.write(b"\n")?;
            }
            1..=3 => match u8::try_from(index) {
                Ok(i) => self.write(&[Opcode::BINPUT.byte(), i])?,
                Err(_) => {
                    let i = index.to_le_bytes();
                    self.write(&[Opcode::LONG_BINPUT.byte(), i[0], i[1], i[2], i[3]])?;
                }
            },
            _ => self.write(&[Opcode::MEMOIZE.byte()])?,
        }
        Ok(index)
    }

    /// Refers to the memo entry `index` (GET, BINGET or LONG_BINGET).
    fn memo_get(&mut self, index: u32) -> Result<(), Error> {
        if self.proto == 0 {
            self.write(b"g")?;
            self.write_decimal(u128::from(index))?;
            return self.write(b"\n");
        }
        match u8::try_from(index) {
            Ok(i) => self.write(&[Opcode::BINGET.byte(), i]),
            Err(_) => {
                let i = index.to_le_bytes();
                self.write(&[Opcode::LONG_BINGET.byte(), i[0], i[1], i[2], i[3]])
            }
        }
    }

    /// Finds a remembered value of the kind (`bytes`) whose stored payload `eq` accepts;
    /// `hash` gives the `payload_hash` of that payload (needed only once the memo has a hash
    /// index).
    fn find(
        &self,
        bytes: bool,
        hash: impl FnOnce() -> u32,
        eq: impl Fn(&[u8]) -> bool,
    ) -> Option<Entry> {
        let accept = |e: Entry| {
            if e.is_bytes() != bytes {
                return false;
            }
            let (start, end) = e.payload();
            self.buf.get(start..end).is_some_and(&eq)
        };
        let entries = self.memo.entries();
        let Some(index) = self.memo.index() else {
            return entries.iter().copied().find(|&e| accept(e));
        };
        let hash = hash();
        let slots = index.len();
        let mut slot = hash as usize % slots;
        for _ in 0..slots {
            let i = *index.get(slot)?;
            if i == NO_ENTRY {
                return None;
            }
            if let Some(&e) = entries.get(i as usize) {
                if e.hash == hash && accept(e) {
                    return Some(e);
                }
            }
            slot = if slot + 1 == slots { 0 } else { slot + 1 };
        }
        None
    }

    /// Finds a remembered str whose UTF-8 payload is `s` (protocols 1+, where str payloads
    /// are stored as UTF-8): a scan comparing lengths first, or the hash index.
    #[inline]
    fn find_str(&self, s: &[u8]) -> Option<Entry> {
        if self.memo.index().is_some() {
            return self.find(false, || payload_hash(false, s), |stored| stored == s);
        }
        if self.memo.strs & str_bit(s) == 0 {
            return None;
        }
        let len = s.len();
        self.memo.entries().iter().copied().find(|e| {
            e.len as usize == len
                && !e.is_bytes()
                && self.buf.get(e.off as usize..).and_then(|p| p.get(..len)) == Some(s)
        })
    }

    /// Remembers a value written with memo index `index` and payload `stored`.
    fn remember(&mut self, bytes: bool, stored: Stored, index: u32) -> Result<(), Error> {
        let (Ok(off), Ok(len)) = (u32::try_from(stored.off), u32::try_from(stored.len)) else {
            return Err(self.memo_full());
        };
        let index = if bytes {
            index | BYTES_BIT
        } else {
            let payload = self.buf.get(stored.off..).and_then(|p| p.get(..stored.len));
            self.memo.strs |= str_bit(payload.unwrap_or_default());
            index
        };
        let entries = self.memo.entries.get_or_insert_with(heapless::Vec::new);
        if entries
            .push(Entry {
                off,
                len,
                index,
                hash: 0,
            })
            .is_err()
        {
            return Err(self.memo_full());
        }
        let count = entries.len();
        if count <= LINEAR_MEMO {
            return Ok(());
        }
        // Past a few entries, values are found through a hash index (at most half full,
        // until it has MEMO slots), instead of a scan.
        let slots = self.memo.index().map_or(0, |index| index.len());
        let buf = &*self.buf;
        let hash_of = |e: &Entry| {
            let (start, end) = e.payload();
            payload_hash(e.is_bytes(), buf.get(start..end).unwrap_or_default())
        };
        if slots == 0 {
            for e in self.memo.entries.iter_mut().flatten() {
                e.hash = hash_of(e);
            }
        } else if let Some(e) = self.memo.entries.as_mut().and_then(|v| v.last_mut()) {
            e.hash = hash_of(e);
        }
        if count.saturating_mul(2) > slots && slots < MEMO {
            let grown = slots.max(LINEAR_MEMO).saturating_mul(4).min(MEMO);
            let index = self.memo.index.get_or_insert_with(heapless::Vec::new);
            index.clear();
            let _ = index.resize(grown, NO_ENTRY);
            for i in 0..count {
                self.memo.index_entry(i);
            }
        } else {
            self.memo.index_entry(count - 1);
        }
        Ok(())
    }

    fn check_memo_room(&self) -> Result<(), Error> {
        if self.memo.len() >= MEMO {
            Err(self.memo_full())
        } else {
            Ok(())
        }
    }

    // ---- values ----

    fn save_none(&mut self) -> Result<(), Error> {
        self.begin_save()?;
        self.write(&[Opcode::NONE.byte()])
    }

    fn save_bool(&mut self, v: bool) -> Result<(), Error> {
        self.begin_save()?;
        match (self.proto >= 2, v) {
            (true, true) => self.write(&[Opcode::NEWTRUE.byte()]),
            (true, false) => self.write(&[Opcode::NEWFALSE.byte()]),
            (false, true) => self.write(b"I01\n"),
            (false, false) => self.write(b"I00\n"),
        }
    }

    #[inline(always)]
    fn save_i64(&mut self, v: i64) -> Result<(), Error> {
        if let Ok(small) = i32::try_from(v) {
            if self.save_i32_fast(small) {
                return Ok(());
            }
        }
        self.save_i64_general(v)
    }

    #[inline(never)]
    fn save_i64_general(&mut self, v: i64) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(v < 0, u128::from(v.unsigned_abs())),
        }
    }

    #[inline(always)]
    fn save_u64(&mut self, v: u64) -> Result<(), Error> {
        if let Ok(small) = i32::try_from(v) {
            if self.save_i32_fast(small) {
                return Ok(());
            }
        }
        self.save_u64_general(v)
    }

    /// An int that fits a signed 4-byte integer, written inside an open frame with room
    /// (see `fast_end`): BININT1, BININT2 or BININT, as `save_i32`. Returns false, having
    /// written nothing, when there is no such room.
    #[inline(always)]
    fn save_i32_fast(&mut self, v: i32) -> bool {
        let start = self.pos;
        let end = start.wrapping_add(5);
        if end > self.fast_end {
            return false;
        }
        let Some(dst) = self.buf.get_mut(start..end) else {
            return false;
        };
        let b = v.to_le_bytes();
        let n = if b[2] != 0 || b[3] != 0 {
            dst.copy_from_slice(&[Opcode::BININT.byte(), b[0], b[1], b[2], b[3]]);
            5
        } else if b[1] != 0 {
            if let Some(d) = dst.first_chunk_mut::<3>() {
                *d = [Opcode::BININT2.byte(), b[0], b[1]];
            }
            3
        } else {
            if let Some(d) = dst.first_chunk_mut::<2>() {
                *d = [Opcode::BININT1.byte(), b[0]];
            }
            2
        };
        self.pos = start + n;
        true
    }

    #[inline(never)]
    fn save_u64_general(&mut self, v: u64) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(false, u128::from(v)),
        }
    }

    fn save_i128(&mut self, v: i128) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(v < 0, v.unsigned_abs()),
        }
    }

    fn save_u128(&mut self, v: u128) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(false, v),
        }
    }

    /// An int that fits a signed 4-byte integer: BININT1/BININT2/BININT, or INT in protocol 0.
    #[inline]
    fn save_i32(&mut self, v: i32) -> Result<(), Error> {
        if self.proto == 0 {
            self.write(b"I")?;
            if v < 0 {
                self.write(b"-")?;
            }
            self.write_decimal(u128::from(v.unsigned_abs()))?;
            return self.write(b"\n");
        }
        let b = v.to_le_bytes();
        if b[2] != 0 || b[3] != 0 {
            self.write(&[Opcode::BININT.byte(), b[0], b[1], b[2], b[3]])
        } else if b[1] != 0 {
            self.write(&[Opcode::BININT2.byte(), b[0], b[1]])
        } else {
            self.write(&[Opcode::BININT1.byte(), b[0]])
        }
    }

    /// An int outside the signed 4-byte range: LONG1 (protocol 2+) or LONG text.
    fn save_long(&mut self, negative: bool, magnitude: u128) -> Result<(), Error> {
        // Python 2 (64-bit) writes its ints as INT text in every protocol, longs as below.
        let int_max = if negative { 1 << 63 } else { (1 << 63) - 1 };
        if self.py2 && magnitude <= int_max {
            self.write(if negative { b"I-" } else { b"I" })?;
            self.write_decimal(magnitude)?;
            return self.write(b"\n");
        }
        if self.proto < 2 {
            self.write(if negative { b"L-" } else { b"L" })?;
            self.write_decimal(magnitude)?;
            return self.write(b"L\n");
        }
        // Little-endian two's complement in (bit_length >> 3) + 1 bytes, as pickle.encode_long.
        let bits = 128 - magnitude.leading_zeros() as usize;
        let mut n = (bits >> 3) + 1;
        let (low, high) = if negative {
            (0u128.wrapping_sub(magnitude).to_le_bytes(), 0xff)
        } else {
            (magnitude.to_le_bytes(), 0)
        };
        let mut out = [0u8; 19];
        out[0] = Opcode::LONG1.byte();
        for (o, b) in out.iter_mut().skip(2).zip(low.iter().chain([high].iter())) {
            *o = *b;
        }
        if negative && n > 1 {
            let last = out.get(n + 1).copied().unwrap_or(0);
            let before = out.get(n).copied().unwrap_or(0);
            if last == 0xff && before & 0x80 != 0 {
                n -= 1;
            }
        }
        out[1] = n as u8;
        self.write(out.get(..n + 2).unwrap_or_default())
    }

    fn save_float(&mut self, v: f64) -> Result<(), Error> {
        self.begin_save()?;
        if self.proto == 0 {
            let mut text = ReprBuf {
                bytes: [0; 32],
                len: 0,
            };
            text.bytes[0] = Opcode::FLOAT.byte();
            text.len = 1;
            write_float_repr(&mut text, v).map_err(|_| Error::Unsupported {
                what: "a float whose repr does not fit",
            })?;
            text.write_str("\n").map_err(|_| Error::Unsupported {
                what: "a float whose repr does not fit",
            })?;
            return self.write(text.bytes.get(..text.len).unwrap_or_default());
        }
        let b = v.to_be_bytes();
        self.write(&[
            Opcode::BINFLOAT.byte(),
            b[0],
            b[1],
            b[2],
            b[3],
            b[4],
            b[5],
            b[6],
            b[7],
        ])
    }

    /// Writes a str (in Python 2's types, ASCII text as a byte string). With `share`, an equal
    /// str written before is referenced instead, and this one is remembered (CPython's memo,
    /// when equal strings are one object).
    fn save_text<X: Text + ?Sized>(&mut self, x: &X, mut share: bool) -> Result<Stored, Error> {
        self.begin_save()?;
        let form = if self.py2 {
            let scan = x.scan()?;
            if scan.ascii {
                return self.save_byte_string(x, scan.quote(), share);
            }
            share &= !(self.proto == 0 && scan.replaced);
            if self.proto == 0 {
                Form::Py2Escaped
            } else {
                Form::Plain
            }
        } else if self.proto == 0 {
            Form::Escaped
        } else {
            Form::Plain
        };
        let (len, hash) = x.measure(KIND_STR, form)?;
        if share {
            if let Some(e) = self.find(false, || hash, |stored| x.matches(stored, form)) {
                self.memo_get(e.index)?;
                let (off, end) = e.payload();
                return Ok(Stored {
                    off,
                    len: end - off,
                });
            }
            self.check_memo_room()?;
        }
        let stored = if form != Form::Plain {
            self.write(&[Opcode::UNICODE.byte()])?;
            let off = self.pos;
            x.feed(self, form)?;
            let len = self.pos - off;
            self.write(b"\n")?;
            Stored { off, len }
        } else {
            let l = (len as u64).to_le_bytes();
            let suspended = if len <= 0xff && self.proto >= 4 {
                self.begin_payload(&[Opcode::SHORT_BINUNICODE.byte(), l[0]], len)?
            } else if len <= 0xffff_ffff {
                self.begin_payload(&[Opcode::BINUNICODE.byte(), l[0], l[1], l[2], l[3]], len)?
            } else if self.proto >= 4 {
                let header = [
                    Opcode::BINUNICODE8.byte(),
                    l[0],
                    l[1],
                    l[2],
                    l[3],
                    l[4],
                    l[5],
                    l[6],
                    l[7],
                ];
                self.begin_payload(&header, len)?
            } else {
                return Err(Error::Unsupported {
                    what: "a str over 4 GiB before protocol 4",
                });
            };
            let off = self.pos;
            x.feed(self, Form::Plain)?;
            self.end_payload(suspended);
            if self.pos - off != len {
                return Err(Error::message(
                    "a Display implementation wrote different text when called again",
                ));
            }
            Stored { off, len }
        };
        let index = self.memo_put()?;
        if share {
            self.remember(false, stored, index)?;
        }
        Ok(stored)
    }

    /// A Python 2 byte string (`str`): SHORT_BINSTRING or BINSTRING, or STRING with Python 2's
    /// `repr` in protocol 0, as Python 2.7's `pickle` writes it. Remembered as a bytes value
    /// (Python 2's `str` is its bytes type). Called after `begin_save`.
    fn save_byte_string<X: Text + ?Sized>(
        &mut self,
        x: &X,
        quote: u8,
        share: bool,
    ) -> Result<Stored, Error> {
        let form = if self.proto == 0 {
            Form::Py2Repr { quote }
        } else {
            Form::Plain
        };
        let (len, hash) = x.measure(KIND_BYTES, form)?;
        if share {
            if let Some(e) = self.find(true, || hash, |stored| x.matches(stored, form)) {
                self.memo_get(e.index & !BYTES_BIT)?;
                let (off, end) = e.payload();
                return Ok(Stored {
                    off,
                    len: end - off,
                });
            }
            self.check_memo_room()?;
        }
        let l = (len as u64).to_le_bytes();
        if self.proto == 0 {
            self.write(&[Opcode::STRING.byte(), quote])?;
        } else if len <= 0xff {
            self.write(&[Opcode::SHORT_BINSTRING.byte(), l[0]])?;
        } else if len <= i32::MAX as usize {
            self.write(&[Opcode::BINSTRING.byte(), l[0], l[1], l[2], l[3]])?;
        } else {
            return Err(Error::Unsupported {
                what: "a Python 2 byte string of 2 GiB or more",
            });
        }
        let off = self.pos;
        x.feed(self, form)?;
        if self.pos - off != len {
            return Err(Error::message(
                "a Display implementation wrote different text when called again",
            ));
        }
        if self.proto == 0 {
            self.write(&[quote, b'\n'])?;
        }
        let stored = Stored { off, len };
        let index = self.memo_put()?;
        if share {
            self.remember(true, stored, index)?;
        }
        Ok(stored)
    }

    /// A str. The common case in protocol 4+ (a short str not seen before, in an open frame
    /// far from its 64 KiB target, while the memo is small) is written here, inline, with one
    /// bounds check; everything else in `save_str_general`.
    #[inline(always)]
    fn save_str(&mut self, v: &str) -> Result<(), Error> {
        let bytes = v.as_bytes();
        let len = bytes.len();
        let start = self.pos;
        // SHORT_BINUNICODE len payload MEMOIZE
        let end = start.wrapping_add(len + 3);
        let bit = str_bit(bytes);
        let index = self.next_memo;
        let fast = len <= 0xff
            && end <= self.fast_end
            && self.memo.len() < min(LINEAR_MEMO, MEMO)
            && index < BYTES_BIT;
        if !fast {
            return self.save_str_general(v);
        }
        if self.memo.strs & bit != 0 {
            if let Some(e) = self.find_str(bytes) {
                return self.memo_get(e.index);
            }
        }
        let Some(dst) = self.buf.get_mut(start..end) else {
            return self.save_str_general(v);
        };
        if let Some(([op, n], rest)) = dst.split_first_chunk_mut::<2>() {
            *op = Opcode::SHORT_BINUNICODE.byte();
            *n = len as u8;
            if let Some((payload, [put])) = rest.split_last_chunk_mut::<1>() {
                copy_short(payload, bytes);
                *put = Opcode::MEMOIZE.byte();
            }
        }
        self.pos = end;
        self.next_memo = index + 1;
        self.memo.strs |= bit;
        let entries = self.memo.entries.get_or_insert_with(heapless::Vec::new);
        let _ = entries.push(Entry {
            off: (start + 2) as u32,
            len: len as u32,
            index,
            hash: 0,
        });
        Ok(())
    }

    /// `save_str` outside its fast path: short strs in binary protocols still get one bounds
    /// check for opcode, payload and memo opcode; others go through `save_text`.
    #[inline(never)]
    fn save_str_general(&mut self, v: &str) -> Result<(), Error> {
        let bytes = v.as_bytes();
        let len = bytes.len();
        if self.py2 || self.proto == 0 || len > 0xff {
            return self.save_text(&Utf8(v), true).map(|_| ());
        }
        self.begin_save()?;
        if let Some(e) = self.find_str(bytes) {
            return self.memo_get(e.index);
        }
        self.check_memo_room()?;
        let index = self.next_memo;
        if index >= BYTES_BIT {
            return self.memo_put().map(|_| ());
        }
        if self.framing && self.frame_start == NO_FRAME {
            self.open_frame();
        }
        let start = self.pos;
        let capacity = self.buf.len();
        let full = || Error::BufferFull { capacity };
        let (off, end) = if self.proto >= 4 {
            // SHORT_BINUNICODE len payload MEMOIZE
            let end = start.wrapping_add(len + 3);
            let dst = self.buf.get_mut(start..end).ok_or_else(full)?;
            let Some(([op, n], rest)) = dst.split_first_chunk_mut::<2>() else {
                return Err(full());
            };
            *op = Opcode::SHORT_BINUNICODE.byte();
            *n = len as u8;
            let Some((payload, [put])) = rest.split_last_chunk_mut::<1>() else {
                return Err(full());
            };
            copy_short(payload, bytes);
            *put = Opcode::MEMOIZE.byte();
            (start + 2, end)
        } else {
            // BINUNICODE len:u32 payload BINPUT i | LONG_BINPUT i:u32
            let i = index.to_le_bytes();
            let (put, put_len) = if index < 256 {
                ([Opcode::BINPUT.byte(), i[0], 0, 0, 0], 2)
            } else {
                ([Opcode::LONG_BINPUT.byte(), i[0], i[1], i[2], i[3]], 5)
            };
            let end = start.wrapping_add(5 + len + put_len);
            let dst = self.buf.get_mut(start..end).ok_or_else(full)?;
            let Some((header, rest)) = dst.split_first_chunk_mut::<5>() else {
                return Err(full());
            };
            *header = [Opcode::BINUNICODE.byte(), len as u8, 0, 0, 0];
            let (Some((payload, p)), Some(put)) =
                (rest.split_at_mut_checked(len), put.get(..put_len))
            else {
                return Err(full());
            };
            copy_short(payload, bytes);
            p.copy_from_slice(put);
            (start + 5, end)
        };
        self.pos = end;
        self.next_memo = index + 1;
        self.remember(false, Stored { off, len }, index)
    }

    fn save_bytes(&mut self, v: &[u8]) -> Result<(), Error> {
        self.begin_save()?;
        if self.py2 {
            let quote = ByteString(v).scan()?.quote();
            return self
                .save_byte_string(&ByteString(v), quote, true)
                .map(|_| ());
        }
        let proto = self.proto;
        let found = if proto >= 3 {
            self.find(true, || payload_hash(true, v), |stored| stored == v)
        } else {
            // Stored as the latin-1 str CPython writes for it (escaped in protocol 0).
            let form = if proto == 0 {
                Form::Escaped
            } else {
                Form::Plain
            };
            let hash = || {
                Latin1(v)
                    .measure(KIND_BYTES, form)
                    .map_or(0, |(_, hash)| hash)
            };
            self.find(true, hash, |stored| Latin1(v).matches(stored, form))
        };
        if let Some(e) = found {
            return self.memo_get(e.index & !BYTES_BIT);
        }
        self.check_memo_room()?;
        let stored = if proto >= 3 {
            let len = v.len();
            let l = (len as u64).to_le_bytes();
            let suspended = if len <= 0xff {
                self.begin_payload(&[Opcode::SHORT_BINBYTES.byte(), l[0]], len)?
            } else if len <= 0xffff_ffff {
                self.begin_payload(&[Opcode::BINBYTES.byte(), l[0], l[1], l[2], l[3]], len)?
            } else if proto >= 4 {
                let header = [
                    Opcode::BINBYTES8.byte(),
                    l[0],
                    l[1],
                    l[2],
                    l[3],
                    l[4],
                    l[5],
                    l[6],
                    l[7],
                ];
                self.begin_payload(&header, len)?
            } else {
                return Err(Error::Unsupported {
                    what: "bytes over 4 GiB in protocol 3",
                });
            };
            let off = self.pos;
            self.write(v)?;
            self.end_payload(suspended);
            Stored { off, len }
        } else if v.is_empty() {
            // bytes(): GLOBAL __builtin__ bytes, (), REDUCE.
            self.save_global(Global::BuiltinsBytes)?;
            self.begin_save()?;
            if proto == 0 {
                self.write(&[MARK, Opcode::TUPLE.byte()])?;
            } else {
                self.write(&[Opcode::EMPTY_TUPLE.byte()])?;
            }
            self.write(&[Opcode::REDUCE.byte()])?;
            Stored {
                off: self.pos,
                len: 0,
            }
        } else {
            // _codecs.encode(v.decode('latin1'), 'latin1'). The decoded str is a new object,
            // except that one-character strs are CPython singletons, equal to a str value.
            self.save_global(Global::CodecsEncode)?;
            self.begin_save()?;
            if proto < 2 {
                self.write(&[MARK])?;
            }
            let stored = self.save_text(&Latin1(v), v.len() == 1)?;
            self.save_str("latin1")?;
            if proto < 2 {
                self.write(&[Opcode::TUPLE.byte()])?;
            } else {
                self.write(&[Opcode::TUPLE2.byte()])?;
            }
            self.memo_put()?;
            self.write(&[Opcode::REDUCE.byte()])?;
            stored
        };
        let index = self.memo_put()?;
        self.remember(true, stored, index)
    }

    fn save_global(&mut self, which: Global) -> Result<(), Error> {
        self.begin_save()?;
        let (seen, text): (Option<u32>, &[u8]) = match which {
            Global::CodecsEncode => (self.codecs_encode, b"c_codecs\nencode\n"),
            Global::BuiltinsBytes => (self.builtins_bytes, b"c__builtin__\nbytes\n"),
        };
        if let Some(index) = seen {
            return self.memo_get(index);
        }
        self.write(text)?;
        let index = self.memo_put()?;
        match which {
            Global::CodecsEncode => self.codecs_encode = Some(index),
            Global::BuiltinsBytes => self.builtins_bytes = Some(index),
        }
        Ok(())
    }

    fn refuse_in_key(&self, what: &'static str) -> Result<(), Error> {
        if self.in_key {
            Err(Error::Unsupported { what })
        } else {
            Ok(())
        }
    }

    /// Starts a list: EMPTY_LIST (or MARK LIST) and its memo entry.
    fn begin_list(&mut self) -> Result<(), Error> {
        self.begin_save()?;
        self.refuse_in_key("a list as a dict key (lists are unhashable)")?;
        if self.proto == 0 {
            self.write(&[MARK, Opcode::LIST.byte()])?;
        } else {
            self.write(&[Opcode::EMPTY_LIST.byte()])?;
        }
        self.memo_put().map(|_| ())
    }

    /// Starts a dict: EMPTY_DICT (or MARK DICT) and its memo entry.
    fn begin_dict(&mut self) -> Result<(), Error> {
        self.begin_save()?;
        self.refuse_in_key("a dict as a dict key (dicts are unhashable)")?;
        if self.proto == 0 {
            self.write(&[MARK, Opcode::DICT.byte()])?;
        } else {
            self.write(&[Opcode::EMPTY_DICT.byte()])?;
        }
        self.memo_put().map(|_| ())
    }

    /// Starts `{variant: …}` up to its key.
    fn begin_variant(&mut self, variant: &'static str) -> Result<(), Error> {
        self.begin_dict()?;
        self.save_str(variant)
    }

    fn begin_tuple<'a>(
        &'a mut self,
        len: usize,
        close: bool,
    ) -> Result<Compound<'a, 'b, MEMO>, Error> {
        self.begin_save()?;
        let shape = if len == 0 {
            if self.proto == 0 {
                self.write(&[MARK, Opcode::TUPLE.byte()])?;
            } else {
                self.write(&[Opcode::EMPTY_TUPLE.byte()])?;
            }
            Shape::EmptyTuple
        } else if self.proto >= 2 && len <= 3 {
            Shape::Tuple { marked: false }
        } else {
            self.write(&[MARK])?;
            Shape::Tuple { marked: true }
        };
        Ok(Compound::new(self, shape, close))
    }

    fn items<'a>(
        &'a mut self,
        dict: bool,
        len: Option<usize>,
        close: bool,
    ) -> Compound<'a, 'b, MEMO> {
        let mode = if self.proto == 0 || len == Some(1) {
            Mode::Single
        } else if len.is_none() {
            Mode::Unknown
        } else {
            Mode::Batched
        };
        let mut items = Compound::new(self, Shape::Items { dict, mode }, close);
        items.len = len;
        items
    }
}

impl<const MEMO: usize> Sink for Serializer<'_, MEMO> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.write(bytes)
    }
}

/// A `fmt::Write` into a small stack buffer (for protocol 0 floats).
struct ReprBuf {
    bytes: [u8; 32],
    len: usize,
}

impl fmt::Write for ReprBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

// ---- text sources: &str, Display output, latin-1 bytes, Python 2 byte strings ----

/// Where encoded text goes: the output, a comparison or a hash.
trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error>;
}

/// Compares what is fed with stored bytes.
struct Compare<'a> {
    rest: &'a [u8],
    equal: bool,
}

impl Sink for Compare<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.equal {
            match self.rest.strip_prefix(bytes) {
                Some(rest) => self.rest = rest,
                None => self.equal = false,
            }
        }
        Ok(())
    }
}

/// Measures and hashes what is fed.
struct Measure {
    len: usize,
    hash: StreamHash,
}

impl Sink for Measure {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.len = self.len.saturating_add(bytes.len());
        self.hash.write(bytes);
        Ok(())
    }
}

/// What Python 2's forms need to know of a text before writing it (from its `Form::Plain`
/// bytes).
#[derive(Clone, Copy)]
struct Scan {
    ascii: bool,
    single: bool,
    double: bool,
    /// A `\` or `\n`: Python 2 memoizes the replaced copy of such a `unicode` in protocol 0,
    /// so an equal one later is written again.
    replaced: bool,
}

impl Scan {
    /// Python 2's repr quote: `"` when the text has `'` and no `"`, else `'`.
    fn quote(self) -> u8 {
        if self.single && !self.double {
            b'"'
        } else {
            b'\''
        }
    }
}

impl Sink for Scan {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        for &b in bytes {
            self.ascii &= b < 0x80;
            self.single |= b == b'\'';
            self.double |= b == b'"';
            self.replaced |= b == b'\\' || b == b'\n';
        }
        Ok(())
    }
}

/// How text is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// As binary protocols store it: UTF-8 for text, a byte string's own bytes.
    Plain,
    /// Protocol 0's UNICODE argument as CPython 3 writes it: raw-unicode-escape with `\`,
    /// NUL, `\n`, `\r` and `\x1a` escaped.
    Escaped,
    /// Protocol 0's UNICODE argument as Python 2.7 writes it: only `\` and `\n` escaped.
    Py2Escaped,
    /// STRING's argument between its quotes, as Python 2's `repr` of a byte string in
    /// `quote`s: `\\`, the quote, `\t`, `\n`, `\r` escaped, other bytes outside ` `..`~`
    /// as `\xhh`.
    Py2Repr { quote: u8 },
}

impl Form {
    /// Whether the ASCII character `b` is written other than as itself.
    #[inline]
    fn escapes_ascii(self, b: u8) -> bool {
        match self {
            Form::Plain => false,
            Form::Escaped => matches!(b, b'\\' | 0 | b'\n' | b'\r' | 0x1a),
            Form::Py2Escaped => matches!(b, b'\\' | b'\n'),
            Form::Py2Repr { quote } => b == quote || b == b'\\' || !(b' '..0x7f).contains(&b),
        }
    }

    /// Writes character `code` where it is not copied from the source.
    fn put_char<S: Sink>(self, sink: &mut S, code: u32) -> Result<(), Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hex = |v: u32| HEX[(v & 0xf) as usize];
        match self {
            Form::Plain => {
                let mut utf8 = [0u8; 4];
                let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                sink.put(c.encode_utf8(&mut utf8).as_bytes())
            }
            Form::Escaped | Form::Py2Escaped if (0x80..0x100).contains(&code) => {
                sink.put(&[code as u8])
            }
            Form::Escaped | Form::Py2Escaped => put_escape(sink, code),
            Form::Py2Repr { .. } => match code {
                0x09 => sink.put(b"\\t"),
                0x0a => sink.put(b"\\n"),
                0x0d => sink.put(b"\\r"),
                0x20..=0x7e => sink.put(&[b'\\', code as u8]),
                0..=0xff => sink.put(&[b'\\', b'x', hex(code >> 4), hex(code)]),
                // Not reached: only ASCII text and bytes are written as byte strings.
                _ => Form::Plain.put_char(sink, code),
            },
        }
    }
}

/// Text that can be written as a Python str (or a Python 2 byte string).
trait Text {
    /// Feeds the text to `sink` in `form`.
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error>;

    /// The length and the memo hash (`kind`) of what `feed` gives in `form`.
    fn measure(&self, kind: u64, form: Form) -> Result<(usize, u32), Error> {
        let mut m = Measure {
            len: 0,
            hash: StreamHash::new(),
        };
        self.feed(&mut m, form)?;
        Ok((m.len, m.hash.finish(kind, m.len)))
    }

    /// Whether `stored` (a payload in the output) encodes this text in `form`.
    fn matches(&self, stored: &[u8], form: Form) -> bool {
        let mut c = Compare {
            rest: stored,
            equal: true,
        };
        self.feed(&mut c, form).is_ok() && c.equal && c.rest.is_empty()
    }

    /// What Python 2's forms need to know (see `Scan`).
    fn scan(&self) -> Result<Scan, Error> {
        let mut s = Scan {
            ascii: true,
            single: false,
            double: false,
            replaced: false,
        };
        self.feed(&mut s, Form::Plain)?;
        Ok(s)
    }
}

struct Utf8<'a>(&'a str);

impl Text for Utf8<'_> {
    #[inline]
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        feed_str(self.0, sink, form)
    }

    #[inline]
    fn measure(&self, kind: u64, form: Form) -> Result<(usize, u32), Error> {
        if form != Form::Plain {
            let mut m = Measure {
                len: 0,
                hash: StreamHash::new(),
            };
            feed_str(self.0, &mut m, form)?;
            return Ok((m.len, m.hash.finish(kind, m.len)));
        }
        Ok((self.0.len(), hash_bytes(kind, self.0.as_bytes())))
    }

    #[inline]
    fn matches(&self, stored: &[u8], form: Form) -> bool {
        if form != Form::Plain {
            let mut c = Compare {
                rest: stored,
                equal: true,
            };
            feed_str(self.0, &mut c, form).is_ok() && c.equal && c.rest.is_empty()
        } else {
            stored == self.0.as_bytes()
        }
    }
}

/// Bytes read as latin-1 (each byte one character), as `bytes.decode('latin1')`; in
/// `Form::Plain` the latin-1 text as UTF-8.
struct Latin1<'a>(&'a [u8]);

impl Text for Latin1<'_> {
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        feed_bytes(
            self.0,
            sink,
            form,
            matches!(form, Form::Plain | Form::Py2Repr { .. }),
        )
    }
}

/// A Python 2 byte string: its bytes, as they are in `Form::Plain`.
struct ByteString<'a>(&'a [u8]);

impl Text for ByteString<'_> {
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        feed_bytes(self.0, sink, form, matches!(form, Form::Py2Repr { .. }))
    }
}

/// Feeds `bytes` as characters in `form`; bytes from 0x80 are written by `Form::put_char`
/// when `convert_high`, else copied.
fn feed_bytes<S: Sink>(
    bytes: &[u8],
    sink: &mut S,
    form: Form,
    convert_high: bool,
) -> Result<(), Error> {
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let special = if b < 0x80 {
            form.escapes_ascii(b)
        } else {
            convert_high
        };
        if !special {
            continue;
        }
        sink.put(bytes.get(run..i).unwrap_or_default())?;
        run = i + 1;
        form.put_char(sink, u32::from(b))?;
    }
    sink.put(bytes.get(run..).unwrap_or_default())
}

/// Feeds `s` in `form`: `Form::Plain` is its UTF-8; otherwise ASCII characters the form
/// keeps are copied, others written by `Form::put_char`.
fn feed_str<S: Sink>(s: &str, sink: &mut S, form: Form) -> Result<(), Error> {
    if form == Form::Plain {
        return sink.put(s.as_bytes());
    }
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii() && !form.escapes_ascii(c as u8) {
            continue;
        }
        sink.put(bytes.get(run..i).unwrap_or_default())?;
        run = i + c.len_utf8();
        form.put_char(sink, u32::from(c))?;
    }
    sink.put(bytes.get(run..).unwrap_or_default())
}

/// The output of a `Display` value (for `collect_str`); formatted once to measure it, again
/// to compare with remembered strs, and once more into the output (and once to scan it, in
/// Python 2's forms).
struct Shown<'a, T: ?Sized>(&'a T);

impl<T: Display + ?Sized> Text for Shown<'_, T> {
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        let mut w = FmtSink {
            sink,
            form,
            error: None,
        };
        match write!(w, "{}", self.0) {
            Ok(()) => Ok(()),
            Err(_) => Err(w
                .error
                .unwrap_or_else(|| Error::message("a Display implementation returned an error"))),
        }
    }
}

/// A `fmt::Write` feeding a sink, keeping the sink's error.
struct FmtSink<'s, S> {
    sink: &'s mut S,
    form: Form,
    error: Option<Error>,
}

impl<S: Sink> fmt::Write for FmtSink<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        feed_str(s, self.sink, self.form).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// `\uXXXX`, or `\UXXXXXXXX` from U+10000, lowercase hex (raw-unicode-escape).
fn put_escape<S: Sink>(sink: &mut S, code: u32) -> Result<(), Error> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (letter, digits) = if code >= 0x1_0000 {
        (b'U', 8)
    } else {
        (b'u', 4)
    };
    let mut out = [0u8; 10];
    out[0] = b'\\';
    out[1] = letter;
    for (k, o) in out.iter_mut().skip(2).take(digits).enumerate() {
        let shift = 4 * (digits - 1 - k);
        *o = HEX[((code >> shift) & 0xf) as usize];
    }
    sink.put(out.get(..2 + digits).unwrap_or_default())
}

/// Copies `src` to `dst` (of the same length): up to 32 bytes as two overlapping fixed-size
/// copies, plain moves instead of a call to `memcpy`.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    fn two<const K: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        if let (Some(d), Some(s)) = (dst.first_chunk_mut::<K>(), src.first_chunk::<K>()) {
            *d = *s;
        }
        if let (Some(d), Some(s)) = (dst.last_chunk_mut::<K>(), src.last_chunk::<K>()) {
            *d = *s;
        }
        debug_assert!(n >= K && n <= 2 * K);
    }
    let n = src.len();
    if n != dst.len() {
        return;
    }
    match n {
        0 => {}
        1..=3 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        4..=7 => two::<4>(dst, src),
        8..=15 => two::<8>(dst, src),
        16..=32 => two::<16>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

// ---- hashing (for the memo) ----

const KIND_STR: u64 = 0x5354_5200;
const KIND_BYTES: u64 = 0x4259_5400;

/// A word-at-a-time multiplicative hash whose value does not depend on how the input is split.
struct StreamHash {
    h: u64,
    tail: u64,
    tail_len: u32,
}

impl StreamHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn new() -> Self {
        StreamHash {
            h: 0,
            tail: 0,
            tail_len: 0,
        }
    }

    #[inline]
    fn mix(&mut self, w: u64) {
        self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(Self::K);
    }

    #[inline]
    fn write(&mut self, mut bytes: &[u8]) {
        while self.tail_len != 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            self.tail |= u64::from(b) << (8 * self.tail_len);
            self.tail_len += 1;
            bytes = rest;
            if self.tail_len == 8 {
                let w = self.tail;
                self.mix(w);
                self.tail = 0;
                self.tail_len = 0;
            }
        }
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        for (k, &b) in chunks.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * k);
        }
        self.tail_len = chunks.remainder().len() as u32;
    }

    #[inline]
    fn finish(mut self, kind: u64, len: usize) -> u32 {
        let t = self.tail;
        self.mix(t);
        self.mix(kind ^ len as u64);
        (self.h >> 32) as u32 ^ self.h as u32
    }
}

/// A str payload's bit in `Memo::strs`: from its length, first and last bytes (a
/// multiplicative hash, MurmurHash3's constant, top 6 bits).
#[inline]
fn str_bit(payload: &[u8]) -> u64 {
    let first = payload.first().copied().unwrap_or(0);
    let last = payload.last().copied().unwrap_or(0);
    let k = (payload.len() as u32 & 0xff) | u32::from(first) << 8 | u32::from(last) << 16;
    1u64 << (k.wrapping_mul(0x85eb_ca6b) >> 26)
}

/// The memo hash of a stored payload: of a bytes value (`bytes`) or a str, as written in the
/// output (UTF-8, protocol 0's escapes, or the latin-1 str CPython writes for bytes before
/// protocol 3); equal to `Text::measure`'s hash of the text fed as that payload.
fn payload_hash(bytes: bool, payload: &[u8]) -> u32 {
    hash_bytes(if bytes { KIND_BYTES } else { KIND_STR }, payload)
}

/// `StreamHash` of `bytes` in one piece (the same value, computed without the tail loop).
#[inline]
fn hash_bytes(kind: u64, bytes: &[u8]) -> u32 {
    let mut h = StreamHash::new();
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h.mix(u64::from_le_bytes(w));
    }
    // The tail, little-endian, built in registers (a copy through memory stalls the load).
    let mut tail = 0u64;
    for (k, &b) in chunks.remainder().iter().enumerate() {
        tail |= u64::from(b) << (8 * k);
    }
    h.tail = tail;
    h.finish(kind, bytes.len())
}

// ---- serde ----

/// How a list's or dict's items are closed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// APPEND/SETITEM after each item (protocol 0, or exactly one item).
    Single,
    /// MARK … APPENDS/SETITEMS in batches of 1000.
    Batched,
    /// Like `Batched`, for a length serde did not tell; one item is rewritten as `Single`.
    Unknown,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Items { dict: bool, mode: Mode },
    Tuple { marked: bool },
    EmptyTuple,
}

/// A list, tuple or dict being written (serde's `SerializeSeq`, `SerializeMap`, …).
pub struct Compound<'a, 'b, const MEMO: usize> {
    ser: &'a mut Serializer<'b, MEMO>,
    shape: Shape,
    /// Items serde announced (lists and dicts).
    len: Option<usize>,
    /// Items written.
    count: usize,
    /// Items in the open batch.
    batch: usize,
    /// Whether this container's first MARK is on the serializer's mark stack.
    mark: bool,
    /// Whether a `{variant: …}` dict waits for its SETITEM after this container.
    close: bool,
}

impl<'a, 'b, const MEMO: usize> Compound<'a, 'b, MEMO> {
    fn new(ser: &'a mut Serializer<'b, MEMO>, shape: Shape, close: bool) -> Self {
        Compound {
            ser,
            shape,
            len: None,
            count: 0,
            batch: 0,
            mark: false,
            close,
        }
    }

    #[inline]
    fn before_item(&mut self) -> Result<(), Error> {
        if let Shape::Items { dict, mode } = self.shape {
            if mode != Mode::Single && self.batch == 0 {
                if self.ser.py2 && self.len == Some(self.count.saturating_add(1)) {
                    // Python 2 writes a last batch of one item as `item APPEND`, no MARK.
                    let mode = Mode::Single;
                    self.shape = Shape::Items { dict, mode };
                    return Ok(());
                }
                self.ser.write(&[MARK])?;
                // CPython 3 writes a lone item without MARK only as the whole container;
                // Python 2 in every batch.
                let lone_possible = self.count == 0 || self.ser.py2;
                if lone_possible && mode == Mode::Unknown && self.ser.marks_len < MARK_STACK {
                    if let Some(m) = self.ser.marks.get_mut(self.ser.marks_len) {
                        *m = PendingMark {
                            at: self.ser.pos.saturating_sub(1),
                            header: NO_FRAME,
                        };
                        self.ser.marks_len += 1;
                        self.mark = true;
                    }
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn after_item(&mut self) -> Result<(), Error> {
        self.count = self.count.saturating_add(1);
        if let Shape::Items { dict, mode } = self.shape {
            if mode == Mode::Single {
                self.ser.write(&[one_op(dict)])?;
            } else {
                self.batch += 1;
                if self.batch == BATCHSIZE {
                    self.ser.write(&[many_op(dict)])?;
                    self.batch = 0;
                    if self.mark {
                        self.mark = false;
                        self.ser.marks_len = self.ser.marks_len.saturating_sub(1);
                    }
                }
            }
        }
        Ok(())
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self.shape {
            Shape::EmptyTuple => return Err(too_many()),
            Shape::Tuple { marked: false } if self.count >= 3 => return Err(too_many()),
            _ => {}
        }
        self.before_item()?;
        value.serialize(&mut *self.ser)?;
        self.after_item()
    }

    fn end(self) -> Result<(), Error> {
        let ser = self.ser;
        match self.shape {
            Shape::Items {
                mode: Mode::Single, ..
            }
            | Shape::EmptyTuple => {}
            Shape::Items { dict, .. } => {
                let mut done = false;
                if self.mark {
                    ser.marks_len = ser.marks_len.saturating_sub(1);
                    if self.batch == 1 {
                        if let Some(m) = ser.marks.get(ser.marks_len).copied() {
                            // CPython writes a lone item without MARK.
                            ser.remove(m.at, 1);
                            if m.header != NO_FRAME {
                                ser.shrink_closed_frame(m.header);
                            }
                            ser.write(&[one_op(dict)])?;
                            done = true;
                        }
                    }
                }
                if !done && self.batch > 0 {
                    ser.write(&[many_op(dict)])?;
                } else if !done && dict && self.count > 0 && !ser.py2 {
                    // CPython 3's batch loop ends a dict of 1000·k items with an empty batch.
                    ser.write(&[MARK, Opcode::SETITEMS.byte()])?;
                }
            }
            Shape::Tuple { marked } => {
                let op = match (marked, self.count) {
                    (true, _) => Opcode::TUPLE,
                    (false, 1) => Opcode::TUPLE1,
                    (false, 2) => Opcode::TUPLE2,
                    (false, 3) => Opcode::TUPLE3,
                    (false, _) => Opcode::EMPTY_TUPLE,
                };
                ser.write(&[op.byte()])?;
                if self.count > 0 {
                    ser.memo_put()?;
                }
            }
        }
        if self.close {
            ser.write(&[Opcode::SETITEM.byte()])?;
        }
        Ok(())
    }
}

fn too_many() -> Error {
    Error::Unsupported {
        what: "a tuple with more elements than its declared length",
    }
}

fn one_op(dict: bool) -> u8 {
    if dict {
        Opcode::SETITEM.byte()
    } else {
        Opcode::APPEND.byte()
    }
}

fn many_op(dict: bool) -> u8 {
    if dict {
        Opcode::SETITEMS.byte()
    } else {
        Opcode::APPENDS.byte()
    }
}

impl<'a, 'b, const MEMO: usize> ser::Serializer for &'a mut Serializer<'b, MEMO> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'b, MEMO>;
    type SerializeTuple = Compound<'a, 'b, MEMO>;
    type SerializeTupleStruct = Compound<'a, 'b, MEMO>;
    type SerializeTupleVariant = Compound<'a, 'b, MEMO>;
    type SerializeMap = Compound<'a, 'b, MEMO>;
    type SerializeStruct = Compound<'a, 'b, MEMO>;
    type SerializeStructVariant = Compound<'a, 'b, MEMO>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.save_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.save_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.save_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.save_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.save_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.save_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.save_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.save_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.save_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.save_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.save_u128(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.save_float(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.save_float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        let mut utf8 = [0u8; 4];
        self.save_str(v.encode_utf8(&mut utf8))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.save_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.save_bytes(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.save_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.save_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.save_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.save_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.begin_variant(variant)?;
        value.serialize(&mut *self)?;
        self.write(&[Opcode::SETITEM.byte()])
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        self.begin_list()?;
        Ok(self.items(false, len, false))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        self.begin_tuple(len, false)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        self.begin_tuple(len, false)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        self.begin_variant(variant)?;
        self.begin_tuple(len, true)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        self.begin_dict()?;
        Ok(self.items(true, len, false))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        self.begin_dict()?;
        Ok(self.items(true, Some(len), false))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        self.begin_variant(variant)?;
        self.begin_dict()?;
        Ok(self.items(true, Some(len), true))
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.save_text(&Shown(value), true).map(|_| ())
    }
}

impl<const MEMO: usize> ser::SerializeSeq for Compound<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<const MEMO: usize> ser::SerializeTuple for Compound<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<const MEMO: usize> ser::SerializeTupleStruct for Compound<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<const MEMO: usize> ser::SerializeTupleVariant for Compound<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<const MEMO: usize> ser::SerializeMap for Compound<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.before_item()?;
        let outer = core::mem::replace(&mut self.ser.in_key, true);
        let result = key.serialize(&mut *self.ser);
        self.ser.in_key = outer;
        result
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)?;
        self.after_item()
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<const MEMO: usize> ser::SerializeStruct for Compound<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.before_item()?;
        self.ser.save_str(key)?;
        value.serialize(&mut *self.ser)?;
        self.after_item()
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl<const MEMO: usize> ser::SerializeStructVariant for Compound<'_, '_, MEMO> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::pickle::Protocol;
    use serde::Serialize;
    use std::collections::BTreeMap;
    use std::vec;
    use std::vec::Vec;

    const PROTOCOLS: [Protocol; 6] = [
        Protocol::V0,
        Protocol::V1,
        Protocol::V2,
        Protocol::V3,
        Protocol::V4,
        Protocol::V5,
    ];

    // Fixtures: `pickle.dumps(obj, p)` for p = 0..5 from CPython 3.11.7 (each test names
    // its Python object).
    const CLIENTID: [&[u8]; 6] = [
        b"(dp0\nVclientid\np1\nI54321\ns.",
        b"}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
        b"\x80\x02}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
        b"\x80\x03}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.",
        b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.",
        b"\x80\x05\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.",
    ];
    const IDENTITY: [&[u8]; 6] = [
        b"(dp0\nVname\np1\nVAda Lovelace\np2\nsVemail\np3\nVada@example.com\np4\nsVstudent_id\np5\nV12345678\np6\nsVgithub_username\np7\nVada\np8\ns.",
        b"}q\x00(X\x04\x00\x00\x00nameq\x01X\x0c\x00\x00\x00Ada Lovelaceq\x02X\x05\x00\x00\x00emailq\x03X\x0f\x00\x00\x00ada@example.comq\x04X\n\x00\x00\x00student_idq\x05X\x08\x00\x00\x0012345678q\x06X\x0f\x00\x00\x00github_usernameq\x07X\x03\x00\x00\x00adaq\x08u.",
        b"\x80\x02}q\x00(X\x04\x00\x00\x00nameq\x01X\x0c\x00\x00\x00Ada Lovelaceq\x02X\x05\x00\x00\x00emailq\x03X\x0f\x00\x00\x00ada@example.comq\x04X\n\x00\x00\x00student_idq\x05X\x08\x00\x00\x0012345678q\x06X\x0f\x00\x00\x00github_usernameq\x07X\x03\x00\x00\x00adaq\x08u.",
        b"\x80\x03}q\x00(X\x04\x00\x00\x00nameq\x01X\x0c\x00\x00\x00Ada Lovelaceq\x02X\x05\x00\x00\x00emailq\x03X\x0f\x00\x00\x00ada@example.comq\x04X\n\x00\x00\x00student_idq\x05X\x08\x00\x00\x0012345678q\x06X\x0f\x00\x00\x00github_usernameq\x07X\x03\x00\x00\x00adaq\x08u.",
        b"\x80\x04\x95e\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\x0cAda Lovelace\x94\x8c\x05email\x94\x8c\x0fada@example.com\x94\x8c\nstudent_id\x94\x8c\x0812345678\x94\x8c\x0fgithub_username\x94\x8c\x03ada\x94u.",
        b"\x80\x05\x95e\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\x0cAda Lovelace\x94\x8c\x05email\x94\x8c\x0fada@example.com\x94\x8c\nstudent_id\x94\x8c\x0812345678\x94\x8c\x0fgithub_username\x94\x8c\x03ada\x94u.",
    ];
    const INTS: [&[u8]; 6] = [
        b"((lp0\nI0\naI255\naI256\naI65535\naI65536\naI-1\naI-256\naI2147483647\naI-2147483648\naL2147483648L\naL-2147483649L\naL9223372036854775807L\naL-9223372036854775808L\naL18446744073709551615L\naL170141183460469231731687303715884105727L\naL-170141183460469231731687303715884105728L\naL340282366920938463463374607431768211455L\ntp1\n.",
        b"(]q\x00(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80L2147483648L\nL-2147483649L\nL9223372036854775807L\nL-9223372036854775808L\nL18446744073709551615L\nL170141183460469231731687303715884105727L\nL-170141183460469231731687303715884105728L\neL340282366920938463463374607431768211455L\ntq\x01.",
        b"\x80\x02]q\x00(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86q\x01.",
        b"\x80\x03]q\x00(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86q\x01.",
        b"\x80\x04\x95\x8e\x00\x00\x00\x00\x00\x00\x00]\x94(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86\x94.",
        b"\x80\x05\x95\x8e\x00\x00\x00\x00\x00\x00\x00]\x94(K\x00K\xffM\x00\x01M\xff\xffJ\x00\x00\x01\x00J\xff\xff\xff\xffJ\x00\xff\xff\xffJ\xff\xff\xff\x7fJ\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00\x8a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x8a\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80e\x8a\x11\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x86\x94.",
    ];
    const VARIANTS: [&[u8]; 6] = [
        b"(lp0\nVUnit\np1\na(dp2\nVNewtype\np3\nI7\nsa(dp4\nVTuple\np5\n(I1\nVx\np6\ntp7\nsa(dp8\nVStruct\np9\n(dp10\nVa\np11\nI01\nsVb\np12\nNssa.",
        b"]q\x00(X\x04\x00\x00\x00Unitq\x01}q\x02X\x07\x00\x00\x00Newtypeq\x03K\x07s}q\x04X\x05\x00\x00\x00Tupleq\x05(K\x01X\x01\x00\x00\x00xq\x06tq\x07s}q\x08X\x06\x00\x00\x00Structq\x09}q\n(X\x01\x00\x00\x00aq\x0bI01\nX\x01\x00\x00\x00bq\x0cNuse.",
        b"\x80\x02]q\x00(X\x04\x00\x00\x00Unitq\x01}q\x02X\x07\x00\x00\x00Newtypeq\x03K\x07s}q\x04X\x05\x00\x00\x00Tupleq\x05K\x01X\x01\x00\x00\x00xq\x06\x86q\x07s}q\x08X\x06\x00\x00\x00Structq\x09}q\n(X\x01\x00\x00\x00aq\x0b\x88X\x01\x00\x00\x00bq\x0cNuse.",
        b"\x80\x03]q\x00(X\x04\x00\x00\x00Unitq\x01}q\x02X\x07\x00\x00\x00Newtypeq\x03K\x07s}q\x04X\x05\x00\x00\x00Tupleq\x05K\x01X\x01\x00\x00\x00xq\x06\x86q\x07s}q\x08X\x06\x00\x00\x00Structq\x09}q\n(X\x01\x00\x00\x00aq\x0b\x88X\x01\x00\x00\x00bq\x0cNuse.",
        b"\x80\x04\x95H\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x04Unit\x94}\x94\x8c\x07Newtype\x94K\x07s}\x94\x8c\x05Tuple\x94K\x01\x8c\x01x\x94\x86\x94s}\x94\x8c\x06Struct\x94}\x94(\x8c\x01a\x94\x88\x8c\x01b\x94Nuse.",
        b"\x80\x05\x95H\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x04Unit\x94}\x94\x8c\x07Newtype\x94K\x07s}\x94\x8c\x05Tuple\x94K\x01\x8c\x01x\x94\x86\x94s}\x94\x8c\x06Struct\x94}\x94(\x8c\x01a\x94\x88\x8c\x01b\x94Nuse.",
    ];
    const BYTES: [&[u8]; 6] = [
        b"(c__builtin__\nbytes\np0\n(tRp1\nc_codecs\nencode\np2\n(Vab\np3\nVlatin1\np4\ntp5\nRp6\ng6\ng2\n(V\xe9\np7\ng4\ntp8\nRp9\ng7\ntp10\n.",
        b"(c__builtin__\nbytes\nq\x00)Rq\x01c_codecs\nencode\nq\x02(X\x02\x00\x00\x00abq\x03X\x06\x00\x00\x00latin1q\x04tq\x05Rq\x06h\x06h\x02(X\x02\x00\x00\x00\xc3\xa9q\x07h\x04tq\x08Rq\x09h\x07tq\n.",
        b"\x80\x02(c__builtin__\nbytes\nq\x00)Rq\x01c_codecs\nencode\nq\x02X\x02\x00\x00\x00abq\x03X\x06\x00\x00\x00latin1q\x04\x86q\x05Rq\x06h\x06h\x02X\x02\x00\x00\x00\xc3\xa9q\x07h\x04\x86q\x08Rq\x09h\x07tq\n.",
        b"\x80\x03(C\x00q\x00C\x02abq\x01h\x01C\x01\xe9q\x02X\x02\x00\x00\x00\xc3\xa9q\x03tq\x04.",
        b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00(C\x00\x94C\x02ab\x94h\x01C\x01\xe9\x94\x8c\x02\xc3\xa9\x94t\x94.",
        b"\x80\x05\x95\x17\x00\x00\x00\x00\x00\x00\x00(C\x00\x94C\x02ab\x94h\x01C\x01\xe9\x94\x8c\x02\xc3\xa9\x94t\x94.",
    ];
    const STRINGS: [&[u8]; 6] = [
        b"(lp0\nVa\np1\naVb\np2\nag1\naV\np3\naV\xe9\np4\naV\\U0001f600\\u000a\\u005c\np5\na.",
        b"]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02h\x01X\x00\x00\x00\x00q\x03X\x02\x00\x00\x00\xc3\xa9q\x04X\x06\x00\x00\x00\xf0\x9f\x98\x80\n\\q\x05e.",
        b"\x80\x02]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02h\x01X\x00\x00\x00\x00q\x03X\x02\x00\x00\x00\xc3\xa9q\x04X\x06\x00\x00\x00\xf0\x9f\x98\x80\n\\q\x05e.",
        b"\x80\x03]q\x00(X\x01\x00\x00\x00aq\x01X\x01\x00\x00\x00bq\x02h\x01X\x00\x00\x00\x00q\x03X\x02\x00\x00\x00\xc3\xa9q\x04X\x06\x00\x00\x00\xf0\x9f\x98\x80\n\\q\x05e.",
        b"\x80\x04\x95 \x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x01a\x94\x8c\x01b\x94h\x01\x8c\x00\x94\x8c\x02\xc3\xa9\x94\x8c\x06\xf0\x9f\x98\x80\n\\\x94e.",
        b"\x80\x05\x95 \x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x01a\x94\x8c\x01b\x94h\x01\x8c\x00\x94\x8c\x02\xc3\xa9\x94\x8c\x06\xf0\x9f\x98\x80\n\\\x94e.",
    ];
    const FLOATS: [&[u8]; 6] = [
        b"(lp0\nF1.5\naF1e+16\naF-0.0\naFinf\naF0.1\naF5e-324\na.",
        b"]q\x00(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
        b"\x80\x02]q\x00(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
        b"\x80\x03]q\x00(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
        b"\x80\x04\x95;\x00\x00\x00\x00\x00\x00\x00]\x94(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
        b"\x80\x05\x95;\x00\x00\x00\x00\x00\x00\x00]\x94(G?\xf8\x00\x00\x00\x00\x00\x00GCA\xc3y7\xe0\x80\x00G\x80\x00\x00\x00\x00\x00\x00\x00G\x7f\xf0\x00\x00\x00\x00\x00\x00G?\xb9\x99\x99\x99\x99\x99\x9aG\x00\x00\x00\x00\x00\x00\x00\x01e.",
    ];

    /// Asserts brine writes `want[p]` for every protocol p.
    fn check<T: Serialize + ?Sized>(value: &T, want: &[&[u8]; 6]) {
        let mut buf = vec![0u8; 4096];
        for (p, want) in PROTOCOLS.iter().zip(want) {
            let got = to_slice(value, &mut buf, *p).unwrap();
            assert_eq!(&*got, *want, "protocol {p}");
        }
    }

    #[test]
    fn clientid_dict() {
        // {'clientid': 54321}
        let mut map = BTreeMap::new();
        map.insert("clientid", 54321);
        check(&map, &CLIENTID);
    }

    #[derive(Serialize)]
    struct Identity<'a> {
        name: &'a str,
        email: &'a str,
        student_id: &'a str,
        github_username: &'a str,
    }

    const ADA: Identity<'static> = Identity {
        name: "Ada Lovelace",
        email: "ada@example.com",
        student_id: "12345678",
        github_username: "ada",
    };

    #[test]
    fn identity_struct() {
        // {'name': 'Ada Lovelace', 'email': 'ada@example.com', 'student_id': '12345678',
        //  'github_username': 'ada'}
        check(&ADA, &IDENTITY);
    }

    // `pickle.dumps(obj, p)` of Python 2.7 (pickle.py) for the identity above, p = 0..2: the
    // same dict with byte strings (Lib/pickle.py's save_string; CPython 3 loads it back with
    // encoding='bytes').
    const IDENTITY_PY2: [&[u8]; 3] = [
        b"(dp0\nS'name'\np1\nS'Ada Lovelace'\np2\nsS'email'\np3\nS'ada@example.com'\np4\nsS'student_id'\np5\nS'12345678'\np6\nsS'github_username'\np7\nS'ada'\np8\ns.",
        b"}q\x00(U\x04nameq\x01U\x0cAda Lovelaceq\x02U\x05emailq\x03U\x0fada@example.comq\x04U\nstudent_idq\x05U\x0812345678q\x06U\x0fgithub_usernameq\x07U\x03adaq\x08u.",
        b"\x80\x02}q\x00(U\x04nameq\x01U\x0cAda Lovelaceq\x02U\x05emailq\x03U\x0fada@example.comq\x04U\nstudent_idq\x05U\x0812345678q\x06U\x0fgithub_usernameq\x07U\x03adaq\x08u.",
    ];

    #[test]
    fn python2_types() {
        let mut buf = [0u8; 256];
        for (p, want) in PROTOCOLS.iter().zip(IDENTITY_PY2) {
            let got = to_slice(&ADA, &mut buf, Encoding::python2(*p)).unwrap();
            assert_eq!(&*got, want, "protocol {p}");
        }
        // Python 2.7: pickle.dumps(("it's", u'\xe9', 2**40, '\xff'), p) for p = 0, 2: repr
        // quoting, unicode for other text, INT text for a 64-bit int.
        let value = ("it's", "é", 1u64 << 40, serde_bytes::Bytes::new(b"\xff"));
        let got = to_slice(&value, &mut buf, Encoding::python2(Protocol::V0)).unwrap();
        assert_eq!(
            &*got,
            b"(S\"it's\"\np0\nV\xe9\np1\nI1099511627776\nS'\\xff'\np2\ntp3\n."
        );
        let got = to_slice(&value, &mut buf, Encoding::python2(Protocol::V2)).unwrap();
        assert_eq!(
            &*got,
            b"\x80\x02(U\x04it'sq\x00X\x02\x00\x00\x00\xc3\xa9q\x01I1099511627776\nU\x01\xffq\x02tq\x03."
        );
        // Protocols 3-5 are Python 3's only: the flag changes nothing there.
        for p in [Protocol::V3, Protocol::V4, Protocol::V5] {
            let mut plain = [0u8; 256];
            let want = to_slice(&value, &mut plain, p).unwrap();
            assert_eq!(
                to_slice(&value, &mut buf, Encoding::python2(p)).unwrap(),
                want
            );
        }
    }

    /// Encodes with protocol 4 into `buf`.
    fn p4<T: Serialize + ?Sized>(value: &T, buf: &mut [u8]) -> Vec<u8> {
        to_slice(value, buf, Protocol::V4).unwrap().to_vec()
    }

    #[test]
    fn int_boundaries() {
        // ([0, 255, 256, 65535, 65536, -1, -256, 2**31-1, -2**31, 2**31, -2**31-1, 2**63-1,
        //   -2**63, 2**64-1, 2**127-1, -2**127], 2**128-1)
        let ints: Vec<i128> = vec![
            0,
            255,
            256,
            65535,
            65536,
            -1,
            -256,
            i32::MAX.into(),
            i32::MIN.into(),
            i128::from(i32::MAX) + 1,
            i128::from(i32::MIN) - 1,
            i64::MAX.into(),
            i64::MIN.into(),
            u64::MAX.into(),
            i128::MAX,
            i128::MIN,
        ];
        check(&(ints, u128::MAX), &INTS);
        // The same through the narrower serde methods (pickle.dumps(x, 4)).
        let mut buf = [0u8; 64];
        assert_eq!(p4(&255u8, &mut buf), b"\x80\x04K\xff.");
        assert_eq!(
            p4(&-1i8, &mut buf),
            b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00J\xff\xff\xff\xff."
        );
        assert_eq!(
            p4(&65535u16, &mut buf),
            b"\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00M\xff\xff."
        );
        assert_eq!(
            p4(&i64::MIN, &mut buf),
            b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80."
        );
        assert_eq!(
            p4(&u64::MAX, &mut buf),
            b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00."
        );
        assert_eq!(
            p4(&u32::MAX, &mut buf),
            b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8a\x05\xff\xff\xff\xff\x00."
        );
    }

    #[derive(Serialize)]
    enum Variant {
        Unit,
        Newtype(u8),
        Tuple(u8, &'static str),
        Struct { a: bool, b: Option<u8> },
    }

    #[test]
    fn enum_variants_are_externally_tagged() {
        // ['Unit', {'Newtype': 7}, {'Tuple': (1, 'x')}, {'Struct': {'a': True, 'b': None}}]
        let value = [
            Variant::Unit,
            Variant::Newtype(7),
            Variant::Tuple(1, "x"),
            Variant::Struct { a: true, b: None },
        ];
        check(&value[..], &VARIANTS);
    }

    #[test]
    fn bytes_and_their_memo() {
        // (b'', b'ab', b'ab', b'\xe9', '\xe9'): equal bytes are one object; in protocols 0-2
        // the one-character str decoded from b'\xe9' is the singleton '\xe9' again.
        let value = (
            serde_bytes::Bytes::new(b""),
            serde_bytes::Bytes::new(b"ab"),
            serde_bytes::Bytes::new(b"ab"),
            serde_bytes::Bytes::new(b"\xe9"),
            "\u{e9}",
        );
        check(&value, &BYTES);
    }

    #[test]
    fn equal_strings_are_written_once() {
        // ['a', 'b', 'a', '', 'é', '😀\n\\']
        check(&["a", "b", "a", "", "é", "😀\n\\"][..], &STRINGS);
    }

    #[test]
    fn floats() {
        // [1.5, 1e16, -0.0, float('inf'), 0.1, 5e-324]
        check(&[1.5, 1e16, -0.0, f64::INFINITY, 0.1, 5e-324][..], &FLOATS);
        let mut buf = [0u8; 32];
        assert_eq!(
            &*to_slice(&1.5f32, &mut buf, Protocol::V0).unwrap(),
            b"F1.5\n."
        );
    }

    #[test]
    fn small_pickles_have_no_frame() {
        let mut buf = [0u8; 32];
        // pickle.dumps(None, 4), pickle.dumps(1, 4), pickle.dumps(300, 4), pickle.dumps((), 4)
        assert_eq!(p4(&(), &mut buf), b"\x80\x04N.");
        assert_eq!(p4(&1u8, &mut buf), b"\x80\x04K\x01.");
        assert_eq!(
            p4(&300u16, &mut buf),
            b"\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00M,\x01."
        );
        let empty: [u8; 0] = [];
        assert_eq!(p4(&empty, &mut buf), b"\x80\x04).");
        // A buffer too small for the reserved FRAME header still fits an unframed pickle.
        let mut tiny = [0u8; 4];
        assert_eq!(p4(&(), &mut tiny), b"\x80\x04N.");
        let mut tiny = [0u8; 5];
        assert_eq!(
            to_slice(&300u16, &mut tiny, Protocol::V4),
            Err(Error::BufferFull { capacity: 5 })
        );
    }

    #[test]
    fn batches_of_1000() {
        let mut buf = vec![0u8; 64 * 1024];
        // pickle.dumps([None] * 1001, 2) ends with b'NNNe(Ne.'
        let list = vec![(); 1001];
        let got = to_slice(&list, &mut buf, Protocol::V2).unwrap();
        assert!(got.ends_with(b"NNNe(Ne."));
        assert_eq!(got.iter().filter(|&&b| b == b'e').count(), 2);
        // pickle.dumps({i: None for i in range(1000)}, 2) ends with b'Nu(u.' (an empty batch)
        let map: BTreeMap<u32, ()> = (0..1000).map(|i| (i, ())).collect();
        let got = to_slice(&map, &mut buf, Protocol::V2).unwrap();
        assert!(got.ends_with(b"M\xe7\x03Nu(u."));
        // pickle.dumps([None], 2) and pickle.dumps({1: None}, 2): APPEND, SETITEM
        assert_eq!(
            &*to_slice(&[()][..], &mut buf, Protocol::V2).unwrap(),
            b"\x80\x02]q\x00Na."
        );
        let one: BTreeMap<u8, ()> = [(1, ())].into_iter().collect();
        assert_eq!(
            &*to_slice(&one, &mut buf, Protocol::V2).unwrap(),
            b"\x80\x02}q\x00K\x01Ns."
        );
    }

    /// A sequence whose length serde is not told.
    struct Unsized<'a>(&'a [u8]);

    impl Serialize for Unsized<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().filter(|_| true))
        }
    }

    #[test]
    fn unknown_lengths_match_known_lengths() {
        let mut a = vec![0u8; 256];
        let mut b = vec![0u8; 256];
        for p in PROTOCOLS {
            for items in [&[][..], &[1], &[1, 2], &[1, 2, 3, 4, 5]] {
                let known = to_slice(&items, &mut a, p).unwrap();
                let unknown = to_slice(&Unsized(items), &mut b, p).unwrap();
                assert_eq!(known, unknown, "protocol {p} {items:?}");
            }
        }
    }

    #[test]
    fn collect_str_is_memoized_like_str() {
        struct Shout(&'static str);
        impl core::fmt::Display for Shout {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                for part in self.0.split(' ') {
                    f.write_str(part)?;
                    f.write_str("!")?;
                }
                Ok(())
            }
        }
        impl Serialize for Shout {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        let mut a = [0u8; 128];
        let mut b = [0u8; 128];
        for p in PROTOCOLS {
            let shown = to_slice(&(Shout("a é"), "a!é!", Shout("a é")), &mut a, p).unwrap();
            let plain = to_slice(&("a!é!", "a!é!", "a!é!"), &mut b, p).unwrap();
            assert_eq!(shown, plain, "protocol {p}");
        }
    }

    #[test]
    fn unhashable_keys_are_refused() {
        let mut buf = [0u8; 64];
        let mut map = BTreeMap::new();
        map.insert(vec![1], 2);
        assert!(matches!(
            to_slice(&map, &mut buf, Protocol::V4),
            Err(Error::Unsupported { .. })
        ));
        let map: Vec<((u8, Variant), u8)> = vec![((1, Variant::Newtype(1)), 2)];
        struct AsMap(Vec<((u8, Variant), u8)>);
        impl Serialize for AsMap {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        assert!(matches!(
            to_slice(&AsMap(map), &mut buf, Protocol::V4),
            Err(Error::Unsupported { .. })
        ));
        // Tuples of hashables are fine keys.
        let mut map = BTreeMap::new();
        map.insert((1, "a"), 2);
        assert!(to_slice(&map, &mut buf, Protocol::V4).is_ok());
    }

    #[test]
    fn a_full_memo_is_an_error_not_other_bytes() {
        let mut buf = [0u8; 128];
        let ok = to_slice_with_memo::<3, _>(&["a", "b", "c", "a"], &mut buf, Protocol::V4);
        assert!(ok.is_ok());
        assert!(matches!(
            to_slice_with_memo::<3, _>(&["a", "b", "c", "d"], &mut buf, Protocol::V4),
            Err(Error::Capacity {
                what: Capacity::Memo,
                limit: 3,
                ..
            })
        ));
    }

    #[test]
    fn many_distinct_strings_use_the_hash_index() {
        let strings: Vec<std::string::String> = (0..200).map(|i| std::format!("s{i}")).collect();
        let twice: Vec<&str> = strings.iter().chain(&strings).map(|s| s.as_str()).collect();
        let mut buf = vec![0u8; 8192];
        let got = to_slice(&twice, &mut buf, Protocol::V4).unwrap();
        // The second half are BINGETs of memo indexes 1..=200 (0 is the list), then APPENDS.
        let tail = got.get(got.len() - 2 - 400..got.len() - 2).unwrap();
        for (i, get) in tail.chunks(2).enumerate() {
            assert_eq!(get, [Opcode::BINGET.byte(), i as u8 + 1]);
        }
    }

    #[test]
    fn strs_sharing_a_filter_bit_are_told_apart() {
        // Same length, first and last byte: the same bit in Memo::strs, so the second is
        // compared with the first (and written), the third found.
        assert_eq!(str_bit(b"axb"), str_bit(b"ayb"));
        let mut buf = [0u8; 64];
        // pickle.dumps(['axb', 'ayb', 'axb'], 4)
        assert_eq!(
            p4(&["axb", "ayb", "axb"][..], &mut buf),
            b"\x80\x04\x95\x13\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03axb\x94\x8c\x03ayb\x94h\x01e."
        );
    }

    #[test]
    fn the_hash_index_finds_strs_and_bytes_in_every_protocol() {
        // Past LINEAR_MEMO entries, values are found through hashes of their payloads as
        // written (escaped in protocol 0, latin-1 strs for bytes before protocol 3): each
        // distinct value is written once, then referenced.
        let strs: Vec<std::string::String> = (0..20)
            .map(|i| std::format!("<s{i:02}>\\\n\u{e9}"))
            .collect();
        let bytes: Vec<Vec<u8>> = (0..20)
            .map(|i| [&std::format!("<b{i:02}>").into_bytes()[..], b"\xe9\\\n"].concat())
            .collect();
        let items: Vec<(&str, &serde_bytes::Bytes)> = strs
            .iter()
            .zip(&bytes)
            .map(|(s, b)| (s.as_str(), serde_bytes::Bytes::new(b)))
            .collect();
        let mut buf = vec![0u8; 16 * 1024];
        for p in PROTOCOLS {
            let got = to_slice(&(&items, &items, &items), &mut buf, p).unwrap();
            for i in 0..20 {
                for token in [std::format!("<s{i:02}>"), std::format!("<b{i:02}>")] {
                    let n = got.windows(5).filter(|w| *w == token.as_bytes()).count();
                    assert_eq!(n, 1, "protocol {p}, {token}");
                }
            }
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "too slow under Miri: a 70,000-byte str encoded at every truncation"
    )]
    fn every_truncation_is_buffer_full() {
        let big = "x".repeat(70_000);
        type Encode<'a> = &'a dyn Fn(&mut [u8]) -> Result<usize, Error>;
        let len = |r: Result<&mut [u8], Error>| r.map(|s| s.len());
        let encoders: [Encode<'_>; 5] = [
            &|b| len(to_slice(&ADA, b, Protocol::V4)),
            &|b| len(to_slice(&ADA, b, Protocol::V0)),
            &|b| {
                let v = (serde_bytes::Bytes::new(b"ab\xff"), "ab", [1.5, -2.0]);
                len(to_slice(&v, b, Protocol::V2))
            },
            &|b| {
                let v = [Variant::Struct {
                    a: true,
                    b: Some(3),
                }];
                len(to_slice(&v, b, Protocol::V1))
            },
            &|b| {
                len(to_slice(
                    &(1u128 << 100, &big[..], Unsized(&[1])),
                    b,
                    Protocol::V5,
                ))
            },
        ];
        for (i, encode) in encoders.iter().enumerate() {
            let mut buf = vec![0u8; 1 << 20];
            let full = encode(&mut buf).unwrap();
            let mut exact = vec![0u8; full];
            assert_eq!(encode(&mut exact), Ok(full));
            let step = if full > 1000 { 97 } else { 1 };
            for n in (0..full).step_by(step).chain(full - 20..full) {
                let mut buf = vec![0u8; n];
                assert_eq!(
                    encode(&mut buf),
                    Err(Error::BufferFull { capacity: n }),
                    "value {i}, {n} of {full} bytes"
                );
            }
        }
    }
}
