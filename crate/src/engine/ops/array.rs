//! Data-movement ops on tensors of any dtype: RESHAPE, SQUEEZE, EXPAND_DIMS,
//! TRANSPOSE, CONCATENATION, SPLIT, SPLIT_V, PACK, UNPACK, SLICE,
//! STRIDED_SLICE, GATHER, SHAPE, TILE, BROADCAST_TO, CAST, FILL.
//!
//! Semantics follow TFLite's kernels (`tflite/kernels/*.cc`); every shape,
//! axis and index is validated and reported as a node error. Also home of
//! the helpers the other families of this file set share (typed dispatch,
//! integer inputs, axis normalization, output size bounds).

use super::{OpImpl, RunFn};
use crate::engine::value::numel;
use crate::engine::{req, Data, Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, QuantParams, Subgraph};

/// Largest element count an op may produce from shapes computed at run time
/// (broadcasts, tiles, fills, gathers, densified constants): 2^28 elements,
/// 1 GiB of float32.
pub(crate) const MAX_ELEMENTS: usize = 1 << 28;

pub fn register(op: BuiltinOp) -> Option<OpImpl> {
    let run: RunFn = match op {
        BuiltinOp::RESHAPE => reshape,
        BuiltinOp::SQUEEZE => squeeze,
        BuiltinOp::EXPAND_DIMS => expand_dims,
        BuiltinOp::TRANSPOSE => transpose,
        BuiltinOp::CONCATENATION => concatenation,
        BuiltinOp::SPLIT => split,
        BuiltinOp::SPLIT_V => split_v,
        BuiltinOp::PACK => pack,
        BuiltinOp::UNPACK => unpack,
        BuiltinOp::SLICE => slice,
        BuiltinOp::STRIDED_SLICE => strided_slice,
        BuiltinOp::GATHER => gather,
        BuiltinOp::TILE => tile,
        BuiltinOp::BROADCAST_TO => broadcast_to,
        BuiltinOp::SHAPE => return Some(OpImpl { run: shape, check: check_shape }),
        BuiltinOp::CAST => return Some(OpImpl { run: cast, check: check_cast }),
        FILL => fill,
        _ => return None,
    };
    Some(OpImpl { run, check: check_moves })
}

const FILL: BuiltinOp = BuiltinOp(94);

// ---------------------------------------------------------------------------
// Shared helpers (used by the elementwise, activation, reduce and quant files)
// ---------------------------------------------------------------------------

/// A float buffer from the pool, empty with room for `n` elements.
pub(crate) fn pooled_f32(node: &mut Node, n: usize) -> Vec<f32> {
    let mut v = node.alloc_f32(n);
    v.clear();
    v
}

/// Checked, bounded element count of a shape computed at run time.
pub(crate) fn bounded_numel(node: &Node, shape: &[usize]) -> Result<usize> {
    match numel(shape) {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => node.err(format!("output shape {shape:?} is too large (limit {MAX_ELEMENTS} elements)")),
    }
}

/// Integer contents of a shape/axis/index input.
pub(crate) fn ints(node: &Node, v: &Value, what: &str) -> Result<Vec<i64>> {
    match &v.data {
        Data::I32(_) | Data::I64(_) | Data::I16(_) | Data::I8(_) | Data::U8(_) => {
            Ok(v.to_i64().unwrap_or_default())
        }
        _ => node.err(format!("{what} must be an integer tensor, got {}", v.dtype())),
    }
}

/// The single integer of a scalar (or one-element) input.
pub(crate) fn scalar_int(node: &Node, v: &Value, what: &str) -> Result<i64> {
    let x = ints(node, v, what)?;
    match x.as_slice() {
        [a] => Ok(*a),
        _ => node.err(format!("{what} must hold one value, has {}", x.len())),
    }
}

/// Axis in `[-rank, rank)` to `[0, rank)`.
pub(crate) fn norm_axis(node: &Node, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return node.err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(a as usize)
}

/// A dimension from a shape input: non-negative and below 2^31.
pub(crate) fn to_dim(node: &Node, d: i64, what: &str) -> Result<usize> {
    if !(0..=i32::MAX as i64).contains(&d) {
        return node.err(format!("{what}: invalid dimension {d}"));
    }
    Ok(d as usize)
}

/// Wrap a result value, turning a shape/data mismatch into a node error.
pub(crate) fn value(node: &Node, shape: Vec<usize>, data: Data) -> Result<Value> {
    let n = data.len();
    match Value::new(shape, data) {
        Ok(v) => Ok(v),
        Err(_) => node.err(format!("internal: result of {n} elements does not fit its shape")),
    }
}

