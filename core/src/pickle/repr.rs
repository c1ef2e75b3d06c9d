//! Python 3.11's `repr()` of strings, bytes and integers, written into any
//! [`core::fmt::Write`] without allocating.

use super::number::div_rem_10k;
use core::fmt::{self, Write};

use super::number::MAX_INT_DIGITS;
use super::printable::is_printable;

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
/// Base-10^8 chunks of the longest decimal (`MAX_INT_DIGITS` digits).
const MAX_CHUNKS: usize = MAX_INT_DIGITS.div_ceil(8);
/// Scratch for long division: the quotient shrinks from the front while the
/// remainders fill from the back. Dividing by 10^8 removes ~26.6 of every 32
/// bits, so the two meet at most `MAX_LIMBS + 0.17 * MAX_CHUNKS + 1` words
/// (about 540); `MAX_CHUNKS + 8` bounds both. 2,184 bytes of stack.
const SCRATCH_WORDS: usize = MAX_CHUNKS + 8;

/// A [`fmt::Write`] that passes at most `limit` bytes on to `inner`, then refuses: the write
/// that would cross the limit passes what fits (cut at a char boundary) and fails, and so does
/// every write after it. A walk that writes through it (a [`Value`](super::Value)'s repr,
/// JSON) therefore stops at the limit, so its work is bounded by the limit too: every byte
/// of output costs bounded work (the dearest, a 4300-digit int, about 50 ns a digit) and a
/// walk stops at its first failed write. Allocates nothing.
///
/// ```
/// use core::fmt::Write;
/// use brine_core::pickle::Budget;
///
/// let mut out = Budget::new(String::new(), 5);
/// assert!(write!(out, "{}", "abcdefgh").is_err());
/// assert!(out.is_cut());
/// assert_eq!(out.into_inner(), "abcde");
/// ```
#[derive(Debug)]
pub struct Budget<W> {
    inner: W,
    left: usize,
    cut: bool,
}

impl<W: Write> Budget<W> {
    /// `inner`, limited to `limit` bytes.
    pub fn new(inner: W, limit: usize) -> Self {
        Budget {
            inner,
            left: limit,
            cut: false,
        }
    }

    /// Writes `value` (its `Display`): `Ok(true)` when all of it fit, `Ok(false)` when it was
    /// cut at the limit (what fit is written), `Err` when `inner` failed.
    pub fn write_display(&mut self, value: &impl fmt::Display) -> Result<bool, fmt::Error> {
        match write!(self, "{value}") {
            Ok(()) => Ok(true),
            Err(_) if self.cut => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether a write went past the limit.
    pub fn is_cut(&self) -> bool {
        self.cut
    }

    /// Bytes that may still be written.
    pub fn left(&self) -> usize {
        self.left
    }

    /// The writer, for what follows the bounded part (e.g. a marker after a cut).
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Budget<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Err(fmt::Error);
        }
        if let Some(left) = self.left.checked_sub(s.len()) {
            self.left = left;
            return self.inner.write_str(s);
        }
        let mut end = self.left;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.left = 0;
        self.cut = true;
        self.inner.write_str(s.get(..end).unwrap_or_default())?;
        Err(fmt::Error)
    }
}

/// Picks Python's quote for a repr: `'` unless the text has `'` and no `"`.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// Writes `repr(s)` of a Python str (CPython 3.11's `unicode_repr`) from its code points
/// (lone surrogates included: `'\ud800'`).
pub(crate) fn write_str_repr<W: Write + ?Sized>(
    w: &mut W,
    code_points: impl Iterator<Item = u32> + Clone,
) -> fmt::Result {
    let (mut single, mut double) = (false, false);
    for cp in code_points.clone() {
        single |= cp == u32::from('\'');
        double |= cp == u32::from('"');
    }
    let quote = quote_for(single, double);
    w.write_char(quote)?;
    for cp in code_points {
        match char::from_u32(cp) {
            Some(c) => write_char_escaped(w, c, Some(quote))?,
            // A lone surrogate: not printable (category Cs).
            None => write!(w, "\\u{cp:04x}")?,
        }
    }
    w.write_char(quote)
}

