//! TFLite's sparse tensor encoding for pruned weights, as the converter's
//! EXPERIMENTAL_SPARSITY writes it: the weight becomes a constant with
//! `SparsityParameters` (traversal order, block map, per-dimension
//! DENSE / SPARSE_CSR metadata with segments and indices in the narrowest
//! unsigned type) holding only the non-zero values, and a DENSIFY op in
//! front of the consumer expands it back at load time. Every dimension but
//! the last is dense and the last is CSR (what the converter writes), or,
//! for block-pruned weights, the block dims are dense and the blocked last
//! dim is CSR over blocks. A tensor is encoded only when that makes its
//! bytes smaller.

use crate::error::Result;
use crate::ir::{BuiltinOp, DType, DimMetadata, Model, Op, OpKind, OptionsTable, SparseIndex, Sparsity, TensorId};
use crate::passes::{Context, Transform};

/// The sparse-encoding transform (run after every other transform).
pub struct SparseEncode {
    /// Try block encoding with blocks of (rows along dim 0, cols along the
    /// last dim), e.g. from a `block:RxC` pruning pattern.
    pub block: Option<(usize, usize)>,
}

impl SparseEncode {
    /// Block encoding is tried when the recipe prunes in blocks.
    pub fn for_recipe(r: &crate::passes::Recipe) -> SparseEncode {
        let block = match r.prune.as_ref().map(|p| p.pattern) {
            Some(crate::passes::prune::Pattern::Block { rows, cols }) => Some((rows, cols)),
            _ => None,
        };
        SparseEncode { block }
    }
}

impl Transform for SparseEncode {
    fn name(&self) -> &'static str {
        "sparse"
    }
    fn apply(&self, model: &mut Model, ctx: &mut Context) -> Result<()> {
        (ctx.progress)("sparse", 0.0);
        let s = encode(model, self.block)?;
        if s.tensors > 0 {
            ctx.warnings.push(format!(
                "sparse format: {} weight tensors stored sparse with DENSIFY ({} -> {} bytes)",
                s.tensors, s.dense_bytes, s.sparse_bytes
            ));
            if s.int8_tensors > 0 {
                ctx.warnings.push(format!(
                    "sparse format: {} int8 weight tensors behind DENSIFY: LiteRT's default XNNPACK delegate refuses \
                     int8 FULLY_CONNECTED with such weights; run with the reference kernels (BUILTIN_REF) or leave \
                     sparseFormat off for int8",
                    s.int8_tensors
                ));
            }
        } else {
            ctx.warnings.push("sparse format: no weight tensor is sparse enough to get smaller; nothing encoded".into());
        }
        (ctx.progress)("sparse", 1.0);
        Ok(())
    }
}

/// What `encode` did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseSummary {
    pub tensors: usize,
    /// Of which int8 (LiteRT's XNNPACK delegate refuses some of these).
    pub int8_tensors: usize,
    pub dense_bytes: usize,
    pub sparse_bytes: usize,
}

/// Narrowest index vector for values up to `max`.
fn narrow(v: &[usize], max: usize) -> SparseIndex {
    if max <= u8::MAX as usize {
        SparseIndex::U8(v.iter().map(|&x| x as u8).collect())
    } else if max <= u16::MAX as usize {
        SparseIndex::U16(v.iter().map(|&x| x as u16).collect())
    } else {
        SparseIndex::I32(v.iter().map(|&x| x as i32).collect())
    }
}

fn index_bytes(s: &SparseIndex) -> usize {
    match s {
        SparseIndex::U8(v) => v.len(),
        SparseIndex::U16(v) => v.len() * 2,
        SparseIndex::I32(v) => v.len() * 4,
    }
}

/// Bytes of the metadata vectors of a sparsity description.
pub fn metadata_bytes(sp: &Sparsity) -> usize {
    let mut n = 4 * (sp.traversal_order.len() + sp.block_map.as_ref().map_or(0, |b| b.len()));
    for d in &sp.dim_metadata {
        n += 16;
        if let DimMetadata::SparseCsr { segments, indices } = d {
            n += segments.as_ref().map_or(0, index_bytes) + indices.as_ref().map_or(0, index_bytes);
        }
    }
    n
}

