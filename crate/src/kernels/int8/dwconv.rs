//! Quantized depthwise convolution on a padded input.
//!
//! The caller copies the input ([`pad_input`]) into an int16 buffer padded
//! spatially with the input zero point (a padded tap then contributes
//! `(zp + off) * w = 0`, exactly TFLite's "skip taps outside the image") and
//! along channels to a multiple of [`CB`], with each channel repeated
//! `depth_multiplier` times so that output channel `c` reads input channel
//! `c`. Weights are packed once as int16 with taps in pairs, the two taps'
//! weights of a channel side by side (`[c0 t, c0 t+1, c1 t, c1 t+1, ...]`,
//! 8 channels per 16 values), so `i32x4.dot_i16x8_s` on the two taps'
//! interleaved inputs adds both products per channel; an odd last tap is
//! paired with a zero-weight one. The input offset is folded into the bias.
//!
//! [`dwconv`] here is the scalar reference (oracle of the SIMD twin).

use super::gemm::KResult;
use super::requant::Requant;

/// Channel block of the kernels (and the channel padding of buffers).
pub const CB: usize = 16;

/// Depthwise weights packed for the kernels.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedDw {
    /// Output channels.
    pub c: usize,
    /// `c` rounded up to [`CB`].
    pub cp: usize,
    pub taps: usize,
    /// `taps.div_ceil(2) × cp × 2` weights: per tap pair, per block of 8
    /// channels, 16 values (channels 0-3 then 4-7, each `[t, t+1]`).
    pub w: Vec<i16>,
    /// `bias[c] + input_offset * Σ_taps w[tap][c]`, `cp` entries.
    pub bias: Vec<i32>,
}

impl PackedDw {
    /// Bytes held (weights and bias).
    pub fn bytes(&self) -> usize {
        self.w.len() * 2 + self.bias.len() * 4
    }

    /// Per channel, a bound on `|accumulator|` (see `gemm::acc_bound`).
    pub fn acc_bounds(&self) -> Vec<u64> {
        (0..self.c).map(|c| super::gemm::acc_bound(self.bias[c], (0..self.taps).map(|t| self.get(t, c) as i8))).collect()
    }

    /// Pack `w[tap][c] = src[tap * c_count + c]` (TFLite's `[1, kh, kw, c]`).
    pub fn pack(taps: usize, c: usize, src: &[i8], bias: Option<&[i32]>, input_offset: i32) -> KResult<PackedDw> {
        let need = taps.checked_mul(c).ok_or("dwconv: weight size overflows")?;
        if src.len() != need {
            return Err(format!("dwconv: weights need {need} values, have {}", src.len()));
        }
        if let Some(b) = bias {
            if b.len() != c {
                return Err(format!("dwconv: bias has {} values for {c} channels", b.len()));
            }
        }
        let cp = c.div_ceil(CB) * CB;
        let mut w = vec![0i16; taps.div_ceil(2) * cp * 2];
        let mut packed_bias = vec![0i32; cp];
        for ch in 0..c {
            let mut sum = 0i32;
            for t in 0..taps {
                let v = src[t * c + ch];
                w[Self::index(cp, t, ch)] = v as i16;
                sum = sum.wrapping_add(v as i32);
            }
            packed_bias[ch] = bias.map_or(0, |b| b[ch]).wrapping_add(input_offset.wrapping_mul(sum));
        }
        Ok(PackedDw { c, cp, taps, w, bias: packed_bias })
    }

    /// Position of tap `t`, channel `c` in the packed weights.
    #[inline]
    pub fn index(cp: usize, t: usize, c: usize) -> usize {
        ((t / 2) * cp + (c / 8) * 8) * 2 + (c % 8 / 4) * 8 + (c % 4) * 2 + t % 2
    }

    /// Weight of tap `t`, channel `c`.
    #[inline]
    pub fn get(&self, t: usize, c: usize) -> i16 {
        self.w[Self::index(self.cp, t, c)]
    }
}

