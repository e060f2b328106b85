//! Relaxed-SIMD twin of the int8 GEMM (only in wasm32 builds with
//! `relaxed-simd`): `qs8_gemm_4x8c4__wasmrelaxed_dot`, 4 rows × 8 channels
//! per tile, k in quads with `i32x4.relaxed_dot_i8x16_i7x16_add_s` (16
//! multiply-adds per instruction against 8 for `dot_i16x8` after widening).
//!
//! The relaxed dot is exact only while the second operand is 7-bit
//! (0..=127); beyond that engines may differ: x86 with AVX-VNNI (`vpdpbusd`)
//! reads it as unsigned, Arm `sdot` as signed, and x86 without VNNI
//! (`pmaddubsw`) saturates 16-bit pair sums. [`quad_layout`] probes which
//! one this engine does, once; the packing then feeds activations so that
//! the engine's reading is exact (`a ^ 0x80` as unsigned bytes, or `a`
//! as signed bytes, see `gemm.rs`), or keeps the SIMD128 kernel when
//! neither reading holds. The results equal the scalar reference bit for bit
//! (`tests/wasm_kernels.rs`).

use core::arch::wasm32::*;
use std::sync::OnceLock;

use super::dwconv::{DwGeom, CB};
use super::dwquad::{self, PackedDwQ};
use super::gemm::{self, GemmOut, KResult, Layout, PackedW, MR, NR};
use super::requant::Requant;
use super::simd128::{self, store_bytes, store_exact, store_fp32, tiles_by_store, with_epi, Epi, Epilogue, ExactK, FastEpi, Fp32K};

/// What `relaxed_dot(a, b, 0)` gives for lanes of `a = -128`, `b = 0xFF`
/// and `a = 127`, `b = 0xFF` tells how the engine reads `b`.
fn probe() -> Option<Layout> {
    let b = i8x16_splat(core::hint::black_box(-1));
    let dot = |a: i8| i32x4_extract_lane::<0>(i32x4_relaxed_dot_i8x16_i7x16_add(i8x16_splat(core::hint::black_box(a)), b, i32x4_splat(0)));
    match (dot(-128), dot(127)) {
        (-130_560, 129_540) => Some(Layout::Quads { xor: 0x80 }), // unsigned bytes, no saturation
        (512, -508) => Some(Layout::Quads { xor: 0 }),            // signed bytes
        _ => None,
    }
}

/// The quad layout this engine computes exactly with, if any (probed once).
pub fn quad_layout() -> Option<Layout> {
    static MODE: OnceLock<Option<Layout>> = OnceLock::new();
    *MODE.get_or_init(probe)
}

/// The GEMM of `gemm.rs` with the relaxed dot on [`Layout::Quads`] weights;
/// other layouts go to the SIMD128 kernel.
pub fn gemm(m: usize, a: &[i8], lda: usize, w: &PackedW, mut out: GemmOut) -> KResult<()> {
    gemm::check(m, a, lda, w, &out)?;
    let xor = match w.layout {
        Layout::Quads { xor } => xor,
        Layout::Pairs => return simd128::gemm(m, a, lda, w, out),
    };
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    tiles_by_store!(&mut out, w.n, |emit| for_tiles(m, a, lda, w, xor, emit));
    Ok(())
}

/// The tiles of an `m`-row GEMM in order (rows in blocks of [`MR`], each
/// block against every panel), each handed to `emit(acc, rows, r0, panel)`.
#[inline(always)]
fn for_tiles(m: usize, a: &[i8], lda: usize, w: &PackedW, xor: u8, mut emit: impl FnMut(&[[v128; 2]; MR], usize, usize, usize)) {
    let panels = w.n.div_ceil(NR);
    // The tile's rows as the dot reads them (`a ^ xor`), row stride `ks`
    // (k rounded up to 16 bytes). Bytes past k may hold anything (the
    // packed weights there are zero), so rows are copied in whole 16-byte
    // blocks, reading past k within `a` where it can.
    let kp = w.kp;
    let ks = w.k.div_ceil(16) * 16;
    let mut rows_buf = vec![0u8; MR * ks.max(kp)];
    let stride = ks.max(kp);
    let xv = u8x16_splat(xor);
    for r0 in (0..m).step_by(MR) {
        let rows = MR.min(m - r0);
        for (i, dst) in rows_buf.chunks_exact_mut(stride).enumerate() {
            // Rows past the end repeat the last row; their results are dropped.
            let start = (r0 + i.min(rows - 1)) * lda;
            if start + ks <= a.len() {
                // The whole row in 16-byte blocks (all rows but maybe the
                // last of `a`).
                let (src, d) = (a[start..start + ks].as_ptr(), dst.as_mut_ptr());
                for j in (0..ks).step_by(16) {
                    // Safety: `j + 16 <= ks`, inside the row and `dst` (stride >= ks).
                    unsafe { v128_store(d.add(j) as *mut v128, v128_xor(v128_load(src.add(j) as *const v128), xv)) };
                }
            } else {
                for (d, &v) in dst.iter_mut().zip(&a[start..start + w.k]) {
                    *d = v as u8 ^ xor;
                }
            }
        }
        for p in 0..panels {
            // Safety: `rows_buf` holds MR rows of `stride >= kp` bytes; `w`
            // is a well-formed quad packing (panels of `kp * NR` bytes).
            let acc = if rows == 1 {
                let [c0, c1] = unsafe { tile_row(rows_buf.as_ptr(), kp, w, p) };
                [[c0, c1]; MR]
            } else {
                unsafe { tile(rows_buf.as_ptr(), stride, kp, w, p) }
            };
            emit(&acc, rows, r0, p);
        }
    }
}

