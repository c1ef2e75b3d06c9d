//! Text and byte-string argument encodings of protocol 0 and Python 2 strings.
//!
//! Decoded strings borrow their raw argument; these iterators decode on the fly,
//! so nothing is copied or allocated. Validate once (`validate_*`,
//! [`py_literal_info`]), then iterate as often as needed: on invalid input the
//! iterators never panic, they stop early.
//!
//! CPython behaviour followed here is that of the C unpickler (`_pickle`, what
//! `pickle.loads` runs), checked against CPython 3.11.
#![allow(dead_code)] // the decoder using these is written in parallel

/// Python's default `sys.get_int_max_str_digits()`: `int(text)` refuses more digits.
pub(crate) const MAX_INT_DIGITS: usize = 4300;

/// How a string argument's bytes encode its characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    /// BINUNICODE/SHORT_BINUNICODE/BINUNICODE8 and ASCII-only BINSTRING/SHORT_BINSTRING: valid UTF-8.
    Utf8,
    /// UNICODE opcode (protocol 0) argument, the line without its `'\n'`: Python's `raw-unicode-escape`.
    RawUnicodeEscape,
    /// STRING opcode argument without `'\n'`: a quoted Python 2 literal, decoded with
    /// `codecs.escape_decode` between the quotes; text only when the decoded bytes are ASCII.
    PyLiteral,
}

/// How a bytes value's raw argument encodes its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BytesEncoding {
    /// The bytes themselves.
    Raw,
    /// STRING argument (quoted literal with escapes), a non-ASCII Python 2 str.
    PyLiteral,
    /// Text whose code points are all `<= 0xFF`, one byte each
    /// (CPython's `_codecs.encode(s, 'latin1')` pattern for bytes in protocols 0-2).
    Latin1(TextEncoding),
}

/// Python's `Py_ISSPACE` on bytes: what `int()` strips.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

fn trim_py_space(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_py_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_py_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

fn hex_value(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

/// `n` hex digits at the start of `s`, or `None` if there are fewer.
fn hex_prefix(s: &[u8], n: usize) -> Option<u32> {
    let digits = s.get(..n)?;
    digits
        .iter()
        .try_fold(0u32, |acc, &b| Some((acc << 4) | hex_value(b)?))
}

// ---------------------------------------------------------------------------
// raw-unicode-escape (UNICODE opcode)

/// One decoded unit of raw-unicode-escape: a char, maybe followed by a backslash
/// (an escaped backslash pair `\\` decodes to both backslashes), and the bytes used.
#[derive(Clone, Copy)]
struct RueStep {
    ch: char,
    extra_backslash: bool,
    len: usize,
}

/// Decodes the unit at the start of a non-empty `s`, as CPython 3.11's
/// `raw_unicode_escape` decoder: bytes are Latin-1 code points; `\uXXXX` and
/// `\UXXXXXXXX` are escapes only after an odd number of backslashes; any other
/// backslash is literal.
fn rue_step(s: &[u8]) -> Option<Result<RueStep, &'static str>> {
    let (&b, rest) = s.split_first()?;
    let lit = |ch: char, len| {
        Some(Ok(RueStep {
            ch,
            extra_backslash: false,
            len,
        }))
    };
    if b != b'\\' {
        return lit(char::from(b), 1);
    }
    let (digits, len) = match rest.first() {
        Some(b'\\') => {
            return Some(Ok(RueStep {
                ch: '\\',
                extra_backslash: true,
                len: 2,
            }))
        }
        Some(b'u') => (4, 6),
        Some(b'U') => (8, 10),
        _ => return lit('\\', 1),
    };
    let Some(cp) = rest.get(1..).and_then(|h| hex_prefix(h, digits)) else {
        return Some(Err(if digits == 4 {
            "truncated \\uXXXX escape"
        } else {
            "truncated \\UXXXXXXXX escape"
        }));
    };
    if cp > 0x10FFFF {
        return Some(Err("\\Uxxxxxxxx out of range"));
    }
    match char::from_u32(cp) {
        Some(ch) => lit(ch, len),
        None => Some(Err("lone surrogate")),
    }
}

/// Iterator over the characters of a raw-unicode-escape argument.
#[derive(Clone, Debug)]
struct RueChars<'a> {
    rest: &'a [u8],
    pending_backslash: bool,
}

