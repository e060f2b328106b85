//! Elementwise, activation, array, reduce and quantization ops of the float
//! engine on small hand-built IR models (one op each), against hand-computed
//! or naively computed expectations (TFLite reference-kernel semantics);
//! malformed nodes must give errors, never panics. Plus the committed
//! LiteRT fixtures that need DEQUANTIZE / DENSIFY.

use std::path::PathBuf;

use modelpress::engine::{Data, Engine, Value};
use modelpress::ir::{
    AttrValue, BuiltinOp, Buffer, DType, DimMetadata, Model, Op, OpKind, OptionsTable, QuantParams, SparseIndex,
    Sparsity, Subgraph, Tensor,
};

// ------------------------------------------------------------ building models

/// A one-subgraph model under construction.
struct G {
    m: Model,
}

impl G {
    fn new() -> G {
        G { m: Model { version: 3, subgraphs: vec![Subgraph::default()], buffers: vec![Buffer::default()], ..Default::default() } }
    }
    fn sg(&mut self) -> &mut Subgraph {
        &mut self.m.subgraphs[0]
    }
    fn tensor(&mut self, dtype: DType, shape: &[usize]) -> usize {
        let sg = self.sg();
        let name = format!("t{}", sg.tensors.len());
        sg.tensors.push(Tensor::new(name, dtype, shape.iter().map(|&d| d as i32).collect()));
        sg.tensors.len() - 1
    }
    /// A graph input.
    fn input(&mut self, dtype: DType, shape: &[usize]) -> usize {
        let t = self.tensor(dtype, shape);
        self.sg().inputs.push(t);
        t
    }
    fn raw(&mut self, dtype: DType, shape: &[usize], bytes: Vec<u8>) -> usize {
        let t = self.tensor(dtype, shape);
        let b = self.m.add_buffer(bytes);
        self.sg().tensors[t].buffer = b;
        t
    }
    fn cf(&mut self, shape: &[usize], v: &[f32]) -> usize {
        self.raw(DType::F32, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
    fn ci(&mut self, shape: &[usize], v: &[i32]) -> usize {
        self.raw(DType::I32, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
    fn ci64(&mut self, shape: &[usize], v: &[i64]) -> usize {
        self.raw(DType::I64, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect())
    }
    /// Add an op whose outputs (graph outputs) have the given dtypes.
    fn op_n(&mut self, code: BuiltinOp, inputs: &[Option<usize>], outs: &[DType], attrs: &[(&str, AttrValue)]) -> Vec<usize> {
        let outs: Vec<usize> = outs.iter().map(|&d| self.tensor(d, &[])).collect();
        let mut op = Op::new(OpKind::Builtin(code), inputs.to_vec(), outs.clone());
        let mut t = OptionsTable::new("Options");
        for (k, v) in attrs {
            t = t.with(k, v.clone());
        }
        op.options = Some(t);
        self.sg().ops.push(op);
        self.sg().outputs.extend(&outs);
        outs
    }
    /// Add an op with one output of dtype `out`.
    fn op(&mut self, code: BuiltinOp, inputs: &[usize], out: DType, attrs: &[(&str, AttrValue)]) -> usize {
        let ins: Vec<Option<usize>> = inputs.iter().map(|&i| Some(i)).collect();
        self.op_n(code, &ins, &[out], attrs)[0]
    }
    fn run(&self, inputs: Vec<Value>) -> modelpress::Result<Vec<Value>> {
        Engine::new(&self.m)?.run(inputs)
    }
}

fn int(v: i64) -> AttrValue {
    AttrValue::Int(v)
}
fn boolean(v: bool) -> AttrValue {
    AttrValue::Bool(v)
}
fn ints(v: &[i64]) -> AttrValue {
    AttrValue::Ints(v.to_vec())
}
fn f32v(shape: &[usize], v: Vec<f32>) -> Value {
    Value::f32(shape.to_vec(), v).unwrap()
}
fn i32v(shape: &[usize], v: Vec<i32>) -> Value {
    Value::i32(shape.to_vec(), v).unwrap()
}
fn seq(n: usize, scale: f32, offset: f32) -> Vec<f32> {
    (0..n).map(|i| i as f32 * scale + offset).collect()
}
fn numel(s: &[usize]) -> usize {
    s.iter().product()
}
fn floats(v: &Value) -> &[f32] {
    v.as_f32().unwrap_or_else(|| panic!("expected float32, got {}", v.dtype()))
}
fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "lengths: {got:?} vs {want:?}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan()) || g == w;
        assert!(ok, "element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}");
    }
}

/// Run a one-op model expecting an error (planning or running), never a panic.
fn expect_err(g: &G, inputs: Vec<Value>) -> String {
    match g.run(inputs) {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// Naive broadcast reference: out[idx] = f(a[idx'], b[idx'']).
fn naive_broadcast(a: &[f32], sa: &[usize], b: &[f32], sb: &[usize], f: impl Fn(f32, f32) -> f32) -> (Vec<usize>, Vec<f32>) {
    let r = sa.len().max(sb.len());
    let pad = |s: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, r - s.len()).chain(s.iter().copied()).collect() };
    let (pa, pb) = (pad(sa), pad(sb));
    let shape: Vec<usize> = (0..r).map(|i| pa[i].max(pb[i])).collect();
    let mut out = Vec::new();
    for flat in 0..numel(&shape) {
        let mut rem = flat;
        let mut idx = vec![0; r];
        for d in (0..r).rev() {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        let off = |p: &[usize]| idx.iter().zip(p).fold(0, |acc, (&i, &d)| acc * d + if d == 1 { 0 } else { i });
        out.push(f(a[off(&pa)], b[off(&pb)]));
    }
    (shape, out)
}

// ------------------------------------------------------------ elementwise

fn binary_case(code: BuiltinOp, sa: &[usize], sb: &[usize], act: i64, f: impl Fn(f32, f32) -> f32) {
    let mut g = G::new();
    let a = g.input(DType::F32, sa);
    let b = g.input(DType::F32, sb);
    g.op(code, &[a, b], DType::F32, &[("fused_activation_function", int(act))]);
    let av = seq(numel(sa), 0.37, -2.1);
    let bv = seq(numel(sb), -0.29, 1.3);
    let out = g.run(vec![f32v(sa, av.clone()), f32v(sb, bv.clone())]).unwrap();
    let (shape, want) = naive_broadcast(&av, sa, &bv, sb, f);
    assert_eq!(out[0].shape, shape, "{} {sa:?} {sb:?}", code.name());
    assert_close(floats(&out[0]), &want, 1e-6);
}

#[test]
fn binary_ops_broadcast() {
    let shapes: &[(&[usize], &[usize])] = &[
        (&[2, 3, 4], &[2, 3, 4]),
        (&[2, 3, 4], &[]),
        (&[1], &[2, 3, 4]),
        (&[2, 3, 4], &[4]),
        (&[2, 3, 4], &[3, 1]),
        (&[4, 1], &[1, 5]),
        (&[1, 3, 1, 5], &[2, 1, 4, 1]),
        (&[1, 4, 4, 8], &[1, 4, 1, 8]),
    ];
    for (sa, sb) in shapes {
        binary_case(BuiltinOp::ADD, sa, sb, 0, |x, y| x + y);
        binary_case(BuiltinOp::SUB, sa, sb, 0, |x, y| x - y);
        binary_case(BuiltinOp::MUL, sa, sb, 0, |x, y| x * y);
        binary_case(BuiltinOp::DIV, sa, sb, 0, |x, y| x / y);
        binary_case(BuiltinOp::SQUARED_DIFFERENCE, sa, sb, 0, |x, y| (x - y) * (x - y));
        binary_case(BuiltinOp::MAXIMUM, sa, sb, 0, f32::max);
        binary_case(BuiltinOp::MINIMUM, sa, sb, 0, f32::min);
        binary_case(BuiltinOp::POW, sa, sb, 0, f32::powf);
    }
}

#[test]
fn binary_fused_activations() {
    binary_case(BuiltinOp::ADD, &[2, 3], &[3], 1, |x, y| (x + y).max(0.0));
    binary_case(BuiltinOp::SUB, &[2, 3], &[2, 1], 2, |x, y| (x - y).clamp(-1.0, 1.0));
    binary_case(BuiltinOp::MUL, &[2, 3], &[3], 3, |x, y| (x * y).clamp(0.0, 6.0));
    // TANH / SIGN_BIT do not clamp in TFLite's CalculateActivationRange.
    binary_case(BuiltinOp::ADD, &[4], &[4], 4, |x, y| x + y);
    // NONE clamps to the finite float range, as TFLite's reference kernels.
    let mut g = G::new();
    let a = g.input(DType::F32, &[3]);
    let b = g.cf(&[3], &[0.0, 0.0, 2.0]);
    g.op(BuiltinOp::DIV, &[a, b], DType::F32, &[]);
    let out = g.run(vec![f32v(&[3], vec![1.0, -1.0, f32::NAN])]).unwrap();
    let o = floats(&out[0]);
    assert_eq!(&o[..2], &[f32::MAX, f32::MIN]);
    assert!(o[2].is_nan());
    // An unknown activation code is an error.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2]);
    g.op(BuiltinOp::ADD, &[a, a], DType::F32, &[("fused_activation_function", int(9))]);
    expect_err(&g, vec![f32v(&[2], vec![1.0, 2.0])]);
}

#[test]
fn binary_int_variants() {
    let mut g = G::new();
    let a = g.input(DType::I32, &[2, 3]);
    let b = g.ci(&[3], &[10, -20, 30]);
    let add = g.op(BuiltinOp::ADD, &[a, b], DType::I32, &[]);
    let sub = g.op(BuiltinOp::SUB, &[a, b], DType::I32, &[]);
    let mul = g.op(BuiltinOp::MUL, &[a, b], DType::I32, &[("fused_activation_function", int(1))]);
    let max = g.op(BuiltinOp::MAXIMUM, &[a, b], DType::I32, &[]);
    let min = g.op(BuiltinOp::MINIMUM, &[a, b], DType::I32, &[]);
    let div = g.op(BuiltinOp::DIV, &[b, a], DType::I32, &[]);
    let _ = (add, sub, mul, max, min, div);
    let out = g.run(vec![i32v(&[2, 3], vec![1, 2, 3, -4, 5, -6])]).unwrap();
    let get = |i: usize| match &out[i].data {
        Data::I32(v) => v.clone(),
        d => panic!("{:?}", d.dtype()),
    };
    assert_eq!(get(0), vec![11, -18, 33, 6, -15, 24]);
    assert_eq!(get(1), vec![-9, 22, -27, -14, 25, -36]);
    assert_eq!(get(2), vec![10, 0, 90, 0, 0, 0]);
    assert_eq!(get(3), vec![10, 2, 30, 10, 5, 30]);
    assert_eq!(get(4), vec![1, -20, 3, -4, -20, -6]);
    assert_eq!(get(5), vec![10, -10, 10, -2, -4, -5]);
    assert_eq!(out[0].shape, vec![2, 3]);

    // Division by zero is an error; int64 works too.
    let mut g = G::new();
    let a = g.input(DType::I32, &[2]);
    let z = g.ci(&[2], &[1, 0]);
    g.op(BuiltinOp::DIV, &[a, z], DType::I32, &[]);
    assert!(expect_err(&g, vec![i32v(&[2], vec![4, 5])]).contains("division by zero"));
    let mut g = G::new();
    let a = g.input(DType::I64, &[2]);
    let b = g.ci64(&[1], &[1 << 40]);
    g.op(BuiltinOp::ADD, &[a, b], DType::I64, &[]);
    let out = g.run(vec![Value::new(vec![2], Data::I64(vec![1, -2])).unwrap()]).unwrap();
    assert_eq!(out[0].data, Data::I64(vec![(1 << 40) + 1, (1 << 40) - 2]));
}

#[test]
fn binary_errors() {
    // Shapes that do not broadcast.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 3]);
    let b = g.input(DType::F32, &[4]);
    g.op(BuiltinOp::ADD, &[a, b], DType::F32, &[]);
    assert!(expect_err(&g, vec![f32v(&[2, 3], vec![0.0; 6]), f32v(&[4], vec![0.0; 4])]).contains("broadcast"));
    // A float op fed an int constant.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2]);
    let b = g.ci(&[2], &[1, 2]);
    g.op(BuiltinOp::MUL, &[a, b], DType::F32, &[]);
    expect_err(&g, vec![f32v(&[2], vec![1.0, 2.0])]);
    // A missing input.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2]);
    g.op_n(BuiltinOp::ADD, &[Some(a), None], &[DType::F32], &[]);
    expect_err(&g, vec![f32v(&[2], vec![1.0, 2.0])]);
    // An int8 activation cannot run in the float engine.
    let mut g = G::new();
    let a = g.input(DType::I8, &[2]);
    g.op(BuiltinOp::ADD, &[a, a], DType::I8, &[]);
    assert!(matches!(Engine::new(&g.m), Err(modelpress::Error::UnsupportedOps(_))));
}

// ------------------------------------------------------------ activations

fn unary_case(code: BuiltinOp, attrs: &[(&str, AttrValue)], x: &[f32], f: impl Fn(f32) -> f32) {
    let mut g = G::new();
    let a = g.input(DType::F32, &[x.len()]);
    g.op(code, &[a], DType::F32, attrs);
    let out = g.run(vec![f32v(&[x.len()], x.to_vec())]).unwrap();
    let want: Vec<f32> = x.iter().map(|&v| f(v)).collect();
    assert_eq!(out[0].shape, vec![x.len()]);
    assert_close(floats(&out[0]), &want, 1e-6);
}

#[test]
fn unary_activations() {
    let x = [-20.0, -9.5, -3.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.9, 3.5, 6.5, 17.0];
    unary_case(BuiltinOp::LOGISTIC, &[], &x, |v| {
        if v > 16.619047 {
            1.0
        } else if v < -9.0 {
            v.exp()
        } else {
            1.0 / (1.0 + (-v).exp())
        }
    });
    unary_case(BuiltinOp::TANH, &[], &x, f32::tanh);
    unary_case(BuiltinOp::RELU, &[], &x, |v| v.max(0.0));
    unary_case(BuiltinOp::RELU6, &[], &x, |v| v.clamp(0.0, 6.0));
    unary_case(BuiltinOp::RELU_N1_TO_1, &[], &x, |v| v.clamp(-1.0, 1.0));
    unary_case(BuiltinOp::LEAKY_RELU, &[("alpha", AttrValue::Float(0.1))], &x, |v| if v > 0.0 { v } else { 0.1 * v });
    unary_case(BuiltinOp::HARD_SWISH, &[], &x, |v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0);
    unary_case(BuiltinOp::EXP, &[], &x, f32::exp);
    unary_case(BuiltinOp::ABS, &[], &x, f32::abs);
    unary_case(BuiltinOp::NEG, &[], &x, |v| -v);
    unary_case(BuiltinOp::SQUARE, &[], &x, |v| v * v);
    unary_case(BuiltinOp::FLOOR, &[], &x, f32::floor);
    unary_case(BuiltinOp(104), &[], &x, f32::ceil); // CEIL
    let pos = [0.01, 0.25, 1.0, 2.0, 100.0];
    unary_case(BuiltinOp::LOG, &[], &pos, f32::ln);
    unary_case(BuiltinOp::SQRT, &[], &pos, f32::sqrt);
    unary_case(BuiltinOp::RSQRT, &[], &pos, |v| 1.0 / v.sqrt());
    // RELU passes NaN through (val < 0 ? 0 : val).
    let mut g = G::new();
    let a = g.input(DType::F32, &[1]);
    g.op(BuiltinOp::RELU, &[a], DType::F32, &[]);
    assert!(floats(&g.run(vec![f32v(&[1], vec![f32::NAN])]).unwrap()[0])[0].is_nan());
}

#[test]
fn gelu_exact_and_approximate() {
    let x = [-3.0f32, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0];
    // 0.5 x (1 + erf(x / sqrt 2)), reference values.
    let exact = [-0.004_049_694, -0.158_655_25, -0.154_268_77, 0.0, 0.345_731_23, 0.841_344_8, 1.954_499_7];
    let mut g = G::new();
    let a = g.input(DType::F32, &[7]);
    g.op(BuiltinOp::GELU, &[a], DType::F32, &[]);
    g.op(BuiltinOp::GELU, &[a], DType::F32, &[("approximate", boolean(true))]);
    let out = g.run(vec![f32v(&[7], x.to_vec())]).unwrap();
    assert_close(floats(&out[0]), &exact, 2e-6);
    let k = (2.0f32 / std::f32::consts::PI).sqrt();
    let approx: Vec<f32> = x.iter().map(|&v| 0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh())).collect();
    assert_close(floats(&out[1]), &approx, 1e-6);
}

#[test]
fn prelu_broadcasts_alpha() {
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 2, 3]);
    let alpha = g.cf(&[1, 1, 3], &[0.1, 0.2, 0.3]);
    g.op(BuiltinOp::PRELU, &[a, alpha], DType::F32, &[]);
    let x = seq(12, 0.5, -3.0);
    let out = g.run(vec![f32v(&[2, 2, 3], x.clone())]).unwrap();
    let want: Vec<f32> = x.iter().enumerate().map(|(i, &v)| if v >= 0.0 { v } else { v * [0.1, 0.2, 0.3][i % 3] }).collect();
    assert_eq!(out[0].shape, vec![2, 2, 3]);
    assert_close(floats(&out[0]), &want, 1e-6);
    // Alpha that does not broadcast.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 3]);
    let alpha = g.cf(&[2], &[0.1, 0.2]);
    g.op(BuiltinOp::PRELU, &[a, alpha], DType::F32, &[]);
    expect_err(&g, vec![f32v(&[2, 3], vec![0.0; 6])]);
}

