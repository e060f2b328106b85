//! Planning (order, lifetimes, constants) and execution.

use super::ops::{self, OpImpl, PrepareFn, Prepared};
use super::value::{numel, Pool};
use super::{Node, Value};
use crate::error::{Error, Result};
use crate::ir::{DType, Model, Op, OpKind, Subgraph, TensorId};

/// Name, shape (with -1 for dynamic dims) and dtype of a model input/output.
#[derive(Debug, Clone, PartialEq)]
pub struct IoInfo {
    pub name: String,
    pub shape: Vec<i64>,
    pub dtype: DType,
}

/// Ops of subgraph 0 that the engine cannot run, as "node N: OP (reason)".
pub fn unsupported_ops(model: &Model) -> Vec<String> {
    let Some(sg) = model.subgraphs.first() else { return vec!["model has no subgraphs".into()] };
    let mut out = Vec::new();
    for (i, op) in sg.ops.iter().enumerate() {
        if let Err(why) = lookup_prepared(op, sg) {
            out.push(format!("node {i}: {} ({why})", op.kind.name()));
        }
    }
    out
}

fn lookup(op: &Op, sg: &Subgraph) -> std::result::Result<OpImpl, String> {
    lookup_prepared(op, sg).map(|(imp, _)| imp)
}

/// The first implementation whose check accepts the node, with its
/// plan-time prepare step if the family has one.
fn lookup_prepared(op: &Op, sg: &Subgraph) -> std::result::Result<(OpImpl, Option<PrepareFn>), String> {
    let OpKind::Builtin(b) = &op.kind else { return Err("custom op".into()) };
    let cands = ops::candidates_prepared(*b);
    if cands.is_empty() {
        return Err("no kernel for this op".into());
    }
    let mut why = String::new();
    for (imp, prepare) in cands {
        match (imp.check)(op, sg) {
            Ok(()) => return Ok((imp, prepare)),
            Err(e) if why.is_empty() => why = e,
            Err(_) => {}
        }
    }
    Err(why)
}

/// A planned subgraph, ready to run many times.
pub struct Engine {
    /// The graph (subgraphs without buffer bytes).
    model: Model,
    /// Constants freed after planning because every reader packed them.
    freed: Vec<bool>,
    order: Vec<usize>,
    impls: Vec<OpImpl>,
    /// Per-node state built at plan time (run instead of `impls[i].run`).
    prepared: Vec<Option<Box<dyn Prepared>>>,
    consts: Vec<Option<Value>>,
    /// For each tensor, the position in `order` after which it is dead.
    last_use: Vec<Option<usize>>,
    pool: Pool,
    /// Per-node milliseconds summed over runs, while profiling.
    node_ms: Option<Vec<f64>>,
    profiled_runs: usize,
    /// High-water mark of the bytes of live activations over all runs.
    peak_live: usize,
}

/// Bytes an engine holds (see [`Engine::memory`]).
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryInfo {
    /// Constant tensors kept for running.
    pub constants: usize,
    /// Kernel-ready state built at plan time (packed weights, tables).
    pub prepared: usize,
    /// The largest total of activations alive at once in any run so far
    /// (graph inputs and outputs included).
    pub peak_activations: usize,
}

/// Time spent in one node, averaged over the profiled runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeTime {
    pub node: usize,
    pub op: String,
    /// The first output's name and shape.
    pub output: String,
    pub shape: Vec<i64>,
    pub ms: f64,
}

