//! Quantized activations, as LiteRT's reference kernels:
//! - SOFTMAX int8/uint8 input: gemmlowp fixed-point `exp` of the scaled
//!   difference to the row maximum (Q5.26), the reciprocal of the sum, and
//!   a rounding shift to the output type; the difference takes at most 256
//!   values, so the `exp` of each is computed once at plan time; int16: the
//!   two 513-entry interpolated lookup tables (`exp`, `1/(1+x)`);
//! - LOGISTIC / TANH int8/uint8: a 256-entry table built in float at plan
//!   time; int16: the `sigmoid(i/24)` table with linear interpolation;
//! - HARD_SWISH int8/uint8: the int16 fixed-point "reluish" kernel;
//! - LEAKY_RELU, PRELU, RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1: per-branch
//!   fixed-point rescaling of `x - zp_in`.

use super::{checked_numel, input_tensor, is_quantized, output_tensor, qin, qout, qp, BResult, Build, Q};
use crate::engine::ops::Prepared;
use crate::engine::{Data, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph};
use crate::kernels::elementwise::{binary, broadcast_shape};
use crate::kernels::int8::fixedpoint as fx;

fn dtype_of(node: &Node) -> Option<DType> {
    node.input_tensor(0).map(|t| t.dtype)
}

/// Run a per-element map `f` on input 0 of type `T`.
fn map<T: Q>(node: &Node, inputs: &Inputs, f: impl Fn(T) -> T) -> Result<Value> {
    let (s, x) = qin::<T>(node, inputs, 0)?;
    qout(node, s.to_vec(), x.iter().map(|&v| f(v)).collect())
}

// ---------------------------------------------------------------- SOFTMAX

pub(super) fn check_softmax(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let x = input_tensor(op, sg, 0)?;
    let y = output_tensor(op, sg, 0)?;
    match (x.dtype, y.dtype) {
        (DType::I8, DType::I8) | (DType::I8, DType::I16) | (DType::U8, DType::U8) | (DType::I16, DType::I16) => {}
        (a, b) => return Err(format!("{a} -> {b}: no integer SOFTMAX")),
    }
    if !is_quantized(x) || !is_quantized(y) {
        return Err("integer tensors without quantization parameters".into());
    }
    Ok(())
}

pub(crate) enum Softmax {
    /// int8/uint8 input: for each difference `d = max - x` (0..=255), the
    /// fixed-point `exp` of `-d` scaled by the Q31 multiplier and left
    /// shift, `None` below the minimum difference (those inputs count zero).
    Q8 { exp: Box<[Option<i32>; 256]> },
    /// int16 input: lookup tables and the input rescaling.
    Q16 { exp_lut: Box<[i16; 513]>, recip_lut: Box<[i16; 513]>, mult: i32, shift: i32 },
}

impl Build for Softmax {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let x = input_tensor(op, sg, 0)?;
        let qx = qp(x)?;
        let beta = op.attr_f32("beta", 1.0);
        if x.dtype == DType::I16 {
            let range = (i16::MAX as i32 - i16::MIN as i32) as f64;
            let exp_lut = lut_int16_f64(10.0 / range, i16::MAX as i32, 2.0 / range, 0, f64::exp);
            let recip_lut = lut_int16_f64(1.0 / range, i16::MIN as i32, 2.0 / range, 0, |v| 1.0 / (1.0 + v));
            let rescale = (qx.scale * beta) as f64 / (10.0 / 65535.0);
            let (mult, shift) = fx::quantize_multiplier(rescale);
            return Ok(Softmax::Q16 { exp_lut, recip_lut, mult, shift });
        }
        const SCALED_DIFF_INTEGER_BITS: i32 = 5;
        let real = (beta as f64 * qx.scale as f64 * (1i64 << (31 - SCALED_DIFF_INTEGER_BITS)) as f64).min((1i64 << 31) as f64 - 1.0);
        let (mult, left_shift) = fx::quantize_multiplier(real);
        let diff_min = -(fx::calculate_input_radius(SCALED_DIFF_INTEGER_BITS, left_shift, 31) as f64) as i32;
        Ok(Softmax::Q8 { exp: softmax_exp_table(mult, left_shift, diff_min) })
    }
}

