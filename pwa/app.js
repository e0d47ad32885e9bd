// Page glue shared by every screen: service worker registration and small UI helpers.
// The offline outbox lives in outbox.js; passkey ceremonies in passkey.js.

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

// Mark the current section in the main navigation.
function markNav() {
  const here = window.location.pathname;
  document.querySelectorAll(".main-nav a").forEach((a) => {
    const href = a.getAttribute("href");
    if (href === here || (href !== "/" && here.startsWith(href))) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}
markNav();
document.addEventListener("htmx:afterSettle", markNav);

// Offline, a boosted link or GET form is an XHR the service worker does not answer (it serves
// navigations only): go there as a plain navigation instead, which the worker answers from
// the cached shell (the offline home, the blank forms). Writes are never replayed this way.
document.addEventListener("htmx:sendError", (e) => {
  const d = e.detail || {};
  if (!d.boosted || !d.requestConfig || d.requestConfig.verb !== "get") return;
  window.location.assign((d.pathInfo && d.pathInfo.finalRequestPath) || d.requestConfig.path);
});

// Say plainly when the phone is offline (records still save, to the phone). navigator.onLine
// is not enough (it stays true on a network that answers nothing), so the page also asks
// the server's health check, which the service worker never answers from its cache.
let probeTimer = null;
function setOffline(offline) {
  const banner = document.getElementById("offline-banner");
  if (banner) banner.hidden = !offline;
  clearTimeout(probeTimer);
  if (offline) probeTimer = setTimeout(probe, 30000);  // until the network is back
}
function probe() {
  if (!document.getElementById("offline-banner")) return;
  if (!navigator.onLine) { setOffline(true); return; }
  fetch("/healthz", { cache: "no-store", credentials: "omit" })
    .then(() => setOffline(false), () => setOffline(true));
}
probe();
window.addEventListener("online", probe);
window.addEventListener("offline", () => setOffline(true));
document.addEventListener("htmx:sendError", () => setOffline(true));
document.addEventListener("htmx:afterSettle", probe);

// Wide tables are stacked into one card per row on a phone (app.css, `table.list` with three or
// more columns): each cell then shows its column's heading, copied here from the table's head
// so that no template has to repeat it. Without this script the cells still stack, unlabelled.
function labelCells(root = document) {
  root.querySelectorAll("table.list").forEach((table) => {
    const heads = [...table.querySelectorAll("thead tr:last-child > *")].map((th) => th.textContent.trim());
    if (!heads.length) return;
    table.querySelectorAll("tbody tr").forEach((tr) => {
      [...tr.children].forEach((cell, i) => {
        if (heads[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
      });
    });
  });
}
labelCells();
document.addEventListener("htmx:afterSettle", (e) => labelCells(e.target));

// The people import's upload: how much of the file has gone up, then "checking the rows", so an
// official uploading a 5,000-row register on a slow link sees that it is working. htmx sends the
// form (hx-post on #import-upload); without JavaScript it posts as usual. The confirmation
// needs no script: its answer is streamed, a progress line as the rows are written.
document.addEventListener("htmx:beforeSend", (e) => {
  const form = e.target;
  if (!(form instanceof HTMLFormElement) || form.id !== "import-upload") return;
  const status = document.getElementById("upload-status");
  const bar = document.getElementById("upload-progress");
  const note = document.getElementById("upload-note");
  if (!status || !bar || !note) return;
  status.hidden = false;
  bar.max = 100;
  bar.value = 0;
  note.textContent = status.dataset.sending;
  const upload = e.detail.xhr.upload;
  upload.addEventListener("progress", (p) => {
    if (!p.lengthComputable || !p.total) return;
    const pct = Math.floor((100 * p.loaded) / p.total);
    bar.value = pct;
    note.textContent = `${status.dataset.sending} ${pct}%`;
  });
  upload.addEventListener("load", () => {
    bar.removeAttribute("value"); // indeterminate: the server is reading the rows
    note.textContent = status.dataset.checking;
  });
});
