//! DEQUANTIZE (float16, and int8/uint8/int16 per-tensor or per-channel, to
//! float32), QUANTIZE (float32 to int8/uint8/int16) and DENSIFY (expand a
//! sparse constant to its dense tensor).
//!
//! As TFLite's reference kernels: per-tensor dequantize computes
//! `float(double(scale) * (q - zp))`, per-channel `scale[c] * float(q - zp[c])`
//! in float; quantize is `round_half_away(x / scale) + zp` clamped to the
//! type's range. DENSIFY follows TFLite's sparse format (traversal order,
//! block map, DENSE / SPARSE_CSR dim metadata) and rejects any index,
//! segment or size that does not fit instead of reading past it.

use super::array::{map_same, pooled_f32, value, MAX_ELEMENTS};
use super::{OpImpl, PrepareFn, Prepared, RunFn};
use crate::engine::value::numel;
use crate::engine::{req, Data, Inputs, Node, Value};
use crate::error::Result;
use crate::kernels::int8::{self as k8, QuantizeParams};
use crate::ir::{BuiltinOp, DType, DimMetadata, Op, QuantParams, SparseIndex, Sparsity, Subgraph};

pub fn register(op: BuiltinOp) -> Option<OpImpl> {
    let (run, check): (RunFn, super::CheckFn) = match op {
        BuiltinOp::DEQUANTIZE => (dequantize, check_dequantize),
        BuiltinOp::QUANTIZE => (quantize, check_quantize),
        BuiltinOp::DENSIFY => (densify, check_densify),
        _ => return None,
    };
    Some(OpImpl { run, check })
}

/// The plan-time state of QUANTIZE: whether it runs in the fast form
/// (XNNPACK's conversion, see `kernels::int8::quantize`), which the engine's
/// fast requantization switches on for float to per-tensor int8.
pub fn prepare(op: BuiltinOp) -> Option<PrepareFn> {
    (op == BuiltinOp::QUANTIZE).then_some(prepare_quantize as PrepareFn)
}

fn prepare_quantize(op: &Op, sg: &Subgraph, _: &[Option<&Value>]) -> std::result::Result<Box<dyn Prepared>, String> {
    let out = op.outputs.first().and_then(|&t| sg.tensors.get(t));
    let per_tensor_i8 = out.is_some_and(|t| {
        t.dtype == DType::I8 && t.quant.as_ref().is_some_and(|q| q.scale.len() == 1 && (-128..=127).contains(&zero_point(q, 0)))
    });
    Ok(Box::new(Quantize { per_tensor_i8, fast: false }))
}

struct Quantize {
    /// Float32 to per-tensor int8: the case the fast form covers.
    per_tensor_i8: bool,
    fast: bool,
}

impl Prepared for Quantize {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        quantize_as(node, inputs, self.fast)
    }
    fn set_fast(&mut self, on: bool) -> bool {
        self.fast = on && self.per_tensor_i8;
        self.fast
    }
}

fn tensor_quantized(sg: &Subgraph, t: usize) -> bool {
    sg.tensors.get(t).and_then(|t| t.quant.as_ref()).is_some_and(|q| q.is_quantized())
}

fn check_dequantize(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let out = op.outputs.first().and_then(|&t| sg.tensors.get(t)).ok_or("no output")?;
    if out.dtype != DType::F32 {
        return Err(format!("{} output; DEQUANTIZE makes float32", out.dtype));
    }
    let t = op.input(0).ok_or("no input")?;
    match sg.tensors.get(t).map(|t| t.dtype) {
        Some(DType::F16) => Ok(()),
        Some(DType::I8 | DType::U8 | DType::I16) if tensor_quantized(sg, t) => Ok(()),
        Some(DType::I8 | DType::U8 | DType::I16) => Err("integer input without quantization parameters".into()),
        Some(d) => Err(format!("DEQUANTIZE of {d} is not supported")),
        None => Err("no input".into()),
    }
}

