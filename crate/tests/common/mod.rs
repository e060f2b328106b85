//! Helpers shared by the integration tests (fixtures from tests/fixtures).
#![allow(dead_code)]

use std::path::PathBuf;

use modelpress::engine::Value;
use modelpress::formats::npy;
use modelpress::ir::Model;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub fn model(name: &str) -> Model {
    modelpress::load(&std::fs::read(root().join("models").join(name)).unwrap()).unwrap()
}

/// The first `n` rows of a .npy batch as single-sample input sets.
pub fn samples(file: &str, n: usize) -> Vec<Vec<Value>> {
    let v = npy::read(&std::fs::read(root().join(file)).unwrap()).unwrap();
    v.split_batch().unwrap().into_iter().take(n).map(|s| vec![s]).collect()
}
