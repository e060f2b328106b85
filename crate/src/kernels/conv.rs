//! Windowed NHWC float kernels: convolution (im2col + GEMM, grouped),
//! depthwise convolution, transposed convolution and 2-D pooling, computed
//! as TFLite's reference kernels do (same padding rules; sums start at zero
//! and the bias is added last).
//!
//! Every function validates the geometry against the slice lengths first
//! (with overflow-checked arithmetic) and returns an error on mismatch;
//! after that, all indexing stays inside the validated extents.

use super::gemm::{self, KResult, PackedB};

/// TFLite padding scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
}

impl Padding {
    /// From the TFLite `Padding` code (0 = SAME, 1 = VALID).
    pub fn from_code(c: i64) -> Option<Padding> {
        match c {
            0 => Some(Padding::Same),
            1 => Some(Padding::Valid),
            _ => None,
        }
    }
}

/// Output size and leading padding along one spatial axis, as TFLite's
/// `ComputeOutSize` / `ComputePaddingWithOffset` (the extra odd padding
/// cell goes at the end).
pub fn out_size_and_pad(padding: Padding, input: usize, filter: usize, stride: usize, dilation: usize) -> KResult<(usize, usize)> {
    if stride == 0 || dilation == 0 || filter == 0 {
        return Err(format!("stride {stride}, dilation {dilation} and filter size {filter} must be positive"));
    }
    let eff = (filter - 1).checked_mul(dilation).and_then(|x| x.checked_add(1)).ok_or("effective filter size overflows")?;
    let out = match padding {
        Padding::Same => input.div_ceil(stride),
        Padding::Valid => {
            if input < eff {
                return Err(format!("VALID padding: effective filter size {eff} exceeds input size {input}"));
            }
            (input - eff) / stride + 1
        }
    };
    Ok((out, pad_for(input, eff, stride, out)?))
}

/// Leading padding: `max(0, (out-1)*stride + eff - in) / 2`.
fn pad_for(input: usize, eff: usize, stride: usize, out: usize) -> KResult<usize> {
    if out == 0 {
        return Ok(0);
    }
    let total = (out - 1).checked_mul(stride).and_then(|x| x.checked_add(eff)).ok_or("padding overflows")?;
    Ok(total.saturating_sub(input) / 2)
}

/// Geometry of a windowed NHWC op: input `[n, h, w, c]`, output spatial
/// `[oh, ow]`, window `kh × kw` with strides, dilations and leading pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub oh: usize,
    pub ow: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub pad_t: usize,
    pub pad_l: usize,
}

fn prod(dims: &[usize]) -> KResult<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| format!("size {dims:?} overflows"))
}

fn expect_len(what: &str, len: usize, dims: &[usize]) -> KResult<()> {
    let n = prod(dims)?;
    if n != len {
        return Err(format!("{what}: expected {n} values for {dims:?}, got {len}"));
    }
    Ok(())
}

