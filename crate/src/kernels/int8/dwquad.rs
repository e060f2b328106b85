//! Depthwise convolution for the relaxed-dot kernel: taps in quads.
//!
//! The padded input is int8 read as the dot's 7-bit operand: each byte is
//! `x ^ xor` (see `gemm.rs`: with `xor = 0x80` the engine reads the bytes
//! `x + 128` as unsigned), built by `dwconv::pad_input_as`. Weights are
//! packed per quad of taps and block of 16 channels as four 16-byte
//! vectors, vector `g` holding channels `4g..4g+4` with their four taps'
//! weights side by side (`[c t, c t+1, c t+2, c t+3, c+1 t, ...]`), which is
//! what the kernel's byte transpose of four taps' inputs lines up against;
//! taps past the last (to fill the last quad) have zero weights. The input
//! offset and the `xor` shift (`128 Σ w`) are folded into the bias. Padded
//! taps hold the input zero point, so they contribute exactly nothing.
//!
//! Kernels three columns wide (3x3, 2x3...) also get their weights packed
//! for two outputs side by side ([`PackedDwQ::cols`]): at stride and
//! dilation 1, outputs `x` and `x + 1` read the four input columns
//! `x..x+4` of each kernel row, so one transpose of those four columns
//! meets two weight vectors per channel group, `[w0 w1 w2 0]` (output `x`)
//! and `[0 w0 w1 w2]` (output `x + 1`). For 3x3 that is 6 input loads and
//! 12 shuffles per output and 16 channels, against 9 and 20 with taps in
//! quads.
//!
//! [`dwconv`] here is the scalar reference of the relaxed kernels.

use super::dwconv::{DwGeom, CB};
use super::gemm::{KResult, Layout};
use super::requant::Requant;

/// Depthwise weights packed in tap quads.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedDwQ {
    pub c: usize,
    /// `c` rounded up to [`CB`].
    pub cp: usize,
    pub taps: usize,
    /// What the input bytes were xored with (0x80: read as unsigned).
    pub xor: u8,
    /// `taps.div_ceil(4) × cp × 4` weights.
    pub w: Vec<i8>,
    /// `bias[c] + (input_offset - shift) Σ_taps w[tap][c]`, `cp` entries.
    pub bias: Vec<i32>,
    /// For kernels 3 columns wide packed `with_cols`: per kernel row and
    /// block of 16 channels, eight 16-byte vectors, four (channel groups) of
    /// `[w0 w1 w2 0]` then four of `[0 w0 w1 w2]` per channel
    /// ([`PackedDwQ::col_index`]); empty otherwise.
    pub cols: Vec<i8>,
}

impl PackedDwQ {
    /// Pack `w[tap][c] = src[tap * c_count + c]` (taps row-major over a
    /// `kh × kw` kernel) for the quad `layout`; `with_cols` also packs
    /// [`PackedDwQ::cols`] for a kernel 3 columns wide (worth it where the
    /// convolution runs at stride and dilation 1 along x, the only place
    /// the kernel reads them).
    pub fn pack(layout: Layout, (kh, kw): (usize, usize), with_cols: bool, c: usize, src: &[i8], bias: Option<&[i32]>, input_offset: i32) -> KResult<PackedDwQ> {
        let Layout::Quads { xor } = layout else { return Err("dwconv: quad packing needs a quad layout".into()) };
        let taps = kh.checked_mul(kw).ok_or("dwconv: kernel size overflows")?;
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
        let mut w = vec![0i8; taps.div_ceil(4) * cp * 4];
        let mut packed_bias = vec![0i32; cp];
        let offset = input_offset.wrapping_sub(layout.act_shift());
        for ch in 0..c {
            let mut sum = 0i32;
            for t in 0..taps {
                let v = src[t * c + ch];
                w[Self::index(cp, t, ch)] = v;
                sum = sum.wrapping_add(v as i32);
            }
            packed_bias[ch] = bias.map_or(0, |b| b[ch]).wrapping_add(offset.wrapping_mul(sum));
        }
        let mut cols = Vec::new();
        if with_cols && kw == 3 {
            cols = vec![0i8; kh * cp * 8];
            for ky in 0..kh {
                for ch in 0..c {
                    for j in 0..3 {
                        let v = src[(ky * 3 + j) * c + ch];
                        cols[Self::col_index(cp, ky, 0, ch, j)] = v;
                        cols[Self::col_index(cp, ky, 1, ch, j + 1)] = v;
                    }
                }
            }
        }
        Ok(PackedDwQ { c, cp, taps, xor, w, bias: packed_bias, cols })
    }

    /// Position in [`PackedDwQ::cols`] of kernel row `ky`'s weight for
    /// output `out` (0: `x`, 1: `x + 1`) of channel `c` on input column
    /// `x + j` (`j < 4`).
    #[inline]
    pub fn col_index(cp: usize, ky: usize, out: usize, c: usize, j: usize) -> usize {
        (ky * cp + (c / 16) * 16) * 8 + out * 64 + (c % 16 / 4) * 16 + (c % 4) * 4 + j
    }

    /// Position of tap `t`, channel `c` in the packed weights.
    #[inline]
    pub fn index(cp: usize, t: usize, c: usize) -> usize {
        ((t / 4) * cp + (c / 16) * 16) * 4 + (c % 16 / 4) * 16 + (c % 4) * 4 + t % 4
    }

