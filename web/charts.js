// Plain SVG charts (no library): horizontal bars for sizes, a histogram for
// latencies. Drawn at the container's pixel width so text keeps its size on
// phones; colours come from CSS classes (theme-aware, CSP-safe: no inline styles).

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function svgRoot(width, height, label) {
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label, class: 'chart' });
  svg.append(s('title', {}, label));
  return svg;
}

/**
 * Horizontal bars.
 * @param {HTMLElement} host
 * @param {{label: string, value: number, text: string, cls: string}[]} bars
 * @param {string} label accessible description
 */
export function barChart(host, bars, label) {
  const width = Math.max(260, Math.floor(host.clientWidth || 600));
  const labelW = Math.min(150, Math.round(width * 0.34));
  const rowH = 26;
  const gap = 8;
  const height = bars.length * (rowH + gap) + 4;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const svg = svgRoot(width, height, label);
  const plotW = width - labelW - 86; // room for the value after the bar
  bars.forEach((b, i) => {
    const y = i * (rowH + gap) + 2;
    svg.append(s('text', { x: labelW - 8, y: y + rowH / 2, 'text-anchor': 'end', 'dominant-baseline': 'central', class: 'chart-label' }, b.label));
    const w = Math.max(2, (b.value / max) * plotW);
    svg.append(s('rect', { x: labelW, y, width: w, height: rowH, rx: 3, class: `bar ${b.cls}` }));
    svg.append(s('text', { x: labelW + w + 6, y: y + rowH / 2, 'text-anchor': 'start', 'dominant-baseline': 'central', class: 'chart-value' }, b.text));
  });
  host.replaceChildren(svg);
}

/**
 * Latency histogram of one or two series.
 * @param {HTMLElement} host
 * @param {{name: string, times: number[], cls: string}[]} series
 */
export function histogram(host, series, label) {
  const width = Math.max(260, Math.floor(host.clientWidth || 600));
  const height = 170;
  const pad = { l: 36, r: 10, t: 26, b: 30 };
  const all = series.flatMap((x) => x.times);
  if (!all.length) {
    host.replaceChildren();
    return;
  }
  const sorted = [...all].sort((a, b) => a - b);
  let lo = sorted[0];
  // Clip the slow tail (GC pauses, other work on the device) into the last bin:
  // p97 of all runs, or 3× p90 when a few outliers are far out.
  const p90 = sorted[Math.floor((sorted.length - 1) * 0.9)];
  let hi = Math.min(sorted[Math.floor((sorted.length - 1) * 0.97)], 3 * p90);
  const clipped = sorted.at(-1) > hi;
  if (hi <= lo) hi = lo + Math.max(lo * 0.05, 0.01);
  const bins = Math.max(8, Math.min(30, Math.floor((width - pad.l - pad.r) / 14)));
  const bw = (hi - lo) / bins;
  const counts = series.map((x) => {
    const c = new Array(bins).fill(0);
    for (const t of x.times) c[Math.min(bins - 1, Math.max(0, Math.floor((t - lo) / bw)))]++;
    return c;
  });
  const maxC = Math.max(1, ...counts.flat());
  const svg = svgRoot(width, height, label);
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const x = (v) => pad.l + ((v - lo) / (hi - lo)) * plotW;
  const y = (c) => pad.t + plotH - (c / maxC) * plotH;
  svg.append(s('line', { x1: pad.l, y1: pad.t + plotH, x2: width - pad.r, y2: pad.t + plotH, class: 'axis' }));
  svg.append(s('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: pad.t + plotH, class: 'axis' }));
  const slot = plotW / bins;
  counts.forEach((c, si) => {
    const w = series.length > 1 ? slot / series.length - 1 : slot - 1;
    c.forEach((n, b) => {
      if (!n) return;
      const x0 = pad.l + b * slot + (series.length > 1 ? si * (slot / series.length) : 0) + 0.5;
      svg.append(s('rect', { x: x0, y: y(n), width: Math.max(1, w), height: pad.t + plotH - y(n), class: `bar ${series[si].cls}` }));
    });
  });
  // Axis labels.
  const fmt = (v) => (v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
  svg.append(s('text', { x: pad.l, y: height - 8, 'text-anchor': 'start', class: 'chart-tick' }, `${fmt(lo)} ms`));
  svg.append(s('text', { x: width - pad.r, y: height - 8, 'text-anchor': 'end', class: 'chart-tick' }, `${clipped ? '≥ ' : ''}${fmt(hi)} ms`));
  svg.append(s('text', { x: pad.l - 4, y: pad.t + 4, 'text-anchor': 'end', class: 'chart-tick' }, String(maxC)));
  svg.append(s('text', { x: pad.l - 4, y: pad.t + plotH, 'text-anchor': 'end', class: 'chart-tick' }, '0'));
  // Medians.
  series.forEach((ser) => {
    const st = [...ser.times].sort((a, b) => a - b);
    const med = st[Math.floor((st.length - 1) / 2)];
    if (med >= lo && med <= hi) svg.append(s('line', { x1: x(med), y1: pad.t, x2: x(med), y2: pad.t + plotH, class: `median ${ser.cls}` }));
  });
  // Legend.
  // Legend: one slot per series; long names are shortened to fit (the full name is in the title).
  const slotW = (width - pad.l - pad.r) / series.length;
  const maxChars = Math.max(6, Math.floor((slotW - 24) / 7));
  series.forEach((ser, i) => {
    const lx = pad.l + i * slotW;
    const name = ser.name.length > maxChars ? `${ser.name.slice(0, maxChars - 1)}…` : ser.name;
    svg.append(s('rect', { x: lx, y: 6, width: 12, height: 12, rx: 2, class: `bar ${ser.cls}` }));
    svg.append(s('text', { x: lx + 16, y: 12, 'dominant-baseline': 'central', class: 'chart-label' }, name));
  });
  host.replaceChildren(svg);
}
