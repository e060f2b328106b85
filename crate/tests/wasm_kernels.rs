//! Every SIMD128 int8 kernel against its scalar twin, in a real browser
//! (headless Chromium via wasm-bindgen-test), with exact equality: tails
//! and tiles on purpose (k below/at/above the 8-deep block and not a
//! multiple of it, n below/at/above the 8-channel panel, m not a multiple of
//! the 4-row tile, strided A and C, padding, clamping, left shifts), plus the
//! integer engine end to end on committed fixtures against LiteRT's
//! recorded outputs (so the SIMD dispatch itself is checked too).
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))] // compares the SIMD128 twins with the scalar kernels

use modelpress::engine::{Data, Engine};
use modelpress::formats::npy;
use modelpress::kernels::int8::{self as k8, add, dwconv, fixedpoint as fx, gemm, simd128, AddParams, DwGeom, GemmOut, KResult, Layout, PackedDw, PackedW, Requant};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// xorshift64*: deterministic test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.range(-128, 127) as i8).collect()
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.range(0, v.len() as i64 - 1) as usize]
    }
}

/// Random per-channel requantization: multipliers from real scales spread
/// over shifts -30..+3 (left shifts included; all within the SIMD form),
/// random zero point and clamp range (sometimes narrow, so clamping
/// happens).
fn requant(rng: &mut Rng, n: usize, wide_shifts: bool) -> Requant {
    let mut mult = Vec::with_capacity(n);
    let mut shift = Vec::with_capacity(n);
    for _ in 0..n {
        let e = if wide_shifts { rng.range(-30, 3) } else { rng.range(-14, -4) } as i32;
        let m = 0.5 + (rng.range(0, 1 << 20) as f64) / (1u64 << 21) as f64;
        let (q, s) = fx::quantize_multiplier(m * 2f64.powi(e));
        mult.push(q);
        shift.push(s);
    }
    let zp = rng.range(-128, 127) as i32;
    let (lo, hi) = if rng.range(0, 2) == 0 { (rng.range(-128, 0) as i32, rng.range(0, 127) as i32) } else { (-128, 127) };
    let rq = Requant::fixed(mult, shift, zp, lo, hi);
    assert!(rq.lanes.is_some(), "test requantization outside the SIMD form: {rq:?}");
    rq
}

/// `rq` switched to the fast mode, with the single-precision form of its
/// own per-channel scales (`mult * 2^(shift - 31)`).
fn fast(rq: &Requant) -> Requant {
    let k8::requant::Scale::Fixed { mult, shift } = &rq.scale else { panic!("fixed-point requantization expected") };
    let scales = mult.iter().zip(shift).map(|(&m, &s)| (m as f64 * 2f64.powi(s - 31)) as f32).collect();
    let mut f = rq.clone().with_fp32(scales);
    assert!(f.set_fast(true));
    f
}

#[wasm_bindgen_test]
fn fp32_requant4_matches_scalar_on_ties_and_clamps() {
    let mut rng = Rng(99);
    // Scale 0.5 puts odd accumulators on exact ties (round half to even);
    // big accumulators clamp; 2^24 + 1 is not exact in f32.
    let ties = [1, 3, 5, -1, -3, -5, 0, 2, 255, 257, -255, -257, (1 << 24) + 1, -(1 << 24) - 1, i32::MAX, i32::MIN];
    for round in 0..300 {
        let n = 8;
        let rq = requant(&mut rng, n, true);
        let mut f = fast(&rq);
        if round % 3 == 0 {
            f.fp32 = Some([0.5f32; 16].to_vec());
        }
        for i in 0..32 {
            let acc: [i32; 4] = std::array::from_fn(|j| if i < 4 { ties[(i * 4 + j) % ties.len()] } else { rng.next() as i32 >> rng.range(4, 28) });
            let want: [i32; 4] = std::array::from_fn(|j| f.apply(acc[j], 4 + j));
            assert_eq!(simd128::fp32_requant4(acc, &f, 4), want, "acc {acc:?} rq {f:?}");
            for j in 0..4 {
                let s = f.fp32.as_ref().unwrap()[4 + j];
                let y = (acc[j] as f32 * s).round_ties_even() as i64 + f.zero_point as i64;
                assert_eq!(want[j] as i64, y.clamp(f.min as i64, f.max as i64), "scalar fp32 acc {} scale {s}", acc[j]);
            }
        }
    }
}

