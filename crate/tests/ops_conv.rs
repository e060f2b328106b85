//! Convolution-family float ops (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
//! TRANSPOSE_CONV, BATCH_MATMUL, pools, resizes, depth/space, pads) on
//! small hand-built IR models, against naive reference loops written here
//! from TFLite's reference-kernel semantics; plus the committed LiteRT
//! fixtures (`tests/fixtures/models/ops_*.tflite`, BUILTIN_REF outputs) and
//! malformed-model checks (errors, never panics).

use std::path::PathBuf;

use modelpress::engine::{Engine, Value};
use modelpress::ir::{AttrValue, BuiltinOp, Buffer, DType, Model, Op, OpKind, OptionsTable, Subgraph, Tensor};

// ------------------------------------------------------------ building models

struct G {
    m: Model,
}

impl G {
    fn new() -> G {
        let m = Model {
            version: 3,
            subgraphs: vec![Subgraph::default()],
            buffers: vec![Buffer::default()],
            ..Default::default()
        };
        G { m }
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
    fn input(&mut self, shape: &[usize]) -> usize {
        let t = self.tensor(DType::F32, shape);
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
    /// Add an op with one float output (a graph output); returns the output id.
    fn op(&mut self, code: BuiltinOp, inputs: Vec<Option<usize>>, table: &str, attrs: &[(&str, AttrValue)]) -> usize {
        let out = self.tensor(DType::F32, &[]);
        let mut op = Op::new(OpKind::Builtin(code), inputs, vec![out]);
        let mut t = OptionsTable::new(table);
        for (k, v) in attrs {
            t = t.with(k, v.clone());
        }
        op.options = Some(t);
        self.sg().ops.push(op);
        self.sg().outputs.push(out);
        out
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

/// Deterministic values in [-1, 1).
fn data(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            ((s.wrapping_mul(0x2545F4914F6CDD1D) >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn fval(shape: &[usize], v: Vec<f32>) -> Value {
    Value::f32(shape.to_vec(), v).unwrap()
}

#[track_caller]
fn assert_close(got: &Value, shape: &[usize], want: &[f32], what: &str) {
    assert_eq!(got.shape, shape, "{what}: shape");
    let g = got.as_f32().expect("float output");
    assert_eq!(g.len(), want.len(), "{what}: length");
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= 1e-5 + 1e-4 * b.abs(), "{what}: element {i}: got {a}, want {b}");
    }
}

fn act(x: f32, code: i64) -> f32 {
    match code {
        0 => x,
        1 => x.max(0.0),
        2 => x.clamp(-1.0, 1.0),
        3 => x.clamp(0.0, 6.0),
        // LiteRT's float kernels leave a fused TANH unapplied.
        4 => x,
        _ => unreachable!(),
    }
}

/// (output size, leading pad) per TFLite: SAME = ceil(in/s), VALID =
/// (in - eff)/s + 1; pad = max(0, (out-1)*s + eff - in) / 2.
fn geom(same: bool, input: usize, k: usize, s: usize, d: usize) -> (usize, i64) {
    let eff = (k - 1) * d + 1;
    let out = if same { input.div_ceil(s) } else { (input - eff) / s + 1 };
    let total = ((out - 1) * s + eff) as i64 - input as i64;
    (out, total.max(0) / 2)
}

// ------------------------------------------------------------ CONV_2D

struct ConvCase {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    o: usize,
    kh: usize,
    kw: usize,
    groups: usize,
    s: (usize, usize),
    d: (usize, usize),
    same: bool,
    bias: bool,
    act: i64,
}

#[allow(clippy::too_many_arguments)]
fn conv_ref(cc: &ConvCase, x: &[f32], f: &[f32], b: Option<&[f32]>) -> (Vec<usize>, Vec<f32>) {
    let (oh, pt) = geom(cc.same, cc.h, cc.kh, cc.s.0, cc.d.0);
    let (ow, pl) = geom(cc.same, cc.w, cc.kw, cc.s.1, cc.d.1);
    let ig = cc.c / cc.groups;
    let og = cc.o / cc.groups;
    let mut out = vec![0.0; cc.n * oh * ow * cc.o];
    for bb in 0..cc.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for oc in 0..cc.o {
                    let g = oc / og;
                    let mut acc = 0.0f32;
                    for ky in 0..cc.kh {
                        for kx in 0..cc.kw {
                            for ic in 0..ig {
                                let iy = (oy * cc.s.0 + ky * cc.d.0) as i64 - pt;
                                let ix = (ox * cc.s.1 + kx * cc.d.1) as i64 - pl;
                                if iy < 0 || ix < 0 || iy >= cc.h as i64 || ix >= cc.w as i64 {
                                    continue;
                                }
                                let xv = x[((bb * cc.h + iy as usize) * cc.w + ix as usize) * cc.c + g * ig + ic];
                                let fv = f[((oc * cc.kh + ky) * cc.kw + kx) * ig + ic];
                                acc += xv * fv;
                            }
                        }
                    }
                    let bv = b.map_or(0.0, |b| b[oc]);
                    out[((bb * oh + oy) * ow + ox) * cc.o + oc] = act(acc + bv, cc.act);
                }
            }
        }
    }
    (vec![cc.n, oh, ow, cc.o], out)
}

fn conv_attrs(cc: &ConvCase) -> Vec<(&'static str, AttrValue)> {
    vec![
        ("padding", int(if cc.same { 0 } else { 1 })),
        ("stride_h", int(cc.s.0 as i64)),
        ("stride_w", int(cc.s.1 as i64)),
        ("dilation_h_factor", int(cc.d.0 as i64)),
        ("dilation_w_factor", int(cc.d.1 as i64)),
        ("fused_activation_function", int(cc.act)),
    ]
}

#[test]
fn conv2d_matches_naive() {
    #[rustfmt::skip]
    let cases = [
        ConvCase { n: 1, h: 7, w: 9, c: 3, o: 5, kh: 3, kw: 3, groups: 1, s: (1, 1), d: (1, 1), same: true, bias: true, act: 1 },
        ConvCase { n: 1, h: 7, w: 9, c: 3, o: 5, kh: 3, kw: 3, groups: 1, s: (2, 2), d: (1, 1), same: true, bias: false, act: 0 },
        ConvCase { n: 2, h: 8, w: 8, c: 4, o: 6, kh: 3, kw: 2, groups: 1, s: (2, 1), d: (1, 1), same: false, bias: true, act: 3 },
        ConvCase { n: 1, h: 9, w: 7, c: 2, o: 3, kh: 3, kw: 3, groups: 1, s: (1, 1), d: (2, 2), same: true, bias: true, act: 2 },
        ConvCase { n: 1, h: 9, w: 7, c: 2, o: 3, kh: 3, kw: 3, groups: 1, s: (1, 2), d: (2, 1), same: false, bias: true, act: 4 },
        ConvCase { n: 1, h: 10, w: 10, c: 3, o: 4, kh: 5, kw: 5, groups: 1, s: (3, 3), d: (1, 1), same: true, bias: true, act: 0 },
        // pointwise (no im2col), odd channel counts, batch 2
        ConvCase { n: 2, h: 5, w: 5, c: 17, o: 23, kh: 1, kw: 1, groups: 1, s: (1, 1), d: (1, 1), same: true, bias: true, act: 3 },
        ConvCase { n: 1, h: 5, w: 6, c: 8, o: 5, kh: 1, kw: 1, groups: 1, s: (2, 2), d: (1, 1), same: false, bias: false, act: 1 },
        // grouped: 6 input channels, filter in-channels 2 => 3 groups
        ConvCase { n: 1, h: 6, w: 5, c: 6, o: 9, kh: 3, kw: 3, groups: 3, s: (1, 1), d: (1, 1), same: true, bias: true, act: 0 },
        ConvCase { n: 2, h: 5, w: 5, c: 8, o: 4, kh: 2, kw: 2, groups: 4, s: (2, 2), d: (1, 1), same: false, bias: false, act: 1 },
        // K = 3*3*40 = 360 > one depth block; 121 rows > one row block; odd o
        ConvCase { n: 1, h: 11, w: 11, c: 40, o: 37, kh: 3, kw: 3, groups: 1, s: (1, 1), d: (1, 1), same: true, bias: true, act: 0 },
        // filter as large as the input, VALID => 1x1 output
        ConvCase { n: 1, h: 3, w: 4, c: 2, o: 3, kh: 3, kw: 4, groups: 1, s: (1, 1), d: (1, 1), same: false, bias: true, act: 0 },
    ];
    for (i, cc) in cases.iter().enumerate() {
        let ig = cc.c / cc.groups;
        let x = data(cc.n * cc.h * cc.w * cc.c, 1 + i as u64);
        let f = data(cc.o * cc.kh * cc.kw * ig, 100 + i as u64);
        let b = data(cc.o, 200 + i as u64);
        let mut g = G::new();
        let xi = g.input(&[cc.n, cc.h, cc.w, cc.c]);
        let fi = g.cf(&[cc.o, cc.kh, cc.kw, ig], &f);
        let bi = cc.bias.then(|| g.cf(&[cc.o], &b));
        g.op(BuiltinOp::CONV_2D, vec![Some(xi), Some(fi), bi], "Conv2DOptions", &conv_attrs(cc));
        let out = g.run(vec![fval(&[cc.n, cc.h, cc.w, cc.c], x.clone())]).unwrap();
        let (shape, want) = conv_ref(cc, &x, &f, cc.bias.then_some(&b[..]));
        assert_close(&out[0], &shape, &want, &format!("conv case {i}"));
    }
}

#[test]
fn conv2d_with_non_constant_filter() {
    let cc = ConvCase { n: 1, h: 4, w: 5, c: 3, o: 2, kh: 2, kw: 2, groups: 1, s: (1, 1), d: (1, 1), same: true, bias: true, act: 0 };
    let x = data(60, 1);
    let f = data(24, 2);
    let b = data(2, 3);
    let mut g = G::new();
    let xi = g.input(&[1, 4, 5, 3]);
    let fi = g.input(&[2, 2, 2, 3]);
    let bi = g.cf(&[2], &b);
    g.op(BuiltinOp::CONV_2D, vec![Some(xi), Some(fi), Some(bi)], "Conv2DOptions", &conv_attrs(&cc));
    let out = g.run(vec![fval(&[1, 4, 5, 3], x.clone()), fval(&[2, 2, 2, 3], f.clone())]).unwrap();
    let (shape, want) = conv_ref(&cc, &x, &f, Some(&b));
    assert_close(&out[0], &shape, &want, "conv with input filter");
}

// ------------------------------------------------------------ DEPTHWISE_CONV_2D

#[test]
fn depthwise_matches_naive() {
    // (h, w, c, mult, k, stride, dilation, same, bias, act)
    #[rustfmt::skip]
    let cases = [
        (7, 7, 4, 1, 3, 1, 1, true, true, 1),
        (8, 9, 3, 1, 3, 2, 1, true, false, 3),
        (9, 8, 3, 2, 3, 1, 2, true, true, 0),
        (9, 9, 2, 3, 3, 2, 1, false, true, 2),
        (10, 7, 5, 2, 2, 1, 2, false, false, 4),
        (6, 6, 16, 1, 5, 2, 1, true, true, 0),
        (1, 1, 3, 1, 3, 1, 1, true, true, 1),
    ];
    for (i, &(h, w, c, m, k, s, d, same, has_b, a)) in cases.iter().enumerate() {
        let n = if i == 2 { 2 } else { 1 };
        let oc = c * m;
        let x = data(n * h * w * c, 10 + i as u64);
        let f = data(k * k * oc, 20 + i as u64);
        let b = data(oc, 30 + i as u64);
        let mut g = G::new();
        let xi = g.input(&[n, h, w, c]);
        let fi = g.cf(&[1, k, k, oc], &f);
        let bi = has_b.then(|| g.cf(&[oc], &b));
        g.op(
            BuiltinOp::DEPTHWISE_CONV_2D,
            vec![Some(xi), Some(fi), bi],
            "DepthwiseConv2DOptions",
            &[
                ("padding", int(if same { 0 } else { 1 })),
                ("stride_h", int(s as i64)),
                ("stride_w", int(s as i64)),
                ("depth_multiplier", int(m as i64)),
                ("dilation_h_factor", int(d as i64)),
                ("dilation_w_factor", int(d as i64)),
                ("fused_activation_function", int(a)),
            ],
        );
        let out = g.run(vec![fval(&[n, h, w, c], x.clone())]).unwrap();
        let (oh, pt) = geom(same, h, k, s, d);
        let (ow, pl) = geom(same, w, k, s, d);
        let mut want = vec![0.0; n * oh * ow * oc];
        for bb in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ic in 0..c {
                        for mm in 0..m {
                            let o = ic * m + mm;
                            let mut acc = 0.0f32;
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * s + ky * d) as i64 - pt;
                                    let ix = (ox * s + kx * d) as i64 - pl;
                                    if iy >= 0 && ix >= 0 && iy < h as i64 && ix < w as i64 {
                                        acc += x[((bb * h + iy as usize) * w + ix as usize) * c + ic] * f[(ky * k + kx) * oc + o];
                                    }
                                }
                            }
                            let bv = if has_b { b[o] } else { 0.0 };
                            want[((bb * oh + oy) * ow + ox) * oc + o] = act(acc + bv, a);
                        }
                    }
                }
            }
        }
        assert_close(&out[0], &[n, oh, ow, oc], &want, &format!("depthwise case {i}"));
    }
}

