//! Raw output and frames: writes into the caller's slice, FRAME headers opened, back-patched
//! or dropped as CPython's `_Pickler_CommitFrame` does, and bytes removed (a lone item's MARK).

use super::*;
use crate::pickle::number::{decimal_digits, DECIMAL_LEN};

/// See `Serializer::marks`.
#[derive(Clone, Copy)]
pub(super) struct PendingMark {
    pub(super) at: usize,
    pub(super) header: usize,
}

impl<'b, const MEMO: usize> Serializer<'b, MEMO> {
    pub(super) fn full(&self) -> Error {
        Error::BufferFull {
            capacity: self.buf.len(),
        }
    }

    /// Copies `bytes` to the output, outside any frame logic (ending the memo's lean start).
    #[inline]
    pub(super) fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.end_lean()?;
        let start = self.pos;
        let end = start.wrapping_add(bytes.len());
        match self.buf.get_mut(start..end) {
            Some(dst) => {
                crate::shift::copy(dst, bytes);
                self.pos = end;
                Ok(())
            }
            None => Err(self.full()),
        }
    }

    /// Writes `bytes`, opening a frame first when framing and none is open (CPython's
    /// `_Pickler_Write`).
    #[inline]
    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.framing && self.frame_start == NO_FRAME {
            self.open_frame();
        }
        self.put(bytes)
    }

    /// Writes one opcode byte: inside an open frame with room (see `fast_end`) at once,
    /// else as `write`.
    #[inline(always)]
    pub(super) fn write_op(&mut self, op: u8) -> Result<(), Error> {
        if self.pos < self.fast_end {
            if let Some(b) = self.buf.get_mut(self.pos) {
                *b = op;
                self.pos += 1;
                return Ok(());
            }
        }
        self.write_op_general(op)
    }

    #[inline(never)]
    fn write_op_general(&mut self, op: u8) -> Result<(), Error> {
        self.write(&[op])
    }

    /// Reserves room for a FRAME header, filled in when the frame closes.
    pub(super) fn open_frame(&mut self) {
        self.frame_start = self.pos;
        // In a buffer too small even for the header, the frame is tracked unreserved: it can
        // then only end up shorter than FRAME_SIZE_MIN (no header) or overflow anyway.
        self.frame_reserved = self.put(&[0; FRAME_HEADER_SIZE]).is_ok();
        self.set_fast_end();
    }

    /// Recomputes `fast_end` after `frame_start` changed.
    pub(super) fn set_fast_end(&mut self) {
        self.fast_end = if self.frame_start == NO_FRAME {
            0
        } else {
            min(
                min(self.buf.len(), u32::MAX as usize),
                self.frame_start.saturating_add(FRAME_SIZE_TARGET),
            )
        };
    }

    pub(super) fn frame_body_start(&self) -> usize {
        if self.frame_reserved {
            self.frame_start.saturating_add(FRAME_HEADER_SIZE)
        } else {
            self.frame_start
        }
    }

    /// `commit_frame` in its common case, for `finish`: a reserved header and a body long
    /// enough to keep it, no pending MARK that the header would move. Returns false, having
    /// done nothing, otherwise.
    #[inline]
    pub(super) fn commit_frame_fast(&mut self) -> bool {
        let (start, pos) = (self.frame_start, self.pos);
        let body = start.wrapping_add(FRAME_HEADER_SIZE);
        if self.frame_reserved
            && self.marks_len == 0
            && pos >= body.wrapping_add(FRAME_SIZE_MIN)
            && body > start
        {
            if let Some(header) = self.buf.get_mut(start..body) {
                header.copy_from_slice(&sized_header(Opcode::FRAME, pos - body));
                self.frame_start = NO_FRAME;
                self.fast_end = 0;
                return true;
            }
        }
        false
    }

    /// Closes the open frame: fills in its header, or drops the header when the body is
    /// shorter than FRAME_SIZE_MIN (CPython's `_Pickler_CommitFrame`).
    pub(super) fn commit_frame(&mut self) -> Result<(), Error> {
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
            let header = sized_header(Opcode::FRAME, len);
            let capacity = self.buf.len();
            let dst = self
                .buf
                .get_mut(start..body)
                .ok_or(Error::BufferFull { capacity })?;
            crate::shift::copy(dst, &header);
        } else if self.frame_reserved {
            self.remove(start, FRAME_HEADER_SIZE);
        }
        Ok(())
    }

    /// Deletes `n` output bytes at `at`, moving what follows back (and the memo's offsets,
    /// marks and frame).
    pub(super) fn remove(&mut self, at: usize, n: usize) {
        let from = at.saturating_add(n);
        if from > self.pos || self.pos > self.buf.len() {
            return; // cannot happen: callers remove bytes they wrote
        }
        crate::shift::move_back(self.buf, from, self.pos, at);
        self.pos -= n;
        if let Some(entries) = &mut self.memo.entries {
            for e in entries.iter_mut() {
                if e.off as usize >= from {
                    e.off = e.off.saturating_sub(n as u32);
                }
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
        // (While the lean start is on, only `finish` removes bytes: a FRAME header.)
        if self.memo.lean_from != NO_LEAN && self.memo.lean_from >= from {
            self.memo.lean_from -= n;
        }
    }

    /// Takes one byte off the body of the closed frame whose header is at `header` (after a
    /// MARK inside it was removed); drops the header if the body became too short for one.
    pub(super) fn shrink_closed_frame(&mut self, header: usize) {
        let len_at = header.saturating_add(1);
        let Some(field) = self.buf.get_mut(len_at..len_at.saturating_add(8)) else {
            return;
        };
        let Some(l) = field.first_chunk_mut::<8>() else {
            return;
        };
        let len = u64::from_le_bytes(*l).saturating_sub(1);
        if len >= FRAME_SIZE_MIN as u64 {
            *l = len.to_le_bytes();
        } else {
            self.remove(header, FRAME_HEADER_SIZE);
        }
    }

    /// Called where CPython's `save()` starts: closes the frame once it reached 64 KiB.
    #[inline]
    pub(super) fn begin_save(&mut self) -> Result<(), Error> {
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
    pub(super) fn begin_payload(&mut self, header: &[u8], len: usize) -> Result<bool, Error> {
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

    /// [`begin_payload`](Self::begin_payload) under the smallest of a sized opcode's `forms`
    /// (1-, 4- and 8-byte length) that holds `len`: the 1-byte form only if `short`, the 8-byte
    /// form only if `long`. Fails with [`Error::Unsupported`] (`what`) when none does.
    #[inline]
    pub(super) fn begin_sized(
        &mut self,
        forms: [Opcode; 3],
        (short, long): (bool, bool),
        len: usize,
        what: &'static str,
    ) -> Result<bool, Error> {
        let header = sized_header(forms[2], len);
        if short && len <= 0xff {
            self.begin_payload(&[forms[0].byte(), header[1]], len)
        } else if len <= 0xffff_ffff {
            let [_, a, b, c, d, ..] = header;
            self.begin_payload(&[forms[1].byte(), a, b, c, d], len)
        } else if long {
            self.begin_payload(&header, len)
        } else {
            Err(Error::Unsupported { what })
        }
    }

    pub(super) fn end_payload(&mut self, suspended: bool) {
        if suspended {
            self.framing = true;
        }
    }

    /// Writes the decimal digits of `v`.
    pub(super) fn write_decimal(&mut self, v: u128) -> Result<(), Error> {
        let mut digits = [0u8; DECIMAL_LEN];
        let at = decimal_digits(v, &mut digits);
        self.write(digits.get(at..).unwrap_or_default())
    }
}

/// Copies `src` to `dst` (of the same length): up to 32 bytes as two overlapping fixed-size
/// copies, plain moves instead of a call to `memcpy`.
#[inline(always)]
pub(super) fn copy_short(dst: &mut [u8], src: &[u8]) {
    pub(super) fn two<const K: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        // Fixed-size array moves (inlined, no length check), not a byte loop, which links
        // memmove (1.6 KB of a Cortex-M3's flash). The last chunk through `get`, not
        // `last_chunk`, whose `split_at` keeps a panic path at opt-level z.
        if let (Some(d), Some(s)) = (dst.first_chunk_mut::<K>(), src.first_chunk::<K>()) {
            *d = *s;
        }
        let last = |len: usize| len.checked_sub(K).unwrap_or(usize::MAX);
        let (d, s) = (dst.get_mut(last(n)..), src.get(last(n)..));
        if let (Some(d), Some(s)) = (
            d.and_then(|d| d.first_chunk_mut::<K>()),
            s.and_then(|s| s.first_chunk::<K>()),
        ) {
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
        _ => crate::shift::copy(dst, src),
    }
}

/// `op` followed by `len` as 8 little-endian bytes (FRAME's header, and the 8-byte forms').
fn sized_header(op: Opcode, len: usize) -> [u8; 9] {
    let [a, b, c, d, e, f, g, h] = (len as u64).to_le_bytes();
    [op.byte(), a, b, c, d, e, f, g, h]
}
