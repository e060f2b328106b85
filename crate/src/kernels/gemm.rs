//! Blocked single-precision GEMM on row-major slices.
//!
//! `C[m×n] += A[m×k] · B[k×n]`: B is packed once into column panels of
//! `NR` (`PackedB`, reusable across many A blocks, e.g. the row chunks of
//! an im2col), A is packed per block into row panels of `MR`, and a
//! register-tile micro-kernel written as plain fixed-size loops (which LLVM
//! vectorizes for SSE/AVX/NEON/wasm simd128) does the arithmetic.
//!
//! Every entry point validates its slice sizes up front and returns an
//! error instead of panicking; the inner loops then only index within
//! ranges proven by those checks (and by `chunks_exact`).

/// Rows of the micro-tile.
pub const MR: usize = 4;
/// Columns of the micro-tile.
pub const NR: usize = 8;
/// Depth of a packed block.
const KC: usize = 256;
/// Rows of a packed A block.
const MC: usize = 64;

/// An error from a kernel: the caller passed inconsistent sizes.
pub type KResult<T> = Result<T, String>;

/// Largest index touched by a strided 2-D view, checked for overflow.
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1).checked_mul(rs)?.checked_add((cols - 1).checked_mul(cs)?)?.checked_add(1)
}

/// B (`k × n`) packed in the layout the micro-kernel reads: for each block
/// of `KC` rows, for each panel of `NR` columns, `kc × NR` values (row-major,
/// the last panel zero-padded).
#[derive(Debug, Clone)]
pub struct PackedB {
    k: usize,
    n: usize,
    panels: usize,
    data: Vec<f32>,
}

impl PackedB {
    /// Pack `B[kk][j] = src[kk*rs + j*cs]` for `kk < k`, `j < n`.
    pub fn pack(k: usize, n: usize, src: &[f32], rs: usize, cs: usize) -> KResult<PackedB> {
        let need = span(k, n, rs, cs).ok_or("gemm: B extent overflows")?;
        if need > src.len() {
            return Err(format!("gemm: B needs {need} values, slice has {}", src.len()));
        }
        let panels = n.div_ceil(NR);
        let total = panels.checked_mul(NR).and_then(|x| x.checked_mul(k)).ok_or("gemm: packed B overflows")?;
        let mut data = vec![0.0f32; total];
        let mut off = 0;
        let mut kb = 0;
        while kb < k {
            let kc = KC.min(k - kb);
            for p in 0..panels {
                let j0 = p * NR;
                let nr = NR.min(n - j0);
                let block = &mut data[off..off + kc * NR];
                for (kk, row) in block.chunks_exact_mut(NR).enumerate() {
                    let base = (kb + kk) * rs + j0 * cs;
                    if cs == 1 {
                        row[..nr].copy_from_slice(&src[base..base + nr]);
                    } else {
                        for (j, v) in row[..nr].iter_mut().enumerate() {
                            *v = src[base + j * cs];
                        }
                    }
                }
                off += kc * NR;
            }
            kb += kc;
        }
        Ok(PackedB { k, n, panels, data })
    }
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len() * 4
    }
    pub fn k(&self) -> usize {
        self.k
    }
    pub fn n(&self) -> usize {
        self.n
    }
    /// The `kc × NR` panel `p` of the k-block starting at row `kb`.
    fn panel(&self, kb: usize, kc: usize, p: usize) -> &[f32] {
        let off = kb * self.panels * NR + p * kc * NR;
        &self.data[off..off + kc * NR]
    }
}

/// Pack rows `i0..i0+mc` and depth `kb..kb+kc` of A (row stride `lda`) into
/// `MR`-row panels, zero-padding the last panel.
#[allow(clippy::too_many_arguments)]
fn pack_a(a: &[f32], lda: usize, m: usize, i0: usize, mc: usize, kb: usize, kc: usize, out: &mut Vec<f32>) {
    let panels = mc.div_ceil(MR);
    out.clear();
    out.resize(panels * MR * kc, 0.0);
    for (p, panel) in out.chunks_exact_mut(MR * kc).enumerate() {
        for r in 0..MR {
            let i = i0 + p * MR + r;
            if i >= m || i >= i0 + mc {
                continue;
            }
            let row = &a[i * lda + kb..i * lda + kb + kc];
            for (kk, &v) in row.iter().enumerate() {
                panel[kk * MR + r] = v;
            }
        }
    }
}

