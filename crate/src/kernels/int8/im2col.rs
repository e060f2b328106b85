//! int8 im2col: rows `p0..p0+rows` (output pixels) of one image's patch
//! matrix for the GEMM, row stride `kp`, columns `(ky, kx, ci)` for
//! channels `c0..c0+ic`, padded taps `fill` (the input zero point), columns
//! past `kh*kw*ic` zero.
//!
//! Where a window row lies inside the image and its taps are contiguous
//! (dilation 1 along x, all channels of the image), the whole `kw*ic` run
//! is one copy, and consecutive output pixels whose whole windows lie
//! inside the image go as one span without per-pixel bounds work;
//! elsewhere taps are copied one by one. [`im2col`] is the
//! scalar reference; the SIMD128 twin ([`im2col_simd`], wasm only) copies
//! short runs (and a row's few zero columns) with one 16-byte load and
//! store, letting the store spill past the run: everything it spills over
//! is written again later (the next run of the row, the row's zero
//! padding, or the next row), and a spill past the rows asked for is never
//! done.

use super::gemm::KResult;
use crate::kernels::conv::Window;

/// The patch geometry of one image (channels `c0..c0+ic` of `c`).
#[derive(Debug, Clone, Copy)]
pub struct Patches<'a> {
    pub win: &'a Window,
    pub ic: usize,
    pub c0: usize,
    pub fill: i8,
}

fn check(g: &Patches, img: &[i8], p0: usize, rows: usize, kp: usize, dst: &[i8]) -> KResult<usize> {
    let w = g.win;
    let k = w.kh.checked_mul(w.kw).and_then(|x| x.checked_mul(g.ic)).ok_or("im2col: patch size overflows")?;
    if kp < k {
        return Err(format!("im2col: row stride {kp} is shorter than the patch {k}"));
    }
    if g.c0 + g.ic > w.c || img.len() < w.h * w.w * w.c {
        return Err(format!("im2col: image of {} values for {}x{}x{} (channels {}..{})", img.len(), w.h, w.w, w.c, g.c0, g.c0 + g.ic));
    }
    if p0 + rows > w.oh * w.ow || dst.len() < rows * kp {
        return Err(format!("im2col: rows {p0}..{} of {} pixels into {} values", p0 + rows, w.oh * w.ow, dst.len()));
    }
    Ok(k)
}

/// A run of `n` consecutive output pixels of one output row whose windows
/// lie inside the image, taps contiguous: pixel `i`'s window row `ky` is
/// `img[s + i * step + ky * row..][..seg]`, going to
/// `dst[at + i * kp + ky * seg..]`, then zeros in `dst[.. + k..kp]`.
#[derive(Debug, Clone, Copy)]
struct Span {
    at: usize,
    s: usize,
    n: usize,
    kh: usize,
    seg: usize,
    row: usize,
    step: usize,
    kp: usize,
    k: usize,
}

