//! Python's `repr(float)`, without allocation and without `core::fmt`'s float formatting.
//!
//! CPython prints the shortest digit string that reads back to the same double, the one
//! nearest the double's exact value, a tie to the even one
//! (`PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL)`). `shortest` finds those
//! digits exactly with the big integers of `big` (no tables, no 64-bit division, no
//! memmove), and they are laid out as CPython does: scientific notation when the decimal
//! exponent is below -4 or at least 16 (`1e+16`, `1.5e-05`), positional otherwise with at
//! least one fractional digit (`1.0`, `0.0001`).
//! No float arithmetic: on a Cortex-M without an FPU nothing of soft-float is linked.

use core::cmp::Ordering;
#[cfg(feature = "repr")]
use core::fmt::{self, Write};

use super::big::{Big, LIMBS};

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

/// The repr's own operations on [`Big`].
impl Big {
    /// `self *= f`, for `f` below 2**53 (a significand); false if it overflowed.
    fn mul_u64(&mut self, f: u64) -> bool {
        let (lo, hi) = (f & 0xffff_ffff, f >> 32);
        // Below 2**54: (t >> 32) < 2**32, (carry >> 32) < 2**22, a × hi < 2**53.
        let mut carry = 0u64;
        for limb in self.limbs.iter_mut().take(self.len) {
            let a = u64::from(*limb);
            let t = a * lo + (carry & 0xffff_ffff);
            *limb = t as u32;
            carry = (t >> 32) + (carry >> 32) + a * hi;
        }
        while carry != 0 {
            match self.limbs.get_mut(self.len) {
                Some(top) => *top = carry as u32,
                None => return false,
            }
            self.len += 1;
            carry >>= 32;
        }
        true
    }

    /// `self` against `other`: the lengths, then the limbs from the top.
    fn cmp(&self, other: &Big) -> Ordering {
        if self.len != other.len {
            return self.len.cmp(&other.len);
        }
        for (a, b) in self.used().iter().zip(other.used()).rev() {
            if a != b {
                return a.cmp(b);
            }
        }
        Ordering::Equal
    }

    /// `self + other` (`2 × other` when `double`) against `than`, without a temporary. Most
    /// often decided by the top limb of `than` (`than.len - 1`) alone; else the sum's limbs
    /// from the bottom, the highest one that differs from `than`'s deciding.
    fn sum_cmp(&self, other: &Big, double: bool, than: &Big) -> Ordering {
        let limb = |big: &Big, i: usize| big.limbs.get(i).copied().unwrap_or(0);
        if let Some(top) = than.len.checked_sub(1) {
            if self.len <= than.len && other.len <= than.len {
                // The sum lies in [low, low + 2 + double] × 2**(32 × top).
                let b = u64::from(limb(other, top)) << u32::from(double);
                let low = u64::from(limb(self, top)) + b;
                let t = u64::from(limb(than, top));
                if low + 2 + u64::from(double) <= t {
                    return Ordering::Less;
                }
                if low > t {
                    return Ordering::Greater;
                }
            }
        }
        let len = self.len.max(other.len + 1).max(than.len).min(LIMBS);
        let (mut carry, mut below, mut order) = (0u64, 0u32, Ordering::Equal);
        for i in 0..len {
            let b = limb(other, i);
            let addend = if double { (b << 1) | (below >> 31) } else { b };
            below = b;
            let sum = u64::from(limb(self, i)) + u64::from(addend) + carry;
            carry = sum >> 32;
            let t = limb(than, i);
            if sum as u32 != t {
                order = (sum as u32).cmp(&t);
            }
        }
        if carry != 0 {
            Ordering::Greater
        } else {
            order
        }
    }

