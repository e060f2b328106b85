// Calibration / evaluation data for the page: images (decoded with
// createImageBitmap, resized on an OffscreenCanvas, normalised), .npy / .npz
// arrays (the package's reader, js/npy.mjs), random samples, and labels.
//
// A *source* is what the user gave (kept, so it can be re-prepared when the
// model or the image settings change); `prepare(source, inputInfo, prep)`
// turns it into model input sets: [[{data, shape, dtype}], ...].

import { readNpy, readNpz, writeNpy } from '../js/npy.mjs';

export const MAX_IMAGES = 2000;
const MAX_SAMPLE_BYTES = 512 * 1024 * 1024;

export class DataError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DataError';
    this.code = 'BAD_DATA';
  }
}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;
const ARRAY_EXT = /\.(npy|npz)$/i;

export const isImageFile = (f) => (f.type?.startsWith('image/') && f.type !== 'image/svg+xml') || IMAGE_EXT.test(f.name);
export const isArrayFile = (f) => ARRAY_EXT.test(f.name);

const pyShape = (s) => (s.length === 1 ? `(${s[0]},)` : `(${s.join(', ')})`);

// ------------------------------------------------------------------ npz in the browser

/** Inflate raw deflate with the browser's DecompressionStream. */
async function inflateRawAsync(bytes) {
  const ds = new DecompressionStream('deflate-raw');
  const out = await new Response(new Blob([bytes]).stream().pipeThrough(ds)).arrayBuffer();
  return new Uint8Array(out);
}

/**
 * readNpz wants a synchronous inflate: run it once collecting the compressed
 * entries (answering with an empty array), inflate them asynchronously, then
 * run it again answering from the results, in the same order.
 */
export async function readNpzAsync(bytes) {
  const placeholder = writeNpy({ data: new Float32Array(0), shape: [0] });
  const compressed = [];
  readNpz(bytes, {
    inflateRaw: (b) => {
      compressed.push(b.slice());
      return placeholder;
    },
  });
  const inflated = [];
  for (const c of compressed) inflated.push(await inflateRawAsync(c));
  let k = 0;
  return readNpz(bytes, { inflateRaw: () => inflated[k++] });
}

// ------------------------------------------------------------------ sources

/**
 * Read files the user gave into a source. Files may be images (optionally
 * with `relPath` "folder/class/img.png" giving class labels) or one
 * .npy/.npz.
 * @param {{file: File, relPath?: string}[]} items
 */
export async function readSource(items) {
  if (!items.length) throw new DataError('no files');
  const arrays = items.filter((i) => isArrayFile(i.file));
  const images = items.filter((i) => isImageFile(i.file));
  const other = items.filter((i) => !isArrayFile(i.file) && !isImageFile(i.file));
  if (arrays.length && images.length) throw new DataError('give either images or one .npy/.npz file, not both');
  if (arrays.length > 1) throw new DataError(`give one .npy or .npz file (got ${arrays.length}); put several inputs in one .npz`);
  if (arrays.length === 1) {
    const { file } = arrays[0];
    let map;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes[0] === 0x50 && bytes[1] === 0x4b) map = await readNpzAsync(bytes);
      else map = new Map([['', readNpy(bytes)]]);
    } catch (e) {
      if (e instanceof RangeError) throw new DataError(`${file.name} is too large for this browser's memory`);
      throw new DataError(`${file.name}: ${e.message}`);
    }
    return { kind: 'arrays', name: file.name, arrays: map };
  }
  if (!images.length) {
    const names = other.slice(0, 3).map((i) => i.file.name).join(', ');
    throw new DataError(`${names}: not an image (PNG, JPEG, WebP, GIF) or a .npy/.npz array`);
  }
  if (images.length > MAX_IMAGES) throw new DataError(`${images.length} images: at most ${MAX_IMAGES} are used; pick fewer`);
  // Class labels from folder names: ".../<class>/<file>".
  const classOf = images.map((i) => {
    const parts = (i.relPath || i.file.webkitRelativePath || '').split('/').filter(Boolean);
    return parts.length >= 2 ? parts.at(-2) : null;
  });
  let labels = null;
  let classNames = null;
  if (classOf.every((c) => c !== null)) {
    const names = [...new Set(classOf)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (names.length >= 2) {
      const numeric = names.every((n) => /^\d+$/.test(n));
      classNames = names;
      labels = Int32Array.from(classOf, (c) => (numeric ? Number(c) : names.indexOf(c)));
    }
  }
  return {
    kind: 'images',
    name: images.length === 1 ? images[0].file.name : `${images.length} images`,
    files: images.map((i) => i.file),
    labels,
    classNames,
    skipped: other.length,
  };
}

