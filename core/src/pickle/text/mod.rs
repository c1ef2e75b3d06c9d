//! Text and byte-string argument encodings of protocol 0 and Python 2 strings.
//!
//! Decoded strings borrow their raw argument; these iterators decode on the fly,
//! so nothing is copied or allocated. Validate once (`validate_*`,
//! [`py_literal_info`]), then iterate as often as needed: on invalid input the
//! iterators never panic, they stop early.
//!
//! CPython behaviour followed here is that of the C unpickler (`_pickle`, what
//! `pickle.loads` runs), checked against CPython 3.8 to 3.13.

mod literal;

pub(crate) use literal::py_literal_info;
use literal::EscBytes;

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

/// One decoded unit of raw-unicode-escape: a code point (maybe a lone surrogate), maybe
/// followed by a backslash (an escaped backslash pair `\\` decodes to both backslashes), and
/// the bytes used.
#[derive(Clone, Copy)]
struct RueStep {
    cp: u32,
    extra_backslash: bool,
    len: usize,
}

/// Decodes the unit at the start of a non-empty `s`, as CPython 3.11's
/// `raw_unicode_escape` decoder: bytes are Latin-1 code points; `\uXXXX` and
/// `\UXXXXXXXX` are escapes only after an odd number of backslashes (a surrogate's escape
/// is a lone surrogate, two of them stay two); any other backslash is literal.
fn rue_step(s: &[u8]) -> Option<Result<RueStep, &'static str>> {
    let (&b, rest) = s.split_first()?;
    let lit = |cp: u32, len| {
        Some(Ok(RueStep {
            cp,
            extra_backslash: false,
            len,
        }))
    };
    if b != b'\\' {
        return lit(u32::from(b), 1);
    }
    let (digits, len) = match rest.first() {
        Some(b'\\') => {
            return Some(Ok(RueStep {
                cp: u32::from('\\'),
                extra_backslash: true,
                len: 2,
            }))
        }
        Some(b'u') => (4, 6),
        Some(b'U') => (8, 10),
        _ => return lit(u32::from('\\'), 1),
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
    lit(cp, len)
}

/// Iterator over the code points of a raw-unicode-escape argument.
#[derive(Clone, Debug)]
struct RuePoints<'a> {
    rest: &'a [u8],
    pending_backslash: bool,
}

impl Iterator for RuePoints<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.pending_backslash {
            self.pending_backslash = false;
            return Some(u32::from('\\'));
        }
        match rue_step(self.rest)? {
            Ok(step) => {
                self.rest = self.rest.get(step.len..).unwrap_or_default();
                self.pending_backslash = step.extra_backslash;
                Some(step.cp)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------
// UTF-8 with lone surrogates (CPython's 'surrogatepass')

/// The surrogate (U+D800..U+DFFF) that 'surrogatepass' UTF-8 writes as `ED A0..BF 80..BF`, at
/// the start of `s`, and the bytes after it.
fn surrogate_prefix(s: &[u8]) -> Option<(u32, &[u8])> {
    match s {
        [0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF, tail @ ..] => Some((
            0xD000 | u32::from(b1 & 0x3F) << 6 | u32::from(b2 & 0x3F),
            tail,
        )),
        _ => None,
    }
}

/// The longest valid UTF-8 prefix of `raw` and the bytes after it.
fn utf8_split(raw: &[u8]) -> (&str, &[u8]) {
    match core::str::from_utf8(raw) {
        Ok(s) => (s, &[]),
        Err(e) => {
            let (valid, rest) = raw.split_at_checked(e.valid_up_to()).unwrap_or((raw, &[]));
            (core::str::from_utf8(valid).unwrap_or_default(), rest)
        }
    }
}

/// Iterator over the code points of UTF-8 in which lone surrogates are 3 bytes each, as
/// CPython's `str.encode('utf-8', 'surrogatepass')` writes them: runs of valid UTF-8 are
/// read by `core::str::Chars`, each surrogate between them by hand.
#[derive(Clone, Debug)]
struct Utf8Points<'a> {
    chars: core::str::Chars<'a>,
    /// What follows the current run: a surrogate and more, or nothing (or invalid bytes,
    /// where the iterator stops).
    rest: &'a [u8],
}

impl<'a> Utf8Points<'a> {
    fn new(raw: &'a [u8]) -> Self {
        let (run, rest) = utf8_split(raw);
        Utf8Points {
            chars: run.chars(),
            rest,
        }
    }
}

impl Iterator for Utf8Points<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if let Some(c) = self.chars.next() {
            return Some(u32::from(c));
        }
        let (cp, tail) = surrogate_prefix(self.rest)?;
        *self = Utf8Points::new(tail);
        Some(cp)
    }
}

