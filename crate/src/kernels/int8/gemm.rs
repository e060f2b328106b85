//! Quantized GEMM with int8 weights packed once:
//! `out[m][n] = requant_n(bias[n] + Σ_k a[m][k] * w[n][k])`.
//!
//! The weights are packed at plan time into panels of [`NR`] output
//! channels; within a panel, k runs in pairs (`KR` = 2) and each pair holds
//! the 8 channels' two weights side by side, 16 bytes per pair:
//! `[c0 k, c0 k+1, c1 k, c1 k+1, ..., c7 k, c7 k+1]`. That is the layout of
//! `i32x4.dot_i16x8_s` after widening: one 16-byte load gives channels 0-3
//! and 4-7 of a k pair. k is padded to a multiple of [`KB`] with zero
//! weights, so the kernels may read any value past k (they never read past
//! the A slice). The input zero point is folded into the bias at pack time:
//! `Σ (x + off) w = Σ x w + off Σ w` holds exactly in wrapping int32.
//!
//! The relaxed-SIMD kernels use a second layout ([`Layout::Quads`]): k in
//! quads, each quad holding the 8 channels' four weights side by side, 32
//! bytes per quad: `[c0 k..k+3, c1 k..k+3, ..., c7 k..k+3]`, the operand
//! layout of `i32x4.relaxed_dot_i8x16_i7x16_add_s` (two 16-byte loads give
//! channels 0-3 and 4-7 of a quad). Its activations are fed as `a ^ xor`:
//! with `xor = 0x80` they are the unsigned bytes `a + 128`, which engines
//! that lower the relaxed dot to `vpdpbusd` (u8 × s8) multiply exactly; the
//! `128 Σ w` this adds is taken out of the bias at pack time, like the input
//! zero point.
//!
//! [`gemm`] here is the scalar reference for both layouts (the oracle of the
//! SIMD twins in `simd128.rs` and `relaxed.rs`, and the native kernel).

use super::requant::Requant;

/// Output channels per panel.
pub const NR: usize = 8;
/// Rows of the SIMD micro-tile.
pub const MR: usize = 4;
/// k block: k is padded to a multiple of this.
pub const KB: usize = 8;

pub type KResult<T> = Result<T, String>;

/// How a [`PackedW`] orders its weights (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// k pairs (`i32x4.dot_i16x8_s` after widening; scalar, SIMD128).
    Pairs,
    /// k quads for the relaxed dot; activations enter as `a ^ xor`.
    Quads { xor: u8 },
}

impl Layout {
    /// k values per group.
    pub fn kr(self) -> usize {
        match self {
            Layout::Pairs => 2,
            Layout::Quads { .. } => 4,
        }
    }

    /// Offset of channel-lane `lane`, depth `kk` within a panel.
    #[inline]
    pub fn offset(self, lane: usize, kk: usize) -> usize {
        let kr = self.kr();
        (kk / kr) * kr * NR + lane * kr + kk % kr
    }

    /// What the kernels add to each activation before multiplying.
    pub fn act_shift(self) -> i32 {
        match self {
            Layout::Quads { xor: 0x80 } => 128,
            _ => 0,
        }
    }
}

/// Weights `n × k` (row-major by output channel) packed for the kernels,
/// with the per-channel bias (input offset folded in).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedW {
    pub layout: Layout,
    pub n: usize,
    pub k: usize,
    /// k rounded up to [`KB`].
    pub kp: usize,
    /// `n.div_ceil(NR)` panels of `kp * NR` bytes.
    pub data: Vec<i8>,
    /// `bias[c] + input_offset * Σ_k w[c][k]`, padded with zeros to the
    /// panel width.
    pub bias: Vec<i32>,
}

impl PackedW {
    /// Pack `w[c][kk] = src[c * k + kk]` in the layout this build's
    /// kernels want ([`super::preferred_layout`]); `input_offset` is
    /// `-input_zero_point`.
    pub fn pack(n: usize, k: usize, src: &[i8], bias: Option<&[i32]>, input_offset: i32) -> KResult<PackedW> {
        Self::pack_with(super::preferred_layout(), n, k, src, bias, input_offset)
    }

