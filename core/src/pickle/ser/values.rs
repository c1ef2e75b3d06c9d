//! Python values: None, bool, int, float, str, bytes and the starts of containers, as
//! CPython's `save_*` functions write them.

use super::*;
use crate::pickle::float_repr::{float_repr, FLOAT_REPR_LEN};

/// Which of CPython's two globals for bytes in protocols 0–2.
#[derive(Clone, Copy)]
pub(super) enum Global {
    /// `_codecs.encode`, for `_codecs.encode('…', 'latin1')`.
    CodecsEncode,
    /// `__builtin__.bytes`, for `bytes()`.
    BuiltinsBytes,
}

/// The payload of a str written (or found) in the output.
#[derive(Clone, Copy)]
pub(super) struct Stored {
    pub(super) off: usize,
    pub(super) len: usize,
}

impl<'b, const MEMO: usize> Serializer<'b, MEMO> {
    pub(super) fn save_none(&mut self) -> Result<(), Error> {
        self.begin_save()?;
        self.write_op(Opcode::NONE.byte())
    }

    pub(super) fn save_bool(&mut self, v: bool) -> Result<(), Error> {
        self.begin_save()?;
        match (self.proto >= 2, v) {
            (true, true) => self.write_op(Opcode::NEWTRUE.byte()),
            (true, false) => self.write_op(Opcode::NEWFALSE.byte()),
            (false, true) => self.write(b"I01\n"),
            (false, false) => self.write(b"I00\n"),
        }
    }

    #[inline(always)]
    pub(super) fn save_i64(&mut self, v: i64) -> Result<(), Error> {
        if let Ok(small) = i32::try_from(v) {
            if self.save_i32_fast(small) {
                return Ok(());
            }
        }
        self.save_i64_general(v)
    }