#[wasm_bindgen_test]
fn dispatch_names_the_build() {
    let want = if cfg!(target_feature = "relaxed-simd") { "relaxed-simd" } else { "simd128" };
    assert_eq!(k8::KERNELS, want);
    // The relaxed build packs quads exactly when the engine's relaxed dot
    // was found exact; the SIMD128 build always packs pairs.
    let quads = matches!(k8::preferred_layout(), Layout::Quads { .. });
    #[cfg(target_feature = "relaxed-simd")]
    assert_eq!(quads, k8::relaxed::quad_layout().is_some());
    #[cfg(not(target_feature = "relaxed-simd"))]
    assert!(!quads);
    assert_eq!(k8::gemm_kernel(), if quads { "relaxed-dot" } else { "simd128-dot16" });
}

/// The probe's claim checked exhaustively: for every weight and every
/// activation, the relaxed dot of the packed operands (`a ^ xor` as the
/// 7-bit operand) gives the exact product sum.
#[cfg(target_feature = "relaxed-simd")]
#[wasm_bindgen_test]
fn relaxed_dot_is_exact_in_the_probed_layout() {
    use core::arch::wasm32::*;
    let Some(layout @ Layout::Quads { xor }) = k8::relaxed::quad_layout() else {
        // No exact reading on this engine: the build must keep pairs.
        assert_eq!(k8::preferred_layout(), Layout::Pairs);
        return;
    };
    let shift = layout.act_shift();
    for w in -128i32..=127 {
        let wv = i8x16_splat(core::hint::black_box(w as i8));
        for x in -128i32..=127 {
            let xv = i8x16_splat(((x as i8 as u8) ^ xor) as i8);
            let got = i32x4_relaxed_dot_i8x16_i7x16_add(wv, xv, i32x4_splat(7));
            let want = 7 + 4 * w * (x + shift);
            assert_eq!(i32x4_extract_lane::<0>(got), want, "w {w} x {x}");
            assert_eq!(i32x4_extract_lane::<3>(got), want, "w {w} x {x}");
        }
    }
}

type GemmFn = fn(usize, &[i8], usize, &PackedW, GemmOut) -> KResult<()>;

/// The SIMD GEMMs of this build, each with the weight layout it runs on.
fn simd_gemms() -> Vec<(&'static str, Layout, GemmFn)> {
    #[allow(unused_mut)]
    let mut v: Vec<(&'static str, Layout, GemmFn)> = vec![("simd128", Layout::Pairs, simd128::gemm)];
    #[cfg(target_feature = "relaxed-simd")]
    v.push(("relaxed", k8::relaxed::quad_layout().unwrap_or(Layout::Pairs), k8::relaxed::gemm));
    v
}

#[wasm_bindgen_test]
fn requant4_matches_scalar() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let edges = [0, 1, -1, 2, -2, 127, -128, 1 << 20, -(1 << 20), i32::MAX, i32::MIN, i32::MAX - 1, i32::MIN + 1, 1 << 30, -(1 << 30)];
    for round in 0..400 {
        let rq = requant(&mut rng, 4, true);
        // Exact shift edges: right shifts 0, 1, 30, 31 and left shift 30.
        // Exact shift edges: right shifts 0, 1, 30 and left shifts 30, 1;
        // a right shift of 31 leaves the SIMD form (scalar fallback).
        let rq = match round {
            0 => Requant::fixed(vec![1 << 30, i32::MAX, 1 << 30, 1], vec![0, -1, -30, -30], 3, -128, 127),
            1 => Requant::fixed(vec![1 << 30, 1 << 30, i32::MAX, 1], vec![30, 1, 0, -29], -5, -128, 127),
            2 => Requant::fixed(vec![1 << 30, 1 << 30, 1 << 30, 1 << 30], vec![0, 0, 0, -31], 0, -128, 127),
            _ => rq,
        };
        assert_eq!(rq.lanes.is_some(), round != 2);
        for i in 0..64 {
            let acc: [i32; 4] = std::array::from_fn(|j| if i < edges.len() { edges[(i + j) % edges.len()] } else { rng.next() as i32 >> rng.range(0, 24) });
            let want: [i32; 4] = std::array::from_fn(|j| rq.apply(acc[j], j));
            assert_eq!(simd128::requant4(acc, &rq, 0), want, "acc {acc:?} rq {rq:?}");
        }
    }
}

