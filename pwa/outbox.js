// The outbox: every record the volunteer makes is written to IndexedDB first (online too — one
// path), then the sync loop sends it to POST /api/v1/sync. Nothing leaves the outbox without a
// server answer: a refused record stays, with its reason, until the user fixes or discards it.
//
// Per signed-in user: database "donghanh-<userId>" with stores records, meta and caseload.
// The loop runs on page load, on `online`, on `visibilitychange`, on a Background Sync message
// from the service worker, and on a timer with backoff. It reads the CSRF token from the cookie
// when it sends (the cookie may have been renewed since the record was queued).

const USER = document.body.dataset.user || "";
const T = (document.getElementById("outbox-i18n") || { dataset: {} }).dataset;
const BATCH = 100;
const BASE_DELAY = 15000;
const MAX_DELAY = 300000;
const FORM_PATHS = { training: "/training/new", counselling: "/counselling/new" };
const STATUSES = ["saved", "sending", "received", "returned", "approved", "rejected", "attention"];

let dbPromise = null;
let flushing = null;
let queued = null;
let delay = BASE_DELAY;
let timer = null;
let waitingForSignIn = false;

function openDB() {
  if (!USER) return Promise.reject(new Error("not signed in"));
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(`donghanh-${USER}`, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        const records = db.createObjectStore("records", { keyPath: "id" });
        records.createIndex("status", "status");
        db.createObjectStore("meta");
        db.createObjectStore("caseload", { keyPath: "id" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

function tx(store, mode, fn) {
  return openDB().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const s = t.objectStore(store);
    let result;
    Promise.resolve(fn(s)).then((r) => { result = r; });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  }));
}

function req2p(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

const getAll = (store) => tx(store, "readonly", (s) => req2p(s.getAll()));
const getMeta = (key) => tx("meta", "readonly", (s) => req2p(s.get(key)));
const setMeta = (key, value) => tx("meta", "readwrite", (s) => { s.put(value, key); });
const putRecord = (rec) => tx("records", "readwrite", (s) => { s.put(rec); });

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function ensureCsrf() {
  if (csrfToken()) return csrfToken();
  await fetch("/api/v1/me/updates?since=2100-01-01T00:00:00Z", { credentials: "same-origin" });
  return csrfToken();
}

// ------------------------------------------------------------------ public API

async function add(kind, data, opts = {}) {
  const now = new Date().toISOString();
  const rec = {
    id: opts.id || crypto.randomUUID(),
    kind,
    version: opts.version || 1,
    recorded_at: opts.recorded_at || now,
    data,
    label: opts.label || "",
    status: "saved",
    receipt: null,
    state: null,
    errors: {},
    reason: "",
    created: now,
    updated: now,
  };
  await putRecord(rec);
  await setMeta("lastSaved", now);
  refreshStatus();
  requestBackgroundSync();
  flush();
  return rec;
}

async function count() {
  const all = await getAll("records");
  return all.filter((r) => r.status === "saved" || r.status === "sending").length;
}

async function list() {
  const all = await getAll("records");
  return all.sort((a, b) => (a.created < b.created ? 1 : -1));
}

async function discard(id) {
  await tx("records", "readwrite", (s) => { s.delete(id); });
  refreshStatus();
}

async function exportFile() {
  const all = await list();
  const blob = new Blob([JSON.stringify({ exported_at: new Date().toISOString(), records: all }, null, 2)],
    { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `donghanh-outbox-${new Date().toISOString().slice(0, 10)}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

// ------------------------------------------------------------------ the sync loop

function flush() {
  if (!USER) return Promise.resolve({ sent: 0 });
  if (flushing) {
    // Asked again while a flush runs (it may have started before the network came back):
    // run once more after it, and let every caller wait for that run.
    if (!queued) queued = flushing.then(() => { queued = null; return flush(); });
    return queued;
  }
  const run = async () => {
    let sent = 0;
    try {
      for (;;) {
        const all = await getAll("records");
        // A record left "sending" by a page closed mid-request is sent again: the server
        // answers "unchanged" if it had stored it.
        const batch = all.filter((r) => r.status === "saved" || r.status === "sending").slice(0, BATCH);
        if (!batch.length) break;
        const ok = await sendBatch(batch);
        if (!ok) { schedule(false); return { sent, ok: false }; }
        sent += batch.length;
      }
      await pullUpdates();
      await refreshCaseload();
      await refreshCommuneUsers();
      await setMeta("lastSync", new Date().toISOString());
      schedule(true);
      return { sent, ok: true };
    } catch (e) {
      schedule(false);
      return { sent, ok: false, error: String(e) };
    } finally {
      flushing = null;
      refreshStatus();
    }
  };
  flushing = navigator.locks ? navigator.locks.request(`donghanh-flush-${USER}`, run) : run();
  return flushing;
}

async function sendBatch(batch) {
  await tx("records", "readwrite", (s) => { batch.forEach((r) => s.put({ ...r, status: "sending" })); });
  refreshStatus();
  const body = JSON.stringify({
    records: batch.map((r) => ({ id: r.id, kind: r.kind, version: r.version, recorded_at: r.recorded_at, data: r.data })),
  });
  let res;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      res = await fetch("/api/v1/sync", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "x-csrftoken": await ensureCsrf() },
        body,
      });
    } catch (e) {
      await markSaved(batch);  // offline: nothing was answered, keep everything
      return false;
    }
    if (res.status === 403 && attempt === 0) {
      // The CSRF cookie expired with the browser session: fetch a fresh one and retry once.
      document.cookie = "csrftoken=; Max-Age=0; path=/";
      continue;
    }
    break;
  }
  if (res.status === 401) {
    waitingForSignIn = true;
    await markSaved(batch);
    showSignInNeeded();
    return false;
  }
  if (!res.ok) {
    await markSaved(batch);
    return false;
  }
  waitingForSignIn = false;
  const answer = await res.json();
  const byId = new Map((answer.results || []).map((r) => [r.id, r]));
  await tx("records", "readwrite", (s) => {
    batch.forEach((rec) => {
      const r = byId.get(rec.id);
      if (!r) { s.put({ ...rec, status: "saved" }); return; }
      const updated = new Date().toISOString();
      if (r.outcome === "stored" || r.outcome === "unchanged") {
        // Least data on the phone: once the server holds the record, keep only its receipt.
        s.put({ ...rec, status: statusFromState(r.state), state: r.state, receipt: r.receipt,
          version: r.version || rec.version, data: null, errors: {}, reason: "", updated });
      } else {
        s.put({ ...rec, status: "attention", errors: r.errors || {}, reason: reasonFor(r), updated,
          serverVersion: r.version });
      }
    });
  });
  return true;
}

function reasonFor(r) {
  if (r.outcome === "conflict") return T.conflict || "conflict";
  if (r.outcome === "forbidden") return T.forbidden || "forbidden";
  return T.invalid || "invalid";
}

function statusFromState(state) {
  if (state === "returned" || state === "approved" || state === "rejected") return state;
  return "received";
}

async function markSaved(batch) {
  await tx("records", "readwrite", (s) => { batch.forEach((r) => s.put({ ...r, status: "saved" })); });
}

async function pullUpdates() {
  const since = await getMeta("updatesCursor");
  const res = await fetch(`/api/v1/me/updates${since ? `?since=${encodeURIComponent(since)}` : ""}`,
    { credentials: "same-origin" });
  if (!res.ok) return;
  const answer = await res.json();
  const updates = answer.updates || [];
  if (updates.length) {
    await tx("records", "readwrite", async (s) => {
      for (const u of updates) {
        const rec = await req2p(s.get(u.id));
        if (rec && rec.status !== "saved" && rec.status !== "sending" && rec.status !== "attention") {
          s.put({ ...rec, status: statusFromState(u.state), state: u.state, version: u.version,
            comment: u.comment, receipt: u.receipt || rec.receipt, updated: u.updated_at });
        }
      }
    });
  }
  if (answer.cursor) await setMeta("updatesCursor", answer.cursor);
}

async function refreshCaseload() {
  if (document.body.dataset.role !== "volunteer") return;
  const res = await fetch("/api/v1/me/caseload", { credentials: "same-origin" });
  if (!res.ok) return;
  const answer = await res.json();
  const people = Array.isArray(answer) ? answer : (answer.people || answer.caseload || []);
  await tx("caseload", "readwrite", (s) => { s.clear(); people.forEach((p) => s.put(p)); });
  await setMeta("caseloadAt", new Date().toISOString());
}

async function refreshCommuneUsers() {
  // Display names of the commune's users, for the training form's participant list when it
  // is opened offline (names only; answered to officials and the users their commune allows).
  const role = document.body.dataset.role;
  if (role !== "official" && role !== "volunteer") return;
  const at = await getMeta("communeUsersAt");
  if (at && Date.now() - Date.parse(at) < 600000 && !document.querySelector("[data-users-picker]")) return;
  const res = await fetch("/api/v1/me/commune-users", { credentials: "same-origin" });
  if (!res.ok) return;
  const answer = await res.json();
  await setMeta("communeUsers", answer.users || []);
  await setMeta("communeUsersAt", new Date().toISOString());
}

function schedule(success) {
  // After a failure wait twice as long each time (15 s … 5 min); after a success, a minute.
  delay = success ? BASE_DELAY * 4 : Math.min(delay * 2, MAX_DELAY);
  clearTimeout(timer);
  timer = setTimeout(flush, delay);
}

function requestBackgroundSync() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register("outbox")).catch(() => {});
}

// ------------------------------------------------------------------ status on every page

async function refreshStatus() {
  const el = document.getElementById("outbox-status");
  if (!el || !USER) return;
  const all = await getAll("records").catch(() => []);
  const waiting = all.filter((r) => r.status === "saved" || r.status === "sending").length;
  const attention = all.filter((r) => r.status === "attention").length;
  const last = await getMeta("lastSync").catch(() => null);
  const lastText = last ? new Date(last).toLocaleTimeString(document.documentElement.lang || "vi", { hour: "2-digit", minute: "2-digit" }) : (T.never || "—");
  let text = `${T.waiting || "waiting"}: ${waiting} · ${T.lastSync || "last sync"}: ${lastText}`;
  if (attention) text += ` · ${T.attention || "needs attention"}: ${attention}`;
  if (waitingForSignIn) text += ` · ${T.signIn || "sign in"}`;
  el.textContent = text;
  el.dataset.waiting = String(waiting);
  el.dataset.attention = String(attention);
  el.classList.toggle("waiting", waiting > 0 || attention > 0);
  el.hidden = false;
  renderList();
}

function showSignInNeeded() {
  const el = document.getElementById("outbox-signin");
  if (el) el.hidden = false;
}

// ------------------------------------------------------------------ forms go to the outbox

function formData(form) {
  const data = {};
  const multi = new Set();
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.name.startsWith("_") || ["id", "version", "recorded_at"].includes(el.name)) continue;
    if (el.type === "checkbox" && (el.closest("[data-users-picker]") || form.querySelectorAll(`input[type=checkbox][name="${el.name}"]`).length > 1)) multi.add(el.name);
  }
  for (const name of multi) data[name] = [];
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.name.startsWith("_") || ["id", "version", "recorded_at"].includes(el.name)) continue;
    if (el.type === "submit" || el.type === "button") continue;
    if (el.type === "checkbox") {
      if (multi.has(el.name)) { if (el.checked) data[el.name].push(el.value); }
      else data[el.name] = el.checked ? (el.value === "on" ? true : el.value) : (el.value === "on" ? false : undefined);
      continue;
    }
    if (el.type === "radio") { if (el.checked) data[el.name] = el.value; continue; }
    if (el.tagName === "SELECT" && el.multiple) { data[el.name] = [...el.selectedOptions].map((o) => o.value); continue; }
    if (el.value === "") continue;  // empty optional fields are left out
    data[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  for (const k of Object.keys(data)) if (data[k] === undefined) delete data[k];
  return data;
}

function labelFor(form, data) {
  const bits = [form.dataset.outboxLabel || form.dataset.outboxKind];
  const person = form.querySelector("select[name=person]");
  if (person && person.selectedOptions[0] && person.value) bits.push(person.selectedOptions[0].textContent.trim());
  const date = data.date || data.visit_date || data.talk_date || data.entry_date;
  if (date) bits.push(date);
  return bits.join(" · ");
}

function freshId(form) {
  // A new record gets its UUID on the phone when the form opens (a cached blank form must
  // not hand out the same id twice); a correction (version > 1) keeps the record's id.
  const id = form.querySelector("input[name=id]");
  const version = Number((form.querySelector("input[name=version]") || {}).value || 1);
  if (id && !form.dataset.outboxEdit && version === 1) id.value = crypto.randomUUID();
}

async function onSubmit(event) {
  const form = event.target.closest("form[data-outbox-kind]");
  if (!form || !USER) return;
  event.preventDefault();
  event.stopPropagation();
  const data = formData(form);
  const idInput = form.querySelector("input[name=id]");
  const version = Number((form.querySelector("input[name=version]") || {}).value || 1);
  const rec = await add(form.dataset.outboxKind, data, {
    id: idInput && idInput.value ? idInput.value : undefined,
    version,
    label: labelFor(form, data),
  });
  const note = document.getElementById("outbox-saved");
  if (note) { note.hidden = false; note.dataset.record = rec.id; }
  form.reset();
  delete form.dataset.outboxEdit;
  freshId(form);
  const next = form.dataset.outboxNext;
  if (next) window.location.assign(next);
  else window.scrollTo(0, 0);
}

async function prefillFromOutbox() {
  // /visits/new?outbox=<id>: fix a refused record in its own form, same id and version.
  const id = new URLSearchParams(window.location.search).get("outbox");
  const form = document.querySelector("form[data-outbox-kind]");
  if (!id || !form || !USER) return;
  const rec = await tx("records", "readonly", (s) => req2p(s.get(id)));
  if (!rec || !rec.data) return;
  form.dataset.outboxEdit = "1";
  form.querySelector("input[name=id]").value = rec.id;
  const v = form.querySelector("input[name=version]");
  if (v) v.value = rec.version;
  for (const [name, value] of Object.entries(rec.data)) {
    // A participant list not filled yet takes the choice when it is (fillUserPickers).
    form.querySelectorAll(`[data-users-picker][data-name="${name}"]`).forEach((host) => {
      host.dataset.chosen = Array.isArray(value) ? value.join(",") : String(value);
    });
    const els = form.querySelectorAll(`[name="${name}"]`);
    els.forEach((el) => {
      if (el.type === "checkbox") el.checked = Array.isArray(value) ? value.includes(el.value) : !!value;
      else if (el.type === "radio") el.checked = el.value === String(value);
      else el.value = value;
    });
  }
  for (const [name, message] of Object.entries(rec.errors || {})) {
    const el = form.querySelector(`[name="${name}"]`);
    if (!el) continue;
    el.setAttribute("aria-invalid", "true");
    const p = document.createElement("p");
    p.className = "field-error";
    p.textContent = message;
    el.closest("label, fieldset, div")?.after(p);
  }
}

async function fillCaseloadPickers() {
  // Cached blank forms carry no names: the person picker is filled from the phone's caseload.
  const pickers = document.querySelectorAll("select[data-caseload-picker]");
  if (!pickers.length || !USER) return;
  const people = await getAll("caseload").catch(() => []);
  const wanted = new URLSearchParams(window.location.search).get("person");
  pickers.forEach((sel) => {
    if (sel.options.length > 1) return;
    people.forEach((p) => {
      const o = document.createElement("option");
      o.value = p.id;
      o.textContent = `${p.code} · ${p.name || p.display_name || ""}`;
      if (String(p.id) === wanted) o.selected = true;
      sel.appendChild(o);
    });
  });
}

async function fillUserPickers() {
  // The cached blank training form has an empty participant list: fill it from the phone.
  const hosts = document.querySelectorAll("[data-users-picker]");
  if (!hosts.length || !USER) return;
  const users = (await getMeta("communeUsers").catch(() => null)) || [];
  hosts.forEach((host) => {
    if (host.querySelector("input")) return;
    const chosen = (host.dataset.chosen || "").split(",");
    users.forEach((u) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = host.dataset.name;
      box.value = String(u.id);
      box.checked = chosen.includes(String(u.id));
      label.append(box, ` ${u.name}`);
      host.appendChild(label);
    });
  });
}

function fillTimeNow() {
  // A cached blank form has no time in it: take the phone's clock when it opens.
  document.querySelectorAll("form[data-outbox-kind] input[type=time]").forEach((el) => {
    if (!el.value) el.value = new Date().toTimeString().slice(0, 5);
  });
}

async function renderCaseload() {
  const host = document.getElementById("offline-caseload");
  if (!host || !USER) return;
  const people = await getAll("caseload").catch(() => []);
  host.replaceChildren();
  people.sort((a, b) => String(a.due || a.due_date || "").localeCompare(String(b.due || b.due_date || "")));
  for (const p of people) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/visits/new?person=${encodeURIComponent(p.id)}`;
    a.textContent = `${p.code} · ${p.name || p.display_name || ""}`;
    const meta = document.createElement("div");
    meta.className = "hint";
    meta.textContent = [p.village, p.category_label || p.category, p.due || p.due_date].filter(Boolean).join(" · ");
    li.append(a, meta);
    host.appendChild(li);
  }
}

// ------------------------------------------------------------------ the outbox list page

const STATUS_CLASS = { saved: "saved", sending: "sending", received: "received", returned: "returned",
  approved: "approved", rejected: "rejected", attention: "attention" };

async function renderList() {
  const host = document.getElementById("outbox-list");
  if (!host || !USER) return;
  const all = await list().catch(() => []);
  host.replaceChildren();
  if (!all.length) {
    const p = document.createElement("p");
    p.textContent = T.empty || "";
    host.appendChild(p);
    return;
  }
  for (const r of all) {
    const item = document.createElement("li");
    item.className = "card outbox-item";
    item.dataset.id = r.id;
    item.dataset.status = r.status;
    const badge = document.createElement("span");
    badge.className = `badge ${STATUS_CLASS[r.status] || ""}`;
    badge.textContent = T[`status_${r.status}`] || r.status;
    const title = document.createElement("b");
    title.textContent = ` ${r.label || r.kind}`;
    item.append(badge, title);
    if (r.receipt) {
      const rc = document.createElement("div");
      rc.className = "hint";
      rc.textContent = `${T.receipt || "receipt"}: ${r.receipt}`;
      item.appendChild(rc);
    }
    if (r.comment) {
      const c = document.createElement("div");
      c.className = "warning";
      c.textContent = r.comment;
      item.appendChild(c);
    }
    if (r.status === "attention") {
      const why = document.createElement("div");
      why.className = "form-error";
      const details = Object.entries(r.errors || {}).map(([k, v]) => `${k}: ${v}`).join("; ");
      why.textContent = [r.reason, details].filter(Boolean).join(" — ");
      item.appendChild(why);
      const fix = document.createElement("a");
      fix.className = "button";
      // The record's own form, prefilled from the outbox with the server's errors.
      fix.href = r.kind === "referral_status" && r.data && r.data.referral
        ? `/referrals/${encodeURIComponent(r.data.referral)}?outbox=${r.id}`
        : `${FORM_PATHS[r.kind] || `/${r.kind}s/new`}?outbox=${r.id}`;
      fix.textContent = T.fix || "Fix";
      const drop = document.createElement("button");
      drop.type = "button";
      drop.className = "danger outbox-discard";
      drop.textContent = T.discard || "Discard";
      drop.addEventListener("click", async () => {
        if (window.confirm(T.confirmDiscard || "Discard?")) await discard(r.id);
      });
      item.append(fix, " ", drop);
    }
    host.appendChild(item);
  }
}

// ------------------------------------------------------------------ sign-out

async function wipeEverything() {
  // After sign-out nothing of the previous user stays on the phone (Clear-Site-Data does
  // this too where the browser honours it).
  if (indexedDB.databases) {
    const dbs = await indexedDB.databases();
    await Promise.all(dbs.filter((d) => d.name && d.name.startsWith("donghanh-")).map((d) => req2p(indexedDB.deleteDatabase(d.name)).catch(() => {})));
  }
  if (window.caches) {
    const keys = await caches.keys();
    await Promise.all(keys.map((k) => caches.delete(k)));
  }
}

// ------------------------------------------------------------------ start

window.outbox = { add, flush, count, list, discard, exportFile, refreshStatus };

if (USER) {
  document.addEventListener("submit", (e) => {
    if (e.target.id === "sign-out-form") {
      // confirm() must run before the submit goes on: decide synchronously from the last count.
      const waiting = Number(document.getElementById("outbox-status")?.dataset.waiting || 0)
        + Number(document.getElementById("outbox-status")?.dataset.attention || 0);
      if (waiting && !window.confirm((T.confirmSignOut || "{n}").replace("{n}", waiting))) e.preventDefault();
      return;
    }
    onSubmit(e);
  }, true);
  window.addEventListener("online", () => flush());
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flush(); });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", (e) => { if (e.data === "flush") flush(); });
    navigator.serviceWorker.ready.then((reg) => reg.active && reg.active.postMessage("cache-shell")).catch(() => {});
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  const setup = () => {
    document.querySelectorAll("form[data-outbox-kind]").forEach(freshId);
    prefillFromOutbox();
    fillCaseloadPickers();
    fillUserPickers();
    fillTimeNow();
    renderCaseload();
    refreshStatus();
    const exp = document.getElementById("outbox-export");
    if (exp && !exp.dataset.bound) { exp.dataset.bound = "1"; exp.addEventListener("click", exportFile); }
    const retry = document.getElementById("outbox-retry");
    if (retry && !retry.dataset.bound) { retry.dataset.bound = "1"; retry.addEventListener("click", () => flush()); }
  };
  setup();
  document.addEventListener("htmx:afterSettle", setup);
  flush();
} else if (new URLSearchParams(window.location.search).get("signed_out")) {
  wipeEverything();
}
