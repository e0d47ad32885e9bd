// Passkey ceremonies: enrolment from an invitation link, and discoverable sign-in.
// Uses the vendored @simplewebauthn/browser (older phones lack the native JSON helpers).

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function postJSON(url, body) {
  const res = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "x-csrftoken": csrfToken() },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  return { ok: res.ok, status: res.status, data };
}

function showError(button, message) {
  const el = document.getElementById("passkey-error");
  el.textContent = message || button.dataset.msgFailed || "Error";
  el.hidden = false;
  button.disabled = false;
}

async function enrol(button) {
  const token = button.dataset.token;
  button.disabled = true;
  const opts = await postJSON("/auth/passkey/register/options", { token });
  if (!opts.ok) return showError(button, opts.data.detail);
  let credential;
  try {
    credential = await SimpleWebAuthnBrowser.startRegistration({ optionsJSON: opts.data });
  } catch (e) {
    return showError(button, button.dataset.msgCancelled);
  }
  const res = await postJSON("/auth/passkey/register/verify", { token, credential });
  if (!res.ok) return showError(button, res.data.detail);
  window.location.assign(res.data.redirect || "/");
}

async function signIn(button) {
  button.disabled = true;
  const opts = await postJSON("/auth/passkey/login/options");
  if (!opts.ok) return showError(button, opts.data.detail);
  let credential;
  try {
    credential = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: opts.data });
  } catch (e) {
    return showError(button, button.dataset.msgCancelled);
  }
  const next = encodeURIComponent(button.dataset.next || "/");
  const res = await postJSON(`/auth/passkey/login/verify?next=${next}`, { credential });
  if (!res.ok) return showError(button, res.data.detail);
  window.location.assign(res.data.redirect || "/");
}

function bind() {
  const e = document.getElementById("passkey-enrol");
  if (e && !e.dataset.bound) { e.dataset.bound = "1"; e.addEventListener("click", () => enrol(e)); }
  const s = document.getElementById("passkey-signin");
  if (s && !s.dataset.bound) { s.dataset.bound = "1"; s.addEventListener("click", () => signIn(s)); }
}

bind();
document.addEventListener("htmx:afterSettle", bind);
