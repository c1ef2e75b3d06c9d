//! Decimal text to the nearest `f64` (ties to even), exactly, in about 1.5 KB of flash: big
//! integers of 32-bit limbs and binary long division, no tables, no float arithmetic (a
//! Cortex-M without an FPU links no soft-float), no 64-bit division. Slower than Rust's
//! `str::parse` (tens of microseconds for a long digit string), which is fine for the
//! protocol-0 FLOATs it reads.
//!
//! The text is `digits [. digits] [e [sign] digits]` (no sign, validated by the caller). The
//! value `D × 10**e` is written as a fraction `P / Q` of big integers, scaled by a power of
//! two so that the quotient has 55 or 56 bits; the quotient, the remainder's being non-zero
//! and any digits past the 800th decide the rounding to 53 bits (or fewer, below the normal
//! range). 800 significant digits decide every rounding: a point halfway between two
//! doubles has at most 767.

/// Significant digits kept; later non-zero digits only mark the value as above what is kept.
const MAX_DIGITS: usize = 800;
/// 32-bit limbs of each big integer: 10**1130 (the largest denominator: 800 digits and an
/// exponent down to -330) times 2**56 is under 3,811 bits. Two of them: 1 KiB of stack.
const LIMBS: usize = 128;

/// A non-negative integer, little-endian limbs. Limbs at `len` and above are zero, so each
/// operation touches only the limbs in use (a short decimal's divisions take a few limbs,
/// not all 128).
struct Big {
    limbs: [u32; LIMBS],
    len: usize,
}

impl Big {
    fn from_u32(v: u32) -> Big {
        let mut limbs = [0; LIMBS];
        limbs[0] = v;
        Big {
            limbs,
            len: usize::from(v != 0),
        }
    }

    /// The limbs in use.
    fn used(&self) -> &[u32] {
        self.limbs.get(..self.len).unwrap_or(&self.limbs)
    }

    /// Drops zero limbs from the top of `len`.
    fn trim(&mut self) {
        while self.len > 0 && self.limbs.get(self.len - 1) == Some(&0) {
            self.len -= 1;
        }
    }

    /// `self = self * m + add`; false if it overflowed.
    fn mul_add(&mut self, m: u32, add: u32) -> bool {
        let mut carry = u64::from(add);
        for limb in self.limbs.iter_mut().take(self.len) {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            match self.limbs.get_mut(self.len) {
                Some(top) => {
                    *top = carry as u32;
                    self.len += 1;
                }
                None => return false,
            }
        }
        true
    }

    /// `self *= 10**n`; false if it overflowed.
    fn mul_pow10(&mut self, mut n: u32) -> bool {
        while n > 0 {
            let step = n.min(9);
            if !self.mul_add(10u32.pow(step), 0) {
                return false;
            }
            n -= step;
        }
        true
    }

    fn bit_len(&self) -> u32 {
        match self.used().last() {
            Some(&top) => 32 * (self.len as u32 - 1) + (32 - top.leading_zeros()),
            None => 0,
        }
    }

    fn is_zero(&self) -> bool {
        self.len == 0
    }

    /// `self <<= n`; false if bits fell off the top.
    fn shl(&mut self, n: u32) -> bool {
        if n == 0 || self.len == 0 {
            return true;
        }
        if self.bit_len() + n > 32 * LIMBS as u32 {
            return false;
        }
        let (words, bits) = ((n / 32) as usize, n % 32);
        let top = (self.len + words + 1).min(LIMBS);
        for i in (0..top).rev() {
            let lo = i
                .checked_sub(words)
                .and_then(|j| self.limbs.get(j))
                .copied();
            let below = i
                .checked_sub(words + 1)
                .and_then(|j| self.limbs.get(j))
                .copied();
            let v = match (lo, bits) {
                (None, _) => 0,
                (Some(lo), 0) => lo,
                (Some(lo), _) => (lo << bits) | below.map_or(0, |b| b >> (32 - bits)),
            };
            if let Some(slot) = self.limbs.get_mut(i) {
                *slot = v;
            }
        }
        self.len = top;
        self.trim();
        true
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

    /// `self -= other` if `self >= other`; whether it did.
    fn sub_if_ge(&mut self, other: &Big) -> bool {
        if self.len != other.len {
            return self.len > other.len && self.sub(other);
        }
        for (a, b) in self.used().iter().zip(other.used()).rev() {
            if a != b {
                if a < b {
                    return false;
                }
                break;
            }
        }
        self.sub(other)
    }

    /// `self -= other`, for `self >= other`; true.
    fn sub(&mut self, other: &Big) -> bool {
        let mut borrow = false;
        let len = self.len;
        for (i, a) in self.limbs.iter_mut().take(len).enumerate() {
            let b = other.used().get(i).copied().unwrap_or(0);
            if i >= other.len && !borrow {
                break;
            }
            let (v, c1) = a.overflowing_sub(b);
            let (v, c2) = v.overflowing_sub(u32::from(borrow));
            *a = v;
            borrow = c1 || c2;
        }
        self.trim();
        true
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
    // Significant digits: D (at most MAX_DIGITS of them) and the value D × 10**e10.
    let mut d = Big::from_u32(0);
    let (mut n, mut truncated, mut in_frac) = (0usize, false, false);
    let (mut chunk, mut chunk_len) = (0u32, 0u32);
    for &b in mantissa {
        if b == b'.' {
            in_frac = true;
            continue;
        }
        let digit = u32::from(b.wrapping_sub(b'0'));
        if n == 0 && digit == 0 {
            e10 -= i32::from(in_frac);
            continue;
        }
        if n < MAX_DIGITS {
            chunk = chunk * 10 + digit;
            chunk_len += 1;
            if chunk_len == 9 {
                d.mul_add(1_000_000_000, chunk);
                (chunk, chunk_len) = (0, 0);
            }
            n += 1;
            e10 -= i32::from(in_frac);
        } else {
            truncated |= digit != 0;
            e10 += i32::from(!in_frac);
        }
    }
    if chunk_len > 0 {
        d.mul_add(10u32.pow(chunk_len), chunk);
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
    // P / Q = D × 10**e10, then scaled by 2**s so the quotient has 55 or 56 bits.
    let (mut p, mut q) = (d, Big::from_u32(1));
    let fits = if e10 >= 0 {
        p.mul_pow10(e10.unsigned_abs())
    } else {
        q.mul_pow10(e10.unsigned_abs())
    };
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
    // Binary long division: 57 quotient bits, from 2**56 down.
    let mut quotient = 0u64;
    for _ in 0..57 {
        quotient = (quotient << 1) | u64::from(p.sub_if_ge(&q));
        q.shr1();
    }
    round(quotient, -s, truncated || !p.is_zero())
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

    /// A small fixed-seed generator (splitmix64).
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
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
