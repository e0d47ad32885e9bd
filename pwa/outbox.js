// The outbox: every record the volunteer makes is written to IndexedDB first (online too — one
// path), then the sync loop sends it to POST /api/v1/sync. Nothing leaves the outbox without a
// server answer: a refused record stays, with its reason, until the user fixes or discards it.
//
// Per signed-in user: database "donghanh-<userId>" with stores records, meta and caseload.
// The loop runs on page load, on `online`, on `visibilitychange`, on a Background Sync message
// from the service worker, and on a timer with backoff. It reads the CSRF token from the cookie
// when it sends (the cookie may have been renewed since the record was queued).
//
// Every write of a record is a compare-and-set inside one IndexedDB transaction (`change`):
// each record carries a revision `rev`, and a write made from an answer to a request only
// lands if the record still has the revision that request sent. So a record edited ("Fix")
// or discarded while its batch is in flight is never overwritten by a stale copy, and a
// discarded record is never brought back.
//
// A phone may be shared: a signed-in page first wipes every other user's outbox and cached
// pages (the sign-in page said so beforehand if any of them held unsent records).

const USER = document.body.dataset.user || "";
const T = (document.getElementById("outbox-i18n") || { dataset: {} }).dataset;
const BATCH = 100;
const BASE_DELAY = 15000;
const MAX_DELAY = 300000;
// A record left "sending" (its page navigated away or was closed mid-request) is sent again
// after this long. Where the browser has Web Locks, the flush that holds the lock knows no
// other page is sending and sends such records at once (the server's exactly-once makes a
// second copy of a request harmless: it answers "unchanged" with the same receipt).
const SENDING_TIMEOUT = 120000;
const UNSENT = ["saved", "sending", "attention"];
const SIGNED_OUT_KEY = "donghanh-signed-out";
const FORM_PATHS = { training: "/training/new", counselling: "/counselling/new" };

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
      const req = indexedDB.open(`donghanh-${USER}`, 2);
      req.onupgradeneeded = (event) => {
        const db = req.result;
        if (event.oldVersion < 1) {
          const records = db.createObjectStore("records", { keyPath: "id" });
          records.createIndex("status", "status");
          db.createObjectStore("meta");
          db.createObjectStore("caseload", { keyPath: "id" });
        } else if (event.oldVersion < 2) {
          // Version 1 kept a label with the person's name on every record, also after the
          // server had received it: drop it (the list now draws names from the caseload).
          req.transaction.objectStore("records").openCursor().onsuccess = (e) => {
            const cursor = e.target.result;
            if (!cursor) return;
            const { label, ...rest } = cursor.value;
            if (label !== undefined) cursor.update({ ...rest, rev: rest.rev || 0 });
            cursor.continue();
          };
        }
      };
      req.onsuccess = () => {
        // Let another page delete this database (the phone changing hands) instead of
        // blocking it.
        req.result.onversionchange = () => { req.result.close(); dbPromise = null; };
        resolve(req.result);
      };
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
    // A function that fails aborts its transaction: nothing half-written.
    let started;
    try { started = Promise.resolve(fn(s)); } catch (e) { started = Promise.reject(e); }
    started.then((r) => { result = r; },
      (e) => { try { t.abort(); } catch (_) { /* already finished */ } reject(e); });
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

// The one way a record is written: read the current copies and write the new ones in ONE
// transaction. `fn(current, id)` sees the record as it is now (undefined once discarded)
// and returns its next state, or null to leave it alone; the revision goes up by one.
// Answers the records written.
function change(ids, fn) {
  return tx("records", "readwrite", async (s) => {
    const current = await Promise.all(ids.map((id) => req2p(s.get(id))));
    const written = [];
    current.forEach((cur, i) => {
      const next = fn(cur, ids[i]);
      if (!next) return;
      next.rev = ((cur && cur.rev) || 0) + 1;
      s.put(next);
      written.push(next);
    });
    return written;
  });
}

// A write made from a request's answer: only onto the revision that request sent.
const ifSent = (sent, fn) => (cur) => (cur && cur.rev === sent.rev ? fn(cur) : null);

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function ensureCsrf() {
  if (csrfToken()) return csrfToken();
  // Any GET sets a fresh CSRF cookie, also a refused one: this one is answered without the
  // database (a cursor that is not a number is a 400).
  await fetch("/api/v1/me/updates?since=csrf", { credentials: "same-origin" });
  return csrfToken();
}

// ------------------------------------------------------------------ public API

