//! Quantization transforms against the TFLite int8 spec (the LiteRT
//! cross-checks of the written files live in tests/python).


use modelpress::engine::{Engine, Value};
use modelpress::formats::{npy, tflite};
use modelpress::ir::{BuiltinOp, DType, Model, OpKind};
use modelpress::passes::quantize::{IoType, QuantMode, QuantizeConfig};
use modelpress::passes::{optimize, Context, Recipe};

mod common;
use common::{model, root, samples};


fn quantize(m: &Model, cfg: QuantizeConfig, cal: Vec<Vec<Value>>) -> modelpress::Result<Model> {
    let recipe = Recipe { quantize: Some(cfg), ..Default::default() };
    let mut progress = |_: &str, _: f32| {};
    let mut ctx = Context::new(cal, &mut progress);
    let out = optimize(m, &recipe, &mut ctx)?;
    // Whatever we produce must write and read back.
    let bytes = tflite::write(&out)?;
    assert!(tflite::read(&bytes)? == out, "the written model reads back unchanged");
    Ok(out)
}

fn i8s(m: &Model, t: usize) -> Vec<i8> {
    m.tensor_data(0, t).iter().map(|&b| b as i8).collect()
}

#[test]
fn dynamic_range_quantizes_large_weights_per_channel() {
    let m = model("digits_cnn_float32.tflite");
    let q = quantize(&m, QuantizeConfig::new(QuantMode::Dynamic), vec![]).unwrap();
    let sg = &q.subgraphs[0];
    let mut quantized = 0;
    for op in &sg.ops {
        let b = op.kind.builtin().unwrap();
        if b != BuiltinOp::CONV_2D && b != BuiltinOp::FULLY_CONNECTED && b != BuiltinOp::DEPTHWISE_CONV_2D {
            continue;
        }
        let w = &sg.tensors[op.input(1).unwrap()];
        let activation = &sg.tensors[op.input(0).unwrap()];
        assert_eq!(activation.dtype, DType::F32, "activations stay float");
        if w.num_elements() >= 1024 {
            assert_eq!(w.dtype, DType::I8, "{}", w.name);
            let qp = w.quant.as_ref().unwrap();
            assert_eq!(qp.scale.len(), w.shape[0] as usize, "per-channel along axis 0");
            assert!(qp.zero_point.iter().all(|&z| z == 0));
            let vals = i8s(&q, op.input(1).unwrap());
            assert!(vals.iter().all(|&v| v >= -127), "symmetric range");
            assert!(vals.iter().any(|&v| v == 127 || v == -127), "each tensor uses its full range");
            if b == BuiltinOp::FULLY_CONNECTED {
                assert!(op.attr_bool("asymmetric_quantize_inputs", false));
            }
            quantized += 1;
        } else {
            assert_eq!(w.dtype, DType::F32, "small tensors stay float like the converter");
        }
    }
    assert_eq!(quantized, 2, "conv2 and fc1 have >= 1024 weights");
}

#[test]
fn float16_weights_run_close_to_float() {
    let m = model("digits_cnn_float32.tflite");
    let q = quantize(&m, QuantizeConfig::new(QuantMode::Float16), vec![]).unwrap();
    let sg = &q.subgraphs[0];
    let deq = sg.ops.iter().filter(|o| o.kind == OpKind::Builtin(BuiltinOp::DEQUANTIZE)).count();
    let f16 = (0..sg.tensors.len()).filter(|&t| sg.tensors[t].dtype == DType::F16 && q.is_constant(0, t)).count();
    assert_eq!(deq, f16);
    assert!(f16 >= 10, "all float weights and biases become float16 ({f16})");
    assert!((0..sg.tensors.len()).all(|t| !(q.is_constant(0, t) && sg.tensors[t].dtype == DType::F32)));
    let x = samples("data/digits_x_test.npy", 4);
    let mut a = Engine::new(&m).unwrap();
    let mut b = Engine::new(&q).unwrap();
    for s in x {
        let ya = a.run(s.clone()).unwrap();
        let yb = b.run(s).unwrap();
        for (u, v) in ya[0].as_f32().unwrap().iter().zip(yb[0].as_f32().unwrap()) {
            assert!((u - v).abs() < 2e-3, "{u} vs {v}");
        }
    }
}

