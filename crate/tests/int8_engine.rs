//! The integer engine against LiteRT's reference kernels.
//!
//! - Every model under `tests/fixtures/int8/` (made by
//!   `tests/fixtures/int8/make_int8_fixtures.py`, outputs recorded with
//!   `OpResolverType.BUILTIN_REF`) and the converter-made int8 models in
//!   `tests/fixtures/models` must plan, run, and reproduce LiteRT's outputs:
//!   integer outputs byte for byte, float outputs of float-I/O models
//!   exactly (they come from a DEQUANTIZE, which we compute as LiteRT
//!   does), float outputs of hybrid models within 1e-5 (LiteRT's hybrid
//!   kernels accumulate in float; the integer dot products match exactly).
//! - Unit tests pin the requantization arithmetic on edge values.
//! - `dev_compare` (ignored) compares every intermediate tensor with a dump
//!   from LiteRT (`MODELPRESS_DUMP=dir MODELPRESS_MODEL=m.tflite
//!   MODELPRESS_INPUT=x.npy cargo test --test int8_engine dev_compare --
//!   --ignored --nocapture`).

use std::path::{Path, PathBuf};

use modelpress::engine::{Data, Engine, Value};
use modelpress::formats::npy;
use modelpress::kernels::int8::fixedpoint as fx;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn load(path: &Path) -> Value {
    npy::read(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Allowed difference: `lsb` integer steps, and for floats `abs` absolute
/// plus `10 * abs` relative (all zero: bit equal).
#[derive(Clone, Copy)]
struct Tol {
    lsb: i64,
    abs: f32,
}

const EXACT: Tol = Tol { lsb: 0, abs: 0.0 };

/// Describe the first difference between two values beyond `tol`, if any.
fn diff(got: &Value, want: &Value, tol: Tol) -> Option<String> {
    if got.shape != want.shape && got.len() != want.len() {
        return Some(format!("shape {:?} vs LiteRT {:?}", got.shape, want.shape));
    }
    fn ints<T: Copy + Into<i64> + std::fmt::Debug>(a: &[T], b: &[T], lsb: i64) -> Option<String> {
        let off = |i: usize| (a[i].into() - b[i].into()).abs() > lsb;
        let n = (0..a.len()).filter(|&i| off(i)).count();
        (0..a.len()).find(|&i| off(i)).map(|i| format!("{n} of {} differ; first at {i}: {:?} vs LiteRT {:?}", a.len(), a[i], b[i]))
    }
    match (&got.data, &want.data) {
        (Data::I8(a), Data::I8(b)) => ints(a, b, tol.lsb),
        (Data::U8(a), Data::U8(b)) => ints(a, b, tol.lsb),
        (Data::I16(a), Data::I16(b)) => ints(a, b, tol.lsb),
        (Data::I32(a), Data::I32(b)) => ints(a, b, tol.lsb),
        (Data::F32(a), Data::F32(b)) => {
            let t = tol.abs;
            let bad: Vec<usize> = (0..a.len()).filter(|&i| !((a[i] - b[i]).abs() <= t * (1.0 + 10.0 * b[i].abs()) || a[i] == b[i])).collect();
            bad.first().map(|&i| {
                let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
                format!("{} of {} differ beyond {t}; first at {i}: {} vs LiteRT {} (max abs err {worst})", bad.len(), a.len(), a[i], b[i])
            })
        }
        (a, b) => Some(format!("dtype {} vs LiteRT {}", a.dtype(), b.dtype())),
    }
}

/// Run `model` on its recorded inputs and compare every output.
fn check_model(model: &Path, inputs: &[PathBuf], outputs: &[PathBuf], tol: Tol) -> Result<(), String> {
    let bytes = std::fs::read(model).map_err(|e| e.to_string())?;
    let m = modelpress::load(&bytes).map_err(|e| e.to_string())?;
    let mut engine = Engine::new(&m).map_err(|e| format!("cannot plan: {e}"))?;
    let xs: Vec<Value> = inputs.iter().map(|p| load(p)).collect();
    let ys = engine.run(xs).map_err(|e| format!("run failed: {e}"))?;
    for (k, p) in outputs.iter().enumerate() {
        if let Some(d) = diff(&ys[k], &load(p), tol) {
            return Err(format!("output {k}: {d}"));
        }
    }
    Ok(())
}

fn numbered(dir: &Path, stem: &str, kind: &str) -> Vec<PathBuf> {
    (0..).map(|i| dir.join(format!("{stem}.{kind}{i}.npy"))).take_while(|p| p.exists()).collect()
}

#[test]
fn converter_int8_models_match_litert() {
    let dir = root().join("models");
    let mut failures = Vec::new();
    // The dynamic-range model mixes hybrid kernels and float ops (LiteRT's
    // float fixture tolerance); the others are integer end to end.
    for (stem, tol) in [
        ("digits_cnn_int8", EXACT),
        ("h_qat_int8_int8io", EXACT),
        ("ops_coverage_int8", EXACT),
        ("b_ptq_dynamic_range", Tol { lsb: 0, abs: 1e-5 }),
    ] {
        let r = check_model(&dir.join(format!("{stem}.tflite")), &numbered(&dir, stem, "input"), &numbered(&dir, stem, "output"), tol);
        if let Err(e) = r {
            failures.push(format!("{stem}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every model of `tests/fixtures/int8/manifest.json`, within the
/// tolerance its entry states (zero for all but the int16 LOGISTIC/TANH
/// and dynamic-range models; `tolerance_note` says why).
#[test]
fn int8_fixtures_match_litert() {
    let dir = root().join("int8");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("int8/manifest.json")).unwrap();
    let models = manifest["models"].as_array().unwrap();
    assert!(models.len() >= 100, "only {} int8 fixtures", models.len());
    let mut failures = Vec::new();
    for e in models {
        let file = e["file"].as_str().unwrap();
        let files = |k: &str| -> Vec<PathBuf> { e[k].as_array().unwrap().iter().map(|f| dir.join(f.as_str().unwrap())).collect() };
        let tol = Tol { lsb: e["int_tolerance"].as_i64().unwrap_or(0), abs: e["float_tolerance"].as_f64().unwrap_or(0.0) as f32 };
        if let Err(err) = check_model(&dir.join(file), &files("input_files"), &files("output_files"), tol) {
            failures.push(format!("{file}: {err}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} models differ from LiteRT:\n{}", failures.len(), models.len(), failures.join("\n"));
}

// ---------------------------------------------------------------- arithmetic

#[test]
fn quantize_multiplier_edges() {
    assert_eq!(fx::quantize_multiplier(0.0), (0, 0));
    assert_eq!(fx::quantize_multiplier(0.5), (1 << 30, 0));
    assert_eq!(fx::quantize_multiplier(1.0), (1 << 30, 1));
    assert_eq!(fx::quantize_multiplier(0.25), (1 << 30, -1));
    // Rounds up to 2^31: halved, exponent bumped.
    assert_eq!(fx::quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
    // Below 2^-31 of range: flushed to zero.
    assert_eq!(fx::quantize_multiplier(1e-12), (0, 0));
    let (m, s) = fx::quantize_multiplier(0.0023);
    assert!((m as f64 * 2f64.powi(s - 31) - 0.0023).abs() < 1e-12);
    // Negative (leaky relu with negative alpha).
    let (m, s) = fx::quantize_multiplier(-0.3);
    assert!(m < 0 && (m as f64 * 2f64.powi(s - 31) + 0.3).abs() < 1e-9);
}

#[test]
fn doubling_high_mul_edges() {
    assert_eq!(fx::srdhm(i32::MIN, i32::MIN), i32::MAX);
    assert_eq!(fx::srdhm(i32::MAX, i32::MAX), i32::MAX - 1);
    assert_eq!(fx::srdhm(1 << 30, 1 << 30), 1 << 29);
    // Ties round up (toward +inf), as ARM VQRDMULH: +-0.5 -> 1 and 0.
    assert_eq!(fx::srdhm(1, 1 << 30), 1);
    assert_eq!(fx::srdhm(-1, 1 << 30), 0);
    assert_eq!(fx::srdhm(-3, 1 << 30), -1);
    assert_eq!(fx::srdhm(i32::MIN, i32::MAX), -i32::MAX);
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul` written as in C++ (nudge,
/// then division truncating toward zero): our shift form must agree.
#[test]
fn doubling_high_mul_matches_gemmlowp_formula() {
    fn gemmlowp(a: i32, b: i32) -> i32 {
        if a == b && a == i32::MIN {
            return i32::MAX;
        }
        let ab = a as i64 * b as i64;
        let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
        ((ab + nudge) / (1i64 << 31)) as i32
    }
    let mut s = 0x9E37_79B9u64;
    let edges = [0, 1, -1, 2, -2, 3, -3, 1 << 30, -(1 << 30), (1 << 30) + 1, i32::MAX, i32::MIN, i32::MIN + 1, 46341, -46341];
    for &a in &edges {
        for &b in &edges {
            assert_eq!(fx::srdhm(a, b), gemmlowp(a, b), "{a} * {b}");
        }
    }
    for _ in 0..200_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let (a, b) = ((s as i32) >> (s >> 40 & 31), (s >> 32) as i32);
        assert_eq!(fx::srdhm(a, b), gemmlowp(a, b), "{a} * {b}");
    }
}

#[test]
fn rounding_divide_by_pot_edges() {
    for (x, e, want) in [(5, 1, 3), (-5, 1, -3), (3, 1, 2), (-3, 1, -2), (1, 1, 1), (-1, 1, -1), (2, 2, 1), (-2, 2, -1), (-6, 2, -2), (7, 0, 7)] {
        assert_eq!(fx::rdbpot(x, e), want, "rdbpot({x}, {e})");
    }
    assert_eq!(fx::rdbpot(i32::MAX, 31), 1);
    assert_eq!(fx::rdbpot(i32::MIN, 31), -1);
    assert_eq!(fx::rdbpot(i32::MIN, 1), i32::MIN / 2);
}

#[test]
fn multiply_by_quantized_multiplier_edges() {
    let (m, s) = fx::quantize_multiplier(0.5);
    for x in [0, 1, -1, 2, 3, -3, 1000, -1001, i32::MAX, i32::MIN + 1] {
        // Halving with shift 0 is one SRDHM: ties round up.
        let want = ((x as i64 + 1) >> 1) as i32;
        assert_eq!(fx::mbqm(x, m, s), want, "x = {x}");
    }
    // Left shifts (multiplier > 1) wrap like the C++ kernel's int32 multiply.
    let (m, s) = fx::quantize_multiplier(3.0);
    assert_eq!(fx::mbqm(100, m, s), 300);
    assert_eq!(fx::mbqm(-7, m, s), -21);
    // With a right shift the second rounding (RoundingDivideByPOT) takes
    // ties away from zero: 0.25 = 2^30 * 2^(-1-31).
    let (m, s) = fx::quantize_multiplier(0.25);
    assert_eq!((m, s), (1 << 30, -1));
    assert_eq!((fx::mbqm(3, m, s), fx::mbqm(2, m, s), fx::mbqm(-2, m, s), fx::mbqm(-6, m, s)), (1, 1, -1, -2));
    // Double rounding (LiteRT's default build, TFLITE_SINGLE_ROUNDING=0):
    // 1 * 0.25 rounds to 0.5 -> 1 in SRDHM, then 0.5 -> 1 in the shift,
    // where a single rounding of 0.25 would give 0; -1 gives -0.5 -> 0.
    assert_eq!(fx::mbqm(1, 1 << 30, -1), 1);
    assert_eq!(fx::mbqm(-1, 1 << 30, -1), 0);
    // int64 accumulators (16x8): a 16-bit reduced multiplier, one rounding.
    let (m, s) = fx::quantize_multiplier(0.5);
    assert_eq!(fx::mbqm64(1 << 40, 1 << 30, -10), 1 << 29);
    assert_eq!(fx::mbqm64(-3, m, s), -1);
    assert_eq!(fx::mbqm64(3, m, s), 2);
}

#[test]
fn activation_ranges() {
    // RELU6 on scale 0.05, zero point -128: [zp, zp + 120].
    assert_eq!(fx::activation_range(3, 0.05, -128, -128, 127), Some((-128, -8)));
    assert_eq!(fx::activation_range(1, 0.1, 10, -128, 127), Some((10, 127)));
    assert_eq!(fx::activation_range(2, 0.001, 0, -128, 127), Some((-128, 127)));
    assert_eq!(fx::activation_range(0, 1.0, 0, -32768, 32767), Some((-32768, 32767)));
    assert_eq!(fx::activation_range(9, 1.0, 0, -128, 127), None);
}

/// Corrupted integer models (random byte flips in the flatbuffer, weights
/// and quantization parameters) must load, plan and run or fail with an
/// error, never panic.
#[test]
fn corrupted_int8_models_do_not_panic() {
    let dir = root().join("int8");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut state = 0x1234_5678_9ABC_DEF1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0;
    for e in manifest["models"].as_array().unwrap() {
        let file = e["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let inputs: Vec<Value> = e["input_files"].as_array().unwrap().iter().map(|f| load(&dir.join(f.as_str().unwrap()))).collect();
        for round in 0..150 {
            let mut b = bytes.clone();
            for _ in 0..(1 + round % 4) {
                let i = (next() as usize) % b.len();
                b[i] ^= 1 << (next() % 8);
            }
            let inputs = inputs.clone();
            let r = std::panic::catch_unwind(move || {
                if let Ok(m) = modelpress::load(&b) {
                    if let Ok(mut eng) = Engine::new(&m) {
                        let _ = eng.run(inputs);
                        return true;
                    }
                }
                false
            });
            match r {
                Ok(ran) => runs += ran as usize,
                Err(_) => panic!("{file}: a corrupted copy (round {round}) panicked"),
            }
        }
    }
    assert!(runs > 100, "only {runs} corrupted models ran at all");
}

/// The fast (fp32, XNNPACK-style) requantization: switched on for the conv,
/// depthwise and FC nodes, close to the exact path (one step per requant
/// at most, so final outputs within a few steps and the same class), and
/// switching it off restores the exact results bit for bit.
#[test]
fn fast_requantization_stays_close_to_exact() {
    let model = common::model("digits_cnn_int8.tflite");
    // The fixture has int8 I/O: quantize the float test images with its
    // input parameters.
    let sg = &model.subgraphs[0];
    let q = sg.tensors[sg.inputs[0]].quant.clone().expect("quantized input");
    let (scale, zp) = (q.scale[0], q.zero_point[0] as f32);
    let samples: Vec<Vec<Value>> = common::samples("data/digits_x_test.npy", 200)
        .into_iter()
        .map(|s| {
            let x = s[0].as_f32().unwrap().iter().map(|&v| (v / scale + zp).round().clamp(-128.0, 127.0) as i8).collect();
            vec![Value::new(s[0].shape.clone(), Data::I8(x)).unwrap()]
        })
        .collect();
    let mut exact = Engine::new(&model).unwrap();
    let mut fast = Engine::new(&model).unwrap();
    let switched = fast.set_fast_requant(true);
    let weighted = model.subgraphs[0]
        .ops
        .iter()
        .filter(|o| matches!(o.kind.name().as_str(), "CONV_2D" | "DEPTHWISE_CONV_2D" | "FULLY_CONNECTED" | "ADD" | "SUB"))
        .count();
    assert!(switched > 0 && switched == weighted, "fast mode on {switched} of {weighted} weighted nodes");
    let (mut same_class, mut differing, mut max_rel, mut total, mut sum_abs) = (0, 0usize, 0f32, 0usize, 0f64);
    for s in &samples {
        let e = exact.run(s.clone()).unwrap().remove(0);
        let f = fast.run(s.clone()).unwrap().remove(0);
        let (e, f) = (as_f32(&e), as_f32(&f));
        let argmax = |v: &[f32]| v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        same_class += (argmax(&e) == argmax(&f)) as usize;
        let range = e.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (a, b) in e.iter().zip(&f) {
            differing += (a != b) as usize;
            total += 1;
            sum_abs += (a - b).abs() as f64;
            max_rel = max_rel.max((a - b).abs() / range);
        }
    }
    assert!(same_class * 100 >= samples.len() * 99, "same class on {same_class} of {}", samples.len());
    // The output is a softmax, which magnifies a step in the logits: allow
    // a tenth of the range at worst, and a small mean difference.
    let mean_abs = sum_abs / total as f64;
    eprintln!("fast vs exact: {differing} of {total} output values differ, max {max_rel:.4} of range, mean |diff| {mean_abs:.4}, same class {same_class}/{}", samples.len());
    assert!(max_rel <= 0.1, "largest difference {max_rel} of the output range");
    assert!(mean_abs <= 0.5, "mean difference {mean_abs}");
    // Back to exact: bit-identical again.
    assert_eq!(fast.set_fast_requant(false), 0);
    for s in samples.iter().take(20) {
        assert_eq!(fast.run(s.clone()).unwrap(), exact.run(s.clone()).unwrap());
    }
}

fn as_f32(v: &Value) -> Vec<f32> {
    match &v.data {
        Data::F32(x) => x.clone(),
        Data::I8(x) => x.iter().map(|&q| q as f32).collect(),
        Data::U8(x) => x.iter().map(|&q| q as f32).collect(),
        d => panic!("unexpected output type {}", d.dtype()),
    }
}

/// Weights are held once: constants whose every reader packed them at plan
/// time are freed (float CONV_2D, int8 CONV_2D / DEPTHWISE / FC), and
/// `memory()` reports constants, prepared state and peak activations.
#[test]
fn packed_weights_are_held_once() {
    for name in ["digits_cnn_int8.tflite", "digits_cnn_float32.tflite"] {
        let model = common::model(name);
        let sg = &model.subgraphs[0];
        // Bytes of the constants read by conv / depthwise / FC nodes.
        let weighted: usize = sg
            .ops
            .iter()
            .filter(|o| matches!(o.kind.name().as_str(), "CONV_2D" | "DEPTHWISE_CONV_2D" | "FULLY_CONNECTED"))
            .flat_map(|o| o.inputs.iter().skip(1).flatten())
            .map(|&t| model.buffers.get(sg.tensors[t].buffer).map_or(0, |b| b.data.len()))
            .sum();
        let mut e = Engine::new(&model).unwrap();
        let before = e.memory();
        assert_eq!(before.peak_activations, 0);
        let all_consts: usize = model.buffers.iter().map(|b| b.data.len()).sum();
        let conv_only = name.contains("float"); // float FC weights stay constants (read at run time)
        let freed = all_consts - before.constants;
        assert!(weighted > 0 && freed > 0, "{name}: nothing freed ({before:?})");
        if !conv_only {
            assert!(freed >= weighted * 9 / 10, "{name}: freed {freed} of {weighted} weight bytes ({before:?})");
        }
        assert!(before.prepared > 0, "{name}: {before:?}");
        let x = match sg.tensors[sg.inputs[0]].dtype {
            modelpress::ir::DType::I8 => Value::new(vec![1, 16, 16, 1], Data::I8(vec![3; 256])).unwrap(),
            _ => Value::new(vec![1, 16, 16, 1], Data::F32(vec![0.25; 256])).unwrap(),
        };
        e.run(vec![x]).unwrap();
        let after = e.memory();
        assert!(after.peak_activations >= 256, "{name}: {after:?}");
        // Constants stay freed; prepared state may grow by run scratch (im2col).
        assert_eq!(after.constants, before.constants, "{name}");
        assert!(after.prepared >= before.prepared, "{name}: {after:?}");
    }
}
