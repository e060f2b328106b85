//! WebAssembly SIMD128 twins of the scalar int8 kernels (same signatures,
//! same results bit for bit; `tests/wasm_kernels.rs` checks that in a
//! browser):
//!
//! - `qs8_gemm_4x8c2__wasmsimd_dot16x2` ([`gemm`]): 4 rows × 8 channels per
//!   tile, k in pairs with `i32x4.dot_i16x8_s` on int8 widened to int16;
//! - `qs8_dwconv_16c2t__wasmsimd_dot16x2` ([`dwconv`]): 16 channels per
//!   step, taps in pairs with `i32x4.dot_i16x8_s`;
//! - `qs8_vadd_16__wasmsimd` ([`add`]): elementwise ADD/SUB, 16 values a
//!   step, the three fixed-point rescales on 32-bit lanes;
//! - the fixed-point requantization ([`requant4`]) of 4 lanes with
//!   per-lane multipliers and shifts, done with 64-bit lane products and
//!   uniform shifts (see `requant.rs`).
//!
//! Every entry point validates extents with the scalar module's `check`
//! before any raw-pointer access.

use core::arch::wasm32::*;

use super::add::{AddParams, FastAdd};
use super::quantize::QuantizeParams;
use super::dwconv::{self, DwGeom, PackedDw, CB};
use super::gemm::{self, GemmOut, KResult, Layout, PackedW, KB, MR, NR};
use super::requant::{Lanes, Requant, Scale};

/// Requantize 4 accumulators of channels `c..c+4` (fixed-point form;
/// `lanes` must come from `rq`, and `c + 4` lie within the padded lanes).
///
/// `SaturatingRoundingDoublingHighMul(x, m) = (x*m + 2^30) >> 31` (exact for
/// `m >= 0`), computed as `((x*m + 2^30 + 2^62) >>> 31) ^ 2^31` on the low
/// 32 bits; then the rounding divide by `2^e` as `((s - [s<0]) * 2^(30-e) +
/// 2^29 + 2^62) >>> 30`, whose low 32 bits are the result.
#[inline(always)]
unsafe fn requant4_lanes(acc: v128, l: &Lanes, c: usize, zp: v128, lo: v128, hi: v128, left: bool) -> v128 {
    let r = i32x4_add(rescale4_lanes(acc, l, c, left), zp);
    i32x4_min(i32x4_max(r, lo), hi)
}

/// [`requant4_lanes`] before the zero point and the clamp: the rescaled
/// accumulators `MultiplyByQuantizedMultiplier(acc, mult[c], shift[c])`.
#[inline(always)]
unsafe fn rescale4_lanes(acc: v128, l: &Lanes, c: usize, left: bool) -> v128 {
    let ld = |v: &[i32]| v128_load(v.as_ptr().add(c) as *const v128);
    let x = if left { i32x4_mul(acc, ld(&l.lmul)) } else { acc };
    let m = ld(&l.mult);
    let bias = i64x2_splat((1 << 30) + (1 << 62));
    let plo = u64x2_shr(i64x2_add(i64x2_extmul_low_i32x4(x, m), bias), 31);
    let phi = u64x2_shr(i64x2_add(i64x2_extmul_high_i32x4(x, m), bias), 31);
    let s = v128_xor(i32x4_shuffle::<0, 2, 4, 6>(plo, phi), i32x4_splat(i32::MIN));
    let e = *l.uniform.get_unchecked(c / 4);
    if e >= 0 {
        return rdbpot4(s, e as u32);
    }
    let s = i32x4_add(s, v128_and(i32x4_shr(s, 31), ld(&l.ge1)));
    let pow = ld(&l.pow);
    let r0 = v128_load(l.round.as_ptr().add(c) as *const v128);
    let r1 = v128_load(l.round.as_ptr().add(c + 2) as *const v128);
    let tlo = u64x2_shr(i64x2_add(i64x2_extmul_low_i32x4(s, pow), r0), 30);
    let thi = u64x2_shr(i64x2_add(i64x2_extmul_high_i32x4(s, pow), r1), 30);
    i32x4_shuffle::<0, 2, 4, 6>(tlo, thi)
}

/// Constants of the fast (fp32) requantization of one output.
#[derive(Clone, Copy)]
pub(super) struct Fp32K {
    /// The lower clamp less the zero point, in float.
    lo: v128,
    /// The upper clamp, applied to the narrowed int8 bytes.
    hi8: v128,
    magic: v128,
    /// The bits of `magic`.
    magic_bits: v128,
    /// The zero point in int16 lanes.
    zp16: v128,
    /// The lower clamp is needed (see `Requant::fp32_saturates_low`).
    pub(super) clamp_lo: bool,
}

impl Fp32K {
    pub(super) fn new(rq: &Requant) -> Fp32K {
        const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds |y| <= 2^22 half to even
        Fp32K {
            lo: f32x4_splat((rq.min - rq.zero_point) as f32),
            hi8: i8x16_splat(rq.max.clamp(-128, 127) as i8),
            magic: f32x4_splat(MAGIC),
            magic_bits: i32x4_splat(MAGIC.to_bits() as i32),
            zp16: i16x8_splat(rq.zero_point.clamp(-128, 127) as i16),
            clamp_lo: !rq.fp32_saturates_low(),
        }
    }