impl Softmax {
    fn q8<I: Q, O: Q>(&self, node: &Node, inputs: &Inputs, exp: &[Option<i32>; 256]) -> Result<Value> {
        let (s, x) = qin::<I>(node, inputs, 0)?;
        let depth = *s.last().unwrap_or(&1);
        let mut out = vec![O::default(); x.len()];
        if depth == 0 {
            return qout(node, s.to_vec(), out);
        }
        for (row, orow) in x.chunks_exact(depth).zip(out.chunks_exact_mut(depth)) {
            softmax_row(row, orow, exp);
        }
        qout(node, s.to_vec(), out)
    }

    fn q16(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let Softmax::Q16 { exp_lut, recip_lut, mult, shift } = self else { return node.err("int16 SOFTMAX without its int16 tables".to_string()) };
        let (s, x) = qin::<i16>(node, inputs, 0)?;
        let depth = *s.last().unwrap_or(&1);
        let mut out = vec![0i16; x.len()];
        if depth == 0 {
            return qout(node, s.to_vec(), out);
        }
        for (row, orow) in x.chunks_exact(depth).zip(out.chunks_exact_mut(depth)) {
            let max = row.iter().copied().max().unwrap_or(i16::MIN) as i32;
            let mut sum: i32 = 0;
            for (o, &v) in orow.iter_mut().zip(row) {
                let scaled = fx::mbqm(v as i32 - max, *mult, *shift);
                let sym = (scaled + 32767).clamp(-32768, 32767) as i16;
                *o = lut_lookup16(sym, exp_lut);
                sum = sum.wrapping_add(*o as i32);
            }
            let headroom_plus_one = ((sum as u32).leading_zeros() as i32).clamp(1, 32);
            let shifted = (((sum as i64) << (headroom_plus_one - 1)) + (1 << 13)) >> 14;
            let sym = (shifted as i32).wrapping_add(-((1 << 15) + (1 << 16))).clamp(-32768, 32767) as i16;
            let recip = lut_lookup16(sym, recip_lut) as i64;
            let right = (31 - headroom_plus_one) as u32;
            let round = if right > 0 { 1i64 << (right - 1) } else { 0 };
            for o in orow.iter_mut() {
                let r = ((*o as i64 * recip + round) >> right) as i32;
                *o = r.clamp(0, 32767) as i16;
            }
        }
        qout(node, s.to_vec(), out)
    }
}

impl Prepared for Softmax {
    fn bytes(&self) -> usize {
        match self {
            Softmax::Q8 { exp } => std::mem::size_of_val(&**exp),
            Softmax::Q16 { exp_lut, recip_lut, .. } => std::mem::size_of_val(&**exp_lut) + std::mem::size_of_val(&**recip_lut),
        }
    }
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let out_t = node.output_tensor(0).map(|t| t.dtype);
        let v = match (&*self, dtype_of(node), out_t) {
            (Softmax::Q8 { exp }, Some(DType::I8), Some(DType::I8)) => self.q8::<i8, i8>(node, inputs, exp)?,
            (Softmax::Q8 { exp }, Some(DType::I8), Some(DType::I16)) => self.q8::<i8, i16>(node, inputs, exp)?,
            (Softmax::Q8 { exp }, Some(DType::U8), _) => self.q8::<u8, u8>(node, inputs, exp)?,
            (Softmax::Q16 { .. }, _, _) => self.q16(node, inputs)?,
            _ => return node.err("unsupported SOFTMAX types"),
        };
        Ok(vec![v])
    }
}

/// The `exp` table of [`Softmax::Q8`]: TFLite's scaled difference
/// (`mbqm_greater_than_one`, Q5.26) and fixed-point `exp` of `-d`.
fn softmax_exp_table(mult: i32, left_shift: i32, diff_min: i32) -> Box<[Option<i32>; 256]> {
    let mut exp = Box::new([None; 256]);
    for (d, e) in exp.iter_mut().enumerate() {
        let diff = -(d as i32);
        if diff >= diff_min {
            *e = Some(fx::exp_on_negative_values(fx::mbqm_greater_than_one(diff, mult, left_shift), 5));
        }
    }
    exp
}