    /// [`PackedW::pack`] in a given layout.
    pub fn pack_with(layout: Layout, n: usize, k: usize, src: &[i8], bias: Option<&[i32]>, input_offset: i32) -> KResult<PackedW> {
        let need = n.checked_mul(k).ok_or("gemm: weight size overflows")?;
        if src.len() != need {
            return Err(format!("gemm: weights need {need} values, have {}", src.len()));
        }
        if let Some(b) = bias {
            if b.len() != n {
                return Err(format!("gemm: bias has {} values for {n} channels", b.len()));
            }
        }
        let kp = k.div_ceil(KB) * KB;
        let panels = n.div_ceil(NR);
        let total = panels.checked_mul(kp).and_then(|x| x.checked_mul(NR)).ok_or("gemm: packed size overflows")?;
        let mut data = vec![0i8; total];
        let mut packed_bias = vec![0i32; panels * NR];
        // The kernels see `a + act_shift`: take `act_shift Σ w` out again.
        let offset = input_offset.wrapping_sub(layout.act_shift());
        for c in 0..n {
            let row = &src[c * k..(c + 1) * k];
            let (p, lane) = (c / NR, c % NR);
            let base = p * kp * NR;
            let mut sum = 0i32;
            for (kk, &v) in row.iter().enumerate() {
                data[base + layout.offset(lane, kk)] = v;
                sum = sum.wrapping_add(v as i32);
            }
            let b = bias.map_or(0, |b| b[c]);
            packed_bias[c] = b.wrapping_add(offset.wrapping_mul(sum));
        }
        Ok(PackedW { layout, n, k, kp, data, bias: packed_bias })
    }

    /// Bytes held (weights and bias).
    pub fn bytes(&self) -> usize {
        self.data.len() + self.bias.len() * 4
    }

    /// Per channel, a bound on `|accumulator|` over all inputs: `|bias| +
    /// 256 Σ |w|` (the kernels multiply activations of magnitude at most
    /// 255 after their shift, 128 without).
    pub fn acc_bounds(&self) -> Vec<u64> {
        (0..self.n).map(|c| acc_bound(self.bias[c], (0..self.k).map(|kk| self.get(c, kk)))).collect()
    }

    /// Weight of channel `c` at depth `kk` (zero in the padding).
    #[inline]
    pub fn get(&self, c: usize, kk: usize) -> i8 {
        let (p, lane) = (c / NR, c % NR);
        self.data[p * self.kp * NR + self.layout.offset(lane, kk)]
    }
}

/// `|bias| + 256 Σ |w|`: no accumulator of these weights exceeds it.
pub fn acc_bound(bias: i32, w: impl Iterator<Item = i8>) -> u64 {
    bias.unsigned_abs() as u64 + 256 * w.map(|v| v.unsigned_abs() as u64).sum::<u64>()
}

/// Where the GEMM writes.
pub enum GemmOut<'a> {
    /// Requantized int8 outputs, row stride `ldc`.
    I8 { out: &'a mut [i8], ldc: usize, rq: &'a Requant },
    /// Raw int32 accumulators (bias included), row stride `ldc`.
    I32 { out: &'a mut [i32], ldc: usize },
}

/// Check the slice extents of a GEMM call.
pub fn check(m: usize, a: &[i8], lda: usize, w: &PackedW, out: &GemmOut) -> KResult<()> {
    if m == 0 || w.n == 0 {
        return Ok(());
    }
    if lda < w.k {
        return Err(format!("gemm: row stride {lda} is shorter than k = {}", w.k));
    }
    let need_a = (m - 1).checked_mul(lda).and_then(|x| x.checked_add(w.k)).ok_or("gemm: A extent overflows")?;
    if a.len() < need_a {
        return Err(format!("gemm: A needs {need_a} values, has {}", a.len()));
    }
    let (len, ldc) = match out {
        GemmOut::I8 { out, ldc, rq } => {
            if rq.channels() < w.n {
                return Err(format!("gemm: requantization has {} channels for {}", rq.channels(), w.n));
            }
            (out.len(), *ldc)
        }
        GemmOut::I32 { out, ldc } => (out.len(), *ldc),
    };
    if ldc < w.n {
        return Err(format!("gemm: output row stride {ldc} is shorter than n = {}", w.n));
    }
    let need_c = (m - 1).checked_mul(ldc).and_then(|x| x.checked_add(w.n)).ok_or("gemm: C extent overflows")?;
    if len < need_c {
        return Err(format!("gemm: output needs {need_c} values, has {len}"));
    }
    Ok(())
}