impl Iterator for RueChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if self.pending_backslash {
            self.pending_backslash = false;
            return Some('\\');
        }
        match rue_step(self.rest)? {
            Ok(step) => {
                self.rest = self.rest.get(step.len..).unwrap_or_default();
                self.pending_backslash = step.extra_backslash;
                Some(step.ch)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Python 2 string literals (STRING opcode): codecs.escape_decode

/// The text between the quotes of a STRING argument (`'...'` or `"..."`, at least 2 bytes).
/// The body may itself contain unescaped quotes, as CPython does not check.
fn literal_body(raw: &[u8]) -> Result<&[u8], &'static str> {
    match raw {
        [open, body @ .., close] if open == close && (*open == b'\'' || *open == b'"') => Ok(body),
        _ => Err("string argument not quoted"),
    }
}

/// Decodes the escape-decode unit at the start of non-empty `s` like CPython 3.11's
/// `PyBytes_DecodeEscape`: returns the byte (none for a `\<newline>` continuation)
/// and the bytes used. Unknown escapes keep their backslash; octal escapes above
/// `\377` wrap to a byte, as CPython does (with only a warning).
fn esc_step(s: &[u8]) -> Option<Result<(Option<u8>, usize), &'static str>> {
    let (&b, rest) = s.split_first()?;
    if b != b'\\' {
        return Some(Ok((Some(b), 1)));
    }
    let Some(&e) = rest.first() else {
        return Some(Err("trailing \\ in string"));
    };
    let simple = |byte: u8| Some(Ok((Some(byte), 2)));
    match e {
        b'\n' => Some(Ok((None, 2))),
        b'\\' | b'\'' | b'"' => simple(e),
        b'b' => simple(0x08),
        b'f' => simple(0x0c),
        b't' => simple(b'\t'),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b'v' => simple(0x0b),
        b'a' => simple(0x07),
        b'0'..=b'7' => {
            let mut value = u32::from(e - b'0');
            let mut len = 2;
            for &d in rest.get(1..).unwrap_or_default().iter().take(2) {
                if !(b'0'..=b'7').contains(&d) {
                    break;
                }
                value = (value << 3) | u32::from(d - b'0');
                len += 1;
            }
            Some(Ok((Some(value.to_le_bytes()[0]), len)))
        }
        b'x' => match rest.get(1..).and_then(|h| hex_prefix(h, 2)) {
            Some(v) => Some(Ok((Some(v.to_le_bytes()[0]), 4))),
            None => Some(Err("invalid \\x escape")),
        },
        // Unknown escape: the backslash stays; the next byte is decoded on its own.
        _ => Some(Ok((Some(b'\\'), 1))),
    }
}

/// Iterator over the bytes that `codecs.escape_decode` makes of a literal's body.
#[derive(Clone, Debug)]
struct EscBytes<'a> {
    rest: &'a [u8],
}

impl EscBytes<'_> {
    fn new(raw: &[u8]) -> EscBytes<'_> {
        EscBytes {
            rest: literal_body(raw).unwrap_or_default(),
        }
    }
}

impl Iterator for EscBytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        loop {
            match esc_step(self.rest)? {
                Ok((byte, len)) => {
                    self.rest = self.rest.get(len..).unwrap_or_default();
                    if byte.is_some() {
                        return byte;
                    }
                }
                Err(_) => {
                    self.rest = &[];
                    return None;
                }
            }
        }
    }
}