/// Run `$body` on the typed contents of `$data` (bound to `$x`) with `$out`,
/// an empty vector of the same element type with room for `$n` elements
/// (pooled for float32); evaluates to the `Data` of `$out`.
macro_rules! map_same {
    ($node:expr, $data:expr, $n:expr, |$x:ident, $out:ident| $body:expr) => {{
        let n__: usize = $n;
        match $data {
            Data::F32($x) => {
                let mut $out: Vec<f32> = $crate::engine::ops::array::pooled_f32($node, n__);
                $body;
                Data::F32($out)
            }
            Data::I32($x) => {
                let mut $out: Vec<i32> = Vec::with_capacity(n__);
                $body;
                Data::I32($out)
            }
            Data::I64($x) => {
                let mut $out: Vec<i64> = Vec::with_capacity(n__);
                $body;
                Data::I64($out)
            }
            Data::I16($x) => {
                let mut $out: Vec<i16> = Vec::with_capacity(n__);
                $body;
                Data::I16($out)
            }
            Data::I8($x) => {
                let mut $out: Vec<i8> = Vec::with_capacity(n__);
                $body;
                Data::I8($out)
            }
            Data::U8($x) => {
                let mut $out: Vec<u8> = Vec::with_capacity(n__);
                $body;
                Data::U8($out)
            }
            Data::Bool($x) => {
                let mut $out: Vec<bool> = Vec::with_capacity(n__);
                $body;
                Data::Bool($out)
            }
            Data::F16($x) => {
                let mut $out: Vec<u16> = Vec::with_capacity(n__);
                $body;
                Data::F16($out)
            }
        }
    }};
}
pub(crate) use map_same;

/// Like `map_same!` over several values of one dtype: `$xs` is a
/// `Vec<&[T]>`; a value of another dtype is a node error.
macro_rules! map_same_multi {
    ($node:expr, $vals:expr, $n:expr, |$xs:ident, $out:ident| $body:expr) => {{
        let vals__: &[&Value] = $vals;
        let n__: usize = $n;
        macro_rules! arm {
            ($V:ident, $T:ty, $alloc:expr) => {{
                let mut $xs: Vec<&[$T]> = Vec::with_capacity(vals__.len());
                for v in vals__ {
                    match &v.data {
                        Data::$V(x) => $xs.push(x.as_slice()),
                        d => {
                            return $node.err(format!(
                                "inputs of different types ({} and {})",
                                vals__[0].dtype(),
                                d.dtype()
                            ))
                        }
                    }
                }
                let mut $out: Vec<$T> = $alloc;
                $body;
                Data::$V($out)
            }};
        }
        match vals__.first().map(|v| &v.data) {
            None => return $node.err("no inputs"),
            Some(Data::F32(_)) => arm!(F32, f32, $crate::engine::ops::array::pooled_f32($node, n__)),
            Some(Data::I32(_)) => arm!(I32, i32, Vec::with_capacity(n__)),
            Some(Data::I64(_)) => arm!(I64, i64, Vec::with_capacity(n__)),
            Some(Data::I16(_)) => arm!(I16, i16, Vec::with_capacity(n__)),
            Some(Data::I8(_)) => arm!(I8, i8, Vec::with_capacity(n__)),
            Some(Data::U8(_)) => arm!(U8, u8, Vec::with_capacity(n__)),
            Some(Data::Bool(_)) => arm!(Bool, bool, Vec::with_capacity(n__)),
            Some(Data::F16(_)) => arm!(F16, u16, Vec::with_capacity(n__)),
        }
    }};
}

/// Row-major strides of a shape.
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1].saturating_mul(shape[i + 1]);
    }
    s
}

/// One axis of a strided view: `len` positions at `start + k * step`
/// (element offsets into the flat input; `step` may be 0 or negative).
#[derive(Clone, Copy, Debug)]
struct Axis {
    start: i64,
    step: i64,
    len: usize,
}

impl Axis {
    fn new(start: usize, step: i64, len: usize) -> Axis {
        Axis { start: start as i64, step, len }
    }
}

/// `out` gets, in row-major order over the axes,
/// `x[sum_d axes[d].start + i_d * axes[d].step]`. Callers check the range
/// of those indices with [`index_range`] first.
fn gather_axes<T: Copy>(x: &[T], axes: &[Axis], out: &mut Vec<T>) {
    let r = axes.len();
    if r == 0 {
        out.extend(x.first().copied());
        return;
    }
    if axes.iter().any(|a| a.len == 0) {
        return;
    }
    let last = axes[r - 1];
    let mut idx = vec![0usize; r - 1];
    let mut base: i64 = axes[..r - 1].iter().map(|a| a.start).sum::<i64>() + last.start;
    loop {
        if last.step == 1 {
            let s = base as usize;
            out.extend_from_slice(&x[s..s + last.len]);
        } else {
            let mut p = base;
            for _ in 0..last.len {
                out.push(x[p as usize]);
                p += last.step;
            }
        }
        let mut d = r - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            base += axes[d].step;
            if idx[d] < axes[d].len {
                break;
            }
            base -= axes[d].step * axes[d].len as i64;
            idx[d] = 0;
        }
    }
}

/// Smallest and largest index `gather_axes` reads (None when it reads
/// nothing or the arithmetic overflows).
fn index_range(axes: &[Axis]) -> Option<(i64, i64)> {
    let (mut lo, mut hi) = (0i64, 0i64);
    for a in axes {
        if a.len == 0 {
            return None;
        }
        let end = a.step.checked_mul(a.len as i64 - 1)?.checked_add(a.start)?;
        lo = lo.checked_add(a.start.min(end))?;
        hi = hi.checked_add(a.start.max(end))?;
    }
    Some((lo, hi))
}

