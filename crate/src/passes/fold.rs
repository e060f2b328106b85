//! Fold constant DEQUANTIZE / DENSIFY ops (float16 or int8 weights, sparse
//! weights) into plain float32 constants, so later transforms see the real
//! weights of every layer.

use crate::engine::{eval_constant_op, Data};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Model, OpKind};

/// Returns the number of ops folded.
pub fn fold_weight_decoders(model: &mut Model) -> Result<usize> {
    let mut folded = 0;
    loop {
        let sg = &model.subgraphs[0];
        let next = sg.ops.iter().enumerate().find(|(_, op)| {
            matches!(op.kind, OpKind::Builtin(BuiltinOp::DEQUANTIZE) | OpKind::Builtin(BuiltinOp::DENSIFY))
                && op.outputs.len() == 1
                && sg.tensors[op.outputs[0]].dtype == DType::F32
                && !sg.outputs.contains(&op.outputs[0])
                && op.inputs.iter().flatten().all(|&t| model.is_constant(0, t))
        });
        let Some((oi, _)) = next else { break };
        let out = eval_constant_op(model, 0, oi)?;
        let Some(Data::F32(v)) = out.into_iter().next().map(|v| v.data) else { break };
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let b = model.add_buffer(bytes);
        let sg = &mut model.subgraphs[0];
        let t = sg.ops[oi].outputs[0];
        sg.tensors[t].buffer = b;
        sg.tensors[t].quant = None;
        sg.ops.remove(oi);
        folded += 1;
    }
    if folded > 0 {
        model.prune_tensors(0);
    }
    Ok(folded)
}
