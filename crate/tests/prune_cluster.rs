//! Pruning, clustering, their combination with int8 quantization, and the
//! sparse tensor encoding (the LiteRT cross-checks of the written files
//! live in tests/python/test_prune_cluster_litert.py).

use std::collections::BTreeSet;

use modelpress::engine::{Engine, Value};
use modelpress::formats::{npy, tflite};
use modelpress::ir::{BuiltinOp, DType, Model, OpKind};
use modelpress::passes::cluster::{ClusterConfig, ClusterInit};
use modelpress::passes::prune::{Method, Pattern, PruneConfig, Scope};
use modelpress::passes::quantize::{QuantMode, QuantizeConfig};
use modelpress::passes::{optimize, Context, Recipe};

mod common;
use common::{model, root, samples};


fn labels() -> Vec<usize> {
    let v = npy::read(&std::fs::read(root().join("data/digits_y_test.npy")).unwrap()).unwrap();
    v.to_i64().unwrap().into_iter().map(|x| x as usize).collect()
}

/// Apply a recipe; the result must write and read back. Returns the model
/// and the warnings.
fn run(m: &Model, recipe: &Recipe, cal: Vec<Vec<Value>>) -> modelpress::Result<(Model, Vec<String>)> {
    let mut progress = |_: &str, _: f32| {};
    let mut ctx = Context::new(cal, &mut progress);
    let out = optimize(m, recipe, &mut ctx)?;
    let bytes = tflite::write(&out)?;
    assert_eq!(tflite::read(&bytes)?, out);
    Ok((out, ctx.warnings))
}

fn prune_only(p: PruneConfig) -> Recipe {
    Recipe { prune: Some(p), ..Default::default() }
}

fn digits() -> Model {
    model("digits_cnn_float32.tflite")
}

fn calib(n: usize) -> Vec<Vec<Value>> {
    samples("data/digits_x_calib.npy", n)
}

/// (op kind, weight tensor id) of every op with a constant weight input 1.
fn weights(m: &Model) -> Vec<(BuiltinOp, usize)> {
    let sg = &m.subgraphs[0];
    sg.ops
        .iter()
        .filter_map(|op| {
            let b = op.kind.builtin()?;
            let w = op.input(1)?;
            (matches!(b, BuiltinOp::CONV_2D | BuiltinOp::DEPTHWISE_CONV_2D | BuiltinOp::FULLY_CONNECTED) && m.is_constant(0, w))
                .then_some((b, w))
        })
        .collect()
}

fn f32s(m: &Model, t: usize) -> Vec<f32> {
    m.constant_f32(0, t).unwrap()
}

fn i8s(m: &Model, t: usize) -> Vec<i8> {
    m.tensor_data(0, t).iter().map(|&b| b as i8).collect()
}

fn zeros(v: &[f32]) -> usize {
    v.iter().filter(|&&x| x == 0.0).count()
}

fn distinct(v: &[f32]) -> usize {
    v.iter().map(|x| x.to_bits()).collect::<BTreeSet<_>>().len()
}

/// Classifier accuracy of the model in our float engine on the test set,
/// and the mean squared difference of its outputs from the float model's.
fn evaluate(m: &Model, n: usize) -> (f64, f64) {
    let x = samples("data/digits_x_test.npy", n);
    let y = labels();
    let mut e = Engine::new(m).unwrap();
    let mut r = Engine::new(&digits()).unwrap();
    let (mut right, mut err) = (0usize, 0f64);
    for (i, s) in x.iter().enumerate() {
        let out = e.run(s.clone()).unwrap();
        let o = out[0].as_f32().unwrap();
        let refo = r.run(s.clone()).unwrap();
        err += o.iter().zip(refo[0].as_f32().unwrap()).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>();
        let am = o.iter().enumerate().fold((0, f32::MIN), |m, (i, &v)| if v > m.1 { (i, v) } else { m }).0;
        right += (am == y[i]) as usize;
    }
    (right as f64 / x.len() as f64, err / x.len() as f64)
}

