//! Pruning, one-shot on the file: magnitude (per layer, TFMOT's top-k in
//! each tensor, or global, one threshold across all prunable tensors),
//! structured N:M along the input-channel axis, block sparsity, and a
//! data-aware method (`obs`) that prunes each layer to its target while
//! updating the remaining weights to compensate, from the layer input's
//! second-moment matrix H = XᵀX collected on calibration samples
//! (Optimal Brain Surgeon, column by column with the Cholesky factor of
//! H⁻¹, as SparseGPT).
//!
//! Prunable: constant weights of CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV,
//! BATCH_MATMUL, and DEPTHWISE_CONV_2D when asked. Weights stored as
//! float32, float16 (behind a DEQUANTIZE) or int8 / uint8 / int16 with
//! quantization parameters are pruned in place, keeping their type (a zero
//! is the zero point). The shared pieces here (which layers, reading and
//! writing weights, input moments) are used by clustering too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{Data, Engine, Value};
use crate::error::{Error, Result};
use crate::ir::{BuiltinOp, DType, Model, Op, OpKind, Subgraph, TensorId};
use crate::kernels::conv::{Padding, Window};
use crate::kernels::gemm;
use crate::passes::quantize::glob;
use crate::passes::Context;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Which weights go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pattern {
    /// Any weight may be zeroed.
    #[default]
    Unstructured,
    /// In every group of `m` consecutive weights along the input-channel
    /// axis, at most `n` are non-zero (2:4 keeps 2 of 4).
    NM { n: usize, m: usize },
    /// Blocks of `rows` output channels × `cols` input channels are zeroed
    /// together.
    Block { rows: usize, cols: usize },
}

impl Pattern {
    /// Parse `unstructured`, `N:M` or `block:RxC`.
    pub fn parse(s: &str) -> std::result::Result<Pattern, String> {
        let t = s.trim().to_ascii_lowercase();
        if t == "unstructured" || t.is_empty() {
            return Ok(Pattern::Unstructured);
        }
        let num = |x: &str| -> std::result::Result<usize, String> {
            x.trim().parse::<usize>().map_err(|_| format!("pattern \"{s}\": \"{x}\" is not a positive integer"))
        };
        if let Some(b) = t.strip_prefix("block:") {
            let Some((r, c)) = b.split_once('x') else {
                return Err(format!("pattern \"{s}\": a block pattern is block:RxC, e.g. block:1x4 or block:4x4"));
            };
            let (rows, cols) = (num(r)?, num(c)?);
            if rows == 0 || cols == 0 || rows * cols < 2 || rows > 64 || cols > 64 {
                return Err(format!("pattern \"{s}\": block sides must be 1..=64 and the block at least 2 weights"));
            }
            return Ok(Pattern::Block { rows, cols });
        }
        if let Some((n, m)) = t.split_once(':') {
            let (n, m) = (num(n)?, num(m)?);
            if !(2..=64).contains(&m) {
                return Err(format!("pattern \"{s}\": the group size m must be 2..=64"));
            }
            if n == 0 || n >= m {
                return Err(format!(
                    "pattern \"{s}\": N:M keeps N of every M weights, so N must be in 1..M (e.g. 2:4)"
                ));
            }
            return Ok(Pattern::NM { n, m });
        }
        Err(format!("pattern \"{s}\": expected unstructured, N:M (e.g. 2:4) or block:RxC (e.g. block:1x4)"))
    }
    /// The fraction of weights this pattern zeroes by itself (N:M), if fixed.
    pub fn fixed_sparsity(&self) -> Option<f64> {
        match *self {
            Pattern::NM { n, m } => Some(1.0 - n as f64 / m as f64),
            _ => None,
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Unstructured => write!(f, "unstructured"),
            Pattern::NM { n, m } => write!(f, "{n}:{m}"),
            Pattern::Block { rows, cols } => write!(f, "block:{rows}x{cols}"),
        }
    }
}

impl TryFrom<String> for Pattern {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Pattern, String> {
        Pattern::parse(&s)
    }
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.to_string()
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Pattern, D::Error> {
        let s = String::deserialize(d)?;
        Pattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where the sparsity target applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Each tensor gets the target (top-k in each tensor, as TFMOT).
    #[default]
    Layer,
    /// One threshold over all prunable tensors: the overall fraction is the
    /// target, small sensitive layers keep more weights.
    Global,
}

/// How weights to remove are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Smallest |w| (block: smallest sum of squares).
    #[default]
    Magnitude,
    /// Data-aware Optimal Brain Surgeon (SparseGPT-style): needs calibration.
    Obs,
}

/// Pruning settings of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PruneConfig {
    /// Target fraction of zeros in [0, 1). Implied by an N:M pattern.
    #[serde(default, deserialize_with = "sparsity_field")]
    pub sparsity: Option<f64>,
    /// `unstructured` (default), `N:M` (e.g. `2:4`) or `block:RxC`.
    #[serde(default)]
    pub pattern: Pattern,
    /// `layer` (default) or `global`.
    #[serde(default)]
    pub scope: Scope,
    /// `magnitude` (default) or `obs` (data-aware, needs calibration).
    #[serde(default)]
    pub method: Method,
    /// Per-layer targets overriding `sparsity`: glob pattern (`*`, `?`) on
    /// the weight tensor's or the layer output's name -> sparsity (0 leaves
    /// the layer dense). The first matching pattern (in sorted order) wins.
    #[serde(default)]
    pub layers: BTreeMap<String, f64>,
    /// Prune DEPTHWISE_CONV_2D weights too (TFMOT never does).
    #[serde(default)]
    pub include_depthwise: bool,
    /// Layers left alone: op type names (e.g. `FULLY_CONNECTED`) or glob
    /// patterns matched against the op's input and output tensor names.
    #[serde(default)]
    pub skip: Vec<String>,
    /// obs: damping added to H, as a fraction of its mean diagonal.
    #[serde(default = "default_damping")]
    pub damping: f64,
    /// obs: at most this many calibration samples are used.
    #[serde(default = "default_max_samples")]
    pub max_samples: usize,
    /// obs: prune layer by layer, each layer's statistics taken from the
    /// model with the earlier layers already pruned (one calibration pass
    /// per layer; slower, usually more accurate at high sparsity).
    #[serde(default)]
    pub sequential: bool,
}

/// `sparsity` is checked when the recipe is read, not only when applied.
fn sparsity_field<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<f64>, D::Error> {
    let v = Option::<f64>::deserialize(d)?;
    match v {
        Some(s) if !(s.is_finite() && (0.0..1.0).contains(&s)) => {
            Err(serde::de::Error::custom(format!("prune.sparsity must be in [0, 1) (a fraction of zeros, e.g. 0.5), got {s}")))
        }
        _ => Ok(v),
    }
}

fn default_damping() -> f64 {
    0.01
}
fn default_max_samples() -> usize {
    512
}

impl PruneConfig {
    /// Magnitude pruning to `sparsity` per layer, unstructured.
    pub fn new(sparsity: f64) -> PruneConfig {
        PruneConfig {
            sparsity: Some(sparsity),
            pattern: Pattern::Unstructured,
            scope: Scope::Layer,
            method: Method::Magnitude,
            layers: BTreeMap::new(),
            include_depthwise: false,
            skip: Vec::new(),
            damping: default_damping(),
            max_samples: default_max_samples(),
            sequential: false,
        }
    }

