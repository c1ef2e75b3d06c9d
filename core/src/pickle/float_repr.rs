#![allow(dead_code, unused_variables)]
// TEMPORARY STUB (replaced by branch `encoder`).
pub(crate) fn write_float_repr<W: core::fmt::Write + ?Sized>(
    w: &mut W,
    x: f64,
) -> core::fmt::Result {
    write!(w, "{x:?}")
}
