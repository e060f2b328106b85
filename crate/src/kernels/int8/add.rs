//! Quantized elementwise ADD / SUB of two int8 arrays of the same length,
//! as LiteRT's reference `AddFunc`: both inputs offset and left-shifted,
//! each rescaled to twice the larger input scale, summed (or subtracted),
//! rescaled to the output, offset and clamped. Every rescale is
//! `MultiplyByQuantizedMultiplierSmallerThanOneExp` (a Q31 multiply, then a
//! rounding right shift). [`add`] is the scalar reference.

use super::fixedpoint::mbqm_smaller_than_one;
use super::gemm::KResult;

/// Parameters of one ADD/SUB node (shifts are LiteRT's, <= 0 here means a
/// right shift of `-shift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddParams {
    pub left_shift: i32,
    pub in1_off: i32,
    pub in1_mult: i32,
    pub in1_shift: i32,
    pub in2_off: i32,
    pub in2_mult: i32,
    pub in2_shift: i32,
    pub out_off: i32,
    pub out_mult: i32,
    pub out_shift: i32,
    pub lo: i32,
    pub hi: i32,
    pub sub: bool,
}

impl AddParams {
    /// One output value.
    #[inline]
    pub fn one(&self, x: i32, y: i32) -> i32 {
        let s1 = (self.in1_off + x).wrapping_mul(1 << self.left_shift);
        let s2 = (self.in2_off + y).wrapping_mul(1 << self.left_shift);
        let r1 = mbqm_smaller_than_one(s1, self.in1_mult, self.in1_shift);
        let r2 = mbqm_smaller_than_one(s2, self.in2_mult, self.in2_shift);
        let raw = if self.sub { r1.wrapping_sub(r2) } else { r1.wrapping_add(r2) };
        let out = mbqm_smaller_than_one(raw, self.out_mult, self.out_shift).wrapping_add(self.out_off);
        out.clamp(self.lo, self.hi)
    }

    /// True when the SIMD kernel computes exactly this (non-negative
    /// multipliers, right shifts within 0..=31, left shift at most 24).
    pub fn simd_ok(&self) -> bool {
        [self.in1_mult, self.in2_mult, self.out_mult].iter().all(|&m| m >= 0)
            && [self.in1_shift, self.in2_shift, self.out_shift].iter().all(|&s| (-31..=0).contains(&s))
            && (0..=24).contains(&self.left_shift)
            && self.in1_off.abs() <= 256
            && self.in2_off.abs() <= 256
    }
}

/// Scalar reference: `out[i] = add(a[i], b[i])`.
pub fn add(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    if a.len() != b.len() || a.len() != out.len() {
        return Err(format!("add: lengths {}, {} and {} differ", a.len(), b.len(), out.len()));
    }
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = p.one(x as i32, y as i32) as i8;
    }
    Ok(())
}
