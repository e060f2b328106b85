//! The optimization report: sizes (raw and gzip -9), a per-layer table
//! (weight dtype, elements, scales, sparsity, distinct values, fidelity of
//! the layer's output) and model-level fidelity against the float model.
//!
//! Fidelity is measured by simulation in the float engine: the optimized
//! file's weights are dequantized back to float and its activation
//! quantization is applied to every tensor (fake-quant); dynamic-range
//! inputs are quantized per run as the hybrid kernels do. The report says
//! so in `fidelity.method`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::engine::{Data, Engine, Value};
use crate::error::Result;
use crate::inspect::gzip_size;
use crate::ir::{DType, Model, OpKind, BuiltinOp, Tensor, TensorId};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sizes {
    pub bytes: usize,
    pub gzip_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LayerReport {
    pub index: usize,
    pub op: String,
    pub output: String,
    pub weight: Option<String>,
    pub weight_shape: Vec<i32>,
    pub weight_dtype_before: Option<String>,
    pub weight_dtype: Option<String>,
    pub elements: usize,
    pub scale_min: Option<f32>,
    pub scale_max: Option<f32>,
    pub per_channel: bool,
    /// Fraction of weight values that are exactly zero.
    pub sparsity: f64,
    /// Distinct weight values (stored values: int8 codes or floats).
    pub unique_values: usize,
    /// Output activation dtype in the optimized model.
    pub activation_dtype: Option<String>,
    pub sqnr_db: Option<f64>,
    pub cosine: Option<f64>,
    /// Stored bytes of the weight tensor (values plus sparse indices) and
    /// their gzip -9 size, before and after.
    pub weight_bytes_before: Option<usize>,
    pub weight_gzip_before: Option<usize>,
    pub weight_bytes: Option<usize>,
    pub weight_gzip: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fidelity {
    pub method: String,
    pub samples: usize,
    pub output_sqnr_db: f64,
    pub output_cosine: f64,
    /// Fraction of samples whose argmax of output 0 agrees (classifiers).
    pub top1_agreement: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub input: Sizes,
    pub output: Sizes,
    pub layers: Vec<LayerReport>,
    pub fidelity: Option<Fidelity>,
    /// Ops that stayed float, with the reason.
    pub float_ops: Vec<String>,
    pub phases_ms: BTreeMap<String, f64>,
    pub warnings: Vec<String>,
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Float values of a constant tensor (dequantized if quantized).
pub fn dequantized(model: &Model, t: &Tensor) -> Option<Vec<f32>> {
    let data = &model.buffers.get(t.buffer)?.data;
    if data.is_empty() || t.sparsity.is_some() {
        return None;
    }
    let n = t.num_elements();
    let q = t.quant.as_ref().filter(|q| q.is_quantized());
    let raw: Vec<f64> = match t.dtype {
        DType::F32 => return (data.len() == n * 4).then(|| f32s(data)),
        DType::F16 => {
            return (data.len() == n * 2).then(|| {
                data.chunks_exact(2).map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32()).collect()
            })
        }
        DType::I8 if data.len() == n => data.iter().map(|&b| b as i8 as f64).collect(),
        DType::U8 if data.len() == n => data.iter().map(|&b| b as f64).collect(),
        DType::I16 if data.len() == n * 2 => data.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as f64).collect(),
        DType::I32 if data.len() == n * 4 => {
            data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect()
        }
        DType::I64 if data.len() == n * 8 => {
            data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64).collect()
        }
        _ => return None,
    };
    let q = q?;
    let axis = q.quantized_dimension.max(0) as usize;
    let channels = q.scale.len().max(1);
    let inner: usize = if channels > 1 {
        t.inner_size(axis).max(1)
    } else {
        n.max(1)
    };
    Some(
        raw.iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = if channels > 1 { (i / inner) % channels } else { 0 };
                let zp = q.zero_point.get(c).or(q.zero_point.first()).copied().unwrap_or(0) as f64;
                ((v - zp) * q.scale[c.min(q.scale.len() - 1)] as f64) as f32
            })
            .collect(),
    )
}

