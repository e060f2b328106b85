//! QUANTIZE between integer types (requantization), CONCATENATION of
//! inputs with different quantization, PAD / PADV2, RESIZE_BILINEAR and
//! RESIZE_NEAREST_NEIGHBOR on quantized tensors, and data movement whose
//! input and output quantization differ (LiteRT copies the raw values).
//!
//! - QUANTIZE: `zp_out + MultiplyByQuantizedMultiplier(x - zp_in, m, s)`
//!   with the multiplier of `double(s_in) / double(s_out)`;
//! - CONCATENATION: inputs on the output's quantization are copied, others
//!   requantized in float as LiteRT's `ConcatenationWithScaling`;
//! - PAD pads with the output zero point, PADV2 with its constant;
//! - RESIZE_BILINEAR: the integer kernel with 10-bit fractional positions;
//!   RESIZE_NEAREST_NEIGHBOR: the float index computation, raw copies.

use super::{checked_numel, input_tensor, int_input, is_quantized, output_tensor, qin, qout, qp, BResult, Build, Q};
use crate::engine::ops::{Prepared, RunFn};
use crate::engine::{Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph};
use crate::kernels::int8::fixedpoint as fx;

fn q_int(d: DType) -> bool {
    matches!(d, DType::I8 | DType::U8 | DType::I16)
}

// ---------------------------------------------------------------- QUANTIZE

pub(super) fn check_requantize(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let x = input_tensor(op, sg, 0)?;
    let y = output_tensor(op, sg, 0)?;
    if !q_int(x.dtype) || !q_int(y.dtype) {
        return Err(format!("QUANTIZE {} -> {} is not an integer requantization", x.dtype, y.dtype));
    }
    if !is_quantized(x) || !is_quantized(y) {
        return Err("integer tensors without quantization parameters".into());
    }
    Ok(())
}

pub(crate) struct Requantize {
    zp_in: i32,
    zp_out: i32,
    mult: i32,
    shift: i32,
}

impl Build for Requantize {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (x, y) = (input_tensor(op, sg, 0)?, output_tensor(op, sg, 0)?);
        let (qx, qy) = (qp(x)?, qp(y)?);
        if x.dtype == DType::I16 && y.dtype == DType::I16 && (qx.zp != 0 || qy.zp != 0) {
            return Err("int16 requantization needs zero points of 0".into());
        }
        let (mult, shift) = fx::quantize_multiplier(qx.scale as f64 / qy.scale as f64);
        Ok(Requantize { zp_in: qx.zp, zp_out: qy.zp, mult, shift })
    }
}

impl Requantize {
    fn go<I: Q, O: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let (s, x) = qin::<I>(node, inputs, 0)?;
        let out = x
            .iter()
            .map(|&v| O::cast(fx::mbqm(v.get() - self.zp_in, self.mult, self.shift).wrapping_add(self.zp_out).clamp(O::MIN, O::MAX)))
            .collect();
        qout(node, s.to_vec(), out)
    }
}

impl Prepared for Requantize {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let i = node.input_tensor(0).map(|t| t.dtype);
        let o = node.output_tensor(0).map(|t| t.dtype);
        let v = match (i, o) {
            (Some(DType::I8), Some(DType::I8)) => self.go::<i8, i8>(node, inputs)?,
            (Some(DType::I8), Some(DType::U8)) => self.go::<i8, u8>(node, inputs)?,
            (Some(DType::I8), Some(DType::I16)) => self.go::<i8, i16>(node, inputs)?,
            (Some(DType::U8), Some(DType::I8)) => self.go::<u8, i8>(node, inputs)?,
            (Some(DType::U8), Some(DType::U8)) => self.go::<u8, u8>(node, inputs)?,
            (Some(DType::U8), Some(DType::I16)) => self.go::<u8, i16>(node, inputs)?,
            (Some(DType::I16), Some(DType::I8)) => self.go::<i16, i8>(node, inputs)?,
            (Some(DType::I16), Some(DType::I16)) => self.go::<i16, i16>(node, inputs)?,
            (a, b) => return node.err(format!("QUANTIZE {a:?} -> {b:?} is not supported")),
        };
        Ok(vec![v])
    }
}

// ---------------------------------------------------------------- CONCATENATION

pub(super) fn check_concat(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let y = output_tensor(op, sg, 0)?;
    if !q_int(y.dtype) || !is_quantized(y) {
        return Err(format!("{} output: not a quantized integer tensor", y.dtype));
    }
    for i in 0..op.inputs.len() {
        let t = input_tensor(op, sg, i)?;
        if t.dtype != y.dtype || !is_quantized(t) {
            return Err(format!("input {i} is {} (output {})", t.dtype, y.dtype));
        }
    }
    Ok(())
}

