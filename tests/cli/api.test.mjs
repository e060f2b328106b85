// The Node package API (js/node.mjs): Model lifecycle and error codes.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, fixtureModels, requireBuild } from './helpers.mjs';

let api;
let npy;
const MODELS = fixtureModels();
const pick = (...names) => path.join(FIXTURES, names.find((n) => MODELS.includes(n)) ?? MODELS[0]);

before(async () => {
  requireBuild();
  api = await import('../../js/node.mjs');
  npy = await import('../../js/npy.mjs');
});

const isErr = (code, re) => (e) => e instanceof api.ModelpressError && e.code === code && (!re || re.test(e.message));

test('load, summary, inputInfo, toBytes, optimize, dispose', () => {
  const bytes = readFileSync(pick('tiny_mlp.tflite'));
  const m = api.loadModel(bytes);
  const s = m.summary();
  assert.equal(s.format, 'tflite');
  assert.equal(s.bytes, bytes.length);
  assert.ok(s.parameters > 0);
  const info = m.inputInfo();
  assert.equal(info.length, s.inputs.length);
  assert.equal(info[0].name, s.inputs[0].name);
  const out = m.toBytes();
  assert.ok(out instanceof Uint8Array);
  const again = api.loadModel(out);
  assert.deepEqual(again.summary().op_histogram, s.op_histogram);
  const opt = m.optimize({});
  assert.ok(opt instanceof Uint8Array && opt.length > 0);
  assert.ok(m.optimize('{"name": "x"}').length > 0, 'a JSON string is accepted too');
  assert.equal(m.disposed, false);
  m.dispose();
  m.dispose();
  assert.equal(m.disposed, true);
  assert.throws(() => m.summary(), isErr('DISPOSED'));
  again.dispose();
  assert.ok(/^\d+\.\d+\.\d+/.test(api.coreVersion()));
  assert.ok(['scalar', 'simd128', 'relaxed-simd'].includes(api.buildInfo().build));
});

test('an ArrayBuffer and a Buffer with an offset load too', () => {
  const bytes = readFileSync(pick('tiny_mlp.tflite'));
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  api.loadModel(ab).dispose();
  const shifted = Buffer.concat([Buffer.alloc(3), bytes]).subarray(3);
  api.loadModel(shifted).dispose();
  assert.throws(() => api.loadModel('not bytes'), isErr('INVALID_ARGUMENT'));
});

test('error codes of bad files', () => {
  assert.throws(() => api.loadModel(new Uint8Array(0)), isErr('INVALID_MODEL', /empty/));
  assert.throws(() => api.loadModel(new TextEncoder().encode('hello world, not a model')), isErr('INVALID_MODEL', /TFL3/));
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
  assert.throws(() => api.loadModel(png), isErr('UNSUPPORTED_FORMAT', /PNG/));
  const onnx = Uint8Array.from([0x08, 0x07, 0x12, 0x03, 0x61, 0x62, 0x63, 0x3a, 0x00]);
  assert.throws(() => api.loadModel(onnx), isErr('UNSUPPORTED_FORMAT', /ONNX/));
  const model = readFileSync(pick('tiny_mlp.tflite'));
  assert.throws(() => api.loadModel(model.subarray(0, model.length >> 1)), isErr('INVALID_MODEL'));
});

test('recipe and run errors', () => {
  const m = api.loadModel(readFileSync(pick('tiny_mlp.tflite')));
  assert.throws(() => m.optimize({ bogus: true }), isErr('INVALID_ARGUMENT', /bogus/));
  assert.throws(() => m.optimize([]), isErr('INVALID_ARGUMENT'));
  assert.throws(() => m.run([]), isErr('BAD_INPUT', /has 1 input/));
  const info = m.inputInfo()[0];
  const shape = info.shape.map((d) => (d < 0 ? 1 : d));
  const n = shape.reduce((a, b) => a * b, 1);
  assert.throws(() => m.run([{ data: new Int32Array(n), shape }]), isErr('BAD_INPUT', /dtype mismatch: expected float32 .* got int32/));
  assert.throws(() => m.run([{ data: new Float32Array(n + 1), shape }]), isErr('BAD_INPUT', /has \d+ elements but data has/));
  assert.throws(() => m.run([{ data: [1, 2], shape: [2] }]), isErr('BAD_INPUT', /TypedArray/));
  m.dispose();
});