#[test]
fn softmax_and_log_softmax() {
    let x = vec![1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 1000.0, 1000.0];
    let beta = 0.5f32;
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 4]);
    g.op(BuiltinOp::SOFTMAX, &[a], DType::F32, &[("beta", AttrValue::Float(beta as f64))]);
    g.op(BuiltinOp::LOG_SOFTMAX, &[a], DType::F32, &[]);
    let out = g.run(vec![f32v(&[2, 4], x.clone())]).unwrap();
    let mut sm = Vec::new();
    let mut lsm = Vec::new();
    for row in x.chunks(4) {
        let m = row.iter().cloned().fold(f32::MIN, f32::max);
        let e: Vec<f64> = row.iter().map(|&v| (((v - m) * beta) as f64).exp()).collect();
        let s: f64 = e.iter().sum();
        sm.extend(e.iter().map(|v| (v / s) as f32));
        let s1: f64 = row.iter().map(|&v| ((v - m) as f64).exp()).sum();
        lsm.extend(row.iter().map(|&v| ((v - m) as f64 - s1.ln()) as f32));
    }
    assert_close(floats(&out[0]), &sm, 1e-6);
    assert_close(floats(&out[1]), &lsm, 1e-6);
    // Rank 0 has no last axis.
    let mut g = G::new();
    let a = g.input(DType::F32, &[]);
    g.op(BuiltinOp::SOFTMAX, &[a], DType::F32, &[]);
    expect_err(&g, vec![f32v(&[], vec![1.0])]);
}