pub(crate) struct Concat {
    ins: Vec<super::Qp>,
    out: super::Qp,
}

impl Build for Concat {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let ins = (0..op.inputs.len()).map(|i| qp(input_tensor(op, sg, i)?)).collect::<BResult<_>>()?;
        Ok(Concat { ins, out: qp(output_tensor(op, sg, 0)?)? })
    }
}

impl Concat {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let vals: Vec<(&[usize], &[T])> = (0..inputs.len()).map(|i| qin::<T>(node, inputs, i)).collect::<Result<_>>()?;
        let Some(&(s0, _)) = vals.first() else { return node.err("no inputs") };
        let rank = s0.len();
        let a = node.op.attr_i64("axis", 0);
        if rank == 0 || a < -(rank as i64) || a >= rank as i64 {
            return node.err(format!("axis {a} is out of range for rank {rank}"));
        }
        let axis = a.rem_euclid(rank as i64) as usize;
        let mut shape = s0.to_vec();
        shape[axis] = 0;
        for (s, _) in &vals {
            if s.len() != rank || s.iter().enumerate().any(|(d, &v)| d != axis && v != s0[d]) {
                return node.err(format!("input shape {s:?} does not match {s0:?} outside axis {axis}"));
            }
            shape[axis] += s[axis];
        }
        let total = checked_numel(node, &shape)?;
        let outer: usize = s0[..axis].iter().product();
        let inner: usize = s0[axis + 1..].iter().product();
        let inv = 1.0f32 / self.out.scale;
        let mut out = Vec::with_capacity(total);
        for k in 0..outer {
            for ((s, x), q) in vals.iter().zip(&self.ins) {
                let n = s[axis] * inner;
                let src = &x[k * n..(k + 1) * n];
                if q.zp == self.out.zp && q.scale == self.out.scale {
                    out.extend_from_slice(src);
                } else {
                    let scale = q.scale * inv;
                    let bias = -(q.zp as f32) * scale;
                    out.extend(src.iter().map(|&v| {
                        let r = (((v.get() as f32) * scale + bias).round() as i32).wrapping_add(self.out.zp);
                        T::cast(r.clamp(T::MIN, T::MAX))
                    }));
                }
            }
        }
        qout(node, shape, out)
    }
}

impl Prepared for Concat {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match node.output_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}

// ---------------------------------------------------------------- PAD / PADV2

pub(super) fn check_pad(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    super::check_unary(op, sg)?;
    if op.kind.builtin() == Some(BuiltinOp::PADV2) {
        if let Ok(c) = input_tensor(op, sg, 2) {
            if c.dtype != input_tensor(op, sg, 0)?.dtype {
                return Err(format!("PADV2 constant of {} does not match the input", c.dtype));
            }
        }
    }
    Ok(())
}

pub(crate) struct Pad {
    /// The value written in the padding, when known at plan time.
    fill: i32,
}

impl Build for Pad {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        Ok(Pad { fill: qp(output_tensor(op, sg, 0)?)?.zp })
    }
}

