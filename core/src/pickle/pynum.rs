//! Python's numbers as dict keys: CPython's numeric hash (`Python/pyhash.c`: the value
//! modulo 2**61 - 1, sign kept, -1 read as -2) and exact equality across `int`, `bool` and
//! `float` (`1 == True == 1.0`, `2**64 == 2.0**64`, `2**53 + 1 != 2.0**53`), whatever
//! opcode wrote the int (INT/LONG decimal or LONG1/LONG4 bytes).

#[cfg(feature = "any-keys")]
use super::decode::arena::IntDigits;
#[cfg(feature = "any-keys")]
use super::number;

/// CPython's `_PyHASH_MODULUS` (64-bit builds): numeric hashes are reductions modulo it.
const MODULUS: u64 = (1 << 61) - 1;
/// `hash(float('inf'))`.
#[cfg(feature = "any-keys")]
const HASH_INF: u64 = 314_159;

/// A number, for Python's numeric equality.
#[cfg(feature = "any-keys")]
#[derive(Clone, Copy)]
pub(crate) enum Num<'a> {
    Small(i64),
    Big(&'a [u8], IntDigits),
    Float(f64),
}

/// CPython maps a hash of -1 (its error code) to -2.
fn not_minus_one(h: u64) -> u64 {
    if h == u64::MAX {
        u64::MAX - 1
    } else {
        h
    }
}

/// `x * 2**k` modulo [`MODULUS`] for `x < MODULUS`, `k < 61`: a 61-bit rotation.
#[cfg(feature = "any-keys")]
fn rotate61(x: u64, k: u32) -> u64 {
    if k == 0 {
        return x;
    }
    ((x << k) & MODULUS) | (x >> (61 - k))
}

/// The hash of an int with magnitude `m` modulo [`MODULUS`] and sign `negative`.
fn signed_hash(m: u64, negative: bool) -> u64 {
    not_minus_one(if negative { m.wrapping_neg() } else { m })
}

pub(crate) fn hash_small(i: i64) -> u64 {
    signed_hash(reduce(i.unsigned_abs()), i < 0)
}

/// `x` modulo [`MODULUS`] by folding (2**61 = 1 modulo it): no division, which a Cortex-M
/// does in software for 64 bits.
fn reduce(x: u64) -> u64 {
    let x = (x & MODULUS) + (x >> 61);
    if x >= MODULUS {
        x - MODULUS
    } else {
        x
    }
}

#[cfg(feature = "any-keys")]
pub(crate) fn hash_big(raw: &[u8], digits: IntDigits) -> u64 {
    match digits {
        IntDigits::LittleEndian => {
            // Unsigned value U of the bytes modulo P; a negative value is U - 256**n, so
            // its magnitude is 256**n - U, and 256**n = 2**(8n mod 61) modulo P.
            let u = raw
                .iter()
                .rev()
                .fold(0u64, |h, &b| reduce(rotate61(h, 8) + u64::from(b)));
            match raw.last() {
                Some(&top) if top & 0x80 != 0 => {
                    let pow = 1u64 << ((raw.len() % 61) * 8 % 61);
                    signed_hash(reduce(pow + MODULUS - u), true)
                }
                _ => signed_hash(u, false),
            }
        }
        IntDigits::Decimal => {
            let (negative, digits) = decimal_parts(raw);
            // h * 10 = h * 2**3 + h * 2**1: two rotations, each below 2**61.
            let m = digits.iter().fold(0u64, |h, &d| {
                reduce(reduce(rotate61(h, 3) + rotate61(h, 1)) + u64::from(d - b'0'))
            });
            signed_hash(m, negative)
        }
    }
}

/// A float's parts from its bits: sign, the integer significand `m` and the exponent `e`
/// with `|v| = m * 2**e` exactly; `None` for an infinity or a NaN. Integer work only: a
/// Cortex-M without an FPU would link soft-float routines for float arithmetic.
#[cfg(feature = "any-keys")]
fn float_parts(v: f64) -> Option<(bool, u64, i32)> {
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let negative = bits >> 63 != 0;
    match biased {
        0x7ff => None,
        0 => Some((negative, frac, -1074)),
        _ => Some((negative, frac | (1 << 52), biased - 1075)),
    }
}

/// `v.is_nan()` from the bits (no soft-float comparison).
#[cfg(feature = "any-keys")]
pub(crate) fn is_nan(v: f64) -> bool {
    v.to_bits() & !(1 << 63) > 0x7ff0_0000_0000_0000
}