    /// Two rounded vectors of [`fp32_4`] to int16 with the zero point
    /// added, saturating: `sat16(sat16(r) + zp)` equals `sat16(r + zp)`
    /// after the int8 narrowing, since `|zp| <= 128`.
    #[inline(always)]
    pub(super) fn half(&self, r0: v128, r1: v128) -> v128 {
        i16x8_add_sat(i16x8_narrow_i32x4(r0, r1), self.zp16)
    }

    /// Two [`Fp32K::half`] results to int8 outputs: narrow, clamp above.
    ///
    /// The zero point is added between the two narrowings rather than in
    /// the int32 lanes: with both narrowings back to back, LLVM (wasm32)
    /// rewrites the first into a min/max clamp and a shuffle, six
    /// instructions in V8 where `i16x8.narrow_i32x4_s` is one.
    #[inline(always)]
    pub(super) fn bytes(&self, h0: v128, h1: v128) -> v128 {
        i8x16_min(i8x16_narrow_i16x8(h0, h1), self.hi8)
    }
}

/// The rounding step of the fast requantization (`requant::fp32_apply`)
/// on 4 accumulators with their 4 scales: convert, scale, clamp below in
/// float (`LO`), round half to even with the magic-number add; the zero
/// point and the upper clamp follow in [`Fp32K::half`] and
/// [`Fp32K::bytes`]. Values above the output range stay above it (they
/// saturate in the narrowing to int8, then the bytes are clamped), as in
/// XNNPACK's fp32 epilogue. Without `LO` (only when
/// `Requant::fp32_saturates_low`), values below the range saturate to -128
/// in the narrowing, the range's lower end.
#[inline(always)]
pub(super) fn fp32_4<const LO: bool>(acc: v128, scale: v128, k: &Fp32K) -> v128 {
    let f = f32x4_mul(f32x4_convert_i32x4(acc), scale);
    let f = if LO { f32x4_pmax(f, k.lo) } else { f };
    i32x4_sub(f32x4_add(f, k.magic), k.magic_bits)
}

/// Load 4 scales of channels `c..c+4`. Safety: `c + 4 <= s.len()`.
#[inline(always)]
unsafe fn scales4(s: &[f32], c: usize) -> v128 {
    v128_load(s.as_ptr().add(c) as *const v128)
}

/// The fast requantization of `acc[i]` (channel `c0 + i`, `i < 4`) with
/// `rq`'s single-precision scales, as int32 lanes. Exposed for tests;
/// without scales it falls back to [`Requant::apply`].
pub fn fp32_requant4(acc: [i32; 4], rq: &Requant, c0: usize) -> [i32; 4] {
    match &rq.fp32 {
        Some(s) if c0 + 4 <= s.len() => {
            let k = Fp32K::new(rq);
            let (acc, s) = unsafe { (v128_load(acc.as_ptr() as *const v128), scales4(s, c0)) };
            let r = if k.clamp_lo { fp32_4::<true>(acc, s, &k) } else { fp32_4::<false>(acc, s, &k) };
            // The kernels' narrowing to int8, widened back.
            let h = k.half(r, r);
            let q8 = k.bytes(h, h);
            let v = i32x4_extend_low_i16x8(i16x8_extend_low_i8x16(q8));
            [i32x4_extract_lane::<0>(v), i32x4_extract_lane::<1>(v), i32x4_extract_lane::<2>(v), i32x4_extract_lane::<3>(v)]
        }
        _ => core::array::from_fn(|i| rq.apply(acc[i], c0 + i)),
    }
}

/// Requantize `acc[i]` (channel `c0 + i`) for `i < 4` into output values
/// (zero point added, clamped), as int32 lanes. Exposed for tests.
pub fn requant4(acc: [i32; 4], rq: &Requant, c0: usize) -> [i32; 4] {
    match &rq.lanes {
        Some(l) if c0 + 4 <= l.mult.len() => {
            let left = l.lmul[c0..c0 + 4].iter().any(|&v| v != 1);
            let v = unsafe {
                requant4_lanes(
                    v128_load(acc.as_ptr() as *const v128),
                    l,
                    c0,
                    i32x4_splat(rq.zero_point),
                    i32x4_splat(rq.min),
                    i32x4_splat(rq.max),
                    left,
                )
            };
            [i32x4_extract_lane::<0>(v), i32x4_extract_lane::<1>(v), i32x4_extract_lane::<2>(v), i32x4_extract_lane::<3>(v)]
        }
        _ => core::array::from_fn(|i| rq.apply(acc[i], c0 + i)),
    }
}

/// Broadcast i32 lane `J` (an int16 pair) of `v`.
macro_rules! bcast {
    ($v:expr, $j:literal) => {
        i32x4_shuffle::<$j, $j, $j, $j>($v, $v)
    };
}

