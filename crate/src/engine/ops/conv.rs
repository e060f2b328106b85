//! Convolution-family float ops: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
//! TRANSPOSE_CONV, BATCH_MATMUL, AVERAGE/MAX_POOL_2D, RESIZE_BILINEAR,
//! RESIZE_NEAREST_NEIGHBOR, DEPTH_TO_SPACE, SPACE_TO_DEPTH, PAD, PADV2,
//! MIRROR_PAD. Semantics follow TFLite's float reference kernels (NHWC).
//!
//! Shapes are validated here before any kernel runs; the kernels in
//! `crate::kernels::{conv, gemm}` validate again and never panic.
//! Weights must be float32: a quantized or float16 constant that reaches
//! these ops without a DEQUANTIZE in front is rejected at planning time.

use super::{apply_fused, CheckFn, OpImpl, PrepareFn, Prepared, RunFn};
use crate::engine::{req, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph};
use crate::kernels::conv::{self as kc, Padding, PoolKind, Window};
use crate::kernels::gemm;

pub fn register(op: BuiltinOp) -> Option<OpImpl> {
    let (run, check): (RunFn, CheckFn) = match op {
        BuiltinOp::CONV_2D => (conv2d, check_weighted),
        BuiltinOp::DEPTHWISE_CONV_2D => (depthwise, check_weighted),
        BuiltinOp::FULLY_CONNECTED => (fully_connected, check_fc),
        BuiltinOp::TRANSPOSE_CONV => (transpose_conv, check_transpose_conv),
        BuiltinOp::BATCH_MATMUL => (batch_matmul, check_two_float),
        BuiltinOp::AVERAGE_POOL_2D => (avg_pool, check_one_float),
        BuiltinOp::MAX_POOL_2D => (max_pool, check_one_float),
        BuiltinOp::RESIZE_BILINEAR => (resize_bilinear, check_float_int),
        BuiltinOp::RESIZE_NEAREST_NEIGHBOR => (resize_nearest, check_float_int),
        BuiltinOp::DEPTH_TO_SPACE => (depth_to_space, check_one_float),
        BuiltinOp::SPACE_TO_DEPTH => (space_to_depth, check_one_float),
        BuiltinOp::PAD => (pad, check_float_int),
        BuiltinOp::PADV2 => (padv2, check_padv2),
        BuiltinOp::MIRROR_PAD => (mirror_pad, check_float_int),
        _ => return None,
    };
    Some(OpImpl { run, check })
}

/// Plan-time state of this family's ops: CONV_2D packs a constant filter
/// once (the GEMM's layout), instead of on every run.
pub fn prepare(op: BuiltinOp) -> Option<PrepareFn> {
    match op {
        BuiltinOp::CONV_2D => Some(prepare_conv2d),
        _ => None,
    }
}

/// A float CONV_2D filter packed at plan time, for the input channel
/// count the model declares.
struct ConvPacked {
    groups: usize,
    /// The filter's shape `[oc, kh, kw, ig]`.
    shape: [usize; 4],
    packs: Vec<gemm::PackedB>,
}

struct ConvF32 {
    packed: Option<ConvPacked>,
}

fn prepare_conv2d(op: &Op, sg: &Subgraph, known: &[Option<&Value>]) -> std::result::Result<Box<dyn Prepared>, String> {
    let packed = (|| {
        let w = known.get(1).copied().flatten()?;
        let f = w.as_f32()?;
        let [oc, kh, kw, ig] = w.shape[..] else { return None };
        let c = *sg.tensors.get(op.input(0)?)?.shape.get(3)?;
        if ig == 0 || c <= 0 || !(c as usize).is_multiple_of(ig) {
            return None;
        }
        let groups = c as usize / ig;
        let k = kh.checked_mul(kw)?.checked_mul(ig)?;
        let packs = kc::pack_conv_filter(f, oc, k, groups).ok()?;
        Some(ConvPacked { groups, shape: [oc, kh, kw, ig], packs })
    })();
    Ok(Box::new(ConvF32 { packed }))
}

impl Prepared for ConvF32 {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        conv2d_with(node, inputs, self.packed.as_ref())
    }
    fn bytes(&self) -> usize {
        self.packed.as_ref().map_or(0, |p| p.packs.iter().map(gemm::PackedB::bytes).sum())
    }
    fn captured_inputs(&self) -> &'static [usize] {
        if self.packed.is_some() {
            &[1]
        } else {
            &[]
        }
    }
}

// ---------------------------------------------------------------- checks