    /// The left shift that normalizes a divisor of `bits` bits: its top limb then has exactly
    /// 28 bits, room for `10 × r` below `10 × s` in `s`'s limbs, and a quotient digit
    /// estimated from the top limbs is at most one short ([`Big::digit_step`]). `r`, `s` and
    /// `m` are shifted alike, so their ratios stay.
    fn norm_shift(bits: u32) -> u32 {
        (28 + 32 - bits % 32) % 32
    }

    /// Whether `r` is certainly inside the bounds (above `m`, and `r + 2 × m` below `s`) for
    /// any `m` under `2**m_bits`, from the top limbs alone: true only when `m` is under `s`'s
    /// top limb's place and `r`'s top limb is at least 1 and at most `s`'s minus 3.
    fn clear_of(r: &Big, m_bits: u32, s: &Big) -> bool {
        let Some(top) = s.len.checked_sub(1) else {
            return false;
        };
        let limb = |big: &Big| u64::from(big.limbs.get(top).copied().unwrap_or(0));
        m_bits <= 32 * top as u32 && r.len == s.len && limb(r) + 3 <= limb(s)
    }

    /// For `self < s`, `s` normalized: `self = 10 × self mod s`; returns the quotient (the next
    /// digit, 0-9). One pass of `10 × self - q × s` with `q` estimated (never over) from the
    /// top limbs, then `s` subtracted while it fits (at most about once).
    fn digit_step(&mut self, s: &Big) -> u8 {
        let limb = |i: Option<usize>| i.and_then(|i| self.limbs.get(i)).copied();
        let top = s.len.checked_sub(1);
        let s_top = top.and_then(|i| s.limbs.get(i)).copied().unwrap_or(0);
        let hi = u64::from(limb(top).unwrap_or(0)) * 10
            + ((u64::from(limb(top.and_then(|t| t.checked_sub(1))).unwrap_or(0)) * 10) >> 32);
        // 10 × self ≥ hi × 2**(32 × top) and s < (s_top + 1) × 2**(32 × top): q ≤ the digit.
        // A 32-bit division (no 64-bit division routine linked): self's top limb is at most
        // s's, under 2**28, so hi < 10 × 2**28 + 10.
        let q = u32::try_from(hi).map_or(0, |hi| hi / s_top.saturating_add(1));
        // Signed: |acc| stays below 10 × 2**32 (10 × a - q × b, plus the carry in).
        let mut acc = 0i64;
        for (a, &b) in self.limbs.iter_mut().zip(s.used()) {
            acc += i64::from(*a) * 10 - i64::from(b) * i64::from(q);
            *a = acc as u32;
            acc >>= 32;
        }
        self.len = s.len;
        self.trim();
        let mut digit = q as u8;
        while self.sub_if_ge(s) {
            digit += 1;
        }
        digit
    }
}

