// NN Playground live view: draws one training frame sent by the server.
// The server calls this with `data` = a compact frame (uint8 grids as base64).
// Everything is drawn on canvases/SVG; nothing here computes the network.
function paintLine(canvas, bytes, W, H, mode) { // 1-D data: output as a curve
  const ctx = canvas.getContext("2d"); canvas.width = W; canvas.height = H;
  ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, W, H);
  ctx.strokeStyle = "rgb(8,119,189)"; ctx.lineWidth = 2; ctx.beginPath();
  for (let i = 0; i < bytes.length; i++) { const x = i / (bytes.length - 1) * W, y = H - bytes[i] / 255 * H;
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); }
  ctx.stroke();
}

function build(root) {
  clear(root);
  const net = el("div", {class: "lv-net"}, root);
  const svg = document.createElementNS(SVGNS, "svg"); svg.setAttribute("class", "lv-links"); net.appendChild(svg);
  el("div", {class: "lv-cols"}, net);
  const out = el("div", {class: "lv-out"}, root);
  const head = el("div", {class: "lv-head"}, out);
  el("span", {class: "lv-title"}, head).textContent = "Output";
  const ep = el("span", {class: "lv-epoch", "data-testid": "epoch-counter"}, head);
  ep.textContent = "0";
  el("span", {class: "lv-step", "data-testid": "step-counter"}, head).textContent = "0";
  const stack = el("div", {class: "lv-stack"}, out);
  el("canvas", {class: "lv-grid"}, stack);
  el("canvas", {class: "lv-points", width: 360, height: 360}, stack);
  el("div", {class: "lv-axis"}, out);
  el("div", {class: "lv-loss"}, out);
  el("canvas", {class: "lv-curve", width: 360, height: 90}, out);
  el("div", {class: "lv-legend"}, out);
  el("div", {class: "lv-extra"}, out);
  root.dataset.built = "1";
}

function drawCurve(canvas, d) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H); ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, W, H);
  ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";  // this canvas lives on: the labels' align stays
  const series = [[d.curve.train, PALETTE.TRAIN], [d.curve.test, PALETTE.TEST], [d.curve.val, PALETTE.VAL]];
  let hi = 0; for (const [s] of series) for (const v of s || []) if (isFinite(v)) hi = Math.max(hi, v);
  if (!(hi > 0) || (d.curve.train || []).length < 2) {
    ctx.fillStyle = "#999"; ctx.font = "12px sans-serif";
    ctx.fillText("The loss curves appear here once training starts.", 10, H / 2 + 4);
    return;
  }
  // Losses that fall by decades on a log scale (a linear one shows a drop, then a flat
  // line). The curves keep off a right margin and a bottom strip, where the scale's ends
  // and the epochs are labelled: a label drawn over a curve hid it.
  let lo = Infinity; for (const [s] of series) for (const v of s || []) if (isFinite(v) && v > 0) lo = Math.min(lo, v);
  const log = hi / lo > 100, top = log ? Math.ceil(Math.log10(hi)) : hi, bottom = log ? Math.floor(Math.log10(lo)) : 0;
  const topText = log ? "1e" + top : String(+hi.toPrecision(3)), bottomText = log ? "1e" + bottom : "0";
  ctx.font = "10px sans-serif";
  const R = 6 + Math.max(ctx.measureText(topText).width, ctx.measureText(bottomText).width), B = 13;
  const PW = W - R, PH = H - B;
  const Y = v => { const t = log ? Math.log10(Math.max(v, Math.pow(10, bottom))) : v;
    return PH - 3 - (t - bottom) / (top - bottom || 1) * (PH - 7); };
  ctx.strokeStyle = "#e6e6e6"; ctx.lineWidth = 1; ctx.beginPath();
  ctx.moveTo(0, PH + 0.5); ctx.lineTo(PW, PH + 0.5); ctx.moveTo(PW + 0.5, 0); ctx.lineTo(PW + 0.5, PH); ctx.stroke();
  for (const [s, color] of series) { if (!s || !s.length) continue;
    ctx.strokeStyle = color; ctx.lineWidth = color === PALETTE.TRAIN ? TRAIN_WIDTH : 1.5; ctx.beginPath();
    tracePath(ctx, s, (v, i) => (log && !(v > 0)) ? null : [s.length > 1 ? i / (s.length - 1) * PW : 0, Y(v)]);
    ctx.stroke(); }
  ctx.fillStyle = "#888"; ctx.textAlign = "left";
  ctx.textBaseline = "top"; ctx.fillText(topText, PW + 4, 1);
  ctx.textBaseline = "bottom"; ctx.fillText(bottomText, PW + 4, PH + 1);
  const epochs = d.curve.epochs || 0;
  ctx.textBaseline = "bottom"; ctx.fillText("epoch 1", 0, H);  // the first point: the first epoch's end
  ctx.textAlign = "right"; ctx.fillText(epochs.toLocaleString("en-US"), PW, H);
  if (log) { ctx.textAlign = "center"; ctx.fillText("loss, log scale", PW / 2, H); }
  if (d.curve.stop_at != null && d.curve.train.length > 1) {
    const x = d.curve.stop_at * PW; ctx.strokeStyle = PALETTE.RED; ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, PH); ctx.stroke(); ctx.setLineDash([]); }
}