// ------------------------------------------------------------ array ops

/// Single-input model running `code` on an input of `shape` = 0..n.
fn array_case(code: BuiltinOp, shape: &[usize], extra: &[&dyn Fn(&mut G) -> usize], attrs: &[(&str, AttrValue)]) -> modelpress::Result<Value> {
    let mut g = G::new();
    let a = g.input(DType::F32, shape);
    let mut ins = vec![a];
    for e in extra {
        ins.push(e(&mut g));
    }
    g.op(code, &ins, DType::F32, attrs);
    g.run(vec![f32v(shape, seq(numel(shape), 1.0, 0.0))]).map(|mut v| v.remove(0))
}

fn as_ints(v: &Value) -> Vec<i64> {
    match &v.data {
        Data::F32(x) => x.iter().map(|&f| f as i64).collect(),
        _ => v.to_i64().unwrap(),
    }
}

#[test]
fn reshape_sources() {
    // From the shape tensor, with -1.
    let v = array_case(BuiltinOp::RESHAPE, &[2, 3, 4], &[&|g| g.ci(&[2], &[-1, 6])], &[]).unwrap();
    assert_eq!(v.shape, vec![4, 6]);
    assert_eq!(as_ints(&v), (0..24).collect::<Vec<_>>());
    // From the options (no shape tensor).
    let v = array_case(BuiltinOp::RESHAPE, &[2, 3, 4], &[], &[("new_shape", ints(&[3, -1, 2]))]).unwrap();
    assert_eq!(v.shape, vec![3, 4, 2]);
    // From the output tensor's shape.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 3]);
    let o = g.op(BuiltinOp::RESHAPE, &[a], DType::F32, &[]);
    g.sg().tensors[o].shape = vec![3, 2];
    let out = g.run(vec![f32v(&[2, 3], seq(6, 1.0, 0.0))]).unwrap();
    assert_eq!(out[0].shape, vec![3, 2]);
    // Legacy [0] means a scalar.
    let v = array_case(BuiltinOp::RESHAPE, &[1, 1], &[], &[("new_shape", ints(&[0]))]).unwrap();
    assert_eq!(v.shape, Vec::<usize>::new());
    // Errors: two -1, element count mismatch, negative dims.
    assert!(array_case(BuiltinOp::RESHAPE, &[2, 3], &[&|g| g.ci(&[2], &[-1, -1])], &[]).is_err());
    assert!(array_case(BuiltinOp::RESHAPE, &[2, 3], &[&|g| g.ci(&[2], &[4, 2])], &[]).is_err());
    assert!(array_case(BuiltinOp::RESHAPE, &[2, 3], &[&|g| g.ci(&[2], &[-2, -3])], &[]).is_err());
}

#[test]
fn squeeze_and_expand_dims() {
    let v = array_case(BuiltinOp::SQUEEZE, &[1, 3, 1, 2], &[], &[]).unwrap();
    assert_eq!(v.shape, vec![3, 2]);
    let v = array_case(BuiltinOp::SQUEEZE, &[1, 3, 1, 2], &[], &[("squeeze_dims", ints(&[-2]))]).unwrap();
    assert_eq!(v.shape, vec![1, 3, 2]);
    assert!(array_case(BuiltinOp::SQUEEZE, &[1, 3, 1, 2], &[], &[("squeeze_dims", ints(&[1]))]).is_err());
    assert!(array_case(BuiltinOp::SQUEEZE, &[1, 3], &[], &[("squeeze_dims", ints(&[5]))]).is_err());
    let v = array_case(BuiltinOp::EXPAND_DIMS, &[2, 3], &[&|g| g.ci(&[], &[-1])], &[]).unwrap();
    assert_eq!(v.shape, vec![2, 3, 1]);
    let v = array_case(BuiltinOp::EXPAND_DIMS, &[2, 3], &[&|g| g.ci64(&[1], &[1])], &[]).unwrap();
    assert_eq!(v.shape, vec![2, 1, 3]);
    assert!(array_case(BuiltinOp::EXPAND_DIMS, &[2, 3], &[&|g| g.ci(&[], &[4])], &[]).is_err());
}