/// What [`py_literal_info`] learns about a valid STRING argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PyLiteralInfo {
    /// All decoded bytes are ASCII, so CPython's default `encoding='ASCII'` makes a str.
    pub(crate) ascii: bool,
    /// Number of decoded bytes.
    pub(crate) len: usize,
}

/// Validates a STRING argument (without `'\n'`): matching quotes and escapes.
pub(crate) fn py_literal_info(raw: &[u8]) -> Result<PyLiteralInfo, &'static str> {
    let mut rest = literal_body(raw)?;
    let mut info = PyLiteralInfo {
        ascii: true,
        len: 0,
    };
    while let Some(step) = esc_step(rest) {
        let (byte, len) = step?;
        if let Some(byte) = byte {
            info.ascii &= byte.is_ascii();
            info.len += 1;
        }
        rest = rest.get(len..).unwrap_or_default();
    }
    Ok(info)
}

// ---------------------------------------------------------------------------
// Text

/// Iterator over the characters of a string argument; see [`text_chars`].
#[derive(Clone, Debug)]
pub(crate) struct TextChars<'a> {
    inner: CharsInner<'a>,
}

#[derive(Clone, Debug)]
enum CharsInner<'a> {
    Utf8(core::str::Chars<'a>),
    Rue(RueChars<'a>),
    Literal(EscBytes<'a>),
}

impl Iterator for TextChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match &mut self.inner {
            CharsInner::Utf8(c) => c.next(),
            CharsInner::Rue(c) => c.next(),
            CharsInner::Literal(b) => b.next().map(char::from),
        }
    }
}

/// The valid UTF-8 prefix of `raw`.
fn utf8_prefix(raw: &[u8]) -> &str {
    match core::str::from_utf8(raw) {
        Ok(s) => s,
        Err(e) => raw
            .get(..e.valid_up_to())
            .and_then(|p| core::str::from_utf8(p).ok())
            .unwrap_or_default(),
    }
}

/// The characters of `raw` under `enc`. Validate first with [`validate_text`]; on
/// invalid input the iterator stops at the first error. A non-ASCII `PyLiteral`
/// yields its bytes as Latin-1 characters.
pub(crate) fn text_chars(raw: &[u8], enc: TextEncoding) -> TextChars<'_> {
    let inner = match enc {
        TextEncoding::Utf8 => CharsInner::Utf8(utf8_prefix(raw).chars()),
        TextEncoding::RawUnicodeEscape => CharsInner::Rue(RueChars {
            rest: raw,
            pending_backslash: false,
        }),
        TextEncoding::PyLiteral => CharsInner::Literal(EscBytes::new(raw)),
    };
    TextChars { inner }
}

/// Number of characters of (valid) `raw` under `enc`.
pub(crate) fn text_len_chars(raw: &[u8], enc: TextEncoding) -> usize {
    match enc {
        TextEncoding::Utf8 => utf8_prefix(raw).chars().count(),
        _ => text_chars(raw, enc).count(),
    }
}

/// Checks once that `raw` is valid text under `enc`; the error is a short lowercase phrase.
///
/// Lone surrogates (which Python strings may hold but Rust `char`s cannot) are
/// refused as `"lone surrogate"`, whether escaped (`\ud800`) or written by CPython's
/// `surrogatepass` UTF-8 (`ED A0 80`).
pub(crate) fn validate_text(raw: &[u8], enc: TextEncoding) -> Result<(), &'static str> {
    match enc {
        TextEncoding::Utf8 => match core::str::from_utf8(raw) {
            Ok(_) => Ok(()),
            Err(e) => match raw.get(e.valid_up_to()..) {
                Some([0xED, 0xA0..=0xBF, 0x80..=0xBF, ..]) => Err("lone surrogate"),
                _ => Err("invalid utf-8"),
            },
        },
        TextEncoding::RawUnicodeEscape => {
            let mut rest = raw;
            while let Some(step) = rue_step(rest) {
                rest = rest.get(step?.len..).unwrap_or_default();
            }
            Ok(())
        }
        TextEncoding::PyLiteral => {
            if py_literal_info(raw)?.ascii {
                Ok(())
            } else {
                Err("non-ascii python 2 str")
            }
        }
    }
}