/// `gather_axes` into a new value of `x`'s dtype, with bounds checked.
fn gather_value(node: &mut Node, x: &Value, axes: &[Axis], shape: Vec<usize>) -> Result<Value> {
    let n = bounded_numel(node, &shape)?;
    match index_range(axes) {
        Some((lo, hi)) if lo < 0 || hi >= x.len() as i64 => {
            return node.err(format!("internal: indices {lo}..={hi} outside input of {} elements", x.len()));
        }
        None if n != 0 => return node.err("internal: empty view with a non-empty output"),
        _ => {}
    }
    let data = map_same!(node, &x.data, n, |xs, out| gather_axes(xs, axes, &mut out));
    value(node, shape, data)
}

/// Copy of a value with a new shape (same element count).
fn with_shape(node: &mut Node, x: &Value, shape: Vec<usize>) -> Result<Value> {
    if numel(&shape) != Some(x.len()) {
        return node.err(format!("cannot give shape {shape:?} to {} elements", x.len()));
    }
    let n = x.len();
    let data = map_same!(node, &x.data, n, |xs, out| out.extend_from_slice(xs));
    value(node, shape, data)
}

/// Accept a node when every quantized tensor among its inputs and outputs
/// has the same quantization (data movement needs no requantization).
pub(crate) fn check_moves(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    let mut first: Option<&QuantParams> = None;
    for t in op.inputs.iter().flatten().chain(op.outputs.iter()) {
        let Some(q) = sg.tensors.get(*t).and_then(|t| t.quant.as_ref()).filter(|q| q.is_quantized()) else {
            continue;
        };
        match first {
            None => first = Some(q),
            Some(f) if f.scale == q.scale && f.zero_point == q.zero_point => {}
            Some(_) => return Err("inputs and outputs with different quantization need requantization".into()),
        }
    }
    Ok(())
}

fn check_shape(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    match op.outputs.first().and_then(|&t| sg.tensors.get(t)).map(|t| t.dtype) {
        Some(DType::I32 | DType::I64) | None => Ok(()),
        Some(d) => Err(format!("{d} output; SHAPE makes int32 or int64")),
    }
}

fn castable(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F16 | DType::I32 | DType::I64 | DType::I16 | DType::I8 | DType::U8 | DType::Bool)
}

