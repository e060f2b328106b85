//! `ir::Model` -> `.tflite` bytes, with the `flatbuffers` builder.
//!
//! Constant buffers are 16-byte aligned (as the converter writes them). When
//! the buffers would not fit in a 2 GB flatbuffer, their bytes go after the
//! flatbuffer and are referenced by offset/size (schema 3c), as the converter
//! does for large models.

use flatbuffers::{FlatBufferBuilder, Push, TableFinishedWIPOffset, WIPOffset};

use super::options_schema::{options_by_name, FieldKind, OptionsDef};
use crate::error::{Error, Result};
use crate::ir::*;

type Off = WIPOffset<TableFinishedWIPOffset>;

/// Buffers larger than this in total are stored outside the flatbuffer.
pub const EXTERNAL_BUFFERS_THRESHOLD: usize = 1 << 30;

#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Store every non-empty buffer outside the flatbuffer (offset/size),
    /// even for small models. Large models do this automatically.
    pub external_buffers: bool,
}

/// Serialize a model.
pub fn write(model: &Model) -> Result<Vec<u8>> {
    write_with(model, WriteOptions::default())
}

pub fn write_with(model: &Model, opts: WriteOptions) -> Result<Vec<u8>> {
    validate(model)?;
    let total: usize = model.buffers.iter().map(|b| b.data.len()).sum();
    if !opts.external_buffers && total < EXTERNAL_BUFFERS_THRESHOLD {
        return build(model, None);
    }
    // Two passes: the first fixes the flatbuffer's size (offset fields are
    // always present, so their values do not change the layout), the second
    // writes the real offsets.
    let n = model.buffers.len();
    let first = build(model, Some(&vec![(2u64, 0u64); n]))?;
    let mut pos = first.len().next_multiple_of(16) as u64;
    let mut placement = Vec::with_capacity(n);
    for b in &model.buffers {
        if b.data.is_empty() {
            placement.push((0, 0));
        } else {
            placement.push((pos, b.data.len() as u64));
            pos = (pos + b.data.len() as u64).next_multiple_of(16);
        }
    }
    let mut out = build(model, Some(&placement))?;
    if out.len() != first.len() {
        return Err(Error::Unsupported("internal: flatbuffer size changed between passes".into()));
    }
    for (b, &(off, _)) in model.buffers.iter().zip(&placement) {
        if off > 1 {
            out.resize(off as usize, 0);
            out.extend_from_slice(&b.data);
        }
    }
    Ok(out)
}

/// Check the indices the flatbuffer cannot express or the runtime would reject.
fn validate(model: &Model) -> Result<()> {
    let nb = model.buffers.len();
    if model.subgraphs.is_empty() {
        return Err(Error::InvalidModel("model has no subgraphs".into()));
    }
    for (si, sg) in model.subgraphs.iter().enumerate() {
        let nt = sg.tensors.len();
        for (ti, t) in sg.tensors.iter().enumerate() {
            if t.buffer >= nb {
                return Err(Error::InvalidModel(format!("subgraph {si} tensor {ti}: buffer {} out of range", t.buffer)));
            }
        }
        let ok = |i: &usize| *i < nt;
        let all_ok = sg.inputs.iter().all(ok)
            && sg.outputs.iter().all(ok)
            && sg.ops.iter().all(|o| {
                o.inputs.iter().flatten().all(ok) && o.outputs.iter().all(ok) && o.intermediates.iter().all(ok)
            });
        if !all_ok {
            return Err(Error::InvalidModel(format!("subgraph {si}: tensor index out of range")));
        }
    }
    Ok(())
}

/// A 16-byte aligned marker, pushed once so the whole buffer is 16-aligned.
#[repr(C, align(16))]
struct Align16([u8; 16]);

impl Push for Align16 {
    type Output = Align16;
    unsafe fn push(&self, dst: &mut [u8], _written_len: usize) {
        dst[..16].copy_from_slice(&self.0);
    }
}

fn slot(id: u16) -> u16 {
    4 + 2 * id
}

