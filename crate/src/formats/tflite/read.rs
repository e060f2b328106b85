//! `.tflite` bytes -> `ir::Model`. Every index is validated here, so the rest
//! of the core can index the model without checks.

use super::fb::Table;
use super::options_schema::{builtin_options, builtin_options_2, FieldKind, OptionsDef};
use crate::error::{Error, Result};
use crate::ir::*;

fn bad<T>(msg: String) -> Result<T> {
    Err(Error::InvalidModel(msg))
}

/// Parse a TFLite flatbuffer.
pub fn read(buf: &[u8]) -> Result<Model> {
    if buf.len() < 8 {
        return bad(format!("file is too small to be a TFLite model ({} bytes)", buf.len()));
    }
    let root = Table::root(buf)?;
    let version: u32 = root.scalar(0, 0, "model.version")?;
    if version != 3 {
        return bad(format!("unsupported TFLite schema version {version} (expected 3)"));
    }

    // Operator codes.
    let mut opcodes = Vec::new();
    for (i, oc) in root.tables(1, "operator_codes")?.iter().enumerate() {
        let w = format!("operator_codes[{i}]");
        let deprecated: i8 = oc.scalar(0, 0, &w)?;
        let custom = oc.string(1, &w)?;
        let version: i32 = oc.scalar(2, 1, &w)?;
        let builtin: i32 = oc.scalar(3, 0, &w)?;
        // Files written before `builtin_code` existed only carry the byte.
        let code = if builtin == 0 && deprecated != 0 { deprecated as i32 } else { builtin.max(deprecated as i32) };
        let kind = if code == BuiltinOp::CUSTOM.0 {
            OpKind::Custom(custom.unwrap_or_default())
        } else {
            OpKind::Builtin(BuiltinOp(code))
        };
        opcodes.push((kind, version));
    }

    // Buffers (possibly stored outside the flatbuffer by offset/size).
    let mut buffers = Vec::new();
    for (i, b) in root.tables(4, "buffers")?.iter().enumerate() {
        let w = format!("buffers[{i}]");
        let offset: u64 = b.scalar(1, 0, &w)?;
        let size: u64 = b.scalar(2, 0, &w)?;
        let data = if offset > 1 {
            let end = offset.checked_add(size).filter(|&e| e <= buf.len() as u64);
            match end {
                Some(e) => buf[offset as usize..e as usize].to_vec(),
                None => return bad(format!("{w}: external data at offset {offset} size {size} is outside the file")),
            }
        } else {
            b.bytes(0, &w)?.map(|s| s.to_vec()).unwrap_or_default()
        };
        buffers.push(Buffer { data });
    }
    if buffers.is_empty() {
        buffers.push(Buffer::default());
    }

    let sg_tables = root.tables(2, "subgraphs")?;
    if sg_tables.is_empty() {
        return bad("model has no subgraphs".into());
    }
    let mut subgraphs = Vec::with_capacity(sg_tables.len());
    for (si, sg) in sg_tables.iter().enumerate() {
        subgraphs.push(read_subgraph(buf, si, sg, &opcodes, buffers.len())?);
    }

    let description = root.string(3, "description")?;
    let metadata_buffer = root.scalars::<i32>(5, "metadata_buffer")?.unwrap_or_default();
    let mut metadata = Vec::new();
    for (i, m) in root.tables(6, "metadata")?.iter().enumerate() {
        let w = format!("metadata[{i}]");
        let name = m.string(0, &w)?.unwrap_or_default();
        let b: u32 = m.scalar(1, 0, &w)?;
        if b as usize >= buffers.len() {
            return bad(format!("{w} ({name}): buffer index {b} out of range ({} buffers)", buffers.len()));
        }
        metadata.push(Metadata { name, buffer: b as usize });
    }
    let mut signature_defs = Vec::new();
    for (i, s) in root.tables(7, "signature_defs")?.iter().enumerate() {
        let w = format!("signature_defs[{i}]");
        let key = s.string(2, &w)?.unwrap_or_default();
        let sgi: u32 = s.scalar(4, 0, &w)?;
        let Some(sg) = subgraphs.get(sgi as usize) else {
            return bad(format!("{w} ({key}): subgraph index {sgi} out of range"));
        };
        let ntensors = sg.tensors.len();
        let maps = |id: u16, side: &str| -> Result<Vec<SignatureTensor>> {
            let mut v = Vec::new();
            for (j, t) in s.tables(id, &format!("{w}.{side}"))?.iter().enumerate() {
                let ww = format!("{w}.{side}[{j}]");
                let name = t.string(0, &ww)?.unwrap_or_default();
                let ti: u32 = t.scalar(1, 0, &ww)?;
                if ti as usize >= ntensors {
                    return bad(format!("{ww} ({name}): tensor index {ti} out of range"));
                }
                v.push(SignatureTensor { name, tensor: ti as usize });
            }
            Ok(v)
        };
        let inputs = maps(0, "inputs")?;
        let outputs = maps(1, "outputs")?;
        signature_defs.push(SignatureDef { key, subgraph: sgi as usize, inputs, outputs });
    }

    Ok(Model { version, description, subgraphs, buffers, metadata, metadata_buffer, signature_defs })
}