#[test]
fn transpose_matches_naive() {
    let v = array_case(BuiltinOp::TRANSPOSE, &[2, 3, 4], &[&|g| g.ci(&[3], &[2, 0, 1])], &[]).unwrap();
    assert_eq!(v.shape, vec![4, 2, 3]);
    let mut want = Vec::new();
    for k in 0..4 {
        for i in 0..2 {
            for j in 0..3 {
                want.push((i * 12 + j * 4 + k) as i64);
            }
        }
    }
    assert_eq!(as_ints(&v), want);
    assert!(array_case(BuiltinOp::TRANSPOSE, &[2, 3], &[&|g| g.ci(&[2], &[0, 0])], &[]).is_err());
    assert!(array_case(BuiltinOp::TRANSPOSE, &[2, 3], &[&|g| g.ci(&[3], &[0, 1, 2])], &[]).is_err());
}

#[test]
fn concatenation() {
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 1, 2]);
    let b = g.cf(&[2, 1, 3], &[10.0, -11.0, 12.0, 13.0, 14.0, -15.0]);
    g.op(BuiltinOp::CONCATENATION, &[a, b, a], DType::F32, &[("axis", int(-1))]);
    g.op(BuiltinOp::CONCATENATION, &[a, a], DType::F32, &[("axis", int(0)), ("fused_activation_function", int(1))]);
    let out = g.run(vec![f32v(&[2, 1, 2], vec![1.0, -2.0, 3.0, 4.0])]).unwrap();
    assert_eq!(out[0].shape, vec![2, 1, 7]);
    assert_eq!(floats(&out[0]), &[1.0, -2.0, 10.0, -11.0, 12.0, 1.0, -2.0, 3.0, 4.0, 13.0, 14.0, -15.0, 3.0, 4.0]);
    assert_eq!(out[1].shape, vec![4, 1, 2]);
    assert_eq!(floats(&out[1]), &[1.0, 0.0, 3.0, 4.0, 1.0, 0.0, 3.0, 4.0]);
    // int32 and mismatched dims.
    let mut g = G::new();
    let a = g.input(DType::I32, &[2]);
    let b = g.ci(&[3], &[7, 8, 9]);
    g.op(BuiltinOp::CONCATENATION, &[b, a], DType::I32, &[("axis", int(0))]);
    let out = g.run(vec![i32v(&[2], vec![1, 2])]).unwrap();
    assert_eq!(out[0].data, Data::I32(vec![7, 8, 9, 1, 2]));
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 2]);
    let b = g.cf(&[3, 3], &[0.0; 9]);
    g.op(BuiltinOp::CONCATENATION, &[a, b], DType::F32, &[("axis", int(1))]);
    expect_err(&g, vec![f32v(&[2, 2], vec![0.0; 4])]);
    // Mixed dtypes.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2]);
    let b = g.ci(&[2], &[1, 2]);
    g.op(BuiltinOp::CONCATENATION, &[a, b], DType::F32, &[("axis", int(0))]);
    expect_err(&g, vec![f32v(&[2], vec![0.0; 2])]);
}

#[test]
fn split_and_split_v() {
    // SPLIT: the axis is input 0.
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 6]);
    let axis = g.ci(&[], &[-1]);
    g.op_n(BuiltinOp::SPLIT, &[Some(axis), Some(x)], &[DType::F32; 3], &[("num_splits", int(3))]);
    let out = g.run(vec![f32v(&[2, 6], seq(12, 1.0, 0.0))]).unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[1].shape, vec![2, 2]);
    assert_eq!(floats(&out[1]), &[2.0, 3.0, 8.0, 9.0]);
    // Uneven split.
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 5]);
    let axis = g.ci(&[], &[1]);
    g.op_n(BuiltinOp::SPLIT, &[Some(axis), Some(x)], &[DType::F32; 2], &[("num_splits", int(2))]);
    expect_err(&g, vec![f32v(&[2, 5], vec![0.0; 10])]);
    // SPLIT_V: value, size_splits (with -1), axis.
    let mut g = G::new();
    let x = g.input(DType::F32, &[3, 4]);
    let sizes = g.ci(&[3], &[1, -1, 1]);
    let axis = g.ci(&[], &[0]);
    g.op_n(BuiltinOp::SPLIT_V, &[Some(x), Some(sizes), Some(axis)], &[DType::F32; 3], &[("num_splits", int(3))]);
    let out = g.run(vec![f32v(&[3, 4], seq(12, 1.0, 0.0))]).unwrap();
    assert_eq!((out[0].shape.clone(), out[1].shape.clone(), out[2].shape.clone()), (vec![1, 4], vec![1, 4], vec![1, 4]));
    assert_eq!(floats(&out[2]), &[8.0, 9.0, 10.0, 11.0]);
    let mut g = G::new();
    let x = g.input(DType::F32, &[3, 4]);
    let sizes = g.ci(&[2], &[3, 1]);
    let axis = g.ci(&[], &[1]);
    g.op_n(BuiltinOp::SPLIT_V, &[Some(x), Some(sizes), Some(axis)], &[DType::F32; 2], &[]);
    let out = g.run(vec![f32v(&[3, 4], seq(12, 1.0, 0.0))]).unwrap();
    assert_eq!(floats(&out[0]), &[0.0, 1.0, 2.0, 4.0, 5.0, 6.0, 8.0, 9.0, 10.0]);
    assert_eq!(floats(&out[1]), &[3.0, 7.0, 11.0]);
    // Sizes that do not add up.
    let mut g = G::new();
    let x = g.input(DType::F32, &[3, 4]);
    let sizes = g.ci(&[2], &[3, 3]);
    let axis = g.ci(&[], &[1]);
    g.op_n(BuiltinOp::SPLIT_V, &[Some(x), Some(sizes), Some(axis)], &[DType::F32; 2], &[]);
    expect_err(&g, vec![f32v(&[3, 4], vec![0.0; 12])]);
}

#[test]
fn pack_and_unpack() {
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 3]);
    let b = g.cf(&[2, 3], &[10.0, 11.0, 12.0, 13.0, 14.0, 15.0]);
    g.op(BuiltinOp::PACK, &[a, b], DType::F32, &[("values_count", int(2)), ("axis", int(1))]);
    g.op(BuiltinOp::PACK, &[a, b], DType::F32, &[("values_count", int(2)), ("axis", int(-1))]);
    let out = g.run(vec![f32v(&[2, 3], seq(6, 1.0, 0.0))]).unwrap();
    assert_eq!(out[0].shape, vec![2, 2, 3]);
    assert_eq!(floats(&out[0]), &[0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 3.0, 4.0, 5.0, 13.0, 14.0, 15.0]);
    assert_eq!(out[1].shape, vec![2, 3, 2]);
    assert_eq!(floats(&out[1]), &[0.0, 10.0, 1.0, 11.0, 2.0, 12.0, 3.0, 13.0, 4.0, 14.0, 5.0, 15.0]);
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 3]);
    g.op_n(BuiltinOp::UNPACK, &[Some(a)], &[DType::F32; 3], &[("num", int(3)), ("axis", int(-1))]);
    let out = g.run(vec![f32v(&[2, 3], seq(6, 1.0, 0.0))]).unwrap();
    assert_eq!(out[2].shape, vec![2]);
    assert_eq!(floats(&out[2]), &[2.0, 5.0]);
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 3]);
    g.op_n(BuiltinOp::UNPACK, &[Some(a)], &[DType::F32; 2], &[("num", int(2)), ("axis", int(1))]);
    expect_err(&g, vec![f32v(&[2, 3], vec![0.0; 6])]);
}

