// A minimal read-only view of a .tflite flatbuffer, for the benchmark only:
// subgraph 0's input/output tensors (shape, shape_signature, dtype, quantization),
// and a copy of the file with a -1 batch in every shape_signature set to 1
// (LiteRT.js refuses a dynamic batch; the change is in place, same size).
//
// Field ids (TFLite schema): Model.subgraphs = 2; SubGraph.tensors = 0,
// inputs = 1, outputs = 2; Tensor.shape = 0, type = 1, name = 3,
// quantization = 4, shape_signature = 7; QuantizationParameters.scale = 2,
// zero_point = 3.

const TYPES = {
  0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 5: 'string', 6: 'bool',
  7: 'int16', 9: 'int8', 10: 'float64', 15: 'uint32', 16: 'uint16', 17: 'int4',
};

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  root() {
    return this.v.getUint32(0, true);
  }
  /** Absolute position of field `id` of the table at `t`, or 0 if absent. */
  field(t, id) {
    const vt = t - this.v.getInt32(t, true);
    const vtLen = this.v.getUint16(vt, true);
    const at = 4 + 2 * id;
    if (at >= vtLen) return 0;
    const off = this.v.getUint16(vt + at, true);
    return off ? t + off : 0;
  }
  /** [start, length] of the vector referenced by field `id`, or null. */
  vector(t, id) {
    const f = this.field(t, id);
    if (!f) return null;
    const p = f + this.v.getUint32(f, true);
    return [p + 4, this.v.getUint32(p, true)];
  }
  tables(t, id) {
    const vec = this.vector(t, id);
    if (!vec) return [];
    const out = [];
    for (let i = 0; i < vec[1]; i++) {
      const e = vec[0] + 4 * i;
      out.push(e + this.v.getUint32(e, true));
    }
    return out;
  }
  table(t, id) {
    const f = this.field(t, id);
    return f ? f + this.v.getUint32(f, true) : 0;
  }
  i32s(t, id) {
    const vec = this.vector(t, id);
    if (!vec) return null;
    return Array.from({ length: vec[1] }, (_, i) => this.v.getInt32(vec[0] + 4 * i, true));
  }
  f32s(t, id) {
    const vec = this.vector(t, id);
    if (!vec) return null;
    return Array.from({ length: vec[1] }, (_, i) => this.v.getFloat32(vec[0] + 4 * i, true));
  }
  i64s(t, id) {
    const vec = this.vector(t, id);
    if (!vec) return null;
    return Array.from({ length: vec[1] }, (_, i) => Number(this.v.getBigInt64(vec[0] + 8 * i, true)));
  }
  string(t, id) {
    const vec = this.vector(t, id);
    if (!vec) return '';
    return new TextDecoder().decode(this.b.subarray(vec[0], vec[0] + vec[1]));
  }
  i8(t, id, dflt) {
    const f = this.field(t, id);
    return f ? this.v.getInt8(f) : dflt;
  }
}

function tensorInfo(r, t) {
  const q = r.table(t, 4);
  const scale = q ? r.f32s(q, 2) : null;
  const zp = q ? r.i64s(q, 3) : null;
  return {
    name: r.string(t, 3),
    dtype: TYPES[r.i8(t, 1, 0)] ?? `type${r.i8(t, 1, 0)}`,
    shape: r.i32s(t, 0) ?? [],
    shapeSignature: r.i32s(t, 7),
    quant: scale && scale.length ? { scale: scale[0], zeroPoint: zp?.[0] ?? 0 } : null,
  };
}

/** Inputs and outputs of subgraph 0, and whether any tensor has a -1 batch signature. */
export function describeTflite(bytes) {
  const r = new Reader(bytes);
  const model = r.root();
  const sgs = r.tables(model, 2);
  if (!sgs.length) throw new Error('no subgraph');
  const sg = sgs[0];
  const tensors = r.tables(sg, 0);
  const inputs = (r.i32s(sg, 1) ?? []).map((i) => tensorInfo(r, tensors[i]));
  const outputs = (r.i32s(sg, 2) ?? []).map((i) => tensorInfo(r, tensors[i]));
  let dynamicBatch = false;
  for (const s of sgs) {
    for (const t of r.tables(s, 0)) {
      const sig = r.i32s(t, 7);
      if (sig && sig[0] === -1) dynamicBatch = true;
    }
  }
  return { inputs, outputs, dynamicBatch };
}

/** A copy of the file where every shape_signature that starts with -1 starts with 1. */
export function fixBatch(bytes) {
  const out = new Uint8Array(bytes);
  const r = new Reader(out);
  let changed = 0;
  for (const s of r.tables(r.root(), 2)) {
    for (const t of r.tables(s, 0)) {
      const vec = r.vector(t, 7);
      if (vec && vec[1] > 0 && r.v.getInt32(vec[0], true) === -1) {
        r.v.setInt32(vec[0], 1, true);
        changed++;
      }
    }
  }
  return { bytes: out, changed };
}
