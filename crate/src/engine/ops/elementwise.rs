//! Binary elementwise ops with NumPy broadcasting: ADD, SUB, MUL, DIV,
//! SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, POW (float32), and int32/int64
//! variants of ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM for shape arithmetic.
//!
//! As TFLite's kernels: the fused activation clamps to the range of
//! `CalculateActivationRange` with `min(max(x, lo), hi)` (NONE clamps to the
//! finite float range, TANH and SIGN_BIT do not clamp), MAXIMUM/MINIMUM are
//! `a > b ? a : b` / `a < b ? a : b`, integer DIV truncates and rejects a
//! zero divisor.

use super::array::{bounded_numel, pooled_f32, value};
use super::{float_check, OpImpl, RunFn};
use crate::engine::{req, Data, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph};
use crate::kernels::elementwise::{binary, broadcast_shape};

pub fn register(op: BuiltinOp) -> Option<OpImpl> {
    let run: RunFn = match op {
        BuiltinOp::ADD => add,
        BuiltinOp::SUB => sub,
        BuiltinOp::MUL => mul,
        BuiltinOp::DIV => div,
        BuiltinOp::SQUARED_DIFFERENCE => squared_difference,
        BuiltinOp::MAXIMUM => maximum,
        BuiltinOp::MINIMUM => minimum,
        BuiltinOp::POW => pow,
        _ => return None,
    };
    Some(OpImpl { run, check: check_binary })
}

fn has_int_variant(op: &Op) -> bool {
    matches!(
        op.kind.builtin(),
        Some(BuiltinOp::ADD | BuiltinOp::SUB | BuiltinOp::MUL | BuiltinOp::DIV | BuiltinOp::MAXIMUM | BuiltinOp::MINIMUM)
    )
}

/// Float32 nodes as `float_check`; integer nodes (int32/int64 output, both
/// inputs of that type, unquantized) for the ops that have them.
pub(crate) fn check_binary(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let out = op.outputs.first().and_then(|&t| sg.tensors.get(t));
    match out.map(|t| t.dtype) {
        Some(d @ (DType::I32 | DType::I64)) if has_int_variant(op) => {
            for t in op.inputs.iter().flatten().chain(op.outputs.iter()) {
                let t = &sg.tensors[*t];
                if t.dtype != d {
                    return Err(format!("{} operand with a {d} output", t.dtype));
                }
                if t.quant.as_ref().is_some_and(|q| q.is_quantized()) {
                    return Err("quantized integer operands need the int8 engine".into());
                }
            }
            Ok(())
        }
        _ => float_check(op, sg),
    }
}

/// Clamp range of a fused activation code, as TFLite's
/// `CalculateActivationRange<float>`.
pub(crate) fn act_range(node: &Node, code: i64) -> Result<(f32, f32)> {
    match code {
        1 => Ok((0.0, f32::MAX)),
        2 => Ok((-1.0, 1.0)),
        3 => Ok((0.0, 6.0)),
        0 | 4 | 5 => Ok((f32::MIN, f32::MAX)),
        c => node.err(format!("unsupported fused activation code {c}")),
    }
}

/// `std::min(std::max(x, lo), hi)`: NaN passes through, infinities clamp.
#[inline]
pub(crate) fn clamp_act(x: f32, lo: f32, hi: f32) -> f32 {
    let y = if x < lo { lo } else { x };
    if hi < y {
        hi
    } else {
        y
    }
}

fn int_range<T: IntOps>(code: i64) -> Option<(T, T)> {
    match code {
        1 => Some((T::from_i8(0), T::MAXV)),
        2 => Some((T::from_i8(-1), T::from_i8(1))),
        3 => Some((T::from_i8(0), T::from_i8(6))),
        0 | 4 | 5 => Some((T::MINV, T::MAXV)),
        _ => None,
    }
}

trait IntOps: Copy + PartialOrd {
    const MINV: Self;
    const MAXV: Self;
    fn from_i8(v: i8) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn is_zero(self) -> bool;
}

macro_rules! int_ops {
    ($t:ty) => {
        impl IntOps for $t {
            const MINV: Self = <$t>::MIN;
            const MAXV: Self = <$t>::MAX;
            fn from_i8(v: i8) -> Self {
                v as $t
            }
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn div(self, o: Self) -> Self {
                self.wrapping_div(o)
            }
            fn is_zero(self) -> bool {
                self == 0
            }
        }
    };
}
int_ops!(i32);
int_ops!(i64);

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Add,
    Sub,
    Mul,
    Div,
    SqDiff,
    Max,
    Min,
    Pow,
}

fn add(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::Add)
}
fn sub(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::Sub)
}
fn mul(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::Mul)
}
fn div(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::Div)
}
fn squared_difference(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::SqDiff)
}
fn maximum(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::Max)
}
fn minimum(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::Min)
}
fn pow(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    run_binary(node, inputs, Kind::Pow)
}

