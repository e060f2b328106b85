//! QUANTIZE of float32 to int8 with one scale and zero point (TFLite's
//! `round_half_away(x / scale) + zp`, clamped; NaN becomes the zero point),
//! the scalar reference of the SIMD twin in `simd128.rs`.
//!
//! The fast form (`fast`, the engine's fast requantization) is XNNPACK's
//! conversion, which LiteRT's CPU delegate runs: `x * (1 / scale)` in
//! single precision, rounded half to even. It differs from the reference
//! by one step at most, where `x / scale` sits on (or within an ulp of) a
//! half.

/// Parameters of a per-tensor int8 quantization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizeParams {
    pub scale: f32,
    pub zero_point: i32,
    pub min: i32,
    pub max: i32,
    /// XNNPACK's arithmetic (see the module note) in place of TFLite's.
    pub fast: bool,
}

impl QuantizeParams {
    /// One value: `round(x / scale)` (half away from zero, saturating, NaN
    /// to 0) plus the zero point, clamped.
    #[inline]
    pub fn one(&self, x: f32) -> i8 {
        let r = (x / self.scale).round() as i32;
        r.saturating_add(self.zero_point).clamp(self.min, self.max) as i8
    }

    /// One value in the fast form, `inv` being `1 / scale` (single
    /// precision): clamped to the range less the zero point, rounded half
    /// to even, the zero point added (NaN to the zero point).
    #[inline]
    pub fn one_fast(&self, inv: f32, x: f32) -> i8 {
        let y = x * inv;
        if y.is_nan() {
            return self.zero_point.clamp(self.min, self.max) as i8;
        }
        let y = y.clamp((self.min - self.zero_point) as f32, (self.max - self.zero_point) as f32);
        (y.round_ties_even() as i32 + self.zero_point) as i8
    }
}

/// Quantize `x` into `out` (equal lengths).
pub fn quantize(p: &QuantizeParams, x: &[f32], out: &mut [i8]) -> Result<(), String> {
    if x.len() != out.len() {
        return Err(format!("quantize: {} inputs for {} outputs", x.len(), out.len()));
    }
    if p.fast {
        let inv = 1.0 / p.scale;
        for (o, &v) in out.iter_mut().zip(x) {
            *o = p.one_fast(inv, v);
        }
    } else {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = p.one(v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast form is within one step of the reference and equal to it
    /// away from halves; NaN, infinities and huge values land where the
    /// reference puts them.
    #[test]
    fn fast_form_is_within_a_step_of_the_reference() {
        let mut next = super::super::xorshift(0x2545_f491_4f6c_dd1d);
        let (mut ties, mut differ) = (0, 0);
        for round in 0..500 {
            let scale = (next() % (1 << 20) + 1) as f32 * 1e-7;
            let zp = (next() % 256) as i32 - 128;
            let p = QuantizeParams { scale, zero_point: zp, min: -128, max: 127, fast: false };
            let f = QuantizeParams { fast: true, ..p };
            let x: Vec<f32> = (0..64)
                .map(|i| match i % 4 {
                    0 => ((next() % 600) as f32 - 300.0 + 0.5) * scale,
                    1 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN, -0.0][round % 6],
                    _ => ((next() % (1 << 21)) as f32 - (1 << 20) as f32) * scale / 2048.0,
                })
                .collect();
            let (mut want, mut got) = (vec![0i8; x.len()], vec![0i8; x.len()]);
            quantize(&p, &x, &mut want).unwrap();
            quantize(&f, &x, &mut got).unwrap();
            for (i, (&w, &g)) in want.iter().zip(&got).enumerate() {
                let y = x[i] / scale;
                let half = (y.abs().fract() - 0.5).abs() < 1e-3;
                ties += half as usize;
                differ += (w != g) as usize;
                if half {
                    assert!((w as i32 - g as i32).abs() <= 1, "x {} scale {scale}: {w} vs {g}", x[i]);
                } else {
                    assert_eq!(w, g, "x {} scale {scale} zp {zp}", x[i]);
                }
            }
        }
        // Ties to even move about half of the exact halves.
        assert!(ties > 5000 && differ > ties / 8 && differ < ties, "{differ} of {ties}");
    }
}
