//! CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV and
//! BATCH_MATMUL: int8 (per-channel or per-tensor weights), int16x8 (int16
//! activations, int8 weights, 64-bit accumulators) and dynamic-range hybrid
//! (float activations quantized per batch on the fly, int8 weights).
//!
//! Arithmetic as LiteRT's reference kernels:
//! - CONV_2D / DEPTHWISE / TRANSPOSE_CONV: per-channel multipliers from
//!   `double(s_in) * double(s_w[c]) / double(s_out)`, fixed-point
//!   requantization (`MultiplyByQuantizedMultiplier`);
//! - FULLY_CONNECTED: the same scales, but the reference kernel requantizes
//!   in double: `(int32)round(double(acc) * scale)`;
//! - BATCH_MATMUL: one multiplier from `double(float(s_l * s_r)) / s_out`;
//! - hybrid: `float(acc) * scales + bias` in the reference's float order.
//!
//! int8 CONV_2D and FULLY_CONNECTED run on the packed GEMM (im2col for
//! windows other than 1x1/stride 1), DEPTHWISE on the packed depthwise
//! kernel; the other forms are plain loops.

use super::{
    act_range, channel_scales, checked_numel, dims, input_tensor, is_quantized, kr, output_tensor, qin, qout, qp, symmetric,
    BResult, Build, Qp,
};
use crate::engine::ops::Prepared;
use crate::engine::{req, Data, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{DType, Op, Subgraph, Tensor};
use crate::kernels::conv::{Padding, Window};
use crate::kernels::int8::{self as k8, fixedpoint as fx, DwGeom, GemmOut, PackedDw, PackedW, Requant};

// ---------------------------------------------------------------- kinds

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    I8,
    I16,
    Hybrid,
}

/// Which form a weighted node is (input 0 activation, input `w` weights).
fn kind(op: &Op, sg: &Subgraph, w: usize) -> BResult<Kind> {
    let x = input_tensor(op, sg, 0)?;
    let f = input_tensor(op, sg, w)?;
    let y = output_tensor(op, sg, 0)?;
    let k = match (x.dtype, f.dtype, y.dtype) {
        (DType::I8, DType::I8, DType::I8) => Kind::I8,
        (DType::I16, DType::I8, DType::I16) => Kind::I16,
        (DType::F32, DType::I8, DType::F32) => Kind::Hybrid,
        (a, b, c) => return Err(format!("{a} input, {b} weights, {c} output: no integer kernel")),
    };
    if !is_quantized(f) {
        return Err("integer weights without quantization parameters".into());
    }
    if k != Kind::Hybrid && (!is_quantized(x) || !is_quantized(y)) {
        return Err("integer activations without quantization parameters".into());
    }
    Ok(k)
}

fn check_bias(op: &Op, sg: &Subgraph, i: usize, k: Kind) -> BResult<()> {
    let Some(t) = op.input(i).and_then(|t| sg.tensors.get(t)) else { return Ok(()) };
    let ok = match k {
        Kind::I8 => t.dtype == DType::I32,
        Kind::I16 => matches!(t.dtype, DType::I32 | DType::I64),
        Kind::Hybrid => t.dtype == DType::F32,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{} bias is not supported with these activations", t.dtype))
    }
}

fn rank_of(op: &Op, sg: &Subgraph, i: usize) -> BResult<usize> {
    Ok(input_tensor(op, sg, i)?.shape.len())
}

pub(super) fn check_conv(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let k = kind(op, sg, 1)?;
    if rank_of(op, sg, 0)? != 4 || rank_of(op, sg, 1)? != 4 {
        return Err("CONV_2D needs 4-D input and filter".into());
    }
    check_bias(op, sg, 2, k)
}

pub(super) fn check_depthwise(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    check_conv(op, sg)
}

pub(super) fn check_fc(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let k = kind(op, sg, 1)?;
    if op.attr_i64("weights_format", 0) != 0 {
        return Err("shuffled FULLY_CONNECTED weights are not supported".into());
    }
    if rank_of(op, sg, 1)? != 2 {
        return Err("FULLY_CONNECTED weights must be 2-D".into());
    }
    check_bias(op, sg, 2, k)
}

pub(super) fn check_transpose_conv(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    // Inputs: output_shape, weights, activation, bias.
    let x = input_tensor(op, sg, 2)?;
    let f = input_tensor(op, sg, 1)?;
    let y = output_tensor(op, sg, 0)?;
    let k = match (x.dtype, f.dtype, y.dtype) {
        (DType::I8, DType::I8, DType::I8) => Kind::I8,
        (DType::I16, DType::I8, DType::I16) => Kind::I16,
        (DType::F32, DType::I8, DType::F32) => Kind::Hybrid,
        (a, b, c) => return Err(format!("{a} input, {b} weights, {c} output: no integer TRANSPOSE_CONV")),
    };
    if !is_quantized(f) || (k != Kind::Hybrid && (!is_quantized(x) || !is_quantized(y))) {
        return Err("integer tensors without quantization parameters".into());
    }
    check_bias(op, sg, 3, k)
}

pub(super) fn check_batch_matmul(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let l = input_tensor(op, sg, 0)?;
    let r = input_tensor(op, sg, 1)?;
    let y = output_tensor(op, sg, 0)?;
    match (l.dtype, r.dtype, y.dtype) {
        (DType::I8, DType::I8, DType::I8) | (DType::I16, DType::I16, DType::I16) => {}
        (a, b, c) => return Err(format!("{a} x {b} -> {c}: no integer BATCH_MATMUL")),
    }
    if !is_quantized(l) || !is_quantized(r) || !is_quantized(y) {
        return Err("integer tensors without quantization parameters".into());
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers

/// Stride, dilation and padding options of a windowed op.
#[derive(Debug, Clone, Copy)]
struct Geo {
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    padding: Padding,
}

fn pos(op: &Op, name: &str) -> BResult<usize> {
    let v = op.attr_i64(name, 1);
    if v <= 0 || v > (1 << 20) {
        return Err(format!("{name} = {v} must be a positive size"));
    }
    Ok(v as usize)
}

fn geo(op: &Op) -> BResult<Geo> {
    let c = op.attr_i64("padding", 0);
    Ok(Geo {
        sh: pos(op, "stride_h")?,
        sw: pos(op, "stride_w")?,
        dh: pos(op, "dilation_h_factor")?,
        dw: pos(op, "dilation_w_factor")?,
        padding: Padding::from_code(c).ok_or_else(|| format!("unknown padding code {c}"))?,
    })
}

fn rank4(node: &Node, what: &str, s: &[usize]) -> Result<[usize; 4]> {
    match s {
        &[a, b, c, d] => Ok([a, b, c, d]),
        _ => node.err(format!("{what} must be 4-D, has shape {s:?}")),
    }
}

/// A constant input's values as `T` (None when not constant).
fn known<'v>(k: &[Option<&'v Value>], i: usize) -> Option<&'v Value> {
    k.get(i).copied().flatten()
}

fn i8s(v: &Value) -> BResult<&[i8]> {
    match &v.data {
        Data::I8(x) => Ok(x),
        d => Err(format!("expected int8 weights, got {}", d.dtype())),
    }
}

/// Bias as int64 (int32 or int64 tensor), or None.
fn bias_i64(v: Option<&Value>, n: usize) -> BResult<Option<Vec<i64>>> {
    let Some(v) = v else { return Ok(None) };
    let b: Vec<i64> = match &v.data {
        Data::I32(x) => x.iter().map(|&b| b as i64).collect(),
        Data::I64(x) => x.clone(),
        d => return Err(format!("bias must be int32 or int64, got {}", d.dtype())),
    };
    if b.len() != n {
        return Err(format!("bias has {} values for {n} channels", b.len()));
    }
    Ok(Some(b))
}

fn bias_i32(v: Option<&Value>, n: usize) -> BResult<Option<Vec<i32>>> {
    let Some(v) = v else { return Ok(None) };
    match &v.data {
        Data::I32(x) if x.len() == n => Ok(Some(x.clone())),
        Data::I32(x) => Err(format!("bias has {} values for {n} channels", x.len())),
        d => Err(format!("bias must be int32, got {}", d.dtype())),
    }
}

fn bias_f32(v: Option<&Value>, n: usize) -> BResult<Option<Vec<f32>>> {
    let Some(v) = v else { return Ok(None) };
    match &v.data {
        Data::F32(x) if x.len() == n => Ok(Some(x.clone())),
        Data::F32(x) => Err(format!("bias has {} values for {n} channels", x.len())),
        d => Err(format!("bias must be float32, got {}", d.dtype())),
    }
}

