// Vagus Studio: edits the agent's YAML through the server's /studio/api (forms from the config's
// schema, a flow graph drawn and edited with Cytoscape.js), shows the diff before saving, keeps
// history, and embeds the talk page. No framework, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { schema: null, providers: null, file: null, original: {}, data: {}, errors: [], selected: null,
  connectFrom: null, connecting: false, cy: null, timer: null };

// ---- the server ------------------------------------------------------------------------------------

function authHeaders() {
  const key = sessionStorage.getItem("vagus-key");
  return key ? { Authorization: "Bearer " + key } : {};
}

async function api(path, body) {
  const headers = { "Content-Type": "application/json", ...authHeaders() };
  const response = await fetch("/studio/api/" + path, body === undefined ? { headers } :
    { method: "POST", headers, body: JSON.stringify(body) });
  if (response.status === 401) {
    const entered = window.prompt("This server needs its API key:");
    if (entered) { sessionStorage.setItem("vagus-key", entered); return api(path, body); }
  }
  const json = await response.json().catch(() => ({ error: { message: "the server sent no JSON" } }));
  if (!response.ok && response.status !== 422) throw new Error((json.error && json.error.message) || response.statusText);
  return { status: response.status, ...json };
}

// A page of the server behind its API key (a new tab sends no Authorization header): fetched with the
// key, opened from memory.
async function openGuarded(event, url) {
  if (!sessionStorage.getItem("vagus-key")) return;  // no key: the link opens it
  event.preventDefault();
  const tab = window.open("", "_blank");
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) { tab.close(); notice(`Could not open it: ${response.status} ${response.statusText}`, true); return; }
  tab.location = URL.createObjectURL(new Blob([await response.text()], { type: "text/html" }));
}

function notice(text, bad) {
  const el = $("notice");
  el.textContent = text;
  el.className = "notice" + (bad ? " bad" : "");
  el.hidden = !text;
}

// ---- values by path --------------------------------------------------------------------------------

const clone = (v) => JSON.parse(JSON.stringify(v === undefined ? null : v));
function getAt(obj, path) { return path.reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj); }
function setAt(obj, path, value) {
  let o = obj;
  path.slice(0, -1).forEach((k) => { if (!o[k] || typeof o[k] !== "object" || Array.isArray(o[k])) o[k] = {}; o = o[k]; });
  o[path[path.length - 1]] = value;
}
function unsetAt(obj, path) {
  const parents = [];
  let o = obj;
  for (const k of path.slice(0, -1)) { if (!o || typeof o !== "object") return; parents.push([o, k]); o = o[k]; }
  if (o && typeof o === "object") delete o[path[path.length - 1]];
  for (let i = parents.length - 1; i >= 0; i--) {
    const [p, k] = parents[i];
    if (p[k] && typeof p[k] === "object" && !Array.isArray(p[k]) && Object.keys(p[k]).length === 0) delete p[k]; else break;
  }
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** A field's new value: written when the file had the key or it differs from the default; otherwise
 *  the key stays out of the file (so the diff is only what the builder changed). */
function change(path, value, fallback) {
  const inFile = getAt(state.original, path) !== undefined;
  if (value === undefined || (!inFile && same(value, fallback))) unsetAt(state.data, path);
  else setAt(state.data, path, value);
  changed();
}

function changed() {
  const dirty = !same(state.data, state.original);
  $("review").disabled = !dirty || !state.file.editable;
  $("revert").disabled = !dirty;
  $("state").textContent = dirty ? "unsaved changes" : "no changes";
  document.querySelectorAll(".field").forEach((f) => {
    const path = f.dataset.path.split(".");
    f.classList.toggle("changed", !same(getAt(state.data, path), getAt(state.original, path)));
  });
  clearTimeout(state.timer);
  state.timer = setTimeout(validateNow, 250);
}

async function validateNow() {
  const result = await api("validate", { data: state.data });
  showErrors(result.errors || []);
}

function showErrors(errors) {
  state.errors = errors;
  document.querySelectorAll(".field .error").forEach((e) => e.remove());
  document.querySelectorAll(".field.invalid").forEach((e) => e.classList.remove("invalid"));
  const loose = [];
  for (const error of errors) {
    let field = null;
    for (let n = error.path.split(".").length; n > 0 && !field; n--) {
      field = document.querySelector(`.field[data-path="${CSS.escape(error.path.split(".").slice(0, n).join("."))}"]`);
    }
    if (field) {
      field.classList.add("invalid");
      const p = document.createElement("span");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = error.message;
      field.querySelector(".control").append(p);
    } else loose.push(error);
  }
  const flowErrors = $("flow-errors");
  flowErrors.replaceChildren(...errors.filter((e) => e.path.startsWith("flow")).map((e) => {
    const li = document.createElement("li"); li.textContent = `${e.path}: ${e.message}`; return li;
  }));
  if (loose.length && !loose.every((e) => e.path.startsWith("flow"))) {
    notice(loose.map((e) => `${e.path || "config"}: ${e.message}`).join("; "), true);
  }
}

// ---- forms from the schema -------------------------------------------------------------------------

function resolve(schema) {
  if (!schema) return {};
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { ...resolve(state.schema.$defs[name]), description: schema.description || state.schema.$defs[name].description, default: schema.default };
  }
  if (schema.anyOf) {
    const kinds = schema.anyOf.filter((s) => s.type !== "null");
    const nullable = kinds.length < schema.anyOf.length;
    if (kinds.length === 1) return { ...resolve(kinds[0]), nullable, description: schema.description, default: schema.default, title: schema.title };
    return { ...schema, mixed: true, nullable };
  }
  return schema;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v); });
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

