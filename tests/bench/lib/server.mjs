// The benchmark's own static server (no dependencies), cross-origin isolated
// (COOP/COEP) so SharedArrayBuffer and wasm threads are available to every
// runtime. Not the product's server (scripts/serve.mjs): no CSP here, since
// the peers load their wasm glue in ways a strict CSP blocks (tfjs-tflite
// starts its threads from blob: URLs).
//   /bench/...  -> tests/bench/page/
//   /pkg/...    -> <repo>/pkg/          (our wasm builds)
//   /peers/...  -> tests/bench/node_modules/ (LiteRT.js, tfjs-tflite, onnxruntime-web)
//   /models/<name> -> a registered file (bytes in memory)

import http from 'node:http';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export function startServer({ mounts, models, onRequest = () => {} }) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let p;
    try {
      p = decodeURIComponent(url.pathname);
    } catch {
      p = '';
    }
    onRequest(p);
    const fail = (status) => {
      res.writeHead(status, { ...HEADERS, 'Content-Type': 'text/plain' });
      res.end(`${status}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405);
    if (p === '/' || p === '/bench') {
      res.writeHead(302, { ...HEADERS, Location: '/bench/index.html' });
      return res.end();
    }
    if (p.startsWith('/models/')) {
      const bytes = models.get(p.slice('/models/'.length));
      if (!bytes) return fail(404);
      res.writeHead(200, { ...HEADERS, 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
      return res.end(req.method === 'HEAD' ? undefined : bytes);
    }
    for (const [prefix, dir] of mounts) {
      if (!p.startsWith(prefix)) continue;
      const file = path.resolve(dir, '.' + path.posix.normalize('/' + p.slice(prefix.length)));
      if (!file.startsWith(dir + path.sep)) return fail(404);
      try {
        const st = await fsp.stat(file);
        if (!st.isFile()) return fail(404);
        res.writeHead(200, {
          ...HEADERS,
          'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
          'Content-Length': st.size,
        });
        if (req.method === 'HEAD') return res.end();
        return createReadStream(file).on('error', () => res.destroy()).pipe(res);
      } catch {
        return fail(404);
      }
    }
    return fail(404);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port }));
  });
}
