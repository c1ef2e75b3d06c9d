//! Python's `repr(float)`, without allocation.
//!
//! CPython prints the shortest digit string that reads back to the same double
//! (`PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL)`). Rust's `{:e}` formatting of
//! an `f64` yields the same shortest round-trip digits, so this module only re-lays them out:
//! scientific notation when the decimal exponent is below -4 or at least 16 (`1e+16`,
//! `1.5e-05`), positional otherwise with at least one fractional digit (`1.0`, `0.0001`).

use core::fmt::{self, Write};

/// Longest `{:e}` output of a finite, non-negative `f64`: 17 digits, a point, `e-324`.
const SCI_LEN: usize = 32;

/// Writes `x` exactly as Python's `repr(x)` prints it: `0.1`, `1e+16`, `-0.0`, `inf`, `nan`.
pub(crate) fn write_float_repr<W: Write + ?Sized>(w: &mut W, x: f64) -> fmt::Result {
    if x.is_nan() {
        return w.write_str("nan");
    }
    if x.is_infinite() {
        return w.write_str(if x < 0.0 { "-inf" } else { "inf" });
    }
    if x.is_sign_negative() {
        w.write_str("-")?;
    }
    // `{:e}` of |x|: "d[.ddd]e[-]N" with the shortest round-trip digits.
    let mut sci = heapless::String::<SCI_LEN>::new();
    write!(sci, "{:e}", x.abs())?;
    let text = sci.as_bytes();
    let e_at = text.iter().position(|&b| b == b'e').ok_or(fmt::Error)?;
    let (mantissa, exp_text) = text.split_at(e_at);
    let exp_text = exp_text.get(1..).ok_or(fmt::Error)?;

    // The significant digits without the point (at most 17) and the exponent.
    let mut digits = [0u8; 20];
    let mut n = 0usize;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        *digits.get_mut(n).ok_or(fmt::Error)? = b;
        n += 1;
    }
    let exp = parse_exp(exp_text).ok_or(fmt::Error)?;
    let digits_len = half_even(x.abs(), &mut digits, n, exp);
    let digits = digits.get(..digits_len).ok_or(fmt::Error)?;
    let (first, rest) = digits.split_first().ok_or(fmt::Error)?;

    if !(-4..16).contains(&exp) {
        // Scientific: d[.ddd]e±XX, at least two exponent digits.
        w.write_char(char::from(*first))?;
        if !rest.is_empty() {
            w.write_char('.')?;
            write_ascii(w, rest)?;
        }
        let sign = if exp < 0 { '-' } else { '+' };
        write!(w, "e{sign}{:02}", exp.unsigned_abs())
    } else if exp < 0 {
        // 0.000ddd
        w.write_str("0.")?;
        for _ in 1..exp.unsigned_abs() {
            w.write_char('0')?;
        }
        write_ascii(w, digits)
    } else {
        // ddd.ddd with zeros padded before the point and at least one digit after it.
        let int_len = exp.unsigned_abs() as usize + 1;
        let (int_part, frac_part) = digits.split_at(int_len.min(digits.len()));
        write_ascii(w, int_part)?;
        for _ in int_part.len()..int_len {
            w.write_char('0')?;
        }
        w.write_char('.')?;
        if frac_part.is_empty() {
            w.write_char('0')
        } else {
            write_ascii(w, frac_part)
        }
    }
}

/// Rust's shortest digits round a tie (the double lies exactly halfway between the two
/// shortest candidates) up; CPython's dtoa rounds it to even. Rewrites `digits[..n]` (the
/// value is `0.d1d2…dn × 10^(exp+1)`) to the even candidate when that is a tie and the even
/// candidate reads back to `x`; returns the number of digits.
fn half_even(x: f64, digits: &mut [u8; 20], n: usize, exp: i32) -> usize {
    // x = m · 2^e exactly, with m odd.
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if biased == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), biased - 1075)
    };
    if m == 0 || n == 0 || n > 17 {
        return n;
    }
    let shift = m.trailing_zeros();
    m >>= shift;
    e += shift as i32;
    // x = big · 10^p exactly, with `big` having no trailing zeros (or no tie is possible:
    // a tie needs n + 1 <= 18 significant digits).
    let (mut big, mut p): (u128, i32) = if e >= 0 {
        if e > 74 {
            return n;
        }
        (u128::from(m) << e, 0)
    } else {
        let Some(five) = 5u128.checked_pow(e.unsigned_abs()) else {
            return n;
        };
        let Some(big) = u128::from(m).checked_mul(five) else {
            return n;
        };
        (big, e)
    };
    while big != 0 && big % 10 == 0 {
        big /= 10;
        p += 1;
    }
    // A tie: n + 1 significant digits ending in 5, one place below Rust's last digit.
    let tie = big % 10 == 5 && big >= 10u128.pow(n as u32) && big < 10u128.pow(n as u32 + 1);
    if !tie || p != exp - n as i32 {
        return n;
    }
    let low = big / 10;
    let even = if low % 2 == 0 { low } else { low + 1 };
    let mut current: u128 = 0;
    for &d in digits.iter().take(n) {
        current = current * 10 + u128::from(d - b'0');
    }
    if even == current {
        return n;
    }
    // The even candidate, as digits, must read back to x (it may not at a power of two).
    let mut cand = [0u8; 20];
    let mut len = 0;
    let mut v = even;
    let mut tmp = [0u8; 20];
    while v > 0 {
        let Some(slot) = tmp.get_mut(len) else {
            return n;
        };
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
        len += 1;
    }
    if len != n {
        return n;
    }
    for (c, t) in cand.iter_mut().zip(tmp.iter().take(len).rev()) {
        *c = *t;
    }
    let mut text = heapless::String::<SCI_LEN>::new();
    let mantissa = core::str::from_utf8(cand.get(..len).unwrap_or_default()).unwrap_or("0");
    if write!(text, "{mantissa}e{}", exp - n as i32 + 1).is_err() {
        return n;
    }
    let parsed = text.parse::<f64>().ok();
    if parsed != Some(x) {
        return n;
    }
    // Drop trailing zeros (the shortest form never has them).
    let mut keep = len;
    while keep > 1 && cand.get(keep - 1) == Some(&b'0') {
        keep -= 1;
    }
    for (d, c) in digits.iter_mut().zip(cand.iter().take(keep)) {
        *d = *c;
    }
    keep
}

