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

use core::sync::atomic::{AtomicBool, Ordering};

use crate::par::{self, SharedMut};

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

/// A depthwise kernel on one block of output rows (its padded-input
/// window, geometry and output rows).
type DwBlock<'a, T> = dyn Fn(&[T], &DwGeom, &mut [i8]) -> KResult<()> + Sync + 'a;
/// An elementwise kernel on one chunk of its inputs and output.
type ZipChunk<'a, A, B> = dyn Fn(&[A], &[B], &mut [i8]) -> KResult<()> + Sync + 'a;

/// Below this many multiply-adds a kernel call stays on one thread (the
/// fork-join costs a few microseconds).
const PAR_MIN_MACS: usize = 1 << 19;

/// `out[m][n] = requant(bias[n] + Σ_k a[m][k] w[n][k])` (see `gemm.rs`).
/// With worker threads (threaded build), large GEMMs are split by rows.
pub fn gemm(m: usize, a: &[i8], lda: usize, w: &PackedW, out: GemmOut) -> KResult<()> {
    let threads = par::threads();
    if threads > 1 && m >= 2 * gemm::MR && m.saturating_mul(w.n).saturating_mul(w.k) >= PAR_MIN_MACS {
        gemm::check(m, a, lda, w, &out)?;
        return gemm_rows(threads, m, a, lda, w, out);
    }
    gemm_one(m, a, lda, w, out)
}

/// The GEMM split into row blocks (whole tiles) run as parallel tasks;
/// `gemm::check` has passed.
fn gemm_rows(threads: usize, m: usize, a: &[i8], lda: usize, w: &PackedW, out: GemmOut) -> KResult<()> {
    let tiles = m.div_ceil(gemm::MR);
    // A few tasks per thread, so that uneven progress balances out.
    let per = tiles.div_ceil((threads * crate::par::TASKS_PER_THREAD).min(tiles)) * gemm::MR;
    let tasks = m.div_ceil(per);
    let failed = AtomicBool::new(false);
    let rows = |i: usize| (i * per, ((i + 1) * per).min(m));
    match out {
        GemmOut::I8 { out, ldc, rq } if ldc >= w.n => {
            let p = SharedMut(out.as_mut_ptr());
            par::run(tasks, &|i| {
                let (r0, r1) = rows(i);
                // Safety: `check` bounded `out` to `(m - 1) * ldc + n` values;
                // with `ldc >= n` the tasks' row ranges are disjoint.
                let o = unsafe { core::slice::from_raw_parts_mut(p.get().add(r0 * ldc), (r1 - r0 - 1) * ldc + w.n) };
                if gemm_one(r1 - r0, &a[r0 * lda..], lda, w, GemmOut::I8 { out: o, ldc, rq }).is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
            });
        }
        GemmOut::I32 { out, ldc } if ldc >= w.n => {
            let p = SharedMut(out.as_mut_ptr());
            par::run(tasks, &|i| {
                let (r0, r1) = rows(i);
                // Safety: as above.
                let o = unsafe { core::slice::from_raw_parts_mut(p.get().add(r0 * ldc), (r1 - r0 - 1) * ldc + w.n) };
                if gemm_one(r1 - r0, &a[r0 * lda..], lda, w, GemmOut::I32 { out: o, ldc }).is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
            });
        }
        out => return gemm_one(m, a, lda, w, out),
    }
    if failed.load(Ordering::Relaxed) {
        return Err("gemm: a row block failed its checks".into());
    }
    Ok(())
}

