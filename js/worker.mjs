// The module Web Worker of createWorkerModel (js/browser.mjs): one Model,
// driven by messages (protocol in js/worker-host.mjs). Bundlers pick it up
// from `new Worker(new URL('./worker.mjs', import.meta.url), {type: 'module'})`;
// without a bundler, serve the package folder and it loads as is.

import * as api from './runtime-web.mjs';
import { serveModel } from './worker-host.mjs';

serveModel(
  {
    post: (msg, transfer) => self.postMessage(msg, transfer ?? []),
    listen: (fn) => self.addEventListener('message', (e) => fn(e.data)),
  },
  api,
);
