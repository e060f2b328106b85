#!/usr/bin/env node
// A tiny static server for the modelpress page (no dependencies).
//   /        -> web/          (the page)
//   /pkg/... -> pkg/...       (the wasm builds: /pkg/web/modelpress.js, ..._bg.wasm)
//   /js/...  -> js/...        (the package's browser entry, used by the worker)
// Sends COOP/COEP (cross-origin isolation, for SharedArrayBuffer/threads later)
// and a Content-Security-Policy that allows only this origin plus
// 'wasm-unsafe-eval' (compiling WebAssembly).
//
// usage: node scripts/serve.mjs [--port N] [--host] [--qr]
//   --port N   port (default $PORT or 8080; 0 picks a free one)
//   --host     listen on 0.0.0.0 (all interfaces) and print the LAN URLs,
//              with a QR code of the first one when stdout is a terminal
//              (to open the page on a phone); default is 127.0.0.1 only
//   --qr       print the QR code even when stdout is not a terminal

import http from 'node:http';
import { createReadStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeQr, qrToAnsi } from './qr.mjs';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const MOUNTS = [
  ['/pkg/', path.join(ROOT, 'pkg')],
  ['/js/', path.join(ROOT, 'js')],
  ['/', path.join(ROOT, 'web')],
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.tflite': 'application/octet-stream',
};

export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "style-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** Map a URL path to a file under one of the mounts, or null if outside them. */
function resolvePath(urlPath) {
  let p;
  try {
    p = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (p.includes('\0')) return null;
  for (const [prefix, dir] of MOUNTS) {
    if (p === prefix.slice(0, -1) && prefix !== '/') return { redirect: prefix };
    if (!p.startsWith(prefix)) continue;
    const rel = p.slice(prefix.length);
    const file = path.resolve(dir, '.' + path.posix.normalize('/' + rel));
    if (file !== dir && !file.startsWith(dir + path.sep)) return null;
    return { file, dir };
  }
  return null;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

export function createServer({ log = () => {} } = {}) {
  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const done = (status) => log(`${status} ${req.method} ${url.pathname}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      done(405);
      return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    }
    const r = resolvePath(url.pathname);
    if (!r) {
      done(404);
      return send(res, 404, 'not found\n');
    }
    if (r.redirect) {
      done(301);
      return send(res, 301, '', { Location: r.redirect });
    }
    let file = r.file;
    try {
      let st = await fsp.stat(file);
      if (st.isDirectory()) {
        file = path.join(file, 'index.html');
        st = await fsp.stat(file);
      }
      if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': st.size });
      done(200);
      if (req.method === 'HEAD') return res.end();
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    } catch (e) {
      const missingBuild = url.pathname.startsWith('/pkg/') && e?.code === 'ENOENT';
      done(404);
      send(res, 404, missingBuild ? 'not found: the wasm build is missing; run `npm run build`\n' : 'not found\n');
    }
  });
}

function lanAddresses() {
  const out = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal) out.push(a.address);
    }
  }
  return out;
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'boolean' },
      qr: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: node scripts/serve.mjs [--port N] [--host] [--qr] [--quiet]\n');
    return;
  }
  const portText = values.port ?? process.env.PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`error: bad port '${portText}'\n`);
    process.exit(2);
  }
  const bind = values.host ? '0.0.0.0' : '127.0.0.1';
  try {
    await fsp.access(path.join(ROOT, 'pkg/web/modelpress_bg.wasm'));
  } catch {
    process.stderr.write('warning: pkg/web is not built; run `npm run build` (the page cannot load models without it)\n');
  }
  const server = createServer({ log: values.quiet ? () => {} : (l) => process.stdout.write(`${l}\n`) });
  server.on('error', (e) => {
    process.stderr.write(`error: cannot listen on ${bind}:${port}: ${e.code ?? e.message}${e.code === 'EADDRINUSE' ? ' (set PORT or --port)' : ''}\n`);
    process.exit(1);
  });
  server.listen(port, bind, () => {
    const actual = server.address().port;
    process.stdout.write(`modelpress page at http://127.0.0.1:${actual}/\n`);
    if (values.host) {
      const lan = lanAddresses();
      for (const a of lan) process.stdout.write(`  on your network: http://${a}:${actual}/\n`);
      if (lan.length && (process.stdout.isTTY || values.qr)) {
        const url = `http://${lan[0]}:${actual}/`;
        process.stdout.write(`\nScan to open ${url} on a phone on the same network:\n${qrToAnsi(encodeQr(url))}\n`);
      }
    }
  });
  const stop = () => server.close(() => process.exit(0)).closeAllConnections?.();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