fn check_quantize(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let t = op.input(0).ok_or("no input")?;
    match sg.tensors.get(t).map(|t| t.dtype) {
        Some(DType::F32) => {}
        Some(d) => return Err(format!("QUANTIZE from {d} (requantization) needs the int8 engine")),
        None => return Err("no input".into()),
    }
    let o = *op.outputs.first().ok_or("no output")?;
    match sg.tensors.get(o).map(|t| t.dtype) {
        Some(DType::I8 | DType::U8 | DType::I16) if tensor_quantized(sg, o) => Ok(()),
        Some(d) => Err(format!("QUANTIZE to {d} without quantization parameters is not supported")),
        None => Err("no output".into()),
    }
}

fn check_densify(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let t = op.input(0).and_then(|t| sg.tensors.get(t)).ok_or("no input")?;
    if t.sparsity.is_none() {
        return Err("DENSIFY input is not a sparse tensor".into());
    }
    Ok(())
}

/// Per-channel layout: for element `i`, channel `(i / inner) % channels`.
struct Channels {
    inner: usize,
    count: usize,
}

fn channels(node: &Node, q: &QuantParams, shape: &[usize]) -> Result<Option<Channels>> {
    if q.scale.len() <= 1 {
        return Ok(None);
    }
    let qd = q.quantized_dimension;
    let Some(&dim) = usize::try_from(qd).ok().and_then(|d| shape.get(d)) else {
        return node.err(format!("quantized_dimension {qd} is out of range for shape {shape:?}"));
    };
    if dim != q.scale.len() {
        return node.err(format!("{} scales for dimension {qd} of size {dim}", q.scale.len()));
    }
    if q.zero_point.len() > 1 && q.zero_point.len() != q.scale.len() {
        return node.err(format!("{} zero points for {} scales", q.zero_point.len(), q.scale.len()));
    }
    let inner = shape[qd as usize + 1..].iter().product();
    Ok(Some(Channels { inner, count: dim }))
}

fn zero_point(q: &QuantParams, c: usize) -> i64 {
    match q.zero_point.len() {
        0 => 0,
        1 => q.zero_point[0],
        _ => q.zero_point.get(c).copied().unwrap_or(0),
    }
}

fn dequantize(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let n = x.len();
    if let Data::F16(h) = &x.data {
        let mut out = pooled_f32(node, n);
        out.extend(h.iter().map(|&b| half::f16::from_bits(b).to_f32()));
        return Ok(vec![value(node, x.shape.clone(), Data::F32(out))?]);
    }
    let q: Vec<i64> = match &x.data {
        Data::I8(_) | Data::U8(_) | Data::I16(_) => x.to_i64().unwrap_or_default(),
        d => return node.err(format!("DEQUANTIZE of {} is not supported", d.dtype())),
    };
    let Some(qp) = node.input_quant(0) else {
        return node.err("input has no quantization parameters");
    };
    let ch = channels(node, qp, &x.shape)?;
    let mut out = pooled_f32(node, n);
    match ch {
        None => {
            let scale = qp.scale[0] as f64;
            let zp = zero_point(qp, 0);
            out.extend(q.iter().map(|&v| (scale * v.saturating_sub(zp) as f64) as f32));
        }
        Some(Channels { inner, count }) => {
            out.extend(q.iter().enumerate().map(|(i, &v)| {
                let c = (i / inner.max(1)) % count;
                qp.scale[c] * v.saturating_sub(zero_point(qp, c)) as f32
            }));
        }
    }
    Ok(vec![value(node, x.shape.clone(), Data::F32(out))?])
}

/// TFLite's quantization of one value: `round(x / scale) + zp`, clamped.
#[inline]
fn quantize_one(x: f32, scale: f32, zp: i64, lo: i64, hi: i64) -> i64 {
    let r = (x / scale).round() as i32 as i64;
    r.saturating_add(zp).clamp(lo, hi)
}

fn quantize(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    quantize_as(node, inputs, false)
}

