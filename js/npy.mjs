// NumPy .npy read/write in plain JS (no dependencies; works in Node and browsers).
//
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   magic "\x93NUMPY", major, minor, header length (u16 LE for v1, u32 LE for
//   v2/v3), header (a Python dict literal: descr, fortran_order, shape), data.
// Supported: little-endian (or byte-order-free) f2/f4/f8, i1/i2/i4/i8, u1/u2/u4/u8,
// b1, C order. Fortran order, big-endian data, structured and object dtypes are
// rejected with an error saying so.

import { ModelpressError } from './errors.mjs';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** dtype name -> { kind/size code, TypedArray, descr written } */
const DTYPES = {
  float16: { code: 'f2', Array: Uint16Array, descr: '<f2' }, // raw IEEE half bits
  float32: { code: 'f4', Array: Float32Array, descr: '<f4' },
  float64: { code: 'f8', Array: Float64Array, descr: '<f8' },
  int8: { code: 'i1', Array: Int8Array, descr: '|i1' },
  int16: { code: 'i2', Array: Int16Array, descr: '<i2' },
  int32: { code: 'i4', Array: Int32Array, descr: '<i4' },
  int64: { code: 'i8', Array: BigInt64Array, descr: '<i8' },
  uint8: { code: 'u1', Array: Uint8Array, descr: '|u1' },
  uint16: { code: 'u2', Array: Uint16Array, descr: '<u2' },
  uint32: { code: 'u4', Array: Uint32Array, descr: '<u4' },
  uint64: { code: 'u8', Array: BigUint64Array, descr: '<u8' },
  bool: { code: 'b1', Array: Uint8Array, descr: '|b1' },
};
const BY_CODE = Object.fromEntries(Object.entries(DTYPES).map(([name, d]) => [d.code, name]));

/** The dtype names this module reads and writes. */
export const NPY_DTYPES = Object.freeze(Object.keys(DTYPES));

/** The TypedArray constructor used for a dtype name ('float32' -> Float32Array). */
export function typedArrayFor(dtype) {
  const d = DTYPES[dtype];
  if (!d) throw npyError(`unsupported dtype '${dtype}'`);
  return d.Array;
}

/** The default dtype name of a TypedArray (Uint16Array -> 'uint16'; pass dtype to say 'float16'). */
export function dtypeOfArray(data) {
  const C = data?.constructor;
  if (C === Uint8ClampedArray) return 'uint8';
  for (const name of ['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']) {
    if (DTYPES[name].Array === C) return name;
  }
  throw npyError(`data must be a TypedArray, got ${C?.name ?? typeof data}`);
}

function npyError(msg) {
  return new ModelpressError('BAD_NPY', msg);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Parse the header dict. It is a Python literal; numpy writes
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
 * We parse a small subset of Python literals: dict, tuple, list, str, int, True/False/None.
 */
export function parseHeader(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const fail = (what) => {
    throw npyError(`bad .npy header (${what} at offset ${i}): ${JSON.stringify(text.trim().slice(0, 200))}`);
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = {};
      for (;;) {
        ws();
        if (text[i] === '}') { i++; return obj; }
        const k = value();
        if (typeof k !== 'string') fail('dict key is not a string');
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        obj[k] = value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail("expected ',' or '}'");
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const arr = [];
      for (;;) {
        ws();
        if (text[i] === close) { i++; return arr; }
        arr.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; return arr; }
        fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const q = c;
      i++;
      let s = '';
      while (i < text.length && text[i] !== q) {
        if (text[i] === '\\') { s += text[i + 1] ?? ''; i += 2; } else { s += text[i++]; }
      }
      if (text[i] !== q) fail('unterminated string');
      i++;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)\b/.exec(text.slice(i));
    if (!m) fail('unexpected token');
    i += m[0].length;
    if (m[1] !== undefined) return Number(m[1]);
    return m[2] === 'True' ? true : m[2] === 'False' ? false : null;
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('header is not a dict');
  return v;
}

function parseDescr(descr) {
  if (typeof descr !== 'string') {
    throw npyError(`structured or compound dtypes are not supported (descr ${JSON.stringify(descr)})`);
  }
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) throw npyError(`unsupported dtype descr '${descr}'`);
  const [, order, kind, size] = m;
  const code = `${kind}${size}`;
  const name = BY_CODE[code];
  if (!name) {
    const hint = kind === 'O' ? ' (object arrays are not supported)' : kind === 'U' || kind === 'S' ? ' (string arrays are not supported)' : kind === 'c' ? ' (complex arrays are not supported)' : '';
    throw npyError(`unsupported dtype '${descr}'${hint}`);
  }
  if (order === '>' && Number(size) > 1) {
    throw npyError(`big-endian data is not supported (dtype '${descr}'); save it little-endian, e.g. arr.astype('<${code}')`);
  }
  return name;
}

/**
 * Read a .npy file.
 * @param {Uint8Array|ArrayBuffer} bytes
 * @returns {{dtype: string, shape: number[], data: TypedArray}}
 */
export function readNpy(bytes) {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  else if (ArrayBuffer.isView(bytes)) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  else throw npyError('readNpy expects a Uint8Array or ArrayBuffer');
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b)) {
    throw npyError(bytes.length === 0 ? 'the file is empty, not a .npy array' : 'not a .npy file (the magic "\\x93NUMPY" is missing)');
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen;
  let start;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw npyError('truncated .npy header');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw npyError(`unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (start + headerLen > bytes.length) throw npyError('truncated .npy header');
  const headerBytes = bytes.subarray(start, start + headerLen);
  const text = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(headerBytes) : new TextDecoder('latin1').decode(headerBytes);
  const header = parseHeader(text);
  for (const k of ['descr', 'fortran_order', 'shape']) {
    if (!(k in header)) throw npyError(`bad .npy header: missing '${k}'`);
  }
  const dtype = parseDescr(header.descr);
  if (header.fortran_order === true) {
    throw npyError("Fortran-order arrays are not supported; save a C-order array (np.ascontiguousarray(arr))");
  }
  if (header.fortran_order !== false) throw npyError('bad .npy header: fortran_order must be True or False');
  const shape = header.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw npyError(`bad .npy header: shape must be a tuple of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const { Array: TA } = DTYPES[dtype];
  const off = start + headerLen;
  const nbytes = count * TA.BYTES_PER_ELEMENT;
  if (!Number.isSafeInteger(nbytes) || off + nbytes > bytes.length) {
    throw npyError(`truncated .npy data: shape (${shape.join(', ')}) of ${dtype} needs ${nbytes} bytes, the file has ${bytes.length - off}`);
  }
  if (!LITTLE_ENDIAN_HOST && TA.BYTES_PER_ELEMENT > 1) throw npyError('big-endian hosts are not supported');
  // Copy: the data offset need not be aligned for the element size.
  const data = new TA(bytes.slice(off, off + nbytes).buffer);
  return { dtype, shape: [...shape], data };
}

function pyShape(shape) {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/**
 * Write a .npy file (format 1.0, or 2.0 when the header does not fit).
 * The header matches numpy's own byte for byte (64-byte alignment).
 * @param {{data: TypedArray, shape: number[], dtype?: string}} arr
 *   dtype defaults from the TypedArray; pass 'bool' for a Uint8Array of 0/1
 *   or 'float16' for a Uint16Array of half bits.
 * @returns {Uint8Array}
 */
export function writeNpy({ data, shape, dtype }) {
  dtype ??= dtypeOfArray(data);
  const d = DTYPES[dtype];
  if (!d) throw npyError(`unsupported dtype '${dtype}'`);
  if (!(data instanceof d.Array) && !(dtype === 'uint8' && data instanceof Uint8ClampedArray)) {
    throw npyError(`dtype ${dtype} needs a ${d.Array.name}, got ${data?.constructor?.name}`);
  }
  if (!Array.isArray(shape) || !shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw npyError(`shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw npyError(`shape [${shape.join(', ')}] has ${count} elements, data has ${data.length}`);
  if (!LITTLE_ENDIAN_HOST && d.Array.BYTES_PER_ELEMENT > 1) throw npyError('big-endian hosts are not supported');
  const dict = `{'descr': '${d.descr}', 'fortran_order': False, 'shape': ${pyShape(shape)}, }`;
  let major = 1;
  let pre = 10;
  // numpy pads with spaces so that magic + length + header (+ '\n') is a multiple of 64.
  let total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  if (total - pre > 0xffff) {
    major = 2;
    pre = 12;
    total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - pre;
  const header = dict + ' '.repeat(headerLen - dict.length - 1) + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  for (let k = 0; k < header.length; k++) out[pre + k] = header.charCodeAt(k);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

// ------------------------------------------------------------------ .npz

const u16 = (b, o) => b[o] | (b[o + 1] << 8);
const u32 = (b, o) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;

/**
 * Read a NumPy .npz (a zip of .npy files, as np.savez / np.savez_compressed write).
 * Stored entries are read directly; deflated ones need `inflateRaw(Uint8Array) -> Uint8Array`
 * (Node: zlib.inflateRawSync).
 * @returns {Map<string, {dtype, shape, data}>} keyed by entry name without ".npy"
 */
export function readNpz(bytes, { inflateRaw } = {}) {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  else if (ArrayBuffer.isView(bytes)) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 22 || u32(bytes, 0) !== 0x04034b50) throw npyError('not a .npz file (no zip header)');
  // End of central directory: the last "PK\x05\x06" within the final 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (u32(bytes, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw npyError('truncated .npz file (no zip directory)');
  const count = u16(bytes, eocd + 10);
  let p = u32(bytes, eocd + 16);
  if (count === 0xffff || p === 0xffffffff) throw npyError('ZIP64 .npz files are not supported');
  const out = new Map();
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || u32(bytes, p) !== 0x02014b50) throw npyError('corrupt .npz directory');
    const method = u16(bytes, p + 10);
    const csize = u32(bytes, p + 20);
    const nameLen = u16(bytes, p + 28);
    const extraLen = u16(bytes, p + 30);
    const commentLen = u16(bytes, p + 32);
    const local = u32(bytes, p + 42);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    if (csize === 0xffffffff || local === 0xffffffff) throw npyError('ZIP64 .npz files are not supported');
    if (local + 30 > bytes.length || u32(bytes, local) !== 0x04034b50) throw npyError(`corrupt .npz entry ${name}`);
    const start = local + 30 + u16(bytes, local + 26) + u16(bytes, local + 28);
    if (start + csize > bytes.length) throw npyError(`truncated .npz entry ${name}`);
    let data = bytes.subarray(start, start + csize);
    if (method === 8) {
      if (!inflateRaw) throw npyError(`.npz entry ${name} is compressed and no inflate function was given`);
      data = new Uint8Array(inflateRaw(data));
    } else if (method !== 0) {
      throw npyError(`.npz entry ${name} uses zip compression method ${method}; only stored and deflate are supported`);
    }
    let arr;
    try {
      arr = readNpy(data);
    } catch (e) {
      throw npyError(`.npz entry ${name}: ${e.message}`);
    }
    out.set(name.replace(/\.npy$/, ''), arr);
  }
  return out;
}

let crcTable;
function crc32(b) {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Write an uncompressed .npz (like np.savez).
 * @param {Map<string, {data, shape, dtype?}>|Object<string, {data, shape, dtype?}>} arrays
 * @returns {Uint8Array}
 */
export function writeNpz(arrays) {
  const entries = [...(arrays instanceof Map ? arrays : Object.entries(arrays))].map(([k, a]) => [new TextEncoder().encode(`${k}.npy`), writeNpy(a)]);
  const parts = [];
  const dir = [];
  let off = 0;
  for (const [name, data] of entries) {
    const crc = crc32(data);
    const h = new Uint8Array(30 + name.length);
    const dv = new DataView(h.buffer);
    dv.setUint32(0, 0x04034b50, true);
    dv.setUint16(4, 20, true);
    dv.setUint32(14, crc, true);
    dv.setUint32(18, data.length, true);
    dv.setUint32(22, data.length, true);
    dv.setUint16(26, name.length, true);
    h.set(name, 30);
    const c = new Uint8Array(46 + name.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, off, true);
    c.set(name, 46);
    parts.push(h, data);
    dir.push(c);
    off += h.length + data.length;
  }
  const dirLen = dir.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, dirLen, true);
  ev.setUint32(16, off, true);
  const all = [...parts, ...dir, end];
  const out = new Uint8Array(all.reduce((a, c) => a + c.length, 0));
  let q = 0;
  for (const c of all) {
    out.set(c, q);
    q += c.length;
  }
  return out;
}
