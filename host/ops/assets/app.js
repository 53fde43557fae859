// hekad dashboard: our own small code, no framework. Polls /api/v1/status and
// /api/v1/history every second, draws SVG sparklines and canvas graphs, and uses
// server-sent events only for the live tail. Page errors and CSP violations are
// collected in window.__hekad.errors (the browser test reads them too).
"use strict";

window.__hekad = { errors: [], ready: false };
const note = (what) => window.__hekad.errors.push(String(what));
window.addEventListener("error", (e) => note(e.message || ("resource failed: " + (e.target && (e.target.src || e.target.href)))), true);
window.addEventListener("unhandledrejection", (e) => note("unhandled: " + e.reason));
document.addEventListener("securitypolicyviolation", (e) => note("CSP: " + e.violatedDirective + " " + e.blockedURI));

const $ = (sel) => document.querySelector(sel);
const state = { status: null, history: null, terminations: [], tail: null, filter: "" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function fmtNum(v) {
  if (v == null || isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(1);
}
function fmtBytes(v) {
  if (!v) return "0 B";
  const u = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return v.toFixed(i ? 1 : 0) + " " + u[i];
}
function fmtDuration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}
const last = (a) => (a && a.length ? a[a.length - 1] : 0);
const series = (name, key) => (state.history && state.history.plugins[name] && state.history.plugins[name][key]) || [];

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

// ---- small charts -------------------------------------------------------------

function sparkline(values, color) {
  const w = 90, h = 20, ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const v = values.slice(-90);
  const max = Math.max(1e-9, ...v);
  const pts = v.map((y, i) => `${(i * w / Math.max(1, v.length - 1)).toFixed(1)},${(h - 1 - (y / max) * (h - 2)).toFixed(1)}`);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.join(" "));
  line.setAttribute("stroke", color);
  svg.append(line);
  return svg;
}

// A canvas sized to its box at the screen's pixel ratio, cleared white: {g, w, h}.
function blankCanvas(canvas, defaultW, defaultH) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || defaultW, h = canvas.clientHeight || defaultH;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.fillStyle = "#fff";
  g.fillRect(0, 0, w, h);
  return { g, w, h };
}