impl Engine {
    /// Plan subgraph 0 of `model`. Fails listing every unsupported op.
    pub fn new(model: &Model) -> Result<Engine> {
        let sg = model.subgraphs.first().ok_or_else(|| Error::InvalidModel("model has no subgraphs".into()))?;
        let bad = unsupported_ops(model);
        if !bad.is_empty() {
            return Err(Error::UnsupportedOps(bad));
        }
        let chosen: Vec<(OpImpl, Option<PrepareFn>)> =
            sg.ops.iter().map(|op| lookup_prepared(op, sg).map_err(Error::Unsupported)).collect::<Result<_>>()?;
        let impls: Vec<OpImpl> = chosen.iter().map(|(imp, _)| *imp).collect();

        // Constants.
        let mut consts: Vec<Option<Value>> = vec![None; sg.tensors.len()];
        for (ti, t) in sg.tensors.iter().enumerate() {
            let data = model.buffers.get(t.buffer).map(|b| b.data.as_slice()).unwrap_or(&[]);
            if data.is_empty() {
                // A zero-element constant (e.g. empty axes) has an empty buffer.
                let produced = sg.ops.iter().any(|o| o.outputs.contains(&ti));
                let empty = t.shape.contains(&0);
                if empty && !produced && !sg.inputs.contains(&ti) && t.dtype.size() > 0 {
                    let shape: Vec<usize> = t.shape.iter().map(|&d| d.max(0) as usize).collect();
                    consts[ti] = Some(Value::from_bytes(t.dtype, shape, &[])?);
                }
                continue;
            }
            let v = if t.sparsity.is_some() {
                // Stored values of a sparse tensor: a flat vector; DENSIFY expands it.
                let n = data.len() / t.dtype.size().max(1);
                Value::from_bytes(t.dtype, vec![n], data)
            } else {
                let shape = dims(&t.shape)
                    .map_err(|e| Error::InvalidModel(format!("tensor {ti} ({}): {e}", t.name)))?;
                Value::from_bytes(t.dtype, shape, data)
            };
            consts[ti] = Some(v.map_err(|e| match e {
                Error::InvalidModel(m) => Error::InvalidModel(format!("tensor {ti} ({}): {m}", t.name)),
                e => e,
            })?);
        }

        let mut prepared: Vec<Option<Box<dyn Prepared>>> = Vec::with_capacity(sg.ops.len());
        for (oi, (op, (_, prepare))) in sg.ops.iter().zip(&chosen).enumerate() {
            prepared.push(match prepare {
                None => None,
                Some(prepare) => {
                    let known: Vec<Option<&Value>> =
                        op.inputs.iter().map(|t| t.and_then(|t| consts.get(t).and_then(|c| c.as_ref()))).collect();
                    let state = prepare(op, sg, &known)
                        .map_err(|msg| Error::Exec { node: oi, op: op.kind.name(), msg })?;
                    Some(state)
                }
            });
        }

        // Constants every reader has taken in at plan time (packed weights)
        // are freed: the engine then holds them once, in kernel layout.
        let mut freed = vec![false; sg.tensors.len()];
        for t in 0..sg.tensors.len() {
            if consts[t].is_none() || sg.outputs.contains(&t) {
                continue;
            }
            let mut readers = 0;
            let all_captured = sg.ops.iter().enumerate().all(|(oi, op)| {
                op.inputs.iter().enumerate().filter(|(_, i)| **i == Some(t)).all(|(pos, _)| {
                    readers += 1;
                    prepared[oi].as_ref().is_some_and(|p| p.captured_inputs().contains(&pos))
                })
            });
            if readers > 0 && all_captured {
                consts[t] = None;
                freed[t] = true;
            }
        }

        let order = topo_order(sg, &consts, &freed)?;
        let mut last_use: Vec<Option<usize>> = vec![None; sg.tensors.len()];
        for (pos, &oi) in order.iter().enumerate() {
            for t in sg.ops[oi].inputs.iter().flatten() {
                last_use[*t] = Some(pos);
            }
        }
        for &t in &sg.outputs {
            last_use[t] = None; // graph outputs live to the end
        }
        // The engine keeps the graph, not the weights' bytes (the constants
        // above hold what it runs with).
        let graph = Model {
            version: model.version,
            description: None,
            subgraphs: model.subgraphs.clone(),
            buffers: Vec::new(),
            metadata: Vec::new(),
            metadata_buffer: Vec::new(),
            signature_defs: Vec::new(),
        };
        Ok(Engine { model: graph, freed, order, impls, prepared, consts, last_use, pool: Pool::default(), node_ms: None, profiled_runs: 0, peak_live: 0 })
    }

    fn sg(&self) -> &Subgraph {
        &self.model.subgraphs[0]
    }

    pub fn inputs(&self) -> Vec<IoInfo> {
        self.sg().inputs.iter().map(|&t| self.io(t)).collect()
    }
    pub fn outputs(&self) -> Vec<IoInfo> {
        self.sg().outputs.iter().map(|&t| self.io(t)).collect()
    }
    fn io(&self, t: TensorId) -> IoInfo {
        let tensor = &self.sg().tensors[t];
        let sig = tensor.shape_signature.as_ref().filter(|s| s.len() == tensor.shape.len());
        let shape = match sig {
            Some(s) => s.iter().map(|&d| d as i64).collect(),
            None => tensor.shape.iter().map(|&d| d as i64).collect(),
        };
        IoInfo { name: tensor.name.clone(), shape, dtype: tensor.dtype }
    }