fn raw_values(model: &Model, t: &Tensor) -> Vec<u64> {
    let data = model.buffers.get(t.buffer).map(|b| b.data.as_slice()).unwrap_or(&[]);
    let w = t.dtype.size().max(1);
    data.chunks_exact(w)
        .map(|c| {
            let mut a = [0u8; 8];
            a[..w.min(8)].copy_from_slice(&c[..w.min(8)]);
            u64::from_le_bytes(a)
        })
        .collect()
}

/// Activation quantization found in the optimized model for a float tensor.
#[derive(Clone, Copy)]
enum ActQ {
    Static { scale: f32, zp: i64, qmin: i64, qmax: i64 },
    /// Hybrid kernels quantize this input per run, asymmetric int8.
    Dynamic,
}

fn fake_quant(v: &mut Value, q: ActQ) {
    let Data::F32(x) = &mut v.data else { return };
    let (scale, zp, qmin, qmax) = match q {
        ActQ::Static { scale, zp, qmin, qmax } => (scale, zp, qmin, qmax),
        ActQ::Dynamic => {
            let lo = x.iter().cloned().fold(0f32, f32::min);
            let hi = x.iter().cloned().fold(0f32, f32::max);
            let s = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
            (s, (-128.0 - lo / s).round() as i64, -128, 127)
        }
    };
    for f in x.iter_mut() {
        let q = ((*f / scale).round() as i64 + zp).clamp(qmin, qmax);
        *f = (q - zp) as f32 * scale;
    }
}

fn base_name(n: &str) -> &str {
    for suf in ["_int8", "_int16", "_fp16", "_quant", "_float"] {
        if let Some(s) = n.strip_suffix(suf) {
            return s;
        }
    }
    n
}

/// Build the simulation of `optimized` on the graph of `original`.
fn simulation(original: &Model, optimized: &Model) -> (Model, HashMap<TensorId, ActQ>) {
    let mut sim = original.clone();
    let osg = &optimized.subgraphs[0];
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in osg.tensors.iter().enumerate() {
        by_name.entry(base_name(&t.name)).or_default().push(i);
    }
    let mut acts = HashMap::new();
    // Inputs of hybrid ops (float activation with int8 weights).
    let mut hybrid_inputs = std::collections::HashSet::new();
    for op in &osg.ops {
        let weights_int8 = op.inputs.iter().flatten().any(|&t| {
            osg.tensors[t].dtype == DType::I8 && optimized.is_constant(0, t)
        });
        if weights_int8 {
            if let Some(a) = op.input(if op.kind == OpKind::Builtin(BuiltinOp::TRANSPOSE_CONV) { 2 } else { 0 }) {
                if osg.tensors[a].dtype == DType::F32 && !optimized.is_constant(0, a) {
                    hybrid_inputs.insert(osg.tensors[a].name.clone());
                }
            }
        }
    }
    let n = sim.subgraphs[0].tensors.len();
    for ti in 0..n {
        let t = sim.subgraphs[0].tensors[ti].clone();
        if t.dtype != DType::F32 {
            continue;
        }
        let Some(cands) = by_name.get(t.name.as_str()) else { continue };
        if sim.is_constant(0, ti) {
            // A constant: take the optimized file's stored values.
            for &c in cands {
                let ot = &osg.tensors[c];
                if optimized.is_constant(0, c) {
                    if let Some(vals) = dequantized(optimized, ot) {
                        if vals.len() == t.num_elements() {
                            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
                            let b = sim.add_buffer(bytes);
                            sim.subgraphs[0].tensors[ti].buffer = b;
                            break;
                        }
                    }
                }
            }
        } else {
            for &c in cands {
                let ot = &osg.tensors[c];
                if let Some(q) = ot.quant.as_ref().filter(|q| q.is_quantized()) {
                    let (qmin, qmax) = match ot.dtype {
                        DType::I8 => (-128, 127),
                        DType::U8 => (0, 255),
                        DType::I16 => (-32767, 32767),
                        _ => continue,
                    };
                    acts.insert(ti, ActQ::Static { scale: q.scale[0], zp: q.zero_point.first().copied().unwrap_or(0), qmin, qmax });
                    break;
                }
            }
            if !acts.contains_key(&ti) && hybrid_inputs.contains(&t.name) {
                acts.insert(ti, ActQ::Dynamic);
            }
        }
    }
    (sim, acts)
}