#[wasm_bindgen_test]
fn gemm_matches_scalar_on_tails_and_tiles() {
    for (name, layout, simd) in simd_gemms() {
        let mut rng = Rng(42);
        let ms = [1usize, 2, 3, 4, 5, 7, 8, 9, 13];
        let ns = [1usize, 3, 4, 7, 8, 9, 15, 16, 17, 33];
        let ks = [1usize, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 64, 67];
        let (mut cases, mut bounded) = (0, 0);
        for &m in &ms {
            for &n in &ns {
                for &k in &ks {
                    // Strided A and C on every other case.
                    let lda = if (m + n + k) % 2 == 0 { k } else { k + rng.range(1, 9) as usize };
                    let ldc = if (m + n) % 3 == 0 { n } else { n + rng.range(1, 5) as usize };
                    let a = rng.i8s((m - 1) * lda + k);
                    let src = rng.i8s(n * k);
                    let bias: Vec<i32> = (0..n).map(|_| rng.range(-40000, 40000) as i32).collect();
                    let off = rng.range(-127, 128) as i32;
                    let w = PackedW::pack_with(layout, n, k, &src, if k % 3 == 0 { None } else { Some(&bias) }, off).unwrap();
                    let rq = requant(&mut rng, n, k % 2 == 0);
                    let len = (m - 1) * ldc + n;
                    let (mut s8, mut v8) = (vec![99i8; len], vec![99i8; len]);
                    gemm::gemm(m, &a, lda, &w, GemmOut::I8 { out: &mut s8, ldc, rq: &rq }).unwrap();
                    simd(m, &a, lda, &w, GemmOut::I8 { out: &mut v8, ldc, rq: &rq }).unwrap();
                    assert_eq!(s8, v8, "{name} int8 m {m} n {n} k {k} lda {lda} ldc {ldc}");
                    // The fast (fp32) epilogue on the same tiles.
                    let rqf = fast(&rq);
                    let (mut sf, mut vf) = (vec![99i8; len], vec![99i8; len]);
                    gemm::gemm(m, &a, lda, &w, GemmOut::I8 { out: &mut sf, ldc, rq: &rqf }).unwrap();
                    simd(m, &a, lda, &w, GemmOut::I8 { out: &mut vf, ldc, rq: &rqf }).unwrap();
                    assert_eq!(sf, vf, "{name} fast int8 m {m} n {n} k {k} lda {lda} ldc {ldc}");
                    // With the accumulator bounds known, ranges starting at
                    // -128 leave out the lower clamp (saturating instead).
                    let rqb = rqf.clone().with_acc_bounds(&w.acc_bounds());
                    bounded += rqb.fp32_saturates_low() as usize;
                    let mut vb = vec![99i8; len];
                    simd(m, &a, lda, &w, GemmOut::I8 { out: &mut vb, ldc, rq: &rqb }).unwrap();
                    assert_eq!(sf, vb, "{name} fast bounded int8 m {m} n {n} k {k} lda {lda} ldc {ldc}");
                    let (mut s32, mut v32) = (vec![7i32; len], vec![7i32; len]);
                    gemm::gemm(m, &a, lda, &w, GemmOut::I32 { out: &mut s32, ldc }).unwrap();
                    simd(m, &a, lda, &w, GemmOut::I32 { out: &mut v32, ldc }).unwrap();
                    assert_eq!(s32, v32, "{name} int32 m {m} n {n} k {k} lda {lda} ldc {ldc}");
                    // And against plain loops on the unpacked weights.
                    for r in 0..m {
                        for c in 0..n {
                            let mut want = if k % 3 == 0 { 0 } else { bias[c] };
                            for kk in 0..k {
                                want = want.wrapping_add((a[r * lda + kk] as i32 + off) * src[c * k + kk] as i32);
                            }
                            assert_eq!(v32[r * ldc + c], want, "{name} plain m {m} n {n} k {k} at {r},{c}");
                        }
                    }
                    // Untouched gaps between strided rows.
                    for r in 0..m.saturating_sub(1) {
                        assert!(v8[r * ldc + n..(r + 1) * ldc].iter().all(|&v| v == 99));
                    }
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, ms.len() * ns.len() * ks.len());
        assert!(bounded >= cases / 8, "{name}: only {bounded} of {cases} cases ran without the lower clamp");
    }
}

#[wasm_bindgen_test]
fn gemm_double_requant_matches_scalar() {
    // The reference FULLY_CONNECTED requantizes in double: the SIMD GEMMs
    // hand those tiles to the scalar epilogue.
    for (name, layout, simd) in simd_gemms() {
        let mut rng = Rng(7);
        for &(m, n, k) in &[(1usize, 10usize, 1280usize), (3, 9, 17), (5, 16, 64), (2, 1, 3)] {
            let a = rng.i8s(m * k);
            let src = rng.i8s(n * k);
            let w = PackedW::pack_with(layout, n, k, &src, None, -3).unwrap();
            let scales: Vec<f64> = (0..n).map(|_| rng.range(1, 1000) as f64 * 1e-6).collect();
            let rq = Requant::double(scales, 5, -128, 127);
            let (mut s, mut v) = (vec![0i8; m * n], vec![0i8; m * n]);
            gemm::gemm(m, &a, k, &w, GemmOut::I8 { out: &mut s, ldc: n, rq: &rq }).unwrap();
            simd(m, &a, k, &w, GemmOut::I8 { out: &mut v, ldc: n, rq: &rq }).unwrap();
            assert_eq!(s, v, "{name} m {m} n {n} k {k}");
        }
    }
}

#[wasm_bindgen_test]
fn gemm_rejects_short_slices() {
    for (name, layout, simd) in simd_gemms() {
        let w = PackedW::pack_with(layout, 3, 5, &[1; 15], None, 0).unwrap();
        let rq = Requant::fixed(vec![1 << 30; 3], vec![0; 3], 0, -128, 127);
        let mut out = vec![0i8; 6];
        assert!(simd(2, &[0; 9], 5, &w, GemmOut::I8 { out: &mut out, ldc: 3, rq: &rq }).is_err(), "{name}");
        assert!(simd(2, &[0; 10], 5, &w, GemmOut::I8 { out: &mut out[..5], ldc: 3, rq: &rq }).is_err(), "{name}");
        assert!(simd(2, &[0; 10], 4, &w, GemmOut::I8 { out: &mut out, ldc: 3, rq: &rq }).is_err(), "{name}");
    }
}

#[wasm_bindgen_test]
fn dwconv_matches_scalar_on_tails_and_windows() {
    let mut rng = Rng(1234);
    let (mut cases, mut bounded) = (0, 0);
    for &c in &[1usize, 5, 15, 16, 17, 32, 33, 48] {
        for &(kh, kw) in &[(1usize, 1usize), (3, 3), (2, 3), (5, 5), (3, 1)] {
            for &(s, d) in &[(1usize, 1usize), (2, 1), (1, 2), (3, 2)] {
                let (oh, ow) = (rng.range(1, 6) as usize, rng.range(1, 7) as usize);
                let hp = (oh - 1) * s + (kh - 1) * d + 1 + rng.range(0, 2) as usize;
                let wp = (ow - 1) * s + (kw - 1) * d + 1 + rng.range(0, 2) as usize;
                let src = rng.i8s(kh * kw * c);
                let bias: Vec<i32> = (0..c).map(|_| rng.range(-30000, 30000) as i32).collect();
                let w = PackedDw::pack(kh * kw, c, &src, Some(&bias), rng.range(-127, 128) as i32).unwrap();
                let x: Vec<i16> = rng.i8s(hp * wp * w.cp).into_iter().map(i16::from).collect();
                let g = DwGeom { hp, wp, oh, ow, kh, kw, sh: s, sw: rng.pick(&[1, s]), dh: d, dw: rng.pick(&[1, d]) };
                let rq = requant(&mut rng, c, c % 2 == 1);
                let (mut sv, mut vv) = (vec![0i8; oh * ow * c], vec![0i8; oh * ow * c]);
                dwconv::dwconv(&x, &g, &w, &rq, &mut sv).unwrap();
                simd128::dwconv(&x, &g, &w, &rq, &mut vv).unwrap();
                assert_eq!(sv, vv, "c {c} k {kh}x{kw} geom {g:?}");
                let rqf = fast(&rq);
                dwconv::dwconv(&x, &g, &w, &rqf, &mut sv).unwrap();
                simd128::dwconv(&x, &g, &w, &rqf, &mut vv).unwrap();
                assert_eq!(sv, vv, "fast c {c} k {kh}x{kw} geom {g:?}");
                let rqb = rqf.with_acc_bounds(&w.acc_bounds());
                bounded += rqb.fp32_saturates_low() as usize;
                simd128::dwconv(&x, &g, &w, &rqb, &mut vv).unwrap();
                assert_eq!(sv, vv, "fast bounded c {c} k {kh}x{kw} geom {g:?}");
                cases += 1;
            }
        }
    }
    assert!(cases >= 160);
    assert!(bounded >= cases / 8, "only {bounded} of {cases} cases ran without the lower clamp");
}

#[wasm_bindgen_test]
fn dwconv_padding_copy_fills_zero_point() {
    // 2x2 input, 1 channel, depth multiplier 2, padded by 1 on every side.
    let x = [1i8, 2, 3, 4];
    let mut dst = Vec::new();
    dwconv::pad_input(&x, 2, 2, 1, 2, (1, 1), (4, 4, 16), -7, &mut dst).unwrap();
    assert_eq!(dst.len(), 4 * 4 * 16);
    assert!(dst[..16].iter().all(|&v| v == -7i16));
    let px = &dst[(4 + 1) * 16..(4 + 2) * 16];
    assert_eq!(&px[..3], &[1, 1, -7]);
    assert!(dwconv::pad_input(&x, 2, 2, 1, 2, (3, 1), (4, 4, 16), 0, &mut dst).is_err());
}

#[wasm_bindgen_test]
fn add_matches_scalar() {
    let mut rng = Rng(99);
    for round in 0..300 {
        // LiteRT's ADD/SUB parameters from random scales and zero points.
        let (s1, s2) = (rng.range(1, 1000) as f32 * 1e-4, rng.range(1, 1000) as f32 * 1e-4);
        let so = (s1.max(s2) * rng.range(1, 400) as f32 / 100.0).max(1e-5);
        let twice = 2.0 * s1.max(s2) as f64;
        let (m1, e1) = fx::quantize_multiplier(s1 as f64 / twice);
        let (m2, e2) = fx::quantize_multiplier(s2 as f64 / twice);
        let (mo, eo) = fx::quantize_multiplier(twice / (((1i64 << 20) as f32 * so) as f64));
        let lo = if round % 3 == 0 { rng.range(-128, 0) as i32 } else { -128 };
        let p = AddParams {
            left_shift: 20,
            in1_off: rng.range(-127, 128) as i32,
            in1_mult: m1,
            in1_shift: e1,
            in2_off: rng.range(-127, 128) as i32,
            in2_mult: m2,
            in2_shift: e2,
            out_off: rng.range(-128, 127) as i32,
            out_mult: mo,
            out_shift: eo.min(0),
            lo,
            hi: if round % 5 == 0 { rng.range(lo as i64, 127) as i32 } else { 127 },
            sub: round % 2 == 1,
        };
        let n = rng.range(0, 70) as usize;
        let (a, b) = (rng.i8s(n), rng.i8s(n));
        let (mut s, mut v) = (vec![0i8; n], vec![0i8; n]);
        add::add(&p, &a, &b, &mut s).unwrap();
        simd128::add(&p, &a, &b, &mut v).unwrap();
        assert_eq!(s, v, "{p:?}");
        if round < 2 {
            assert!(p.simd_ok());
        }
    }
}

// ---------------------------------------------------------------- end to end

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../tests/fixtures/int8/", $name, ".tflite")).as_slice(),
            include_bytes!(concat!("../../tests/fixtures/int8/", $name, ".input0.npy")).as_slice(),
            include_bytes!(concat!("../../tests/fixtures/int8/", $name, ".output0.npy")).as_slice(),
        )
    };
}

