// Small formatting and DOM helpers shared by the page modules.

export const $ = (id) => document.getElementById(id);

export const num = (n) => Number(n).toLocaleString('en-US');
export const shapeStr = (s) => `[${(s ?? []).join(', ')}]`;

/** "96,816 bytes (94.5 KiB)" style sizes. */
export function bytesStr(n) {
  return `${num(n)} bytes`;
}

export function kib(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function pct(x, digits = 1) {
  return `${(100 * x).toFixed(digits)}%`;
}

export function fmtFloat(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(6))) : x.toExponential(4);
}

export function ms(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x < 1) return `${x.toFixed(3)} ms`;
  if (x < 100) return `${x.toFixed(2)} ms`;
  return `${x.toFixed(0)} ms`;
}

export function db(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x >= 199.5 ? 'exact' : `${x.toFixed(1)} dB`;
}

export function quantStr(q) {
  if (!q || !q.scale?.length) return '–';
  if (q.scale.length === 1) return `scale ${fmtFloat(q.scale[0])}, zero point ${q.zero_point?.[0] ?? 0}`;
  return `per-channel, axis ${q.quantized_dimension} (${q.scale.length} scales)`;
}

/** Create an element: h('td', {className: 'num'}, 'text', child, ...). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'className') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A table row; `numeric` lists the indices of right-aligned cells. */
export function tr(cells, { numeric = [], header = false, className } = {}) {
  const row = h('tr', { className });
  cells.forEach((c, k) => {
    const cell = h(k === 0 && header ? 'th' : 'td', k === 0 && header ? { scope: 'row' } : {});
    if (c instanceof Node) cell.append(c);
    else cell.textContent = String(c);
    if (numeric.includes(k)) cell.classList.add('num');
    row.append(cell);
  });
  return row;
}

/** Save bytes as a file (a temporary blob: link; the bytes are not copied). */
export function saveBytes(bytes, name, type = 'application/octet-stream') {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** A file-name-safe slug. */
export function slug(s, fallback = 'custom') {
  const t = String(s ?? '')
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return t || fallback;
}

export function median(sorted) {
  return quantile(sorted, 0.5);
}

/** Quantile of an ascending array (linear interpolation). */
export function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const p = (sorted.length - 1) * q;
  const lo = Math.floor(p);
  const hi = Math.ceil(p);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (p - lo);
}
