//! Python 2 string literals (STRING opcode arguments), decoded as `codecs.escape_decode`
//! does between the quotes.

use super::hex_prefix;

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
pub(super) struct EscBytes<'a> {
    rest: &'a [u8],
}

impl EscBytes<'_> {
    pub(super) fn new(raw: &[u8]) -> EscBytes<'_> {
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

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::super::oracle::{hex, python3, unhex};
    use super::super::{
        bytes_iter, bytes_len, text_chars, validate_text, BytesEncoding, TextEncoding,
    };
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn string_literals_match_escape_decode() {
        let mut cases: Vec<Vec<u8>> = [
            &b"''"[..],
            b"\"\"",
            b"'a\\x41'",
            b"'it's'",
            b"\"it's\"",
            b"'a",
            b"'",
            b"",
            b"'a\"",
            b"'\\777'",
            b"'\\q\\u1234'",
            b"'\\x4'",
            b"'\\x'",
            b"'\\xg0'",
            b"'ab\\'",
            b"'\\0\\08\\1234'",
            b"'\xc3\xa9'",
            b"'\\a\\b\\f\\n\\r\\t\\v\\\\\\'\\\"'",
            b"'\\\n'",
            b"'\\8\\9'",
            b"'\\\xe9'",
            b"'\\N{DASH}'",
            b"'\\400'",
        ]
        .iter()
        .map(|c| c.to_vec())
        .collect();
        // Random escape soup, fuzzing the decoder against CPython's.
        let out = python3(
            r#"
import random
r = random.Random(99)
alpha = [b'\\', b'x', b'0', b'7', b'8', b'a', b'f', b'F', b'n', b"'", b'"', b'q', b'\xe9', b'1', b'\\x', b'\\0']
for _ in range(1500):
    print((b"'" + b''.join(r.choice(alpha) for _ in range(r.randrange(8))) + b"'").hex())
"#,
        );
        cases.extend(out.lines().map(unhex));
        let arg_list: Vec<String> = cases.iter().map(|c| hex(c)).collect();
        let out = python3(&std::format!(
            r#"
import codecs, warnings
warnings.simplefilter('ignore')
for h in {arg_list:?}:
    data = bytes.fromhex(h)
    if not (len(data) >= 2 and data[0] == data[-1] and data[0] in b'"\''):
        print('UNQUOTED'); continue
    try:
        print('OK', codecs.escape_decode(data[1:-1])[0].hex())
    except ValueError:
        print('ERR')
"#
        ));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), cases.len());
        for (case, line) in cases.iter().zip(lines) {
            let info = py_literal_info(case);
            match line {
                "UNQUOTED" => assert_eq!(info, Err("string argument not quoted"), "{case:?}"),
                "ERR" => assert!(info.is_err(), "{case:?}"),
                ok => {
                    let want = unhex(&ok[3..]);
                    let info = info.unwrap_or_else(|e| panic!("{case:?}: {e}"));
                    assert_eq!(info.len, want.len(), "{case:?}");
                    assert_eq!(info.ascii, want.is_ascii(), "{case:?}");
                    let got: Vec<u8> = bytes_iter(case, BytesEncoding::PyLiteral).collect();
                    assert_eq!(got, want, "{case:?}");
                    assert_eq!(bytes_len(case, BytesEncoding::PyLiteral), want.len());
                    let text = validate_text(case, TextEncoding::PyLiteral);
                    if want.is_ascii() {
                        assert_eq!(text, Ok(()));
                        let s: String = want.iter().map(|&b| char::from(b)).collect();
                        assert_eq!(
                            text_chars(case, TextEncoding::PyLiteral).collect::<String>(),
                            s
                        );
                    } else {
                        assert_eq!(text, Err("non-ascii python 2 str"));
                    }
                }
            }
            let _ = bytes_iter(case, BytesEncoding::PyLiteral).count();
            let _ = text_chars(case, TextEncoding::PyLiteral).count();
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn python2_style_literals_round_trip() {
        // Python 2 writes STRING as repr(str), which is Python 3's bytes repr without 'b'.
        let out = python3(
            r#"
import random
r = random.Random(7)
for n in list(range(0, 300)) + [256] * 3:
    b = bytes(r.randrange(256) for _ in range(n % 40)) if n < 300 else bytes(range(256))
    print(repr(b)[1:].encode('latin-1').hex(), b.hex())
"#,
        );
        for line in out.lines() {
            let (arg, want) = line.split_once(' ').unwrap();
            let (arg, want) = (unhex(arg), unhex(want));
            let info = py_literal_info(&arg).unwrap();
            assert_eq!(info.len, want.len());
            assert_eq!(
                bytes_iter(&arg, BytesEncoding::PyLiteral).collect::<Vec<_>>(),
                want
            );
        }
    }
}
