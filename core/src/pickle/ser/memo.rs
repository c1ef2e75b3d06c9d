//! The memo: which strs and bytes values were written (and where), so equal ones are written
//! once and then referenced; a 64-bit filter, a table and, past a few entries, a hash index.
//!
//! Lean start: while a protocol 4+ pickle's first frame holds only what the fast paths write
//! (short strs, small ints, dicts, MARK and the closing opcodes), a str is written without a
//! table entry, only its filter bit. The first write of anything else, or the first look-up,
//! ends the lean start: `end_lean` reads the strs back from the output into the table.

use super::*;

/// A remembered str or bytes value: where its encoding lies in the output.
#[derive(Clone, Copy)]
pub(super) struct Entry {
    /// Offset of the payload in the output.
    pub(super) off: u32,
    /// Length of the payload in the output.
    pub(super) len: u32,
    /// Memo index, with `BYTES_BIT` set for bytes.
    pub(super) index: u32,
    /// `payload_hash` of the payload; computed only once the memo has a hash index (while
    /// there are at most `LINEAR_MEMO` entries, values are found by a scan).
    pub(super) hash: u32,
}

impl Entry {
    pub(super) fn payload(self) -> (usize, usize) {
        let off = self.off as usize;
        (off, off.saturating_add(self.len as usize))
    }

    pub(super) fn is_bytes(self) -> bool {
        self.index & BYTES_BIT != 0
    }
}

/// The fixed memo table: entries in insertion order, and past `LINEAR_MEMO` entries an
/// open-addressing hash index over them.
///
/// Both are `None` until first needed: an empty `heapless::Vec` built inside the serializer
/// compiles to a memset of its whole (uninitialized) storage, kilobytes for every pickle,
/// while `None` is one byte written.
pub(super) struct Memo<const N: usize> {
    /// A bit per remembered str (`str_bit` of its payload): a str whose bit is clear was
    /// not written before, without a scan.
    pub(super) strs: u64,
    pub(super) entries: Option<heapless::Vec<Entry, N>>,
    /// Indexes into `entries` (`NO_ENTRY` for a free slot), grown and rebuilt as entries
    /// are added.
    pub(super) index: Option<heapless::Vec<u32, N>>,
    /// While the pickle is in its lean start, where it began (`NO_LEAN` after): the strs
    /// written from there are not in `entries` yet.
    pub(super) lean_from: usize,
    /// The memo index the lean start began with.
    pub(super) lean_memo: u32,
}

impl<const N: usize> Memo<N> {
    pub(super) const fn new() -> Self {
        Memo {
            strs: 0,
            entries: None,
            index: None,
            lean_from: NO_LEAN,
            lean_memo: 0,
        }
    }

    #[inline]
    pub(super) fn entries(&self) -> &[Entry] {
        match &self.entries {
            Some(v) => v,
            None => &[],
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |v| v.len())
    }

    /// The hash index, when there is one (more than `LINEAR_MEMO` entries).
    #[inline]
    pub(super) fn index(&self) -> Option<&[u32]> {
        self.index.as_deref().filter(|slots| !slots.is_empty())
    }

