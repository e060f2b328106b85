//! TFLite's integer arithmetic, scalar and exact: multiplier quantization
//! (`QuantizeMultiplier`), the double-rounding requantization
//! (`MultiplyByQuantizedMultiplier` = `SaturatingRoundingDoublingHighMul`
//! then `RoundingDivideByPOT`, LiteRT's default build: `TFLITE_SINGLE_ROUNDING`
//! is 0), its 64-bit-accumulator variant used by the 16x8 kernels, and the
//! gemmlowp fixed-point functions the quantized softmax needs.
//!
//! Every function is total: where C++ would overflow a signed integer (and in
//! practice wrap), these wrap explicitly, so the results match bit for bit
//! and nothing panics in debug builds.

/// `std::frexp` for finite doubles: `x = m * 2^e` with `|m|` in `[0.5, 1)`
/// (`(0, 0)` for zero).
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(x * f64::from_bits(0x4350_0000_0000_0000)); // 2^54
        return (m, e - 54);
    }
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp - 1022)
}

/// `std::round` (half away from zero) on doubles.
#[inline]
pub fn round_half_away(x: f64) -> f64 {
    x.round()
}

/// TFLite's `QuantizeMultiplier`: `(multiplier, shift)` with
/// `real ≈ multiplier * 2^(shift - 31)`; tiny values flush to `(0, 0)`.
/// Negative reals give negative multipliers (as LiteRT's leaky-relu uses).
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = frexp(real);
    let mut q_fixed = round_half_away(q * (1u64 << 31) as f64) as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        shift = 0;
        q_fixed = 0;
    }
    (q_fixed.clamp(i32::MIN as i64, i32::MAX as i64) as i32, shift)
}

/// gemmlowp `SaturatingRoundingDoublingHighMul` on int32 (ARM `VQRDMULH`).
#[inline]
pub fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // gemmlowp adds a nudge of 2^30 (1 - 2^30 for negative products) and
    // divides truncating toward zero; for every int32 product that equals
    // this floor: trunc((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31)
    // when ab < 0.
    ((a as i64 * b as i64 + (1 << 30)) >> 31) as i32
}

/// gemmlowp `SaturatingRoundingDoublingHighMul` on int16.
#[inline]
pub fn srdhm16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge: i32 = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// gemmlowp `RoundingDivideByPOT`: arithmetic right shift rounding to
/// nearest, ties away from zero. `exponent` is clamped to `0..=31`.
#[inline]
pub fn rdbpot(x: i32, exponent: i32) -> i32 {
    let e = exponent.clamp(0, 31);
    let mask = ((1i64 << e) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> e) + (remainder > threshold) as i32
}

