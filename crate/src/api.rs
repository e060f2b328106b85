//! Format-neutral entry points: bytes in, bytes out.

use crate::error::Result;
use crate::formats::detect::{detect, Format};
use crate::formats::tflite;
use crate::ir::Model;

/// Read a model file of any supported format.
pub fn load(bytes: &[u8]) -> Result<Model> {
    match detect(bytes)? {
        Format::Tflite => tflite::read(bytes),
        Format::Onnx => Err(crate::Error::UnsupportedFormat("ONNX support is not there yet".into())),
    }
}

/// Write a model as `.tflite`.
pub fn save(model: &Model) -> Result<Vec<u8>> {
    tflite::write(model)
}

/// Apply a recipe and write the result (the original model is untouched).
pub fn optimize_to_bytes(
    model: &Model,
    recipe: &crate::passes::Recipe,
    ctx: &mut crate::passes::Context,
) -> Result<Vec<u8>> {
    let out = crate::passes::optimize(model, recipe, ctx)?;
    tflite::write_with(&out, tflite::WriteOptions { external_buffers: recipe.external_buffers })
}
