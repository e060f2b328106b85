// The worker thread of createWorkerModel in Node (js/index.node.mjs): the same
// host as the browser's js/worker.mjs, over node:worker_threads.

import { parentPort } from 'node:worker_threads';
import * as api from './runtime-node.mjs';
import { serveModel } from './worker-host.mjs';

serveModel(
  {
    post: (msg, transfer) => parentPort.postMessage(msg, transfer ?? []),
    listen: (fn) => parentPort.on('message', fn),
  },
  api,
);
