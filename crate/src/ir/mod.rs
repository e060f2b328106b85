//! The project's own model: tensors, quantization parameters, operators,
//! subgraphs. Knows no file format and no engine.
//!
//! The op set and attribute names follow TFLite (the first format we read),
//! but nothing here is a flatbuffer type: attributes are plain named values,
//! and whatever a format carries that we do not interpret is kept as plain
//! data so it survives a round trip.

mod attrs;
mod edit;
mod dtype;
mod ops;

pub use attrs::{AttrValue, Attrs, OptionsTable};
pub use dtype::DType;
pub use ops::{op_name, BuiltinOp};

/// Index of a tensor inside its subgraph.
pub type TensorId = usize;

/// Linear quantization parameters: `real = scale * (q - zero_point)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantParams {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
    /// Opaque custom quantization details (`CustomQuantization.custom`).
    pub custom: Option<Vec<u8>>,
}

impl QuantParams {
    /// True when there is at least one scale (the tensor is really quantized).
    pub fn is_quantized(&self) -> bool {
        !self.scale.is_empty()
    }
    pub fn per_tensor(scale: f32, zero_point: i64) -> Self {
        QuantParams { scale: vec![scale], zero_point: vec![zero_point], ..Default::default() }
    }
}

/// Index vector of a sparse dimension, with the integer width it was stored in.
#[derive(Debug, Clone, PartialEq)]
pub enum SparseIndex {
    I32(Vec<i32>),
    U16(Vec<u16>),
    U8(Vec<u8>),
}