/// Scalar reference GEMM on the packed layout: tiles of up to [`MR`] rows
/// by one panel, the panel's weights read once per tile (plain loops that
/// LLVM vectorizes for the native build).
pub fn gemm(m: usize, a: &[i8], lda: usize, w: &PackedW, mut out: GemmOut) -> KResult<()> {
    check(m, a, lda, w, &out)?;
    if w.layout != Layout::Pairs {
        return gemm_any(m, a, lda, w, out);
    }
    let panels = w.n.div_ceil(NR);
    let pairs = w.k.div_ceil(2);
    let mut r0 = 0;
    while r0 < m {
        let rows = MR.min(m - r0);
        // The tile's rows as int16 pairs (an odd k gets a zero partner).
        let mut arows = [[0i16; 2]; 0].to_vec();
        arows.resize(rows * pairs, [0, 0]);
        for r in 0..rows {
            let row = &a[(r0 + r) * lda..(r0 + r) * lda + w.k];
            for (kk, &v) in row.iter().enumerate() {
                arows[r * pairs + kk / 2][kk % 2] = v as i16;
            }
        }
        for p in 0..panels {
            let panel = &w.data[p * w.kp * NR..p * w.kp * NR + pairs * 2 * NR];
            let mut acc = [[0i32; NR]; MR];
            for row in acc.iter_mut().take(rows) {
                row.copy_from_slice(&w.bias[p * NR..(p + 1) * NR]);
            }
            for (pair, wp) in panel.chunks_exact(2 * NR).enumerate() {
                let mut wv = [0i16; 2 * NR];
                for (d, &s) in wv.iter_mut().zip(wp) {
                    *d = s as i16;
                }
                for (r, accr) in acc.iter_mut().enumerate().take(rows) {
                    let [a0, a1] = arows[r * pairs + pair];
                    // int8 x int8 products fit int16 exactly (|p| <= 2^14).
                    for lane in 0..NR {
                        let p0 = a0.wrapping_mul(wv[2 * lane]) as i32;
                        let p1 = a1.wrapping_mul(wv[2 * lane + 1]) as i32;
                        accr[lane] = accr[lane].wrapping_add(p0 + p1);
                    }
                }
            }
            let n0 = p * NR;
            let nr = NR.min(w.n - n0);
            for (r, accr) in acc.iter().enumerate().take(rows) {
                emit(&mut out, r0 + r, n0, &accr[..nr]);
            }
        }
        r0 += rows;
    }
    Ok(())
}

/// Write one row of a panel's accumulators (`acc[j]` is channel `n0 + j`).
pub(super) fn emit(out: &mut GemmOut, row: usize, n0: usize, acc: &[i32]) {
    match out {
        GemmOut::I8 { out, ldc, rq } => {
            for (j, &v) in acc.iter().enumerate() {
                out[row * *ldc + n0 + j] = rq.apply(v, n0 + j) as i8;
            }
        }
        GemmOut::I32 { out, ldc } => out[row * *ldc + n0..row * *ldc + n0 + acc.len()].copy_from_slice(acc),
    }
}