    /// Check the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidArgument(format!("prune: {m}")));
        let in_range = |s: f64| s.is_finite() && (0.0..1.0).contains(&s);
        if let Some(s) = self.sparsity {
            if !in_range(s) {
                return bad(format!("sparsity must be in [0, 1) (a fraction of zeros, e.g. 0.5), got {s}"));
            }
        }
        match self.pattern {
            Pattern::NM { n, m } => {
                let implied = 1.0 - n as f64 / m as f64;
                if let Some(s) = self.sparsity {
                    if (s - implied).abs() > 1e-6 {
                        return bad(format!(
                            "sparsity {s} conflicts with pattern {n}:{m}, which keeps {n} of every {m} weights ({implied} sparsity); leave sparsity out"
                        ));
                    }
                }
                if let Some((k, v)) = self.layers.iter().find(|(_, &v)| v != 0.0 && (v - implied).abs() > 1e-6) {
                    return bad(format!(
                        "layers[\"{k}\"] = {v}: with pattern {n}:{m} a layer override can only be 0 (leave the layer dense) or {implied}"
                    ));
                }
            }
            _ => {
                if self.sparsity.is_none() && self.layers.is_empty() {
                    return bad(format!("sparsity is required with pattern {} (e.g. \"sparsity\": 0.5)", self.pattern));
                }
            }
        }
        for (k, &v) in &self.layers {
            if !in_range(v) {
                return bad(format!("layers[\"{k}\"] must be a sparsity in [0, 1), got {v}"));
            }
        }
        if !(self.damping.is_finite() && self.damping > 0.0 && self.damping <= 10.0) {
            return bad(format!("damping must be in (0, 10] (a fraction of H's mean diagonal; 0.01 is usual), got {}", self.damping));
        }
        if self.max_samples == 0 {
            return bad("maxSamples must be at least 1".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Shared: layers with weights, reading and writing weights
// ---------------------------------------------------------------------------

/// Whether `op` matches a skip list: an op type name, a custom op name, or a
/// glob on one of its input/output tensor names (as quantization's skip).
pub(crate) fn skipped(patterns: &[String], sg: &Subgraph, op: &Op) -> bool {
    patterns.iter().any(|p| {
        match &op.kind {
            OpKind::Builtin(b) if BuiltinOp::from_name(p) == Some(*b) => return true,
            OpKind::Custom(c) if c == p => return true,
            _ => {}
        }
        op.outputs.iter().chain(op.inputs.iter().flatten()).any(|&t| glob(p, &sg.tensors[t].name))
    })
}

/// A weight tensor of one or more ops, with how to view it as a matrix.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The constant tensor that holds the data (behind a DEQUANTIZE if any).
    pub tensor: TensorId,
    /// Consumer ops (indices in subgraph 0), all of kind `kind`.
    pub ops: Vec<usize>,
    pub kind: BuiltinOp,
    pub name: String,
    pub shape: Vec<usize>,
    /// Axis of the output channels (per-channel clustering, block rows).
    pub out_axis: usize,
    /// Input-channel axis (N:M groups, block columns).
    pub in_axis: usize,
}

impl Target {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// "CONV_2D conv1/weights" for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind.name(), self.name)
    }
}

fn prunable(b: BuiltinOp, depthwise: bool) -> bool {
    matches!(b, BuiltinOp::CONV_2D | BuiltinOp::FULLY_CONNECTED | BuiltinOp::TRANSPOSE_CONV | BuiltinOp::BATCH_MATMUL)
        || (depthwise && b == BuiltinOp::DEPTHWISE_CONV_2D)
}

/// Weight tensors of subgraph 0 that pruning/clustering may change, in op
/// order (each tensor once). Layers that cannot be used are named in
/// `notes`.
pub(crate) fn find_targets(model: &Model, depthwise: bool, skip: &[String], notes: &mut Vec<String>) -> Vec<Target> {
    let sg = &model.subgraphs[0];
    let mut out: Vec<Target> = Vec::new();
    for (oi, op) in sg.ops.iter().enumerate() {
        let Some(b) = op.kind.builtin() else { continue };
        if !prunable(b, depthwise) {
            continue;
        }
        if skipped(skip, sg, op) {
            continue;
        }
        let Some(w) = op.input(1) else { continue };
        let src = if model.is_constant(0, w) {
            w
        } else {
            match sg.producer(w).map(|p| &sg.ops[p]) {
                Some(p) if p.kind == OpKind::Builtin(BuiltinOp::DEQUANTIZE) && p.input(0).is_some_and(|s| model.is_constant(0, s)) => {
                    p.input(0).unwrap()
                }
                _ => {
                    if b != BuiltinOp::BATCH_MATMUL {
                        notes.push(format!("node {oi} ({}): weights are not a constant, left alone", b.name()));
                    }
                    continue;
                }
            }
        };
        let t = &sg.tensors[src];
        if t.sparsity.is_some() || super::report::dequantized(model, t).is_none() {
            notes.push(format!("node {oi} ({}): weights of type {} cannot be read, left alone", b.name(), t.dtype.name()));
            continue;
        }
        if let Some(x) = out.iter_mut().find(|x| x.tensor == src) {
            if x.kind == b {
                x.ops.push(oi);
            }
            continue;
        }
        let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(1) as usize).collect();
        let rank = shape.len();
        if rank < 2 || (b != BuiltinOp::FULLY_CONNECTED && b != BuiltinOp::BATCH_MATMUL && rank != 4) {
            notes.push(format!("node {oi} ({}): weights of shape {:?} are not supported, left alone", b.name(), t.shape));
            continue;
        }
        let (out_axis, in_axis) = match b {
            BuiltinOp::DEPTHWISE_CONV_2D => (rank - 1, rank - 1),
            BuiltinOp::BATCH_MATMUL => {
                if op.attr_bool("adj_y", false) {
                    (rank - 2, rank - 1)
                } else {
                    (rank - 1, rank - 2)
                }
            }
            _ => (0, rank - 1),
        };
        out.push(Target { tensor: src, ops: vec![oi], kind: b, name: t.name.clone(), shape, out_axis, in_axis });
    }
    out
}

/// Float values of a weight tensor (dequantized).
pub(crate) fn read_weights(model: &Model, t: TensorId) -> Option<Vec<f32>> {
    super::report::dequantized(model, &model.subgraphs[0].tensors[t])
}

/// Store float values into a weight tensor, keeping its type: float16 is
/// rounded, integer types are quantized with the tensor's own parameters
/// (so 0.0 stays the zero point). Writes a new buffer (the old one may be
/// shared); call `compact_buffers` afterwards.
pub(crate) fn write_weights(model: &mut Model, t: TensorId, vals: &[f32]) -> Result<()> {
    let tensor = &model.subgraphs[0].tensors[t];
    let bytes: Vec<u8> = match tensor.dtype {
        DType::F32 => vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
        DType::F16 => vals.iter().flat_map(|&v| half::f16::from_f32(v).to_bits().to_le_bytes()).collect(),
        DType::I8 | DType::U8 | DType::I16 => {
            let q = tensor.quant.as_ref().filter(|q| q.is_quantized()).ok_or_else(|| {
                Error::Unsupported(format!("tensor {} is an integer tensor without quantization parameters", tensor.name))
            })?;
            let (lo, hi) = match tensor.dtype {
                DType::I8 => (-128i64, 127i64),
                DType::U8 => (0, 255),
                _ => (-32768, 32767),
            };
            let channels = q.scale.len().max(1);
            let axis = q.quantized_dimension.max(0) as usize;
            let inner: usize = if channels > 1 {
                tensor.inner_size(axis).max(1)
            } else {
                vals.len().max(1)
            };
            let mut out = Vec::with_capacity(vals.len() * tensor.dtype.size());
            for (i, &v) in vals.iter().enumerate() {
                let c = if channels > 1 { (i / inner) % channels } else { 0 };
                let s = q.scale[c.min(q.scale.len() - 1)];
                let zp = q.zero_point.get(c).or(q.zero_point.first()).copied().unwrap_or(0);
                let code = if s > 0.0 && v.is_finite() { ((v / s).round() as i64 + zp).clamp(lo, hi) } else { zp };
                match tensor.dtype {
                    DType::I16 => out.extend_from_slice(&(code as i16).to_le_bytes()),
                    _ => out.push(code as u8),
                }
            }
            out
        }
        d => return Err(Error::Unsupported(format!("cannot store weights of type {}", d.name()))),
    };
    let b = model.add_buffer(bytes);
    model.subgraphs[0].tensors[t].buffer = b;
    Ok(())
}

