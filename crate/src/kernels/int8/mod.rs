//! Integer kernels with TFLite's exact arithmetic (int8, int16x8, hybrid).
//!
//! - `fixedpoint`: requantization arithmetic and gemmlowp fixed-point math;
//! - `requant`: per-channel requantization parameters (+ SIMD lane constants);
//! - `gemm`, `dwconv`, `add`: weight packing and the scalar reference
//!   kernels, the test oracles of the SIMD twins and the native build's
//!   kernels;
//! - `simd128`: the WebAssembly SIMD128 twins (only in wasm32 builds with
//!   `simd128`);
//! - `relaxed`: the relaxed-SIMD GEMM (only in builds with `relaxed-simd`).
//!
//! Kernel choice happens in this file only: [`gemm`], [`dwconv`], [`add`] below
//! pick the SIMD twin when the build has it and the scalar one otherwise; the
//! GEMM's weight layout ([`preferred_layout`]) decides between the relaxed
//! and SIMD128 GEMMs. Callers never name a kernel variant.

pub mod add;
pub mod dwconv;
pub mod dwquad;
pub mod fixedpoint;
pub mod gemm;
pub mod im2col;
pub mod quantize;
pub mod requant;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
pub mod relaxed;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

pub use add::{AddParams, FastAdd};
pub use dwconv::{DwGeom, PackedDw};
pub use dwquad::PackedDwQ;
pub use gemm::{GemmOut, KResult, Layout, PackedW};
pub use quantize::QuantizeParams;
pub use requant::Requant;

/// Name of the kernel set this build dispatches to.
pub const KERNELS: &str = if cfg!(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd")) {
    "relaxed-simd"
} else if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
    "simd128"
} else {
    "scalar"
};

/// The GEMM weight layout of this build: quads when the relaxed dot is
/// exact on this engine (see `relaxed.rs`), pairs otherwise.
pub fn preferred_layout() -> Layout {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
    if let Some(l) = relaxed::quad_layout() {
        return l;
    }
    Layout::Pairs
}

/// The GEMM kernel in use: "relaxed-dot", "simd128-dot16" or "scalar".
pub fn gemm_kernel() -> &'static str {
    match (preferred_layout(), KERNELS) {
        (Layout::Quads { .. }, _) => "relaxed-dot",
        (_, "scalar") => "scalar",
        _ => "simd128-dot16",
    }
}

/// `out[m][n] = requant(bias[n] + Σ_k a[m][k] w[n][k])` (see `gemm.rs`).
pub fn gemm(m: usize, a: &[i8], lda: usize, w: &PackedW, out: GemmOut) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
    return relaxed::gemm(m, a, lda, w, out);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(target_feature = "relaxed-simd")))]
    return simd128::gemm(m, a, lda, w, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return gemm::gemm(m, a, lda, w, out);
}

/// Elementwise int8 ADD/SUB of equal-length arrays (see `add.rs`).
pub fn add(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::add(p, a, b, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return add::add(p, a, b, out);
}

/// The fast (XNNPACK-style) int8 ADD/SUB of equal-length arrays (see `add.rs`).
pub fn add_fast(p: &FastAdd, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::add_fast(p, a, b, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return add::add_fast(p, a, b, out);
}

/// Depthwise convolution on the tap-quad packing (see `dwquad.rs`): the
/// relaxed-dot kernel in the relaxed build, the scalar reference elsewhere.
pub fn dwconv_quads(x: &[u8], g: &DwGeom, w: &PackedDwQ, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
    return relaxed::dwconv(x, g, w, rq, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd")))]
    return dwquad::dwconv(x, g, w, rq, out);
}

/// im2col rows of one image (see `im2col.rs`).
pub fn im2col(g: &im2col::Patches, img: &[i8], p0: usize, rows: usize, kp: usize, dst: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return im2col::im2col_simd(g, img, p0, rows, kp, dst);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return im2col::im2col(g, img, p0, rows, kp, dst);
}

/// Float32 to int8 with one scale and zero point (see `quantize.rs`).
pub fn quantize(p: &QuantizeParams, x: &[f32], out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::quantize(p, x, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return quantize::quantize(p, x, out);
}

/// Depthwise convolution of one padded image (see `dwconv.rs`).
pub fn dwconv(x: &[i16], g: &DwGeom, w: &PackedDw, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::dwconv(x, g, w, rq, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return dwconv::dwconv(x, g, w, rq, out);
}

/// One GEMM micro-benchmark measurement (see [`bench_gemm`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct GemmBench {
    /// Milliseconds for all iterations (packing excluded).
    pub ms: f64,
    /// Multiply-accumulates done.
    pub macs: f64,
    /// The kernel that ran ([`gemm_kernel`]).
    pub kernel: &'static str,
    /// Sum of the outputs (keeps the work observable).
    pub checksum: i64,
}

/// Time `iters` int8 GEMMs `[m × k] · [k × n]` with per-channel fixed-point
/// requantization to int8, as a 1x1 convolution runs them: weights packed
/// once before the timed loop, deterministic pseudo-random data.
/// `fast` selects the fp32 requantization epilogue instead of the exact one.
pub fn bench_gemm(m: usize, k: usize, n: usize, iters: usize, fast: bool) -> KResult<GemmBench> {
    if m == 0 || k == 0 || n == 0 || m.saturating_mul(k).max(n.saturating_mul(k)) > 1 << 26 {
        return Err(format!("bench_gemm: shape {m}x{k}x{n} is empty or too large"));
    }
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let a: Vec<i8> = (0..m * k).map(|_| next() as i8).collect();
    let w: Vec<i8> = (0..n * k).map(|_| (next() % 255) as i8).collect();
    let bias: Vec<i32> = (0..n).map(|_| (next() % 20001) as i32 - 10000).collect();
    let packed = PackedW::pack(n, k, &w, Some(&bias), 3)?;
    let real: Vec<f64> = (0..n).map(|c| 0.0004 + c as f64 * 1e-6).collect();
    let (mult, shift): (Vec<i32>, Vec<i32>) = real.iter().map(|&r| fixedpoint::quantize_multiplier(r)).unzip();
    let mut rq = Requant::fixed(mult, shift, -5, -128, 127).with_fp32(real.iter().map(|&r| r as f32).collect());
    rq.set_fast(fast);
    let mut out = vec![0i8; m * n];
    let t0 = crate::clock::now_ms();
    for _ in 0..iters {
        gemm(m, &a, k, &packed, GemmOut::I8 { out: &mut out, ldc: n, rq: &rq })?;
    }
    let ms = crate::clock::now_ms() - t0;
    let checksum = out.iter().map(|&v| v as i64).sum();
    Ok(GemmBench { ms, macs: (m * k * n) as f64 * iters as f64, kernel: gemm_kernel(), checksum })
}