/// The register tile of this build: the relaxed-SIMD fused form, the
/// SIMD128 twin, or the scalar reference.
#[inline(always)]
fn tile(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
    return super::gemm_simd::micro_relaxed(a, b);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(target_feature = "relaxed-simd")))]
    return super::gemm_simd::micro_simd128(a, b);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    return micro(a, b);
}

/// The register tile: `acc += A_panel · B_panel` over `kc` steps (the
/// scalar reference of `gemm_simd.rs`; plain loops LLVM vectorizes).
#[inline(always)]
pub fn micro(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    let mut acc = [[0.0f32; NR]; MR];
    for (av, bv) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for r in 0..MR {
            let x = av[r];
            for j in 0..NR {
                acc[r][j] += x * bv[j];
            }
        }
    }
    acc
}

/// `C += A · B` with B pre-packed. A is `m × pb.k()` row-major with row
/// stride `lda`; C is `m × pb.n()` with row stride `ldc`.
pub fn gemm_packed(m: usize, a: &[f32], lda: usize, pb: &PackedB, c: &mut [f32], ldc: usize) -> KResult<()> {
    let (k, n) = (pb.k, pb.n);
    if m == 0 || n == 0 || k == 0 {
        return Ok(());
    }
    if lda < k || ldc < n {
        return Err(format!("gemm: lda {lda} < k {k} or ldc {ldc} < n {n}"));
    }
    let need_a = span(m, k, lda, 1).ok_or("gemm: A extent overflows")?;
    let need_c = span(m, n, ldc, 1).ok_or("gemm: C extent overflows")?;
    if need_a > a.len() || need_c > c.len() {
        return Err(format!(
            "gemm: A needs {need_a} (has {}), C needs {need_c} (has {})",
            a.len(),
            c.len()
        ));
    }
    let threads = crate::par::threads();
    if threads > 1 && m >= 2 * MR && m.saturating_mul(n).saturating_mul(k) >= PAR_MIN_MACS {
        // Row blocks (whole register tiles) as parallel tasks.
        let per = m.div_ceil(MR).div_ceil(threads * crate::par::TASKS_PER_THREAD) * MR;
        let tasks = m.div_ceil(per);
        let cp = crate::par::SharedMut(c.as_mut_ptr());
        crate::par::run(tasks, &|i| {
            let (r0, r1) = (i * per, ((i + 1) * per).min(m));
            // Safety: C was checked to hold (m - 1) * ldc + n values; with
            // ldc >= n the tasks' row ranges are disjoint.
            let ct = unsafe { core::slice::from_raw_parts_mut(cp.get().add(r0 * ldc), (r1 - r0 - 1) * ldc + n) };
            gemm_rows(r1 - r0, &a[r0 * lda..], lda, pb, ct, ldc);
        });
        return Ok(());
    }
    gemm_rows(m, a, lda, pb, c, ldc);
    Ok(())
}

/// Below this many multiply-adds a GEMM stays on one thread.
pub(crate) const PAR_MIN_MACS: usize = 1 << 18;

/// The blocked GEMM loops of [`gemm_packed`] on rows whose extents it checked.
fn gemm_rows(m: usize, a: &[f32], lda: usize, pb: &PackedB, c: &mut [f32], ldc: usize) {
    let (k, n) = (pb.k, pb.n);
    let mut apack = Vec::new();
    let mut kb = 0;
    while kb < k {
        let kc = KC.min(k - kb);
        let mut i0 = 0;
        while i0 < m {
            let mc = MC.min(m - i0);
            pack_a(a, lda, m, i0, mc, kb, kc, &mut apack);
            for p in 0..pb.panels {
                let bp = pb.panel(kb, kc, p);
                let j0 = p * NR;
                let nr = NR.min(n - j0);
                for (ip, ap) in apack.chunks_exact(MR * kc).enumerate() {
                    let acc = tile(ap, bp);
                    let ib = i0 + ip * MR;
                    let mr = MR.min(i0 + mc - ib);
                    for (r, accr) in acc.iter().enumerate().take(mr) {
                        let crow = &mut c[(ib + r) * ldc + j0..(ib + r) * ldc + j0 + nr];
                        for (cv, &av) in crow.iter_mut().zip(accr.iter()) {
                            *cv += av;
                        }
                    }
                }
            }
            i0 += mc;
        }
        kb += kc;
    }
}