#[test]
fn magnitude_per_layer_zeroes_exactly_the_target_in_each_tensor() {
    let m = digits();
    for s in [0.5, 0.8] {
        let (p, warnings) = run(&m, &prune_only(PruneConfig::new(s)), vec![]).unwrap();
        let mut pruned = 0;
        for (b, w) in weights(&p) {
            let v = f32s(&p, w);
            if b == BuiltinOp::DEPTHWISE_CONV_2D {
                assert_eq!(zeros(&v), 0, "depthwise is left alone unless asked");
                continue;
            }
            assert_eq!(zeros(&v), (s * v.len() as f64).round() as usize, "{s}: {}", p.subgraphs[0].tensors[w].name);
            // The survivors are the largest magnitudes.
            let orig = f32s(&m, w);
            let kept_min = orig.iter().zip(&v).filter(|(_, &n)| n != 0.0).map(|(o, _)| o.abs()).fold(f32::MAX, f32::min);
            let cut_max = orig.iter().zip(&v).filter(|(_, &n)| n == 0.0).map(|(o, _)| o.abs()).fold(0.0, f32::max);
            assert!(cut_max <= kept_min);
            pruned += 1;
        }
        assert_eq!(pruned, 5);
        assert!(warnings.iter().any(|w| w.contains("prune: 5 tensors")), "{warnings:?}");
    }
    // Depthwise on request.
    let mut cfg = PruneConfig::new(0.5);
    cfg.include_depthwise = true;
    let (p, _) = run(&m, &prune_only(cfg), vec![]).unwrap();
    let (_, dw) = weights(&p).into_iter().find(|(b, _)| *b == BuiltinOp::DEPTHWISE_CONV_2D).unwrap();
    assert_eq!(zeros(&f32s(&p, dw)), 72);
}

