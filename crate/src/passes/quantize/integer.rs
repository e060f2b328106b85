//! Full-integer quantization (int8, and 16x8) following the TFLite spec:
//! activations asymmetric int8 per tensor (16x8: symmetric int16), weights
//! symmetric int8 per channel in [-127, 127], bias int32 (16x8: int64) at
//! input_scale * weight_scale, fixed output ranges for SOFTMAX / LOGISTIC /
//! TANH / LOG_SOFTMAX, shared input/output parameters where the kernels
//! require them. Ops without an integer path stay float between
//! DEQUANTIZE / QUANTIZE ops.

use std::collections::HashMap;

use super::weights::{quantize_symmetric, round_away};
use super::{IoType, QuantizeConfig};
use crate::error::{Error, Result};
use crate::ir::{BuiltinOp, DType, Model, Op, OpKind, QuantParams, Tensor, TensorId};
use crate::passes::calibrate::{CalibConfig, Stats};

/// Activation precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Int8,
    Int16,
}

impl Act {
    fn dtype(self) -> DType {
        match self {
            Act::Int8 => DType::I8,
            Act::Int16 => DType::I16,
        }
    }
    fn levels(self) -> usize {
        match self {
            Act::Int8 => 256,
            Act::Int16 => 65535,
        }
    }
}

/// What happened to each op.
#[derive(Debug, Clone, Default)]
pub struct IntegerSummary {
    pub quantized_ops: usize,
    /// Ops left float: "node N: OP (reason)".
    pub float_ops: Vec<String>,
    pub quantize_ops_added: usize,
    pub dequantize_ops_added: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Rule {
    /// Output parameters from calibration.
    Free,
    /// Output shares the (first) input's parameters.
    SharedIn,
    /// All inputs and the output share parameters (inputs requantized).
    SharedAll,
    /// Fixed output parameters (scale, zero point) for int8 / int16.
    Fixed(f32, i64, f32, i64),
}

/// (weight slot, weight axis, bias slot) of ops with weights.
fn weight_slots(b: BuiltinOp) -> Option<(usize, Option<usize>, Option<usize>)> {
    Some(match b {
        BuiltinOp::CONV_2D => (1, Some(0), Some(2)),
        BuiltinOp::DEPTHWISE_CONV_2D => (1, Some(3), Some(2)),
        BuiltinOp::FULLY_CONNECTED => (1, Some(0), Some(2)),
        BuiltinOp::TRANSPOSE_CONV => (1, Some(0), Some(3)),
        _ => return None,
    })
}

fn rule(b: BuiltinOp, act: Act) -> Option<Rule> {
    use BuiltinOp as B;
    let int8_only = matches!(act, Act::Int8);
    Some(match b {
        B::CONV_2D | B::DEPTHWISE_CONV_2D | B::FULLY_CONNECTED | B::TRANSPOSE_CONV => Rule::Free,
        B::ADD | B::SUB | B::MUL | B::MEAN | B::RELU | B::RELU6 | B::LEAKY_RELU => Rule::Free,
        B::BATCH_MATMUL | B::SUM | B::HARD_SWISH | B::PRELU | B::RELU_N1_TO_1 | B::SQUARED_DIFFERENCE
            if int8_only =>
        {
            Rule::Free
        }
        B::SOFTMAX | B::LOGISTIC => Rule::Fixed(1.0 / 256.0, -128, 1.0 / 32768.0, 0),
        B::TANH => Rule::Fixed(1.0 / 128.0, 0, 1.0 / 32768.0, 0),
        B::LOG_SOFTMAX if int8_only => Rule::Fixed(16.0 / 256.0, 127, 0.0, 0),
        B::AVERAGE_POOL_2D | B::MAX_POOL_2D | B::RESHAPE | B::SQUEEZE | B::TRANSPOSE | B::STRIDED_SLICE | B::PAD => {
            Rule::SharedIn
        }
        B::EXPAND_DIMS
        | B::SLICE
        | B::GATHER
        | B::SPLIT
        | B::SPLIT_V
        | B::UNPACK
        | B::DEPTH_TO_SPACE
        | B::SPACE_TO_DEPTH
        | B::PADV2
        | B::RESIZE_BILINEAR
        | B::RESIZE_NEAREST_NEIGHBOR
        | B::REDUCE_MAX
        | B::REDUCE_MIN
            if int8_only =>
        {
            Rule::SharedIn
        }
        B::CONCATENATION => Rule::SharedAll,
        B::MAXIMUM | B::MINIMUM | B::PACK if int8_only => Rule::SharedAll,
        _ => return None,
    })
}

/// Op version for integer kernels, as the converter writes them. LiteRT's
/// kernels dispatch on tensor types, so ops not listed keep their version
/// (which the runtime registers, since the float model loaded).
fn int_version(b: BuiltinOp, act: Act, orig: i32) -> i32 {
    use BuiltinOp as B;
    let v = match (b, act) {
        (B::CONV_2D | B::DEPTHWISE_CONV_2D, Act::Int8) => 3,
        (B::FULLY_CONNECTED, Act::Int8) => 4,
        (B::AVERAGE_POOL_2D | B::MAX_POOL_2D | B::SOFTMAX | B::LOGISTIC | B::TANH, Act::Int8) => 2,
        (B::ADD | B::SUB | B::MUL | B::CONCATENATION | B::MEAN | B::PAD | B::TRANSPOSE_CONV, Act::Int8) => 2,
        (B::CONV_2D, Act::Int16) => 4,
        (B::DEPTHWISE_CONV_2D, Act::Int16) => 5,
        (B::FULLY_CONNECTED, Act::Int16) => 7,
        (B::ADD | B::SUB | B::CONCATENATION | B::SOFTMAX | B::LOGISTIC | B::TANH, Act::Int16) => 3,
        _ => orig,
    };
    v.max(orig)
}

fn act_params(lo: f32, hi: f32, act: Act) -> (f32, i64) {
    match act {
        Act::Int8 => {
            let (lo, hi) = (lo.min(0.0), hi.max(0.0));
            let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 / 255.0 };
            let zp = round_away(-128.0 - lo / scale).clamp(-128.0, 127.0) as i64;
            (scale, zp)
        }
        Act::Int16 => {
            let m = lo.abs().max(hi.abs());
            (if m > 0.0 { m / 32767.0 } else { 1.0 / 32767.0 }, 0)
        }
    }
}