struct Writer<'b> {
    fbb: FlatBufferBuilder<'b>,
}

impl<'b> Writer<'b> {
    fn string(&mut self, s: &str) -> WIPOffset<&'b str> {
        self.fbb.create_string(s)
    }

    /// A byte vector whose data starts on a 16-byte boundary.
    fn aligned_bytes(&mut self, data: &[u8]) -> WIPOffset<flatbuffers::Vector<'b, u8>> {
        // The builder writes back to front: pad so that after `data` is
        // written, the data's first byte sits at a multiple of 16 from the end.
        let used = self.fbb.unfinished_data().len();
        let pad = (16 - (used + data.len()) % 16) % 16;
        for _ in 0..pad {
            self.fbb.push(0u8);
        }
        self.fbb.create_vector(data)
    }

    fn options(&mut self, t: &OptionsTable, def: &OptionsDef, what: &str) -> Result<Off> {
        for name in t.attrs.keys() {
            if !def.fields.iter().any(|f| f.name == name) {
                return Err(Error::InvalidModel(format!("{what}: {} has no field '{name}'", def.name)));
            }
        }
        // Children first.
        let mut offs = Vec::new();
        for f in def.fields {
            let Some(v) = t.attrs.get(f.name) else { continue };
            let bad = || Error::InvalidModel(format!("{what}: {}.{} has the wrong value type", def.name, f.name));
            let o = match (f.kind, v) {
                (FieldKind::Str, AttrValue::Str(s)) => Some(self.fbb.create_string(s).as_union_value()),
                (FieldKind::VecU8, AttrValue::Bytes(b)) => Some(self.fbb.create_vector(b).as_union_value()),
                (FieldKind::VecBool, AttrValue::Bools(b)) => Some(self.fbb.create_vector(b).as_union_value()),
                (FieldKind::VecI32, AttrValue::Ints(v)) => {
                    let v: Vec<i32> = v.iter().map(|&x| x as i32).collect();
                    Some(self.fbb.create_vector(&v).as_union_value())
                }
                (FieldKind::VecU32, AttrValue::Ints(v)) => {
                    let v: Vec<u32> = v.iter().map(|&x| x as u32).collect();
                    Some(self.fbb.create_vector(&v).as_union_value())
                }
                (FieldKind::VecI64, AttrValue::Ints(v)) => Some(self.fbb.create_vector(v).as_union_value()),
                (FieldKind::VecF32, AttrValue::Floats(v)) => Some(self.fbb.create_vector(v).as_union_value()),
                (FieldKind::Str | FieldKind::VecU8 | FieldKind::VecBool, _)
                | (FieldKind::VecI32 | FieldKind::VecI64 | FieldKind::VecF32 | FieldKind::VecU32, _) => return Err(bad()),
                _ => None,
            };
            if let Some(o) = o {
                offs.push((f.id, o));
            }
        }
        let start = self.fbb.start_table();
        for f in def.fields {
            let Some(v) = t.attrs.get(f.name) else { continue };
            let bad = || Error::InvalidModel(format!("{what}: {}.{} has the wrong value type", def.name, f.name));
            let s = slot(f.id);
            let d = f.default;
            match f.kind {
                FieldKind::Bool => self.fbb.push_slot::<bool>(s, v.as_bool().ok_or_else(bad)?, d != 0.0),
                FieldKind::I8 => self.fbb.push_slot::<i8>(s, v.as_i64().ok_or_else(bad)? as i8, d as i8),
                FieldKind::U8 => self.fbb.push_slot::<u8>(s, v.as_i64().ok_or_else(bad)? as u8, d as u8),
                FieldKind::I16 => self.fbb.push_slot::<i16>(s, v.as_i64().ok_or_else(bad)? as i16, d as i16),
                FieldKind::U16 => self.fbb.push_slot::<u16>(s, v.as_i64().ok_or_else(bad)? as u16, d as u16),
                FieldKind::I32 => self.fbb.push_slot::<i32>(s, v.as_i64().ok_or_else(bad)? as i32, d as i32),
                FieldKind::U32 => self.fbb.push_slot::<u32>(s, v.as_i64().ok_or_else(bad)? as u32, d as u32),
                FieldKind::I64 => self.fbb.push_slot::<i64>(s, v.as_i64().ok_or_else(bad)?, d as i64),
                FieldKind::U64 => self.fbb.push_slot::<u64>(s, v.as_i64().ok_or_else(bad)? as u64, d as u64),
                FieldKind::F32 => self.fbb.push_slot::<f32>(s, v.as_f64().ok_or_else(bad)? as f32, d as f32),
                FieldKind::F64 => self.fbb.push_slot::<f64>(s, v.as_f64().ok_or_else(bad)?, d),
                _ => {}
            }
        }
        for (id, o) in offs {
            self.fbb.push_slot_always(slot(id), o);
        }
        Ok(self.fbb.end_table(start))
    }

    fn quant(&mut self, q: &QuantParams) -> Off {
        let min = (!q.min.is_empty()).then(|| self.fbb.create_vector(&q.min));
        let max = (!q.max.is_empty()).then(|| self.fbb.create_vector(&q.max));
        let scale = (!q.scale.is_empty()).then(|| self.fbb.create_vector(&q.scale));
        let zp = (!q.zero_point.is_empty()).then(|| self.fbb.create_vector(&q.zero_point));
        let details = q.custom.as_ref().map(|c| {
            let v = self.aligned_bytes(c);
            let s = self.fbb.start_table();
            self.fbb.push_slot_always(slot(0), v);
            self.fbb.end_table(s)
        });
        let s = self.fbb.start_table();
        if let Some(o) = min {
            self.fbb.push_slot_always(slot(0), o);
        }
        if let Some(o) = max {
            self.fbb.push_slot_always(slot(1), o);
        }
        if let Some(o) = scale {
            self.fbb.push_slot_always(slot(2), o);
        }
        if let Some(o) = zp {
            self.fbb.push_slot_always(slot(3), o);
        }
        if let Some(d) = details {
            self.fbb.push_slot::<u8>(slot(4), 1, 0);
            self.fbb.push_slot_always(slot(5), d);
        }
        self.fbb.push_slot::<i32>(slot(6), q.quantized_dimension, 0);
        self.fbb.end_table(s)
    }

    fn sparse_index(&mut self, v: &SparseIndex) -> (u8, Off) {
        let (ty, vec) = match v {
            SparseIndex::I32(x) => (1, self.fbb.create_vector(x).as_union_value()),
            SparseIndex::U16(x) => (2, self.fbb.create_vector(x).as_union_value()),
            SparseIndex::U8(x) => (3, self.fbb.create_vector(x).as_union_value()),
        };
        let s = self.fbb.start_table();
        self.fbb.push_slot_always(slot(0), vec);
        (ty, self.fbb.end_table(s))
    }

    fn sparsity(&mut self, sp: &Sparsity) -> Off {
        let mut dims = Vec::new();
        for d in &sp.dim_metadata {
            let o = match d {
                DimMetadata::Dense { size } => {
                    let s = self.fbb.start_table();
                    self.fbb.push_slot::<i8>(slot(0), 0, 0);
                    self.fbb.push_slot::<i32>(slot(1), *size, 0);
                    self.fbb.end_table(s)
                }
                DimMetadata::SparseCsr { segments, indices } => {
                    let seg = segments.as_ref().map(|v| self.sparse_index(v));
                    let idx = indices.as_ref().map(|v| self.sparse_index(v));
                    let s = self.fbb.start_table();
                    self.fbb.push_slot::<i8>(slot(0), 1, 0);
                    if let Some((t, o)) = seg {
                        self.fbb.push_slot::<u8>(slot(2), t, 0);
                        self.fbb.push_slot_always(slot(3), o);
                    }
                    if let Some((t, o)) = idx {
                        self.fbb.push_slot::<u8>(slot(4), t, 0);
                        self.fbb.push_slot_always(slot(5), o);
                    }
                    self.fbb.end_table(s)
                }
            };
            dims.push(o);
        }
        let trav = self.fbb.create_vector(&sp.traversal_order);
        let bmap = sp.block_map.as_ref().map(|b| self.fbb.create_vector(b));
        let dims = self.fbb.create_vector(&dims);
        let s = self.fbb.start_table();
        self.fbb.push_slot_always(slot(0), trav);
        if let Some(b) = bmap {
            self.fbb.push_slot_always(slot(1), b);
        }
        self.fbb.push_slot_always(slot(2), dims);
        self.fbb.end_table(s)
    }

    fn tensor(&mut self, t: &Tensor) -> Off {
        let shape = self.fbb.create_vector(&t.shape);
        let name = self.string(&t.name);
        let quant = t.quant.as_ref().map(|q| self.quant(q));
        let sparsity = t.sparsity.as_ref().map(|s| self.sparsity(s));
        let sig = t.shape_signature.as_ref().map(|s| self.fbb.create_vector(s));
        let variants = if t.variant_tensors.is_empty() {
            None
        } else {
            let mut v = Vec::new();
            for vt in &t.variant_tensors {
                let sh = self.fbb.create_vector(&vt.shape);
                let s = self.fbb.start_table();
                self.fbb.push_slot_always(slot(0), sh);
                self.fbb.push_slot::<i8>(slot(1), vt.dtype.tflite_code(), 0);
                self.fbb.push_slot::<bool>(slot(2), vt.has_rank, false);
                v.push(self.fbb.end_table(s));
            }
            Some(self.fbb.create_vector(&v))
        };
        let s = self.fbb.start_table();
        self.fbb.push_slot_always(slot(0), shape);
        self.fbb.push_slot::<i8>(slot(1), t.dtype.tflite_code(), 0);
        self.fbb.push_slot::<u32>(slot(2), t.buffer as u32, 0);
        self.fbb.push_slot_always(slot(3), name);
        if let Some(q) = quant {
            self.fbb.push_slot_always(slot(4), q);
        }
        self.fbb.push_slot::<bool>(slot(5), t.is_variable, false);
        if let Some(sp) = sparsity {
            self.fbb.push_slot_always(slot(6), sp);
        }
        if let Some(sig) = sig {
            self.fbb.push_slot_always(slot(7), sig);
        }
        self.fbb.push_slot::<bool>(slot(8), t.has_rank, false);
        if let Some(v) = variants {
            self.fbb.push_slot_always(slot(9), v);
        }
        self.fbb.end_table(s)
    }

    fn tensor_maps(&mut self, list: &[SignatureTensor]) -> WIPOffset<flatbuffers::Vector<'b, flatbuffers::ForwardsUOffset<TableFinishedWIPOffset>>> {
        let mut v = Vec::new();
        for st in list {
            let n = self.string(&st.name);
            let s = self.fbb.start_table();
            self.fbb.push_slot_always(slot(0), n);
            self.fbb.push_slot::<u32>(slot(1), st.tensor as u32, 0);
            v.push(self.fbb.end_table(s));
        }
        self.fbb.create_vector(&v)
    }

    fn op(&mut self, o: &Op, opcode_index: u32, what: &str) -> Result<Off> {
        let inputs: Vec<i32> = o.inputs.iter().map(|i| i.map(|x| x as i32).unwrap_or(-1)).collect();
        let outputs: Vec<i32> = o.outputs.iter().map(|&x| x as i32).collect();
        let inputs = self.fbb.create_vector(&inputs);
        let outputs = self.fbb.create_vector(&outputs);
        let mut opt = None;
        if let Some(t) = &o.options {
            match options_by_name(&t.table) {
                Some((1, def)) => opt = Some((def.union_type, self.options(t, def, what)?)),
                _ => return Err(Error::InvalidModel(format!("{what}: unknown builtin options table {}", t.table))),
            }
        }
        let mut opt2 = None;
        if let Some(t) = &o.options2 {
            match options_by_name(&t.table) {
                Some((2, def)) => opt2 = Some((def.union_type, self.options(t, def, what)?)),
                _ => return Err(Error::InvalidModel(format!("{what}: unknown builtin options 2 table {}", t.table))),
            }
        }
        let custom = o.custom_options.as_ref().map(|c| self.fbb.create_vector(c));
        let mvi = (!o.mutating_variable_inputs.is_empty()).then(|| self.fbb.create_vector(&o.mutating_variable_inputs));
        let inter = if o.intermediates.is_empty() {
            None
        } else {
            let v: Vec<i32> = o.intermediates.iter().map(|&x| x as i32).collect();
            Some(self.fbb.create_vector(&v))
        };
        let s = self.fbb.start_table();
        self.fbb.push_slot::<u32>(slot(0), opcode_index, 0);
        self.fbb.push_slot_always(slot(1), inputs);
        self.fbb.push_slot_always(slot(2), outputs);
        if let Some((ty, off)) = opt {
            self.fbb.push_slot::<u8>(slot(3), ty, 0);
            self.fbb.push_slot_always(slot(4), off);
        }
        if let Some(c) = custom {
            self.fbb.push_slot_always(slot(5), c);
        }
        self.fbb.push_slot::<i8>(slot(6), o.custom_options_format, 0);
        if let Some(m) = mvi {
            self.fbb.push_slot_always(slot(7), m);
        }
        if let Some(i) = inter {
            self.fbb.push_slot_always(slot(8), i);
        }
        if let Some((ty, off)) = opt2 {
            self.fbb.push_slot::<u8>(slot(11), ty, 0);
            self.fbb.push_slot_always(slot(12), off);
        }
        Ok(self.fbb.end_table(s))
    }
}