/// Checks that `raw` is valid text under `enc` with every code point `<= 0xFF`,
/// and returns the number of bytes it encodes to in Latin-1.
pub(crate) fn validate_latin1(raw: &[u8], enc: TextEncoding) -> Result<usize, &'static str> {
    if enc == TextEncoding::PyLiteral {
        // Its bytes are Latin-1 code points whatever their value.
        return py_literal_info(raw).map(|info| info.len);
    }
    validate_text(raw, enc)?;
    let mut n = 0usize;
    for c in text_chars(raw, enc) {
        if u32::from(c) > 0xFF {
            return Err("code point above 0xff in latin-1 bytes");
        }
        n += 1;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// Bytes

/// Iterator over decoded bytes; see [`bytes_iter`].
#[derive(Clone, Debug)]
pub(crate) struct ByteIter<'a> {
    inner: BytesInner<'a>,
}

#[derive(Clone, Debug)]
enum BytesInner<'a> {
    Raw(core::slice::Iter<'a, u8>),
    Literal(EscBytes<'a>),
    Latin1(TextChars<'a>),
}

impl Iterator for ByteIter<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        match &mut self.inner {
            BytesInner::Raw(i) => i.next().copied(),
            BytesInner::Literal(i) => i.next(),
            BytesInner::Latin1(chars) => {
                let c = chars.next()?;
                match u8::try_from(c) {
                    Ok(b) => Some(b),
                    Err(_) => {
                        // Not Latin-1 (not validated): stop for good.
                        chars.inner = CharsInner::Utf8("".chars());
                        None
                    }
                }
            }
        }
    }
}

/// The bytes `raw` decodes to under `enc` (validate first; stops early on invalid input).
pub(crate) fn bytes_iter(raw: &[u8], enc: BytesEncoding) -> ByteIter<'_> {
    let inner = match enc {
        BytesEncoding::Raw => BytesInner::Raw(raw.iter()),
        BytesEncoding::PyLiteral => BytesInner::Literal(EscBytes::new(raw)),
        BytesEncoding::Latin1(t) => BytesInner::Latin1(text_chars(raw, t)),
    };
    ByteIter { inner }
}

/// Number of bytes `raw` decodes to under `enc`.
pub(crate) fn bytes_len(raw: &[u8], enc: BytesEncoding) -> usize {
    match enc {
        BytesEncoding::Raw => raw.len(),
        _ => bytes_iter(raw, enc).count(),
    }
}

// ---------------------------------------------------------------------------
// Integers

/// Sign and digits of a decimal integer argument; see [`parse_decimal_int`].
fn split_decimal(text: &[u8]) -> Result<(bool, &[u8]), &'static str> {
    let t = trim_py_space(text);
    let (negative, digits) = match t {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, t),
    };
    if digits.is_empty() {
        return Err("integer without digits");
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err("invalid decimal integer");
    }
    if digits.len() > MAX_INT_DIGITS {
        return Err("integer exceeds 4300 digits");
    }
    if let [b'0', rest @ ..] = digits {
        if rest.iter().any(|&d| d != b'0') {
            return Err("leading zeros in integer");
        }
    }
    Ok((negative, digits))
}

/// Validates an INT/LONG line argument (without `'\n'`, for LONG without its `'L'`):
/// optional Python whitespace, optional sign, ASCII digits (at most 4300, as Python's
/// `int()`), more whitespace.
///
/// Stricter than CPython on purpose: leading zeros (`010`) are refused, because the C
/// unpickler reads INT `010` as octal 8 while LONG `010` is an error; hex/octal/binary
/// prefixes and `_` separators (which CPython's `int(s, 0)` takes) are refused too.
/// Pickle writers never emit any of them.
pub(crate) fn parse_decimal_int(text: &[u8]) -> Result<(), &'static str> {
    split_decimal(text).map(|_| ())
}