/// One char of a str repr: `quote` and `\\` behind a backslash, what Python does not
/// print (controls, separators, unassigned, ...) as `\\t`, `\\x1b`, `\\u2028`, ...
fn write_char_escaped<W: Write + ?Sized>(w: &mut W, c: char, quote: Option<char>) -> fmt::Result {
    let cp = u32::from(c);
    match c {
        _ if Some(c) == quote || (c == '\\' && quote.is_some()) => {
            w.write_char('\\')?;
            w.write_char(c)
        }
        '\t' => w.write_str("\\t"),
        '\n' => w.write_str("\\n"),
        '\r' => w.write_str("\\r"),
        _ if cp < 0x20 || cp == 0x7F => write!(w, "\\x{cp:02x}"),
        _ if cp < 0x7F => w.write_char(c),
        _ if is_printable(c) => w.write_char(c),
        _ if cp <= 0xFF => write!(w, "\\x{cp:02x}"),
        _ if cp <= 0xFFFF => write!(w, "\\u{cp:04x}"),
        _ => write!(w, "\\U{cp:08x}"),
    }
}

/// Text from a peer made safe for a terminal: every character Python's `repr` would escape
/// (controls such as ESC, line breaks, separators, unassigned code points) is written as repr
/// writes it (`\\x1b`, `\\n`, `\\u2028`), everything else as is, without quotes (a
/// backslash stays one backslash). For status lines that quote a peer's text, such as a str
/// client id.
///
/// ```
/// use brine_core::pickle::Escaped;
/// assert_eq!(Escaped("1\n'x'\x1b[2K").to_string(), "1\\n'x'\\x1b[2K");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0
            .chars()
            .try_for_each(|c| write_char_escaped(f, c, None))
    }
}

/// Writes `repr(b)` of a Python bytes object (`b'...'`, CPython 3.11's `bytes_repr`).
pub(crate) fn write_bytes_repr<W: Write + ?Sized>(
    w: &mut W,
    bytes: impl Iterator<Item = u8> + Clone,
) -> fmt::Result {
    write_bytes_literal(w, bytes, false)
}

/// Writes Python's `repr()` of a `bytearray`: `bytearray(b'...')`. CPython's bytearray
/// repr differs from bytes' in one way: it escapes `'` even inside `"` quotes
/// (`bytearray(b"a\'b")`).
#[cfg(feature = "repr")]
pub(crate) fn write_bytearray_repr<W: Write + ?Sized>(
    w: &mut W,
    bytes: impl Iterator<Item = u8> + Clone,
) -> fmt::Result {
    w.write_str("bytearray(")?;
    write_bytes_literal(w, bytes, true)?;
    w.write_char(')')
}