/// Broadcast `f` over float slices into a pooled buffer.
fn float_op<F: Fn(f32, f32) -> f32>(node: &mut Node, a: &Value, x: &[f32], b: &Value, y: &[f32], n: usize, f: F) -> Result<Vec<f32>> {
    let mut out = pooled_f32(node, n);
    out.resize(n, 0.0);
    if binary(x, &a.shape, y, &b.shape, &mut out, f).is_err() {
        return node.err(format!("cannot broadcast {:?} with {:?}", a.shape, b.shape));
    }
    Ok(out)
}

fn run_binary(node: &mut Node, inputs: &Inputs, kind: Kind) -> Result<Vec<Value>> {
    let a = req(node, inputs, 0)?;
    let b = req(node, inputs, 1)?;
    let Some(shape) = broadcast_shape(&a.shape, &b.shape) else {
        return node.err(format!("cannot broadcast {:?} with {:?}", a.shape, b.shape));
    };
    let n = bounded_numel(node, &shape)?;
    let code = match kind {
        Kind::Add | Kind::Sub | Kind::Mul | Kind::Div => node.op.attr_i64("fused_activation_function", 0),
        _ => 0,
    };
    let data = match (&a.data, &b.data) {
        (Data::F32(x), Data::F32(y)) => {
            let (lo, hi) = act_range(node, code)?;
            let mut out = match kind {
                Kind::Add => float_op(node, a, x, b, y, n, |p, q| p + q)?,
                Kind::Sub => float_op(node, a, x, b, y, n, |p, q| p - q)?,
                Kind::Mul => float_op(node, a, x, b, y, n, |p, q| p * q)?,
                Kind::Div => float_op(node, a, x, b, y, n, |p, q| p / q)?,
                Kind::SqDiff => float_op(node, a, x, b, y, n, |p, q| {
                    let d = p - q;
                    d * d
                })?,
                Kind::Max => float_op(node, a, x, b, y, n, |p, q| if p > q { p } else { q })?,
                Kind::Min => float_op(node, a, x, b, y, n, |p, q| if p < q { p } else { q })?,
                Kind::Pow => float_op(node, a, x, b, y, n, f32::powf)?,
            };
            if matches!(kind, Kind::Add | Kind::Sub | Kind::Mul | Kind::Div) {
                out.iter_mut().for_each(|v| *v = clamp_act(*v, lo, hi));
            }
            Data::F32(out)
        }
        (Data::I32(x), Data::I32(y)) => Data::I32(int_op(node, a, x, b, y, n, kind, code)?),
        (Data::I64(x), Data::I64(y)) => Data::I64(int_op(node, a, x, b, y, n, kind, code)?),
        (p, q) => {
            return node.err(format!("unsupported operand types {} and {}", p.dtype(), q.dtype()));
        }
    };
    Ok(vec![value(node, shape, data)?])
}

#[allow(clippy::too_many_arguments)]
fn int_op<T: IntOps + Default>(
    node: &Node,
    a: &Value,
    x: &[T],
    b: &Value,
    y: &[T],
    n: usize,
    kind: Kind,
    code: i64,
) -> Result<Vec<T>> {
    let Some((lo, hi)) = int_range::<T>(code) else {
        return node.err(format!("unsupported fused activation code {code}"));
    };
    if kind == Kind::Div && y.iter().any(|v| v.is_zero()) {
        return node.err("integer division by zero");
    }
    let mut out = vec![T::default(); n];
    let r = match kind {
        Kind::Add => binary(x, &a.shape, y, &b.shape, &mut out, T::add),
        Kind::Sub => binary(x, &a.shape, y, &b.shape, &mut out, T::sub),
        Kind::Mul => binary(x, &a.shape, y, &b.shape, &mut out, T::mul),
        Kind::Div => binary(x, &a.shape, y, &b.shape, &mut out, T::div),
        Kind::Max => binary(x, &a.shape, y, &b.shape, &mut out, |p, q| if p > q { p } else { q }),
        Kind::Min => binary(x, &a.shape, y, &b.shape, &mut out, |p, q| if p < q { p } else { q }),
        Kind::SqDiff | Kind::Pow => return node.err("no integer kernel for this op"),
    };
    if r.is_err() {
        return node.err(format!("cannot broadcast {:?} with {:?}", a.shape, b.shape));
    }
    if matches!(kind, Kind::Add | Kind::Sub | Kind::Mul | Kind::Div) {
        for v in out.iter_mut() {
            if *v < lo {
                *v = lo;
            } else if *v > hi {
                *v = hi;
            }
        }
    }
    Ok(out)
}