#[test]
fn slice_with_minus_one() {
    let v = array_case(BuiltinOp::SLICE, &[2, 3, 4], &[&|g| g.ci(&[3], &[1, 0, 1]), &|g| g.ci(&[3], &[1, -1, 2])], &[]).unwrap();
    assert_eq!(v.shape, vec![1, 3, 2]);
    assert_eq!(as_ints(&v), vec![13, 14, 17, 18, 21, 22]);
    let v = array_case(BuiltinOp::SLICE, &[2, 3], &[&|g| g.ci64(&[2], &[0, 1]), &|g| g.ci64(&[2], &[2, 2])], &[]).unwrap();
    assert_eq!(as_ints(&v), vec![1, 2, 4, 5]);
    assert!(array_case(BuiltinOp::SLICE, &[2, 3], &[&|g| g.ci(&[2], &[0, 2]), &|g| g.ci(&[2], &[1, 2])], &[]).is_err());
    assert!(array_case(BuiltinOp::SLICE, &[2, 3], &[&|g| g.ci(&[2], &[-1, 0]), &|g| g.ci(&[2], &[1, 1])], &[]).is_err());
    assert!(array_case(BuiltinOp::SLICE, &[2, 3], &[&|g| g.ci(&[1], &[0]), &|g| g.ci(&[1], &[1])], &[]).is_err());
}

/// STRIDED_SLICE of arange(24).reshape(2, 3, 4); expectations from NumPy.
fn ss(begin: &[i32], end: &[i32], strides: &[i32], masks: [i64; 5], offset: bool) -> modelpress::Result<Value> {
    let n = begin.len();
    let (b, e, s) = (begin.to_vec(), end.to_vec(), strides.to_vec());
    array_case(
        BuiltinOp::STRIDED_SLICE,
        &[2, 3, 4],
        &[&|g| g.ci(&[n], &b), &|g| g.ci(&[n], &e), &|g| g.ci(&[n], &s)],
        &[
            ("begin_mask", int(masks[0])),
            ("end_mask", int(masks[1])),
            ("ellipsis_mask", int(masks[2])),
            ("new_axis_mask", int(masks[3])),
            ("shrink_axis_mask", int(masks[4])),
            ("offset", boolean(offset)),
        ],
    )
}

#[test]
fn strided_slice_masks() {
    // x[:, ::-1, 1:3]
    let v = ss(&[0, 0, 1], &[0, 0, 3], &[1, -1, 1], [0b011, 0b011, 0, 0, 0], false).unwrap();
    assert_eq!(v.shape, vec![2, 3, 2]);
    assert_eq!(as_ints(&v), vec![9, 10, 5, 6, 1, 2, 21, 22, 17, 18, 13, 14]);
    // x[1, :, ::2]
    let v = ss(&[1, 0, 0], &[2, 0, 0], &[1, 1, 2], [0b110, 0b110, 0, 0, 0b001], false).unwrap();
    assert_eq!(v.shape, vec![3, 2]);
    assert_eq!(as_ints(&v), vec![12, 14, 16, 18, 20, 22]);
    // x[..., 1]
    let v = ss(&[0, 1], &[0, 2], &[1, 1], [0, 0, 0b01, 0, 0b10], false).unwrap();
    assert_eq!(v.shape, vec![2, 3]);
    assert_eq!(as_ints(&v), vec![1, 5, 9, 13, 17, 21]);
    // x[:, None, -1]
    let v = ss(&[0, 0, -1], &[0, 0, 0], &[1, 1, 1], [0b001, 0b001, 0, 0b010, 0b100], false).unwrap();
    assert_eq!(v.shape, vec![2, 1, 4]);
    assert_eq!(as_ints(&v), vec![8, 9, 10, 11, 20, 21, 22, 23]);
    // x[:, 5:-10:-2, :] (clamped negative stride)
    let v = ss(&[0, 5, 0], &[0, -10, 0], &[1, -2, 1], [0b101, 0b101, 0, 0, 0], false).unwrap();
    assert_eq!(v.shape, vec![2, 2, 4]);
    assert_eq!(as_ints(&v), vec![8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15]);
    // offset: end holds sizes: x[0:2, 1:3, 1:3]
    let v = ss(&[0, 1, 1], &[2, 2, 2], &[1, 1, 1], [0, 0, 0, 0, 0], true).unwrap();
    assert_eq!(v.shape, vec![2, 2, 2]);
    assert_eq!(as_ints(&v), vec![5, 6, 9, 10, 17, 18, 21, 22]);
    // x[:, -1] (fewer indices than dims, negative shrink index)
    let v = ss(&[0, -1], &[0, 0], &[1, 1], [0b01, 0b01, 0, 0, 0b10], false).unwrap();
    assert_eq!(v.shape, vec![2, 4]);
    assert_eq!(as_ints(&v), vec![8, 9, 10, 11, 20, 21, 22, 23]);
    // x[..., None, 0:4:3]
    let v = ss(&[0, 0, 0], &[0, 0, 4], &[1, 1, 3], [0, 0, 0b001, 0b010, 0], false).unwrap();
    assert_eq!(v.shape, vec![2, 3, 1, 2]);
    assert_eq!(as_ints(&v), vec![0, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 23]);
    // Empty result: x[:, 2:1]
    let v = ss(&[0, 2], &[0, 1], &[1, 1], [0b01, 0b01, 0, 0, 0], false).unwrap();
    assert_eq!(v.shape, vec![2, 0, 4]);
    // Errors: zero stride, shrink out of range, shrink with a negative
    // stride (TFLite leaves the output unwritten), two ellipses, more
    // indices than dims.
    assert!(ss(&[0, 1], &[0, 2], &[1, -1], [0b01, 0b01, 0, 0, 0b10], false).is_err());
    assert!(ss(&[0, 0, 0], &[1, 1, 1], &[1, 0, 1], [0; 5], false).is_err());
    assert!(ss(&[0, 5], &[0, 6], &[1, 1], [0b01, 0b01, 0, 0, 0b10], false).is_err());
    assert!(ss(&[0, 0], &[0, 0], &[1, 1], [0, 0, 0b11, 0, 0], false).is_err());
    assert!(ss(&[0, 0, 0, 0, 0], &[1, 1, 1, 1, 1], &[1, 1, 1, 1, 1], [0; 5], false).is_err());
}

#[test]
fn gather_axes_batch_dims_and_bounds() {
    // axis 1, 2-D int32 indices.
    let v = array_case(BuiltinOp::GATHER, &[2, 3, 2], &[&|g| g.ci(&[2, 2], &[2, 0, 1, 1])], &[("axis", int(1))]).unwrap();
    assert_eq!(v.shape, vec![2, 2, 2, 2]);
    assert_eq!(as_ints(&v), vec![4, 5, 0, 1, 2, 3, 2, 3, 10, 11, 6, 7, 8, 9, 8, 9]);
    // Negative axis, int64 indices, scalar index.
    let v = array_case(BuiltinOp::GATHER, &[2, 3], &[&|g| g.ci64(&[], &[2])], &[("axis", int(-1))]).unwrap();
    assert_eq!(v.shape, vec![2]);
    assert_eq!(as_ints(&v), vec![2, 5]);
    // batch_dims 1: out[b, i] = x[b, idx[b, i]].
    let v = array_case(BuiltinOp::GATHER, &[2, 3], &[&|g| g.ci(&[2, 2], &[2, 0, 1, 1])], &[("axis", int(1)), ("batch_dims", int(1))])
        .unwrap();
    assert_eq!(v.shape, vec![2, 2]);
    assert_eq!(as_ints(&v), vec![2, 0, 4, 4]);
    // Out-of-range and negative indices are errors.
    assert!(array_case(BuiltinOp::GATHER, &[2, 3], &[&|g| g.ci(&[1], &[3])], &[("axis", int(1))]).is_err());
    assert!(array_case(BuiltinOp::GATHER, &[2, 3], &[&|g| g.ci(&[1], &[-1])], &[("axis", int(1))]).is_err());
    assert!(array_case(BuiltinOp::GATHER, &[2, 3], &[&|g| g.ci(&[1], &[0])], &[("axis", int(2))]).is_err());
    assert!(array_case(BuiltinOp::GATHER, &[2, 3], &[&|g| g.cf(&[1], &[0.0])], &[]).is_err());
}