impl Span {
    /// The span with `copy(dst, at, s, len)` and `zero(dst, at, len)`.
    #[inline(always)]
    fn each(&self, dst: &mut [i8], mut copy: impl FnMut(&mut [i8], usize, usize, usize), mut zero: impl FnMut(&mut [i8], usize, usize)) {
        let (mut at, mut s) = (self.at, self.s);
        for _ in 0..self.n {
            for ky in 0..self.kh {
                copy(dst, at + ky * self.seg, s + ky * self.row, self.seg);
            }
            if self.kp > self.k {
                zero(dst, at + self.k, self.kp - self.k);
            }
            at += self.kp;
            s += self.step;
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// The shared walk; `run(dst, at, img, s, len)` copies `img[s..s+len]` to
/// `dst[at..at+len]`, `zero(dst, at, len)` zeroes `dst[at..at+len]` (both
/// may write past it, see the module docs) and `span(dst, img, span)`
/// does a [`Span`] (windows inside the image, in order).
#[inline(always)]
fn walk(
    g: &Patches,
    img: &[i8],
    p0: usize,
    rows: usize,
    kp: usize,
    dst: &mut [i8],
    k: usize,
    run: impl Fn(&mut [i8], usize, &[i8], usize, usize),
    zero: impl Fn(&mut [i8], usize, usize),
    span: impl Fn(&mut [i8], &[i8], Span),
) {
    let w = g.win;
    let (ic, c) = (g.ic, w.c);
    let seg = w.kw * ic;
    let contiguous = w.dw == 1 && ic == c;
    // The output columns whose windows lie inside the image along x:
    // `ox_lo..ox_hi` (empty when none do).
    let span_w = (w.kw - 1) * w.dw + 1;
    let ox_lo = w.pad_l.div_ceil(w.sw);
    let ox_hi = if w.w + w.pad_l >= span_w { ((w.w + w.pad_l - span_w) / w.sw + 1).min(w.ow) } else { 0 };
    // Output pixel (oy, ox) of row r, stepped along (no division per row).
    let (mut oy, mut ox) = (p0 / w.ow, p0 % w.ow);
    let mut r = 0;
    while r < rows {
        let iy0 = (oy * w.sh) as isize - w.pad_t as isize;
        if contiguous && ox >= ox_lo && ox < ox_hi && iy0 >= 0 && iy0 as usize + (w.kh - 1) * w.dh < w.h {
            // A run of windows inside the image along this output row.
            let n = (ox_hi - ox).min(rows - r);
            let s = (iy0 as usize * w.w + ox * w.sw - w.pad_l) * c;
            span(dst, img, Span { at: r * kp, s, n, kh: w.kh, seg, row: w.dh * w.w * c, step: w.sw * c, kp, k });
            r += n;
            ox += n;
            if ox == w.ow {
                ox = 0;
                oy += 1;
            }
            continue;
        }
        let base = r * kp;
        let ix0 = (ox * w.sw) as isize - w.pad_l as isize;
        let x_inside = ix0 >= 0 && ix0 as usize + (w.kw - 1) * w.dw < w.w;
        for ky in 0..w.kh {
            let iy = (oy * w.sh + ky * w.dh) as isize - w.pad_t as isize;
            let at = base + ky * seg;
            if iy < 0 || iy as usize >= w.h {
                dst[at..at + seg].fill(g.fill);
                continue;
            }
            let row_start = iy as usize * w.w;
            if x_inside && contiguous {
                let s = (row_start + ix0 as usize) * c;
                run(dst, at, img, s, seg);
                continue;
            }
            for kx in 0..w.kw {
                let ix = ix0 + (kx * w.dw) as isize;
                let d = at + kx * ic;
                if ix >= 0 && (ix as usize) < w.w {
                    let s = (row_start + ix as usize) * c + g.c0;
                    run(dst, d, img, s, ic);
                } else {
                    dst[d..d + ic].fill(g.fill);
                }
            }
        }
        if kp > k {
            zero(dst, base + k, kp - k);
        }
        r += 1;
        ox += 1;
        if ox == w.ow {
            ox = 0;
            oy += 1;
        }
    }
}

/// Scalar reference.
pub fn im2col(g: &Patches, img: &[i8], p0: usize, rows: usize, kp: usize, dst: &mut [i8]) -> KResult<()> {
    let k = check(g, img, p0, rows, kp, dst)?;
    let copy = |dst: &mut [i8], at: usize, img: &[i8], s: usize, len: usize| dst[at..at + len].copy_from_slice(&img[s..s + len]);
    let zero = |dst: &mut [i8], at: usize, len: usize| dst[at..at + len].fill(0);
    walk(g, img, p0, rows, kp, dst, k, copy, zero, |dst, img, sp| sp.each(dst, |dst, at, s, len| copy(dst, at, img, s, len), zero));
    Ok(())
}

/// SIMD128 twin: runs of at most 16 bytes move with one 16-byte load and
/// store when both stay inside their slices.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn im2col_simd(g: &Patches, img: &[i8], p0: usize, rows: usize, kp: usize, dst: &mut [i8]) -> KResult<()> {
    use core::arch::wasm32::*;
    let k = check(g, img, p0, rows, kp, dst)?;
    // Nothing past the rows asked for is touched, spills included.
    let dst = &mut dst[..rows * kp];
    let copy = |dst: &mut [i8], at: usize, img: &[i8], s: usize, len: usize| {
        if len <= 16 && s + 16 <= img.len() && at + 16 <= dst.len() {
            // Safety: both 16-byte ranges were just checked in bounds.
            unsafe { v128_store(dst.as_mut_ptr().add(at) as *mut v128, v128_load(img.as_ptr().add(s) as *const v128)) };
        } else {
            dst[at..at + len].copy_from_slice(&img[s..s + len]);
        }
    };
    // A row's few zero columns: one 16-byte store (a call to `memset` per
    // row cost about as much as the row's copies).
    let zero = |dst: &mut [i8], at: usize, len: usize| {
        if len <= 16 && at + 16 <= dst.len() {
            // Safety: the 16-byte range was just checked in bounds.
            unsafe { v128_store(dst.as_mut_ptr().add(at) as *mut v128, i8x16_splat(0)) };
        } else {
            dst[at..at + len].fill(0);
        }
    };
    walk(g, img, p0, rows, kp, dst, k, copy, zero, |dst, img, sp| {
        // The last pixel's reads and writes bound the whole span's.
        let last_at = sp.at + (sp.n - 1) * sp.kp;
        let last_s = sp.s + (sp.n - 1) * sp.step + (sp.kh - 1) * sp.row;
        let fits = sp.seg <= 16 && sp.kp - sp.k <= 16 && last_s + 16 <= img.len() && last_at + sp.k.max((sp.kh - 1) * sp.seg) + 16 <= dst.len();
        if fits {
            let (d, x) = (dst.as_mut_ptr(), img.as_ptr());
            // Safety: every 16-byte load and store of the span lies within
            // those of its last pixel, checked just above (the closures
            // write through `d` alone).
            sp.each(
                &mut [],
                |_, at, s, _| unsafe { v128_store(d.add(at) as *mut v128, v128_load(x.add(s) as *const v128)) },
                |_, at, _| unsafe { v128_store(d.add(at) as *mut v128, i8x16_splat(0)) },
            );
        } else {
            sp.each(dst, |dst, at, s, len| copy(dst, at, img, s, len), zero);
        }
    });
    Ok(())
}
