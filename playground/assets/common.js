// NN Playground: helpers every live view shares (prepended to each view's script).
// Text from the server (class names, tokens, column names) may come from a link or an
// upload: it reaches the page only through textContent and attributes, never as HTML.
const PALETTE = __PALETTE__;  // filled in from playground/palette.py
const SVGNS = "http://www.w3.org/2000/svg";
// The train curve, under the test curve, is drawn wider: where the two agree the test
// line hid it entirely, and the legend's "train (grey)" was nowhere (a teacher's review).
const TRAIN_WIDTH = 3.2;

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
// A series as one path with gaps: point(v, i) gives [x, y], or null where nothing can be
// drawn; a null value or a non-finite y is a gap, not a line to it.
function tracePath(ctx, values, point) {
  let on = false;
  values.forEach((v, i) => {
    const p = v === null ? null : point(v, i);
    if (p === null || !Number.isFinite(p[1])) { on = false; return; }
    if (on) ctx.lineTo(p[0], p[1]); else ctx.moveTo(p[0], p[1]);
    on = true;
  });
}
// A canvas's CSS size, read once and then kept by a ResizeObserver: reading clientWidth
// every frame, after the frame's first DOM writes, made the browser lay the whole page out
// again in the middle of each frame (a tenth of the race view's main thread).
const BOXES = new WeakMap();
const RESIZED = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(entries => {
  for (const e of entries) BOXES.set(e.target, [e.target.clientWidth, e.target.clientHeight]);
});
function boxOf(canvas) {
  let box = BOXES.get(canvas);
  if (!box || !box[0]) {  // first use, or drawn while hidden: measure (once) now
    box = [canvas.clientWidth, canvas.clientHeight];
    BOXES.set(canvas, box);
    if (RESIZED) RESIZED.observe(canvas);
  }
  return box;
}
function surface(canvas, fw, fh) {
  const box = boxOf(canvas);
  const r = window.devicePixelRatio || 1, w = box[0] || fw || 320, h = box[1] || fh || 150;
  if (canvas.width !== Math.round(w * r)) { canvas.width = Math.round(w * r); canvas.height = Math.round(h * r); }
  const ctx = canvas.getContext("2d"); ctx.setTransform(r, 0, 0, r, 0, 0); ctx.clearRect(0, 0, w, h);
  // A context keeps its state between frames: a frame's axis labels (right-aligned) must
  // not right-align the next frame's "appears here once..." text out of view.
  ctx.textAlign = "start"; ctx.textBaseline = "alphabetic"; ctx.setLineDash([]); ctx.lineWidth = 1;
  ctx.font = "10px sans-serif"; return [ctx, w, h];
}

// "Train loss 0.0123 (98.0%) · Test loss ..." from [{split, loss, accuracy}].
function metricsLine(box, metrics, rate) {
  clear(box);
  (metrics || []).forEach((m, i) => {
    if (i) box.append(" \u00b7 ");
    const one = el("span", {class: "nnp-metric"}, box);  // a line breaks between splits only
    one.append(`${m.split} loss `);
    el("b", {}, one, fmt(m.loss, 4));
    // "correct": a bare "(60.4%)" after a loss did not say what it counted (a teacher)
    if (m.accuracy !== null && m.accuracy !== undefined) one.append(` (${fmt(100 * m.accuracy, 1)}% correct)`);
  });
  // the learning rate now: a schedule or a warm-up is seen at work (a teacher asked)
  if (rate !== null && rate !== undefined && isFinite(rate)) {
    const r = el("span", {class: "nnp-rate", "data-testid": "learning-rate",
      title: "The rate the latest epoch began with: schedule and warm-up applied"}, box);
    r.append("learning rate ");
    el("b", {}, r, rate === 0 ? "0" : Number(rate).toPrecision(3));  // not "0.00"
  }
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

// Series of numbers travel as {__f32: base64 float32} (playground/core/encode.py: floats):
// decoded here, in place, to arrays with NaN and infinities as null (a gap). The server
// sends a frame as a one-element list: Streamlit checks every value of a dict it is sent
// for a dataframe (2.4 ms for a list of 250 points), and not a list's.
function f32(s) {
  const b = b64(s), a = new Float32Array(b.buffer, b.byteOffset, b.length >> 2);
  return Array.from(a, v => (Number.isFinite(v) ? v : null));
}
function decoded(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    if (typeof v[0] !== "object") return v;  // numbers or text: nothing to decode
    for (let i = 0; i < v.length; i++) v[i] = decoded(v[i]);
    return v;
  }
  if (typeof v.__f32 === "string") {
    try { return f32(v.__f32); } catch (e) { return []; }  // not base64: no curve, no crash
  }
  for (const k of Object.keys(v)) v[k] = decoded(v[k]);
  return v;
}
function frameOf(sent) { return decoded(Array.isArray(sent) ? sent[0] : sent); }

