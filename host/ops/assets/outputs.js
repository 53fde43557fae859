// hekad dashboard, "Sandbox outputs" page: the latest inject_payload of every sandbox
// filter, per name (GET /api/v1/sandbox_outputs). Heka's cbuf text (a JSON header
// line, then one tab-separated row per line, oldest first) is drawn on a canvas, one
// chart per unit so columns of different scales never share an axis; other types are
// shown as text. An output is fetched again only when its `updated` time changes.
// Loaded before app.js; its helpers (el, fmtNum, fmtBytes, getJSON, blankCanvas) are
// used at call time.
"use strict";

const outputsState = { busy: false };
const CBUF_COLORS = ["#1f6f8b", "#8250df", "#1a7f37", "#cf222e", "#bf8700", "#0969da", "#6e7781", "#e16f24"];

// `?token=` of the page, passed on (needed for payloads when the listener is not on loopback).
function withToken(path) {
  const t = new URLSearchParams(location.search).get("token");
  return t ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(t) : path;
}

// Heka's cbuf text as {header, cols: [[values]]}; null when it is not one. The header
// may follow an optional JSON line of annotations/options (Heka allowed one).
function parseCbuf(text) {
  let h = null, start = 0;
  for (let line = 0; line < 2 && !h; line++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) return null;
    let j;
    try { j = JSON.parse(text.slice(start, nl)); } catch (e) { return null; }
    if (j && Array.isArray(j.column_info)) h = j;
    start = nl + 1;
  }
  if (!h || !(h.rows > 0) || !(h.seconds_per_row > 0)) return null;
  const cols = h.column_info.map(() => []);
  for (const line of text.slice(start).split("\n")) {
    if (!line) continue;
    line.split("\t").forEach((v, i) => { if (i < cols.length) cols[i].push(v === "nan" || v === "-nan" ? NaN : Number(v)); });
  }
  return { header: h, cols };
}

// One chart: `series` [{name, values, color}] over the buffer's rows; NaN rows are gaps.
function drawCbuf(canvas, h, series) {
  const { g, w, h: ht } = blankCanvas(canvas, 600, 180);
  const left = 56, right = 8, top = 8, bottom = 18, pw = w - left - right, ph = ht - top - bottom;
  let min = 0, max = 0;
  for (const s of series) for (const v of s.values) if (Number.isFinite(v)) { min = Math.min(min, v); max = Math.max(max, v); }
  if (max <= min) max = min + 1;
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const x = (i) => left + (i / (n - 1)) * pw, y = (v) => top + ph - ((v - min) / (max - min)) * ph;
  g.strokeStyle = "#e1e4e8";
  g.fillStyle = "#6a737d";
  g.font = "10px system-ui, sans-serif";
  for (let i = 0; i <= 4; i++) {
    const v = min + ((max - min) * i) / 4;
    g.beginPath(); g.moveTo(left, y(v)); g.lineTo(w - right, y(v)); g.stroke();
    g.fillText(fmtNum(v), 2, y(v) + 3);
  }
  // Row i covers [time + i × seconds_per_row, +seconds_per_row); times in UTC.
  const at = (i) => new Date((h.time + i * h.seconds_per_row) * 1000).toISOString().slice(11, 19);
  g.fillText(at(0), left, ht - 4);
  g.fillText(at(n - 1), w - right - 46, ht - 4);
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = 1.5;
    g.beginPath();
    let pen = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) { pen = false; return; }
      pen ? g.lineTo(x(i), y(v)) : g.moveTo(x(i), y(v));
      pen = true;
    });
    g.stroke();
    // A value between two gaps is a dot (a line needs two rows).
    s.values.forEach((v, i) => {
      if (Number.isFinite(v) && !Number.isFinite(s.values[i - 1]) && !Number.isFinite(s.values[i + 1])) {
        g.fillStyle = s.color;
        g.fillRect(x(i) - 2, y(v) - 2, 4, 4);
      }
    });
  }
  g.lineWidth = 1;
}

// The charts of one cbuf: columns grouped by unit, a legend with each last value.
function cbufView(o, cb) {
  const units = new Map();
  cb.header.column_info.forEach((c, i) => {
    const unit = c.unit || "";
    if (!units.has(unit)) units.set(unit, []);
    units.get(unit).push({ name: c.name, info: c, values: cb.cols[i], color: CBUF_COLORS[i % CBUF_COLORS.length] });
  });
  const box = el("div", { class: "cbuf-charts" });
  const draws = [];
  for (const [unit, series] of units) {
    const canvas = el("canvas", { class: "cbuf", "data-plugin": o.plugin, "data-name": o.name, title: unit });
    const legend = el("div", { class: "legend" }, ...series.map((s) => {
      const lastValue = [...s.values].reverse().find(Number.isFinite);
      const key = el("i");
      key.style.background = s.color;
      return el("span", {}, key, `${s.name} (${unit || "no unit"}, ${s.info.aggregation || "?"}) ${fmtNum(lastValue)}`);
    }));
    box.append(el("div", { class: "chart" }, canvas, legend));
    draws.push(() => drawCbuf(canvas, cb.header, series));
  }
  return { box, draw: () => draws.forEach((d) => d()) };
}

function fillOutput(card, o, text) {
  const when = new Date(o.updated * 1000).toISOString().replace("T", " ").slice(0, 19);
  const head = el("h3", {}, `${o.plugin} · ${o.name || "(no name)"} `,
    el("small", { class: "muted", text: `${o.type} · ${fmtBytes(o.bytes)} · updated ${when} UTC · ` }),
    el("a", { href: withToken(o.url), text: "raw" }));
  const cb = o.type === "cbuf" ? parseCbuf(text) : null;
  if (!cb) {
    card.replaceChildren(head, el("pre", { class: "payload", text: text }));
    return;
  }
  const view = cbufView(o, cb);
  card.replaceChildren(head, view.box);
  view.draw();
}

async function refreshOutputs(view) {
  const list = await getJSON(withToken("/api/v1/sandbox_outputs"));
  if (location.hash !== "#/outputs") return; // the page was left meanwhile
  let box = document.getElementById("outputs");
  if (!box) { box = el("div", { id: "outputs" }); view.replaceChildren(box); }
  if (!list.length) box.replaceChildren(el("p", { class: "muted", id: "outputs-empty", text: "No sandbox filter has injected a payload yet." }));
  else { const empty = document.getElementById("outputs-empty"); if (empty) empty.remove(); }
  const keep = new Set();
  for (const o of list) {
    const key = JSON.stringify([o.plugin, o.name]);
    keep.add(key);
    let card = [...box.children].find((c) => c.dataset.key === key);
    if (!card) { card = el("section", { class: "output", "data-key": key, "data-plugin": o.plugin, "data-name": o.name }); box.append(card); }
    if (card.dataset.updated === String(o.updated)) continue;
    const r = await fetch(withToken(o.url), { cache: "no-store" });
    if (!r.ok) throw new Error(o.url + ": HTTP " + r.status);
    fillOutput(card, o, await r.text());
    card.dataset.updated = String(o.updated);
  }
  for (const c of [...box.children]) if (c.dataset.key && !keep.has(c.dataset.key)) c.remove();
  document.body.dataset.outputs = String(list.length);
}

// Called by app.js's router on every poll while the page is open.
function renderOutputs(view) {
  if (outputsState.busy) return;
  outputsState.busy = true;
  refreshOutputs(view)
    .catch((e) => location.hash === "#/outputs" && view.replaceChildren(el("p", { class: "error", text: "Sandbox outputs unavailable: " + e.message })))
    .finally(() => { outputsState.busy = false; });
}
