//! Per-channel requantization of int32 accumulators to a quantized output:
//! `clamp(zp + rescale(acc), min, max)`, where `rescale` is TFLite's
//! fixed-point `MultiplyByQuantizedMultiplier` (conv, depthwise, transpose
//! conv) or the reference FULLY_CONNECTED's `(int32)round(double(acc) * s)`.
//!
//! The SIMD kernels cannot shift lanes by different amounts, so for the
//! fixed-point form this also precomputes, per channel, constants that turn
//! `RoundingDivideByPOT(s, e)` into a multiply and one uniform shift:
//! `((s - [s<0]) * 2^(30-e) + 2^29) >> 30` (exact for `1 <= e <= 30`; for
//! `e = 0` no correction and no rounding term). The kernels keep 64-bit
//! intermediates non-negative by adding 2^62, so only logical 64-bit shifts
//! are needed (WebAssembly's arithmetic `i64x2.shr_s` has no x86 SSE
//! instruction).

use super::fixedpoint::{mbqm, round_half_away};

/// How accumulators are rescaled.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    /// `MultiplyByQuantizedMultiplier(acc, mult[c], shift[c])`.
    Fixed { mult: Vec<i32>, shift: Vec<i32> },
    /// `(int32)round(double(acc) * scale[c])`.
    Double(Vec<f64>),
}

/// Lane constants of the fixed-point form for the SIMD kernels, one entry
/// per channel, each vector padded to a multiple of 16 channels.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lanes {
    /// `2^left_shift` (wrapping multiply = left shift).
    pub lmul: Vec<i32>,
    /// The Q31 multiplier (non-negative).
    pub mult: Vec<i32>,
    /// `2^(30 - right_shift)`.
    pub pow: Vec<i32>,
    /// `right_shift >= 1 ? -1 : 0`: lanes whose negative values step down
    /// by one before the shift.
    pub ge1: Vec<i32>,
    /// `2^62 + (right_shift >= 1 ? 2^29 : 0)`.
    pub round: Vec<i64>,
    /// Per group of 4 channels: the right shift when all four share it (and
    /// have no left shift), else -1. Most groups do, and then the rounding
    /// divide is a uniform 32-bit shift.
    pub uniform: Vec<i32>,
}

/// Requantization of `channels` accumulator columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Requant {
    pub scale: Scale,
    pub zero_point: i32,
    pub min: i32,
    pub max: i32,
    /// Present when every channel fits the SIMD form (non-negative
    /// multiplier, shifts within range).
    pub lanes: Option<Lanes>,
    /// Single-precision scales `f32(s_in) * f32(s_w[c]) / f32(s_out)`, padded
    /// with zeros to [`padded16`] channels, for the fast mode.
    pub fp32: Option<Vec<f32>>,
    /// Use the fast mode: `clamp(round_ties_even(f32(acc) * fp32[c]) + zp)`,
    /// XNNPACK's fp32 requantization (LiteRT's default CPU path), instead
    /// of TFLite's reference fixed-point arithmetic. Results may differ from
    /// the reference by one step where the two roundings part.
    pub fast: bool,
    /// Fast mode: every `|f32(acc) * fp32[c]|` the kernels can produce is
    /// below 2^22 (see [`Requant::with_acc_bounds`]), so the magic-number
    /// rounding is exact for it and a result below the output range
    /// saturates to -128 in the narrowing to int8: with an output range
    /// starting at -128 the kernels may leave out the lower clamp.
    pub fp32_bounded: bool,
}

/// `f32(s_in) * f32(s_w[c]) / f32(s_out)` per channel, in single precision
/// as XNNPACK computes its requantization scales.
pub fn fp32_scales(s_in: f32, s_w: &[f32], s_out: f32) -> Vec<f32> {
    s_w.iter().map(|&sw| s_in * sw / s_out).collect()
}

/// The fast mode on one accumulator: clamp in float to the output range less
/// the zero point, round half to even, add the zero point.
#[inline]
pub fn fp32_apply(acc: i32, scale: f32, zero_point: i32, min: i32, max: i32) -> i32 {
    let y = (acc as f32 * scale).max((min - zero_point) as f32).min((max - zero_point) as f32);
    y.round_ties_even() as i32 + zero_point
}

/// Channels rounded up to the SIMD lane-constant padding.
pub fn padded16(c: usize) -> usize {
    c.div_ceil(16) * 16
}

