//! Python 3.11's `repr()` of strings, bytes and integers, written into any
//! [`core::fmt::Write`] without allocating.
#![allow(dead_code)] // the decoder using these is written in parallel

use core::fmt::{self, Write};

use super::printable::is_printable;
use super::text::MAX_INT_DIGITS;

/// Longest LONG1/LONG4 payload the decoder accepts, in bytes.
///
/// Python 3.11 refuses `repr()` of an int with more than 4300 decimal digits
/// (`sys.get_int_max_str_digits()`). The largest magnitude an `n`-byte two's
/// complement payload holds is `2**(8n-1)` (the most negative value), which has
/// `floor((8n-1) * log10(2)) + 1` digits: for `n = 1785` that is
/// `floor(14279 * 0.30103) + 1 = 4299` digits, for `n = 1786` it is 4301. So every
/// payload of at most 1785 bytes has a repr, and 1785 is the largest length for
/// which that holds. (Some 1786-byte payloads would still print in Python; refusing
/// them costs nothing real and keeps `repr` infallible.)
pub(crate) const MAX_INT_BYTES: usize = 1785;

/// 32-bit limbs of the largest payload.
const MAX_LIMBS: usize = MAX_INT_BYTES.div_ceil(4);
/// Base-10^9 chunks of the longest decimal (`MAX_INT_DIGITS` digits).
const MAX_CHUNKS: usize = MAX_INT_DIGITS.div_ceil(9);
/// Scratch for long division: the quotient shrinks from the front while the
/// remainders fill from the back. Dividing by 10^9 removes ~29.9 of every 32
/// bits, so the two meet at most `MAX_LIMBS + 0.066 * MAX_CHUNKS + 1` words
/// (about 478); `MAX_CHUNKS + 2` bounds both. 1920 bytes of stack.
const SCRATCH_WORDS: usize = MAX_CHUNKS + 2;
const _: () = assert!(SCRATCH_WORDS > MAX_LIMBS);

const CHUNK: u64 = 1_000_000_000;

/// Picks Python's quote for a repr: `'` unless the text has `'` and no `"`.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// Writes `repr(s)` of a Python str (CPython 3.11's `unicode_repr`).
pub(crate) fn write_str_repr<W: Write + ?Sized>(
    w: &mut W,
    chars: impl Iterator<Item = char> + Clone,
) -> fmt::Result {
    let (mut single, mut double) = (false, false);
    for c in chars.clone() {
        single |= c == '\'';
        double |= c == '"';
    }
    let quote = quote_for(single, double);
    w.write_char(quote)?;
    for c in chars {
        let cp = u32::from(c);
        match c {
            _ if c == quote || c == '\\' => {
                w.write_char('\\')?;
                w.write_char(c)?;
            }
            '\t' => w.write_str("\\t")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            _ if cp < 0x20 || cp == 0x7F => write!(w, "\\x{cp:02x}")?,
            _ if cp < 0x7F => w.write_char(c)?,
            _ if is_printable(c) => w.write_char(c)?,
            _ if cp <= 0xFF => write!(w, "\\x{cp:02x}")?,
            _ if cp <= 0xFFFF => write!(w, "\\u{cp:04x}")?,
            _ => write!(w, "\\U{cp:08x}")?,
        }
    }
    w.write_char(quote)
}

/// Writes `repr(b)` of a Python bytes object (`b'...'`, CPython 3.11's `bytes_repr`).
pub(crate) fn write_bytes_repr<W: Write + ?Sized>(
    w: &mut W,
    bytes: impl Iterator<Item = u8> + Clone,
) -> fmt::Result {
    let (mut single, mut double) = (false, false);
    for b in bytes.clone() {
        single |= b == b'\'';
        double |= b == b'"';
    }
    let quote = quote_for(single, double);
    w.write_char('b')?;
    w.write_char(quote)?;
    for b in bytes {
        let c = char::from(b);
        match b {
            _ if c == quote || b == b'\\' => {
                w.write_char('\\')?;
                w.write_char(c)?;
            }
            b'\t' => w.write_str("\\t")?,
            b'\n' => w.write_str("\\n")?,
            b'\r' => w.write_str("\\r")?,
            0x20..=0x7E => w.write_char(c)?,
            _ => write!(w, "\\x{b:02x}")?,
        }
    }
    w.write_char(quote)
}