    /// Puts entry `i` (whose hash is known) into the index (linear probing; there is always a
    /// free slot, since the index has as many slots as the table has entries).
    pub(super) fn index_entry(&mut self, i: usize) {
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

impl<'b, const MEMO: usize> Serializer<'b, MEMO> {
    /// Starts the lean start at the current position (see the module's doc).
    pub(super) fn begin_lean(&mut self) {
        self.memo.lean_from = self.pos;
        self.memo.lean_memo = self.next_memo;
    }

    /// Ends the lean start, if on: the table gets an entry for each str written since.
    ///
    /// # Errors
    ///
    /// [`Error::Capacity`] when they are more than the memo holds.
    #[inline(always)]
    pub(super) fn end_lean(&mut self) -> Result<(), Error> {
        if self.memo.lean_from != NO_LEAN {
            self.read_back_lean()
        } else {
            Ok(())
        }
    }

    /// Walks the output of the lean start, which holds only what the fast paths write
    /// (SHORT_BINUNICODE + MEMOIZE, MEMOIZE, BININT1/BININT2/BININT, argument-free opcodes),
    /// and remembers each str with its memo index.
    #[inline(never)]
    fn read_back_lean(&mut self) -> Result<(), Error> {
        let (mut p, mut index) = (self.memo.lean_from, self.memo.lean_memo);
        self.memo.lean_from = NO_LEAN;
        loop {
            let written = self.buf.get(..self.pos).unwrap_or_default();
            let Some((off, len, i)) = next_lean_str(written, &mut p, &mut index) else {
                return Ok(());
            };
            self.list_str(off, len, i)?;
        }
    }

    /// Remembers a str the fast path wrote (payload at `off`, `len` bytes, memo `index`; its
    /// filter bit is set): pushed while the table is scanned, else as `remember` does.
    #[inline(never)]
    pub(super) fn list_str(&mut self, off: usize, len: usize, index: u32) -> Result<(), Error> {
        let entries = self.memo.entries.get_or_insert_with(heapless::Vec::new);
        if entries.len() < min(LINEAR_MEMO, MEMO) && index < BYTES_BIT {
            // Below LINEAR_MEMO entries: no hash to compute, no index to update.
            let (off, len) = (off as u32, len as u32);
            let _ = entries.push(Entry {
                off,
                len,
                index,
                hash: 0,
            });
            return Ok(());
        }
        self.remember(false, Stored { off, len }, index)
    }

    pub(super) fn memo_full(&self) -> Error {
        Error::Capacity {
            what: Capacity::Memo,
            limit: MEMO,
            offset: self.pos,
        }
    }

    /// Gives the value just written the next memo index (PUT, BINPUT, LONG_BINPUT or MEMOIZE).
    #[inline]
    pub(super) fn memo_put(&mut self) -> Result<u32, Error> {
        let index = self.next_memo;
        // MEMOIZE inside an open frame with room (see `fast_end`), as `write` would.
        if self.pos < self.fast_end && index < BYTES_BIT {
            if let Some(b) = self.buf.get_mut(self.pos) {
                *b = Opcode::MEMOIZE.byte();
                self.pos += 1;
                self.next_memo = index + 1;
                return Ok(index);
            }
        }
        self.memo_put_general()
    }

    #[inline(never)]
    fn memo_put_general(&mut self) -> Result<u32, Error> {
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
    pub(super) fn memo_get(&mut self, index: u32) -> Result<(), Error> {
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

    /// Finds a remembered value of the kind (`bytes`) whose stored payload `eq` accepts (after
    /// `end_lean`, as every look-up);
    /// `hash` gives the `payload_hash` of that payload (needed only once the memo has a hash
    /// index).
    pub(super) fn find(
        &self,
        bytes: bool,
        hash: impl FnOnce() -> u32,
        eq: impl Fn(&[u8]) -> bool,
    ) -> Option<Entry> {
        debug_assert!(self.memo.lean_from == NO_LEAN, "end_lean first");
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
        let mut slot = (hash as usize).checked_rem(slots)?;
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
    pub(super) fn find_str(&self, s: &[u8]) -> Option<Entry> {
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
    pub(super) fn remember(
        &mut self,
        bytes: bool,
        stored: Stored,
        index: u32,
    ) -> Result<(), Error> {
        if index >= BYTES_BIT {
            return Err(self.memo_full());
        }
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
        if let Some(entries) = &mut self.memo.entries {
            // Every entry's hash when the index is first built, else the new entry's.
            let first = if slots == 0 { 0 } else { count - 1 };
            for e in entries.get_mut(first..).unwrap_or_default() {
                e.hash = hash_of(e);
            }
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

    pub(super) fn check_memo_room(&self) -> Result<(), Error> {
        if self.memo.len() >= MEMO {
            Err(self.memo_full())
        } else {
            Ok(())
        }
    }
}

/// The next str in `out` from `*p` on, output of the fast paths (SHORT_BINUNICODE +
/// MEMOIZE, MEMOIZE, BININT1/BININT2/BININT, BINGET, BINFLOAT and argument-free opcodes) whose
/// next memo index at `*p` is `*index`: its payload's offset and length and its memo index.
/// `None` at the end of `out`.
pub(super) fn next_lean_str(
    out: &[u8],
    p: &mut usize,
    index: &mut u32,
) -> Option<(usize, usize, u32)> {
    while let Some(&op) = out.get(*p) {
        *p += 1;
        match op {
            op if op == Opcode::MEMOIZE.byte() => *index += 1,
            op if op == Opcode::SHORT_BINUNICODE.byte() => {
                let len = out.get(*p).map_or(0, |&n| usize::from(n));
                let off = *p + 1;
                *p = off + len;
                return Some((off, len, *index));
            }
            op if op == Opcode::BININT1.byte() || op == Opcode::BINGET.byte() => *p += 1,
            op if op == Opcode::BININT2.byte() => *p += 2,
            op if op == Opcode::BININT.byte() => *p += 4,
            op if op == Opcode::BINFLOAT.byte() => *p += 8,
            _ => {}
        }
    }
    None
}

pub(super) const KIND_STR: u64 = 0x5354_5200;
pub(super) const KIND_BYTES: u64 = 0x4259_5400;

/// A word-at-a-time multiplicative hash whose value does not depend on how the input is split.
pub(super) struct StreamHash {
    pub(super) h: u64,
    pub(super) tail: u64,
    pub(super) tail_len: u32,
}

impl StreamHash {
    pub(super) const K: u64 = 0x517c_c1b7_2722_0a95;

    pub(super) fn new() -> Self {
        StreamHash {
            h: 0,
            tail: 0,
            tail_len: 0,
        }
    }

    #[inline]
    pub(super) fn mix(&mut self, w: u64) {
        self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(Self::K);
    }

    #[inline]
    pub(super) fn write(&mut self, mut bytes: &[u8]) {
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
        let (chunks, rest) = bytes.as_chunks::<8>();
        for &c in chunks {
            self.mix(u64::from_le_bytes(c));
        }
        for (k, &b) in rest.iter().enumerate() {
            self.tail |= u64::from(b) << (8 * k);
        }
        self.tail_len = rest.len() as u32;
    }

    #[inline]
    pub(super) fn finish(mut self, kind: u64, len: usize) -> u32 {
        let t = self.tail;
        self.mix(t);
        self.mix(kind ^ len as u64);
        (self.h >> 32) as u32 ^ self.h as u32
    }
}

/// A str payload's bit in `Memo::strs`: bit (5 · length + first byte) mod 64.
#[inline]
pub(super) fn str_bit(payload: &[u8]) -> u64 {
    let first = payload.first().map_or(0, |&b| usize::from(b));
    1u64 << (payload.len().wrapping_mul(5).wrapping_add(first) & 63)
}

/// The memo hash of a stored payload: of a bytes value (`bytes`) or a str, as written in the
/// output (UTF-8, protocol 0's escapes, or the latin-1 str CPython writes for bytes before
/// protocol 3); equal to `Text::measure`'s hash of the text fed as that payload.
pub(super) fn payload_hash(bytes: bool, payload: &[u8]) -> u32 {
    hash_bytes(if bytes { KIND_BYTES } else { KIND_STR }, payload)
}

/// `StreamHash` of `bytes` in one piece (the same value, computed without the tail loop).
#[inline]
pub(super) fn hash_bytes(kind: u64, bytes: &[u8]) -> u32 {
    let mut h = StreamHash::new();
    let (chunks, rest) = bytes.as_chunks::<8>();
    for &c in chunks {
        h.mix(u64::from_le_bytes(c));
    }
    // The tail, little-endian, built in registers (a copy through memory stalls the load).
    let mut tail = 0u64;
    for (k, &b) in rest.iter().enumerate() {
        tail |= u64::from(b) << (8 * k);
    }
    h.tail = tail;
    h.finish(kind, bytes.len())
}
