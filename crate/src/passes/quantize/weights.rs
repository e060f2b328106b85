//! Weight quantization arithmetic (TFLite spec): symmetric, zero point 0,
//! values in [-qmax, qmax], per channel along one axis or per tensor.

/// Round half away from zero, as TFLite's `TfLiteRound`.
#[inline]
pub fn round_away(x: f32) -> f32 {
    x.round()
}

/// Result of quantizing a tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    pub values: Vec<i32>,
    pub scales: Vec<f32>,
    /// Axis of the scales (None: one scale for the whole tensor).
    pub axis: Option<usize>,
}

/// Number of channels and the stride pattern for `axis` of `shape`:
/// element i belongs to channel `(i / inner) % channels`.
pub fn channel_layout(shape: &[usize], axis: usize) -> (usize, usize) {
    let channels = shape.get(axis).copied().unwrap_or(1).max(1);
    // Saturating: an absurd shape must not overflow (callers check sizes).
    let inner = shape.iter().skip(axis + 1).fold(1usize, |a, &d| a.saturating_mul(d)).max(1);
    (channels, inner)
}

/// Symmetric quantization to [-qmax, qmax]. A channel of zeros gets scale 1
/// (any scale represents it exactly).
pub fn quantize_symmetric(data: &[f32], shape: &[usize], axis: Option<usize>, qmax: i32) -> Quantized {
    let (channels, inner) = match axis {
        Some(a) => channel_layout(shape, a),
        None => (1, data.len().max(1)),
    };
    let mut maxabs = vec![0f32; channels];
    for (i, &x) in data.iter().enumerate() {
        let c = (i / inner) % channels;
        if x.is_finite() {
            maxabs[c] = maxabs[c].max(x.abs());
        }
    }
    let scales: Vec<f32> = maxabs.iter().map(|&m| if m > 0.0 { m / qmax as f32 } else { 1.0 }).collect();
    let values = data
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let s = scales[(i / inner) % channels];
            let q = round_away(x / s);
            if q.is_nan() {
                0
            } else {
                (q as i64).clamp(-(qmax as i64), qmax as i64) as i32
            }
        })
        .collect();
    Quantized { values, scales, axis }
}

/// Dequantize symmetric values back to float.
pub fn dequantize_symmetric(q: &Quantized, shape: &[usize]) -> Vec<f32> {
    let (channels, inner) = match q.axis {
        Some(a) => channel_layout(shape, a),
        None => (1, q.values.len().max(1)),
    };
    q.values.iter().enumerate().map(|(i, &v)| v as f32 * q.scales[(i / inner) % channels]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_symmetric() {
        // shape [2, 3], axis 0: two channels.
        let w = [1.0, -0.5, 0.25, 0.0, 0.0, 0.0];
        let q = quantize_symmetric(&w, &[2, 3], Some(0), 127);
        assert_eq!(q.scales, vec![1.0 / 127.0, 1.0]);
        assert_eq!(q.values, vec![127, -64, 32, 0, 0, 0]);
        let d = dequantize_symmetric(&q, &[2, 3]);
        assert!((d[1] + 0.5).abs() < 0.5 / 127.0);
    }

    #[test]
    fn last_axis_channels() {
        let w = [1.0, 2.0, -1.0, -4.0];
        let q = quantize_symmetric(&w, &[1, 2, 2], Some(2), 127);
        assert_eq!(q.scales.len(), 2);
        assert_eq!(q.values, vec![127, 64, -127, -127]);
    }
}

#[cfg(test)]
mod layout_tests {
    use super::channel_layout;

    #[test]
    fn absurd_shapes_saturate_instead_of_overflowing() {
        assert_eq!(channel_layout(&[4, 3, 2], 0), (4, 6));
        assert_eq!(channel_layout(&[2, usize::MAX, 4], 0), (2, usize::MAX));
    }
}