impl Pad {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let (xs, x) = qin::<T>(node, inputs, 0)?;
        let pads = int_input(node, inputs, 1, "paddings")?;
        let rank = xs.len();
        if pads.len() != rank * 2 {
            return node.err(format!("paddings have {} values for rank {rank}", pads.len()));
        }
        let mut fill = T::cast(self.fill);
        if node.op.kind.builtin() == Some(BuiltinOp::PADV2) {
            if let Some(c) = inputs.get(2).copied().flatten() {
                match T::of(&c.data) {
                    Some([v, ..]) => fill = *v,
                    _ => return node.err("PADV2 constant must be one value of the input's type"),
                }
            }
        }
        let mut shape = Vec::with_capacity(rank);
        for d in 0..rank {
            let (b, a) = (pads[2 * d], pads[2 * d + 1]);
            if b < 0 || a < 0 || b > (1 << 30) || a > (1 << 30) {
                return node.err(format!("paddings {pads:?} must be non-negative"));
            }
            shape.push(xs[d] + b as usize + a as usize);
        }
        let total = checked_numel(node, &shape)?;
        let mut out = vec![fill; total];
        if x.is_empty() || rank == 0 {
            if rank == 0 {
                out.copy_from_slice(x);
            }
            return qout(node, shape, out);
        }
        // Copy input rows (last dim contiguous) into place.
        let inner = xs[rank - 1];
        let rows = x.len() / inner.max(1);
        let mut idx = vec![0usize; rank];
        let mut ostrides = vec![1usize; rank];
        for d in (0..rank.saturating_sub(1)).rev() {
            ostrides[d] = ostrides[d + 1] * shape[d + 1];
        }
        for r in 0..rows {
            let mut off = 0;
            for d in 0..rank {
                off += (idx[d] + pads[2 * d] as usize) * ostrides[d];
            }
            out[off..off + inner].copy_from_slice(&x[r * inner..(r + 1) * inner]);
            for d in (0..rank.saturating_sub(1)).rev() {
                idx[d] += 1;
                if idx[d] < xs[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        qout(node, shape, out)
    }
}

impl Prepared for Pad {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match node.input_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}

// ---------------------------------------------------------------- resizes

pub(super) fn check_resize(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let x = input_tensor(op, sg, 0)?;
    let y = output_tensor(op, sg, 0)?;
    if !q_int(x.dtype) || x.dtype != y.dtype {
        return Err(format!("{} -> {}: the integer engine runs int8/int16 activations", x.dtype, y.dtype));
    }
    Ok(())
}

pub(crate) struct Resize {
    bilinear: bool,
}

impl Build for Resize {
    fn build(op: &Op, _sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let bilinear = op.kind.builtin() == Some(BuiltinOp::RESIZE_BILINEAR);
        if op.attr_bool("half_pixel_centers", false) && op.attr_bool("align_corners", false) {
            return Err("half_pixel_centers and align_corners cannot both be set".into());
        }
        Ok(Resize { bilinear })
    }
}

/// TFLite `GetNearestNeighbor`.
fn nearest(v: usize, input: usize, output: usize, align: bool, half: bool) -> usize {
    let scale = if align && output > 1 { (input - 1) as f32 / (output - 1) as f32 } else { input as f32 / output as f32 };
    let offset = if half { 0.5f32 } else { 0.0 };
    let p = (v as f32 + offset) * scale;
    let r = if align { p.round() as i32 } else { p.floor() as i32 };
    r.min(input as i32 - 1).max(0) as usize
}

/// TFLite `ComputeInterpolationValuesInteger` (in int64: a corrupt size
/// must not overflow).
fn interp(value: i64, scale_10: i64, half: bool, input: i64) -> (i64, i64, i64) {
    let scaled = if half { value * scale_10 + scale_10 / 2 - (1 << 9) } else { value * scale_10 };
    // (The lower bound is clamped too: TFLite's never leaves the input for
    // valid sizes; a corrupt size must not index outside it.)
    let lower = (scaled / (1 << 10)).clamp(0, input - 1);
    let upper = ((scaled + (1 << 10) - 1) / (1 << 10)).clamp(0, input - 1);
    (scaled, lower, upper)
}

impl Resize {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let (xs, x) = qin::<T>(node, inputs, 0)?;
        let &[n, h, w, c] = xs else { return node.err(format!("input must be 4-D, has shape {xs:?}")) };
        let size = int_input(node, inputs, 1, "size")?;
        let (oh, ow) = match size[..] {
            [a, b] if a > 0 && b > 0 && a < (1 << 24) && b < (1 << 24) => (a as usize, b as usize),
            _ => return node.err(format!("size {size:?} must be two positive values")),
        };
        if h == 0 || w == 0 {
            return node.err("empty input");
        }
        let (align, half) = (node.op.attr_bool("align_corners", false), node.op.attr_bool("half_pixel_centers", false));
        let shape = vec![n, oh, ow, c];
        let mut out = vec![T::default(); checked_numel(node, &shape)?];
        let px = |b: usize, y: usize, xx: usize| ((b * h + y) * w + xx) * c;
        if !self.bilinear {
            for b in 0..n {
                for y in 0..oh {
                    let iy = nearest(y, h, oh, align, half);
                    for xx in 0..ow {
                        let ix = nearest(xx, w, ow, align, half);
                        let o = ((b * oh + y) * ow + xx) * c;
                        out[o..o + c].copy_from_slice(&x[px(b, iy, ix)..px(b, iy, ix) + c]);
                    }
                }
            }
            return qout(node, shape, out);
        }
        let (hi, wi, ohi, owi) = (h as i64, w as i64, oh as i64, ow as i64);
        let mut hs = ((1 << 10) * hi + ohi / 2) / ohi;
        let mut ws = ((1 << 10) * wi + owi / 2) / owi;
        if align && oh > 1 {
            hs = ((1 << 10) * (hi - 1) + (ohi - 1) / 2) / (ohi - 1);
        }
        if align && ow > 1 {
            ws = ((1 << 10) * (wi - 1) + (owi - 1) / 2) / (owi - 1);
        }
        for b in 0..n {
            for y in 0..oh {
                let (iy, y0, y1) = interp(y as i64, hs, half, hi);
                for xx in 0..ow {
                    let (ix, x0, x1) = interp(xx as i64, ws, half, wi);
                    let (fy, fx_) = ((iy - (1 << 10) * y0).clamp(0, 1 << 10), (ix - (1 << 10) * x0).clamp(0, 1 << 10));
                    let o = ((b * oh + y) * ow + xx) * c;
                    let (p00, p10) = (px(b, y0 as usize, x0 as usize), px(b, y1 as usize, x0 as usize));
                    let (p01, p11) = (px(b, y0 as usize, x1 as usize), px(b, y1 as usize, x1 as usize));
                    for ch in 0..c {
                        let v = x[p00 + ch].get() as i64 * ((1 << 10) - fy) * ((1 << 10) - fx_)
                            + x[p10 + ch].get() as i64 * fy * ((1 << 10) - fx_)
                            + x[p01 + ch].get() as i64 * ((1 << 10) - fy) * fx_
                            + x[p11 + ch].get() as i64 * fy * fx_;
                        let round: i64 = if v > 0 { 1 << 19 } else { -(1 << 19) };
                        out[o + ch] = T::cast(((v + round) / (1 << 20)) as i32);
                    }
                }
            }
        }
        qout(node, shape, out)
    }
}

impl Prepared for Resize {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match node.input_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}

// ---------------------------------------------------------------- data movement

pub(super) fn check_move(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let x = input_tensor(op, sg, 0)?;
    if !q_int(x.dtype) {
        return Err(format!("{} input is not a quantized integer tensor", x.dtype));
    }
    for &t in &op.outputs {
        let y = sg.tensors.get(t).ok_or("output tensor out of range")?;
        if y.dtype != x.dtype {
            return Err(format!("{} -> {} is not data movement", x.dtype, y.dtype));
        }
    }
    Ok(())
}

/// Data movement between tensors whose quantization differs: LiteRT moves
/// the raw values, so the array family's any-dtype implementation applies.
pub(crate) struct Move {
    run: RunFn,
}

impl Build for Move {
    fn build(op: &Op, _sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let b = op.kind.builtin().ok_or("custom op")?;
        let imp = crate::engine::ops::array::register(b).ok_or_else(|| format!("{} has no data-movement kernel", op.kind.name()))?;
        Ok(Move { run: imp.run })
    }
}

impl Prepared for Move {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        (self.run)(node, inputs)
    }
}

