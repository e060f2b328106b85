// The modelpress CLI, run as a child process like a user would.
import { describe, test, before, after } from 'node:test';
import os from 'node:os';
import assert from 'node:assert/strict';
import { existsSync, linkSync, readFileSync, readdirSync, statSync, writeFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readNpy, writeNpy, writeNpz } from '../../js/npy.mjs';
import { FIXTURES, ROOT, cli, cliAsync, fixtureModels, manifest, manifestEntry, mismatch, requireBuild, tmpDir } from './helpers.mjs';

const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const MODELS = fixtureModels();
const fx = (f) => path.join(FIXTURES, f);
const RTOL = 1e-4;
const ATOL = 1e-5;

before(() => requireBuild());

/** One line on stderr, starting with "error: ". */
function assertOneLineError(r, re) {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  if (re) assert.match(lines[0], re);
}

/** The fixture with a single float32 input of batch 1 we use for input checks. */
function simpleModel() {
  const prefer = ['tiny_mlp.tflite', 'buffer_offset.tflite', 'digits_cnn_float32.tflite'];
  const f = prefer.find((m) => MODELS.includes(m)) ?? MODELS[0];
  const json = JSON.parse(cli(['inspect', fx(f), '--json']).stdout);
  return { file: f, path: fx(f), input: json.inputs[0], summary: json };
}

const normOp = (op) => op.replace(/^CUSTOM\(.*\)$/, 'CUSTOM');

// ------------------------------------------------------------------ inspect + optimize on every fixture