/// A 1×8 tile (a lone row: FULLY_CONNECTED on one input, the last rows
/// of a GEMM): the k quads dealt round-robin to four accumulator pairs, so
/// that the dots do not wait on each other, summed at the end (wrapping
/// int32 adds: the same sums in any order).
#[inline(always)]
unsafe fn tile_row(x: *const u8, kp: usize, w: &PackedW, p: usize) -> [v128; 2] {
    let panel = w.data.as_ptr().add(p * kp * NR);
    let dot = |q: usize, c0: v128, c1: v128| {
        let a = v128_load32_splat(x.add(4 * q) as *const u32);
        let wq = panel.add(q * 4 * NR);
        (
            i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wq as *const v128), a, c0),
            i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wq.add(16) as *const v128), a, c1),
        )
    };
    let z = i32x4_splat(0);
    let (mut a0, mut a1) = (v128_load(w.bias.as_ptr().add(p * NR) as *const v128), v128_load(w.bias.as_ptr().add(p * NR + 4) as *const v128));
    let (mut b0, mut b1, mut c0, mut c1, mut d0, mut d1) = (z, z, z, z, z, z);
    let quads = kp / 4;
    let mut q = 0;
    while q + 4 <= quads {
        (a0, a1) = dot(q, a0, a1);
        (b0, b1) = dot(q + 1, b0, b1);
        (c0, c1) = dot(q + 2, c0, c1);
        (d0, d1) = dot(q + 3, d0, d1);
        q += 4;
    }
    while q < quads {
        (a0, a1) = dot(q, a0, a1);
        q += 1;
    }
    [i32x4_add(i32x4_add(a0, b0), i32x4_add(c0, d0)), i32x4_add(i32x4_add(a1, b1), i32x4_add(c1, d1))]
}

/// One 4×8 tile of panel `p` (accumulators with bias): per k quad, two
/// weight vectors (channels 0-3, 4-7) against each row's quad broadcast.
#[inline(always)]
unsafe fn tile(x: *const u8, stride: usize, kp: usize, w: &PackedW, p: usize) -> [[v128; 2]; MR] {
    let bias0 = v128_load(w.bias.as_ptr().add(p * NR) as *const v128);
    let bias1 = v128_load(w.bias.as_ptr().add(p * NR + 4) as *const v128);
    let (mut c00, mut c01, mut c10, mut c11) = (bias0, bias1, bias0, bias1);
    let (mut c20, mut c21, mut c30, mut c31) = (bias0, bias1, bias0, bias1);
    let panel = w.data.as_ptr().add(p * kp * NR);
    let (x0, x1, x2, x3) = (x, x.add(stride), x.add(2 * stride), x.add(3 * stride));
    for q in (0..kp).step_by(4) {
        let w0 = v128_load(panel.add(q * NR) as *const v128);
        let w1 = v128_load(panel.add(q * NR + 16) as *const v128);
        let a0 = v128_load32_splat(x0.add(q) as *const u32);
        c00 = i32x4_relaxed_dot_i8x16_i7x16_add(w0, a0, c00);
        c01 = i32x4_relaxed_dot_i8x16_i7x16_add(w1, a0, c01);
        let a1 = v128_load32_splat(x1.add(q) as *const u32);
        c10 = i32x4_relaxed_dot_i8x16_i7x16_add(w0, a1, c10);
        c11 = i32x4_relaxed_dot_i8x16_i7x16_add(w1, a1, c11);
        let a2 = v128_load32_splat(x2.add(q) as *const u32);
        c20 = i32x4_relaxed_dot_i8x16_i7x16_add(w0, a2, c20);
        c21 = i32x4_relaxed_dot_i8x16_i7x16_add(w1, a2, c21);
        let a3 = v128_load32_splat(x3.add(q) as *const u32);
        c30 = i32x4_relaxed_dot_i8x16_i7x16_add(w0, a3, c30);
        c31 = i32x4_relaxed_dot_i8x16_i7x16_add(w1, a3, c31);
    }
    [[c00, c01], [c10, c11], [c20, c21], [c30, c31]]
}

