// Keeps the public page readable offline once seen: a worker scoped to /p/ serves the last
// copy, and this page puts itself and its stylesheet in that copy now. The page works without
// this script; nothing here reads or stores anything about the visitor.
if ("serviceWorker" in navigator && window.caches) {
  navigator.serviceWorker.register("/p/sw.js", { scope: "/p/" })
    .then(() => caches.open("public-v1"))
    .then((cache) => {
      const style = document.querySelector('link[rel="stylesheet"]');
      return cache.addAll([location.pathname, ...(style ? [style.href] : [])]);
    })
    .catch(() => {});
}
