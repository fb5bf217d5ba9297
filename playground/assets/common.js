// NN Playground: helpers every live view shares (prepended to each view's script).
// Text from the server (class names, tokens, column names) may come from a link or an
// upload: it reaches the page only through textContent and attributes, never as HTML.
const PALETTE = __PALETTE__;  // filled in from playground/palette.py
const SVGNS = "http://www.w3.org/2000/svg";

function el(tag, attrs, parent, text) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (parent) parent.appendChild(e);
  return e;
}
function clear(node) { node.replaceChildren(); return node; }
function b64(s) { const bin = atob(s || ""); const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i); return out; }
function finite(xs) { return (xs || []).filter(v => v !== null && Number.isFinite(v)); }
// A number for display; null (the server's NaN or infinity) as "n/a".
function fmt(v, digits) { return v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits); }
function rgb(c) { return `rgb(${c.map(Math.round).join(",")})`; }
function lerp(a, b, t) { return [0, 1, 2].map(i => a[i] + (b[i] - a[i]) * t); }

// A canvas sized to its box at the device's pixel ratio; returns [ctx, width, height].
function surface(canvas, fw, fh) {
  const r = window.devicePixelRatio || 1, w = canvas.clientWidth || fw || 320, h = canvas.clientHeight || fh || 150;
  if (canvas.width !== Math.round(w * r)) { canvas.width = Math.round(w * r); canvas.height = Math.round(h * r); }
  const ctx = canvas.getContext("2d"); ctx.setTransform(r, 0, 0, r, 0, 0); ctx.clearRect(0, 0, w, h);
  ctx.font = "10px sans-serif"; return [ctx, w, h];
}

// "Train loss 0.0123 (98.0%) · Test loss ..." from [{split, loss, accuracy}].
function metricsLine(box, metrics) {
  clear(box);
  (metrics || []).forEach((m, i) => {
    if (i) box.append(" \u00b7 ");
    box.append(`${m.split} loss `);
    el("b", {}, box, fmt(m.loss, 4));
    if (m.accuracy !== null && m.accuracy !== undefined) box.append(` (${fmt(100 * m.accuracy, 1)}%)`);
  });
}

// A confusion matrix: rows are true classes, columns predicted ones.
function confusionTable(box, cm) {
  const key = cm ? JSON.stringify(cm) : "";
  if (box.__key === key) return;
  box.__key = key; clear(box);
  if (!cm) return;
  el("div", {class: "lv-cm-title"}, box, "Confusion matrix, test set: true class (rows) vs predicted (columns)");
  const t = el("table", {class: "lv-cm"}, box), head = el("tr", {}, t);
  el("th", {}, head);
  cm.names.forEach(n => el("th", {}, head, n));
  cm.counts.forEach((row, i) => {
    const tr = el("tr", {}, t);
    el("th", {}, tr, cm.names[i]);
    row.forEach((v, j) => el("td", {class: i === j ? "hit" : (v ? "miss" : "")}, tr, v));
  });
}

// Frames drawn so far by a view (tests and benchmarks read data-frame).
function countFrame(root, name) {
  window[name] = (window[name] || 0) + 1;
  root.dataset.frame = String(window[name]);
}