/// Fold DENSIFY ops that feed weights (sparse inputs) into dense constants.
pub(crate) fn densify_weights(model: &mut Model, warnings: &mut Vec<String>) -> Result<()> {
    let sg = &model.subgraphs[0];
    let has = sg.ops.iter().any(|o| o.kind == OpKind::Builtin(BuiltinOp::DENSIFY));
    if has {
        let n = super::fold::fold_weight_decoders(model)?;
        if n > 0 {
            warnings.push(format!("{n} constant DEQUANTIZE/DENSIFY ops folded into float32 weights first"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Shared: the matrix view of a weight and its input moments
// ---------------------------------------------------------------------------

/// A weight as a matrix of `rows` outputs × `cols` inputs, where the layer
/// computes `y[row] = Σ_col W[row, col] · x[col]` for each input patch `x`
/// (im2col for convolutions). Element (r, c) is at `r*rs + c*cs` in the
/// tensor; rows in the same `group` share one input moment matrix.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
    /// Number of input-moment groups; row r uses group `r / rows_per_group`.
    pub groups: usize,
    pub rows_per_group: usize,
    /// Whether the input-channel axis is the innermost part of the columns
    /// (N:M groups and blocks are runs of consecutive columns).
    pub in_axis_inner: bool,
}

impl View {
    #[inline]
    pub fn flat(&self, r: usize, c: usize) -> usize {
        r * self.rs + c * self.cs
    }
    #[inline]
    pub fn group(&self, r: usize) -> usize {
        r / self.rows_per_group.max(1)
    }
}

/// How a consumer op reads its input: which input slot, and its geometry.
#[derive(Debug, Clone)]
enum Reader {
    /// Rows of `k` consecutive values (FULLY_CONNECTED, TRANSPOSE_CONV).
    Rows { slot: usize, k: usize },
    /// BATCH_MATMUL lhs: rows of `k` (`adj_x`: columns).
    Matmul { k: usize, adj_x: bool },
    /// CONV_2D im2col patches: `kh × kw × ig` per group.
    Conv { kh: usize, kw: usize, ig: usize, groups: usize, strides: (usize, usize), dil: (usize, usize), padding: Padding },
    /// DEPTHWISE_CONV_2D: `kh × kw` taps per input channel.
    Depthwise { kh: usize, kw: usize, strides: (usize, usize), dil: (usize, usize), padding: Padding },
}

/// The matrix view of a target and how its first consumer reads its input,
/// or why data-aware statistics are not available for it.
fn view_of(model: &Model, t: &Target) -> std::result::Result<(View, Reader), String> {
    let sg = &model.subgraphs[0];
    let op = &sg.ops[t.ops[0]];
    let s = &t.shape;
    let n = t.numel();
    let padding = || Padding::from_code(op.attr_i64("padding", 0)).ok_or_else(|| "unknown padding".to_string());
    let pos = |name: &str| op.attr_i64(name, 1).max(1) as usize;
    Ok(match t.kind {
        BuiltinOp::FULLY_CONNECTED => {
            let (rows, cols) = (s[0], n / s[0]);
            (View { rows, cols, rs: cols, cs: 1, groups: 1, rows_per_group: rows, in_axis_inner: true }, Reader::Rows { slot: 0, k: cols })
        }
        BuiltinOp::CONV_2D => {
            let (oc, kh, kw, ig) = (s[0], s[1], s[2], s[3]);
            let x = op.input(0).map(|i| &sg.tensors[i]).ok_or("no input")?;
            let c = x.shape.last().copied().unwrap_or(0).max(0) as usize;
            if c == 0 || ig == 0 || !c.is_multiple_of(ig) || !oc.is_multiple_of(c / ig) {
                return Err(format!("input channels {c} do not fit filter {:?}", s));
            }
            let groups = c / ig;
            let cols = kh * kw * ig;
            (
                View { rows: oc, cols, rs: cols, cs: 1, groups, rows_per_group: oc / groups, in_axis_inner: true },
                Reader::Conv {
                    kh,
                    kw,
                    ig,
                    groups,
                    strides: (pos("stride_h"), pos("stride_w")),
                    dil: (pos("dilation_h_factor"), pos("dilation_w_factor")),
                    padding: padding()?,
                },
            )
        }
        BuiltinOp::DEPTHWISE_CONV_2D => {
            let (kh, kw, oc) = (s[1], s[2], s[3]);
            let x = op.input(0).map(|i| &sg.tensors[i]).ok_or("no input")?;
            let c = x.shape.last().copied().unwrap_or(0).max(0) as usize;
            if c == 0 || oc % c != 0 {
                return Err(format!("input channels {c} do not fit filter {:?}", s));
            }
            (
                View { rows: oc, cols: kh * kw, rs: 1, cs: oc, groups: c, rows_per_group: oc / c, in_axis_inner: false },
                Reader::Depthwise {
                    kh,
                    kw,
                    strides: (pos("stride_h"), pos("stride_w")),
                    dil: (pos("dilation_h_factor"), pos("dilation_w_factor")),
                    padding: padding()?,
                },
            )
        }
        BuiltinOp::TRANSPOSE_CONV => {
            // Each (output channel, tap) row multiplies the input pixel's
            // channel vector; taps are treated as independent rows (exact
            // when the stride is at least the kernel size).
            let ic = s[3];
            let rows = n / ic;
            (View { rows, cols: ic, rs: ic, cs: 1, groups: 1, rows_per_group: rows, in_axis_inner: true }, Reader::Rows { slot: 2, k: ic })
        }
        BuiltinOp::BATCH_MATMUL => {
            let r = s.len();
            if s[..r - 2].iter().any(|&d| d != 1) {
                return Err("batched constant right-hand side".into());
            }
            let adj_y = op.attr_bool("adj_y", false);
            let adj_x = op.attr_bool("adj_x", false);
            let (k, nn) = if adj_y { (s[r - 1], s[r - 2]) } else { (s[r - 2], s[r - 1]) };
            let view = if adj_y {
                View { rows: nn, cols: k, rs: k, cs: 1, groups: 1, rows_per_group: nn, in_axis_inner: true }
            } else {
                View { rows: nn, cols: k, rs: 1, cs: nn, groups: 1, rows_per_group: nn, in_axis_inner: true }
            };
            (view, Reader::Matmul { k, adj_x })
        }
        b => return Err(format!("{} has no matrix view", b.name())),
    })
}

/// Input moments of one target: per group, the second moment H = Σ x xᵀ
/// (cols × cols, or only its diagonal) over all input rows seen.
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    pub view: View,
    /// Per group: `cols*cols` values (full) or `cols` (diagonal).
    pub h: Vec<Vec<f64>>,
    pub rows_seen: f64,
    pub diag_only: bool,
}

impl Moments {
    /// Diagonal of group `g`'s H, normalized per input row.
    pub fn diag(&self, g: usize) -> Vec<f64> {
        let c = self.view.cols;
        let n = self.rows_seen.max(1.0);
        if self.diag_only {
            self.h[g].iter().map(|v| v / n).collect()
        } else {
            (0..c).map(|i| self.h[g][i * c + i] / n).collect()
        }
    }
}

/// Scratch rows waiting to be added to a moment matrix.
struct Acc {
    reader: Reader,
    /// Per group: pending rows (row-major, `cols` wide).
    pending: Vec<Vec<f32>>,
    /// GEMM scratch (cols × cols).
    scratch: Vec<f32>,
}

/// Rows are added to H in batches of about this many values.
const FLUSH_VALUES: usize = 1 << 20;
const FLUSH_ROWS: usize = 256;

/// Largest input dimension for full moment matrices (obs): H is cols² f64.
pub(crate) const MAX_OBS_COLS: usize = 4096;

fn add_moments(m: &mut Moments, g: usize, rows: &[f32], scratch: &mut Vec<f32>) {
    let k = m.view.cols;
    if rows.is_empty() || k == 0 {
        return;
    }
    let n = rows.len() / k;
    let h = &mut m.h[g];
    if m.diag_only {
        for r in rows.chunks_exact(k) {
            for (hv, &x) in h.iter_mut().zip(r) {
                *hv += (x as f64) * (x as f64);
            }
        }
        return;
    }
    if k <= 16 {
        for r in rows.chunks_exact(k) {
            for i in 0..k {
                let xi = r[i] as f64;
                if xi == 0.0 {
                    continue;
                }
                for j in 0..k {
                    h[i * k + j] += xi * r[j] as f64;
                }
            }
        }
        return;
    }
    // H += XᵀX with the f32 GEMM (A = Xᵀ, B = X), accumulated in f64.
    let mut xt = vec![0f32; n * k];
    for (r, row) in rows.chunks_exact(k).enumerate() {
        for (i, &x) in row.iter().enumerate() {
            xt[i * n + r] = x;
        }
    }
    scratch.clear();
    scratch.resize(k * k, 0.0);
    if gemm::sgemm(k, k, n, &xt, n, rows, k, 1, scratch, k).is_ok() {
        for (hv, &t) in h.iter_mut().zip(scratch.iter()) {
            *hv += t as f64;
        }
    }
}

/// Add the pending rows to H once there are enough of them (over all
/// groups, so many small groups do not pile up memory), or when `force`.
fn flush(acc: &mut Acc, m: &mut Moments, force: bool) {
    let k = m.view.cols.max(1);
    let limit = FLUSH_VALUES.max(FLUSH_ROWS * k);
    let total: usize = acc.pending.iter().map(|p| p.len()).sum();
    if total < limit && !(force && total > 0) {
        return;
    }
    for g in 0..acc.pending.len() {
        if !acc.pending[g].is_empty() {
            let mut rows = std::mem::take(&mut acc.pending[g]);
            add_moments(m, g, &rows, &mut acc.scratch);
            rows.clear();
            if acc.pending.len() == 1 {
                acc.pending[g] = rows; // keep the capacity
            }
        }
    }
}

/// Feed one observed input activation of a target's consumer.
fn observe(acc: &mut Acc, m: &mut Moments, v: &Value) -> std::result::Result<(), String> {
    let Data::F32(x) = &v.data else { return Err("input activation is not float32".into()) };
    let shape = &v.shape;
    match acc.reader.clone() {
        Reader::Rows { k, .. } => {
            if k == 0 || x.len() % k != 0 {
                return Err(format!("input of shape {shape:?} is not rows of {k}"));
            }
            m.rows_seen += (x.len() / k) as f64;
            for chunk in x.chunks(FLUSH_VALUES.max(FLUSH_ROWS * k)) {
                acc.pending[0].extend_from_slice(chunk);
                flush(acc, m, false);
            }
        }
        Reader::Matmul { k, adj_x } => {
            let r = shape.len();
            if r < 2 {
                return Err("matmul input of rank < 2".into());
            }
            let (a, b) = (shape[r - 2], shape[r - 1]);
            let mats = x.len() / (a * b).max(1);
            if (adj_x && a != k) || (!adj_x && b != k) {
                return Err(format!("matmul input {shape:?} does not contract over {k}"));
            }
            for mi in 0..mats {
                let mat = &x[mi * a * b..(mi + 1) * a * b];
                if adj_x {
                    for j in 0..b {
                        for i in 0..a {
                            acc.pending[0].push(mat[i * b + j]);
                        }
                    }
                    m.rows_seen += b as f64;
                } else {
                    acc.pending[0].extend_from_slice(mat);
                    m.rows_seen += a as f64;
                }
                flush(acc, m, false);
            }
        }
        Reader::Conv { kh, kw, ig, groups, strides, dil, padding } => {
            let [n, h, w, c] = rank4(shape)?;
            if c != ig * groups {
                return Err(format!("conv input {shape:?} does not have {} channels", ig * groups));
            }
            let win = Window::new(n, h, w, c, kh, kw, strides, dil, padding)?;
            let k = kh * kw * ig;
            m.rows_seen += (n * win.oh * win.ow) as f64;
            for b in 0..n {
                for oy in 0..win.oh {
                    for ox in 0..win.ow {
                        for g in 0..groups {
                            let p = &mut acc.pending[g];
                            let start = p.len();
                            p.resize(start + k, 0.0);
                            let dst = &mut p[start..];
                            for ky in 0..kh {
                                let iy = (oy * win.sh + ky * win.dh) as i64 - win.pad_t as i64;
                                if iy < 0 || iy as usize >= h {
                                    continue;
                                }
                                for kx in 0..kw {
                                    let ix = (ox * win.sw + kx * win.dw) as i64 - win.pad_l as i64;
                                    if ix < 0 || ix as usize >= w {
                                        continue;
                                    }
                                    let base = ((b * h + iy as usize) * w + ix as usize) * c + g * ig;
                                    let d = (ky * kw + kx) * ig;
                                    dst[d..d + ig].copy_from_slice(&x[base..base + ig]);
                                }
                            }
                        }
                        flush(acc, m, false);
                    }
                }
            }
        }
        Reader::Depthwise { kh, kw, strides, dil, padding } => {
            let [n, h, w, c] = rank4(shape)?;
            if c != acc.pending.len() {
                return Err(format!("depthwise input {shape:?} does not have {} channels", acc.pending.len()));
            }
            let win = Window::new(n, h, w, c, kh, kw, strides, dil, padding)?;
            let k = kh * kw;
            m.rows_seen += (n * win.oh * win.ow) as f64;
            let mut patch = vec![0f32; k * c];
            for b in 0..n {
                for oy in 0..win.oh {
                    for ox in 0..win.ow {
                        patch.fill(0.0);
                        for ky in 0..kh {
                            let iy = (oy * win.sh + ky * win.dh) as i64 - win.pad_t as i64;
                            if iy < 0 || iy as usize >= h {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (ox * win.sw + kx * win.dw) as i64 - win.pad_l as i64;
                                if ix < 0 || ix as usize >= w {
                                    continue;
                                }
                                let base = ((b * h + iy as usize) * w + ix as usize) * c;
                                let t = ky * kw + kx;
                                for ch in 0..c {
                                    patch[ch * k + t] = x[base + ch];
                                }
                            }
                        }
                        for ch in 0..c {
                            acc.pending[ch].extend_from_slice(&patch[ch * k..(ch + 1) * k]);
                        }
                        flush(acc, m, false);
                    }
                }
            }
        }
    }
    Ok(())
}

fn rank4(shape: &[usize]) -> std::result::Result<[usize; 4], String> {
    match shape {
        &[a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(format!("expected a rank-4 input, got {shape:?}")),
    }
}

/// Bytes of moment storage a target needs.
fn moment_bytes(view: &View, diag_only: bool) -> usize {
    let per = if diag_only { view.cols } else { view.cols * view.cols };
    view.groups.saturating_mul(per).saturating_mul(8)
}

/// Most bytes of moment matrices collected in one calibration pass.
const MOMENT_BUDGET: usize = 256 << 20;

/// Collect input moments for `targets` by running `model` in the float
/// engine over `samples`. Entry i is None (with the reason) when target i
/// has no usable view. Fails when the engine cannot run the model.
pub(crate) fn collect_moments(
    model: &Model,
    targets: &[Target],
    samples: &[Vec<Value>],
    diag_only: bool,
    progress: &mut dyn FnMut(&str, f32),
    phase: &str,
) -> Result<Vec<std::result::Result<Moments, String>>> {
    let mut engine = Engine::new(model)?;
    super::calibrate::check_samples(&engine, samples)?;
    let sg = &model.subgraphs[0];
    let mut out: Vec<std::result::Result<Moments, String>> = Vec::with_capacity(targets.len());
    let mut readers: Vec<Option<(TensorId, Reader)>> = Vec::with_capacity(targets.len());
    for t in targets {
        match view_of(model, t) {
            Ok((view, _)) if !diag_only && view.cols > MAX_OBS_COLS => {
                out.push(Err(format!("its input dimension {} is too large (limit {MAX_OBS_COLS})", view.cols)));
                readers.push(None);
            }
            Ok((view, reader)) => {
                let slot = match &reader {
                    Reader::Rows { slot, .. } => *slot,
                    _ => 0,
                };
                let input = sg.ops[t.ops[0]].input(slot);
                match input {
                    Some(i) if !model.is_constant(0, i) => {
                        let per = if diag_only { view.cols } else { view.cols * view.cols };
                        out.push(Ok(Moments { h: vec![vec![0.0; per]; view.groups], view, rows_seen: 0.0, diag_only }));
                        readers.push(Some((i, reader)));
                    }
                    _ => {
                        out.push(Err("its input is a constant".into()));
                        readers.push(None);
                    }
                }
            }
            Err(e) => {
                out.push(Err(e));
                readers.push(None);
            }
        }
    }
    // Passes over the samples, each for targets fitting the memory budget.
    let live: Vec<usize> = (0..targets.len()).filter(|&i| readers[i].is_some()).collect();
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut used = 0usize;
    for &i in &live {
        let b = out[i].as_ref().map(|m| moment_bytes(&m.view, diag_only)).unwrap_or(0);
        if batches.is_empty() || used + b > MOMENT_BUDGET {
            batches.push(Vec::new());
            used = 0;
        }
        used += b;
        batches.last_mut().unwrap().push(i);
    }
    let total = (batches.len() * samples.len()).max(1);
    let mut done = 0;
    for batch in &batches {
        let mut accs: Vec<(usize, TensorId, Acc, Moments)> = batch
            .iter()
            .map(|&i| {
                let (tid, reader) = readers[i].clone().unwrap();
                let m = match std::mem::replace(&mut out[i], Err(String::new())) {
                    Ok(m) => m,
                    Err(_) => unreachable!(),
                };
                (i, tid, Acc { reader, pending: vec![Vec::new(); m.view.groups], scratch: Vec::new() }, m)
            })
            .collect();
        let mut failure: Option<(usize, String)> = None;
        for s in samples {
            engine.run_observed(s.clone(), &mut |tid, v| {
                for (i, t, acc, m) in accs.iter_mut() {
                    if *t == tid && failure.as_ref().is_none_or(|f| f.0 != *i) {
                        if let Err(e) = observe(acc, m, v) {
                            failure = Some((*i, e));
                        }
                    }
                }
            })?;
            done += 1;
            progress(phase, done as f32 / total as f32);
        }
        for (i, _, mut acc, mut m) in accs {
            flush(&mut acc, &mut m, true);
            out[i] = match &failure {
                Some((fi, e)) if *fi == i => Err(e.clone()),
                _ if m.rows_seen == 0.0 => Err("its input was never computed".into()),
                _ => Ok(m),
            };
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Pruning
// ---------------------------------------------------------------------------

/// Block id of every element: blocks are `r` consecutive entries along
/// `out_axis` × `c` along `in_axis` (other coordinates fixed).
fn block_ids(shape: &[usize], out_axis: usize, r: usize, in_axis: usize, c: usize) -> (Vec<u32>, usize) {
    let rank = shape.len();
    let mut grid = shape.to_vec();
    grid[in_axis] /= c;
    if out_axis != in_axis {
        grid[out_axis] /= r;
    }
    let n: usize = shape.iter().product();
    let nblocks: usize = grid.iter().product();
    let mut ids = vec![0u32; n];
    let mut coord = vec![0usize; rank];
    for id in ids.iter_mut() {
        let mut b = 0usize;
        for d in 0..rank {
            let mut x = coord[d];
            if d == in_axis {
                x /= c;
            } else if d == out_axis {
                x /= r;
            }
            b = b * grid[d] + x;
        }
        *id = b as u32;
        for d in (0..rank).rev() {
            coord[d] += 1;
            if coord[d] < shape[d] {
                break;
            }
            coord[d] = 0;
        }
    }
    (ids, nblocks)
}

/// What to do to one tensor.
struct Plan {
    target: usize,
    sparsity: f64,
    /// Block shape (rows along out_axis, cols along in_axis); (1, 1) for
    /// unstructured; (1, m) for N:M.
    block: (usize, usize),
    nm: Option<(usize, usize)>,
    /// Counted in the global pool.
    global: bool,
    /// Units (blocks) to zero; set by the allocation (not used for N:M).
    count: usize,
}

/// Apply pruning to the model.
pub fn prune(model: &mut Model, cfg: &PruneConfig, ctx: &mut Context) -> Result<()> {
    cfg.validate()?;
    if cfg.method == Method::Obs && ctx.calibration.is_empty() {
        return Err(Error::InvalidArgument(
            "prune: method obs (data-aware) needs calibration data: give representative inputs \
             (e.g. `--calib samples.npy`), or use method magnitude"
                .into(),
        ));
    }
    (ctx.progress)("prune", 0.0);
    densify_weights(model, &mut ctx.warnings)?;
    let mut notes = Vec::new();
    let targets = find_targets(model, cfg.include_depthwise, &cfg.skip, &mut notes);
    for n in notes {
        ctx.warnings.push(format!("prune: {n}"));
    }
    if targets.is_empty() {
        ctx.warnings.push("prune: no prunable weights (CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL constants)".into());
        return Ok(());
    }
    let sg = &model.subgraphs[0];

    // 1. Per-tensor plans.
    let mut plans: Vec<Plan> = Vec::new();
    let mut matched: Vec<bool> = vec![false; cfg.layers.len()];
    for (ti, t) in targets.iter().enumerate() {
        let names: Vec<&str> = std::iter::once(t.name.as_str())
            .chain(t.ops.iter().flat_map(|&o| sg.ops[o].outputs.iter().map(|&x| sg.tensors[x].name.as_str())))
            .collect();
        let over = cfg.layers.iter().enumerate().find(|(_, (p, _))| names.iter().any(|n| glob(p, n)));
        if let Some((k, _)) = over {
            matched[k] = true;
        }
        let sparsity = match (over, cfg.pattern.fixed_sparsity(), cfg.sparsity) {
            (Some((_, (_, &v))), _, _) => v,
            (None, Some(f), _) => f,
            (None, None, Some(s)) => s,
            (None, None, None) => 0.0,
        };
        if sparsity == 0.0 {
            continue;
        }
        let (block, nm) = match cfg.pattern {
            Pattern::Unstructured => ((1, 1), None),
            Pattern::NM { n, m } => {
                let len = t.shape[t.in_axis];
                if len % m != 0 {
                    ctx.warnings.push(format!(
                        "prune: {} skipped: its input-channel axis has {len} entries, not a multiple of {m} ({})",
                        t.label(),
                        cfg.pattern
                    ));
                    continue;
                }
                ((1, m), Some((n, m)))
            }
            Pattern::Block { rows, cols } => {
                let (o, i) = (t.shape[t.out_axis], t.shape[t.in_axis]);
                let fits = if t.out_axis == t.in_axis { rows == 1 && i % cols == 0 } else { o % rows == 0 && i % cols == 0 };
                if !fits {
                    ctx.warnings.push(format!(
                        "prune: {} skipped: {o} output x {i} input channels do not divide into {rows}x{cols} blocks",
                        t.label()
                    ));
                    continue;
                }
                ((rows, cols), None)
            }
        };
        plans.push(Plan { target: ti, sparsity, block, nm, global: over.is_none() && cfg.scope == Scope::Global, count: 0 });
    }
    for (k, (p, _)) in cfg.layers.iter().enumerate() {
        if !matched[k] {
            ctx.warnings.push(format!("prune: layers pattern \"{p}\" matched no prunable layer"));
        }
    }
    if plans.is_empty() {
        ctx.warnings.push("prune: nothing to prune".into());
        return Ok(());
    }

    // 2. Weights and blocks.
    let mut weights: Vec<Vec<f32>> = plans.iter().map(|p| read_weights(model, targets[p.target].tensor).unwrap_or_default()).collect();
    let blocks: Vec<(Vec<u32>, usize)> = plans
        .iter()
        .map(|p| {
            let t = &targets[p.target];
            if p.block == (1, 1) {
                ((0..t.numel() as u32).collect(), t.numel())
            } else {
                block_ids(&t.shape, t.out_axis, p.block.0, t.in_axis, p.block.1)
            }
        })
        .collect();

    // 3. How many blocks each tensor loses (not for N:M).
    let scores: Vec<Vec<f64>> = plans
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let (ids, nb) = &blocks[i];
            let mut s = vec![0f64; *nb];
            for (&b, &w) in ids.iter().zip(&weights[i]) {
                s[b as usize] += (w as f64) * (w as f64);
            }
            s
        })
        .collect();
    for (i, p) in plans.iter_mut().enumerate() {
        if !p.global {
            p.count = (p.sparsity * blocks[i].1 as f64).round() as usize;
        }
    }
    if let Some(s) = cfg.sparsity.filter(|_| plans.iter().any(|p| p.global) && cfg.pattern.fixed_sparsity().is_none()) {
        // One threshold over the pool: the smallest blocks (by mean square,
        // so block sizes compare) across all pooled tensors.
        let mut pool: Vec<(f64, u32, u32)> = Vec::new();
        for (i, p) in plans.iter().enumerate() {
            if p.global {
                let area = (p.block.0 * p.block.1) as f64;
                pool.extend(scores[i].iter().enumerate().map(|(b, &v)| (v / area, i as u32, b as u32)));
            }
        }
        let z = (s * pool.len() as f64).round() as usize;
        if z > 0 {
            let z = z.min(pool.len());
            pool.select_nth_unstable_by(z - 1, |a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            for &(_, i, _) in &pool[..z] {
                plans[i as usize].count += 1;
            }
        }
    }

    // 4. Data-aware statistics.
    let mut use_obs = cfg.method == Method::Obs;
    let samples = &ctx.calibration[..ctx.calibration.len().min(cfg.max_samples)];
    let mut moments: Vec<Option<Moments>> = (0..plans.len()).map(|_| None).collect();
    if use_obs {
        if let Err(e) = Engine::new(model) {
            ctx.warnings.push(format!(
                "prune: data-aware method obs unavailable ({e}); pruned by magnitude instead"
            ));
            use_obs = false;
        }
    }

    // 5. Prune, in op order.
    let order: Vec<usize> = {
        let mut o: Vec<usize> = (0..plans.len()).collect();
        o.sort_by_key(|&i| targets[plans[i].target].ops[0]);
        o
    };
    if use_obs && !cfg.sequential {
        let ts: Vec<Target> = plans.iter().map(|p| targets[p.target].clone()).collect();
        let got = collect_moments(model, &ts, samples, false, ctx.progress, "prune: statistics")?;
        for (i, g) in got.into_iter().enumerate() {
            match g {
                Ok(m) => moments[i] = Some(m),
                Err(e) => ctx.warnings.push(format!("prune: {}: no data-aware statistics ({e}); pruned by magnitude", ts[i].label())),
            }
        }
    }
    let mut zeroed = 0usize;
    let mut total = 0usize;
    for (step, &i) in order.iter().enumerate() {
        let p = &plans[i];
        let t = &targets[p.target];
        if use_obs && cfg.sequential {
            let got = collect_moments(model, std::slice::from_ref(t), samples, false, &mut |_, _| {}, "prune")?;
            match got.into_iter().next() {
                Some(Ok(m)) => moments[i] = Some(m),
                Some(Err(e)) => ctx.warnings.push(format!("prune: {}: no data-aware statistics ({e}); pruned by magnitude", t.label())),
                None => {}
            }
        }
        let w = &mut weights[i];
        let (ids, nb) = &blocks[i];
        let mut obs_done = false;
        if let Some(m) = moments[i].take() {
            let nm_ok = p.nm.is_none() || m.view.in_axis_inner;
            let block_ok = p.block == (1, 1) || p.nm.is_some() || m.view.in_axis_inner;
            if nm_ok && block_ok {
                match obs_prune(w, &m, ids, *nb, p, cfg.damping) {
                    Ok(()) => obs_done = true,
                    Err(e) => ctx.warnings.push(format!("prune: {}: obs failed ({e}); pruned by magnitude", t.label())),
                }
            } else {
                ctx.warnings.push(format!("prune: {}: obs does not support pattern {} here; pruned by magnitude", t.label(), cfg.pattern));
            }
        }
        if !obs_done {
            magnitude_prune(w, ids, *nb, p);
        }
        zeroed += w.iter().filter(|&&v| v == 0.0).count();
        total += w.len();
        write_weights(model, t.tensor, w)?;
        (ctx.progress)("prune", (step + 1) as f32 / order.len() as f32);
    }
    model.compact_buffers();
    ctx.warnings.push(format!(
        "prune: {} tensors, {zeroed} of {total} weights are zero ({:.1}%), {} {}{}",
        plans.len(),
        100.0 * zeroed as f64 / total.max(1) as f64,
        cfg.pattern,
        match cfg.scope {
            Scope::Layer => "per layer",
            Scope::Global => "global",
        },
        if use_obs { ", data-aware (obs)" } else { ", magnitude" }
    ));
    Ok(())
}

/// Zero the `count` blocks with the smallest sum of squares (ties: lower
/// index first), or for N:M the smallest `m - n` of every group.
fn magnitude_prune(w: &mut [f32], ids: &[u32], nb: usize, p: &Plan) {
    let esc: Vec<f64> = w.iter().map(|&v| (v as f64) * (v as f64)).collect();
    for (v, d) in w.iter_mut().zip(select_mask(&esc, ids, nb, p)) {
        if d {
            *v = 0.0;
        }
    }
}

/// The elements to zero, ranking by element scores `esc` (lower goes
/// first): for N:M the `m - n` lowest of each group, otherwise the
/// `p.count` blocks with the lowest score sums (ties: lower index first).
fn select_mask(esc: &[f64], ids: &[u32], nb: usize, p: &Plan) -> Vec<bool> {
    let mut dead = vec![false; esc.len()];
    let cmp = |x: f64, y: f64| x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
    if let Some((n, m)) = p.nm {
        let mut members: Vec<Vec<usize>> = vec![Vec::with_capacity(m); nb];
        for (i, &b) in ids.iter().enumerate() {
            members[b as usize].push(i);
        }
        for mut g in members {
            g.sort_by(|&a, &b| cmp(esc[a], esc[b]).then(a.cmp(&b)));
            for &i in g.iter().take(m - n) {
                dead[i] = true;
            }
        }
        return dead;
    }
    let count = p.count.min(nb);
    if count == 0 {
        return dead;
    }
    let mut bs = vec![0f64; nb];
    for (&b, &s) in ids.iter().zip(esc) {
        bs[b as usize] += s;
    }
    let mut order: Vec<u32> = (0..nb as u32).collect();
    order.sort_by(|&a, &b| cmp(bs[a as usize], bs[b as usize]).then(a.cmp(&b)));
    let mut gone = vec![false; nb];
    for &b in &order[..count] {
        gone[b as usize] = true;
    }
    for (d, &b) in dead.iter_mut().zip(ids) {
        *d = gone[b as usize];
    }
    dead
}

// ---------------------------------------------------------------------------
// OBS (SparseGPT-style)
// ---------------------------------------------------------------------------

/// In-place lower Cholesky factor of the symmetric positive definite `a`
/// (n × n, row-major). False if not positive definite.
fn cholesky(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let (ri, rj) = (i * n, j * n);
            let mut s = a[ri + j];
            for k in 0..j {
                s -= a[ri + k] * a[rj + k];
            }
            a[ri + j] = s / d;
        }
        for k in j + 1..n {
            a[j * n + k] = 0.0;
        }
    }
    true
}

/// Upper triangular U with UᵀU = H⁻¹ (H given, n × n), adding damping
/// (`damp` × mean diagonal, raised until H is positive definite).
///
/// With P the index reversal and PHP = L'L'ᵀ, H⁻¹ = (PL'⁻¹P)ᵀ(PL'⁻¹P) and
/// PL'⁻¹P is upper triangular with a positive diagonal: it is the factor.
/// One Cholesky and one triangular inverse, no explicit H⁻¹.
fn inverse_cholesky_upper(h: &[f64], n: usize, damp: f64) -> std::result::Result<Vec<f64>, String> {
    let mean = (0..n).map(|i| h[i * n + i]).sum::<f64>() / n.max(1) as f64;
    let base = if mean > 0.0 && mean.is_finite() { mean } else { 1.0 };
    let mut lambda = damp * base;
    for _ in 0..8 {
        // Reversed and damped.
        let mut l = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..n {
                l[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
            }
            l[i * n + i] += lambda;
        }
        if !cholesky(&mut l, n) {
            lambda *= 10.0;
            continue;
        }
        // X = L⁻¹, row by row: X[i][..i] = -(Σ_k L[i][k] X[k][..]) / L[i][i].
        let mut x = vec![0f64; n * n];
        let mut acc = vec![0f64; n];
        for i in 0..n {
            acc[..i].fill(0.0);
            for k in 0..i {
                let lik = l[i * n + k];
                if lik == 0.0 {
                    continue;
                }
                let xk = &x[k * n..k * n + k + 1];
                for (a, &v) in acc[..=k].iter_mut().zip(xk) {
                    *a += lik * v;
                }
            }
            let d = l[i * n + i];
            for j in 0..i {
                x[i * n + j] = -acc[j] / d;
            }
            x[i * n + i] = 1.0 / d;
        }
        // U = P X P.
        let mut u = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..=i {
                u[(n - 1 - i) * n + (n - 1 - j)] = x[i * n + j];
            }
        }
        if u.iter().any(|v| !v.is_finite()) {
            lambda *= 10.0;
            continue;
        }
        return Ok(u);
    }
    Err("input second-moment matrix is not positive definite even with strong damping".into())
}

/// Prune one tensor with OBS updates: columns left to right, each pruned
/// weight's error spread over the later columns of its row through the
/// Cholesky factor of H⁻¹ (SparseGPT). Three masks are tried, each with
/// the same updates, and the one with the least layer output error
/// Σ_rows ΔW H ΔWᵀ on the calibration data is kept: chosen adaptively per
/// chunk of columns from the updated weights (SparseGPT), by the OBS
/// saliency w² / [H⁻¹]ᵢᵢ, and by magnitude (so the result is never worse
/// than magnitude pruning followed by the updates). Counts are exact per
/// tensor (or per N:M group).
fn obs_prune(w: &mut [f32], m: &Moments, ids: &[u32], nb: usize, p: &Plan, damping: f64) -> std::result::Result<(), String> {
    let v = &m.view;
    let (rows, cols) = (v.rows, v.cols);
    if rows * cols != w.len() {
        return Err(format!("view {rows}x{cols} does not match {} weights", w.len()));
    }
    let us: Vec<Vec<f64>> = m.h.iter().map(|h| inverse_cholesky_upper(h, cols, damping)).collect::<std::result::Result<_, _>>()?;
    let mut w0 = vec![0f64; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            w0[r * cols + c] = w[v.flat(r, c)] as f64;
        }
    }
    // Fixed masks (in tensor order): OBS saliency and magnitude.
    let hinv_diag: Vec<Vec<f64>> = us
        .iter()
        .map(|u| (0..cols).map(|j| (0..=j).map(|k| u[k * cols + j] * u[k * cols + j]).sum::<f64>()).collect())
        .collect();
    let mut sal = vec![0f64; w.len()];
    let mut mag = vec![0f64; w.len()];
    for r in 0..rows {
        let hd = &hinv_diag[v.group(r)];
        for c in 0..cols {
            let x = w0[r * cols + c];
            sal[v.flat(r, c)] = x * x / hd[c];
            mag[v.flat(r, c)] = x * x;
        }
    }
    let to_view = |flat_mask: Vec<bool>| -> Vec<bool> {
        let mut d = vec![false; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                d[r * cols + c] = flat_mask[v.flat(r, c)];
            }
        }
        d
    };
    // Big layers (many columns to compensate with, where SparseGPT's
    // adaptive mask does well) get that one; small ones all three and
    // conjugate-gradient refits, within a work budget.
    let work = (rows * cols * cols).max(1) as f64;
    let candidates: Vec<Option<Vec<bool>>> = if work > HEAVY_WORK {
        vec![None]
    } else {
        vec![None, Some(to_view(select_mask(&sal, ids, nb, p))), Some(to_view(select_mask(&mag, ids, nb, p)))]
    };
    // Few columns: greedy OBS updates have little room, refit fully; many:
    // the updates already do most of the work, a couple of steps polish.
    let refit_iters = if cols <= 64 { REFIT_ITERATIONS } else { ((REFIT_BUDGET / work) as usize).min(2) };
    let mut best: Option<(f64, Vec<f64>, Vec<bool>)> = None;
    for fixed in candidates.iter().cloned() {
        let mut wm = w0.clone();
        let adaptive = fixed.is_none();
        let mut dead = fixed.unwrap_or_else(|| vec![false; rows * cols]);
        obs_columns(&mut wm, &mut dead, adaptive, &us, v, ids, nb, p);
        refit(&mut wm, &dead, &w0, m, damping, refit_iters);
        if candidates.len() == 1 {
            best = Some((0.0, wm, dead));
            break;
        }
        // Layer output error on the calibration data.
        let mut err = 0f64;
        let mut delta = vec![0f64; cols];
        for r in 0..rows {
            let h = &m.h[v.group(r)];
            for c in 0..cols {
                delta[c] = w0[r * cols + c] - wm[r * cols + c];
            }
            for i in 0..cols {
                if delta[i] == 0.0 {
                    continue;
                }
                let hi = &h[i * cols..(i + 1) * cols];
                err += delta[i] * hi.iter().zip(&delta).map(|(a, b)| a * b).sum::<f64>();
            }
        }
        if best.as_ref().is_none_or(|b| err < b.0) {
            best = Some((err, wm, dead));
        }
    }
    let (_, wm, dead) = best.expect("at least one candidate");
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            w[v.flat(r, c)] = if dead[i] { 0.0 } else { wm[i] as f32 };
        }
    }
    Ok(())
}

