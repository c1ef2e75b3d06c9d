//! Python's numbers as dict keys: CPython's numeric hash (`Python/pyhash.c`: the value
//! modulo 2**61 - 1, sign kept, -1 read as -2) and exact equality across `int`, `bool` and
//! `float` (`1 == True == 1.0`, `2**64 == 2.0**64`, `2**53 + 1 != 2.0**53`), whatever
//! opcode wrote the int (INT/LONG decimal or LONG1/LONG4 bytes).

use core::fmt;

use super::decode::arena::IntDigits;
use super::number;
use super::repr;

/// CPython's `_PyHASH_MODULUS` (64-bit builds): numeric hashes are reductions modulo it.
const MODULUS: u64 = (1 << 61) - 1;
/// `hash(float('inf'))`.
const HASH_INF: u64 = 314_159;

/// A number, for Python's numeric equality.
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
    signed_hash(i.unsigned_abs() % MODULUS, i < 0)
}

pub(crate) fn hash_big(raw: &[u8], digits: IntDigits) -> u64 {
    match digits {
        IntDigits::LittleEndian => {
            // Unsigned value U of the bytes modulo P; a negative value is U - 256**n, so
            // its magnitude is 256**n - U, and 256**n = 2**(8n mod 61) modulo P.
            let u = raw.iter().rev().fold(0u64, |h, &b| {
                let h = rotate61(h, 8) + u64::from(b);
                if h >= MODULUS {
                    h - MODULUS
                } else {
                    h
                }
            });
            match raw.last() {
                Some(&top) if top & 0x80 != 0 => {
                    let pow = 1u64 << ((8 * raw.len() as u64) % 61);
                    signed_hash((pow + MODULUS - u) % MODULUS, true)
                }
                _ => signed_hash(u, false),
            }
        }
        IntDigits::Decimal => {
            let (negative, digits) = decimal_parts(raw);
            let m = digits.iter().fold(0u64, |h, &d| {
                ((u128::from(h) * 10 + u128::from(d - b'0')) % u128::from(MODULUS)) as u64
            });
            signed_hash(m, negative)
        }
    }
}

/// CPython's `_Py_HashDouble` for a non-NaN float: the value modulo [`MODULUS`], 28 bits
/// at a time.
pub(crate) fn hash_float(v: f64) -> u64 {
    if v.is_infinite() {
        return if v > 0.0 {
            HASH_INF
        } else {
            HASH_INF.wrapping_neg()
        };
    }
    let (mut m, mut e) = frexp(v);
    let negative = m < 0.0;
    if negative {
        m = -m;
    }
    let mut x = 0u64;
    while m != 0.0 {
        x = rotate61(x, 28);
        m *= 268_435_456.0; // 2**28
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 {
        e % 61
    } else {
        61 - 1 - ((-1 - e) % 61)
    };
    signed_hash(rotate61(x, e as u32), negative)
}

/// C's `frexp`: `v = m * 2**e` with `0.5 <= |m| < 1` (`(0.0, 0)` for zero).
fn frexp(v: f64) -> (f64, i32) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if v == 0.0 {
        return (v, 0);
    }
    if exp == 0 {
        let (m, e) = frexp(v * 18_014_398_509_481_984.0); // 2**54: subnormal
        return (m, e - 54);
    }
    (
        f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52)),
        exp - 1022,
    )
}

pub(crate) fn num_eq(x: Num<'_>, y: Num<'_>) -> bool {
    match (x, y) {
        (Num::Small(a), Num::Small(b)) => a == b,
        (Num::Float(a), Num::Float(b)) => a == b,
        (Num::Small(i), Num::Float(f)) | (Num::Float(f), Num::Small(i)) => {
            // Exact: the float is integral and equal (`as` saturates; NaN gives 0).
            let t = f as i128;
            t as f64 == f && t == i128::from(i)
        }
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

fn big_eq(a: &[u8], da: IntDigits, b: &[u8], db: IntDigits) -> bool {
    match (da, db) {
        (IntDigits::LittleEndian, IntDigits::LittleEndian) => le_trim(a) == le_trim(b),
        (IntDigits::Decimal, IntDigits::Decimal) => decimal_parts(a) == decimal_parts(b),
        (IntDigits::LittleEndian, IntDigits::Decimal) => le_eq_decimal(a, b),
        (IntDigits::Decimal, IntDigits::LittleEndian) => le_eq_decimal(b, a),
    }
}

/// Sign and digits of a decimal INT/LONG argument (validated by the decoder).
fn decimal_parts(text: &[u8]) -> (bool, &[u8]) {
    number::split_decimal(text).unwrap_or((false, &[]))
}

/// Little-endian two's complement without redundant sign-extension bytes.
fn le_trim(le: &[u8]) -> &[u8] {
    let mut n = le.len();
    while n >= 2 {
        let (top, below) = (le[n - 1], le[n - 2] & 0x80);
        if (top == 0 && below == 0) || (top == 0xff && below != 0) {
            n -= 1;
        } else {
            break;
        }
    }
    &le[..n]
}

/// An `fmt::Write` that checks the text written is `-` (if `sign`) then `rest`.
struct Matches<'a> {
    sign: bool,
    rest: &'a [u8],
}

impl fmt::Write for Matches<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut s = s.as_bytes();
        if self.sign {
            s = s.strip_prefix(b"-").ok_or(fmt::Error)?;
            self.sign = false;
        }
        self.rest = self.rest.strip_prefix(s).ok_or(fmt::Error)?;
        Ok(())
    }
}

/// A LONG1/LONG4 payload equals a decimal INT/LONG argument: renders the first in
/// decimal against the second (no buffer).
fn le_eq_decimal(le: &[u8], decimal: &[u8]) -> bool {
    let (sign, rest) = decimal_parts(decimal);
    let mut m = Matches { sign, rest };
    repr::write_int_le_repr(&mut m, le).is_ok() && !m.sign && m.rest.is_empty()
}

/// Bytes of the largest integral float in two's complement (2**1024 needs 129).
const FLOAT_LE_LEN: usize = 136;

/// An integral float as little-endian two's complement; `None` if not finite or not
/// integral.
fn float_le(f: f64, buf: &mut [u8; FLOAT_LE_LEN]) -> Option<&[u8]> {
    let bits = f.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0x7ff {
        return None;
    }
    let mut mant = bits & ((1 << 52) - 1);
    let mut e = if exp == 0 {
        -1074
    } else {
        mant |= 1 << 52;
        exp - 1075
    };
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
    if f < 0.0 {
        let mut carry = true;
        for b in out.iter_mut() {
            let (v, c) = (!*b).overflowing_add(u8::from(carry));
            *b = v;
            carry = c;
        }
    }
    Some(out)
}
