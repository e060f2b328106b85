// Start scripts/serve.mjs on a free port for a test; resolves to {url, proc, stop()}.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function startServer(args = ['--port', '0', '--quiet'], env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'scripts/serve.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`serve.mjs did not start in time\n${out}\n${err}`));
    }, 15_000);
    proc.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /page at (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const stop = () =>
          new Promise((r) => {
            if (proc.exitCode !== null) return r();
            proc.once('exit', () => r());
            proc.kill('SIGTERM');
          });
        // give the rest of the banner (LAN URLs) a moment to arrive
        setTimeout(() => resolve({ url: m[1], proc, stop, output: () => out, errors: () => err }), 50);
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited with ${code}\n${out}\n${err}`));
    });
  });
}
