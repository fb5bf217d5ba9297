// NN Playground gradient-flow view: draws one frame sent by the server.
// Every number comes from the engine's probes; this file only scales and paints.
const BLUE = PALETTE.BLUE, ORANGE = PALETTE.ORANGE, RED = PALETTE.RED, PURPLE = PALETTE.PURPLE, GREY = PALETTE.GREY;
const PANELS = [
  ["grad", "Gradient norm per layer", "Full-batch gradient of each layer's parameters (log scale)."],
  ["heat", "Gradient norm over time", "Rows are layers, columns are frames; colour: the gradient's norm on a log scale (the bar below); grey: none."],
  ["acts", "Activations per layer", "Band: min to max; dark band: mean \u00b1 std; line: mean. Red bars along the bottom: the share of saturated slopes, f\u2032(z) under 5% of its peak, over examples and units (a bar a third of the chart high: all of them)."],
  ["weights", "Weights per layer", "Band: min to max; dark band: mean \u00b1 std; line: mean."],
  ["pre", "Pre-activations of the inspected layer", "Histogram of z = x W + b over the training set, with f(z) (solid) and f\u2032(z) (dashed)."],
  ["time", "The inspected layer over time", "Top: its activations; bottom: its weights (bands as above)."],
  ["loss", "Loss", "Train (grey) and test (orange) loss per epoch. The axis spans only the curves' range: a loss stuck near 0.69 (chance for two classes) still shows its wiggles."],
];

function fmtExp(v) { return v === null ? "0" : Math.pow(10, v).toExponential(1); }

const PAD = {l: 38, r: 8, t: 6, b: 16};
function axes(ctx, w, h, lo, hi, ticks, fmt) {  // y axis with labels; returns y(v)
  const y = v => PAD.t + (1 - (v - lo) / (hi - lo || 1)) * (h - PAD.t - PAD.b);
  ctx.strokeStyle = "#e3e3e3"; ctx.fillStyle = "#777"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of ticks) { ctx.beginPath(); ctx.moveTo(PAD.l, y(v)); ctx.lineTo(w - PAD.r, y(v)); ctx.stroke();
    ctx.fillText(fmt(v), PAD.l - 4, y(v)); }
  return y;
}
function xlabels(ctx, w, h, labels) {  // evenly spaced slot labels under the plot
  const n = labels.length, slot = (w - PAD.l - PAD.r) / Math.max(n, 1), every = Math.ceil(n / 16);
  ctx.fillStyle = "#777"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  labels.forEach((s, i) => { if (i % every === 0 || i === n - 1) ctx.fillText(s, PAD.l + (i + 0.5) * slot, h - PAD.b + 3); });
  return slot;
}

function drawGrad(canvas, d) {
  const [ctx, w, h] = surface(canvas), vals = finite(d.grad);
  const lo = Math.floor(Math.min(-4, ...vals)), hi = Math.ceil(Math.max(0, ...vals));
  const ticks = []; for (let v = lo; v <= hi; v += Math.max(1, Math.ceil((hi - lo) / 5))) ticks.push(v);
  const y = axes(ctx, w, h, lo, hi, ticks, v => "1e" + v);
  const slot = xlabels(ctx, w, h, d.names), last = d.grad.length >= 2 ? d.grad[d.grad.length - 2] : null;
  d.grad.forEach((v, i) => {
    if (v === null) return;
    const rel = last === null ? 0 : v - last;  // orders of magnitude from the last hidden layer
    ctx.fillStyle = i === d.grad.length - 1 ? GREY : rel < -2 ? PURPLE : rel > 2 ? RED : BLUE;
    const x = PAD.l + i * slot + slot * 0.15;
    ctx.fillRect(x, y(v), slot * 0.7, y(lo) - y(v));
  });
}