/// One row of the 8-bit SOFTMAX (TFLite's reference arithmetic).
fn softmax_row<I: Q, O: Q>(row: &[I], orow: &mut [O], exp: &[Option<i32>; 256]) {
    let out_bits = (std::mem::size_of::<O>() * 8) as i32;
    let max = row.iter().map(|v| v.get()).fold(I::MIN, i32::max);
    // `max - v` is within 0..=255 for 8-bit inputs.
    let exp_of = |v: i32| exp[((max - v) as usize).min(255)];
    let mut sum: i32 = 0;
    for v in row {
        if let Some(e) = exp_of(v.get()) {
            sum = sum.wrapping_add(fx::rescale(e, 0, 12));
        }
    }
    let (shifted_scale, bits_over_unit) = fx::get_reciprocal(sum, 12);
    let exponent = (bits_over_unit + 31 - out_bits).clamp(0, 31);
    for (o, v) in orow.iter_mut().zip(row) {
        *o = match exp_of(v.get()) {
            Some(e) => {
                let unsat = fx::rdbpot(fx::srdhm(shifted_scale, e), exponent);
                O::cast(unsat.wrapping_add(O::MIN).clamp(O::MIN, O::MAX))
            }
            None => O::cast(O::MIN),
        };
    }
}

/// TFLite `LUTPopulateInt16<double>` (513 entries).
fn lut_int16_f64(in_scale: f64, in_zp: i32, out_scale: f64, out_zp: i32, f: impl Fn(f64) -> f64) -> Box<[i16; 513]> {
    let input_min = in_scale * (i16::MIN as i32 - in_zp) as f64;
    let input_max = in_scale * (i16::MAX as i32 - in_zp) as f64;
    let output_min = out_scale * (i16::MIN as i32 - out_zp) as f64;
    let output_max = out_scale * (i16::MAX as i32 - out_zp) as f64;
    let steps = 512;
    let step = (input_max - input_min) / steps as f64;
    let half_step = step / 2.0;
    let inv = (i16::MAX as i32 - i16::MIN as i32 + 1) as f64 / (output_max - output_min);
    let (tmin, tmax) = (i16::MIN as f64, i16::MAX as f64);
    let mut lut = Box::new([0i16; 513]);
    for i in 0..steps {
        let val = f(input_min + i as f64 * step);
        let val_mid = f(input_min + i as f64 * step + half_step);
        let val_next = f(input_min + (i + 1) as f64 * step);
        let sample = (val * inv).round();
        let mid_interp = ((val_next * inv + (val * inv).round()) / 2.0).round();
        let mid = (val_mid * inv).round();
        let bias = ((mid_interp - mid) / 2.0).round();
        lut[i] = (sample - bias).max(tmin).min(tmax) as i16;
    }
    lut[steps] = (f(input_max) * inv).round().max(tmin).min(tmax) as i16;
    lut
}

/// TFLite `LUTLookup(int16)`: interpolated lookup.
fn lut_lookup16(v: i16, lut: &[i16; 513]) -> i16 {
    let index = (256 + (v as i32 >> 7)) as usize;
    let offset = (v & 0x7f) as i32;
    let base = lut[index.min(511)] as i32;
    let slope = lut[(index + 1).min(512)] as i32 - base;
    let delta = (slope * offset + 64) >> 7;
    (base + delta) as i16
}

// ---------------------------------------------------------------- LOGISTIC / TANH

pub(crate) enum Sigmoid {
    /// int8/uint8: 256-entry table indexed by the raw byte.
    Lut(Box<[u8; 256]>),
    /// int16: input multiplier and shift for the sigmoid-table kernels.
    Q16 { tanh: bool, mult: i32, left_shift: i32 },
}