function drawNetwork(root, d) {
  const cols = root.querySelector(".lv-cols"), svg = root.querySelector(".lv-links");
  const layers = d.layers; // [{name, units:[{b64, label, bias}], more}]
  const key = layers.map(l => l.name + ":" + l.units.length).join("|");
  if (cols.dataset.key !== key) {
    clear(cols); cols.dataset.key = key;
    // a link's deep stack (more layers than the sidebar offers): smaller columns fit it
    cols.classList.toggle("lv-deep", layers.length > 10);
    for (const l of layers) {
      const col = el("div", {class: "lv-col"}, cols);
      el("div", {class: "lv-colname"}, col).textContent = l.name;
      for (const u of l.units) {
        const cell = el("div", {class: "lv-cell"}, col);
        el("canvas", {class: "lv-neuron", title: u.label}, cell);
        el("div", {class: "lv-label"}, cell).textContent = u.label;
      }
      if (l.more) el("div", {class: "lv-more"}, col).textContent = "+" + l.more + " more";
    }
  }
  layers.forEach((l, i) => {
    const canv = cols.children[i].querySelectorAll("canvas");
    l.units.forEach((u, j) => { const b = b64(u.grid); paintGrid(canv[j], b, d.nr, "binary", null, false);
      canv[j].title = u.label + ("bias" in u ? `  (bias ${fmt(u.bias, 3)})` : ""); });
  });
  // links between consecutive columns: built once per layout, then only restyled
  if (svg.dataset.key !== key || !svg.__lines) {
    svg.dataset.key = key;
    const box = cols.getBoundingClientRect();
    // Screen boxes are zoomed (presentation mode zooms the view); the SVG draws in the
    // view's own units: divide by the zoom.
    const k = cols.offsetWidth ? box.width / cols.offsetWidth : 1;
    svg.setAttribute("width", box.width / k); svg.setAttribute("height", box.height / k);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const centres = [...cols.children].map(c => [...c.querySelectorAll("canvas")].map(cv => {
      const r = cv.getBoundingClientRect();
      return [(r.left - box.left + r.width / 2) / k, (r.top - box.top + r.height / 2) / k,
              r.width / 2 / k]; }));
    svg.__lines = (d.weights || []).map((w, li) => {
      const a = centres[li], b = centres[li + 1], rows = [];
      if (!w || !a || !b) return rows;
      for (let i = 0; i < Math.min(a.length, w.length); i++) {
        const row = [];
        for (let j = 0; j < Math.min(b.length, w[i].length); j++) {
          const line = document.createElementNS(SVGNS, "line");
          line.setAttribute("x1", a[i][0] + a[i][2]); line.setAttribute("y1", a[i][1]);
          line.setAttribute("x2", b[j][0] - b[j][2]); line.setAttribute("y2", b[j][1]);
          line.setAttribute("stroke-opacity", "0.75");
          const t = document.createElementNS(SVGNS, "title"); line.appendChild(t);
          svg.appendChild(line); row.push(line);
        }
        rows.push(row);
      }
      return rows;
    });
  }
  (d.weights || []).forEach((w, li) => {
    const rows = svg.__lines[li] || [];
    rows.forEach((row, i) => row.forEach((line, j) => {
      const v = w[i][j], c = v === null ? [150, 150, 150] : v < 0 ? NEG : POS;
      line.setAttribute("stroke", rgb(c));
      line.setAttribute("stroke-width", v === null ? "0.4" : Math.min(6, 0.4 + Math.abs(v) * d.wscale).toFixed(2));
      line.firstChild.textContent = `weight ${fmt(v, 4)}`;
    }));
  });
}

function drawLegend(box, legend) {
  const key = JSON.stringify(legend || {});
  if (box.__key === key) return;
  box.__key = key; clear(box);
  const item = (color, text) => { const s = el("span", {class: "lv-key"}, box);
    s.style.color = color; s.textContent = "\u25ac " + text; box.append("  "); };
  item(PALETTE.TRAIN, "train loss"); item(PALETTE.TEST, "test loss");
  if (legend && legend.val) item(PALETTE.VAL, "validation loss");
  if (legend && legend.classes && legend.classes.length) {
    el("br", {}, box); box.append("Classes: ");
    legend.classes.forEach((n, i) => { if (i) box.append(", ");
      const b = el("b", {}, box, n); b.style.color = rgb(CLASS_COLORS[i % 10]); });
  }
}