    /// Run int8 convolutions, depthwise convolutions and fully connected
    /// layers with single-precision requantization, and int8 ADD/SUB with
    /// integer multipliers, as XNNPACK (LiteRT's default CPU path) does
    /// (`true`), or with TFLite's reference fixed-point arithmetic (`false`,
    /// the default, bit-exact with LiteRT's reference kernels).
    /// Returns how many nodes use the fast form.
    pub fn set_fast_requant(&mut self, on: bool) -> usize {
        self.prepared.iter_mut().flatten().map(|p| p.set_fast(on) as usize).sum()
    }

    /// Bytes held: constants, prepared state, peak live activations.
    pub fn memory(&self) -> MemoryInfo {
        MemoryInfo {
            constants: self.consts.iter().flatten().map(Value::nbytes).sum(),
            prepared: self.prepared.iter().flatten().map(|p| p.bytes()).sum(),
            peak_activations: self.peak_live,
        }
    }

    /// Start (or restart) timing every node of later runs.
    pub fn start_profile(&mut self) {
        self.node_ms = Some(vec![0.0; self.sg().ops.len()]);
        self.profiled_runs = 0;
    }

    /// Stop timing; per-node mean milliseconds of the runs since
    /// [`Engine::start_profile`], in execution order.
    pub fn take_profile(&mut self) -> Vec<NodeTime> {
        let Some(ms) = self.node_ms.take() else { return Vec::new() };
        let runs = self.profiled_runs.max(1) as f64;
        let sg = self.sg();
        self.order
            .iter()
            .map(|&oi| {
                let op = &sg.ops[oi];
                let out = op.outputs.first().map(|&t| &sg.tensors[t]);
                NodeTime {
                    node: oi,
                    op: op.kind.name(),
                    output: out.map_or(String::new(), |t| t.name.clone()),
                    shape: out.map_or(Vec::new(), |t| t.shape.iter().map(|&d| d as i64).collect()),
                    ms: ms[oi] / runs,
                }
            })
            .collect()
    }

    /// Peak bytes of activation storage seen so far.
    pub fn peak_activation_bytes(&self) -> usize {
        self.pool.peak_bytes
    }

    /// Run once. Inputs in the order of the subgraph's inputs.
    pub fn run(&mut self, inputs: Vec<Value>) -> Result<Vec<Value>> {
        self.run_observed(inputs, &mut |_, _| {})
    }

    /// Run once, calling `observe(tensor, value)` for every tensor a node
    /// produces (and for the graph inputs), e.g. to collect calibration
    /// statistics. Values are seen before their storage is reused.
    pub fn run_observed(
        &mut self,
        inputs: Vec<Value>,
        observe: &mut dyn FnMut(TensorId, &Value),
    ) -> Result<Vec<Value>> {
        self.run_hooked(inputs, &mut |t, v| observe(t, v))
    }