impl Build for Sigmoid {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let tanh = op.kind.builtin() == Some(BuiltinOp::TANH);
        let x = input_tensor(op, sg, 0)?;
        let (qx, qy) = (qp(x)?, qp(output_tensor(op, sg, 0)?)?);
        match x.dtype {
            DType::I8 | DType::U8 => {
                let f: fn(f32) -> f32 = if tanh { f32::tanh } else { |v| 1.0f32 / (1.0f32 + (-v).exp()) };
                let (lo, hi) = if x.dtype == DType::I8 { (-128i32, 127i32) } else { (0, 255) };
                let inv = 1.0f32 / qy.scale;
                let mut lut = Box::new([0u8; 256]);
                for v in lo..=hi {
                    let deq = qx.scale * (v - qx.zp) as f32;
                    let r = (f(deq) * inv).round();
                    let q = (r + qy.zp as f32) as i32;
                    lut[(v as u8) as usize] = q.clamp(lo, hi) as u8;
                }
                Ok(Sigmoid::Lut(lut))
            }
            DType::I16 => {
                if qx.zp != 0 || qy.zp != 0 {
                    return Err("int16 LOGISTIC/TANH needs zero points of 0".into());
                }
                let (mut mult, mut left_shift) = (0i32, 0i32);
                let log2 = fx::checked_log2(qx.scale);
                let pot_shift = log2.map(|l| (15 - 3) + l);
                let pot = match pot_shift {
                    Some(s) if tanh => s == 0 || s == 1,
                    Some(s) => s == 0,
                    None => false,
                };
                if pot {
                    left_shift = pot_shift.unwrap_or(0);
                } else {
                    let mut m = qx.scale as f64 * 4096.0 * 3.0;
                    while m <= 32767.0 / 2.0 && left_shift <= 30 {
                        left_shift += 1;
                        m *= 2.0;
                    }
                    mult = m as i32;
                }
                Ok(Sigmoid::Q16 { tanh, mult, left_shift })
            }
            d => Err(format!("LOGISTIC/TANH of {d} is not supported")),
        }
    }
}

/// `sigmoid(i / 24)` in 0.16 fixed point (TFLite's `sigmoid_table_uint16`).
fn sigmoid_table() -> &'static [u16; 256] {
    static TABLE: std::sync::OnceLock<[u16; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u16; 256];
        for (i, v) in t.iter_mut().enumerate() {
            let s = 1.0 / (1.0 + (-(i as f64) / 24.0).exp());
            *v = (s * 65536.0).round().min(65535.0) as u16;
        }
        t
    })
}

impl Prepared for Sigmoid {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let v = match self {
            Sigmoid::Lut(lut) => match dtype_of(node) {
                Some(DType::U8) => map::<u8>(node, inputs, |v| lut[v as usize])?,
                _ => map::<i8>(node, inputs, |v| lut[(v as u8) as usize] as i8)?,
            },
            Sigmoid::Q16 { tanh, mult, left_shift } => {
                let (mut m, mut ls) = (*mult, *left_shift);
                if m == 0 {
                    m = 3 << ls;
                    ls = 0;
                }
                let round = if ls > 0 { 1i32 << (ls - 1) } else { 0 };
                let table = sigmoid_table();
                let tanh = *tanh;
                map::<i16>(node, inputs, move |v| {
                    let x = (v as i32).wrapping_mul(m).wrapping_add(round) >> ls;
                    let abs = x.unsigned_abs();
                    if tanh {
                        let uh = abs >> 8;
                        let mut r: i32 = if uh >= 255 {
                            0xFFFF << 8
                        } else {
                            let (ua, ub) = (table[uh as usize] as u32, table[uh as usize + 1] as u32);
                            let ut = abs & 0xFF;
                            ((ua << 8).wrapping_add(ut.wrapping_mul(ub.wrapping_sub(ua)))) as i32
                        };
                        r = if x >= 0 { r - (1 << (14 + 9)) + (1 << (9 - 2)) } else { -r + (1 << (14 + 9)) + (1 << (9 - 2)) - 1 };
                        (r >> (9 - 1)) as i16
                    } else {
                        let uh = abs >> 9;
                        let mut r: u32 = if uh >= 255 {
                            0x7FFF << 10
                        } else {
                            let (ua, ub) = (table[uh as usize] as u32, table[uh as usize + 1] as u32);
                            let ut = abs & 0x1ff;
                            (ua << 9).wrapping_add(ut.wrapping_mul(ub.wrapping_sub(ua)))
                        };
                        r = if x >= 0 { r.wrapping_add(1 << 9) } else { (1u32 << (16 + 9)).wrapping_sub(r).wrapping_add(1 << 9).wrapping_sub(1) };
                        (r >> 10) as i16
                    }
                })?
            }
        };
        Ok(vec![v])
    }
}

// ---------------------------------------------------------------- HARD_SWISH

pub(super) fn check_int8_only(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    super::check_unary(op, sg)?;
    match input_tensor(op, sg, 0)?.dtype {
        DType::I8 | DType::U8 => Ok(()),
        d => Err(format!("{d} is not supported (LiteRT runs int8/uint8)")),
    }
}