/** The CLI's `--calib random`: 32 deterministic samples in [-1, 1]. */
export function randomSource() {
  return { kind: 'random', name: '32 random samples in [-1, 1]', count: 32 };
}

/** Class labels from a .npy: integers [N] or [N, 1], or one-hot / scores [N, C] (argmax). */
export async function readLabels(file) {
  let a;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
      const m = await readNpzAsync(bytes);
      if (m.size !== 1) throw new Error(`a labels .npz must hold one array (it has ${[...m.keys()].join(', ')})`);
      a = [...m.values()][0];
    } else {
      a = readNpy(bytes);
    }
  } catch (e) {
    throw new DataError(`${file.name}: ${e.message}`);
  }
  const { shape, data } = a;
  const val = (k) => (typeof data[k] === 'bigint' ? Number(data[k]) : data[k]);
  if (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) {
    const out = new Int32Array(shape[0]);
    for (let k = 0; k < out.length; k++) {
      const v = val(k);
      if (!Number.isInteger(v) || v < 0) throw new DataError(`${file.name}: labels must be class indices (non-negative integers); item ${k} is ${v}`);
      out[k] = v;
    }
    return out;
  }
  if (shape.length === 2) {
    const [n, c] = shape;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if (val(i * c + j) > val(i * c + best)) best = j;
      out[i] = best;
    }
    return out;
  }
  throw new DataError(`${file.name}: labels have shape ${pyShape(shape)}; expected (N,) class indices or (N, classes) one-hot`);
}

// ------------------------------------------------------------------ image geometry

/**
 * How a model input takes an image: {layout, h, w, c, dtype} or a reason it cannot.
 * NHWC [1,H,W,C] / NCHW [1,C,H,W] with C in 1, 3, 4, or [1,H,W] (grayscale).
 */
export function imageGeometry(info) {
  const s = info.shape;
  const batchOk = (d) => d === 1 || d < 0;
  const fixed = (...d) => d.every((x) => x > 0);
  const why = `input '${info.name}' ${'['}${s.join(', ')}] is not an image input (expected [1, H, W, C] with C = 1 or 3)`;
  if (!['float32', 'uint8', 'int8'].includes(info.dtype)) return { error: `input '${info.name}' is ${info.dtype}; images can feed float32, uint8 or int8 inputs` };
  let g = null;
  if (s.length === 4 && batchOk(s[0])) {
    if ([1, 3, 4].includes(s[3])) g = { layout: 'NHWC', h: s[1], w: s[2], c: s[3] };
    else if ([1, 3, 4].includes(s[1])) g = { layout: 'NCHW', h: s[2], w: s[3], c: s[1] };
  } else if (s.length === 3 && batchOk(s[0]) && s[1] > 4 && s[2] > 4) {
    g = { layout: 'NHW', h: s[1], w: s[2], c: 1 };
  }
  if (!g) return { error: why };
  if (!fixed(g.h, g.w)) return { error: `input '${info.name}' has a dynamic size [${s.join(', ')}]; images need a fixed height and width` };
  return { ...g, dtype: info.dtype };
}

export const DEFAULT_PREP = { range: '0,1', mean: '0', std: '1', order: 'RGB', fit: 'stretch' };

function perChannel(text, c, what) {
  const v = String(text)
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  if (!v.length || v.some((x) => !Number.isFinite(x))) throw new DataError(`${what} must be numbers, e.g. 0.5 or 0.485, 0.456, 0.406`);
  if (v.length === 1) return Array(c).fill(v[0]);
  if (v.length !== c) throw new DataError(`${what} has ${v.length} values; the input has ${c} channel${c === 1 ? '' : 's'} (give 1 or ${c})`);
  return v;
}

/** Decode and resize one image file to RGBA h×w. */
async function decodeResized(file, h, w, fit) {
  let bmp;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    throw new DataError(`${file.name}: this browser cannot decode it as an image`);
  }
  try {
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    let sx = 0;
    let sy = 0;
    let sw = bmp.width;
    let sh = bmp.height;
    if (fit === 'crop') {
      const scale = Math.max(w / sw, h / sh);
      const cw = w / scale;
      const ch = h / scale;
      sx = (sw - cw) / 2;
      sy = (sh - ch) / 2;
      sw = cw;
      sh = ch;
    }
    ctx.drawImage(bmp, sx, sy, sw, sh, 0, 0, w, h);
    return ctx.getImageData(0, 0, w, h).data;
  } finally {
    bmp.close();
  }
}

// ------------------------------------------------------------------ prepare