/// Per-channel fixed-point multipliers `double(s_in) * double(s_w[c]) / double(s_out)`.
fn conv_multipliers(s_in: f32, s_w: &[f32], s_out: f32) -> (Vec<i32>, Vec<i32>) {
    s_w.iter()
        .map(|&sw| fx::quantize_multiplier(s_in as f64 * sw as f64 / s_out as f64))
        .unzip()
}

/// The input and filter tensors of an int8 conv / depthwise / fully
/// connected node, the input and output quantization and the output clamp: what each of
/// their kernels' setups starts from.
struct QNode<'a> {
    x: &'a Tensor,
    f: &'a Tensor,
    qx: Qp,
    qy: Qp,
    lo: i32,
    hi: i32,
}

impl<'a> QNode<'a> {
    fn new(op: &Op, sg: &'a Subgraph) -> BResult<QNode<'a>> {
        let (x, f, y) = (input_tensor(op, sg, 0)?, input_tensor(op, sg, 1)?, output_tensor(op, sg, 0)?);
        let (qx, qy) = (qp(x)?, qp(y)?);
        let (lo, hi) = act_range(op, y, qy)?;
        Ok(QNode { x, f, qx, qy, lo, hi })
    }

    /// Per-channel requantization of conv accumulators for weight scales
    /// `ws`: TFLite's fixed-point multipliers, and the single-precision
    /// scales of the fast mode.
    fn conv_requant(&self, ws: &[f32]) -> Requant {
        let (mult, shift) = conv_multipliers(self.qx.scale, ws, self.qy.scale);
        Requant::fixed(mult, shift, self.qy.zp, self.lo, self.hi).with_fp32(k8::requant::fp32_scales(self.qx.scale, ws, self.qy.scale))
    }
}

/// Is input `i` given (not an omitted optional input)?
fn has_input(op: &Op, i: usize) -> bool {
    op.input(i).is_some()
}

/// Float activation range of a fused activation (TFLite `CalculateActivationRange`).
fn float_act(op: &Op) -> BResult<(f32, f32)> {
    Ok(match op.attr_i64("fused_activation_function", 0) {
        0 | 4 | 5 => (f32::MIN, f32::MAX),
        1 => (0.0, f32::MAX),
        2 => (-1.0, 1.0),
        3 => (0.0, 6.0),
        c => return Err(format!("unsupported fused activation code {c}")),
    })
}

/// A weighted op whose state needs its constant weights: built at plan
/// time when they are constants, else rebuilt from the inputs each run.
pub(crate) struct Lazy<T>(Option<T>);

trait Weighted: Sized + Send + 'static {
    /// `Ok(None)` when a weight input is not a constant.
    fn new(op: &Op, sg: &Subgraph, known: &[Option<&Value>]) -> BResult<Option<Self>>;
    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>>;
    /// Bytes of weights and scratch held.
    fn bytes(&self) -> usize;
    /// Switch fast (fp32) requantization; true when it is on.
    fn set_fast(&mut self, _on: bool) -> bool {
        false
    }
    /// Inputs whose constants the state has taken in (see
    /// `Prepared::captured_inputs`).
    fn captured(&self) -> &'static [usize] {
        &[]
    }
}

impl<T: Weighted> Build for Lazy<T> {
    fn build(op: &Op, sg: &Subgraph, known: &[Option<&Value>]) -> BResult<Self> {
        Ok(Lazy(T::new(op, sg, known)?))
    }
}

impl<T: Weighted> Prepared for Lazy<T> {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        match &mut self.0 {
            Some(t) => t.exec(node, inputs),
            None => match T::new(node.op, node.sg, inputs) {
                Ok(Some(mut t)) => t.exec(node, inputs),
                Ok(None) => node.err("weights are missing"),
                Err(e) => node.err(e),
            },
        }
    }
    fn bytes(&self) -> usize {
        self.0.as_ref().map_or(0, T::bytes)
    }
    fn set_fast(&mut self, on: bool) -> bool {
        self.0.as_mut().is_some_and(|t| t.set_fast(on))
    }
    fn captured_inputs(&self) -> &'static [usize] {
        self.0.as_ref().map_or(&[], T::captured)
    }
}

pub(crate) type Conv = Lazy<ConvState>;
pub(crate) type Depthwise = Lazy<DwState>;
pub(crate) type FullyConnected = Lazy<FcState>;
pub(crate) type TransposeConv = Lazy<TConvState>;

// ---------------------------------------------------------------- CONV_2D

pub(crate) enum ConvState {
    I8(ConvI8),
    Wide(ConvWide),
}

impl Weighted for ConvState {
    fn new(op: &Op, sg: &Subgraph, kn: &[Option<&Value>]) -> BResult<Option<Self>> {
        let k = kind(op, sg, 1)?;
        let Some(wv) = known(kn, 1) else { return Ok(None) };
        if has_input(op, 2) && known(kn, 2).is_none() {
            return Ok(None);
        }
        let bias = known(kn, 2);
        Ok(Some(match k {
            Kind::I8 => ConvState::I8(ConvI8::new(op, sg, wv, bias)?),
            Kind::I16 | Kind::Hybrid => ConvState::Wide(ConvWide::new(op, sg, k, wv, bias)?),
        }))
    }
    fn bytes(&self) -> usize {
        match self {
            ConvState::I8(s) => s.groups.iter().map(|(p, _)| p.bytes()).sum::<usize>() + s.scratch.capacity(),
            ConvState::Wide(s) => s.w.len(),
        }
    }
    fn set_fast(&mut self, on: bool) -> bool {
        match self {
            ConvState::I8(s) => s.groups.iter_mut().fold(false, |any, (_, rq)| rq.set_fast(on) | any),
            ConvState::Wide(_) => false,
        }
    }
    fn captured(&self) -> &'static [usize] {
        match self {
            // Weights and bias live in the packing.
            ConvState::I8(_) => &[1, 2],
            ConvState::Wide(_) => &[],
        }
    }
    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        match self {
            ConvState::I8(s) => s.exec(node, inputs),
            ConvState::Wide(s) => s.exec(node, inputs),
        }
    }
}

/// int8 CONV_2D on the packed GEMM, one packing per group.
pub(crate) struct ConvI8 {
    oc: usize,
    kh: usize,
    kw: usize,
    ic: usize,
    geo: Geo,
    zp_in: i32,
    /// Per group: packed weights and requantization of its channels.
    groups: Vec<(PackedW, Requant)>,
    scratch: Vec<i8>,
}

