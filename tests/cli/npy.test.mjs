// Unit tests of js/npy.mjs: round trips, numpy's own files, header versions, rejections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readNpy, writeNpy, parseHeader, NPY_DTYPES, typedArrayFor } from '../../js/npy.mjs';
import { FIXTURES } from './helpers.mjs';

function sample(dtype, n) {
  const A = typedArrayFor(dtype);
  const a = new A(n);
  for (let i = 0; i < n; i++) {
    if (A === BigInt64Array) a[i] = BigInt(i * 1_000_000_007 - 3) * (i % 2 ? -1n : 1n);
    else if (A === BigUint64Array) a[i] = BigInt(i) * 0xfffffffffffn;
    else if (dtype === 'bool') a[i] = i % 3 === 0 ? 1 : 0;
    else if (A === Float32Array || A === Float64Array) a[i] = (i - n / 2) * 0.37 + (i === 1 ? Number.EPSILON : 0);
    else a[i] = i * 37 - 50;
  }
  return a;
}

/** Build a .npy by hand with a given version and header text. */
function handMade(major, header, data) {
  const pre = major === 1 ? 10 : 12;
  const enc = major === 3 ? new TextEncoder().encode(header) : Uint8Array.from(header, (c) => c.charCodeAt(0));
  const out = new Uint8Array(pre + enc.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, enc.length, true);
  else dv.setUint32(8, enc.length, true);
  out.set(enc, pre);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pre + enc.length);
  return out;
}

test('round trip of every dtype and several shapes', () => {
  for (const dtype of NPY_DTYPES) {
    for (const shape of [[], [0], [1], [7], [2, 3], [2, 3, 4], [1, 1, 5, 1]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = sample(dtype, n);
      const bytes = writeNpy({ data, shape, dtype });
      assert.equal((bytes.length - data.byteLength) % 64, 0, 'header is 64-byte aligned');
      const back = readNpy(bytes);
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.shape, shape);
      assert.equal(back.data.constructor, data.constructor);
      assert.deepEqual(Array.from(back.data), Array.from(data), `${dtype} ${shape}`);
    }
  }
});

test('dtype is inferred from the TypedArray', () => {
  const r = readNpy(writeNpy({ data: new Int16Array([1, -2, 3]), shape: [3] }));
  assert.equal(r.dtype, 'int16');
  assert.equal(readNpy(writeNpy({ data: new Float64Array(4), shape: [2, 2] })).dtype, 'float64');
});

test('special float values survive', () => {
  const data = new Float32Array([NaN, Infinity, -Infinity, -0, 1e-45, 3.4e38]);
  const back = readNpy(writeNpy({ data, shape: [6] })).data;
  assert.ok(Number.isNaN(back[0]));
  assert.deepEqual(Array.from(back.slice(1)), Array.from(data.slice(1)));
  assert.ok(Object.is(back[3], -0));
});

test('numpy-written fixture files read, and rewrite byte for byte', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.npy'));
  if (files.length === 0) return; // fixtures not generated yet; the round trips above still ran
  for (const f of files) {
    const orig = readFileSync(path.join(FIXTURES, f));
    const arr = readNpy(orig);
    assert.ok(arr.shape.length >= 0);
    const again = writeNpy(arr);
    assert.deepEqual(Buffer.from(again), orig, `${f} rewrites identically`);
  }
});