/// CPython's `_Py_HashDouble` for a non-NaN float: the value modulo [`MODULUS`], computed
/// from the bits as `m * 2**(e mod 61)` (2**61 = 1 modulo it).
#[cfg(feature = "any-keys")]
pub(crate) fn hash_float(v: f64) -> u64 {
    match float_parts(v) {
        Some((negative, m, e)) => {
            // m < 2**53 < MODULUS; rem_euclid(61) < 61.
            signed_hash(rotate61(m, e.rem_euclid(61) as u32), negative)
        }
        None if v.to_bits() >> 63 != 0 => HASH_INF.wrapping_neg(),
        None => HASH_INF,
    }
}

/// Python's `i == f`: the float is integral and equal, exactly.
#[cfg(feature = "any-keys")]
fn int_eq_float(i: i64, f: f64) -> bool {
    let Some((negative, m, e)) = float_parts(f) else {
        return false;
    };
    if m == 0 {
        return i == 0;
    }
    if negative != (i < 0) {
        return false;
    }
    let magnitude = i.unsigned_abs();
    if e >= 0 {
        // m >= 2**52 for a normal float: shifted past 11 bits it exceeds every i64.
        e <= 11 && m << e == magnitude
    } else {
        let shift = e.unsigned_abs();
        shift < 64 && m & ((1 << shift) - 1) == 0 && m >> shift == magnitude
    }
}

/// Python's `a == b` for floats (IEEE: NaN equals nothing, `0.0 == -0.0`), from the bits.
#[cfg(feature = "any-keys")]
fn float_eq(a: f64, b: f64) -> bool {
    let (x, y) = (a.to_bits(), b.to_bits());
    !is_nan(a) && !is_nan(b) && (x == y || (x | y) << 1 == 0)
}

#[cfg(feature = "any-keys")]
pub(crate) fn num_eq(x: Num<'_>, y: Num<'_>) -> bool {
    match (x, y) {
        (Num::Small(a), Num::Small(b)) => a == b,
        (Num::Float(a), Num::Float(b)) => float_eq(a, b),
        (Num::Small(i), Num::Float(f)) | (Num::Float(f), Num::Small(i)) => int_eq_float(i, f),
        // A big int never fits 64 bits.
        (Num::Small(_), Num::Big(..)) | (Num::Big(..), Num::Small(_)) => false,
        (Num::Big(a, da), Num::Big(b, db)) => big_eq(a, da, b, db),
        (Num::Big(b, d), Num::Float(f)) | (Num::Float(f), Num::Big(b, d)) => {
            let mut buf = [0u8; FLOAT_LE_LEN];
            match float_le(f, &mut buf) {
                Some(le) => big_eq(le, IntDigits::LittleEndian, b, d),
                None => false,
            }
        }
    }
}

#[cfg(feature = "any-keys")]
fn big_eq(a: &[u8], da: IntDigits, b: &[u8], db: IntDigits) -> bool {
    match (da, db) {
        (IntDigits::LittleEndian, IntDigits::LittleEndian) => le_trim(a) == le_trim(b),
        (IntDigits::Decimal, IntDigits::Decimal) => decimal_parts(a) == decimal_parts(b),
        (IntDigits::LittleEndian, IntDigits::Decimal) => le_eq_decimal(a, b),
        (IntDigits::Decimal, IntDigits::LittleEndian) => le_eq_decimal(b, a),
    }
}

/// Sign and digits of a decimal INT/LONG argument (validated by the decoder).
#[cfg(feature = "any-keys")]
fn decimal_parts(text: &[u8]) -> (bool, &[u8]) {
    number::split_decimal(text).unwrap_or((false, &[]))
}

/// Little-endian two's complement without redundant sign-extension bytes.
#[cfg(feature = "any-keys")]
fn le_trim(le: &[u8]) -> &[u8] {
    let mut le = le;
    while let [.., below, top] = *le {
        if (top == 0 && below & 0x80 == 0) || (top == 0xff && below & 0x80 != 0) {
            le = le.get(..le.len() - 1).unwrap_or_default();
        } else {
            break;
        }
    }
    le
}

/// 32-bit limbs of the largest decimal INT/LONG argument (4300 digits: under 2**14286).
#[cfg(feature = "any-keys")]
const DECIMAL_LIMBS: usize = number::MAX_INT_DIGITS * 100 / 963 + 2;