// ------------------------------------------------------------ FULLY_CONNECTED

#[test]
fn fully_connected_matches_naive() {
    // (input shape, units, keep_num_dims, bias, act)
    let cases: Vec<(Vec<usize>, usize, bool, bool, i64)> = vec![
        (vec![1, 16], 10, false, true, 1),
        (vec![5, 33], 7, false, false, 0),
        (vec![2, 3, 8], 5, true, true, 3),
        (vec![2, 3, 8], 5, false, true, 2),
        (vec![1, 2, 2, 6], 4, false, true, 4), // flattened to [4, 6]
        (vec![3, 1000], 17, false, true, 0),
        (vec![24], 3, false, false, 0), // rank 1, depth 8 => 3 rows
    ];
    for (i, (xs, units, keep, has_b, a)) in cases.into_iter().enumerate() {
        let depth = if i == 6 { 8 } else { *xs.last().unwrap() };
        let total: usize = xs.iter().product();
        let batch = total / depth;
        let x = data(total, 40 + i as u64);
        let wgt = data(units * depth, 50 + i as u64);
        let b = data(units, 60 + i as u64);
        let mut g = G::new();
        let xi = g.input(&xs);
        let wi = g.cf(&[units, depth], &wgt);
        let bi = has_b.then(|| g.cf(&[units], &b));
        g.op(
            BuiltinOp::FULLY_CONNECTED,
            vec![Some(xi), Some(wi), bi],
            "FullyConnectedOptions",
            &[("fused_activation_function", int(a)), ("keep_num_dims", boolean(keep))],
        );
        let out = g.run(vec![fval(&xs, x.clone())]).unwrap();
        let mut want = vec![0.0; batch * units];
        for r in 0..batch {
            for u in 0..units {
                let mut acc = 0.0f32;
                for k in 0..depth {
                    acc += x[r * depth + k] * wgt[u * depth + k];
                }
                want[r * units + u] = act(acc + if has_b { b[u] } else { 0.0 }, a);
            }
        }
        let shape: Vec<usize> = if keep { xs[..xs.len() - 1].iter().copied().chain([units]).collect() } else { vec![batch, units] };
        assert_close(&out[0], &shape, &want, &format!("fc case {i}"));
    }
}