struct Acc {
    sig: f64,
    noise: f64,
    dot: f64,
    ss: f64,
}

impl Acc {
    fn new() -> Self {
        Acc { sig: 0.0, noise: 0.0, dot: 0.0, ss: 0.0 }
    }
    fn add(&mut self, r: &[f32], s: &[f32]) {
        for (&a, &b) in r.iter().zip(s) {
            let (a, b) = (a as f64, b as f64);
            self.sig += a * a;
            self.noise += (a - b) * (a - b);
            self.dot += a * b;
            self.ss += b * b;
        }
    }
    fn sqnr(&self) -> f64 {
        if self.noise == 0.0 {
            return 200.0;
        }
        10.0 * (self.sig / self.noise).log10()
    }
    fn cosine(&self) -> f64 {
        let d = (self.sig * self.ss).sqrt();
        if d == 0.0 {
            1.0
        } else {
            self.dot / d
        }
    }
}

/// Model-output fidelity over the samples: SQNR / cosine of output 0 and
/// top-1 agreement (for classifier-like outputs).
struct OutputTally {
    acc: Acc,
    agree: usize,
    classifier: bool,
}

impl OutputTally {
    fn new() -> Self {
        OutputTally { acc: Acc::new(), agree: 0, classifier: true }
    }

    fn add(&mut self, reference: &[f32], got: &[f32]) {
        self.acc.add(reference, got);
        let argmax = |x: &[f32]| x.iter().enumerate().fold((0, f32::MIN), |m, (i, &v)| if v > m.1 { (i, v) } else { m }).0;
        if reference.len() > 1 && reference.len() <= 100_000 {
            self.agree += (argmax(reference) == argmax(got)) as usize;
        } else {
            self.classifier = false;
        }
    }

    /// Write the per-layer and model fidelity into the report.
    fn finish(self, report: &mut Report, layers: &[Acc], method: &str, samples: usize) {
        for (l, a) in report.layers.iter_mut().zip(layers) {
            if a.sig > 0.0 || a.noise > 0.0 {
                l.sqnr_db = Some(a.sqnr());
                l.cosine = Some(a.cosine());
            }
        }
        report.fidelity = Some(Fidelity {
            method: method.into(),
            samples,
            output_sqnr_db: self.acc.sqnr(),
            output_cosine: self.acc.cosine(),
            top1_agreement: self.classifier.then(|| self.agree as f64 / samples as f64),
        });
    }
}

