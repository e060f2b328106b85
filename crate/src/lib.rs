//! modelpress: model optimization that runs where the model runs.
//!
//! Layers (dependencies flow one way):
//! `ir` -> `kernels` -> `engine` -> `passes`; `formats` at the edge;
//! `bindings` (wasm) a thin layer on top.

pub mod error;
pub mod formats;
pub mod engine;
pub mod ir;
pub mod kernels;

pub use error::{Error, Result};