/// Outputs float32; inputs at `floats` float32 (constant or not), inputs at
/// `ints` int32/int64; the first `required` inputs present.
fn check_io(op: &Op, sg: &Subgraph, required: usize, floats: &[usize], ints: &[usize]) -> std::result::Result<(), String> {
    if op.outputs.is_empty() {
        return Err("no output".into());
    }
    for &t in &op.outputs {
        let d = sg.tensors.get(t).ok_or("output tensor index out of range")?.dtype;
        if d != DType::F32 {
            return Err(format!("{d} output; the float engine runs float32 activations"));
        }
    }
    for i in 0..required {
        if op.input(i).is_none() {
            return Err(format!("required input {i} is missing"));
        }
    }
    for &i in floats {
        let Some(t) = op.input(i) else { continue };
        let tensor = sg.tensors.get(t).ok_or("input tensor index out of range")?;
        if tensor.dtype != DType::F32 {
            let constant = tensor.buffer != 0;
            return Err(if constant {
                format!(
                    "input {i} ({}) is a {} constant; the float engine needs float32 weights \
                     (a quantized/float16 weight needs a DEQUANTIZE in front)",
                    tensor.name, tensor.dtype
                )
            } else {
                format!("{} input activation; the float engine runs float32 activations", tensor.dtype)
            });
        }
    }
    for &i in ints {
        let Some(t) = op.input(i) else { continue };
        let tensor = sg.tensors.get(t).ok_or("input tensor index out of range")?;
        if !matches!(tensor.dtype, DType::I32 | DType::I64) {
            return Err(format!("input {i} ({}) must be int32 or int64, is {}", tensor.name, tensor.dtype));
        }
    }
    Ok(())
}

fn check_weighted(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_io(op, sg, 2, &[0, 1, 2], &[])
}
fn check_fc(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_io(op, sg, 2, &[0, 1, 2], &[])?;
    match op.attr_i64("weights_format", 0) {
        0 => Ok(()),
        f => Err(format!("weights_format {f} (shuffled weights are for quantized kernels)")),
    }
}
fn check_transpose_conv(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_io(op, sg, 3, &[1, 2, 3], &[0])
}
fn check_two_float(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_io(op, sg, 2, &[0, 1], &[])
}
fn check_one_float(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_io(op, sg, 1, &[0], &[])
}
fn check_float_int(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_io(op, sg, 2, &[0], &[1])
}
fn check_padv2(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_io(op, sg, 2, &[0, 2], &[1])
}

// ---------------------------------------------------------------- helpers

fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// A float32 input with its shape, its length checked against the shape.
fn fin<'v>(node: &Node, inputs: &Inputs<'v>, i: usize) -> Result<(&'v [usize], &'v [f32])> {
    let v = req(node, inputs, i)?;
    let Some(d) = v.as_f32() else {
        return node.err(format!("input {i} must be float32, got {}", v.dtype()));
    };
    if numel(&v.shape) != Some(d.len()) {
        return node.err(format!("input {i}: shape {:?} does not match {} values", v.shape, d.len()));
    }
    Ok((&v.shape, d))
}

/// An optional float32 input (bias).
fn opt_fin<'v>(node: &Node, inputs: &Inputs<'v>, i: usize) -> Result<Option<(&'v [usize], &'v [f32])>> {
    match inputs.get(i).copied().flatten() {
        None => Ok(None),
        Some(_) => fin(node, inputs, i).map(Some),
    }
}

/// An integer input's values.
fn iin(node: &Node, inputs: &Inputs, i: usize) -> Result<(Vec<usize>, Vec<i64>)> {
    let v = req(node, inputs, i)?;
    match v.to_i64() {
        Some(x) if matches!(v.dtype(), DType::I32 | DType::I64) => Ok((v.shape.clone(), x)),
        _ => node.err(format!("input {i} must be int32 or int64, got {}", v.dtype())),
    }
}

/// Lift a kernel error into a node error.
fn kr<T>(node: &Node, r: std::result::Result<T, String>) -> Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => node.err(e),
    }
}

/// A positive integer attribute (stride, dilation, filter size, block size).
fn pos_attr(node: &Node, name: &str, default: i64) -> Result<usize> {
    let v = node.op.attr_i64(name, default);
    if v <= 0 || v > (1 << 30) {
        return node.err(format!("{name} = {v} must be a positive size"));
    }
    Ok(v as usize)
}

fn padding_attr(node: &Node) -> Result<Padding> {
    let c = node.op.attr_i64("padding", 0);
    match Padding::from_code(c) {
        Some(p) => Ok(p),
        None => node.err(format!("unknown padding code {c}")),
    }
}

