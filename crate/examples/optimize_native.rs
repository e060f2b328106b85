//! Development tool: the optimize pipeline natively (the product CLI is
//! `bin/modelpress.mjs` on the wasm build).
//! `cargo run --release --example optimize_native -- IN OUT RECIPE.json [CALIB.npy]`

use modelpress::formats::npy;
use modelpress::passes::{Context, Recipe};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: optimize_native IN OUT RECIPE.json [CALIB.npy]");
        std::process::exit(2);
    }
    let model = modelpress::load(&std::fs::read(&args[1]).unwrap()).unwrap();
    let recipe = Recipe::from_json(&std::fs::read_to_string(&args[3]).unwrap()).unwrap();
    let mut calibration = Vec::new();
    if let Some(p) = args.get(4) {
        let v = npy::read(&std::fs::read(p).unwrap()).unwrap();
        calibration = v.split_batch().unwrap().into_iter().map(|s| vec![s]).collect();
    }
    let mut progress = |p: &str, f: f32| eprint!("\r{p} {:.0}%   ", f * 100.0);
    let mut ctx = Context::new(calibration, &mut progress);
    let t = std::time::Instant::now();
    let bytes = std::fs::read(&args[1]).unwrap();
    let (out, report) = modelpress::api::optimize_with_report(&model, &bytes, &recipe, &mut ctx).unwrap_or_else(|e| {
        eprintln!("\nerror: {e}");
        std::process::exit(1)
    });
    eprintln!("\n{} bytes in {:?}", out.len(), t.elapsed());
    std::fs::write(&args[2], out).unwrap();
    std::fs::write(format!("{}.report.json", &args[2]), serde_json::to_string_pretty(&report).unwrap()).unwrap();
}