fn tensor_index(i: i32, n: usize, what: &str) -> Result<usize> {
    if i < 0 || i as usize >= n {
        return bad(format!("{what}: tensor index {i} out of range ({n} tensors)"));
    }
    Ok(i as usize)
}

fn read_subgraph(
    buf: &[u8],
    si: usize,
    sg: &Table,
    opcodes: &[(OpKind, i32)],
    nbuffers: usize,
) -> Result<Subgraph> {
    let w = format!("subgraph {si}");
    let mut tensors = Vec::new();
    for (ti, t) in sg.tables(0, &format!("{w}.tensors"))?.iter().enumerate() {
        tensors.push(read_tensor(t, &format!("{w} tensor {ti}"), nbuffers)?);
    }
    let n = tensors.len();
    let idx_list = |id: u16, what: &str| -> Result<Vec<usize>> {
        let v = sg.scalars::<i32>(id, what)?.unwrap_or_default();
        v.into_iter().map(|i| tensor_index(i, n, what)).collect()
    };
    let inputs = idx_list(1, &format!("{w} inputs"))?;
    let outputs = idx_list(2, &format!("{w} outputs"))?;
    let mut ops = Vec::new();
    for (oi, o) in sg.tables(3, &format!("{w}.operators"))?.iter().enumerate() {
        ops.push(read_op(buf, o, &format!("{w} op {oi}"), opcodes, n)?);
    }
    let name = sg.string(4, &format!("{w}.name"))?;
    Ok(Subgraph { name, tensors, inputs, outputs, ops })
}

fn read_tensor(t: &Table, w: &str, nbuffers: usize) -> Result<Tensor> {
    let shape = t.scalars::<i32>(0, w)?.unwrap_or_default();
    let code: i8 = t.scalar(1, 0, w)?;
    let name = t.string(3, w)?.unwrap_or_default();
    let w = &format!("{w} ({name})");
    let Some(dtype) = DType::from_tflite_code(code) else {
        return bad(format!("{w}: unknown tensor type code {code}"));
    };
    if shape.iter().any(|&d| d < -1) {
        return bad(format!("{w}: invalid shape {shape:?}"));
    }
    let buffer: u32 = t.scalar(2, 0, w)?;
    if buffer as usize >= nbuffers {
        return bad(format!("{w}: buffer index {buffer} out of range ({nbuffers} buffers)"));
    }
    let quant = match t.table(4, w)? {
        None => None,
        Some(q) => Some(read_quant(&q, w)?),
    };
    let is_variable: bool = t.scalar(5, false, w)?;
    let sparsity = match t.table(6, w)? {
        None => None,
        Some(s) => Some(read_sparsity(&s, w)?),
    };
    let shape_signature = t.scalars::<i32>(7, w)?;
    let has_rank: bool = t.scalar(8, false, w)?;
    let mut variant_tensors = Vec::new();
    for v in t.tables(9, w)? {
        let c: i8 = v.scalar(1, 0, w)?;
        variant_tensors.push(VariantSubType {
            shape: v.scalars::<i32>(0, w)?.unwrap_or_default(),
            dtype: DType::from_tflite_code(c).ok_or_else(|| Error::InvalidModel(format!("{w}: bad variant type {c}")))?,
            has_rank: v.scalar(2, false, w)?,
        });
    }
    Ok(Tensor {
        name,
        dtype,
        shape,
        shape_signature,
        buffer: buffer as usize,
        quant,
        sparsity,
        is_variable,
        has_rank,
        variant_tensors,
    })
}