impl Requant {
    /// Fixed-point requantization from per-channel `(multiplier, shift)`.
    pub fn fixed(mult: Vec<i32>, shift: Vec<i32>, zero_point: i32, min: i32, max: i32) -> Requant {
        let lanes = Self::lanes_for(&mult, &shift);
        Requant { scale: Scale::Fixed { mult, shift }, zero_point, min, max, lanes, fp32: None, fast: false, fp32_bounded: false }
    }

    /// Double-precision requantization (the reference FULLY_CONNECTED).
    pub fn double(scale: Vec<f64>, zero_point: i32, min: i32, max: i32) -> Requant {
        Requant { scale: Scale::Double(scale), zero_point, min, max, lanes: None, fp32: None, fast: false, fp32_bounded: false }
    }

    /// Also carry single-precision scales (one per channel) for the fast mode.
    pub fn with_fp32(mut self, scales: Vec<f32>) -> Requant {
        self.fp32_bounded = false;
        if scales.len() == self.channels() && scales.iter().all(|s| s.is_finite() && *s >= 0.0) {
            let mut s = scales;
            s.resize(padded16(s.len()), 0.0);
            self.fp32 = Some(s);
        }
        self
    }

    /// Record the largest `|accumulator|` the kernels can produce per
    /// channel (e.g. [`super::gemm::PackedW::acc_bounds`]): sets
    /// [`Requant::fp32_bounded`] when the fast-mode scales keep them all
    /// within the magic-number range.
    pub fn with_acc_bounds(mut self, bounds: &[u64]) -> Requant {
        const LIMIT: f64 = (1u64 << 22) as f64;
        self.fp32_bounded = match &self.fp32 {
            Some(s) => bounds.len() >= self.channels() && (0..self.channels()).all(|c| s[c] as f64 * bounds[c] as f64 <= LIMIT),
            None => false,
        };
        self
    }

    /// The fast mode may leave out the lower clamp: results below the
    /// output range saturate to its lower end (-128) by themselves.
    pub fn fp32_saturates_low(&self) -> bool {
        self.fp32_bounded && self.min <= -128
    }

    /// Switch the fast mode on or off; returns whether it is on (it needs
    /// [`Requant::with_fp32`] scales).
    pub fn set_fast(&mut self, on: bool) -> bool {
        self.fast = on && self.fp32.is_some();
        self.fast
    }

    fn lanes_for(mult: &[i32], shift: &[i32]) -> Option<Lanes> {
        if mult.len() != shift.len() {
            return None;
        }
        let n = padded16(mult.len());
        let mut l =
            Lanes { lmul: vec![1; n], mult: vec![0; n], pow: vec![1 << 30; n], ge1: vec![0; n], round: vec![1 << 62; n], uniform: vec![-1; n / 4] };
        for (c, (&m, &s)) in mult.iter().zip(shift).enumerate() {
            let left = s.max(0);
            let right = (-s).max(0);
            if m < 0 || left > 30 || right > 30 {
                return None;
            }
            l.lmul[c] = 1 << left;
            l.mult[c] = m;
            l.pow[c] = 1 << (30 - right);
            if right >= 1 {
                l.round[c] += 1 << 29;
                l.ge1[c] = -1;
            }
        }
        for (g, u) in l.uniform.iter_mut().enumerate() {
            let r: Vec<i32> = (g * 4..g * 4 + 4).map(|c| shift.get(c).map_or(-1, |&s| if s > 0 { -1 } else { -s })).collect();
            if r.iter().all(|&v| v == r[0] && v >= 0) {
                *u = r[0];
            }
        }
        Some(l)
    }

    /// Number of channels described.
    pub fn channels(&self) -> usize {
        match &self.scale {
            Scale::Fixed { mult, .. } => mult.len(),
            Scale::Double(s) => s.len(),
        }
    }

    /// The rescaled accumulator of channel `c` (before zero point and clamp).
    #[inline]
    pub fn rescale(&self, acc: i32, c: usize) -> i32 {
        match &self.scale {
            Scale::Fixed { mult, shift } => mbqm(acc, mult[c], shift[c]),
            Scale::Double(s) => round_half_away(acc as f64 * s[c]) as i32,
        }
    }

    /// The output value of channel `c`.
    #[inline]
    pub fn apply(&self, acc: i32, c: usize) -> i32 {
        if self.fast {
            if let Some(s) = &self.fp32 {
                return fp32_apply(acc, s[c], self.zero_point, self.min, self.max);
            }
        }
        self.rescale(acc, c).wrapping_add(self.zero_point).clamp(self.min, self.max)
    }
}