// Points by hand: a click on the plane queues an edit {u, v} in [-1, 1] (shift or the
// eraser: remove) and sends the whole queue, so no click is lost while the server is
// busy (a compile); a provisional dot shows at once, and the server's frames say which
// edits it has applied ("applied": the last one's t), which leave the queue.
// The queue lives on the window, not on the view's element: a rerun may mount the view
// afresh, and clicks made meanwhile must survive it.
let clickSeq = 0;
function drawQueued(root, pc) {
  const ctx = pc.getContext("2d"), S = pc.width;
  for (const c of window.__nnpClicks || []) {
    if (c.remove) continue;
    const edit = root._edit || {}, lab = c.label == null ? 1 : c.label;
    let col;
    if (edit.task === "regression") { const t = Math.max(-1, Math.min(1, lab));
      col = t < 0 ? lerp(MID, NEG, -t) : lerp(MID, POS, t); }
    else if (edit.classes > 2) col = CLASS_COLORS[lab % 10];
    else col = lab === 1 ? POS : NEG;
    ctx.beginPath(); ctx.arc((c.u + 1) / 2 * S, (1 - c.v) / 2 * S, 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = rgb(col); ctx.fill(); ctx.lineWidth = 0.8; ctx.strokeStyle = "#fff"; ctx.stroke();
  }
}
function listenForPoints(root, pc) {
  if (pc.dataset.listen === "1") return;
  pc.dataset.listen = "1";
  pc.addEventListener("click", e => {
    const edit = root._edit;
    if (!edit || !root._send) return;
    const r = pc.getBoundingClientRect();
    const u = (e.clientX - r.left) / r.width * 2 - 1, v = 1 - (e.clientY - r.top) / r.height * 2;
    window.__nnpClicks = (window.__nnpClicks || []).concat([{u: u, v: v, remove: e.shiftKey || !!edit.erase,
      label: edit.label, t: Date.now() * 1000 + (clickSeq++ % 1000)}]).slice(-50);
    drawQueued(root, pc);
    root._send("click", {clicks: window.__nnpClicks});
  });
}

function drawView(component) {
  const { data: sent, parentElement, setTriggerValue } = component;
  const data = frameOf(sent);
  let root = parentElement.querySelector(".lv-root");
  if (!root) {
    root = el("div", {class: "lv-root", "data-testid": "live-view"}, parentElement);
    root.dataset.frame = String(window.__nnpFrames || 0);
  }
  if (!data) return;
  if (root.dataset.built !== "1") build(root);
  const grid = b64(data.grid);
  const gc = root.querySelector(".lv-grid");
  if (data.dim === 2) paintGrid(gc, grid, data.res, data.mode, data.conf ? b64(data.conf) : null, data.discretize);
  else paintLine(gc, grid, 360, 360, data.mode);
  window.__nnpPoints = window.__nnpPoints || {};
  if (data.points) window.__nnpPoints[data.points_id] = data.points;
  data.points = window.__nnpPoints[data.points_id] || [];
  const pc = root.querySelector(".lv-points");
  const pkey = data.points_id + ":" + data.show_test + ":" + data.ylo + ":" + data.yhi;
  root._edit = data.edit || null; root._send = setTriggerValue;
  if (data.edit && data.edit.applied != null && window.__nnpClicks && window.__nnpClicks.length) {
    const left = window.__nnpClicks.filter(c => c.t > data.edit.applied);
    if (left.length !== window.__nnpClicks.length) { window.__nnpClicks = left; pc.dataset.key = ""; }
  }
  if (pc.dataset.key !== pkey) { drawPoints(pc, data); drawQueued(root, pc); pc.dataset.key = pkey; }
  pc.style.cursor = data.edit ? "crosshair" : "";
  pc.dataset.testid = data.edit ? "hand-plane" : "";
  if (data.edit) listenForPoints(root, pc);
  root.querySelector(".lv-axis").textContent = data.axis || "";
  root.querySelector(".lv-epoch").textContent = String(data.epoch);
  metricsLine(root.querySelector(".lv-loss"), data.metrics, data.rate);
  drawLegend(root.querySelector(".lv-legend"), data.legend);
  root.querySelector(".lv-step").textContent = String(data.step || 0);
  confusionTable(root.querySelector(".lv-extra"), data.confusion);
  drawCurve(root.querySelector(".lv-curve"), data);
  if (data.layers) drawNetwork(root, data);
  countFrame(root, "__nnpFrames");
}

export default playFrames(drawView);