let fieldCounter = 0;
function field(path, schema, fallback) {
  const s = resolve(schema);
  const id = "f" + (++fieldCounter);
  const value = getAt(state.data, path);
  const shown = value === undefined ? fallback : value;
  const wrap = el("div", { class: "field", "data-path": path.join(".") });
  const control = el("div", { class: "control" });
  let input;
  const isLong = /prompt|instructions/.test(path[path.length - 1]);
  if (s.type === "boolean") {
    input = el("input", { type: "checkbox", id });
    input.checked = !!shown;
    input.addEventListener("change", () => change(path, input.checked, fallback));
  } else if (s.enum || s.const !== undefined) {
    input = el("select", { id });
    const options = s.enum || [s.const];
    if (s.nullable) input.append(el("option", { value: "__null__" }, "(none)"));
    options.forEach((o) => input.append(el("option", { value: JSON.stringify(o) }, String(o))));
    input.value = shown === null || shown === undefined ? "__null__" : JSON.stringify(shown);
    input.addEventListener("change", () => change(path, input.value === "__null__" ? null : JSON.parse(input.value), fallback));
  } else if (s.type === "integer" || s.type === "number") {
    input = el("input", { type: "number", id, step: s.type === "integer" ? "1" : "any",
      min: s.minimum ?? s.exclusiveMinimum, max: s.maximum ?? s.exclusiveMaximum,
      placeholder: s.nullable ? "(none)" : "" });
    input.value = shown === null || shown === undefined ? "" : shown;
    input.addEventListener("change", () => {
      if (input.value.trim() === "") change(path, s.nullable ? null : undefined, fallback);
      else change(path, Number(input.value), fallback);
    });
  } else if (s.type === "array" && s.items && resolve(s.items).enum) {
    input = el("div", { class: "choices", id, role: "group" });
    const chosen = new Set(shown || []);
    resolve(s.items).enum.forEach((o) => {
      const box = el("input", { type: "checkbox", value: o, "aria-label": `${path.join(".")} ${o}` });
      box.checked = chosen.has(o);
      box.addEventListener("change", () => {
        const now = [...input.querySelectorAll("input")].filter((b) => b.checked).map((b) => b.value);
        change(path, now, fallback);
        renderTools();
      });
      input.append(el("label", {}, box, " " + o));
    });
  } else if (s.type === "string" && !s.mixed) {
    input = isLong ? el("textarea", { id, rows: 4 }) : el("input", { type: "text", id, placeholder: s.nullable ? "(none)" : "" });
    input.value = shown === null || shown === undefined ? "" : shown;
    input.addEventListener("change", () => {
      const text = input.value;
      change(path, text === "" && s.nullable ? null : text === "" && fallback === undefined ? undefined : text, fallback);
    });
  } else {
    input = el("textarea", { id, rows: 3, spellcheck: "false" });
    input.value = shown === undefined ? "" : JSON.stringify(shown, null, 1);
    input.addEventListener("change", () => {
      if (input.value.trim() === "") { change(path, undefined, fallback); return; }
      try { change(path, JSON.parse(input.value), fallback); } catch (e) {
        showErrors([...state.errors, { path: path.join("."), message: "not valid JSON: " + e.message }]);
      }
    });
  }
  control.append(input);
  if (s.description) {
    const help = el("span", { class: "help", id: id + "-help" }, s.description);
    input.setAttribute("aria-describedby", id + "-help");
    control.append(help);
  }
  wrap.append(el("label", { for: id }, path[path.length - 1]), control);
  return wrap;
}

