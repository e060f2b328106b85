//! ADD, SUB and MUL on int8 / int16 tensors with NumPy broadcasting, as
//! LiteRT's reference kernels:
//! - ADD/SUB (general scales): both inputs left-shifted (20 bits for int8,
//!   15 for int16), rescaled to twice the larger input scale, summed, and
//!   rescaled to the output (`MultiplyByQuantizedMultiplierSmallerThanOneExp`
//!   each time);
//! - int16 ADD/SUB with `pot_scale_int16` and power-of-two scales: the
//!   saturating fixed-point path;
//! - MUL: `MultiplyByQuantizedMultiplier((a - za) * (b - zb))` with the
//!   multiplier of `float(s_a * s_b / s_out)`.

use super::{act_range, checked_numel, input_tensor, is_quantized, kr, output_tensor, qin, qout, qp, BResult, Build, Q};
use crate::engine::ops::Prepared;
use crate::engine::{Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph};
use crate::kernels::elementwise::{binary, broadcast_shape};
use crate::kernels::int8::{self as k8, fixedpoint as fx, AddParams};

pub(super) fn check(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let a = input_tensor(op, sg, 0)?;
    let b = input_tensor(op, sg, 1)?;
    let y = output_tensor(op, sg, 0)?;
    if !matches!(y.dtype, DType::I8 | DType::I16) || a.dtype != y.dtype || b.dtype != y.dtype {
        return Err(format!("{} and {} -> {}: the integer engine runs int8/int16 activations", a.dtype, b.dtype, y.dtype));
    }
    if !is_quantized(a) || !is_quantized(b) || !is_quantized(y) {
        return Err("integer tensors without quantization parameters".into());
    }
    Ok(())
}

/// Run `f` over the broadcast of inputs 0 and 1.
fn broadcast<T: Q>(node: &Node, inputs: &Inputs, f: impl Fn(T, T) -> T) -> Result<Value> {
    let (sa, a) = qin::<T>(node, inputs, 0)?;
    let (sb, b) = qin::<T>(node, inputs, 1)?;
    let Some(shape) = broadcast_shape(sa, sb) else {
        return node.err(format!("shapes {sa:?} and {sb:?} do not broadcast"));
    };
    let mut out = vec![T::default(); checked_numel(node, &shape)?];
    if binary(a, sa, b, sb, &mut out, f).is_err() {
        return node.err(format!("shapes {sa:?} and {sb:?} do not broadcast"));
    }
    qout(node, shape, out)
}

#[derive(Debug, Clone, Copy)]
enum AddForm {
    /// General scales (int8, and int16 without power-of-two scales).
    General(AddParams),
    /// int16 with power-of-two scales: right shift of one input, saturating add.
    Pot { in1_shift: i32, in2_shift: i32 },
}

pub(crate) struct AddSub {
    sub: bool,
    form: AddForm,
    /// The fast (XNNPACK-style) form of an int8 node, and whether it is on.
    fast: Option<k8::FastAdd>,
    use_fast: bool,
    lo: i32,
    hi: i32,
}

impl Build for AddSub {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let sub = op.kind.builtin() == Some(BuiltinOp::SUB);
        let (ta, tb, ty) = (input_tensor(op, sg, 0)?, input_tensor(op, sg, 1)?, output_tensor(op, sg, 0)?);
        let (a, b, y) = (qp(ta)?, qp(tb)?, qp(ty)?);
        let (lo, hi) = act_range(op, ty, y)?;
        let int16 = ty.dtype == DType::I16;
        if int16 && (a.zp != 0 || b.zp != 0 || y.zp != 0) {
            return Err("int16 ADD/SUB needs zero points of 0".into());
        }
        // pot_scale_int16 (default true) selects the power-of-two path when
        // every scale is a power of two.
        if int16 && op.attr_bool("pot_scale_int16", true) {
            if let (Some(la), Some(lb), Some(ly)) = (fx::checked_log2(a.scale), fx::checked_log2(b.scale), fx::checked_log2(y.scale)) {
                let (s1, s2) = (la - ly, lb - ly);
                if !(s1 == 0 || s2 == 0) || s1 > 0 || s2 > 0 {
                    return Err(format!("int16 power-of-two {} needs one input on the output scale", if sub { "SUB" } else { "ADD" }));
                }
                if sub {
                    return Err("int16 SUB with power-of-two scales is not supported".into());
                }
                return Ok(AddSub { sub, form: AddForm::Pot { in1_shift: s1, in2_shift: s2 }, fast: None, use_fast: false, lo, hi });
            }
        }
        let left_shift = if int16 { 15 } else { 20 };
        let twice_max = 2.0 * a.scale.max(b.scale) as f64;
        let real1 = a.scale as f64 / twice_max;
        let real2 = b.scale as f64 / twice_max;
        let real_out = twice_max / (((1i64 << left_shift) as f32 * y.scale) as f64);
        let (in1_mult, in1_shift) = fx::quantize_multiplier(real1);
        let (in2_mult, in2_shift) = fx::quantize_multiplier(real2);
        if real_out >= 1.0 && !sub {
            return Err(format!("ADD output multiplier {real_out} is not below 1 (LiteRT rejects it)"));
        }
        let (out_mult, out_shift) = fx::quantize_multiplier(real_out);
        let fast = if int16 {
            None
        } else {
            let b_ratio = b.scale / y.scale;
            k8::FastAdd::new(a.scale / y.scale, a.zp, if sub { -b_ratio } else { b_ratio }, b.zp, y.zp, lo, hi)
        };
        Ok(AddSub {
            sub,
            fast,
            use_fast: false,
            form: AddForm::General(AddParams {
                left_shift,
                in1_off: -a.zp,
                in1_mult,
                in1_shift,
                in2_off: -b.zp,
                in2_mult,
                in2_shift,
                out_off: y.zp,
                out_mult,
                out_shift,
                lo,
                hi,
                sub,
            }),
            lo,
            hi,
        })
    }
}

