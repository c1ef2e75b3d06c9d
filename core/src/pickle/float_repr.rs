//! Python's `repr(float)`, without allocation and without `core::fmt`'s float formatting.
//!
//! CPython prints the shortest digit string that reads back to the same double, the one
//! nearest the double's exact value, a tie to the even one
//! (`PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL)`). Ryū (the `ryu` crate, with
//! its small tables: about 1 KB of flash) finds the same digits; this module only lays them
//! out: scientific notation when the decimal exponent is below -4 or at least 16 (`1e+16`,
//! `1.5e-05`), positional otherwise with at least one fractional digit (`1.0`, `0.0001`).
//! No float arithmetic: on a Cortex-M without an FPU nothing of soft-float is linked.

#[cfg(feature = "repr")]
use core::fmt::{self, Write};

/// Room for any repr: a sign, 17 digits, a point and `e-324` (24 bytes), or a sign, `0.000`
/// and 17 digits (23).
pub(crate) const FLOAT_REPR_LEN: usize = 24;

/// Writes `x` exactly as Python's `repr(x)` prints it: `0.1`, `1e+16`, `-0.0`, `inf`, `nan`.
#[cfg(feature = "repr")]
pub(crate) fn write_float_repr<W: Write + ?Sized>(w: &mut W, x: f64) -> fmt::Result {
    let mut buf = [0u8; FLOAT_REPR_LEN];
    let len = float_repr(&mut buf, x);
    let text = buf.get(..len).unwrap_or_default();
    w.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?)
}

/// Writes Python's `repr(x)` (ASCII) into `out`; returns its length.
pub(crate) fn float_repr(out: &mut [u8; FLOAT_REPR_LEN], x: f64) -> usize {
    let bits = x.to_bits();
    let mut w = Out { buf: out, len: 0 };
    let magnitude = bits & !(1 << 63);
    if magnitude > 0x7ff0_0000_0000_0000 {
        w.put(b"nan");
        return w.len;
    }
    if bits >> 63 != 0 {
        w.put(b"-");
    }
    if magnitude == 0x7ff0_0000_0000_0000 {
        w.put(b"inf");
        return w.len;
    }
    let (digits, n, exp) = shortest(f64::from_bits(magnitude));
    let digits = digits.get(..n).unwrap_or(b"0");
    let (first, rest) = digits.split_first().unwrap_or((&b'0', &[]));
    if !(-4..16).contains(&exp) {
        // Scientific: d[.ddd]e±XX, at least two exponent digits.
        w.put(&[*first]);
        if !rest.is_empty() {
            w.put(b".");
            w.put(rest);
        }
        w.put(if exp < 0 { b"e-" } else { b"e+" });
        let e = exp.unsigned_abs();
        if e >= 100 {
            w.put(&[b'0' + (e / 100) as u8]);
        }
        w.put(&[b'0' + (e / 10 % 10) as u8, b'0' + (e % 10) as u8]);
    } else if exp < 0 {
        // 0.000ddd
        w.put(b"0.");
        for _ in 1..exp.unsigned_abs() {
            w.put(b"0");
        }
        w.put(digits);
    } else {
        // ddd.ddd with zeros padded before the point and at least one digit after it.
        let int_len = exp.unsigned_abs() as usize + 1;
        let (int_part, frac_part) = digits.split_at(int_len.min(digits.len()));
        w.put(int_part);
        for _ in int_part.len()..int_len {
            w.put(b"0");
        }
        w.put(b".");
        w.put(if frac_part.is_empty() {
            b"0"
        } else {
            frac_part
        });
    }
    w.len
}

/// The output of [`float_repr`]; bytes past its end are dropped (the length bounds rule
/// that out).
struct Out<'a> {
    buf: &'a mut [u8; FLOAT_REPR_LEN],
    len: usize,
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }
}

/// The shortest round-trip digits of a finite, non-negative `x` (no leading or trailing
/// zeros; `0` for zero), how many, and the decimal exponent of the first:
/// `x = d.ddd × 10**exp`. From Ryū's text (`1e16`, `1.5e-5`, `100.0`, `0.001`), re-read.
fn shortest(x: f64) -> ([u8; FLOAT_REPR_LEN], usize, i32) {
    let mut ryu = ryu::Buffer::new();
    let text = ryu.format_finite(x).as_bytes();
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
        Some(at) => (text.get(..at).unwrap_or_default(), text.get(at + 1..)),
        None => (text, None),
    };
    let mut digits = [0u8; FLOAT_REPR_LEN];
    let (mut n, mut frac_len, mut in_frac) = (0usize, 0i32, false);
    for &b in mantissa {
        if b == b'.' {
            in_frac = true;
        } else if n > 0 || b != b'0' {
            if let Some(slot) = digits.get_mut(n) {
                *slot = b;
                n += 1;
            }
            frac_len += i32::from(in_frac);
        } else {
            // A leading zero: after the point it still scales the value.
            frac_len += i32::from(in_frac);
        }
    }
    if n == 0 {
        digits[0] = b'0';
        return (digits, 1, 0);
    }
    let mut e = 0i32;
    if let Some(exponent) = exponent {
        let (negative, text) = match exponent.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, exponent),
        };
        e = text
            .iter()
            .fold(0i32, |v, &d| v * 10 + i32::from(d.wrapping_sub(b'0')));
        if negative {
            e = -e;
        }
    }
    // value = digits[..n] × 10**(e - frac_len); trailing zeros only scale it.
    while n > 1 && digits.get(n - 1) == Some(&b'0') {
        n -= 1;
        frac_len -= 1;
    }
    (digits, n, e - frac_len + n as i32 - 1)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::oracle::python3_with_input;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn repr(x: f64) -> String {
        let mut buf = [0u8; FLOAT_REPR_LEN];
        let len = float_repr(&mut buf, x);
        let s = String::from_utf8(buf[..len].to_vec()).unwrap();
        #[cfg(feature = "repr")]
        {
            let mut written = String::new();
            write_float_repr(&mut written, x).unwrap();
            assert_eq!(written, s);
        }
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
