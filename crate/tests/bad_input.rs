//! Bad input never panics: every fixture model is truncated and mutated
//! thousands of times (deterministically); each result must be a clean
//! `Err` or a model that writes back, reads again, and plans (or refuses to
//! plan) without a panic.

use std::path::PathBuf;

use modelpress::engine::Engine;
use modelpress::formats::tflite;
use modelpress::Error;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("tests/fixtures/models exists") {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "tflite") {
            out.push((p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no fixture models found in {}", dir.display());
    out
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Whatever the bytes, this returns normally.
fn exercise(bytes: &[u8]) -> Result<(), Error> {
    let model = modelpress::load(bytes)?;
    let _ = modelpress::inspect::summarize(&model, bytes);
    let out = tflite::write(&model)?;
    let again = tflite::read(&out).expect("a model we wrote must read back");
    // Writing is deterministic, so a faithful read gives identical bytes
    // (compared as bytes: NaN-valued fields are legal and != themselves).
    assert!(tflite::write(&again)? == out, "write/read changed the model");
    if let Ok(mut e) = Engine::new(&model) {
        // Run with zero inputs of the right shapes when cheap.
        let ins: Option<Vec<_>> = e
            .inputs()
            .iter()
            .map(|i| {
                let shape: Vec<usize> = i.shape.iter().map(|&d| d.max(1) as usize).collect();
                let n: usize = shape.iter().product();
                (i.dtype == modelpress::ir::DType::F32 && n < 1 << 16)
                    .then(|| modelpress::engine::Value::f32(shape, vec![0.5; n]).unwrap())
            })
            .collect();
        if let Some(ins) = ins {
            let _ = e.run(ins);
        }
    }
    Ok(())
}

#[test]
fn truncations_are_clean_errors() {
    for (name, bytes) in fixtures() {
        let step = (bytes.len() / 400).max(1);
        let mut n = 0;
        while n < bytes.len() {
            let r = std::panic::catch_unwind(|| exercise(&bytes[..n]));
            assert!(r.is_ok(), "{name}: panic on truncation to {n} bytes");
            n += step;
        }
    }
}

#[test]
fn mutations_are_clean_errors_or_valid_models() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut errors = 0;
    let mut oks = 0;
    let all = fixtures();
    let per_model = (12_000 / all.len()).max(300);
    for (name, bytes) in all {
        // Mutate mostly the flatbuffer structure: the table area is near the
        // end and the start of the file; constant data is in the middle.
        for i in 0..per_model {
            let mut b = bytes.clone();
            let k = 1 + rng.below(4);
            for _ in 0..k {
                let pos = match rng.below(3) {
                    0 => rng.below(b.len().min(4096)),
                    1 => b.len() - 1 - rng.below(b.len().min(8192)),
                    _ => rng.below(b.len()),
                };
                b[pos] = match rng.below(4) {
                    0 => rng.next() as u8,
                    1 => 0xFF,
                    2 => 0,
                    _ => b[pos] ^ (1 << rng.below(8)),
                };
            }
            let r = std::panic::catch_unwind(|| exercise(&b));
            match r {
                Err(_) => panic!("{name}: panic on mutation #{i}"),
                Ok(Err(_)) => errors += 1,
                Ok(Ok(())) => oks += 1,
            }
        }
    }
    assert!(errors > 0 && oks > 0, "mutations should produce both errors ({errors}) and valid models ({oks})");
}

#[test]
fn garbage_and_wrong_formats_name_the_problem() {
    let msg = |b: &[u8]| modelpress::load(b).unwrap_err().to_string();
    assert!(msg(b"").contains("empty"));
    assert!(msg(b"\x89PNG\r\n\x1a\n0000000000").contains("PNG"));
    assert!(msg(b"\x08\x07\x12\x07pytorch\x1a\x03").contains("ONNX"));
    assert!(msg(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).contains("JPEG"));
    let mut rng = Rng(42);
    for len in [1usize, 7, 8, 64, 1000, 100_000] {
        let b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        assert!(modelpress::load(&b).is_err(), "random {len} bytes parsed as a model");
    }
    // A TFL3 identifier on garbage is still an error, not a panic.
    let mut b: Vec<u8> = (0..256).map(|_| rng.next() as u8).collect();
    b[4..8].copy_from_slice(b"TFL3");
    assert!(modelpress::load(&b).is_err());
}

#[test]
fn external_buffer_layout_round_trips() {
    for (name, bytes) in fixtures() {
        let m = modelpress::load(&bytes).unwrap();
        let ext = tflite::write_with(&m, tflite::WriteOptions { external_buffers: true }).unwrap();
        let back = tflite::read(&ext).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(tflite::write(&back).unwrap() == tflite::write(&m).unwrap(), "{name}: external layout changed the model");
    }
}