fn rank4(node: &Node, what: &str, shape: &[usize]) -> Result<[usize; 4]> {
    match shape {
        &[a, b, c, d] => Ok([a, b, c, d]),
        _ => node.err(format!("{what} must be 4-D, has shape {shape:?}")),
    }
}

fn bias_of<'v>(node: &Node, inputs: &Inputs<'v>, i: usize, channels: usize) -> Result<Option<&'v [f32]>> {
    match opt_fin(node, inputs, i)? {
        None => Ok(None),
        Some((_, b)) if b.len() == channels => Ok(Some(b)),
        Some((s, _)) => node.err(format!("bias of shape {s:?} does not match {channels} output channels")),
    }
}

/// Apply the op's fused activation and wrap the output.
fn finish(node: &Node, shape: Vec<usize>, mut buf: Vec<f32>) -> Result<Vec<Value>> {
    apply_fused(node, &mut buf, node.op.attr_i64("fused_activation_function", 0))?;
    Ok(vec![Value::f32(shape, buf)?])
}

/// Largest output this family allocates (elements; the engine-wide limit,
/// as `array::MAX_ELEMENTS`): sizes that come from tensor values (resize
/// sizes, output_shape, paddings) must not exhaust memory.
const MAX_ELEMENTS: usize = 1 << 28;

/// Largest rank PAD/MIRROR_PAD accept (TFLite: 5).
const MAX_PAD_RANK: usize = 8;

/// Zeroed output buffer of `shape`, the size overflow-checked and capped.
fn alloc(node: &mut Node, shape: &[usize]) -> Result<Vec<f32>> {
    match numel(shape) {
        Some(n) if n <= MAX_ELEMENTS => Ok(node.alloc_f32(n)),
        _ => node.err(format!("output shape {shape:?} is too large (limit {MAX_ELEMENTS} elements)")),
    }
}

// ---------------------------------------------------------------- conv

fn conv2d(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    conv2d_with(node, inputs, None)
}

fn conv2d_with(node: &mut Node, inputs: &Inputs, packed: Option<&ConvPacked>) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    // With a packed filter the constant itself may have been freed: its
    // shape comes from the packing.
    let (w, [oc, kh, kw, ig]) = match packed {
        Some(p) => (None, p.shape),
        None => {
            let (ws, w) = fin(node, inputs, 1)?;
            (Some(w), rank4(node, "filter", ws)?)
        }
    };
    let [n, h, wd, c] = rank4(node, "input", xs)?;
    if ig == 0 || c == 0 || c % ig != 0 {
        return node.err(format!("input channels {c} are not a multiple of filter input channels {ig}"));
    }
    let groups = c / ig;
    if oc % groups != 0 {
        return node.err(format!("output channels {oc} are not divisible into {groups} groups"));
    }
    let bias = bias_of(node, inputs, 2, oc)?;
    let strides = (pos_attr(node, "stride_h", 1)?, pos_attr(node, "stride_w", 1)?);
    let dil = (pos_attr(node, "dilation_h_factor", 1)?, pos_attr(node, "dilation_w_factor", 1)?);
    let padding = padding_attr(node)?;
    let win = kr(node, Window::new(n, h, wd, c, kh, kw, strides, dil, padding))?;
    let shape = vec![n, win.oh, win.ow, oc];
    let mut out = alloc(node, &shape)?;
    match (packed, w) {
        (Some(p), _) if p.groups == groups => kr(node, kc::conv2d_packed(&win, groups, x, &p.packs, bias, oc, &mut out))?,
        (_, Some(w)) => kr(node, kc::conv2d(&win, groups, x, w, bias, oc, &mut out))?,
        _ => return node.err(format!("the filter was packed for {} groups, the input has {groups}", packed.map_or(0, |p| p.groups))),
    }
    finish(node, shape, out)
}