// The one date formatter of the phone's own lists (the server's is server/fmt.py): dd/mm/yyyy,
// and hh:mm in Vietnam time, whatever the phone's own zone. A bare "yyyy-mm-dd" is a calendar
// day: read at UTC midnight it is the same day in Vietnam (UTC+7).
const VN_DATE = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric" });
const VN_TIME = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hour12: false });
function formatWhen(iso, time = false) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return iso || "";
  return (time ? VN_TIME : VN_DATE).format(d);
}

function dateOf(data) {
  return (data && (data.date || data.visit_date || data.talk_date || data.entry_date)) || "";
}

async function add(kind, data, opts = {}) {
  const now = new Date().toISOString();
  const id = opts.id || crypto.randomUUID();
  // A new record, or a correction saved over the one with the same id (its "Fix" form).
  const [rec] = await change([id], (cur) => ({
    id,
    kind,
    version: opts.version || 1,
    recorded_at: opts.recorded_at || now,
    data,
    // What the list shows once the content is gone: kind, date; never a person's name (a
    // name is looked up in the caseload when the list is drawn).
    title: opts.title || (cur && cur.title) || "",
    date: dateOf(data),
    person: data && data.person != null ? String(data.person) : "",
    status: "saved",
    receipt: null,
    state: null,
    errors: {},
    reason: "",
    created: (cur && cur.created) || now,
    updated: now,
  }));
  await setMeta("lastSaved", now);
  refreshStatus();
  flush();
  return rec;
}

async function count() {
  const all = await getAll("records");
  return all.filter((r) => r.status === "saved" || r.status === "sending").length;
}