/// Writes the decimal `repr()` of a little-endian two's complement integer of any
/// length (a LONG1/LONG4 payload; empty is 0), exactly as Python's `str(int)`.
///
/// Up to 16 bytes go through `i128`; up to [`MAX_INT_BYTES`] through long division
/// in ~1.9 KiB of stack. Longer payloads (which Python could not print in decimal
/// and the decoder refuses) are written as Python's `hex()` would, e.g. `-0x1f...`,
/// so the output stays exact and this never fails on its own.
pub(crate) fn write_int_le_repr<W: Write + ?Sized>(w: &mut W, le: &[u8]) -> fmt::Result {
    if let Some(v) = super::text::le_to_i128(le) {
        return write!(w, "{v}");
    }
    if le.len() > MAX_INT_BYTES {
        return write_int_le_hex(w, le);
    }
    let negative = le.last().is_some_and(|&b| b & 0x80 != 0);
    let fill = if negative { 0xFF } else { 0x00 };
    let mut scratch = [0u32; SCRATCH_WORDS];
    // Load the limbs, sign-extending the last one, then negate to the magnitude.
    let mut len = 0usize;
    for (limb, chunk) in scratch.iter_mut().zip(le.chunks(4)) {
        let mut bytes = [fill; 4];
        for (dst, src) in bytes.iter_mut().zip(chunk) {
            *dst = *src;
        }
        *limb = u32::from_le_bytes(bytes);
        len += 1;
    }
    if negative {
        let mut carry = true;
        for limb in scratch.iter_mut().take(len) {
            let (v, c) = (!*limb).overflowing_add(u32::from(carry));
            *limb = v;
            carry = c;
        }
    }
    // Repeatedly divide by 10^9, storing remainders from the back of `scratch`.
    let mut chunks = 0usize;
    loop {
        while len > 0 && scratch.get(len - 1) == Some(&0) {
            len -= 1;
        }
        if len == 0 {
            break;
        }
        let mut rem = 0u64;
        for limb in scratch.iter_mut().take(len).rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = u32::try_from(cur / CHUNK).map_err(|_| fmt::Error)?;
            rem = cur % CHUNK;
        }
        while len > 0 && scratch.get(len - 1) == Some(&0) {
            len -= 1;
        }
        chunks += 1;
        let slot = SCRATCH_WORDS.checked_sub(chunks).ok_or(fmt::Error)?;
        if slot < len {
            return Err(fmt::Error); // unreachable for MAX_INT_BYTES; see SCRATCH_WORDS
        }
        *scratch.get_mut(slot).ok_or(fmt::Error)? = u32::try_from(rem).map_err(|_| fmt::Error)?;
    }
    if negative {
        w.write_char('-')?;
    }
    let start = SCRATCH_WORDS.checked_sub(chunks).ok_or(fmt::Error)?;
    let mut first = true;
    for chunk in scratch.get(start..).unwrap_or_default() {
        if first {
            write!(w, "{chunk}")?;
            first = false;
        } else {
            write!(w, "{chunk:09}")?;
        }
    }
    if first {
        w.write_char('0')?;
    }
    Ok(())
}

/// Python's `hex()` of a little-endian two's complement integer of any length.
fn write_int_le_hex<W: Write + ?Sized>(w: &mut W, le: &[u8]) -> fmt::Result {
    let negative = le.last().is_some_and(|&b| b & 0x80 != 0);
    // Two's complement negation, most significant byte first: byte i of -x is
    // !x[i] + carry, where the carry is 1 exactly when every lower byte of x is 0.
    let lowest_nonzero = le.iter().position(|&b| b != 0).unwrap_or(le.len());
    let magnitude = |i: usize, b: u8| -> u8 {
        if !negative {
            b
        } else if i < lowest_nonzero {
            0
        } else if i == lowest_nonzero {
            b.wrapping_neg()
        } else {
            !b
        }
    };
    if negative {
        w.write_char('-')?;
    }
    w.write_str("0x")?;
    let mut leading = true;
    for (i, &b) in le.iter().enumerate().rev() {
        let m = magnitude(i, b);
        if leading {
            if m == 0 {
                continue;
            }
            write!(w, "{m:x}")?;
            leading = false;
        } else {
            write!(w, "{m:02x}")?;
        }
    }
    if leading {
        w.write_char('0')?;
    }
    Ok(())
}

/// Writes the canonical decimal of an INT/LONG argument validated by
/// [`parse_decimal_int`](super::text::parse_decimal_int): whitespace, `+` and
/// leading zeros dropped, `-0` as `0`. Returns `Err` (writing nothing) on text
/// that does not validate.
pub(crate) fn write_int_decimal_repr<W: Write + ?Sized>(w: &mut W, text: &[u8]) -> fmt::Result {
    super::text::parse_decimal_int(text).map_err(|_| fmt::Error)?;
    let t = text
        .iter()
        .position(|b| b.is_ascii_digit() || *b == b'-')
        .and_then(|start| text.get(start..))
        .unwrap_or_default();
    let (negative, digits) = match t {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, t),
    };
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    let digits = digits.get(..n).unwrap_or_default();
    let significant = match digits.iter().position(|&d| d != b'0') {
        Some(i) => digits.get(i..).unwrap_or_default(),
        None => return w.write_char('0'),
    };
    if negative {
        w.write_char('-')?;
    }
    w.write_str(core::str::from_utf8(significant).map_err(|_| fmt::Error)?)
}