function objectFields(path, schema, container, fallback) {
  const s = resolve(schema);
  for (const [key, prop] of Object.entries(s.properties || {})) {
    const p = resolve(prop);
    const def = fallback && typeof fallback === "object" ? fallback[key] : p.default;
    if (p.properties && !p.nullable) {
      const set = el("fieldset", {}, el("legend", {}, key));
      if (p.description) set.append(el("p", { class: "help" }, p.description));
      objectFields([...path, key], p, set, def);
      container.append(set);
    } else container.append(field([...path, key], prop, def));
  }
}

function providerSection(kind, container) {
  const chosen = getAt(state.data, [kind, "provider"]) || state.defaults[kind].provider;
  const names = Object.keys(state.providers[kind]);
  const select = el("select", { id: `provider-${kind}` });
  names.forEach((n) => select.append(el("option", { value: n }, n)));
  select.value = chosen;
  select.addEventListener("change", () => {
    const kept = {};  // settings of another provider do not carry over
    kept.provider = select.value;
    if (same(kept, { provider: state.defaults[kind].provider }) && getAt(state.original, [kind]) === undefined) unsetAt(state.data, [kind]);
    else state.data[kind] = kept;
    changed();
    renderForm();
  });
  const wrap = el("div", { class: "field", "data-path": `${kind}.provider` },
    el("label", { for: `provider-${kind}` }, "provider"),
    el("div", { class: "control" }, select, el("span", { class: "help" }, state.providers[kind][chosen].description || "")));
  container.append(wrap);
  const schema = state.providers[kind][chosen].schema;
  const saved = state.schema;
  state.schema = { ...saved, $defs: { ...saved.$defs, ...(schema.$defs || {}) } };
  for (const [key, prop] of Object.entries(schema.properties || {})) {
    if (key === "provider") continue;
    container.append(field([kind, key], prop, resolve(prop).default));
  }
  state.schema = saved;
}

const SECTION_ORDER = ["name", "system_prompt", "stt", "llm", "tts", "turns", "speech", "tools", "senses", "vad",
  "perception", "memory", "recording", "deadlines", "context_tokens", "context_summary", "server"];

function renderForm() {
  const form = $("form");
  form.replaceChildren();
  const props = state.schema.properties;
  const top = el("details", { class: "section", open: true }, el("summary", {}, "Agent", el("small", {}, "name and instructions")));
  const keys = [...SECTION_ORDER.filter((k) => k in props), ...Object.keys(props).filter((k) => !SECTION_ORDER.includes(k))];
  for (const key of keys) {
    if (key === "flow") continue;  // the Flow tab edits it
    const prop = resolve(props[key]);
    if (["stt", "llm", "tts"].includes(key)) {
      const d = el("details", { class: "section", id: `section-${key}` }, el("summary", {}, key, el("small", {}, prop.description || "")));
      providerSection(key, d);
      form.append(d);
    } else if (prop.properties) {
      const d = el("details", { class: "section", id: `section-${key}` }, el("summary", {}, key, el("small", {}, prop.description || "")));
      if (key === "server") d.append(el("p", { class: "help" }, "Server settings apply when the server starts again."));
      objectFields([key], props[key], d, state.defaults[key]);
      form.append(d);
    } else {
      top.append(field([key], props[key], state.defaults[key]));
    }
  }
  form.prepend(top);
  if (!state.file.editable) form.querySelectorAll("input, select, textarea").forEach((i) => { i.disabled = true; });
  changed();
}