/// Run a depthwise kernel over blocks of output rows as parallel tasks when
/// the build has worker threads and the layer is large enough; `one` runs
/// the kernel on one block (its own padded-input window and output rows).
fn dw_rows<T: Sync>(
    x: &[T],
    g: &DwGeom,
    (cp, c): (usize, usize),
    out: &mut [i8],
    one: &DwBlock<'_, T>,
) -> KResult<()> {
    let threads = par::threads();
    let macs = g.oh.saturating_mul(g.ow).saturating_mul(c).saturating_mul(g.kh * g.kw);
    if threads == 1 || g.oh < 2 || macs < PAR_MIN_MACS / 2 {
        return one(x, g, out);
    }
    let per = g.oh.div_ceil((threads * crate::par::TASKS_PER_THREAD).min(g.oh));
    let tasks = g.oh.div_ceil(per);
    let row_in = g.wp * cp;
    let row_out = g.ow * c;
    let failed = AtomicBool::new(false);
    let p = SharedMut(out.as_mut_ptr());
    let out_len = out.len();
    par::run(tasks, &|i| {
        let (y0, y1) = (i * per, ((i + 1) * per).min(g.oh));
        let top = y0 * g.sh;
        let sub = DwGeom { hp: (y1 - y0 - 1) * g.sh + (g.kh - 1) * g.dh + 1, oh: y1 - y0, ..*g };
        let (xs, xe) = (top * row_in, (top + sub.hp) * row_in);
        let (os, oe) = (y0 * row_out, y1 * row_out);
        if xe > x.len() || oe > out_len {
            failed.store(true, Ordering::Relaxed);
            return;
        }
        // Safety: `oe <= out.len()`, and the tasks' output row ranges are disjoint.
        let o = unsafe { core::slice::from_raw_parts_mut(p.get().add(os), oe - os) };
        if one(&x[xs..xe], &sub, o).is_err() {
            failed.store(true, Ordering::Relaxed);
        }
    });
    if failed.load(Ordering::Relaxed) {
        // Rerun whole on this thread for the kernel's own error message.
        return one(x, g, out);
    }
    Ok(())
}

fn gemm_one(m: usize, a: &[i8], lda: usize, w: &PackedW, out: GemmOut) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
    return relaxed::gemm(m, a, lda, w, out);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(target_feature = "relaxed-simd")))]
    return simd128::gemm(m, a, lda, w, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return gemm::gemm(m, a, lda, w, out);
}

/// Elementwise int8 ADD/SUB of equal-length arrays (see `add.rs`).
pub fn add(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    zip_chunks(a, b, out, &|a, b, o| add_one(p, a, b, o))
}

/// Split an elementwise `out[i] = f(a[i], b[i])` into chunks over the
/// threads when the arrays are large (threaded build); `one` runs a chunk.
fn zip_chunks<A: Sync, B: Sync>(a: &[A], b: &[B], out: &mut [i8], one: &ZipChunk<'_, A, B>) -> KResult<()> {
    let threads = par::threads();
    let n = out.len();
    if threads == 1 || n < 1 << 15 || a.len() != n || b.len() != n {
        return one(a, b, out);
    }
    // Chunks of whole 16-value vectors.
    let per = n.div_ceil(threads * 2).div_ceil(16) * 16;
    let tasks = n.div_ceil(per);
    let failed = AtomicBool::new(false);
    let p = SharedMut(out.as_mut_ptr());
    par::run(tasks, &|i| {
        let (s, e) = (i * per, ((i + 1) * per).min(n));
        // Safety: `out` holds n values; the tasks' ranges are disjoint.
        let o = unsafe { core::slice::from_raw_parts_mut(p.get().add(s), e - s) };
        if one(&a[s..e], &b[s..e], o).is_err() {
            failed.store(true, Ordering::Relaxed);
        }
    });
    if failed.load(Ordering::Relaxed) {
        return one(a, b, out);
    }
    Ok(())
}