impl ConvI8 {
    fn new(op: &Op, sg: &Subgraph, wv: &Value, bias: Option<&Value>) -> BResult<ConvI8> {
        let q = QNode::new(op, sg)?;
        symmetric(q.f)?;
        let [oc, kh, kw, ic] = match wv.shape[..] {
            [a, b, c, d] => [a, b, c, d],
            _ => return Err(format!("filter must be 4-D, has shape {:?}", wv.shape)),
        };
        if oc == 0 || ic == 0 {
            return Err("empty filter".into());
        }
        let c_in = dims(q.x).get(3).copied().unwrap_or(ic);
        if c_in % ic != 0 || oc % (c_in / ic).max(1) != 0 {
            return Err(format!("input channels {c_in} do not split into groups of {ic} for {oc} filters"));
        }
        let ngroups = (c_in / ic).max(1);
        let opg = oc / ngroups;
        let w = i8s(wv)?;
        let bias = bias_i32(bias, oc)?;
        let ws = channel_scales(q.f, oc)?;
        let k = kh * kw * ic;
        let mut groups = Vec::with_capacity(ngroups);
        for g in 0..ngroups {
            let r = g * opg..(g + 1) * opg;
            let packed = PackedW::pack(opg, k, &w[r.start * k..r.end * k], bias.as_ref().map(|b| &b[r.clone()]), -q.qx.zp)?;
            let rq = q.conv_requant(&ws[r]).with_acc_bounds(&packed.acc_bounds());
            groups.push((packed, rq));
        }
        Ok(ConvI8 { oc, kh, kw, ic, geo: geo(op)?, zp_in: q.qx.zp, groups, scratch: Vec::new() })
    }

    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let (xs, x) = qin::<i8>(node, inputs, 0)?;
        let [n, h, w, c] = rank4(node, "input", xs)?;
        let ng = self.groups.len();
        if c != self.ic * ng {
            return node.err(format!("input has {c} channels, the filter expects {} x {ng} groups", self.ic));
        }
        let g = self.geo;
        let win = kr(node, Window::new(n, h, w, c, self.kh, self.kw, (g.sh, g.sw), (g.dh, g.dw), g.padding))?;
        let shape = vec![n, win.oh, win.ow, self.oc];
        let total = checked_numel(node, &shape)?;
        let mut out = node.pool.take_i8_overwritten(total);
        let pixels = win.oh * win.ow;
        let opg = self.oc / ng;
        let direct = ng == 1 && self.kh == 1 && self.kw == 1 && g.sh == 1 && g.sw == 1 && win.pad_t == 0 && win.pad_l == 0;
        if direct {
            let (packed, rq) = &self.groups[0];
            kr(node, k8::gemm(n * h * w, x, c, packed, GemmOut::I8 { out: &mut out, ldc: self.oc, rq }))?;
            return Ok(vec![qout(node, shape, out)?]);
        }
        let kp = self.groups[0].0.kp;
        let chunk = ((1usize << 20) / kp.max(1)).clamp(1, pixels.max(1));
        self.scratch.resize(chunk * kp, 0);
        for b in 0..n {
            let img = &x[b * h * w * c..(b + 1) * h * w * c];
            for (gi, (packed, rq)) in self.groups.iter().enumerate() {
                let mut p0 = 0;
                while p0 < pixels {
                    let rows = chunk.min(pixels - p0);
                    let patches = k8::im2col::Patches { win: &win, ic: self.ic, c0: gi * self.ic, fill: self.zp_in as i8 };
                    kr(node, k8::im2col(&patches, img, p0, rows, kp, &mut self.scratch))?;
                    let o = &mut out[(b * pixels + p0) * self.oc + gi * opg..];
                    kr(node, k8::gemm(rows, &self.scratch[..rows * kp], kp, packed, GemmOut::I8 { out: o, ldc: self.oc, rq }))?;
                    p0 += rows;
                }
            }
        }
        Ok(vec![qout(node, shape, out)?])
    }
}


/// The taps of output pixel `(b, oy, ox)` that fall inside the image, as
/// (offset of the input pixel, tap index `ky * kw + kx`).
fn window_taps(win: &Window, (h, w, c): (usize, usize, usize), (b, oy, ox): (usize, usize, usize), taps: &mut Vec<(usize, usize)>) {
    taps.clear();
    for ky in 0..win.kh {
        let iy = (oy * win.sh + ky * win.dh) as isize - win.pad_t as isize;
        if iy < 0 || iy as usize >= h {
            continue;
        }
        for kx in 0..win.kw {
            let ix = (ox * win.sw + kx * win.dw) as isize - win.pad_l as isize;
            if ix < 0 || ix as usize >= w {
                continue;
            }
            taps.push((((b * h + iy as usize) * w + ix as usize) * c, ky * win.kw + kx));
        }
    }
}

/// int16x8 and hybrid CONV_2D: reference loops.
pub(crate) struct ConvWide {
    kind: Kind,
    oc: usize,
    kh: usize,
    kw: usize,
    ic: usize,
    geo: Geo,
    w: Vec<i8>,
    /// int16x8: accumulate in int32 and use the 32-bit multiplier form
    /// (only when the op's `quantized_bias_type` is INT32, as LiteRT).
    acc32: bool,
    bias_i: Option<Vec<i64>>,
    bias_f: Option<Vec<f32>>,
    rq_mult: Vec<i32>,
    rq_shift: Vec<i32>,
    zp_out: i32,
    lo: i32,
    hi: i32,
    /// Hybrid: per-channel weight scales, and whether the per-channel
    /// (asymmetric input) kernel runs.
    w_scales: Vec<f32>,
    per_channel: bool,
    flo: f32,
    fhi: f32,
}

impl ConvWide {
    fn new(op: &Op, sg: &Subgraph, k: Kind, wv: &Value, bias: Option<&Value>) -> BResult<ConvWide> {
        let f = input_tensor(op, sg, 1)?;
        let [oc, kh, kw, ic] = match wv.shape[..] {
            [a, b, c, d] => [a, b, c, d],
            _ => return Err(format!("filter must be 4-D, has shape {:?}", wv.shape)),
        };
        if oc == 0 || ic == 0 {
            return Err("empty filter".into());
        }
        let w = i8s(wv)?.to_vec();
        let w_scales = channel_scales(f, oc)?;
        let mut s = ConvWide {
            kind: k,
            oc,
            kh,
            kw,
            ic,
            geo: geo(op)?,
            w,
            acc32: false,
            bias_i: None,
            bias_f: None,
            rq_mult: vec![],
            rq_shift: vec![],
            zp_out: 0,
            lo: 0,
            hi: 0,
            per_channel: false,
            w_scales,
            flo: 0.0,
            fhi: 0.0,
        };
        match k {
            Kind::I16 => {
                let q = QNode::new(op, sg)?;
                symmetric(f)?;
                (s.rq_mult, s.rq_shift) = conv_multipliers(q.qx.scale, &s.w_scales, q.qy.scale);
                (s.zp_out, s.lo, s.hi) = (q.qy.zp, q.lo, q.hi);
                s.bias_i = bias_i64(bias, oc)?;
                s.acc32 = op.attr_i64("quantized_bias_type", 0) == 2;
            }
            Kind::Hybrid => {
                s.bias_f = bias_f32(bias, oc)?;
                let q = f.quant.as_ref().ok_or("hybrid weights are not quantized")?;
                s.per_channel = q.scale.len() > 1 && q.scale.iter().any(|&v| v != q.scale[0]);
                (s.flo, s.fhi) = float_act(op)?;
            }
            Kind::I8 => return Err("int8 CONV_2D runs on the packed kernel, not the wide one".into()),
        }
        Ok(s)
    }

    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let xv = req(node, inputs, 0)?;
        let [n, h, w, c] = rank4(node, "input", &xv.shape)?;
        if !c.is_multiple_of(self.ic) || !self.oc.is_multiple_of((c / self.ic).max(1)) {
            return node.err(format!("input channels {c} do not split into groups of {}", self.ic));
        }
        let groups = c / self.ic;
        let opg = self.oc / groups;
        let g = self.geo;
        let win = kr(node, Window::new(n, h, w, c, self.kh, self.kw, (g.sh, g.sw), (g.dh, g.dw), g.padding))?;
        let shape = vec![n, win.oh, win.ow, self.oc];
        checked_numel(node, &shape)?;
        let (kh, kw, ic, oc) = (self.kh, self.kw, self.ic, self.oc);
        let total: usize = shape.iter().product();
        let mut taps = Vec::with_capacity(kh * kw);
        if self.kind == Kind::I16 {
            let (_, x) = qin::<i16>(node, inputs, 0)?;
            let mut out = vec![0i16; total];
            for b in 0..n {
                for oy in 0..win.oh {
                    for ox in 0..win.ow {
                        window_taps(&win, (h, w, c), (b, oy, ox), &mut taps);
                        let o = ((b * win.oh + oy) * win.ow + ox) * oc;
                        for co in 0..oc {
                            let c0 = (co / opg) * ic;
                            let wrow = &self.w[co * kh * kw * ic..(co + 1) * kh * kw * ic];
                            let mut acc: i64 = 0;
                            for &(px, t) in &taps {
                                for ci in 0..ic {
                                    acc = acc.wrapping_add(wrow[t * ic + ci] as i64 * x[px + c0 + ci] as i64);
                                }
                            }
                            let bias = self.bias_i.as_ref().map_or(0, |b| b[co]);
                            let v = if self.acc32 {
                                fx::mbqm((acc as i32).wrapping_add(bias as i32), self.rq_mult[co], self.rq_shift[co])
                            } else {
                                fx::mbqm64(acc.wrapping_add(bias), self.rq_mult[co], self.rq_shift[co])
                            };
                            out[o + co] = v.wrapping_add(self.zp_out).clamp(self.lo, self.hi) as i16;
                        }
                    }
                }
            }
            return Ok(vec![qout(node, shape, out)?]);
        }
        let Some(x) = xv.as_f32() else { return node.err("hybrid CONV_2D needs a float32 input") };
        let per = h * w * c;
        let mut out = vec![0f32; total];
        // Quantize each batch: asymmetric for the per-channel kernel,
        // symmetric (scale folded with the weight scale) otherwise.
        let asym = self.per_channel || groups != 1;
        let mut q = vec![0i8; x.len()];
        let mut sf = vec![0f32; n];
        let mut zp = vec![0i32; n];
        for b in 0..n {
            let (xs, qs) = (&x[b * per..(b + 1) * per], &mut q[b * per..(b + 1) * per]);
            if asym {
                (sf[b], zp[b]) = hybrid::asymmetric_quantize(xs, qs);
            } else {
                sf[b] = hybrid::symmetric_quantize(xs, qs) * self.w_scales[0];
            }
        }
        for b in 0..n {
            for oy in 0..win.oh {
                for ox in 0..win.ow {
                    window_taps(&win, (h, w, c), (b, oy, ox), &mut taps);
                    let o = ((b * win.oh + oy) * win.ow + ox) * oc;
                    for co in 0..oc {
                        let c0 = (co / opg) * ic;
                        let wrow = &self.w[co * kh * kw * ic..(co + 1) * kh * kw * ic];
                        let mut acc: i32 = 0;
                        for &(px, t) in &taps {
                            for ci in 0..ic {
                                acc = acc.wrapping_add(wrow[t * ic + ci] as i32 * (q[px + c0 + ci] as i32 - zp[b]));
                            }
                        }
                        let mut v = if asym { acc as f32 * self.w_scales[co] * sf[b] } else { acc as f32 * sf[b] };
                        if let Some(bias) = &self.bias_f {
                            v += bias[co];
                        }
                        out[o + co] = v.clamp(self.flo, self.fhi);
                    }
                }
            }
        }
        Ok(vec![Value::f32(shape, out).or_else(|e| node.err(e.to_string()))?])
    }
}

