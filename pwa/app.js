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