fn depthwise(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    let (ws, w) = fin(node, inputs, 1)?;
    let [n, h, wd, c] = rank4(node, "input", xs)?;
    let [one, kh, kw, oc] = rank4(node, "filter", ws)?;
    if one != 1 {
        return node.err(format!("depthwise filter must have shape [1, kh, kw, c*m], has {ws:?}"));
    }
    // TFLite derives the multiplier from the shapes (the attribute is redundant).
    if c == 0 || oc % c != 0 {
        return node.err(format!("filter channels {oc} are not a multiple of input channels {c}"));
    }
    let mult = oc / c;
    let bias = bias_of(node, inputs, 2, oc)?;
    let strides = (pos_attr(node, "stride_h", 1)?, pos_attr(node, "stride_w", 1)?);
    let dil = (pos_attr(node, "dilation_h_factor", 1)?, pos_attr(node, "dilation_w_factor", 1)?);
    let padding = padding_attr(node)?;
    let win = kr(node, Window::new(n, h, wd, c, kh, kw, strides, dil, padding))?;
    let shape = vec![n, win.oh, win.ow, oc];
    let mut out = alloc(node, &shape)?;
    kr(node, kc::depthwise_conv2d(&win, mult, x, w, bias, &mut out))?;
    finish(node, shape, out)
}

fn fully_connected(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    let (ws, w) = fin(node, inputs, 1)?;
    let &[units, depth] = ws else {
        return node.err(format!("weights must be 2-D [units, depth], have shape {ws:?}"));
    };
    if node.op.attr_i64("weights_format", 0) != 0 {
        return node.err("shuffled weights_format is not supported for float");
    }
    if depth == 0 || x.len() % depth != 0 {
        return node.err(format!("input of shape {xs:?} cannot be flattened to rows of {depth}"));
    }
    let batch = x.len() / depth;
    let bias = bias_of(node, inputs, 2, units)?;
    let shape = if node.op.attr_bool("keep_num_dims", false) {
        match xs.split_last() {
            Some((&last, lead)) if last == depth => lead.iter().copied().chain([units]).collect(),
            _ => return node.err(format!("keep_num_dims: input's last dim must be {depth}, shape is {xs:?}")),
        }
    } else {
        vec![batch, units]
    };
    let mut out = alloc(node, &shape)?;
    kr(node, gemm::sgemm(batch, units, depth, x, depth, w, 1, depth, &mut out, units))?;
    if let Some(b) = bias {
        for row in out.chunks_exact_mut(units.max(1)) {
            row.iter_mut().zip(b).for_each(|(o, &bv)| *o += bv);
        }
    }
    finish(node, shape, out)
}

/// TFLite's padding for TRANSPOSE_CONV: computed as for a forward conv
/// whose *input* is the transposed conv's output (signed, like C++).
fn transpose_pad(padding: Padding, out_size: usize, filter: usize, stride: usize) -> usize {
    let (o, f, s) = (out_size as i64, filter as i64, stride as i64);
    let fwd = match padding {
        Padding::Same => (o + s - 1) / s,
        Padding::Valid => (o + s - f) / s, // C++ truncating division
    };
    let total = (fwd - 1) * s + f - o;
    (total.max(0) / 2) as usize
}

fn transpose_conv(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (oss, os) = iin(node, inputs, 0)?;
    let (ws, w) = fin(node, inputs, 1)?;
    let (xs, x) = fin(node, inputs, 2)?;
    if oss.len() != 1 || os.len() != 4 {
        return node.err(format!("output_shape must be a 4-element vector, has shape {oss:?}"));
    }
    if os.iter().any(|&d| !(0..=1 << 30).contains(&d)) {
        return node.err(format!("invalid output_shape {os:?}"));
    }
    let out_shape: Vec<usize> = os.iter().map(|&d| d as usize).collect();
    let [n, h, wd, ic] = rank4(node, "input", xs)?;
    let [oc, kh, kw, wic] = rank4(node, "weights", ws)?;
    if wic != ic {
        return node.err(format!("weights input channels {wic} != input channels {ic}"));
    }
    if out_shape[0] != n || out_shape[3] != oc {
        return node.err(format!("output_shape {os:?} does not match batch {n} and {oc} output channels"));
    }
    let (out_h, out_w) = (out_shape[1], out_shape[2]);
    if kh == 0 || kw == 0 {
        return node.err("weights have an empty spatial window");
    }
    let bias = bias_of(node, inputs, 3, oc)?;
    let (sh, sw) = (pos_attr(node, "stride_h", 1)?, pos_attr(node, "stride_w", 1)?);
    let padding = padding_attr(node)?;
    let win = Window {
        n,
        h,
        w: wd,
        c: ic,
        oh: out_h,
        ow: out_w,
        kh,
        kw,
        sh,
        sw,
        dh: 1,
        dw: 1,
        pad_t: transpose_pad(padding, out_h, kh, sh),
        pad_l: transpose_pad(padding, out_w, kw, sw),
    };
    let mut out = alloc(node, &out_shape)?;
    kr(node, kc::transpose_conv2d(&win, x, w, bias, out_h, out_w, oc, &mut out))?;
    finish(node, out_shape, out)
}