/**
 * Turn a source into model input sets.
 * @returns {Promise<{samples: object[][], count: number, labels: Int32Array|null, previews: ImageData[], note: string}>}
 */
export async function prepare(source, inputInfo, prep = DEFAULT_PREP, { onProgress, maxPreview = 8 } = {}) {
  if (source.kind === 'random') return prepareRandom(source, inputInfo);
  if (source.kind === 'arrays') return prepareArrays(source, inputInfo, maxPreview);
  return prepareImages(source, inputInfo, prep, onProgress, maxPreview);
}

function prepareRandom(source, infos) {
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return (seed / 0x100000000) * 2 - 1;
  };
  for (const info of infos) {
    if (info.dtype !== 'float32') throw new DataError(`random samples: input '${info.name}' is ${info.dtype}; only float32 inputs can be drawn at random`);
  }
  const samples = [];
  for (let k = 0; k < source.count; k++) {
    samples.push(
      infos.map((info) => {
        const shape = info.shape.map((d) => (d < 0 ? 1 : d));
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < data.length; i++) data[i] = rand();
        return { data, shape, dtype: 'float32' };
      }),
    );
  }
  return { samples, count: samples.length, labels: null, previews: [], note: 'random data: activation ranges are guesses and fidelity numbers mean little; give real samples when you can' };
}

function prepareArrays(source, infos, maxPreview) {
  const file = source.name;
  const npz = source.arrays;
  let arrays;
  if (npz.has('')) {
    if (infos.length !== 1) {
      throw new DataError(`${file}: the model has ${infos.length} inputs; give a .npz with one array per input (${infos.map((i) => i.name).join(', ')})`);
    }
    arrays = [npz.get('')];
  } else {
    arrays = infos.map((info, i) => {
      const a = npz.get(info.name) ?? npz.get(`arr_${i}`) ?? (infos.length === 1 && npz.size === 1 ? [...npz.values()][0] : undefined);
      if (!a) throw new DataError(`${file}: no array for input ${i} '${info.name}' (the .npz has: ${[...npz.keys()].join(', ') || 'nothing'})`);
      return a;
    });
  }
  let n;
  const fits = (got, exp) => got.length === exp.length && got.every((d, k) => exp[k] < 0 || exp[k] === d);
  const per = arrays.map((a, i) => {
    const info = infos[i];
    const want = info.shape;
    const rest = want.slice(1);
    let count;
    let itemShape;
    if (a.shape.length === want.length && (want[0] === 1 || want[0] < 0) && fits(a.shape.slice(1), rest)) {
      count = a.shape[0];
      itemShape = [1, ...a.shape.slice(1)];
    } else if (fits(a.shape, want)) {
      count = 1;
      itemShape = a.shape;
    } else {
      throw new DataError(`${file}: the data for input ${i} '${info.name}' has shape ${pyShape(a.shape)}; expected (N, ${rest.join(', ')}) for the model input ${pyShape(want)}`);
    }
    if (count === 0) throw new DataError(`${file}: no samples for input ${i} '${info.name}'`);
    if (n !== undefined && n !== count) throw new DataError(`${file}: inputs have different sample counts (${n} and ${count})`);
    n = count;
    let { data, dtype } = a;
    if (dtype === 'float64' && info.dtype === 'float32') {
      data = Float32Array.from(data);
      dtype = 'float32';
    }
    if (dtype !== info.dtype && !(info.dtype === 'bool' && dtype === 'uint8')) {
      throw new DataError(`${file}: the data for input ${i} '${info.name}' is ${a.dtype}; the model input is ${info.dtype}`);
    }
    const size = itemShape.reduce((x, y) => x * y, 1);
    return { data, dtype, itemShape, size };
  });
  const samples = Array.from({ length: n }, (_, k) => per.map((p) => ({ data: p.data.subarray(k * p.size, (k + 1) * p.size), shape: p.itemShape, dtype: p.dtype })));
  // Previews of image-like float arrays (min-max scaled).
  const previews = [];
  const g = imageGeometry(infos[0]);
  if (!g.error && per[0].dtype !== 'bool') {
    for (let k = 0; k < Math.min(n, maxPreview); k++) previews.push(arrayPreview(samples[k][0].data, g));
  }
  return { samples, count: n, labels: null, previews, note: '' };
}

function arrayPreview(data, g) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const img = new ImageData(g.w, g.h);
  const hw = g.h * g.w;
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const c = g.c >= 3 ? ch : 0;
      const idx = g.layout === 'NCHW' ? c * hw + p : p * g.c + c;
      img.data[p * 4 + ch] = Math.round(((Number(data[idx]) - lo) / span) * 255);
    }
    img.data[p * 4 + 3] = 255;
  }
  return img;
}

