//! AVERAGE_POOL_2D, MAX_POOL_2D, MEAN and SUM on int8 / int16 tensors, as
//! LiteRT's reference kernels:
//! - average pool: the sum of the window's raw values (zero points ignored:
//!   input and output share the quantization) divided by the number of
//!   taps inside the image, rounded half away from zero, then clamped to
//!   the fused activation's range;
//! - max pool: the window's maximum, clamped;
//! - MEAN: the raw sum over the reduced axes minus `zp_in * count`,
//!   rescaled by the multiplier of `s_in / s_out` folded with `1/count` as
//!   `(multiplier << shift) / count`, plus `zp_out`;
//! - SUM: as LiteRT's builtin kernel, in float:
//!   `round(sum * s + (-zp_in * s) * count) + zp_out` with `s = s_in / s_out`.
//!   (LiteRT's reference SUM reads int8/int16 data as uint8, so its
//!   outputs are not a usable reference.)

use super::{act_range, checked_numel, input_tensor, int_input, is_quantized, output_tensor, qin, qout, qp, BResult, Build, Q};
use crate::engine::ops::Prepared;
use crate::engine::{Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph};
use crate::kernels::conv::{Padding, Window};
use crate::kernels::int8::fixedpoint as fx;

pub(crate) struct Pool {
    max: bool,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    padding: Padding,
    lo: i32,
    hi: i32,
}

fn pos(op: &Op, name: &str) -> BResult<usize> {
    let v = op.attr_i64(name, 1);
    if v <= 0 || v > (1 << 20) {
        return Err(format!("{name} = {v} must be a positive size"));
    }
    Ok(v as usize)
}

impl Build for Pool {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let y = output_tensor(op, sg, 0)?;
        let (lo, hi) = act_range(op, y, qp(y)?)?;
        let c = op.attr_i64("padding", 0);
        Ok(Pool {
            max: op.kind.builtin() == Some(BuiltinOp::MAX_POOL_2D),
            kh: pos(op, "filter_height")?,
            kw: pos(op, "filter_width")?,
            sh: pos(op, "stride_h")?,
            sw: pos(op, "stride_w")?,
            padding: Padding::from_code(c).ok_or_else(|| format!("unknown padding code {c}"))?,
            lo,
            hi,
        })
    }
}

impl Pool {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let (xs, x) = qin::<T>(node, inputs, 0)?;
        let &[n, h, w, c] = xs else { return node.err(format!("input must be 4-D, has shape {xs:?}")) };
        let win = match Window::new(n, h, w, c, self.kh, self.kw, (self.sh, self.sw), (1, 1), self.padding) {
            Ok(v) => v,
            Err(e) => return node.err(e),
        };
        let shape = vec![n, win.oh, win.ow, c];
        let mut out = vec![T::default(); checked_numel(node, &shape)?];
        for b in 0..n {
            for oy in 0..win.oh {
                let y0 = (oy * self.sh) as isize - win.pad_t as isize;
                let ys = (-y0).max(0) as usize;
                let ye = (self.kh as isize).min(h as isize - y0).max(0) as usize;
                for ox in 0..win.ow {
                    let x0 = (ox * self.sw) as isize - win.pad_l as isize;
                    let xs_ = (-x0).max(0) as usize;
                    let xe = (self.kw as isize).min(w as isize - x0).max(0) as usize;
                    let count = (ye.saturating_sub(ys) * xe.saturating_sub(xs_)) as i32;
                    for ch in 0..c {
                        let mut acc: i32 = if self.max { T::MIN } else { 0 };
                        for fy in ys..ye {
                            let iy = (y0 + fy as isize) as usize;
                            for fx_ in xs_..xe {
                                let ix = (x0 + fx_ as isize) as usize;
                                let v = x[((b * h + iy) * w + ix) * c + ch].get();
                                acc = if self.max { acc.max(v) } else { acc.wrapping_add(v) };
                            }
                        }
                        if !self.max {
                            if count == 0 {
                                return node.err("a pooling window lies outside the input");
                            }
                            // C++ division truncates toward zero.
                            acc = if acc > 0 { (acc + count / 2) / count } else { (acc - count / 2) / count };
                        }
                        out[((b * win.oh + oy) * win.ow + ox) * c + ch] = T::cast(acc.clamp(self.lo, self.hi));
                    }
                }
            }
        }
        qout(node, shape, out)
    }
}

