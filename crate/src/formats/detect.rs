//! Recognize what a file is before parsing it, so a wrong file gets a clear
//! message ("this is a PNG image") instead of a parse error.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tflite,
    Onnx,
}

/// Name what the bytes are, or say why they are not a model we read.
pub fn detect(buf: &[u8]) -> Result<Format> {
    if buf.is_empty() {
        return Err(Error::InvalidModel("the file is empty".into()));
    }
    if super::tflite::has_identifier(buf) {
        return Ok(Format::Tflite);
    }
    let what = if buf.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("a PNG image")
    } else if buf.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("a JPEG image")
    } else if buf.starts_with(b"GIF8") {
        Some("a GIF image")
    } else if buf.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive (a Keras .keras/.zip or SavedModel archive? convert it to .tflite first)")
    } else if buf.starts_with(&[0x1f, 0x8b]) {
        Some("a gzip file (decompress it first)")
    } else if buf.starts_with(b"\x93NUMPY") {
        Some("a NumPy .npy array, not a model")
    } else if buf.starts_with(b"\x89HDF") {
        Some("an HDF5 file (a Keras .h5 model? convert it to .tflite first)")
    } else if buf.starts_with(b"%PDF") {
        Some("a PDF document")
    } else if buf.starts_with(b"{") || buf.starts_with(b"[") {
        Some("a JSON/text file")
    } else {
        None
    };
    if let Some(w) = what {
        return Err(Error::UnsupportedFormat(format!("this file is {w}, not a .tflite model")));
    }
    if looks_like_onnx(buf) {
        return Err(Error::UnsupportedFormat(
            "this is an ONNX model; ONNX support is not there yet (only .tflite for now)".into(),
        ));
    }
    Err(Error::InvalidModel(
        "not a TFLite model: the file identifier \"TFL3\" is missing at bytes 4..8 (truncated or not a .tflite file)"
            .into(),
    ))
}

/// ONNX ModelProto: protobuf starting with ir_version (field 1, varint) and
/// containing an opset_import / graph field; checked loosely.
fn looks_like_onnx(buf: &[u8]) -> bool {
    if buf.len() < 4 || buf[0] != 0x08 {
        return false;
    }
    // Skip the varint ir_version, then expect another field tag of a known
    // ModelProto field (2 producer_name, 3 producer_version, 7 graph, 8 opset).
    let mut i = 1;
    while i < buf.len() && buf[i] & 0x80 != 0 {
        i += 1;
    }
    i += 1;
    matches!(buf.get(i), Some(&t) if matches!(t, 0x12 | 0x1a | 0x22 | 0x2a | 0x3a | 0x42))
}
