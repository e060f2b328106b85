//! Post-training quantization: dynamic range, float16, full-integer int8
//! (and 16x8), following the TFLite quantization spec.

mod dynamic;
mod float16;
pub mod integer;
pub mod weights;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ir::{BuiltinOp, DType, Model, Op, OpKind, Subgraph};

pub use dynamic::quantize_dynamic;
pub use float16::quantize_float16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuantMode {
    Dynamic,
    Float16,
    Int8,
    Int16x8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IoType {
    #[default]
    Float,
    Int8,
    Uint8,
}

/// Quantization settings of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuantizeConfig {
    pub mode: QuantMode,
    /// Model input/output type for int8 modes.
    #[serde(default)]
    pub io: IoType,
    /// Fail instead of leaving float ops when an op has no int8 path.
    #[serde(default)]
    pub int8_only: bool,
    /// Layers kept float: op type names (e.g. `FULLY_CONNECTED`) or glob
    /// patterns (`*` and `?`) matched against the op's output and weight
    /// tensor names (not its activation inputs).
    #[serde(default)]
    pub skip: Vec<String>,
    /// Dynamic mode: weights with fewer elements stay float (converter: 1024).
    #[serde(default = "default_min_elements")]
    pub min_elements: usize,
    /// Per-channel weights where the op allows it.
    #[serde(default = "yes")]
    pub per_channel: bool,
    /// How activation ranges are chosen from calibration data.
    #[serde(default)]
    pub calibration: crate::passes::calibrate::CalibConfig,
}

fn default_min_elements() -> usize {
    1024
}
fn yes() -> bool {
    true
}

impl QuantizeConfig {
    pub fn new(mode: QuantMode) -> Self {
        QuantizeConfig {
            mode,
            io: IoType::Float,
            int8_only: false,
            skip: Vec::new(),
            min_elements: default_min_elements(),
            per_channel: true,
            calibration: Default::default(),
        }
    }

    /// Whether the op at `oi` of `sg` is to stay float.
    pub fn skips(&self, sg: &Subgraph, op: &Op) -> bool {
        self.skip.iter().any(|p| {
            if let OpKind::Builtin(b) = &op.kind {
                if BuiltinOp::from_name(p) == Some(*b) {
                    return true;
                }
            }
            if let OpKind::Custom(c) = &op.kind {
                if c == p {
                    return true;
                }
            }
            // Output names, and names of inputs nothing computes (weights).
            let weights = op.inputs.iter().flatten().filter(|&&t| sg.producer(t).is_none() && !sg.inputs.contains(&t));
            op.outputs.iter().chain(weights).any(|&t| glob(p, &sg.tensors[t].name))
        })
    }
}

/// `*` matches any run, `?` one character; everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Refuse models that are already quantized in the requested way.
pub fn check_not_quantized(model: &Model, mode: QuantMode) -> Result<()> {
    let sg = &model.subgraphs[0];
    let has = |d: DType| sg.tensors.iter().enumerate().any(|(i, t)| t.dtype == d && model.is_constant(0, i));
    let acts_quantized = sg.tensors.iter().any(|t| {
        matches!(t.dtype, DType::I8 | DType::U8 | DType::I16) && t.quant.as_ref().is_some_and(|q| q.is_quantized()) && t.buffer == 0
    });
    match mode {
        QuantMode::Float16 if has(DType::F16) => Err(Error::InvalidArgument(
            "the model already has float16 weights; float16 quantization would not change it".into(),
        )),
        _ if acts_quantized => Err(Error::InvalidArgument(
            "the model is already fully quantized (integer activations); quantize the float model instead".into(),
        )),
        QuantMode::Dynamic | QuantMode::Int8 | QuantMode::Int16x8 if has(DType::I8) => Err(Error::InvalidArgument(
            "the model already has int8 weights (dynamic-range or quantized); quantize the float model instead".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("conv*", "conv1/Conv2D"));
        assert!(glob("*fc?/*", "model/fc1/MatMul"));
        assert!(!glob("fc*", "model/fc1"));
        assert!(glob("*", ""));
    }
}