// ------------------------------------------------------------ TRANSPOSE_CONV

#[test]
fn transpose_conv_matches_naive() {
    // (in h, in w, ic, oc, kh, kw, stride, out h, out w, same, bias, act)
    #[rustfmt::skip]
    let cases = [
        (4, 4, 3, 2, 3, 3, 2, 8, 8, true, true, 0),
        (4, 5, 3, 2, 3, 3, 2, 7, 9, true, false, 1),
        (3, 3, 2, 4, 3, 3, 2, 7, 7, false, true, 0),
        (3, 4, 2, 3, 2, 3, 1, 4, 6, false, true, 3),
        (5, 5, 4, 3, 3, 3, 1, 5, 5, true, true, 0),
        (2, 3, 5, 2, 4, 4, 3, 6, 9, true, false, 0),
    ];
    for (i, &(h, w, ic, oc, kh, kw, s, oh, ow, same, has_b, a)) in cases.iter().enumerate() {
        let n = if i == 0 { 2 } else { 1 };
        let x = data(n * h * w * ic, 70 + i as u64);
        let f = data(oc * kh * kw * ic, 80 + i as u64);
        let b = data(oc, 90 + i as u64);
        let mut g = G::new();
        let shp = g.ci(&[4], &[n as i32, oh as i32, ow as i32, oc as i32]);
        let fi = g.cf(&[oc, kh, kw, ic], &f);
        let xi = g.input(&[n, h, w, ic]);
        let bi = has_b.then(|| g.cf(&[oc], &b));
        g.op(
            BuiltinOp::TRANSPOSE_CONV,
            vec![Some(shp), Some(fi), Some(xi), bi],
            "TransposeConvOptions",
            &[
                ("padding", int(if same { 0 } else { 1 })),
                ("stride_h", int(s as i64)),
                ("stride_w", int(s as i64)),
                ("fused_activation_function", int(a)),
            ],
        );
        let out = g.run(vec![fval(&[n, h, w, ic], x.clone())]).unwrap();
        // TFLite: padding computed as for a forward conv over the output.
        let tpad = |o: usize, k: usize| -> i64 {
            let fwd = if same { o.div_ceil(s) } else { (o + s - k) / s };
            (((fwd as i64 - 1) * s as i64 + k as i64 - o as i64).max(0)) / 2
        };
        let (pt, pl) = (tpad(oh, kh), tpad(ow, kw));
        let mut want = vec![0.0f32; n * oh * ow * oc];
        for bb in 0..n {
            for iy in 0..h {
                for ix in 0..w {
                    for c in 0..ic {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                for o in 0..oc {
                                    let y = (iy * s + ky) as i64 - pt;
                                    let xx = (ix * s + kx) as i64 - pl;
                                    if y >= 0 && xx >= 0 && y < oh as i64 && xx < ow as i64 {
                                        want[((bb * oh + y as usize) * ow + xx as usize) * oc + o] +=
                                            x[((bb * h + iy) * w + ix) * ic + c] * f[((o * kh + ky) * kw + kx) * ic + c];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for (j, v) in want.iter_mut().enumerate() {
            *v = act(*v + if has_b { b[j % oc] } else { 0.0 }, a);
        }
        assert_close(&out[0], &[n, oh, ow, oc], &want, &format!("transpose conv case {i}"));
    }
}

// ------------------------------------------------------------ BATCH_MATMUL

#[test]
fn batch_matmul_matches_naive() {
    // (lhs shape, rhs shape, adj_x, adj_y, lhs const, rhs const)
    type Case = (Vec<usize>, Vec<usize>, bool, bool, bool, bool);
    let cases: Vec<Case> = vec![
        (vec![3, 4], vec![4, 5], false, false, false, false),
        (vec![2, 3, 4], vec![2, 4, 5], false, false, false, false),
        (vec![2, 4, 3], vec![2, 4, 5], true, false, false, true),
        (vec![2, 3, 4], vec![2, 5, 4], false, true, false, true),
        (vec![2, 4, 3], vec![2, 5, 4], true, true, false, false),
        (vec![2, 1, 6, 7], vec![3, 7, 9], false, false, false, true), // broadcast -> [2,3,6,9]
        (vec![1, 5, 3], vec![4, 3, 2], false, false, true, false),    // constant lhs
        (vec![2, 17, 33], vec![33, 19], false, false, false, true),   // rank 3 x rank 2
    ];
    for (i, (ls, rs, ax, ay, lc, rc)) in cases.into_iter().enumerate() {
        let l = data(ls.iter().product(), 300 + i as u64);
        let r = data(rs.iter().product(), 400 + i as u64);
        let mut g = G::new();
        let mut feeds = vec![];
        let li = if lc {
            g.cf(&ls, &l)
        } else {
            feeds.push(fval(&ls, l.clone()));
            g.input(&ls)
        };
        let ri = if rc {
            g.cf(&rs, &r)
        } else {
            feeds.push(fval(&rs, r.clone()));
            g.input(&rs)
        };
        g.op(BuiltinOp::BATCH_MATMUL, vec![Some(li), Some(ri)], "BatchMatMulOptions", &[("adj_x", boolean(ax)), ("adj_y", boolean(ay))]);
        let out = g.run(feeds).unwrap();
        // naive with numpy-style broadcasting
        let (lr, lcn) = (ls[ls.len() - 2], ls[ls.len() - 1]);
        let (rr, rcn) = (rs[rs.len() - 2], rs[rs.len() - 1]);
        let (m, k) = if ax { (lcn, lr) } else { (lr, lcn) };
        let nn = if ay { rr } else { rcn };
        let rank = ls.len().max(rs.len()) - 2;
        let pad = |s: &[usize]| -> Vec<usize> {
            let b = &s[..s.len() - 2];
            std::iter::repeat_n(1, rank - b.len()).chain(b.iter().copied()).collect()
        };
        let (lb, rb) = (pad(&ls), pad(&rs));
        let ob: Vec<usize> = lb.iter().zip(&rb).map(|(&a, &b)| a.max(b)).collect();
        let nb: usize = ob.iter().product();
        let mut want = vec![];
        for bi in 0..nb {
            let mut rem = bi;
            let mut idx = vec![0; rank];
            for d in (0..rank).rev() {
                idx[d] = rem % ob[d];
                rem /= ob[d];
            }
            let flat = |dims: &[usize]| dims.iter().zip(&idx).fold(0, |acc, (&dd, &ii)| acc * dd + if dd == 1 { 0 } else { ii });
            let (lo, ro) = (flat(&lb) * lr * lcn, flat(&rb) * rr * rcn);
            for i2 in 0..m {
                for j in 0..nn {
                    let mut acc = 0.0f32;
                    for kk in 0..k {
                        let a = if ax { l[lo + kk * lcn + i2] } else { l[lo + i2 * lcn + kk] };
                        let b = if ay { r[ro + j * rcn + kk] } else { r[ro + kk * rcn + j] };
                        acc += a * b;
                    }
                    want.push(acc);
                }
            }
        }
        let shape: Vec<usize> = ob.iter().copied().chain([m, nn]).collect();
        assert_close(&out[0], &shape, &want, &format!("batch matmul case {i}"));
    }
}

// ------------------------------------------------------------ pooling

#[test]
fn pools_match_naive() {
    // (h, w, c, fh, fw, stride, same, act)
    #[rustfmt::skip]
    let cases = [
        (7, 7, 3, 3, 3, 2, true, 0),
        (8, 8, 4, 2, 2, 2, false, 0),
        (7, 9, 2, 3, 2, 1, true, 3),
        (5, 6, 5, 3, 3, 2, false, 1),
        (6, 5, 3, 4, 4, 3, true, 2),
        (4, 4, 2, 1, 1, 1, true, 4),
    ];
    for (i, &(h, w, c, fh, fw, s, same, a)) in cases.iter().enumerate() {
        let x = data(2 * h * w * c, 500 + i as u64);
        for (kind, code) in [("avg", BuiltinOp::AVERAGE_POOL_2D), ("max", BuiltinOp::MAX_POOL_2D)] {
            let mut g = G::new();
            let xi = g.input(&[2, h, w, c]);
            g.op(
                code,
                vec![Some(xi)],
                "Pool2DOptions",
                &[
                    ("padding", int(if same { 0 } else { 1 })),
                    ("stride_h", int(s as i64)),
                    ("stride_w", int(s as i64)),
                    ("filter_height", int(fh as i64)),
                    ("filter_width", int(fw as i64)),
                    ("fused_activation_function", int(a)),
                ],
            );
            let out = g.run(vec![fval(&[2, h, w, c], x.clone())]).unwrap();
            let (oh, pt) = geom(same, h, fh, s, 1);
            let (ow, pl) = geom(same, w, fw, s, 1);
            let mut want = vec![];
            for b in 0..2 {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..c {
                            let (mut sum, mut mx, mut cnt) = (0.0f32, f32::MIN, 0);
                            for ky in 0..fh {
                                for kx in 0..fw {
                                    let iy = (oy * s + ky) as i64 - pt;
                                    let ix = (ox * s + kx) as i64 - pl;
                                    if iy >= 0 && ix >= 0 && iy < h as i64 && ix < w as i64 {
                                        let v = x[((b * h + iy as usize) * w + ix as usize) * c + ch];
                                        sum += v;
                                        mx = mx.max(v);
                                        cnt += 1;
                                    }
                                }
                            }
                            want.push(act(if kind == "avg" { sum / cnt as f32 } else { mx }, a));
                        }
                    }
                }
            }
            assert_close(&out[0], &[2, oh, ow, c], &want, &format!("{kind} pool case {i}"));
        }
    }
}

// ------------------------------------------------------------ resize

fn resize_model(code: BuiltinOp, table: &str, shape: &[usize], size: (usize, usize), align: bool, half: bool) -> G {
    let mut g = G::new();
    let xi = g.input(shape);
    let si = g.ci(&[2], &[size.0 as i32, size.1 as i32]);
    g.op(code, vec![Some(xi), Some(si)], table, &[("align_corners", boolean(align)), ("half_pixel_centers", boolean(half))]);
    g
}

#[test]
fn resize_bilinear_matches_reference() {
    // Known values (TensorFlow): 2x2 [[1,2],[3,4]] -> 4x4.
    let x = fval(&[1, 2, 2, 1], vec![1.0, 2.0, 3.0, 4.0]);
    let g = resize_model(BuiltinOp::RESIZE_BILINEAR, "ResizeBilinearOptions", &[1, 2, 2, 1], (4, 4), false, false);
    #[rustfmt::skip]
    let plain = [1.0, 1.5, 2.0, 2.0, 2.0, 2.5, 3.0, 3.0, 3.0, 3.5, 4.0, 4.0, 3.0, 3.5, 4.0, 4.0];
    assert_close(&g.run(vec![x.clone()]).unwrap()[0], &[1, 4, 4, 1], &plain, "bilinear plain");
    let g = resize_model(BuiltinOp::RESIZE_BILINEAR, "ResizeBilinearOptions", &[1, 2, 2, 1], (4, 4), false, true);
    #[rustfmt::skip]
    let half = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
    assert_close(&g.run(vec![x.clone()]).unwrap()[0], &[1, 4, 4, 1], &half, "bilinear half pixel");
    let g = resize_model(BuiltinOp::RESIZE_BILINEAR, "ResizeBilinearOptions", &[1, 2, 2, 1], (3, 3), true, false);
    let align = [1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0];
    assert_close(&g.run(vec![x]).unwrap()[0], &[1, 3, 3, 1], &align, "bilinear align corners");

    // Random inputs, up and down, against TFLite's formula.
    for (i, &(h, w, oh, ow)) in [(5, 7, 11, 6), (8, 8, 3, 5), (3, 4, 3, 4), (6, 5, 1, 1)].iter().enumerate() {
        for (align, half) in [(false, false), (true, false), (false, true)] {
            let c = 3;
            let x = data(2 * h * w * c, 600 + i as u64);
            let g = resize_model(BuiltinOp::RESIZE_BILINEAR, "ResizeBilinearOptions", &[2, h, w, c], (oh, ow), align, half);
            let out = g.run(vec![fval(&[2, h, w, c], x.clone())]).unwrap();
            let scale = |i: usize, o: usize| {
                if align && o > 1 {
                    (i - 1) as f32 / (o - 1) as f32
                } else {
                    i as f32 / o as f32
                }
            };
            let civ = |v: usize, sc: f32, size: usize| {
                let s = if half { (v as f32 + 0.5) * sc - 0.5 } else { v as f32 * sc };
                let lo = (s.floor() as i64).max(0) as usize;
                let hi = (s.ceil() as i64).min(size as i64 - 1) as usize;
                (s, lo, hi)
            };
            let mut want = vec![];
            for b in 0..2 {
                for y in 0..oh {
                    let (iy, y0, y1) = civ(y, scale(h, oh), h);
                    for xx in 0..ow {
                        let (ix, x0, x1) = civ(xx, scale(w, ow), w);
                        for ch in 0..c {
                            let p = |yy: usize, xq: usize| x[((b * h + yy) * w + xq) * c + ch];
                            let (dy, dx) = (iy - y0 as f32, ix - x0 as f32);
                            want.push(
                                p(y0, x0) * (1.0 - dy) * (1.0 - dx)
                                    + p(y1, x0) * dy * (1.0 - dx)
                                    + p(y0, x1) * (1.0 - dy) * dx
                                    + p(y1, x1) * dy * dx,
                            );
                        }
                    }
                }
            }
            assert_close(&out[0], &[2, oh, ow, c], &want, &format!("bilinear {i} align={align} half={half}"));
        }
    }
    // Both flags: rejected as in TFLite.
    let g = resize_model(BuiltinOp::RESIZE_BILINEAR, "ResizeBilinearOptions", &[1, 2, 2, 1], (4, 4), true, true);
    assert!(g.run(vec![fval(&[1, 2, 2, 1], vec![0.0; 4])]).is_err());
}

#[test]
fn resize_nearest_matches_reference() {
    let x = fval(&[1, 1, 3, 1], vec![10.0, 20.0, 30.0]);
    // width 3 -> 5 (scale 0.6)
    let cases: [((bool, bool), [f32; 5]); 3] = [
        // floor(x * 0.6): 0,0,1,1,2
        ((false, false), [10.0, 10.0, 20.0, 20.0, 30.0]),
        // round(x * 0.5): 0,1(0.5 rounds away from zero),1,2(1.5),2
        ((true, false), [10.0, 20.0, 20.0, 30.0, 30.0]),
        // floor((x + 0.5) * 0.6): 0,0,1,2,2
        ((false, true), [10.0, 10.0, 20.0, 30.0, 30.0]),
    ];
    for ((align, half), want) in cases {
        let g = resize_model(BuiltinOp::RESIZE_NEAREST_NEIGHBOR, "ResizeNearestNeighborOptions", &[1, 1, 3, 1], (1, 5), align, half);
        assert_close(&g.run(vec![x.clone()]).unwrap()[0], &[1, 1, 5, 1], &want, &format!("nearest align={align} half={half}"));
    }
    for (i, &(h, w, oh, ow)) in [(5, 7, 11, 6), (8, 8, 3, 5), (4, 4, 4, 4), (7, 3, 1, 2)].iter().enumerate() {
        for (align, half) in [(false, false), (true, false), (false, true), (true, true)] {
            let c = 2;
            let x = data(h * w * c, 700 + i as u64);
            let g = resize_model(BuiltinOp::RESIZE_NEAREST_NEIGHBOR, "ResizeNearestNeighborOptions", &[1, h, w, c], (oh, ow), align, half);
            let out = g.run(vec![fval(&[1, h, w, c], x.clone())]).unwrap();
            let nn = |v: usize, i: usize, o: usize| {
                let sc = if align && o > 1 { (i - 1) as f32 / (o - 1) as f32 } else { i as f32 / o as f32 };
                let off = if half { 0.5 } else { 0.0 };
                let r = if align { ((v as f32 + off) * sc).round() } else { ((v as f32 + off) * sc).floor() };
                (r as i64).min(i as i64 - 1).max(0) as usize
            };
            let mut want = vec![];
            for y in 0..oh {
                for xx in 0..ow {
                    for ch in 0..c {
                        want.push(x[(nn(y, h, oh) * w + nn(xx, w, ow)) * c + ch]);
                    }
                }
            }
            assert_close(&out[0], &[1, oh, ow, c], &want, &format!("nearest {i} align={align} half={half}"));
        }
    }
}

// ------------------------------------------------------------ depth / space

#[test]
fn depth_space_round_trip_and_layout() {
    let (n, h, w, c, bs) = (2, 3, 2, 12, 2);
    let x = data(n * h * w * c, 800);
    let mut g = G::new();
    let xi = g.input(&[n, h, w, c]);
    g.op(BuiltinOp::DEPTH_TO_SPACE, vec![Some(xi)], "DepthToSpaceOptions", &[("block_size", int(bs as i64))]);
    let out = g.run(vec![fval(&[n, h, w, c], x.clone())]).unwrap();
    let oc = c / (bs * bs);
    let mut want = vec![0.0; x.len()];
    for b in 0..n {
        for y in 0..h * bs {
            for xx in 0..w * bs {
                for ch in 0..oc {
                    want[((b * h * bs + y) * w * bs + xx) * oc + ch] =
                        x[((b * h + y / bs) * w + xx / bs) * c + ((y % bs) * bs + xx % bs) * oc + ch];
                }
            }
        }
    }
    assert_close(&out[0], &[n, h * bs, w * bs, oc], &want, "depth_to_space");

    let mut g = G::new();
    let yi = g.input(&[n, h * bs, w * bs, oc]);
    g.op(BuiltinOp::SPACE_TO_DEPTH, vec![Some(yi)], "SpaceToDepthOptions", &[("block_size", int(bs as i64))]);
    let back = g.run(vec![out[0].clone()]).unwrap();
    assert_close(&back[0], &[n, h, w, c], &x, "space_to_depth inverts depth_to_space");

    // block 3 with odd channels
    let x = data(6 * 9 * 5, 801);
    let mut g = G::new();
    let xi = g.input(&[1, 6, 9, 5]);
    g.op(BuiltinOp::SPACE_TO_DEPTH, vec![Some(xi)], "SpaceToDepthOptions", &[("block_size", int(3))]);
    let out = g.run(vec![fval(&[1, 6, 9, 5], x.clone())]).unwrap();
    let mut want = vec![0.0; x.len()];
    for y in 0..6 {
        for xx in 0..9 {
            for ch in 0..5 {
                want[((y / 3) * 3 + xx / 3) * 45 + ((y % 3) * 3 + xx % 3) * 5 + ch] = x[(y * 9 + xx) * 5 + ch];
            }
        }
    }
    assert_close(&out[0], &[1, 2, 3, 45], &want, "space_to_depth block 3");
    // not divisible: error
    let mut g = G::new();
    let xi = g.input(&[1, 5, 9, 1]);
    g.op(BuiltinOp::SPACE_TO_DEPTH, vec![Some(xi)], "SpaceToDepthOptions", &[("block_size", int(3))]);
    assert!(g.run(vec![fval(&[1, 5, 9, 1], vec![0.0; 45])]).is_err());
}

// ------------------------------------------------------------ padding

fn pad_ref(x: &[f32], xs: &[usize], pads: &[(usize, usize)], f: &dyn Fn(usize, i64, usize) -> Option<usize>, value: f32) -> (Vec<usize>, Vec<f32>) {
    let os: Vec<usize> = xs.iter().zip(pads).map(|(&n, &(a, b))| n + a + b).collect();
    let total: usize = os.iter().product();
    let mut out = Vec::with_capacity(total);
    for flat in 0..total {
        let mut rem = flat;
        let mut src = Some(0usize);
        let mut idx = vec![0; os.len()];
        for d in (0..os.len()).rev() {
            idx[d] = rem % os[d];
            rem /= os[d];
        }
        for d in 0..os.len() {
            src = match (src, f(d, idx[d] as i64 - pads[d].0 as i64, xs[d])) {
                (Some(s), Some(i)) => Some(s * xs[d] + i),
                _ => None,
            };
        }
        out.push(src.map_or(value, |s| x[s]));
    }
    (os, out)
}

#[test]
fn pads_match_naive() {
    let xs = [2, 3, 4, 2];
    let x = data(48, 900);
    let pads = [(0usize, 1usize), (2, 1), (1, 3), (0, 0)];
    let flat_pads: Vec<i32> = pads.iter().flat_map(|&(a, b)| [a as i32, b as i32]).collect();
    let inside = |_d: usize, j: i64, n: usize| (j >= 0 && (j as usize) < n).then_some(j as usize);

    let mut g = G::new();
    let xi = g.input(&xs);
    let pi = g.ci(&[4, 2], &flat_pads);
    g.op(BuiltinOp::PAD, vec![Some(xi), Some(pi)], "PadOptions", &[]);
    let out = g.run(vec![fval(&xs, x.clone())]).unwrap();
    let (os, want) = pad_ref(&x, &xs, &pads, &inside, 0.0);
    assert_close(&out[0], &os, &want, "pad");

    let mut g = G::new();
    let xi = g.input(&xs);
    let pi = g.ci(&[4, 2], &flat_pads);
    let vi = g.cf(&[], &[-1.5]);
    g.op(BuiltinOp::PADV2, vec![Some(xi), Some(pi), Some(vi)], "PadV2Options", &[]);
    let out = g.run(vec![fval(&xs, x.clone())]).unwrap();
    let (os, want) = pad_ref(&x, &xs, &pads, &inside, -1.5);
    assert_close(&out[0], &os, &want, "padv2");

    // rank 1 and rank 2
    for (shape, p) in [(vec![5usize], vec![(2usize, 3usize)]), (vec![3, 2], vec![(1, 0), (0, 2)])] {
        let x = data(shape.iter().product(), 901);
        let fp: Vec<i32> = p.iter().flat_map(|&(a, b)| [a as i32, b as i32]).collect();
        let mut g = G::new();
        let xi = g.input(&shape);
        let pi = g.ci(&[shape.len(), 2], &fp);
        g.op(BuiltinOp::PAD, vec![Some(xi), Some(pi)], "PadOptions", &[]);
        let out = g.run(vec![fval(&shape, x.clone())]).unwrap();
        let (os, want) = pad_ref(&x, &shape, &p, &inside, 0.0);
        assert_close(&out[0], &os, &want, "pad small ranks");
    }

    for (mode, name) in [(0i64, "REFLECT"), (1, "SYMMETRIC")] {
        let pads = [(0usize, 1usize), (2, 1), (if mode == 0 { 3 } else { 4 }, 2), (1, 1)];
        let fp: Vec<i32> = pads.iter().flat_map(|&(a, b)| [a as i32, b as i32]).collect();
        let mirror = move |_d: usize, j: i64, n: usize| {
            let n = n as i64;
            let k = if j < 0 {
                if mode == 0 { -j } else { -j - 1 }
            } else if j >= n {
                if mode == 0 { 2 * n - 2 - j } else { 2 * n - 1 - j }
            } else {
                j
            };
            Some(k as usize)
        };
        let mut g = G::new();
        let xi = g.input(&xs);
        let pi = g.ci(&[4, 2], &fp);
        g.op(BuiltinOp::MIRROR_PAD, vec![Some(xi), Some(pi)], "MirrorPadOptions", &[("mode", int(mode))]);
        let out = g.run(vec![fval(&xs, x.clone())]).unwrap();
        let (os, want) = pad_ref(&x, &xs, &pads, &mirror, 0.0);
        assert_close(&out[0], &os, &want, name);
    }
    // 1-D hand check: [1,2,3] pad (2,2)
    for (mode, want) in [(0i64, [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]), (1, [2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 2.0])] {
        let mut g = G::new();
        let xi = g.input(&[3]);
        let pi = g.ci(&[1, 2], &[2, 2]);
        g.op(BuiltinOp::MIRROR_PAD, vec![Some(xi), Some(pi)], "MirrorPadOptions", &[("mode", int(mode))]);
        let out = g.run(vec![fval(&[3], vec![1.0, 2.0, 3.0])]).unwrap();
        assert_close(&out[0], &[7], &want, "mirror pad 1-D");
    }
    // REFLECT padding as large as the dim is invalid
    let mut g = G::new();
    let xi = g.input(&[3]);
    let pi = g.ci(&[1, 2], &[3, 0]);
    g.op(BuiltinOp::MIRROR_PAD, vec![Some(xi), Some(pi)], "MirrorPadOptions", &[("mode", int(0))]);
    assert!(g.run(vec![fval(&[3], vec![1.0, 2.0, 3.0])]).is_err());
}

// ------------------------------------------------------------ errors, not panics

#[test]
fn int8_weights_on_float_activations_run_as_hybrid_ops() {
    // LiteRT runs these with its hybrid kernels; so does the int8 family.
    // The result must equal the float op on the dequantized weights (within
    // the per-run input quantization error of the hybrid kernels).
    for code in [BuiltinOp::CONV_2D, BuiltinOp::DEPTHWISE_CONV_2D, BuiltinOp::FULLY_CONNECTED] {
        let (wshape, n): (Vec<usize>, usize) = match code {
            BuiltinOp::FULLY_CONNECTED => (vec![4, 18], 72),
            BuiltinOp::DEPTHWISE_CONV_2D => (vec![1, 3, 3, 2], 18),
            _ => (vec![4, 3, 3, 2], 72),
        };
        let table = match code {
            BuiltinOp::FULLY_CONNECTED => "FullyConnectedOptions",
            BuiltinOp::DEPTHWISE_CONV_2D => "DepthwiseConv2DOptions",
            _ => "Conv2DOptions",
        };
        let x: Vec<f32> = (0..18).map(|i| (i as f32 * 0.37).sin()).collect();
        let run = |int8: bool| {
            let mut g = G::new();
            let xi = g.input(&[1, 3, 3, 2]);
            let wi = if int8 {
                let wi = g.raw(DType::I8, &wshape, vec![3u8; n]);
                g.m.subgraphs[0].tensors[wi].quant = Some(modelpress::ir::QuantParams::per_tensor(0.1, 0));
                wi
            } else {
                g.cf(&wshape, &vec![0.3; n])
            };
            g.op(code, vec![Some(xi), Some(wi), None], table, &[]);
            let mut e = Engine::new(&g.m).unwrap_or_else(|e| panic!("{code:?}: {e}"));
            let y = e.run(vec![Value::f32(vec![1, 3, 3, 2], x.clone()).unwrap()]).unwrap();
            y[0].as_f32().unwrap().to_vec()
        };
        let (h, f) = (run(true), run(false));
        assert_eq!(h.len(), f.len());
        for (a, b) in h.iter().zip(&f) {
            assert!((a - b).abs() <= 0.02 * b.abs().max(1.0), "{code:?}: hybrid {a} vs float {b}");
        }
        // int8 weights without quantization parameters cannot be interpreted.
        let mut g = G::new();
        let xi = g.input(&[1, 3, 3, 2]);
        let wi = g.raw(DType::I8, &wshape, vec![3u8; n]);
        g.op(code, vec![Some(xi), Some(wi), None], table, &[]);
        assert!(Engine::new(&g.m).is_err(), "{code:?}: int8 weights without scales accepted");
    }
    // float16 bias likewise
    let mut g = G::new();
    let xi = g.input(&[1, 2, 2, 1]);
    let wi = g.cf(&[1, 1, 1, 1], &[1.0]);
    let bi = g.raw(DType::F16, &[1], vec![0, 0x3c]);
    g.op(BuiltinOp::CONV_2D, vec![Some(xi), Some(wi), Some(bi)], "Conv2DOptions", &[]);
    assert!(Engine::new(&g.m).is_err());
}

/// Run a one-op model; it must return (Ok or Err) without panicking.
fn no_panic(g: &G, inputs: Vec<Value>) -> bool {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match Engine::new(&g.m) {
        Ok(mut e) => e.run(inputs).is_ok(),
        Err(_) => false,
    }));
    r.expect("op panicked")
}

#[test]
fn malformed_shapes_are_errors() {
    let x = || fval(&[1, 4, 4, 2], vec![0.5; 32]);
    let conv = |wshape: &[usize], bshape: Option<&[usize]>, attrs: &[(&str, AttrValue)]| {
        let mut g = G::new();
        let xi = g.input(&[1, 4, 4, 2]);
        let n: usize = wshape.iter().product();
        let wi = g.cf(wshape, &vec![0.1; n]);
        let bi = bshape.map(|s| g.cf(s, &vec![0.0; s.iter().product()]));
        g.op(BuiltinOp::CONV_2D, vec![Some(xi), Some(wi), bi], "Conv2DOptions", attrs);
        no_panic(&g, vec![x()])
    };
    assert!(conv(&[3, 3, 3, 2], None, &[]));
    assert!(!conv(&[3, 3, 2], None, &[]), "3-D filter");
    assert!(!conv(&[3, 3, 3, 3], None, &[]), "2 input channels vs filter 3");
    assert!(!conv(&[3, 3, 3, 0], None, &[]), "zero filter channels");
    assert!(!conv(&[3, 3, 3, 2], Some(&[4]), &[]), "bias length");
    assert!(!conv(&[3, 5, 5, 2], None, &[("padding", int(1))]), "VALID with filter larger than input");
    assert!(!conv(&[3, 3, 3, 2], None, &[("stride_w", int(0))]), "stride 0");
    assert!(!conv(&[3, 3, 3, 2], None, &[("dilation_h_factor", int(-2))]), "negative dilation");
    assert!(!conv(&[3, 3, 3, 2], None, &[("padding", int(7))]), "padding code");
    assert!(!conv(&[3, 3, 3, 2], None, &[("fused_activation_function", int(9))]), "activation code");
    assert!(conv(&[3, 3, 3, 2], None, &[("stride_h", int(1 << 29)), ("dilation_w_factor", int(1 << 29))]));
    assert!(!conv(&[3, 3, 3, 1], None, &[]), "2 groups, 3 outputs");

    // input whose data does not match its shape (Value fields are public)
    let mut g = G::new();
    let xi = g.input(&[1, 4, 4, 2]);
    let wi = g.cf(&[1, 1, 1, 2], &[1.0, 1.0]);
    g.op(BuiltinOp::CONV_2D, vec![Some(xi), Some(wi), None], "Conv2DOptions", &[]);
    let mut bad = x();
    bad.data = modelpress::engine::Data::F32(vec![0.0; 5]);
    assert!(!no_panic(&g, vec![bad]));

    // depthwise: filter channels not a multiple of input channels, dim 0 != 1
    for ws in [[1usize, 3, 3, 3], [2, 3, 3, 4]] {
        let mut g = G::new();
        let xi = g.input(&[1, 4, 4, 2]);
        let wi = g.cf(&ws, &vec![0.1; ws.iter().product()]);
        g.op(BuiltinOp::DEPTHWISE_CONV_2D, vec![Some(xi), Some(wi), None], "DepthwiseConv2DOptions", &[]);
        assert!(!no_panic(&g, vec![x()]), "depthwise {ws:?}");
    }
    // FC: depth does not divide the input; 3-D weights; keep_num_dims with wrong last dim
    for (ws, keep) in [(vec![3usize, 5], false), (vec![2, 2, 8], false), (vec![3, 16], true), (vec![3, 0], false)] {
        let mut g = G::new();
        let xi = g.input(&[1, 4, 4, 2]);
        let wi = g.cf(&ws, &vec![0.1; ws.iter().product()]);
        g.op(BuiltinOp::FULLY_CONNECTED, vec![Some(xi), Some(wi), None], "FullyConnectedOptions", &[("keep_num_dims", boolean(keep))]);
        assert!(!no_panic(&g, vec![x()]), "fc {ws:?} keep={keep}");
    }
    // TRANSPOSE_CONV: output_shape of wrong length / batch / channels / negative
    for os in [vec![1, 8, 8], vec![2, 8, 8, 3], vec![1, 8, 8, 4], vec![1, -8, 8, 3], vec![1, 8, i32::MAX, 3]] {
        let mut g = G::new();
        let si = g.ci(&[os.len()], &os);
        let wi = g.cf(&[3, 3, 3, 2], &[0.1; 54]);
        let xi = g.input(&[1, 4, 4, 2]);
        g.op(BuiltinOp::TRANSPOSE_CONV, vec![Some(si), Some(wi), Some(xi), None], "TransposeConvOptions", &[("stride_h", int(2)), ("stride_w", int(2))]);
        assert!(!no_panic(&g, vec![x()]), "transpose conv output_shape {os:?}");
    }
    // BATCH_MATMUL: contraction mismatch, non-broadcastable batch, rank 1
    for (ls, rs) in [(vec![2, 3, 4], vec![2, 5, 4]), (vec![2, 3, 4], vec![3, 4, 5]), (vec![4], vec![4, 2])] {
        let mut g = G::new();
        let li = g.input(&ls);
        let ri = g.cf(&rs, &vec![0.0; rs.iter().product()]);
        g.op(BuiltinOp::BATCH_MATMUL, vec![Some(li), Some(ri)], "BatchMatMulOptions", &[]);
        assert!(!no_panic(&g, vec![fval(&ls, vec![0.0; ls.iter().product()])]), "matmul {ls:?} x {rs:?}");
    }
    // pools: zero filter; resize: negative size / wrong length; pads: negative / wrong shape
    let mut g = G::new();
    let xi = g.input(&[1, 4, 4, 2]);
    g.op(BuiltinOp::MAX_POOL_2D, vec![Some(xi)], "Pool2DOptions", &[("filter_width", int(0)), ("filter_height", int(2))]);
    assert!(!no_panic(&g, vec![x()]));
    for size in [vec![-1, 3], vec![2, 3, 4]] {
        let mut g = G::new();
        let xi = g.input(&[1, 4, 4, 2]);
        let si = g.ci(&[size.len()], &size);
        g.op(BuiltinOp::RESIZE_BILINEAR, vec![Some(xi), Some(si)], "ResizeBilinearOptions", &[]);
        assert!(!no_panic(&g, vec![x()]), "resize size {size:?}");
    }
    for (pshape, p) in [(vec![4usize, 2usize], vec![0, 0, -1, 0, 0, 0, 0, 0]), (vec![3, 2], vec![0; 6]), (vec![4, 2], vec![0, 0, 0, 0, 0, 0, 0, i32::MAX])] {
        let mut g = G::new();
        let xi = g.input(&[1, 4, 4, 2]);
        let pi = g.ci(&pshape, &p);
        g.op(BuiltinOp::PAD, vec![Some(xi), Some(pi)], "PadOptions", &[]);
        assert!(!no_panic(&g, vec![x()]), "pad {p:?}");
    }
    // missing required input
    let mut g = G::new();
    let xi = g.input(&[1, 4, 4, 2]);
    g.op(BuiltinOp::CONV_2D, vec![Some(xi), None], "Conv2DOptions", &[]);
    assert!(Engine::new(&g.m).is_err());
}

// ------------------------------------------------------------ LiteRT fixtures

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models").join(name)
}

/// A little-endian float32 .npy file: (shape, values).
fn read_npy(path: &PathBuf) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..6], b"\x93NUMPY");
    let (hlen, start) = if b[6] == 1 { (u16::from_le_bytes([b[8], b[9]]) as usize, 10) } else { (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12) };
    let header = std::str::from_utf8(&b[start..start + hlen]).unwrap();
    assert!(header.contains("'<f4'"), "{}: not float32: {header}", path.display());
    assert!(header.contains("'fortran_order': False"));
    let sh = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let shape: Vec<usize> = sh.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    let vals: Vec<f32> = b[start + hlen..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(vals.len(), shape.iter().product::<usize>());
    (shape, vals)
}

