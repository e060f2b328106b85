//! Development tools for the engine (not tests):
//!
//! `cargo run --release --example engine_dev -- bench MODEL[,MODEL...] [RUNS] [--profile]`
//!   plan time, median and p90 latency on deterministic inputs, optional per-op time.
//! `cargo run --release --example engine_dev -- compare MODEL DUMP_DIR INPUT.npy[,INPUT.npy...]`
//!   every tensor against a LiteRT dump `DUMP_DIR/t<id>.npy` (exact equality).

use std::collections::BTreeMap;
use std::time::Instant;

use modelpress::engine::{Data, Engine, Value};
use modelpress::formats::npy;

fn inputs_for(e: &Engine) -> Vec<Value> {
    e.inputs()
        .iter()
        .map(|i| {
            let shape: Vec<usize> = i.shape.iter().map(|&d| d.max(1) as usize).collect();
            let n: usize = shape.iter().product();
            let data = match i.dtype {
                modelpress::ir::DType::I8 => Data::I8((0..n).map(|k| (k * 37 % 251) as i8).collect()),
                modelpress::ir::DType::U8 => Data::U8((0..n).map(|k| (k * 37 % 251) as u8).collect()),
                _ => Data::F32((0..n).map(|k| ((k * 37 % 251) as f32 / 125.0) - 1.0).collect()),
            };
            Value::new(shape, data).unwrap()
        })
        .collect()
}

fn bench(paths: &str, runs: usize, profile: bool) {
    for path in paths.split(',') {
        let m = modelpress::load(&std::fs::read(path).unwrap()).unwrap();
        let t0 = Instant::now();
        let mut e = Engine::new(&m).unwrap();
        let plan = t0.elapsed();
        let inputs = inputs_for(&e);
        e.run(inputs.clone()).unwrap();
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                e.run(inputs.clone()).unwrap();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if profile {
            let sg = &m.subgraphs[0];
            let mut per: BTreeMap<String, f64> = BTreeMap::new();
            for _ in 0..5 {
                let mut last = Instant::now();
                e.run_observed(inputs.clone(), &mut |t, _| {
                    let now = Instant::now();
                    if let Some(op) = sg.producer(t).map(|i| &sg.ops[i]) {
                        *per.entry(op.kind.name()).or_default() += (now - last).as_secs_f64() * 1e3 / 5.0;
                    }
                    last = now;
                })
                .unwrap();
            }
            for (k, v) in &per {
                println!("  {k:>20}: {v:.2} ms");
            }
        }
        println!(
            "{path}: plan {:.1} ms, median {:.2} ms, p90 {:.2} ms ({runs} runs)",
            plan.as_secs_f64() * 1e3,
            times[runs / 2],
            times[runs * 9 / 10]
        );
    }
}

fn compare(model: &str, dump: &str, inputs: &str) {
    let m = modelpress::load(&std::fs::read(model).unwrap()).unwrap();
    let sg = &m.subgraphs[0];
    let inputs: Vec<Value> = inputs.split(',').map(|p| npy::read(&std::fs::read(p).unwrap()).unwrap()).collect();
    let mut e = Engine::new(&m).unwrap();
    let (mut bad, mut seen) = (0, 0);
    e.run_observed(inputs, &mut |t, v| {
        let p = std::path::Path::new(dump).join(format!("t{t}.npy"));
        let Ok(b) = std::fs::read(&p) else { return };
        seen += 1;
        let want = npy::read(&b).unwrap();
        if *v != want {
            bad += 1;
            if bad <= 10 {
                let op = sg.producer(t).map(|i| sg.ops[i].kind.name()).unwrap_or_default();
                println!("tensor {t} ({}) from {op} differs", sg.tensors[t].name);
            }
        }
    })
    .unwrap();
    println!("{bad} of {seen} tensors differ");
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("bench") if a.len() >= 3 => {
            bench(&a[2], a.get(3).and_then(|r| r.parse().ok()).unwrap_or(20), a.iter().any(|x| x == "--profile"))
        }
        Some("compare") if a.len() >= 5 => compare(&a[2], &a[3], &a[4]),
        _ => {
            eprintln!("usage: engine_dev bench MODELS [RUNS] [--profile] | compare MODEL DUMP_DIR INPUTS");
            std::process::exit(2);
        }
    }
}