impl Window {
    /// Build from padding mode (computes the output size and pads).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        kh: usize,
        kw: usize,
        (sh, sw): (usize, usize),
        (dh, dw): (usize, usize),
        padding: Padding,
    ) -> KResult<Window> {
        let (oh, pad_t) = out_size_and_pad(padding, h, kh, sh, dh)?;
        let (ow, pad_l) = out_size_and_pad(padding, w, kw, sw, dw)?;
        let win = Window { n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pad_t, pad_l };
        win.check_ranges()?;
        Ok(win)
    }

    /// All coordinates this window can form fit comfortably in i64.
    fn check_ranges(&self) -> KResult<()> {
        const LIM: usize = 1 << 31;
        let all = [self.n, self.h, self.w, self.c, self.oh, self.ow, self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.pad_t, self.pad_l];
        if all.iter().any(|&v| v > LIM) {
            return Err(format!("window geometry out of range: {self:?}"));
        }
        if self.sh == 0 || self.sw == 0 || self.dh == 0 || self.dw == 0 {
            return Err("strides and dilations must be positive".into());
        }
        Ok(())
    }

    pub fn out_pixels(&self) -> KResult<usize> {
        prod(&[self.n, self.oh, self.ow])
    }

    /// Taps `k` along one axis whose input coordinate `o*s + k*d - pad` lies
    /// in `0..size` (a contiguous range, as TFLite's filter start/end).
    fn taps(o: usize, s: usize, d: usize, pad: usize, size: usize, k: usize) -> std::ops::Range<usize> {
        let base = o as i64 * s as i64 - pad as i64; // coordinate of tap 0
        let d = d as i64;
        let lo = if base < 0 { (-base + d - 1) / d } else { 0 };
        let room = size as i64 - base; // taps need k*d < room
        let hi = if room > 0 { (room + d - 1) / d } else { 0 };
        let hi = hi.min(k as i64);
        if lo >= hi {
            0..0
        } else {
            lo as usize..hi as usize
        }
    }
    #[inline]
    fn taps_y(&self, oy: usize) -> std::ops::Range<usize> {
        Self::taps(oy, self.sh, self.dh, self.pad_t, self.h, self.kh)
    }
    #[inline]
    fn taps_x(&self, ox: usize) -> std::ops::Range<usize> {
        Self::taps(ox, self.sw, self.dw, self.pad_l, self.w, self.kw)
    }
    /// Input coordinate of a tap known to be inside (from `taps_*`).
    #[inline]
    fn at(o: usize, s: usize, k: usize, d: usize, pad: usize) -> usize {
        (o as i64 * s as i64 + k as i64 * d as i64 - pad as i64) as usize
    }

    /// Input row index for output row `o` and tap `k`, if inside the input.
    #[inline]
    fn iy(&self, o: usize, k: usize) -> Option<usize> {
        let y = o as i64 * self.sh as i64 + k as i64 * self.dh as i64 - self.pad_t as i64;
        (y >= 0 && (y as usize) < self.h).then_some(y as usize)
    }
    #[inline]
    fn ix(&self, o: usize, k: usize) -> Option<usize> {
        let x = o as i64 * self.sw as i64 + k as i64 * self.dw as i64 - self.pad_l as i64;
        (x >= 0 && (x as usize) < self.w).then_some(x as usize)
    }
}

/// Add the per-channel bias to every pixel of `out` (`[.., ch]`).
fn add_bias(out: &mut [f32], bias: Option<&[f32]>, ch: usize) {
    if let Some(b) = bias {
        if ch == 0 {
            return;
        }
        for px in out.chunks_exact_mut(ch) {
            for (o, &bv) in px.iter_mut().zip(b) {
                *o += bv;
            }
        }
    }
}

/// Values per im2col chunk (rows × K), about 1 MiB.
const IM2COL_BUDGET: usize = 1 << 18;

/// CONV_2D: input `[n,h,w,c]`, filter `[oc, kh, kw, c/groups]`, optional
/// bias `[oc]`, output `[n, oh, ow, oc]` (overwritten). Grouped when
/// `groups > 1` (`c` and `oc` divisible by it). Packs the filter on each
/// call; [`pack_conv_filter`] + [`conv2d_packed`] pack it once.
pub fn conv2d(
    win: &Window,
    groups: usize,
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    oc: usize,
    out: &mut [f32],
) -> KResult<()> {
    if groups == 0 || !win.c.is_multiple_of(groups) || !oc.is_multiple_of(groups) {
        return Err(format!("conv: {} input / {oc} output channels not divisible into {groups} groups", win.c));
    }
    expect_len("conv filter", filter.len(), &[oc, win.kh, win.kw, win.c / groups])?;
    let packed = pack_conv_filter(filter, oc, win.kh * win.kw * (win.c / groups), groups)?;
    conv2d_packed(win, groups, input, &packed, bias, oc, out)
}

/// A CONV_2D filter `[oc, k]` (k = kh·kw·ig) packed for the GEMM, one
/// [`PackedB`] per group.
pub fn pack_conv_filter(filter: &[f32], oc: usize, k: usize, groups: usize) -> KResult<Vec<PackedB>> {
    if groups == 0 || !oc.is_multiple_of(groups) {
        return Err(format!("conv: {oc} output channels not divisible into {groups} groups"));
    }
    let need = oc.checked_mul(k).ok_or("conv: filter size overflows")?;
    if filter.len() != need {
        return Err(format!("conv filter has {} values, expected {need}", filter.len()));
    }
    let og = oc / groups;
    (0..groups).map(|g| PackedB::pack(k, og, &filter[g * og * k..], 1, k)).collect()
}