/// Conjugate-gradient iterations of the refit for layers with few
/// columns, and the work budget (multiply-adds per layer) for the others.
const REFIT_ITERATIONS: usize = 16;
const REFIT_BUDGET: f64 = 2e8;
/// rows × cols² above which only the adaptive mask is tried.
const HEAVY_WORK: f64 = 2e8;

/// Least-squares refit of the kept weights of every row for a fixed mask:
/// minimize (w0 - w)(H + λI)(w0 - w)ᵀ over w zero where `dead`, by a few
/// conjugate-gradient steps from the OBS-updated weights (each step lowers
/// the error; the greedy left-to-right OBS updates are not optimal when
/// few columns are left to compensate).
fn refit(wm: &mut [f64], dead: &[bool], w0: &[f64], m: &Moments, damping: f64, iters: usize) {
    if iters == 0 {
        return;
    }
    let v = &m.view;
    let (rows, cols) = (v.rows, v.cols);
    let lambdas: Vec<f64> = m
        .h
        .iter()
        .map(|h| {
            let mean = (0..cols).map(|i| h[i * cols + i]).sum::<f64>() / cols.max(1) as f64;
            damping * if mean > 0.0 && mean.is_finite() { mean } else { 1.0 }
        })
        .collect();
    let mut e = vec![0f64; cols];
    for r in 0..rows {
        let g = v.group(r);
        let (h, lam) = (&m.h[g], lambdas[g]);
        let kept: Vec<usize> = (0..cols).filter(|&c| !dead[r * cols + c]).collect();
        if kept.is_empty() {
            continue;
        }
        let row = &mut wm[r * cols..(r + 1) * cols];
        for c in 0..cols {
            e[c] = w0[r * cols + c] - row[c];
        }
        // Residual of the normal equations on the kept set: ((H+λI) e)_S.
        let hv = |i: usize, x: &dyn Fn(usize) -> f64, idx: &[usize]| -> f64 {
            let hi = &h[i * cols..(i + 1) * cols];
            idx.iter().map(|&j| hi[j] * x(j)).sum::<f64>()
        };
        let all: Vec<usize> = (0..cols).collect();
        let mut res: Vec<f64> = kept.iter().map(|&i| hv(i, &|j| e[j], &all) + lam * e[i]).collect();
        let mut pdir = res.clone();
        let mut rr: f64 = res.iter().map(|x| x * x).sum();
        let tol = 1e-20 * rr.max(f64::MIN_POSITIVE);
        for _ in 0..iters {
            if rr <= tol {
                break;
            }
            // A p on the kept set.
            let mut pfull = vec![0f64; cols];
            for (k, &i) in kept.iter().enumerate() {
                pfull[i] = pdir[k];
            }
            let ap: Vec<f64> = kept.iter().map(|&i| hv(i, &|j| pfull[j], &kept) + lam * pfull[i]).collect();
            let pap: f64 = pdir.iter().zip(&ap).map(|(a, b)| a * b).sum();
            if pap <= 0.0 || !pap.is_finite() {
                break;
            }
            let alpha = rr / pap;
            for (k, &i) in kept.iter().enumerate() {
                row[i] += alpha * pdir[k];
                res[k] -= alpha * ap[k];
            }
            let rr_new: f64 = res.iter().map(|x| x * x).sum();
            let beta = rr_new / rr;
            rr = rr_new;
            for (pk, &rk) in pdir.iter_mut().zip(&res) {
                *pk = rk + beta * *pk;
            }
        }
    }
}

