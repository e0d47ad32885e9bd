// Service worker: precaches the app shell (versioned: this file changes whenever an asset
// does, so an update reaches phones on their next visit), serves navigations network-first
// with the cached shell as fallback, and never intercepts non-GET requests: replaying POST
// bodies from a service worker corrupts them on some browsers, and the outbox owns writes.
// Pages that show person data are never cached: only the shell pages listed below are.
//
// Shell pages are signed-in pages (they carry the user's id), so they are cached per user:
// "donghanh-shell-<version>-<user>". A signed-in page tells the worker who is signed in; the
// worker then deletes every other user's shell cache and caches this user's, checking that
// each page it stores is this user's. Offline, a navigation is answered from the one shell
// cache left, never from another user's.

const VERSION = "__VERSION__";
const CACHE = `donghanh-${VERSION}`;
const SHELL_PREFIX = `donghanh-shell-${VERSION}-`;
const ASSETS = __ASSETS__;
const SHELL = __SHELL__;  // signed-in pages without person data, cached on the page's request
// All of SHELL in one answer ({url: {headers, body}}): the pages share most of their bytes,
// which one compressed answer sends once (server/shell.py).
const SHELL_PAGES = "/app/pages";
const FALLBACK = "/app";

// Versioned static files (/static/<name>.<hash>.<ext>) are served with a year of caching, so
// the copy the page has just downloaded is the right one: the install takes it from the HTTP
// cache ("force-cache") instead of downloading it a second time. Only what the page has not
// loaded yet goes to the network. The unversioned manifest is revalidated as usual.
const precacheRequest = (url) =>
  new Request(url, { cache: url.startsWith("/static/") ? "force-cache" : "no-cache" });

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS.map(precacheRequest)))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keys = await caches.keys();
    await Promise.all(keys.filter((k) => k.startsWith("donghanh-") && k !== CACHE && !k.startsWith(SHELL_PREFIX))
      .map((k) => caches.delete(k)));
    await self.clients.claim();
  })());
});

// A page of SHELL may be missing for good (a form this user's role may not open: the server
// leaves it out), so "all cached" cannot be the test: the shell cache also keeps the time of
// its last fill under SHELL_PAGES, and asks again only a day later. One fill at a time.
const REFILL_AFTER = 86400000;
let filling = null;  // { user, done }: the fill under way

function cacheShell(user) {
  if (filling && filling.user === user) return filling.done;
  const before = filling ? filling.done : Promise.resolve();
  const me = { user };
  me.done = before.then(() => fillShell(user)).catch(() => {})
    .finally(() => { if (filling === me) filling = null; });
  filling = me;
  return me.done;
}

async function fillShell(user) {
  if (!/^[0-9A-Za-z_-]+$/.test(user)) return;
  const keys = await caches.keys();
  await Promise.all(keys.filter((k) => k.startsWith("donghanh-shell-") && k !== SHELL_PREFIX + user)
    .map((k) => caches.delete(k)));
  const cache = await caches.open(SHELL_PREFIX + user);
  const missing = [];
  for (const url of SHELL) if (!(await cache.match(url))) missing.push(url);
  if (!missing.length) return;  // once per version is enough
  const filled = await cache.match(SHELL_PAGES);
  if (filled && Date.now() - Number(await filled.text()) < REFILL_AFTER) return;
  let pages;
  try {
    const res = await fetch(SHELL_PAGES, { credentials: "same-origin", cache: "no-store" });
    // Not a sign-in page after an expired session.
    if (!res.ok || res.redirected) return;
    pages = await res.json();
  } catch (e) { return; /* offline: keep what we have */ }
  await Promise.all(missing.map(async (url) => {
    const page = pages[url];
    // Only this user's own page, not one for whoever signed in meanwhile; each page with
    // its own headers (its CSP among them), as if it had been fetched by itself.
    if (!page || !String(page.body).includes(`data-user="${user}"`)) return;
    await cache.put(url, new Response(page.body, { status: 200, headers: page.headers }));
  }));
  await cache.put(SHELL_PAGES, new Response(String(Date.now())));
}

async function shellCache() {
  const mine = (await caches.keys()).filter((k) => k.startsWith(SHELL_PREFIX));
  return mine.length === 1 ? caches.open(mine[0]) : null;
}

self.addEventListener("message", (event) => {
  const m = event.data;
  if (m && m.type === "user") event.waitUntil(cacheShell(String(m.user)));
});

function shellFor(url) {
  // /visits/new?person=12 offline → the cached blank visit form (its picker is filled from
  // the phone's caseload); anything else → the offline home.
  for (const s of SHELL) {
    const u = new URL(s, self.location.origin);
    if (u.pathname === url.pathname) return s;
  }
  return FALLBACK;
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;  // never touch writes
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === "navigate") {
    event.respondWith((async () => {
      try {
        return await fetch(req);
      } catch (e) {
        const cache = await shellCache();
        return (cache && ((await cache.match(shellFor(url))) || (await cache.match(FALLBACK))))
          || Response.error();
      }
    })());
    return;
  }
  if (ASSETS.includes(url.pathname)) {
    // Unversioned assets (the manifest): the network when there is one, else the copy
    // cached at install, so the app stays installable and named offline.
    event.respondWith(fetch(req).catch(() => caches.match(url.pathname, { cacheName: CACHE })
      .then((hit) => hit || Response.error())));
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    // Versioned names: the cache is always right; the network only on a miss.
    event.respondWith(caches.match(req, { cacheName: CACHE }).then((hit) => hit || fetch(req).then((res) => {
      if (res.ok) { const copy = res.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
      return res;
    })));
  }
});

self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  // The page owns the outbox (it can read the CSRF cookie and ask for a sign-in): wake it.
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((cs) => cs.forEach((c) => c.postMessage("flush"))));
});