#[test]
fn int8_follows_the_spec() {
    let m = model("digits_cnn_float32.tflite");
    let q = quantize(&m, QuantizeConfig::new(QuantMode::Int8), samples("data/digits_x_calib.npy", 50)).unwrap();
    let sg = &q.subgraphs[0];
    // Float I/O by default: QUANTIZE first, DEQUANTIZE last.
    assert_eq!(sg.tensors[sg.inputs[0]].dtype, DType::F32);
    assert_eq!(sg.tensors[sg.outputs[0]].dtype, DType::F32);
    assert_eq!(sg.ops.first().unwrap().kind, OpKind::Builtin(BuiltinOp::QUANTIZE));
    assert_eq!(sg.ops.last().unwrap().kind, OpKind::Builtin(BuiltinOp::DEQUANTIZE));
    let qp = |t: usize| sg.tensors[t].quant.clone().unwrap();
    for op in &sg.ops {
        let b = op.kind.builtin().unwrap();
        match b {
            BuiltinOp::CONV_2D | BuiltinOp::DEPTHWISE_CONV_2D | BuiltinOp::FULLY_CONNECTED => {
                let (x, w, bias, y) = (op.input(0).unwrap(), op.input(1).unwrap(), op.input(2).unwrap(), op.outputs[0]);
                for t in [x, y] {
                    assert_eq!(sg.tensors[t].dtype, DType::I8);
                    assert_eq!(qp(t).scale.len(), 1, "activations per tensor");
                }
                assert_eq!(sg.tensors[w].dtype, DType::I8);
                let wq = qp(w);
                let axis = if b == BuiltinOp::DEPTHWISE_CONV_2D { 3 } else { 0 };
                assert_eq!(wq.quantized_dimension, axis);
                assert_eq!(wq.scale.len(), sg.tensors[w].shape[axis as usize] as usize);
                assert!(wq.zero_point.iter().all(|&z| z == 0));
                assert!(i8s(&q, w).iter().all(|&v| (-127..=127).contains(&v)));
                assert_eq!(sg.tensors[bias].dtype, DType::I32);
                let bq = qp(bias);
                let sx = qp(x).scale[0];
                for (c, &s) in bq.scale.iter().enumerate() {
                    assert_eq!(s, sx * wq.scale[c], "bias scale = input scale x weight scale");
                }
            }
            BuiltinOp::SOFTMAX => {
                let o = qp(op.outputs[0]);
                assert_eq!((o.scale[0], o.zero_point[0]), (1.0 / 256.0, -128));
            }
            BuiltinOp::MAX_POOL_2D | BuiltinOp::AVERAGE_POOL_2D | BuiltinOp::RESHAPE => {
                let (i, o) = (qp(op.input(0).unwrap()), qp(op.outputs[0]));
                assert_eq!((i.scale[0], i.zero_point[0]), (o.scale[0], o.zero_point[0]), "shared params");
            }
            _ => {}
        }
    }
    // The float graph output keeps its name.
    assert_eq!(sg.tensors[sg.outputs[0]].name, m.subgraphs[0].tensors[m.subgraphs[0].outputs[0]].name);
}

#[test]
fn int8_io_and_uint8_io() {
    let m = model("tiny_mlp.tflite");
    let cal = samples("models/tiny_mlp.input0.npy", 1);
    let mut cfg = QuantizeConfig::new(QuantMode::Int8);
    cfg.io = IoType::Int8;
    let q = quantize(&m, cfg.clone(), cal.clone()).unwrap();
    let sg = &q.subgraphs[0];
    assert_eq!(sg.tensors[sg.inputs[0]].dtype, DType::I8);
    assert_eq!(sg.tensors[sg.outputs[0]].dtype, DType::I8);
    cfg.io = IoType::Uint8;
    let q = quantize(&m, cfg, cal).unwrap();
    let sg = &q.subgraphs[0];
    assert_eq!(sg.tensors[sg.inputs[0]].dtype, DType::U8);
    assert_eq!(sg.tensors[sg.outputs[0]].dtype, DType::U8);
}