test('version 2 and 3 headers, unaligned data, Python literal variants', () => {
  const data = new Float32Array([1.5, -2.25, 3]);
  const v2 = handMade(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", data);
  assert.deepEqual(Array.from(readNpy(v2).data), [1.5, -2.25, 3]);
  // v3: utf-8 header; odd header length puts the data at an unaligned offset
  const v3 = handMade(3, '{"shape": (3,), "fortran_order": False, "descr": "<f4", "note": "caf\u00e9"}\n', data);
  assert.deepEqual(Array.from(readNpy(v3).data), [1.5, -2.25, 3]);
  const odd = handMade(1, "{'descr':'<f4','fortran_order':False,'shape':(3,)}\n", data);
  assert.equal((odd.length - 12) % 4 !== 0, true);
  assert.deepEqual(Array.from(readNpy(odd).data), [1.5, -2.25, 3]);
  // '=' and '|' byte orders, long ints with L suffix (old numpy)
  const i8 = handMade(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2L, 1L), }\n", new Int8Array([-1, 2]));
  assert.deepEqual(readNpy(i8).shape, [2, 1]);
  // a big-endian descr for a single byte type is fine
  const u8 = handMade(1, "{'descr': '>u1', 'fortran_order': False, 'shape': (2,), }\n", new Uint8Array([7, 8]));
  assert.deepEqual(Array.from(readNpy(u8).data), [7, 8]);
  // scalars
  const sc = handMade(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", new Float64Array([2.5]));
  assert.deepEqual(readNpy(sc).shape, []);
  assert.equal(readNpy(sc).data[0], 2.5);
  // ArrayBuffer input and a Buffer with a byteOffset
  assert.equal(readNpy(v2.buffer).data.length, 3);
  const padded = Buffer.concat([Buffer.alloc(5), Buffer.from(v2)]).subarray(5);
  assert.equal(readNpy(padded).data[1], -2.25);
});

test('writer switches to format 2.0 when the header does not fit in 64 KiB', () => {
  const shape = new Array(30000).fill(1);
  const bytes = writeNpy({ data: new Uint8Array([9]), shape });
  assert.equal(bytes[6], 2);
  const r = readNpy(bytes);
  assert.equal(r.shape.length, 30000);
  assert.equal(r.data[0], 9);
});

test('rejections have clear messages', () => {
  const f4 = new Float32Array([1, 2]);
  const cases = [
    [handMade(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", f4), /Fortran/],
    [handMade(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", f4), /big-endian/],
    [handMade(1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }\n", new BigInt64Array(1)), /big-endian/],
    [handMade(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", f4), /structured/],
    [handMade(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", f4), /object/],
    [handMade(1, "{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }\n", f4), /string/],
    [handMade(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", f4), /complex/],
    [handMade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", f4), /truncated/],
    [handMade(1, "{'descr': '<f4', 'fortran_order': False, }\n", f4), /missing 'shape'/],
    [handMade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", f4), /non-negative/],
    [handMade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) \n", f4), /bad \.npy header/],
    [handMade(4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", f4), /version 4/],
    [new Uint8Array(0), /empty/],
    [new TextEncoder().encode('hello, this is not numpy'), /not a \.npy file/],
    [Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0x00]), /truncated/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => readNpy(bytes), (e) => e.code === 'BAD_NPY' && re.test(e.message), `expected ${re}`);
  }
  assert.throws(() => writeNpy({ data: new Float32Array(3), shape: [2, 2] }), /4 elements/);
  assert.throws(() => writeNpy({ data: new Float32Array(3), shape: [3], dtype: 'int32' }), /Int32Array/);
  assert.throws(() => writeNpy({ data: [1, 2], shape: [2] }), /TypedArray/);
});

test('parseHeader handles the Python literal subset', () => {
  assert.deepEqual(parseHeader("{'a': (1, 2,), 'b': True, 'c': None, \"d\": [3], 'e': 'x\\'y'}"), {
    a: [1, 2],
    b: true,
    c: null,
    d: [3],
    e: "x'y",
  });
  assert.throws(() => parseHeader('[1, 2]'), /not a dict/);
  assert.throws(() => parseHeader("{'a': 1} x"), /trailing/);
});

test('.npz: round trip, and a deflated entry (np.savez_compressed)', async () => {
  const { readNpz, writeNpz } = await import('../../js/npy.mjs');
  const zlib = await import('node:zlib');
  const z = writeNpz({ a: { data: new Float32Array([1, 2, 3]), shape: [3] }, 'in:0': { data: new Int8Array([4, -5]), shape: [1, 2] } });
  const m = readNpz(z);
  assert.deepEqual([...m.keys()], ['a', 'in:0']);
  assert.deepEqual(Array.from(m.get('a').data), [1, 2, 3]);
  assert.deepEqual(m.get('in:0').shape, [1, 2]);

  // one deflated entry, built by hand
  const npy = writeNpy({ data: new Float64Array([0.5, 1.5]), shape: [2] });
  const comp = zlib.deflateRawSync(npy);
  const name = Buffer.from('x.npy');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(comp.length, 18);
  local.writeUInt32LE(npy.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(comp.length, 20);
  central.writeUInt32LE(npy.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE(0, 42);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + name.length, 12);
  end.writeUInt32LE(30 + name.length + comp.length, 16);
  const zip = Buffer.concat([local, name, comp, central, name, end]);
  assert.deepEqual(Array.from(readNpz(zip, { inflateRaw: zlib.inflateRawSync }).get('x').data), [0.5, 1.5]);
  assert.throws(() => readNpz(zip), /compressed/);
  assert.throws(() => readNpz(Buffer.from('not a zip file at all, no')), /not a \.npz/);
  assert.throws(() => readNpz(zip.subarray(0, zip.length - 10)), /truncated|corrupt/);
});