/// A LONG1/LONG4 payload equals a decimal INT/LONG argument: the decimal's magnitude in
/// 32-bit limbs (1.8 KiB of stack; multiplications only, no division), compared byte by byte
/// with the payload's magnitude (its two's complement negated on the fly), then the signs.
/// Not inlined: the limbs live on this frame only while comparing, not in every caller's.
#[cfg(feature = "any-keys")]
#[inline(never)]
fn le_eq_decimal(le: &[u8], decimal: &[u8]) -> bool {
    let (negative, digits) = decimal_parts(decimal);
    let mut limbs = [0u32; DECIMAL_LIMBS];
    let mut len = 0;
    // Nine digits at a time, most significant first: limbs = limbs * 10^n + chunk.
    for chunk in digits.chunks(9) {
        let (mut carry, scale) = chunk.iter().fold((0u64, 1u64), |(value, scale), &d| {
            (value * 10 + u64::from(d & 0x0f), scale * 10)
        });
        for limb in limbs.iter_mut().take(len) {
            let v = u64::from(*limb) * scale + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            match limbs.get_mut(len) {
                Some(limb) => *limb = carry as u32,
                None => return false,
            }
            len += 1;
        }
    }
    let byte = |i: usize| limbs.get(i / 4).map_or(0, |l| (l >> (8 * (i % 4))) as u8);
    let le_negative = le.last().is_some_and(|&b| b & 0x80 != 0);
    let mut borrow = true;
    let mut nonzero = false;
    for (i, &b) in le.iter().enumerate() {
        let magnitude = if le_negative {
            let (m, carry) = (!b).overflowing_add(u8::from(borrow));
            borrow = carry;
            m
        } else {
            b
        };
        if magnitude != byte(i) {
            return false;
        }
        nonzero |= magnitude != 0;
    }
    // The decimal's bytes past the payload's are zero; a zero equals zero whatever its sign.
    (le.len()..len * 4).all(|i| byte(i) == 0) && (!nonzero || negative == le_negative)
}

/// Bytes of the largest integral float in two's complement (2**1024 needs 129).
#[cfg(feature = "any-keys")]
const FLOAT_LE_LEN: usize = 136;