/// [`conv2d`] with the filter packed by [`pack_conv_filter`].
pub fn conv2d_packed(
    win: &Window,
    groups: usize,
    input: &[f32],
    packed: &[PackedB],
    bias: Option<&[f32]>,
    oc: usize,
    out: &mut [f32],
) -> KResult<()> {
    win.check_ranges()?;
    if groups == 0 || !win.c.is_multiple_of(groups) || !oc.is_multiple_of(groups) {
        return Err(format!("conv: {} input / {oc} output channels not divisible into {groups} groups", win.c));
    }
    let ig = win.c / groups;
    let og = oc / groups;
    let k = prod(&[win.kh, win.kw, ig])?;
    if packed.len() != groups || packed.iter().any(|p| p.k() != k || p.n() != og) {
        return Err(format!("conv: packed filter does not match {groups} groups of {og} x {k}"));
    }
    expect_len("conv input", input.len(), &[win.n, win.h, win.w, win.c])?;
    expect_len("conv output", out.len(), &[win.n, win.oh, win.ow, oc])?;
    if let Some(b) = bias {
        if b.len() != oc {
            return Err(format!("conv bias has {} values, expected {oc}", b.len()));
        }
    }
    out.fill(0.0);
    let m = win.out_pixels()?;
    if m == 0 || oc == 0 {
        return Ok(());
    }
    if k == 0 {
        add_bias(out, bias, oc);
        return Ok(());
    }
    let pointwise = win.kh == 1
        && win.kw == 1
        && win.sh == 1
        && win.sw == 1
        && win.pad_t == 0
        && win.pad_l == 0
        && win.oh == win.h
        && win.ow == win.w;
    let chunk_rows = (IM2COL_BUDGET / k).clamp(gemm::MR, m.max(gemm::MR));
    let threads = crate::par::threads();
    if !pointwise && threads > 1 && m >= 2 * gemm::MR && m.saturating_mul(k).saturating_mul(oc) >= gemm::PAR_MIN_MACS {
        // Row blocks as parallel tasks, each with its own im2col rows.
        let per = m.div_ceil(threads * crate::par::TASKS_PER_THREAD).min(chunk_rows).max(1);
        let tasks = m.div_ceil(per);
        let op = crate::par::SharedMut(out.as_mut_ptr());
        crate::par::run(tasks, &|i| {
            let (r0, r1) = (i * per, ((i + 1) * per).min(m));
            // Safety: `out` holds m * oc values (checked); the tasks' row ranges are disjoint.
            let o = unsafe { core::slice::from_raw_parts_mut(op.get().add(r0 * oc), (r1 - r0) * oc) };
            let mut col = vec![0.0f32; (r1 - r0) * k];
            for (g, pb) in packed.iter().enumerate() {
                for (r, dst) in col.chunks_exact_mut(k).enumerate() {
                    im2col_row(win, input, g * ig, ig, r0 + r, dst);
                }
                // Cannot fail: the extents were checked for the whole output.
                let _ = gemm::gemm_packed(r1 - r0, &col, k, pb, &mut o[g * og..], oc);
            }
            add_bias(o, bias, oc);
        });
        return Ok(());
    }
    let mut col: Vec<f32> = Vec::new();
    for (g, pb) in packed.iter().enumerate() {
        if pointwise {
            gemm::gemm_packed(m, &input[g * ig..], win.c, pb, &mut out[g * og..], oc)?;
            continue;
        }
        let mut r0 = 0;
        while r0 < m {
            let rows = chunk_rows.min(m - r0);
            col.clear();
            col.resize(rows * k, 0.0);
            for (r, dst) in col.chunks_exact_mut(k).enumerate() {
                im2col_row(win, input, g * ig, ig, r0 + r, dst);
            }
            gemm::gemm_packed(rows, &col, k, pb, &mut out[r0 * oc + g * og..], oc)?;
            r0 += rows;
        }
    }
    add_bias(out, bias, oc);
    Ok(())
}