/// QUANTIZE, in the fast form when `fast` (float to per-tensor int8 only).
fn quantize_as(node: &mut Node, inputs: &Inputs, fast: bool) -> Result<Vec<Value>> {
    let v = req(node, inputs, 0)?;
    let Some(x) = v.as_f32() else {
        return node.err(format!("QUANTIZE from {} is not supported", v.dtype()));
    };
    let Some(qp) = node.output_quant(0) else {
        return node.err("output has no quantization parameters");
    };
    let dtype = node.output_tensor(0).map(|t| t.dtype);
    let (lo, hi) = match dtype {
        Some(DType::I8) => (i8::MIN as i64, i8::MAX as i64),
        Some(DType::U8) => (0, u8::MAX as i64),
        Some(DType::I16) => (i16::MIN as i64, i16::MAX as i64),
        d => return node.err(format!("QUANTIZE to {d:?} is not supported")),
    };
    let ch = channels(node, qp, &v.shape)?;
    let zp0 = zero_point(qp, 0);
    if let (None, Some(DType::I8), -128..=127) = (&ch, dtype, zp0) {
        // Per-tensor int8: the kernel (SIMD in wasm).
        let p = QuantizeParams { scale: qp.scale[0], zero_point: zp0 as i32, min: -128, max: 127, fast };
        let mut out = node.pool.take_i8_overwritten(x.len());
        if let Err(e) = k8::quantize(&p, x, &mut out) {
            return node.err(e);
        }
        return Ok(vec![value(node, v.shape.clone(), Data::I8(out))?]);
    }
    let q: Vec<i64> = match ch {
        None => {
            let (scale, zp) = (qp.scale[0], zero_point(qp, 0));
            x.iter().map(|&a| quantize_one(a, scale, zp, lo, hi)).collect()
        }
        Some(Channels { inner, count }) => x
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let c = (i / inner.max(1)) % count;
                quantize_one(a, qp.scale[c], zero_point(qp, c), lo, hi)
            })
            .collect(),
    };
    let data = match dtype {
        Some(DType::I8) => Data::I8(q.iter().map(|&a| a as i8).collect()),
        Some(DType::U8) => Data::U8(q.iter().map(|&a| a as u8).collect()),
        _ => Data::I16(q.iter().map(|&a| a as i16).collect()),
    };
    Ok(vec![value(node, v.shape.clone(), data)?])
}

// ---------------------------------------------------------------------------
// DENSIFY
// ---------------------------------------------------------------------------

/// Most levels (dims plus block dims) a sparse tensor may have.
const MAX_LEVELS: usize = 16;

/// One validated level of the traversal.
enum Level<'a> {
    Dense { size: usize },
    Csr { segments: &'a SparseIndex, indices: &'a SparseIndex },
}

