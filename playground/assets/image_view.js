// NN Playground images view: one picture seen by a CNN while it trains.
// Every number comes from the engine; this file only paints, and reports clicks:
// a feature-map pixel ("inspect": {layer, row, col, channel}) and a gallery picture
// ("example": its test index).

function paintPixels(canvas, bytes, side, channels, off) {  // uint8 picture (side*side*channels)
  canvas.width = side; canvas.height = side;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(side, side), o = off || 0;
  for (let i = 0; i < side * side; i++) {
    for (let c = 0; c < 3; c++) img.data[4 * i + c] = bytes[o + i * channels + (channels === 3 ? c : 0)];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
function paintTile(canvas, bytes, h, w, off, color) {  // one h x w tile of uint8 values
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h), table = byteColors(color);
  for (let i = 0; i < h * w; i++) { const c = table[bytes[off + i]];
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255; }
  ctx.putImageData(img, 0, 0);
}
const GREY = v => [v, v, v];
const HEAT = v => lerp([255, 255, 255], [214, 39, 40], v / 255);
function DIVERGE(v) { const t = (v - 128) / 127;
  return t < 0 ? lerp(PALETTE.MID, PALETTE.NEG, -t) : lerp(PALETTE.MID, PALETTE.POS, t); }

function panel(root, cls, title, note) {
  const p = el("div", {class: "iv-panel " + cls}, root);
  el("div", {class: "iv-title"}, p, title);
  const body = el("div", {class: "iv-body"}, p);
  if (note) el("div", {class: "iv-note"}, p, note);
  return body;
}

function build(root) {
  clear(root);
  const head = el("div", {class: "iv-headline"}, root);
  el("span", {class: "iv-epoch", "data-testid": "epoch-counter"}, head, "0");
  el("span", {class: "iv-step", "data-testid": "step-counter"}, head, "0");
  el("span", {class: "iv-loss"}, head);
  const top = el("div", {class: "iv-row"}, root);
  const pic = panel(top, "iv-picture", "The picture", "Left: what the network sees. Right: saliency, how much each pixel moves the predicted class's score.");
  el("div", {class: "iv-pictitle"}, pic);
  const pics = el("div", {class: "iv-pics"}, pic);
  el("canvas", {class: "iv-image", "data-testid": "probed-image"}, pics);
  el("canvas", {class: "iv-saliency"}, pics);
  el("div", {class: "iv-probs", "data-testid": "class-probabilities"}, pic);
  // the feature maps beside the picture: on a projector's 800 px they are the page's point
  panel(top, "iv-maps", "Feature maps", "One tile per channel, each scaled to its own range (dark: low, light: high). Click a pixel to see how it is computed.");
  panel(root, "iv-explain", "How this value is computed", "");
  const middle = el("div", {class: "iv-row"}, root);
  const curves = panel(middle, "iv-curves", "Loss and accuracy", "Train (grey) and test (orange): loss above, accuracy below.");
  el("canvas", {class: "iv-curve"}, curves); el("canvas", {class: "iv-acc"}, curves);
  panel(middle, "iv-kernels", "Kernels", "Each conv layer's learned filters (columns), one 2-D slice per input channel (rows): blue positive, orange negative.");
  const bottom = el("div", {class: "iv-row"}, root);
  panel(bottom, "iv-cm", "Test set", "");
  panel(bottom, "iv-gallery", "Most confidently wrong test pictures", "Click one to look at it above.");
  el("div", {class: "iv-note iv-omitted"}, root);
  root.dataset.built = "1";
}

function drawProbs(box, d) {
  clear(box);
  d.probs.forEach((c, k) => {
    const row = el("div", {class: "iv-prob" + (k === d.predicted ? " iv-top" : "") + (k === d.truth ? " iv-truth" : "")}, box);
    el("span", {class: "iv-pname"}, row, c.name);
    const bar = el("span", {class: "iv-pbar"}, row); const fill = el("span", {class: "iv-pfill"}, bar);
    fill.style.width = (100 * (c.p || 0)).toFixed(1) + "%";
    el("span", {class: "iv-pval"}, row, fmt(100 * c.p, 1) + "%");
  });
}

function drawMaps(box, d, send) {
  const key = d.layers.map(l => `${l.index}:${l.h}x${l.w}x${l.channels}`).join("|");
  if (box.dataset.key !== key) {
    clear(box); box.dataset.key = key;
    d.layers.forEach(l => {
      el("div", {class: "iv-label"}, box, l.name);
      const grid = el("div", {class: "iv-tiles"}, box);
      for (let c = 0; c < l.channels; c++) {
        const wrap = el("span", {class: "iv-tilewrap"}, grid);
        const cv = el("canvas", {class: "iv-tile", "data-layer": l.index, "data-channel": c,
                                 title: `channel ${c + 1}: click a pixel`}, wrap);
        el("span", {class: "iv-mark"}, wrap);
        cv.addEventListener("click", e => {
          const r = cv.getBoundingClientRect();
          const col = Math.min(l.w - 1, Math.floor((e.clientX - r.left) / r.width * l.w));
          const row = Math.min(l.h - 1, Math.floor((e.clientY - r.top) / r.height * l.h));
          // its answer is brought into view when it comes (``drawExplain``)
          box.closest(".iv-root").__clicked = {at: Date.now(), value: `${l.index + 1}:${row}:${col}:${c}`};
          send("inspect", {layer: l.index, row: row, col: col, channel: c});
        });
      }
    });
  }
  const canvases = box.querySelectorAll("canvas.iv-tile");
  let n = 0;
  d.layers.forEach(l => { const bytes = b64(l.tiles);
    for (let c = 0; c < l.channels; c++) paintTile(canvases[n++], bytes, l.h, l.w, c * l.h * l.w, GREY); });
  // the clicked pixel, outlined on its tile (the explanation below is its arithmetic)
  const x = d.explain && !d.explain.error ? d.explain : null;
  box.querySelectorAll(".iv-mark").forEach(m => { m.style.display = "none"; });
  const hit = x && box.querySelector(`canvas.iv-tile[data-layer="${x.layer - 1}"][data-channel="${x.channel}"]`);
  const l = hit && d.layers.find(l => l.index === x.layer - 1);
  if (l && x.row < l.h && x.col < l.w) {
    const m = hit.nextSibling;
    const at = (k, n) => `calc(1px + (100% - 2px) * ${k / n})`;  // inside the tile's 1px border
    Object.assign(m.style, {display: "block", left: at(x.col, l.w), top: at(x.row, l.h),
                            width: `calc((100% - 2px) / ${l.w})`, height: `calc((100% - 2px) / ${l.h})`});
  }
}

function drawKernels(box, d) {
  const key = d.kernels.map(k => `${k.index}:${k.k}:${k.rows}x${k.cols}`).join("|");
  if (box.dataset.key !== key) {
    clear(box); box.dataset.key = key;
    d.kernels.forEach(k => {
      el("div", {class: "iv-label"}, box, k.name);
      const grid = el("div", {class: "iv-kgrid"}, box);
      grid.style.gridTemplateColumns = `repeat(${k.cols}, 30px)`;
      for (let i = 0; i < k.rows * k.cols; i++) el("canvas", {class: "iv-kernel"}, grid);
    });
  }
  const canvases = box.querySelectorAll("canvas.iv-kernel");
  let n = 0;
  d.kernels.forEach(k => { const bytes = b64(k.tiles);
    for (let i = 0; i < k.rows * k.cols; i++) paintTile(canvases[n++], bytes, k.k, k.k, i * k.k * k.k, DIVERGE); });
}

function numbers(parent, title, rows, mark) {  // a small table of numbers
  const wrap = el("div", {class: "iv-num"}, parent);
  el("div", {class: "iv-numtitle"}, wrap, title);
  const t = el("table", {}, wrap);
  rows.forEach((row, a) => { const tr = el("tr", {}, t);
    row.forEach((v, b) => { const td = el("td", {}, tr, v === null ? "pad" : fmt(v, 3));
      if (mark && mark(a, b)) td.className = "iv-win"; }); });
}

const CLICK_ANSWER_MS = 15000;  // a later answer scrolls nothing (the first may compile)

function drawExplain(box, x) {
  const key = JSON.stringify(x || null);
  if (box.__key !== key) {
    box.__key = key; clear(box);
    fillExplain(box, x);
  }
  // The answer to a click (the value clicked, within seconds; a click on the value
  // shown too) is scrolled into view, once built (below an 800 px projector's fold, it
  // was missed); no other frame scrolls the page, whatever it explains.
  const root = box.closest(".iv-root"), clicked = root && root.__clicked;
  if (!clicked) return;
  if (Date.now() - clicked.at > CLICK_ANSWER_MS) { root.__clicked = null; return; }
  if (x && clicked.value === `${x.layer}:${x.row}:${x.col}:${x.channel}`) {
    root.__clicked = null;
    box.parentElement.scrollIntoView({block: "nearest", behavior: "smooth"});
  }
}

function fillExplain(box, x) {  // the arithmetic behind the clicked value
  if (!x) { el("div", {class: "iv-note"}, box, "Click a pixel of any feature map above."); return; }
  if (x.error) { el("div", {class: "iv-note"}, box, x.error); return; }
  el("div", {class: "iv-what", "data-testid": "conv-arithmetic"}, box,
     // counted from 1 like the layers and channels (row 0 or one past the end: padding)
     `Layer ${x.layer} (${x.kind}), output row ${x.row + 1}, column ${x.col + 1}, channel ${x.channel + 1}: ` +
     `input rows ${x.rows[0] + 1}..${x.rows[x.rows.length - 1] + 1}, columns ${x.cols[0] + 1}..${x.cols[x.cols.length - 1] + 1}`);
  el("div", {class: "iv-formula"}, box, "Output size: " + x.formula);
  if (x.padded)  // a window over the edge
    el("div", {class: "iv-note"}, box, "Part of this window lies outside the layer's input (row or column 0, or past the last one): padding, which counts as 0 in a convolution and never wins a max pool (marked pad).");
  if (x.kind === "conv2d") {
    x.channels.forEach((c, j) => {
      const row = el("div", {class: "iv-nums"}, box);
      el("div", {class: "iv-chan"}, row, `input channel ${j + 1}`);
      numbers(row, "input patch", c.patch); el("div", {class: "iv-op"}, row, "\u00d7");
      numbers(row, "kernel", c.kernel); el("div", {class: "iv-op"}, row, "=");
      numbers(row, "products", c.products);
      el("div", {class: "iv-op"}, row, "sum " + fmt(c.sum, 4));
    });
    if (x.more_channels) el("div", {class: "iv-note"}, box, `... and ${x.more_channels} more input channel(s), summed the same way.`);
    let text = `sum of all products ${fmt(x.total, 4)} + bias ${fmt(x.bias, 4)} = ${fmt(x.total + x.bias, 4)}`;
    if (x.normalized !== null) text += ` \u2192 batch norm ${fmt(x.normalized, 4)}`;
    text += ` \u2192 ${x.activation} = ${fmt(x.value, 4)}`;
    el("div", {class: "iv-result"}, box, text);
  } else {
    const win = x.winner ? [x.rows.indexOf(x.winner[0]), x.cols.indexOf(x.winner[1])] : null;
    const row = el("div", {class: "iv-nums"}, box);
    numbers(row, "input window", x.window, (a, b) => win && a === win[0] && b === win[1]);
    el("div", {class: "iv-result"}, box, x.kind === "max_pool"
      ? `the largest value wins: ${fmt(x.value, 4)} (from input row ${x.winner[0] + 1}, column ${x.winner[1] + 1})`
      : `the mean of the window: ${fmt(x.value, 4)}`);
  }
}

function drawReport(box, d) {
  confusionTable(box, d.confusion);
  let acc = box.querySelector(".iv-classacc");
  if (!acc) acc = el("div", {class: "iv-classacc"}, box);
  acc.textContent = "Accuracy per class: " + (d.class_accuracy || []).map((a, k) =>
    `${d.confusion ? d.confusion.names[k] : k} ${a === null ? "n/a" : (100 * a).toFixed(0) + "%"}`).join(", ");
}

function drawGallery(box, d, send) {
  const key = JSON.stringify(d.gallery.map(g => [g.index, g.predicted]));
  if (box.__key === key) return;
  box.__key = key; clear(box);
  if (!d.gallery.length) { el("div", {class: "iv-note"}, box, "No test picture is wrong at the moment."); return; }
  d.gallery.forEach(g => {
    const cell = el("div", {class: "iv-thumb", title: "click to look at it"}, box);
    const cv = el("canvas", {}, cell);
    paintPixels(cv, b64(g.pixels), d.gallery_side, d.gallery_channels);
    el("div", {class: "iv-thumbnote"}, cell, `${g.truth} \u2192 ${g.predicted} (${fmt(100 * g.confidence, 0)}%)`);
    cell.addEventListener("click", () => send("example", g.index));
  });
}

function drawCurve(canvas, c, top) {
  const [ctx, w, h] = surface(canvas, 300, 90);
  const all = finite((c.train || []).concat(c.test || []));
  if (!all.length) { ctx.fillStyle = "#999"; ctx.fillText("Curves appear once training starts.", 8, h / 2); return; }
  const hi = top || Math.max(...all) * 1.05, lo = top ? Math.min(...all, 1) * 0.98 : 0;
  [[c.train, PALETTE.TRAIN, TRAIN_WIDTH], [c.test, PALETTE.TEST, 1.6]].forEach(([vals, color, width]) => {
    if (!vals || !vals.length) return;
    ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = width; ctx.beginPath();
    const at = (v, i) => [(vals.length > 1 ? i / (vals.length - 1) : 0) * (w - 4) + 2,
      h - 4 - (v - lo) / (hi - lo || 1) * (h - 8)];
    vals.forEach((v, i) => { if (v === null) return; const [x, y] = at(v, i); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
    // an epoch or two is no line yet: a dot per epoch shows it (a first, slow CNN epoch)
    if (vals.length < 3) vals.forEach((v, i) => { if (v === null) return; const [x, y] = at(v, i);
      ctx.beginPath(); ctx.arc(Math.min(Math.max(x, 4), w - 4), y, 3, 0, 2 * Math.PI); ctx.fill(); }); });
  ctx.fillStyle = "#777"; ctx.fillText(fmt(hi, 3), 2, 10); ctx.fillText(fmt(lo, 3), 2, h - 4);
}

function drawView(component) {
  const { data: sent, parentElement, setTriggerValue } = component;
  const data = frameOf(sent);
  let root = parentElement.querySelector(".iv-root");
  if (!root) root = el("div", {class: "iv-root", "data-testid": "image-view", "data-frame": "0"}, parentElement);
  if (!data) return;
  const send = (name, value) => setTriggerValue(name, value);
  if (root.dataset.built !== "1") build(root);
  root.querySelector(".iv-epoch").textContent = String(data.epoch);
  root.querySelector(".iv-step").textContent = String(data.step);
  metricsLine(root.querySelector(".iv-loss"), data.metrics);
  root.querySelector(".iv-pictitle").textContent = data.title;
  paintPixels(root.querySelector(".iv-image"), b64(data.pixels), data.side, data.channels);
  paintTile(root.querySelector(".iv-saliency"), b64(data.saliency), data.side, data.side, 0, HEAT);
  drawProbs(root.querySelector(".iv-probs"), data);
  drawCurve(root.querySelector(".iv-curve"), data.curve, null);
  drawCurve(root.querySelector(".iv-acc"), data.accuracy, 1);
  drawMaps(root.querySelector(".iv-maps .iv-body"), data, send);
  drawExplain(root.querySelector(".iv-explain .iv-body"), data.explain);
  drawKernels(root.querySelector(".iv-kernels .iv-body"), data);
  // before the first step the network's answers are its random weights': say so
  const untrained = data.step ? "" : " (untrained: random weights)";
  root.querySelector(".iv-cm .iv-title").textContent = "Test set" + untrained;
  root.querySelector(".iv-gallery .iv-title").textContent = "Most confidently wrong test pictures" + untrained;
  drawReport(root.querySelector(".iv-cm .iv-body"), data);
  drawGallery(root.querySelector(".iv-gallery .iv-body"), data, send);
  root.querySelector(".iv-omitted").textContent = data.omitted || "";
  countFrame(root, "__nnpImageFrames");
}

export default playFrames(drawView);
