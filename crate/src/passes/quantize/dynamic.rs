//! Dynamic-range quantization: constant weights of the ops LiteRT runs with
//! hybrid kernels become int8 (symmetric, per channel where the kernel
//! allows); activations stay float and are quantized on the fly at run time.

use super::weights::quantize_symmetric;
use super::QuantizeConfig;
use crate::error::Result;
use crate::ir::{AttrValue, BuiltinOp, DType, Model, Op, OpKind, QuantParams, Tensor};

/// (weight input slot, per-channel axis) of ops with hybrid kernels.
fn hybrid_weight(op: BuiltinOp) -> Option<(usize, Option<usize>)> {
    Some(match op {
        BuiltinOp::CONV_2D => (1, Some(0)),
        BuiltinOp::DEPTHWISE_CONV_2D => (1, Some(3)),
        BuiltinOp::FULLY_CONNECTED => (1, Some(0)),
        BuiltinOp::TRANSPOSE_CONV => (1, None),
        BuiltinOp::BATCH_MATMUL => (1, None),
        BuiltinOp::EMBEDDING_LOOKUP => (1, None),
        _ => return None,
    })
}

/// Quantize weights to int8. Returns how many tensors changed.
pub fn quantize_dynamic(model: &mut Model, cfg: &QuantizeConfig) -> Result<usize> {
    let mut changed = 0;
    for si in 0..model.subgraphs.len() {
        for oi in 0..model.subgraphs[si].ops.len() {
            let (kind, skip) = {
                let sg = &model.subgraphs[si];
                (sg.ops[oi].kind.clone(), cfg.skips(sg, &sg.ops[oi]))
            };
            let OpKind::Builtin(b) = kind else { continue };
            let Some((slot, axis)) = hybrid_weight(b) else { continue };
            if skip {
                continue;
            }
            let Some(w) = model.subgraphs[si].ops[oi].input(slot) else { continue };
            let Some(data) = model.constant_f32(si, w) else { continue };
            if data.len() < cfg.min_elements {
                continue;
            }
            let axis = if cfg.per_channel { axis } else { None };
            let shape: Vec<usize> = model.subgraphs[si].tensors[w].shape.iter().map(|&d| d.max(1) as usize).collect();
            let q = quantize_symmetric(&data, &shape, axis, 127);
            let bytes: Vec<u8> = q.values.iter().map(|&v| v as i8 as u8).collect();
            let buf = model.add_buffer(bytes);
            let sg = &mut model.subgraphs[si];
            let shared = sg.consumers(w).len() > 1;
            let orig = &sg.tensors[w];
            let mut t = Tensor::new(orig.name.clone(), DType::I8, orig.shape.clone());
            t.shape_signature = orig.shape_signature.clone();
            t.has_rank = orig.has_rank;
            t.buffer = buf;
            t.quant = Some(QuantParams {
                scale: q.scales.clone(),
                zero_point: vec![0; q.scales.len()],
                quantized_dimension: axis.unwrap_or(0) as i32,
                ..Default::default()
            });
            if shared {
                // Other readers keep the float tensor.
                let nt = sg.add_tensor(t);
                sg.ops[oi].inputs[slot] = Some(nt);
            } else {
                sg.tensors[w] = t;
            }
            let op: &mut Op = &mut sg.ops[oi];
            if b == BuiltinOp::FULLY_CONNECTED || b == BuiltinOp::BATCH_MATMUL {
                if let Some(o) = op.options.as_mut() {
                    o.attrs.insert("asymmetric_quantize_inputs".into(), AttrValue::Bool(true));
                }
            }
            changed += 1;
        }
    }
    changed += quantize_gather_tables(model, cfg)?;
    model.compact_buffers();
    Ok(changed)
}

/// GATHER from a large constant float table: the table becomes int8
/// (symmetric, per tensor), GATHER moves int8 rows (its output shares the
/// table's parameters) and a DEQUANTIZE after it gives the float rows back,
/// so the graph around it is unchanged.
fn quantize_gather_tables(model: &mut Model, cfg: &QuantizeConfig) -> Result<usize> {
    let mut changed = 0;
    for si in 0..model.subgraphs.len() {
        let mut oi = 0;
        while oi < model.subgraphs[si].ops.len() {
            let (is_gather, skip) = {
                let sg = &model.subgraphs[si];
                (sg.ops[oi].kind == OpKind::Builtin(BuiltinOp::GATHER), cfg.skips(sg, &sg.ops[oi]))
            };
            let table = model.subgraphs[si].ops[oi].input(0);
            let out = model.subgraphs[si].ops[oi].outputs.first().copied();
            let (Some(table), Some(out)) = (table, out) else {
                oi += 1;
                continue;
            };
            let data = if is_gather && !skip { model.constant_f32(si, table) } else { None };
            let Some(data) = data.filter(|d| d.len() >= cfg.min_elements) else {
                oi += 1;
                continue;
            };
            if model.subgraphs[si].tensors[out].dtype != DType::F32 {
                oi += 1;
                continue;
            }
            let shape: Vec<usize> = model.subgraphs[si].tensors[table].shape.iter().map(|&d| d.max(1) as usize).collect();
            let q = quantize_symmetric(&data, &shape, None, 127);
            let buf = model.add_buffer(q.values.iter().map(|&v| v as i8 as u8).collect());
            let params = QuantParams { scale: q.scales.clone(), zero_point: vec![0], ..Default::default() };
            let sg = &mut model.subgraphs[si];
            let orig = sg.tensors[table].clone();
            let mut t = Tensor::new(orig.name.clone(), DType::I8, orig.shape.clone());
            t.has_rank = orig.has_rank;
            t.buffer = buf;
            t.quant = Some(params.clone());
            let qt = sg.add_tensor(t);
            sg.ops[oi].inputs[0] = Some(qt);
            // The gather output becomes int8; a new float tensor takes its place downstream.
            let mut f = sg.tensors[out].clone();
            let int_out = sg.add_tensor({
                let mut i = sg.tensors[out].clone();
                i.name = format!("{}_int8", i.name);
                i.dtype = DType::I8;
                i.quant = Some(params);
                i
            });
            f.quant = None;
            sg.ops[oi].outputs[0] = int_out;
            let mut deq = Op::new(OpKind::Builtin(BuiltinOp::DEQUANTIZE), vec![Some(int_out)], vec![out]);
            deq.version = 2;
            sg.tensors[out] = f;
            sg.ops.insert(oi + 1, deq);
            changed += 1;
            oi += 2;
        }
    }
    for si in 0..model.subgraphs.len() {
        model.prune_tensors(si);
    }
    Ok(changed)
}
