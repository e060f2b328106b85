use modelpress::formats::tflite;
#[test]
fn shared_roundtrip() {
    let mut files = vec![];
    for d in ["../../shared/models", "../../shared/models/digits_variants", "../../shared/models/mobilenet_variants"] {
        let Ok(rd) = std::fs::read_dir(d) else { continue };
        for e in rd { let p = e.unwrap().path(); if p.extension().is_some_and(|e| e == "tflite") { files.push(p); } }
    }
    for p in files {
        let b = std::fs::read(&p).unwrap();
        let m = tflite::read(&b).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let out = tflite::write(&m).unwrap();
        let m2 = tflite::read(&out).unwrap();
        assert!(m == m2, "{}", p.display());
        println!("{} {} -> {}", p.display(), b.len(), out.len());
    }
}