test('a model with an op the engine lacks fails with UNSUPPORTED_OPS naming it', () => {
  if (!MODELS.includes('custom_op.tflite')) return;
  const m = api.loadModel(readFileSync(path.join(FIXTURES, 'custom_op.tflite')));
  const s = m.summary();
  assert.equal(s.runnable, false);
  assert.ok(s.unsupported.some((u) => /CUSTOM/.test(u)));
  const info = m.inputInfo()[0];
  const shape = info.shape.map((d) => (d < 0 ? 1 : d));
  assert.throws(() => m.run([{ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape }]), isErr('UNSUPPORTED_OPS', /CUSTOM/));
  m.dispose();
});

test('prepareInputs: batch, dynamic dims, float64 conversion', () => {
  const infos = [{ name: 'x', shape: [1, -1, 3], dtype: 'float32' }];
  const [p] = api.prepareInputs(infos, [{ data: new Float64Array(2 * 5 * 3), shape: [2, 5, 3] }]);
  assert.ok(p.data instanceof Float32Array);
  assert.deepEqual(p.shape, [2, 5, 3]);
  assert.throws(() => api.prepareInputs(infos, [{ data: new Float32Array(16), shape: [1, 4, 4] }]), /shape mismatch: expected float32 \[1,-1,3\], got float32 \[1,4,4\]/);
  assert.throws(() => api.prepareInputs([{ name: 'y', shape: [2, 3], dtype: 'float32' }], [{ data: new Float32Array(9), shape: [3, 3] }]), /shape mismatch/);
  assert.throws(() => api.prepareInputs([{ name: 'q', shape: [4], dtype: 'int8' }], [{ data: new Uint8Array(4), shape: [4] }]), /expected int8 \[4\], got uint8 \[4\]/);
});

test('requantization (exact | fast), profile and memoryInfo on the synchronous model', () => {
  const stem = MODELS.includes('digits_cnn_int8.tflite') ? 'digits_cnn_int8' : null;
  assert.ok(stem, 'the int8 fixture digits_cnn_int8.tflite is committed');
  const { readNpy } = npy;
  const m = api.loadModel(readFileSync(path.join(FIXTURES, `${stem}.tflite`)));
  const x = readNpy(readFileSync(path.join(FIXTURES, `${stem}.input0.npy`)));
  assert.equal(m.memoryInfo(), null, 'null before the first run');
  assert.equal(m.requantization, 'exact');
  const [exact] = m.run([x]);
  const [fast] = m.run([x], { requantization: 'fast' });
  for (let i = 0; i < exact.data.length; i++) assert.ok(Math.abs(exact.data[i] - fast.data[i]) <= 1, `element ${i}: ${exact.data[i]} vs ${fast.data[i]}`);
  assert.ok(m.setRequantization('fast') > 0);
  assert.equal(m.requantization, 'fast');
  assert.throws(() => m.setRequantization('bogus'), isErr('INVALID_ARGUMENT', /"bogus"/));
  assert.throws(() => m.run([x], { requantization: 'bogus' }), isErr('INVALID_ARGUMENT', /"bogus"/));
  const mem = m.memoryInfo();
  assert.ok(mem.constants > 0 && mem.peakActivations > 0 && mem.prepared >= 0, JSON.stringify(mem));
  const prof = m.profile([x], 2);
  assert.equal(prof.length, m.summary().layers.length);
  assert.ok(prof.every((p) => typeof p.op === 'string' && p.ms >= 0));
  assert.equal(api.buildInfo().gemm, 'simd128-dot16', 'pkg/node is the simd128 build');
  m.dispose();
});