fn batch_matmul(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (ls, l) = fin(node, inputs, 0)?;
    let (rs, r) = fin(node, inputs, 1)?;
    if ls.len() < 2 || rs.len() < 2 {
        return node.err(format!("operands must have rank >= 2, have {ls:?} and {rs:?}"));
    }
    let adj_x = node.op.attr_bool("adj_x", false);
    let adj_y = node.op.attr_bool("adj_y", false);
    let (lr, lc) = (ls[ls.len() - 2], ls[ls.len() - 1]);
    let (rr, rc) = (rs[rs.len() - 2], rs[rs.len() - 1]);
    let (m, k) = if adj_x { (lc, lr) } else { (lr, lc) };
    let (k2, nn) = if adj_y { (rc, rr) } else { (rr, rc) };
    if k != k2 {
        return node.err(format!("contraction sizes differ: {ls:?} (adj_x={adj_x}) x {rs:?} (adj_y={adj_y})"));
    }
    // Broadcast batch dims (right-aligned).
    let lb = &ls[..ls.len() - 2];
    let rb = &rs[..rs.len() - 2];
    let rank = lb.len().max(rb.len());
    let mut ob = vec![0usize; rank];
    let mut lstr = vec![0usize; rank];
    let mut rstr = vec![0usize; rank];
    let (lmat, rmat) = (lr * lc, rr * rc);
    let (mut lacc, mut racc) = (lmat, rmat);
    for d in (0..rank).rev() {
        let ld = (d + lb.len()).checked_sub(rank).map(|i| lb[i]).unwrap_or(1);
        let rd = (d + rb.len()).checked_sub(rank).map(|i| rb[i]).unwrap_or(1);
        if ld != rd && ld != 1 && rd != 1 {
            return node.err(format!("batch dims of {ls:?} and {rs:?} do not broadcast"));
        }
        ob[d] = if ld == 1 { rd } else { ld };
        lstr[d] = if ld == 1 { 0 } else { lacc };
        rstr[d] = if rd == 1 { 0 } else { racc };
        lacc = lacc.saturating_mul(ld);
        racc = racc.saturating_mul(rd);
    }
    let mut shape = ob.clone();
    shape.extend([m, nn]);
    let mut out = alloc(node, &shape)?;
    if out.is_empty() {
        return Ok(vec![Value::f32(shape, out)?]);
    }
    let nb = numel(&ob).unwrap_or(0);
    let mut idx = vec![0usize; rank];
    let mut at = Vec::new(); // transposed lhs when adj_x
    let mut packed: Option<(usize, gemm::PackedB)> = None;
    let omat = m * nn;
    for bi in 0..nb {
        let loff: usize = idx.iter().zip(&lstr).map(|(i, s)| i * s).sum();
        let roff: usize = idx.iter().zip(&rstr).map(|(i, s)| i * s).sum();
        let (Some(lm), Some(rm)) = (l.get(loff..loff + lmat), r.get(roff..roff + rmat)) else {
            return node.err("operand batch offset out of range");
        };
        let a: &[f32] = if adj_x {
            at.clear();
            at.resize(m * k, 0.0);
            for (kk, row) in lm.chunks_exact(m.max(1)).enumerate().take(k) {
                for (i, &v) in row.iter().enumerate() {
                    at[i * k + kk] = v;
                }
            }
            &at
        } else {
            lm
        };
        let (brs, bcs) = if adj_y { (1, k) } else { (nn, 1) };
        let c = &mut out[bi * omat..(bi + 1) * omat];
        if m > 0 && nn > 0 && k > 0 {
            if packed.as_ref().map(|p| p.0) != Some(roff) {
                packed = Some((roff, kr(node, gemm::PackedB::pack(k, nn, rm, brs, bcs))?));
            }
            if let Some((_, pb)) = &packed {
                kr(node, gemm::gemm_packed(m, a, k, pb, c, nn))?;
            }
        }
        // advance the batch index
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < ob[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(vec![Value::f32(shape, out)?])
}

// ---------------------------------------------------------------- pooling

fn pool(node: &mut Node, inputs: &Inputs, kind: PoolKind) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    let [n, h, w, c] = rank4(node, "input", xs)?;
    let fh = pos_attr(node, "filter_height", 1)?;
    let fw = pos_attr(node, "filter_width", 1)?;
    let strides = (pos_attr(node, "stride_h", 1)?, pos_attr(node, "stride_w", 1)?);
    let padding = padding_attr(node)?;
    let win = kr(node, Window::new(n, h, w, c, fh, fw, strides, (1, 1), padding))?;
    let shape = vec![n, win.oh, win.ow, c];
    let mut out = alloc(node, &shape)?;
    kr(node, kc::pool2d(&win, kind, x, &mut out))?;
    finish(node, shape, out)
}

fn avg_pool(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    pool(node, inputs, PoolKind::Average)
}
fn max_pool(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    pool(node, inputs, PoolKind::Max)
}

// ---------------------------------------------------------------- resize

/// Input `[n,h,w,c]` and the requested `(out_h, out_w)`.
fn resize_args<'v>(node: &Node, inputs: &Inputs<'v>) -> Result<([usize; 4], &'v [f32], usize, usize)> {
    let (xs, x) = fin(node, inputs, 0)?;
    let dims = rank4(node, "input", xs)?;
    let (ss, s) = iin(node, inputs, 1)?;
    if ss.len() != 1 || s.len() != 2 {
        return node.err(format!("size must be a 2-element vector, has shape {ss:?}"));
    }
    if s.iter().any(|&v| !(0..=1 << 30).contains(&v)) {
        return node.err(format!("invalid size {s:?}"));
    }
    let (oh, ow) = (s[0] as usize, s[1] as usize);
    if (dims[1] == 0 && oh > 0) || (dims[2] == 0 && ow > 0) {
        return node.err("cannot resize an empty image to a non-empty one");
    }
    Ok((dims, x, oh, ow))
}

