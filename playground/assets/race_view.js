// NN Playground optimizer race view: one tile per contestant (its output over the plane
// and the data), the loss curves overlaid, and a leaderboard. Every number comes from the
// engine; this file only scales and paints. Names reach the page through textContent.

// Losses fall by decades in a race: tiny ones in exponent form rather than "0.0000".
// before its first epoch a contestant has no loss yet: a dash, not "n/a"
function fmtLoss(v) { return v === null || v === undefined ? "\u2013" : Number.isFinite(v) && v > 0 && v < 1e-3 ? v.toExponential(1) : fmt(v, 4); }

function buildRace(root, n) {
  clear(root);
  const head = el("div", {class: "rv-head"}, root);
  el("span", {class: "rv-title"}, head, "Contestants");
  el("span", {class: "lv-epoch rv-epoch", "data-testid": "epoch-counter"}, head, "0");
  const tiles = el("div", {class: "rv-tiles"}, root);
  for (let i = 0; i < n; i++) {
    const t = el("div", {class: "rv-tile", "data-testid": "race-tile"}, tiles);
    const h = el("div", {class: "rv-tile-head"}, t);
    el("span", {class: "rv-swatch"}, h);
    el("span", {class: "rv-name"}, h);
    el("span", {class: "rv-loss"}, t);
    const stack = el("div", {class: "rv-stack"}, t);
    el("canvas", {class: "rv-grid"}, stack);
    el("canvas", {class: "rv-points", width: 180, height: 180}, stack);
    el("div", {class: "rv-badge"}, stack);
  }
  const below = el("div", {class: "rv-below"}, root);
  const cbox = el("div", {class: "rv-curvebox"}, below);
  el("div", {class: "rv-sub rv-curve-title"}, cbox, "Training loss per epoch (log scale)");
  el("canvas", {class: "rv-curves"}, cbox);
  const lbox = el("div", {class: "rv-leaders", "data-testid": "race-leaderboard"}, below);
  el("div", {class: "rv-sub"}, lbox, "Leaderboard");
  el("table", {class: "rv-table"}, lbox);
  root.dataset.built = String(n);
}

