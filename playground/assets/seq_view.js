// NN Playground sequence view: one test example's tokens, predictions, attention maps,
// recurrent states and gradient through time; or, in compare mode, four models' curves.
// Every number comes from the engine's probes; this file only scales and paints.
const BLUE = PALETTE.BLUE, ORANGE = PALETTE.ORANGE, GREEN = PALETTE.GREEN, RED = PALETTE.RED;
const MODEL_COLORS = {rnn: PALETTE.PURPLE, lstm: BLUE, gru: GREEN, transformer: ORANGE};

// Paint a rows x cols uint8 matrix; `color(v)` maps 0..255 to [r, g, b].
function paint(canvas, bytes, rows, cols, color) {
  if (canvas.width !== cols) canvas.width = cols;
  if (canvas.height !== rows) canvas.height = rows;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(cols, rows), table = byteColors(color);
  for (let i = 0; i < rows * cols; i++) { const c = table[bytes[i]];
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255; }
  ctx.putImageData(img, 0, 0);
}
const blues = v => [255 - v * 0.97, 255 - v * 0.53, 255 - v * 0.26];  // 0 white .. 255 blue
function diverging(v) { const t = (v - 128) / 127;
  return t < 0 ? [255 + t * 10, 255 + t * 108, 255 + t * 221] : [255 - t * 247, 255 - t * 136, 255 - t * 66]; }

function drawCurves(canvas, series) {  // series: [[values, color, dashed, width]]
  const [ctx, w, h] = surface(canvas), all = finite(series.flatMap(s => s[0] || []));
  if (!all.length) return;
  // A loss that falls by decades on a log scale, as the Playground's: on a linear one a
  // task learned in seconds showed a spike, then a flat line (a teacher's review).
  const positive = all.filter(v => v > 0), least = positive.length ? Math.min(...positive) : 0;
  const log = least > 0 && Math.max(...all) / least > 100;
  const tr = v => log ? Math.log10(Math.max(v, least)) : v;
  const top = tr(Math.max(...all)), bottom = tr(Math.min(...all)), pad = 0.08 * (top - bottom || Math.abs(top) || 1);
  const lo = log ? Math.floor(bottom) : Math.max(0, bottom - pad), hi = log ? Math.ceil(top) : top + pad, L = 40, B = 14;
  const Y = t => 8 + (1 - (t - lo) / (hi - lo || 1)) * (h - 8 - B), y = v => Y(tr(v));  // the top label whole
  ctx.fillStyle = "#777"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  [lo, hi].forEach(t => ctx.fillText(log ? "1e" + t : +t.toPrecision(3), L - 4, Y(t)));
  for (const [vals, color, dashed, width] of series) { if (!vals || !vals.length) continue;
    ctx.setLineDash(dashed ? [4, 3] : []); ctx.strokeStyle = color; ctx.lineWidth = width || 1.6; ctx.beginPath();
    vals.forEach((v, i) => { if (v === null) return; const x = L + (vals.length > 1 ? i / (vals.length - 1) : 0) * (w - L - 6);
      i ? ctx.lineTo(x, y(v)) : ctx.moveTo(x, y(v)); });
    ctx.stroke();
    if (vals.length === 1 && vals[0] !== null) { ctx.fillStyle = color; ctx.beginPath();  // one epoch: a dot
      ctx.arc(L + 3, y(vals[0]), 3, 0, 2 * Math.PI); ctx.fill(); } }
  ctx.setLineDash([]);
}

function drawTokens(box, d) {
  const rows = [["input", d.tokens], ["target", d.per_token ? d.targets : [d.targets[0]]],
                ["model", d.per_token ? d.preds : [d.preds[0]]]];
  const t = el("table", {class: "sv-tok"});
  for (const [name, cells] of rows) {
    const tr = el("tr", {}, t);
    el("th", {}, tr, name);
    cells.forEach((c, i) => {
      const td = el("td", {}, tr, c === null ? "\u00b7" : c);
      if (name === "model" && d.right.length) { const r = d.right[d.per_token ? i : 0];
        td.className = r === null ? "sv-none" : r ? "sv-ok" : "sv-bad"; }
      if (name === "model") td.title = "confidence " + d.conf[d.per_token ? i : 0];
    });
  }
  box.replaceChildren(t);
}

const MAP_PX = 112, LABEL_PX = 8;  // a map's size; the narrowest cell labelled (a character)

// Steps are labelled when they are symbols (characters, words) that fit a map's cell; a
// real-valued input's first character ("0" of "0.57") would mislead.
function labelled(d) {
  return MAP_PX / d.T >= LABEL_PX && !d.tokens.some(t => /\d\.\d/.test(String(t)));
}