/// Run a GEMM's tile loop `$tiles` (which hands each tile to the closure
/// named `$emit`: accumulators, rows, first row, panel) with the store of
/// `$out`'s requantization: fast, exact (fixed-point lanes) or the scalar
/// epilogue / raw int32. Each form gets a loop of its own, where the
/// accumulators never leave registers (V8 keeps a v128 array in memory
/// across a call or a form branch).
macro_rules! tiles_by_store {
    ($out:expr, $n:expr, |$emit:ident| $tiles:expr) => {{
        let n: usize = $n;
        let out: &mut GemmOut = $out;
        match out {
            GemmOut::I8 { out: o, ldc, rq } if rq.fast && rq.fp32.is_some() => {
                let (k, s, ldc) = (Fp32K::new(rq), rq.fp32.as_deref().unwrap_or(&[]), *ldc);
                if k.clamp_lo {
                    let $emit = |acc: &[[v128; 2]; MR], rows: usize, r0: usize, p: usize| {
                        store_fp32::<true>(&k, s, acc, rows, r0, p * NR, NR.min(n - p * NR), o, ldc)
                    };
                    $tiles
                } else {
                    let $emit = |acc: &[[v128; 2]; MR], rows: usize, r0: usize, p: usize| {
                        store_fp32::<false>(&k, s, acc, rows, r0, p * NR, NR.min(n - p * NR), o, ldc)
                    };
                    $tiles
                }
            }
            GemmOut::I8 { out: o, ldc, rq } if rq.lanes.is_some() && matches!(rq.scale, $crate::kernels::int8::requant::Scale::Fixed { .. }) => {
                let left = rq.lanes.as_ref().is_some_and(|l| l.lmul.iter().any(|&v| v != 1));
                let (k, ldc) = (ExactK::new(rq, left), *ldc);
                let $emit = |acc: &[[v128; 2]; MR], rows: usize, r0: usize, p: usize| store_exact(&k, acc, rows, r0, p * NR, NR.min(n - p * NR), o, ldc);
                $tiles
            }
            out => {
                let $emit = |acc: &[[v128; 2]; MR], rows: usize, r0: usize, p: usize| {
                    let (n0, nr) = (p * NR, NR.min(n - p * NR));
                    for (r, acc) in acc.iter().enumerate().take(rows) {
                        $crate::kernels::int8::gemm::emit(out, r0 + r, n0, &$crate::kernels::int8::simd128::lanes8(acc)[..nr]);
                    }
                };
                $tiles
            }
        }
    }};
}
#[allow(unused_imports)] // also used by relaxed.rs, which the SIMD128-only build leaves out
pub(super) use tiles_by_store;

/// The fast-mode store of [`tiles_by_store`] (`LO`: with the lower clamp).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn store_fp32<const LO: bool>(k: &Fp32K, s: &[f32], acc: &[[v128; 2]; MR], rows: usize, r0: usize, n0: usize, nr: usize, out: &mut [i8], ldc: usize) {
    // Safety: `s` holds padded scales for every channel of the panel.
    let (s0, s1) = unsafe { (scales4(s, n0), scales4(s, n0 + 4)) };
    let row8 = |acc: &[v128; 2]| k.half(fp32_4::<LO>(acc[0], s0, k), fp32_4::<LO>(acc[1], s1, k));
    if rows == MR && nr == NR && (r0 + MR - 1) * ldc + n0 + NR <= out.len() {
        // A whole tile: two rows narrowed per vector, 8 bytes a row.
        // Safety: the check above bounds all four 8-byte rows.
        unsafe {
            let base = out.as_mut_ptr().add(r0 * ldc + n0);
            let q01 = k.bytes(row8(&acc[0]), row8(&acc[1]));
            v128_store64_lane::<0>(q01, base as *mut u64);
            v128_store64_lane::<1>(q01, base.add(ldc) as *mut u64);
            let q23 = k.bytes(row8(&acc[2]), row8(&acc[3]));
            v128_store64_lane::<0>(q23, base.add(2 * ldc) as *mut u64);
            v128_store64_lane::<1>(q23, base.add(3 * ldc) as *mut u64);
        }
        return;
    }
    for (r, acc) in acc.iter().enumerate().take(rows) {
        let q16 = row8(acc);
        let q8 = k.bytes(q16, q16);
        store_bytes(q8, &mut out[(r0 + r) * ldc + n0..(r0 + r) * ldc + n0 + nr]);
    }
}

/// What the exact (fixed-point) tile store needs of a [`Requant`] with SIMD
/// lanes.
pub(super) struct ExactK<'a> {
    lanes: &'a Lanes,
    left: bool,
    zp16: v128,
    lo8: v128,
    hi8: v128,
}

