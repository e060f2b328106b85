// One worker thread of the threaded wasm build (see js/threads.mjs): same
// module, same shared memory, then the core's worker loop, which never returns.
import * as glue from '../pkg/web-threads/modelpress.js';

self.onmessage = ({ data: { module, memory } }) => {
  try {
    glue.initSync({ module, memory });
    self.postMessage({ ok: true });
    glue.threadWorkerLoop();
  } catch (e) {
    self.postMessage({ error: String(e?.message ?? e) });
  }
};