// ---------------------------------------------------------------- DEPTHWISE

pub(crate) enum DwState {
    I8(DwI8),
    Wide(DwWide),
}

impl Weighted for DwState {
    fn new(op: &Op, sg: &Subgraph, kn: &[Option<&Value>]) -> BResult<Option<Self>> {
        let k = kind(op, sg, 1)?;
        let Some(wv) = known(kn, 1) else { return Ok(None) };
        if has_input(op, 2) && known(kn, 2).is_none() {
            return Ok(None);
        }
        let bias = known(kn, 2);
        Ok(Some(match k {
            Kind::I8 => DwState::I8(DwI8::new(op, sg, wv, bias)?),
            _ => DwState::Wide(DwWide::new(op, sg, k, wv, bias)?),
        }))
    }
    fn bytes(&self) -> usize {
        match self {
            DwState::I8(s) => s.packed.bytes(),
            DwState::Wide(s) => s.w.len(),
        }
    }
    fn set_fast(&mut self, on: bool) -> bool {
        match self {
            DwState::I8(s) => s.rq.set_fast(on),
            DwState::Wide(_) => false,
        }
    }
    fn captured(&self) -> &'static [usize] {
        match self {
            DwState::I8(_) => &[1, 2],
            DwState::Wide(_) => &[],
        }
    }
    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        match self {
            DwState::I8(s) => s.exec(node, inputs),
            DwState::Wide(s) => s.exec(node, inputs),
        }
    }
}

fn dw_filter(wv: &Value) -> BResult<(usize, usize, usize)> {
    match wv.shape[..] {
        [1, kh, kw, oc] if kh > 0 && kw > 0 && oc > 0 => Ok((kh, kw, oc)),
        _ => Err(format!("depthwise filter must be [1, kh, kw, c], has shape {:?}", wv.shape)),
    }
}

/// Depthwise weights in the layout of this build's kernel.
enum DwPacked {
    /// Tap pairs, int16 (`dot_i16x8`: scalar, SIMD128).
    Pairs(PackedDw),
    /// Tap quads, int8 (the relaxed dot).
    Quads(k8::PackedDwQ),
}

impl DwPacked {
    fn cp(&self) -> usize {
        match self {
            DwPacked::Pairs(p) => p.cp,
            DwPacked::Quads(p) => p.cp,
        }
    }
    fn bytes(&self) -> usize {
        match self {
            DwPacked::Pairs(p) => p.bytes(),
            DwPacked::Quads(p) => p.bytes(),
        }
    }
}

/// int8 DEPTHWISE_CONV_2D on the packed depthwise kernel.
pub(crate) struct DwI8 {
    kh: usize,
    kw: usize,
    oc: usize,
    geo: Geo,
    zp_in: i32,
    packed: DwPacked,
    rq: Requant,
}

impl DwI8 {
    fn new(op: &Op, sg: &Subgraph, wv: &Value, bias: Option<&Value>) -> BResult<DwI8> {
        let q = QNode::new(op, sg)?;
        symmetric(q.f)?;
        let (kh, kw, oc) = dw_filter(wv)?;
        let bias = bias_i32(bias, oc)?;
        let ws = channel_scales(q.f, oc)?;
        let geo = geo(op)?;
        let packed = match k8::preferred_layout() {
            layout @ k8::Layout::Quads { .. } => {
                let with_cols = geo.sw == 1 && geo.dw == 1;
                DwPacked::Quads(k8::PackedDwQ::pack(layout, (kh, kw), with_cols, oc, i8s(wv)?, bias.as_deref(), -q.qx.zp)?)
            }
            k8::Layout::Pairs => DwPacked::Pairs(PackedDw::pack(kh * kw, oc, i8s(wv)?, bias.as_deref(), -q.qx.zp)?),
        };
        let bounds = match &packed {
            DwPacked::Pairs(p) => p.acc_bounds(),
            DwPacked::Quads(p) => p.acc_bounds(),
        };
        Ok(DwI8 { kh, kw, oc, geo, zp_in: q.qx.zp, packed, rq: q.conv_requant(&ws).with_acc_bounds(&bounds) })
    }

    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let (xs, x) = qin::<i8>(node, inputs, 0)?;
        let [n, h, w, c] = rank4(node, "input", xs)?;
        if c == 0 || !self.oc.is_multiple_of(c) {
            return node.err(format!("filter channels {} are not a multiple of input channels {c}", self.oc));
        }
        let mult = self.oc / c;
        let g = self.geo;
        let win = kr(node, Window::new(n, h, w, c, self.kh, self.kw, (g.sh, g.sw), (g.dh, g.dw), g.padding))?;
        let shape = vec![n, win.oh, win.ow, self.oc];
        let total = checked_numel(node, &shape)?;
        let mut out = node.pool.take_i8_overwritten(total);
        if total == 0 {
            return Ok(vec![qout(node, shape, out)?]);
        }
        let hp = (win.pad_t + h).max((win.oh - 1) * g.sh + (self.kh - 1) * g.dh + 1);
        let wp = (win.pad_l + w).max((win.ow - 1) * g.sw + (self.kw - 1) * g.dw + 1);
        let geom = DwGeom { hp, wp, oh: win.oh, ow: win.ow, kh: self.kh, kw: self.kw, sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw };
        let per_out = win.oh * win.ow * self.oc;
        // The padded image lives in one scratch buffer shared by all
        // depthwise nodes of the thread (they never run at the same time),
        // so it costs the largest image, not the sum.
        thread_local! {
            static PADDED: std::cell::RefCell<Vec<i16>> = const { std::cell::RefCell::new(Vec::new()) };
            static PADDED_Q: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let (pads, dims, zp) = ((win.pad_t, win.pad_l), (hp, wp, self.packed.cp()), self.zp_in as i8);
        let res = match &self.packed {
            DwPacked::Pairs(packed) => PADDED.with(|padded| -> std::result::Result<(), String> {
                let mut padded = padded.borrow_mut();
                for b in 0..n {
                    let img = &x[b * h * w * c..(b + 1) * h * w * c];
                    k8::dwconv::pad_input(img, h, w, c, mult, pads, dims, zp, &mut padded)?;
                    k8::dwconv(&padded, &geom, packed, &self.rq, &mut out[b * per_out..(b + 1) * per_out])?;
                }
                Ok(())
            }),
            DwPacked::Quads(packed) => PADDED_Q.with(|padded| -> std::result::Result<(), String> {
                let mut padded = padded.borrow_mut();
                let xor = packed.xor;
                for b in 0..n {
                    let img = &x[b * h * w * c..(b + 1) * h * w * c];
                    k8::dwconv::pad_input_as(img, h, w, c, mult, pads, dims, zp, |v| v as u8 ^ xor, &mut padded)?;
                    k8::dwconv_quads(&padded, &geom, packed, &self.rq, &mut out[b * per_out..(b + 1) * per_out])?;
                }
                Ok(())
            }),
        };
        kr(node, res)?;
        Ok(vec![qout(node, shape, out)?])
    }
}

