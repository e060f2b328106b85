//! The float engine against LiteRT: every fixture model the manifest marks
//! as float-runnable must plan and run here, and match the outputs LiteRT's
//! reference kernels recorded (tests/fixtures/make_fixtures.py) within
//! 1e-4 relative or 1e-5 absolute.

use std::path::PathBuf;

use modelpress::engine::{Data, Engine};
use modelpress::formats::npy;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models")
}

fn manifest() -> serde_json::Value {
    let s = std::fs::read_to_string(dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&s).expect("manifest parses")
}

/// Max violation of |a-b| <= atol + rtol*|b| (0 when within tolerance).
fn check(name: &str, got: &[f32], want: &[f32]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{name}: {} elements, LiteRT has {}", got.len(), want.len()));
    }
    let (rtol, atol) = (1e-4f32, 1e-5f32);
    let mut worst = (0.0f32, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let excess = (g - w).abs() - (atol + rtol * w.abs());
        if excess > worst.0 || g.is_nan() != w.is_nan() {
            worst = (excess.max(f32::MIN_POSITIVE), i);
        }
    }
    if worst.0 > 0.0 {
        let i = worst.1;
        return Err(format!("{name}: element {i}: got {} LiteRT {} (abs err {})", got[i], want[i], (got[i] - want[i]).abs()));
    }
    Ok(())
}

#[test]
fn float_models_match_litert() {
    let m = manifest();
    let mut ran = 0;
    let mut failures = Vec::new();
    for e in m["models"].as_array().unwrap() {
        let file = e["file"].as_str().unwrap();
        let runnable = e["runnable_float"].as_bool().unwrap_or(false);
        let ins = e["input_files"].as_array().cloned().unwrap_or_default();
        let outs = e["output_files"].as_array().cloned().unwrap_or_default();
        if !runnable || ins.is_empty() || outs.is_empty() {
            continue;
        }
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let model = modelpress::load(&bytes).unwrap_or_else(|err| panic!("{file}: {err}"));
        let mut engine = match Engine::new(&model) {
            Ok(x) => x,
            Err(err) => {
                failures.push(format!("{file}: cannot plan: {err}"));
                continue;
            }
        };
        let inputs: Vec<_> = ins
            .iter()
            .map(|f| npy::read(&std::fs::read(dir().join(f.as_str().unwrap())).unwrap()).unwrap())
            .collect();
        let got = match engine.run(inputs) {
            Ok(x) => x,
            Err(err) => {
                failures.push(format!("{file}: run failed: {err}"));
                continue;
            }
        };
        for (k, f) in outs.iter().enumerate() {
            let want = npy::read(&std::fs::read(dir().join(f.as_str().unwrap())).unwrap()).unwrap();
            let g = &got[k];
            if g.shape != want.shape {
                failures.push(format!("{file} output {k}: shape {:?}, LiteRT {:?}", g.shape, want.shape));
                continue;
            }
            let r = match (&g.data, &want.data) {
                (Data::F32(a), Data::F32(b)) => check(&format!("{file} output {k}"), a, b),
                (a, b) if a == b => Ok(()),
                (a, b) => Err(format!("{file} output {k}: {:?} vs LiteRT {:?} differ", a.dtype(), b.dtype())),
            };
            if let Err(msg) = r {
                failures.push(msg);
            }
        }
        ran += 1;
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(ran >= 5, "only {ran} float fixtures ran");
}

#[test]
fn unsupported_ops_are_named() {
    let m = manifest();
    for e in m["models"].as_array().unwrap() {
        let file = e["file"].as_str().unwrap();
        if e["custom_ops"].as_array().is_none_or(|c| c.is_empty()) {
            continue;
        }
        let model = modelpress::load(&std::fs::read(dir().join(file)).unwrap()).unwrap();
        let err = Engine::new(&model).err().expect("a custom op cannot run").to_string();
        assert!(err.contains("CUSTOM(") && err.contains("node "), "{file}: {err}");
    }
}
