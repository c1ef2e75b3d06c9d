//! Decimal text to the nearest `f64` (ties to even), exactly, in about 3 KB of flash: no
//! tables, no float arithmetic (a Cortex-M without an FPU links no soft-float), no 64-bit
//! division. Short decimals (up to 18 digits over a power of ten up to 10**18: what CPython's
//! repr writes for most doubles, `0.1`, `2.5e-10`) take a 64-bit binary division (a few
//! hundred instructions); integers take their top 64 bits; the rest big integers of 32-bit
//! limbs and binary long division (thousands of instructions, tens of thousands for a long
//! digit string near the bottom of the normal range).
//!
//! The text is `digits [. digits] [e [sign] digits]` (no sign, validated by the caller). The
//! value `D × 10**e` is written as `D × 5**e × 2**e`, and for `e < 0` as a fraction `P / Q` of
//! big integers, scaled by a power of two so that the quotient has 55 or 56 bits; the
//! quotient, the remainder's being non-zero and any digits past the 800th decide the rounding
//! to 53 bits (or fewer, below the normal range). 800 significant digits decide every
//! rounding: a point halfway between two doubles has at most 767.

/// Significant digits kept; later non-zero digits only mark the value as above what is kept.
const MAX_DIGITS: usize = 800;

use super::big::Big;

/// The parser's own operations on [`Big`].
impl Big {
    /// The top 64 bits as `(bits, e2, sticky)`: `self` is `bits × 2**e2` plus less than one
    /// unit of `bits`, non-zero when `sticky`.
    fn top64(&self) -> (u64, i32, bool) {
        let len = self.bit_len();
        let e2 = len.saturating_sub(64);
        let (words, bits) = ((e2 / 32) as usize, e2 % 32);
        let limb = |i: usize| u64::from(self.limbs.get(i).copied().unwrap_or(0));
        let wide = |i: usize| limb(i) | (limb(i + 1) << 32);
        let top = if bits == 0 {
            wide(words)
        } else {
            (wide(words) >> bits) | (limb(words + 2) << (64 - bits))
        };
        let below = self.used().iter().take(words).any(|&l| l != 0)
            || (bits != 0 && limb(words) & ((1 << bits) - 1) != 0);
        (top, e2 as i32, below)
    }

    fn is_zero(&self) -> bool {
        self.len == 0
    }

    /// `self >>= 1`.
    fn shr1(&mut self) {
        let mut carry = 0;
        for limb in self.limbs.iter_mut().take(self.len).rev() {
            let v = *limb;
            *limb = (v >> 1) | (carry << 31);
            carry = v & 1;
        }
        self.trim();
    }
}