/// The shortest round-trip digits of a finite, non-negative `x` (no leading or trailing
/// zeros; `0` for zero), how many, and the decimal exponent of the first:
/// `x = d.ddd × 10**exp`. Exact (Steele & White's free-format digits, with Burger & Dybvig's
/// scaling): `x = r / s`, and a decimal within `m / s` below or `m / s` (twice that at a
/// power of two, where the gap below is half) above reads back as `x`, the bounds themselves
/// when `x`'s significand is even (reading rounds ties to even). Digits stop as soon as one
/// ends inside those bounds; when both the digit and the one above do, the nearer is taken,
/// a tie to the even digit (CPython's `repr`, David Gay's mode 0). Powers of two common to
/// `r`, `s` and `m` are left out, so the integers are as short as the double allows: with
/// `fast`, 128-bit integers when they fit (about 1e-20 to 1e30), else three 512-byte big
/// integers on the stack (at most 25 limbs in use).
fn shortest(x: f64) -> ([u8; FLOAT_REPR_LEN], usize, i32) {
    let mut digits = [0u8; FLOAT_REPR_LEN];
    let bits = x.to_bits();
    let biased = (bits >> 52) as i32;
    let fraction = bits & ((1 << 52) - 1);
    if bits == 0 {
        digits[0] = b'0';
        return (digits, 1, 0);
    }
    // x = f × 2**e.
    let (f, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, biased - 1075)
    };
    let even = f & 1 == 0;
    let wide = fraction == 0 && biased > 1;
    let shift = 1 + u32::from(wide);
    // r = f × 2**r2 × 5**p5, s = 2**s2 × 5**s5, m = 2**m2 × 5**p5.
    let (mut r2, mut s2, mut m2) = if e >= 0 {
        (e.unsigned_abs() + shift, shift, e.unsigned_abs())
    } else {
        (shift, e.unsigned_abs() + shift, 0)
    };
    // 10**k above the upper bound, k at most the least such: floor(log10 x) + 1 or less, then
    // up to the least (seldom). From l = 256 × floor(log2 x) + the significand's next 8 bits,
    // at most 256 × log2 x (log2(1 + t) >= t), times log10(2) rounded down: 78,913 / 2**18
    // is under it (for l >= 0), 78,914 / 2**18 over it (for l < 0).
    let lz = f.leading_zeros();
    let l = i64::from(e + 63 - lz as i32) * 256 + (((f << lz) >> 55) & 0xff) as i64;
    let k = ((l * if l >= 0 { 78_913 } else { 78_914 }) >> 26) as i32 + 1;
    let (p5, s5) = if k >= 0 {
        s2 += k.unsigned_abs();
        (0, k.unsigned_abs())
    } else {
        r2 += k.unsigned_abs();
        m2 += k.unsigned_abs();
        (k.unsigned_abs(), 0)
    };
    let common = r2.min(s2).min(m2);
    #[cfg(feature = "fast")]
    if let (Some(mut r), Some(mut s), Some(mut m)) = (
        scaled_u128(f, p5, r2 - common),
        scaled_u128(1, s5, s2 - common),
        scaled_u128(1, p5, m2 - common),
    ) {
        if let Some(found) = shortest_digits(&mut r, &mut s, &mut m, even, wide, k) {
            return found;
        }
    }
    let (mut r, mut s, mut m) = (Big::from_u32(1), Big::from_u32(1), Big::from_u32(1));
    // 5**p5 once, for m and r; all three shifted alike so that s is normalized, unless the
    // next step multiplies it by 10.
    let built = s.mul_pow5(s5) && m.mul_pow5(p5) && {
        for (a, b) in r.limbs.iter_mut().zip(m.used()) {
            *a = *b;
        }
        r.len = m.len;
        r.mul_u64(f)
    };
    let norm = Big::norm_shift(s.bit_len() + s2 - common);
    let found = (built
        && r.shl(r2 - common + norm)
        && s.shl(s2 - common + norm)
        && m.shl(m2 - common + norm))
    .then(|| shortest_digits(&mut r, &mut s, &mut m, even, wide, k));
    found.flatten().unwrap_or((digits, 0, 0))
}

/// `f × 5**p5 × 2**p2` if under 2**120 (room for `r + 2 × m` and the 10s of the steps).
#[cfg(feature = "fast")]
fn scaled_u128(f: u64, p5: u32, p2: u32) -> Option<u128> {
    let v = u128::from(f).checked_mul(5u128.checked_pow(p5)?)?;
    (v.leading_zeros() >= p2 + 8).then(|| v << p2)
}