async function prepareImages(source, infos, prep, onProgress, maxPreview) {
  if (infos.length !== 1) throw new DataError(`the model has ${infos.length} inputs; images can only feed a model with one image input (give a .npz instead)`);
  const info = infos[0];
  const g = imageGeometry(info);
  if (g.error) throw new DataError(`images do not fit this model: ${g.error}; give a .npy/.npz instead`);
  const [r0, r1] = String(prep.range).split(',').map(Number);
  const mean = perChannel(prep.mean, Math.min(g.c, 3), 'mean');
  const std = perChannel(prep.std, Math.min(g.c, 3), 'std');
  if (std.some((s) => s === 0)) throw new DataError('std must not be 0');
  const hw = g.h * g.w;
  const size = hw * g.c;
  const n = source.files.length;
  const bytesPer = g.dtype === 'float32' ? 4 : 1;
  if (n * size * bytesPer > MAX_SAMPLE_BYTES) {
    throw new DataError(`${n} images of ${g.w}×${g.h}×${g.c} need ${Math.round((n * size * bytesPer) / 2 ** 20)} MiB; use fewer images (at most ${Math.floor(MAX_SAMPLE_BYTES / (size * bytesPer))})`);
  }
  const Ctor = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array }[g.dtype];
  const all = new Ctor(n * size);
  const previews = [];
  const itemShape = g.layout === 'NHWC' ? [1, g.h, g.w, g.c] : g.layout === 'NCHW' ? [1, g.c, g.h, g.w] : [1, g.h, g.w];
  const order = prep.order === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  for (let k = 0; k < n; k++) {
    const rgba = await decodeResized(source.files[k], g.h, g.w, prep.fit);
    const out = all.subarray(k * size, (k + 1) * size);
    for (let p = 0; p < hw; p++) {
      const R = rgba[p * 4];
      const G = rgba[p * 4 + 1];
      const B = rgba[p * 4 + 2];
      for (let c = 0; c < g.c; c++) {
        let v;
        if (g.c === 1) v = 0.299 * R + 0.587 * G + 0.114 * B;
        else if (c === 3) v = rgba[p * 4 + 3];
        else v = rgba[p * 4 + order[c]];
        const idx = g.layout === 'NCHW' ? c * hw + p : p * g.c + c;
        if (g.dtype === 'uint8') out[idx] = Math.round(v);
        else if (g.dtype === 'int8') out[idx] = Math.round(v) - 128;
        else {
          const x = r0 + (v / 255) * (r1 - r0);
          const m = mean[Math.min(c, mean.length - 1)];
          const s = std[Math.min(c, std.length - 1)];
          out[idx] = (x - m) / s;
        }
      }
    }
    if (previews.length < maxPreview) {
      // What the model sees (resized, gray when it takes one channel), before normalisation.
      const img = new ImageData(g.w, g.h);
      for (let p = 0; p < hw; p++) {
        const gray = g.c === 1 ? Math.round(0.299 * rgba[p * 4] + 0.587 * rgba[p * 4 + 1] + 0.114 * rgba[p * 4 + 2]) : -1;
        for (let ch = 0; ch < 3; ch++) img.data[p * 4 + ch] = gray >= 0 ? gray : rgba[p * 4 + ch];
        img.data[p * 4 + 3] = 255;
      }
      previews.push(img);
    }
    onProgress?.((k + 1) / n);
  }
  const samples = Array.from({ length: n }, (_, k) => [{ data: all.subarray(k * size, (k + 1) * size), shape: itemShape, dtype: g.dtype }]);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < all.length; i++) {
    if (all[i] < lo) lo = all[i];
    if (all[i] > hi) hi = all[i];
  }
  const note = `resized to ${g.w}×${g.h}${g.c === 1 ? ' gray' : ''} (${g.layout}, ${g.dtype}); values in [${+lo.toFixed(3)}, ${+hi.toFixed(3)}]`;
  return { samples, count: n, labels: source.labels, previews, note };
}

// ------------------------------------------------------------------ dropped folders

/** Files of a drop, recursing into folders (with "folder/sub/file" paths for labels). */
export async function filesFromDrop(dataTransfer) {
  const items = [...(dataTransfer.items ?? [])];
  const entries = items.map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length || entries.every((e) => e.isFile)) return [...dataTransfer.files].map((file) => ({ file, relPath: '' }));
  const out = [];
  const walk = async (entry, prefix) => {
    if (out.length > MAX_IMAGES * 2) return;
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, relPath: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}