/// TFLite's scale: `in/out`, or `(in-1)/(out-1)` with align_corners.
fn resize_scale(input: usize, output: usize, align_corners: bool) -> f32 {
    if align_corners && output > 1 {
        (input as i64 - 1) as f32 / (output as i64 - 1) as f32
    } else {
        input as f32 / output as f32
    }
}

/// `ComputeInterpolationValues`: (scaled value, lower, upper) index.
fn interp(v: usize, scale: f32, half_pixel: bool, size: usize) -> (f32, usize, usize) {
    let s = if half_pixel { (v as f32 + 0.5) * scale - 0.5 } else { v as f32 * scale };
    let last = size as i64 - 1;
    let lo = (s.floor() as i64).max(0).min(last).max(0) as usize;
    let hi = (s.ceil() as i64).min(last).max(0) as usize;
    (s, lo, hi)
}

fn resize_bilinear(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let ([n, h, w, c], x, oh, ow) = resize_args(node, inputs)?;
    let align = node.op.attr_bool("align_corners", false);
    let half = node.op.attr_bool("half_pixel_centers", false);
    if align && half {
        return node.err("align_corners and half_pixel_centers cannot both be true");
    }
    let shape = vec![n, oh, ow, c];
    let mut out = alloc(node, &shape)?;
    if out.is_empty() {
        return Ok(vec![Value::f32(shape, out)?]);
    }
    let hs = resize_scale(h, oh, align);
    let ws = resize_scale(w, ow, align);
    let xs: Vec<(f32, usize, usize)> = (0..ow).map(|ox| interp(ox, ws, half, w)).collect();
    let px = |b: usize, y: usize, xx: usize| ((b * h + y) * w + xx) * c;
    let mut o = 0;
    for b in 0..n {
        for oy in 0..oh {
            let (iy, y0, y1) = interp(oy, hs, half, h);
            let dy = iy - y0 as f32;
            for &(ix, x0, x1) in &xs {
                let dx = ix - x0 as f32;
                let (p00, p10, p01, p11) = (px(b, y0, x0), px(b, y1, x0), px(b, y0, x1), px(b, y1, x1));
                let (r00, r10, r01, r11) = (&x[p00..p00 + c], &x[p10..p10 + c], &x[p01..p01 + c], &x[p11..p11 + c]);
                let dst = &mut out[o..o + c];
                for i in 0..c {
                    dst[i] = r00[i] * (1.0 - dy) * (1.0 - dx)
                        + r10[i] * dy * (1.0 - dx)
                        + r01[i] * (1.0 - dy) * dx
                        + r11[i] * dy * dx;
                }
                o += c;
            }
        }
    }
    Ok(vec![Value::f32(shape, out)?])
}

/// TFLite's `GetNearestNeighbor`.
fn nearest(v: usize, input: usize, output: usize, align: bool, half: bool) -> usize {
    let scale = resize_scale(input, output, align);
    let offset = if half { 0.5f32 } else { 0.0 };
    let s = (v as f32 + offset) * scale;
    let i = if align { s.round() as i64 } else { s.floor() as i64 };
    i.min(input as i64 - 1).max(0) as usize
}