pub(crate) struct HardSwish {
    zp_in: i32,
    zp_out: i32,
    out_mult: i16,
    out_exp: i32,
    relu_mult: i16,
    relu_exp: i32,
}

impl Build for HardSwish {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (qx, qy) = (qp(input_tensor(op, sg, 0)?)?, qp(output_tensor(op, sg, 0)?)?);
        let hires_input_scale = (1.0f32 / 128.0f32) * qx.scale;
        let reluish_scale = 3.0f32 / 32768.0f32;
        let (m, out_exp) = fx::quantize_multiplier((hires_input_scale / qy.scale) as f64);
        if out_exp > 0 {
            return Err("HARD_SWISH output multiplier exponent is positive (LiteRT rejects it)".into());
        }
        let (rm, relu_exp) = fx::quantize_multiplier((hires_input_scale / reluish_scale) as f64);
        Ok(HardSwish {
            zp_in: qx.zp,
            zp_out: qy.zp,
            out_mult: fx::downscale_multiplier_to_i16(m),
            out_exp,
            relu_mult: fx::downscale_multiplier_to_i16(rm),
            relu_exp,
        })
    }
}

fn sat_left_shift16(v: i16, amount: i32) -> i16 {
    let r = (v as i64) * (1i64 << amount.clamp(0, 40));
    r.clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// `SaturatingDoublingHighMul` on int16 (rounds toward zero).
fn sat_doubling_high_mul16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

impl HardSwish {
    #[inline]
    fn one(&self, x: i32, qmin: i32, qmax: i32) -> i32 {
        let input_value = (x - self.zp_in) as i16;
        let hires = input_value.wrapping_mul(1 << 7);
        let preshift = fx::srdhm16(hires, self.out_mult);
        let mut reluish = hires;
        if self.relu_exp > 0 {
            reluish = sat_left_shift16(reluish, self.relu_exp - 1);
        }
        reluish = fx::srdhm16(reluish, self.relu_mult);
        if self.relu_exp > 0 {
            reluish = sat_left_shift16(reluish, 1);
        }
        if self.relu_exp < 0 {
            reluish = fx::rdbpot16(reluish, -self.relu_exp);
        }
        reluish = ((reluish as i32 + (1 << 15)) >> 1) as i16;
        let pre = sat_doubling_high_mul16(reluish, preshift);
        let mut out = fx::rdbpot16(pre, -self.out_exp);
        out = (out as i32 + self.zp_out) as i16;
        (out as i32).clamp(qmin, qmax)
    }
}

impl Prepared for HardSwish {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let v = match dtype_of(node) {
            Some(DType::U8) => map::<u8>(node, inputs, |x| self.one(x as i32, 0, 255) as u8)?,
            _ => map::<i8>(node, inputs, |x| self.one(x as i32, -128, 127) as i8)?,
        };
        Ok(vec![v])
    }
}

// ---------------------------------------------------------------- LEAKY_RELU

pub(crate) struct LeakyRelu {
    zp_in: i32,
    zp_out: i32,
    alpha_mult: i32,
    alpha_shift: i32,
    id_mult: i32,
    id_shift: i32,
}

impl Build for LeakyRelu {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (x, y) = (input_tensor(op, sg, 0)?, output_tensor(op, sg, 0)?);
        let (qx, qy) = (qp(x)?, qp(y)?);
        if x.dtype == DType::I16 && (qx.zp != 0 || qy.zp != 0) {
            return Err("int16 LEAKY_RELU needs zero points of 0".into());
        }
        let alpha = op.attr_f32("alpha", 0.2);
        let (alpha_mult, alpha_shift) = fx::quantize_multiplier((qx.scale * alpha / qy.scale) as f64);
        let (id_mult, id_shift) = fx::quantize_multiplier((qx.scale / qy.scale) as f64);
        Ok(LeakyRelu { zp_in: qx.zp, zp_out: qy.zp, alpha_mult, alpha_shift, id_mult, id_shift })
    }
}

impl LeakyRelu {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let neg = self.alpha_mult < 0;
        let safe = self.alpha_mult.wrapping_abs();
        map::<T>(node, inputs, |v| {
            let x = v.get() - self.zp_in;
            let mut o = self.zp_out;
            if x >= 0 {
                o = o.wrapping_add(fx::mbqm(x, self.id_mult, self.id_shift));
            } else {
                let s = fx::mbqm(x, safe, self.alpha_shift);
                o = o.wrapping_add(if neg { s.wrapping_neg() } else { s });
            }
            T::cast(o.clamp(T::MIN, T::MAX))
        })
    }
}