fn qp(scale: f32, zp: i64) -> QuantParams {
    QuantParams::per_tensor(scale, zp)
}

fn is_float_activation(model: &Model, t: TensorId) -> bool {
    let tensor = &model.subgraphs[0].tensors[t];
    tensor.dtype == DType::F32 && !model.is_constant(0, t)
}

/// Quantize subgraph 0 to integer activations.
pub fn quantize_integer(
    model: &mut Model,
    cfg: &QuantizeConfig,
    stats: &Stats,
    calib: &CalibConfig,
    act: Act,
) -> Result<IntegerSummary> {
    let mut summary = IntegerSummary::default();
    let n_orig_ops = model.subgraphs[0].ops.len();
    let sg0 = model.subgraphs[0].clone();

    // 1. Which ops get integer kernels.
    let mut quant_op = vec![false; n_orig_ops];
    for (oi, op) in sg0.ops.iter().enumerate() {
        let has_float_act = op.inputs.iter().flatten().chain(&op.outputs).any(|&t| is_float_activation(model, t));
        if !has_float_act {
            continue; // integer/shape ops: nothing to do
        }
        let reason = match &op.kind {
            OpKind::Custom(_) => Some("custom op".to_string()),
            OpKind::Builtin(b) => {
                if rule(*b, act).is_none() {
                    Some("no integer kernel".into())
                } else if cfg.skips(&sg0, op) {
                    Some("skipped by the recipe".into())
                } else if op.outputs.iter().any(|&t| sg0.tensors[t].dtype != DType::F32) {
                    Some("non-float output".into())
                } else if op
                    .inputs
                    .iter()
                    .flatten()
                    .any(|&t| is_float_activation(model, t) && stats.tensors[t].is_none())
                    || op.outputs.iter().any(|&t| stats.tensors[t].is_none())
                {
                    Some("no calibration statistics".into())
                } else {
                    None
                }
            }
        };
        match reason {
            None => quant_op[oi] = true,
            Some(r) => summary.float_ops.push(format!("node {oi}: {} ({r})", op.kind.name())),
        }
    }
    if cfg.int8_only && !summary.float_ops.is_empty() {
        return Err(Error::Unsupported(format!(
            "--int8-only: these ops have no integer path: {}",
            summary.float_ops.join("; ")
        )));
    }

    // 2. Activation parameters.
    let mut params: HashMap<TensorId, (f32, i64)> = HashMap::new();
    for (t, s) in stats.tensors.iter().enumerate() {
        if let Some(s) = s {
            let (lo, hi) = s.range(calib, act.levels());
            params.insert(t, act_params(lo, hi, act));
        }
    }
    for (oi, op) in sg0.ops.iter().enumerate() {
        if !quant_op[oi] {
            continue;
        }
        let b = op.kind.builtin().expect("quantized ops are builtins");
        match rule(b, act).expect("checked") {
            Rule::Fixed(s8, z8, s16, z16) => {
                let p = if act == Act::Int8 { (s8, z8) } else { (s16, z16) };
                for &o in &op.outputs {
                    params.insert(o, p);
                }
            }
            Rule::SharedIn => {
                // The data input (SPLIT takes the axis first).
                let data = if b == BuiltinOp::SPLIT { 1 } else { 0 };
                if let Some(p) = op.input(data).and_then(|i| params.get(&i).copied()) {
                    for &o in &op.outputs {
                        params.insert(o, p);
                    }
                }
            }
            _ => {}
        }
    }

    // 3. Rewrite.
    let sg = &mut model.subgraphs[0];
    let graph_inputs = sg.inputs.clone();
    let graph_outputs = sg.outputs.clone();
    let mut int_of: HashMap<TensorId, TensorId> = HashMap::new(); // float tensor -> its integer version
    let mut float_of: HashMap<TensorId, TensorId> = HashMap::new(); // integer tensor -> float version
    let mut is_int: Vec<bool> = vec![false; sg.tensors.len()];
    let mut new_ops: Vec<Op> = Vec::new();
    let mut new_buffers: Vec<Vec<u8>> = Vec::new();
    let buffer_base = model.buffers.len();
    let add_buffer = |bufs: &mut Vec<Vec<u8>>, data: Vec<u8>| -> usize {
        bufs.push(data);
        buffer_base + bufs.len() - 1
    };

    let io_int = cfg.io != IoType::Float;
    if io_int {
        for &t in &graph_inputs {
            if let Some(&(s, z)) = params.get(&t) {
                if sg.tensors[t].dtype == DType::F32 {
                    sg.tensors[t].dtype = act.dtype();
                    sg.tensors[t].quant = Some(qp(s, z));
                    is_int[t] = true;
                }
            }
        }
    }

    let mk_op = |kind: BuiltinOp, inp: TensorId, out: TensorId, version: i32| {
        let mut op = Op::new(OpKind::Builtin(kind), vec![Some(inp)], vec![out]);
        op.version = version;
        op
    };

    for (oi, &quantize) in quant_op.iter().enumerate().take(n_orig_ops) {
        let mut op = sg.ops[oi].clone();
        if quantize {
            let b = op.kind.builtin().expect("builtin");
            let r = rule(b, act).expect("checked");
            let wslots = weight_slots(b);
            // Inputs.
            let out_p = op.outputs.first().and_then(|o| params.get(o).copied());
            let mut in_scale = 1.0f32;
            // The activation input whose scale the bias scale is built on.
            let act_slot = if b == BuiltinOp::TRANSPOSE_CONV { 2 } else { 0 };
            for k in 0..op.inputs.len() {
                let Some(t) = op.inputs[k] else { continue };
                let is_weight = wslots.is_some_and(|(w, _, bias)| k == w || Some(k) == bias);
                if is_weight {
                    continue;
                }
                if sg.tensors[t].dtype == DType::F32 && model_is_const(&model.buffers, &sg.tensors[t]) {
                    // A float constant operand (e.g. of ADD/MUL/PRELU/PADV2).
                    let data = f32_data(&model.buffers[sg.tensors[t].buffer].data);
                    let (s, z) = match (r, out_p) {
                        (Rule::SharedAll | Rule::SharedIn, Some(p)) => p,
                        _ => {
                            let lo = data.iter().cloned().fold(0f32, f32::min);
                            let hi = data.iter().cloned().fold(0f32, f32::max);
                            act_params(lo, hi, act)
                        }
                    };
                    let bytes = quantize_act_bytes(&data, s, z, act);
                    let mut nt = sg.tensors[t].clone();
                    nt.name = format!("{}_quant", nt.name);
                    nt.dtype = act.dtype();
                    nt.quant = Some(qp(s, z));
                    nt.buffer = add_buffer(&mut new_buffers, bytes);
                    let id = sg.add_tensor(nt);
                    is_int.push(true);
                    op.inputs[k] = Some(id);
                    if k == act_slot {
                        in_scale = s;
                    }
                    continue;
                }
                if sg.tensors[t].dtype != DType::F32 && !is_int[t] {
                    continue; // int32 shapes, axes, indices
                }
                // An activation: use (or make) its integer version.
                let int_t = if is_int[t] {
                    t
                } else if let Some(&q) = int_of.get(&t) {
                    q
                } else {
                    let (s, z) = params[&t];
                    let mut nt = sg.tensors[t].clone();
                    nt.name = format!("{}_{}", nt.name, if act == Act::Int8 { "int8" } else { "int16" });
                    nt.dtype = act.dtype();
                    nt.quant = Some(qp(s, z));
                    nt.buffer = 0;
                    let id = sg.add_tensor(nt);
                    is_int.push(true);
                    new_ops.push(mk_op(BuiltinOp::QUANTIZE, t, id, if act == Act::Int8 { 1 } else { 3 }));
                    summary.quantize_ops_added += 1;
                    int_of.insert(t, id);
                    id
                };
                // Requantize inputs that must share the output's parameters.
                let int_t = match (r, out_p) {
                    (Rule::SharedAll, Some((s, z))) => {
                        let cur = sg.tensors[int_t].quant.as_ref().map(|q| (q.scale[0], q.zero_point[0]));
                        if cur == Some((s, z)) {
                            int_t
                        } else {
                            let mut nt = sg.tensors[int_t].clone();
                            nt.name = format!("{}_requant", nt.name);
                            nt.quant = Some(qp(s, z));
                            let id = sg.add_tensor(nt);
                            is_int.push(true);
                            new_ops.push(mk_op(BuiltinOp::QUANTIZE, int_t, id, 1));
                            summary.quantize_ops_added += 1;
                            id
                        }
                    }
                    _ => int_t,
                };
                if k == act_slot {
                    in_scale = sg.tensors[int_t].quant.as_ref().map(|q| q.scale[0]).unwrap_or(1.0);
                }
                op.inputs[k] = Some(int_t);
            }
            // Weights and bias.
            if let Some((w, axis, bias)) = wslots {
                if let Some(wt) = op.input(w) {
                    let tensor = sg.tensors[wt].clone();
                    if tensor.dtype != DType::F32 || !model_is_const(&model.buffers, &tensor) {
                        return Err(Error::Unsupported(format!(
                            "node {oi} ({}): weights are not a float32 constant",
                            op.kind.name()
                        )));
                    }
                    let data = f32_data(&model.buffers[tensor.buffer].data);
                    let shape: Vec<usize> = tensor.shape.iter().map(|&d| d.max(1) as usize).collect();
                    let axis = if cfg.per_channel { axis } else { None };
                    let q = quantize_symmetric(&data, &shape, axis, 127);
                    let mut nt = tensor.clone();
                    nt.dtype = DType::I8;
                    nt.quant = Some(QuantParams {
                        scale: q.scales.clone(),
                        zero_point: vec![0; q.scales.len()],
                        quantized_dimension: axis.unwrap_or(0) as i32,
                        ..Default::default()
                    });
                    nt.buffer = add_buffer(&mut new_buffers, q.values.iter().map(|&v| v as i8 as u8).collect());
                    let wid = sg.add_tensor(nt);
                    is_int.push(true);
                    op.inputs[w] = Some(wid);
                    if let Some(bslot) = bias {
                        if let Some(bt) = op.input(bslot) {
                            let btensor = sg.tensors[bt].clone();
                            if btensor.dtype == DType::F32 && model_is_const(&model.buffers, &btensor) {
                                let bdata = f32_data(&model.buffers[btensor.buffer].data);
                                let scales: Vec<f32> = (0..bdata.len())
                                    .map(|c| in_scale * q.scales[if q.scales.len() == 1 { 0 } else { c % q.scales.len() }])
                                    .collect();
                                let mut nb = btensor.clone();
                                let bytes: Vec<u8> = match act {
                                    Act::Int8 => {
                                        nb.dtype = DType::I32;
                                        bdata
                                            .iter()
                                            .zip(&scales)
                                            .flat_map(|(&x, &s)| {
                                                (round_away(x / s) as f64).clamp(i32::MIN as f64, i32::MAX as f64) as i32
                                            }
                                            .to_le_bytes())
                                            .collect()
                                    }
                                    Act::Int16 => {
                                        nb.dtype = DType::I64;
                                        bdata
                                            .iter()
                                            .zip(&scales)
                                            .flat_map(|(&x, &s)| (round_away(x / s) as f64 as i64).to_le_bytes())
                                            .collect()
                                    }
                                };
                                let per_channel = q.scales.len() > 1;
                                nb.quant = Some(QuantParams {
                                    scale: if per_channel { scales } else { vec![scales.first().copied().unwrap_or(in_scale)] },
                                    zero_point: vec![0; if per_channel { bdata.len() } else { 1 }],
                                    quantized_dimension: 0,
                                    ..Default::default()
                                });
                                nb.buffer = add_buffer(&mut new_buffers, bytes);
                                let bid = sg.add_tensor(nb);
                                is_int.push(true);
                                op.inputs[bslot] = Some(bid);
                            }
                        }
                    }
                }
            }
            // Outputs become integer.
            for &o in &op.outputs {
                if let Some(&(s, z)) = params.get(&o) {
                    sg.tensors[o].dtype = act.dtype();
                    sg.tensors[o].quant = Some(qp(s, z));
                    is_int[o] = true;
                }
            }
            op.version = int_version(b, act, op.version);
            summary.quantized_ops += 1;
            new_ops.push(op);
        } else {
            // A float op: integer inputs get a float version.
            for k in 0..op.inputs.len() {
                let Some(t) = op.inputs[k] else { continue };
                if !is_int[t] {
                    continue;
                }
                let f = match float_of.get(&t) {
                    Some(&f) => f,
                    None => {
                        let mut nt = sg.tensors[t].clone();
                        nt.name = format!("{}_float", nt.name);
                        nt.dtype = DType::F32;
                        nt.quant = None;
                        nt.buffer = 0;
                        let id = sg.add_tensor(nt);
                        is_int.push(false);
                        new_ops.push(mk_op(BuiltinOp::DEQUANTIZE, t, id, if act == Act::Int8 { 2 } else { 4 }));
                        summary.dequantize_ops_added += 1;
                        float_of.insert(t, id);
                        id
                    }
                };
                op.inputs[k] = Some(f);
            }
            new_ops.push(op);
        }
    }

    // 4. Graph outputs.
    let mut renames: Vec<(TensorId, TensorId)> = Vec::new();
    for (k, &t) in graph_outputs.iter().enumerate() {
        match (io_int, is_int[t]) {
            (false, true) => {
                // DEQUANTIZE to a float output that takes over the name.
                let mut nt = sg.tensors[t].clone();
                nt.dtype = DType::F32;
                nt.quant = None;
                let id = sg.add_tensor(nt);
                is_int.push(false);
                sg.tensors[t].name = format!("{}_{}", sg.tensors[t].name, if act == Act::Int8 { "int8" } else { "int16" });
                new_ops.push(mk_op(BuiltinOp::DEQUANTIZE, t, id, if act == Act::Int8 { 2 } else { 4 }));
                summary.dequantize_ops_added += 1;
                sg.outputs[k] = id;
                renames.push((t, id));
            }
            (true, false) if sg.tensors[t].dtype == DType::F32 => {
                let Some(&(s, z)) = params.get(&t) else { continue };
                let mut nt = sg.tensors[t].clone();
                nt.dtype = act.dtype();
                nt.quant = Some(qp(s, z));
                let id = sg.add_tensor(nt);
                is_int.push(true);
                sg.tensors[t].name = format!("{}_float", sg.tensors[t].name);
                new_ops.push(mk_op(BuiltinOp::QUANTIZE, t, id, 1));
                summary.quantize_ops_added += 1;
                sg.outputs[k] = id;
                renames.push((t, id));
            }
            _ => {}
        }
    }
    // uint8 I/O: convert at the edges.
    if cfg.io == IoType::Uint8 && act == Act::Int8 {
        for k in 0..sg.inputs.len() {
            let t = sg.inputs[k];
            if sg.tensors[t].dtype != DType::I8 {
                continue;
            }
            let q = sg.tensors[t].quant.clone().expect("quantized input");
            let mut nt = sg.tensors[t].clone();
            nt.name = format!("{}_int8", nt.name);
            let id = sg.add_tensor(nt);
            is_int.push(true);
            // Everything that read the int8 input now reads the converted one.
            for op in new_ops.iter_mut() {
                for i in op.inputs.iter_mut() {
                    if *i == Some(t) {
                        *i = Some(id);
                    }
                }
            }
            sg.tensors[t].dtype = DType::U8;
            sg.tensors[t].quant = Some(qp(q.scale[0], q.zero_point[0] + 128));
            new_ops.insert(0, mk_op(BuiltinOp::QUANTIZE, t, id, 1));
            summary.quantize_ops_added += 1;
        }
        for k in 0..sg.outputs.len() {
            let t = sg.outputs[k];
            if sg.tensors[t].dtype != DType::I8 {
                continue;
            }
            let q = sg.tensors[t].quant.clone().expect("quantized output");
            let mut nt = sg.tensors[t].clone();
            nt.dtype = DType::U8;
            nt.quant = Some(qp(q.scale[0], q.zero_point[0] + 128));
            let id = sg.add_tensor(nt);
            is_int.push(true);
            sg.tensors[t].name = format!("{}_int8", sg.tensors[t].name);
            new_ops.push(mk_op(BuiltinOp::QUANTIZE, t, id, 1));
            summary.quantize_ops_added += 1;
            sg.outputs[k] = id;
            renames.push((t, id));
        }
    }
    sg.ops = new_ops;
    for b in new_buffers {
        model.buffers.push(crate::ir::Buffer { data: b });
    }
    for sd in model.signature_defs.iter_mut().filter(|s| s.subgraph == 0) {
        for o in sd.outputs.iter_mut() {
            for &(from, to) in &renames {
                if o.tensor == from {
                    o.tensor = to;
                }
            }
        }
    }
    model.prune_tensors(0);
    let _ = graph_inputs;
    Ok(summary)
}

fn model_is_const(buffers: &[crate::ir::Buffer], t: &Tensor) -> bool {
    buffers.get(t.buffer).is_some_and(|b| !b.data.is_empty())
}

fn f32_data(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn quantize_act_bytes(data: &[f32], scale: f32, zp: i64, act: Act) -> Vec<u8> {
    match act {
        Act::Int8 => data
            .iter()
            .map(|&x| (round_away(x / scale) as i64 + zp).clamp(-128, 127) as i8 as u8)
            .collect(),
        Act::Int16 => data
            .iter()
            .flat_map(|&x| ((round_away(x / scale) as i64 + zp).clamp(-32767, 32767) as i16).to_le_bytes())
            .collect(),
    }
}