// ---------------------------------------------------------------- DEPTH_TO_SPACE / SPACE_TO_DEPTH

pub(crate) struct Blocks {
    to_space: bool,
    bs: usize,
}

impl Build for Blocks {
    fn build(op: &Op, _sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let bs = op.attr_i64("block_size", 0);
        if bs <= 0 || bs > (1 << 16) {
            return Err(format!("block_size {bs} must be positive"));
        }
        Ok(Blocks { to_space: op.kind.builtin() == Some(BuiltinOp::DEPTH_TO_SPACE), bs: bs as usize })
    }
}

impl Blocks {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let (xs, x) = qin::<T>(node, inputs, 0)?;
        let &[n, h, w, c] = xs else { return node.err(format!("input must be 4-D, has shape {xs:?}")) };
        let bs = self.bs;
        if self.to_space {
            if c % (bs * bs) != 0 {
                return node.err(format!("depth {c} is not divisible by block_size^2"));
            }
            let (oh, ow, oc) = (h * bs, w * bs, c / (bs * bs));
            let shape = vec![n, oh, ow, oc];
            let mut out = vec![T::default(); checked_numel(node, &shape)?];
            if oc > 0 {
                // output[b, y*bs+by, x*bs+bx, c] = input[b, y, x, (by*bs+bx)*oc + c]
                for (p, o) in out.chunks_exact_mut(oc).enumerate() {
                    let (ox, oy, b) = (p % ow, (p / ow) % oh, p / (ow * oh));
                    let i = ((b * h + oy / bs) * w + ox / bs) * c + ((oy % bs) * bs + ox % bs) * oc;
                    o.copy_from_slice(&x[i..i + oc]);
                }
            }
            qout(node, shape, out)
        } else {
            if h % bs != 0 || w % bs != 0 {
                return node.err(format!("height {h} and width {w} must be divisible by block_size {bs}"));
            }
            let (oh, ow, oc) = (h / bs, w / bs, c * bs * bs);
            let shape = vec![n, oh, ow, oc];
            let mut out = vec![T::default(); checked_numel(node, &shape)?];
            if c > 0 {
                for (p, px) in x.chunks_exact(c).enumerate() {
                    let (ix, iy, b) = (p % w, (p / w) % h, p / (w * h));
                    let o = ((b * oh + iy / bs) * ow + ix / bs) * oc + ((iy % bs) * bs + ix % bs) * c;
                    out[o..o + c].copy_from_slice(px);
                }
            }
            qout(node, shape, out)
        }
    }
}

impl Prepared for Blocks {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match node.input_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}