/// The steps of [`shortest`] on `r`, `s`, `m`, with `10**k` at most the least power of ten
/// above the upper bound; `None` if the integers overflowed (never for [`Big`]).
fn shortest_digits<D: Digits>(
    r: &mut D,
    s: &mut D,
    m: &mut D,
    even: bool,
    wide: bool,
    mut k: i32,
) -> Option<([u8; FLOAT_REPR_LEN], usize, i32)> {
    let mut digits = [0u8; FLOAT_REPR_LEN];
    // Whether `r + m+` reaches `s`: a decimal there or above is past the upper bound.
    let reaches = |r: &D, m: &D, s: &D| match r.sum_order(m, wide, s) {
        Ordering::Greater => true,
        Ordering::Equal => even,
        Ordering::Less => false,
    };
    while reaches(r, m, s) {
        if !s.mul_pow10(1) {
            return None;
        }
        k += 1;
    }
    if !D::ready(r, s, m) {
        return None;
    }
    // m's factors of 10 not multiplied in yet: m is needed only near the bounds.
    let mut pending = 0u32;
    let mut n = 0;
    while n < FLOAT_REPR_LEN {
        let digit = b'0' + r.next_digit(s);
        pending += 1;
        if D::clear_of_bounds(r, m, pending, s) {
            digits[n] = digit;
            n += 1;
            continue;
        }
        if !m.mul_pow10(pending) {
            return None;
        }
        pending = 0;
        let low = match r.order(m) {
            Ordering::Less => true,
            Ordering::Equal => even,
            Ordering::Greater => false,
        };
        let high = reaches(r, m, s);
        let up = match (low, high) {
            (false, false) => {
                digits[n] = digit;
                n += 1;
                continue;
            }
            (true, false) => false,
            (false, true) => true,
            (true, true) => match r.sum_order(r, false, s) {
                Ordering::Less => false,
                Ordering::Greater => true,
                Ordering::Equal => digit & 1 == 1,
            },
        };
        digits[n] = digit + u8::from(up);
        n += 1;
        break;
    }
    Some((digits, n, k - 1))
}

/// What [`shortest_digits`] does with its integers: [`Big`], and with `fast` `u128`.
trait Digits {
    /// `self *= 10**n`; false if it overflowed.
    fn mul_pow10(&mut self, n: u32) -> bool;
    /// `self` against `other`.
    fn order(&self, other: &Self) -> Ordering;
    /// `self + other` (`2 × other` when `double`) against `than`.
    fn sum_order(&self, other: &Self, double: bool, than: &Self) -> Ordering;
    /// Readies `r`, `s` and `m` for [`Digits::next_digit`]; false if they do not fit.
    fn ready(r: &mut Self, s: &mut Self, m: &mut Self) -> bool;
    /// For `self < s`: `self = 10 × self mod s`; returns the quotient, the next digit (0-9).
    fn next_digit(&mut self, s: &Self) -> u8;
    /// Whether `r` is certainly inside the bounds for `m × 10**pending` (see [`Big`]'s).
    fn clear_of_bounds(r: &Self, m: &Self, pending: u32, s: &Self) -> bool;
}

impl Digits for Big {
    fn mul_pow10(&mut self, n: u32) -> bool {
        self.mul_pow(10, 9, n)
    }

    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }

    fn sum_order(&self, other: &Self, double: bool, than: &Self) -> Ordering {
        self.sum_cmp(other, double, than)
    }

    /// Normalizes `s` (when the steps before changed it), shifting all three alike.
    fn ready(r: &mut Self, s: &mut Self, m: &mut Self) -> bool {
        let norm = Big::norm_shift(s.bit_len());
        r.shl(norm) && s.shl(norm) && m.shl(norm)
    }

    fn next_digit(&mut self, s: &Self) -> u8 {
        self.digit_step(s)
    }

    fn clear_of_bounds(r: &Self, m: &Self, pending: u32, s: &Self) -> bool {
        // 10**pending < 2**(10 × pending / 3)
        Big::clear_of(r, m.bit_len() + (10 * pending).div_ceil(3), s)
    }
}

/// Exact while `s` stays under 2**128 / 20: `10 × r` and `r + 2 × m` then fit (the sums
/// saturate otherwise, still ordered right).
#[cfg(feature = "fast")]
impl Digits for u128 {
    fn mul_pow10(&mut self, n: u32) -> bool {
        match (0..n).try_fold(*self, |v, _| v.checked_mul(10)) {
            Some(v) => {
                *self = v;
                true
            }
            None => false,
        }
    }

