//! Calibration: run the float engine over samples and record per-tensor
//! statistics (min/max, and a histogram for percentile / MSE ranges).

use serde::{Deserialize, Serialize};

use crate::engine::{Data, Engine, Value};
use crate::error::{Error, Result};
use crate::ir::{DType, Model};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CalibMethod {
    /// The observed minimum and maximum.
    #[default]
    Minmax,
    /// Clip to the given percentile of |values| (e.g. 99.99).
    Percentile,
    /// The range that minimises the quantization MSE of the observed histogram.
    Mse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CalibConfig {
    #[serde(default)]
    pub method: CalibMethod,
    #[serde(default = "default_percentile")]
    pub percentile: f64,
}

fn default_percentile() -> f64 {
    99.99
}

impl Default for CalibConfig {
    fn default() -> Self {
        CalibConfig { method: CalibMethod::Minmax, percentile: default_percentile() }
    }
}

const BINS: usize = 2048;

/// Statistics of one tensor.
#[derive(Debug, Clone)]
pub struct TensorStats {
    pub min: f32,
    pub max: f32,
    hist: Vec<u64>,
}

impl TensorStats {
    /// The range to quantize to, per the method. Always contains 0.
    pub fn range(&self, cfg: &CalibConfig, levels: usize) -> (f32, f32) {
        let (lo, hi) = (self.min.min(0.0), self.max.max(0.0));
        let (lo, hi) = match cfg.method {
            CalibMethod::Minmax => (lo, hi),
            _ if self.hist.is_empty() => (lo, hi),
            CalibMethod::Percentile => self.percentile_range(cfg.percentile),
            CalibMethod::Mse => self.mse_range(levels),
        };
        (lo.min(0.0), hi.max(0.0))
    }

    fn bin_value(&self, i: usize) -> f32 {
        let w = (self.max - self.min) / BINS as f32;
        self.min + (i as f32 + 0.5) * w
    }

    fn percentile_range(&self, p: f64) -> (f32, f32) {
        let total: u64 = self.hist.iter().sum();
        if total == 0 {
            return (self.min, self.max);
        }
        let tail = ((1.0 - p / 100.0).max(0.0) / 2.0 * total as f64) as u64;
        let (mut acc, mut lo) = (0u64, 0usize);
        while lo < BINS - 1 && acc + self.hist[lo] <= tail {
            acc += self.hist[lo];
            lo += 1;
        }
        let (mut acc, mut hi) = (0u64, BINS - 1);
        while hi > lo && acc + self.hist[hi] <= tail {
            acc += self.hist[hi];
            hi -= 1;
        }
        let w = (self.max - self.min) / BINS as f32;
        (self.min + lo as f32 * w, self.min + (hi + 1) as f32 * w)
    }

    /// Search shrinking ranges [min*a, max*a] for the least squared error of
    /// clipping plus rounding over the histogram.
    fn mse_range(&self, levels: usize) -> (f32, f32) {
        let (lo0, hi0) = (self.min.min(0.0), self.max.max(0.0));
        let mut best = (f64::INFINITY, lo0, hi0);
        for step in 0..=40 {
            let a = 1.0 - step as f32 * 0.0225; // down to 10% of the range
            let (lo, hi) = (lo0 * a, hi0 * a);
            let scale = (hi - lo) / (levels - 1) as f32;
            if scale <= 0.0 {
                continue;
            }
            let mut err = 0f64;
            for (i, &c) in self.hist.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let x = self.bin_value(i);
                let q = ((x.clamp(lo, hi) - lo) / scale).round() * scale + lo;
                err += c as f64 * ((x - q) as f64).powi(2);
            }
            if err < best.0 {
                best = (err, lo, hi);
            }
        }
        (best.1, best.2)
    }
}

/// Per-tensor statistics of subgraph 0 (None for tensors never seen as float).
pub struct Stats {
    pub tensors: Vec<Option<TensorStats>>,
    pub samples: usize,
}

fn float_data(v: &Value) -> Option<&[f32]> {
    match &v.data {
        Data::F32(x) => Some(x),
        _ => None,
    }
}

/// Check calibration samples against the model's inputs before any work.
pub fn check_samples(engine: &Engine, samples: &[Vec<Value>]) -> Result<()> {
    let infos = engine.inputs();
    for (s, sample) in samples.iter().enumerate() {
        if sample.len() != infos.len() {
            return Err(Error::BadInput(format!(
                "calibration sample {s} has {} inputs, the model has {}",
                sample.len(),
                infos.len()
            )));
        }
        for (i, (v, info)) in sample.iter().zip(&infos).enumerate() {
            let fits = v.dtype() == info.dtype
                && v.shape.len() == info.shape.len()
                && v.shape.iter().zip(&info.shape).all(|(&a, &b)| b < 0 || a as i64 == b);
            if !fits {
                return Err(Error::BadInput(format!(
                    "calibration sample {s} input {i} ({}): expected {} {:?}, got {} {:?}",
                    info.name,
                    info.dtype,
                    info.shape,
                    v.dtype(),
                    v.shape
                )));
            }
        }
    }
    Ok(())
}