/// Geometry of one image on the padded input `hp × wp × cp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DwGeom {
    pub hp: usize,
    pub wp: usize,
    pub oh: usize,
    pub ow: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
}

/// Validate slice extents for one image.
pub fn check(x: &[i16], g: &DwGeom, w: &PackedDw, rq: &Requant, out: &[i8]) -> KResult<()> {
    check_extents(x.len(), g, (w.taps, w.c, w.cp), rq, out.len())
}

/// The extent checks shared by the depthwise kernels' packings: a padded
/// input of `x_len` values, weights of `taps` taps over `c` channels padded
/// to `cp`, an output of `out_len` values.
pub fn check_extents(x_len: usize, g: &DwGeom, (taps, c, cp): (usize, usize, usize), rq: &Requant, out_len: usize) -> KResult<()> {
    if g.kh * g.kw != taps {
        return Err(format!("dwconv: {}x{} window for {taps} packed taps", g.kh, g.kw));
    }
    if rq.channels() < c {
        return Err(format!("dwconv: requantization has {} channels for {c}", rq.channels()));
    }
    if g.oh == 0 || g.ow == 0 || c == 0 {
        return Ok(());
    }
    if g.sh == 0 || g.sw == 0 || g.dh == 0 || g.dw == 0 || g.kh == 0 || g.kw == 0 {
        return Err("dwconv: strides, dilations and window must be positive".into());
    }
    let last_y = (g.oh - 1).checked_mul(g.sh).and_then(|v| v.checked_add((g.kh - 1) * g.dh));
    let last_x = (g.ow - 1).checked_mul(g.sw).and_then(|v| v.checked_add((g.kw - 1) * g.dw));
    match (last_y, last_x) {
        (Some(y), Some(x)) if y < g.hp && x < g.wp => {}
        _ => return Err(format!("dwconv: windows reach outside the padded {}x{} input", g.hp, g.wp)),
    }
    let need_x = g.hp.checked_mul(g.wp).and_then(|v| v.checked_mul(cp)).ok_or("dwconv: input extent overflows")?;
    if x_len < need_x {
        return Err(format!("dwconv: padded input needs {need_x} values, has {x_len}"));
    }
    let need_o = g.oh.checked_mul(g.ow).and_then(|v| v.checked_mul(c)).ok_or("dwconv: output extent overflows")?;
    if out_len < need_o {
        return Err(format!("dwconv: output needs {need_o} values, has {out_len}"));
    }
    Ok(())
}

/// Scalar reference depthwise convolution of one image (taps in pairs on
/// the packed layout, as the SIMD twin; plain loops LLVM vectorizes).
pub fn dwconv(x: &[i16], g: &DwGeom, w: &PackedDw, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    check(x, g, w, rq, out)?;
    let cp = w.cp;
    let pairs = w.taps.div_ceil(2);
    let mut taps: Vec<usize> = (0..w.taps).map(|t| ((t / g.kw) * g.dh * g.wp + (t % g.kw) * g.dw) * cp).collect();
    if w.taps % 2 == 1 {
        taps.push(taps[w.taps - 1]);
    }
    let mut acc = vec![0i32; cp];
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            let origin = (oy * g.sh * g.wp + ox * g.sw) * cp;
            acc.copy_from_slice(&w.bias);
            for p in 0..pairs {
                let xa = &x[origin + taps[2 * p]..origin + taps[2 * p] + cp];
                let xb = &x[origin + taps[2 * p + 1]..origin + taps[2 * p + 1] + cp];
                let wp = &w.w[p * cp * 2..(p + 1) * cp * 2];
                for (blk, ((acc8, (xa8, xb8)), w16)) in
                    acc.chunks_exact_mut(8).zip(xa.chunks_exact(8).zip(xb.chunks_exact(8))).zip(wp.chunks_exact(16)).enumerate()
                {
                    let _ = blk;
                    for l in 0..8 {
                        // Channel l of the block: its two taps' weights sit at
                        // (l / 4) * 8 + (l % 4) * 2 and the next value.
                        let wi = (l / 4) * 8 + (l % 4) * 2;
                        let v = xa8[l] as i32 * w16[wi] as i32 + xb8[l] as i32 * w16[wi + 1] as i32;
                        acc8[l] = acc8[l].wrapping_add(v);
                    }
                }
            }
            let o = &mut out[(oy * g.ow + ox) * w.c..(oy * g.ow + ox + 1) * w.c];
            for (c, v) in o.iter_mut().enumerate() {
                *v = rq.apply(acc[c], c) as i8;
            }
        }
    }
    Ok(())
}

