// The wallet's service worker: it keeps this version's files so that the
// wallet opens, and shows the credentials (kept in IndexedDB), offline.
// Every file but the page has its content hash in its name, so a cached
// copy is never stale; a new version gets a new cache and drops the old.
"use strict";
const VERSION = "{{.Version}}";
const CACHE = "tong-wallet-" + VERSION;
const ASSETS = {{.AssetsJSON}};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("tong-wallet-") && k !== CACHE).map((k) => caches.delete(k))
  )).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  const scope = new URL(self.registration.scope);
  // Only the app's own files: calls to issuers, verifiers and the
  // registry always go to the network.
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const rel = url.pathname.slice(scope.pathname.length);
  if (req.mode === "navigate" || rel === "" || rel === "index.html") {
    // The page: the network first (a new version shows at once), the
    // cached copy when offline.
    event.respondWith(fetch(req).then((resp) => {
      if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put("./", copy)); }
      return resp;
    }).catch(() => caches.open(CACHE).then((c) => c.match("./"))));
    return;
  }
  if (!ASSETS.includes(rel)) return;
  event.respondWith(caches.open(CACHE).then((c) => c.match(rel).then((hit) => hit || fetch(req).then((resp) => {
    if (resp.ok) c.put(rel, resp.clone());
    return resp;
  }))));
});
