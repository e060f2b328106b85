//! File formats at the edge: bytes <-> `ir::Model`.

pub mod detect;
pub mod npy;
pub mod tflite;
