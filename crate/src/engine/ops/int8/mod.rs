//! Integer op family: full-integer (int8 activations, int16x8 activations
//! with int8 weights) and dynamic-range hybrid (float activations, int8
//! weights) nodes, computed with LiteRT's reference-kernel arithmetic
//! (`BuiltinRefOpResolver`) so outputs match it bit for bit.
//!
//! Registered last: float families reject quantized activations and
//! quantized weights, and the array family takes data movement whose
//! tensors share one quantization, so this family sees what is left.
//!
//! Every op here is a [`Build`] type: its state (weights packed into the
//! kernels' layout, per-channel multipliers, lookup tables) is built once
//! per node at plan time from the op, the tensors' quantization and the
//! constant inputs, then run many times. The registry's plain `run` builds
//! the same state for a single run (constant folding).
//!
//! Files: `conv` (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV,
//! BATCH_MATMUL and their hybrid forms), `binary` (ADD, SUB, MUL), `reduce`
//! (AVERAGE/MAX_POOL_2D, MEAN, SUM), `activation` (SOFTMAX, LOGISTIC, TANH,
//! HARD_SWISH, LEAKY_RELU, PRELU, RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1),
//! `shape` (QUANTIZE requantization, CONCATENATION, PAD, PADV2, resizes,
//! and data movement between tensors of different quantization).

mod activation;
mod binary;
mod conv;
mod reduce;
mod shape;

use super::{CheckFn, OpImpl, PrepareFn, Prepared, RunFn};
use crate::engine::{req, Data, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph, Tensor};

/// Errors while building a node's state.
pub(crate) type BResult<T> = std::result::Result<T, String>;

/// An op implementation whose state is built once per node.
pub(crate) trait Build: Prepared + Sized + 'static {
    /// `known[i]` is input `i`'s value when it is a constant.
    fn build(op: &Op, sg: &Subgraph, known: &[Option<&Value>]) -> BResult<Self>;
}

fn run_fresh<K: Build>(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let mut k = match K::build(node.op, node.sg, inputs) {
        Ok(k) => k,
        Err(e) => return node.err(e),
    };
    k.run(node, inputs)
}

fn prepare_with<K: Build>(op: &Op, sg: &Subgraph, known: &[Option<&Value>]) -> BResult<Box<dyn Prepared>> {
    Ok(Box::new(K::build(op, sg, known)?))
}

struct Entry {
    run: RunFn,
    check: CheckFn,
    prepare: PrepareFn,
}

fn entry<K: Build>(check: CheckFn) -> Entry {
    Entry { run: run_fresh::<K>, check, prepare: prepare_with::<K> }
}

fn table(op: BuiltinOp) -> Option<Entry> {
    use BuiltinOp as B;
    Some(match op {
        B::CONV_2D => entry::<conv::Conv>(conv::check_conv),
        B::DEPTHWISE_CONV_2D => entry::<conv::Depthwise>(conv::check_depthwise),
        B::FULLY_CONNECTED => entry::<conv::FullyConnected>(conv::check_fc),
        B::TRANSPOSE_CONV => entry::<conv::TransposeConv>(conv::check_transpose_conv),
        B::BATCH_MATMUL => entry::<conv::BatchMatMul>(conv::check_batch_matmul),
        B::ADD | B::SUB => entry::<binary::AddSub>(binary::check),
        B::MUL => entry::<binary::Mul>(binary::check),
        B::AVERAGE_POOL_2D | B::MAX_POOL_2D => entry::<reduce::Pool>(check_unary),
        B::MEAN | B::SUM => entry::<reduce::MeanSum>(reduce::check_mean_sum),
        B::SOFTMAX => entry::<activation::Softmax>(activation::check_softmax),
        B::LOGISTIC | B::TANH => entry::<activation::Sigmoid>(check_unary),
        B::HARD_SWISH => entry::<activation::HardSwish>(activation::check_int8_only),
        B::LEAKY_RELU => entry::<activation::LeakyRelu>(check_unary),
        B::PRELU => entry::<activation::Prelu>(activation::check_prelu),
        B::RELU | B::RELU6 | B::RELU_N1_TO_1 | RELU_0_TO_1 => entry::<activation::Relu>(check_unary),
        B::QUANTIZE => entry::<shape::Requantize>(shape::check_requantize),
        B::CONCATENATION => entry::<shape::Concat>(shape::check_concat),
        B::PAD | B::PADV2 => entry::<shape::Pad>(shape::check_pad),
        B::RESIZE_BILINEAR | B::RESIZE_NEAREST_NEIGHBOR => entry::<shape::Resize>(shape::check_resize),
        B::DEPTH_TO_SPACE | B::SPACE_TO_DEPTH => entry::<shape::Blocks>(check_unary),
        B::RESHAPE
        | B::SQUEEZE
        | B::EXPAND_DIMS
        | B::TRANSPOSE
        | B::STRIDED_SLICE
        | B::SLICE
        | B::GATHER
        | B::SPLIT
        | B::SPLIT_V
        | B::PACK
        | B::UNPACK
        | B::TILE
        | B::BROADCAST_TO => entry::<shape::Move>(shape::check_move),
        _ => return None,
    })
}