fn resize_nearest(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let ([n, h, w, c], x, oh, ow) = resize_args(node, inputs)?;
    let align = node.op.attr_bool("align_corners", false);
    let half = node.op.attr_bool("half_pixel_centers", false);
    let shape = vec![n, oh, ow, c];
    let mut out = alloc(node, &shape)?;
    if out.is_empty() {
        return Ok(vec![Value::f32(shape, out)?]);
    }
    let xs: Vec<usize> = (0..ow).map(|ox| nearest(ox, w, ow, align, half)).collect();
    let mut o = 0;
    for b in 0..n {
        for oy in 0..oh {
            let iy = nearest(oy, h, oh, align, half);
            for &ix in &xs {
                let p = ((b * h + iy) * w + ix) * c;
                out[o..o + c].copy_from_slice(&x[p..p + c]);
                o += c;
            }
        }
    }
    Ok(vec![Value::f32(shape, out)?])
}

// ---------------------------------------------------------------- depth/space

fn depth_to_space(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    let [n, h, w, c] = rank4(node, "input", xs)?;
    let bs = pos_attr(node, "block_size", 0)?;
    let bb = bs * bs;
    if c % bb != 0 {
        return node.err(format!("depth {c} is not divisible by block_size^2 = {bb}"));
    }
    let oc = c / bb;
    let (oh, ow) = match (h.checked_mul(bs), w.checked_mul(bs)) {
        (Some(a), Some(b)) => (a, b),
        _ => return node.err("output size overflows"),
    };
    let shape = vec![n, oh, ow, oc];
    let mut out = alloc(node, &shape)?;
    if oc > 0 {
        // output[b, y*bs+by, x*bs+bx, c] = input[b, y, x, (by*bs+bx)*oc + c]
        for (p, opx) in out.chunks_exact_mut(oc).enumerate() {
            let ox = p % ow;
            let oy = (p / ow) % oh;
            let b = p / (ow * oh);
            let ib = ((b * h + oy / bs) * w + ox / bs) * c + ((oy % bs) * bs + ox % bs) * oc;
            opx.copy_from_slice(&x[ib..ib + oc]);
        }
    }
    Ok(vec![Value::f32(shape, out)?])
}

fn space_to_depth(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    let [n, h, w, c] = rank4(node, "input", xs)?;
    let bs = pos_attr(node, "block_size", 0)?;
    if h % bs != 0 || w % bs != 0 {
        return node.err(format!("height {h} and width {w} must be divisible by block_size {bs}"));
    }
    let (oh, ow) = (h / bs, w / bs);
    let Some(oc) = c.checked_mul(bs * bs) else { return node.err("output depth overflows") };
    let shape = vec![n, oh, ow, oc];
    let mut out = alloc(node, &shape)?;
    if c > 0 {
        // output[b, y, x, (by*bs+bx)*c + ch] = input[b, y*bs+by, x*bs+bx, ch]
        for (p, ipx) in x.chunks_exact(c).enumerate() {
            let ix = p % w;
            let iy = (p / w) % h;
            let b = p / (w * h);
            let ob = ((b * oh + iy / bs) * ow + ix / bs) * oc + ((iy % bs) * bs + ix % bs) * c;
            out[ob..ob + c].copy_from_slice(ipx);
        }
    }
    Ok(vec![Value::f32(shape, out)?])
}

// ---------------------------------------------------------------- padding

/// Paddings `[rank, 2]` as (before, after) pairs, non-negative.
fn paddings(node: &Node, inputs: &Inputs, rank: usize) -> Result<Vec<(usize, usize)>> {
    if rank > MAX_PAD_RANK {
        return node.err(format!("rank {rank} input; padding supports up to rank {MAX_PAD_RANK}"));
    }
    let (ps, p) = iin(node, inputs, 1)?;
    if p.len() != rank * 2 || (ps.len() == 2 && (ps[0] != rank || ps[1] != 2)) || ps.len() > 2 {
        return node.err(format!("paddings must have shape [{rank}, 2], has {ps:?}"));
    }
    p.chunks_exact(2)
        .map(|ab| {
            if ab[0] < 0 || ab[1] < 0 || ab[0] > 1 << 30 || ab[1] > 1 << 30 {
                node.err(format!("invalid paddings {p:?}"))
            } else {
                Ok((ab[0] as usize, ab[1] as usize))
            }
        })
        .collect()
}