/// The magnitude of validated digits, or `None` above `u128::MAX`.
fn digits_to_u128(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &d| {
        acc.checked_mul(10)?
            .checked_add(u128::from(d.wrapping_sub(b'0')))
    })
}

/// The value of an INT/LONG argument as `i128`; `None` if invalid or out of range.
pub(crate) fn decimal_to_i128(text: &[u8]) -> Option<i128> {
    let (negative, digits) = split_decimal(text).ok()?;
    let magnitude = digits_to_u128(digits)?;
    if negative {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    }
}

/// The value of an INT/LONG argument as `i64`; `None` if invalid or out of range.
pub(crate) fn decimal_to_i64(text: &[u8]) -> Option<i64> {
    decimal_to_i128(text).and_then(|v| i64::try_from(v).ok())
}

/// A LONG1/LONG4 payload (little-endian two's complement, any length, empty = 0) as `i128`.
pub(crate) fn le_to_i128(le: &[u8]) -> Option<i128> {
    let negative = le.last().is_some_and(|&b| b & 0x80 != 0);
    let fill = if negative { 0xFF } else { 0x00 };
    let (low, high) = le.split_at(le.len().min(16));
    // Bytes past 16 must be pure sign extension, agreeing with bit 127.
    if !high.iter().all(|&b| b == fill) {
        return None;
    }
    let mut buf = [fill; 16];
    for (dst, src) in buf.iter_mut().zip(low) {
        *dst = *src;
    }
    let value = i128::from_le_bytes(buf);
    if (value < 0) != negative {
        return None;
    }
    Some(value)
}

/// A LONG1/LONG4 payload as `i64`; `None` if out of range.
pub(crate) fn le_to_i64(le: &[u8]) -> Option<i64> {
    le_to_i128(le).and_then(|v| i64::try_from(v).ok())
}

// ---------------------------------------------------------------------------
// Floats

/// Parses a FLOAT argument (without `'\n'`) as the C unpickler does
/// (`PyOS_string_to_double`): `[sign] digits [. digits] [e [sign] digits]`, or
/// `inf`, `infinity`, `nan` in any case with optional sign. Like CPython 3.11's
/// `pickle.loads`, and unlike `float()`, it refuses surrounding whitespace and `_`,
/// and refuses finite text that overflows to infinity (`1e500`: CPython raises
/// `OverflowError`).
pub(crate) fn parse_float_line(text: &[u8]) -> Result<f64, &'static str> {
    const ERR: &str = "invalid float";
    let s = core::str::from_utf8(text).map_err(|_| ERR)?;
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let word = unsigned.eq_ignore_ascii_case("inf")
        || unsigned.eq_ignore_ascii_case("infinity")
        || unsigned.eq_ignore_ascii_case("nan");
    if !word && !valid_float_number(unsigned.as_bytes()) {
        return Err(ERR);
    }
    let value: f64 = s.parse().map_err(|_| ERR)?;
    if !word && value.is_infinite() {
        return Err("float out of range");
    }
    Ok(value)
}

/// `(digits [. digits*] | . digits) [(e|E) [sign] digits]`, no sign in front.
fn valid_float_number(s: &[u8]) -> bool {
    fn digits(s: &[u8]) -> (usize, &[u8]) {
        let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
        (n, s.get(n..).unwrap_or_default())
    }
    let (int_digits, rest) = digits(s);
    let (frac_digits, rest) = match rest {
        [b'.', after @ ..] => digits(after),
        _ => (0, rest),
    };
    if int_digits + frac_digits == 0 {
        return false;
    }
    match rest {
        [] => true,
        [b'e' | b'E', exp @ ..] => {
            let exp = match exp {
                [b'+' | b'-', e @ ..] => e,
                _ => exp,
            };
            let (n, tail) = digits(exp);
            n > 0 && tail.is_empty()
        }
        _ => false,
    }
}
