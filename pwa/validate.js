// The phone checks a record before it enters the outbox, offline too, against the rules the
// server renders into the form from schema/ (schema.forms.form_rules: each field's type and
// constraints, its skip logic `showIf`, the cross-field rules of schema.records.RULES, and the
// messages translated). This file interprets that block; it holds no rule of its own, so a
// constraint changed in schema/ changes the check here and on the server at once.
//
// Also: fields asked only after another answer appear only then (a hidden field is disabled,
// so it is not sent); text limits show what is left instead of cutting a paste short; a blank
// form cached days ago takes the phone's today (Vietnam time) for its dates and their `max`.

const TZ = "Asia/Ho_Chi_Minh";

function vnToday() {
  // en-CA formats as YYYY-MM-DD; the phone's clock, read in Vietnam time.
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}

const ISO = /^\d{4}-\d{2}-\d{2}$/;
const dayNumber = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 86400000;
const addDays = (iso, n) => new Date((dayNumber(iso) + n) * 86400000).toISOString().slice(0, 10);

function rulesOf(form) {
  if (form._rules !== undefined) return form._rules;
  const block = form.dataset.rules && document.getElementById(form.dataset.rules);
  try { form._rules = block ? JSON.parse(block.textContent) : null; } catch (e) { form._rules = null; }
  return form._rules;
}

const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (m, k) => (k in values ? String(values[k]) : m));
const inputs = (form, name) => [...form.elements].filter((el) => el.name === name);

function valueOf(form, name, rule) {
  const dot = name.indexOf(".");
  if (dot > 0) {
    // An attribute of the chosen option, e.g. "person.category": the person's category.
    const picker = inputs(form, name.slice(0, dot))[0];
    const chosen = picker && picker.selectedOptions ? picker.selectedOptions[0] : null;
    return chosen ? (chosen.dataset[name.slice(dot + 1)] || "") : "";
  }
  const els = inputs(form, name);
  if (!els.length) return undefined;
  if (rule && rule.type === "list") return els.filter((el) => el.checked).map((el) => el.value);
  if (els[0].type === "radio" || els[0].type === "checkbox") {
    const on = els.find((el) => el.checked);
    return on ? on.value : "";
  }
  return els[0].value;
}

function shown(form, name, rules, seen = new Set()) {
  const rule = rules.fields[name];
  if (!rule || !rule.showIf || seen.has(name)) return true;
  seen.add(name);
  return Object.entries(rule.showIf).every(([k, want]) =>
    shown(form, k, rules, seen) && String(valueOf(form, k, rules.fields[k]) ?? "") === want);
}

function applySkips(form) {
  const rules = rulesOf(form);
  if (!rules) return;
  for (const [name, rule] of Object.entries(rules.fields)) {
    if (!rule.showIf) continue;
    const box = form.querySelector(`#field-${name}`);
    if (!box) continue;
    const on = shown(form, name, rules);
    box.hidden = !on;
    // Disabled: a hidden answer is never sent (outbox.js skips disabled inputs).
    box.querySelectorAll("input, select, textarea").forEach((el) => { el.disabled = !on; });
  }
}

function fieldError(rule, raw, el, m, today) {
  const value = typeof raw === "string" ? raw.trim() : raw;
  const empty = value === undefined || value === "" || (Array.isArray(value) && !value.length);
  if (rule.type === "int" && el && el.validity && el.validity.badInput) {
    return fill(m.number, { min: rule.min ?? "", max: rule.max ?? "" });
  }
  if (rule.type === "list") {
    if (rule.minLength && value.length < rule.minLength) return m.min_chosen;
    if (rule.maxLength != null && value.length > rule.maxLength) return m.choices;
    return "";
  }
  if (empty) return rule.required ? m.required : "";
  if (rule.type === "str") {
    const n = [...value].length;  // characters, as the server counts them
    if (rule.maxLength != null && n > rule.maxLength) return fill(m.max_length, { n: rule.maxLength });
    if (rule.minLength && n < rule.minLength) return m.required;
    if (rule.pattern && !new RegExp(rule.pattern).test(value)) return m.format;
  } else if (rule.type === "int") {
    const n = Number(value);
    if (!Number.isInteger(n) || (rule.min != null && n < rule.min) || (rule.max != null && n > rule.max)) {
      return fill(m.number, { min: rule.min ?? "", max: rule.max ?? "" });
    }
  } else if (rule.type === "date") {
    if (!ISO.test(value) || Number.isNaN(dayNumber(value))) return m.date;
    if (rule.notFuture && value > today) return m.future;
  } else if (rule.type === "enum") {
    if (!rule.choices.includes(value)) return m.choice;
  } else if (rule.type === "bool") {
    if (value !== "true" && value !== "false") return m.bool;
  }
  return "";
}