function drawAttention(box, d) {
  const key = d.attention.map(a => a.name + a.heads.length).join("|") + ":" + d.T + ":" + labelled(d);
  if (box.dataset.key !== key) {  // (re)build the grid of head canvases
    clear(box); box.dataset.key = key; box.dataset.big = "";  // old heads are gone
    const named = labelled(d);
    d.attention.forEach((layer, li) => {
      const row = el("div", {class: "sv-attrow"}, box);
      el("div", {class: "sv-label"}, row).textContent = layer.name;
      const heads = el("div", {class: "sv-heads"}, row);
      layer.heads.forEach((_, hi) => {
        const cell = el("div", {class: "sv-head"}, heads);
        // the steps' tokens along the top (keys) and, left of a row's first map, down the
        // side (queries), while each fits a map's cell (the enlarged table names them all)
        const grid = el("div", {class: "sv-mapgrid"}, cell);
        el("div", {}, grid);
        if (named) el("div", {class: "sv-keys"}, grid);
        if (named) el("div", {class: "sv-queries" + (hi ? " sv-spacer" : "")}, grid);
        grid.classList.toggle("sv-labelled", named);
        const c = el("canvas", {class: "sv-map", "data-layer": li, "data-head": hi, title: "click to enlarge"}, grid);
        el("div", {class: "sv-hlabel"}, cell).textContent = "head " + (hi + 1);
        c.addEventListener("click", () => { box.dataset.big = box.dataset.big === `${li}:${hi}` ? "" : `${li}:${hi}`; box.__draw(); });
      });
    });
    el("div", {class: "sv-big"}, box);
  }
  box.__draw = () => {
    d = box.__data;
    box.querySelectorAll("canvas.sv-map").forEach(c => paint(c, b64(d.attention[+c.dataset.layer].heads[+c.dataset.head]), d.T, d.T, blues));
    // the labels change with the example only (rebuilt each frame, a hover's title
    // would never show)
    const map = box.querySelector("canvas.sv-map");
    const chars = Math.max(1, Math.floor((map && map.clientWidth || MAP_PX) / d.T / 5));  // at 9 px
    const names = d.tokens.slice(0, d.T).map(String), labels = names.join("\u241f") + ":" + chars;
    if (box.__labels !== labels) {
      box.__labels = labels;
      box.querySelectorAll(".sv-keys, .sv-queries").forEach(strip => strip.replaceChildren(
        ...names.map(t => { const s = document.createElement("span");
          s.textContent = Array.from(t).slice(0, chars).join(""); s.title = t; return s; })));
    }
    const big = clear(box.querySelector(".sv-big"));
    if (!box.dataset.big) return;
    const [li, hi] = box.dataset.big.split(":").map(Number);
    if (!d.attention[li] || !d.attention[li].heads[hi]) return;
    el("div", {class: "sv-label"}, big).textContent = `${d.attention[li].name}, head ${hi + 1}: row = the step attending (query), column = the step attended to (key)`;
    const t = el("table", {class: "sv-bigmap"}, big), bytes = b64(d.attention[li].heads[hi]);
    const head = el("tr", {}, t); el("th", {}, head);
    d.tokens.forEach(s => el("th", {}, head, s));
    for (let r = 0; r < d.T; r++) {
      const tr = el("tr", {}, t);
      el("th", {}, tr, d.tokens[r]);
      for (let c = 0; c < d.T; c++) { const v = bytes[r * d.T + c];
        const td = el("td", {}, tr, (v / 255).toFixed(2));
        td.style.background = rgb(blues(v)); td.style.color = v > 140 ? "#fff" : "#333"; }
    }
  };
  box.__data = d; box.__draw();
}

function drawStates(box, d) {
  const key = d.states.concat(d.cells).map(s => s.name + s.units).join("|") + ":" + d.T;
  if (box.dataset.key !== key) {
    clear(box); box.dataset.key = key;
    d.states.forEach((s, i) => {
      el("div", {class: "sv-label"}, box).textContent = `${s.name}: hidden state h (rows: ${s.units} units; columns: steps)`;
      el("canvas", {class: "sv-state", "data-kind": "h", "data-i": i}, box);
    });
    d.cells.forEach((s, i) => {
      el("div", {class: "sv-label"}, box).textContent = `${s.name}: cell state c, the long-term memory (rows: ${s.units} units)`;
      el("canvas", {class: "sv-state", "data-kind": "c", "data-i": i}, box);
    });
  }
  box.querySelectorAll("canvas.sv-state").forEach(c => {
    const s = (c.dataset.kind === "h" ? d.states : d.cells)[+c.dataset.i];
    paint(c, b64(c.dataset.kind === "h" ? s.h : s.c), s.units, d.T, diverging); });
}

function drawGrad(canvas, d) {
  const [ctx, w, h] = surface(canvas), g = d.grad, top = Math.max(1e-12, ...g), slot = w / g.length;
  ctx.fillStyle = BLUE;
  g.forEach((v, i) => { const bh = v / top * (h - 16); ctx.fillRect(i * slot + slot * 0.15, h - 14 - bh, slot * 0.7, bh); });
  ctx.fillStyle = "#777"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  const every = Math.ceil(g.length / 24);
  d.tokens.forEach((s, i) => { if (i % every === 0) ctx.fillText(s.length > 6 ? s.slice(0, 6) : s, (i + 0.5) * slot, h - 12); });
}