// A loaded server sends a few frames in one message (frames_per_message in pacing.py):
// playFrames(draw) draws them one by one, each `_after` ms after the one before, the
// first at once when nothing is waiting. Frames of a message that arrives while others
// wait queue behind them, so none is lost to a late timer; a view more than
// MAX_FRAMES_BEHIND frames behind drops the oldest (each frame is a whole state: it
// skips ahead, never back). A queued frame that fails to draw is logged and the rest
// still play. `draw` is a view's own function of one frame's component.
// A script run's first frame comes from Streamlit; where the server offers it, that
// frame names the app's own websocket (`_channel`: playground/core/channel.py), and
// the run's later frames come over it, into the same queue.
const MAX_FRAMES_BEHIND = 8;
function playFrames(draw) {
  return function (component) {
    const host = component.parentElement, sent = component.data;
    if (!Array.isArray(sent)) return draw(component);
    if (host.__nnpLast === sent) return;  // the same message again (a theme change)
    host.__nnpLast = sent;
    host.__nnpComponent = component;  // (its callbacks: the latest message's)
    const play = host.__nnpPlay || (host.__nnpPlay = player(host, draw));
    if (sent[0] && sent[0]._channel) listen(host, sent[0]._channel);
    return play(sent);
  };
}
function player(host, draw) {
  const queue = host.__nnpQueue = [];
  const drawn = (frame) => {  // tell the server (it waits for a browser that lags)
    const socket = host.__nnpSocket;
    if (frame._seq && socket && socket.readyState === WebSocket.OPEN) socket.send(String(frame._seq));
  };
  const next = () => {
    host.__nnpTimer = null;
    const frame = queue.shift();
    if (frame === undefined) return;
    try { draw(Object.assign({}, host.__nnpComponent, {data: [frame]})); }
    catch (err) { console.error("nn-playground: a frame was not drawn", err); }
    drawn(frame);
    if (queue.length) host.__nnpTimer = setTimeout(next, queue[0]._after || 0);
  };
  return function (frames) {
    // Frames are numbered where two sockets carry them (`_seq`): one older than a frame
    // already here came the slower way, and is dropped.
    frames = frames.filter(f => !(f._seq <= host.__nnpSeq));
    if (!frames.length) return;
    for (const f of frames) if (f._seq) host.__nnpSeq = f._seq;
    if (!queue.length && frames.length < 2 && host.__nnpTimer == null) {  // the usual case
      try { return draw(Object.assign({}, host.__nnpComponent, {data: frames})); }
      finally { drawn(frames[0]); }  // drawn or not, as a queued frame: the loop goes on
    }
    queue.push(...frames);
    queue.splice(0, queue.length - MAX_FRAMES_BEHIND);
    if (host.__nnpTimer == null) next();
    return () => { clearTimeout(host.__nnpTimer); host.__nnpTimer = null; queue.length = 0; };
  };
}
function listen(host, where) {  // one socket per view; a new token replaces it
  const old = host.__nnpSocket;
  // A token is tried once: refused (a proxy that rewrites Host), frames keep coming
  // from Streamlit, and the server names a new token when it wants a new connection.
  if (old && old.__token === where.token) return;
  if (old) old.close();
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    where.path + "?t=" + encodeURIComponent(where.token);
  let socket;
  try { socket = new WebSocket(url); } catch (err) { return; }  // frames keep coming from Streamlit
  socket.__token = where.token;
  host.__nnpSocket = socket;
  socket.onmessage = (event) => {
    if (!host.isConnected) { socket.close(); return; }  // the view left the page
    let frames;
    try { frames = JSON.parse(event.data); } catch (err) { return; }
    if (Array.isArray(frames) && frames.length) host.__nnpPlay(frames);
  };
}