    #[inline(never)]
    pub(super) fn save_i64_general(&mut self, v: i64) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(v < 0, u128::from(v.unsigned_abs())),
        }
    }

    #[inline(always)]
    pub(super) fn save_u64(&mut self, v: u64) -> Result<(), Error> {
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
    pub(super) fn save_i32_fast(&mut self, v: i32) -> bool {
        let start = self.pos;
        let end = start.wrapping_add(5);
        if end > self.fast_end {
            return false;
        }
        let Some(dst) = self.buf.get_mut(start..end) else {
            return false;
        };
        // All 5 bytes (one store), the position past the first `n`.
        let (bytes, n) = binint(v);
        dst.copy_from_slice(&bytes);
        self.pos = start + n;
        true
    }

    #[inline(never)]
    pub(super) fn save_u64_general(&mut self, v: u64) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(false, u128::from(v)),
        }
    }

    pub(super) fn save_i128(&mut self, v: i128) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(v < 0, v.unsigned_abs()),
        }
    }

    pub(super) fn save_u128(&mut self, v: u128) -> Result<(), Error> {
        self.begin_save()?;
        match i32::try_from(v) {
            Ok(v) => self.save_i32(v),
            Err(_) => self.save_long(false, v),
        }
    }

    /// An int that fits a signed 4-byte integer: BININT1/BININT2/BININT, or INT in protocol 0.
    #[inline]
    pub(super) fn save_i32(&mut self, v: i32) -> Result<(), Error> {
        if self.proto == 0 {
            self.write(b"I")?;
            if v < 0 {
                self.write(b"-")?;
            }
            self.write_decimal(u128::from(v.unsigned_abs()))?;
            return self.write(b"\n");
        }
        let (bytes, n) = binint(v);
        self.write(bytes.get(..n).unwrap_or_default())
    }

    /// An int outside the signed 4-byte range: LONG1 (protocol 2+) or LONG text.
    pub(super) fn save_long(&mut self, negative: bool, magnitude: u128) -> Result<(), Error> {
        // Python 2 (64-bit) writes its ints as INT text in every protocol, longs as below.
        let int_max = if negative { 1 << 63 } else { (1 << 63) - 1 };
        if self.py2() && magnitude <= int_max {
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
        if let Some(digits) = out.get_mut(2..18) {
            digits.copy_from_slice(&low);
        }
        out[18] = high;
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

    pub(super) fn save_float(&mut self, v: f64) -> Result<(), Error> {
        self.begin_save()?;
        if self.proto == 0 {
            let mut text = [0u8; FLOAT_REPR_LEN + 2];
            text[0] = Opcode::FLOAT.byte();
            let mut repr = [0u8; FLOAT_REPR_LEN];
            let len = float_repr(&mut repr, v);
            for (t, r) in text.iter_mut().skip(1).zip(repr.iter().take(len)) {
                *t = *r;
            }
            if let Some(end) = text.get_mut(len + 1) {
                *end = b'\n';
            }
            return self.write(text.get(..len + 2).unwrap_or_default());
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
    pub(super) fn save_text<X: Text + ?Sized>(
        &mut self,
        x: &X,
        mut share: bool,
    ) -> Result<Stored, Error> {
        self.end_lean()?;
        self.begin_save()?;
        let form = if self.py2() {
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
            let forms = [
                Opcode::SHORT_BINUNICODE,
                Opcode::BINUNICODE,
                Opcode::BINUNICODE8,
            ];
            let v4 = self.proto >= 4;
            let what = "a str over 4 GiB before protocol 4";
            let suspended = self.begin_sized(forms, (v4, v4), len, what)?;
            let off = self.pos;
            x.feed(self, Form::Plain)?;
            self.end_payload(suspended);
            if self.pos - off != len {
                return Err(text_changed());
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
    pub(super) fn save_byte_string<X: Text + ?Sized>(
        &mut self,
        x: &X,
        quote: u8,
        share: bool,
    ) -> Result<Stored, Error> {
        self.end_lean()?;
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
            return Err(text_changed());
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
    /// far from its 64 KiB target, while the memo is small) is written inline, with one
    /// bounds check and no call (strs over `INLINE_STR` bytes take the same path out of line:
    /// their copy calls `memcpy`); everything else in `save_str_general`.
    #[inline(always)]
    pub(super) fn save_str(&mut self, v: &str) -> Result<(), Error> {
        if cfg!(feature = "fast") && v.len() > INLINE_STR {
            return self.save_str_long(v);
        }
        self.save_str_fast(v)
    }

    #[inline(never)]
    fn save_str_long(&mut self, v: &str) -> Result<(), Error> {
        self.save_str_fast(v)
    }

    /// `save_str`'s fast path, for strs of any length.
    #[inline(always)]
    fn save_str_fast(&mut self, v: &str) -> Result<(), Error> {
        let bytes = v.as_bytes();
        let len = bytes.len();
        let start = self.pos;
        // SHORT_BINUNICODE len payload MEMOIZE
        let end = start.wrapping_add(len + 3);
        let bit = str_bit(bytes);
        let index = self.next_memo;
        if len > 0xff || end > self.fast_end || self.memo.strs & bit != 0 {
            return self.save_str_general(v);
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
        // Fewer than 2^32 bytes before `fast_end`: cannot wrap.
        self.next_memo = index.wrapping_add(1);
        self.memo.strs |= bit;
        if self.memo.lean_from > start {
            return self.list_str(start + 2, len, index);
        }
        Ok(())
    }

    /// `save_str` outside its fast path: a short str in a binary protocol while the memo is
    /// scanned (protocols 1–3, or a frame near its end) is written here with a scan of the
    /// memo; others go through `save_text`.
    #[inline(never)]
    pub(super) fn save_str_general(&mut self, v: &str) -> Result<(), Error> {
        self.end_lean()?;
        let bytes = v.as_bytes();
        let len = bytes.len();
        if self.py2() || self.proto == 0 || len > 0xff || self.memo.index().is_some() {
            return self.save_text(&Utf8(v), true).map(|_| ());
        }
        self.begin_save()?;
        if let Some(e) = self.find_str(bytes) {
            return self.memo_get(e.index);
        }
        self.check_memo_room()?;
        // SHORT_BINUNICODE len, or BINUNICODE len:u32 before protocol 4.
        let (header, header_len) = if self.proto >= 4 {
            ([Opcode::SHORT_BINUNICODE.byte(), len as u8, 0, 0, 0], 2)
        } else {
            ([Opcode::BINUNICODE.byte(), len as u8, 0, 0, 0], 5)
        };
        self.write(header.get(..header_len).unwrap_or_default())?;
        let off = self.pos;
        self.put(bytes)?;
        let index = self.memo_put()?;
        self.remember(false, Stored { off, len }, index)
    }

    pub(super) fn save_bytes(&mut self, v: &[u8]) -> Result<(), Error> {
        self.end_lean()?;
        self.begin_save()?;
        if self.py2() {
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
            let forms = [Opcode::SHORT_BINBYTES, Opcode::BINBYTES, Opcode::BINBYTES8];
            let what = "bytes over 4 GiB in protocol 3";
            let suspended = self.begin_sized(forms, (true, proto >= 4), len, what)?;
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

    pub(super) fn save_global(&mut self, which: Global) -> Result<(), Error> {
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

    pub(super) fn refuse_in_key(&self, what: &'static str) -> Result<(), Error> {
        if self.in_key {
            Err(Error::Unsupported { what })
        } else {
            Ok(())
        }
    }

    /// Starts a list: EMPTY_LIST (or MARK LIST) and its memo entry.
    pub(super) fn begin_list(&mut self) -> Result<(), Error> {
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
    #[inline(always)]
    pub(super) fn begin_dict(&mut self) -> Result<(), Error> {
        // EMPTY_DICT MEMOIZE inside an open frame with room (see `fast_end`).
        let (start, index) = (self.pos, self.next_memo);
        if !self.in_key && start.wrapping_add(2) <= self.fast_end && index < BYTES_BIT {
            if let Some(dst) = self.buf.get_mut(start..start + 2) {
                dst.copy_from_slice(&[Opcode::EMPTY_DICT.byte(), Opcode::MEMOIZE.byte()]);
                self.pos = start + 2;
                self.next_memo = index + 1;
                return Ok(());
            }
        }
        self.begin_dict_general()
    }

    /// A struct's dict up to its items: `begin_dict` and `items`, the common case (two or more
    /// fields, inside an open frame with room, which implies protocol 4+) as one write of
    /// EMPTY_DICT MEMOIZE MARK, the first batch's MARK of `Mode::Premarked`.
    #[inline(always)]
    pub(super) fn begin_struct<'a>(
        &'a mut self,
        len: usize,
        close: bool,
    ) -> Result<Compound<'a, 'b, MEMO>, Error> {
        let (start, index) = (self.pos, self.next_memo);
        if len >= 2 && !self.in_key && start.wrapping_add(3) <= self.fast_end && index < BYTES_BIT {
            if let Some(dst) = self.buf.get_mut(start..start + 3) {
                dst.copy_from_slice(&[Opcode::EMPTY_DICT.byte(), Opcode::MEMOIZE.byte(), MARK]);
                self.pos = start + 3;
                self.next_memo = index + 1;
                let mode = Mode::Premarked;
                let mut items = Compound::new(self, Shape::Items { dict: true, mode }, close);
                items.len = Some(len);
                return Ok(items);
            }
        }
        self.begin_dict()?;
        self.items(true, Some(len), close)
    }

    #[inline(never)]
    fn begin_dict_general(&mut self) -> Result<(), Error> {
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
    pub(super) fn begin_variant(&mut self, variant: &'static str) -> Result<(), Error> {
        self.begin_dict()?;
        self.save_str(variant)
    }

    pub(super) fn begin_tuple<'a>(
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

    pub(super) fn items<'a>(
        &'a mut self,
        dict: bool,
        len: Option<usize>,
        close: bool,
    ) -> Result<Compound<'a, 'b, MEMO>, Error> {
        let mode = if self.proto == 0 || len == Some(1) {
            Mode::Single
        } else if len.is_none() {
            Mode::Unknown
        } else if len == Some(0) || self.py2() {
            Mode::Batched
        } else {
            // The first batch's MARK, where `Batched` writes it before the first item.
            self.write_op(MARK)?;
            Mode::Premarked
        };
        let mut items = Compound::new(self, Shape::Items { dict, mode }, close);
        items.len = len;
        Ok(items)
    }
}

/// An int that fits a signed 4-byte integer as BININT1, BININT2 or BININT (the first `n`
/// bytes of the array).
#[inline(always)]
pub(super) fn binint(v: i32) -> ([u8; 5], usize) {
    let b = v.to_le_bytes();
    if b[2] != 0 || b[3] != 0 {
        ([Opcode::BININT.byte(), b[0], b[1], b[2], b[3]], 5)
    } else if b[1] != 0 {
        ([Opcode::BININT2.byte(), b[0], b[1], 0, 0], 3)
    } else {
        ([Opcode::BININT1.byte(), b[0], 0, 0, 0], 2)
    }
}

/// The error of a `Display` that wrote other text when called again: [`Error::Message`],
/// built without `core::fmt` (a firmware's pickler then links no `fmt::Write` of its own).
fn text_changed() -> Error {
    let mut text = heapless::String::new();
    for c in "a Display implementation wrote other text when called again".chars() {
        if text.push(c).is_err() {
            break;
        }
    }
    Error::Message(text)
}