/// Whether `cp` is a surrogate code point (U+D800..U+DFFF), which a Python str may hold
/// alone but a Rust `char` cannot.
pub(crate) fn is_surrogate(cp: u32) -> bool {
    (0xD800..=0xDFFF).contains(&cp)
}

// ---------------------------------------------------------------------------
// Text

/// Iterator over the code points of a string argument; see [`code_points`].
#[derive(Clone, Debug)]
pub(crate) struct CodePoints<'a> {
    inner: PointsInner<'a>,
}

#[derive(Clone, Debug)]
enum PointsInner<'a> {
    Utf8(Utf8Points<'a>),
    Rue(RuePoints<'a>),
    Literal(EscBytes<'a>),
}

impl Iterator for CodePoints<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        match &mut self.inner {
            PointsInner::Utf8(c) => c.next(),
            PointsInner::Rue(c) => c.next(),
            PointsInner::Literal(b) => b.next().map(u32::from),
        }
    }
}

/// The code points of `raw` under `enc`, lone surrogates included. Validate first with
/// [`validate_text`]; on invalid input the iterator stops at the first error. A non-ASCII
/// `PyLiteral` yields its bytes as Latin-1 code points.
pub(crate) fn code_points(raw: &[u8], enc: TextEncoding) -> CodePoints<'_> {
    let inner = match enc {
        TextEncoding::Utf8 => PointsInner::Utf8(Utf8Points::new(raw)),
        TextEncoding::RawUnicodeEscape => PointsInner::Rue(RuePoints {
            rest: raw,
            pending_backslash: false,
        }),
        TextEncoding::PyLiteral => PointsInner::Literal(EscBytes::new(raw)),
    };
    CodePoints { inner }
}

/// Iterator over the characters of a string argument; see [`text_chars`].
#[derive(Clone, Debug)]
pub(crate) struct TextChars<'a>(CodePoints<'a>);

impl Iterator for TextChars<'_> {
    type Item = char;

    #[inline]
    fn next(&mut self) -> Option<char> {
        self.0
            .next()
            .map(|cp| char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER))
    }
}

/// The characters of `raw` under `enc`: [`code_points`] with each lone surrogate as U+FFFD.
pub(crate) fn text_chars(raw: &[u8], enc: TextEncoding) -> TextChars<'_> {
    TextChars(code_points(raw, enc))
}