impl<'a> ExactK<'a> {
    /// For `rq` with `lanes` (the caller checked); `left`: some channel
    /// shifts left.
    pub(super) fn new(rq: &'a Requant, left: bool) -> ExactK<'a> {
        ExactK {
            lanes: rq.lanes.as_ref().unwrap(),
            left,
            zp16: i16x8_splat(rq.zero_point.clamp(-128, 127) as i16),
            lo8: i8x16_splat(rq.min.clamp(-128, 127) as i8),
            hi8: i8x16_splat(rq.max.clamp(-128, 127) as i8),
        }
    }

    /// 8 channels' rescaled accumulators (from `n0`) to int16 with the zero
    /// point, saturating (see [`Fp32K::half`]).
    #[inline(always)]
    fn half(&self, acc: &[v128; 2], n0: usize) -> v128 {
        // Safety: the lanes hold padded constants for every channel of the panel.
        let (r0, r1) = unsafe { (rescale4_lanes(acc[0], self.lanes, n0, self.left), rescale4_lanes(acc[1], self.lanes, n0 + 4, self.left)) };
        self.half4(r0, r1)
    }

    /// Two vectors of [`rescale4_lanes`] to int16 with the zero point.
    #[inline(always)]
    fn half4(&self, r0: v128, r1: v128) -> v128 {
        i16x8_add_sat(i16x8_narrow_i32x4(r0, r1), self.zp16)
    }

    /// Two halves to clamped int8 outputs.
    #[inline(always)]
    fn bytes(&self, h0: v128, h1: v128) -> v128 {
        i8x16_max(i8x16_min(i8x16_narrow_i16x8(h0, h1), self.hi8), self.lo8)
    }
}

/// The exact store of [`tiles_by_store`]: whole tiles two rows per vector,
/// as [`store_fp32`]; the zero point is added in int16 for the reason given
/// at [`Fp32K::bytes`]. `clamp(r + zp, min, max)` in int32 equals the int8
/// clamp of `sat8(sat16(sat16(r) + zp))` since the int8 range holds
/// `[min, max]` and `|zp| <= 128`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn store_exact(k: &ExactK, acc: &[[v128; 2]; MR], rows: usize, r0: usize, n0: usize, nr: usize, out: &mut [i8], ldc: usize) {
    if rows == MR && nr == NR && (r0 + MR - 1) * ldc + n0 + NR <= out.len() {
        // Safety: the check above bounds all four 8-byte rows.
        unsafe {
            let base = out.as_mut_ptr().add(r0 * ldc + n0);
            let q01 = k.bytes(k.half(&acc[0], n0), k.half(&acc[1], n0));
            v128_store64_lane::<0>(q01, base as *mut u64);
            v128_store64_lane::<1>(q01, base.add(ldc) as *mut u64);
            let q23 = k.bytes(k.half(&acc[2], n0), k.half(&acc[3], n0));
            v128_store64_lane::<0>(q23, base.add(2 * ldc) as *mut u64);
            v128_store64_lane::<1>(q23, base.add(3 * ldc) as *mut u64);
        }
        return;
    }
    for (r, acc) in acc.iter().enumerate().take(rows) {
        let h = k.half(acc, n0);
        store_bytes(k.bytes(h, h), &mut out[(r0 + r) * ldc + n0..(r0 + r) * ldc + n0 + nr]);
    }
}

/// The GEMM of `gemm.rs`, SIMD128 (4×8 tiles, k pairs). Other layouts go to
/// the scalar reference.
pub fn gemm(m: usize, a: &[i8], lda: usize, w: &PackedW, mut out: GemmOut) -> KResult<()> {
    gemm::check(m, a, lda, w, &out)?;
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    if w.layout != Layout::Pairs {
        return gemm::gemm(m, a, lda, w, out);
    }
    tiles_by_store!(&mut out, w.n, |emit| for_tiles(m, a, lda, w, emit));
    Ok(())
}

/// The tiles of an `m`-row GEMM on the pair packing in order (rows in
/// blocks of [`MR`], each block against every panel), each handed to
/// `emit(acc, rows, r0, panel)`.
#[inline(always)]
fn for_tiles(m: usize, a: &[i8], lda: usize, w: &PackedW, mut emit: impl FnMut(&[[v128; 2]; MR], usize, usize, usize)) {
    let panels = w.n.div_ceil(NR);
    let full_blocks = w.k / KB;
    let tail = w.k % KB;
    let mut tails = [[0i8; KB]; MR];
    for r0 in (0..m).step_by(MR) {
        let rows = MR.min(m - r0);
        // Rows past the end re-read the last row; their results are dropped.
        let rp: [*const i8; MR] = core::array::from_fn(|i| unsafe { a.as_ptr().add((r0 + i.min(rows - 1)) * lda) });
        if tail != 0 {
            for (i, t) in tails.iter_mut().enumerate() {
                let r = r0 + i.min(rows - 1);
                t[..tail].copy_from_slice(&a[r * lda + full_blocks * KB..r * lda + w.k]);
            }
        }
        for p in 0..panels {
            // Safety: `gemm::check` bounds the rows (`k` values each); `w`
            // is a well-formed pair packing.
            let acc = unsafe { tile(&rp, &tails, full_blocks, tail != 0, w, p) };
            emit(&acc, rows, r0, p);
        }
    }
}

/// One form of [`Epilogue`]; the channel-block kernels are monomorphized
/// per form (no branch on the form per block).
pub(super) trait Epi {
    /// The accumulators of channels `c..c+4` (`c + 4 <= cp`) on their way
    /// out: rounded (fast) or rescaled (exact), before the zero point; four
    /// of them become 16 int8 outputs in [`Epi::pack`].
    fn apply(&self, acc: v128, c: usize) -> v128;
    /// Four [`Epi::apply`] results (16 channels) as int8 outputs.
    fn pack(&self, q0: v128, q1: v128, q2: v128, q3: v128) -> v128;
}

/// The fast form (`LO`: with the lower clamp).
pub(super) struct FastEpi<'a, const LO: bool>(pub(super) &'a [f32], pub(super) Fp32K);

impl<const LO: bool> Epi for FastEpi<'_, LO> {
    #[inline(always)]
    fn apply(&self, acc: v128, c: usize) -> v128 {
        // Safety: the scales cover the kernel's padded channels (`Epilogue::new`).
        fp32_4::<LO>(acc, unsafe { scales4(self.0, c) }, &self.1)
    }
    #[inline(always)]
    fn pack(&self, q0: v128, q1: v128, q2: v128, q3: v128) -> v128 {
        self.1.bytes(self.1.half(q0, q1), self.1.half(q2, q3))
    }
}