/// Build the report. `samples` are calibration inputs (up to `max_samples`
/// are used for fidelity).
pub fn build(
    original: &Model,
    original_bytes: &[u8],
    optimized: &Model,
    optimized_bytes: &[u8],
    samples: &[Vec<Value>],
    max_samples: usize,
) -> Result<Report> {
    let mut warnings = Vec::new();
    // Sparse-format weights are read through their DENSIFY (sizes use the real bytes).
    let view = crate::passes::sparse::densified(optimized)?;
    let optimized = &view;
    let mut layers = layer_table(original, optimized);
    add_weight_bytes(&mut layers, original, optimized_bytes_model(optimized_bytes).as_ref().unwrap_or(optimized));
    let mut report = Report {
        input: Sizes { bytes: original_bytes.len(), gzip_bytes: gzip_size(original_bytes) },
        output: Sizes { bytes: optimized_bytes.len(), gzip_bytes: gzip_size(optimized_bytes) },
        layers,
        fidelity: None,
        float_ops: Vec::new(),
        phases_ms: BTreeMap::new(),
        warnings: Vec::new(),
    };
    let samples = &samples[..samples.len().min(max_samples)];
    if samples.is_empty() {
        warnings.push("no calibration/evaluation samples: fidelity not measured".into());
        report.warnings = warnings;
        return Ok(report);
    }
    // Preferred: run the optimized model itself (the int8 engine's kernels are
    // bit-exact with LiteRT's reference kernels). Otherwise simulate.
    if let (Ok(mut ref_engine), Ok(mut opt_engine)) = (Engine::new(original), Engine::new(optimized)) {
        measure_direct(&mut report, original, optimized, &mut ref_engine, &mut opt_engine, samples)?;
        report.warnings = warnings;
        return Ok(report);
    }
    let (sim, acts) = simulation(original, optimized);
    let (mut ref_engine, mut sim_engine) = match (Engine::new(original), Engine::new(&sim)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            warnings.push(format!("fidelity not measured: {e}"));
            report.warnings = warnings;
            return Ok(report);
        }
    };
    let sg = &original.subgraphs[0];
    // Layer outputs to compare (bounded memory).
    let mut watch: HashMap<TensorId, usize> = HashMap::new();
    let mut budget = 16usize << 20;
    for (li, l) in report.layers.iter().enumerate() {
        if let Some(t) = sg.tensors.iter().position(|t| t.name == l.output) {
            let n = sg.tensors[t].num_elements();
            if n <= budget {
                budget -= n;
                watch.insert(t, li);
            }
        }
    }
    let mut layer_acc: Vec<Acc> = report.layers.iter().map(|_| Acc::new()).collect();
    let mut out = OutputTally::new();
    for s in samples {
        let mut captured: HashMap<TensorId, Vec<f32>> = HashMap::new();
        let r = ref_engine.run_observed(s.clone(), &mut |t, v| {
            if watch.contains_key(&t) {
                if let Some(x) = v.as_f32() {
                    captured.insert(t, x.to_vec());
                }
            }
        })?;
        let y = sim_engine.run_hooked(s.clone(), &mut |t, v| {
            if let Some(&q) = acts.get(&t) {
                fake_quant(v, q);
            }
            if let (Some(&li), Some(r)) = (watch.get(&t), captured.get(&t)) {
                if let Some(x) = v.as_f32() {
                    layer_acc[li].add(r, x);
                }
            }
        })?;
        if let (Some(a), Some(b)) = (r.first().and_then(|v| v.as_f32()), y.first().and_then(|v| v.as_f32())) {
            out.add(a, b);
        }
    }
    out.finish(
        &mut report,
        &layer_acc,
        "simulated: the optimized weights dequantized and its activation quantization applied (fake-quant) in the float engine",
        samples.len(),
    );
    report.warnings = warnings;
    Ok(report)
}

/// One row per op of the optimized model that reads a constant weight
/// (QUANTIZE / DEQUANTIZE excluded; float16 weights are followed through
/// their DEQUANTIZE).
fn layer_table(original: &Model, optimized: &Model) -> Vec<LayerReport> {
    let sg = &optimized.subgraphs[0];
    let osg = &original.subgraphs[0];
    let mut rows = Vec::new();
    for op in sg.ops.iter() {
        let Some(b) = op.kind.builtin() else { continue };
        if b == BuiltinOp::QUANTIZE || b == BuiltinOp::DEQUANTIZE {
            continue;
        }
        let resolve = |t: TensorId| -> Option<TensorId> {
            if optimized.is_constant(0, t) {
                return Some(t);
            }
            let p = sg.producer(t)?;
            let pop = &sg.ops[p];
            (pop.kind == OpKind::Builtin(BuiltinOp::DEQUANTIZE))
                .then(|| pop.input(0))
                .flatten()
                .filter(|&s| optimized.is_constant(0, s))
        };
        let weight = op
            .inputs
            .iter()
            .flatten()
            .filter_map(|&t| resolve(t))
            .filter(|&t| matches!(sg.tensors[t].dtype, DType::F32 | DType::F16 | DType::I8 | DType::U8 | DType::I16 | DType::I4))
            .max_by_key(|&t| sg.tensors[t].num_elements());
        let Some(w) = weight else { continue };
        let wt = &sg.tensors[w];
        if wt.num_elements() < 2 {
            continue;
        }
        let vals = raw_values(optimized, wt);
        let zero_code = match (&wt.quant, wt.dtype) {
            (Some(q), DType::I8 | DType::U8 | DType::I16) if q.is_quantized() && q.zero_point.iter().all(|&z| z == q.zero_point[0]) => {
                q.zero_point[0] as u64 & if wt.dtype == DType::I16 { 0xFFFF } else { 0xFF }
            }
            _ => 0,
        };
        let zeros = match wt.dtype {
            DType::F32 => f32s(&optimized.buffers[wt.buffer].data).iter().filter(|&&x| x == 0.0).count(),
            DType::F16 => vals.iter().filter(|&&v| v & 0x7FFF == 0).count(),
            _ => vals.iter().filter(|&&v| v == zero_code).count(),
        };
        let mut uniq = vals.clone();
        uniq.sort_unstable();
        uniq.dedup();
        let q = wt.quant.as_ref().filter(|q| q.is_quantized());
        let out = op.outputs.first().map(|&o| sg.tensors[o].clone());
        let out_name = out.as_ref().map(|t| base_name(&t.name).to_string()).unwrap_or_default();
        let before = osg
            .tensors
            .iter()
            .find(|t| t.name == base_name(&wt.name))
            .map(|t| t.dtype.name().to_string());
        let index = osg.ops.iter().position(|o| o.outputs.iter().any(|&t| osg.tensors[t].name == out_name)).unwrap_or(usize::MAX);
        rows.push(LayerReport {
            index,
            op: op.kind.name(),
            output: out_name,
            weight: Some(base_name(&wt.name).to_string()),
            weight_shape: wt.shape.clone(),
            weight_dtype_before: before,
            weight_dtype: Some(wt.dtype.name().to_string()),
            elements: wt.num_elements(),
            scale_min: q.map(|q| q.scale.iter().cloned().fold(f32::INFINITY, f32::min)),
            scale_max: q.map(|q| q.scale.iter().cloned().fold(0f32, f32::max)),
            per_channel: q.is_some_and(|q| q.scale.len() > 1),
            sparsity: if vals.is_empty() { 0.0 } else { zeros as f64 / vals.len() as f64 },
            unique_values: uniq.len(),
            activation_dtype: out.map(|t| t.dtype.name().to_string()),
            sqnr_db: None,
            cosine: None,
            weight_bytes_before: None,
            weight_gzip_before: None,
            weight_bytes: None,
            weight_gzip: None,
        });
    }
    rows
}