/// RELU_0_TO_1 (not in the IR's named constants).
const RELU_0_TO_1: BuiltinOp = BuiltinOp(152);

pub fn register(op: BuiltinOp) -> Option<OpImpl> {
    table(op).map(|e| OpImpl { run: e.run, check: e.check })
}

/// The plan-time prepare step of the op's implementation.
pub fn prepare(op: BuiltinOp) -> Option<PrepareFn> {
    table(op).map(|e| e.prepare)
}

// ---------------------------------------------------------------- types

/// A quantized storage type.
pub(crate) trait Q: Copy + Default + Send + Sync + PartialOrd + 'static {
    const DTYPE: DType;
    const MIN: i32;
    const MAX: i32;
    fn get(self) -> i32;
    /// C++ `static_cast` from int32 (truncating).
    fn cast(v: i32) -> Self;
    fn of(d: &Data) -> Option<&[Self]>;
    fn data(v: Vec<Self>) -> Data;
}

impl Q for i8 {
    const DTYPE: DType = DType::I8;
    const MIN: i32 = i8::MIN as i32;
    const MAX: i32 = i8::MAX as i32;
    #[inline]
    fn get(self) -> i32 {
        self as i32
    }
    #[inline]
    fn cast(v: i32) -> Self {
        v as i8
    }
    fn of(d: &Data) -> Option<&[Self]> {
        match d {
            Data::I8(v) => Some(v),
            _ => None,
        }
    }
    fn data(v: Vec<Self>) -> Data {
        Data::I8(v)
    }
}

impl Q for u8 {
    const DTYPE: DType = DType::U8;
    const MIN: i32 = 0;
    const MAX: i32 = u8::MAX as i32;
    #[inline]
    fn get(self) -> i32 {
        self as i32
    }
    #[inline]
    fn cast(v: i32) -> Self {
        v as u8
    }
    fn of(d: &Data) -> Option<&[Self]> {
        match d {
            Data::U8(v) => Some(v),
            _ => None,
        }
    }
    fn data(v: Vec<Self>) -> Data {
        Data::U8(v)
    }
}

impl Q for i16 {
    const DTYPE: DType = DType::I16;
    const MIN: i32 = i16::MIN as i32;
    const MAX: i32 = i16::MAX as i32;
    #[inline]
    fn get(self) -> i32 {
        self as i32
    }
    #[inline]
    fn cast(v: i32) -> Self {
        v as i16
    }
    fn of(d: &Data) -> Option<&[Self]> {
        match d {
            Data::I16(v) => Some(v),
            _ => None,
        }
    }
    fn data(v: Vec<Self>) -> Data {
        Data::I16(v)
    }
}

/// Integer range of a quantized dtype.
pub(crate) fn qrange(d: DType) -> Option<(i32, i32)> {
    match d {
        DType::I8 => Some((i8::MIN as i32, i8::MAX as i32)),
        DType::U8 => Some((0, u8::MAX as i32)),
        DType::I16 => Some((i16::MIN as i32, i16::MAX as i32)),
        _ => None,
    }
}

// ---------------------------------------------------------------- tensors

/// Per-tensor quantization as TFLite's legacy `params` (first scale and
/// zero point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Qp {
    pub scale: f32,
    pub zp: i32,
}

pub(crate) fn input_tensor<'a>(op: &Op, sg: &'a Subgraph, i: usize) -> BResult<&'a Tensor> {
    op.input(i).and_then(|t| sg.tensors.get(t)).ok_or_else(|| format!("input {i} is missing"))
}

pub(crate) fn output_tensor<'a>(op: &Op, sg: &'a Subgraph, i: usize) -> BResult<&'a Tensor> {
    op.outputs.get(i).and_then(|&t| sg.tensors.get(t)).ok_or_else(|| format!("output {i} is missing"))
}

pub(crate) fn is_quantized(t: &Tensor) -> bool {
    t.quant.as_ref().is_some_and(|q| q.is_quantized())
}