impl Epi for ExactK<'_> {
    #[inline(always)]
    fn apply(&self, acc: v128, c: usize) -> v128 {
        // Safety: the lanes cover the kernel's padded channels (`Epilogue::new`).
        unsafe { rescale4_lanes(acc, self.lanes, c, self.left) }
    }
    #[inline(always)]
    fn pack(&self, q0: v128, q1: v128, q2: v128, q3: v128) -> v128 {
        self.bytes(self.half4(q0, q1), self.half4(q2, q3))
    }
}

/// Run `$body` with the closure-like name `$e` bound to `$epi`'s form as
/// an [`Epi`] (one monomorphized copy of `$body` per form).
macro_rules! with_epi {
    ($epi:expr, |$e:ident| $body:expr) => {
        match $epi {
            Epilogue::Fast(s, k) => {
                let $e = &FastEpi::<true>(s, *k);
                $body
            }
            Epilogue::FastSat(s, k) => {
                let $e = &FastEpi::<false>(s, *k);
                $body
            }
            Epilogue::Exact(k) => {
                let $e = k;
                $body
            }
        }
    };
}
#[allow(unused_imports)] // as tiles_by_store
pub(super) use with_epi;

/// A per-channel requantization on 4 lanes for kernels that walk channel
/// blocks: fast fp32, or the exact fixed-point form.
pub(super) enum Epilogue<'a> {
    Fast(&'a [f32], Fp32K),
    /// The fast form without the lower clamp (`Requant::fp32_saturates_low`).
    FastSat(&'a [f32], Fp32K),
    Exact(ExactK<'a>),
}

impl<'a> Epilogue<'a> {
    /// For `rq` over `cp` (padded) channels; `None` when neither SIMD form
    /// applies (the caller then uses its scalar reference).
    pub(super) fn new(rq: &'a Requant, cp: usize) -> Option<Epilogue<'a>> {
        match (&rq.fp32, &rq.lanes, &rq.scale) {
            (Some(s), _, _) if rq.fast && s.len() >= cp => {
                let k = Fp32K::new(rq);
                Some(if k.clamp_lo { Epilogue::Fast(s, k) } else { Epilogue::FastSat(s, k) })
            }
            (_, Some(l), Scale::Fixed { .. }) if l.mult.len() >= cp => Some(Epilogue::Exact(ExactK::new(rq, l.lmul.iter().any(|&v| v != 1)))),
            _ => None,
        }
    }
}

/// Store the low `dst.len()` (at most 16) bytes of `q8`: one store for
/// 16 or 8 bytes, a copy through a buffer for a tail.
#[inline(always)]
pub(super) fn store_bytes(q8: v128, dst: &mut [i8]) {
    if dst.len() == 16 {
        unsafe { v128_store(dst.as_mut_ptr() as *mut v128, q8) };
    } else if dst.len() == 8 {
        unsafe { v128_store64_lane::<0>(q8, dst.as_mut_ptr() as *mut u64) };
    } else {
        let mut t = [0i8; 16];
        unsafe { v128_store(t.as_mut_ptr() as *mut v128, q8) };
        dst.copy_from_slice(&t[..dst.len()]);
    }
}

pub(super) fn lanes8(acc: &[v128; 2]) -> [i32; 8] {
    let mut v = [0i32; 8];
    unsafe {
        v128_store(v.as_mut_ptr() as *mut v128, acc[0]);
        v128_store(v.as_mut_ptr().add(4) as *mut v128, acc[1]);
    }
    v
}

/// One 4×8 tile of panel `p`: accumulators (bias included).
///
/// Safety: each row pointer is valid for `full_blocks * KB` bytes (checked
/// by `gemm::check`: rows hold `k` values), `w` is a well-formed packing.
#[inline(always)]
unsafe fn tile(rp: &[*const i8; MR], tails: &[[i8; KB]; MR], full_blocks: usize, has_tail: bool, w: &PackedW, p: usize) -> [[v128; 2]; MR] {
    let bias0 = v128_load(w.bias.as_ptr().add(p * NR) as *const v128);
    let bias1 = v128_load(w.bias.as_ptr().add(p * NR + 4) as *const v128);
    let (mut c00, mut c01, mut c10, mut c11) = (bias0, bias1, bias0, bias1);
    let (mut c20, mut c21, mut c30, mut c31) = (bias0, bias1, bias0, bias1);
    let panel = w.data.as_ptr().add(p * w.kp * NR);
    let blocks = full_blocks + has_tail as usize;
    for kb in 0..blocks {
        let (a0, a1, a2, a3) = if kb < full_blocks {
            (
                i16x8_load_extend_i8x8(rp[0].add(kb * KB)),
                i16x8_load_extend_i8x8(rp[1].add(kb * KB)),
                i16x8_load_extend_i8x8(rp[2].add(kb * KB)),
                i16x8_load_extend_i8x8(rp[3].add(kb * KB)),
            )
        } else {
            (
                i16x8_load_extend_i8x8(tails[0].as_ptr()),
                i16x8_load_extend_i8x8(tails[1].as_ptr()),
                i16x8_load_extend_i8x8(tails[2].as_ptr()),
                i16x8_load_extend_i8x8(tails[3].as_ptr()),
            )
        };
        let wb = panel.add(kb * KB * NR);
        macro_rules! pair {
            ($j:literal) => {{
                let wv = v128_load(wb.add($j * 2 * NR) as *const v128);
                let wl = i16x8_extend_low_i8x16(wv);
                let wh = i16x8_extend_high_i8x16(wv);
                let b0 = bcast!(a0, $j);
                c00 = i32x4_add(c00, i32x4_dot_i16x8(b0, wl));
                c01 = i32x4_add(c01, i32x4_dot_i16x8(b0, wh));
                let b1 = bcast!(a1, $j);
                c10 = i32x4_add(c10, i32x4_dot_i16x8(b1, wl));
                c11 = i32x4_add(c11, i32x4_dot_i16x8(b1, wh));
                let b2 = bcast!(a2, $j);
                c20 = i32x4_add(c20, i32x4_dot_i16x8(b2, wl));
                c21 = i32x4_add(c21, i32x4_dot_i16x8(b2, wh));
                let b3 = bcast!(a3, $j);
                c30 = i32x4_add(c30, i32x4_dot_i16x8(b3, wl));
                c31 = i32x4_add(c31, i32x4_dot_i16x8(b3, wh));
            }};
        }
        pair!(0);
        pair!(1);
        pair!(2);
        pair!(3);
    }
    [[c00, c01], [c10, c11], [c20, c21], [c30, c31]]
}

/// The depthwise convolution of `dwconv.rs`, SIMD128: 16 channels a step,
/// taps in pairs (the two taps' int16 inputs interleaved, then
/// `i32x4.dot_i16x8_s` against the interleaved weights).
pub fn dwconv(x: &[i16], g: &DwGeom, w: &PackedDw, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    dwconv::check(x, g, w, rq, out)?;
    let Some(epi) = Epilogue::new(rq, w.cp) else { return dwconv::dwconv(x, g, w, rq, out) };
    if g.oh == 0 || g.ow == 0 || w.c == 0 {
        return Ok(());
    }
    with_epi!(&epi, |e| dw_loop(x, g, w, e, out));
    Ok(())
}

/// The loops of [`dwconv`] for one epilogue form (checked geometry).
#[inline(always)]
fn dw_loop(x: &[i16], g: &DwGeom, w: &PackedDw, epi: &impl Epi, out: &mut [i8]) {
    let (cp, c) = (w.cp, w.c);
    let pairs = w.taps.div_ceil(2);
    // Input offsets (in elements) of every tap relative to the window origin;
    // the dummy tap of an odd count repeats the last one (zero weight).
    let mut taps: Vec<usize> = (0..w.taps).map(|t| ((t / g.kw) * g.dh * g.wp + (t % g.kw) * g.dw) * cp).collect();
    if w.taps % 2 == 1 {
        taps.push(taps[w.taps - 1]);
    }
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            let origin = (oy * g.sh * g.wp + ox * g.sw) * cp;
            let orow = (oy * g.ow + ox) * c;
            for cb in (0..cp).step_by(CB) {
                // Safety: `dwconv::check` bounds every tap of every window
                // inside the padded input; weights/bias hold `cp` channels
                // for `pairs` tap pairs.
                let q = unsafe {
                    let mut a0 = v128_load(w.bias.as_ptr().add(cb) as *const v128);
                    let mut a1 = v128_load(w.bias.as_ptr().add(cb + 4) as *const v128);
                    let mut a2 = v128_load(w.bias.as_ptr().add(cb + 8) as *const v128);
                    let mut a3 = v128_load(w.bias.as_ptr().add(cb + 12) as *const v128);
                    let xb = x.as_ptr().add(origin + cb);
                    for p in 0..pairs {
                        let pa = xb.add(taps[2 * p]);
                        let pb = xb.add(taps[2 * p + 1]);
                        let wp = w.w.as_ptr().add((p * cp + cb) * 2);
                        let (xa0, xb0) = (v128_load(pa as *const v128), v128_load(pb as *const v128));
                        let (xa1, xb1) = (v128_load(pa.add(8) as *const v128), v128_load(pb.add(8) as *const v128));
                        let l0 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(xa0, xb0);
                        let h0 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(xa0, xb0);
                        let l1 = i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(xa1, xb1);
                        let h1 = i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(xa1, xb1);
                        a0 = i32x4_add(a0, i32x4_dot_i16x8(l0, v128_load(wp as *const v128)));
                        a1 = i32x4_add(a1, i32x4_dot_i16x8(h0, v128_load(wp.add(8) as *const v128)));
                        a2 = i32x4_add(a2, i32x4_dot_i16x8(l1, v128_load(wp.add(16) as *const v128)));
                        a3 = i32x4_add(a3, i32x4_dot_i16x8(h1, v128_load(wp.add(24) as *const v128)));
                    }
                    let (q0, q1, q2, q3) = (epi.apply(a0, cb), epi.apply(a1, cb + 4), epi.apply(a2, cb + 8), epi.apply(a3, cb + 12));
                    epi.pack(q0, q1, q2, q3)
                };
                store_bytes(q, &mut out[orow + cb..orow + c.min(cb + CB)]);
            }
        }
    }
}

// ---------------------------------------------------------------- ADD / SUB

/// gemmlowp `SaturatingRoundingDoublingHighMul` on 4 lanes (`m >= 0`),
/// with logical shifts as in [`requant4_lanes`].
#[inline(always)]
fn srdhm4(x: v128, m: v128) -> v128 {
    let bias = i64x2_splat((1 << 30) + (1 << 62));
    let lo = u64x2_shr(i64x2_add(i64x2_extmul_low_i32x4(x, m), bias), 31);
    let hi = u64x2_shr(i64x2_add(i64x2_extmul_high_i32x4(x, m), bias), 31);
    v128_xor(i32x4_shuffle::<0, 2, 4, 6>(lo, hi), i32x4_splat(i32::MIN))
}

/// gemmlowp `RoundingDivideByPOT` on 4 lanes by a uniform exponent.
#[inline(always)]
fn rdbpot4(x: v128, e: u32) -> v128 {
    if e == 0 {
        return x;
    }
    let mask = i32x4_splat(((1i64 << e) - 1) as i32);
    let rem = v128_and(x, mask);
    let threshold = i32x4_sub(i32x4_shr(mask, 1), i32x4_shr(x, 31));
    i32x4_sub(i32x4_shr(x, e), i32x4_gt(rem, threshold))
}

/// The saturating narrowing of four int32 vectors to 16 int8 lanes.
#[inline(always)]
fn narrow4(q0: v128, q1: v128, q2: v128, q3: v128) -> v128 {
    i8x16_narrow_i16x8(i16x8_narrow_i32x4(q0, q1), i16x8_narrow_i32x4(q2, q3))
}

/// `out[i] = f(a[i], b[i])` on equal-length int8 slices, 16 values a
/// step: `four` maps 4 lanes widened to int32, `pack` makes four of its
/// results 16 int8 outputs (e.g. [`narrow4`]), `one` does the tail.
#[inline(always)]
fn zip_map16(a: &[i8], b: &[i8], out: &mut [i8], four: impl Fn(v128, v128) -> v128, pack: impl Fn(v128, v128, v128, v128) -> v128, one: impl Fn(i32, i32) -> i32) {
    let n = a.len().min(b.len()).min(out.len());
    let full = n / 16 * 16;
    for i in (0..full).step_by(16) {
        // Safety: i + 16 <= n for all three slices.
        unsafe {
            let av = v128_load(a.as_ptr().add(i) as *const v128);
            let bv = v128_load(b.as_ptr().add(i) as *const v128);
            let (al, ah) = (i16x8_extend_low_i8x16(av), i16x8_extend_high_i8x16(av));
            let (bl, bh) = (i16x8_extend_low_i8x16(bv), i16x8_extend_high_i8x16(bv));
            let q0 = four(i32x4_extend_low_i16x8(al), i32x4_extend_low_i16x8(bl));
            let q1 = four(i32x4_extend_high_i16x8(al), i32x4_extend_high_i16x8(bl));
            let q2 = four(i32x4_extend_low_i16x8(ah), i32x4_extend_low_i16x8(bh));
            let q3 = four(i32x4_extend_high_i16x8(ah), i32x4_extend_high_i16x8(bh));
            v128_store(out.as_mut_ptr().add(i) as *mut v128, pack(q0, q1, q2, q3));
        }
    }
    for i in full..n {
        out[i] = one(a[i] as i32, b[i] as i32) as i8;
    }
}

/// The elementwise ADD/SUB of `add.rs`, SIMD128 (16 values a step).
pub fn add(p: &AddParams, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    if a.len() != b.len() || a.len() != out.len() {
        return Err(format!("add: lengths {}, {} and {} differ", a.len(), b.len(), out.len()));
    }
    if !p.simd_ok() {
        return super::add::add(p, a, b, out);
    }
    let (off1, off2, off_out) = (i32x4_splat(p.in1_off), i32x4_splat(p.in2_off), i32x4_splat(p.out_off));
    let (m1, m2, mo) = (i32x4_splat(p.in1_mult), i32x4_splat(p.in2_mult), i32x4_splat(p.out_mult));
    let (e1, e2, eo) = ((-p.in1_shift) as u32, (-p.in2_shift) as u32, (-p.out_shift) as u32);
    let (lo, hi) = (i32x4_splat(p.lo), i32x4_splat(p.hi));
    let ls = p.left_shift as u32;
    let one = |x: v128, y: v128| -> v128 {
        let r1 = rdbpot4(srdhm4(i32x4_shl(i32x4_add(x, off1), ls), m1), e1);
        let r2 = rdbpot4(srdhm4(i32x4_shl(i32x4_add(y, off2), ls), m2), e2);
        let raw = if p.sub { i32x4_sub(r1, r2) } else { i32x4_add(r1, r2) };
        let r = i32x4_add(rdbpot4(srdhm4(raw, mo), eo), off_out);
        i32x4_min(i32x4_max(r, lo), hi)
    };
    zip_map16(a, b, out, one, narrow4, |x, y| p.one(x, y));
    Ok(())
}

/// The fast ADD/SUB of `add.rs`, SIMD128 (16 values a step): widen to
/// 32-bit lanes, multiply-add with the bias, shift; then narrow to int16,
/// add the zero point (saturating), narrow to int8 and clamp there. For a
/// zero point within int8 that equals clamping `r + zp` in int32 (each
/// saturation keeps the order and leaves values within int8 alone), with
/// one clamp per 16 lanes instead of per 4.
pub fn add_fast(p: &FastAdd, a: &[i8], b: &[i8], out: &mut [i8]) -> KResult<()> {
    if a.len() != b.len() || a.len() != out.len() {
        return Err(format!("add: lengths {}, {} and {} differ", a.len(), b.len(), out.len()));
    }
    let (ma, mb, bias) = (i32x4_splat(p.a_mult), i32x4_splat(p.b_mult), i32x4_splat(p.bias));
    let zp16 = i16x8_splat(p.out_zp.clamp(-128, 127) as i16);
    let (lo8, hi8) = (i8x16_splat(p.lo.clamp(-128, 127) as i8), i8x16_splat(p.hi.clamp(-128, 127) as i8));
    let shift = p.shift;
    let four = |x: v128, y: v128| -> v128 { i32x4_shr(i32x4_add(bias, i32x4_add(i32x4_mul(x, ma), i32x4_mul(y, mb))), shift) };
    let pack = |q0: v128, q1: v128, q2: v128, q3: v128| -> v128 {
        let h0 = i16x8_add_sat(i16x8_narrow_i32x4(q0, q1), zp16);
        let h1 = i16x8_add_sat(i16x8_narrow_i32x4(q2, q3), zp16);
        i8x16_min(i8x16_max(i8x16_narrow_i16x8(h0, h1), lo8), hi8)
    };
    zip_map16(a, b, out, four, pack, |x, y| p.one(x, y));
    Ok(())
}

// ---------------------------------------------------------------- QUANTIZE

/// The QUANTIZE of `quantize.rs`, SIMD128 (16 values a step): divide, round
/// half away from zero as `trunc(y) + (|y - trunc(y)| >= 0.5 ? sign(y) : 0)`
/// (exact: the difference of a float and its truncation is exact), clamp in
/// float, NaN to 0, then the magic-number conversion.
pub fn quantize(p: &QuantizeParams, x: &[f32], out: &mut [i8]) -> KResult<()> {
    if x.len() != out.len() {
        return Err(format!("quantize: {} inputs for {} outputs", x.len(), out.len()));
    }
    if !(-128..=127).contains(&p.zero_point) || p.min < -128 || p.max > 127 || p.min > p.max {
        // Outside what the int16 zero point and int8 narrowing below hold.
        return super::quantize::quantize(p, x, out);
    }
    if p.fast {
        return quantize_fast(p, x, out);
    }
    let scale = f32x4_splat(p.scale);
    let (lo, hi) = (f32x4_splat((p.min - p.zero_point) as f32), f32x4_splat((p.max - p.zero_point) as f32));
    let (half, one, sign) = (f32x4_splat(0.5), f32x4_splat(1.0), i32x4_splat(i32::MIN));
    map_f32_16(p, x, out, |v: v128| -> v128 {
        let y = f32x4_div(v, scale);
        let t = f32x4_trunc(y);
        let away = f32x4_ge(f32x4_abs(f32x4_sub(y, t)), half);
        let r = f32x4_add(t, v128_and(away, v128_or(v128_and(y, sign), one)));
        v128_and(f32x4_pmin(f32x4_pmax(r, lo), hi), f32x4_eq(y, y))
    }, |x| p.one(x));
    Ok(())
}

/// QUANTIZE's loop, 16 values a step: `four` maps 4 floats to whole
/// floats within the range less the zero point (NaN to 0); the
/// magic-number conversion, the zero point (added in int16 between the
/// narrowings, as in `Fp32K::half`: values stay within int8, so nothing
/// saturates) and the narrowing follow; `one` does the tail.
#[inline(always)]
fn map_f32_16(p: &QuantizeParams, x: &[f32], out: &mut [i8], four: impl Fn(v128) -> v128, one: impl Fn(f32) -> i8) {
    const MAGIC: f32 = 12_582_912.0;
    let (magic, magic_bits, zp16) = (f32x4_splat(MAGIC), i32x4_splat(MAGIC.to_bits() as i32), i16x8_splat(p.zero_point as i16));
    let int = |v: v128| i32x4_sub(f32x4_add(four(v), magic), magic_bits);
    let half = |a: v128, b: v128| i16x8_add(i16x8_narrow_i32x4(a, b), zp16);
    let n = x.len().min(out.len());
    let full = n / 16 * 16;
    for i in (0..full).step_by(16) {
        // Safety: i + 16 <= n for both slices.
        unsafe {
            let px = x.as_ptr().add(i);
            let q0 = int(v128_load(px as *const v128));
            let q1 = int(v128_load(px.add(4) as *const v128));
            let q2 = int(v128_load(px.add(8) as *const v128));
            let q3 = int(v128_load(px.add(12) as *const v128));
            v128_store(out.as_mut_ptr().add(i) as *mut v128, i8x16_narrow_i16x8(half(q0, q1), half(q2, q3)));
        }
    }
    for i in full..n {
        out[i] = one(x[i]);
    }
}

/// The fast QUANTIZE of `quantize.rs` (XNNPACK's conversion): multiply by
/// `1 / scale`, clamp in float to the range less the zero point, NaN to 0,
/// then the magic-number conversion (half to even).
fn quantize_fast(p: &QuantizeParams, x: &[f32], out: &mut [i8]) -> KResult<()> {
    let inv_s = 1.0 / p.scale;
    let inv = f32x4_splat(inv_s);
    let (lo, hi) = (f32x4_splat((p.min - p.zero_point) as f32), f32x4_splat((p.max - p.zero_point) as f32));
    map_f32_16(p, x, out, |v: v128| -> v128 {
        let y = f32x4_mul(v, inv);
        // `pmax`/`pmin` keep a NaN `y`; the mask then zeroes it.
        v128_and(f32x4_pmin(f32x4_pmax(y, lo), hi), f32x4_eq(y, y))
    }, |x| p.one_fast(inv_s, x));
    Ok(())
}