/// int16x8 and hybrid DEPTHWISE_CONV_2D: reference loops.
pub(crate) struct DwWide {
    kind: Kind,
    kh: usize,
    kw: usize,
    oc: usize,
    geo: Geo,
    w: Vec<i8>,
    bias_i: Option<Vec<i64>>,
    bias_f: Option<Vec<f32>>,
    mult: Vec<i32>,
    shift: Vec<i32>,
    zp_out: i32,
    lo: i32,
    hi: i32,
    w_scales: Vec<f32>,
    flo: f32,
    fhi: f32,
}

impl DwWide {
    fn new(op: &Op, sg: &Subgraph, k: Kind, wv: &Value, bias: Option<&Value>) -> BResult<DwWide> {
        let f = input_tensor(op, sg, 1)?;
        let (kh, kw, oc) = dw_filter(wv)?;
        let w_scales = channel_scales(f, oc)?;
        let mut s = DwWide {
            kind: k,
            kh,
            kw,
            oc,
            geo: geo(op)?,
            w: i8s(wv)?.to_vec(),
            bias_i: None,
            bias_f: None,
            mult: vec![],
            shift: vec![],
            zp_out: 0,
            lo: 0,
            hi: 0,
            w_scales,
            flo: 0.0,
            fhi: 0.0,
        };
        if k == Kind::I16 {
            let q = QNode::new(op, sg)?;
            symmetric(f)?;
            (s.mult, s.shift) = conv_multipliers(q.qx.scale, &s.w_scales, q.qy.scale);
            (s.zp_out, s.lo, s.hi) = (q.qy.zp, q.lo, q.hi);
            s.bias_i = bias_i64(bias, oc)?;
        } else {
            s.bias_f = bias_f32(bias, oc)?;
            (s.flo, s.fhi) = float_act(op)?;
        }
        Ok(s)
    }

    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let xv = req(node, inputs, 0)?;
        let [n, h, w, c] = rank4(node, "input", &xv.shape)?;
        if c == 0 || !self.oc.is_multiple_of(c) {
            return node.err(format!("filter channels {} are not a multiple of input channels {c}", self.oc));
        }
        let mult = self.oc / c;
        let g = self.geo;
        let win = kr(node, Window::new(n, h, w, c, self.kh, self.kw, (g.sh, g.sw), (g.dh, g.dw), g.padding))?;
        let shape = vec![n, win.oh, win.ow, self.oc];
        let total = checked_numel(node, &shape)?;
        let oc = self.oc;
        let mut taps = Vec::with_capacity(self.kh * self.kw);
        if self.kind == Kind::I16 {
            let (_, x) = qin::<i16>(node, inputs, 0)?;
            let mut out = vec![0i16; total];
            for b in 0..n {
                for oy in 0..win.oh {
                    for ox in 0..win.ow {
                        window_taps(&win, (h, w, c), (b, oy, ox), &mut taps);
                        let o = ((b * win.oh + oy) * win.ow + ox) * oc;
                        for co in 0..oc {
                            let mut acc: i64 = 0;
                            for &(px, t) in &taps {
                                acc = acc.wrapping_add(x[px + co / mult] as i64 * self.w[t * oc + co] as i64);
                            }
                            if let Some(bias) = &self.bias_i {
                                acc = acc.wrapping_add(bias[co]);
                            }
                            let v = fx::mbqm64(acc, self.mult[co], self.shift[co]).wrapping_add(self.zp_out);
                            out[o + co] = v.clamp(self.lo, self.hi) as i16;
                        }
                    }
                }
            }
            return Ok(vec![qout(node, shape, out)?]);
        }
        let Some(x) = xv.as_f32() else { return node.err("hybrid DEPTHWISE_CONV_2D needs a float32 input") };
        let per = h * w * c;
        let mut q = vec![0i8; x.len()];
        let mut sf = vec![0f32; n];
        let mut zp = vec![0i32; n];
        for b in 0..n {
            (sf[b], zp[b]) = hybrid::asymmetric_quantize(&x[b * per..(b + 1) * per], &mut q[b * per..(b + 1) * per]);
        }
        let mut out = vec![0f32; total];
        for b in 0..n {
            for oy in 0..win.oh {
                for ox in 0..win.ow {
                    window_taps(&win, (h, w, c), (b, oy, ox), &mut taps);
                    let o = ((b * win.oh + oy) * win.ow + ox) * oc;
                    for co in 0..oc {
                        let mut acc: i32 = 0;
                        for &(px, t) in &taps {
                            acc = acc.wrapping_add(self.w[t * oc + co] as i32 * (q[px + co / mult] as i32 - zp[b]));
                        }
                        let mut v = acc as f32;
                        v *= self.w_scales[co] * sf[b];
                        if let Some(bias) = &self.bias_f {
                            v += bias[co];
                        }
                        out[o + co] = v.clamp(self.flo, self.fhi);
                    }
                }
            }
        }
        Ok(vec![Value::f32(shape, out).or_else(|e| node.err(e.to_string()))?])
    }
}

// ---------------------------------------------------------------- FULLY_CONNECTED

pub(crate) enum FcState {
    I8(FcI8),
    I16(FcI16),
    Hybrid(FcHybrid),
}

impl Weighted for FcState {
    fn new(op: &Op, sg: &Subgraph, kn: &[Option<&Value>]) -> BResult<Option<Self>> {
        let k = kind(op, sg, 1)?;
        let Some(wv) = known(kn, 1) else { return Ok(None) };
        if has_input(op, 2) && known(kn, 2).is_none() {
            return Ok(None);
        }
        let bias = known(kn, 2);
        let (units, depth) = match wv.shape[..] {
            [u, d] => (u, d),
            _ => return Err(format!("weights must be 2-D [units, depth], have shape {:?}", wv.shape)),
        };
        Ok(Some(match k {
            Kind::I8 => FcState::I8(FcI8::new(op, sg, wv, bias, units, depth)?),
            Kind::I16 => FcState::I16(FcI16::new(op, sg, wv, bias, units, depth)?),
            Kind::Hybrid => FcState::Hybrid(FcHybrid::new(op, sg, wv, bias, units, depth)?),
        }))
    }
    fn bytes(&self) -> usize {
        match self {
            FcState::I8(s) => s.packed.as_ref().map_or(0, PackedW::bytes) + s.raw.len(),
            FcState::I16(s) => s.w.len(),
            FcState::Hybrid(s) => s.packed.bytes() + s.row_sums.len() * 4,
        }
    }
    fn set_fast(&mut self, on: bool) -> bool {
        match self {
            // The SIMD epilogue needs the packed form; the unpacked
            // (asymmetric weights) path stays exact.
            FcState::I8(s) if s.packed.is_some() => s.rq.set_fast(on),
            _ => false,
        }
    }
    fn captured(&self) -> &'static [usize] {
        match self {
            FcState::I8(s) if s.packed.is_some() => &[1, 2],
            _ => &[],
        }
    }
    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        match self {
            FcState::I8(s) => s.exec(node, inputs),
            FcState::I16(s) => s.exec(node, inputs),
            FcState::Hybrid(s) => s.exec(node, inputs),
        }
    }
}

/// Output shape of FULLY_CONNECTED for an input of `shape`.
fn fc_shape(node: &Node, shape: &[usize], len: usize, units: usize, depth: usize) -> Result<(usize, Vec<usize>)> {
    if depth == 0 || !len.is_multiple_of(depth) {
        return node.err(format!("input of shape {shape:?} cannot be flattened to rows of {depth}"));
    }
    let batch = len / depth;
    if node.op.attr_bool("keep_num_dims", false) {
        match shape.split_last() {
            Some((&last, lead)) if last == depth => Ok((batch, lead.iter().copied().chain([units]).collect())),
            _ => node.err(format!("keep_num_dims: input's last dim must be {depth}, shape is {shape:?}")),
        }
    } else {
        Ok((batch, vec![batch, units]))
    }
}

/// Per-channel double scales of the reference FULLY_CONNECTED.
fn fc_scales(s_in: f32, s_w: &[f32], s_out: f32) -> Vec<f64> {
    s_w.iter().map(|&sw| s_in as f64 * sw as f64 / s_out as f64).collect()
}

