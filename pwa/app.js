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