function viridis(t) {  // t in 0..1, a short viridis-like ramp
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const s = Math.min(3.999, Math.max(0, t * 4)), i = Math.floor(s), f = s - i;
  return stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
}
function drawHeat(canvas, d) {
  const [ctx, w, h] = surface(canvas), rows = d.names.length, cols = d.heat_frames, bytes = b64(d.heat);
  const img = document.createElement("canvas"); img.width = Math.max(cols, 1); img.height = rows;
  const ic = img.getContext("2d"), data = ic.createImageData(img.width, rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const v = bytes[r * cols + c], o = (r * img.width + c) * 4, col = v === 0 ? [225, 225, 225] : viridis((v - 1) / 254);
    data.data[o] = col[0]; data.data[o + 1] = col[1]; data.data[o + 2] = col[2]; data.data[o + 3] = 255;
  }
  ic.putImageData(data, 0, 0);
  ctx.imageSmoothingEnabled = false;
  const ph = h - PAD.t - PAD.b;
  ctx.drawImage(img, PAD.l, PAD.t, w - PAD.l - PAD.r, ph);
  ctx.fillStyle = "#777"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  const every = Math.ceil(rows / 10);
  d.names.forEach((s, i) => { if (i % every === 0 || i === rows - 1) ctx.fillText(s, PAD.l - 4, PAD.t + (i + 0.5) * ph / rows); });
  ctx.textBaseline = "top"; ctx.textAlign = "left";
  ctx.fillText("epoch " + d.heat_epochs[0], PAD.l, h - PAD.b + 3);
  ctx.textAlign = "right"; ctx.fillText("epoch " + d.heat_epochs[1], w - PAD.r, h - PAD.b + 3);
  // the colour scale, fixed (the same colour is the same norm in every setup)
  const [lo, hi] = d.heat_range || [-8, 2], bw = 90, bx = PAD.l + (w - PAD.l - PAD.r - bw) / 2, by = h - PAD.b + 4;
  for (let i = 0; i < bw; i++) { const c = viridis(i / (bw - 1)); ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`; ctx.fillRect(bx + i, by, 1, 8); }
  ctx.fillStyle = "#777"; ctx.textAlign = "right"; ctx.fillText("\u22641e" + lo, bx - 4, h - PAD.b + 3);
  ctx.textAlign = "left"; ctx.fillText("\u22651e" + hi, bx + bw + 4, h - PAD.b + 3);
}

function bands(ctx, rows, xAt, y) {  // rows: [min, mean-std, mean, mean+std, max] per x
  const pts = rows.map((r, i) => [xAt(i), r]).filter(p => p[1] && p[1].every(v => v !== null));
  if (!pts.length) return;
  const poly = (a, b, fill) => { ctx.beginPath(); pts.forEach(([x, r], i) => i ? ctx.lineTo(x, y(r[a])) : ctx.moveTo(x, y(r[a])));
    for (let i = pts.length - 1; i >= 0; i--) ctx.lineTo(pts[i][0], y(pts[i][1][b])); ctx.closePath(); ctx.fillStyle = fill; ctx.fill(); };
  poly(0, 4, "rgba(8,119,189,0.15)"); poly(1, 3, "rgba(8,119,189,0.35)");
  ctx.strokeStyle = BLUE; ctx.lineWidth = 1.5; ctx.beginPath();
  pts.forEach(([x, r], i) => i ? ctx.lineTo(x, y(r[2])) : ctx.moveTo(x, y(r[2]))); ctx.stroke();
}
function range(rows, fallback) {
  const v = finite(rows.flat()); if (!v.length) return fallback;
  let lo = Math.min(...v), hi = Math.max(...v); if (hi - lo < 1e-6) { lo -= 0.5; hi += 0.5; } return [lo, hi];
}
// The ends and, between them, 0 where the range spans it (weights and gradients are
// signed: a midpoint like 0.013 read as a value that meant something)
function niceTicks(lo, hi) {
  const apart = 0.15 * (hi - lo);  // 0 only where its label clears the ends' labels
  return [lo, lo + apart < 0 && 0 < hi - apart ? 0 : (lo + hi) / 2, hi];
}
function drawBandsOverLayers(canvas, rows, names, lohi, shares) {
  const [ctx, w, h] = surface(canvas), [lo, hi] = lohi;
  const y = axes(ctx, w, h, lo, hi, niceTicks(lo, hi), v => +v.toPrecision(2));
  const slot = xlabels(ctx, w, h, names);
  if (shares) shares.forEach((s, i) => { if (s === null) return;  // saturated share, bottom strip
    ctx.fillStyle = "rgba(214,39,40,0.35)"; const bh = s * (h - PAD.t - PAD.b) * 0.3;
    ctx.fillRect(PAD.l + i * slot + slot * 0.3, h - PAD.b - bh, slot * 0.4, bh); });
  bands(ctx, rows, i => PAD.l + (i + 0.5) * slot, y);
}

function drawPre(canvas, s) {
  const [ctx, w, h] = surface(canvas), n = s.hist.length, top = Math.max(1, ...s.hist);
  const x = z => PAD.l + (z + s.range) / (2 * s.range || 1) * (w - PAD.l - PAD.r), ph = h - PAD.t - PAD.b;
  ctx.fillStyle = "rgba(120,120,120,0.35)";
  s.hist.forEach((c, i) => { const bw = (w - PAD.l - PAD.r) / n, bh = c / top * ph;
    ctx.fillRect(PAD.l + i * bw + 0.5, h - PAD.b - bh, bw - 1, bh); });
  const ys = finite(s.curve_y.concat(s.curve_dy));
  const lo = Math.min(0, ...ys), hi = Math.max(1e-6, ...ys);
  const y = axes(ctx, w, h, lo, hi, niceTicks(lo, hi), v => +v.toPrecision(2));
  const line = (vals, dash, color) => { ctx.setLineDash(dash); ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
    vals.forEach((v, i) => { const zx = x(-s.range + 2 * s.range * i / (vals.length - 1)); if (v === null) return; i ? ctx.lineTo(zx, y(v)) : ctx.moveTo(zx, y(v)); });
    ctx.stroke(); ctx.setLineDash([]); };
  line(s.curve_y, [], BLUE); line(s.curve_dy, [5, 4], ORANGE);
  ctx.fillStyle = "#777"; ctx.textBaseline = "top";
  [[-s.range, "left"], [0, "center"], [s.range, "right"]].forEach(([z, align]) => {
    ctx.textAlign = align; ctx.fillText("z = " + +z.toPrecision(2), x(z), h - PAD.b + 3); });
}

function drawTime(canvas, s) {
  const [ctx, w, h] = surface(canvas), half = (h - 8) / 2;
  [[s.act_time, 0], [s.w_time, half + 8]].forEach(([rows, off]) => {
    const [lo, hi] = range(rows, [0, 1]), n = rows.length;
    const y = v => off + PAD.t + (1 - (v - lo) / (hi - lo)) * (half - PAD.t - 4);
    ctx.fillStyle = "#777"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText(+hi.toPrecision(2), PAD.l - 4, y(hi)); ctx.fillText(+lo.toPrecision(2), PAD.l - 4, y(lo));
    bands(ctx, rows, i => PAD.l + (n > 1 ? i / (n - 1) : 0.5) * (w - PAD.l - PAD.r), y);
  });
}

function drawLoss(canvas, c) {
  const [ctx, w, h] = surface(canvas), all = finite((c.train || []).concat(c.test || []));
  if (!all.length) return;
  // Zoomed on the curves' range: a loss stuck near 0.69 should still show its wiggles.
  const top = Math.max(...all), bottom = Math.min(...all), pad = 0.08 * (top - bottom || top || 1);
  const lo = Math.max(0, bottom - pad), hi = top + pad;
  const y = axes(ctx, w, h, lo, hi, [lo, (lo + hi) / 2, hi], v => +v.toPrecision(3));
  [[c.train, PALETTE.TRAIN, TRAIN_WIDTH], [c.test, PALETTE.TEST, 1.5]].forEach(([vals, color, width]) => { if (!vals || !vals.length) return;
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.beginPath();
    vals.forEach((v, i) => { if (v === null) return; const x = PAD.l + (vals.length > 1 ? i / (vals.length - 1) : 0) * (w - PAD.l - PAD.r); i ? ctx.lineTo(x, y(v)) : ctx.moveTo(x, y(v)); });
    ctx.stroke(); });
}

function build(root) {
  clear(root);
  const head = el("div", {class: "fv-head"}, root);
  el("span", {class: "fv-epoch", "data-testid": "epoch-counter"}, head).textContent = "0";
  el("span", {class: "fv-health", "data-testid": "gradient-health"}, head);
  el("span", {class: "fv-loss"}, head);
  const grid = el("div", {class: "fv-grid"}, root);
  for (const [id, title, note] of PANELS) {
    const p = el("div", {class: "fv-panel fv-" + id}, grid);
    el("div", {class: "fv-title"}, p).textContent = title;
    el("canvas", {class: "fv-canvas", "data-panel": id}, p);
    el("div", {class: "fv-note"}, p).textContent = note;
  }
  root.dataset.built = "1";
}

function healthText(d) {
  const hl = d.health, n = d.names.length - 1;
  if (hl.ratio === null) return [hl.verdict, GREY];
  const color = hl.verdict === "vanishing" ? PURPLE : hl.verdict === "exploding" ? RED : BLUE;
  return [`Layer 1 gets ${hl.ratio.toExponential(1)} \u00d7 the gradient of layer ${n}: ${hl.verdict}`, color];
}

function drawView(component) {
  const { data: sent, parentElement } = component;
  const data = frameOf(sent);
  let root = parentElement.querySelector(".fv-root");
  if (!root) root = el("div", {class: "fv-root", "data-testid": "flow-view", "data-frame": "0"}, parentElement);
  if (!data) return;
  if (root.dataset.built !== "1") build(root);
  const q = id => root.querySelector(`canvas[data-panel="${id}"]`);
  root.querySelector(".fv-epoch").textContent = String(data.epoch);
  const [text, color] = healthText(data), hEl = root.querySelector(".fv-health");
  hEl.textContent = text; hEl.style.color = color; hEl.dataset.verdict = data.health.verdict;
  metricsLine(root.querySelector(".fv-loss"), data.metrics);
  drawGrad(q("grad"), data);
  drawHeat(q("heat"), data);
  const hidden = data.names.slice(0, -1);
  if (data.acts) drawBandsOverLayers(q("acts"), data.acts, hidden, data.act_range, data.saturated);
  drawBandsOverLayers(q("weights"), data.weights, data.names, range(data.weights, [-1, 1]), null);
  const s = data.selected;
  if (s) {
    root.querySelector(".fv-pre .fv-title").textContent = `${s.name} (${s.activation}): pre-activations`;
    const dead = data.dead[s.index], sat = data.saturated[s.index];
    root.querySelector(".fv-pre .fv-note").textContent =
      `Dead units: ${dead === null ? "n/a" : (100 * dead).toFixed(0) + "%"} \u00b7 saturated slopes: ` +
      `${sat === null ? "n/a" : (100 * sat).toFixed(0) + "%"}. Histogram of z = x W + b with f(z) (solid) and f\u2032(z) (dashed).`;
    root.querySelector(".fv-time .fv-title").textContent = `${s.name} over time`;
    drawPre(q("pre"), s); drawTime(q("time"), s);
  }
  drawLoss(q("loss"), data.curve);
  countFrame(root, "__nnpFlowFrames");
}

export default playFrames(drawView);