#[test]
fn global_scope_keeps_the_overall_target_with_one_threshold() {
    let m = digits();
    let mut cfg = PruneConfig::new(0.8);
    cfg.scope = Scope::Global;
    let (p, _) = run(&m, &prune_only(cfg), vec![]).unwrap();
    let (mut z, mut n) = (0, 0);
    let mut per_layer = Vec::new();
    let mut threshold_kept = f32::MAX;
    let mut threshold_cut = 0f32;
    for (b, w) in weights(&p) {
        if b == BuiltinOp::DEPTHWISE_CONV_2D {
            continue;
        }
        let v = f32s(&p, w);
        let orig = f32s(&m, w);
        for (o, x) in orig.iter().zip(&v) {
            if *x == 0.0 {
                threshold_cut = threshold_cut.max(o.abs());
            } else {
                threshold_kept = threshold_kept.min(o.abs());
            }
        }
        z += zeros(&v);
        n += v.len();
        per_layer.push(zeros(&v) as f64 / v.len() as f64);
    }
    assert_eq!(z, (0.8 * n as f64).round() as usize);
    assert!(threshold_cut <= threshold_kept, "one magnitude threshold across tensors");
    let (lo, hi) = per_layer.iter().fold((1f64, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(hi - lo > 0.2, "layers get different sparsities: {per_layer:?}");
    // Per-layer overrides are kept out of the pool.
    let mut cfg = PruneConfig::new(0.8);
    cfg.scope = Scope::Global;
    cfg.layers.insert("*fc2*".into(), 0.25);
    let (p, _) = run(&m, &prune_only(cfg), vec![]).unwrap();
    let fc2 = p.subgraphs[0].tensors.iter().position(|t| t.name == "digits_cnn/fc2/MatMul").unwrap();
    assert_eq!(zeros(&f32s(&p, fc2)), 160);
}

#[test]
fn n_m_pattern_leaves_at_least_m_minus_n_zeros_in_every_group() {
    let m = digits();
    for method in [Method::Magnitude, Method::Obs] {
        let mut cfg = PruneConfig::new(0.5);
        cfg.sparsity = None;
        cfg.pattern = Pattern::NM { n: 2, m: 4 };
        cfg.method = method;
        let (p, warnings) = run(&m, &prune_only(cfg), calib(64)).unwrap();
        let sg = &p.subgraphs[0];
        let mut checked = 0;
        for (b, w) in weights(&p) {
            let t = &sg.tensors[w];
            let v = f32s(&p, w);
            let last = *t.shape.last().unwrap() as usize;
            if b == BuiltinOp::DEPTHWISE_CONV_2D || !last.is_multiple_of(4) {
                assert_eq!(zeros(&v), 0, "{}", t.name);
                continue;
            }
            for g in v.chunks_exact(4) {
                assert!(zeros(g) >= 2, "{:?}: group {g:?}", method);
            }
            assert_eq!(zeros(&v) * 2, v.len());
            checked += 1;
        }
        assert_eq!(checked, 4, "pw1, conv2, fc1, fc2");
        assert!(
            warnings.iter().any(|w| w.contains("conv1") && w.contains("not a multiple of 4")),
            "conv1 (one input channel) is skipped and reported: {warnings:?}"
        );
    }
}

#[test]
fn block_pattern_zeroes_whole_blocks() {
    let m = digits();
    let mut cfg = PruneConfig::new(0.6);
    cfg.pattern = Pattern::Block { rows: 2, cols: 4 };
    for method in [Method::Magnitude, Method::Obs] {
        cfg.method = method;
        let (p, warnings) = run(&m, &prune_only(cfg.clone()), calib(64)).unwrap();
        let sg = &p.subgraphs[0];
        for (b, w) in weights(&p) {
            let t = &sg.tensors[w];
            let v = f32s(&p, w);
            let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
            let (rows, last) = (shape[0], *shape.last().unwrap());
            if b == BuiltinOp::DEPTHWISE_CONV_2D || !last.is_multiple_of(4) {
                assert_eq!(zeros(&v), 0);
                continue;
            }
            let inner = v.len() / rows; // elements per output channel
            let mut zero_blocks = 0;
            let mut blocks = 0;
            for r in (0..rows).step_by(2) {
                for c in (0..inner).step_by(4) {
                    let cells: Vec<f32> = (0..2).flat_map(|a| (0..4).map(move |b| (a, b))).map(|(a, b)| v[(r + a) * inner + c + b]).collect();
                    let z = zeros(&cells);
                    assert!(z == 0 || z == 8, "{method:?} {}: partly zero block {cells:?}", t.name);
                    zero_blocks += (z == 8) as usize;
                    blocks += 1;
                }
            }
            assert_eq!(zero_blocks, (0.6 * blocks as f64).round() as usize, "{method:?} {}", t.name);
        }
        assert!(warnings.iter().any(|w| w.contains("conv1") && w.contains("2x4")), "{warnings:?}");
    }
}

#[test]
fn data_aware_obs_beats_magnitude_at_the_same_sparsity() {
    let m = digits();
    let mag = run(&m, &prune_only(PruneConfig::new(0.5)), vec![]).unwrap().0;
    let mut cfg = PruneConfig::new(0.5);
    cfg.method = Method::Obs;
    let (obs, warnings) = run(&m, &prune_only(cfg.clone()), calib(200)).unwrap();
    assert!(warnings.iter().any(|w| w.contains("data-aware (obs)")), "{warnings:?}");
    // Same exact per-tensor sparsity.
    for ((_, a), (_, b)) in weights(&mag).into_iter().zip(weights(&obs)) {
        assert_eq!(zeros(&f32s(&mag, a)), zeros(&f32s(&obs, b)));
    }
    let (acc_mag, err_mag) = evaluate(&mag, 450);
    let (acc_obs, err_obs) = evaluate(&obs, 450);
    eprintln!("magnitude 50%: accuracy {acc_mag:.4}, output MSE {err_mag:.5}; obs 50%: {acc_obs:.4}, {err_obs:.5}");
    assert!(acc_obs >= 0.975, "obs accuracy {acc_obs}");
    assert!(acc_obs >= acc_mag + 0.04, "obs {acc_obs} vs magnitude {acc_mag}");
    assert!(err_obs * 4.0 < err_mag, "output error obs {err_obs} vs magnitude {err_mag}");
    // Sequential (layer-by-layer statistics) works too, at 80%.
    cfg.sparsity = Some(0.8);
    cfg.sequential = true;
    let (seq, _) = run(&m, &prune_only(cfg), calib(200)).unwrap();
    let mag80 = run(&m, &prune_only(PruneConfig::new(0.8)), vec![]).unwrap().0;
    let (acc_seq, err_seq) = evaluate(&seq, 450);
    let (acc_m80, err_m80) = evaluate(&mag80, 450);
    eprintln!("80%: magnitude {acc_m80:.4} / {err_m80:.5}; obs sequential {acc_seq:.4} / {err_seq:.5}");
    assert!(acc_seq > acc_m80 && err_seq < err_m80);
}

#[test]
fn clustering_leaves_at_most_k_values() {
    let m = digits();
    for init in [ClusterInit::KMeansPlusPlus, ClusterInit::Linear, ClusterInit::Density, ClusterInit::Random] {
        let mut cfg = ClusterConfig::new(16);
        cfg.init = init;
        let recipe = Recipe { cluster: Some(cfg.clone()), ..Default::default() };
        let (c, _) = run(&m, &recipe, vec![]).unwrap();
        for (b, w) in weights(&c) {
            let v = f32s(&c, w);
            if b == BuiltinOp::DEPTHWISE_CONV_2D {
                assert_eq!(v, f32s(&m, w), "depthwise left alone");
            } else {
                assert!(distinct(&v) <= 16 && distinct(&v) >= 12, "{init:?}: {} values", distinct(&v));
            }
        }
        // Deterministic.
        assert_eq!(run(&m, &recipe, vec![]).unwrap().0, c);
        let (acc, _) = evaluate(&c, 200);
        assert!(acc >= 0.97, "{init:?}: accuracy {acc}");
    }
    // Per channel: k values in every output channel.
    let mut cfg = ClusterConfig::new(4);
    cfg.per_channel = true;
    cfg.include_depthwise = true;
    let (c, _) = run(&m, &Recipe { cluster: Some(cfg), ..Default::default() }, vec![]).unwrap();
    for (b, w) in weights(&c) {
        let t = &c.subgraphs[0].tensors[w];
        let v = f32s(&c, w);
        let axis = if b == BuiltinOp::DEPTHWISE_CONV_2D { 3 } else { 0 };
        let ch = t.shape[axis] as usize;
        let inner: usize = t.shape[axis + 1..].iter().map(|&d| d as usize).product();
        for k in 0..ch {
            let vals: Vec<f32> = v.iter().enumerate().filter(|(i, _)| (i / inner) % ch == k).map(|(_, &x)| x).collect();
            assert!(distinct(&vals) <= 4, "{}: channel {k}", t.name);
        }
        assert!(distinct(&v) > 4, "channels have their own centroids");
    }
}

#[test]
fn sparsity_preserving_clustering_keeps_every_zero() {
    let m = digits();
    let mut cfg = PruneConfig::new(0.5);
    cfg.method = Method::Obs;
    let pruned = run(&m, &prune_only(cfg.clone()), calib(100)).unwrap().0;
    let mut cl = ClusterConfig::new(8);
    cl.preserve_sparsity = true;
    cl.data_aware = true;
    let recipe = Recipe { prune: Some(cfg), cluster: Some(cl.clone()), ..Default::default() };
    let (c, _) = run(&m, &recipe, calib(100)).unwrap();
    for ((b, wp), (_, wc)) in weights(&pruned).into_iter().zip(weights(&c)) {
        if b == BuiltinOp::DEPTHWISE_CONV_2D {
            continue;
        }
        let (p, v) = (f32s(&pruned, wp), f32s(&c, wc));
        for (a, b) in p.iter().zip(&v) {
            assert_eq!(*a == 0.0, *b == 0.0, "zeros stay, non-zeros stay non-zero");
        }
        let nonzero: Vec<f32> = v.iter().cloned().filter(|&x| x != 0.0).collect();
        assert!(distinct(&nonzero) <= 8, "zero is its own cluster, not counted in k");
    }
    // Without preservation zeros are just values: 0 is one of the k.
    cl.preserve_sparsity = false;
    let recipe = Recipe { prune: Some(PruneConfig::new(0.5)), cluster: Some(cl), ..Default::default() };
    let (c, _) = run(&m, &recipe, calib(100)).unwrap();
    let (_, fc1) = weights(&c)[4];
    assert!(distinct(&f32s(&c, fc1)) <= 8);
}

/// Distinct int8 codes in each output channel (axis 0) and in the tensor.
fn int8_codes(m: &Model, w: usize) -> (Vec<BTreeSet<i8>>, BTreeSet<i8>) {
    let t = &m.subgraphs[0].tensors[w];
    let v = i8s(m, w);
    let ch = t.shape[0] as usize;
    let inner = v.len() / ch;
    let per: Vec<BTreeSet<i8>> = (0..ch).map(|c| v[c * inner..(c + 1) * inner].iter().copied().collect()).collect();
    (per, v.into_iter().collect())
}

#[test]
fn collaborative_prune_cluster_int8_keeps_zeros_and_k_codes() {
    let m = digits();
    let mut p = PruneConfig::new(0.5);
    p.method = Method::Obs;
    let pruned = run(&m, &prune_only(p.clone()), calib(100)).unwrap().0;
    for scaled in [false, true] {
        let mut cl = ClusterConfig::new(16);
        cl.preserve_sparsity = true;
        cl.scaled = scaled;
        let recipe = Recipe { prune: Some(p.clone()), cluster: Some(cl), quantize: Some(QuantizeConfig::new(QuantMode::Int8)), ..Default::default() };
        let (q, _) = run(&m, &recipe, calib(100)).unwrap();
        let float_w: Vec<(BuiltinOp, usize)> = weights(&pruned).into_iter().filter(|w| w.0 != BuiltinOp::DEPTHWISE_CONV_2D).collect();
        let int_w: Vec<(BuiltinOp, usize)> = weights(&q).into_iter().filter(|w| w.0 != BuiltinOp::DEPTHWISE_CONV_2D).collect();
        assert_eq!(float_w.len(), int_w.len());
        for ((_, fw), (_, qw)) in float_w.into_iter().zip(int_w) {
            let t = &q.subgraphs[0].tensors[qw];
            assert_eq!(t.dtype, DType::I8);
            assert!(t.quant.as_ref().unwrap().zero_point.iter().all(|&z| z == 0));
            let f = f32s(&pruned, fw);
            let codes = i8s(&q, qw);
            for (a, c) in f.iter().zip(&codes) {
                if *a == 0.0 {
                    assert_eq!(*c, 0, "a pruned weight is exactly 0 in int8");
                }
            }
            let (per, all) = int8_codes(&q, qw);
            for s in &per {
                let nonzero = s.iter().filter(|&&c| c != 0).count();
                assert!(nonzero <= 16, "{} {}: {nonzero} non-zero codes in a channel", t.name, scaled);
            }
            if scaled {
                assert!(all.len() <= 17, "scaled codebook: at most 16 codes and 0 in the whole tensor ({})", all.len());
            }
        }
    }
    // Entropy-constrained clustering: fewer bits, still at most k codes.
    let mut cl = ClusterConfig::new(16);
    cl.preserve_sparsity = true;
    cl.scaled = true;
    cl.data_aware = true;
    let base = Recipe { prune: Some(p.clone()), cluster: Some(cl.clone()), quantize: Some(QuantizeConfig::new(QuantMode::Int8)), ..Default::default() };
    cl.entropy_penalty = 1.0;
    let ent = Recipe { cluster: Some(cl), ..base.clone() };
    let size = |r: &Recipe| {
        let (q, _) = run(&m, r, calib(100)).unwrap();
        let bytes = tflite::write(&q).unwrap();
        for (b, w) in weights(&q) {
            if b != BuiltinOp::DEPTHWISE_CONV_2D {
                assert!(int8_codes(&q, w).1.len() <= 17);
            }
        }
        modelpress::inspect::gzip_size(&bytes)
    };
    let (a, b) = (size(&base), size(&ent));
    assert!(b < a, "entropy penalty shrinks the gzip size: {b} vs {a}");
}

#[test]
fn sparse_format_shrinks_the_file_and_densifies_to_the_same_outputs() {
    let m = digits();
    let mut p = PruneConfig::new(0.8);
    p.scope = Scope::Global;
    let dense = run(&m, &prune_only(p.clone()), vec![]).unwrap().0;
    let recipe = Recipe { prune: Some(p.clone()), sparse_format: true, ..Default::default() };
    let (sparse, warnings) = run(&m, &recipe, vec![]).unwrap();
    assert!(warnings.iter().any(|w| w.contains("sparse format")), "{warnings:?}");
    let (db, sb) = (tflite::write(&dense).unwrap(), tflite::write(&sparse).unwrap());
    assert!(sb.len() * 2 < db.len(), "raw bytes: sparse {} vs dense {}", sb.len(), db.len());
    let sg = &sparse.subgraphs[0];
    let dens: Vec<_> = sg.ops.iter().filter(|o| o.kind == OpKind::Builtin(BuiltinOp::DENSIFY)).collect();
    assert!(dens.len() >= 2, "{} DENSIFY ops (conv2 and fc1 at least)", dens.len());
    for d in &dens {
        let st = &sg.tensors[d.input(0).unwrap()];
        let sp = st.sparsity.as_ref().unwrap();
        // What the converter writes: dense dims, the last one CSR.
        assert_eq!(sp.traversal_order, (0..st.shape.len() as i32).collect::<Vec<_>>());
        assert!(matches!(sp.dim_metadata.last(), Some(modelpress::ir::DimMetadata::SparseCsr { .. })));
        // DENSIFY comes before its consumers.
        let di = sg.ops.iter().position(|o| std::ptr::eq(o, *d)).unwrap();
        for (ci, _) in sg.consumers(d.outputs[0]) {
            assert!(ci > di);
        }
    }
    // Same weights after densifying, same outputs in the engine.
    let back = tflite::read(&sb).unwrap();
    let unpacked = modelpress::passes::sparse::densified(&back).unwrap();
    for ((_, a), (_, b)) in weights(&dense).into_iter().zip(weights(&unpacked)) {
        assert_eq!(f32s(&dense, a), f32s(&unpacked, b));
    }
    let mut ed = Engine::new(&dense).unwrap();
    let mut es = Engine::new(&back).unwrap();
    for s in samples("data/digits_x_test.npy", 20) {
        assert_eq!(ed.run(s.clone()).unwrap(), es.run(s).unwrap());
    }
    // Block-pruned weights are stored in blocks.
    let mut b = PruneConfig::new(0.75);
    b.pattern = Pattern::Block { rows: 1, cols: 4 };
    let dense = run(&m, &prune_only(b.clone()), vec![]).unwrap().0;
    let (sparse, _) = run(&m, &Recipe { prune: Some(b), sparse_format: true, ..Default::default() }, vec![]).unwrap();
    let sg = &sparse.subgraphs[0];
    assert!(sg.tensors.iter().any(|t| t.sparsity.as_ref().is_some_and(|s| s.block_map.as_ref().is_some_and(|b| !b.is_empty()))));
    let mut ed = Engine::new(&dense).unwrap();
    let mut es = Engine::new(&sparse).unwrap();
    for s in samples("data/digits_x_test.npy", 10) {
        assert_eq!(ed.run(s.clone()).unwrap(), es.run(s).unwrap());
    }
    // int8 weights are encoded too (zero point 0); densified, they are the
    // dense int8 model's weights.
    let q = Recipe { prune: Some(p.clone()), quantize: Some(QuantizeConfig::new(QuantMode::Int8)), ..Default::default() };
    let (qd, _) = run(&m, &q, calib(50)).unwrap();
    let (qs, _) = run(&m, &Recipe { sparse_format: true, ..q }, calib(50)).unwrap();
    assert!(tflite::write(&qs).unwrap().len() < tflite::write(&qd).unwrap().len());
    assert_eq!(modelpress::passes::sparse::densified(&qs).unwrap().subgraphs[0].ops.len(), qd.subgraphs[0].ops.len());
}

#[test]
fn other_weight_types_keep_their_type() {
    // float16 weights behind DEQUANTIZE, int8 dynamic-range weights, and a
    // fully quantized model: pruned and clustered in place.
    for name in ["c_ptq_float16.tflite", "b_ptq_dynamic_range.tflite", "digits_cnn_int8.tflite"] {
        let m = model(name);
        let mut p = PruneConfig::new(0.5);
        p.method = Method::Magnitude;
        let mut c = ClusterConfig::new(8);
        c.preserve_sparsity = true;
        let recipe = Recipe { prune: Some(p), cluster: Some(c), ..Default::default() };
        let (out, warnings) = run(&m, &recipe, vec![]).unwrap();
        assert!(warnings.iter().any(|w| w.starts_with("prune: ") && w.contains("tensors")), "{name}: {warnings:?}");
        let sg = &out.subgraphs[0];
        assert_eq!(sg.ops.len(), m.subgraphs[0].ops.len(), "{name}: no ops added or folded");
        let mut seen = 0;
        for (i, t) in sg.tensors.iter().enumerate() {
            let orig = &m.subgraphs[0].tensors[i];
            assert_eq!(t.dtype, orig.dtype, "{name}: {} keeps its type", t.name);
            let big = out.is_constant(0, i) && t.num_elements() >= 512 && matches!(t.dtype, DType::F16 | DType::I8);
            if big && t.shape.len() >= 2 && t.shape[0] > 1 {
                let raw = out.tensor_data(0, i);
                let zero = match t.dtype {
                    DType::F16 => raw.chunks_exact(2).filter(|c| u16::from_le_bytes([c[0], c[1]]) & 0x7FFF == 0).count(),
                    _ => raw.iter().filter(|&&b| b == 0).count(),
                };
                assert!(zero * 2 >= t.num_elements(), "{name}: {} is half zeros", t.name);
                seen += 1;
            }
        }
        assert!(seen >= 2, "{name}");
    }
    // obs on a model the float engine cannot run falls back, saying why.
    let m = model("digits_cnn_int8.tflite");
    let mut p = PruneConfig::new(0.5);
    p.method = Method::Obs;
    let x = npy::read(&std::fs::read(root().join("models/digits_cnn_int8.input0.npy")).unwrap()).unwrap();
    let (_, warnings) = run(&m, &prune_only(p), vec![vec![x]]).unwrap();
    assert!(warnings.iter().any(|w| w.contains("magnitude") && (w.contains("unavailable") || w.contains("no data-aware"))), "{warnings:?}");
}

#[test]
fn clear_errors_for_bad_settings() {
    let m = digits();
    let err = run(&m, &prune_only(PruneConfig::new(1.5)), vec![]).unwrap_err().to_string();
    assert!(err.contains("sparsity") && err.contains("1.5") && err.contains("[0, 1)"), "{err}");
    let err = Recipe::from_json(r#"{"prune": {"sparsity": 1.5}}"#).unwrap_err().to_string();
    assert!(err.contains("sparsity") && err.contains("1.5"), "{err}");
    let err = Recipe::from_json(r#"{"cluster": {"clusters": 0}}"#).unwrap_err().to_string();
    assert!(err.contains("clusters must be in 2..="), "{err}");
    let err = Recipe::from_json(r#"{"prune": {"pattern": "3:2"}}"#).unwrap_err().to_string();
    assert!(err.contains("3:2") && err.contains("N must be"), "{err}");
    let err = Recipe::from_json(r#"{"prune": {"sparsity": 0.5, "pattern": "block:4"}}"#).unwrap_err().to_string();
    assert!(err.contains("block:RxC"), "{err}");
    let err = Recipe::from_json(r#"{"prune": {"sparsity": 0.5, "bogus": 1}}"#).unwrap_err().to_string();
    assert!(err.contains("bogus"), "{err}");
    let err = Recipe::from_json(r#"{"prune": {"sparsity": 0.5, "method": "sparsegpt"}}"#).unwrap_err().to_string();
    assert!(err.contains("obs"), "{err}");
    let mut p = PruneConfig::new(0.5);
    p.method = Method::Obs;
    let err = run(&m, &prune_only(p), vec![]).unwrap_err().to_string();
    assert!(err.contains("obs") && err.contains("calib"), "{err}");
    // Cross-field conflicts are caught when the recipe is read.
    let err = Recipe::from_json(r#"{"prune": {"sparsity": 0.8, "pattern": "2:4"}}"#).unwrap_err().to_string();
    assert!(err.contains("conflicts") && err.contains("2:4"), "{err}");
    let err = Recipe::from_json(r#"{"prune": {"pattern": "block:2x2"}}"#).unwrap_err().to_string();
    assert!(err.contains("sparsity is required"), "{err}");
    // Clustering.
    let r = Recipe { cluster: Some(ClusterConfig::new(1)), ..Default::default() };
    assert!(run(&m, &r, vec![]).unwrap_err().to_string().contains("clusters must be"));
    let mut c = ClusterConfig::new(16);
    c.data_aware = true;
    let err = run(&m, &Recipe { cluster: Some(c), ..Default::default() }, vec![]).unwrap_err().to_string();
    assert!(err.contains("dataAware") && err.contains("calib"), "{err}");
    let err = Recipe::from_json(r#"{"cluster": {"clusters": 8, "init": "kmeans"}}"#).unwrap_err().to_string();
    assert!(err.contains("kmeans++"), "{err}");
    // The full recipe syntax parses.
    let r = Recipe::from_json(
        r#"{"prune": {"sparsity": 0.5, "pattern": "unstructured", "scope": "global", "method": "obs", "layers": {"*fc2*": 0.2},
            "includeDepthwise": false, "skip": ["CONV_2D"], "damping": 0.02, "maxSamples": 100, "sequential": true},
            "cluster": {"clusters": 16, "perChannel": false, "scaled": true, "init": "density", "preserveSparsity": true,
            "dataAware": true, "entropyPenalty": 0.5, "includeDepthwise": false, "skip": [], "layers": {"*fc1*": 8}, "seed": 3},
            "quantize": {"mode": "int8"}, "sparseFormat": true}"#,
    )
    .unwrap();
    assert_eq!(r.prune.as_ref().unwrap().layers["*fc2*"], 0.2);
    assert_eq!(r.cluster.as_ref().unwrap().init, ClusterInit::Density);
    // Skip list by op type.
    let mut p = PruneConfig::new(0.5);
    p.skip = vec!["FULLY_CONNECTED".into()];
    let (out, _) = run(&m, &prune_only(p), vec![]).unwrap();
    for (b, w) in weights(&out) {
        assert_eq!(zeros(&f32s(&out, w)) > 0, b == BuiltinOp::CONV_2D, "{b:?}");
    }
}

/// Deterministic inputs for every input of `m`: uniform noise smoothed
/// along the flat order plus an offset, so neighbouring channels and
/// pixels correlate (as real activations do; with white noise H is a
/// multiple of the identity and obs is magnitude pruning).
fn random_inputs(m: &Model, n: usize, seed: u64) -> Vec<Vec<Value>> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
    };
    let e = Engine::new(m).unwrap();
    (0..n)
        .map(|_| {
            e.inputs()
                .iter()
                .map(|i| {
                    let shape: Vec<usize> = i.shape.iter().map(|&d| d.max(1) as usize).collect();
                    let len = shape.iter().product();
                    let u: Vec<f32> = (0..len + 1).map(|_| next()).collect();
                    Value::f32(shape, (0..len).map(|j| 0.5 + u[j + 1] + 0.9 * u[j]).collect()).unwrap()
                })
                .collect()
        })
        .collect()
}

fn output_error(a: &Model, b: &Model, inputs: &[Vec<Value>]) -> f64 {
    let (mut ea, mut eb) = (Engine::new(a).unwrap(), Engine::new(b).unwrap());
    let mut err = 0f64;
    for s in inputs {
        for (x, y) in ea.run(s.clone()).unwrap().iter().zip(eb.run(s.clone()).unwrap()) {
            err += x.as_f32().unwrap().iter().zip(y.as_f32().unwrap()).map(|(p, q)| ((p - q) as f64).powi(2)).sum::<f64>();
        }
    }
    err
}

#[test]
fn obs_handles_conv_depthwise_transpose_conv_fc_and_batch_matmul() {
    for (name, kinds) in [
        ("ops_conv.tflite", vec![BuiltinOp::CONV_2D, BuiltinOp::DEPTHWISE_CONV_2D, BuiltinOp::TRANSPOSE_CONV]),
        ("ops_matmul.tflite", vec![BuiltinOp::FULLY_CONNECTED]),
        ("constant BATCH_MATMUL", vec![BuiltinOp::BATCH_MATMUL]),
    ] {
        let m = if name.ends_with(".tflite") { model(name) } else { matmul_model() };
        let cal = random_inputs(&m, 48, 1);
        let held_out = random_inputs(&m, 16, 2);
        let mut cfg = PruneConfig::new(0.5);
        cfg.include_depthwise = true;
        let (mag, _) = run(&m, &prune_only(cfg.clone()), vec![]).unwrap();
        cfg.method = Method::Obs;
        let (obs, warnings) = run(&m, &prune_only(cfg), cal).unwrap();
        assert!(
            !warnings.iter().any(|w| w.contains("no data-aware") || w.contains("obs failed") || w.contains("unavailable")),
            "{name}: {warnings:?}"
        );
        let sg = &obs.subgraphs[0];
        for op in &sg.ops {
            let b = op.kind.builtin().unwrap();
            if kinds.contains(&b) || b == BuiltinOp::BATCH_MATMUL {
                if let Some(w) = op.input(1).filter(|&w| obs.is_constant(0, w)) {
                    let v = f32s(&obs, w);
                    assert_eq!(zeros(&v), (0.5 * v.len() as f64).round() as usize, "{name}: {b:?}");
                }
            }
        }
        let (e_mag, e_obs) = (output_error(&m, &mag, &held_out), output_error(&m, &obs, &held_out));
        eprintln!("{name}: held-out output error magnitude {e_mag:.4}, obs {e_obs:.4}");
        assert!(e_obs < 0.7 * e_mag, "{name}: obs {e_obs} vs magnitude {e_mag}");
    }
}

/// x [1, 4, 8] -> BATCH_MATMUL with a constant [8, 6] -> BATCH_MATMUL with
/// a constant [5, 6] (adj_y) -> [1, 4, 5].
fn matmul_model() -> Model {
    use modelpress::ir::{AttrValue, Buffer, Op, OptionsTable, Subgraph, Tensor};
    let mut buffers = vec![Buffer::default()];
    let mut konst = |n: usize, seed: usize| {
        let v: Vec<u8> = (0..n).flat_map(|i| (((i * 37 + seed * 11) % 23) as f32 / 11.0 - 1.0).to_le_bytes()).collect();
        buffers.push(Buffer { data: v });
        buffers.len() - 1
    };
    let mut t = vec![
        Tensor::new("x", DType::F32, vec![1, 4, 8]),
        Tensor::new("w1", DType::F32, vec![8, 6]),
        Tensor::new("y", DType::F32, vec![1, 4, 6]),
        Tensor::new("w2", DType::F32, vec![5, 6]),
        Tensor::new("z", DType::F32, vec![1, 4, 5]),
    ];
    t[1].buffer = konst(48, 1);
    t[3].buffer = konst(30, 2);
    let bmm = |a: usize, w: usize, o: usize, adj_y: bool| {
        let mut op = Op::new(OpKind::Builtin(BuiltinOp::BATCH_MATMUL), vec![Some(a), Some(w)], vec![o]);
        op.options = Some(
            OptionsTable::new("BatchMatMulOptions")
                .with("adj_x", AttrValue::Bool(false))
                .with("adj_y", AttrValue::Bool(adj_y))
                .with("asymmetric_quantize_inputs", AttrValue::Bool(false)),
        );
        op
    };
    let sg = Subgraph { name: None, tensors: t, inputs: vec![0], outputs: vec![4], ops: vec![bmm(0, 1, 2, false), bmm(2, 3, 4, true)] };
    Model { version: 3, subgraphs: vec![sg], buffers, ..Default::default() }
}