/// Dense row-major positions of the stored values of a sparse tensor of
/// dense shape `shape`, in storage order. `values` is the stored count.
pub(crate) fn sparse_positions(shape: &[usize], sp: &Sparsity, values: usize) -> std::result::Result<Vec<usize>, String> {
    let rank = shape.len();
    if rank == 0 {
        return Err("sparse tensor of rank 0".into());
    }
    let n = match numel(shape) {
        Some(n) if n <= MAX_ELEMENTS => n,
        _ => return Err(format!("dense shape {shape:?} is too large")),
    };
    let bm_raw: &[i32] = sp.block_map.as_deref().unwrap_or(&[]);
    let nb = bm_raw.len();
    let levels = rank + nb;
    if levels > MAX_LEVELS {
        return Err(format!("{levels} sparse levels (limit {MAX_LEVELS})"));
    }
    // traversal_order: a permutation of the expanded dims.
    let order: Vec<usize> = sp.traversal_order.iter().map(|&d| d as usize).collect();
    if order.len() != levels
        || sp.traversal_order.iter().any(|&d| d < 0 || d as usize >= levels)
        || (0..levels).any(|d| !order.contains(&d))
    {
        return Err(format!("traversal_order {:?} is not a permutation of 0..{levels}", sp.traversal_order));
    }
    if sp.dim_metadata.len() != levels {
        return Err(format!("{} dim_metadata for {levels} levels", sp.dim_metadata.len()));
    }
    // block_map: strictly increasing original dims.
    let block_map: Vec<usize> = bm_raw.iter().map(|&d| d as usize).collect();
    if bm_raw.iter().any(|&d| d < 0 || d as usize >= rank) || block_map.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("block_map {bm_raw:?} is invalid for rank {rank}"));
    }
    // Block sizes: the dense size of the level that walks each block dim.
    let mut block_size = vec![0usize; nb];
    for (k, bs) in block_size.iter_mut().enumerate() {
        let level = order.iter().position(|&d| d == rank + k).unwrap_or(0);
        match sp.dim_metadata[level] {
            DimMetadata::Dense { size } if size > 0 => *bs = size as usize,
            _ => return Err(format!("block dim {k} must be a dense level of positive size")),
        }
        let d = shape[block_map[k]];
        if !d.is_multiple_of(*bs) {
            return Err(format!("dim {} of size {d} is not a multiple of block size {bs}", block_map[k]));
        }
    }
    // Sizes of the expanded dims: blocked original dims, then block dims.
    let mut expanded: Vec<usize> = shape.to_vec();
    for (k, &d) in block_map.iter().enumerate() {
        expanded[d] /= block_size[k];
    }
    expanded.extend_from_slice(&block_size);

    let mut lv = Vec::with_capacity(levels);
    for (l, m) in sp.dim_metadata.iter().enumerate() {
        let size = expanded[order[l]];
        match m {
            DimMetadata::Dense { size: s } => {
                if *s < 0 || *s as usize != size {
                    return Err(format!("level {l}: dense size {s}, expected {size}"));
                }
                lv.push(Level::Dense { size });
            }
            DimMetadata::SparseCsr { segments: Some(seg), indices: Some(ind) } => {
                let seg_len = seg.len();
                let mut prev = 0i64;
                for i in 0..seg_len {
                    let s = seg.get(i).unwrap_or(-1);
                    if s < prev || s as u64 > ind.len() as u64 {
                        return Err(format!("level {l}: segments are not a non-decreasing list within 0..={}", ind.len()));
                    }
                    prev = s;
                }
                for i in 0..ind.len() {
                    let v = ind.get(i).unwrap_or(-1);
                    if v < 0 || v as u64 >= size as u64 {
                        return Err(format!("level {l}: index {v} is out of range for size {size}"));
                    }
                }
                lv.push(Level::Csr { segments: seg, indices: ind });
            }
            DimMetadata::SparseCsr { .. } => return Err(format!("level {l}: sparse level without segments or indices")),
        }
    }

    let dense_strides = super::array::strides(shape);
    let mut walk = Walk {
        rank,
        order: &order,
        block_map: &block_map,
        block_size: &block_size,
        strides: &dense_strides,
        levels: &lv,
        coords: vec![0; levels],
        out: Vec::with_capacity(values),
        values,
        n,
    };
    walk.level(0, 0)?;
    if walk.out.len() != values {
        return Err(format!("sparse tensor stores {values} values but its metadata addresses {}", walk.out.len()));
    }
    Ok(walk.out)
}

struct Walk<'a> {
    rank: usize,
    order: &'a [usize],
    block_map: &'a [usize],
    block_size: &'a [usize],
    strides: &'a [usize],
    levels: &'a [Level<'a>],
    coords: Vec<usize>,
    out: Vec<usize>,
    values: usize,
    n: usize,
}

impl Walk<'_> {
    fn level(&mut self, l: usize, prev: usize) -> std::result::Result<(), String> {
        if l == self.levels.len() {
            return self.leaf();
        }
        let e = self.order[l];
        match self.levels[l] {
            Level::Dense { size } => {
                for i in 0..size {
                    self.coords[e] = i;
                    let next = prev.checked_mul(size).and_then(|p| p.checked_add(i)).ok_or("position overflow")?;
                    self.level(l + 1, next)?;
                }
            }
            Level::Csr { segments, indices } => {
                let (Some(lo), Some(hi)) = (segments.get(prev), segments.get(prev + 1)) else {
                    return Err(format!("level {l}: no segment for position {prev}"));
                };
                for i in lo as usize..hi as usize {
                    self.coords[e] = indices.get(i).unwrap_or(0) as usize;
                    self.level(l + 1, i)?;
                }
            }
        }
        Ok(())
    }

    fn leaf(&mut self) -> std::result::Result<(), String> {
        if self.out.len() >= self.values {
            return Err(format!("sparse metadata addresses more than the {} stored values", self.values));
        }
        let mut flat = 0usize;
        for d in 0..self.rank {
            let mut idx = self.coords[d];
            if let Some(k) = self.block_map.iter().position(|&b| b == d) {
                idx = idx * self.block_size[k] + self.coords[self.rank + k];
            }
            flat += idx * self.strides[d];
        }
        if flat >= self.n {
            return Err(format!("dense position {flat} is out of range"));
        }
        self.out.push(flat);
        Ok(())
    }
}

