//! modelpress: model optimization that runs where the model runs.
//!
//! Layers (dependencies flow one way):
//! `ir` -> `kernels` -> `engine` -> `passes`; `formats` at the edge;
//! `bindings` (wasm) a thin layer on top; `par` (worker threads of the
//! threaded wasm build) under the kernels.
#![cfg_attr(all(target_arch = "wasm32", target_feature = "atomics"), feature(stdarch_wasm_atomic_wait))]

pub mod api;
mod clock;
pub mod engine;
pub mod error;
pub mod formats;
pub mod inspect;
pub mod ir;
pub mod kernels;
pub mod par;
pub mod passes;

#[cfg(target_arch = "wasm32")]
mod bindings;

pub use api::{load, save};
pub use error::{Error, Result};