describe('every fixture model', { concurrency: 2 }, () => {
  test('there are fixture models', () => {
    assert.ok(MODELS.length > 0);
    const m = manifest();
    if (m) {
      for (const e of m.models) assert.ok(MODELS.includes(e.file), `manifest lists ${e.file}, which is missing`);
    }
  });

  for (const file of MODELS) {
    test(`inspect ${file}`, async () => {
      const [human, js] = await Promise.all([cliAsync(['inspect', fx(file)]), cliAsync(['inspect', fx(file), '--json'])]);
      assert.equal(human.code, 0, human.stderr);
      assert.equal(js.code, 0, js.stderr);
      assert.equal(human.stderr, '');
      const s = JSON.parse(js.stdout);
      for (const k of ['format', 'bytes', 'gzip_bytes', 'inputs', 'outputs', 'op_histogram', 'parameters', 'weight_dtypes', 'weight_bytes', 'subgraphs', 'signatures', 'metadata', 'layers', 'runnable', 'unsupported']) {
        assert.ok(k in s, `summary has ${k}`);
      }
      assert.equal(s.format, 'tflite');
      assert.equal(s.bytes, statSync(fx(file)).size);
      assert.ok(s.gzip_bytes > 0 && s.gzip_bytes < s.bytes + 64);
      assert.equal(s.runnable, s.unsupported.length === 0);
      // the human report shows the same facts
      assert.match(human.stdout, new RegExp(`parameters\\s+${s.parameters.toLocaleString('en-US')}\\n`));
      assert.match(human.stdout, new RegExp(`${s.bytes.toLocaleString('en-US')} bytes; gzip -9: ${s.gzip_bytes.toLocaleString('en-US')} bytes`));
      for (const [op, n] of Object.entries(s.op_histogram)) {
        assert.match(human.stdout, new RegExp(`\\n  ${op.replace(/[()]/g, '\\$&')}\\s+${n}\\n`), `histogram line for ${op}`);
      }
      for (const t of [...s.inputs, ...s.outputs]) assert.ok(human.stdout.includes(t.name), `names ${t.name}`);
      assert.match(human.stdout, s.runnable ? /runnable\s+yes/ : /runnable\s+no: /);
      for (const u of s.unsupported) assert.ok(human.stdout.includes(u));
      if (s.metadata.length) assert.ok(human.stdout.includes(s.metadata.join(', ')));
      for (const g of s.signatures) assert.ok(human.stdout.includes(g.key));

      // against what the fixture generator read with LiteRT's own schema reader
      const e = manifestEntry(file);
      if (e) {
        const hist = {};
        for (const [op, n] of Object.entries(s.op_histogram)) hist[normOp(op)] = (hist[normOp(op)] ?? 0) + n;
        assert.deepEqual(hist, e.op_counts, 'op histogram matches the manifest');
        assert.equal(s.subgraphs.length, e.num_subgraphs);
        assert.deepEqual(s.metadata, e.metadata_names);
        assert.deepEqual(s.signatures.map((g) => g.key).sort(), e.signature_defs.map((g) => g.key).sort());
        const io = (ts) => ts.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
        assert.deepEqual(io(s.inputs), io(e.inputs), 'inputs match the manifest');
        assert.deepEqual(io(s.outputs), io(e.outputs), 'outputs match the manifest');
      }
    });

    test(`optimize (identity) ${file}`, async (t) => {
      const dir = tmpDir(t);
      const out = path.join(dir, file.replace(/\.tflite$/, '.identity.tflite'));
      const r = await cliAsync(['optimize', fx(file), '-o', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^wrote /);
      assert.ok(existsSync(out));
      assert.deepEqual(readdirSync(dir), [path.basename(out)], 'no temporary file left behind');
      const [a, b] = await Promise.all([cliAsync(['inspect', fx(file), '--json']), cliAsync(['inspect', out, '--json'])]);
      assert.equal(b.code, 0, b.stderr);
      const sa = JSON.parse(a.stdout);
      const sb = JSON.parse(b.stdout);
      for (const k of ['op_histogram', 'parameters', 'weight_dtypes', 'weight_bytes', 'inputs', 'outputs', 'signatures', 'metadata', 'runnable', 'unsupported']) {
        assert.deepEqual(sb[k], sa[k], `${k} survives the round trip`);
      }
      assert.deepEqual(
        sb.layers.map((l) => [l.op, l.params, l.weight?.shape]),
        sa.layers.map((l) => [l.op, l.params, l.weight?.shape]),
      );
    });
  }
});

// ------------------------------------------------------------------ run vs LiteRT reference outputs

/** Models expected to run, with their reference files. */
function runnableCases() {
  const m = manifest();
  if (m) {
    return m.models
      .filter((e) => e.runnable_float && e.litert_runnable && e.output_files.length > 0)
      .map((e) => ({ file: e.file, inputs: e.input_files, outputs: e.output_files }));
  }
  // No manifest yet: models with <stem>.input<i>.npy / .output<i>.npy files.
  const files = readdirSync(FIXTURES);
  return MODELS.map((file) => {
    const stem = file.replace(/\.tflite$/, '');
    const pick = (kind) => files.filter((f) => new RegExp(`^${stem}\\.${kind}\\d+\\.npy$`).test(f)).sort((x, y) => Number(x.match(/(\d+)\.npy$/)[1]) - Number(y.match(/(\d+)\.npy$/)[1]));
    return { file, inputs: pick('input'), outputs: pick('output') };
  }).filter((c) => c.inputs.length > 0 && c.outputs.length > 0);
}

describe('run matches the LiteRT reference outputs', { concurrency: 2 }, () => {
  const cases = runnableCases();
  test('there is at least one runnable fixture', () => assert.ok(cases.length > 0));
  for (const c of cases) {
    test(`run ${c.file}`, async (t) => {
      const dir = tmpDir(t);
      const args = ['run', fx(c.file), ...c.inputs.flatMap((f) => ['--input', fx(f)]), '--output-dir', path.join(dir, 'out')];
      const r = await cliAsync(args);
      assert.equal(r.code, 0, `modelpress ${args.join(' ')}\n${r.stderr}`);
      for (const [i, ref] of c.outputs.entries()) {
        const p = path.join(dir, 'out', `output_${i}.npy`);
        assert.ok(existsSync(p), `wrote output_${i}.npy`);
        const got = readNpy(readFileSync(p));
        const want = readNpy(readFileSync(fx(ref)));
        assert.equal(got.dtype, want.dtype, `output ${i} dtype`);
        assert.deepEqual(got.shape, want.shape, `output ${i} shape`);
        const bad = mismatch(got.data, want.data, { rtol: RTOL, atol: ATOL });
        assert.equal(bad, null, `output ${i} (${ref}): ${bad}`);
      }
      assert.equal(readdirSync(path.join(dir, 'out')).length, c.outputs.length, 'one file per output');
    });
  }
});

describe('run --requant', () => {
  test('fast and exact run the int8 fixture; fast is within one quantization step of the LiteRT reference', (t) => {
    const stem = 'digits_cnn_int8';
    assert.ok(MODELS.includes(`${stem}.tflite`));
    const dir = tmpDir(t);
    const want = readNpy(readFileSync(fx(`${stem}.output0.npy`)));
    for (const mode of ['exact', 'fast']) {
      const out = path.join(dir, mode);
      const r = cli(['run', fx(`${stem}.tflite`), '--input', fx(`${stem}.input0.npy`), '--output-dir', out, '--requant', mode]);
      assert.equal(r.code, 0, r.stderr);
      const got = readNpy(readFileSync(path.join(out, 'output_0.npy')));
      assert.equal(got.dtype, 'int8');
      for (let i = 0; i < got.data.length; i++) {
        const d = Math.abs(got.data[i] - want.data[i]);
        assert.ok(mode === 'exact' ? d === 0 : d <= 1, `${mode}: element ${i} is ${got.data[i]}, reference ${want.data[i]}`);
      }
    }
  });

  test('another mode is a usage error naming it', () => {
    const r = cli(['run', fx('digits_cnn_int8.tflite'), '--input', fx('digits_cnn_int8.input0.npy'), '--output-dir', 'o', '--requant', 'xnnpack']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--requant must be exact or fast, got 'xnnpack'/);
    assert.equal(r.stdout, '');
  });
});

// ------------------------------------------------------------------ batch of N

describe('run with a leading batch', () => {
  test('a batch of 3 equals three single runs, stacked', (t) => {
    const cases = runnableCases();
    const prefer = ['ops_conv.tflite', 'tiny_mlp.tflite', 'digits_cnn_float32.tflite'];
    const c = prefer.map((f) => cases.find((x) => x.file === f)).find(Boolean) ?? cases.find((x) => x.inputs.length === 1);
    assert.ok(c, 'a runnable single-input fixture');
    const x = readNpy(readFileSync(fx(c.inputs[0])));
    assert.equal(x.shape[0], 1, 'fixture input has batch 1');
    assert.equal(x.dtype, 'float32');
    const n = x.data.length;
    const items = [x.data, x.data.map((v) => v * 0.5 - 0.25), Float32Array.from(x.data).reverse()];
    const dir = tmpDir(t);
    const stacked = new Float32Array(3 * n);
    items.forEach((it, k) => stacked.set(it, k * n));
    writeFileSync(path.join(dir, 'batch.npy'), writeNpy({ data: stacked, shape: [3, ...x.shape.slice(1)] }));
    const r = cli(['run', fx(c.file), '--input', path.join(dir, 'batch.npy'), '--output-dir', path.join(dir, 'batch')]);
    assert.equal(r.code, 0, r.stderr);
    const singles = items.map((it, k) => {
      writeFileSync(path.join(dir, `x${k}.npy`), writeNpy({ data: it, shape: x.shape }));
      const rk = cli(['run', fx(c.file), '--input', path.join(dir, `x${k}.npy`), '--output-dir', path.join(dir, `s${k}`)]);
      assert.equal(rk.code, 0, rk.stderr);
      return c.outputs.map((_, o) => readNpy(readFileSync(path.join(dir, `s${k}`, `output_${o}.npy`))));
    });
    for (const [o, refFile] of c.outputs.entries()) {
      const b = readNpy(readFileSync(path.join(dir, 'batch', `output_${o}.npy`)));
      assert.deepEqual(b.shape, [3, ...singles[0][o].shape.slice(1)], `output ${o} is stacked`);
      const m = singles[0][o].data.length;
      singles.forEach((s, k) => {
        const bad = mismatch(b.data.subarray(k * m, (k + 1) * m), s[o].data, { rtol: 0, atol: 1e-6 });
        assert.equal(bad, null, `output ${o}, batch item ${k}: ${bad}`);
      });
      // item 0 is the fixture input: it must also match LiteRT
      const ref = readNpy(readFileSync(fx(refFile)));
      assert.equal(mismatch(b.data.subarray(0, m), ref.data, { rtol: RTOL, atol: ATOL }), null, `output ${o} item 0 vs LiteRT`);
    }
  });

  test('float64 input for a float32 model input is converted', (t) => {
    const cases = runnableCases();
    const c = cases.find((x) => x.file === 'ops_conv.tflite') ?? cases.find((x) => x.inputs.length === 1);
    assert.ok(c);
    const x = readNpy(readFileSync(fx(c.inputs[0])));
    const dir = tmpDir(t);
    writeFileSync(path.join(dir, 'x64.npy'), writeNpy({ data: Float64Array.from(x.data), shape: x.shape }));
    const r = cli(['run', fx(c.file), '--input', path.join(dir, 'x64.npy'), '--output-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const got = readNpy(readFileSync(path.join(dir, 'output_0.npy')));
    const ref = readNpy(readFileSync(fx(c.outputs[0])));
    assert.equal(mismatch(got.data, ref.data, { rtol: RTOL, atol: ATOL }), null);
  });
});

// ------------------------------------------------------------------ run input checks (no engine needed)

describe('run rejects mismatched inputs', () => {
  let m;
  before(() => {
    m = simpleModel();
  });
  const shapeOf = (inp) => inp.shape.map((d) => (d < 0 ? 1 : d));

  test('wrong dtype names input, expected and got', (t) => {
    const dir = tmpDir(t);
    const shape = shapeOf(m.input);
    const n = shape.reduce((a, b) => a * b, 1);
    writeFileSync(path.join(dir, 'i.npy'), writeNpy({ data: new Int32Array(n), shape }));
    const r = cli(['run', m.path, '--input', path.join(dir, 'i.npy'), '--output-dir', path.join(dir, 'o')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, new RegExp(`i\\.npy: input 0 '${m.input.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': dtype mismatch: expected ${m.input.dtype} \\[.*\\], got int32`));
    assert.ok(!existsSync(path.join(dir, 'o')), 'no output folder on failure');
  });

  test('wrong shape names input, expected and got', (t) => {
    const dir = tmpDir(t);
    const shape = [...shapeOf(m.input)];
    shape[shape.length - 1] += 1;
    const n = shape.reduce((a, b) => a * b, 1);
    writeFileSync(path.join(dir, 's.npy'), writeNpy({ data: new Float32Array(n), shape }));
    const r = cli(['run', m.path, '--input', path.join(dir, 's.npy'), '--output-dir', dir]);
    assert.equal(r.code, 1);
    assertOneLineError(r, new RegExp(`shape mismatch: expected float32 \\[${m.input.shape.join(',')}\\], got float32 \\[${shape.join(',')}\\]`));
  });

  test('wrong rank', (t) => {
    const dir = tmpDir(t);
    writeFileSync(path.join(dir, 'r.npy'), writeNpy({ data: new Float32Array(4), shape: [4] }));
    const r = cli(['run', m.path, '--input', path.join(dir, 'r.npy'), '--output-dir', dir]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /shape mismatch/);
  });

  test('wrong number of inputs', (t) => {
    const dir = tmpDir(t);
    const shape = shapeOf(m.input);
    const f = path.join(dir, 'x.npy');
    writeFileSync(f, writeNpy({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape }));
    const r = cli(['run', m.path, '--input', f, '--input', f, '--output-dir', dir]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /the model has 1 input .*got 2 --input/);
  });

  test('a file that is not .npy, a Fortran-order array, a missing file', (t) => {
    const dir = tmpDir(t);
    writeFileSync(path.join(dir, 'junk.npy'), 'not numpy at all');
    let r = cli(['run', m.path, '--input', path.join(dir, 'junk.npy'), '--output-dir', dir]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /junk\.npy: not a \.npy file/);

    const good = writeNpy({ data: new Float32Array(2), shape: [2] });
    const text = new TextDecoder().decode(good.subarray(10, 74)).replace("'fortran_order': False", "'fortran_order': True ");
    const fortran = Buffer.concat([Buffer.from(good.subarray(0, 10)), Buffer.from(text, 'latin1'), Buffer.from(good.subarray(74))]);
    writeFileSync(path.join(dir, 'f.npy'), fortran);
    r = cli(['run', m.path, '--input', path.join(dir, 'f.npy'), '--output-dir', dir]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /Fortran-order/);

    r = cli(['run', m.path, '--input', path.join(dir, 'nope.npy'), '--output-dir', dir]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /nope\.npy: no such file/);
  });
});

// ------------------------------------------------------------------ bad model files

describe('bad model files exit 1 with a one-line cause', () => {
  const files = {};
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelpress-bad-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  before(() => {
    const model = readFileSync(fx(MODELS.includes('tiny_mlp.tflite') ? 'tiny_mlp.tflite' : MODELS[0]));
    const write = (name, bytes) => {
      files[name] = path.join(dir, name);
      writeFileSync(files[name], bytes);
    };
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
    write('garbage.tflite', Uint8Array.from({ length: 4096 }, rnd));
    write('empty.tflite', new Uint8Array(0));
    write('truncated.tflite', model.subarray(0, Math.floor(model.length / 3)));
    write('header_only.tflite', model.subarray(0, 24));
    write('image.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]));
    // An ONNX ModelProto: ir_version (field 1 varint) = 8, producer_name (field 2) = "pytorch", ...
    write('model.onnx', Buffer.concat([Buffer.from([0x08, 0x08, 0x12, 0x07]), Buffer.from('pytorch'), Buffer.from([0x1a, 0x03]), Buffer.from('2.1'), Buffer.from([0x3a, 0x02, 0x0a, 0x00])]));
  });

  const cases = [
    ['garbage.tflite', /garbage\.tflite: .*(not a TFLite model|invalid model)/],
    ['empty.tflite', /empty\.tflite: .*empty/],
    ['truncated.tflite', /truncated\.tflite: invalid model/],
    ['header_only.tflite', /header_only\.tflite: invalid model/],
    ['image.png', /image\.png: .*PNG/],
    ['model.onnx', /model\.onnx: .*ONNX/],
  ];
  for (const [name, re] of cases) {
    test(`${name}: inspect, run and optimize`, (t) => {
      for (const args of [
        ['inspect', files[name]],
        ['inspect', files[name], '--json'],
        ['run', files[name], '--input', 'x.npy', '--output-dir', 'out'],
      ]) {
        const r = cli(args);
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assertOneLineError(r, re);
        assert.equal(r.stdout, '');
      }
      const dir = tmpDir(t);
      const out = path.join(dir, 'out.tflite');
      const r = cli(['optimize', files[name], '-o', out]);
      assert.equal(r.code, 1);
      assertOneLineError(r, re);
      assert.deepEqual(readdirSync(dir), [], 'no output, no temporary file');
    });
  }

  test('missing file and directory', () => {
    let r = cli(['inspect', path.join(ROOT, 'no/such/model.tflite')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /model\.tflite: no such file/);
    r = cli(['inspect', FIXTURES]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /is a directory/);
  });
});

// ------------------------------------------------------------------ optimize: atomic output

describe('optimize never leaves a partial output', () => {
  const model = () => fx(MODELS.includes('tiny_mlp.tflite') ? 'tiny_mlp.tflite' : MODELS[0]);

  test('an invalid recipe fails and writes nothing', (t) => {
    const dir = tmpDir(t);
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ no_such_option: 1 }));
    const out = path.join(dir, 'out.tflite');
    const r = cli(['optimize', model(), '-o', out, '--recipe', path.join(dir, 'bad.json')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /bad\.json: .*no_such_option/);
    assert.deepEqual(readdirSync(dir), ['bad.json']);
  });

  test('a failure keeps an existing output untouched', (t) => {
    const dir = tmpDir(t);
    const out = path.join(dir, 'out.tflite');
    writeFileSync(out, 'previous content');
    writeFileSync(path.join(dir, 'bad.json'), '{"name": ');
    const r = cli(['optimize', model(), '-o', out, '--recipe', path.join(dir, 'bad.json')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /bad\.json: not valid JSON/);
    assert.equal(readFileSync(out, 'utf8'), 'previous content');
    assert.deepEqual(readdirSync(dir).sort(), ['bad.json', 'out.tflite']);
  });

  test('a valid recipe and overwriting an existing output', (t) => {
    const dir = tmpDir(t);
    const out = path.join(dir, 'out.tflite');
    writeFileSync(out, 'old');
    writeFileSync(path.join(dir, 'r.json'), JSON.stringify({ name: 'identity' }));
    const r = cli(['optimize', model(), '-o', out, '--recipe', path.join(dir, 'r.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(cli(['inspect', out]).code, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['out.tflite', 'r.json']);
  });

  test('refuses to overwrite the input model (same path, other spelling, hard link)', (t) => {
    const dir = tmpDir(t);
    const m = path.join(dir, 'm.tflite');
    copyFileSync(model(), m);
    const before = readFileSync(m);
    for (const out of [m, path.join(dir, '.', 'm.tflite'), path.relative(ROOT, m)]) {
      const r = cli(['optimize', m, '-o', out]);
      assert.equal(r.code, 1, out);
      assertOneLineError(r, /is the input model/);
    }
    linkSync(m, path.join(dir, 'link.tflite'));
    const r = cli(['optimize', m, '-o', path.join(dir, 'link.tflite')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /is the input model/);
    assert.deepEqual(readFileSync(m), before);
  });

  test('output folder must exist', (t) => {
    const dir = tmpDir(t);
    const r = cli(['optimize', model(), '-o', path.join(dir, 'nope', 'out.tflite')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /does not exist/);
  });
});

// ------------------------------------------------------------------ optimize --quantize (wiring; quantization quality is checked in tests/python)

describe('optimize --quantize, --calib, --report', () => {
  const float = () => fx(['tiny_mlp.tflite', 'digits_cnn_float32.tflite'].find((m) => MODELS.includes(m)) ?? MODELS[0]);

  test('dynamic range with a report', (t) => {
    const dir = tmpDir(t);
    const out = path.join(dir, 'q.tflite');
    const rep = path.join(dir, 'q.json');
    const r = cli(['optimize', float(), '-o', out, '--quantize', 'dynamic', '--report', rep]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    assert.equal(report.input.bytes, statSync(float()).size);
    assert.equal(report.output.bytes, statSync(out).size);
    assert.ok(Array.isArray(report.layers));
    assert.match(r.stdout, /gzip -9: [\d,]+ -> [\d,]+ bytes/);
    assert.deepEqual(readdirSync(dir).sort(), ['q.json', 'q.tflite']);
  });

  test('int8 with .npy calibration (N samples on the first axis) and with a .npz per input', (t) => {
    const dir = tmpDir(t);
    const m = manifest();
    const multi = m?.models.find((e) => e.runnable_float && e.inputs.length > 1 && e.input_files.length > 1 && e.inputs.every((i) => i.dtype === 'float32'));
    const single = m?.models.find((e) => e.file === 'tiny_mlp.tflite' && e.input_files.length === 1);
    assert.ok(single && multi, 'manifest with tiny_mlp and a multi-input float model');
    // .npy: 4 samples made from the fixture input
    const x = readNpy(readFileSync(fx(single.input_files[0])));
    const n = x.data.length;
    const cal = new Float32Array(4 * n);
    for (let k = 0; k < 4; k++) cal.set(x.data.map((v) => v * (1 - k / 4)), k * n);
    writeFileSync(path.join(dir, 'cal.npy'), writeNpy({ data: cal, shape: [4, ...x.shape.slice(1)] }));
    let r = cli(['optimize', fx(single.file), '-o', path.join(dir, 's.tflite'), '--quantize', 'int8', '--calib', path.join(dir, 'cal.npy')]);
    assert.equal(r.code, 0, r.stderr);
    // .npz keyed by input name, two samples each
    const arrays = {};
    multi.inputs.forEach((inp, i) => {
      const a = readNpy(readFileSync(fx(multi.input_files[i])));
      const two = new Float32Array(2 * a.data.length);
      two.set(a.data, 0);
      two.set(a.data.map((v) => -v), a.data.length);
      arrays[inp.name] = { data: two, shape: [2, ...a.shape.slice(1)] };
    });
    writeFileSync(path.join(dir, 'cal.npz'), writeNpz(arrays));
    r = cli(['optimize', fx(multi.file), '-o', path.join(dir, 'm.tflite'), '--quantize', 'int8', '--io', 'int8', '--calib', path.join(dir, 'cal.npz')]);
    assert.equal(r.code, 0, r.stderr);
    // a .npy for a multi-input model is refused
    r = cli(['optimize', fx(multi.file), '-o', path.join(dir, 'm2.tflite'), '--quantize', 'int8', '--calib', path.join(dir, 'cal.npy')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /give a \.npz with one array per input/);
    assert.ok(!existsSync(path.join(dir, 'm2.tflite')));
  });

  test('calibration problems and bad flags', (t) => {
    const dir = tmpDir(t);
    const out = path.join(dir, 'o.tflite');
    writeFileSync(path.join(dir, 'bad.npy'), writeNpy({ data: new Float32Array(4 * 3), shape: [4, 3] }));
    let r = cli(['optimize', float(), '-o', out, '--quantize', 'int8', '--calib', path.join(dir, 'bad.npy')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /bad\.npy: calibration data for input 0 .* has shape \(4, 3\); expected \(N, /);
    r = cli(['optimize', float(), '-o', out, '--quantize', 'int8']);
    assert.equal(r.code, 1);
    assertOneLineError(r, /calib/);
    r = cli(['optimize', float(), '-o', out, '--quantize', 'int8', '--calib', path.join(dir, 'missing.npy')]);
    assert.equal(r.code, 1);
    assertOneLineError(r, /missing\.npy: no such file/);
    assert.deepEqual(readdirSync(dir), ['bad.npy'], 'nothing written');
    for (const [args, re] of [
      [['--quantize', 'int3'], /unknown --quantize mode 'int3'/],
      [['--io', 'int8'], /--io needs --quantize/],
      [['--quantize', 'int8', '--io', 'int4'], /unknown --io type 'int4'/],
      [['--quantize', 'int8', '--calib-method', 'median'], /unknown --calib-method 'median'/],
      [['--quantize', 'int8', '--calib-method', 'percentile', '--percentile', '120'], /--percentile must be in/],
      [['--skip', 'CONV_2D'], /--skip needs --quantize/],
      [['--int8-only'], /--int8-only needs --quantize/],
    ]) {
      r = cli(['optimize', float(), '-o', out, ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, re);
    }
  });
});

describe('optimize --skip, --int8-only, --calib-method, --calib random', () => {
  const digits = () => fx('digits_cnn_float32.tflite');
  const calib = path.join(ROOT, 'tests/fixtures/data/digits_x_calib.npy');

  test('--skip keeps the matching layers float and the report lists them', (t) => {
    const dir = tmpDir(t);
    const rep = path.join(dir, 'r.json');
    const r = cli(['optimize', digits(), '-o', path.join(dir, 'o.tflite'), '--quantize', 'int8', '--calib', calib,
      '--skip', 'FULLY_CONNECTED', '--calib-method', 'mse', '--report', rep]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    assert.equal(report.floatOps.filter((o) => /FULLY_CONNECTED \(skipped by the recipe\)/.test(o)).length, 2);
    for (const l of report.layers) {
      assert.equal(l.weightDtype, l.op === 'FULLY_CONNECTED' ? 'float32' : 'int8', l.op);
    }
  });

  test('--int8-only fails listing the ops without integer kernels', (t) => {
    const dir = tmpDir(t);
    const r = cli(['optimize', fx('ops_elementwise.tflite'), '-o', path.join(dir, 'o.tflite'), '--quantize', 'int8',
      '--calib', 'random', '--int8-only']);
    assert.equal(r.code, 1);
    assertOneLineError(r, /--int8-only: .*node \d+: EXP/);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('prune -> cluster -> int8 from flags keeps zeros and at most K codes per tensor', (t) => {
    const dir = tmpDir(t);
    const rep = path.join(dir, 'r.json');
    const r = cli(['optimize', digits(), '-o', path.join(dir, 'o.tflite'), '--prune', '0.5', '--prune-method', 'obs',
      '--cluster', '16', '--preserve-sparsity', '--quantize', 'int8', '--calib', calib, '--report', rep]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    const conv2 = report.layers.find((l) => l.weight.includes('conv2'));
    assert.ok(conv2.sparsity >= 0.49, `conv2 sparsity ${conv2.sparsity}`);
    assert.ok(conv2.uniqueValues <= 17 * 64, `conv2 distinct values ${conv2.uniqueValues}`);
    assert.ok(report.output.gzipBytes < report.input.gzipBytes / 4);
  });

  test('bad prune/cluster flags are usage errors', () => {
    for (const [args, re] of [
      [['--prune', '1.5'], /--prune must be a fraction/],
      [['--prune', '0.5', '--prune-scope', 'model'], /unknown --prune-scope 'model'/],
      [['--cluster', '1'], /--cluster must be an integer >= 2/],
      [['--preserve-sparsity'], /need --cluster K/],
    ]) {
      const r = cli(['optimize', digits(), '-o', '/tmp/never.tflite', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, re);
    }
    const r = cli(['optimize', digits(), '-o', '/tmp/never.tflite', '--prune', '0.5', '--prune-pattern', '3:2']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /3:2/);
  });

  test('--calib random works and the report warns loudly', (t) => {
    const dir = tmpDir(t);
    const rep = path.join(dir, 'r.json');
    const r = cli(['optimize', digits(), '-o', path.join(dir, 'o.tflite'), '--quantize', 'int8', '--calib', 'random', '--report', rep]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(rep, 'utf8'));
    assert.match(report.warnings[0], /RANDOM DATA/);
    assert.match(r.stderr, /RANDOM DATA/);
  });
});

// ------------------------------------------------------------------ usage

describe('usage', () => {
  const m = () => fx(MODELS[0]);

  test('--help and -h for the top level and every command', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = cli(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /usage: modelpress <command>/);
      assert.match(r.stdout, /inspect/);
      assert.match(r.stdout, /optimize/);
    }
    for (const cmd of ['inspect', 'run', 'optimize']) {
      for (const h of ['--help', '-h']) {
        const r = cli([cmd, h]);
        assert.equal(r.code, 0);
        assert.match(r.stdout, new RegExp(`^usage: modelpress ${cmd} `));
      }
    }
  });

  test('--version', () => {
    for (const v of ['--version', '-V']) {
      const r = cli([v]);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^modelpress ${PKG.version.replace(/\./g, '\\.')} \\(core \\S+, (scalar|simd128|relaxed-simd) wasm\\)\\n$`));
    }
  });

  const usage = [
    [[], /usage: modelpress <command>/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['inspect'], /missing MODEL/],
    [['inspect', 'MODEL', '--bogus'], /unknown option '--bogus'/],
    [['inspect', 'a.tflite', 'b.tflite'], /unexpected argument 'b\.tflite'/],
    [['run', 'MODEL', '--output-dir', 'o'], /missing --input/],
    [['run', 'MODEL', '--input', 'x.npy'], /missing --output-dir/],
    [['run', 'MODEL', '--input'], /option '--input' needs a value/],
    [['inspect', 'MODEL', '--json=yes'], /option '--json' takes no value/],
    [['run', 'MODEL', '--input', 'x.npy', '--output-dir', 'o', '--fast'], /unknown option '--fast'/],
    [['optimize', 'MODEL'], /missing -o OUT/],
    [['optimize', 'MODEL', '-o', 'x', '--level', '3'], /unknown option '--level'/],
  ];
  for (const [args, re] of usage) {
    test(`exit 2: modelpress ${args.join(' ')}`, () => {
      const r = cli(args.map((a) => (a === 'MODEL' ? m() : a)));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
    });
  }
});