fn check_cast(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    for t in op.inputs.iter().flatten().chain(op.outputs.iter()) {
        let Some(t) = sg.tensors.get(*t) else { continue };
        if !castable(t.dtype) {
            return Err(format!("CAST of {} is not supported", t.dtype));
        }
        if t.quant.as_ref().is_some_and(|q| q.is_quantized()) {
            return Err("CAST of quantized tensors is not supported".into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// RESHAPE, SQUEEZE, EXPAND_DIMS
// ---------------------------------------------------------------------------

fn reshape(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    // TFLite: the shape tensor when it is a vector, else the options.
    let shape_input = inputs
        .get(1)
        .copied()
        .flatten()
        .filter(|s| s.rank() == 1 && matches!(s.data, Data::I32(_) | Data::I64(_)));
    let spec: Vec<i64> = if let Some(s) = shape_input {
        ints(node, s, "shape")?
    } else if let Some(ns) = node.op.attr_ints("new_shape") {
        if ns == [0] {
            Vec::new() // legacy encoding of a scalar
        } else {
            ns
        }
    } else if let Some(t) = node.output_tensor(0) {
        t.shape.iter().map(|&d| d as i64).collect()
    } else {
        return node.err("no target shape");
    };
    let shape = resolve_reshape(node, &x.shape, &spec)?;
    let out = with_shape(node, x, shape)?;
    Ok(vec![out])
}

/// TFLite's reshape contract: at most one -1, other dims >= 0, element
/// counts equal.
fn resolve_reshape(node: &Node, in_shape: &[usize], spec: &[i64]) -> Result<Vec<usize>> {
    let n_in = numel(in_shape).unwrap_or(usize::MAX);
    let nonzero_in: usize = in_shape.iter().filter(|&&d| d != 0).product();
    let mut stretch = None;
    let mut nonzero_out = 1usize;
    let mut n_out = 1usize;
    let mut shape = Vec::with_capacity(spec.len());
    for (i, &d) in spec.iter().enumerate() {
        if d == -1 {
            if stretch.is_some() {
                return node.err(format!("shape {spec:?} has more than one -1"));
            }
            stretch = Some(i);
            shape.push(0);
            continue;
        }
        let d = to_dim(node, d, "reshape")?;
        if d != 0 {
            nonzero_out = nonzero_out.saturating_mul(d);
        }
        n_out = n_out.saturating_mul(d);
        shape.push(d);
    }
    if let Some(i) = stretch {
        let v = if n_in == 0 && n_out != 0 { 0 } else { nonzero_in / nonzero_out.max(1) };
        shape[i] = v;
        n_out = n_out.saturating_mul(v);
    }
    if n_out != n_in {
        return node.err(format!("cannot reshape {in_shape:?} ({n_in} elements) to {spec:?}"));
    }
    Ok(shape)
}

fn squeeze(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let rank = x.rank();
    let dims = node.op.attr_ints("squeeze_dims").unwrap_or_default();
    let mut drop = vec![false; rank];
    if dims.is_empty() {
        for (d, &s) in x.shape.iter().enumerate() {
            drop[d] = s == 1;
        }
    } else {
        for &a in &dims {
            let d = norm_axis(node, a, rank)?;
            if x.shape[d] != 1 {
                return node.err(format!("cannot squeeze dim {a} of size {}", x.shape[d]));
            }
            drop[d] = true;
        }
    }
    let shape: Vec<usize> = x.shape.iter().zip(&drop).filter(|(_, &dr)| !dr).map(|(&s, _)| s).collect();
    Ok(vec![with_shape(node, x, shape)?])
}

fn expand_dims(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let axis = scalar_int(node, req(node, inputs, 1)?, "axis")?;
    let rank = x.rank() as i64;
    let a = if axis < 0 { axis + rank + 1 } else { axis };
    if a < 0 || a > rank {
        return node.err(format!("axis {axis} is out of range for rank {rank}"));
    }
    let mut shape = x.shape.clone();
    shape.insert(a as usize, 1);
    Ok(vec![with_shape(node, x, shape)?])
}

// ---------------------------------------------------------------------------
// TRANSPOSE, TILE, BROADCAST_TO, SLICE, STRIDED_SLICE
// ---------------------------------------------------------------------------

fn transpose(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let perm = ints(node, req(node, inputs, 1)?, "perm")?;
    let rank = x.rank();
    if perm.len() != rank {
        return node.err(format!("perm {perm:?} does not match rank {rank}"));
    }
    let mut seen = vec![false; rank];
    for &p in &perm {
        if p < 0 || p as usize >= rank || seen[p as usize] {
            return node.err(format!("perm {perm:?} is not a permutation of 0..{rank}"));
        }
        seen[p as usize] = true;
    }
    let st = strides(&x.shape);
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p as usize]).collect();
    let axes: Vec<Axis> = perm.iter().map(|&p| Axis::new(0, st[p as usize] as i64, x.shape[p as usize])).collect();
    Ok(vec![gather_value(node, x, &axes, shape)?])
}

fn tile(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let m = ints(node, req(node, inputs, 1)?, "multiples")?;
    if m.len() != x.rank() {
        return node.err(format!("multiples {m:?} do not match rank {}", x.rank()));
    }
    let mut shape = Vec::with_capacity(m.len());
    for (&d, &k) in x.shape.iter().zip(&m) {
        let k = to_dim(node, k, "multiples")?;
        match d.checked_mul(k) {
            Some(v) => shape.push(v),
            None => return node.err("tiled shape overflows"),
        }
    }
    bounded_numel(node, &shape)?;
    let st = strides(&x.shape);
    // Output axis a (size m * d) is row-major over (m copies, d elements).
    let mut axes = Vec::with_capacity(2 * shape.len());
    for a in 0..shape.len() {
        let d = x.shape[a];
        axes.push(Axis::new(0, 0, shape[a].checked_div(d).unwrap_or(0)));
        axes.push(Axis::new(0, st[a] as i64, d));
    }
    Ok(vec![gather_value(node, x, &axes, shape)?])
}

fn broadcast_to(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let target = ints(node, req(node, inputs, 1)?, "shape")?;
    let shape: Vec<usize> = target.iter().map(|&d| to_dim(node, d, "shape")).collect::<Result<_>>()?;
    if shape.len() < x.rank() {
        return node.err(format!("cannot broadcast {:?} to lower rank {shape:?}", x.shape));
    }
    bounded_numel(node, &shape)?;
    let pad = shape.len() - x.rank();
    let st = strides(&x.shape);
    let mut axes = Vec::with_capacity(shape.len());
    for (a, &n) in shape.iter().enumerate() {
        let d = if a < pad { 1 } else { x.shape[a - pad] };
        if d == n {
            axes.push(Axis::new(0, if a < pad { 0 } else { st[a - pad] as i64 }, n));
        } else if d == 1 {
            axes.push(Axis::new(0, 0, n));
        } else {
            return node.err(format!("cannot broadcast {:?} to {shape:?}", x.shape));
        }
    }
    Ok(vec![gather_value(node, x, &axes, shape)?])
}

fn slice(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let begin = ints(node, req(node, inputs, 1)?, "begin")?;
    let size = ints(node, req(node, inputs, 2)?, "size")?;
    let rank = x.rank();
    if begin.len() != rank || size.len() != rank {
        return node.err(format!("begin {begin:?} / size {size:?} do not match rank {rank}"));
    }
    let st = strides(&x.shape);
    let mut shape = Vec::with_capacity(rank);
    let mut axes = Vec::with_capacity(rank);
    for a in 0..rank {
        let d = x.shape[a] as i64;
        let b = begin[a];
        if b < 0 || b > d {
            return node.err(format!("slice begin {b} is out of range for dim {d}"));
        }
        let s = if size[a] == -1 { d - b } else { size[a] };
        if s < 0 || s > d - b {
            return node.err(format!("slice begin {} size {} is out of range for dim {d}", b, size[a]));
        }
        shape.push(s as usize);
        axes.push(Axis::new(b as usize * st[a], st[a] as i64, s as usize));
    }
    Ok(vec![gather_value(node, x, &axes, shape)?])
}

fn bit(mask: u64, i: usize) -> bool {
    i < 64 && (mask >> i) & 1 == 1
}

fn strided_slice(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let begin = ints(node, req(node, inputs, 1)?, "begin")?;
    let end = ints(node, req(node, inputs, 2)?, "end")?;
    let strides_in = match inputs.get(3).copied().flatten() {
        Some(s) => ints(node, s, "strides")?,
        None => vec![1; begin.len()],
    };
    let bc = begin.len();
    if end.len() != bc || strides_in.len() != bc {
        return node.err(format!("begin/end/strides lengths differ ({bc}, {}, {})", end.len(), strides_in.len()));
    }
    if bc > 31 {
        return node.err("at most 31 slice indices are supported");
    }
    let mask = |name: &str| node.op.attr_i64(name, 0) as u32 as u64;
    let (begin_mask, end_mask) = (mask("begin_mask"), mask("end_mask"));
    let (ellipsis_mask, new_axis_mask, shrink_mask) = (mask("ellipsis_mask"), mask("new_axis_mask"), mask("shrink_axis_mask"));
    let offset = node.op.attr_bool("offset", false);
    if ellipsis_mask.count_ones() > 1 {
        return node.err("more than one ellipsis in the slice spec");
    }
    let rank = x.rank();

    // Port of TFLite's BuildStridedSliceParams: expand the ellipsis and new
    // axes into an "effective" input shape with per-dim begin/end/stride.
    let num_add_axis = (0..bc).filter(|&i| !bit(ellipsis_mask, i) && bit(new_axis_mask, i)).count();
    let e = rank + num_add_axis;
    // Entries that index input dims (not the ellipsis, not new axes) must
    // not outnumber them; an ellipsis may cover zero dims.
    if bc > e + ellipsis_mask.count_ones() as usize {
        return node.err(format!("{bc} slice indices for an input of rank {rank}"));
    }
    let mut eff_ellipsis = vec![false; e];
    let mut eff_new = vec![false; e];
    let mut ellipsis_start = e;
    let mut expanded = 0usize;
    let mut i = 0usize;
    while i < e {
        if bit(ellipsis_mask, i) {
            ellipsis_start = i;
            let cand = (i + 1 + num_add_axis + rank) as i64 - bc as i64;
            let stop = ((i + 1) as i64).max(cand.min(e as i64)) as usize;
            expanded = stop - ellipsis_start - 1;
            while i < stop {
                eff_ellipsis[i] = true;
                i += 1;
            }
            continue;
        }
        if i >= expanded && bit(new_axis_mask, i - expanded) {
            eff_new[i] = true;
        }
        i += 1;
    }
    let mut start = vec![0i64; e];
    let mut stop = vec![0i64; e];
    let mut stride = vec![1i64; e];
    let (mut bm, mut em, mut sm) = (vec![false; e], vec![false; e], vec![false; e]);
    let mut eff_shape = vec![0usize; e];
    let (mut added_ellipsis, mut added_axes) = (0usize, 0usize);
    let in_dim = |j: Option<usize>| -> Result<usize> {
        match j.and_then(|j| x.shape.get(j)) {
            Some(&d) => Ok(d),
            None => node.err("slice spec does not match the input rank"),
        }
    };
    for i in 0..e {
        if eff_ellipsis[i] {
            added_ellipsis = i.saturating_sub(ellipsis_start);
            bm[i] = true;
            em[i] = true;
            eff_shape[i] = in_dim(i.checked_sub(added_axes))?;
        } else if eff_new[i] {
            stop[i] = 1;
            eff_shape[i] = 1;
            added_axes += 1;
        } else if i >= bc + expanded {
            bm[i] = true;
            em[i] = true;
            eff_shape[i] = in_dim(i.checked_sub(added_axes))?;
        } else {
            let o = i - added_ellipsis;
            if o >= bc {
                return node.err("slice spec does not match the input rank");
            }
            start[i] = begin[o];
            stop[i] = end[o];
            stride[i] = strides_in[o];
            bm[i] = bit(begin_mask, o);
            em[i] = bit(end_mask, o);
            sm[i] = bit(shrink_mask, o);
            eff_shape[i] = in_dim(i.checked_sub(added_axes))?;
        }
    }
    if e - added_axes != rank || numel(&eff_shape) != Some(x.len()) {
        return node.err("slice spec does not match the input rank");
    }

    // Per-axis index lists (TFLite's StartForAxis / EndForAxis).
    let st = strides(&eff_shape);
    let mut axes = Vec::with_capacity(e);
    let mut shape = Vec::with_capacity(e);
    for a in 0..e {
        let size = eff_shape[a] as i64;
        let s = stride[a];
        if s == 0 {
            return node.err("stride must be non-zero");
        }
        let clamp = |v: i64| if s > 0 { v.clamp(0, size) } else { v.clamp(-1, size - 1) };
        let mut b = start[a];
        if b < 0 {
            b += size;
        }
        b = clamp(b);
        if bm[a] {
            b = if s > 0 { 0 } else { size - 1 };
        }
        if sm[a] {
            // One element at `b`. TFLite writes nothing for a negative
            // stride (its output is left uninitialized) and TensorFlow
            // rejects it, so it is an error here.
            if s < 0 {
                return node.err("a shrunk axis needs a positive stride");
            }
            if b < 0 || b >= size {
                return node.err(format!("shrink index {} is out of range for dim {size}", start[a]));
            }
            axes.push(Axis::new(b as usize * st[a], 0, 1));
            continue;
        }
        let mut en = stop[a];
        if offset {
            en = en.saturating_add(b);
        }
        if en < 0 {
            en += size;
        }
        en = clamp(en);
        if em[a] {
            en = if s > 0 { size } else { -1 };
        }
        // Positions b, b + s, ... while before `en` (after it for s < 0);
        // both lie in [-1, size], the count in [0, size].
        let (b128, en128, s128) = (b as i128, en as i128, s as i128);
        let count = if s > 0 && en > b {
            (en128 - b128 + s128 - 1) / s128
        } else if s < 0 && b > en {
            (b128 - en128 - s128 - 1) / -s128
        } else {
            0
        } as usize;
        let start = if count > 0 { b as usize * st[a] } else { 0 };
        // With two or more positions |s| < size, so the step cannot overflow.
        let step = if count > 1 { s * st[a] as i64 } else { 0 };
        shape.push(count);
        axes.push(Axis::new(start, step, count));
    }
    Ok(vec![gather_value(node, x, &axes, shape)?])
}

// ---------------------------------------------------------------------------
// CONCATENATION, PACK, SPLIT, SPLIT_V, UNPACK
// ---------------------------------------------------------------------------

/// Interleave the inputs' chunks: for each of `outer` rows, input `i`
/// contributes `chunk[i]` contiguous elements.
fn interleave<T: Copy>(xs: &[&[T]], outer: usize, chunk: &[usize], out: &mut Vec<T>) {
    for o in 0..outer {
        for (x, &c) in xs.iter().zip(chunk) {
            out.extend_from_slice(&x[o * c..(o + 1) * c]);
        }
    }
}

fn concatenation(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let vals: Vec<&Value> = (0..inputs.len()).map(|i| req(node, inputs, i)).collect::<Result<_>>()?;
    let first = match vals.first() {
        Some(v) => *v,
        None => return node.err("no inputs"),
    };
    let rank = first.rank();
    let axis_attr = node.op.attr_i64("axis", 0);
    let (shape, outer, chunks) = if rank == 0 {
        // Scalars (TFLite allows them for constants): a vector.
        if axis_attr != 0 && axis_attr != -1 {
            return node.err(format!("axis {axis_attr} is out of range for scalars"));
        }
        if vals.iter().any(|v| v.rank() != 0) {
            return node.err("inputs of different ranks");
        }
        (vec![vals.len()], 1, vec![1; vals.len()])
    } else {
        let axis = norm_axis(node, axis_attr, rank)?;
        let mut shape = first.shape.clone();
        shape[axis] = 0;
        for v in &vals {
            if v.rank() != rank
                || v.shape.iter().enumerate().any(|(d, &s)| d != axis && s != first.shape[d])
            {
                return node.err(format!("cannot concatenate {:?} and {:?} on axis {axis}", first.shape, v.shape));
            }
            shape[axis] = shape[axis].saturating_add(v.shape[axis]);
        }
        let inner: usize = first.shape[axis + 1..].iter().product();
        let outer: usize = first.shape[..axis].iter().product();
        let chunks: Vec<usize> = vals.iter().map(|v| v.shape[axis] * inner).collect();
        (shape, outer, chunks)
    };
    let n = bounded_numel(node, &shape)?;
    let data = map_same_multi!(node, &vals, n, |xs, out| interleave(&xs, outer, &chunks, &mut out));
    let mut out = value(node, shape, data)?;
    let act = node.op.attr_i64("fused_activation_function", 0);
    if act != 0 {
        match &mut out.data {
            Data::F32(v) => super::apply_fused(node, v, act)?,
            _ => return node.err("a fused activation needs float32 data"),
        }
    }
    Ok(vec![out])
}

fn pack(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let vals: Vec<&Value> = (0..inputs.len()).map(|i| req(node, inputs, i)).collect::<Result<_>>()?;
    let first = match vals.first() {
        Some(v) => *v,
        None => return node.err("no inputs"),
    };
    let count = node.op.attr_i64("values_count", vals.len() as i64);
    if count != vals.len() as i64 {
        return node.err(format!("values_count {count} but {} inputs", vals.len()));
    }
    let rank = first.rank();
    let axis_attr = node.op.attr_i64("axis", 0);
    let axis = if axis_attr < 0 { axis_attr + rank as i64 + 1 } else { axis_attr };
    if axis < 0 || axis > rank as i64 {
        return node.err(format!("axis {axis_attr} is out of range for rank {}", rank + 1));
    }
    let axis = axis as usize;
    if vals.iter().any(|v| v.shape != first.shape) {
        return node.err("inputs of different shapes");
    }
    let mut shape = first.shape.clone();
    shape.insert(axis, vals.len());
    let n = bounded_numel(node, &shape)?;
    let outer: usize = first.shape[..axis].iter().product();
    let inner: usize = first.shape[axis..].iter().product();
    let chunks = vec![inner; vals.len()];
    let data = map_same_multi!(node, &vals, n, |xs, out| interleave(&xs, outer, &chunks, &mut out));
    Ok(vec![value(node, shape, data)?])
}

/// Split `x` along `axis` into pieces of the given sizes.
fn split_into(node: &mut Node, x: &Value, axis: usize, sizes: &[usize]) -> Result<Vec<Value>> {
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let dim = x.shape[axis];
    let mut outs = Vec::with_capacity(sizes.len());
    let mut at = 0usize;
    for &s in sizes {
        let mut shape = x.shape.clone();
        shape[axis] = s;
        let n = outer * s * inner;
        let (lo, hi) = (at * inner, (at + s) * inner);
        let row = dim * inner;
        let data = map_same!(node, &x.data, n, |xs, out| {
            for o in 0..outer {
                out.extend_from_slice(&xs[o * row + lo..o * row + hi]);
            }
        });
        outs.push(value(node, shape, data)?);
        at += s;
    }
    Ok(outs)
}

fn split(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let axis = scalar_int(node, req(node, inputs, 0)?, "axis")?;
    let x = req(node, inputs, 1)?;
    let k = node.op.outputs.len();
    let num = node.op.attr_i64("num_splits", k as i64);
    if num != k as i64 || k == 0 {
        return node.err(format!("num_splits {num} but {k} outputs"));
    }
    let axis = norm_axis(node, axis, x.rank())?;
    let dim = x.shape[axis];
    if dim % k != 0 {
        return node.err(format!("dim {dim} does not split evenly in {k}"));
    }
    split_into(node, x, axis, &vec![dim / k; k])
}

fn split_v(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let sizes = ints(node, req(node, inputs, 1)?, "size_splits")?;
    let axis = scalar_int(node, req(node, inputs, 2)?, "axis")?;
    let axis = norm_axis(node, axis, x.rank())?;
    let k = node.op.outputs.len();
    if sizes.len() != k {
        return node.err(format!("{} size_splits but {k} outputs", sizes.len()));
    }
    let dim = x.shape[axis] as i64;
    let mut minus_one = None;
    let mut sum = 0i64;
    for (i, &s) in sizes.iter().enumerate() {
        if s == -1 {
            if minus_one.is_some() {
                return node.err("size_splits has more than one -1");
            }
            minus_one = Some(i);
        } else if s < 0 {
            return node.err(format!("negative split size {s}"));
        } else {
            sum = sum.saturating_add(s);
        }
    }
    let mut sizes = sizes;
    match minus_one {
        Some(i) if sum <= dim => sizes[i] = dim - sum,
        None if sum == dim => {}
        _ => return node.err(format!("size_splits {sizes:?} do not add up to dim {dim}")),
    }
    let sizes: Vec<usize> = sizes.iter().map(|&s| s as usize).collect();
    split_into(node, x, axis, &sizes)
}

fn unpack(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let axis = norm_axis(node, node.op.attr_i64("axis", 0), x.rank())?;
    let k = node.op.outputs.len();
    let num = node.op.attr_i64("num", k as i64);
    if num != k as i64 || x.shape[axis] != k {
        return node.err(format!("unpacking dim {} of {:?} into {k} outputs (num {num})", axis, x.shape));
    }
    let mut outs = split_into(node, x, axis, &vec![1; k])?;
    for o in &mut outs {
        o.shape.remove(axis);
    }
    Ok(outs)
}

// ---------------------------------------------------------------------------
// GATHER
// ---------------------------------------------------------------------------

fn gather(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let pos_v = req(node, inputs, 1)?;
    if !matches!(pos_v.data, Data::I32(_) | Data::I64(_) | Data::I16(_)) {
        return node.err(format!("indices must be int16, int32 or int64, got {}", pos_v.dtype()));
    }
    let pos = ints(node, pos_v, "indices")?;
    let rank = x.rank();
    let axis = norm_axis(node, node.op.attr_i64("axis", 0), rank)?;
    let mut bd = node.op.attr_i64("batch_dims", 0);
    if bd < 0 {
        bd += pos_v.rank() as i64;
    }
    if bd < 0 || bd as usize > axis || bd as usize >= rank || bd as usize > pos_v.rank() {
        return node.err(format!("batch_dims {bd} is invalid for axis {axis}"));
    }
    let bd = bd as usize;
    if x.shape[..bd] != pos_v.shape[..bd] {
        return node.err(format!("batch dims of {:?} and indices {:?} differ", x.shape, pos_v.shape));
    }
    let mut shape: Vec<usize> = x.shape[..axis].to_vec();
    shape.extend_from_slice(&pos_v.shape[bd..]);
    shape.extend_from_slice(&x.shape[axis + 1..]);
    let n = bounded_numel(node, &shape)?;
    let axis_size = x.shape[axis];
    if let Some(&bad) = pos.iter().find(|&&p| p < 0 || p as u64 >= axis_size as u64) {
        return node.err(format!("index {bad} is out of range for dim {axis_size}"));
    }
    let batch: usize = x.shape[..bd].iter().product();
    let outer: usize = x.shape[bd..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let coords: usize = pos_v.shape[bd..].iter().product();
    let data = map_same!(node, &x.data, n, |xs, out| {
        for b in 0..batch {
            for o in 0..outer {
                for i in 0..coords {
                    let c = pos[b * coords + i] as usize;
                    let from = ((b * outer + o) * axis_size + c) * inner;
                    out.extend_from_slice(&xs[from..from + inner]);
                }
            }
        }
    });
    Ok(vec![value(node, shape, data)?])
}

// ---------------------------------------------------------------------------
// SHAPE, FILL, CAST
// ---------------------------------------------------------------------------

fn shape(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let r = x.rank();
    let dtype = node.output_tensor(0).map(|t| t.dtype).unwrap_or(DType::I32);
    let data = match dtype {
        DType::I64 => Data::I64(x.shape.iter().map(|&d| d as i64).collect()),
        _ => {
            if x.shape.iter().any(|&d| d > i32::MAX as usize) {
                return node.err("dimension does not fit int32");
            }
            Data::I32(x.shape.iter().map(|&d| d as i32).collect())
        }
    };
    Ok(vec![value(node, vec![r], data)?])
}

fn fill(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let dims = ints(node, req(node, inputs, 0)?, "dims")?;
    let v = req(node, inputs, 1)?;
    if v.len() != 1 {
        return node.err(format!("value must be a scalar, has {} elements", v.len()));
    }
    let shape: Vec<usize> = dims.iter().map(|&d| to_dim(node, d, "dims")).collect::<Result<_>>()?;
    let n = bounded_numel(node, &shape)?;
    let data = map_same!(node, &v.data, n, |xs, out| out.resize(n, xs[0]));
    Ok(vec![value(node, shape, data)?])
}

/// A source element for CAST.
#[derive(Clone, Copy)]
enum Scalar {
    I(i64),
    F(f32),
    B(bool),
}

/// TFLite's saturating float-to-integer cast (NaN gives the type's max).
macro_rules! f2i {
    ($f:expr, $t:ty) => {{
        let f: f32 = $f;
        if f.is_nan() {
            <$t>::MAX
        } else {
            f as $t
        }
    }};
}

macro_rules! cast_to {
    ($s:expr, $t:ty) => {
        match $s {
            Scalar::I(i) => i as $t,
            Scalar::F(f) => f2i!(f, $t),
            Scalar::B(b) => b as $t,
        }
    };
}

fn cast(node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>> {
    let x = req(node, inputs, 0)?;
    let Some(to) = node.output_tensor(0).map(|t| t.dtype) else { return node.err("no output") };
    let src: Vec<Scalar> = match &x.data {
        Data::F32(v) => v.iter().map(|&f| Scalar::F(f)).collect(),
        Data::F16(v) => v.iter().map(|&h| Scalar::F(half::f16::from_bits(h).to_f32())).collect(),
        Data::I32(v) => v.iter().map(|&i| Scalar::I(i as i64)).collect(),
        Data::I64(v) => v.iter().map(|&i| Scalar::I(i)).collect(),
        Data::I16(v) => v.iter().map(|&i| Scalar::I(i as i64)).collect(),
        Data::I8(v) => v.iter().map(|&i| Scalar::I(i as i64)).collect(),
        Data::U8(v) => v.iter().map(|&i| Scalar::I(i as i64)).collect(),
        Data::Bool(v) => v.iter().map(|&b| Scalar::B(b)).collect(),
    };
    let to_f32 = |s: Scalar| match s {
        Scalar::I(i) => i as f32,
        Scalar::F(f) => f,
        Scalar::B(b) => b as u8 as f32,
    };
    let data = match to {
        DType::F32 => {
            let mut out = pooled_f32(node, src.len());
            out.extend(src.iter().map(|&s| to_f32(s)));
            Data::F32(out)
        }
        DType::F16 => Data::F16(src.iter().map(|&s| half::f16::from_f32(to_f32(s)).to_bits()).collect()),
        DType::I32 => Data::I32(src.iter().map(|&s| cast_to!(s, i32)).collect()),
        DType::I64 => Data::I64(src.iter().map(|&s| cast_to!(s, i64)).collect()),
        DType::I16 => Data::I16(src.iter().map(|&s| cast_to!(s, i16)).collect()),
        DType::I8 => Data::I8(src.iter().map(|&s| cast_to!(s, i8)).collect()),
        DType::U8 => Data::U8(src.iter().map(|&s| cast_to!(s, u8)).collect()),
        DType::Bool => Data::Bool(
            src.iter()
                .map(|&s| match s {
                    Scalar::I(i) => i != 0,
                    Scalar::F(f) => f != 0.0,
                    Scalar::B(b) => b,
                })
                .collect(),
        ),
        d => return node.err(format!("CAST to {d} is not supported")),
    };
    Ok(vec![value(node, x.shape.clone(), data)?])
}