/// Run the float model over `samples` and collect statistics.
pub fn calibrate(
    model: &Model,
    samples: &[Vec<Value>],
    cfg: &CalibConfig,
    progress: &mut dyn FnMut(&str, f32),
) -> Result<Stats> {
    if samples.is_empty() {
        return Err(Error::BadInput(
            "full-integer quantization needs calibration data: give representative inputs \
             (e.g. `--calib samples.npy` with a leading batch of 100-500 samples)"
                .into(),
        ));
    }
    let mut engine = Engine::new(model)?;
    check_samples(&engine, samples)?;
    let n = model.subgraphs[0].tensors.len();
    let mut mins = vec![f32::INFINITY; n];
    let mut maxs = vec![f32::NEG_INFINITY; n];
    let need_hist = cfg.method != CalibMethod::Minmax;
    let passes = if need_hist { 2 } else { 1 };
    for (k, s) in samples.iter().enumerate() {
        engine.run_observed(s.clone(), &mut |t, v| {
            if let Some(x) = float_data(v) {
                for &f in x {
                    if f.is_finite() {
                        mins[t] = mins[t].min(f);
                        maxs[t] = maxs[t].max(f);
                    }
                }
            }
        })?;
        progress("calibrate", (k + 1) as f32 / (samples.len() * passes) as f32);
    }
    let mut hists: Vec<Vec<u64>> = vec![Vec::new(); n];
    if need_hist {
        for t in 0..n {
            if mins[t] < maxs[t] {
                hists[t] = vec![0; BINS];
            }
        }
        for (k, s) in samples.iter().enumerate() {
            engine.run_observed(s.clone(), &mut |t, v| {
                let (lo, hi) = (mins[t], maxs[t]);
                let h = &mut hists[t];
                if h.is_empty() {
                    return;
                }
                if let Some(x) = float_data(v) {
                    let w = (hi - lo) / BINS as f32;
                    for &f in x {
                        if f.is_finite() {
                            let b = (((f - lo) / w) as usize).min(BINS - 1);
                            h[b] += 1;
                        }
                    }
                }
            })?;
            progress("calibrate", (samples.len() + k + 1) as f32 / (samples.len() * 2) as f32);
        }
    }
    let sg = &model.subgraphs[0];
    let tensors = (0..n)
        .map(|t| {
            (sg.tensors[t].dtype == DType::F32 && mins[t] <= maxs[t]).then(|| TensorStats {
                min: mins[t],
                max: maxs[t],
                hist: std::mem::take(&mut hists[t]),
            })
        })
        .collect();
    Ok(Stats { tensors, samples: samples.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(values: &[f32]) -> TensorStats {
        let min = values.iter().cloned().fold(f32::INFINITY, f32::min);
        let max = values.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut hist = vec![0u64; BINS];
        let w = (max - min) / BINS as f32;
        for &v in values {
            hist[(((v - min) / w) as usize).min(BINS - 1)] += 1;
        }
        TensorStats { min, max, hist }
    }

    #[test]
    fn percentile_and_mse_clip_outliers() {
        // 100k values in [-1, 1] and two far outliers.
        let mut v: Vec<f32> = (0..100_000).map(|i| ((i * 7919) % 20001) as f32 / 10000.0 - 1.0).collect();
        v.push(50.0);
        v.push(-40.0);
        let s = stats(&v);
        let mm = s.range(&CalibConfig::default(), 256);
        assert_eq!(mm, (-40.0, 50.0));
        let p = s.range(&CalibConfig { method: CalibMethod::Percentile, percentile: 99.9 }, 256);
        assert!(p.1 < 2.0 && p.0 > -2.0 && p.1 > 0.9 && p.0 < -0.9, "{p:?}");
        let m = s.range(&CalibConfig { method: CalibMethod::Mse, percentile: 0.0 }, 256);
        assert!(m.1 < mm.1 && m.0 > mm.0, "{m:?}");
        // Ranges always contain zero.
        let pos = stats(&[1.0, 2.0, 3.0]);
        assert_eq!(pos.range(&CalibConfig::default(), 256).0, 0.0);
    }
}