#[wasm_bindgen_test]
fn int8_fixtures_match_litert_in_the_browser() {
    let cases = [
        fixture!("q_ops_conv_int8io"),
        fixture!("q_ops_coverage_int8io"),
        fixture!("q_tiny_mlp_int8"),
        fixture!("m_conv_i8_grouped"),
        fixture!("m_conv_i8_dilated"),
        fixture!("m_dwconv_i8_mult2"),
        fixture!("m_fc_i8_wzp_keepdims"),
        fixture!("m_softmax_i8_b10"),
        fixture!("m_transpose_conv_i8"),
        // Lookup tables built with float math at plan time (libm in wasm).
        fixture!("m_logistic_i8_0"),
        fixture!("m_logistic_i8_1"),
        fixture!("m_tanh_i8_0"),
        fixture!("m_tanh_i8_1"),
        fixture!("m_softmax_i16_b10"),
        fixture!("m_softmax_i16_b06"),
        fixture!("m_resize_nearest_i8_01"),
        fixture!("m_hard_swish_i8_0"),
    ];
    for (name, model, input, output) in cases {
        let m = modelpress::load(model).unwrap();
        let mut e = Engine::new(&m).unwrap_or_else(|err| panic!("{name}: {err}"));
        let y = e.run(vec![npy::read(input).unwrap()]).unwrap_or_else(|err| panic!("{name}: {err}"));
        let want = npy::read(output).unwrap();
        match (&y[0].data, &want.data) {
            (Data::I8(a), Data::I8(b)) => assert_eq!(a, b, "{name}"),
            (Data::I16(a), Data::I16(b)) => assert_eq!(a, b, "{name}"),
            (Data::F32(a), Data::F32(b)) => assert_eq!(a, b, "{name}"),
            (a, b) => panic!("{name}: {} vs {}", a.dtype(), b.dtype()),
        }
    }
}