/// Encode a dense row-major tensor of `shape` whose elements are `elem`
/// bytes wide (an element is zero when all its bytes are zero). With
/// `block = (r, c)` blocks of r along dim 0 × c along the last dim are
/// stored whole. Returns the sparsity description and the stored values.
pub fn encode_dense(data: &[u8], elem: usize, shape: &[usize], block: Option<(usize, usize)>) -> Option<(Sparsity, Vec<u8>)> {
    let rank = shape.len();
    let n: usize = shape.iter().product();
    if rank == 0 || elem == 0 || data.len() != n * elem || n == 0 {
        return None;
    }
    let (br, bc) = block.unwrap_or((1, 1));
    let last = shape[rank - 1];
    if br == 0 || bc == 0 || !last.is_multiple_of(bc) || !shape[0].is_multiple_of(br) || (rank == 1 && br > 1) {
        return None;
    }
    let is_zero = |i: usize| data[i * elem..(i + 1) * elem].iter().all(|&b| b == 0);
    let blocked = br > 1 || bc > 1;
    // Expanded dims: dim 0 / br, middle dims, last / bc (then block dims).
    let mut exp = shape.to_vec();
    exp[0] /= br;
    exp[rank - 1] /= bc;
    let outer: usize = exp[..rank - 1].iter().product();
    let cols = exp[rank - 1];
    let strides: Vec<usize> = (0..rank).map(|d| shape[d + 1..].iter().product()).collect();
    let mut segments = Vec::with_capacity(outer + 1);
    let mut indices = Vec::new();
    let mut values = Vec::new();
    segments.push(0usize);
    let mut coord = vec![0usize; rank.saturating_sub(1)];
    for _ in 0..outer {
        // Dense flat index of block (coord.., j) element (a, b).
        let base: usize = coord.iter().enumerate().map(|(d, &x)| x * if d == 0 { br } else { 1 } * strides[d]).sum();
        for j in 0..cols {
            let at = |a: usize, b: usize| base + a * strides[0] + (j * bc + b) * strides[rank - 1];
            let nonzero = (0..br).any(|a| (0..bc).any(|b| !is_zero(at(a, b))));
            if nonzero {
                indices.push(j);
                for a in 0..br {
                    for b in 0..bc {
                        let i = at(a, b);
                        values.extend_from_slice(&data[i * elem..(i + 1) * elem]);
                    }
                }
            }
        }
        segments.push(indices.len());
        for d in (0..rank - 1).rev() {
            coord[d] += 1;
            if coord[d] < exp[d] {
                break;
            }
            coord[d] = 0;
        }
    }
    let mut dims: Vec<DimMetadata> = exp[..rank - 1].iter().map(|&s| DimMetadata::Dense { size: s as i32 }).collect();
    let nnz = indices.len();
    dims.push(DimMetadata::SparseCsr {
        segments: Some(narrow(&segments, nnz)),
        indices: Some(narrow(&indices, cols.saturating_sub(1))),
    });
    let mut traversal: Vec<i32> = (0..rank as i32).collect();
    let mut block_map = Vec::new();
    if blocked {
        // Block dim k expands block_map[k]; traversal visits them last.
        if br > 1 {
            block_map.push(0);
            traversal.push(traversal.len() as i32);
            dims.push(DimMetadata::Dense { size: br as i32 });
        }
        if bc > 1 {
            block_map.push(rank as i32 - 1);
            traversal.push(traversal.len() as i32);
            dims.push(DimMetadata::Dense { size: bc as i32 });
        }
    }
    Some((Sparsity { traversal_order: traversal, block_map: Some(block_map), dim_metadata: dims }, values))
}

fn weight_ops(b: BuiltinOp) -> bool {
    matches!(
        b,
        BuiltinOp::CONV_2D
            | BuiltinOp::DEPTHWISE_CONV_2D
            | BuiltinOp::FULLY_CONNECTED
            | BuiltinOp::TRANSPOSE_CONV
            | BuiltinOp::BATCH_MATMUL
    )
}