    /// Run once, letting `hook(tensor, value)` see and change every value a
    /// node produces (and the graph inputs) before later nodes read it, e.g.
    /// to simulate quantization (fake-quant).
    pub fn run_hooked(
        &mut self,
        inputs: Vec<Value>,
        observe: &mut dyn FnMut(TensorId, &mut Value),
    ) -> Result<Vec<Value>> {
        let infos = self.inputs();
        if inputs.len() != infos.len() {
            return Err(Error::BadInput(format!("model has {} inputs, got {}", infos.len(), inputs.len())));
        }
        for (i, (v, info)) in inputs.iter().zip(&infos).enumerate() {
            if v.dtype() != info.dtype {
                return Err(Error::BadInput(format!(
                    "input {i} ({}) must be {}, got {}",
                    info.name,
                    info.dtype,
                    v.dtype()
                )));
            }
            let fits = v.shape.len() == info.shape.len()
                && v.shape.iter().zip(&info.shape).all(|(&a, &b)| b < 0 || a as i64 == b);
            if !fits {
                return Err(Error::BadInput(format!(
                    "input {i} ({}) must have shape {:?}, got {:?}",
                    info.name, info.shape, v.shape
                )));
            }
        }
        let model = &self.model;
        let sg = &model.subgraphs[0];
        let mut values: Vec<Option<Value>> = vec![None; sg.tensors.len()];
        let mut live = 0usize;
        for (&t, mut v) in sg.inputs.iter().zip(inputs) {
            observe(t, &mut v);
            live += v.nbytes();
            values[t] = Some(v);
        }
        self.peak_live = self.peak_live.max(live);
        for (pos, &oi) in self.order.iter().enumerate() {
            let op = &sg.ops[oi];
            let outs = {
                let ins: Vec<Option<&Value>> = op
                    .inputs
                    .iter()
                    .map(|i| i.and_then(|t| values[t].as_ref().or(self.consts[t].as_ref())))
                    .collect();
                for (k, i) in op.inputs.iter().enumerate() {
                    if let (Some(t), None) = (i, ins[k]) {
                        if self.freed[*t] {
                            continue; // taken in by the node's prepared state
                        }
                        return Err(Error::Exec {
                            node: oi,
                            op: op.kind.name(),
                            msg: format!("input {k} (tensor {t} {}) has no value", sg.tensors[*t].name),
                        });
                    }
                }
                let mut node = Node { op, sg, index: oi, pool: &mut self.pool };
                let t0 = self.node_ms.as_ref().map(|_| crate::clock::now_ms());
                let outs = match self.prepared[oi].as_mut() {
                    Some(state) => state.run(&mut node, &ins)?,
                    None => (self.impls[oi].run)(&mut node, &ins)?,
                };
                if let (Some(t0), Some(ms)) = (t0, self.node_ms.as_mut()) {
                    ms[oi] += crate::clock::now_ms() - t0;
                }
                outs
            };
            if outs.len() < op.outputs.len() {
                return Err(Error::Exec {
                    node: oi,
                    op: op.kind.name(),
                    msg: format!("produced {} outputs, expected {}", outs.len(), op.outputs.len()),
                });
            }
            for (&t, mut v) in op.outputs.iter().zip(outs) {
                observe(t, &mut v);
                live += v.nbytes();
                if let Some(old) = values[t].replace(v) {
                    live -= old.nbytes();
                }
            }
            self.peak_live = self.peak_live.max(live);
            // Free what is dead after this node.
            for t in op.inputs.iter().flatten() {
                if self.last_use[*t] == Some(pos) && !sg.inputs.contains(t) {
                    if let Some(v) = values[*t].take() {
                        live -= v.nbytes();
                        self.pool.give(v);
                    }
                }
            }
        }
        if self.node_ms.is_some() {
            self.profiled_runs += 1;
        }
        sg.outputs
            .iter()
            .map(|&t| {
                values[t]
                    .take()
                    .or_else(|| self.consts[t].clone())
                    .ok_or_else(|| Error::Exec { node: 0, op: "output".into(), msg: format!("output tensor {t} was never computed") })
            })
            .collect()
    }

    /// Run over a leading batch: each input's first dim is `n`; runs the
    /// model `n` times with batch 1 (when the model's batch is fixed at 1)
    /// and stacks the outputs.
    pub fn run_batched(&mut self, inputs: Vec<Value>) -> Result<Vec<Value>> {
        let infos = self.inputs();
        let batch = inputs.first().and_then(|v| v.shape.first().copied()).unwrap_or(1);
        let needs_split = batch > 1
            && infos.iter().zip(&inputs).all(|(i, v)| i.shape.first() == Some(&1) && v.shape.first() == Some(&batch));
        if !needs_split {
            return self.run(inputs);
        }
        let mut stacked: Vec<Vec<Value>> = Vec::new();
        for b in 0..batch {
            let slice: Vec<Value> = inputs.iter().map(|v| v.batch_item(b)).collect::<Result<_>>()?;
            stacked.push(self.run(slice)?);
        }
        let nout = stacked[0].len();
        (0..nout).map(|o| concat_batch(stacked.iter().map(|r| &r[o]).collect())).collect()
    }
}

fn dims(shape: &[i32]) -> std::result::Result<Vec<usize>, String> {
    let d: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    match numel(&d) {
        Some(n) if n <= (1usize << 31) => Ok(d),
        _ => Err(format!("absurd shape {shape:?}")),
    }
}