/// int8 FULLY_CONNECTED on the packed GEMM (weights with a zero point, a
/// legacy per-tensor form, use plain loops).
pub(crate) struct FcI8 {
    units: usize,
    depth: usize,
    packed: Option<PackedW>,
    /// Weights with their offset, for the asymmetric-weight form.
    raw: Vec<i8>,
    w_off: i32,
    in_off: i32,
    bias: Option<Vec<i32>>,
    rq: Requant,
}

impl FcI8 {
    fn new(op: &Op, sg: &Subgraph, wv: &Value, bias: Option<&Value>, units: usize, depth: usize) -> BResult<FcI8> {
        let QNode { f, qx, qy, lo, hi, .. } = QNode::new(op, sg)?;
        let per_channel = f.quant.as_ref().ok_or("weights are not quantized")?.scale.len() > 1;
        // Per-channel weights are symmetric by spec (the zero point is
        // ignored); per-tensor weights keep their offset.
        let w_off = if per_channel { 0 } else { -qp(f)?.zp };
        let bias = bias_i32(bias, units)?;
        let ws = channel_scales(f, units)?;
        let rq = Requant::double(fc_scales(qx.scale, &ws, qy.scale), qy.zp, lo, hi).with_fp32(k8::requant::fp32_scales(qx.scale, &ws, qy.scale));
        let w = i8s(wv)?;
        let packed = if w_off == 0 { Some(PackedW::pack(units, depth, w, bias.as_deref(), -qx.zp)?) } else { None };
        let rq = match &packed {
            Some(p) => rq.with_acc_bounds(&p.acc_bounds()),
            None => rq,
        };
        Ok(FcI8 { units, depth, raw: if w_off == 0 { Vec::new() } else { w.to_vec() }, packed, w_off, in_off: -qx.zp, bias, rq })
    }

    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let (xs, x) = qin::<i8>(node, inputs, 0)?;
        let (batch, shape) = fc_shape(node, xs, x.len(), self.units, self.depth)?;
        let total = checked_numel(node, &shape)?;
        let mut out = node.pool.take_i8_overwritten(total);
        match &self.packed {
            Some(p) => kr(node, k8::gemm(batch, x, self.depth, p, GemmOut::I8 { out: &mut out, ldc: self.units, rq: &self.rq }))?,
            None => {
                for b in 0..batch {
                    for u in 0..self.units {
                        let mut acc: i32 = 0;
                        for d in 0..self.depth {
                            let wv = self.raw[u * self.depth + d] as i32 + self.w_off;
                            acc = acc.wrapping_add(wv.wrapping_mul(x[b * self.depth + d] as i32 + self.in_off));
                        }
                        if let Some(bias) = &self.bias {
                            acc = acc.wrapping_add(bias[u]);
                        }
                        out[b * self.units + u] = self.rq.apply(acc, u) as i8;
                    }
                }
            }
        }
        Ok(vec![qout(node, shape, out)?])
    }
}

/// int16x8 FULLY_CONNECTED (64-bit accumulators, double requantization).
pub(crate) struct FcI16 {
    units: usize,
    depth: usize,
    w: Vec<i8>,
    w_off: i64,
    in_off: i64,
    bias: Option<Vec<i64>>,
    rq: Requant,
}

impl FcI16 {
    fn new(op: &Op, sg: &Subgraph, wv: &Value, bias: Option<&Value>, units: usize, depth: usize) -> BResult<FcI16> {
        let QNode { f, qx, qy, lo, hi, .. } = QNode::new(op, sg)?;
        let per_channel = f.quant.as_ref().is_some_and(|q| q.scale.len() > 1);
        Ok(FcI16 {
            units,
            depth,
            w: i8s(wv)?.to_vec(),
            w_off: if per_channel { 0 } else { -(qp(f)?.zp as i64) },
            in_off: -(qx.zp as i64),
            bias: bias_i64(bias, units)?,
            rq: Requant::double(fc_scales(qx.scale, &channel_scales(f, units)?, qy.scale), qy.zp, lo, hi),
        })
    }

    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let (xs, x) = qin::<i16>(node, inputs, 0)?;
        let (batch, shape) = fc_shape(node, xs, x.len(), self.units, self.depth)?;
        let mut out = vec![0i16; checked_numel(node, &shape)?];
        for b in 0..batch {
            for u in 0..self.units {
                let mut acc: i64 = 0;
                for d in 0..self.depth {
                    let wv = self.w[u * self.depth + d] as i64 + self.w_off;
                    acc = acc.wrapping_add(wv * (x[b * self.depth + d] as i64 + self.in_off));
                }
                if let Some(bias) = &self.bias {
                    acc = acc.wrapping_add(bias[u]);
                }
                let scaled = fx::round_half_away(acc as f64 * self.scale(u)) as i32;
                out[b * self.units + u] = scaled.wrapping_add(self.rq.zero_point).clamp(self.rq.min, self.rq.max) as i16;
            }
        }
        Ok(vec![qout(node, shape, out)?])
    }

    fn scale(&self, u: usize) -> f64 {
        match &self.rq.scale {
            k8::requant::Scale::Double(s) => s[u],
            k8::requant::Scale::Fixed { .. } => 0.0,
        }
    }
}

/// Hybrid FULLY_CONNECTED (LiteRT's `EvalHybridDense`).
pub(crate) struct FcHybrid {
    units: usize,
    depth: usize,
    /// Weights packed with no input offset (raw sums), for the GEMM.
    packed: PackedW,
    row_sums: Vec<i32>,
    bias: Option<Vec<f32>>,
    /// Per-channel scales, or None (per-tensor: the scale multiplies the
    /// per-batch factor).
    per_channel: Option<Vec<f32>>,
    w_scale: f32,
    asymmetric: bool,
    flo: f32,
    fhi: f32,
}

impl FcHybrid {
    fn new(op: &Op, sg: &Subgraph, wv: &Value, bias: Option<&Value>, units: usize, depth: usize) -> BResult<FcHybrid> {
        let f = input_tensor(op, sg, 1)?;
        let q = f.quant.as_ref().ok_or("hybrid weights are not quantized")?;
        let w = i8s(wv)?;
        let row_sums = (0..units).map(|u| w[u * depth..(u + 1) * depth].iter().fold(0i32, |a, &v| a.wrapping_add(v as i32))).collect();
        Ok(FcHybrid {
            units,
            depth,
            packed: PackedW::pack(units, depth, w, None, 0)?,
            row_sums,
            bias: bias_f32(bias, units)?,
            per_channel: if q.scale.len() > 1 { Some(channel_scales(f, units)?) } else { None },
            w_scale: q.scale[0],
            asymmetric: op.attr_bool("asymmetric_quantize_inputs", false),
            flo: 0.0,
            fhi: 0.0,
        })
        .and_then(|mut s: FcHybrid| {
            (s.flo, s.fhi) = float_act(op)?;
            Ok(s)
        })
    }

    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let xv = req(node, inputs, 0)?;
        let Some(x) = xv.as_f32() else { return node.err("hybrid FULLY_CONNECTED needs a float32 input") };
        let (batch, shape) = fc_shape(node, &xv.shape, x.len(), self.units, self.depth)?;
        let total = checked_numel(node, &shape)?;
        let mut out = vec![0f32; total];
        for row in out.chunks_exact_mut(self.units.max(1)) {
            if let Some(b) = &self.bias {
                row.copy_from_slice(b);
            }
        }
        if x.iter().all(|&v| v == 0.0) {
            out.iter_mut().for_each(|v| *v = v.clamp(self.flo, self.fhi));
            return Ok(vec![Value::f32(shape, out).or_else(|e| node.err(e.to_string()))?]);
        }
        let mut q = vec![0i8; x.len()];
        let mut sf = vec![0f32; batch];
        let mut zp = vec![0i32; batch];
        for b in 0..batch {
            let (xs, qs) = (&x[b * self.depth..(b + 1) * self.depth], &mut q[b * self.depth..(b + 1) * self.depth]);
            if self.asymmetric {
                (sf[b], zp[b]) = hybrid::asymmetric_quantize(xs, qs);
            } else {
                sf[b] = hybrid::symmetric_quantize(xs, qs);
            }
            if self.per_channel.is_none() {
                sf[b] *= self.w_scale;
            }
        }
        let mut acc = vec![0i32; total];
        kr(node, k8::gemm(batch, &q, self.depth, &self.packed, GemmOut::I32 { out: &mut acc, ldc: self.units }))?;
        for b in 0..batch {
            for u in 0..self.units {
                let dot = acc[b * self.units + u].wrapping_sub(self.row_sums[u].wrapping_mul(zp[b]));
                let mut scale = sf[b];
                if let Some(pc) = &self.per_channel {
                    scale *= pc[u];
                }
                let o = &mut out[b * self.units + u];
                *o += dot as f32 * scale;
                *o = o.clamp(self.flo, self.fhi);
            }
        }
        Ok(vec![Value::f32(shape, out).or_else(|e| node.err(e.to_string()))?])
    }
}