/// Store the sparse-enough weights of subgraph 0 in the sparse format, each
/// behind a DENSIFY op placed before its first consumer.
pub fn encode(model: &mut Model, block: Option<(usize, usize)>) -> Result<SparseSummary> {
    let mut summary = SparseSummary::default();
    let sg = &model.subgraphs[0];
    // Candidate weight tensors, in order of first use.
    let mut cands: Vec<(TensorId, usize)> = Vec::new();
    for (oi, op) in sg.ops.iter().enumerate() {
        let Some(b) = op.kind.builtin() else { continue };
        if !weight_ops(b) {
            continue;
        }
        let Some(w) = op.input(1) else { continue };
        if !cands.iter().any(|c| c.0 == w) {
            cands.push((w, oi));
        }
    }
    let mut inserts: Vec<(usize, Op)> = Vec::new();
    for (w, first) in cands {
        let t = &model.subgraphs[0].tensors[w];
        if !model.is_constant(0, w) || t.sparsity.is_some() || model.subgraphs[0].outputs.contains(&w) {
            continue;
        }
        let ok_type = match t.dtype {
            DType::F32 | DType::F16 => true,
            // DENSIFY fills with 0: only symmetric quantization keeps that the real zero.
            DType::I8 => t.quant.as_ref().is_none_or(|q| q.zero_point.iter().all(|&z| z == 0)),
            _ => false,
        };
        if !ok_type || t.shape.iter().any(|&d| d <= 0) {
            continue;
        }
        let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
        let elem = t.dtype.size();
        let mut data = model.tensor_data(0, w).to_vec();
        // -0.0 counts as zero (it densifies to +0.0, the same number).
        if t.dtype == DType::F32 {
            for c in data.chunks_exact_mut(4) {
                if f32::from_le_bytes([c[0], c[1], c[2], c[3]]) == 0.0 {
                    c.fill(0);
                }
            }
        } else if t.dtype == DType::F16 {
            for c in data.chunks_exact_mut(2) {
                if u16::from_le_bytes([c[0], c[1]]) & 0x7FFF == 0 {
                    c.fill(0);
                }
            }
        }
        let dense = data.len();
        let mut best: Option<(Sparsity, Vec<u8>, usize)> = None;
        let mut tries = vec![None];
        if let Some(b) = block.filter(|&b| b != (1, 1)) {
            tries.push(Some(b));
        }
        for bl in tries {
            if let Some((sp, vals)) = encode_dense(&data, elem, &shape, bl) {
                let size = vals.len() + metadata_bytes(&sp);
                if best.as_ref().is_none_or(|b| size < b.2) {
                    best = Some((sp, vals, size));
                }
            }
        }
        let Some((sp, vals, size)) = best else { continue };
        if size as f64 >= 0.9 * dense as f64 {
            continue;
        }
        let buf = model.add_buffer(vals);
        let sg = &mut model.subgraphs[0];
        let mut st = sg.tensors[w].clone();
        st.name = format!("{}_sparse", st.name);
        st.buffer = buf;
        st.sparsity = Some(sp);
        st.shape_signature = None;
        let sid = sg.add_tensor(st);
        sg.tensors[w].buffer = 0;
        let mut op = Op::new(OpKind::Builtin(BuiltinOp::DENSIFY), vec![Some(sid)], vec![w]);
        op.options = Some(OptionsTable::new("DensifyOptions"));
        inserts.push((first, op));
        summary.tensors += 1;
        summary.int8_tensors += (model.subgraphs[0].tensors[sid].dtype == DType::I8) as usize;
        summary.dense_bytes += dense;
        summary.sparse_bytes += size;
    }
    // Insert the DENSIFY ops before their consumers (later first).
    inserts.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
    let sg = &mut model.subgraphs[0];
    for (i, op) in inserts {
        sg.ops.insert(i, op);
    }
    model.compact_buffers();
    Ok(summary)
}

