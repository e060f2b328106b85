//! Kernels: pure functions on slices. Each SIMD kernel has a scalar twin
//! (its reference in tests); dispatch happens in one place.
pub mod conv;
pub mod gemm;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod gemm_simd;
pub mod elementwise;
pub mod kmeans;
pub mod int8;