#[wasm_bindgen_test]
fn digits_int8_matches_litert_in_the_browser() {
    let m = modelpress::load(include_bytes!("../../tests/fixtures/models/digits_cnn_int8.tflite")).unwrap();
    let mut e = Engine::new(&m).unwrap();
    let x = npy::read(include_bytes!("../../tests/fixtures/models/digits_cnn_int8.input0.npy")).unwrap();
    let want = npy::read(include_bytes!("../../tests/fixtures/models/digits_cnn_int8.output0.npy")).unwrap();
    let y = e.run(vec![x]).unwrap();
    assert_eq!(y[0].data, want.data);
}

#[wasm_bindgen_test]
fn quantize_matches_scalar_on_ties_and_specials() {
    use modelpress::kernels::int8::{quantize, QuantizeParams};
    let mut rng = Rng(5);
    let mut fast_differ = 0;
    for round in 0..200 {
        let scale = if round % 4 == 0 { 0.5 } else { (rng.range(1, 1 << 20) as f32) * 1e-7 };
        let zp = rng.range(-128, 127) as i32;
        let p = QuantizeParams { scale, zero_point: zp, min: -128, max: 127, fast: false };
        let n = rng.range(0, 70) as usize;
        let x: Vec<f32> = (0..n)
            .map(|i| match (i + round) % 9 {
                // exact ties k + 0.5 (both signs), just beside them, specials
                0 => (rng.range(-300, 300) as f32 + 0.5) * scale,
                1 => -(rng.range(0, 300) as f32 + 0.5) * scale,
                2 => f32::from_bits(((rng.range(0, 300) as f32 + 0.5) * scale).to_bits() - 1),
                3 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::MAX, f32::MIN, 1e-40, 3e9][rng.range(0, 7) as usize],
                _ => (rng.range(-1 << 20, 1 << 20) as f32) * scale / 2048.0,
            })
            .collect();
        let (mut s, mut v) = (vec![0i8; n], vec![0i8; n]);
        quantize::quantize(&p, &x, &mut s).unwrap();
        simd128::quantize(&p, &x, &mut v).unwrap();
        assert_eq!(s, v, "scale {scale} zp {zp} x {x:?}");
        // The fast form (XNNPACK's), against its scalar twin.
        let f = QuantizeParams { fast: true, ..p };
        let (mut sf, mut vf) = (vec![0i8; n], vec![0i8; n]);
        quantize::quantize(&f, &x, &mut sf).unwrap();
        simd128::quantize(&f, &x, &mut vf).unwrap();
        assert_eq!(sf, vf, "fast: scale {scale} zp {zp} x {x:?}");
        fast_differ += sf.iter().zip(&s).filter(|(a, b)| a != b).count();
        for (i, &a) in x.iter().enumerate() {
            // The definition, spelled out: round half away from zero.
            let y = a / scale;
            let r = if y.is_nan() { 0 } else if (y.abs() - y.abs().floor()) >= 0.5 { (y.signum() * (y.abs().floor() + 1.0)) as i32 } else { (y.signum() * y.abs().floor()) as i32 };
            assert_eq!(s[i] as i32, r.saturating_add(zp).clamp(-128, 127), "x {a} scale {scale}");
        }
    }
    // The ties make the two forms differ (half to even against away).
    assert!(fast_differ > 50, "{fast_differ}");
    assert!(simd128::quantize(&QuantizeParams { scale: 1.0, zero_point: 0, min: -128, max: 127, fast: false }, &[1.0; 3], &mut [0; 2]).is_err());
}