/// The bytes a weight occupies in the file: DENSIFY / DEQUANTIZE are
/// followed back to the stored constant; a sparse tensor counts its values
/// and its index vectors. None when `t` is not (derived from) a constant.
pub fn stored_weight_bytes(model: &Model, t: TensorId) -> Option<Vec<u8>> {
    let sg = &model.subgraphs[0];
    let src = if model.is_constant(0, t) {
        t
    } else {
        let p = &sg.ops[sg.producer(t)?];
        let decoder = matches!(p.kind, OpKind::Builtin(BuiltinOp::DENSIFY) | OpKind::Builtin(BuiltinOp::DEQUANTIZE));
        p.input(0).filter(|&s| decoder && model.is_constant(0, s))?
    };
    let mut bytes = model.tensor_data(0, src).to_vec();
    if let Some(sp) = &sg.tensors[src].sparsity {
        for d in &sp.dim_metadata {
            if let DimMetadata::SparseCsr { segments, indices } = d {
                for v in [segments, indices].into_iter().flatten() {
                    match v {
                        SparseIndex::U8(x) => bytes.extend_from_slice(x),
                        SparseIndex::U16(x) => bytes.extend(x.iter().flat_map(|v| v.to_le_bytes())),
                        SparseIndex::I32(x) => bytes.extend(x.iter().flat_map(|v| v.to_le_bytes())),
                    }
                }
            }
        }
    }
    Some(bytes)
}

/// A copy of `model` with every DENSIFY of a constant replaced by the dense
/// constant (any type, quantization kept): what the runtime sees after
/// loading. For reports and checks of sparse-encoded models.
pub fn densified(model: &Model) -> Result<Model> {
    let mut m = model.clone();
    loop {
        let sg = &m.subgraphs[0];
        let next = sg.ops.iter().position(|op| {
            op.kind == OpKind::Builtin(BuiltinOp::DENSIFY)
                && op.outputs.len() == 1
                && op.input(0).is_some_and(|t| m.is_constant(0, t) && sg.tensors[t].sparsity.is_some())
        });
        let Some(oi) = next else { break };
        let vals = crate::engine::eval_constant_op(&m, 0, oi)?;
        let Some(v) = vals.into_iter().next() else { break };
        let bytes = value_bytes(&v.data);
        let b = m.add_buffer(bytes);
        let sg = &mut m.subgraphs[0];
        let out = sg.ops[oi].outputs[0];
        sg.tensors[out].buffer = b;
        sg.ops.remove(oi);
    }
    m.prune_tensors(0);
    Ok(m)
}

fn value_bytes(d: &crate::engine::Data) -> Vec<u8> {
    use crate::engine::Data::*;
    match d {
        F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        I8(v) => v.iter().map(|&x| x as u8).collect(),
        U8(v) => v.clone(),
        Bool(v) => v.iter().map(|&x| x as u8).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ops::quant::sparse_positions;

    fn roundtrip(dense: &[f32], shape: &[usize], block: Option<(usize, usize)>) {
        let bytes: Vec<u8> = dense.iter().flat_map(|v| v.to_le_bytes()).collect();
        let (sp, vals) = encode_dense(&bytes, 4, shape, block).unwrap();
        let stored: Vec<f32> = vals.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let pos = sparse_positions(shape, &sp, stored.len()).unwrap();
        let mut out = vec![0f32; dense.len()];
        for (&p, &v) in pos.iter().zip(&stored) {
            out[p] = v;
        }
        assert_eq!(out, dense, "{block:?} {sp:?}");
    }

    #[test]
    fn csr_and_block_encodings_densify_back() {
        let mut x: Vec<f32> = (0..2 * 3 * 3 * 8).map(|i| if (i * 7) % 5 < 2 { i as f32 } else { 0.0 }).collect();
        roundtrip(&x, &[2, 3, 3, 8], None);
        roundtrip(&x, &[2, 3, 3, 8], Some((1, 4)));
        roundtrip(&x, &[2, 3, 3, 8], Some((2, 2)));
        roundtrip(&x, &[2, 3, 3, 8], Some((2, 1)));
        x.truncate(48);
        roundtrip(&x, &[6, 8], None);
        roundtrip(&x, &[6, 8], Some((3, 4)));
        roundtrip(&x, &[48], None);
        roundtrip(&x, &[48], Some((1, 4)));
    }

    #[test]
    fn narrow_types() {
        let (sp, _) = encode_dense(&[0u8, 0, 0, 1], 1, &[2, 2], None).unwrap();
        match &sp.dim_metadata[1] {
            DimMetadata::SparseCsr { segments: Some(SparseIndex::U8(s)), indices: Some(SparseIndex::U8(i)) } => {
                assert_eq!(s, &vec![0, 0, 1]);
                assert_eq!(i, &vec![1]);
            }
            d => panic!("{d:?}"),
        }
    }
}