/// A `b'...'` literal; `escape_single` escapes `'` whatever the quote (bytearray's way).
fn write_bytes_literal<W: Write + ?Sized>(
    w: &mut W,
    bytes: impl Iterator<Item = u8> + Clone,
    escape_single: bool,
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
            _ if c == quote || b == b'\\' || (escape_single && b == b'\'') => {
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
/// Up to 16 bytes go through `i128`; longer ones through long division in ~1.9 KiB of
/// stack. An int of more than 4300 decimal digits, whose `repr` CPython 3.11 refuses
/// (`ValueError`, `sys.get_int_max_str_digits()`), is written as Python's `hex()` writes it,
/// e.g. `-0x1f...`: exact, and never a failure of its own. Redundant sign-extension bytes
/// do not count. Takes `dyn Write`: one copy in flash for every writer (key equality, repr,
/// client ids).
#[inline(never)]
pub(crate) fn write_int_le_repr(w: &mut dyn Write, le: &[u8]) -> fmt::Result {
    if let Some(v) = super::number::le_to_i128(le) {
        return super::number::write_i128(w, v);
    }
    let le = minimal_le(le);
    // MAX_INT_BYTES + 1 bytes hold every 4300-digit int (and some of 4301 or 4302 digits).
    if le.len() > MAX_INT_BYTES + 1 {
        return write_int_le_hex(w, le);
    }
    let negative = le.last().is_some_and(|&b| b & 0x80 != 0);
    let fill = if negative { 0xFF } else { 0x00 };
    // The quotient's limbs and the remainders never meet (SCRATCH_WORDS).
    const { assert!(SCRATCH_WORDS > MAX_LIMBS + MAX_CHUNKS * 17 / 100 + 1) };
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
    // Repeatedly divide by 10^8 (twice by 10^4: 32-bit divisions only, see
    // `number::div_rem_10k`), storing remainders from the back of `scratch`.
    let mut chunks = 0usize;
    loop {
        while len > 0 && scratch.get(len - 1) == Some(&0) {
            len -= 1;
        }
        if len == 0 {
            break;
        }
        let limbs = scratch.get_mut(..len).ok_or(fmt::Error)?;
        let low = div_rem_10k(limbs);
        let rem = div_rem_10k(limbs) * 10_000 + low;
        while len > 0 && scratch.get(len - 1) == Some(&0) {
            len -= 1;
        }
        chunks += 1;
        let slot = match SCRATCH_WORDS.checked_sub(chunks) {
            Some(slot) if slot >= len => slot,
            // More digits than the scratch holds: far beyond the digit limit.
            _ => return write_int_le_hex(w, le),
        };
        *scratch.get_mut(slot).ok_or(fmt::Error)? = rem;
    }
    let start = SCRATCH_WORDS.checked_sub(chunks).ok_or(fmt::Error)?;
    let leading = scratch
        .get(start)
        .map_or(0, |&c| c.checked_ilog10().map_or(1, |d| d + 1));
    if 8 * chunks.saturating_sub(1) + leading as usize > MAX_INT_DIGITS {
        return write_int_le_hex(w, le);
    }
    if negative {
        w.write_char('-')?;
    }
    let mut first = true;
    for &chunk in scratch.get(start..).unwrap_or_default() {
        // Eight digits, zero-padded except in the first chunk.
        let mut digits = [b'0'; 8];
        let mut c = chunk;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (c % 10) as u8;
            c /= 10;
        }
        let skip = if first { 8 - leading as usize } else { 0 };
        let text = digits.get(skip..).unwrap_or_default();
        w.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?)?;
        first = false;
    }
    if first {
        w.write_char('0')?;
    }
    Ok(())
}

/// `le` without the high bytes that only repeat the sign (at least one byte).
fn minimal_le(le: &[u8]) -> &[u8] {
    let mut n = le.len();
    while n > 1 {
        let (top, below) = (le.get(n - 1).copied(), le.get(n - 2).copied().unwrap_or(0));
        match top {
            Some(0x00) if below & 0x80 == 0 => n -= 1,
            Some(0xFF) if below & 0x80 != 0 => n -= 1,
            _ => break,
        }
    }
    le.get(..n).unwrap_or(le)
}

/// Python's `hex()` of a little-endian two's complement integer of any length.
fn write_int_le_hex(w: &mut dyn Write, le: &[u8]) -> fmt::Result {
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
/// [`parse_decimal_int`](super::number::parse_decimal_int): whitespace, `+` and
/// leading zeros dropped, `-0` as `0`. Returns `Err` (writing nothing) on text
/// that does not validate.
pub(crate) fn write_int_decimal_repr(w: &mut dyn Write, text: &[u8]) -> fmt::Result {
    super::number::parse_decimal_int(text).map_err(|_| fmt::Error)?;
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

#[cfg(all(test, feature = "repr"))]
#[path = "repr_tests.rs"]
mod tests;