#[wasm_bindgen_test]
fn fast_add_matches_scalar() {
    use modelpress::kernels::int8::FastAdd;
    let mut rng = Rng(77);
    let mut made = 0;
    for round in 0..300 {
        let ratio = |rng: &mut Rng| (rng.range(1, 1 << 16) as f32) * 2f32.powi(rng.range(-12, 6) as i32) / 65536.0;
        let (ra, rb) = (ratio(&mut rng), if round % 2 == 0 { ratio(&mut rng) } else { -ratio(&mut rng) });
        let (lo, hi) = if round % 3 == 0 { (rng.range(-128, 0) as i32, rng.range(0, 127) as i32) } else { (-128, 127) };
        let (za, zb, zo) = (rng.range(-128, 127) as i32, rng.range(-128, 127) as i32, rng.range(-128, 127) as i32);
        let Some(p) = FastAdd::new(ra, za, rb, zb, zo, lo, hi) else {
            // Ratios outside [2^-10, 2^8) are refused (the node stays exact).
            let ok = |r: f32| (2f32.powi(-10)..256.0).contains(&r.abs());
            assert!(!ok(ra) || !ok(rb), "refused in-range ratios {ra} {rb}");
            continue;
        };
        made += 1;
        assert!((12..=30).contains(&p.shift), "{p:?}");
        let n = rng.range(0, 80) as usize;
        let (a, b) = (rng.i8s(n), rng.i8s(n));
        let (mut s, mut v) = (vec![0i8; n], vec![0i8; n]);
        add::add_fast(&p, &a, &b, &mut s).unwrap();
        simd128::add_fast(&p, &a, &b, &mut v).unwrap();
        assert_eq!(s, v, "{p:?}");
        // Within a step of the real-valued result: the multipliers carry
        // about 21 significant bits.
        for i in 0..n {
            let real = zo as f64 + ra as f64 * (a[i] as i32 - za) as f64 + rb as f64 * (b[i] as i32 - zb) as f64;
            let want = real.clamp(lo as f64, hi as f64);
            assert!((s[i] as f64 - want).abs() <= 1.0, "a {} b {} -> {} vs {real} ({p:?})", a[i], b[i], s[i]);
        }
    }
    assert!(made > 100, "only {made} parameter sets in range");
}

