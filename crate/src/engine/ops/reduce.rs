//! Reductions over an axes tensor: MEAN, SUM, REDUCE_MAX, REDUCE_MIN,
//! REDUCE_PROD (float32, int32, int64), with `keep_dims`, negative and
//! duplicate axes.
//!
//! As TFLite's reference: each output accumulates its inputs in row-major
//! order in the element type (float MEAN sums in float and divides by the
//! count; int MEAN sums in int64 and truncates), MAX/MIN start from the
//! type's lowest/highest value and use `in > acc` / `in < acc`, integer
//! SUM/PROD wrap.

use super::array::{ints, pooled_f32, value};
use super::{OpImpl, RunFn};
use crate::engine::{req, Data, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::BuiltinOp;
use crate::kernels::elementwise::reduce as fold;

pub fn register(op: BuiltinOp) -> Option<OpImpl> {
    let run: RunFn = match op {
        BuiltinOp::MEAN => mean,
        BuiltinOp::SUM => sum,
        BuiltinOp::REDUCE_MAX => reduce_max,
        BuiltinOp::REDUCE_MIN => reduce_min,
        BuiltinOp::REDUCE_PROD => reduce_prod,
        _ => return None,
    };
    // Float32 nodes, or int32/int64 ones (same rule as the binary ops).
    Some(OpImpl { run, check: check_reduce })
}

fn check_reduce(op: &crate::ir::Op, sg: &crate::ir::Subgraph) -> std::result::Result<(), String> {
    use crate::ir::DType;
    let out = op.outputs.first().and_then(|&t| sg.tensors.get(t));
    match out.map(|t| t.dtype) {
        Some(d @ (DType::I32 | DType::I64)) => {
            let inp = op.input(0).and_then(|t| sg.tensors.get(t));
            match inp {
                Some(t) if t.dtype == d && !t.quant.as_ref().is_some_and(|q| q.is_quantized()) => Ok(()),
                Some(t) => Err(format!("{} input with a {d} output", t.dtype)),
                None => Err("missing input".into()),
            }
        }
        _ => {
            // The axes input is an int constant or activation: only the
            // data input and output must be float32.
            let mut data_only = op.clone();
            data_only.inputs.truncate(1);
            super::float_check(&data_only, sg)
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Mean,
    Sum,
    Max,
    Min,
    Prod,
}

fn mean(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_reduce(node, inputs, Kind::Mean)
}
fn sum(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_reduce(node, inputs, Kind::Sum)
}
fn reduce_max(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_reduce(node, inputs, Kind::Max)
}
fn reduce_min(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_reduce(node, inputs, Kind::Min)
}
fn reduce_prod(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_reduce(node, inputs, Kind::Prod)
}

/// Resolved reduction: which dims are reduced, the output shape, and how
/// many inputs each output folds.
struct Plan {
    reduced: Vec<bool>,
    shape: Vec<usize>,
    count: usize,
}

fn plan(node: &Node, x: &Value, axes: &[i64]) -> Result<Plan> {
    let rank = x.rank();
    let mut reduced = vec![false; rank];
    if rank > 0 {
        for &a in axes {
            let d = if a < 0 { a + rank as i64 } else { a };
            if d < 0 || d >= rank as i64 {
                return node.err(format!("axis {a} is out of range for rank {rank}"));
            }
            reduced[d as usize] = true;
        }
    }
    let keep = node.op.attr_bool("keep_dims", false);
    let mut shape = Vec::with_capacity(rank);
    let mut count = 1usize;
    for (d, &s) in x.shape.iter().enumerate() {
        if reduced[d] {
            count *= s;
            if keep {
                shape.push(1);
            }
        } else {
            shape.push(s);
        }
    }
    Ok(Plan { reduced, shape, count })
}

fn run_reduce(node: &mut Node, inputs: &Inputs, kind: Kind) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let axes = ints(node, req(node, inputs, 1)?, "axes")?;
    let p = plan(node, x, &axes)?;
    let n: usize = x.shape.iter().zip(&p.reduced).filter(|(_, &r)| !r).map(|(&s, _)| s).product();
    let data = match &x.data {
        Data::F32(v) => {
            let init = match kind {
                Kind::Mean | Kind::Sum => 0.0,
                Kind::Prod => 1.0,
                Kind::Max => f32::MIN,
                Kind::Min => f32::MAX,
            };
            let mut out = pooled_f32(node, n);
            out.resize(n, init);
            let r = match kind {
                Kind::Mean | Kind::Sum => fold(v, &x.shape, &p.reduced, &mut out, |a, b| a + b),
                Kind::Prod => fold(v, &x.shape, &p.reduced, &mut out, |a, b| a * b),
                Kind::Max => fold(v, &x.shape, &p.reduced, &mut out, |a, b| if b > a { b } else { a }),
                Kind::Min => fold(v, &x.shape, &p.reduced, &mut out, |a, b| if b < a { b } else { a }),
            };
            if r.is_err() {
                return node.err("internal: reduction shape mismatch");
            }
            if kind == Kind::Mean {
                let c = p.count as f32;
                out.iter_mut().for_each(|o| *o /= c);
            }
            Data::F32(out)
        }
        Data::I32(v) => {
            if kind == Kind::Mean {
                let wide: Vec<i64> = v.iter().map(|&a| a as i64).collect();
                let s = int_reduce(node, &wide, x, &p, Kind::Sum, n)?;
                Data::I32(s.iter().map(|&t| int_mean(t, p.count) as i32).collect())
            } else {
                Data::I32(int_reduce(node, v, x, &p, kind, n)?)
            }
        }
        Data::I64(v) => {
            let s = int_reduce(node, v, x, &p, if kind == Kind::Mean { Kind::Sum } else { kind }, n)?;
            if kind == Kind::Mean {
                Data::I64(s.iter().map(|&t| int_mean(t, p.count)).collect())
            } else {
                Data::I64(s)
            }
        }
        d => return node.err(format!("{} input is not supported", d.dtype())),
    };
    Ok(vec![value(node, p.shape, data)?])
}

fn int_mean(sum: i64, count: usize) -> i64 {
    if count == 0 {
        0
    } else {
        sum.wrapping_div(count as i64)
    }
}

trait Int: Copy + PartialOrd + Default {
    const MINV: Self;
    const MAXV: Self;
    const ONE: Self;
    fn wadd(self, o: Self) -> Self;
    fn wmul(self, o: Self) -> Self;
}
impl Int for i32 {
    const MINV: Self = i32::MIN;
    const MAXV: Self = i32::MAX;
    const ONE: Self = 1;
    fn wadd(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn wmul(self, o: Self) -> Self {
        self.wrapping_mul(o)
    }
}
impl Int for i64 {
    const MINV: Self = i64::MIN;
    const MAXV: Self = i64::MAX;
    const ONE: Self = 1;
    fn wadd(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn wmul(self, o: Self) -> Self {
        self.wrapping_mul(o)
    }
}

fn int_reduce<T: Int>(node: &Node, v: &[T], x: &Value, p: &Plan, kind: Kind, n: usize) -> Result<Vec<T>> {
    let init = match kind {
        Kind::Mean | Kind::Sum => T::default(),
        Kind::Prod => T::ONE,
        Kind::Max => T::MINV,
        Kind::Min => T::MAXV,
    };
    let mut out = vec![init; n];
    let r = match kind {
        Kind::Mean | Kind::Sum => fold(v, &x.shape, &p.reduced, &mut out, T::wadd),
        Kind::Prod => fold(v, &x.shape, &p.reduced, &mut out, T::wmul),
        Kind::Max => fold(v, &x.shape, &p.reduced, &mut out, |a, b| if b > a { b } else { a }),
        Kind::Min => fold(v, &x.shape, &p.reduced, &mut out, |a, b| if b < a { b } else { a }),
    };
    if r.is_err() {
        return node.err("internal: reduction shape mismatch");
    }
    Ok(out)
}