/// The optimized model as written (sparse weights still encoded), for sizes.
fn optimized_bytes_model(bytes: &[u8]) -> Option<Model> {
    crate::formats::tflite::read(bytes).ok()
}

/// Fill the per-tensor stored bytes (raw and gzip) before and after, by
/// weight name (a sparse tensor counts its values and index vectors).
fn add_weight_bytes(layers: &mut [LayerReport], original: &Model, stored: &Model) {
    let find = |m: &Model, name: &str| -> Option<TensorId> {
        let sg = &m.subgraphs[0];
        let named: Vec<TensorId> = (0..sg.tensors.len()).filter(|&t| base_name(&sg.tensors[t].name) == name).collect();
        named.iter().copied().find(|&t| m.is_constant(0, t)).or(named.first().copied())
    };
    for l in layers.iter_mut() {
        let Some(w) = l.weight.clone() else { continue };
        if let Some(b) = find(original, &w).and_then(|t| crate::passes::sparse::stored_weight_bytes(original, t)) {
            l.weight_bytes_before = Some(b.len());
            l.weight_gzip_before = Some(gzip_size(&b));
        }
        if let Some(b) = find(stored, &w).and_then(|t| crate::passes::sparse::stored_weight_bytes(stored, t)) {
            l.weight_bytes = Some(b.len());
            l.weight_gzip = Some(gzip_size(&b));
        }
    }
}

/// Float view of a value of tensor `t` (dequantized when it is quantized).
fn as_float(v: &Value, t: &Tensor) -> Option<Vec<f32>> {
    let q = t.quant.as_ref().filter(|q| q.is_quantized());
    let (s, z) = q.map(|q| (q.scale[0], q.zero_point.first().copied().unwrap_or(0) as f32)).unwrap_or((1.0, 0.0));
    match &v.data {
        Data::F32(x) => Some(x.clone()),
        Data::I8(x) if q.is_some() => Some(x.iter().map(|&a| (a as f32 - z) * s).collect()),
        Data::U8(x) if q.is_some() => Some(x.iter().map(|&a| (a as f32 - z) * s).collect()),
        Data::I16(x) if q.is_some() => Some(x.iter().map(|&a| (a as f32 - z) * s).collect()),
        _ => None,
    }
}