    fn order(&self, other: &Self) -> Ordering {
        Ord::cmp(self, other)
    }

    fn sum_order(&self, other: &Self, double: bool, than: &Self) -> Ordering {
        let other = other.saturating_mul(1 + u128::from(double));
        Ord::cmp(&self.saturating_add(other), than)
    }

    fn ready(_: &mut Self, s: &mut Self, _: &mut Self) -> bool {
        *s <= u128::MAX / 20
    }

    fn next_digit(&mut self, s: &Self) -> u8 {
        *self *= 10;
        let mut digit = 0;
        while *self >= *s {
            *self -= *s;
            digit += 1;
        }
        digit
    }

    fn clear_of_bounds(_: &Self, _: &Self, _: u32, _: &Self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::oracle::{python3_with_input, splitmix};
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
            // Extreme exponents (about 24 limbs), and digits that come near a bound early.
            (1e23, "1e+23"),
            (9.999933992428757e+299, "9.999933992428757e+299"),
            (5.90147573e-315, "5.90147573e-315"),
            (2.225073858507201e-308, "2.225073858507201e-308"),
            (4.4501477170144023e-308, "4.4501477170144023e-308"),
            (1.7976931348623155e308, "1.7976931348623155e+308"),
            (1.0000000000000002, "1.0000000000000002"),
            (0.30000000000000004, "0.30000000000000004"),
            (123456.789, "123456.789"),
        ];
        for &(x, want) in cases {
            assert_eq!(repr(x), want, "bits {:#x}", x.to_bits());
        }
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
        assert_python_repr(&values);
    }

    /// Each of `values` printed as CPython's `repr` prints it (python3, one run).
    fn assert_python_repr(values: &[f64]) {
        let mut text = String::new();
        for x in values {
            for b in x.to_le_bytes() {
                text.push_str(&std::format!("{b:02x}"));
            }
            text.push('\n');
        }
        let out = python3_with_input(
            // All of stdin read before anything is printed: no pipe fills while the other
            // side waits.
            "import struct\nlines = sys.stdin.read().split()\nprint('\\n'.join(repr(struct.unpack('<d', bytes.fromhex(l))[0]) for l in lines))",
            text.as_bytes(),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), values.len());
        for (x, want) in values.iter().zip(lines) {
            assert_eq!(repr(*x), want, "bits {:#018x}", x.to_bits());
        }
    }

    /// Every binary exponent (subnormals, both ends of the range), each with the significands
    /// at its edges (0, 1, all ones, the power of two whose lower gap is half) and seeded
    /// random ones; and the doubles at and beside each power of ten, where the estimate of the
    /// decimal exponent is one short and corrected, and where the digits' bounds touch.
    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn matches_python_repr_at_every_exponent() {
        let mut values: Vec<f64> = Vec::new();
        let mut seed = 0xe4_70e1_u64;
        let all = (1u64 << 52) - 1;
        for biased in 0..2047u64 {
            for fraction in [0, 1, 2, all, all - 1, all >> 1, (all >> 1) + 1] {
                values.push(f64::from_bits(biased << 52 | fraction));
            }
            for _ in 0..4 {
                let r = splitmix(&mut seed);
                values.push(f64::from_bits(biased << 52 | (r & all)));
                values.push(f64::from_bits(biased << 52 | (r & all) >> (r >> 58)));
            }
        }
        for e in -325..=308 {
            let p = std::format!("1e{e}").parse::<f64>().unwrap();
            let bits = p.to_bits();
            for b in [bits.saturating_sub(1), bits, bits + 1] {
                values.push(f64::from_bits(b));
                values.push(f64::from_bits(b) * 5.0);
            }
            values.push(std::format!("9.999999999999999e{e}").parse().unwrap());
        }
        values.retain(|x| x.is_finite());
        assert_python_repr(&values);
    }
}
