//! Float32 activations and unary math: LOGISTIC, TANH, RELU, RELU6,
//! RELU_N1_TO_1, LEAKY_RELU, PRELU, HARD_SWISH, EXP, LOG, SQRT, RSQRT, ABS,
//! NEG, SQUARE, FLOOR, CEIL, SOFTMAX, LOG_SOFTMAX, GELU.
//!
//! Formulas are TFLite's reference kernels (e.g. LOGISTIC's cut-offs,
//! RELU passing NaN through, SOFTMAX subtracting the row max and scaling by
//! beta, exact GELU through erfc).

use super::array::{pooled_f32, value};
use super::{OpImpl, RunFn};
use crate::engine::{req, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::BuiltinOp;
use crate::kernels::elementwise::{binary, broadcast_shape};

const CEIL: BuiltinOp = BuiltinOp(104);

pub fn register(op: BuiltinOp) -> Option<OpImpl> {
    let run: RunFn = match op {
        BuiltinOp::LOGISTIC => logistic,
        BuiltinOp::TANH => tanh,
        BuiltinOp::RELU => relu,
        BuiltinOp::RELU6 => relu6,
        BuiltinOp::RELU_N1_TO_1 => relu_n1_to_1,
        BuiltinOp::LEAKY_RELU => leaky_relu,
        BuiltinOp::PRELU => prelu,
        BuiltinOp::HARD_SWISH => hard_swish,
        BuiltinOp::EXP => exp,
        BuiltinOp::LOG => log,
        BuiltinOp::SQRT => sqrt,
        BuiltinOp::RSQRT => rsqrt,
        BuiltinOp::ABS => abs,
        BuiltinOp::NEG => neg,
        BuiltinOp::SQUARE => square,
        BuiltinOp::FLOOR => floor,
        CEIL => ceil,
        BuiltinOp::SOFTMAX => softmax,
        BuiltinOp::LOG_SOFTMAX => log_softmax,
        BuiltinOp::GELU => gelu,
        _ => return None,
    };
    Some(OpImpl::float(run))
}

/// The float32 contents of input `i`.
fn float_input<'v>(node: &Node, inputs: &Inputs<'v>, i: usize) -> Result<(&'v Value, &'v [f32])> {
    let v = req(node, inputs, i)?;
    match v.as_f32() {
        Some(x) => Ok((v, x)),
        None => node.err(format!("input {i} must be float32, got {}", v.dtype())),
    }
}

/// `y = f(x)` elementwise into a pooled buffer.
fn map<F: Fn(f32) -> f32>(node: &mut Node, inputs: &Inputs, f: F) -> Result<Vec<Value>> {
    let (v, x) = float_input(node, inputs, 0)?;
    let mut out = pooled_f32(node, x.len());
    out.extend(x.iter().map(|&a| f(a)));
    Ok(vec![value(node, v.shape.clone(), crate::engine::Data::F32(out))?])
}

fn logistic(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    const UPPER: f32 = 16.619_047;
    const LOWER: f32 = -9.0;
    map(node, inputs, |v| {
        if v > UPPER {
            1.0
        } else if v < LOWER {
            v.exp()
        } else {
            1.0 / (1.0 + (-v).exp())
        }
    })
}
fn tanh(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, f32::tanh)
}
fn relu(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, |v| if v < 0.0 { 0.0 } else { v })
}
fn relu6(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, |v| v.clamp(0.0, 6.0))
}
fn relu_n1_to_1(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, |v| v.clamp(-1.0, 1.0))
}
fn leaky_relu(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    // A file's options table always has alpha (schema default 0, as TFLite);
    // 0.2 (TensorFlow's default) only for hand-built nodes without options.
    let alpha = node.op.attr_f32("alpha", 0.2);
    map(node, inputs, move |v| if v > 0.0 { v } else { v * alpha })
}
fn hard_swish(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    // in * min(6, max(0, in + 3)) / 6, with std::min/std::max argument order.
    map(node, inputs, |v| {
        let t = v + 3.0;
        let lo = if 0.0 < t { t } else { 0.0 };
        let c = if lo < 6.0 { lo } else { 6.0 };
        v * c / 6.0
    })
}
fn exp(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, f32::exp)
}
fn log(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, f32::ln)
}
fn sqrt(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, f32::sqrt)
}
fn rsqrt(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, |v| 1.0 / v.sqrt())
}
fn abs(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, f32::abs)
}
fn neg(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, |v| -v)
}
fn square(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, |v| v * v)
}
fn floor(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, f32::floor)
}
fn ceil(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    map(node, inputs, f32::ceil)
}