/// `C += A · B` with `B[kk][j] = b[kk*rs_b + j*cs_b]` (any layout, e.g. a
/// transposed weight matrix), packing B on the fly.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    rs_b: usize,
    cs_b: usize,
    c: &mut [f32],
    ldc: usize,
) -> KResult<()> {
    if m == 0 || n == 0 || k == 0 {
        return Ok(());
    }
    // Few rows: packing B would cost as much as the product; use dots
    // when B's columns are contiguous (the FC / conv weight layout).
    if m < MR && rs_b == 1 {
        return gemm_small_m(m, n, k, a, lda, b, cs_b, c, ldc);
    }
    let pb = PackedB::pack(k, n, b, rs_b, cs_b)?;
    gemm_packed(m, a, lda, &pb, c, ldc)
}

/// `C[i][j] += dot(A row i, B column j)` where column j of B is
/// `b[j*ldb .. j*ldb + k]`.
#[allow(clippy::too_many_arguments)]
fn gemm_small_m(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) -> KResult<()> {
    let need_a = span(m, k, lda, 1).ok_or("gemm: A extent overflows")?;
    let need_b = span(n, k, ldb, 1).ok_or("gemm: B extent overflows")?;
    let need_c = span(m, n, ldc, 1).ok_or("gemm: C extent overflows")?;
    if need_a > a.len() || need_b > b.len() || need_c > c.len() || lda < k || ldc < n {
        return Err("gemm: operand slices too short for their shapes".into());
    }
    for i in 0..m {
        let arow = &a[i * lda..i * lda + k];
        let crow = &mut c[i * ldc..i * ldc + n];
        for (j, cv) in crow.iter_mut().enumerate() {
            *cv += dot(arow, &b[j * ldb..j * ldb + k]);
        }
    }
    Ok(())
}

/// Dot product with 16 independent partial sums (vectorizes).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; L];
    let mut ca = a.chunks_exact(L);
    let mut cb = b.chunks_exact(L);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..L {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    // Pairwise reduction of the lanes.
    let mut w = L;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            acc[l] += acc[l + w];
        }
    }
    acc[0] + tail
}

/// Plain triple loop `C += A · B` (the scalar twin used in tests; indexes
/// without checks).
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn sgemm_naive(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    rs_b: usize,
    cs_b: usize,
    c: &mut [f32],
    ldc: usize,
) {
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f32;
            for kk in 0..k {
                s += a[i * lda + kk] * b[kk * rs_b + j * cs_b];
            }
            c[i * ldc + j] += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_naive_on_odd_sizes() {
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (4, 16, 256), (5, 17, 257), (70, 33, 300), (2, 40, 9), (65, 1, 3)] {
            for &(trans_b, extra) in &[(false, 0), (true, 3)] {
                let lda = k + extra;
                let ldc = n + extra;
                let a = fill(m * lda, 1);
                let (b, rs, cs) = if trans_b { (fill(n * k, 2), 1, k) } else { (fill(k * n, 2), n, 1) };
                let mut c1 = fill(m * ldc, 3);
                let mut c2 = c1.clone();
                sgemm(m, n, k, &a, lda, &b, rs, cs, &mut c1, ldc).unwrap();
                sgemm_naive(m, n, k, &a, lda, &b, rs, cs, &mut c2, ldc);
                for (x, y) in c1.iter().zip(&c2) {
                    assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{m}x{n}x{k}: {x} vs {y}");
                }
            }
        }
    }

    #[test]
    fn rejects_short_slices() {
        let a = vec![0.0; 5];
        let b = vec![0.0; 6];
        let mut c = vec![0.0; 4];
        assert!(sgemm(2, 2, 3, &a, 3, &b, 2, 1, &mut c, 2).is_err());
        assert!(PackedB::pack(3, 3, &b, 3, 1).is_err());
    }

    #[test]
    fn dot_matches() {
        let a = fill(37, 4);
        let b = fill(37, 5);
        let s: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - s).abs() < 1e-5);
    }
}