impl SparseIndex {
    pub fn len(&self) -> usize {
        match self {
            SparseIndex::I32(v) => v.len(),
            SparseIndex::U16(v) => v.len(),
            SparseIndex::U8(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: usize) -> Option<i64> {
        match self {
            SparseIndex::I32(v) => v.get(i).map(|&x| x as i64),
            SparseIndex::U16(v) => v.get(i).map(|&x| x as i64),
            SparseIndex::U8(v) => v.get(i).map(|&x| x as i64),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DimMetadata {
    Dense { size: i32 },
    SparseCsr { segments: Option<SparseIndex>, indices: Option<SparseIndex> },
}

/// Sparse tensor encoding (a TACO-like format: traversal order, block map,
/// per-dimension dense/CSR metadata).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sparsity {
    pub traversal_order: Vec<i32>,
    /// Block dimension -> dense dimension (None when not block-sparse).
    pub block_map: Option<Vec<i32>>,
    pub dim_metadata: Vec<DimMetadata>,
}

/// Nested type of a VARIANT tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantSubType {
    pub shape: Vec<i32>,
    pub dtype: DType,
    pub has_rank: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<i32>,
    pub shape_signature: Option<Vec<i32>>,
    /// Index into [`Model::buffers`]; 0 means no data (the empty sentinel).
    pub buffer: usize,
    pub quant: Option<QuantParams>,
    pub sparsity: Option<Sparsity>,
    pub is_variable: bool,
    pub has_rank: bool,
    pub variant_tensors: Vec<VariantSubType>,
}

impl Tensor {
    pub fn new(name: impl Into<String>, dtype: DType, shape: Vec<i32>) -> Self {
        Tensor {
            name: name.into(),
            dtype,
            shape,
            shape_signature: None,
            buffer: 0,
            quant: None,
            sparsity: None,
            is_variable: false,
            has_rank: false,
            variant_tensors: Vec::new(),
        }
    }
    /// Elements per step of dimension `axis` (the product of the dims after
    /// it; negative dims count as 1). Saturates on absurd shapes.
    pub fn inner_size(&self, axis: usize) -> usize {
        self.shape.iter().skip(axis + 1).fold(1usize, |a, &d| a.saturating_mul(d.max(1) as usize))
    }

    /// Number of elements of the (dense) shape; negative dims count as 1.
    /// Saturates instead of overflowing on absurd shapes.
    pub fn num_elements(&self) -> usize {
        self.shape.iter().fold(1usize, |a, &d| a.saturating_mul(d.max(1) as usize))
    }
}

/// What an operator is: a builtin (TFLite numbering) or a custom op by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    Builtin(BuiltinOp),
    Custom(String),
}

impl OpKind {
    pub fn name(&self) -> String {
        match self {
            OpKind::Builtin(b) => b.name().to_string(),
            OpKind::Custom(c) => format!("CUSTOM({c})"),
        }
    }
    pub fn builtin(&self) -> Option<BuiltinOp> {
        match self {
            OpKind::Builtin(b) => Some(*b),
            OpKind::Custom(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub kind: OpKind,
    /// Operator version (semantics revision of the op in its format).
    pub version: i32,
    /// Input tensor ids; `None` for an omitted optional input.
    pub inputs: Vec<Option<TensorId>>,
    pub outputs: Vec<TensorId>,
    pub intermediates: Vec<TensorId>,
    /// Builtin options table (e.g. `Conv2DOptions`) as named attributes.
    pub options: Option<OptionsTable>,
    /// Second options union (newer ops, e.g. StableHLO ones).
    pub options2: Option<OptionsTable>,
    pub custom_options: Option<Vec<u8>>,
    pub custom_options_format: i8,
    pub mutating_variable_inputs: Vec<bool>,
}

impl Op {
    pub fn new(kind: OpKind, inputs: Vec<Option<TensorId>>, outputs: Vec<TensorId>) -> Self {
        Op {
            kind,
            version: 1,
            inputs,
            outputs,
            intermediates: Vec::new(),
            options: None,
            options2: None,
            custom_options: None,
            custom_options_format: 0,
            mutating_variable_inputs: Vec::new(),
        }
    }
    /// Attribute of the main options table, if present.
    pub fn attr(&self, name: &str) -> Option<&AttrValue> {
        self.options.as_ref().and_then(|o| o.attrs.get(name))
    }
    pub fn attr_i64(&self, name: &str, default: i64) -> i64 {
        self.attr(name).and_then(AttrValue::as_i64).unwrap_or(default)
    }
    pub fn attr_f32(&self, name: &str, default: f32) -> f32 {
        self.attr(name).and_then(AttrValue::as_f64).map(|v| v as f32).unwrap_or(default)
    }
    pub fn attr_bool(&self, name: &str, default: bool) -> bool {
        self.attr(name).and_then(AttrValue::as_bool).unwrap_or(default)
    }
    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).and_then(AttrValue::as_ints)
    }
    /// Input tensor id at position `i`, if present.
    pub fn input(&self, i: usize) -> Option<TensorId> {
        self.inputs.get(i).copied().flatten()
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subgraph {
    pub name: Option<String>,
    pub tensors: Vec<Tensor>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    /// Operators in execution order.
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Buffer {
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub name: String,
    pub buffer: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignatureTensor {
    pub name: String,
    pub tensor: TensorId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignatureDef {
    pub key: String,
    pub subgraph: usize,
    pub inputs: Vec<SignatureTensor>,
    pub outputs: Vec<SignatureTensor>,
}

/// A whole model: subgraphs (0 is the main one), shared constant buffers,
/// metadata and signatures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    pub version: u32,
    pub description: Option<String>,
    pub subgraphs: Vec<Subgraph>,
    /// Buffer 0 is always the empty sentinel.
    pub buffers: Vec<Buffer>,
    pub metadata: Vec<Metadata>,
    /// Deprecated `metadata_buffer` list, kept for round trips.
    pub metadata_buffer: Vec<i32>,
    pub signature_defs: Vec<SignatureDef>,
}

impl Model {
    pub fn main(&self) -> Option<&Subgraph> {
        self.subgraphs.first()
    }
    /// Data of a tensor's buffer (empty for activations).
    pub fn tensor_data(&self, sg: usize, t: TensorId) -> &[u8] {
        let b = self.subgraphs[sg].tensors[t].buffer;
        self.buffers.get(b).map(|b| b.data.as_slice()).unwrap_or(&[])
    }
    /// Append a buffer and return its index.
    pub fn add_buffer(&mut self, data: Vec<u8>) -> usize {
        if self.buffers.is_empty() {
            self.buffers.push(Buffer::default());
        }
        self.buffers.push(Buffer { data });
        self.buffers.len() - 1
    }
    /// Total number of elements held in constant tensors of all subgraphs.
    pub fn parameter_count(&self) -> usize {
        let mut n: usize = 0;
        for sg in &self.subgraphs {
            for t in &sg.tensors {
                if t.buffer != 0 && self.buffers.get(t.buffer).is_some_and(|b| !b.data.is_empty()) {
                    n = n.saturating_add(t.num_elements());
                }
            }
        }
        n
    }
}