/// Quantize float sample inputs for a model whose inputs are integer.
fn to_model_inputs(sample: &[Value], model: &Model) -> Vec<Value> {
    let sg = &model.subgraphs[0];
    sample
        .iter()
        .zip(&sg.inputs)
        .map(|(v, &t)| {
            let tensor = &sg.tensors[t];
            let (Some(q), Some(x)) = (tensor.quant.as_ref().filter(|q| q.is_quantized()), v.as_f32()) else {
                return v.clone();
            };
            let (s, z) = (q.scale[0], q.zero_point.first().copied().unwrap_or(0));
            let quant = |lo: i64, hi: i64| x.iter().map(move |&f| ((f / s).round() as i64 + z).clamp(lo, hi));
            let data = match tensor.dtype {
                DType::I8 => Data::I8(quant(-128, 127).map(|a| a as i8).collect()),
                DType::U8 => Data::U8(quant(0, 255).map(|a| a as u8).collect()),
                DType::I16 => Data::I16(quant(-32768, 32767).map(|a| a as i16).collect()),
                _ => return v.clone(),
            };
            Value { shape: v.shape.clone(), data }
        })
        .collect()
}

/// Fidelity from running the optimized model itself next to the float one.
fn measure_direct(
    report: &mut Report,
    original: &Model,
    optimized: &Model,
    ref_engine: &mut Engine,
    opt_engine: &mut Engine,
    samples: &[Vec<Value>],
) -> Result<()> {
    let sg = &original.subgraphs[0];
    let osg = &optimized.subgraphs[0];
    // Layer outputs to compare, by name, with a memory budget.
    let mut ref_watch: HashMap<TensorId, usize> = HashMap::new();
    let mut opt_watch: HashMap<TensorId, usize> = HashMap::new();
    let mut budget = 16usize << 20;
    for (li, l) in report.layers.iter().enumerate() {
        let (Some(rt), Some(ot)) = (
            sg.tensors.iter().position(|t| t.name == l.output),
            (0..osg.tensors.len()).find(|&i| base_name(&osg.tensors[i].name) == l.output && !optimized.is_constant(0, i)),
        ) else {
            continue;
        };
        // Prefer the integer (pre-DEQUANTIZE) tensor of a graph output.
        let ot = osg
            .tensors
            .iter()
            .enumerate()
            .filter(|(_, t)| base_name(&t.name) == l.output)
            .map(|(i, _)| i)
            .find(|&i| osg.producer(i).is_some_and(|p| osg.ops[p].kind.builtin() != Some(BuiltinOp::DEQUANTIZE)))
            .unwrap_or(ot);
        let n = sg.tensors[rt].num_elements();
        if n <= budget {
            budget -= n;
            ref_watch.insert(rt, li);
            opt_watch.insert(ot, li);
        }
    }
    let mut layer_acc: Vec<Acc> = report.layers.iter().map(|_| Acc::new()).collect();
    let mut out = OutputTally::new();
    for s in samples {
        let mut captured: HashMap<usize, Vec<f32>> = HashMap::new();
        let r = ref_engine.run_observed(s.clone(), &mut |t, v| {
            if let (Some(&li), Some(x)) = (ref_watch.get(&t), v.as_f32()) {
                captured.insert(li, x.to_vec());
            }
        })?;
        let y = opt_engine.run_observed(to_model_inputs(s, optimized), &mut |t, v| {
            if let (Some(&li), Some(x)) = (opt_watch.get(&t), as_float(v, &osg.tensors[t])) {
                if let Some(r) = captured.get(&li) {
                    if r.len() == x.len() {
                        layer_acc[li].add(r, &x);
                    }
                }
            }
        })?;
        let a = r.first().and_then(|v| v.as_f32()).map(|x| x.to_vec());
        let b = y.first().and_then(|v| as_float(v, &osg.tensors[osg.outputs[0]]));
        if let (Some(a), Some(b)) = (a, b) {
            out.add(&a, &b);
        }
    }
    out.finish(
        report,
        &layer_acc,
        "measured: the optimized model run by the modelpress engine (integer kernels bit-exact with LiteRT's reference kernels) next to the float model",
        samples.len(),
    );
    Ok(())
}