#[wasm_bindgen_test]
fn im2col_matches_scalar_and_the_definition() {
    use modelpress::kernels::conv::Window;
    use modelpress::kernels::int8::im2col::{im2col, im2col_simd, Patches};
    let mut rng = Rng(31337);
    let mut cases = 0;
    for _ in 0..400 {
        let (kh, kw) = (rng.range(1, 5) as usize, rng.range(1, 5) as usize);
        let groups = rng.pick(&[1usize, 1, 2, 3]);
        let ic = rng.pick(&[1usize, 2, 3, 4, 5, 8, 16, 17]);
        let c = ic * groups;
        let (h, w) = (rng.range(1, 12) as usize, rng.range(1, 12) as usize);
        let (sh, sw, dh, dw) = (rng.range(1, 3) as usize, rng.range(1, 3) as usize, rng.pick(&[1usize, 1, 2]), rng.pick(&[1usize, 1, 2]));
        let (pad_t, pad_l) = (rng.range(0, 2) as usize, rng.range(0, 2) as usize);
        let (eh, ew) = ((kh - 1) * dh + 1, (kw - 1) * dw + 1);
        if h + 2 * pad_t < eh || w + 2 * pad_l < ew {
            continue;
        }
        let (oh, ow) = ((h + 2 * pad_t - eh) / sh + 1, (w + 2 * pad_l - ew) / sw + 1);
        let win = Window { n: 1, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pad_t, pad_l };
        let img = rng.i8s(h * w * c);
        let k = kh * kw * ic;
        let kp = k.div_ceil(8) * 8 + rng.pick(&[0usize, 8]);
        let g = Patches { win: &win, ic, c0: rng.range(0, groups as i64 - 1) as usize * ic, fill: rng.range(-128, 127) as i8 };
        let p0 = rng.range(0, (oh * ow - 1) as i64) as usize;
        let rows = rng.range(1, (oh * ow - p0) as i64) as usize;
        let (mut s, mut v) = (vec![7i8; rows * kp + 20], vec![7i8; rows * kp + 20]);
        im2col(&g, &img, p0, rows, kp, &mut s).unwrap();
        im2col_simd(&g, &img, p0, rows, kp, &mut v).unwrap();
        assert_eq!(s[..rows * kp], v[..rows * kp], "{win:?} ic {ic} c0 {}", g.c0);
        for r in 0..rows {
            let (oy, ox) = ((p0 + r) / ow, (p0 + r) % ow);
            for ky in 0..kh {
                for kx in 0..kw {
                    for ci in 0..ic {
                        let iy = (oy * sh + ky * dh) as isize - pad_t as isize;
                        let ix = (ox * sw + kx * dw) as isize - pad_l as isize;
                        let want = if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                            img[(iy as usize * w + ix as usize) * c + g.c0 + ci]
                        } else {
                            g.fill
                        };
                        assert_eq!(s[r * kp + (ky * kw + kx) * ic + ci], want, "{win:?} r {r} tap {ky},{kx},{ci}");
                    }
                }
            }
            assert!(s[r * kp + k..(r + 1) * kp].iter().all(|&x| x == 0));
        }
        cases += 1;
    }
    assert!(cases > 200, "{cases}");
    // Bad extents are errors.
    let win = Window { n: 1, h: 2, w: 2, c: 1, oh: 2, ow: 2, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pad_t: 0, pad_l: 0 };
    let g = Patches { win: &win, ic: 1, c0: 0, fill: 0 };
    assert!(im2col_simd(&g, &[0; 3], 0, 4, 8, &mut [0; 32]).is_err());
    assert!(im2col_simd(&g, &[0; 4], 0, 4, 8, &mut [0; 31]).is_err());
    assert!(im2col_simd(&g, &[0; 4], 1, 4, 8, &mut [0; 32]).is_err());
}

