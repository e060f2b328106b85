//! modelpress: model optimization that runs where the model runs.
//!
//! Layers (dependencies flow one way):
//! `ir` -> `kernels` -> `engine` -> `passes`; `formats` at the edge;
//! `bindings` (wasm) a thin layer on top.

pub mod api;
mod clock;
pub mod engine;
pub mod error;
pub mod formats;
pub mod inspect;
pub mod ir;
pub mod kernels;
pub mod passes;

#[cfg(target_arch = "wasm32")]
mod bindings;

pub use api::{load, save};
pub use error::{Error, Result};
