//! Explicit SIMD twins of the float GEMM's register tile (`gemm::micro`),
//! wasm32 only:
//!
//! - SIMD128: `f32x4.mul` then `f32x4.add` per step, the scalar tile's
//!   operations in the same order, so results are bit-identical to it;
//! - relaxed SIMD: `f32x4.relaxed_madd` (one fused multiply-add where the
//!   engine has FMA, else a multiply and an add), as XNNPACK's relaxed
//!   kernels do. Results may differ from the scalar tile in the last bits
//!   (one rounding instead of two); `tests/wasm_kernels.rs` bounds that.

use core::arch::wasm32::*;

use super::gemm::{MR, NR};

/// `acc += A_panel · B_panel` over the panels' depth (A `kc × MR`
/// k-major, B `kc × NR`), as `gemm::micro`, with `fma` choosing the
/// relaxed fused form.
#[inline(always)]
fn tile<const FMA: bool>(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    let z = f32x4_splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21, mut c30, mut c31) = (z, z, z, z, z, z, z, z);
    for (av, bv) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        // Safety: `chunks_exact` gives MR = 4 and NR = 8 floats.
        let (a4, b0, b1) = unsafe {
            (v128_load(av.as_ptr() as *const v128), v128_load(bv.as_ptr() as *const v128), v128_load(bv.as_ptr().add(4) as *const v128))
        };
        macro_rules! step {
            ($r:literal, $c0:ident, $c1:ident) => {{
                let x = i32x4_shuffle::<$r, $r, $r, $r>(a4, a4);
                if FMA {
                    #[cfg(target_feature = "relaxed-simd")]
                    {
                        $c0 = f32x4_relaxed_madd(x, b0, $c0);
                        $c1 = f32x4_relaxed_madd(x, b1, $c1);
                    }
                } else {
                    $c0 = f32x4_add($c0, f32x4_mul(x, b0));
                    $c1 = f32x4_add($c1, f32x4_mul(x, b1));
                }
            }};
        }
        step!(0, c00, c01);
        step!(1, c10, c11);
        step!(2, c20, c21);
        step!(3, c30, c31);
    }
    let mut out = [[0.0f32; NR]; MR];
    for (row, (lo, hi)) in out.iter_mut().zip([(c00, c01), (c10, c11), (c20, c21), (c30, c31)]) {
        // Safety: each row holds NR = 8 floats.
        unsafe {
            v128_store(row.as_mut_ptr() as *mut v128, lo);
            v128_store(row.as_mut_ptr().add(4) as *mut v128, hi);
        }
    }
    out
}

/// The SIMD128 tile (bit-identical to the scalar one).
pub fn micro_simd128(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    tile::<false>(a, b)
}

/// The relaxed-SIMD tile (fused multiply-add where available).
#[cfg(target_feature = "relaxed-simd")]
pub fn micro_relaxed(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    tile::<true>(a, b)
}