fn read_quant(q: &Table, w: &str) -> Result<QuantParams> {
    let w = &format!("{w} quantization");
    let custom = match q.scalar::<u8>(4, 0, w)? {
        1 => match q.table(5, w)? {
            Some(c) => Some(c.bytes(0, w)?.map(|b| b.to_vec()).unwrap_or_default()),
            None => None,
        },
        _ => None,
    };
    Ok(QuantParams {
        min: q.scalars::<f32>(0, w)?.unwrap_or_default(),
        max: q.scalars::<f32>(1, w)?.unwrap_or_default(),
        scale: q.scalars::<f32>(2, w)?.unwrap_or_default(),
        zero_point: q.scalars::<i64>(3, w)?.unwrap_or_default(),
        quantized_dimension: q.scalar(6, 0, w)?,
        custom,
    })
}

fn read_sparse_index(d: &Table, type_id: u16, w: &str) -> Result<Option<SparseIndex>> {
    let ty: u8 = d.scalar(type_id, 0, w)?;
    let Some(v) = d.table(type_id + 1, w)? else { return Ok(None) };
    Ok(Some(match ty {
        1 => SparseIndex::I32(v.scalars::<i32>(0, w)?.unwrap_or_default()),
        2 => SparseIndex::U16(v.scalars::<u16>(0, w)?.unwrap_or_default()),
        3 => SparseIndex::U8(v.scalars::<u8>(0, w)?.unwrap_or_default()),
        t => return bad(format!("{w}: unknown sparse index vector type {t}")),
    }))
}

fn read_sparsity(s: &Table, w: &str) -> Result<Sparsity> {
    let w = &format!("{w} sparsity");
    let mut dim_metadata = Vec::new();
    for d in s.tables(2, w)? {
        let format: i8 = d.scalar(0, 0, w)?;
        dim_metadata.push(match format {
            0 => DimMetadata::Dense { size: d.scalar(1, 0, w)? },
            1 => DimMetadata::SparseCsr { segments: read_sparse_index(&d, 2, w)?, indices: read_sparse_index(&d, 4, w)? },
            f => return bad(format!("{w}: unknown dimension format {f}")),
        });
    }
    Ok(Sparsity {
        traversal_order: s.scalars::<i32>(0, w)?.unwrap_or_default(),
        block_map: s.scalars::<i32>(1, w)?,
        dim_metadata,
    })
}

/// Read an options table into named attributes using its field descriptions.
fn read_options(t: &Table, def: &OptionsDef, w: &str) -> Result<OptionsTable> {
    let mut out = OptionsTable::new(def.name);
    for f in def.fields {
        let w = &format!("{w} {}.{}", def.name, f.name);
        let d = f.default;
        let v = match f.kind {
            FieldKind::Bool => AttrValue::Bool(t.scalar::<bool>(f.id, d != 0.0, w)?),
            FieldKind::I8 => AttrValue::Int(t.scalar::<i8>(f.id, d as i8, w)? as i64),
            FieldKind::U8 => AttrValue::Int(t.scalar::<u8>(f.id, d as u8, w)? as i64),
            FieldKind::I16 => AttrValue::Int(t.scalar::<i16>(f.id, d as i16, w)? as i64),
            FieldKind::U16 => AttrValue::Int(t.scalar::<u16>(f.id, d as u16, w)? as i64),
            FieldKind::I32 => AttrValue::Int(t.scalar::<i32>(f.id, d as i32, w)? as i64),
            FieldKind::U32 => AttrValue::Int(t.scalar::<u32>(f.id, d as u32, w)? as i64),
            FieldKind::I64 => AttrValue::Int(t.scalar::<i64>(f.id, d as i64, w)?),
            FieldKind::U64 => AttrValue::Int(t.scalar::<u64>(f.id, d as u64, w)? as i64),
            FieldKind::F32 => AttrValue::Float(t.scalar::<f32>(f.id, d as f32, w)? as f64),
            FieldKind::F64 => AttrValue::Float(t.scalar::<f64>(f.id, d, w)?),
            FieldKind::Str => match t.string(f.id, w)? {
                Some(s) => AttrValue::Str(s),
                None => continue,
            },
            FieldKind::VecU8 => match t.bytes(f.id, w)? {
                Some(b) => AttrValue::Bytes(b.to_vec()),
                None => continue,
            },
            FieldKind::VecBool => match t.scalars::<bool>(f.id, w)? {
                Some(b) => AttrValue::Bools(b),
                None => continue,
            },
            FieldKind::VecI32 => match t.scalars::<i32>(f.id, w)? {
                Some(v) => AttrValue::Ints(v.into_iter().map(|x| x as i64).collect()),
                None => continue,
            },
            FieldKind::VecI64 => match t.scalars::<i64>(f.id, w)? {
                Some(v) => AttrValue::Ints(v),
                None => continue,
            },
            FieldKind::VecU32 => match t.scalars::<u32>(f.id, w)? {
                Some(v) => AttrValue::Ints(v.into_iter().map(|x| x as i64).collect()),
                None => continue,
            },
            FieldKind::VecF32 => match t.scalars::<f32>(f.id, w)? {
                Some(v) => AttrValue::Floats(v),
                None => continue,
            },
        };
        out.attrs.insert(f.name.to_string(), v);
    }
    Ok(out)
}