// ---------------------------------------------------------------- TRANSPOSE_CONV

/// TFLite's TRANSPOSE_CONV padding (a forward conv's padding computed with
/// the transposed conv's output as its input).
fn transpose_pad(padding: Padding, out_size: usize, filter: usize, stride: usize) -> usize {
    let (o, f, s) = (out_size as i64, filter as i64, stride as i64);
    let fwd = match padding {
        Padding::Same => (o + s - 1) / s,
        Padding::Valid => (o + s - f) / s,
    };
    let total = (fwd - 1) * s + f - o;
    (total.max(0) / 2) as usize
}

pub(crate) struct TConvState {
    kind: Kind,
    i16: bool,
    bias_f: Option<Vec<f32>>,
    w_scales: Vec<f32>,
    flo: f32,
    fhi: f32,
    oc: usize,
    kh: usize,
    kw: usize,
    ic: usize,
    geo: Geo,
    w: Vec<i8>,
    in_off: i32,
    bias: Option<Vec<i64>>,
    mult: Vec<i32>,
    shift: Vec<i32>,
    zp_out: i32,
    lo: i32,
    hi: i32,
}

impl Weighted for TConvState {
    fn new(op: &Op, sg: &Subgraph, kn: &[Option<&Value>]) -> BResult<Option<Self>> {
        let x = input_tensor(op, sg, 2)?;
        let f = input_tensor(op, sg, 1)?;
        let y = output_tensor(op, sg, 0)?;
        let Some(wv) = known(kn, 1) else { return Ok(None) };
        if has_input(op, 3) && known(kn, 3).is_none() {
            return Ok(None);
        }
        let [oc, kh, kw, ic] = match wv.shape[..] {
            [a, b, c, d] if a > 0 && b > 0 && c > 0 && d > 0 => [a, b, c, d],
            _ => return Err(format!("filter must be 4-D and non-empty, has shape {:?}", wv.shape)),
        };
        let w_scales = channel_scales(f, oc)?;
        if x.dtype == DType::F32 {
            let (flo, fhi) = float_act(op)?;
            return Ok(Some(TConvState {
                kind: Kind::Hybrid,
                i16: false,
                bias_f: bias_f32(known(kn, 3), oc)?,
                w_scales,
                flo,
                fhi,
                oc,
                kh,
                kw,
                ic,
                geo: geo(op)?,
                w: i8s(wv)?.to_vec(),
                in_off: 0,
                bias: None,
                mult: vec![],
                shift: vec![],
                zp_out: 0,
                lo: 0,
                hi: 0,
            }));
        }
        let (qx, qy) = (qp(x)?, qp(y)?);
        symmetric(f)?;
        let (mult, shift) = conv_multipliers(qx.scale, &w_scales, qy.scale);
        let (lo, hi) = act_range(op, y, qy)?;
        Ok(Some(TConvState {
            kind: if x.dtype == DType::I16 { Kind::I16 } else { Kind::I8 },
            bias_f: None,
            w_scales,
            flo: 0.0,
            fhi: 0.0,
            i16: x.dtype == DType::I16,
            oc,
            kh,
            kw,
            ic,
            geo: geo(op)?,
            w: i8s(wv)?.to_vec(),
            in_off: -qx.zp,
            bias: bias_i64(known(kn, 3), oc)?,
            mult,
            shift,
            zp_out: qy.zp,
            lo,
            hi,
        }))
    }

    fn bytes(&self) -> usize {
        self.w.len()
    }
    fn exec(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let os = super::int_input(node, inputs, 0, "output_shape")?;
        let xv = req(node, inputs, 2)?;
        let [n, h, w, c] = rank4(node, "input", &xv.shape)?;
        if c != self.ic {
            return node.err(format!("input has {c} channels, the filter {}", self.ic));
        }
        let (oh, ow) = match os[..] {
            [on, oh, ow, oc] if on as usize == n && oc as usize == self.oc && oh >= 0 && ow >= 0 => (oh as usize, ow as usize),
            _ => return node.err(format!("output_shape {os:?} does not match the input batch {n} and {} filters", self.oc)),
        };
        let shape = vec![n, oh, ow, self.oc];
        let total = checked_numel(node, &shape)?;
        let g = self.geo;
        let (pad_t, pad_l) = (transpose_pad(g.padding, oh, self.kh, g.sh), transpose_pad(g.padding, ow, self.kw, g.sw));
        if self.kind == Kind::Hybrid {
            return self.hybrid(node, xv, (n, h, w, c), (oh, ow), (pad_t, pad_l), shape);
        }
        let mut acc = vec![0i64; total];
        let xi: Vec<i64> = match &xv.data {
            Data::I8(v) => v.iter().map(|&a| a as i64 + self.in_off as i64).collect(),
            Data::I16(v) => v.iter().map(|&a| a as i64).collect(),
            d => return node.err(format!("input must be int8 or int16, got {}", d.dtype())),
        };
        let (kh, kw, ic, oc) = (self.kh, self.kw, self.ic, self.oc);
        for b in 0..n {
            for iy in 0..h {
                for ix in 0..w {
                    let xrow = &xi[((b * h + iy) * w + ix) * c..((b * h + iy) * w + ix + 1) * c];
                    for ky in 0..kh {
                        let oy = (iy * g.sh + ky) as isize - pad_t as isize;
                        if oy < 0 || oy as usize >= oh {
                            continue;
                        }
                        for kx in 0..kw {
                            let ox = (ix * g.sw + kx) as isize - pad_l as isize;
                            if ox < 0 || ox as usize >= ow {
                                continue;
                            }
                            let o = ((b * oh + oy as usize) * ow + ox as usize) * oc;
                            for co in 0..oc {
                                let wrow = &self.w[((co * kh + ky) * kw + kx) * ic..((co * kh + ky) * kw + kx + 1) * ic];
                                let mut s = 0i64;
                                for (xv, &wv) in xrow.iter().zip(wrow) {
                                    s += xv * wv as i64;
                                }
                                acc[o + co] = acc[o + co].wrapping_add(s);
                            }
                        }
                    }
                }
            }
        }
        let res = |i: usize, a: i64| -> i32 {
            let co = i % oc;
            let a = a.wrapping_add(self.bias.as_ref().map_or(0, |b| b[co]));
            let v = if self.i16 { fx::mbqm64(a, self.mult[co], self.shift[co]) } else { fx::mbqm(a as i32, self.mult[co], self.shift[co]) };
            v.wrapping_add(self.zp_out).clamp(self.lo, self.hi)
        };
        if self.i16 {
            let out: Vec<i16> = acc.iter().enumerate().map(|(i, &a)| res(i, a) as i16).collect();
            Ok(vec![qout(node, shape, out)?])
        } else {
            let out: Vec<i8> = acc.iter().enumerate().map(|(i, &a)| res(i, a) as i8).collect();
            Ok(vec![qout(node, shape, out)?])
        }
    }
}

