//! float16 weights: every float32 constant an op reads is stored as float16
//! and expanded by a DEQUANTIZE op in front of the graph, as the converter
//! emits (LiteRT folds these at load time on CPU).

use super::QuantizeConfig;
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Model, Op, OpKind, Tensor};

/// Convert float32 constants to float16. Returns how many tensors changed.
pub fn quantize_float16(model: &mut Model, cfg: &QuantizeConfig) -> Result<usize> {
    let mut changed = 0;
    for si in 0..model.subgraphs.len() {
        let candidates: Vec<usize> = (0..model.subgraphs[si].tensors.len())
            .filter(|&t| {
                let sg = &model.subgraphs[si];
                let tensor = &sg.tensors[t];
                let users = sg.consumers(t);
                tensor.dtype == DType::F32
                    && tensor.sparsity.is_none()
                    && model.constant_f32(si, t).is_some()
                    && !users.is_empty()
                    && !sg.outputs.contains(&t)
                    && users.iter().all(|&(oi, _)| !cfg.skips(sg, &sg.ops[oi]))
            })
            .collect();
        let mut dequants = Vec::new();
        for t in candidates {
            let data = model.constant_f32(si, t).expect("checked above");
            let bytes: Vec<u8> = data.iter().flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes()).collect();
            let buf = model.add_buffer(bytes);
            let sg = &mut model.subgraphs[si];
            let orig = &sg.tensors[t];
            let mut h = Tensor::new(format!("{}_fp16", orig.name), DType::F16, orig.shape.clone());
            h.shape_signature = orig.shape_signature.clone();
            h.has_rank = orig.has_rank;
            h.buffer = buf;
            let h = sg.add_tensor(h);
            // The original tensor becomes the DEQUANTIZE output: consumers stay wired.
            sg.tensors[t].buffer = 0;
            sg.tensors[t].quant = None;
            let mut op = Op::new(OpKind::Builtin(BuiltinOp::DEQUANTIZE), vec![Some(h)], vec![t]);
            op.version = 3;
            dequants.push(op);
            changed += 1;
        }
        let sg = &mut model.subgraphs[si];
        let rest = std::mem::take(&mut sg.ops);
        sg.ops = dequants;
        sg.ops.extend(rest);
    }
    model.compact_buffers();
    Ok(changed)
}
