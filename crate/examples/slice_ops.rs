//! Development tool: cut parts of a model out into models of their own, to
//! compare runtimes part by part with the browser benchmark.
//!
//! `cargo run --release --example slice_ops -- IN.tflite OUTDIR op 1,4,5`
//!   one model per operator (its activation inputs become graph inputs);
//! `cargo run --release --example slice_ops -- IN.tflite OUTDIR prefix 3,10,21`
//!   one model per prefix: operators 0..=i, the output of operator i
//!   dequantized with a copy of the model's own DEQUANTIZE (runtimes whose JS
//!   API takes only float tensors can run it; differences between prefixes
//!   place the time in the network).
//!
//! Both write OUTDIR/config.json for `tests/bench/run.mjs --config`.

use modelpress::formats::tflite;
use modelpress::ir::{BuiltinOp, DType, Tensor};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: slice_ops IN.tflite OUTDIR op|prefix 1,4,5");
        std::process::exit(2);
    }
    let model = tflite::read(&std::fs::read(&args[1]).unwrap()).unwrap();
    let mode = args[3].as_str();
    std::fs::create_dir_all(&args[2]).unwrap();
    let mut config = Vec::new();
    for i in args[4].split(',').map(|s| s.parse::<usize>().unwrap()) {
        let mut m = model.clone();
        m.signature_defs.clear();
        let sg = &mut m.subgraphs[0];
        if mode == "op" {
            let op = sg.ops[i].clone();
            sg.inputs = op.inputs.iter().flatten().copied().filter(|&t| !model.is_constant(0, t)).collect();
            sg.outputs = op.outputs.clone();
            sg.ops = vec![op];
        } else {
            let dq = sg.ops.iter().rev().find(|o| o.kind.builtin() == Some(BuiltinOp::DEQUANTIZE)).expect("a DEQUANTIZE to copy").clone();
            sg.ops.truncate(i + 1);
            let last = sg.ops[i].outputs[0];
            let shape = sg.tensors[last].shape.clone();
            let out = sg.tensors.len();
            sg.tensors.push(Tensor::new(format!("{}_dequantized", sg.tensors[last].name), DType::F32, shape));
            let mut dq = dq;
            dq.inputs = vec![Some(last)];
            dq.outputs = vec![out];
            sg.ops.push(dq);
            sg.outputs = vec![out];
        }
        m.prune_tensors(0);
        m.compact_buffers();
        let name = format!("{mode}{i}");
        std::fs::write(format!("{}/{name}.tflite", args[2]), tflite::write(&m).unwrap()).unwrap();
        config.push(format!("{{\"id\":\"{name}\",\"label\":\"{name}\",\"tflite\":\"{name}.tflite\",\"default\":true}}"));
    }
    std::fs::write(format!("{}/config.json", args[2]), format!("[\n{}\n]\n", config.join(",\n"))).unwrap();
}
