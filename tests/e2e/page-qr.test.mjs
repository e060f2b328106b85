// The QR code `npm start -- --host` prints for opening the page on a phone
// (scripts/qr.mjs, used by scripts/serve.mjs). The encoder was checked
// against an independent decoder when written; this pins its output and
// its structure, and checks the server prints it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer } from './server.mjs';
import { encodeQr, qrToAnsi } from '../../scripts/qr.mjs';

const bits = (m) => m.map((r) => r.map((b) => (b ? 1 : 0)).join('')).join('\n');

test('QR encoder: structure, format information, a pinned matrix', () => {
  const m = encodeQr('http://192.168.1.20:8080/');
  assert.equal(m.length, 25, 'version 2 (25x25) for a 25-byte URL at level M');
  // Finder patterns in three corners: dark ring, light ring, dark 3x3 core.
  for (const [cx, cy] of [
    [3, 3],
    [21, 3],
    [3, 21],
  ]) {
    for (let dy = -3; dy <= 3; dy++) {
      for (let dx = -3; dx <= 3; dx++) {
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        assert.equal(m[cy + dy][cx + dx], d !== 2, `finder at ${cx},${cy}`);
      }
    }
  }
  for (let i = 8; i < 17; i++) {
    assert.equal(m[6][i], i % 2 === 0, 'horizontal timing pattern');
    assert.equal(m[i][6], i % 2 === 0, 'vertical timing pattern');
  }
  // The two copies of the format information agree and are a valid level-M code word.
  const f1 = [0, 1, 2, 3, 4, 5, 7, 8].map((y) => m[y][8]).concat([7, 5, 4, 3, 2, 1, 0].map((x) => m[8][x]));
  const f2 = [24, 23, 22, 21, 20, 19, 18, 17].map((x) => m[8][x]).concat([18, 19, 20, 21, 22, 23, 24].map((y) => m[y][8]));
  assert.deepEqual(f1, f2);
  const word = f1.reduce((a, b, i) => a | ((b ? 1 : 0) << i), 0) ^ 0x5412;
  assert.equal(word >>> 13, 0, 'error correction level M');
  let rem = word >>> 10;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  assert.equal(((word >>> 10) << 10) | rem, word, 'BCH check bits');
  assert.equal(m[17][8], true, 'the dark module');
  assert.equal(createHash('sha256').update(bits(m)).digest('hex'), '496da1706db5568429263f1022429d5e2890cfd4c6797cd0e545e69b81ce531b');
  // Larger versions carry version information; too long a text is an error.
  assert.equal(encodeQr('x'.repeat(150)).length, 4 * 8 + 17);
  assert.throws(() => encodeQr('x'.repeat(300)), /too long/);
});

test('the terminal rendering has two module rows per line and a quiet zone', () => {
  const m = encodeQr('http://10.0.0.5:8080/');
  const lines = qrToAnsi(m).trimEnd().split('\n');
  assert.equal(lines.length, Math.ceil((m.length + 8) / 2));
  for (const l of lines) assert.equal((l.match(/\u2580/g) ?? []).length, m.length + 8);
});

test('serve.mjs --host --qr prints a QR code of the LAN URL', async () => {
  const s = await startServer(['--host', '--qr', '--quiet', '--port', '0']);
  try {
    await new Promise((r) => setTimeout(r, 100));
    const out = s.output();
    const lan = /on your network: (http:\/\/[\d.]+:\d+\/)/.exec(out);
    if (!lan) return; // no LAN interface on this machine: nothing to encode
    assert.match(out, new RegExp(`Scan to open ${lan[1].replace(/[.]/g, '\\.')} on a phone`));
    assert.ok(out.includes('\u2580'), 'the code is printed');
  } finally {
    await s.stop();
  }
});