fn add_one(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::add(p, a, b, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return add::add(p, a, b, out);
}

/// The fast (XNNPACK-style) int8 ADD/SUB of equal-length arrays (see `add.rs`).
pub fn add_fast(p: &FastAdd, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    zip_chunks(a, b, out, &|a, b, o| add_fast_one(p, a, b, o))
}

fn add_fast_one(p: &FastAdd, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::add_fast(p, a, b, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return add::add_fast(p, a, b, out);
}

/// Depthwise convolution on the tap-quad packing (see `dwquad.rs`): the
/// relaxed-dot kernel in the relaxed build, the scalar reference elsewhere.
pub fn dwconv_quads(x: &[u8], g: &DwGeom, w: &PackedDwQ, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    // The kernel checks its own call; splitting needs the geometry checked first.
    if par::threads() > 1 {
        dwquad::check(x, g, w, rq, out)?;
    }
    dw_rows(x, g, (w.cp, w.c), out, &|x, g, out| dwconv_quads_one(x, g, w, rq, out))
}

fn dwconv_quads_one(x: &[u8], g: &DwGeom, w: &PackedDwQ, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
    return relaxed::dwconv(x, g, w, rq, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd")))]
    return dwquad::dwconv(x, g, w, rq, out);
}

/// im2col rows of one image (see `im2col.rs`); with worker threads, large
/// ones are split by rows.
pub fn im2col(g: &im2col::Patches, img: &[i8], p0: usize, rows: usize, kp: usize, dst: &mut [i8]) -> KResult<()> {
    let threads = par::threads();
    if threads == 1 || rows < 64 || rows.saturating_mul(kp) < 1 << 16 || dst.len() < rows.saturating_mul(kp) {
        return im2col_one(g, img, p0, rows, kp, dst);
    }
    let per = rows.div_ceil(threads * crate::par::TASKS_PER_THREAD);
    let tasks = rows.div_ceil(per);
    let failed = AtomicBool::new(false);
    let p = SharedMut(dst.as_mut_ptr());
    par::run(tasks, &|i| {
        let (r0, r1) = (i * per, ((i + 1) * per).min(rows));
        // Safety: `dst` holds `rows * kp` values (checked above); the tasks' row ranges are disjoint.
        let d = unsafe { core::slice::from_raw_parts_mut(p.get().add(r0 * kp), (r1 - r0) * kp) };
        if im2col_one(g, img, p0 + r0, r1 - r0, kp, d).is_err() {
            failed.store(true, Ordering::Relaxed);
        }
    });
    if failed.load(Ordering::Relaxed) {
        // Rerun on this thread for the kernel's own error message.
        return im2col_one(g, img, p0, rows, kp, dst);
    }
    Ok(())
}

fn im2col_one(g: &im2col::Patches, img: &[i8], p0: usize, rows: usize, kp: usize, dst: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return im2col::im2col_simd(g, img, p0, rows, kp, dst);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return im2col::im2col(g, img, p0, rows, kp, dst);
}

/// Float32 to int8 with one scale and zero point (see `quantize.rs`).
pub fn quantize(p: &QuantizeParams, x: &[f32], out: &mut [i8]) -> KResult<()> {
    zip_chunks(x, x, out, &|x, _, o| quantize_one(p, x, o))
}

fn quantize_one(p: &QuantizeParams, x: &[f32], out: &mut [i8]) -> KResult<()> {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd128::quantize(p, x, out);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return quantize::quantize(p, x, out);
}

/// Depthwise convolution of one padded image (see `dwconv.rs`).
pub fn dwconv(x: &[i16], g: &DwGeom, w: &PackedDw, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    // The kernel checks its own call; splitting needs the geometry checked first.
    if par::threads() > 1 {
        dwconv::check(x, g, w, rq, out)?;
    }
    dw_rows(x, g, (w.cp, w.c), out, &|x, g, out| dwconv_one(x, g, w, rq, out))
}

fn dwconv_one(x: &[i16], g: &DwGeom, w: &PackedDw, rq: &Requant, out: &mut [i8]) -> KResult<()> {
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

/// Deterministic pseudo-random numbers (xorshift64) for the
/// micro-benchmarks and the unit tests.
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Time `iters` int8 GEMMs `[m × k] · [k × n]` with per-channel fixed-point
/// requantization to int8, as a 1x1 convolution runs them: weights packed
/// once before the timed loop, deterministic pseudo-random data.
/// `fast` selects the fp32 requantization epilogue instead of the exact one.
pub fn bench_gemm(m: usize, k: usize, n: usize, iters: usize, fast: bool) -> KResult<GemmBench> {
    if m == 0 || k == 0 || n == 0 || m.saturating_mul(k).max(n.saturating_mul(k)) > 1 << 26 {
        return Err(format!("bench_gemm: shape {m}x{k}x{n} is empty or too large"));
    }
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let a: Vec<i8> = (0..m * k).map(|_| next() as i8).collect();
    let w: Vec<i8> = (0..n * k).map(|_| (next() % 255) as i8).collect();
    let bias: Vec<i32> = (0..n).map(|_| (next() % 20001) as i32 - 10000).collect();
    let packed = PackedW::pack(n, k, &w, Some(&bias), 3)?;
    let real: Vec<f64> = (0..n).map(|c| 0.0004 + c as f64 * 1e-6).collect();
    let (mult, shift): (Vec<i32>, Vec<i32>) = real.iter().map(|&r| fixedpoint::quantize_multiplier(r)).unzip();
    let mut rq = Requant::fixed(mult, shift, -5, -128, 127).with_fp32(real.iter().map(|&r| r as f32).collect()).with_acc_bounds(&packed.acc_bounds());
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

/// Time `iters` int8 3×3 depthwise convolutions of an `h × w × c` image
/// (stride `stride`, padding "same"), as DEPTHWISE_CONV_2D runs them on the
/// padded input: weights packed and the input padded once before the timed
/// loop, deterministic pseudo-random data; `fast` as in [`bench_gemm`].
pub fn bench_dw(h: usize, w: usize, c: usize, stride: usize, iters: usize, fast: bool) -> KResult<GemmBench> {
    if h == 0 || w == 0 || c == 0 || !(1..=2).contains(&stride) || h.saturating_mul(w).saturating_mul(c) > 1 << 26 {
        return Err(format!("bench_dw: shape {h}x{w}x{c} stride {stride} is empty, too large or not stride 1 or 2"));
    }
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    let x: Vec<i8> = (0..h * w * c).map(|_| next() as i8).collect();
    let wt: Vec<i8> = (0..9 * c).map(|_| (next() % 255) as i8).collect();
    let bias: Vec<i32> = (0..c).map(|_| (next() % 20001) as i32 - 10000).collect();
    let (oh, ow) = (h.div_ceil(stride), w.div_ceil(stride));
    let (pad_t, pad_l) = (((oh - 1) * stride + 3).saturating_sub(h) / 2, ((ow - 1) * stride + 3).saturating_sub(w) / 2);
    let (hp, wp) = ((oh - 1) * stride + 3, (ow - 1) * stride + 3);
    let g = DwGeom { hp, wp, oh, ow, kh: 3, kw: 3, sh: stride, sw: stride, dh: 1, dw: 1 };
    let real: Vec<f64> = (0..c).map(|i| 0.004 + i as f64 * 1e-5).collect();
    let (mult, shift): (Vec<i32>, Vec<i32>) = real.iter().map(|&r| fixedpoint::quantize_multiplier(r)).unzip();
    let rq = |bounds: &[u64]| {
        let mut rq = Requant::fixed(mult.clone(), shift.clone(), -5, -128, 127).with_fp32(real.iter().map(|&r| r as f32).collect()).with_acc_bounds(bounds);
        rq.set_fast(fast);
        rq
    };
    let mut out = vec![0i8; oh * ow * c];
    let (ms, checksum) = match preferred_layout() {
        layout @ Layout::Quads { xor } => {
            let packed = PackedDwQ::pack(layout, (3, 3), stride == 1, c, &wt, Some(&bias), 3)?;
            let rq = rq(&packed.acc_bounds());
            let mut padded = Vec::new();
            dwconv::pad_input_as(&x, h, w, c, 1, (pad_t, pad_l), (hp, wp, packed.cp), -3, |v| v as u8 ^ xor, &mut padded)?;
            let t0 = crate::clock::now_ms();
            for _ in 0..iters {
                dwconv_quads(&padded, &g, &packed, &rq, &mut out)?;
            }
            (crate::clock::now_ms() - t0, out.iter().map(|&v| v as i64).sum())
        }
        Layout::Pairs => {
            let packed = PackedDw::pack(9, c, &wt, Some(&bias), 3)?;
            let rq = rq(&packed.acc_bounds());
            let mut padded = Vec::new();
            dwconv::pad_input(&x, h, w, c, 1, (pad_t, pad_l), (hp, wp, packed.cp), -3, &mut padded)?;
            let t0 = crate::clock::now_ms();
            for _ in 0..iters {
                dwconv(&padded, &g, &packed, &rq, &mut out)?;
            }
            (crate::clock::now_ms() - t0, out.iter().map(|&v| v as i64).sum())
        }
    };
    Ok(GemmBench { ms, macs: (oh * ow * c * 9) as f64 * iters as f64, kernel: gemm_kernel(), checksum })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The micro-benchmarks refuse bad shapes with an error, count the work
    /// they did and run on deterministic data (same checksum, the sum of
    /// the outputs, call after call).
    #[test]
    fn benches_check_shapes_and_count_work() {
        assert!(bench_dw(0, 8, 16, 1, 1, false).is_err());
        assert!(bench_dw(8, 8, 16, 3, 1, false).is_err());
        assert!(bench_gemm(0, 8, 8, 1, false).is_err());
        for (stride, fast) in [(1, false), (2, true)] {
            let r = bench_dw(9, 7, 20, stride, 2, fast).unwrap();
            let (oh, ow) = (9usize.div_ceil(stride), 7usize.div_ceil(stride));
            assert_eq!(r.macs, (oh * ow * 20 * 9 * 2) as f64);
            assert!(r.checksum != 0);
            // Deterministic data: the same call gives the same outputs.
            assert_eq!(bench_dw(9, 7, 20, stride, 1, fast).unwrap().checksum, r.checksum);
        }
        let g = bench_gemm(5, 19, 11, 3, true).unwrap();
        assert_eq!(g.macs, (5 * 19 * 11 * 3) as f64);
    }
}