/// Copy one NHWC image `h × w × c` into the padded int16 layout the kernels
/// read: `pad_t/pad_l` leading rows/columns, `hp × wp` in total, channel
/// stride `cp`, each input channel repeated `mult` times, the rest `fill`.
#[allow(clippy::too_many_arguments)]
pub fn pad_input(
    x: &[i8],
    h: usize,
    w: usize,
    c: usize,
    mult: usize,
    pads: (usize, usize),
    dims: (usize, usize, usize),
    fill: i8,
    dst: &mut Vec<i16>,
) -> KResult<()> {
    pad_input_as(x, h, w, c, mult, pads, dims, fill, |v| v as i16, dst)
}

/// [`pad_input`] into any element type, each value mapped by `conv` (e.g.
/// to the bytes `v ^ 0x80` the relaxed-dot kernel reads). With worker
/// threads (threaded build), large images are copied in row blocks.
#[allow(clippy::too_many_arguments)]
pub fn pad_input_as<T: Copy + Default + Send + Sync>(
    x: &[i8],
    h: usize,
    w: usize,
    c: usize,
    mult: usize,
    (pad_t, pad_l): (usize, usize),
    (hp, wp, cp): (usize, usize, usize),
    fill: i8,
    conv: impl Fn(i8) -> T + Sync,
    dst: &mut Vec<T>,
) -> KResult<()> {
    if x.len() != h * w * c || c * mult > cp || pad_t + h > hp || pad_l + w > wp {
        return Err("dwconv: padding geometry does not fit".into());
    }
    let fill = conv(fill);
    if dst.len() != hp * wp * cp {
        dst.clear();
        dst.resize(hp * wp * cp, fill);
    }
    let row = wp * cp;
    // Rows above and below the image.
    dst[..pad_t * row].fill(fill);
    dst[(pad_t + h) * row..].fill(fill);
    let one_row = |y: usize, d: &mut [T]| {
        d[..pad_l * cp].fill(fill);
        d[(pad_l + w) * cp..].fill(fill);
        let body = &mut d[pad_l * cp..(pad_l + w) * cp];
        let src = &x[y * w * c..(y + 1) * w * c];
        if mult == 1 && c == cp {
            // Contiguous: one converting copy per row.
            for (o, &v) in body.iter_mut().zip(src) {
                *o = conv(v);
            }
        } else {
            for (px, s) in body.chunks_exact_mut(cp).zip(src.chunks_exact(c)) {
                for (ch, &v) in s.iter().enumerate() {
                    px[ch * mult..(ch + 1) * mult].fill(conv(v));
                }
                px[c * mult..].fill(fill);
            }
        }
    };
    let threads = crate::par::threads();
    if threads > 1 && h >= 2 * threads && h * row >= 1 << 16 {
        let per = h.div_ceil(threads * crate::par::TASKS_PER_THREAD);
        let base = crate::par::SharedMut(dst[pad_t * row..].as_mut_ptr());
        crate::par::run(h.div_ceil(per), &|i| {
            for y in i * per..((i + 1) * per).min(h) {
                // Safety: rows pad_t..pad_t + h lie inside `dst` (checked
                // above); each task writes its own rows.
                let d = unsafe { core::slice::from_raw_parts_mut(base.get().add(y * row), row) };
                one_row(y, d);
            }
        });
    } else {
        for y in 0..h {
            one_row(y, &mut dst[(pad_t + y) * row..(pad_t + y + 1) * row]);
        }
    }
    Ok(())
}
