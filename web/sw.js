// Service worker: the page keeps working offline once it has been loaded.
// Network first (so a rebuilt page is picked up at once), falling back to the
// cache; every same-origin GET that succeeds is cached. Nothing else is
// fetched: the page never talks to another origin (see the CSP).
const CACHE = 'modelpress-v1';
const CORE = [
  './', './index.html', './style.css', './app.js', './client.js', './data.js', './charts.js', './format.js',
  './recipe.js', './worker.js', './favicon.svg',
  './examples/digits_cnn_float32.tflite', './examples/tiny_mlp.tflite', './examples/digits_calib32.npy',
  './examples/digits_test100.npy', './examples/digits_test100_labels.npy',
];

self.addEventListener('install', (event) => {
  // Best effort: a missing file must not stop the worker from installing.
  event.waitUntil(caches.open(CACHE).then((c) => Promise.all(CORE.map((u) => c.add(u).catch(() => {})))));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(req, copy)).catch(() => {});
        }
        return res;
      })
      .catch(() => caches.match(req, { ignoreSearch: true }).then((hit) => hit ?? Response.error())),
  );
});