// Every error of the form at once: {field name: message}; {} when it may be saved.
function check(form) {
  const rules = rulesOf(form);
  if (!rules) return {};
  const m = rules.messages;
  const today = vnToday();
  const errors = {};
  const values = {};
  for (const [name, rule] of Object.entries(rules.fields)) {
    const els = inputs(form, name);
    if (!els.length || !shown(form, name, rules)) continue;  // not asked: not checked, not sent
    values[name] = valueOf(form, name, rule);
    const message = fieldError(rule, values[name], els[0], m, today);
    if (message) errors[name] = message;
  }
  const present = (v) => v !== undefined && v !== "" && !(Array.isArray(v) && !v.length);
  for (const r of rules.rules) {
    const value = values[r.field];
    const other = values[r.other];
    if (errors[r.field] || (r.other && errors[r.other]) || !(r.field in values)) continue;
    if (r.check === "required") {
      const when = Object.entries(r.when).every(([k, v]) => String(values[k] ?? "") === v);
      if (when && !present(value)) errors[r.field] = r.message;
    } else if (!present(value) || !present(other)) {
      continue;
    } else if (r.check === "not_more") {
      if (Number(value) > Number(other)) errors[r.field] = fill(r.message, { n: Number(other) });
    } else if (r.check === "after") {
      if (value <= other) errors[r.field] = r.message;
    } else if (r.check === "within_days") {
      if (value > addDays(other, r.days)) errors[r.field] = r.message;
    }
  }
  return errors;
}

// Errors next to their fields, each once; what belongs to no field goes above the form.
function show(form, errors) {
  form.querySelectorAll(".field-error, .form-error").forEach((p) => p.remove());
  form.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  });
  const entries = Object.entries(errors || {});
  if (!entries.length) return;
  const rules = rulesOf(form);
  const general = new Set();
  let first = null;
  for (const [name, message] of entries) {
    const box = form.querySelector(`#field-${CSS.escape(name)}`);
    if (!box || box.hidden) { general.add(message); continue; }
    const p = document.createElement("p");
    p.className = "field-error";
    p.id = `err-${name}`;
    p.textContent = message;
    box.appendChild(p);
    const target = box.querySelector("fieldset") || box.querySelector("input, select, textarea");
    if (target) {
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-describedby", p.id);
      first = first || target;
    }
  }
  const top = document.createElement("p");
  top.className = "form-error";
  top.setAttribute("role", "alert");
  const intro = rules ? rules.messages.correct_below : "";
  top.textContent = [...general].join(" ") || intro;
  const after = [...form.querySelectorAll(":scope > input[type=hidden]")].pop();
  if (after) after.after(top); else form.prepend(top);
  (first && first.closest(".field") || top).scrollIntoView({ block: "center" });
}

function updateCounter(form, counter) {
  const el = inputs(form, counter.dataset.counterFor)[0];
  if (!el) return;
  const max = Number(counter.dataset.max);
  const left = max - [...el.value].length;
  const fmt = new Intl.NumberFormat(document.documentElement.lang || "vi");
  counter.textContent = `${fmt.format(left)} / ${fmt.format(max)}`;
  counter.classList.toggle("over", left < 0);
}

function freshDates(form) {
  // A blank form opened days after it was cached: its dates (today, or today + n for a
  // planned next visit) move by the days passed, on the phone's clock in Vietnam time.
  const rules = rulesOf(form);
  const today = vnToday();
  if (rules && form.hasAttribute("data-fresh") && !new URLSearchParams(window.location.search).get("outbox")) {
    const shift = dayNumber(today) - dayNumber(rules.today);
    if (shift) {
      form.querySelectorAll("input[type=date]").forEach((el) => {
        if (ISO.test(el.value)) el.value = addDays(el.value, shift);
      });
    }
  }
  form.removeAttribute("data-fresh");
  if (!rules) return;
  for (const [name, rule] of Object.entries(rules.fields)) {
    if (rule.notFuture) inputs(form, name).forEach((el) => { el.max = today; });
  }
}

function prepare(form) {
  if (form.dataset.checked) return;
  form.dataset.checked = "1";
  freshDates(form);
  applySkips(form);
  const counters = [...form.querySelectorAll("[data-counter-for]")];
  counters.forEach((c) => updateCounter(form, c));
  const again = (e) => {
    if (!e.target.name) return;
    applySkips(form);
    counters.filter((c) => c.dataset.counterFor === e.target.name).forEach((c) => updateCounter(form, c));
  };
  form.addEventListener("input", again);
  form.addEventListener("change", again);
}

function refresh(form) {
  // After values were set by a script (the Fix form prefilled from the outbox).
  applySkips(form);
  form.querySelectorAll("[data-counter-for]").forEach((c) => updateCounter(form, c));
}

function prepareAll() {
  document.querySelectorAll("form[data-rules]").forEach(prepare);
}

window.formCheck = { check, show, applySkips, prepare, refresh, vnToday };
prepareAll();
document.addEventListener("htmx:afterSettle", prepareAll);