/// The column loop of OBS pruning on the view-ordered matrix `wm`: with
/// `adaptive`, the mask of each chunk of columns is chosen when the loop
/// reaches it (scores w² / U_jj² of the updated weights); otherwise `dead`
/// is the mask.
#[allow(clippy::too_many_arguments)]
fn obs_columns(wm: &mut [f64], dead: &mut [bool], adaptive: bool, us: &[Vec<f64>], v: &View, ids: &[u32], nb: usize, p: &Plan) {
    let (rows, cols) = (v.rows, v.cols);
    let bc = p.block.1;
    let chunk = match p.nm {
        Some((_, mm)) => mm,
        None => {
            let c = if bc > 1 { bc } else { 1 };
            (128usize.div_ceil(c) * c).min(cols.div_ceil(c) * c).max(c)
        }
    };
    let target = p.count.min(nb);
    let mut zeroed_blocks = 0usize;
    let mut bscore = vec![0f64; if adaptive { nb } else { 0 }];
    let mut seen = vec![false; bscore.len()];
    let mut chosen = vec![false; bscore.len()];
    let mut touched: Vec<u32> = Vec::new();
    let mut j0 = 0;
    while j0 < cols {
        let j1 = (j0 + chunk).min(cols);
        if adaptive {
            if let Some((n, mm)) = p.nm {
                for r in 0..rows {
                    let u = &us[v.group(r)];
                    let mut g: Vec<(f64, usize)> = (j0..j1)
                        .map(|c| {
                            let d = u[c * cols + c];
                            (wm[r * cols + c].powi(2) / (d * d), c)
                        })
                        .collect();
                    g.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
                    for &(_, c) in g.iter().take(mm - n) {
                        dead[r * cols + c] = true;
                    }
                }
            } else if target > 0 {
                touched.clear();
                for r in 0..rows {
                    let u = &us[v.group(r)];
                    for c in j0..j1 {
                        let b = ids[v.flat(r, c)] as usize;
                        if !seen[b] {
                            seen[b] = true;
                            bscore[b] = 0.0;
                            touched.push(b as u32);
                        }
                        let d = u[c * cols + c];
                        bscore[b] += wm[r * cols + c].powi(2) / (d * d);
                    }
                }
                let want = ((target as f64) * j1 as f64 / cols as f64).round() as usize;
                let k = want.saturating_sub(zeroed_blocks).min(touched.len());
                if k > 0 {
                    touched.sort_by(|&a, &b| {
                        bscore[a as usize].partial_cmp(&bscore[b as usize]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b))
                    });
                    for &b in &touched[..k] {
                        chosen[b as usize] = true;
                    }
                    for r in 0..rows {
                        for c in j0..j1 {
                            if chosen[ids[v.flat(r, c)] as usize] {
                                dead[r * cols + c] = true;
                            }
                        }
                    }
                    zeroed_blocks += k;
                }
            }
        }
        // OBS updates column by column.
        for c in j0..j1 {
            for r in 0..rows {
                if !dead[r * cols + c] {
                    continue;
                }
                let u = &us[v.group(r)];
                let d = u[c * cols + c];
                let row = &mut wm[r * cols..(r + 1) * cols];
                let err = row[c] / d;
                row[c] = 0.0;
                if err != 0.0 {
                    let urow = &u[c * cols..(c + 1) * cols];
                    for (x, &uv) in row[c + 1..].iter_mut().zip(&urow[c + 1..]) {
                        *x -= err * uv;
                    }
                }
            }
        }
        j0 = j1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse() {
        assert_eq!(Pattern::parse("2:4").unwrap(), Pattern::NM { n: 2, m: 4 });
        assert_eq!(Pattern::parse("block:1x4").unwrap(), Pattern::Block { rows: 1, cols: 4 });
        assert_eq!(Pattern::parse("unstructured").unwrap(), Pattern::Unstructured);
        assert!(Pattern::parse("3:2").unwrap_err().contains("1..M"));
        assert!(Pattern::parse("block:4").is_err());
        assert!(Pattern::parse("blocky").is_err());
    }

    #[test]
    fn cholesky_factor_of_inverse() {
        let h = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0];
        let u = inverse_cholesky_upper(&h, 3, 1e-12).unwrap();
        // UᵀU · H = I
        let mut hinv = [0f64; 9];
        for i in 0..3 {
            for j in 0..3 {
                hinv[i * 3 + j] = (0..3).map(|k| u[k * 3 + i] * u[k * 3 + j]).sum();
            }
        }
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| hinv[i * 3 + k] * h[k * 3 + j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-6, "{v}");
            }
        }
        for i in 0..3 {
            for j in 0..i {
                assert_eq!(u[i * 3 + j], 0.0);
            }
        }
    }

    #[test]
    fn obs_lowers_the_layer_error_below_magnitude() {
        // Correlated inputs with an offset, 6 outputs x 8 inputs.
        let (rows, cols, n) = (6usize, 8usize, 256usize);
        let mut s = 7u64;
        let mut rnd = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0
        };
        let mut x = vec![0f64; n * cols];
        for i in 0..n {
            let mut prev = rnd();
            for j in 0..cols {
                let u = rnd();
                x[i * cols + j] = 0.5 + u + 0.9 * prev;
                prev = u;
            }
        }
        let w: Vec<f32> = (0..rows * cols).map(|i| ((i * 37 + 11) % 23) as f32 / 11.0 - 1.0).collect();
        let mut h = vec![0f64; cols * cols];
        for i in 0..n {
            for a in 0..cols {
                for b in 0..cols {
                    h[a * cols + b] += x[i * cols + a] * x[i * cols + b];
                }
            }
        }
        let view = View { rows, cols, rs: cols, cs: 1, groups: 1, rows_per_group: rows, in_axis_inner: true };
        let m = Moments { view, h: vec![h], rows_seen: n as f64, diag_only: false };
        let ids: Vec<u32> = (0..(rows * cols) as u32).collect();
        let plan = Plan { target: 0, sparsity: 0.5, block: (1, 1), nm: None, global: false, count: rows * cols / 2 };
        let err = |wn: &[f32]| -> f64 {
            let mut e = 0.0;
            for i in 0..n {
                for r in 0..rows {
                    let d: f64 = (0..cols).map(|c| (w[r * cols + c] - wn[r * cols + c]) as f64 * x[i * cols + c]).sum();
                    e += d * d;
                }
            }
            e
        };
        let mut mag = w.clone();
        magnitude_prune(&mut mag, &ids, rows * cols, &plan);
        let mut obs = w.clone();
        obs_prune(&mut obs, &m, &ids, rows * cols, &plan, 0.01).unwrap();
        assert_eq!(obs.iter().filter(|&&v| v == 0.0).count(), 24);
        assert!(err(&obs) < 0.8 * err(&mag), "obs {} vs magnitude {}", err(&obs), err(&mag));
    }

    #[test]
    fn blocks_of_a_conv_filter() {
        // [2 out, 1, 1, 4 in], blocks 1x2 along the last axis.
        let (ids, nb) = block_ids(&[2, 1, 1, 4], 0, 1, 3, 2);
        assert_eq!(nb, 4);
        assert_eq!(ids, vec![0, 0, 1, 1, 2, 2, 3, 3]);
        let (ids, nb) = block_ids(&[2, 4], 0, 2, 1, 2);
        assert_eq!(nb, 2);
        assert_eq!(ids, vec![0, 0, 1, 1, 0, 0, 1, 1]);
    }
}
