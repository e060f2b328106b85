//! The core in a real browser (headless Chromium via wasm-bindgen-test):
//! the same reader, writer and engine the page and the npm package run.
#![cfg(target_arch = "wasm32")]

use modelpress::engine::{Data, Engine};
use modelpress::formats::{npy, tflite};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MLP: &[u8] = include_bytes!("../../tests/fixtures/models/tiny_mlp.tflite");
const MLP_IN: &[u8] = include_bytes!("../../tests/fixtures/models/tiny_mlp.input0.npy");
const MLP_OUT: &[u8] = include_bytes!("../../tests/fixtures/models/tiny_mlp.output0.npy");
const DIGITS: &[u8] = include_bytes!("../../tests/fixtures/models/digits_cnn_float32.tflite");

#[wasm_bindgen_test]
fn built_with_simd128() {
    // Only the scalar build (scripts/build.sh, pkg/web-scalar) turns simd128 off, on purpose.
    let scalar = option_env!("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS").is_some_and(|f| f.contains("-simd128"));
    assert_eq!(cfg!(target_feature = "simd128"), !scalar, "the wasm build must enable simd128 (unless built scalar on purpose)");
}

#[wasm_bindgen_test]
fn read_write_round_trip_is_stable() {
    for bytes in [MLP, DIGITS] {
        let m = modelpress::load(bytes).unwrap();
        let out = tflite::write(&m).unwrap();
        let m2 = tflite::read(&out).unwrap();
        assert_eq!(m, m2);
        assert_eq!(tflite::write(&m2).unwrap(), out);
    }
}

#[wasm_bindgen_test]
fn runs_and_matches_litert() {
    let m = modelpress::load(MLP).unwrap();
    let mut e = Engine::new(&m).unwrap();
    let y = e.run(vec![npy::read(MLP_IN).unwrap()]).unwrap();
    let want = npy::read(MLP_OUT).unwrap();
    let (Data::F32(a), Data::F32(b)) = (&y[0].data, &want.data) else { panic!("float outputs") };
    assert_eq!(a.len(), b.len());
    for (x, w) in a.iter().zip(b) {
        assert!((x - w).abs() <= 1e-5 + 1e-4 * w.abs(), "{x} vs LiteRT {w}");
    }
}

#[wasm_bindgen_test]
fn garbage_is_an_error_not_a_trap() {
    let mut b = DIGITS.to_vec();
    for i in (0..b.len()).step_by(97) {
        b[i] ^= 0x5a;
    }
    let _ = modelpress::load(&b).map(|m| tflite::write(&m));
    assert!(modelpress::load(&DIGITS[..DIGITS.len() / 3]).is_err());
    assert!(modelpress::load(b"not a model at all").is_err());
}
