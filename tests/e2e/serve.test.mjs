// scripts/serve.mjs: MIME types, security headers, path containment, flags.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, startServer } from './server.mjs';

let srv;
before(async () => {
  srv = await startServer();
});
after(() => srv?.stop());

/** A raw request (no URL normalization by the client). */
function raw(pathname, method = 'GET') {
  const u = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: pathname, method }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the page, the package entry and the wasm build with the right types', async () => {
  const cases = [
    ['/', 'text/html; charset=utf-8'],
    ['/index.html', 'text/html; charset=utf-8'],
    ['/app.js', 'text/javascript; charset=utf-8'],
    ['/worker.js', 'text/javascript; charset=utf-8'],
    ['/style.css', 'text/css; charset=utf-8'],
    ['/js/browser.mjs', 'text/javascript; charset=utf-8'],
  ];
  if (existsSync(path.join(ROOT, 'pkg/web/modelpress_bg.wasm'))) {
    cases.push(['/pkg/web/modelpress_bg.wasm', 'application/wasm'], ['/pkg/web/modelpress.js', 'text/javascript; charset=utf-8']);
  } else {
    assert.fail('pkg/web is missing: run `npm run build`');
  }
  for (const [p, type] of cases) {
    const r = await raw(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers['content-type'], type, p);
  }
});

test('security headers on every response', async () => {
  for (const p of ['/', '/app.js', '/pkg/web/modelpress_bg.wasm', '/missing']) {
    const r = await raw(p);
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const csp = r.headers['content-security-policy'];
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|(?<!wasm-)unsafe-eval|https?:|\*/);
  }
});

test('nothing outside web/, pkg/ and js/ is reachable', async () => {
  for (const p of ['/../package.json', '/%2e%2e/package.json', '/pkg/../package.json', '/pkg/..%2f..%2fpackage.json', '/js/..%2fpackage.json', '/%2e%2e%2f%2e%2e%2fetc/passwd', '/..\\package.json', '/js/%00x', '/%E0%A4%A']) {
    const r = await raw(p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(r.body, /"name": "modelpress"|root:/);
  }
  assert.equal((await raw('/nope.html')).status, 404);
  assert.equal((await raw('/', 'POST')).status, 405);
  const head = await raw('/app.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('--host binds all interfaces and prints LAN URLs; PORT is honoured; a bad port is a usage error', async () => {
  const s = await startServer(['--host', '--quiet'], { PORT: '0' });
  try {
    assert.match(s.output(), /page at http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(s.proc.exitCode, null);
    const lan = s.output().match(/on your network: http:\/\/[\d.]+:\d+\//g) ?? [];
    const port = new URL(s.url).port;
    for (const l of lan) assert.ok(l.endsWith(`:${port}/`));
  } finally {
    await s.stop();
  }
  const bad = spawnSync(process.execPath, [path.join(ROOT, 'scripts/serve.mjs'), '--port', 'abc'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad port/);
});
