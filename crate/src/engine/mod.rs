//! The engine: turns an `ir::Model` into a plan (order, lifetimes, constant
//! values, buffer reuse) once, then runs it many times.
//!
//! Ops are looked up in one registry (`ops::registry`), one file per op
//! family; kernels are pure functions in `crate::kernels`.

pub mod ops;
mod plan;
mod value;

pub use plan::{eval_constant_op, unsupported_ops, Engine, IoInfo, MemoryInfo, NodeTime};
pub use value::{Data, Value};

use crate::error::{Error, Result};
use crate::ir::{Op, QuantParams, Subgraph, Tensor, TensorId};

/// What an op implementation sees: the op, its subgraph (for tensor
/// metadata such as quantization), its node index, and a buffer pool.
pub struct Node<'a> {
    pub op: &'a Op,
    pub sg: &'a Subgraph,
    pub index: usize,
    pub pool: &'a mut value::Pool,
}

impl<'a> Node<'a> {
    pub fn name(&self) -> String {
        self.op.kind.name()
    }
    /// An error for this node.
    pub fn err<T>(&self, msg: impl Into<String>) -> Result<T> {
        Err(Error::Exec { node: self.index, op: self.name(), msg: msg.into() })
    }
    pub fn input_tensor(&self, i: usize) -> Option<&'a Tensor> {
        self.op.input(i).map(|t| &self.sg.tensors[t])
    }
    pub fn output_tensor(&self, i: usize) -> Option<&'a Tensor> {
        self.op.outputs.get(i).map(|&t| &self.sg.tensors[t])
    }
    pub fn output_quant(&self, i: usize) -> Option<&'a QuantParams> {
        self.output_tensor(i).and_then(|t| t.quant.as_ref()).filter(|q| q.is_quantized())
    }
    pub fn input_quant(&self, i: usize) -> Option<&'a QuantParams> {
        self.input_tensor(i).and_then(|t| t.quant.as_ref()).filter(|q| q.is_quantized())
    }
    /// A zeroed f32 buffer of `n` elements, reusing freed storage.
    pub fn alloc_f32(&mut self, n: usize) -> Vec<f32> {
        self.pool.take_f32(n)
    }
    pub fn output_id(&self, i: usize) -> Option<TensorId> {
        self.op.outputs.get(i).copied()
    }
}

/// Inputs of a node: `None` for omitted optional inputs.
pub type Inputs<'v> = [Option<&'v Value>];

/// Fetch a required input or fail naming the node.
pub fn req<'v>(node: &Node, inputs: &Inputs<'v>, i: usize) -> Result<&'v Value> {
    match inputs.get(i).copied().flatten() {
        Some(v) => Ok(v),
        None => node.err(format!("missing input {i}")),
    }
}