/// Operator codes in first-use order, deduplicated by (kind, version).
fn collect_opcodes(model: &Model) -> Vec<(OpKind, i32)> {
    let mut v: Vec<(OpKind, i32)> = Vec::new();
    for sg in &model.subgraphs {
        for o in &sg.ops {
            let k = (o.kind.clone(), o.version);
            if !v.contains(&k) {
                v.push(k);
            }
        }
    }
    v
}

fn build(model: &Model, external: Option<&[(u64, u64)]>) -> Result<Vec<u8>> {
    let mut w = Writer { fbb: FlatBufferBuilder::with_capacity(1024) };
    w.fbb.push(Align16([0; 16]));

    // Buffers first (largest data, aligned).
    let mut bufs = Vec::with_capacity(model.buffers.len());
    for (i, b) in model.buffers.iter().enumerate() {
        let data = match external {
            None if !b.data.is_empty() => Some(w.aligned_bytes(&b.data)),
            _ => None,
        };
        let s = w.fbb.start_table();
        if let Some(d) = data {
            w.fbb.push_slot_always(slot(0), d);
        }
        if let Some(ext) = external {
            let (off, size) = ext[i];
            if !b.data.is_empty() {
                w.fbb.push_slot_always::<u64>(slot(1), off);
                w.fbb.push_slot_always::<u64>(slot(2), size);
            }
        }
        bufs.push(w.fbb.end_table(s));
    }

    let opcodes = collect_opcodes(model);
    let mut oc_offs = Vec::with_capacity(opcodes.len());
    for (kind, version) in &opcodes {
        let (code, custom) = match kind {
            OpKind::Builtin(b) => (b.0, None),
            OpKind::Custom(name) => (BuiltinOp::CUSTOM.0, Some(w.string(name))),
        };
        let s = w.fbb.start_table();
        w.fbb.push_slot_always::<i8>(slot(0), code.min(BuiltinOp::PLACEHOLDER_FOR_GREATER_OP_CODES.0) as i8);
        if let Some(c) = custom {
            w.fbb.push_slot_always(slot(1), c);
        }
        w.fbb.push_slot_always::<i32>(slot(2), *version);
        w.fbb.push_slot::<i32>(slot(3), code, 0);
        oc_offs.push(w.fbb.end_table(s));
    }

    let mut sg_offs = Vec::with_capacity(model.subgraphs.len());
    for (si, sg) in model.subgraphs.iter().enumerate() {
        let mut t_offs = Vec::with_capacity(sg.tensors.len());
        for t in &sg.tensors {
            t_offs.push(w.tensor(t));
        }
        let mut o_offs = Vec::with_capacity(sg.ops.len());
        for (oi, o) in sg.ops.iter().enumerate() {
            let idx = opcodes.iter().position(|(k, v)| *k == o.kind && *v == o.version).unwrap_or(0);
            o_offs.push(w.op(o, idx as u32, &format!("subgraph {si} op {oi}"))?);
        }
        let tensors = w.fbb.create_vector(&t_offs);
        let ins: Vec<i32> = sg.inputs.iter().map(|&x| x as i32).collect();
        let outs: Vec<i32> = sg.outputs.iter().map(|&x| x as i32).collect();
        let ins = w.fbb.create_vector(&ins);
        let outs = w.fbb.create_vector(&outs);
        let ops = w.fbb.create_vector(&o_offs);
        let name = sg.name.as_ref().map(|n| w.string(n));
        let s = w.fbb.start_table();
        w.fbb.push_slot_always(slot(0), tensors);
        w.fbb.push_slot_always(slot(1), ins);
        w.fbb.push_slot_always(slot(2), outs);
        w.fbb.push_slot_always(slot(3), ops);
        if let Some(n) = name {
            w.fbb.push_slot_always(slot(4), n);
        }
        sg_offs.push(w.fbb.end_table(s));
    }

    let mut md_offs = Vec::new();
    for m in &model.metadata {
        let n = w.string(&m.name);
        let s = w.fbb.start_table();
        w.fbb.push_slot_always(slot(0), n);
        w.fbb.push_slot::<u32>(slot(1), m.buffer as u32, 0);
        md_offs.push(w.fbb.end_table(s));
    }

    let mut sig_offs = Vec::new();
    for sd in &model.signature_defs {
        let ins = w.tensor_maps(&sd.inputs);
        let outs = w.tensor_maps(&sd.outputs);
        let key = w.string(&sd.key);
        let s = w.fbb.start_table();
        w.fbb.push_slot_always(slot(0), ins);
        w.fbb.push_slot_always(slot(1), outs);
        w.fbb.push_slot_always(slot(2), key);
        w.fbb.push_slot::<u32>(slot(4), sd.subgraph as u32, 0);
        sig_offs.push(w.fbb.end_table(s));
    }

    let oc = w.fbb.create_vector(&oc_offs);
    let sgs = w.fbb.create_vector(&sg_offs);
    let desc = model.description.as_ref().map(|d| w.string(d));
    let bufs = w.fbb.create_vector(&bufs);
    let mdb = (!model.metadata_buffer.is_empty()).then(|| w.fbb.create_vector(&model.metadata_buffer));
    let mds = (!md_offs.is_empty()).then(|| w.fbb.create_vector(&md_offs));
    let sigs = (!sig_offs.is_empty()).then(|| w.fbb.create_vector(&sig_offs));
    let s = w.fbb.start_table();
    w.fbb.push_slot_always::<u32>(slot(0), 3);
    w.fbb.push_slot_always(slot(1), oc);
    w.fbb.push_slot_always(slot(2), sgs);
    if let Some(d) = desc {
        w.fbb.push_slot_always(slot(3), d);
    }
    w.fbb.push_slot_always(slot(4), bufs);
    if let Some(m) = mdb {
        w.fbb.push_slot_always(slot(5), m);
    }
    if let Some(m) = mds {
        w.fbb.push_slot_always(slot(6), m);
    }
    if let Some(sg) = sigs {
        w.fbb.push_slot_always(slot(7), sg);
    }
    let root = w.fbb.end_table(s);
    w.fbb.finish(root, Some("TFL3"));
    Ok(w.fbb.finished_data().to_vec())
}