async function get(id) {
  return tx("records", "readonly", (s) => req2p(s.get(id)));
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

// A page load refreshes the caseload only when the phone's copy is older than this: moving
// from page to page with full loads (the home, then a form) would otherwise download the
// same caseload each time. Every other flush (back online, the timer, "Send now", a record
// saved, a call of window.outbox.flush()) refreshes it always.
const CASELOAD_FRESH = 30000;

function flush(options = {}) {
  if (!USER) return Promise.resolve({ sent: 0 });
  if (flushing) {
    // Asked again while a flush runs (it may have started before the network came back):
    // run once more after it, and let every caller wait for that run.
    if (!queued) queued = flushing.then(() => { queued = null; return flush(); });
    return queued;
  }
  const run = async (lock) => {
    let sent = 0;
    const tried = new Set();
    try {
      for (;;) {
        const all = await getAll("records");
        const now = Date.now();
        // A record left "sending" by a page that went away mid-request is sent again: at
        // once when we hold the flush lock (nobody else can be sending), else after a while.
        const stale = (r) => r.status === "sending"
          && (lock || !r.sendingAt || now - Date.parse(r.sendingAt) > SENDING_TIMEOUT);
        const batch = all.filter((r) => !tried.has(r.id) && (r.status === "saved" || stale(r)))
          .slice(0, BATCH);
        if (!batch.length) break;
        batch.forEach((r) => tried.add(r.id));
        const answer = await sendBatch(batch);
        if (!answer.ok) { schedule(false); return { sent, ok: false }; }
        sent += answer.sent;
        if (answer.retry) {
          // The server could not store some records (not their fault): they stay waiting
          // and the timer sends them again, later each time.
          schedule(false);
          return { sent, ok: false, retry: answer.retry };
        }
      }
      await pullUpdates();
      const caseloadAt = options.pageLoad ? await getMeta("caseloadAt") : null;
      if (!caseloadAt || !(Date.now() - Date.parse(caseloadAt) < CASELOAD_FRESH)) await refreshCaseload();
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
  flushing = navigator.locks
    ? navigator.locks.request(`donghanh-flush-${USER}`, () => run(true))
    : run(false);
  return flushing;
}

function retryNow() {
  // "Send now": what is waiting goes at once, and the backoff starts again from 15 s.
  // Records that need attention are not sent again: the server would answer them the same
  // (invalid, conflict) until they are fixed; "Fix" saves and sends them.
  delay = BASE_DELAY;
  clearTimeout(timer);
  return flush();
}

async function sendBatch(candidates) {
  const sendingAt = new Date().toISOString();
  // Claim the records: only those still as they were read (not edited or discarded since).
  const claimed = await change(candidates.map((r) => r.id), (cur, id) => {
    const seen = candidates.find((r) => r.id === id);
    if (!cur || cur.rev !== seen.rev) return null;
    return { ...cur, status: "sending", sendingAt };
  });
  if (!claimed.length) return { ok: true, sent: 0 };
  const sentRev = new Map(claimed.map((r) => [r.id, r]));
  const only = (fn) => (cur, id) => ifSent(sentRev.get(id), fn)(cur);
  const ids = claimed.map((r) => r.id);
  const release = () => change(ids, only((cur) => ({ ...cur, status: "saved" })));
  refreshStatus();
  const body = JSON.stringify({
    records: claimed.map((r) => ({ id: r.id, kind: r.kind, version: r.version, recorded_at: r.recorded_at, data: r.data })),
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
      await release();  // offline: nothing was answered, keep everything
      // Where the browser has Background Sync it wakes the page when the network is back.
      // (Only now: registered while online it fires at once, around the backoff.)
      requestBackgroundSync();
      return { ok: false };
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
    await release();
    showSignInNeeded();
    return { ok: false };
  }
  if (!res.ok) {
    await release();
    return { ok: false };
  }
  waitingForSignIn = false;
  let answer;
  try { answer = await res.json(); } catch (e) { await release(); return { ok: false }; }
  const byId = new Map((answer.results || []).map((r) => [r.id, r]));
  let retry = 0;
  const updated = new Date().toISOString();
  await change(ids, only((cur) => {
    const r = byId.get(cur.id);
    if (!r) return { ...cur, status: "saved" };
    if (r.outcome === "stored" || r.outcome === "unchanged") {
      // Least data on the phone: once the server holds the record, keep only its kind,
      // date, receipt and state (no content, no label that could name a person).
      return { id: cur.id, kind: cur.kind, title: cur.title, date: cur.date, person: cur.person,
        status: statusFromState(r.state), state: r.state, receipt: r.receipt,
        version: r.version || cur.version, recorded_at: cur.recorded_at, data: null,
        errors: {}, reason: "", created: cur.created, updated };
    }
    if (r.outcome === "retry") {
      // Not the record's fault (the server's database was busy or unreachable): it stays
      // waiting, with the server's reason, and is sent again by itself.
      retry += 1;
      return { ...cur, status: "saved", reason: r.reason || T.retry || "", errors: {},
        retries: (cur.retries || 0) + 1, updated };
    }
    return { ...cur, status: "attention", errors: r.errors || {}, reason: reasonFor(r), updated,
      serverVersion: r.version };
  }));
  return { ok: true, sent: claimed.length - retry, retry };
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

async function pullUpdates() {
  // The feed: GET /api/v1/me/updates?since=<integer> → {updates: [... each with seq],
  // cursor: "<integer>", more}. Ask again while `more`; a 400 on the stored cursor (one from
  // before the feed counted in sequence numbers) drops it and starts without `since`.
  let since = await getMeta("updatesCursor");
  for (let pages = 0; pages < 100; pages++) {
    const query = since != null && since !== "" ? `?since=${encodeURIComponent(since)}` : "";
    const res = await fetch(`/api/v1/me/updates${query}`, { credentials: "same-origin" });
    if (res.status === 400 && query) {
      await setMeta("updatesCursor", null);
      since = null;
      continue;
    }
    if (!res.ok) return;
    const answer = await res.json();
    await applyUpdates(answer.updates || []);
    const next = answer.cursor != null ? String(answer.cursor) : since;
    if (next !== since) await setMeta("updatesCursor", next);
    if (!answer.more || next === since) return;  // no progress: never loop on one cursor
    since = next;
  }
}

function applyUpdates(updates) {
  // A decision reaches a record the server holds; never one the user is still editing or
  // sending, and never an older version over a newer one.
  const byId = new Map(updates.map((u) => [u.id, u]));
  if (!byId.size) return Promise.resolve([]);
  return change([...byId.keys()], (cur, id) => {
    const u = byId.get(id);
    if (!cur || UNSENT.includes(cur.status) || (u.version || 0) < (cur.version || 0)) return null;
    return { ...cur, status: statusFromState(u.state), state: u.state, version: u.version,
      comment: u.comment || "", receipt: u.receipt || cur.receipt, updated: u.updated_at || cur.updated };
  });
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
  // After failures in a row wait 15 s, 30 s, 1 min … up to 5 min; after a success, a minute.
  const wait = success ? BASE_DELAY * 4 : delay;
  delay = success ? BASE_DELAY : Math.min(delay * 2, MAX_DELAY);
  clearTimeout(timer);
  timer = setTimeout(flush, wait);
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
  const lastText = last ? formatWhen(last, true) : (T.never || "—");
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
  // Checked on the phone first, against the rules the server rendered from schema/
  // (validate.js): an invalid record never enters the outbox; every error shows at once.
  const check = window.formCheck;
  if (check) {
    check.applySkips(form);
    const errors = check.check(form);
    check.show(form, errors);
    if (Object.keys(errors).length) return;
  }
  const data = formData(form);
  const idInput = form.querySelector("input[name=id]");
  const version = Number((form.querySelector("input[name=version]") || {}).value || 1);
  const rec = await add(form.dataset.outboxKind, data, {
    id: idInput && idInput.value ? idInput.value : undefined,
    version,
    title: form.dataset.outboxLabel || "",
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
  // The form shows what the record holds, nothing else: a field left empty stays empty (the
  // blank form's defaults, such as a planned next-visit date, are not the user's answer).
  for (const el of form.elements) {
    if (!el.name || el.type === "hidden" || el.type === "submit" || el.name in rec.data) continue;
    if (el.type === "checkbox" || el.type === "radio") el.checked = false;
    else if (el.tagName === "SELECT") el.value = [...el.options].some((o) => o.value === "") ? "" : el.value;
    else el.value = "";
  }
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
  if (window.formCheck) {
    window.formCheck.refresh(form);
    // The server's errors next to their fields, each once (validate.js).
    window.formCheck.show(form, rec.errors || {});
    return;
  }
  form.querySelectorAll(".field-error").forEach((p) => p.remove());
  for (const [name, message] of Object.entries(rec.errors || {})) {
    const box = form.querySelector(`#field-${CSS.escape(name)}`);
    if (!box) continue;
    const p = document.createElement("p");
    p.className = "field-error";
    p.textContent = message;
    box.appendChild(p);
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
      o.dataset.category = p.category || "";  // skip logic: asked only of some categories
      if (String(p.id) === wanted) o.selected = true;
      sel.appendChild(o);
    });
  });
  // The questions a chosen person's category asks for (validate.js skip logic).
  if (window.formCheck) document.querySelectorAll("form[data-rules]").forEach((f) => window.formCheck.refresh(f));
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

// The phone's clock read in Vietnam time, as the forms' dates are (validate.js vnToday): a
// phone set to another zone would otherwise fill an hour the server refuses as "in the future"
// on Vietnam's date, or records the wrong hour. h23: midnight is 00, never 24.
const VN_CLOCK = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

function fillTimeNow() {
  // A cached blank form has no time in it: take the phone's clock when it opens.
  document.querySelectorAll("form[data-outbox-kind] input[type=time]").forEach((el) => {
    if (!el.value) el.value = VN_CLOCK.format(new Date());
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
  // A person's name is never stored with a record: it is shown while they are in the
  // caseload the phone holds, looked up by id.
  const people = new Map((await getAll("caseload").catch(() => [])).map((p) => [String(p.id), p]));
  host.replaceChildren();
  if (!all.length) {
    const p = document.createElement("li");  // the host is a <ul>: only items may be in it
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
    const person = r.person && people.get(String(r.person));
    // The kind in words (never a code such as `referral_status`), in the page's language.
    title.textContent = ` ${[T[`kind_${r.kind}`] || r.title || r.kind, person ? person.name || person.display_name : "", formatWhen(r.date)]
      .filter(Boolean).join(" · ")}`;
    item.append(badge, title);
    if (r.status === "saved" && r.reason) {
      // Waiting because the server could not store it yet: it is sent again by itself.
      const why = document.createElement("div");
      why.className = "hint outbox-retry-reason";
      why.textContent = r.reason;
      item.appendChild(why);
    }
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
      // Messages only, each once: never a field's code; "Fix" shows each next to its field.
      const details = [...new Set(Object.values(r.errors || {}))].join(" ");
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

// ------------------------------------------------------------------ sign-out and a shared phone

async function outboxDatabases() {
  if (!indexedDB.databases) return [];
  const dbs = await indexedDB.databases().catch(() => []);
  return dbs.map((d) => d.name).filter((n) => n && n.startsWith("donghanh-"));
}

function deleteDatabase(name) {
  return new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = () => resolve();
  });
}

async function deleteShellCaches(keep) {
  // The service worker caches each user's shell pages apart: "donghanh-shell-<ver>-<user>".
  if (!window.caches) return;
  const keys = await caches.keys();
  await Promise.all(keys.filter((k) => k.startsWith("donghanh-shell-") && !(keep && k.endsWith(`-${keep}`)))
    .map((k) => caches.delete(k)));
}

function userOf(name) {
  return name.slice("donghanh-".length);
}

async function forgetUser(name) {
  await deleteDatabase(name);
  if (window.caches) {
    const keys = await caches.keys();
    await Promise.all(keys.filter((k) => k.startsWith("donghanh-shell-") && k.endsWith(`-${userOf(name)}`))
      .map((k) => caches.delete(k)));
  }
}

function openExisting(name) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onupgradeneeded = () => { r.transaction.abort(); };  // not an outbox: leave it
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function unsentIn(name) {
  // Records of another account that have not reached the server; its caseload (person
  // names) is dropped meanwhile: only its owner, signed in again, needs it.
  const db = await openExisting(name);
  try {
    const t = db.transaction(["records", "caseload"], "readwrite");
    const all = await req2p(t.objectStore("records").getAll());
    t.objectStore("caseload").clear();
    return all.filter((r) => UNSENT.includes(r.status)).length;
  } finally {
    db.close();
  }
}

async function claimPhone() {
  // A signed-in page: whatever another user left on this phone goes before anything of ours
  // is drawn. (The sign-in page told whoever signed in if it held unsent records.)
  const others = (await outboxDatabases()).filter((n) => n !== `donghanh-${USER}`);
  await Promise.all(others.map(deleteDatabase));
  await deleteShellCaches(USER);
}

async function guardSignedOut() {
  // The sign-in and enrolment pages (only they: a public page may be open beside a signed-in
  // one, and must not touch its outbox). The user who signed out after the
  // check chose to lose what was unsent: wipe it all (Clear-Site-Data has done so already
  // where the browser honours it). Otherwise an account's outbox holding nothing unsent is
  // wiped; one holding unsent records stays until its owner signs in again and sends them,
  // or a different person signs in — which this page says before they do.
  const passkey = document.getElementById("passkey-signin") || document.getElementById("passkey-enrol");
  if (!passkey) return;
  const chosen = sessionStorage.getItem(SIGNED_OUT_KEY);
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  let unsent = 0;
  for (const name of await outboxDatabases()) {
    let n = 0;
    // An outbox that cannot be read is kept: nothing is deleted without knowing it is safe.
    if (name !== `donghanh-${chosen}`) n = await unsentIn(name).catch(() => -1);
    if (n > 0) unsent += n;
    else if (n === 0) await forgetUser(name);
  }
  if (unsent) {
    const warn = document.createElement("p");
    warn.id = "outbox-others";
    warn.className = "warning";
    warn.setAttribute("role", "alert");
    warn.textContent = (T.othersUnsent || "{n}").replace("{n}", unsent);
    passkey.closest("section, main")?.prepend(warn);
  }
}

async function onSignOut(event) {
  // Always intercepted: the outbox itself is read (not a count drawn on the page), and the
  // form only asks the server to clear the site's data once the user has chosen it.
  const form = event.target;
  const wipe = form.elements.namedItem("wipe");
  event.preventDefault();
  event.stopPropagation();
  if (form.dataset.checking) return;
  form.dataset.checking = "1";
  try {
    const unsent = (await getAll("records")).filter((r) => UNSENT.includes(r.status)).length;
    if (unsent && !window.confirm((T.confirmSignOut || "{n}").replace("{n}", unsent))) return;
    if (wipe) wipe.value = "1";
    sessionStorage.setItem(SIGNED_OUT_KEY, USER);
  } catch (e) {
    // The outbox could not be read: sign out without wiping; the sign-in page decides.
    if (wipe) wipe.value = "";
    sessionStorage.removeItem(SIGNED_OUT_KEY);
  } finally {
    delete form.dataset.checking;
  }
  form.submit();
}

// ------------------------------------------------------------------ start

window.outbox = { add, flush, retryNow, count, list, get, discard, exportFile, refreshStatus };

async function start() {
  await claimPhone().catch(() => {});
  document.addEventListener("submit", (e) => {
    if (e.target.id === "sign-out-form") onSignOut(e);
    else onSubmit(e);
  }, true);
  window.addEventListener("online", () => flush());
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flush(); });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", (e) => { if (e.data === "flush") flush(); });
    navigator.serviceWorker.ready
      .then((reg) => reg.active && reg.active.postMessage({ type: "user", user: USER }))
      .catch(() => {});
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
    if (retry && !retry.dataset.bound) { retry.dataset.bound = "1"; retry.addEventListener("click", () => retryNow()); }
  };
  setup();
  document.addEventListener("htmx:afterSettle", setup);
  flush({ pageLoad: true });
}

if (USER) {
  window.outbox.ready = start();
} else {
  window.outbox.ready = guardSignedOut().catch(() => {});
}