/// Byte indices for `relaxed_swizzle` that spread channel `4g + i` of a
/// 16-channel vector over the four bytes of lane `i` (vector `g`).
static SPREAD: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        t[i] = (i / 4) as u8;
        i += 1;
    }
    t
};

/// The depthwise convolution of `dwquad.rs`: per output pixel and block of
/// 16 channels, four taps' input vectors are transposed with byte and
/// 16-bit interleaves into four vectors of `[c: t0 t1 t2 t3]` (4 channels
/// each), each met by one relaxed dot against the packed weights.
pub fn dwconv(x: &[u8], g: &DwGeom, w: &PackedDwQ, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    dwquad::check(x, g, w, rq, out)?;
    let Some(epi) = Epilogue::new(rq, w.cp) else { return dwquad::dwconv(x, g, w, rq, out) };
    if g.oh == 0 || g.ow == 0 || w.c == 0 {
        return Ok(());
    }
    if g.kw == 3 && g.sw == 1 && g.dw == 1 && !w.cols.is_empty() {
        with_epi!(&epi, |e| dw_cols_loop(x, g, w, e, out));
    } else {
        with_epi!(&epi, |e| dw_loop(x, g, w, e, out));
    }
    Ok(())
}

/// Four input vectors (16 channels each) transposed into four vectors of
/// `[c: v0 v1 v2 v3]`, channels `4g..4g+4` in vector `g`.
#[inline(always)]
fn transpose4(v0: v128, v1: v128, v2: v128, v3: v128) -> [v128; 4] {
    let lo01 = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(v0, v1);
    let hi01 = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(v0, v1);
    let lo23 = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(v2, v3);
    let hi23 = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(v2, v3);
    [
        i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(lo01, lo23),
        i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(lo01, lo23),
        i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(hi01, hi23),
        i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(hi01, hi23),
    ]
}

/// The loops of [`dwconv`] for kernels three columns wide at stride and
/// dilation 1 (`PackedDwQ::cols`): outputs in pairs, each kernel row's
/// four input columns transposed once for both; a last odd output reads
/// its third column twice (the fourth weight is zero).
#[inline(always)]
fn dw_cols_loop(x: &[u8], g: &DwGeom, w: &PackedDwQ, epi: &impl Epi, out: &mut [i8]) {
    let (cp, c) = (w.cp, w.c);
    let row = g.dh * g.wp * cp;
    let bias = w.bias.as_ptr();
    let acc0 = |cb: usize| unsafe { [0, 4, 8, 12].map(|o| v128_load(bias.add(cb + o) as *const v128)) };
    let finish = |a: [v128; 4], cb: usize| epi.pack(epi.apply(a[0], cb), epi.apply(a[1], cb + 4), epi.apply(a[2], cb + 8), epi.apply(a[3], cb + 12));
    // One kernel row's columns `xb, xb + cp, xb + 2cp` and `xb + last`
    // (`3cp` for a pair, `2cp` again for a lone output), transposed.
    // Safety (callers): all four are readable 16-byte vectors.
    let columns = |xb: *const u8, last: usize| unsafe {
        transpose4(v128_load(xb as *const v128), v128_load(xb.add(cp) as *const v128), v128_load(xb.add(2 * cp) as *const v128), v128_load(xb.add(last) as *const v128))
    };
    for oy in 0..g.oh {
        let orow = oy * g.ow * c;
        let mut ox = 0;
        while ox + 2 <= g.ow {
            let origin = (oy * g.sh * g.wp + ox) * cp;
            for cb in (0..cp).step_by(CB) {
                let (mut a, mut b) = (acc0(cb), acc0(cb));
                // Safety: `dwquad::check` bounds both windows inside the
                // padded input, so columns `ox..ox+4` of every kernel row
                // are in it; `cols` holds `kh` rows of `cp` channels.
                unsafe {
                    let mut xb = x.as_ptr().add(origin + cb);
                    let mut wp = w.cols.as_ptr().add(cb * 8);
                    for _ in 0..g.kh {
                        let t = columns(xb, 3 * cp);
                        for j in 0..4 {
                            a[j] = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(16 * j) as *const v128), t[j], a[j]);
                            b[j] = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(64 + 16 * j) as *const v128), t[j], b[j]);
                        }
                        xb = xb.add(row);
                        wp = wp.add(cp * 8);
                    }
                }
                let o = orow + ox * c + cb;
                store_bytes(finish(a, cb), &mut out[o..o + (c - cb).min(CB)]);
                store_bytes(finish(b, cb), &mut out[o + c..o + c + (c - cb).min(CB)]);
            }
            ox += 2;
        }
        if ox < g.ow {
            let origin = (oy * g.sh * g.wp + ox) * cp;
            for cb in (0..cp).step_by(CB) {
                let mut a = acc0(cb);
                // Safety: as above, for the columns `ox..ox+3` of one window.
                unsafe {
                    let mut xb = x.as_ptr().add(origin + cb);
                    let mut wp = w.cols.as_ptr().add(cb * 8);
                    for _ in 0..g.kh {
                        let t = columns(xb, 2 * cp);
                        for j in 0..4 {
                            a[j] = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(16 * j) as *const v128), t[j], a[j]);
                        }
                        xb = xb.add(row);
                        wp = wp.add(cp * 8);
                    }
                }
                let o = orow + ox * c + cb;
                store_bytes(finish(a, cb), &mut out[o..o + (c - cb).min(CB)]);
            }
        }
    }
}

