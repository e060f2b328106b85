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

/// Apply a recipe, write the result and build the report (sizes, per-layer
/// table, fidelity on up to 32 of the calibration samples).
pub fn optimize_with_report(
    model: &Model,
    model_bytes: &[u8],
    recipe: &crate::passes::Recipe,
    ctx: &mut crate::passes::Context,
) -> Result<(Vec<u8>, crate::passes::report::Report)> {
    // Mismatched calibration data is refused before any work, naming the input.
    if !ctx.calibration.is_empty() {
        if let Ok(engine) = crate::engine::Engine::new(model) {
            crate::passes::calibrate::check_samples(&engine, &ctx.calibration)?;
        }
    }
    let now = crate::clock::now_ms();
    let out = crate::passes::optimize(model, recipe, ctx)?;
    let t_opt = crate::clock::now_ms() - now;
    let bytes = tflite::write_with(&out, tflite::WriteOptions { external_buffers: recipe.external_buffers })?;
    let t_write = crate::clock::now_ms() - now - t_opt;
    (ctx.progress)("report", 0.0);
    let mut report = crate::passes::report::build(model, model_bytes, &out, &bytes, &ctx.calibration, 32)?;
    (ctx.progress)("report", 1.0);
    report.float_ops = std::mem::take(&mut ctx.float_ops);
    report.warnings.extend(std::mem::take(&mut ctx.warnings));
    report.phases_ms.insert("optimize".into(), t_opt);
    report.phases_ms.insert("write".into(), t_write);
    report.phases_ms.insert("report".into(), crate::clock::now_ms() - now - t_opt - t_write);
    Ok((bytes, report))
}
