//! Python-repr formatting of strings, bytes, floats and integers (no allocation).
#![allow(dead_code, unused_variables)]
// TEMPORARY STUB (replaced by branch `repr`).
use core::fmt::Write;
pub(crate) const MAX_INT_BYTES: usize = 1785;
pub(crate) fn write_str_repr<W: Write + ?Sized>(
    w: &mut W,
    chars: impl Iterator<Item = char> + Clone,
) -> core::fmt::Result {
    w.write_char('\'')?;
    for c in chars {
        w.write_char(c)?;
    }
    w.write_char('\'')
}
pub(crate) fn write_bytes_repr<W: Write + ?Sized>(
    w: &mut W,
    bytes: impl Iterator<Item = u8> + Clone,
) -> core::fmt::Result {
    w.write_str("b''")
}
pub(crate) fn write_int_le_repr<W: Write + ?Sized>(w: &mut W, le: &[u8]) -> core::fmt::Result {
    w.write_str("?")
}
pub(crate) fn write_int_decimal_repr<W: Write + ?Sized>(
    w: &mut W,
    text: &[u8],
) -> core::fmt::Result {
    w.write_str("?")
}