// Frames drawn so far by a view (tests and benchmarks read data-frame).
function countFrame(root, name) {
  window[name] = (window[name] || 0) + 1;
  root.dataset.frame = String(window[name]);
}

// The output over the plane and the data points (the Playground's view and the race's tiles).
const NEG = PALETTE.NEG, POS = PALETTE.POS, MID = PALETTE.MID, CLASS_COLORS = PALETTE.CLASSES;

function divergingColor(v) { // v in 0..255, 128 = zero
  const t = (v - 128) / 127 * 0.62;  // faded: points in full colour stay visible on top
  return t < 0 ? lerp(MID, NEG, Math.min(1, -t)) : lerp(MID, POS, Math.min(1, t));
}

// Colours by byte, computed once: a frame paints tens of thousands of pixels (the race's
// 8 tiles, the Playground's output and neurons), and a colour blend per pixel was the
// views' largest cost in the browser.
const TABLES = new Map();
function byteColors(color) {  // [r, g, b] of every byte 0..255 under `color`, kept
  let table = TABLES.get(color);
  if (!table) TABLES.set(color, table = Array.from({length: 256}, (_, v) => color(v)));
  return table;
}
const DIVERGING = byteColors(divergingColor);
const CLASS_SHADES = CLASS_COLORS.map(base => ({
  conf: Array.from({length: 256}, (_, c) => lerp(MID, base, 0.15 + 0.55 * (c / 255))),
  flat: lerp(MID, base, 0.6)}));

function paintGrid(canvas, bytes, n, mode, conf, discretize) {
  // bytes: n*n values, row 0 = bottom of the plane (flip for display)
  const w = n, h = bytes.length / n;
  if (canvas.width !== w) canvas.width = w;  // (setting a size clears and reallocates)
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h), px = img.data;
  const multi = mode === "multiclass";
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    const i = r * w + c, o = ((h - 1 - r) * w + c) * 4;
    let col;
    if (multi) {
      const shades = CLASS_SHADES[bytes[i] % 10];
      col = discretize ? shades.flat : shades.conf[conf[i]];
    } else col = DIVERGING[discretize ? (bytes[i] >= 128 ? 255 : 0) : bytes[i]];
    px[o] = col[0]; px[o + 1] = col[1]; px[o + 2] = col[2]; px[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function drawPoints(canvas, d) {
  const ctx = canvas.getContext("2d"), S = canvas.width;
  ctx.clearRect(0, 0, S, S);
  const pts = d.points || [], one = d.dim === 1;
  for (const p of pts) {  // [u, v, colour, is_test]: u, v in [-1, 1] over the plane
    if (p[3] && !d.show_test) continue;
    const x = (p[0] + 1) / 2 * S;
    const y = one ? (1 - (p[1] - d.ylo) / (d.yhi - d.ylo)) * S : (1 - (p[1] + 1) / 2) * S;
    let col;
    if (d.mode === "multiclass") col = CLASS_COLORS[p[2] % 10];
    else if (d.mode === "binary") col = p[2] > 0 ? POS : NEG;
    else { const t = Math.max(-1, Math.min(1, p[2]));
      col = t < 0 ? lerp(MID, NEG, -t) : lerp(MID, POS, t); }
    ctx.beginPath(); ctx.arc(x, y, one ? 2.5 : 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = rgb(col); ctx.fill();
    ctx.lineWidth = p[3] ? 1.6 : 0.8;
    ctx.strokeStyle = p[3] || d.mode === "regression" ? "#333" : "#fff"; ctx.stroke();
  }
}