    /// Bytes held (weights and bias).
    pub fn bytes(&self) -> usize {
        self.w.len() + self.cols.len() + self.bias.len() * 4
    }

    /// Per channel, a bound on `|accumulator|` (see `gemm::acc_bound`).
    pub fn acc_bounds(&self) -> Vec<u64> {
        (0..self.c).map(|c| super::gemm::acc_bound(self.bias[c], (0..self.taps).map(|t| self.w[Self::index(self.cp, t, c)]))).collect()
    }

    /// The value the kernel multiplies for a stored input byte.
    #[inline]
    pub fn input(&self, b: u8) -> i32 {
        if self.xor == 0x80 {
            b as i32
        } else {
            b as i8 as i32
        }
    }

    /// Offsets (in bytes) of every tap relative to the window origin, the
    /// last quad filled up with copies of the last tap (zero weights).
    pub fn tap_offsets(&self, g: &DwGeom) -> Vec<usize> {
        let mut taps: Vec<usize> = (0..self.taps).map(|t| ((t / g.kw) * g.dh * g.wp + (t % g.kw) * g.dw) * self.cp).collect();
        let last = taps.last().copied().unwrap_or(0);
        taps.resize(self.taps.div_ceil(4) * 4, last);
        taps
    }
}

/// Validate slice extents for one image (as `dwconv::check`).
pub fn check(x: &[u8], g: &DwGeom, w: &PackedDwQ, rq: &Requant, out: &[i8]) -> KResult<()> {
    super::dwconv::check_extents(x.len(), g, (w.taps, w.c, w.cp), rq, out.len())
}

/// Scalar reference on the quad packing.
pub fn dwconv(x: &[u8], g: &DwGeom, w: &PackedDwQ, rq: &Requant, out: &mut [i8]) -> KResult<()> {
    check(x, g, w, rq, out)?;
    let cp = w.cp;
    let taps = w.tap_offsets(g);
    let mut acc = vec![0i32; cp];
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            let origin = (oy * g.sh * g.wp + ox * g.sw) * cp;
            acc.copy_from_slice(&w.bias);
            for (t, &off) in taps.iter().enumerate() {
                let xs = &x[origin + off..origin + off + cp];
                for (c, a) in acc.iter_mut().enumerate() {
                    let wv = w.w[PackedDwQ::index(cp, t, c)] as i32;
                    *a = a.wrapping_add(w.input(xs[c]) * wv);
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

#[cfg(test)]
mod tests {
    use super::super::dwconv::{self, pad_input, pad_input_as, PackedDw};
    use super::super::fixedpoint::quantize_multiplier;
    use super::*;

    /// The quad packing (both input readings) gives the pair kernel's
    /// results on random windows, paddings, strides and multipliers.
    #[test]
    fn quads_match_pairs() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for case in 0..200 {
            let c = [1usize, 5, 16, 17, 33][case % 5];
            let (kh, kw) = [(3usize, 3usize), (1, 1), (5, 5), (2, 3), (3, 1)][case / 5 % 5];
            let mult = if case % 7 == 0 { 2 } else { 1 };
            let (cin, oc) = (c, c * mult);
            let (h, w) = (next(6) as usize + kh, next(6) as usize + kw);
            let (pt, pl) = (next(2) as usize, next(2) as usize);
            let (s, d) = (next(2) as usize + 1, 1);
            let (hp, wp) = (h + 2 * pt, w + 2 * pl);
            let (oh, ow) = ((hp - kh) / s + 1, (wp - kw) / s + 1);
            let zp = next(256) as i32 - 128;
            let x: Vec<i8> = (0..h * w * cin).map(|_| next(256) as u8 as i8).collect();
            let src: Vec<i8> = (0..kh * kw * oc).map(|_| (next(255) as i32 - 127) as i8).collect();
            let bias: Vec<i32> = (0..oc).map(|_| next(60001) as i32 - 30000).collect();
            let (m, sh): (Vec<i32>, Vec<i32>) = (0..oc).map(|i| quantize_multiplier(0.0005 + i as f64 * 1e-5)).unzip();
            let rq = Requant::fixed(m, sh, next(256) as i32 - 128, -128, 127);
            let g = DwGeom { hp, wp, oh, ow, kh, kw, sh: s, sw: s, dh: d, dw: d };
            let pairs = PackedDw::pack(kh * kw, oc, &src, Some(&bias), -zp).unwrap();
            let mut p16 = Vec::new();
            pad_input(&x, h, w, cin, mult, (pt, pl), (hp, wp, pairs.cp), zp as i8, &mut p16).unwrap();
            let mut want = vec![0i8; oh * ow * oc];
            dwconv::dwconv(&p16, &g, &pairs, &rq, &mut want).unwrap();
            for xor in [0u8, 0x80] {
                let quads = PackedDwQ::pack(Layout::Quads { xor }, (kh, kw), true, oc, &src, Some(&bias), -zp).unwrap();
                let mut p8 = Vec::new();
                pad_input_as(&x, h, w, cin, mult, (pt, pl), (hp, wp, quads.cp), zp as i8, |v| v as u8 ^ xor, &mut p8).unwrap();
                let mut got = vec![0i8; oh * ow * oc];
                dwconv(&p8, &g, &quads, &rq, &mut got).unwrap();
                assert_eq!(got, want, "case {case} xor {xor:#x} c {c} k {kh}x{kw} mult {mult}");
            }
        }
    }
}