/// The nearest double to the non-negative decimal `text` (validated: digits, an optional
/// point and fraction, an optional exponent), ties to even; `f64::INFINITY` past the range.
pub(crate) fn parse_decimal(text: &[u8]) -> f64 {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(at) => (
            text.get(..at).unwrap_or_default(),
            text.get(at + 1..).unwrap_or_default(),
        ),
        None => (text, &b""[..]),
    };
    // The exponent, clamped far past where the value is 0 or infinite.
    let (negative, digits) = match exponent.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, exponent),
    };
    let mut e10 = digits.iter().fold(0i32, |v, &d| {
        (v * 10 + i32::from(d.wrapping_sub(b'0'))).min(1_000_000)
    });
    if negative {
        e10 = -e10;
    }
    // Significant digits: n of them kept (at most MAX_DIGITS), the first 19 as `small`,
    // and the value D × 10**e10.
    let (mut n, mut small, mut truncated, mut in_frac) = (0usize, 0u64, false, false);
    for &b in mantissa {
        if b == b'.' {
            in_frac = true;
            continue;
        }
        let digit = b.wrapping_sub(b'0');
        if n == 0 && digit == 0 {
            e10 -= i32::from(in_frac);
            continue;
        }
        if n < MAX_DIGITS {
            if n < 19 {
                small = small * 10 + u64::from(digit);
            }
            n += 1;
            e10 -= i32::from(in_frac);
        } else {
            truncated |= digit != 0;
            e10 += i32::from(!in_frac);
        }
    }
    if n == 0 {
        return 0.0;
    }
    // The value lies in [10**(m-1), 10**m).
    let m = n as i32 + e10;
    if m > 310 {
        return f64::INFINITY;
    }
    if m < -330 {
        return 0.0;
    }
    if n <= 18 && (-18..0).contains(&e10) {
        return divide_small(small, 10u64.pow(e10.unsigned_abs()));
    }
    let mut p = Big::from_u32((small >> 32) as u32);
    if n <= 19 {
        p.mul_add(1 << 16, (small >> 16) as u32 & 0xffff);
        p.mul_add(1 << 16, small as u32 & 0xffff);
    } else {
        p = Big::from_u32(0);
        significand(mantissa, n, &mut p);
    }
    if e10 >= 0 {
        // An integer, D × 5**e10 × 2**e10: its top 64 bits, and whether any bit below them
        // is set.
        if !p.mul_pow5(e10.unsigned_abs()) {
            return f64::INFINITY; // cannot happen within the bounds above
        }
        let (top, e2, sticky) = p.top64();
        return round(top, e2 + e10, sticky || truncated);
    }
    // P / Q × 2**e10 = D / 5**-e10 × 2**e10, then P scaled by 2**s so that the quotient has 55
    // or 56 bits (10**k's factor 2**k as an exponent: a third fewer limbs to divide).
    let mut q = Big::from_u32(1);
    let fits = q.mul_pow5(e10.unsigned_abs());
    let s = 55 + q.bit_len() as i32 - p.bit_len() as i32;
    let fits =
        fits && if s >= 0 {
            p.shl(s.unsigned_abs())
        } else {
            q.shl(s.unsigned_abs())
        } && q.shl(56);
    if !fits {
        return f64::NAN; // cannot happen within the bounds above; refused by the caller
    }
    // Binary long division: 57 quotient bits, from 2**56 down; fewer where the last ones
    // would fall below the smallest subnormal's half (2**-1075), which they cannot change.
    let bits = 57 - (-1076 - (e10 - s)).clamp(0, 55);
    let mut quotient = 0u64;
    for _ in 0..bits {
        quotient = (quotient << 1) | u64::from(p.sub_if_ge(&q));
        q.shr1();
    }
    round(quotient, e10 - s + 57 - bits, truncated || !p.is_zero())
}

/// The first `n` significant digits of `mantissa` (as counted by `parse_decimal`) into `d`.
fn significand(mantissa: &[u8], n: usize, d: &mut Big) {
    let (mut left, mut chunk, mut chunk_len) = (n, 0u32, 0u32);
    for &b in mantissa {
        let digit = u32::from(b.wrapping_sub(b'0'));
        if b == b'.' || (left == n && digit == 0) {
            continue;
        }
        if left == 0 {
            break;
        }
        chunk = chunk * 10 + digit;
        chunk_len += 1;
        left -= 1;
        if chunk_len == 9 {
            d.mul_add(1_000_000_000, chunk);
            (chunk, chunk_len) = (0, 0);
        }
    }
    if chunk_len > 0 {
        d.mul_add(10u32.pow(chunk_len), chunk);
    }
}

/// The double nearest `d / q` (`d` non-zero, both below 10**18) in 64-bit integers: the
/// short decimals CPython's repr writes (`0.1`, `2.5e-10`) without big integers. Exact, as
/// Clinger's fast path is where the mantissa and the power of ten are exact doubles, and with
/// no float arithmetic (no soft-float on a Cortex-M without an FPU).
fn divide_small(d: u64, q: u64) -> f64 {
    let (mut a, mut b) = (d, q);
    // Align so that b <= a < 2b (both below 2**61); then a / b is in [1, 2) and the value
    // is (a / b) × 2**e2.
    let mut e2 = q.leading_zeros() as i32 - d.leading_zeros() as i32;
    if e2 >= 0 {
        b <<= e2;
    } else {
        a <<= e2.unsigned_abs();
    }
    if a < b {
        a <<= 1;
        e2 -= 1;
    }
    // 56 quotient bits, the first one 1.
    let mut quotient = 0u64;
    for _ in 0..56 {
        let bit = a >= b;
        if bit {
            a -= b;
        }
        quotient = (quotient << 1) | u64::from(bit);
        a <<= 1;
    }
    round(quotient, e2 - 55, a != 0)
}