/// Execution order: the file's order when valid, else a topological sort;
/// a cycle or a tensor nobody produces is an error.
fn topo_order(sg: &Subgraph, consts: &[Option<Value>], freed: &[bool]) -> Result<Vec<usize>> {
    let n = sg.tensors.len();
    let mut producer: Vec<Option<usize>> = vec![None; n];
    for (oi, op) in sg.ops.iter().enumerate() {
        for &t in &op.outputs {
            if let Some(prev) = producer[t] {
                return Err(Error::InvalidModel(format!("tensor {t} is produced by both node {prev} and node {oi}")));
            }
            producer[t] = Some(oi);
        }
    }
    let available = |t: usize| consts[t].is_some() || freed[t] || sg.inputs.contains(&t);
    for (oi, op) in sg.ops.iter().enumerate() {
        for t in op.inputs.iter().flatten() {
            if producer[*t].is_none() && !available(*t) && !sg.tensors[*t].is_variable {
                return Err(Error::InvalidModel(format!(
                    "node {oi} ({}) reads tensor {t} ({}) that no node produces and is not an input or constant",
                    op.kind.name(),
                    sg.tensors[*t].name
                )));
            }
        }
    }
    // Kahn's algorithm, preferring file order.
    let mut indeg = vec![0usize; sg.ops.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); sg.ops.len()];
    for (oi, op) in sg.ops.iter().enumerate() {
        for t in op.inputs.iter().flatten() {
            if let Some(p) = producer[*t] {
                if p == oi {
                    return Err(Error::InvalidModel(format!("node {oi} ({}) consumes its own output: cycle", op.kind.name())));
                }
                indeg[oi] += 1;
                users[p].push(oi);
            }
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..sg.ops.len()).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(sg.ops.len());
    while let Some(&oi) = ready.iter().next() {
        ready.remove(&oi);
        order.push(oi);
        for &u in &users[oi] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if order.len() != sg.ops.len() {
        let stuck: Vec<String> = (0..sg.ops.len()).filter(|i| indeg[*i] > 0).take(5).map(|i| i.to_string()).collect();
        return Err(Error::InvalidModel(format!("the graph has a cycle (nodes {} ...)", stuck.join(", "))));
    }
    Ok(order)
}

fn concat_batch(vs: Vec<&Value>) -> Result<Value> {
    let mut shape = vs[0].shape.clone();
    if shape.is_empty() {
        shape = vec![1];
    }
    shape[0] *= vs.len();
    use super::Data::*;
    macro_rules! cat {
        ($var:ident) => {{
            let mut out = Vec::new();
            for v in &vs {
                match &v.data {
                    $var(x) => out.extend_from_slice(x),
                    _ => return Err(Error::BadInput("outputs of different types across the batch".into())),
                }
            }
            $var(out)
        }};
    }
    let data = match &vs[0].data {
        F32(_) => cat!(F32),
        I32(_) => cat!(I32),
        I64(_) => cat!(I64),
        I16(_) => cat!(I16),
        I8(_) => cat!(I8),
        U8(_) => cat!(U8),
        Bool(_) => cat!(Bool),
        F16(_) => cat!(F16),
    };
    Value::new(shape, data)
}

/// Evaluate one op of subgraph `si` whose inputs are all constants (e.g. a
/// DEQUANTIZE of float16 weights or a DENSIFY of sparse weights).
pub fn eval_constant_op(model: &Model, si: usize, oi: usize) -> Result<Vec<Value>> {
    let sg = &model.subgraphs[si];
    let op = &sg.ops[oi];
    let imp = lookup(op, sg).map_err(|why| Error::Unsupported(format!("node {oi} ({}): {why}", op.kind.name())))?;
    let mut vals = Vec::new();
    for t in op.inputs.iter() {
        vals.push(match t {
            None => None,
            Some(t) => {
                let tensor = &sg.tensors[*t];
                let data = model.buffers.get(tensor.buffer).map(|b| b.data.as_slice()).unwrap_or(&[]);
                if data.is_empty() {
                    return Err(Error::InvalidArgument(format!("node {oi}: input {t} is not constant")));
                }
                Some(if tensor.sparsity.is_some() {
                    Value::from_bytes(tensor.dtype, vec![data.len() / tensor.dtype.size().max(1)], data)?
                } else {
                    let shape = dims(&tensor.shape).map_err(Error::InvalidModel)?;
                    Value::from_bytes(tensor.dtype, shape, data)?
                })
            }
        });
    }
    let ins: Vec<Option<&Value>> = vals.iter().map(|v| v.as_ref()).collect();
    let mut pool = Pool::default();
    let mut node = Node { op, sg, index: oi, pool: &mut pool };
    (imp.run)(&mut node, &ins)
}