/// Run the ops of this family in a fixture model (others are dropped
/// together with the outputs that depend on them) and compare every
/// remaining graph output with LiteRT's. Returns how many were compared.
fn check_fixture(stem: &str) -> usize {
    let bytes = std::fs::read(fixture(&format!("{stem}.tflite"))).unwrap();
    let mut model = modelpress::load(&bytes).unwrap();
    let constant: Vec<bool> = (0..model.subgraphs[0].tensors.len()).map(|t| !model.tensor_data(0, t).is_empty()).collect();
    let sg = &mut model.subgraphs[0];
    let mut available: Vec<bool> = (0..sg.tensors.len()).map(|t| sg.inputs.contains(&t) || constant[t]).collect();
    let mut keep = vec![];
    for op in &sg.ops {
        let mine = op.kind.builtin().is_some_and(|b| modelpress::engine::ops::conv::register(b).is_some());
        if mine && op.inputs.iter().flatten().all(|&t| available[t]) {
            for &t in &op.outputs {
                available[t] = true;
            }
            keep.push(op.clone());
        }
    }
    sg.ops = keep;
    let all_outputs = sg.outputs.clone();
    sg.outputs.retain(|&t| available[t] && !sg.inputs.contains(&t));
    let kept = sg.outputs.clone();
    let inputs: Vec<Value> = (0..sg.inputs.len())
        .map(|i| {
            let (s, v) = read_npy(&fixture(&format!("{stem}.input{i}.npy")));
            fval(&s, v)
        })
        .collect();
    let outs = Engine::new(&model).unwrap().run(inputs).unwrap();
    for (t, got) in kept.iter().zip(&outs) {
        let k = all_outputs.iter().position(|x| x == t).unwrap();
        let (shape, want) = read_npy(&fixture(&format!("{stem}.output{k}.npy")));
        assert_close(got, &shape, &want, &format!("{stem} output {k}"));
    }
    kept.len()
}

#[test]
fn litert_fixture_ops_conv() {
    assert_eq!(check_fixture("ops_conv"), 4);
}

#[test]
fn litert_fixture_ops_pool_resize() {
    // 16 outputs; the 4 MEAN/SUM ones belong to another family.
    assert_eq!(check_fixture("ops_pool_resize"), 12);
}

#[test]
fn litert_fixture_ops_matmul() {
    // The 4 BATCH_MATMUL outputs (the FULLY_CONNECTED ones read a RESHAPE).
    assert_eq!(check_fixture("ops_matmul"), 4);
}