function buildSingle(root) {
  clear(root); root.dataset.mode = "single";
  const head = el("div", {class: "sv-headline"}, root);
  el("span", {class: "sv-epoch", "data-testid": "epoch-counter"}, head).textContent = "0";
  el("span", {class: "sv-step", "data-testid": "step-counter"}, head).textContent = "0";
  el("span", {class: "sv-loss"}, head);
  const panel = (cls, title, note, parent = root) => { const p = el("div", {class: "sv-panel " + cls}, parent);
    el("div", {class: "sv-title"}, p).textContent = title; const body = el("div", {class: "sv-body"}, p);
    if (note) el("div", {class: "sv-note"}, p).textContent = note; return body; };
  // a short example and the attention maps share a row: the maps above an 800 px
  // projector's fold (a long example takes the row, and the maps wrap below it)
  const pair = el("div", {class: "sv-pair"}, root);
  panel("sv-tokens", "The example", "Green: right, red: wrong; hover for the confidence.", pair);
  panel("sv-att", "Attention maps, every layer and head", "Row t: how much step t attends to each step (each row sums to one). Click a map to enlarge it.", pair);
  el("div", {class: "sv-note sv-omitted"}, root);
  panel("sv-states", "Recurrent states over time", "Blue positive, orange negative.");
  el("canvas", {class: "sv-grad"}, panel("sv-gradp", "Gradient through time: |d loss / d input| at each step", "How much each input step can still change the loss. A simple RNN's bars fade towards the start (vanishing gradients through time); an LSTM's and a GRU's reach further back, and attention reaches every step directly."));
  el("canvas", {class: "sv-curve"}, panel("sv-curvep", "Loss", "Train (grey) and test (orange)."));
  root.dataset.built = "single";
}

function buildCompare(root, d) {
  clear(root); root.dataset.mode = "compare";
  const head = el("div", {class: "sv-headline"}, root);
  el("span", {class: "sv-epoch", "data-testid": "epoch-counter"}, head).textContent = "0";
  const p = el("div", {class: "sv-panel"}, root);
  el("div", {class: "sv-title"}, p).textContent = "Test loss of each model, same task, same data";
  el("canvas", {class: "sv-curve sv-cmp"}, p);
  el("div", {class: "sv-legend"}, p);
  root.dataset.built = "compare";
}

function drawView(component) {
  const { data: sent, parentElement } = component;
  const data = frameOf(sent);
  let root = parentElement.querySelector(".sv-root");
  if (!root) root = el("div", {class: "sv-root", "data-testid": "seq-view", "data-frame": "0"}, parentElement);
  if (!data) return;
  if (data.compare) {
    if (root.dataset.built !== "compare") buildCompare(root, data);
    drawCurves(root.querySelector(".sv-cmp"), data.models.map(m => [m.curve.test, MODEL_COLORS[m.name] || "#333", false]));
    const legend = clear(root.querySelector(".sv-legend"));
    data.models.forEach((m, i) => {
      if (i) legend.append("  \u00b7  ");
      const key = el("span", {class: "sv-model", "data-model": m.name}, legend, "\u25ac " + m.name);
      key.style.color = MODEL_COLORS[m.name] || "#333";
      legend.append(": test loss ");
      el("b", {}, legend, fmt(m.test_loss, 4));
      if (m.test_accuracy !== null) { legend.append(", accuracy ");
        el("b", {}, legend, (100 * m.test_accuracy).toFixed(1) + "%"); }
    });
  } else {
    if (root.dataset.built !== "single") buildSingle(root);
    metricsLine(root.querySelector(".sv-loss"), data.metrics);
    root.querySelector(".sv-step").textContent = String(data.step);
    drawTokens(root.querySelector(".sv-tokens .sv-body"), data);
    const att = root.querySelector(".sv-att");
    att.style.display = data.attention.length ? "" : "none";
    root.querySelector(".sv-pair").classList.toggle("sv-solo", !data.attention.length);
    if (data.attention.length) drawAttention(att.querySelector(".sv-body"), data);
    const states = root.querySelector(".sv-states");
    states.style.display = data.states.length ? "" : "none";
    if (data.states.length) drawStates(states.querySelector(".sv-body"), data);
    root.querySelector(".sv-omitted").textContent = data.omitted || "";
    drawGrad(root.querySelector("canvas.sv-grad"), data);
    drawCurves(root.querySelector("canvas.sv-curve"), [[data.curve.train, PALETTE.TRAIN, false, TRAIN_WIDTH], [data.curve.test, PALETTE.TEST, false]]);
  }
  root.querySelector(".sv-epoch").textContent = String(data.epoch);
  countFrame(root, "__nnpSeqFrames");
}

export default playFrames(drawView);