fn gelu(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    if node.op.attr_bool("approximate", false) {
        // sqrt(2 / pi), as M_2_SQRTPI * M_SQRT1_2 rounded to float.
        let k = (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2) as f32;
        map(node, inputs, move |v| 0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh()))
    } else {
        let m = -std::f64::consts::FRAC_1_SQRT_2 as f32;
        map(node, inputs, move |v| 0.5 * v * erfc((v * m) as f64) as f32)
    }
}

fn prelu(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (xv, x) = float_input(node, inputs, 0)?;
    let (av, a) = float_input(node, inputs, 1)?;
    let Some(shape) = broadcast_shape(&xv.shape, &av.shape) else {
        return node.err(format!("alpha {:?} does not broadcast to input {:?}", av.shape, xv.shape));
    };
    let n = super::array::bounded_numel(node, &shape)?;
    let mut out = pooled_f32(node, n);
    out.resize(n, 0.0);
    if binary(x, &xv.shape, a, &av.shape, &mut out, |v, al| if v >= 0.0 { v } else { v * al }).is_err() {
        return node.err(format!("alpha {:?} does not broadcast to input {:?}", av.shape, xv.shape));
    }
    Ok(vec![value(node, shape, crate::engine::Data::F32(out))?])
}

/// Rows of the last axis: (input value, its data, depth).
fn rows<'v>(node: &Node, inputs: &Inputs<'v>) -> Result<(&'v Value, &'v [f32], usize)> {
    let (v, x) = float_input(node, inputs, 0)?;
    match v.shape.last() {
        Some(&d) => Ok((v, x, d)),
        None => node.err("input must have at least one dimension"),
    }
}

fn softmax(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    // As for LEAKY_RELU: 1.0 only when the node has no options table at all.
    let beta = node.op.attr_f32("beta", 1.0);
    let (v, x, depth) = rows(node, inputs)?;
    let mut out = pooled_f32(node, x.len());
    out.resize(x.len(), 0.0);
    if depth > 0 {
        for (xr, or) in x.chunks_exact(depth).zip(out.chunks_exact_mut(depth)) {
            let mut max = f32::MIN;
            for &c in xr {
                max = if max < c { c } else { max };
            }
            let mut sum = 0.0f32;
            for (o, &c) in or.iter_mut().zip(xr) {
                let e = ((c - max) * beta).exp();
                *o = e;
                sum += e;
            }
            for o in or.iter_mut() {
                *o /= sum;
            }
        }
    }
    Ok(vec![value(node, v.shape.clone(), crate::engine::Data::F32(out))?])
}

fn log_softmax(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let (v, x, depth) = rows(node, inputs)?;
    let mut out = pooled_f32(node, x.len());
    out.resize(x.len(), 0.0);
    if depth > 0 {
        for (xr, or) in x.chunks_exact(depth).zip(out.chunks_exact_mut(depth)) {
            let mut max = f32::MIN;
            for &c in xr {
                max = if max < c { c } else { max };
            }
            let mut sum = 0.0f32;
            for &c in xr {
                sum += (c - max).exp();
            }
            let log_sum = sum.ln();
            for (o, &c) in or.iter_mut().zip(xr) {
                *o = c - max - log_sum;
            }
        }
    }
    Ok(vec![value(node, v.shape.clone(), crate::engine::Data::F32(out))?])
}

// ---------------------------------------------------------------------------
// erf / erfc in double precision (after FreeBSD's s_erf.c, Sun Microsystems
// fdlibm: "Developed at SunPro ... Permission to use, copy, modify, and
// distribute this software is freely granted, provided that this notice is
// preserved."). Rounded to float this is within an ulp of C's erfcf.
// ---------------------------------------------------------------------------

mod erf {
    #![allow(clippy::excessive_precision)]

