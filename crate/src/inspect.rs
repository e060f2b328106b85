//! What is in a model: the summary shown by `modelpress inspect` and the
//! page. Plain data, serializable.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::engine::unsupported_ops;
use crate::ir::{Model, Subgraph, Tensor};

#[derive(Debug, Clone, Serialize)]
pub struct QuantSummary {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TensorSummary {
    pub index: usize,
    pub name: String,
    pub shape: Vec<i32>,
    pub shape_signature: Option<Vec<i32>>,
    pub dtype: String,
    pub quantization: Option<QuantSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    pub index: usize,
    pub op: String,
    pub version: i32,
    pub inputs: Vec<i64>,
    pub outputs: Vec<usize>,
    /// Largest constant input (the weights), if any.
    pub weight: Option<WeightSummary>,
    /// Elements in all constant inputs.
    pub params: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeightSummary {
    pub name: String,
    pub shape: Vec<i32>,
    pub dtype: String,
    pub sparse: bool,
    pub per_channel: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubgraphSummary {
    pub index: usize,
    pub name: Option<String>,
    pub tensors: usize,
    pub ops: usize,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignatureSummary {
    pub key: String,
    pub subgraph: usize,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub format: String,
    pub schema_version: u32,
    pub description: Option<String>,
    pub bytes: usize,
    pub gzip_bytes: usize,
    pub inputs: Vec<TensorSummary>,
    pub outputs: Vec<TensorSummary>,
    /// Op name -> count over all subgraphs.
    pub op_histogram: BTreeMap<String, usize>,
    pub parameters: usize,
    /// Dtype -> number of constant elements of that dtype.
    pub weight_dtypes: BTreeMap<String, usize>,
    /// Dtype -> bytes of constant data of that dtype.
    pub weight_bytes: BTreeMap<String, usize>,
    pub subgraphs: Vec<SubgraphSummary>,
    pub signatures: Vec<SignatureSummary>,
    pub metadata: Vec<String>,
    pub layers: Vec<LayerSummary>,
    /// Whether this engine can run subgraph 0.
    pub runnable: bool,
    /// What it cannot run: "node N: OP (reason)".
    pub unsupported: Vec<String>,
}

/// gzip -9 size of `bytes` (deflate at level 9, gzip framing).
pub fn gzip_size(bytes: &[u8]) -> usize {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    if enc.write_all(bytes).is_err() {
        return 0;
    }
    enc.finish().map(|v| v.len()).unwrap_or(0)
}

fn tensor_summary(sg: &Subgraph, i: usize) -> TensorSummary {
    let t = &sg.tensors[i];
    TensorSummary {
        index: i,
        name: t.name.clone(),
        shape: t.shape.clone(),
        shape_signature: t.shape_signature.clone(),
        dtype: t.dtype.name().to_string(),
        quantization: t.quant.as_ref().filter(|q| q.is_quantized()).map(|q| QuantSummary {
            scale: q.scale.clone(),
            zero_point: q.zero_point.clone(),
            quantized_dimension: q.quantized_dimension,
        }),
    }
}

fn is_const(model: &Model, t: &Tensor) -> bool {
    model.buffers.get(t.buffer).is_some_and(|b| !b.data.is_empty())
}

/// Summarize a model; `bytes` is the file it came from.
pub fn summarize(model: &Model, bytes: &[u8]) -> Summary {
    let mut op_histogram = BTreeMap::new();
    for sg in &model.subgraphs {
        for op in &sg.ops {
            *op_histogram.entry(op.kind.name()).or_insert(0) += 1;
        }
    }
    let mut weight_dtypes = BTreeMap::new();
    let mut weight_bytes = BTreeMap::new();
    for sg in &model.subgraphs {
        for t in &sg.tensors {
            if is_const(model, t) {
                let e = weight_dtypes.entry(t.dtype.name().to_string()).or_insert(0usize);
                *e = e.saturating_add(t.num_elements());
                *weight_bytes.entry(t.dtype.name().to_string()).or_insert(0) += model.buffers[t.buffer].data.len();
            }
        }
    }
    let main = &model.subgraphs[0];
    let layers = main
        .ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let consts: Vec<&Tensor> =
                op.inputs.iter().flatten().map(|&t| &main.tensors[t]).filter(|t| is_const(model, t)).collect();
            let weight = consts.iter().max_by_key(|t| t.num_elements()).map(|t| WeightSummary {
                name: t.name.clone(),
                shape: t.shape.clone(),
                dtype: t.dtype.name().to_string(),
                sparse: t.sparsity.is_some(),
                per_channel: t.quant.as_ref().is_some_and(|q| q.scale.len() > 1),
            });
            LayerSummary {
                index: i,
                op: op.kind.name(),
                version: op.version,
                inputs: op.inputs.iter().map(|t| t.map(|x| x as i64).unwrap_or(-1)).collect(),
                outputs: op.outputs.clone(),
                weight,
                params: consts.iter().fold(0usize, |a, t| a.saturating_add(t.num_elements())),
            }
        })
        .collect();
    let unsupported = unsupported_ops(model);
    Summary {
        format: "tflite".into(),
        schema_version: model.version,
        description: model.description.clone(),
        bytes: bytes.len(),
        gzip_bytes: gzip_size(bytes),
        inputs: main.inputs.iter().map(|&i| tensor_summary(main, i)).collect(),
        outputs: main.outputs.iter().map(|&i| tensor_summary(main, i)).collect(),
        op_histogram,
        parameters: model.parameter_count(),
        weight_dtypes,
        weight_bytes,
        subgraphs: model
            .subgraphs
            .iter()
            .enumerate()
            .map(|(i, sg)| SubgraphSummary {
                index: i,
                name: sg.name.clone(),
                tensors: sg.tensors.len(),
                ops: sg.ops.len(),
                inputs: sg.inputs.clone(),
                outputs: sg.outputs.clone(),
            })
            .collect(),
        signatures: model
            .signature_defs
            .iter()
            .map(|s| SignatureSummary {
                key: s.key.clone(),
                subgraph: s.subgraph,
                inputs: s.inputs.iter().map(|t| t.name.clone()).collect(),
                outputs: s.outputs.iter().map(|t| t.name.clone()).collect(),
            })
            .collect(),
        metadata: model.metadata.iter().map(|m| m.name.clone()).collect(),
        layers,
        runnable: unsupported.is_empty(),
        unsupported,
    }
}
