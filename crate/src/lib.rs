//! modelpress: model optimization that runs where the model runs.
//!
//! Layers (dependencies flow one way):
//! `ir` -> `kernels` -> `engine` -> `passes`; `formats` at the edge;
//! `bindings` (wasm) a thin layer on top.

pub mod error;
pub mod formats;
pub mod ir;

pub use error::{Error, Result};