impl Prepared for LeakyRelu {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match dtype_of(node) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}

// ---------------------------------------------------------------- PRELU

pub(super) fn check_prelu(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    super::check_unary(op, sg)?;
    let a = input_tensor(op, sg, 1)?;
    if !matches!(a.dtype, DType::I8 | DType::U8 | DType::I16) || !is_quantized(a) {
        return Err(format!("PRELU alpha of {} without integer quantization is not supported", a.dtype));
    }
    Ok(())
}

pub(crate) struct Prelu {
    in_off: i32,
    alpha_off: i32,
    out_off: i32,
    m1: i32,
    s1: i32,
    m2: i32,
    s2: i32,
}

impl Build for Prelu {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (qx, qa, qy) = (qp(input_tensor(op, sg, 0)?)?, qp(input_tensor(op, sg, 1)?)?, qp(output_tensor(op, sg, 0)?)?);
        let (m1, s1) = fx::quantize_multiplier((qx.scale / qy.scale) as f64);
        let (m2, s2) = fx::quantize_multiplier((qx.scale * qa.scale / qy.scale) as f64);
        Ok(Prelu { in_off: -qx.zp, alpha_off: -qa.zp, out_off: qy.zp, m1, s1, m2, s2 })
    }
}

impl Prelu {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let (sx, x) = qin::<T>(node, inputs, 0)?;
        let av = crate::engine::req(node, inputs, 1)?;
        let alpha: Vec<i32> = match &av.data {
            Data::I8(a) => a.iter().map(|&v| v as i32).collect(),
            Data::U8(a) => a.iter().map(|&v| v as i32).collect(),
            Data::I16(a) => a.iter().map(|&v| v as i32).collect(),
            d => return node.err(format!("PRELU alpha of {} is not supported", d.dtype())),
        };
        let Some(shape) = broadcast_shape(sx, &av.shape) else {
            return node.err(format!("PRELU alpha {:?} does not broadcast to {sx:?}", av.shape));
        };
        let xi: Vec<i32> = x.iter().map(|v| v.get()).collect();
        let mut out = vec![0i32; checked_numel(node, &shape)?];
        let r = binary(&xi, sx, &alpha, &av.shape, &mut out, |xv, a| {
            let iv = self.in_off + xv;
            let o = if iv >= 0 { fx::mbqm(iv, self.m1, self.s1) } else { fx::mbqm(iv.wrapping_mul(self.alpha_off + a), self.m2, self.s2) };
            o.wrapping_add(self.out_off).clamp(T::MIN, T::MAX)
        });
        if r.is_err() {
            return node.err("PRELU shape mismatch");
        }
        qout(node, shape, out.into_iter().map(T::cast).collect())
    }
}

impl Prepared for Prelu {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match dtype_of(node) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}

// ---------------------------------------------------------------- RELU family

pub(crate) struct Relu {
    zp_in: i32,
    zp_out: i32,
    mult: i32,
    shift: i32,
    /// Clamp bounds before the type's range: (act_min, act_max) quantized.
    lo: i32,
    hi: Option<i32>,
}

impl Build for Relu {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (x, y) = (input_tensor(op, sg, 0)?, output_tensor(op, sg, 0)?);
        let (qx, qy) = (qp(x)?, qp(y)?);
        let (act_min, act_max): (f32, Option<f32>) = match op.kind.builtin() {
            Some(BuiltinOp::RELU6) => (0.0, Some(6.0)),
            Some(BuiltinOp::RELU_N1_TO_1) => (-1.0, Some(1.0)),
            Some(BuiltinOp::RELU) => (0.0, None),
            _ => (0.0, Some(1.0)), // RELU_0_TO_1
        };
        let (mult, shift) = fx::quantize_multiplier((qx.scale / qy.scale) as f64);
        Ok(Relu {
            zp_in: qx.zp,
            zp_out: qy.zp,
            mult,
            shift,
            lo: qy.zp.wrapping_add((act_min / qy.scale).round() as i32),
            hi: act_max.map(|m| qy.zp.wrapping_add((m / qy.scale).round() as i32)),
        })
    }
}