fn scatter<T: Copy + Default>(vals: &[T], positions: &[usize], n: usize, out: &mut Vec<T>) {
    out.resize(n, T::default());
    for (&p, &v) in positions.iter().zip(vals) {
        out[p] = v;
    }
}

fn densify(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let Some(t) = node.input_tensor(0) else { return node.err("no input") };
    let Some(sp) = t.sparsity.as_ref() else { return node.err("input is not a sparse tensor") };
    if t.shape.iter().any(|&d| d < 0) {
        return node.err(format!("invalid dense shape {:?}", t.shape));
    }
    let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
    let positions = match sparse_positions(&shape, sp, x.len()) {
        Ok(p) => p,
        Err(e) => return node.err(format!("malformed sparsity: {e}")),
    };
    let n = numel(&shape).unwrap_or(0);
    let data = map_same!(node, &x.data, n, |xs, out| scatter(xs, &positions, n, &mut out));
    Ok(vec![value(node, shape, data)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(seg: Vec<i32>, idx: Vec<i32>) -> DimMetadata {
        DimMetadata::SparseCsr { segments: Some(SparseIndex::I32(seg)), indices: Some(SparseIndex::I32(idx)) }
    }

    #[test]
    fn csr_positions() {
        // [[0, 5, 0], [7, 0, 9]]: row 0 has col 1, row 1 has cols 0 and 2.
        let sp = Sparsity {
            traversal_order: vec![0, 1],
            block_map: None,
            dim_metadata: vec![DimMetadata::Dense { size: 2 }, csr(vec![0, 1, 3], vec![1, 0, 2])],
        };
        assert_eq!(sparse_positions(&[2, 3], &sp, 3).unwrap(), vec![1, 3, 5]);
        assert!(sparse_positions(&[2, 3], &sp, 2).is_err());
        assert!(sparse_positions(&[2, 3], &sp, 4).is_err());
        assert!(sparse_positions(&[3, 3], &sp, 3).is_err()); // dense size mismatch
    }

    #[test]
    fn malformed_is_an_error() {
        let base = Sparsity {
            traversal_order: vec![0, 1],
            block_map: None,
            dim_metadata: vec![DimMetadata::Dense { size: 2 }, csr(vec![0, 1, 3], vec![1, 0, 2])],
        };
        let mut s = base.clone();
        s.dim_metadata[1] = csr(vec![0, 1, 4], vec![1, 0, 2]);
        assert!(sparse_positions(&[2, 3], &s, 3).is_err());
        let mut s = base.clone();
        s.dim_metadata[1] = csr(vec![0, 1, 3], vec![1, 0, 3]);
        assert!(sparse_positions(&[2, 3], &s, 3).is_err());
        let mut s = base.clone();
        s.dim_metadata[1] = csr(vec![0, 2, 1], vec![1, 0, 2]);
        assert!(sparse_positions(&[2, 3], &s, 3).is_err());
        let mut s = base.clone();
        s.dim_metadata[1] = csr(vec![0], vec![1, 0, 2]);
        assert!(sparse_positions(&[2, 3], &s, 3).is_err());
        let mut s = base.clone();
        s.traversal_order = vec![0, 0];
        assert!(sparse_positions(&[2, 3], &s, 3).is_err());
        let mut s = base.clone();
        s.block_map = Some(vec![1]);
        assert!(sparse_positions(&[2, 3], &s, 3).is_err());
        let mut s = base;
        s.dim_metadata[1] = DimMetadata::SparseCsr { segments: None, indices: None };
        assert!(sparse_positions(&[2, 3], &s, 3).is_err());
    }
}