#[test]
fn shape_tile_broadcast_fill() {
    for (dt, want) in [(DType::I32, Data::I32(vec![2, 3, 4])), (DType::I64, Data::I64(vec![2, 3, 4]))] {
        let mut g = G::new();
        let a = g.input(DType::F32, &[2, 3, 4]);
        g.op(BuiltinOp::SHAPE, &[a], dt, &[]);
        let out = g.run(vec![f32v(&[2, 3, 4], vec![0.0; 24])]).unwrap();
        assert_eq!(out[0].shape, vec![3]);
        assert_eq!(out[0].data, want);
    }
    let v = array_case(BuiltinOp::TILE, &[2, 2], &[&|g| g.ci(&[2], &[2, 3])], &[]).unwrap();
    assert_eq!(v.shape, vec![4, 6]);
    assert_eq!(as_ints(&v)[..12], [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]);
    assert_eq!(as_ints(&v)[12..], [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]);
    assert!(array_case(BuiltinOp::TILE, &[2, 2], &[&|g| g.ci(&[2], &[-1, 1])], &[]).is_err());
    assert!(array_case(BuiltinOp::TILE, &[2, 2], &[&|g| g.ci(&[2], &[1 << 30, 1 << 30])], &[]).is_err());
    let v = array_case(BuiltinOp::BROADCAST_TO, &[3, 1], &[&|g| g.ci(&[3], &[2, 3, 2])], &[]).unwrap();
    assert_eq!(v.shape, vec![2, 3, 2]);
    assert_eq!(as_ints(&v), vec![0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
    assert!(array_case(BuiltinOp::BROADCAST_TO, &[3, 2], &[&|g| g.ci(&[2], &[3, 3])], &[]).is_err());
    assert!(array_case(BuiltinOp::BROADCAST_TO, &[1], &[&|g| g.ci(&[3], &[1 << 20, 1 << 20, 4])], &[]).is_err());
    // FILL (code 94): dims + scalar value.
    let mut g = G::new();
    let dims = g.ci(&[2], &[2, 3]);
    let val = g.input(DType::F32, &[]);
    g.op(BuiltinOp(94), &[dims, val], DType::F32, &[]);
    let out = g.run(vec![f32v(&[], vec![1.5])]).unwrap();
    assert_eq!(out[0].shape, vec![2, 3]);
    assert_eq!(floats(&out[0]), &[1.5; 6]);
}

#[test]
fn cast_between_types() {
    let mut g = G::new();
    let a = g.input(DType::F32, &[6]);
    g.op(BuiltinOp::CAST, &[a], DType::I32, &[]);
    g.op(BuiltinOp::CAST, &[a], DType::U8, &[]);
    g.op(BuiltinOp::CAST, &[a], DType::Bool, &[]);
    g.op(BuiltinOp::CAST, &[a], DType::F16, &[]);
    let x = vec![-2.7, 0.0, 2.7, 1e10, f32::NAN, 300.0];
    let out = g.run(vec![f32v(&[6], x)]).unwrap();
    assert_eq!(out[0].data, Data::I32(vec![-2, 0, 2, i32::MAX, i32::MAX, 300]));
    assert_eq!(out[1].data, Data::U8(vec![0, 0, 2, 255, 255, 255]));
    assert_eq!(out[2].data, Data::Bool(vec![true, false, true, true, true, true]));
    match &out[3].data {
        Data::F16(h) => assert_eq!(half::f16::from_bits(h[2]).to_f32(), half::f16::from_f32(2.7).to_f32()),
        d => panic!("{:?}", d.dtype()),
    }
    let mut g = G::new();
    let a = g.input(DType::I32, &[3]);
    g.op(BuiltinOp::CAST, &[a], DType::F32, &[]);
    g.op(BuiltinOp::CAST, &[a], DType::I8, &[]);
    let out = g.run(vec![i32v(&[3], vec![-1, 16_777_217, 200])]).unwrap();
    assert_eq!(floats(&out[0]), &[-1.0, 16_777_216.0, 200.0]);
    assert_eq!(out[1].data, Data::I8(vec![-1, 1, -56]));
}

// ------------------------------------------------------------ reductions

fn reduce_case(code: BuiltinOp, shape: &[usize], axes: &[i32], keep: bool) -> modelpress::Result<Value> {
    let n = axes.len();
    let a = axes.to_vec();
    array_case(code, shape, &[&|g| g.ci(&[n], &a)], &[("keep_dims", boolean(keep))])
}

#[test]
fn reductions() {
    // x = 0..24 in [2, 3, 4]; reduce axes 1 and -1 (duplicated).
    let x: Vec<f32> = seq(24, 1.0, 0.0);
    let per_b = |f: &dyn Fn(&[f32]) -> f32| -> Vec<f32> { (0..2).map(|b| f(&x[b * 12..(b + 1) * 12])).collect() };
    let v = reduce_case(BuiltinOp::SUM, &[2, 3, 4], &[1, -1, 2], false).unwrap();
    assert_eq!(v.shape, vec![2]);
    assert_eq!(floats(&v), per_b(&|r| r.iter().sum()));
    let v = reduce_case(BuiltinOp::MEAN, &[2, 3, 4], &[1, -1], true).unwrap();
    assert_eq!(v.shape, vec![2, 1, 1]);
    assert_eq!(floats(&v), per_b(&|r| r.iter().sum::<f32>() / 12.0));
    let v = reduce_case(BuiltinOp::REDUCE_MAX, &[2, 3, 4], &[0], false).unwrap();
    assert_eq!(v.shape, vec![3, 4]);
    assert_eq!(floats(&v), &seq(12, 1.0, 12.0)[..]);
    let v = reduce_case(BuiltinOp::REDUCE_MIN, &[2, 3, 4], &[1], true).unwrap();
    assert_eq!(v.shape, vec![2, 1, 4]);
    assert_eq!(floats(&v), &[0.0, 1.0, 2.0, 3.0, 12.0, 13.0, 14.0, 15.0]);
    let v = reduce_case(BuiltinOp::REDUCE_PROD, &[2, 3, 4], &[-1], false).unwrap();
    assert_eq!(v.shape, vec![2, 3]);
    let want: Vec<f32> = (0..6).map(|r| x[r * 4..r * 4 + 4].iter().product()).collect();
    assert_eq!(floats(&v), &want[..]);
    // Middle axis only, keep_dims false.
    let v = reduce_case(BuiltinOp::SUM, &[2, 3, 4], &[1], false).unwrap();
    let want: Vec<f32> = (0..8).map(|i| (0..3).map(|j| x[(i / 4) * 12 + j * 4 + i % 4]).sum()).collect();
    assert_eq!(floats(&v), &want[..]);
    // No axes (an empty axes tensor, given as an input: the planner keeps
    // no value for an empty constant buffer): identity.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 3]);
    let ax = g.input(DType::I32, &[0]);
    g.op(BuiltinOp::SUM, &[a, ax], DType::F32, &[]);
    let out = g.run(vec![f32v(&[2, 3], seq(6, 1.0, 0.0)), i32v(&[0], vec![])]).unwrap();
    assert_eq!(out[0].shape, vec![2, 3]);
    assert_eq!(floats(&out[0]), &seq(6, 1.0, 0.0)[..]);
    // A rank-0 input ignores the axes.
    let mut g = G::new();
    let a = g.input(DType::F32, &[]);
    let ax = g.ci(&[1], &[0]);
    g.op(BuiltinOp::REDUCE_MAX, &[a, ax], DType::F32, &[("keep_dims", boolean(true))]);
    let out = g.run(vec![f32v(&[], vec![2.5])]).unwrap();
    assert_eq!(out[0].shape, Vec::<usize>::new());
    assert_eq!(floats(&out[0]), &[2.5]);
    // Out-of-range axis.
    assert!(reduce_case(BuiltinOp::MEAN, &[2, 3], &[2], false).is_err());
    assert!(reduce_case(BuiltinOp::MEAN, &[2, 3], &[-3], false).is_err());

    // int32: SUM wraps, MEAN truncates.
    let mut g = G::new();
    let a = g.input(DType::I32, &[2, 2]);
    let ax = g.ci(&[1], &[1]);
    g.op(BuiltinOp::SUM, &[a, ax], DType::I32, &[]);
    g.op(BuiltinOp::MEAN, &[a, ax], DType::I32, &[]);
    g.op(BuiltinOp::REDUCE_MAX, &[a, ax], DType::I32, &[]);
    let out = g.run(vec![i32v(&[2, 2], vec![3, 4, -7, 2])]).unwrap();
    assert_eq!(out[0].data, Data::I32(vec![7, -5]));
    assert_eq!(out[1].data, Data::I32(vec![3, -2]));
    assert_eq!(out[2].data, Data::I32(vec![4, 2]));
}

// ------------------------------------------------------------ quantization

fn quant(scale: &[f32], zp: &[i64], dim: i32) -> Option<QuantParams> {
    Some(QuantParams { scale: scale.to_vec(), zero_point: zp.to_vec(), quantized_dimension: dim, ..Default::default() })
}

#[test]
fn dequantize_types_and_channels() {
    let mut g = G::new();
    // float16 constant
    let h: Vec<u8> = [1.5f32, -2.25, 65504.0].iter().flat_map(|&v| half::f16::from_f32(v).to_bits().to_le_bytes()).collect();
    let c16 = g.raw(DType::F16, &[3], h);
    g.op(BuiltinOp::DEQUANTIZE, &[c16], DType::F32, &[]);
    // int8 per-tensor
    let c8 = g.raw(DType::I8, &[4], [-128i8, -3, 0, 127].iter().map(|&v| v as u8).collect());
    g.sg().tensors[c8].quant = quant(&[0.5], &[-3], 0);
    g.op(BuiltinOp::DEQUANTIZE, &[c8], DType::F32, &[]);
    // uint8 per-tensor
    let cu8 = g.raw(DType::U8, &[3], vec![0, 128, 255]);
    g.sg().tensors[cu8].quant = quant(&[0.1], &[128], 0);
    g.op(BuiltinOp::DEQUANTIZE, &[cu8], DType::F32, &[]);
    // int16 per-channel along dim 1
    let c16i = g.raw(DType::I16, &[2, 3], [1i16, 2, 3, -4, -5, -6].iter().flat_map(|v| v.to_le_bytes()).collect());
    g.sg().tensors[c16i].quant = quant(&[1.0, 0.5, 0.25], &[0, 1, 2], 1);
    g.op(BuiltinOp::DEQUANTIZE, &[c16i], DType::F32, &[]);
    // int8 per-channel along dim 0 with one shared zero point
    let c8c = g.raw(DType::I8, &[2, 2], [10i8, 20, 30, 40].iter().map(|&v| v as u8).collect());
    g.sg().tensors[c8c].quant = quant(&[2.0, 0.5], &[0], 0);
    g.op(BuiltinOp::DEQUANTIZE, &[c8c], DType::F32, &[]);
    let out = g.run(vec![]).unwrap();
    assert_eq!(floats(&out[0]), &[1.5, -2.25, 65504.0]);
    assert_eq!(floats(&out[1]), &[-62.5, 0.0, 1.5, 65.0]);
    assert_close(floats(&out[2]), &[-12.8, 0.0, 12.7], 1e-6);
    assert_eq!(floats(&out[3]), &[1.0, 0.5, 0.25, -4.0, -3.0, -2.0]);
    assert_eq!(floats(&out[4]), &[20.0, 40.0, 15.0, 20.0]);
    assert_eq!(out[3].shape, vec![2, 3]);

    // Bad per-channel parameters are errors.
    let mut g = G::new();
    let c = g.raw(DType::I8, &[2, 2], vec![0; 4]);
    g.sg().tensors[c].quant = quant(&[1.0, 2.0, 3.0], &[0, 0, 0], 1);
    g.op(BuiltinOp::DEQUANTIZE, &[c], DType::F32, &[]);
    expect_err(&g, vec![]);
    let mut g = G::new();
    let c = g.raw(DType::I8, &[2, 2], vec![0; 4]);
    g.sg().tensors[c].quant = quant(&[1.0, 2.0], &[0, 0], 5);
    g.op(BuiltinOp::DEQUANTIZE, &[c], DType::F32, &[]);
    expect_err(&g, vec![]);
    // An int8 tensor without quantization cannot be dequantized.
    let mut g = G::new();
    let c = g.raw(DType::I8, &[2], vec![0; 2]);
    g.op(BuiltinOp::DEQUANTIZE, &[c], DType::F32, &[]);
    assert!(Engine::new(&g.m).is_err());
}

#[test]
fn quantize_rounds_half_away_and_clamps() {
    let mut g = G::new();
    let a = g.input(DType::F32, &[6]);
    let q8 = g.op(BuiltinOp::QUANTIZE, &[a], DType::I8, &[]);
    g.sg().tensors[q8].quant = quant(&[0.5], &[1], 0);
    let qu8 = g.op(BuiltinOp::QUANTIZE, &[a], DType::U8, &[]);
    g.sg().tensors[qu8].quant = quant(&[0.5], &[128], 0);
    let q16 = g.op(BuiltinOp::QUANTIZE, &[a], DType::I16, &[]);
    g.sg().tensors[q16].quant = quant(&[0.001], &[0], 0);
    let x = vec![0.25, -0.25, 0.75, 1000.0, -1000.0, 1.1];
    let out = g.run(vec![f32v(&[6], x)]).unwrap();
    // 0.25/0.5 = 0.5 -> 1; -0.5 -> -1; 1.5 -> 2; clamps.
    assert_eq!(out[0].data, Data::I8(vec![2, 0, 3, 127, -128, 3]));
    assert_eq!(out[1].data, Data::U8(vec![129, 127, 130, 255, 0, 130]));
    assert_eq!(out[2].data, Data::I16(vec![250, -250, 750, 32767, -32768, 1100]));
    // Per-channel along the last dim.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2, 2]);
    let q = g.op(BuiltinOp::QUANTIZE, &[a], DType::I8, &[]);
    g.sg().tensors[q].quant = quant(&[1.0, 0.1], &[0, -5], 1);
    let out = g.run(vec![f32v(&[2, 2], vec![1.4, 1.4, -2.5, -0.25])]).unwrap();
    assert_eq!(out[0].data, Data::I8(vec![1, 9, -3, -8])); // -0.25 / 0.1 is -2.5 in float
    // Quantize needs the output's parameters.
    let mut g = G::new();
    let a = g.input(DType::F32, &[2]);
    g.op(BuiltinOp::QUANTIZE, &[a], DType::I8, &[]);
    assert!(Engine::new(&g.m).is_err());
}

fn csr(seg: &[i32], idx: &[i32]) -> DimMetadata {
    DimMetadata::SparseCsr { segments: Some(SparseIndex::I32(seg.to_vec())), indices: Some(SparseIndex::I32(idx.to_vec())) }
}

/// A DENSIFY model over a sparse float constant of dense `shape`.
fn densify_model(shape: &[usize], values: &[f32], sp: Sparsity) -> G {
    let mut g = G::new();
    let c = g.cf(shape, values);
    g.sg().tensors[c].sparsity = Some(sp);
    g.op(BuiltinOp::DENSIFY, &[c], DType::F32, &[]);
    g
}

#[test]
fn densify_csr() {
    // [[0, 5, 0, 0], [0, 0, 0, 0], [7, 0, 0, 9]]
    let sp = Sparsity {
        traversal_order: vec![0, 1],
        block_map: None,
        dim_metadata: vec![DimMetadata::Dense { size: 3 }, csr(&[0, 1, 1, 3], &[1, 0, 3])],
    };
    let out = densify_model(&[3, 4], &[5.0, 7.0, 9.0], sp.clone()).run(vec![]).unwrap();
    assert_eq!(out[0].shape, vec![3, 4]);
    assert_eq!(floats(&out[0]), &[0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0, 0.0, 9.0]);
    // Column-major traversal: order [1, 0], dim 1 dense, dim 0 sparse.
    let sp_t = Sparsity {
        traversal_order: vec![1, 0],
        block_map: None,
        dim_metadata: vec![DimMetadata::Dense { size: 4 }, csr(&[0, 1, 2, 2, 3], &[2, 0, 2])],
    };
    let out = densify_model(&[3, 4], &[7.0, 5.0, 9.0], sp_t).run(vec![]).unwrap();
    assert_eq!(floats(&out[0]), &[0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0, 0.0, 9.0]);
    // uint8 index vectors work the same.
    let sp_u8 = Sparsity {
        traversal_order: vec![0, 1],
        block_map: None,
        dim_metadata: vec![
            DimMetadata::Dense { size: 3 },
            DimMetadata::SparseCsr { segments: Some(SparseIndex::U8(vec![0, 1, 1, 3])), indices: Some(SparseIndex::U16(vec![1, 0, 3])) },
        ],
    };
    let out = densify_model(&[3, 4], &[5.0, 7.0, 9.0], sp_u8).run(vec![]).unwrap();
    assert_eq!(floats(&out[0])[11], 9.0);
}

#[test]
fn densify_block_sparse() {
    // 4x4 with 2x2 blocks; non-zero blocks (0,1) and (1,0):
    // [[0 0 1 2], [0 0 3 4], [5 6 0 0], [7 8 0 0]]
    let sp = Sparsity {
        traversal_order: vec![0, 1, 2, 3],
        block_map: Some(vec![0, 1]),
        dim_metadata: vec![
            DimMetadata::Dense { size: 2 },
            csr(&[0, 1, 2], &[1, 0]),
            DimMetadata::Dense { size: 2 },
            DimMetadata::Dense { size: 2 },
        ],
    };
    let out = densify_model(&[4, 4], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], sp).run(vec![]).unwrap();
    assert_eq!(out[0].shape, vec![4, 4]);
    assert_eq!(
        floats(&out[0]),
        &[0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 7.0, 8.0, 0.0, 0.0]
    );
    // Blocks over dim 1 only (1x2 blocks, as the converter makes for FC
    // weights): [[0 0 1 2], [3 4 0 0]]
    let sp = Sparsity {
        traversal_order: vec![0, 1, 2],
        block_map: Some(vec![1]),
        dim_metadata: vec![DimMetadata::Dense { size: 2 }, csr(&[0, 1, 2], &[1, 0]), DimMetadata::Dense { size: 2 }],
    };
    let out = densify_model(&[2, 4], &[1.0, 2.0, 3.0, 4.0], sp).run(vec![]).unwrap();
    assert_eq!(floats(&out[0]), &[0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
}

#[test]
fn densify_rejects_malformed_sparsity() {
    let good = Sparsity {
        traversal_order: vec![0, 1],
        block_map: None,
        dim_metadata: vec![DimMetadata::Dense { size: 3 }, csr(&[0, 1, 1, 3], &[1, 0, 3])],
    };
    let vals = [5.0, 7.0, 9.0];
    let mut bad = Vec::new();
    let mut s = good.clone();
    s.dim_metadata[1] = csr(&[0, 1, 1, 3], &[1, 0, 4]); // index past the dim
    bad.push((s, 3));
    let mut s = good.clone();
    s.dim_metadata[1] = csr(&[0, 1, 1, 9], &[1, 0, 3]); // segment past the indices
    bad.push((s, 3));
    let mut s = good.clone();
    s.dim_metadata[1] = csr(&[0, 2, 1, 3], &[1, 0, 3]); // decreasing segments
    bad.push((s, 3));
    let mut s = good.clone();
    s.dim_metadata[1] = csr(&[0, 1], &[1, 0, 3]); // too few segments
    bad.push((s, 3));
    let mut s = good.clone();
    s.dim_metadata[1] = csr(&[-1, 1, 1, 3], &[1, 0, 3]); // negative segment
    bad.push((s, 3));
    let mut s = good.clone();
    s.dim_metadata[0] = DimMetadata::Dense { size: 7 }; // wrong dense size
    bad.push((s, 3));
    let mut s = good.clone();
    s.traversal_order = vec![0, 2]; // not a permutation
    bad.push((s, 3));
    let mut s = good.clone();
    s.traversal_order = vec![0];
    bad.push((s, 3));
    let mut s = good.clone();
    s.dim_metadata.pop();
    bad.push((s, 3));
    let mut s = good.clone();
    s.block_map = Some(vec![3]); // block dim out of range
    bad.push((s, 3));
    let mut s = good.clone();
    s.dim_metadata[1] = DimMetadata::SparseCsr { segments: None, indices: Some(SparseIndex::I32(vec![1])) };
    bad.push((s, 3));
    bad.push((good.clone(), 2)); // fewer stored values than addressed
    bad.push((good.clone(), 4)); // more stored values than addressed
    // Block size that does not divide the dim.
    let s = Sparsity {
        traversal_order: vec![0, 1, 2],
        block_map: Some(vec![1]),
        dim_metadata: vec![DimMetadata::Dense { size: 3 }, csr(&[0, 1, 1, 1], &[0]), DimMetadata::Dense { size: 3 }],
    };
    bad.push((s, 3));
    for (i, (s, n)) in bad.into_iter().enumerate() {
        let g = densify_model(&[3, 4], &[5.0, 7.0, 9.0, 1.0][..n], s);
        let e = expect_err(&g, vec![]);
        assert!(e.contains("DENSIFY") || e.contains("sparsity"), "case {i}: {e}");
    }
    let _ = vals;
    // A non-sparse input cannot be densified.
    let mut g = G::new();
    let c = g.cf(&[2], &[1.0, 2.0]);
    g.op(BuiltinOp::DENSIFY, &[c], DType::F32, &[]);
    assert!(Engine::new(&g.m).is_err());
}

// ------------------------------------------------------------ LiteRT fixtures

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models").join(name)
}

/// Run a committed fixture model on its stored input and compare with the
/// stored LiteRT (BUILTIN_REF) outputs within 1e-4 relative / 1e-5 absolute.
fn check_fixture(stem: &str) {
    use modelpress::formats::npy;
    let model = modelpress::load(&std::fs::read(fixture(&format!("{stem}.tflite"))).unwrap()).unwrap();
    let mut engine = Engine::new(&model).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let mut inputs = Vec::new();
    for i in 0.. {
        let Ok(b) = std::fs::read(fixture(&format!("{stem}.input{i}.npy"))) else { break };
        inputs.push(npy::read(&b).unwrap());
    }
    let got = engine.run(inputs).unwrap_or_else(|e| panic!("{stem}: {e}"));
    for (k, g) in got.iter().enumerate() {
        let want = npy::read(&std::fs::read(fixture(&format!("{stem}.output{k}.npy"))).unwrap()).unwrap();
        assert_eq!(g.shape, want.shape, "{stem} output {k}");
        let (g, w) = (floats(g), floats(&want));
        for (i, (&a, &b)) in g.iter().zip(w).enumerate() {
            assert!((a - b).abs() <= 1e-5 + 1e-4 * b.abs(), "{stem} output {k}[{i}]: {a} vs LiteRT {b}");
        }
    }
}

#[test]
fn fixture_float16_weights() {
    check_fixture("weights_float16");
    check_fixture("c_ptq_float16");
}

#[test]
fn fixture_int8_weights_dequantize() {
    check_fixture("weights_int8_dequant");
}

#[test]
fn fixture_sparse_densify() {
    check_fixture("sparse_densify");
    check_fixture("digits_prune80_sparse");
}
