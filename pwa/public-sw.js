// The public page's own service worker, scoped to /p/ (the app's worker, /sw.js, is not
// involved). Network first, so readers see edits as soon as they have signal; the last copy
// seen when they do not. It keeps only public pages — no person data — and their stylesheet.
const CACHE = "public-v1";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname === "/p/sw.js") return;
  if (!url.pathname.startsWith("/p/") && !url.pathname.startsWith("/static/public.")) return;
  event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") await cache.put(request, response.clone());
    return response;
  } catch (error) {
    // Language is chosen by a cookie the cache cannot see: serve whichever copy was last seen.
    const copy = await cache.match(request, { ignoreVary: true });
    if (copy) return copy;
    throw error;
  }
}