impl Relu {
    fn go<T: Q>(&self, node: &Node, inputs: &Inputs) -> Result<Value> {
        let lo = self.lo.max(T::MIN);
        let hi = self.hi.map_or(T::MAX, |h| h.min(T::MAX));
        map::<T>(node, inputs, |v| {
            let c = self.zp_out.wrapping_add(fx::mbqm(v.get() - self.zp_in, self.mult, self.shift));
            T::cast(c.max(lo).min(hi))
        })
    }
}

impl Prepared for Relu {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        Ok(vec![match dtype_of(node) {
            Some(DType::I16) => self.go::<i16>(node, inputs)?,
            Some(DType::U8) => self.go::<u8>(node, inputs)?,
            _ => self.go::<i8>(node, inputs)?,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TFLite's reference 8-bit SOFTMAX row, computing `exp` per element.
    fn reference_row<I: Q, O: Q>(row: &[I], orow: &mut [O], mult: i32, left_shift: i32, diff_min: i32) {
        let out_bits = (std::mem::size_of::<O>() * 8) as i32;
        let max = row.iter().map(|v| v.get()).fold(I::MIN, i32::max);
        let scaled = |v: i32| (v - max >= diff_min).then(|| fx::mbqm_greater_than_one(v - max, mult, left_shift));
        let sum = row.iter().filter_map(|v| scaled(v.get())).fold(0i32, |s, d| s.wrapping_add(fx::rescale(fx::exp_on_negative_values(d, 5), 0, 12)));
        let (shifted_scale, bits_over_unit) = fx::get_reciprocal(sum, 12);
        let exponent = (bits_over_unit + 31 - out_bits).clamp(0, 31);
        for (o, v) in orow.iter_mut().zip(row) {
            *o = match scaled(v.get()) {
                Some(d) => O::cast(fx::rdbpot(fx::srdhm(shifted_scale, fx::exp_on_negative_values(d, 5)), exponent).wrapping_add(O::MIN).clamp(O::MIN, O::MAX)),
                None => O::cast(O::MIN),
            };
        }
    }

    /// The tabled `exp` gives the reference's outputs bit for bit, for
    /// int8 -> int8 / int16 and uint8, over input scales whose minimum
    /// difference cuts the table anywhere (or nowhere).
    #[test]
    fn tabled_softmax_matches_the_reference() {
        let mut next = crate::kernels::int8::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut cut = 0;
        for case in 0..300 {
            let scale = [0.5f64, 0.1, 1.0 / 256.0, 0.02, 2.0][case % 5] * (1.0 + (next() % 1000) as f64 / 1000.0);
            let real = (scale * (1i64 << 26) as f64).min((1i64 << 31) as f64 - 1.0);
            let (mult, left_shift) = fx::quantize_multiplier(real);
            let diff_min = -(fx::calculate_input_radius(5, left_shift, 31) as f64) as i32;
            let exp = softmax_exp_table(mult, left_shift, diff_min);
            cut += exp.iter().any(|e| e.is_none()) as usize;
            let n = 1 + (next() % 40) as usize;
            let spread = [256u64, 16, 4][case % 3];
            let row: Vec<i8> = (0..n).map(|_| ((next() % spread) as i32 - 100) as i8).collect();
            let (mut got, mut want) = (vec![0i8; n], vec![0i8; n]);
            softmax_row(&row, &mut got, &exp);
            reference_row(&row, &mut want, mult, left_shift, diff_min);
            assert_eq!(got, want, "i8 case {case}");
            let (mut got, mut want) = (vec![0i16; n], vec![0i16; n]);
            softmax_row(&row, &mut got, &exp);
            reference_row(&row, &mut want, mult, left_shift, diff_min);
            assert_eq!(got, want, "i16 case {case}");
            let row: Vec<u8> = row.iter().map(|&v| (v as u8).wrapping_add(128)).collect();
            let (mut got, mut want) = (vec![0u8; n], vec![0u8; n]);
            softmax_row(&row, &mut got, &exp);
            reference_row(&row, &mut want, mult, left_shift, diff_min);
            assert_eq!(got, want, "u8 case {case}");
        }
        assert!(cut > 30 && cut < 300, "{cut} tables cut short");
    }
}