/// Parses the exponent of Rust's `{:e}` output (`-5`, `16`).
fn parse_exp(text: &[u8]) -> Option<i32> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    let mut v: i32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i32::from(d - b'0');
    }
    Some(if neg { -v } else { v })
}

fn write_ascii<W: Write + ?Sized>(w: &mut W, bytes: &[u8]) -> fmt::Result {
    w.write_str(core::str::from_utf8(bytes).map_err(|_| fmt::Error)?)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::oracle::python3_with_input;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn repr(x: f64) -> String {
        let mut s = String::new();
        write_float_repr(&mut s, x).unwrap();
        s
    }

    #[test]
    fn edge_cases() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345.0, "123456789012345.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (-1.2345e300, "-1.2345e+300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (1e100, "1e+100"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
            (0.3, "0.3"),
            (2.0 / 3.0, "0.6666666666666666"),
            (1e22, "1e+22"),
            (-8541758925163581.0 / 4.0, "-2135439731290895.2"),
            (8541758925163583.0 / 4.0, "2135439731290895.8"),
        ];
        for &(x, want) in cases {
            assert_eq!(repr(x), want, "bits {:#x}", x.to_bits());
        }
    }

    /// A small fixed-seed generator (splitmix64).
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn matches_python_repr() {
        let mut values: Vec<f64> = Vec::new();
        let mut seed = 0x5eed_f10a_u64;
        for i in 0..4000 {
            let bits = splitmix(&mut seed);
            let x = match i % 4 {
                // Any bit pattern (all exponents, subnormals, nan, inf).
                0 => f64::from_bits(bits),
                // Decimal-looking numbers around the notation switch points.
                1 => {
                    let mant = (bits % 1_000_000) as f64;
                    let exp = ((bits >> 32) % 30) as i32 - 12;
                    mant * 10f64.powi(exp)
                }
                // Integers, including ones above 2**53.
                2 => (bits >> (bits % 60)) as f64,
                // Short fractions.
                _ => (bits % 100_000) as f64 / 1000.0,
            };
            values.push(x);
        }
        // Doubles exactly halfway between two shortest candidates (CPython rounds to even).
        for k in 0..400u64 {
            let r = splitmix(&mut seed);
            values.push((r >> 11) as f64 * 0.25 + 0.25 * (k % 4) as f64);
            values.push(-((r >> 10) as i64 as f64) * 1e-3);
            values.push(((1u64 << 54) + 2 * (r % 1000) + 1) as f64 * 2f64.powi((k % 20) as i32));
            values.push(5e-324 * (r % 100_000) as f64);
            values.push(((r >> 12) | 1) as f64 / 2f64.powi((k % 30) as i32 + 1));
        }
        for e in -330..310 {
            values.push(10f64.powi(e));
            values.push(-1.5 * 10f64.powi(e));
        }
        let mut text = String::new();
        for x in &values {
            for b in x.to_le_bytes() {
                text.push_str(&std::format!("{b:02x}"));
            }
            text.push('\n');
        }
        let out = python3_with_input(
            "import struct\nfor l in sys.stdin:\n    print(repr(struct.unpack('<d', bytes.fromhex(l.strip()))[0]))",
            text.as_bytes(),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), values.len());
        for (x, want) in values.iter().zip(lines) {
            assert_eq!(repr(*x), want, "bits {:#018x}", x.to_bits());
        }
    }
}