/// The double nearest `q × 2**e2` plus a fraction below one unit of `q` when `sticky`.
fn round(q: u64, e2: i32, sticky: bool) -> f64 {
    let len = 64 - q.leading_zeros() as i32;
    // Bits dropped: down to 53 significant ones, or to the subnormal unit 2**-1074.
    let shift = (len - 53).max(-1074 - e2);
    let (mut mantissa, mut lsb) = if shift <= 0 {
        (q << shift.unsigned_abs().min(63), e2 + shift)
    } else if shift >= 64 {
        return 0.0;
    } else {
        let dropped = q & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        let kept = q >> shift;
        let up = dropped > half || (dropped == half && (sticky || kept & 1 == 1));
        (kept + u64::from(up), e2 + shift)
    };
    if mantissa == 1 << 53 {
        mantissa >>= 1;
        lsb += 1;
    }
    if mantissa < 1 << 52 {
        // Subnormal (lsb is -1074) or zero.
        return f64::from_bits(mantissa);
    }
    let biased = lsb + 1075;
    if biased >= 0x7ff {
        return f64::INFINITY;
    }
    f64::from_bits((u64::from(biased.unsigned_abs()) << 52) | (mantissa & ((1 << 52) - 1)))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::oracle::splitmix;
    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    fn check(text: &str) {
        let want: f64 = text.parse().unwrap();
        let got = parse_decimal(text.as_bytes());
        assert_eq!(got.to_bits(), want.to_bits(), "{text}");
    }

    #[test]
    fn edges() {
        for t in [
            "0", "0.0", "000.000e5", "1", "1.5", "0.1", "1e16", "1e22", "1e23", "9007199254740993",
            "2.2250738585072014e-308", "2.2250738585072011e-308", "4.9e-324", "2.5e-324",
            "2.4703282292062328e-324", "2.4703282292062327e-324", "1e-400", "1.7976931348623157e308",
            "1.7976931348623158e308", "1.7976931348623159e308", "1e309", "123456789012345678901234567890",
            ".5", "5.", "0.000001", "1e-7", "8.988465674311579e307", "1e-320", "4.940656458412465e-324",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999999",
        ] {
            check(t);
        }
        // Halfway between 1 and the next double, then just above and below it.
        check("1.00000000000000011102230246251565404236316680908203125");
        check("1.000000000000000111022302462515654042363166809082031250000000000000000000001");
        check("1.000000000000000111022302462515654042363166809082031249999999999999999999999");
        let mut long = String::from("1.00000000000000011102230246251565404236316680908203125");
        long.push_str(&"0".repeat(900));
        long.push('1');
        check(&long);
    }

    #[test]
    fn random_text_against_rust() {
        let mut seed = 0xf10a_7e57_u64;
        let mut texts: Vec<String> = Vec::new();
        // Miri interprets each parse (tens of thousands of instructions for a long digit
        // string): a sample there, the whole run natively.
        let doubles = if cfg!(miri) { 100 } else { 20_000 };
        for i in 0..doubles {
            let r = splitmix(&mut seed);
            let x = f64::from_bits(r & !(1 << 63));
            if !x.is_finite() {
                continue;
            }
            // Shortest, exact-17 and 25-digit forms of random doubles, and midpoints.
            texts.push(format!("{x:e}"));
            texts.push(format!("{x:.16e}"));
            texts.push(format!("{x:.24e}"));
            // Subnormals (the division stops early there) and their 17-digit forms.
            let tiny = f64::from_bits(r >> 11);
            texts.push(format!("{tiny:e}"));
            texts.push(format!("{tiny:.16e}"));
            let digits = 1 + (r % 30) as usize;
            let mut t: String = (0..digits)
                .map(|k| char::from(b'0' + ((r >> (k % 60)) % 10) as u8))
                .collect();
            t.push_str(&format!("e{}", i % 700 - 350));
            texts.push(t);
        }
        for t in &texts {
            check(t);
        }
    }
}