#[test]
fn int16x8_uses_symmetric_int16_and_int64_bias() {
    let m = model("digits_cnn_float32.tflite");
    let q = quantize(&m, QuantizeConfig::new(QuantMode::Int16x8), samples("data/digits_x_calib.npy", 20)).unwrap();
    let sg = &q.subgraphs[0];
    let conv = sg.ops.iter().find(|o| o.kind == OpKind::Builtin(BuiltinOp::CONV_2D)).unwrap();
    let x = &sg.tensors[conv.input(0).unwrap()];
    assert_eq!(x.dtype, DType::I16);
    assert_eq!(x.quant.as_ref().unwrap().zero_point, vec![0]);
    assert_eq!(sg.tensors[conv.input(1).unwrap()].dtype, DType::I8);
    assert_eq!(sg.tensors[conv.input(2).unwrap()].dtype, DType::I64);
}

#[test]
fn skip_list_keeps_layers_float() {
    let m = model("digits_cnn_float32.tflite");
    let mut cfg = QuantizeConfig::new(QuantMode::Int8);
    cfg.skip = vec!["FULLY_CONNECTED".into()];
    let q = quantize(&m, cfg, samples("data/digits_x_calib.npy", 10)).unwrap();
    let sg = &q.subgraphs[0];
    for op in sg.ops.iter().filter(|o| o.kind == OpKind::Builtin(BuiltinOp::FULLY_CONNECTED)) {
        assert_eq!(sg.tensors[op.input(1).unwrap()].dtype, DType::F32);
        assert_eq!(sg.tensors[op.outputs[0]].dtype, DType::F32);
    }
    let mut cfg = QuantizeConfig::new(QuantMode::Dynamic);
    cfg.skip = vec!["*fc1*".into()];
    let q = quantize(&m, cfg, vec![]).unwrap();
    let sg = &q.subgraphs[0];
    let fc1 = sg.ops.iter().find(|o| o.kind == OpKind::Builtin(BuiltinOp::FULLY_CONNECTED)).unwrap();
    assert_eq!(sg.tensors[fc1.input(1).unwrap()].dtype, DType::F32, "glob on tensor names");
}

#[test]
fn int8_only_lists_ops_without_integer_kernels() {
    let m = model("ops_elementwise.tflite");
    let cal = vec![vec![
        npy::read(&std::fs::read(root().join("models/ops_elementwise.input0.npy")).unwrap()).unwrap(),
        npy::read(&std::fs::read(root().join("models/ops_elementwise.input1.npy")).unwrap()).unwrap(),
    ]];
    let mut cfg = QuantizeConfig::new(QuantMode::Int8);
    let q = quantize(&m, cfg.clone(), cal.clone()).unwrap();
    assert!(q.subgraphs[0].ops.iter().any(|o| o.kind == OpKind::Builtin(BuiltinOp::DEQUANTIZE)));
    cfg.int8_only = true;
    let err = quantize(&m, cfg, cal).unwrap_err().to_string();
    assert!(err.contains("int8-only") && err.contains("EXP") && err.contains("node "), "{err}");
}