function renderTools() {
  const enabled = new Set(getAt(state.data, ["tools", "builtin"]) || []);
  $("tools").replaceChildren(...state.tools.map((t) => {
    const li = el("li", {}, el("code", {}, t.name), el("span", {}, t.description));
    if (t.source === "builtin") {
      const box = el("input", { type: "checkbox", "aria-label": `use ${t.name}` });
      box.checked = enabled.has(t.name);
      box.disabled = !state.file.editable;
      box.addEventListener("change", () => {
        const now = new Set(getAt(state.data, ["tools", "builtin"]) || []);
        if (box.checked) now.add(t.name); else now.delete(t.name);
        change(["tools", "builtin"], state.builtinOrder.filter((n) => now.has(n)), []);
        renderForm();
      });
      li.prepend(box);
    } else li.append(el("em", {}, " (the agent's code)"));
    return li;
  }));
}

// ---- the flow --------------------------------------------------------------------------------------

const flow = () => state.data.flow;

function flowElements() {
  const f = flow();
  if (!f || !f.nodes) return [];
  const names = Object.keys(f.nodes);
  const start = f.start || names[0];
  const out = names.map((n) => ({ data: { id: n, label: n + (n === start ? "  ▶" : "") + (f.nodes[n].end ? "  ■" : "") } }));
  for (const [n, node] of Object.entries(f.nodes)) {
    if (node.next && f.nodes[node.next]) out.push({ data: { id: `${n}->next->${node.next}`, source: n, target: node.next, label: "next", kind: "next" } });
    for (const [to, when] of Object.entries(node.choices || {})) {
      if (f.nodes[to]) out.push({ data: { id: `${n}->choice->${to}`, source: n, target: to, label: String(when).slice(0, 28), kind: "choice" } });
    }
    for (const [tool, to] of Object.entries(node.after || {})) {
      if (f.nodes[to]) out.push({ data: { id: `${n}->after:${tool}->${to}`, source: n, target: to, label: `after ${tool}`, kind: "after" } });
    }
  }
  return out;
}

function renderFlow() {
  const has = !!(flow() && flow().nodes && Object.keys(flow().nodes).length);
  $("flow-create").hidden = has;
  $("flow-add").disabled = !has || !state.file.editable;
  $("flow-connect").disabled = !has || !state.file.editable;
  if (!state.cy) {
    state.cy = cytoscape({
      container: $("graph"), minZoom: 0.3, maxZoom: 1.6,
      style: [
        { selector: "node", style: { label: "data(label)", "text-valign": "center", "text-halign": "center", shape: "round-rectangle",
          width: (n) => 8 * n.data("label").length + 24, height: 34, "background-color": "#dfe9ff", "border-width": 1, "border-color": "#2f6fed", "font-size": 13 } },
        { selector: "node:selected", style: { "background-color": "#2f6fed", color: "#fff" } },
        { selector: "node.from", style: { "border-width": 4, "border-color": "#ffb020" } },
        { selector: "edge", style: { "curve-style": "bezier", "target-arrow-shape": "triangle", width: 2, label: "data(label)",
          "font-size": 10, "text-background-color": "#fff", "text-background-opacity": 1, "line-color": "#8a93a8", "target-arrow-color": "#8a93a8" } },
        { selector: 'edge[kind = "choice"]', style: { "line-style": "dashed", "line-color": "#9b59b6", "target-arrow-color": "#9b59b6" } },
        { selector: 'edge[kind = "after"]', style: { "line-style": "dotted", "line-color": "#2e9d5b", "target-arrow-color": "#2e9d5b" } },
      ],
    });
    state.cy.on("tap", "node", (event) => tapNode(event.target.id()));
    state.cy.on("tap", (event) => { if (event.target === state.cy) selectNode(null); });
  }
  const positions = {};
  state.cy.nodes().forEach((n) => { positions[n.id()] = { ...n.position() }; });
  state.cy.elements().remove();
  state.cy.add(flowElements());
  const fresh = state.cy.nodes().filter((n) => !positions[n.id()]);
  if (fresh.length === state.cy.nodes().length) state.cy.layout({ name: "breadthfirst", directed: true, padding: 20, spacingFactor: 1.1 }).run();
  else {
    state.cy.nodes().forEach((n) => { if (positions[n.id()]) n.position(positions[n.id()]); });
    const placed = state.cy.nodes().filter((n) => positions[n.id()]).boundingBox();
    fresh.forEach((n, i) => n.position({ x: placed.x2 + 200 + i * 40, y: (placed.y1 + placed.y2) / 2 + i * 50 }));
    if (fresh.length) state.cy.fit(undefined, 40);  // a new step is always in view
  }
  if (state.selected && state.cy.getElementById(state.selected).length) state.cy.getElementById(state.selected).select();
  renderNodePanel();
}