/// Checks once that `raw` is valid text under `enc`, as CPython's C unpickler reads it; the
/// error is a short lowercase phrase.
///
/// Lone surrogates are text, as in Python: escaped (`\ud800`) or written by CPython's
/// `surrogatepass` UTF-8 (`ED A0 80`).
pub(crate) fn validate_text(raw: &[u8], enc: TextEncoding) -> Result<(), &'static str> {
    match enc {
        TextEncoding::Utf8 if raw.is_ascii() => Ok(()),
        TextEncoding::Utf8 => {
            let mut rest = raw;
            loop {
                let (_, after) = utf8_split(rest);
                if after.is_empty() {
                    return Ok(());
                }
                rest = surrogate_prefix(after).ok_or("invalid utf-8")?.1;
            }
        }
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
    for cp in code_points(raw, enc) {
        if cp > 0xFF {
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
    Latin1(CodePoints<'a>),
}

impl Iterator for ByteIter<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        match &mut self.inner {
            BytesInner::Raw(i) => i.next().copied(),
            BytesInner::Literal(i) => i.next(),
            BytesInner::Latin1(points) => {
                let cp = points.next()?;
                match u8::try_from(cp) {
                    Ok(b) => Some(b),
                    Err(_) => {
                        // Not Latin-1 (not validated): stop for good.
                        *points = code_points(&[], TextEncoding::Utf8);
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
        BytesEncoding::Latin1(t) => BytesInner::Latin1(code_points(raw, t)),
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

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::oracle::{hex, python3, unhex};
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn chars(raw: &[u8], enc: TextEncoding) -> String {
        text_chars(raw, enc).collect()
    }

    // -- raw-unicode-escape -------------------------------------------------

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn unicode_arguments_as_cpython_writes_them() {
        // Fixture from python3: pickle.dumps('é\n\\ \u1234 \U0001F600\r\x1a\0', 0)
        let arg = b"\xe9\\u000a\\u005c \\u1234 \\U0001f600\\u000d\\u001a\\u0000";
        validate_text(arg, TextEncoding::RawUnicodeEscape).unwrap();
        assert_eq!(
            chars(arg, TextEncoding::RawUnicodeEscape),
            "\u{e9}\n\\ \u{1234} \u{1F600}\r\x1a\0"
        );
        assert_eq!(text_chars(arg, TextEncoding::RawUnicodeEscape).count(), 10);

        // Many strings, pickled by CPython at protocol 0; the argument is the
        // line after 'V'.
        let out = python3(
            r#"
import pickle, random
r = random.Random(1234)
edge = ['', 'a', '\\', '\\u', '\\\\u0041', '\x00\n\r\x1a', "it's", '"', 'é', '\xff\u0100',
        '\u2028\ufeff', '\U0010ffff', '\U0001f600', 'a\u0301', '\ue000', '\U000e0001', '\ud7ff\ue000']
pool = [chr(c) for c in list(range(0, 0x300)) + [0x2028, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff]]
for _ in range(1500):
    n = r.randrange(0, 12)
    s = ''.join(r.choice(pool) if r.random() < .7 else chr(r.choice([r.randrange(0xd800), r.randrange(0xe000, 0x110000)])) for _ in range(n))
    edge.append(s)
for s in edge:
    p = pickle.dumps(s, 0)
    assert p[:1] == b'V'
    arg = p[1:p.index(b'\n')]
    print(arg.hex(), s.encode('utf-8').hex())
"#,
        );
        let mut n = 0;
        for line in out.lines() {
            let mut it = line.split(' ');
            let (arg, want) = (unhex(it.next().unwrap()), unhex(it.next().unwrap_or("")));
            let want = String::from_utf8(want).unwrap();
            validate_text(&arg, TextEncoding::RawUnicodeEscape).unwrap();
            assert_eq!(chars(&arg, TextEncoding::RawUnicodeEscape), want, "{line}");
            n += 1;
        }
        assert_eq!(n, 1517);
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn raw_unicode_escape_edge_cases_match_cpython() {
        let cases: &[&[u8]] = &[
            b"",
            b"\\",
            b"\\\\",
            b"\\\\\\",
            b"\\\\u0041",
            b"\\\\\\u0041",
            b"\\\\\\\\u0041",
            b"\\x41",
            b"\\n",
            b"\\u",
            b"\\u004",
            b"\\u004g",
            b"\\u0041",
            b"\\U0001F600",
            b"\\U0001f60",
            b"\\U00110000",
            b"\\Uffffffff",
            b"\\U0010FFFF",
            b"\\ud800",
            b"\\udfff",
            b"\\ud83d\\ude00",
            b"\\U0000d800",
            b"\xe9\xff\x80",
            b"a\\",
            b"\\u00e9\\",
            b"\\uABCDz",
        ];
        let arg_list: Vec<String> = cases.iter().map(|c| hex(c)).collect();
        let out = python3(&std::format!(
            r#"
for h in {arg_list:?}:
    try:
        s = bytes.fromhex(h).decode('raw-unicode-escape')
    except UnicodeDecodeError:
        print('ERR'); continue
    print('OK', *[format(ord(c), 'x') for c in s])
"#
        ));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), cases.len());
        let mut surrogates = 0;
        for (case, line) in cases.iter().zip(lines) {
            let got = validate_text(case, TextEncoding::RawUnicodeEscape);
            if line == "ERR" {
                assert!(got.is_err(), "{case:?}");
            } else {
                let want: Vec<u32> = line
                    .split(' ')
                    .skip(1)
                    .map(|h| u32::from_str_radix(h, 16).unwrap())
                    .collect();
                assert_eq!(got, Ok(()), "{case:?}");
                let points: Vec<u32> = code_points(case, TextEncoding::RawUnicodeEscape).collect();
                assert_eq!(points, want, "{case:?}");
                // chars() is the same with U+FFFD for each lone surrogate.
                let lossy: String = want
                    .iter()
                    .map(|&cp| char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
                assert_eq!(chars(case, TextEncoding::RawUnicodeEscape), lossy);
                surrogates += want.iter().filter(|&&cp| is_surrogate(cp)).count();
            }
            // Never panics, stops early on invalid input.
            let _ = text_chars(case, TextEncoding::RawUnicodeEscape).count();
        }
        // \ud800, \udfff, the pair (two lone surrogates, as in Python), \U0000d800.
        assert_eq!(surrogates, 5);
    }

    // -- UTF-8 ----------------------------------------------------------------

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn utf8_and_surrogatepass() {
        assert_eq!(
            validate_text("héllo €😀".as_bytes(), TextEncoding::Utf8),
            Ok(())
        );
        assert_eq!(
            chars("héllo €😀".as_bytes(), TextEncoding::Utf8),
            "héllo €😀"
        );
        // CPython pickles lone surrogates with 'surrogatepass' UTF-8:
        // python3: pickle.dumps('a\ud800', 4) ends b'X\x04\x00\x00\x00a\xed\xa0\x80\x94.'
        let out = python3("import pickle; print(pickle.dumps('a\\ud800', 4).hex())");
        let p = unhex(out.trim());
        let arg = &p[p.len() - 6..p.len() - 2];
        assert_eq!(arg, b"a\xed\xa0\x80");
        assert_eq!(validate_text(arg, TextEncoding::Utf8), Ok(()));
        let points = |raw: &[u8]| code_points(raw, TextEncoding::Utf8).collect::<Vec<u32>>();
        assert_eq!(points(arg), [0x61, 0xD800]);
        assert_eq!(chars(arg, TextEncoding::Utf8), "a\u{FFFD}");
        // Every surrogate, between, before and after other text; CPython's own encoder.
        let out = python3(
            r#"
for s in ['\udfff', '\ud83d\ude00x', 'é\udc80€', '\ud800\ud800', '😀\udbff\U0010ffff', 'a\udc00']:
    print(s.encode('utf-8', 'surrogatepass').hex(), *[format(ord(c), 'x') for c in s])
"#,
        );
        for line in out.lines() {
            let mut it = line.split(' ');
            let raw = unhex(it.next().unwrap());
            let want: Vec<u32> = it.map(|h| u32::from_str_radix(h, 16).unwrap()).collect();
            assert_eq!(validate_text(&raw, TextEncoding::Utf8), Ok(()), "{line}");
            assert_eq!(points(&raw), want, "{line}");
        }
        // What 'surrogatepass' does not accept: truncated surrogates, overlong forms.
        for bad in [
            &b"\xed\xa0"[..],
            b"a\xed",
            b"\xed\xc0\x80",
            b"\xed\xa0\x80\xff",
            b"\xc0\x80",
        ] {
            assert_eq!(
                validate_text(bad, TextEncoding::Utf8),
                Err("invalid utf-8"),
                "{bad:?}"
            );
            let _ = points(bad);
        }
        assert_eq!(
            validate_text(b"\xff", TextEncoding::Utf8),
            Err("invalid utf-8")
        );
        assert_eq!(
            validate_text(b"a\xe2\x82", TextEncoding::Utf8),
            Err("invalid utf-8")
        );
        assert_eq!(chars(b"ab\xffcd", TextEncoding::Utf8), "ab");
    }

    // -- Latin-1 bytes (protocols 0-2) -------------------------------------

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn latin1_bytes_as_cpython_pickles_them() {
        let all: Vec<u8> = (0..=255).collect();
        // Protocol 0: c_codecs\nencode\n...(V<raw-unicode-escape>\n...
        let p0 =
            unhex(python3("import pickle; print(pickle.dumps(bytes(range(256)), 0).hex())").trim());
        let start = p0.windows(2).position(|w| w == b"(V").unwrap() + 2;
        let len = p0[start..].iter().position(|&b| b == b'\n').unwrap();
        let arg = &p0[start..start + len];
        let enc = BytesEncoding::Latin1(TextEncoding::RawUnicodeEscape);
        assert_eq!(
            validate_latin1(arg, TextEncoding::RawUnicodeEscape),
            Ok(256)
        );
        assert_eq!(bytes_iter(arg, enc).collect::<Vec<_>>(), all);
        assert_eq!(bytes_len(arg, enc), 256);
        // Protocol 2: BINUNICODE 'X' <u32 len> <utf-8>.
        let p2 =
            unhex(python3("import pickle; print(pickle.dumps(bytes(range(256)), 2).hex())").trim());
        let x = p2.iter().position(|&b| b == b'X').unwrap();
        let n = u32::from_le_bytes(p2[x + 1..x + 5].try_into().unwrap()) as usize;
        let arg = &p2[x + 5..x + 5 + n];
        assert_eq!(validate_latin1(arg, TextEncoding::Utf8), Ok(256));
        assert_eq!(
            bytes_iter(arg, BytesEncoding::Latin1(TextEncoding::Utf8)).collect::<Vec<_>>(),
            all
        );
        // Above U+00FF: refused, and the iterator stops.
        assert!(validate_latin1("aĀb".as_bytes(), TextEncoding::Utf8).is_err());
        assert!(validate_latin1(b"a\\u0100", TextEncoding::RawUnicodeEscape).is_err());
        let enc = BytesEncoding::Latin1(TextEncoding::Utf8);
        assert_eq!(bytes_iter("aĀb".as_bytes(), enc).collect::<Vec<_>>(), b"a");
        assert_eq!(validate_latin1(b"'\\xff'", TextEncoding::PyLiteral), Ok(1));
        assert_eq!(bytes_len(b"abc", BytesEncoding::Raw), 3);
        assert_eq!(
            bytes_iter(b"abc", BytesEncoding::Raw).collect::<Vec<_>>(),
            b"abc"
        );
    }
}
