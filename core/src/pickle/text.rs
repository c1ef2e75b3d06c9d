//! Text and byte-string argument encodings of protocol 0 and Python 2 strings.
#![allow(dead_code, unused_variables)]
// TEMPORARY STUB (replaced by branch `repr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    Utf8,
    RawUnicodeEscape,
    PyLiteral,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BytesEncoding {
    Raw,
    PyLiteral,
    Latin1(TextEncoding),
}
pub(crate) struct PyLiteralInfo {
    pub(crate) ascii: bool,
    pub(crate) len: usize,
}
pub(crate) fn validate_text(raw: &[u8], enc: TextEncoding) -> Result<(), &'static str> {
    core::str::from_utf8(raw)
        .map(|_| ())
        .map_err(|_| "bad utf-8")
}
pub(crate) fn text_chars(raw: &[u8], enc: TextEncoding) -> core::str::Chars<'_> {
    core::str::from_utf8(raw).unwrap_or("").chars()
}
pub(crate) fn py_literal_info(raw: &[u8]) -> Result<PyLiteralInfo, &'static str> {
    Ok(PyLiteralInfo {
        ascii: true,
        len: raw.len(),
    })
}
pub(crate) fn validate_latin1(raw: &[u8], enc: TextEncoding) -> Result<usize, &'static str> {
    Ok(raw.len())
}
pub(crate) fn bytes_iter(
    raw: &[u8],
    enc: BytesEncoding,
) -> core::iter::Copied<core::slice::Iter<'_, u8>> {
    raw.iter().copied()
}
pub(crate) fn bytes_len(raw: &[u8], enc: BytesEncoding) -> usize {
    raw.len()
}
pub(crate) fn parse_decimal_int(text: &[u8]) -> Result<(), &'static str> {
    Ok(())
}
pub(crate) fn decimal_to_i64(text: &[u8]) -> Option<i64> {
    core::str::from_utf8(text).ok()?.trim().parse().ok()
}
pub(crate) fn parse_float_line(text: &[u8]) -> Result<f64, &'static str> {
    core::str::from_utf8(text)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or("bad float")
}
pub(crate) fn le_to_i64(le: &[u8]) -> Option<i64> {
    if le.len() > 8 {
        return None;
    }
    let mut b = [if le.last().map_or(false, |&x| x & 0x80 != 0) {
        0xff
    } else {
        0
    }; 8];
    b[..le.len()].copy_from_slice(le);
    Some(i64::from_le_bytes(b))
}
pub(crate) fn le_to_i128(le: &[u8]) -> Option<i128> {
    None
}
pub(crate) fn decimal_to_i128(text: &[u8]) -> Option<i128> {
    None
}
