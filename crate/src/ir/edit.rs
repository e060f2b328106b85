//! Graph edits used by transforms: add tensors and ops, rewire uses,
//! find consumers and constant data.

use super::*;

impl Subgraph {
    /// Append a tensor and return its id.
    pub fn add_tensor(&mut self, t: Tensor) -> TensorId {
        self.tensors.push(t);
        self.tensors.len() - 1
    }

    /// (op index, input slot) of every use of tensor `t`.
    pub fn consumers(&self, t: TensorId) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for (oi, op) in self.ops.iter().enumerate() {
            for (k, i) in op.inputs.iter().enumerate() {
                if *i == Some(t) {
                    v.push((oi, k));
                }
            }
        }
        v
    }

    /// Index of the op producing `t`, if any.
    pub fn producer(&self, t: TensorId) -> Option<usize> {
        self.ops.iter().position(|op| op.outputs.contains(&t))
    }

    /// Replace every use of `from` as an op input with `to` (graph outputs
    /// are left alone).
    pub fn replace_uses(&mut self, from: TensorId, to: TensorId) {
        for op in &mut self.ops {
            for i in op.inputs.iter_mut() {
                if *i == Some(from) {
                    *i = Some(to);
                }
            }
        }
    }
}

impl Model {
    /// Whether tensor `t` of subgraph `sg` holds constant data.
    pub fn is_constant(&self, sg: usize, t: TensorId) -> bool {
        let b = self.subgraphs[sg].tensors[t].buffer;
        self.buffers.get(b).is_some_and(|b| !b.data.is_empty())
    }

    /// Float32 contents of a dense constant tensor.
    pub fn constant_f32(&self, sg: usize, t: TensorId) -> Option<Vec<f32>> {
        let tensor = &self.subgraphs[sg].tensors[t];
        if tensor.dtype != DType::F32 || tensor.sparsity.is_some() {
            return None;
        }
        let data = self.tensor_data(sg, t);
        if data.is_empty() || data.len() != tensor.num_elements() * 4 {
            return None;
        }
        Some(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// How many tensors in all subgraphs reference buffer `b`.
    pub fn buffer_users(&self, b: usize) -> usize {
        self.subgraphs.iter().flat_map(|sg| &sg.tensors).filter(|t| t.buffer == b).count()
            + self.metadata.iter().filter(|m| m.buffer == b).count()
    }

    /// Drop buffers no tensor or metadata references (keeps buffer 0) and
    /// renumber the references.
    pub fn compact_buffers(&mut self) {
        let n = self.buffers.len();
        let mut used = vec![false; n];
        if n > 0 {
            used[0] = true;
        }
        for sg in &self.subgraphs {
            for t in &sg.tensors {
                used[t.buffer] = true;
            }
        }
        for m in &self.metadata {
            used[m.buffer] = true;
        }
        for &b in &self.metadata_buffer {
            if b >= 0 && (b as usize) < n {
                used[b as usize] = true;
            }
        }
        let mut map = vec![0usize; n];
        let mut kept = Vec::new();
        for (i, b) in std::mem::take(&mut self.buffers).into_iter().enumerate() {
            if used[i] {
                map[i] = kept.len();
                kept.push(b);
            }
        }
        self.buffers = kept;
        for sg in &mut self.subgraphs {
            for t in &mut sg.tensors {
                t.buffer = map[t.buffer];
            }
        }
        for m in &mut self.metadata {
            m.buffer = map[m.buffer];
        }
        for b in &mut self.metadata_buffer {
            if *b >= 0 && (*b as usize) < n {
                *b = map[*b as usize] as i32;
            }
        }
    }
}

impl Model {
    /// Remove tensors of subgraph `si` that no op, graph input/output or
    /// signature references, renumbering all references.
    pub fn prune_tensors(&mut self, si: usize) {
        let sg = &self.subgraphs[si];
        let mut used = vec![false; sg.tensors.len()];
        for op in &sg.ops {
            for &t in op.inputs.iter().flatten().chain(&op.outputs).chain(&op.intermediates) {
                used[t] = true;
            }
        }
        for &t in sg.inputs.iter().chain(&sg.outputs) {
            used[t] = true;
        }
        for sd in self.signature_defs.iter().filter(|s| s.subgraph == si) {
            for st in sd.inputs.iter().chain(&sd.outputs) {
                used[st.tensor] = true;
            }
        }
        if used.iter().all(|&u| u) {
            return;
        }
        let mut map = vec![usize::MAX; used.len()];
        let sg = &mut self.subgraphs[si];
        let mut kept = Vec::new();
        for (i, t) in std::mem::take(&mut sg.tensors).into_iter().enumerate() {
            if used[i] {
                map[i] = kept.len();
                kept.push(t);
            }
        }
        sg.tensors = kept;
        for op in &mut sg.ops {
            for t in op.inputs.iter_mut().flatten() {
                *t = map[*t];
            }
            for t in op.outputs.iter_mut().chain(op.intermediates.iter_mut()) {
                *t = map[*t];
            }
        }
        for t in sg.inputs.iter_mut().chain(sg.outputs.iter_mut()) {
            *t = map[*t];
        }
        for sd in self.signature_defs.iter_mut().filter(|s| s.subgraph == si) {
            for st in sd.inputs.iter_mut().chain(sd.outputs.iter_mut()) {
                st.tensor = map[st.tensor];
            }
        }
        self.compact_buffers();
    }
}