#[test]
fn clear_errors_for_bad_requests() {
    let m = model("digits_cnn_float32.tflite");
    // No calibration data.
    let err = quantize(&m, QuantizeConfig::new(QuantMode::Int8), vec![]).unwrap_err().to_string();
    assert!(err.contains("calibration"), "{err}");
    // Mismatched calibration shapes: caught before any work.
    let bad = vec![vec![Value::f32(vec![1, 8, 8, 1], vec![0.0; 64]).unwrap()]];
    let err = quantize(&m, QuantizeConfig::new(QuantMode::Int8), bad).unwrap_err().to_string();
    assert!(err.contains("calibration sample 0") && err.contains("[1, 8, 8, 1]"), "{err}");
    // Already quantized models.
    let q = model("digits_cnn_int8.tflite");
    let err = quantize(&q, QuantizeConfig::new(QuantMode::Int8), samples("data/digits_x_calib.npy", 2)).unwrap_err();
    assert!(err.to_string().contains("already"), "{err}");
    let h = model("c_ptq_float16.tflite");
    let err = quantize(&h, QuantizeConfig::new(QuantMode::Float16), vec![]).unwrap_err();
    assert!(err.to_string().contains("float16"), "{err}");
    // Unknown recipe keys are named.
    let err = Recipe::from_json(r#"{"quantize": {"mode": "int8", "bogus": 1}}"#).unwrap_err().to_string();
    assert!(err.contains("bogus"), "{err}");
    let err = Recipe::from_json(r#"{"quantize": {"mode": "int3"}}"#).unwrap_err().to_string();
    assert!(err.contains("int3") && err.contains("int8"), "{err}");
}

#[test]
fn dynamic_range_quantizes_gather_tables() {
    use modelpress::ir::{Op, OptionsTable, Subgraph, Tensor};
    // GATHER rows of a constant [300, 8] embedding table, indices as input.
    let table: Vec<f32> = (0..2400).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    let mut m = Model { version: 3, ..Default::default() };
    let b = m.add_buffer(table.iter().flat_map(|v| v.to_le_bytes()).collect());
    let mut sg = Subgraph::default();
    let mut t = Tensor::new("table", DType::F32, vec![300, 8]);
    t.buffer = b;
    let t = sg.add_tensor(t);
    let idx = sg.add_tensor(Tensor::new("ids", DType::I32, vec![1, 5]));
    let out = sg.add_tensor(Tensor::new("rows", DType::F32, vec![1, 5, 8]));
    let mut op = Op::new(OpKind::Builtin(BuiltinOp::GATHER), vec![Some(t), Some(idx)], vec![out]);
    op.options = Some(
        OptionsTable::new("GatherOptions")
            .with("axis", modelpress::ir::AttrValue::Int(0))
            .with("batch_dims", modelpress::ir::AttrValue::Int(0)),
    );
    sg.ops.push(op);
    sg.inputs = vec![idx];
    sg.outputs = vec![out];
    m.subgraphs.push(sg);
    let q = quantize(&m, QuantizeConfig::new(QuantMode::Dynamic), vec![]).unwrap();
    let sg = &q.subgraphs[0];
    let g = sg.ops.iter().find(|o| o.kind == OpKind::Builtin(BuiltinOp::GATHER)).unwrap();
    assert_eq!(sg.tensors[g.input(0).unwrap()].dtype, DType::I8);
    assert_eq!(sg.tensors[g.outputs[0]].dtype, DType::I8);
    assert_eq!(sg.tensors[sg.outputs[0]].dtype, DType::F32, "a DEQUANTIZE restores float rows");
    assert_eq!(sg.tensors[sg.outputs[0]].name, "rows");
    let ids = Value::new(vec![1, 5], modelpress::engine::Data::I32(vec![0, 299, 7, 150, 7])).unwrap();
    let a = Engine::new(&m).unwrap().run(vec![ids.clone()]).unwrap();
    let b = Engine::new(&q).unwrap().run(vec![ids]).unwrap();
    for (x, y) in a[0].as_f32().unwrap().iter().zip(b[0].as_f32().unwrap()) {
        assert!((x - y).abs() <= 1.0 / 127.0, "{x} vs {y}");
    }
    std::fs::write(std::env::temp_dir().join("modelpress_gather_dynamic.tflite"), tflite::write(&q).unwrap()).unwrap();
}