function tapNode(name) {
  if (state.connecting) {
    if (!state.connectFrom) { state.connectFrom = name; state.cy.getElementById(name).addClass("from"); $("flow-hint").textContent = `from ${name}: now click the step to go to`; return; }
    const from = state.connectFrom;
    state.cy.nodes().removeClass("from");
    state.connectFrom = null;
    if (from !== name) {
      const node = flow().nodes[from];
      node.choices = { ...(node.choices || {}), [name]: node.choices && node.choices[name] ? node.choices[name] : `the caller wants to go on to ${name}` };
      state.selected = from;
      flowChanged();
    }
    setConnecting(false);
    return;
  }
  selectNode(name);
}

function setConnecting(on) {
  state.connecting = on;
  state.connectFrom = null;
  if (state.cy) state.cy.nodes().removeClass("from");
  $("flow-connect").setAttribute("aria-pressed", String(on));
  $("flow-hint").textContent = on ? "click the step to go from" : "select a step to edit it; “Connect steps”, then click two steps";
}

function selectNode(name) { state.selected = name; $("flow-remove").disabled = !name || !state.file.editable; renderNodePanel(); }

function flowChanged() {
  changed();
  renderFlow();
  api("flow/validate", { flow: flow() }).then((r) => showErrors([...state.errors.filter((e) => !e.path.startsWith("flow")), ...(r.errors || [])])).catch(() => {});
}