// One chart per quantity (small multiples): lines share an axis only when their
// units and scales agree. `lines`: [{values, color, label}], `limit`: a dashed line.
function drawChart(canvas, lines, opts) {
  const { g, w, h } = blankCanvas(canvas, 380, 140);
  const left = 48, bottom = 16, top = 6, right = 6;
  const all = lines.flatMap((l) => l.values);
  let max = Math.max(opts.limit || 0, ...all, opts.minMax || 1e-9);
  const pw = w - left - right, ph = h - top - bottom;
  g.strokeStyle = "#e1e4e8";
  g.fillStyle = "#6a737d";
  g.font = "10px system-ui, sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = top + ph - (i / 4) * ph;
    g.beginPath(); g.moveTo(left, y); g.lineTo(w - right, y); g.stroke();
    g.fillText(opts.format(max * i / 4), 2, y + 3);
  }
  const n = Math.max(2, ...lines.map((l) => l.values.length));
  g.fillText(`${n}s`, left, h - 3);
  g.fillText("now", w - right - 20, h - 3);
  if (opts.limit) {
    const y = top + ph - (opts.limit / max) * ph;
    g.setLineDash([4, 3]); g.strokeStyle = "#cf222e";
    g.beginPath(); g.moveTo(left, y); g.lineTo(w - right, y); g.stroke();
    g.setLineDash([]);
  }
  for (const l of lines) {
    g.strokeStyle = l.color;
    g.fillStyle = l.color + "22";
    g.lineWidth = 1.5;
    g.beginPath();
    const off = n - l.values.length;
    l.values.forEach((v, i) => {
      const x = left + ((i + off) / (n - 1)) * pw, y = top + ph - (v / max) * ph;
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
    if (l.values.length) {
      g.lineTo(left + pw, top + ph); g.lineTo(left + (off / (n - 1)) * pw, top + ph); g.closePath(); g.fill();
    }
  }
  g.lineWidth = 1;
}

// ---- header ---------------------------------------------------------------------

function renderStrip() {
  const s = state.status;
  $("#version").textContent = "v" + s.version;
  $("#uptime").textContent = fmtDuration(s.uptime_seconds);
  $("#generation").textContent = s.config.generation;
  $("#reload").textContent = s.config.last_reload_error ? "last reload failed" : s.config.reload_successes ? "reloaded " + s.config.reload_successes + "×" : "";
  const badge = (id, ok, yes, no) => { const b = $(id); b.textContent = ok ? yes : no; b.className = "badge " + (ok ? "ok" : "bad"); };
  badge("#live", s.live, "live", "wedged");
  badge("#ready", s.ready, "ready", "not ready");
  const sum = (kind) => s.plugins.filter((p) => p.kind === kind).reduce((a, p) => a + last(series(p.name, "out")), 0);
  $("#rate-in").textContent = fmtNum(sum("input"));
  $("#rate-out").textContent = fmtNum(sum("output"));
  $("#term-count").textContent = state.terminations.length ? `(${state.terminations.length})` : "";
}

// ---- overview -------------------------------------------------------------------

function limitBars(p) {
  const sb = p.sandbox;
  if (!sb) return el("span", { class: "muted", text: "–" });
  const bar = (label, v, limit) => {
    const share = limit ? Math.min(1, v / limit) : 0;
    const b = el("span", { class: "bar" + (share > 0.8 ? " hot" : ""), title: `${label}: ${Math.round(share * 100)}% of limit` }, el("i"));
    b.firstChild.style.width = (share * 100).toFixed(0) + "%";
    return [el("label", { text: label }), b];
  };
  return el("span", { class: "limits" },
    ...bar("mem", sb.memory_max_bytes, sb.memory_limit_bytes),
    ...bar("out", sb.output_max_bytes, sb.output_limit_bytes),
    ...bar("cpu", sb.call_budget_max_ratio, 1));
}

function isHot(p) {
  const q = p.queue_capacity ? p.queue_length / p.queue_capacity : 0;
  const sb = p.sandbox;
  const lim = sb ? Math.max(sb.memory_limit_bytes ? sb.memory_max_bytes / sb.memory_limit_bytes : 0,
    sb.output_limit_bytes ? sb.output_max_bytes / sb.output_limit_bytes : 0, sb.call_budget_max_ratio) : 0;
  return p.state === "terminated" || q > 0.8 || lim > 0.8 || last(series(p.name, "errors")) > 0;
}

function renderOverview(view) {
  const s = state.status;
  const input = el("input", { type: "text", placeholder: "filter by name", value: state.filter, id: "filter" });
  input.addEventListener("input", () => { state.filter = input.value; renderOverviewTable(); });
  view.replaceChildren(el("div", { class: "toolbar" }, input), el("div", { id: "overview" }));
  renderOverviewTable();
}

function renderOverviewTable() {
  const box = $("#overview");
  if (!box) return;
  const head = el("tr", {}, ...["Plugin", "Type", "State", "In/s", "Out/s", "Err/s", "Queue", "Util", "Sandbox limits"].map((t) => el("th", { text: t })));
  const rows = [head];
  let kind = null;
  for (const p of state.status.plugins) {
    if (state.filter && !p.name.toLowerCase().includes(state.filter.toLowerCase())) continue;
    if (p.kind !== kind) { kind = p.kind; rows.push(el("tr", { class: "kind-sep" }, el("td", { colspan: "9", text: kind + "s" }))); }
    const inS = series(p.name, "in"), outS = series(p.name, "out");
    const q = p.queue_capacity ? p.queue_length / p.queue_capacity : null;
    const queue = q == null ? el("span", { class: "muted", text: "–" }) : el("span", { class: "bar" + (q > 0.8 ? " hot" : ""), title: `${p.queue_length}/${p.queue_capacity} batches` }, el("i"));
    if (q != null) queue.firstChild.style.width = (q * 100).toFixed(0) + "%";
    const stateBadge = el("span", { class: "badge " + (p.state === "running" ? "ok" : p.state === "terminated" ? "bad" : "warn"), text: p.state });
    const tr = el("tr", { class: "plugin" + (isHot(p) ? " hot" : ""), "data-plugin": p.name },
      el("td", {}, el("a", { href: "#/plugin/" + encodeURIComponent(p.name), text: p.name })),
      el("td", { text: p.type || p.kind }),
      el("td", {}, stateBadge),
      el("td", { class: "num rate-in" }, p.kind === "input" ? "–" : fmtNum(last(inS)), p.kind === "input" ? null : sparkline(inS, "#1f6f8b")),
      el("td", { class: "num rate-out" }, fmtNum(last(outS)), sparkline(outS, "#8250df")),
      el("td", { class: "num", text: fmtNum(last(series(p.name, "errors"))) }),
      el("td", {}, queue),
      el("td", { class: "num", text: p.kind === "input" ? "–" : Math.round(last(series(p.name, "utilization")) * 100) + "%" }),
      el("td", {}, limitBars(p)));
    rows.push(tr);
  }
  box.replaceChildren(el("table", { id: "plugins" }, ...rows));
}

// ---- plugin detail --------------------------------------------------------------

function renderDetail(view, name) {
  const p = state.status.plugins.find((x) => x.name === name);
  if (!p) { view.replaceChildren(el("p", { class: "error", text: "No plugin named " + name })); return; }
  const chart = (id, title) => el("div", { class: "chart" }, el("h4", { text: title }), el("canvas", { id }));
  const kv = el("dl", { class: "kv" });
  const add = (k, v) => kv.append(el("dt", { text: k }), el("dd", { text: String(v) }));
  add("type", p.type); add("kind", p.kind); add("state", p.state);
  add("received", p.received_messages); add("sent", p.sent_messages);
  add("errors (receiving / processing / sending)", `${p.receiving_errors} / ${p.processing_errors} / ${p.sending_errors}`);
  if (p.kind === "output") { add("retries", p.retries); add("backoff", p.backoff_seconds + " s"); add("discarded (intentional / not)", `${p.discarded_intentional} / ${p.discarded_unintentional}`); }
  if (p.queue_capacity) add("queue", `${p.queue_length} / ${p.queue_capacity} batches`);
  if (p.sandbox) {
    const sb = p.sandbox;
    add("engine", sb.engine);
    add("memory (now / max / limit)", `${fmtBytes(sb.memory_bytes)} / ${fmtBytes(sb.memory_max_bytes)} / ${fmtBytes(sb.memory_limit_bytes)}`);
    add("largest output / limit", `${fmtBytes(sb.output_max_bytes)} / ${fmtBytes(sb.output_limit_bytes)}`);
    add("worst call, share of budget", Math.round(sb.call_budget_max_ratio * 100) + "%");
  }
  const terms = state.terminations.filter((t) => t.plugin === name);
  view.replaceChildren(
    el("h2", { text: name }),
    el("div", { class: "charts" }, chart("c-rate", "Messages per second (in, out)"), chart("c-queue", "Queue (batches)"),
      chart("c-util", "Utilization (busy share of each second)"), p.sandbox ? chart("c-mem", "Sandbox memory (dashed: limit)") : null),
    kv,
    p.last_error ? el("p", { class: "error", text: "Last error: " + p.last_error }) : null,
    terms.length ? el("p", { class: "error", text: `Terminated ${terms.length}×: ` + terms.map((t) => t.reason).join(", ") }) : null);
  drawDetail(p);
}

function drawDetail(p) {
  const c = (id) => document.getElementById(id);
  if (!c("c-rate")) return;
  drawChart(c("c-rate"), [{ values: series(p.name, "in"), color: "#1f6f8b" }, { values: series(p.name, "out"), color: "#8250df" }], { format: fmtNum, minMax: 1 });
  drawChart(c("c-queue"), [{ values: series(p.name, "queue"), color: "#1f6f8b" }], { format: fmtNum, limit: p.queue_capacity || 0, minMax: 1 });
  drawChart(c("c-util"), [{ values: series(p.name, "utilization").map((v) => v * 100), color: "#1a7f37" }], { format: (v) => Math.round(v) + "%", minMax: 100 });
  if (c("c-mem")) drawChart(c("c-mem"), [{ values: series(p.name, "memory"), color: "#bf8700" }], { format: fmtBytes, limit: p.sandbox ? p.sandbox.memory_limit_bytes : 0, minMax: 1024 });
}

// ---- terminations ---------------------------------------------------------------

function renderTerminations(view) {
  const head = el("tr", {}, ...["Time", "Plugin", "Type", "Reason", "Message", "Stats at termination"].map((t) => el("th", { text: t })));
  const rows = state.terminations.map((t) => el("tr", { class: "termination", "data-plugin": t.plugin },
    el("td", { text: new Date(t.time * 1000).toISOString().replace("T", " ").slice(0, 19) }),
    el("td", {}, el("a", { href: "#/plugin/" + encodeURIComponent(t.plugin), text: t.plugin })),
    el("td", { text: t.type }),
    el("td", {}, el("span", { class: "badge bad reason", text: t.reason })),
    el("td", { class: "message", text: t.message }),
    el("td", { class: "muted", text: Object.entries(t.stats).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(" ") })));
  view.replaceChildren(rows.length ? el("table", { id: "terminations" }, head, ...rows) : el("p", { class: "muted", text: "No plugin has been terminated." }));
}

// ---- live tail ------------------------------------------------------------------

function renderTail(view) {
  const t = state.tail || (state.tail = { expr: "TRUE", source: null, shown: 0, dropped: 0, items: [] });
  const input = el("input", { type: "text", id: "tail-match", value: t.expr, placeholder: "message_matcher, e.g. Type == 'nginx'" });
  const start = el("button", { id: "tail-start", text: "Start" });
  const stop = el("button", { id: "tail-stop", text: "Stop" });
  const err = el("p", { class: "error", id: "tail-error" });
  const counts = el("span", { class: "muted", id: "tail-counts" });
  const list = el("ul", { id: "tail-list" });
  const sync = () => {
    start.disabled = !!t.source; stop.disabled = !t.source;
    counts.textContent = `${t.shown} shown, ${t.dropped} dropped` + (t.source ? " · streaming" : "");
    list.replaceChildren(...t.items.map(tailItem));
  };
  start.addEventListener("click", async () => {
    t.expr = input.value; err.textContent = "";
    const url = "/api/v1/tail?match=" + encodeURIComponent(t.expr);
    const probe = await fetch(url + "&limit=0");
    if (!probe.ok) {
      const body = await probe.json().catch(() => ({ error: "HTTP " + probe.status }));
      err.textContent = body.offset != null ? `${body.error}\n${t.expr}\n${" ".repeat(body.offset)}^ (column ${body.offset + 1})` : body.error;
      return;
    }
    await probe.text();
    t.items = []; t.shown = 0; t.dropped = 0;
    const src = new EventSource(url + "&limit=100000");
    t.source = src;
    src.addEventListener("open", () => { document.body.dataset.tail = "open"; sync(); });
    src.addEventListener("message", (e) => {
      t.items.unshift(JSON.parse(e.data)); t.shown++;
      if (t.items.length > 200) t.items.pop();
      sync();
    });
    src.addEventListener("dropped", (e) => { t.dropped = JSON.parse(e.data).dropped; sync(); });
    src.onerror = () => { src.close(); if (t.source === src) t.source = null; sync(); };
    sync();
  });
  stop.addEventListener("click", () => { if (t.source) t.source.close(); t.source = null; document.body.dataset.tail = ""; sync(); });
  view.replaceChildren(el("div", { class: "toolbar" }, input, start, stop, counts), err, list);
  sync();
}

function tailItem(m) {
  const ts = m.timestamp ? new Date(m.timestamp / 1e6).toISOString().slice(11, 23) : "";
  const fields = (m.fields || []).map((f) => `${f.name}=${JSON.stringify(f.value)}`).join(" ");
  return el("li", { class: "tail-message" },
    el("details", {}, el("summary", { text: `${ts} ${m.type || ""} ${m.logger || ""} ${m.payload || ""}` }),
      el("div", { class: "muted", text: `severity=${m.severity ?? ""} hostname=${m.hostname || ""} pid=${m.pid ?? ""} ${fields}` })));
}

// ---- routing and polling --------------------------------------------------------

function route() {
  const h = location.hash || "#/";
  const view = $("#view");
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === h));
  if (!state.status) return;
  if (h.startsWith("#/plugin/")) renderDetail(view, decodeURIComponent(h.slice(9)));
  else if (h === "#/terminations") renderTerminations(view);
  else if (h === "#/outputs") renderOutputs(view);
  else if (h === "#/tail") { if (!$("#tail-match")) renderTail(view); }
  else if ($("#overview")) renderOverviewTable(); else renderOverview(view);
}

async function poll() {
  try {
    const [status, history, terminations] = await Promise.all([getJSON("/api/v1/status"), getJSON("/api/v1/history?seconds=300"), getJSON("/api/v1/terminations")]);
    state.status = status; state.history = history; state.terminations = terminations;
    renderStrip();
    const h = location.hash || "#/";
    if (h.startsWith("#/plugin/")) {
      const p = status.plugins.find((x) => "#/plugin/" + encodeURIComponent(x.name) === h);
      if (p && document.getElementById("c-rate")) drawDetail(p); else route();
    } else if (h !== "#/tail") route();
    window.__hekad.ready = true;
    document.body.dataset.ready = "1";
  } catch (e) {
    $("#live").textContent = "unreachable"; $("#live").className = "badge bad";
  }
}

window.addEventListener("hashchange", () => { if ((location.hash || "#/") !== "#/tail" && $("#tail-match")) $("#view").replaceChildren(); route(); });
poll();
setInterval(poll, 1000);
