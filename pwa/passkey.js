// Passkey ceremonies: enrolment from an invitation link, and discoverable sign-in.
// The server speaks WebAuthn's JSON forms (base64url strings where the browser API wants
// bytes). Recent browsers convert themselves (PublicKeyCredential.parseCreationOptionsFromJSON,
// parseRequestOptionsFromJSON, credential.toJSON()); the older WebViews of cheap Android
// phones lack those, so each conversion has a small fallback of its own. Only the sign-in and
// enrolment pages load this file.

const PKC = window.PublicKeyCredential;

function bytes(b64url) {
  const s = b64url.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(s + "===".slice((s.length + 3) % 4));  // padding back to a multiple of 4
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
}

function b64url(buffer) {
  let bin = "";
  for (const b of new Uint8Array(buffer)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const withIds = (list) => (list || []).map((c) => ({ ...c, id: bytes(c.id) }));

function creationOptions(o) {
  if (PKC && PKC.parseCreationOptionsFromJSON) return PKC.parseCreationOptionsFromJSON(o);
  return { ...o, challenge: bytes(o.challenge), user: { ...o.user, id: bytes(o.user.id) },
    excludeCredentials: withIds(o.excludeCredentials) };
}

function requestOptions(o) {
  if (PKC && PKC.parseRequestOptionsFromJSON) return PKC.parseRequestOptionsFromJSON(o);
  return { ...o, challenge: bytes(o.challenge), allowCredentials: withIds(o.allowCredentials) };
}

function credentialJSON(cred) {
  if (typeof cred.toJSON === "function") return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: b64url(r.clientDataJSON) };
  if (r.attestationObject) {  // registration
    response.attestationObject = b64url(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {  // authentication
    response.authenticatorData = b64url(r.authenticatorData);
    response.signature = b64url(r.signature);
    if (r.userHandle) response.userHandle = b64url(r.userHandle);
  }
  return { id: cred.id, rawId: b64url(cred.rawId), type: cred.type, response,
    clientExtensionResults: cred.getClientExtensionResults(),
    authenticatorAttachment: cred.authenticatorAttachment || undefined };
}

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

// One ceremony: options from the server, the browser's prompt, the answer back to the server.
async function ceremony(button, optionsUrl, body, ask, verifyUrl, answer) {
  button.disabled = true;
  const opts = await postJSON(optionsUrl, body);
  if (!opts.ok) return showError(button, opts.data.detail);
  let credential;
  try {
    credential = credentialJSON(await ask(opts.data));
  } catch (e) {
    return showError(button, button.dataset.msgCancelled);
  }
  const res = await postJSON(verifyUrl, answer(credential));
  if (!res.ok) return showError(button, res.data.detail);
  window.location.assign(res.data.redirect || "/");
}

function enrol(button) {
  const token = button.dataset.token;
  return ceremony(button, "/auth/passkey/register/options", { token },
    (o) => navigator.credentials.create({ publicKey: creationOptions(o) }),
    "/auth/passkey/register/verify", (credential) => ({ token, credential }));
}

function signIn(button) {
  const next = encodeURIComponent(button.dataset.next || "/");
  return ceremony(button, "/auth/passkey/login/options", undefined,
    (o) => navigator.credentials.get({ publicKey: requestOptions(o) }),
    `/auth/passkey/login/verify?next=${next}`, (credential) => ({ credential }));
}

function bind() {
  const e = document.getElementById("passkey-enrol");
  if (e && !e.dataset.bound) { e.dataset.bound = "1"; e.addEventListener("click", () => enrol(e)); }
  const s = document.getElementById("passkey-signin");
  if (s && !s.dataset.bound) { s.dataset.bound = "1"; s.addEventListener("click", () => signIn(s)); }
}

bind();
document.addEventListener("htmx:afterSettle", bind);