impl AddSub {
    fn go<T: Q>(&self, node: &mut Node, inputs: &Inputs) -> Result<Value> {
        let (lo, hi, sub) = (self.lo, self.hi, self.sub);
        match self.form {
            AddForm::General(p) => {
                // SUB with an output multiplier above one keeps its left shift
                // (QuantizeMultiplierGreaterThanOne); the "smaller than one"
                // helper then right-shifts by a negative amount, i.e. not at all.
                if T::DTYPE == DType::I8 {
                    let (sa, a) = qin::<i8>(node, inputs, 0)?;
                    let (sb, b) = qin::<i8>(node, inputs, 1)?;
                    if sa == sb {
                        let mut out = node.pool.take_i8_overwritten(a.len());
                        match (self.use_fast, &self.fast) {
                            (true, Some(f)) => kr(node, k8::add_fast(f, a, b, &mut out))?,
                            _ => kr(node, k8::add(&p, a, b, &mut out))?,
                        }
                        return qout(node, sa.to_vec(), out);
                    }
                    if let (true, Some(f)) = (self.use_fast, self.fast) {
                        return broadcast::<T>(node, inputs, move |x, y| T::cast(f.one(x.get(), y.get())));
                    }
                }
                let _ = sub;
                broadcast::<T>(node, inputs, move |x, y| T::cast(p.one(x.get(), y.get()).clamp(lo, hi)))
            }
            AddForm::Pot { in1_shift, in2_shift } => broadcast::<T>(node, inputs, move |x, y| {
                let (keep, shifted, shift) = if in1_shift == 0 { (x.get(), y.get(), -in2_shift) } else { (y.get(), x.get(), -in1_shift) };
                let scaled = fx::rdbpot16(shifted as i16, shift) as i32;
                let sum = (keep + scaled).clamp(-32768, 32767);
                T::cast(sum.clamp(lo, hi))
            }),
        }
    }
}

impl Prepared for AddSub {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let v = match node.output_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        };
        Ok(vec![v])
    }
    fn set_fast(&mut self, on: bool) -> bool {
        self.use_fast = on && self.fast.is_some();
        self.use_fast
    }
}

pub(crate) struct Mul {
    in1_off: i32,
    in2_off: i32,
    out_off: i32,
    mult: i32,
    shift: i32,
    lo: i32,
    hi: i32,
}

impl Build for Mul {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (ta, tb, ty) = (input_tensor(op, sg, 0)?, input_tensor(op, sg, 1)?, output_tensor(op, sg, 0)?);
        let (a, b, y) = (qp(ta)?, qp(tb)?, qp(ty)?);
        if ty.dtype == DType::I16 && (a.zp != 0 || b.zp != 0 || y.zp != 0) {
            return Err("int16 MUL needs zero points of 0".into());
        }
        let (lo, hi) = act_range(op, ty, y)?;
        // LiteRT computes this product and quotient in float.
        let real = a.scale * b.scale / y.scale;
        let (mult, shift) = fx::quantize_multiplier(real as f64);
        Ok(Mul { in1_off: -a.zp, in2_off: -b.zp, out_off: y.zp, mult, shift, lo, hi })
    }
}

impl Mul {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let Mul { in1_off, in2_off, out_off, mult, shift, lo, hi } = *self;
        broadcast::<T>(node, inputs, move |x, y| {
            let p = (in1_off + x.get()).wrapping_mul(in2_off + y.get());
            T::cast(fx::mbqm(p, mult, shift).wrapping_add(out_off).clamp(lo, hi))
        })
    }
}

impl Prepared for Mul {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let v = match node.output_tensor(0).map(|t| t.dtype) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        };
        Ok(vec![v])
    }
}
