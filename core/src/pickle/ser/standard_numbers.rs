//! `complex`, `fractions.Fraction`, `range` and `slice` as [`PyStandard`]s, written as
//! `pickle.dumps` writes them: REDUCE of the class with `(real, imag)`,
//! `(numerator, denominator)` (CPython 3.11-3.13; 3.8-3.10 write `('n/d',)`, which every
//! version loads to the same Fraction), `(start, stop, step)`. Protocol 2 names the builtins
//! as Python 2 does (`__builtin__.complex`, `__builtin__.xrange`, `__builtin__.slice`).
//!
//! Payloads (after the tag), big-endian: two f64; two i64; three i64; three parts, each
//! `0` (None) or `1` and an i64.

use super::standard::{bad, Class, COMPLEX, FRACTION, RANGE, SLICE};
use super::{Error, Opcode, PyStandard, Serializer};

impl PyStandard {
    /// `complex(real, imag)`.
    pub fn complex(real: f64, imag: f64) -> Self {
        let mut parts = [0u8; 16];
        parts[..8].copy_from_slice(&real.to_be_bytes());
        parts[8..].copy_from_slice(&imag.to_be_bytes());
        Self::tagged(COMPLEX, &parts)
    }

    /// `fractions.Fraction(numerator, denominator)`, reduced to lowest terms with a positive
    /// denominator as Python reduces it (`Fraction(6, -4)` is `Fraction(-3, 2)`); `None` for a
    /// zero denominator or a reduced fraction whose parts do not fit in an i64.
    pub fn fraction(numerator: i64, denominator: i64) -> Option<Self> {
        if denominator == 0 {
            return None;
        }
        let (mut n, mut d) = (i128::from(numerator), i128::from(denominator));
        if d < 0 {
            (n, d) = (-n, -d);
        }
        let g = gcd(n.unsigned_abs(), d.unsigned_abs());
        let g = i128::try_from(g).ok()?;
        let n = i64::try_from(n / g).ok()?;
        let d = i64::try_from(d / g).ok()?;
        let mut parts = [0u8; 16];
        parts[..8].copy_from_slice(&n.to_be_bytes());
        parts[8..].copy_from_slice(&d.to_be_bytes());
        Some(Self::tagged(FRACTION, &parts))
    }

    /// `range(start, stop, step)`; `None` for a zero step (Python's ValueError).
    pub fn range(start: i64, stop: i64, step: i64) -> Option<Self> {
        if step == 0 {
            return None;
        }
        let mut parts = [0u8; 24];
        for (at, v) in [start, stop, step].into_iter().enumerate() {
            parts[at * 8..at * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        Some(Self::tagged(RANGE, &parts))
    }

    /// `slice(start, stop, step)`, each an int or `None`.
    pub fn slice(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Self {
        let mut parts = [0u8; 27];
        for (at, v) in [start, stop, step].into_iter().enumerate() {
            if let Some(v) = v {
                parts[at * 9] = 1;
                parts[at * 9 + 1..at * 9 + 9].copy_from_slice(&v.to_be_bytes());
            }
        }
        Self::tagged(SLICE, &parts)
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The `N` big-endian bytes at `at` of `parts`.
fn field<const N: usize>(parts: &[u8], at: usize) -> Result<[u8; N], Error> {
    parts
        .get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)
}

impl<const MEMO: usize> Serializer<'_, MEMO> {
    /// Writes a complex, Fraction, range or slice payload.
    pub(super) fn save_number_type(&mut self, payload: &[u8]) -> Result<(), Error> {
        let (class, parts, tuple) = match payload {
            [COMPLEX, parts @ ..] if parts.len() == 16 => (Class::Complex, parts, Opcode::TUPLE2),
            [FRACTION, parts @ ..] if parts.len() == 16 => (Class::Fraction, parts, Opcode::TUPLE2),
            [RANGE, parts @ ..] if parts.len() == 24 => (Class::Range, parts, Opcode::TUPLE3),
            [SLICE, parts @ ..] if parts.len() == 27 => (Class::Slice, parts, Opcode::TUPLE3),
            _ => return Err(bad()),
        };
        self.save_class(class)?;
        match class {
            Class::Complex => {
                self.save_float(f64::from_be_bytes(field(parts, 0)?))?;
                self.save_float(f64::from_be_bytes(field(parts, 8)?))?;
            }
            Class::Slice => {
                for at in [0, 9, 18] {
                    match parts.get(at) {
                        Some(1) => self.save_i64(i64::from_be_bytes(field(parts, at + 1)?))?,
                        _ => self.save_none()?,
                    }
                }
            }
            _ => {
                for at in (0..parts.len()).step_by(8) {
                    self.save_i64(i64::from_be_bytes(field(parts, at)?))?;
                }
            }
        }
        self.reduce(tuple).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use alloc::vec;

    use super::super::super::oracle::unhex;
    use super::super::super::{to_vec, Protocol};
    use super::PyStandard;

    /// CPython 3.11's `pickle.dumps([1+2j, complex(-0.0, nan), Fraction(-3, 2),
    /// range(0, 10, -2), slice(None, 2, None)], p)` in protocols 2 (Python 2's names) and 4.
    #[test]
    fn numbers_pickle_as_cpython_does() {
        let v = vec![
            PyStandard::complex(1.0, 2.0),
            PyStandard::complex(-0.0, f64::NAN),
            PyStandard::fraction(6, -4).unwrap(),
            PyStandard::range(0, 10, -2).unwrap(),
            PyStandard::slice(None, Some(2), None),
        ];
        assert_eq!(
            to_vec(&v, Protocol::V2).unwrap(),
            unhex("80025d710028635f5f6275696c74696e5f5f0a636f6d706c65780a7101473ff00000000000004740000000000000008671025271036801478000000000000000477ff8000000000000867104527105636672616374696f6e730a4672616374696f6e0a71064afdffffff4b02867107527108635f5f6275696c74696e5f5f0a7872616e67650a71094b004b0a4afeffffff87710a52710b635f5f6275696c74696e5f5f0a736c6963650a710c4e4b024e87710d52710e652e")
        );
        assert_eq!(
            to_vec(&v, Protocol::V4).unwrap(),
            unhex("8004959b000000000000005d94288c086275696c74696e73948c07636f6d706c6578949394473ff0000000000000474000000000000000869452946803478000000000000000477ff8000000000000869452948c096672616374696f6e73948c084672616374696f6e9493944afdffffff4b028694529468018c0572616e67659493944b004b0a4afeffffff8794529468018c05736c6963659493944e4b024e87945294652e")
        );
    }

    /// Fractions reduce as Python's do; what Python refuses, brine does not make.
    #[test]
    fn fractions_reduce_and_refusals_are_none() {
        let f = |n, d| PyStandard::fraction(n, d);
        assert_eq!(f(6, -4), f(-3, 2));
        assert_eq!(f(0, 7), f(0, 1));
        assert_eq!(f(i64::MIN, i64::MIN), f(1, 1));
        assert!(f(1, 0).is_none());
        // -2**63 / -1 is 2**63, beyond an i64.
        assert!(f(i64::MIN, -1).is_none());
        assert!(PyStandard::range(0, 1, 0).is_none());
    }
}