    const ERX: f64 = 8.45062911510467529297e-01;
    const PP: [f64; 5] = [
        1.28379167095512558561e-01,
        -3.25042107247001499370e-01,
        -2.84817495755985104766e-02,
        -5.77027029648944159157e-03,
        -2.37630166566501626084e-05,
    ];
    const QQ: [f64; 5] = [
        3.97917223959155352819e-01,
        6.50222499887672944485e-02,
        5.08130628187576562776e-03,
        1.32494738004321644526e-04,
        -3.96022827877536812320e-06,
    ];
    const PA: [f64; 7] = [
        -2.36211856075265944077e-03,
        4.14856118683748331666e-01,
        -3.72207876035701323847e-01,
        3.18346619901161753674e-01,
        -1.10894694282396677476e-01,
        3.54783043256182359371e-02,
        -2.16637559486879084300e-03,
    ];
    const QA: [f64; 6] = [
        1.06420880400844228286e-01,
        5.40397917702171048937e-01,
        7.18286544141962662868e-02,
        1.26171219808761642112e-01,
        1.36370839120290507362e-02,
        1.19844998467991074170e-02,
    ];
    const RA: [f64; 8] = [
        -9.86494403484714822705e-03,
        -6.93858572707181764372e-01,
        -1.05586262253232909814e+01,
        -6.23753324503260060396e+01,
        -1.62396669462573470355e+02,
        -1.84605092906711035994e+02,
        -8.12874355063065934246e+01,
        -9.81432934416914548592e+00,
    ];
    const SA: [f64; 8] = [
        1.96512716674392571292e+01,
        1.37657754143519042600e+02,
        4.34565877475229228821e+02,
        6.45387271733267880336e+02,
        4.29008140027567833386e+02,
        1.08635005541779435134e+02,
        6.57024977031928170135e+00,
        -6.04244152148580987438e-02,
    ];
    const RB: [f64; 7] = [
        -9.86494292470009928597e-03,
        -7.99283237680523006574e-01,
        -1.77579549177547519889e+01,
        -1.60636384855821916062e+02,
        -6.37566443368389627722e+02,
        -1.02509513161107724954e+03,
        -4.83519191608651397019e+02,
    ];
    const SB: [f64; 7] = [
        3.03380607434824582924e+01,
        3.25792512996573918826e+02,
        1.53672958608443695994e+03,
        3.19985821950859553908e+03,
        2.55305040643316442583e+03,
        4.74528541206955367215e+02,
        -2.24409524465858183362e+01,
    ];

    fn poly(c: &[f64], z: f64) -> f64 {
        c.iter().rev().fold(0.0, |acc, &k| acc * z + k)
    }

    /// erfc(x) for x in [1/0.35, 28) region helpers, as fdlibm.
    fn erfc_tail(ax: f64) -> f64 {
        let s = 1.0 / (ax * ax);
        let (r, ss) = if ax < 1.0 / 0.35 {
            (poly(&RA, s), 1.0 + s * poly(&SA, s))
        } else {
            (poly(&RB, s), 1.0 + s * poly(&SB, s))
        };
        // z = ax with the low 32 bits cleared, as fdlibm.
        let z = f64::from_bits(ax.to_bits() & 0xffff_ffff_0000_0000);
        (-z * z - 0.5625).exp() * ((z - ax) * (z + ax) + r / ss).exp() / ax
    }

    /// Complementary error function.
    pub(crate) fn erfc(x: f64) -> f64 {
        if x.is_nan() {
            return x;
        }
        let ax = x.abs();
        if ax < 0.84375 {
            if ax < 1.0 / (1u64 << 56) as f64 {
                return 1.0 - x;
            }
            let z = x * x;
            let y = poly(&PP, z) / (1.0 + z * poly(&QQ, z));
            if x < 0.25 {
                return 1.0 - (x + x * y);
            }
            return 0.5 - (x - 0.5 + x * y);
        }
        if ax < 1.25 {
            let s = ax - 1.0;
            let p = poly(&PA, s);
            let q = 1.0 + s * poly(&QA, s);
            return if x >= 0.0 { 1.0 - ERX - p / q } else { 1.0 + (ERX + p / q) };
        }
        if ax < 28.0 {
            let r = erfc_tail(ax);
            return if x > 0.0 { r } else { 2.0 - r };
        }
        if x > 0.0 {
            0.0
        } else {
            2.0
        }
    }
}
use erf::erfc;

#[cfg(test)]
mod tests {
    use super::erfc;

    #[test]
    #[allow(clippy::excessive_precision)]
    fn erfc_values() {
        // Reference values of erfc (high precision).
        let cases: [(f64, f64); 11] = [
            (0.0, 1.0),
            (0.1, 0.887_537_083_981_715_1),
            (0.5, 0.479_500_122_186_953_5),
            (-0.5, 1.520_499_877_813_046_5),
            (1.0, 0.157_299_207_050_285_13),
            (-1.0, 1.842_700_792_949_715),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544e-5),
            (-3.0, 1.999_977_909_503_001_4),
            (5.0, 1.537_459_794_428_034_8e-12),
            (30.0, 0.0),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            let tol = 1e-15f64.max(want.abs() * 1e-13);
            assert!((got - want).abs() <= tol, "erfc({x}) = {got}, want {want}");
        }
    }
}