impl Prepared for Pool {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match node.input_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}

pub(super) fn check_mean_sum(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let x = input_tensor(op, sg, 0)?;
    let y = output_tensor(op, sg, 0)?;
    if !matches!(x.dtype, DType::I8 | DType::I16 | DType::U8) || x.dtype != y.dtype {
        return Err(format!("{} -> {}: the integer engine runs int8/int16 activations", x.dtype, y.dtype));
    }
    if !is_quantized(x) || !is_quantized(y) {
        return Err("integer tensors without quantization parameters".into());
    }
    Ok(())
}

pub(crate) struct MeanSum {
    sum: bool,
    zp_in: i32,
    zp_out: i32,
    mult: i32,
    shift: i32,
    /// SUM: `s_in / s_out` in float.
    scale: f32,
}

impl Build for MeanSum {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (qx, qy) = (qp(input_tensor(op, sg, 0)?)?, qp(output_tensor(op, sg, 0)?)?);
        if input_tensor(op, sg, 0)?.dtype == DType::I16 && (qx.zp != 0 || qy.zp != 0) {
            return Err("int16 MEAN/SUM needs zero points of 0".into());
        }
        let (mult, shift) = fx::quantize_multiplier(qx.scale as f64 / qy.scale as f64);
        Ok(MeanSum { sum: op.kind.builtin() == Some(BuiltinOp::SUM), zp_in: qx.zp, zp_out: qy.zp, mult, shift, scale: qx.scale / qy.scale })
    }
}

impl MeanSum {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let (xs, x) = qin::<T>(node, inputs, 0)?;
        let axes = int_input(node, inputs, 1, "axis")?;
        let rank = xs.len();
        let mut reduced = vec![false; rank];
        for &a in &axes {
            let r = rank as i64;
            if a < -r || a >= r.max(1) {
                return node.err(format!("axis {a} is out of range for rank {rank}"));
            }
            if rank > 0 {
                reduced[a.rem_euclid(r) as usize] = true;
            }
        }
        let keep = node.op.attr_bool("keep_dims", false);
        let shape: Vec<usize> = if keep {
            xs.iter().zip(&reduced).map(|(&d, &r)| if r { 1 } else { d }).collect()
        } else {
            xs.iter().zip(&reduced).filter(|(_, &r)| !r).map(|(&d, _)| d).collect()
        };
        let kept = checked_numel(node, &shape)?;
        let count: usize = xs.iter().zip(&reduced).filter(|(_, &r)| r).map(|(&d, _)| d).product();
        let mut sums = vec![0i32; kept];
        let wide: Vec<i32> = x.iter().map(|v| v.get()).collect();
        if crate::kernels::elementwise::reduce(&wide, xs, &reduced, &mut sums, |a, b| a.wrapping_add(b)).is_err() {
            return node.err("reduction shape mismatch");
        }
        let mut out = vec![T::default(); kept];
        if count == 0 || x.is_empty() {
            return qout(node, shape, out);
        }
        if self.sum {
            let bias = -(self.zp_in as f32) * self.scale * count as f32;
            for (o, &s) in out.iter_mut().zip(&sums) {
                let v = ((s as f32 * self.scale + bias).round() as i32).wrapping_add(self.zp_out);
                *o = T::cast(v.clamp(T::MIN, T::MAX));
            }
            return qout(node, shape, out);
        }
        let (mut mult, mut shift) = (self.mult, self.shift);
        {
            let lz = 63 - (count as u64).leading_zeros() as i32;
            let s = lz.min(32).min(31 + shift);
            mult = (((mult as i64) << s.max(0)) / count as i64) as i32;
            shift -= s;
        }
        let zc = self.zp_in.wrapping_mul(count as i32);
        for (o, &s) in out.iter_mut().zip(&sums) {
            let v = fx::mbqm(s.wrapping_sub(zc), mult, shift).wrapping_add(self.zp_out);
            *o = T::cast(v.clamp(T::MIN, T::MAX));
        }
        qout(node, shape, out)
    }
}

impl Prepared for MeanSum {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match node.input_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}
