//! QUANTIZE of float32 to int8 with one scale and zero point (TFLite's
//! `round_half_away(x / scale) + zp`, clamped; NaN becomes the zero point),
//! the scalar reference of the SIMD twin in `simd128.rs`.

/// Parameters of a per-tensor int8 quantization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantizeParams {
    pub scale: f32,
    pub zero_point: i32,
    pub min: i32,
    pub max: i32,
}

impl QuantizeParams {
    /// One value: `round(x / scale)` (half away from zero, saturating, NaN
    /// to 0) plus the zero point, clamped.
    #[inline]
    pub fn one(&self, x: f32) -> i8 {
        let r = (x / self.scale).round() as i32;
        r.saturating_add(self.zero_point).clamp(self.min, self.max) as i8
    }
}

/// Quantize `x` into `out` (equal lengths).
pub fn quantize(p: &QuantizeParams, x: &[f32], out: &mut [i8]) -> Result<(), String> {
    if x.len() != out.len() {
        return Err(format!("quantize: {} inputs for {} outputs", x.len(), out.len()));
    }
    for (o, &v) in out.iter_mut().zip(x) {
        *o = p.one(v);
    }
    Ok(())
}