/// Fill `out` (shape `oshape`) from `x` (shape `xshape`) where `maps[d][o]`
/// gives the source index along dim `d` of output index `o`, or `None` for
/// a padding cell (filled with `value`).
fn gather_map(x: &[f32], xshape: &[usize], oshape: &[usize], maps: &[Vec<Option<usize>>], value: f32, out: &mut [f32]) {
    let rank = oshape.len();
    if rank == 0 {
        if let (Some(o), Some(&v)) = (out.first_mut(), x.first()) {
            *o = v;
        }
        return;
    }
    let mut xstr = vec![1usize; rank];
    let mut ostr = vec![1usize; rank];
    for d in (0..rank - 1).rev() {
        xstr[d] = xstr[d + 1] * xshape[d + 1];
        ostr[d] = ostr[d + 1] * oshape[d + 1];
    }
    #[allow(clippy::too_many_arguments)]
    fn rec(d: usize, xo: usize, oo: usize, x: &[f32], xstr: &[usize], ostr: &[usize], oshape: &[usize], maps: &[Vec<Option<usize>>], value: f32, out: &mut [f32]) {
        let last = d + 1 == oshape.len();
        for (o, src) in maps[d].iter().enumerate() {
            let ob = oo + o * ostr[d];
            match src {
                None => out[ob..ob + ostr[d]].fill(value),
                Some(i) if last => out[ob] = x[xo + i],
                Some(i) => rec(d + 1, xo + i * xstr[d], ob, x, xstr, ostr, oshape, maps, value, out),
            }
        }
    }
    rec(0, 0, 0, x, &xstr, &ostr, oshape, maps, value, out);
}

fn pad_common(node: &mut Node, inputs: &Inputs, value: f32) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    let pads = paddings(node, inputs, xs.len())?;
    let mut shape = Vec::with_capacity(xs.len());
    for (&d, &(a, b)) in xs.iter().zip(&pads) {
        match d.checked_add(a).and_then(|s| s.checked_add(b)) {
            Some(s) => shape.push(s),
            None => return node.err("padded size overflows"),
        }
    }
    let mut out = alloc(node, &shape)?;
    if !out.is_empty() {
        let maps: Vec<Vec<Option<usize>>> = xs
            .iter()
            .zip(&pads)
            .zip(&shape)
            .map(|((&n, &(a, _)), &o)| (0..o).map(|i| i.checked_sub(a).filter(|&j| j < n)).collect())
            .collect();
        gather_map(x, xs, &shape, &maps, value, &mut out);
    }
    Ok(vec![Value::f32(shape, out)?])
}

fn pad(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    pad_common(node, inputs, 0.0)
}

fn padv2(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let value = match opt_fin(node, inputs, 2)? {
        None => 0.0,
        Some((_, v)) if v.len() == 1 => v[0],
        Some((s, _)) => return node.err(format!("constant_values must be a single value, has shape {s:?}")),
    };
    pad_common(node, inputs, value)
}

fn mirror_pad(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (xs, x) = fin(node, inputs, 0)?;
    let pads = paddings(node, inputs, xs.len())?;
    let reflect = match node.op.attr_i64("mode", 0) {
        0 => true,
        1 => false,
        m => return node.err(format!("unknown mirror pad mode {m}")),
    };
    let mut shape = Vec::with_capacity(xs.len());
    for (&n, &(a, b)) in xs.iter().zip(&pads) {
        let limit = if reflect { n.saturating_sub(1) } else { n };
        if a > limit || b > limit {
            return node.err(format!(
                "{} paddings {:?} exceed what a dimension of {n} allows",
                if reflect { "REFLECT" } else { "SYMMETRIC" },
                (a, b)
            ));
        }
        shape.push(n + a + b);
    }
    let mut out = alloc(node, &shape)?;
    if !out.is_empty() {
        let maps: Vec<Vec<Option<usize>>> = xs
            .iter()
            .zip(&pads)
            .zip(&shape)
            .map(|((&n, &(a, _)), &o)| {
                (0..o)
                    .map(|i| {
                        let j = i as i64 - a as i64;
                        let n = n as i64;
                        let src = if j < 0 {
                            if reflect { -j } else { -j - 1 }
                        } else if j >= n {
                            if reflect { 2 * n - 2 - j } else { 2 * n - 1 - j }
                        } else {
                            j
                        };
                        Some(src.clamp(0, n - 1) as usize)
                    })
                    .collect()
            })
            .collect();
        gather_map(x, xs, &shape, &maps, 0.0, &mut out);
    }
    Ok(vec![Value::f32(shape, out)?])
}
