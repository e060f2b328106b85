// One worker thread of the threaded wasm build (see js/threads.mjs): same
// module, same shared memory, then the core's worker loop, which never returns.
self.onmessage = async ({ data: { glueUrl, module, memory } }) => {
  try {
    const glue = await import(glueUrl);
    glue.initSync({ module, memory });
    self.postMessage({ ok: true });
    glue.threadWorkerLoop();
  } catch (e) {
    self.postMessage({ error: String(e?.message ?? e) });
  }
};