impl TConvState {
    /// LiteRT's `HybridTransposeConv`: asymmetric per-batch input
    /// quantization, each product scaled and accumulated in float in the
    /// reference's loop order.
    fn hybrid(
        &self,
        node: &Node,
        xv: &Value,
        (n, h, w, c): (usize, usize, usize, usize),
        (oh, ow): (usize, usize),
        (pad_t, pad_l): (usize, usize),
        shape: Vec<usize>,
    ) -> Result<Vec<Value>> {
        let Some(x) = xv.as_f32() else { return node.err("hybrid TRANSPOSE_CONV needs a float32 input") };
        let per = h * w * c;
        let mut q = vec![0i8; x.len()];
        let mut sf = vec![0f32; n];
        let mut zp = vec![0i32; n];
        for b in 0..n {
            (sf[b], zp[b]) = hybrid::asymmetric_quantize(&x[b * per..(b + 1) * per], &mut q[b * per..(b + 1) * per]);
        }
        let (kh, kw, ic, oc) = (self.kh, self.kw, self.ic, self.oc);
        let g = self.geo;
        let mut out = vec![0f32; shape.iter().product()];
        for b in 0..n {
            for iy in 0..h {
                for ix in 0..w {
                    for ci in 0..ic {
                        let xvq = q[((b * h + iy) * w + ix) * c + ci] as i32 - zp[b];
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let oy = (iy * g.sh + ky) as isize - pad_t as isize;
                                let ox = (ix * g.sw + kx) as isize - pad_l as isize;
                                if oy < 0 || oy as usize >= oh || ox < 0 || ox as usize >= ow {
                                    continue;
                                }
                                let o = ((b * oh + oy as usize) * ow + ox as usize) * oc;
                                for co in 0..oc {
                                    let acc = xvq.wrapping_mul(self.w[((co * kh + ky) * kw + kx) * ic + ci] as i32);
                                    out[o + co] += acc as f32 * self.w_scales[co] * sf[b];
                                }
                            }
                        }
                    }
                }
            }
        }
        for (i, v) in out.iter_mut().enumerate() {
            if let Some(bias) = &self.bias_f {
                *v += bias[i % oc];
            }
            *v = v.clamp(self.flo, self.fhi);
        }
        Ok(vec![Value::f32(shape, out).or_else(|e| node.err(e.to_string()))?])
    }
}

// ---------------------------------------------------------------- BATCH_MATMUL

pub(crate) struct BatchMatMul {
    l: Qp,
    r: Qp,
    zp_out: i32,
    mult: i32,
    shift: i32,
}

impl Build for BatchMatMul {
    fn build(op: &Op, sg: &Subgraph, _known: &[Option<&Value>]) -> BResult<Self> {
        let (l, r, y) = (qp(input_tensor(op, sg, 0)?)?, qp(input_tensor(op, sg, 1)?)?, qp(output_tensor(op, sg, 0)?)?);
        let (mult, shift) = fx::quantize_multiplier((l.scale * r.scale) as f64 / y.scale as f64);
        Ok(BatchMatMul { l, r, zp_out: y.zp, mult, shift })
    }
}

impl Prepared for BatchMatMul {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
        let lv = req(node, inputs, 0)?;
        let rv = req(node, inputs, 1)?;
        let (adj_x, adj_y) = (node.op.attr_bool("adj_x", false), node.op.attr_bool("adj_y", false));
        let (ls, rs) = (&lv.shape, &rv.shape);
        if ls.len() < 2 || rs.len() < 2 {
            return node.err(format!("BATCH_MATMUL needs rank >= 2 inputs, got {ls:?} and {rs:?}"));
        }
        let (lr, lc) = (ls[ls.len() - 2], ls[ls.len() - 1]);
        let (rr, rc) = (rs[rs.len() - 2], rs[rs.len() - 1]);
        let (m, k) = if adj_x { (lc, lr) } else { (lr, lc) };
        let (k2, nn) = if adj_y { (rc, rr) } else { (rr, rc) };
        if k != k2 {
            return node.err(format!("inner dims differ: {ls:?} x {rs:?} (adj_x {adj_x}, adj_y {adj_y})"));
        }
        let lb = &ls[..ls.len() - 2];
        let rb = &rs[..rs.len() - 2];
        let Some(batch) = crate::kernels::elementwise::broadcast_shape(lb, rb) else {
            return node.err(format!("batch dims {lb:?} and {rb:?} do not broadcast"));
        };
        let mut shape = batch.clone();
        shape.extend([m, nn]);
        let total = checked_numel(node, &shape)?;
        let nb: usize = batch.iter().product();
        // Offsets of each broadcast batch in l and r.
        let offs = |src: &[usize], mat: usize| -> Vec<usize> {
            let r = batch.len();
            let mut v = Vec::with_capacity(nb);
            for i in 0..nb {
                let (mut rem, mut off, mut stride) = (i, 0usize, mat);
                for d in (0..r).rev() {
                    let idx = rem % batch[d];
                    rem /= batch[d];
                    let sd = if d + src.len() >= r { src[d + src.len() - r] } else { 1 };
                    if sd != 1 {
                        off += idx * stride;
                    }
                    stride *= sd;
                }
                v.push(off);
            }
            v
        };
        let (lo_, ro_) = (offs(lb, lr * lc), offs(rb, rr * rc));
        let lget = |b: usize, i: usize, kk: usize| if adj_x { lo_[b] + kk * lc + i } else { lo_[b] + i * lc + kk };
        let rget = |b: usize, kk: usize, j: usize| if adj_y { ro_[b] + j * rc + kk } else { ro_[b] + kk * rc + j };
        match (&lv.data, &rv.data) {
            (Data::I8(l), Data::I8(r)) => {
                let mut out = vec![0i8; total];
                for b in 0..nb {
                    for i in 0..m {
                        for j in 0..nn {
                            let mut acc = 0i32;
                            for kk in 0..k {
                                let a = l[lget(b, i, kk)] as i32 - self.l.zp;
                                let c = r[rget(b, kk, j)] as i32 - self.r.zp;
                                acc = acc.wrapping_add(a.wrapping_mul(c));
                            }
                            let v = fx::mbqm(acc, self.mult, self.shift).wrapping_add(self.zp_out);
                            out[(b * m + i) * nn + j] = v.clamp(-128, 127) as i8;
                        }
                    }
                }
                Ok(vec![qout(node, shape, out)?])
            }
            (Data::I16(l), Data::I16(r)) => {
                let mut out = vec![0i16; total];
                for b in 0..nb {
                    for i in 0..m {
                        for j in 0..nn {
                            let mut acc = 0i64;
                            for kk in 0..k {
                                acc += l[lget(b, i, kk)] as i64 * r[rget(b, kk, j)] as i64;
                            }
                            let v = fx::mbqm64(acc, self.mult, self.shift).wrapping_add(self.zp_out);
                            out[(b * m + i) * nn + j] = v.clamp(-32768, 32767) as i16;
                        }
                    }
                }
                Ok(vec![qout(node, shape, out)?])
            }
            (a, b) => node.err(format!("BATCH_MATMUL of {} x {} is not supported", a.dtype(), b.dtype())),
        }
    }
}

// ---------------------------------------------------------------- hybrid input quantization

pub(crate) mod hybrid {
    /// LiteRT's `SymmetricQuantizeFloats`: returns the scaling factor.
    pub fn symmetric_quantize(x: &[f32], q: &mut [i8]) -> f32 {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in x {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if x.is_empty() {
            (lo, hi) = (0.0, 0.0);
        }
        let range = lo.abs().max(hi.abs());
        if range == 0.0 {
            q.fill(0);
            return 1.0;
        }
        let inv = 127.0f32 / range;
        for (o, &v) in q.iter_mut().zip(x) {
            let r = (v * inv).round() as i32;
            *o = r.clamp(-127, 127) as i8;
        }
        range / 127.0
    }

    /// LiteRT's `AsymmetricQuantizeFloats`: returns (scaling factor, zero point).
    pub fn asymmetric_quantize(x: &[f32], q: &mut [i8]) -> (f32, i32) {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in x {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let rmin = 0.0f32.min(if x.is_empty() { 0.0 } else { lo }) as f64;
        let rmax = 0.0f32.max(if x.is_empty() { 0.0 } else { hi }) as f64;
        if rmin == rmax {
            q.fill(0);
            return (1.0, 0);
        }
        let (qmin, qmax) = (-128.0f64, 127.0f64);
        let scale = (rmax - rmin) / (qmax - qmin);
        let zp_from_min = qmin - rmin / scale;
        let zp_from_max = qmax - rmax / scale;
        let err_min = qmin.abs() + (rmin / scale).abs();
        let err_max = qmax.abs() + (rmax / scale).abs();
        let zp_double = if err_min < err_max { zp_from_min } else { zp_from_max };
        let zp: i32 = if zp_double <= qmin {
            -128
        } else if zp_double >= qmax {
            127
        } else {
            zp_double.round() as i32
        };
        let sf = scale as f32;
        let inv = 1.0f32 / sf;
        for (o, &v) in q.iter_mut().zip(x) {
            let r = (zp as f32 + v * inv).round() as i32;
            *o = r.clamp(-128, 127) as i8;
        }
        (sf, zp)
    }
}