/// The reference on any layout, reading weights through the layout's
/// offsets and activations as the kernels see them (`a + act_shift`).
fn gemm_any(m: usize, a: &[i8], lda: usize, w: &PackedW, mut out: GemmOut) -> KResult<()> {
    let shift = w.layout.act_shift();
    for r in 0..m {
        let row = &a[r * lda..r * lda + w.k];
        for p in 0..w.n.div_ceil(NR) {
            let panel = &w.data[p * w.kp * NR..(p + 1) * w.kp * NR];
            let mut acc = [0i32; NR];
            acc.copy_from_slice(&w.bias[p * NR..(p + 1) * NR]);
            for (kk, &x) in row.iter().enumerate() {
                let x = x as i32 + shift;
                for (lane, acc) in acc.iter_mut().enumerate() {
                    *acc = acc.wrapping_add(x * panel[w.layout.offset(lane, kk)] as i32);
                }
            }
            let n0 = p * NR;
            emit(&mut out, r, n0, &acc[..NR.min(w.n - n0)]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUTS: [Layout; 3] = [Layout::Pairs, Layout::Quads { xor: 0 }, Layout::Quads { xor: 0x80 }];

    #[test]
    fn packed_layout_round_trips() {
        let (n, k) = (11, 13);
        let src: Vec<i8> = (0..n * k).map(|i| (i * 7 % 251) as i8).collect();
        for layout in LAYOUTS {
            let w = PackedW::pack_with(layout, n, k, &src, None, 0).unwrap();
            for c in 0..n {
                for kk in 0..w.kp {
                    let want = if kk < k { src[c * k + kk] } else { 0 };
                    assert_eq!(w.get(c, kk), want, "{layout:?}");
                }
            }
        }
    }

    /// No accumulator exceeds `acc_bounds`, extreme activations included,
    /// and the bound is tight within a factor of two.
    #[test]
    fn acc_bounds_hold() {
        let (n, k) = (9, 21);
        let src: Vec<i8> = (0..n * k).map(|i| if i % 5 == 0 { -128 } else { (i * 37 % 255) as u8 as i8 }).collect();
        let bias: Vec<i32> = (0..n as i32).map(|i| i * 7919 - 30000).collect();
        for layout in LAYOUTS {
            for off in [-127, 0, 128] {
                let w = PackedW::pack_with(layout, n, k, &src, Some(&bias), off).unwrap();
                let bounds = w.acc_bounds();
                let mut worst = vec![0u64; n];
                for fill in [-128i8, 127, 0] {
                    // All activations at one extreme, and alternating signs matching each weight.
                    let rows: Vec<Vec<i8>> = vec![vec![fill; k], (0..k).map(|kk| if src[kk] < 0 { -128 } else { 127 }).collect()];
                    for a in rows {
                        let mut out = vec![0i32; n];
                        gemm(1, &a, k, &w, GemmOut::I32 { out: &mut out, ldc: n }).unwrap();
                        for c in 0..n {
                            assert!(out[c].unsigned_abs() as u64 <= bounds[c], "{layout:?} off {off} c {c}: {} > {}", out[c], bounds[c]);
                            worst[c] = worst[c].max(out[c].unsigned_abs() as u64);
                        }
                    }
                }
                assert!(worst[0] * 4 >= bounds[0], "{layout:?}: bound {} far above {}", bounds[0], worst[0]);
            }
        }
    }

    #[test]
    fn matches_plain_loops() {
        let (m, n, k) = (5, 10, 19);
        let a: Vec<i8> = (0..m * k).map(|i| (i * 31 % 256) as u8 as i8).collect();
        let src: Vec<i8> = (0..n * k).map(|i| (i * 17 % 255) as u8 as i8).collect();
        let bias: Vec<i32> = (0..n as i32).map(|i| i * 1000 - 3000).collect();
        let off = 7;
        for layout in LAYOUTS {
            let w = PackedW::pack_with(layout, n, k, &src, Some(&bias), off).unwrap();
            let mut out = vec![0i32; m * n];
            gemm(m, &a, k, &w, GemmOut::I32 { out: &mut out, ldc: n }).unwrap();
            for r in 0..m {
                for c in 0..n {
                    let mut want = bias[c];
                    for kk in 0..k {
                        want += (a[r * k + kk] as i32 + off) * src[c * k + kk] as i32;
                    }
                    assert_eq!(out[r * n + c], want, "{layout:?}");
                }
            }
        }
    }
}
