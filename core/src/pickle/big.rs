//! Non-negative big integers of 32-bit limbs, fixed capacity (512 bytes each, on the stack),
//! for exact decimal conversions without float arithmetic or 64-bit division: the parser of
//! protocol-0 FLOAT text (`float_text`) and the shortest repr of a double (`float_repr`).

/// 32-bit limbs of each big integer: 10**1130 (more than the largest denominator 5**1130: 800
/// digits and an exponent down to -330) times 2**56 is under 3,811 bits.
pub(super) const LIMBS: usize = 128;

/// A non-negative integer, little-endian limbs. Limbs at `len` and above are zero, so each
/// operation touches only the limbs in use (a short decimal's divisions take a few limbs,
/// not all 128).
pub(super) struct Big {
    pub(super) limbs: [u32; LIMBS],
    pub(super) len: usize,
}

impl Big {
    pub(super) fn from_u32(v: u32) -> Big {
        let mut limbs = [0; LIMBS];
        limbs[0] = v;
        Big {
            limbs,
            len: usize::from(v != 0),
        }
    }

    /// The limbs in use.
    pub(super) fn used(&self) -> &[u32] {
        self.limbs.get(..self.len).unwrap_or(&self.limbs)
    }

    /// Drops zero limbs from the top of `len`.
    pub(super) fn trim(&mut self) {
        while self.len > 0 && self.limbs.get(self.len - 1) == Some(&0) {
            self.len -= 1;
        }
    }

    /// `self = self * m + add`; false if it overflowed.
    pub(super) fn mul_add(&mut self, m: u32, add: u32) -> bool {
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

    /// `self *= 5**n`; false if it overflowed.
    pub(super) fn mul_pow5(&mut self, n: u32) -> bool {
        self.mul_pow(5, 13, n)
    }

    /// `self *= base**n`, `step` factors at a time (`base**step` fits 32 bits); false if it
    /// overflowed.
    pub(super) fn mul_pow(&mut self, base: u32, step: u32, mut n: u32) -> bool {
        while n > 0 {
            let now = n.min(step);
            if !self.mul_add(base.pow(now), 0) {
                return false;
            }
            n -= now;
        }
        true
    }

    pub(super) fn bit_len(&self) -> u32 {
        match self.used().last() {
            Some(&top) => 32 * (self.len as u32 - 1) + (32 - top.leading_zeros()),
            None => 0,
        }
    }

    /// `self <<= n`; false if bits fell off the top. One pass over the limbs in use, from the
    /// top.
    pub(super) fn shl(&mut self, n: u32) -> bool {
        if n == 0 || self.len == 0 {
            return true;
        }
        if self.bit_len() + n > 32 * LIMBS as u32 {
            return false;
        }
        let (words, bits) = ((n / 32) as usize, n % 32);
        let top = (self.len + words + 1).min(LIMBS);
        let limbs = &mut self.limbs;
        // Each new limb from the pair of old ones below it, the upper one read the step before.
        let mut upper = (top - 1)
            .checked_sub(words)
            .and_then(|i| limbs.get(i))
            .copied()
            .unwrap_or(0);
        for dst in (words..top).rev() {
            let lower = dst
                .checked_sub(words + 1)
                .and_then(|i| limbs.get(i))
                .copied()
                .unwrap_or(0);
            let pair = (u64::from(upper) << 32) | u64::from(lower);
            if let Some(slot) = limbs.get_mut(dst) {
                *slot = (pair >> (32 - bits)) as u32;
            }
            upper = lower;
        }
        for slot in limbs.iter_mut().take(words) {
            *slot = 0;
        }
        self.len = top;
        self.trim();
        true
    }

    /// `self -= other` if `self >= other`; whether it did.
    pub(super) fn sub_if_ge(&mut self, other: &Big) -> bool {
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
    pub(super) fn sub(&mut self, other: &Big) -> bool {
        let mut borrow = false;
        let len = self.len;
        // Checked: no panic path (`core::fmt`); `len` never passes the limbs.
        let (low, high) = self
            .limbs
            .split_at_mut_checked(other.len.min(len))
            .unwrap_or((&mut [], &mut []));
        for (a, &b) in low.iter_mut().zip(other.used()) {
            let (v, c1) = a.overflowing_sub(b);
            let (v, c2) = v.overflowing_sub(u32::from(borrow));
            *a = v;
            borrow = c1 || c2;
        }
        for a in high.iter_mut().take(len - other.len.min(len)) {
            if !borrow {
                break;
            }
            (*a, borrow) = a.overflowing_sub(1);
        }
        self.trim();
        true
    }
}