/// The relaxed depthwise kernel against its scalar twin (the quad
/// reference), exact and fast epilogues, in the layout the probe chose.
#[cfg(target_feature = "relaxed-simd")]
#[wasm_bindgen_test]
fn relaxed_dwconv_matches_scalar() {
    use modelpress::kernels::int8::{dwquad, relaxed, PackedDwQ};
    let Some(layout @ Layout::Quads { xor }) = k8::relaxed::quad_layout() else {
        assert_eq!(k8::preferred_layout(), Layout::Pairs);
        return;
    };
    let mut rng = Rng(4242);
    let (mut cases, mut bounded) = (0, 0);
    for &c in &[1usize, 5, 15, 16, 17, 32, 33, 48] {
        for &(kh, kw) in &[(1usize, 1usize), (3, 3), (2, 3), (5, 5), (3, 1), (2, 2)] {
            for &(s, d) in &[(1usize, 1usize), (2, 1), (1, 2), (3, 2)] {
                let (oh, ow) = (rng.range(1, 6) as usize, rng.range(1, 7) as usize);
                let hp = (oh - 1) * s + (kh - 1) * d + 1 + rng.range(0, 2) as usize;
                let wp = (ow - 1) * s + (kw - 1) * d + 1 + rng.range(0, 2) as usize;
                let src = rng.i8s(kh * kw * c);
                let bias: Vec<i32> = (0..c).map(|_| rng.range(-30000, 30000) as i32).collect();
                let w = PackedDwQ::pack(layout, (kh, kw), true, c, &src, Some(&bias), rng.range(-127, 128) as i32).unwrap();
                let x: Vec<u8> = rng.i8s(hp * wp * w.cp).into_iter().map(|v| v as u8 ^ xor).collect();
                let g = DwGeom { hp, wp, oh, ow, kh, kw, sh: s, sw: rng.pick(&[1, s]), dh: d, dw: rng.pick(&[1, d]) };
                let rq = requant(&mut rng, c, c % 2 == 1);
                let rqb = fast(&rq).with_acc_bounds(&w.acc_bounds());
                bounded += rqb.fp32_saturates_low() as usize;
                for rq in [rq.clone(), fast(&rq), rqb] {
                    let (mut sv, mut vv) = (vec![0i8; oh * ow * c], vec![0i8; oh * ow * c]);
                    dwquad::dwconv(&x, &g, &w, &rq, &mut sv).unwrap();
                    relaxed::dwconv(&x, &g, &w, &rq, &mut vv).unwrap();
                    assert_eq!(sv, vv, "c {c} k {kh}x{kw} geom {g:?} fast {} bounded {}", rq.fast, rq.fp32_bounded);
                }
                cases += 1;
            }
        }
    }
    assert!(cases >= 190);
    assert!(bounded >= cases / 8, "only {bounded} of {cases} cases ran without the lower clamp");
    // Short buffers are errors, not traps.
    let w = PackedDwQ::pack(layout, (3, 3), true, 16, &[1; 144], None, 0).unwrap();
    let rq = Requant::fixed(vec![1 << 30; 16], vec![0; 16], 0, -128, 127);
    let g = DwGeom { hp: 3, wp: 3, oh: 1, ow: 1, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1 };
    assert!(relaxed::dwconv(&[0; 143], &g, &w, &rq, &mut [0; 16]).is_err());
    assert!(relaxed::dwconv(&[0; 144], &g, &w, &rq, &mut [0; 15]).is_err());
}

/// The float GEMM tile: SIMD128 bit-identical to the scalar tile; the
/// relaxed (fused multiply-add) tile within the rounding of one product
/// per step.
#[wasm_bindgen_test]
fn float_tile_matches_scalar() {
    use modelpress::kernels::gemm::{self as fg, MR, NR};
    use modelpress::kernels::gemm_simd;
    let mut rng = Rng(2718);
    for kc in [1usize, 2, 3, 7, 64, 256] {
        let f = |rng: &mut Rng| (rng.range(-1 << 20, 1 << 20) as f32) / (1 << 18) as f32;
        let a: Vec<f32> = (0..kc * MR).map(|_| f(&mut rng)).collect();
        let b: Vec<f32> = (0..kc * NR).map(|_| f(&mut rng)).collect();
        let want = fg::micro(&a, &b);
        assert_eq!(gemm_simd::micro_simd128(&a, &b), want, "kc {kc}");
        #[cfg(target_feature = "relaxed-simd")]
        {
            let got = gemm_simd::micro_relaxed(&a, &b);
            for r in 0..MR {
                for j in 0..NR {
                    let mag: f32 = (0..kc).map(|kk| (a[kk * MR + r] * b[kk * NR + j]).abs()).sum();
                    assert!((got[r][j] - want[r][j]).abs() <= mag * kc as f32 * f32::EPSILON, "kc {kc} [{r}][{j}] {} vs {}", got[r][j], want[r][j]);
                }
            }
        }
    }
    // And a whole GEMM through the build's tile against plain loops.
    let (m, n, k) = (13usize, 19usize, 300usize);
    let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 64.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 - 48.0) / 32.0).collect();
    let pb = fg::PackedB::pack(k, n, &b, n, 1).unwrap();
    let mut c = vec![0f32; m * n];
    fg::gemm_packed(m, &a, k, &pb, &mut c, n).unwrap();
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k).map(|kk| a[i * k + kk] as f64 * b[kk * n + j] as f64).sum();
            assert!((c[i * n + j] as f64 - want).abs() <= 1e-3, "[{i}][{j}] {} vs {want}", c[i * n + j]);
        }
    }
}