/// [`rdbpot`] on int16 values (the same result in 16-bit arithmetic).
#[inline]
pub fn rdbpot16(x: i16, exponent: i32) -> i16 {
    let e = exponent.clamp(0, 15);
    let mask = ((1i32 << e) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i16;
    (x >> e) + (remainder > threshold) as i16
}

/// TFLite `MultiplyByQuantizedMultiplier(int32 x, int32 m, int shift)`.
#[inline]
pub fn mbqm(x: i32, m: i32, shift: i32) -> i32 {
    let left = shift.max(0);
    let right = (-shift).max(0);
    rdbpot(srdhm(x.wrapping_mul(1i32.wrapping_shl(left as u32)), m), right)
}

/// TFLite `MultiplyByQuantizedMultiplier(int64 x, int32 m, int shift)` (the
/// 16x8 kernels' 64-bit accumulators): a 16-bit reduced multiplier and a
/// single rounding shift.
#[inline]
pub fn mbqm64(x: i64, m: i32, shift: i32) -> i32 {
    let reduced: i64 = if m < 0x7FFF_0000 { ((m as i64) + (1 << 15)) >> 16 } else { 0x7FFF };
    let total_shift = (15 - shift).clamp(1, 63) as u32;
    let v = x.wrapping_mul(reduced).wrapping_add(1i64 << (total_shift - 1));
    (v >> total_shift) as i32
}

/// TFLite `MultiplyByQuantizedMultiplierSmallerThanOneExp` (shift <= 0).
#[inline]
pub fn mbqm_smaller_than_one(x: i32, m: i32, shift: i32) -> i32 {
    rdbpot(srdhm(x, m), -shift)
}

/// TFLite `MultiplyByQuantizedMultiplierGreaterThanOne` (left shift >= 0).
#[inline]
pub fn mbqm_greater_than_one(x: i32, m: i32, left_shift: i32) -> i32 {
    srdhm(x.wrapping_mul(1i32.wrapping_shl(left_shift.max(0) as u32)), m)
}

/// Quantize a real number to `zp + round(f / scale)` as TFLite's
/// `CalculateActivationRangeQuantized` does (float arithmetic).
#[inline]
pub fn quantize_f32(scale: f32, zero_point: i32, f: f32) -> i32 {
    let t = (f / scale).round();
    zero_point.wrapping_add(t as i32)
}

/// Output clamp range of a fused activation (`TfLiteFusedActivation` code)
/// on a quantized output of range `[qmin, qmax]`.
pub fn activation_range(code: i64, scale: f32, zero_point: i32, qmin: i32, qmax: i32) -> Option<(i32, i32)> {
    Some(match code {
        0 | 4 | 5 => (qmin, qmax),
        1 => (qmin.max(quantize_f32(scale, zero_point, 0.0)), qmax),
        2 => (qmin.max(quantize_f32(scale, zero_point, -1.0)), qmax.min(quantize_f32(scale, zero_point, 1.0))),
        3 => (qmin.max(quantize_f32(scale, zero_point, 0.0)), qmax.min(quantize_f32(scale, zero_point, 6.0))),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// gemmlowp FixedPoint<int32, IntegerBits> functions (raw values in and out)
// ---------------------------------------------------------------------------

/// `SaturatingRoundingMultiplyByPOT<exponent>` on int32.
#[inline]
pub fn sat_rounding_mul_pot(x: i32, exponent: i32) -> i32 {
    if exponent > 0 {
        let threshold = (1i32 << (31 - exponent)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << exponent
        }
    } else if exponent < 0 {
        rdbpot(x, -exponent)
    } else {
        x
    }
}

/// `Rescale<dst>` of a value with `src` integer bits.
#[inline]
pub fn rescale(x: i32, src_bits: i32, dst_bits: i32) -> i32 {
    sat_rounding_mul_pot(x, src_bits - dst_bits)
}

/// gemmlowp `RoundingHalfSum` on int32.
#[inline]
fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `exp(x)` for `x` in `[-1/4, 0)`, Q0.31 in and out.
fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    const CONSTANT_TERM: i32 = 1895147668; // exp(-1/8)
    const ONE_THIRD: i32 = 715827883;
    let x = a.wrapping_add(1 << 28);
    let x2 = srdhm(x, x);
    let x3 = srdhm(x2, x);
    let x4 = srdhm(x2, x2);
    let x4_over_4 = sat_rounding_mul_pot(x4, -2);
    let poly = sat_rounding_mul_pot(srdhm(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2), -1);
    CONSTANT_TERM.wrapping_add(srdhm(CONSTANT_TERM, x.wrapping_add(poly)))
}

/// gemmlowp `exp_on_negative_values`: `exp(a)` for `a <= 0` with
/// `integer_bits` integer bits, result in Q0.31.
pub fn exp_on_negative_values(a: i32, integer_bits: i32) -> i32 {
    let frac = 31 - integer_bits;
    let one_quarter = 1i32 << (frac - 2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result =
        exp_on_interval_between_negative_one_quarter_and_0_excl(rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    const BARREL: [(i32, i32); 7] =
        [(-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242)];
    for (exponent, multiplier) in BARREL {
        if integer_bits > exponent {
            let shift = frac + exponent;
            if remainder & (1i32 << shift) != 0 {
                result = srdhm(result, multiplier);
            }
        }
    }
    if integer_bits > 5 {
        let clamp = -(1i32 << (36 - integer_bits));
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 {
        result = i32::MAX;
    }
    result
}

/// gemmlowp `one_over_one_plus_x_for_x_in_0_1`, Q0.31 in and out.
pub fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    const C48_17: i32 = 1515870810; // Q2.29
    const CNEG32_17: i32 = -1010580540; // Q2.29
    const F2_ONE: i32 = 1 << 29;
    let half_denominator = rounding_half_sum(a, i32::MAX);
    let mut x = C48_17.wrapping_add(srdhm(half_denominator, CNEG32_17));
    for _ in 0..3 {
        let half_denominator_times_x = srdhm(half_denominator, x);
        let one_minus = F2_ONE.wrapping_sub(half_denominator_times_x);
        x = x.wrapping_add(rescale(srdhm(x, one_minus), 4, 2));
    }
    rescale(x, 1, 0)
}

/// TFLite `GetReciprocal`: `1 / x` for `x` with `x_integer_digits` integer
/// bits, as a Q0.31 value and the number of bits above unit.
pub fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros().min(31) as i32;
    let num_bits_over_unit = x_integer_digits - headroom_plus_one;
    let shifted_sum_minus_one = ((x as u32) << headroom_plus_one).wrapping_sub(1u32 << 31) as i32;
    (one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit)
}

/// TFLite `CalculateInputRadius(input_integer_bits, input_left_shift, 31)`.
pub fn calculate_input_radius(input_integer_bits: i32, input_left_shift: i32, total_signed_bits: i32) -> i32 {
    let max_input_rescaled = 1.0 * ((1i64 << input_integer_bits) - 1) as f64
        * (1i64 << (total_signed_bits - input_integer_bits)) as f64
        / (1i64 << input_left_shift.clamp(0, 62)) as f64;
    max_input_rescaled.floor() as i32
}

/// TFLite `DownScaleInt32ToInt16Multiplier`.
pub fn downscale_multiplier_to_i16(m: i32) -> i16 {
    const ROUNDING: i32 = 1 << 15;
    if m >= i32::MAX - ROUNDING {
        return i16::MAX;
    }
    ((m + ROUNDING) >> 16) as i16
}

/// TFLite `CheckedLog2`: `Some(round(log2(x)))` when `x` is (nearly) a power
/// of two.
pub fn checked_log2(x: f32) -> Option<i32> {
    let x_log2 = x.ln() * (1.0f32 / 2.0f32.ln());
    let rounded = x_log2.round();
    if (x_log2 - rounded).abs() < 1e-3 {
        Some(rounded as i32)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_definition() {
        for &x in &[1.0, 0.5, 0.75, 3.0, 1e-10, -2.5, 5e-324, 1.7976931348623157e308] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m.abs()), "{x}: {m}");
            assert_eq!(m * 2f64.powi(e / 2) * 2f64.powi(e - e / 2), x);
        }
    }

    #[test]
    fn rdbpot_ties_away() {
        assert_eq!(rdbpot(5, 1), 3);
        assert_eq!(rdbpot(-5, 1), -3);
        assert_eq!(rdbpot(-1, 1), -1);
        assert_eq!(rdbpot(4, 1), 2);
        assert_eq!(rdbpot(-6, 2), -2);
        assert_eq!(rdbpot(i32::MIN, 31), -1);
        assert_eq!(rdbpot(i32::MAX, 31), 1);
    }
}