fn read_op(buf: &[u8], o: &Table, w: &str, opcodes: &[(OpKind, i32)], n: usize) -> Result<Op> {
    let oc: u32 = o.scalar(0, 0, w)?;
    let Some((kind, version)) = opcodes.get(oc as usize).cloned() else {
        return bad(format!("{w}: opcode index {oc} out of range ({} operator codes)", opcodes.len()));
    };
    let w = &format!("{w} ({})", kind.name());
    let inputs = o
        .scalars::<i32>(1, w)?
        .unwrap_or_default()
        .into_iter()
        .map(|i| if i < 0 { Ok(None) } else { tensor_index(i, n, &format!("{w} input")).map(Some) })
        .collect::<Result<Vec<_>>>()?;
    let outputs = o
        .scalars::<i32>(2, w)?
        .unwrap_or_default()
        .into_iter()
        .map(|i| tensor_index(i, n, &format!("{w} output")))
        .collect::<Result<Vec<_>>>()?;
    let intermediates = o
        .scalars::<i32>(8, w)?
        .unwrap_or_default()
        .into_iter()
        .map(|i| tensor_index(i, n, &format!("{w} intermediate")))
        .collect::<Result<Vec<_>>>()?;

    let opt_type: u8 = o.scalar(3, 0, w)?;
    let options = if opt_type == 0 {
        None
    } else {
        let Some(def) = builtin_options(opt_type) else {
            return bad(format!("{w}: unknown builtin options type {opt_type}"));
        };
        match o.table(4, w)? {
            Some(t) => Some(read_options(&t, def, w)?),
            None => Some(OptionsTable::new(def.name)),
        }
    };
    let opt2_type: u8 = o.scalar(11, 0, w)?;
    let options2 = if opt2_type == 0 {
        None
    } else {
        let Some(def) = builtin_options_2(opt2_type) else {
            return bad(format!("{w}: unknown builtin options 2 type {opt2_type}"));
        };
        match o.table(12, w)? {
            Some(t) => Some(read_options(&t, def, w)?),
            None => Some(OptionsTable::new(def.name)),
        }
    };

    let large_off: u64 = o.scalar(9, 0, w)?;
    let large_size: u64 = o.scalar(10, 0, w)?;
    let custom_options = if large_off > 1 {
        let end = large_off.checked_add(large_size).filter(|&e| e <= buf.len() as u64);
        match end {
            Some(e) => Some(buf[large_off as usize..e as usize].to_vec()),
            None => return bad(format!("{w}: large custom options at {large_off} size {large_size} outside the file")),
        }
    } else {
        o.bytes(5, w)?.map(|b| b.to_vec())
    };
    let custom_options_format: i8 = o.scalar(6, 0, w)?;
    let mutating_variable_inputs = o.scalars::<bool>(7, w)?.unwrap_or_default();
    Ok(Op {
        kind,
        version,
        inputs,
        outputs,
        intermediates,
        options,
        options2,
        custom_options,
        custom_options_format,
        mutating_variable_inputs,
    })
}

/// Does this look like a TFLite flatbuffer (file identifier "TFL3")?
pub fn has_identifier(buf: &[u8]) -> bool {
    buf.len() >= 8 && &buf[4..8] == b"TFL3"
}

