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
const _: () = assert!(SCRATCH_WORDS > MAX_LIMBS + MAX_CHUNKS * 17 / 100 + 1);

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
/// do not count.
pub(crate) fn write_int_le_repr<W: Write + ?Sized>(w: &mut W, le: &[u8]) -> fmt::Result {
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
/// [`parse_decimal_int`](super::number::parse_decimal_int): whitespace, `+` and
/// leading zeros dropped, `-0` as `0`. Returns `Err` (writing nothing) on text
/// that does not validate.
pub(crate) fn write_int_decimal_repr<W: Write + ?Sized>(w: &mut W, text: &[u8]) -> fmt::Result {
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

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::oracle::{hex, python3, unhex};
    use super::super::printable;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn str_repr(s: &str) -> String {
        let mut out = String::new();
        write_str_repr(&mut out, s.chars().map(u32::from)).unwrap();
        out
    }

    fn bytes_repr(b: &[u8]) -> String {
        let mut out = String::new();
        write_bytes_repr(&mut out, b.iter().copied()).unwrap();
        out
    }

    #[test]
    fn budget_cuts_at_the_limit_on_a_char_boundary_and_stays_cut() {
        for limit in 0..12 {
            let mut out = Budget::new(String::new(), limit);
            let whole = out.write_display(&"añb😀cd").unwrap();
            let text = out.into_inner();
            assert_eq!(whole, limit >= 10, "{limit}");
            assert!(
                text.len() <= limit && "añb😀cd".starts_with(&text),
                "{limit}"
            );
            assert!(text.len() + 3 >= limit.min(10), "{limit}: {text:?}");
        }
        let mut out = Budget::new(String::new(), 3);
        assert!(out.write_str("ab").is_ok());
        assert!(out.write_str("cd").is_err());
        assert!(out.write_str("").is_err());
        assert_eq!((out.is_cut(), out.left()), (true, 0));
        assert_eq!(out.into_inner(), "abc");
        // The writer's own failure is not a cut.
        struct Fails;
        impl Write for Fails {
            fn write_str(&mut self, _: &str) -> fmt::Result {
                Err(fmt::Error)
            }
        }
        assert!(Budget::new(Fails, 100).write_display(&1).is_err());
    }

    #[test]
    fn bytearray_escapes_single_quotes_always() {
        // repr(bytearray(...)) in CPython 3.11.
        let cases: &[(&[u8], &str)] = &[
            (b"a'b", r#"bytearray(b"a\'b")"#),
            (b"a\"b", r#"bytearray(b'a"b')"#),
            (b"a'\"b", r#"bytearray(b'a\'"b')"#),
            (b"", "bytearray(b'')"),
            (b"\x00\\", r"bytearray(b'\x00\\')"),
        ];
        for (bytes, expected) in cases {
            let mut out = String::new();
            write_bytearray_repr(&mut out, bytes.iter().copied()).unwrap();
            assert_eq!(out, *expected);
        }
    }

    fn int_repr(le: &[u8]) -> String {
        let mut out = String::new();
        write_int_le_repr(&mut out, le).unwrap();
        out
    }

    fn decimal_repr(text: &[u8]) -> Result<String, fmt::Error> {
        let mut out = String::new();
        write_int_decimal_repr(&mut out, text).map(|()| out)
    }

    /// Python's Unicode version and the code points whose `isprintable()` differs
    /// from brine's table (Unicode 14.0.0, what Python 3.11 ships).
    fn isprintable_differences() -> (String, Vec<u32>) {
        let out = python3(
            r#"
import unicodedata
print(unicodedata.unidata_version)
prev = True
for cp in range(0x110000):
    p = chr(cp).isprintable()
    if p != prev:
        print(cp)
        prev = p
"#,
        );
        let mut lines = out.lines();
        let version = String::from(lines.next().unwrap());
        let toggles: Vec<u32> = lines.map(|l| l.parse().unwrap()).collect();
        let mut t = toggles.iter().peekable();
        let mut python_printable = true;
        let mut differ = Vec::new();
        for cp in 0..=0x10FFFF_u32 {
            if t.peek() == Some(&&cp) {
                t.next();
                python_printable = !python_printable;
            }
            if let Some(c) = char::from_u32(cp) {
                if printable::is_printable(c) != python_printable {
                    differ.push(cp);
                }
            }
        }
        (version, differ)
    }

    /// Same Unicode version (Python 3.11): the same table. Other versions (3.8: 12.1,
    /// 3.9/3.10: 13.0, 3.12: 15.0, 3.13: 15.1) differ only where one of the two
    /// versions has the code point unassigned, so only for characters added in between.
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn printable_table_matches_python_isprintable() {
        let (version, differ) = isprintable_differences();
        if version == printable::UNICODE_VERSION {
            assert_eq!(differ, Vec::<u32>::new(), "Unicode {version}");
        } else {
            // Python's category for each differing code point, and whether it
            // is printable there.
            let cps: Vec<String> = differ.iter().map(|cp| std::format!("{cp}")).collect();
            let out = python3(&std::format!(
                "import unicodedata\nfor cp in [{}]: print(unicodedata.category(chr(cp)), chr(cp).isprintable())",
                cps.join(",")
            ));
            let newer = version.as_str() > printable::UNICODE_VERSION;
            for (cp, line) in differ.iter().zip(out.lines()) {
                let (category, python_printable) = line.split_once(' ').unwrap();
                if newer {
                    // Added after 14.0: unassigned (not printable) in ours, assigned in Python.
                    assert_eq!(
                        python_printable, "True",
                        "U+{cp:04X} under Unicode {version}"
                    );
                } else {
                    // Added after Python's version: still unassigned there.
                    assert_eq!(category, "Cn", "U+{cp:04X} under Unicode {version}");
                }
            }
            assert!(differ.len() < 10_000, "{} differences", differ.len());
        }
        assert_eq!(
            printable::TABLE_BYTES,
            2 * printable::BMP.len() + 2 * printable::PLANE1.len() + 4 * printable::REST.len()
        );
    }

    /// Under Python 3.11 (Unicode 14.0.0) the generator writes printable.rs byte for
    /// byte; under another version it writes the same code around other tables.
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn printable_table_is_what_the_generator_writes() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/gen_printable.py");
        let generated = python3(&std::format!(
            "sys.argv = [{script:?}]\nexec(compile(open({script:?}).read(), {script:?}, 'exec'))"
        ));
        let committed = include_str!("printable.rs");
        if generated.contains(&std::format!(
            "Unicode {} tables",
            printable::UNICODE_VERSION
        )) {
            assert_eq!(
                generated, committed,
                "regenerate: python3 scripts/gen_printable.py > core/src/pickle/printable.rs"
            );
        } else {
            // Table rows, sizes and the version are the data; the rest is the code.
            let code = |text: &str| -> Vec<String> {
                text.lines()
                    .filter(|l| !l.trim_start().starts_with("0x"))
                    .map(|l| l.chars().filter(|c| !c.is_ascii_digit()).collect())
                    .collect()
            };
            assert_eq!(code(&generated), code(committed));
        }
    }

    #[test]
    fn str_repr_fixtures() {
        // Pasted from python3 3.11 repr().
        let cases: &[(&str, &str)] = &[
            ("", "''"),
            ("abc", "'abc'"),
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("it's \"x\"", "'it\\'s \"x\"'"),
            ("\\", "'\\\\'"),
            ("\t\n\r\x00\x1f\x7f", "'\\t\\n\\r\\x00\\x1f\\x7f'"),
            ("\u{80}\u{85}\u{a0}\u{ad}\u{e9}", "'\\x80\\x85\\xa0\\xadé'"),
            (
                "\u{2028}\u{2029}\u{feff}\u{3000}",
                "'\\u2028\\u2029\\ufeff\\u3000'",
            ),
            ("e\u{301}", "'e\u{301}'"),
            ("\u{e000}\u{f8ff}", "'\\ue000\\uf8ff'"),
            ("\u{378}\u{ffff}", "'\\u0378\\uffff'"),
            ("\u{1f600}\u{10000}", "'😀𐀀'"),
            (
                "\u{e0001}\u{f0000}\u{10ffff}",
                "'\\U000e0001\\U000f0000\\U0010ffff'",
            ),
            ("\u{1f7ff}", "'\\U0001f7ff'"),
        ];
        for (s, want) in cases {
            assert_eq!(&str_repr(s), want, "{s:?}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn str_repr_matches_python_on_random_strings() {
        let out = python3(
            r#"
import random
r = random.Random(2024)
pools = [
    [chr(c) for c in range(0x100)] + ["'", '"', '\\'] * 20,
    [chr(c) for c in [0x2028, 0x2029, 0xfeff, 0x200b, 0x061c, 0x0378, 0xe000, 0x301, 0x1f600, 0xe0001, 0x3000, 0xad]],
]
strings = [chr(c) for c in range(0x300)]
for _ in range(3000):
    n = r.randrange(0, 10)
    s = []
    for _ in range(n):
        k = r.random()
        if k < 0.5: s.append(r.choice(pools[0]))
        elif k < 0.7: s.append(r.choice(pools[1]))
        else: s.append(chr(r.choice([r.randrange(0xd800), r.randrange(0xe000, 0x110000)])))
    strings.append(''.join(s))
for s in strings:
    print(s.encode('utf-8').hex(), repr(s).encode('utf-8').hex())
"#,
        );
        let mut n = 0;
        for line in out.lines() {
            let (s, want) = line.split_once(' ').unwrap();
            let s = String::from_utf8(unhex(s)).unwrap();
            let want = String::from_utf8(unhex(want)).unwrap();
            assert_eq!(str_repr(&s), want, "{s:?}");
            n += 1;
        }
        assert_eq!(n, 0x300 + 3000);
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn bytes_repr_fixtures_and_all_bytes() {
        assert_eq!(bytes_repr(b""), "b''");
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(bytes_repr(b"'\""), "b'\\'\"'");
        assert_eq!(
            bytes_repr(b"\\\t\n\r\x00\x7f\x80\xff~ "),
            "b'\\\\\\t\\n\\r\\x00\\x7f\\x80\\xff~ '"
        );
        let out = python3(
            r#"
import random
r = random.Random(77)
cases = [bytes([i]) for i in range(256)] + [bytes(range(256)), bytes(range(255, -1, -1))]
cases += [bytes(r.choice([39, 34, 92, r.randrange(256)]) for _ in range(r.randrange(12))) for _ in range(2000)]
for b in cases:
    print(b.hex() or '-', repr(b).encode().hex())
"#,
        );
        for line in out.lines() {
            let (b, want) = line.split_once(' ').unwrap();
            let b = if b == "-" { Vec::new() } else { unhex(b) };
            let want = String::from_utf8(unhex(want)).unwrap();
            assert_eq!(bytes_repr(&b), want, "{b:?}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn max_int_bytes_is_the_4300_digit_limit() {
        let out = python3(
            r#"
import sys
assert sys.get_int_max_str_digits() == 4300
sys.set_int_max_str_digits(0)
n = 1
while len(str(2 ** (8 * (n + 1) - 1))) <= 4300:
    n += 1
sys.set_int_max_str_digits(4300)
repr(-2 ** (8 * n - 1))  # the most negative n-byte payload prints
try:
    repr(-2 ** (8 * (n + 1) - 1))
    print('no limit')
except ValueError:
    print(n)
"#,
        );
        assert_eq!(out.trim().parse::<usize>().unwrap(), MAX_INT_BYTES);
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn int_repr_matches_python() {
        let out = python3(
            r#"
import pickle, random, sys
sys.set_int_max_str_digits(0)
r = random.Random(31337)
ns = [0, 1, -1, 2**63, -2**63 - 1, 2**64, 2**127, -2**127, 2**127 - 1, -2**127 - 1, 2**128, -2**128,
      2**1000, -2**1000, -(2**5000 // 3), 2**5000 // 7, 10**100, -10**100, 10**4298, -10**4298 + 1]
ns += [2 ** (8 * 1785 - 1) - 1, -2 ** (8 * 1785 - 1), 2 ** (8 * 1785 - 1) - 10**4000]
ns += [r.randrange(-2**bits, 2**bits) for bits in [r.randrange(1, 3000) for _ in range(400)]]
ns += [r.randrange(-2**200, 2**200) for _ in range(300)]
for n in ns:
    le = pickle.encode_long(n)
    assert len(le) <= 1785
    print(le.hex() or '-', n)
"#,
        );
        let mut count = 0;
        for line in out.lines() {
            let (le, want) = line.split_once(' ').unwrap();
            let le = if le == "-" { Vec::new() } else { unhex(le) };
            assert_eq!(int_repr(&le), want, "{} bytes", le.len());
            count += 1;
        }
        assert_eq!(count, 723);
        // Longest payload: both extremes.
        let mut max = std::vec![0xFF_u8; MAX_INT_BYTES];
        max[MAX_INT_BYTES - 1] = 0x7F;
        let mut min = std::vec![0u8; MAX_INT_BYTES];
        min[MAX_INT_BYTES - 1] = 0x80;
        assert_eq!(int_repr(&max).len(), 4299);
        assert_eq!(int_repr(&min).len(), 4300);
        // Non-minimal encodings (sign extension) give the same value.
        let mut wide = std::vec![0xFF_u8; 100];
        wide[0] = 0xFE;
        assert_eq!(int_repr(&wide), "-2");
        assert_eq!(int_repr(&[0u8; 100]), "0");
        let mut big = std::vec![0u8; 100];
        big[20] = 1;
        assert_eq!(
            int_repr(&big),
            "1461501637330902918203684832716283019655932542976"
        ); // 2**160
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn int_repr_follows_the_4300_digit_limit_whatever_the_payload_length() {
        // 4300 digits print (some need 1786 bytes); 4301 and more are CPython's ValueError,
        // written as hex(). Sign-extended payloads give the same text.
        let out = python3(
            r#"
import pickle, sys
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)
for n in [10**4299, 10**4300 - 1, -(10**4300 - 1), 2**14283 + 12345, -2**14283,
          10**4300, -(10**4300), 2**14286, -2**14287]:
    le = pickle.encode_long(n)
    text = str(n) if len(str(abs(n))) <= 4300 else hex(n)
    print(le.hex(), (le + (b"\xff" if n < 0 else b"\x00") * 300).hex(), text)
"#,
        );
        let mut lengths = Vec::new();
        for line in out.lines() {
            let mut parts = line.split(' ');
            let (le, wide, want) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            lengths.push(le.len() / 2);
            assert_eq!(int_repr(&unhex(le)), want, "{} bytes", le.len() / 2);
            assert_eq!(
                int_repr(&unhex(wide)),
                want,
                "{} bytes, sign-extended",
                wide.len() / 2
            );
        }
        assert!(lengths.contains(&(MAX_INT_BYTES + 1)), "{lengths:?}");
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn int_repr_beyond_the_limit_is_python_hex() {
        let out = python3(
            r#"
import pickle, random
r = random.Random(8)
for n in [2**14300, -2**14300, 2**(8*1786-1) - 1, -2**(8*1786-1), -2**15000 + 1] + [r.randrange(-2**20000, 2**20000) for _ in range(20)]:
    le = pickle.encode_long(n)
    assert len(le) > 1785
    print(le.hex(), hex(n))
"#,
        );
        for line in out.lines() {
            let (le, want) = line.split_once(' ').unwrap();
            assert_eq!(int_repr(&unhex(le)), want);
        }
        assert_eq!(int_repr(&[0u8; 2000]), "0");
        assert_eq!(int_repr(&[0xFFu8; 2000]), "-1");
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn decimal_text_repr() {
        let cases: &[(&[u8], &str)] = &[
            (b"0", "0"),
            (b"00", "0"),
            (b"-0", "0"),
            (b"+0", "0"),
            (b" -000 ", "0"),
            (b"5", "5"),
            (b"+5", "5"),
            (b"-5", "-5"),
            (b" \t-123\n ", "-123"),
            (
                b"99999999999999999999999999999999999999999999",
                "99999999999999999999999999999999999999999999",
            ),
        ];
        let texts: Vec<String> = cases.iter().map(|(t, _)| hex(t)).collect();
        let out = python3(&std::format!(
            "for t in {texts:?}: print(int(bytes.fromhex(t)))"
        ));
        for ((text, want), py) in cases.iter().zip(out.lines()) {
            assert_eq!(py, *want);
            assert_eq!(decimal_repr(text).unwrap(), *want, "{text:?}");
        }
        assert!(decimal_repr(b"010").is_err());
        assert!(decimal_repr(b"").is_err());
        assert!(decimal_repr(b"12a").is_err());
    }

    mod never_panics {
        use super::super::super::number::{
            decimal_to_i128, decimal_to_i64, le_to_i128, le_to_i64, parse_decimal_int,
            parse_float_line,
        };
        use super::super::super::text::{
            bytes_iter, bytes_len, code_points, py_literal_info, text_chars, validate_latin1,
            validate_text, BytesEncoding, TextEncoding,
        };
        use super::*;
        use proptest::prelude::*;

        /// Bytes biased towards the characters that drive the escape decoders.
        fn soup() -> impl Strategy<Value = Vec<u8>> {
            let byte = prop_oneof![
                4 => any::<u8>(),
                3 => prop::sample::select(&b"\\\\uUx0789abcdefABCDEF'\"-+eE. \n"[..]),
            ];
            prop::collection::vec(byte, 0..40)
        }

        proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig {
                // Under Miri: a few cases, and no failure file (Miri's isolation has no file system).
                cases: if cfg!(miri) { 4 } else { 2000 },
                failure_persistence: if cfg!(miri) { None } else { proptest::prelude::ProptestConfig::default().failure_persistence },
                ..proptest::prelude::ProptestConfig::default()
            })]

            #[test]
            fn text_functions(raw in soup()) {
                for enc in [TextEncoding::Utf8, TextEncoding::RawUnicodeEscape, TextEncoding::PyLiteral] {
                    let _ = validate_text(&raw, enc);
                    let _ = text_chars(&raw, enc).count();
                    let mut out = String::new();
                    write_str_repr(&mut out, code_points(&raw, enc)).unwrap();
                    if let Ok(len) = validate_latin1(&raw, enc) {
                        let b = BytesEncoding::Latin1(enc);
                        prop_assert_eq!(bytes_len(&raw, b), len);
                        prop_assert_eq!(bytes_iter(&raw, b).count(), len);
                    }
                    let _ = bytes_iter(&raw, BytesEncoding::Latin1(enc)).count();
                }
                if let Ok(info) = py_literal_info(&raw) {
                    prop_assert_eq!(bytes_len(&raw, BytesEncoding::PyLiteral), info.len);
                    let all_ascii = bytes_iter(&raw, BytesEncoding::PyLiteral).all(|b| b.is_ascii());
                    prop_assert_eq!(info.ascii, all_ascii);
                }
                let mut out = String::new();
                write_bytes_repr(&mut out, bytes_iter(&raw, BytesEncoding::PyLiteral)).unwrap();
                let _ = parse_float_line(&raw);
                let valid = parse_decimal_int(&raw).is_ok();
                let mut out = String::new();
                prop_assert_eq!(write_int_decimal_repr(&mut out, &raw).is_ok(), valid);
                if let Some(v) = decimal_to_i128(&raw) {
                    prop_assert_eq!(out, std::format!("{v}"));
                }
                let _ = decimal_to_i64(&raw);
            }

            #[test]
            fn le_ints(le in prop::collection::vec(any::<u8>(), 0..40), ext in 0usize..2100, fill in any::<bool>()) {
                let mut out = String::new();
                write_int_le_repr(&mut out, &le).unwrap();
                if let Some(v) = le_to_i128(&le) {
                    prop_assert_eq!(&out, &std::format!("{v}"));
                }
                let _ = le_to_i64(&le);
                // Sign-extended to any length, including past MAX_INT_BYTES
                // (then hex): same value.
                let mut wide = le.clone();
                let sign = if le.last().is_some_and(|&b| b & 0x80 != 0) { 0xFF } else { 0 };
                wide.resize(le.len() + ext, if fill { sign } else { 0 });
                let mut out2 = String::new();
                write_int_le_repr(&mut out2, &wide).unwrap();
                if fill && wide.len() <= MAX_INT_BYTES {
                    prop_assert_eq!(out, out2);
                }
            }
        }
    }
}
