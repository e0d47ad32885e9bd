// Service worker: placeholder until the offline shell lands (issue 5). It takes control so
// that the app is installable; it caches nothing and never touches non-GET requests.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", () => {});