/// One im2col row for output pixel `p` (`(b*oh + oy)*ow + ox`): the
/// `kh × kw × ig` window of channels `c0..c0+ig`, zeros in the padding.
fn im2col_row(win: &Window, input: &[f32], c0: usize, ig: usize, p: usize, dst: &mut [f32]) {
    let ox = p % win.ow;
    let oy = (p / win.ow) % win.oh;
    let b = p / (win.ow * win.oh);
    for (ky, drow) in dst.chunks_exact_mut(win.kw * ig).enumerate() {
        let Some(iy) = win.iy(oy, ky) else {
            drow.fill(0.0);
            continue;
        };
        for (kx, seg) in drow.chunks_exact_mut(ig).enumerate() {
            match win.ix(ox, kx) {
                Some(ix) => {
                    let base = ((b * win.h + iy) * win.w + ix) * win.c + c0;
                    seg.copy_from_slice(&input[base..base + ig]);
                }
                None => seg.fill(0.0),
            }
        }
    }
}

/// DEPTHWISE_CONV_2D: input `[n,h,w,c]`, filter `[1, kh, kw, c*mult]`,
/// optional bias `[c*mult]`, output `[n, oh, ow, c*mult]` (overwritten);
/// output channel `ic*mult + m` reads input channel `ic`.
pub fn depthwise_conv2d(
    win: &Window,
    mult: usize,
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> KResult<()> {
    win.check_ranges()?;
    let oc = win.c.checked_mul(mult).ok_or("depthwise: channel count overflows")?;
    expect_len("depthwise input", input.len(), &[win.n, win.h, win.w, win.c])?;
    expect_len("depthwise filter", filter.len(), &[win.kh, win.kw, oc])?;
    expect_len("depthwise output", out.len(), &[win.n, win.oh, win.ow, oc])?;
    if let Some(b) = bias {
        if b.len() != oc {
            return Err(format!("depthwise bias has {} values, expected {oc}", b.len()));
        }
    }
    out.fill(0.0);
    if oc == 0 {
        return Ok(());
    }
    let pixels = out.len() / oc;
    let threads = crate::par::threads();
    let macs = out.len().saturating_mul(win.kh * win.kw);
    if threads > 1 && pixels >= 2 && macs >= gemm::PAR_MIN_MACS / 2 {
        // Output pixel ranges as parallel tasks.
        let per = pixels.div_ceil(threads * crate::par::TASKS_PER_THREAD);
        let tasks = pixels.div_ceil(per);
        let op = crate::par::SharedMut(out.as_mut_ptr());
        crate::par::run(tasks, &|i| {
            let (p0, p1) = (i * per, ((i + 1) * per).min(pixels));
            // Safety: `out` holds `pixels * oc` values; the ranges are disjoint.
            let o = unsafe { core::slice::from_raw_parts_mut(op.get().add(p0 * oc), (p1 - p0) * oc) };
            depthwise_pixels(win, mult, input, filter, p0, o);
            add_bias(o, bias, oc);
        });
        return Ok(());
    }
    depthwise_pixels(win, mult, input, filter, 0, out);
    add_bias(out, bias, oc);
    Ok(())
}

/// Depthwise output pixels `p0..` (as many as `out` holds, zeroed), no bias.
fn depthwise_pixels(win: &Window, mult: usize, input: &[f32], filter: &[f32], p0: usize, out: &mut [f32]) {
    let c = win.c;
    let oc = c * mult;
    for (p, opx) in out.chunks_exact_mut(oc).enumerate().map(|(i, o)| (p0 + i, o)) {
        let ox = p % win.ow;
        let oy = (p / win.ow) % win.oh;
        let b = p / (win.ow * win.oh);
        let xs = win.taps_x(ox);
        for ky in win.taps_y(oy) {
            let iy = Window::at(oy, win.sh, ky, win.dh, win.pad_t);
            for kx in xs.clone() {
                let ix = Window::at(ox, win.sw, kx, win.dw, win.pad_l);
                let ib = ((b * win.h + iy) * win.w + ix) * c;
                let ipx = &input[ib..ib + c];
                let wb = (ky * win.kw + kx) * oc;
                let wpx = &filter[wb..wb + oc];
                if mult == 1 {
                    for ((o, &x), &w) in opx.iter_mut().zip(ipx).zip(wpx) {
                        *o += x * w;
                    }
                } else {
                    for ((og, &x), wg) in opx.chunks_exact_mut(mult).zip(ipx).zip(wpx.chunks_exact(mult)) {
                        for (o, &w) in og.iter_mut().zip(wg) {
                            *o += x * w;
                        }
                    }
                }
            }
        }
    }
}

/// TRANSPOSE_CONV: input `[n, h, w, ic]` (the window's `h`,`w`,`c`),
/// filter `[oc, kh, kw, ic]`, output `[n, out_h, out_w, oc]` (overwritten).
/// `pad_t`/`pad_l` and strides come from `win`; dilation must be 1.
/// Each input pixel scatters `input · filter` into the output window at
/// `(iy*sh - pad_t + ky, ix*sw - pad_l + kx)`.
#[allow(clippy::too_many_arguments)]
pub fn transpose_conv2d(
    win: &Window,
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    out_h: usize,
    out_w: usize,
    oc: usize,
    out: &mut [f32],
) -> KResult<()> {
    win.check_ranges()?;
    if out_h > 1 << 31 || out_w > 1 << 31 {
        return Err("transpose conv: output size out of range".into());
    }
    let ic = win.c;
    expect_len("transpose conv input", input.len(), &[win.n, win.h, win.w, ic])?;
    expect_len("transpose conv filter", filter.len(), &[oc, win.kh, win.kw, ic])?;
    expect_len("transpose conv output", out.len(), &[win.n, out_h, out_w, oc])?;
    if let Some(b) = bias {
        if b.len() != oc {
            return Err(format!("transpose conv bias has {} values, expected {oc}", b.len()));
        }
    }
    out.fill(0.0);
    let taps = prod(&[win.kh, win.kw, oc])?;
    let m = prod(&[win.n, win.h, win.w])?;
    if m == 0 || taps == 0 || ic == 0 {
        add_bias(out, bias, oc);
        return Ok(());
    }
    // wt[ic][(ky*kw + kx)*oc + o] = filter[o][ky][kx][ic]
    let mut wt = vec![0.0f32; prod(&[ic, taps])?];
    for o in 0..oc {
        for t in 0..win.kh * win.kw {
            let src = &filter[(o * win.kh * win.kw + t) * ic..][..ic];
            for (i, &v) in src.iter().enumerate() {
                wt[i * taps + t * oc + o] = v;
            }
        }
    }
    let pb = PackedB::pack(ic, taps, &wt, taps, 1)?;
    let chunk_rows = (IM2COL_BUDGET / taps).clamp(gemm::MR, m.max(gemm::MR));
    let mut col: Vec<f32> = Vec::new();
    let mut r0 = 0;
    while r0 < m {
        let rows = chunk_rows.min(m - r0);
        col.clear();
        col.resize(rows * taps, 0.0);
        gemm::gemm_packed(rows, &input[r0 * ic..], ic, &pb, &mut col, taps)?;
        for (r, crow) in col.chunks_exact(taps).enumerate() {
            let p = r0 + r;
            let ix = p % win.w;
            let iy = (p / win.w) % win.h;
            let b = p / (win.w * win.h);
            for ky in 0..win.kh {
                let y = iy as i64 * win.sh as i64 + ky as i64 - win.pad_t as i64;
                if y < 0 || y as usize >= out_h {
                    continue;
                }
                for kx in 0..win.kw {
                    let x = ix as i64 * win.sw as i64 + kx as i64 - win.pad_l as i64;
                    if x < 0 || x as usize >= out_w {
                        continue;
                    }
                    let ob = ((b * out_h + y as usize) * out_w + x as usize) * oc;
                    let src = &crow[(ky * win.kw + kx) * oc..][..oc];
                    for (o, &v) in out[ob..ob + oc].iter_mut().zip(src) {
                        *o += v;
                    }
                }
            }
        }
        r0 += rows;
    }
    add_bias(out, bias, oc);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Average,
    Max,
}

/// AVERAGE_POOL_2D / MAX_POOL_2D over valid cells only (padding cells are
/// neither counted nor compared). Output `[n, oh, ow, c]` (overwritten).
/// An average window with no valid cell is an error (as in TFLite).
pub fn pool2d(win: &Window, kind: PoolKind, input: &[f32], out: &mut [f32]) -> KResult<()> {
    win.check_ranges()?;
    let c = win.c;
    expect_len("pool input", input.len(), &[win.n, win.h, win.w, c])?;
    expect_len("pool output", out.len(), &[win.n, win.oh, win.ow, c])?;
    if c == 0 {
        return Ok(());
    }
    for (p, opx) in out.chunks_exact_mut(c).enumerate() {
        let ox = p % win.ow;
        let oy = (p / win.ow) % win.oh;
        let b = p / (win.ow * win.oh);
        match kind {
            PoolKind::Average => opx.fill(0.0),
            PoolKind::Max => opx.fill(f32::MIN),
        }
        let mut count = 0usize;
        let xs = win.taps_x(ox);
        for ky in win.taps_y(oy) {
            let iy = Window::at(oy, win.sh, ky, win.dh, win.pad_t);
            for kx in xs.clone() {
                let ix = Window::at(ox, win.sw, kx, win.dw, win.pad_l);
                count += 1;
                let ib = ((b * win.h + iy) * win.w + ix) * c;
                let ipx = &input[ib..ib + c];
                match kind {
                    PoolKind::Average => opx.iter_mut().zip(ipx).for_each(|(o, &x)| *o += x),
                    PoolKind::Max => opx.iter_mut().zip(ipx).for_each(|(o, &x)| *o = if x > *o { x } else { *o }),
                }
            }
        }
        if kind == PoolKind::Average {
            if count == 0 {
                return Err(format!("average pool window at output ({oy}, {ox}) covers no input cell"));
            }
            let d = count as f32;
            opx.iter_mut().for_each(|o| *o /= d);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_rules() {
        assert_eq!(out_size_and_pad(Padding::Same, 5, 3, 2, 1).unwrap(), (3, 1));
        assert_eq!(out_size_and_pad(Padding::Same, 4, 3, 2, 1).unwrap(), (2, 0));
        assert_eq!(out_size_and_pad(Padding::Same, 224, 3, 2, 1).unwrap(), (112, 0));
        assert_eq!(out_size_and_pad(Padding::Valid, 7, 3, 2, 2).unwrap(), (2, 0));
        assert!(out_size_and_pad(Padding::Valid, 2, 3, 1, 1).is_err());
        assert!(out_size_and_pad(Padding::Same, 2, 3, 0, 1).is_err());
    }

    #[test]
    fn taps_match_bounds_checks() {
        for &(s, d, pad, size, k) in &[(1, 1, 1, 5, 3), (2, 1, 0, 7, 3), (2, 2, 2, 9, 3), (3, 3, 4, 4, 5), (1, 5, 0, 3, 2), (7, 1, 3, 2, 9)] {
            let win = Window { h: size, kh: k, sh: s, dh: d, pad_t: pad, ..Default::default() };
            for o in 0..size + 3 {
                let want: Vec<usize> = (0..k).filter(|&kk| win.iy(o, kk).is_some()).collect();
                let got: Vec<usize> = win.taps_y(o).collect();
                assert_eq!(got, want, "o={o} s={s} d={d} pad={pad} size={size} k={k}");
                for kk in got {
                    assert_eq!(Some(Window::at(o, s, kk, d, pad)), win.iy(o, kk));
                }
            }
        }
    }

    #[test]
    fn huge_pool_window_is_fast() {
        let win = Window::new(1, 3, 3, 1, 1 << 30, 1 << 30, (1, 1), (1, 1), Padding::Same).unwrap();
        let mut out = vec![0.0; 9];
        pool2d(&win, PoolKind::Average, &[1.0; 9], &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        let win = Window::new(1, 3, 3, 2, 3, 3, (1, 1), (1, 1), Padding::Same).unwrap();
        let mut out = vec![0.0; 3 * 3 * 4];
        assert!(conv2d(&win, 1, &[0.0; 17], &[0.0; 72], None, 4, &mut out).is_err());
        assert!(conv2d(&win, 1, &[0.0; 18], &[0.0; 71], None, 4, &mut out).is_err());
        assert!(conv2d(&win, 1, &[0.0; 18], &[0.0; 72], Some(&[0.0; 3]), 4, &mut out).is_err());
        assert!(conv2d(&win, 1, &[0.0; 18], &[0.0; 72], None, 4, &mut out).is_ok());
        assert!(depthwise_conv2d(&win, 2, &[0.0; 18], &[0.0; 35], None, &mut out[..36]).is_err());
        assert!(pool2d(&win, PoolKind::Max, &[0.0; 18], &mut out[..17]).is_err());
    }
}
