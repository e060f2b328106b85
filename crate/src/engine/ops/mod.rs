//! The op registry: one file per op family, each exposing `register`.
//! An op is runnable when some family registers it and its `check` accepts
//! the node (e.g. dtypes the family implements).

pub mod activation;
pub mod array;
pub mod conv;
pub mod elementwise;
pub mod int8;
pub mod quant;
pub mod reduce;

use super::{Inputs, Node, Value};
use crate::error::Result;
use crate::ir::{BuiltinOp, DType, Op, Subgraph};

pub type RunFn = fn(&mut Node, &Inputs) -> Result<Vec<Value>>;
pub type CheckFn = fn(&Op, &Subgraph) -> std::result::Result<(), String>;

/// A node's state built once at plan time (weights packed into a kernel's
/// layout, requantization multipliers, lookup tables, scratch buffers): the
/// planner runs it in place of `OpImpl::run`.
pub trait Prepared: Send {
    fn run(&mut self, node: &mut Node, inputs: &Inputs) -> Result<Vec<Value>>;
    /// Bytes of plan-time state held (packed weights, tables, scratch).
    fn bytes(&self) -> usize {
        0
    }
    /// Switch fast (fp32, XNNPACK-style) requantization where the node has
    /// it; returns whether it is now on.
    fn set_fast(&mut self, _on: bool) -> bool {
        false
    }
    /// Positions of the inputs whose constant values this state has taken
    /// in (e.g. packed weights) and no longer reads at run time: the
    /// engine may free those constants (the node then sees `None` there).
    fn captured_inputs(&self) -> &'static [usize] {
        &[]
    }
}

/// Builds a node's [`Prepared`] state from its op, its subgraph and the
/// values of its constant inputs (`None` for inputs known only at run time).
pub type PrepareFn = fn(&Op, &Subgraph, &[Option<&Value>]) -> std::result::Result<Box<dyn Prepared>, String>;

#[derive(Clone, Copy)]
pub struct OpImpl {
    pub run: RunFn,
    pub check: CheckFn,
}

impl OpImpl {
    /// A float op: every input/output that is not a constant must be float32
    /// (quantized activations need the int8 engine).
    pub const fn float(run: RunFn) -> OpImpl {
        OpImpl { run, check: float_check }
    }
    /// An op that handles whatever dtypes it is given (shape/array ops).
    pub const fn any(run: RunFn) -> OpImpl {
        OpImpl { run, check: |_, _| Ok(()) }
    }
}

/// Accept a node whose non-constant inputs and outputs are float32.
pub fn float_check(op: &Op, sg: &Subgraph) -> std::result::Result<(), String> {
    for &t in op.outputs.iter() {
        let d = sg.tensors[t].dtype;
        if d != DType::F32 {
            return Err(format!("{d} output; the float engine runs float32 activations"));
        }
    }
    for t in op.inputs.iter().flatten() {
        let tensor = &sg.tensors[*t];
        if tensor.buffer == 0 && tensor.dtype != DType::F32 {
            return Err(format!("{} input activation; the float engine runs float32 activations", tensor.dtype));
        }
    }
    Ok(())
}

/// Every family's implementation of a builtin op (float families first,
/// then integer ones); the planner takes the first whose `check` accepts
/// the node.
pub fn candidates(op: BuiltinOp) -> Vec<OpImpl> {
    candidates_prepared(op).into_iter().map(|(imp, _)| imp).collect()
}

/// A family: its registry, and (for families that pack state at plan
/// time) the prepare step of each op it registers.
type Family = (fn(BuiltinOp) -> Option<OpImpl>, fn(BuiltinOp) -> Option<PrepareFn>);

fn no_prepare(_: BuiltinOp) -> Option<PrepareFn> {
    None
}

const FAMILIES: [Family; 7] = [
    (conv::register, conv::prepare),
    (elementwise::register, no_prepare),
    (activation::register, no_prepare),
    (array::register, no_prepare),
    (reduce::register, no_prepare),
    (quant::register, quant::prepare),
    (int8::register, int8::prepare),
];

/// [`candidates`] with each implementation's plan-time prepare step.
pub fn candidates_prepared(op: BuiltinOp) -> Vec<(OpImpl, Option<PrepareFn>)> {
    FAMILIES.iter().filter_map(|(register, prepare)| register(op).map(|imp| (imp, prepare(op)))).collect()
}

/// The first implementation of a builtin op (any dtype).
pub fn registry(op: BuiltinOp) -> Option<OpImpl> {
    candidates(op).into_iter().next()
}

/// TFLite fused activation function codes applied in place, as LiteRT's
/// float kernels do: they clamp for RELU / RELU_N1_TO_1 / RELU6 and leave
/// TANH (4) and SIGN_BIT (5) unapplied (their activation range is
/// unbounded), so we match that instead of computing tanh.
pub fn apply_fused(node: &Node, v: &mut [f32], code: i64) -> Result<()> {
    match code {
        0 | 4 | 5 => {}
        1 => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        2 => v.iter_mut().for_each(|x| *x = x.clamp(-1.0, 1.0)),
        3 => v.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
        c => return node.err(format!("unsupported fused activation code {c}")),
    }
    Ok(())
}