/// The tensor's per-tensor quantization.
pub(crate) fn qp(t: &Tensor) -> BResult<Qp> {
    let q = t.quant.as_ref().filter(|q| q.is_quantized()).ok_or_else(|| format!("tensor {} is not quantized", t.name))?;
    let scale = q.scale[0];
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!("tensor {} has scale {scale}", t.name));
    }
    let zp = q.zero_point.first().copied().unwrap_or(0);
    // Real zero points lie in their type's range; anything far outside is a
    // corrupt model (and would overflow the int32 arithmetic).
    if !(-65536..=65536).contains(&zp) {
        return Err(format!("tensor {} has zero point {zp}", t.name));
    }
    Ok(Qp { scale, zp: zp as i32 })
}

/// Per-channel scales of a weight tensor along `dim` (size `n`): one per
/// channel, or the per-tensor scale repeated.
pub(crate) fn channel_scales(t: &Tensor, n: usize) -> BResult<Vec<f32>> {
    let q = t.quant.as_ref().filter(|q| q.is_quantized()).ok_or_else(|| format!("weights {} are not quantized", t.name))?;
    match q.scale.len() {
        1 => Ok(vec![q.scale[0]; n]),
        k if k == n => Ok(q.scale.clone()),
        k => Err(format!("weights {} have {k} scales for {n} channels", t.name)),
    }
}

/// A weight tensor's zero points must all be zero (TFLite's symmetric
/// per-channel weights).
pub(crate) fn symmetric(t: &Tensor) -> BResult<()> {
    match t.quant.as_ref() {
        Some(q) if q.zero_point.iter().any(|&z| z != 0) => Err(format!("weights {} have non-zero zero points", t.name)),
        _ => Ok(()),
    }
}

/// Fused activation clamp range for an output tensor.
pub(crate) fn act_range(op: &Op, out: &Tensor, q: Qp) -> BResult<(i32, i32)> {
    let (lo, hi) = qrange(out.dtype).ok_or_else(|| format!("{} output is not a quantized type", out.dtype))?;
    let code = op.attr_i64("fused_activation_function", 0);
    let (a, b) = crate::kernels::int8::fixedpoint::activation_range(code, q.scale, q.zp, lo, hi)
        .ok_or_else(|| format!("unsupported fused activation code {code}"))?;
    if a > b {
        return Err(format!("fused activation {code} leaves an empty output range [{a}, {b}]"));
    }
    Ok((a, b))
}

/// Static dims of a tensor (negative dims as 1).
pub(crate) fn dims(t: &Tensor) -> Vec<usize> {
    t.shape.iter().map(|&d| d.max(1) as usize).collect()
}

// ---------------------------------------------------------------- checks

/// A quantized activation tensor type this family runs.
fn q_activation(d: DType) -> bool {
    matches!(d, DType::I8 | DType::I16 | DType::U8)
}

/// Input 0 and output 0 quantized activations of the same type.
pub(crate) fn check_unary(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let x = input_tensor(op, sg, 0)?;
    let y = output_tensor(op, sg, 0)?;
    if !q_activation(x.dtype) || x.dtype != y.dtype {
        return Err(format!("{} -> {}: the integer engine runs int8/int16 activations", x.dtype, y.dtype));
    }
    if !is_quantized(x) || !is_quantized(y) {
        return Err("integer tensors without quantization parameters".into());
    }
    Ok(())
}

// ---------------------------------------------------------------- values

/// Input `i` as a slice of `T` with its shape.
pub(crate) fn qin<'v, T: Q>(node: &Node, inputs: &Inputs<'v>, i: usize) -> Result<(&'v [usize], &'v [T])> {
    let v = req(node, inputs, i)?;
    match T::of(&v.data) {
        Some(d) => Ok((&v.shape, d)),
        None => node.err(format!("input {i} must be {}, got {}", T::DTYPE, v.dtype())),
    }
}

/// Wrap an output.
pub(crate) fn qout<T: Q>(node: &Node, shape: Vec<usize>, v: Vec<T>) -> Result<Value> {
    match Value::new(shape, T::data(v)) {
        Ok(v) => Ok(v),
        Err(e) => node.err(e.to_string()),
    }
}

/// Integer values of input `i` (axes, sizes, paddings).
pub(crate) fn int_input(node: &Node, inputs: &Inputs, i: usize, what: &str) -> Result<Vec<i64>> {
    let v = req(node, inputs, i)?;
    match v.to_i64() {
        Some(x) if matches!(v.dtype(), DType::I32 | DType::I64) => Ok(x),
        _ => node.err(format!("{what} must be int32 or int64, got {}", v.dtype())),
    }
}

/// Lift a kernel error into a node error.
pub(crate) fn kr<T>(node: &Node, r: std::result::Result<T, String>) -> Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => node.err(e),
    }
}

/// Largest output this family allocates (elements).
pub(crate) const MAX_ELEMENTS: usize = 1 << 28;

pub(crate) fn checked_numel(node: &Node, shape: &[usize]) -> Result<usize> {
    match shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => node.err(format!("shape {shape:?} is too large")),
    }
}
