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

/// The fast (XNNPACK-style) int8 ADD/SUB: both inputs scaled by integer
/// multipliers of about 21 bits sharing one shift, summed with a bias that
/// holds the zero points and the rounding term, shifted right (round half
/// up), clamped, offset: `clamp((bias + a·ma + b·mb) >> shift)`. With the
/// multipliers derived as XNNPACK derives them, this is LiteRT's default
/// CPU ADD; it may differ from the reference arithmetic by one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastAdd {
    pub a_mult: i32,
    pub b_mult: i32,
    pub bias: i32,
    pub shift: u32,
    pub out_zp: i32,
    pub lo: i32,
    pub hi: i32,
}

impl FastAdd {
    /// From the input-to-output scale ratios (`s_b / s_out` negated for
    /// SUB) and zero points; `None` when a ratio is outside `[2^-10, 2^8)`
    /// (XNNPACK does not take such nodes either).
    pub fn new(a_ratio: f32, a_zp: i32, b_ratio: f32, b_zp: i32, out_zp: i32, lo: i32, hi: i32) -> Option<FastAdd> {
        let in_range = |r: f32| (2f32.powi(-10)..256.0).contains(&r.abs());
        if !in_range(a_ratio) || !in_range(b_ratio) || !(-128..=127).contains(&out_zp) {
            return None;
        }
        let max = a_ratio.abs().max(b_ratio.abs());
        let exponent = ((max.to_bits() >> 23) & 0xff) as i32 - 127;
        let shift = 20 - exponent; // in 12..=30 for the accepted ratios
        let pow = f32::from_bits(((127 + shift) as u32) << 23);
        let mult = |r: f32| {
            let m = (r.abs() * pow).round_ties_even() as i32;
            if r.is_sign_negative() {
                -m
            } else {
                m
            }
        };
        let (a_mult, b_mult) = (mult(a_ratio), mult(b_ratio));
        let bias = (1i32 << (shift - 1)).wrapping_sub(a_mult.wrapping_mul(a_zp)).wrapping_sub(b_mult.wrapping_mul(b_zp));
        Some(FastAdd { a_mult, b_mult, bias, shift: shift as u32, out_zp, lo, hi })
    }

    /// One output value.
    #[inline]
    pub fn one(&self, a: i32, b: i32) -> i32 {
        let acc = self.bias.wrapping_add(a.wrapping_mul(self.a_mult)).wrapping_add(b.wrapping_mul(self.b_mult));
        ((acc >> self.shift) + self.out_zp).clamp(self.lo, self.hi)
    }
}

/// Scalar reference of the fast form: `out[i] = fast.one(a[i], b[i])`.
pub fn add_fast(p: &FastAdd, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    if a.len() != b.len() || a.len() != out.len() {
        return Err(format!("add: lengths {}, {} and {} differ", a.len(), b.len(), out.len()));
    }
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = p.one(x as i32, y as i32) as i8;
    }
    Ok(())
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