/// An integral float as little-endian two's complement; `None` if not finite or not
/// integral.
#[cfg(feature = "any-keys")]
fn float_le(f: f64, buf: &mut [u8; FLOAT_LE_LEN]) -> Option<&[u8]> {
    let (negative, mut mant, mut e) = float_parts(f)?;
    if e < 0 {
        let shift = e.unsigned_abs();
        if shift >= 64 || mant & ((1u64 << shift) - 1) != 0 {
            return if mant == 0 { Some(&buf[..0]) } else { None };
        }
        mant >>= shift;
        e = 0;
    }
    let (byte, bit) = ((e / 8) as usize, (e % 8) as u32);
    let wide = u128::from(mant) << bit;
    for (i, slot) in buf.iter_mut().skip(byte).take(9).enumerate() {
        *slot = (wide >> (8 * i)) as u8;
    }
    let len = byte + 10;
    let out = buf.get_mut(..len)?;
    if negative {
        let mut carry = true;
        for b in out.iter_mut() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    Some(out)
}

#[cfg(feature = "any-keys")]
#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::oracle::python3_with_input;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    /// Floats around every place the integer code branches: zero, subnormals, integral and
    /// not, beyond 2**63 and 2**64, infinities, every exponent modulo 61.
    fn floats() -> Vec<f64> {
        let mut v = std::vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1.5,
            -2.5,
            5e-324,
            -5e-324,
            2.2250738585072014e-308,
            1e-310,
            9007199254740992.0,
            9007199254740993.0,
            9223372036854775808.0,
            -9223372036854775808.0,
            18446744073709551616.0,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1,
            1e16,
            123456.75,
            -0.0001,
        ];
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..600 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let x = f64::from_bits(seed);
            if !x.is_nan() {
                v.push(x);
            }
        }
        for e in -1100..1030 {
            v.push(2f64.powi(e) * 1.75);
        }
        v
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn float_hash_matches_cpython() {
        let values = floats();
        let mut text = String::new();
        for x in &values {
            text.push_str(&std::format!("{:016x}\n", x.to_bits()));
        }
        let out = python3_with_input(
            "import struct\nfor l in sys.stdin:\n    print(hash(struct.unpack('>d', bytes.fromhex(l.strip()))[0]) & (2**64 - 1))",
            text.as_bytes(),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), values.len());
        for (x, want) in values.iter().zip(lines) {
            assert_eq!(std::format!("{}", hash_float(*x)), want, "{x:e}");
        }
    }

    #[test]
    fn ints_hash_and_equal_floats_exactly() {
        let ints: &[i64] = &[
            0,
            1,
            -1,
            2,
            -2,
            1 << 52,
            (1 << 53) + 1,
            i64::MAX,
            i64::MIN,
            314_159,
        ];
        for &i in ints {
            for x in floats() {
                // The float's exact value, by Rust's own conversion (std here, not on the target).
                // 2**63 by an exact cast: Miri perturbs `powi`'s result by design.
                let exact = x.fract() == 0.0
                    && x.abs() <= (1u64 << 63) as f64
                    && x as i128 == i128::from(i);
                assert_eq!(int_eq_float(i, x), exact, "{i} == {x:e}");
                assert_eq!(num_eq(Num::Small(i), Num::Float(x)), exact);
                if exact {
                    assert_eq!(hash_small(i), hash_float(x), "{i}");
                }
            }
        }
        for x in floats() {
            for y in [0.0, -0.0, x, -x, f64::NAN] {
                assert_eq!(float_eq(x, y), x == y, "{x:e} == {y:e}");
            }
            assert!(!is_nan(x));
        }
        assert!(is_nan(f64::NAN) && is_nan(-f64::NAN));
        // 2**63 as a float is not an i64; i64::MIN is -2**63, which is.
        assert!(!int_eq_float(i64::MAX, 9223372036854775808.0));
        assert!(int_eq_float(i64::MIN, -9223372036854775808.0));
    }

    #[test]
    fn decimal_and_byte_hashes_match_small_ints() {
        for i in [
            0i64,
            1,
            -1,
            10,
            -12345,
            1 << 61,
            -(1 << 61),
            (1 << 61) - 1,
            i64::MAX,
            i64::MIN + 1,
        ] {
            let text = std::format!("{i}");
            assert_eq!(
                hash_big(text.as_bytes(), IntDigits::Decimal),
                hash_small(i),
                "{i}"
            );
            let le = i.to_le_bytes();
            assert_eq!(hash_big(&le, IntDigits::LittleEndian), hash_small(i), "{i}");
        }
    }

    #[test]
    fn byte_and_decimal_ints_are_equal_exactly_when_their_values_are() {
        let values: &[i128] = &[
            0,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            -32_768,
            999_999_999,
            1_000_000_000,
            -1_000_000_000,
            1 << 64,
            -(1 << 64),
            (1 << 64) + 1,
            i128::MAX,
            i128::MIN + 1,
            i128::MIN,
        ];
        for &a in values {
            let le = a.to_le_bytes();
            // Minimal, and with redundant sign-extension bytes (as LONG4 may carry).
            let fill = if a < 0 { 0xff } else { 0 };
            let wide: Vec<u8> = le.iter().copied().chain([fill; 3]).collect();
            for &b in values {
                let text = std::format!("{b}");
                let want = a == b;
                assert_eq!(le_eq_decimal(&le, text.as_bytes()), want, "{a} {b}");
                assert_eq!(le_eq_decimal(&wide, text.as_bytes()), want, "{a} {b} wide");
            }
        }
        // Zero: an empty payload, and "-0" / "000" decimals.
        assert!(
            le_eq_decimal(&[], b"0") && le_eq_decimal(&[], b"-0") && le_eq_decimal(&[0], b"000")
        );
        assert!(!le_eq_decimal(&[], b"1"));
    }

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn big_int_hashes_match_cpython() {
        let out = python3_with_input(
            "ns = [2**64 + 1, -2**100, 10**30 + 7, -(10**40), 2**61 - 1, 2**61, -(2**61) - 1, 2**200 - 3]\n\
             for n in ns:\n    \
             b = n.to_bytes((n.bit_length() + 8) // 8, 'little', signed=True)\n    \
             print(n, b.hex(), hash(n) & (2**64 - 1))",
            b"",
        );
        for line in out.lines() {
            let mut parts = line.split(' ');
            let (dec, le, want) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let le = super::super::oracle::unhex(le);
            assert_eq!(
                std::format!("{}", hash_big(dec.as_bytes(), IntDigits::Decimal)),
                want,
                "{dec}"
            );
            assert_eq!(
                std::format!("{}", hash_big(&le, IntDigits::LittleEndian)),
                want,
                "{dec}"
            );
            // The same int by bytes and by digits is one key; one more or its negation is not.
            assert!(le_eq_decimal(&le, dec.as_bytes()), "{dec}");
            let last = dec.len() - 1;
            let bumped = std::format!("{}{}", &dec[..last], (dec.as_bytes()[last] - b'0' + 1) % 10);
            assert!(!le_eq_decimal(&le, bumped.as_bytes()), "{bumped}");
            let negated = match dec.strip_prefix('-') {
                Some(positive) => String::from(positive),
                None => std::format!("-{dec}"),
            };
            assert!(!le_eq_decimal(&le, negated.as_bytes()), "{negated}");
        }
        assert_eq!(out.lines().count(), 8);
    }
}