/// The loops of [`dwconv`] for one epilogue form (checked geometry).
#[inline(always)]
fn dw_loop(x: &[u8], g: &DwGeom, w: &PackedDwQ, epi: &impl Epi, out: &mut [i8]) {
    let (cp, c) = (w.cp, w.c);
    let taps = w.tap_offsets(g);
    // A last quad with one real tap (9 taps: 3x3) takes its tap alone: the
    // quad's other weights are zero, so its bytes there may be anything,
    // and each channel's byte is spread over its lane with one
    // `relaxed_swizzle` (`pshufb`) per 4 channels, in place of three more
    // loads and the transpose.
    let single = w.taps % 4 == 1;
    let quads = taps.len() / 4 - single as usize;
    let last = if single { taps[quads * 4] } else { 0 };
    // The swizzle masks come from memory: as constants, V8 builds each anew
    // (four instructions) at every use.
    let spread = core::hint::black_box(SPREAD.as_ptr());
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            let origin = (oy * g.sh * g.wp + ox * g.sw) * cp;
            let orow = (oy * g.ow + ox) * c;
            for cb in (0..cp).step_by(CB) {
                // Safety: `dwquad::check` bounds every tap of every window
                // inside the padded input; weights/bias hold `cp` channels
                // for `quads` tap quads.
                let q = unsafe {
                    let mut a0 = v128_load(w.bias.as_ptr().add(cb) as *const v128);
                    let mut a1 = v128_load(w.bias.as_ptr().add(cb + 4) as *const v128);
                    let mut a2 = v128_load(w.bias.as_ptr().add(cb + 8) as *const v128);
                    let mut a3 = v128_load(w.bias.as_ptr().add(cb + 12) as *const v128);
                    let xb = x.as_ptr().add(origin + cb);
                    for qi in 0..quads {
                        // `taps` holds exactly `quads * 4` offsets.
                        let t = taps.as_ptr().add(qi * 4);
                        let [t0, t1, t2, t3] = transpose4(
                            v128_load(xb.add(*t) as *const v128),
                            v128_load(xb.add(*t.add(1)) as *const v128),
                            v128_load(xb.add(*t.add(2)) as *const v128),
                            v128_load(xb.add(*t.add(3)) as *const v128),
                        );
                        let wp = w.w.as_ptr().add((qi * cp + cb) * 4);
                        a0 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp as *const v128), t0, a0);
                        a1 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(16) as *const v128), t1, a1);
                        a2 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(32) as *const v128), t2, a2);
                        a3 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(48) as *const v128), t3, a3);
                    }
                    if single {
                        let xl = v128_load(xb.add(last) as *const v128);
                        let wp = w.w.as_ptr().add((quads * cp + cb) * 4);
                        let sp = |j: usize| i8x16_relaxed_swizzle(xl, v128_load(spread.add(16 * j) as *const v128));
                        a0 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp as *const v128), sp(0), a0);
                        a1 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(16) as *const v128), sp(1), a1);
                        a2 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(32) as *const v128), sp(2), a2);
                        a3 = i32x4_relaxed_dot_i8x16_i7x16_add(v128_load(wp.add(48) as *const v128), sp(3), a3);
                    }
                    let (q0, q1, q2, q3) = (epi.apply(a0, cb), epi.apply(a1, cb + 4), epi.apply(a2, cb + 8), epi.apply(a3, cb + 12));
                    epi.pack(q0, q1, q2, q3)
                };
                store_bytes(q, &mut out[orow + cb..orow + c.min(cb + CB)]);
            }
        }
    }
}