function renderNodePanel() {
  const panel = $("node-panel");
  const f = flow();
  const name = state.selected;
  if (!name || !f || !f.nodes[name]) { panel.replaceChildren(el("p", { class: "state" }, "No step selected.")); return; }
  const node = f.nodes[name];
  const others = Object.keys(f.nodes).filter((n) => n !== name);
  const disabled = !state.file.editable;
  const nameInput = el("input", { id: "node-name", value: name, disabled });
  nameInput.addEventListener("change", () => renameNode(name, nameInput.value.trim()));
  const instructions = el("textarea", { id: "node-instructions", disabled });
  instructions.value = node.instructions || "";
  instructions.addEventListener("change", () => { node.instructions = instructions.value; flowChanged(); });
  const tools = el("input", { id: "node-tools", value: (node.tools || []).join(", "), placeholder: "tool names, comma-separated", disabled });
  tools.addEventListener("change", () => { const t = tools.value.split(",").map((x) => x.trim()).filter(Boolean); if (t.length) node.tools = t; else delete node.tools; flowChanged(); });
  const collect = el("textarea", { id: "node-collect", placeholder: "one per line: field: what it is", disabled });
  collect.value = Object.entries(node.collect || {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n");
  collect.addEventListener("change", () => {
    const out = {};
    collect.value.split("\n").map((l) => l.trim()).filter(Boolean).forEach((line) => {
      const i = line.indexOf(":"); const key = (i < 0 ? line : line.slice(0, i)).trim(); let v = i < 0 ? "" : line.slice(i + 1).trim();
      if (v.startsWith("{")) { try { v = JSON.parse(v); } catch (e) { /* the loader's error shows */ } }
      out[key] = v;
    });
    if (Object.keys(out).length) node.collect = out; else delete node.collect;
    flowChanged();
  });
  const next = el("select", { id: "node-next", disabled });
  next.append(el("option", { value: "" }, "(none)"), ...others.map((o) => el("option", { value: o }, o)));
  next.value = node.next || "";
  next.addEventListener("change", () => { if (next.value) node.next = next.value; else delete node.next; flowChanged(); });
  const end = el("input", { type: "checkbox", id: "node-end", disabled });
  end.checked = !!node.end;
  end.addEventListener("change", () => { if (end.checked) node.end = true; else delete node.end; flowChanged(); });
  const choices = el("div", { id: "node-choices" });
  for (const [to, when] of Object.entries(node.choices || {})) {
    const cond = el("input", { value: when, "aria-label": `when to go to ${to}`, disabled });
    cond.addEventListener("change", () => { node.choices[to] = cond.value; flowChanged(); });
    const drop = el("button", { type: "button", "aria-label": `remove the move to ${to}`, disabled }, "✕");
    drop.addEventListener("click", () => { delete node.choices[to]; if (!Object.keys(node.choices).length) delete node.choices; flowChanged(); });
    choices.append(el("div", { class: "row" }, el("code", {}, "→ " + to), cond, drop));
  }
  panel.replaceChildren(
    el("h3", {}, "Step"), el("label", { for: "node-name" }, "name"), nameInput,
    el("label", { for: "node-instructions" }, "instructions"), instructions,
    el("label", { for: "node-tools" }, "tools"), tools,
    el("label", { for: "node-collect" }, "collect"), collect,
    el("label", { for: "node-next" }, "next (once collected)"), next,
    el("label", {}, "moves the model may choose (“Connect steps” adds one)"), choices,
    el("label", { for: "node-end" }, el("span", {}, "the flow ends here "), end),
  );
}

function renameNode(from, to) {
  const f = flow();
  if (!to || to === from) return;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(to) || f.nodes[to]) { notice(`“${to}”: a new name of letters, digits and _`, true); renderNodePanel(); return; }
  const nodes = {};
  for (const [n, node] of Object.entries(f.nodes)) {
    if (node.next === from) node.next = to;
    if (node.choices && from in node.choices) { const c = {}; Object.entries(node.choices).forEach(([k, v]) => { c[k === from ? to : k] = v; }); node.choices = c; }
    if (node.after) Object.keys(node.after).forEach((t) => { if (node.after[t] === from) node.after[t] = to; });
    nodes[n === from ? to : n] = node;
  }
  f.nodes = nodes;
  if (f.start === from) f.start = to;
  const position = state.cy.getElementById(from).position();
  state.cy.getElementById(from).remove();
  state.cy.add({ data: { id: to, label: to } }).position(position);
  state.selected = to;
  flowChanged();
}

function addStep() {
  const f = flow();
  let i = Object.keys(f.nodes).length + 1;
  while (f.nodes["step_" + i]) i++;
  const name = "step_" + i;
  f.nodes[name] = { instructions: "Say what the agent does at this step." };
  state.selected = name;
  flowChanged();
  $("node-name").focus();
}

function removeStep() {
  const f = flow();
  const name = state.selected;
  if (!name) return;
  delete f.nodes[name];
  for (const node of Object.values(f.nodes)) {
    if (node.next === name) delete node.next;
    if (node.choices) { delete node.choices[name]; if (!Object.keys(node.choices).length) delete node.choices; }
    if (node.after) { Object.keys(node.after).forEach((t) => { if (node.after[t] === name) delete node.after[t]; }); if (!Object.keys(node.after).length) delete node.after; }
  }
  if (f.start === name) delete f.start;
  if (!Object.keys(f.nodes).length) delete state.data.flow;
  state.selected = null;
  flowChanged();
}

// ---- save, history ---------------------------------------------------------------------------------

function showDiff(text) {
  const pre = $("diff");
  pre.replaceChildren(...text.split("\n").map((line) => {
    const cls = line.startsWith("@@") ? "hunk" : line.startsWith("+") && !line.startsWith("+++") ? "add" :
      line.startsWith("-") && !line.startsWith("---") ? "del" : "";
    return el("span", { class: cls }, line + "\n");
  }));
}

async function review() {
  const result = await api("diff", { data: state.data });
  showDiff(result.diff || "(nothing would change)");
  $("review-errors").replaceChildren(...(result.errors || []).map((e) => el("li", {}, `${e.path || "config"}: ${e.message}`)));
  $("save").disabled = (result.errors || []).length > 0 || !result.diff;
  $("review-dialog").showModal();
  $(result.errors && result.errors.length ? "cancel" : "save").focus();
}

async function save() {
  $("save").disabled = true;
  notice("Saving…");
  try {
    const result = await api("save", { data: state.data, sha256: state.file.sha256 });
    $("review-dialog").close();
    if (result.status === 422) { showErrors(result.error.errors || []); notice("Not saved: the config has errors.", true); return; }
    notice(result.applied ? "Saved. The next conversation uses it." : "Saved. The server keeps its current settings until it restarts.");
    await loadConfig();
    await loadHistory();
  } catch (e) {
    $("review-dialog").close();
    notice("Not saved: " + e.message, true);
  }
}

async function loadHistory() {
  const result = await api("history");
  $("versions").replaceChildren(...(result.versions || []).map((v) => {
    const view = el("button", { type: "button" }, "View");
    view.addEventListener("click", async () => { const t = await api("history/" + encodeURIComponent(v.version)); const pre = $("version-text"); pre.textContent = t.text; pre.hidden = false; });
    const restore = el("button", { type: "button", disabled: !state.file.editable }, "Restore");
    restore.addEventListener("click", async () => {
      try { const r = await api("restore", { version: v.version }); if (r.status === 422) { notice("Not restored: " + r.error.message, true); return; }
        notice("Restored " + v.version + "."); await loadConfig(); await loadHistory(); } catch (e) { notice("Not restored: " + e.message, true); }
    });
    return el("li", {}, el("code", {}, v.version), el("span", {}, `${v.bytes} bytes`), view, restore);
  }));
  if (!(result.versions || []).length) $("versions").append(el("li", {}, "No earlier versions yet."));
}

async function loadConfig() {
  const file = await api("config");
  state.file = file;
  state.original = clone(file.data) || {};
  state.data = clone(file.data) || {};
  $("file").textContent = file.path || "(no config file)";
  $("readonly").hidden = file.editable;
  $("readonly").textContent = file.editable ? "" : file.why;
  renderForm();
  renderTools();
  renderFlow();
}

// ---- evaluations -----------------------------------------------------------------------------------

async function runEval() {
  let matrix = null;
  const text = $("eval-matrix").value.trim();
  if (text) {
    try { matrix = JSON.parse(text); } catch (e) { notice("Combinations: not valid JSON (" + e.message + ")", true); return; }
  }
  if (!same(state.data, state.original)) notice("Unsaved changes are not evaluated: the run uses the saved file.");
  try {
    const result = await api("evals", { suite: $("eval-suite").value.trim() || "builtin", matrix });
    if (result.status === 422) { notice("Not started: " + result.error.message, true); return; }
    await loadEvals();
  } catch (e) { notice("Not started: " + e.message, true); }
}

async function useWinner(run) {
  try {
    const result = await api(`evals/${encodeURIComponent(run)}/winner`);
    if (result.status === 422) { notice(result.error.message, true); return; }
    state.data = clone(result.data);
    renderForm(); renderTools(); renderFlow();
    selectTab("build");
    notice(`The settings of “${result.combination}” are in the form: review and save them.`);
  } catch (e) { notice(e.message, true); }
}

async function loadEvals() {
  let result;
  try { result = await api("evals"); } catch (e) { return; }
  const runs = result.runs || [];
  $("eval-runs").replaceChildren(...runs.map((r) => {
    const li = el("li", { "data-run": r.run, "data-state": r.state },
      el("strong", {}, r.run), ` · ${r.suite} · `, el("span", { class: r.state === "failed" ? "bad" : "" }, r.state), " ",
      el("progress", { max: r.total, value: r.done, "aria-label": `${r.done} of ${r.total} conversations` }), ` ${r.done}/${r.total}`);
    if (r.error) li.append(el("p", { class: "bad" }, r.error.join(" ")));
    if (r.summary) {
      const rows = r.summary.map((s) => el("tr", {}, el("td", {}, s.combination), el("td", {}, String(s.score)),
        el("td", {}, `${s.passed_turns}/${s.turns}`), el("td", {}, String(s.latency_p50_ms ?? "")), el("td", {}, s.pareto ? "yes" : "")));
      li.append(el("table", {}, el("thead", {}, el("tr", {}, ...["combination", "score", "met", "p50 ms", "Pareto"].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...rows)));
      const report = el("a", { href: r.report, target: "_blank", rel: "noopener", class: "report" }, "Open the report");
      report.addEventListener("click", (e) => openGuarded(e, r.report));
      const winner = el("button", { type: "button", class: "winner", disabled: !state.file.editable }, "Use the winner");
      winner.addEventListener("click", () => useWinner(r.run));
      li.append(el("div", { class: "toolbar" }, report, winner));
      if (r.compared_with) {
        li.append(el("p", { class: r.regressions && r.regressions.length ? "bad" : "state" },
          r.regressions && r.regressions.length ? `Worse than ${r.compared_with}: ${r.regressions.join("; ")}` : `No regression against ${r.compared_with}.`));
      }
    }
    return li;
  }));
  if (!runs.length) $("eval-runs").append(el("li", {}, "No evaluation yet."));
  clearTimeout(state.evalTimer);
  if (runs.some((r) => r.state === "running")) state.evalTimer = setTimeout(loadEvals, 1000);
}

function selectTab(id) {
  document.querySelectorAll('[role="tab"]').forEach((t) => {
    const on = t.getAttribute("aria-controls") === id;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !on;
  });
  if (id === "flow" && state.cy) { state.cy.resize(); state.cy.fit(undefined, 30); }
  if (id === "talk" && !$("talk-frame").src) $("talk-frame").src = "/";
  if (id === "inspect") loadRecordings(true);
  history.replaceState(null, "", "#" + id);
}

async function main() {
  const [schema, tools] = await Promise.all([api("schema"), api("tools")]);
  state.schema = schema.config;
  state.providers = schema.providers;
  state.tools = tools.tools;
  state.builtinOrder = tools.tools.filter((t) => t.source === "builtin").map((t) => t.name);
  state.defaults = schema.defaults;
  await loadConfig();
  await loadHistory();
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((t, i) => {
    t.addEventListener("click", () => selectTab(t.getAttribute("aria-controls")));
    t.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) { const next = tabs[(i + step + tabs.length) % tabs.length]; next.focus(); selectTab(next.getAttribute("aria-controls")); }
    });
  });
  $("review").addEventListener("click", review);
  $("save").addEventListener("click", save);
  $("cancel").addEventListener("click", () => $("review-dialog").close());
  $("revert").addEventListener("click", () => { state.data = clone(state.original); renderForm(); renderTools(); renderFlow(); notice(""); });
  $("flow-add").addEventListener("click", addStep);
  $("flow-remove").addEventListener("click", removeStep);
  $("flow-connect").addEventListener("click", () => setConnecting(!state.connecting));
  $("flow-create").addEventListener("click", () => { state.data.flow = { nodes: { start: { instructions: "Greet the caller and ask how you can help." } } }; state.selected = "start"; flowChanged(); });
  $("eval-run").addEventListener("click", runEval);
  setUpInspect();
  if (state.file.editable) await loadEvals();
  else $("eval-run").disabled = true;
  const initial = location.hash.slice(1);
  selectTab(["build", "flow", "talk", "evaluate", "inspect", "history"].includes(initial) ? initial : "build");
}

main().catch((e) => notice("The Studio could not start: " + e.message, true));