function drawCurves(canvas, curves, epoch) {
  const [ctx, w, h] = surface(canvas, 520, 200);
  ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, w, h);
  let lo = Infinity, hi = -Infinity, len = 0;
  for (const c of curves) for (const s of [c.train, c.val]) for (const v of finite(s)) {
    if (v > 0) { lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v)); }
    len = Math.max(len, s.length);
  }
  if (!(hi >= lo) || len < 2) {
    ctx.fillStyle = "#999"; ctx.font = "12px sans-serif";
    ctx.fillText("The loss curves appear here once the race starts.", 10, h / 2);
    return;
  }
  // float32 curves keep losses far below 1e-6: at most 8 decades; lower ones lie on the
  // floor, whose label says so (the leaderboard has their values)
  const floored = Math.floor(lo) < Math.ceil(hi) - 8;
  lo = Math.max(Math.floor(lo), Math.ceil(hi) - 8); hi = Math.ceil(hi); if (hi === lo) hi = lo + 1;
  const L = 46, B = 18, y = v => 6 + (1 - (Math.max(Math.log10(v), lo) - lo) / (hi - lo)) * (h - 6 - B);
  ctx.strokeStyle = "#e3e3e3"; ctx.fillStyle = "#777"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  ctx.font = "13px sans-serif";  // a projector's back row: 11 px was too small
  for (let e = lo; e <= hi; e++) { const yy = y(Math.pow(10, e)); ctx.beginPath(); ctx.moveTo(L, yy); ctx.lineTo(w, yy); ctx.stroke();
    ctx.fillText((e === lo && floored ? "\u2264" : "") + "1e" + e, L - 3, yy); }
  // the curves span epoch 0 to the race's epoch, left to right
  ctx.textBaseline = "bottom"; ctx.textAlign = "left"; ctx.fillText("epoch 0", L, h);
  ctx.textAlign = "right"; ctx.fillText("epoch " + epoch, w - 2, h);
  for (const c of curves) for (const [s, dash] of [[c.train, []], [c.val, [4, 3]]]) {
    if (!s || s.length < 2) continue;
    ctx.strokeStyle = c.color; ctx.lineWidth = 1.6; ctx.setLineDash(dash); ctx.beginPath();
    // x by the longest curve: a contestant that stopped or diverged ends early
    tracePath(ctx, s, (v, i) => (v > 0 ? [L + i / (len - 1) * (w - L - 2), y(v)] : null));
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

function fmtShare(v) { return Number.isFinite(v) ? (100 * v).toFixed(1) + "%" : "\u2013"; }

function drawLeaders(table, leaders, val) {
  clear(table);
  const head = el("tr", {}, table);
  // no validation split (the named races have none): no column of "n/a"; accuracy only
  // where there are classes (a loss of 1e-12 against 8e-5 reads as a gap; both are 100%)
  const acc = leaders.some((r) => Number.isFinite(r.test_accuracy));
  for (const s of ["#", "Contestant", "Train loss", ...(val ? ["Val. loss"] : []), "Test loss",
                   ...(acc ? ["Test accuracy"] : []), ""])
    el("th", {}, head, s);
  leaders.forEach((r, k) => {
    const tr = el("tr", {"data-testid": "race-row"}, table);
    el("td", {}, tr, Number.isFinite(r.train_loss) ? String(k + 1) : "\u2013");  // no rank before a loss
    const name = el("td", {class: "rv-leader-name"}, tr);
    el("span", {class: "rv-swatch", style: `background:${r.color}`}, name);
    name.append(r.name);
    el("td", {}, tr, fmtLoss(r.train_loss)); if (val) el("td", {}, tr, fmtLoss(r.val_loss));
    el("td", {}, tr, fmtLoss(r.test_loss)); if (acc) el("td", {}, tr, fmtShare(r.test_accuracy));
    el("td", {class: "rv-flag"}, tr, r.diverged ? "diverged" : r.stopped ? "stopped early" : "");
  });
}

function drawView(component) {
  const { data: sent, parentElement } = component;
  const data = frameOf(sent);
  let root = parentElement.querySelector(".rv-root");
  if (!root) {
    root = el("div", {class: "rv-root", "data-testid": "race-view"}, parentElement);
    root.dataset.frame = String(window.__nnpRaceFrames || 0);
  }
  if (!data) return;
  if (root.dataset.built !== String(data.tiles.length)) buildRace(root, data.tiles.length);
  window.__nnpPoints = window.__nnpPoints || {};
  if (data.points) window.__nnpPoints[data.points_id] = data.points;
  data.points = window.__nnpPoints[data.points_id] || [];
  root.querySelector(".rv-epoch").textContent = String(data.epoch);
  root.querySelectorAll(".rv-tile").forEach((t, i) => {
    const d = data.tiles[i];
    t.querySelector(".rv-swatch").style.background = d.color;
    t.querySelector(".rv-name").textContent = d.name;
    t.querySelector(".rv-loss").textContent = d.epoch ? "loss " + fmtLoss(d.loss) + " \u00b7 epoch " + d.epoch
      : "not trained yet: press Play";
    paintGrid(t.querySelector(".rv-grid"), b64(d.grid), data.res, data.mode, d.conf ? b64(d.conf) : null, false);
    const pc = t.querySelector(".rv-points");
    if (pc.dataset.key !== data.points_id) { drawPoints(pc, data); pc.dataset.key = data.points_id; }
    const badge = t.querySelector(".rv-badge");
    badge.textContent = d.diverged ? "diverged" : "";
    badge.style.display = d.diverged ? "block" : "none";
    t.dataset.diverged = d.diverged ? "1" : "0";
  });
  root.querySelector(".rv-curve-title").textContent = "Training loss per epoch (log scale)" +
    (data.has_val ? "; dashed: validation" : "");
  drawCurves(root.querySelector(".rv-curves"), data.curves, data.epoch);
  drawLeaders(root.querySelector(".rv-table"), data.leaders, data.has_val);
  countFrame(root, "__nnpRaceFrames");
}

export default playFrames(drawView);
