// NN Playground reinforcement-learning view: a greedy episode of the current Q-network,
// replayed smoothly between server frames; the network over the slice pole angle x angular
// velocity (its greedy action and its values), with the replayed state moving on it; the
// return, loss, epsilon and mean-Q curves. Every number comes from the engine; this file
// only scales, interpolates and paints.

const RL_SPS = 100;  // steps replayed per second: twice real time (tau = 0.02 s)
const RL_HOLD = 0.9;  // seconds an episode's last state stays on screen
const RL_TRAIL = 40;  // past states drawn on the maps
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

function viridis(t) {
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1), i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  return lerp(VIRIDIS[i], VIRIDIS[i + 1], x - i);
}
function niceTicks(lo, hi, n) {
  const span = hi - lo || 1, raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / mag;
  const step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * mag, out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(+v.toPrecision(12));
  return out;
}
function short(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return +(v / 1e6).toPrecision(3) + "M";
  if (a >= 1e3) return +(v / 1e3).toPrecision(3) + "k";
  return String(+v.toPrecision(3));
}

function buildRL(root) {
  clear(root);
  const stats = el("div", {class: "rl-stats"}, root);
  // short labels, their details on hover: one line at 1280 px (it wrapped, and the view
  // below jumped when the epsilon and greedy figures appeared)
  const stat = (label, cls, id, title) => {
    const s = el("span", Object.assign({class: "rl-stat"}, title ? {title} : {}), stats);
    el("span", {class: "rl-label"}, s, label + " ");
    return el("b", Object.assign({class: cls}, id ? {"data-testid": id} : {}), s, "0"); };
  stat("environment steps", "rl-steps", "epoch-counter"); stat("updates", "rl-updates");
  stat("episodes", "rl-episodes");
  stat("return (last 100)", "rl-avg", null, "the average return of the last 100 training episodes");
  stat("greedy policy", "rl-greedy", null, "the average return of 100 test episodes that always take the best-valued action");
  stat("epsilon", "rl-eps", null, "the share of random actions now");
  const top = el("div", {class: "rl-top"}, root);
  const cart = el("div", {class: "rl-box rl-cartbox"}, top);
  el("div", {class: "rl-sub"}, cart, "The greedy policy (always its best-valued action), replayed at 2\u00d7 speed");
  el("canvas", {class: "rl-cart", "data-testid": "rl-cart"}, cart);
  for (const [cls, title, legend] of [
    ["rl-policy", "Greedy action over pole angle \u00d7 angular velocity (cart at rest in the middle)",
     "orange: push left \u00b7 blue: push right \u00b7 paler: the two actions' values closer \u00b7 dot: the replayed state"],
    ["rl-q", "Value of the best action, max Q(s, a), on the same states", ""]]) {
    const box = el("div", {class: "rl-box rl-mapbox"}, top);
    el("div", {class: "rl-sub"}, box, title);
    const stack = el("div", {class: "rl-stack"}, box);
    el("canvas", {class: cls + " rl-map", "data-testid": cls}, stack);
    el("canvas", {class: "rl-overlay"}, stack);
    el("div", {class: "rl-legend " + cls + "-legend"}, box, legend);
  }
  const bottom = el("div", {class: "rl-bottom"}, root);
  const ret = el("div", {class: "rl-box rl-retbox"}, bottom);
  el("div", {class: "rl-sub"}, ret, "Return of each episode (dots: one episode; line: average of the last 100) against environment steps");
  el("canvas", {class: "rl-returns", "data-testid": "rl-returns"}, ret);
  const small = el("div", {class: "rl-small"}, bottom);
  for (const [cls, title] of [["rl-loss", "TD loss (log scale)"], ["rl-epsilon", "Epsilon: share of random actions"],
    ["rl-meanq", "Mean Q of the states visited"]]) {
    const b = el("div", {class: "rl-box"}, small);
    el("div", {class: "rl-sub"}, b, title);
    el("canvas", {class: "rl-chart " + cls}, b);
  }
  el("div", {class: "rl-sub"}, small, "All three against environment steps.");
  root.dataset.built = "1";
}

// A line chart against environment steps. series: [{ys, color, width, dots}]; log: log10 y.
function chart(canvas, xs, series, opts) {
  const [ctx, w, h] = surface(canvas, 300, 120);
  ctx.font = "12px sans-serif";  // a projector's back row (10 px was too small)
  const L = 46, B = 18, T = 6, R = 8;
  let lo = Infinity, hi = -Infinity, n = 0;
  const tr = v => opts.log ? (v > 0 ? Math.log10(v) : null) : v;
  for (const s of series) for (const v of s.ys || []) { const t = v === null ? null : tr(v);
    if (t !== null && Number.isFinite(t)) { lo = Math.min(lo, t); hi = Math.max(hi, t); n++; } }
  if (opts.lo !== undefined) lo = Math.min(lo, opts.lo);
  if (opts.hi !== undefined) hi = Math.max(hi, opts.hi);
  const xmax = Math.max(1, ...(xs.length ? [xs[xs.length - 1]] : [1]));
  if (!n) { ctx.fillStyle = "#999"; ctx.font = "12px sans-serif"; ctx.fillText(opts.empty || "Appears once training starts.", L, h / 2); return; }
  if (opts.log) { lo = Math.floor(lo); hi = Math.ceil(hi); }
  if (hi - lo < 1e-9) { hi = lo + 1; lo -= opts.log ? 0 : 1; }
  const X = x => L + x / xmax * (w - L - R), Y = t => T + (1 - (t - lo) / (hi - lo)) * (h - T - B);
  ctx.strokeStyle = "#e6e6e6"; ctx.fillStyle = "#777"; ctx.lineWidth = 1; ctx.textBaseline = "middle"; ctx.textAlign = "right";
  const every = Math.ceil((hi - lo + 1) / 3);  // at most about three decades labelled
  const yt = opts.log ? Array.from({length: hi - lo + 1}, (_, i) => lo + i).filter(t => (t - lo) % every === 0) : niceTicks(lo, hi, 3);
  for (const t of yt) { ctx.beginPath(); ctx.moveTo(L, Y(t)); ctx.lineTo(w - R, Y(t)); ctx.stroke();
    ctx.fillText(opts.log ? "1e" + t : short(t), L - 4, Y(t)); }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const x of niceTicks(0, xmax, 4)) ctx.fillText(short(x), X(x), h - B + 3);
  for (const hl of opts.hlines || []) {
    ctx.strokeStyle = hl.color; ctx.setLineDash([5, 4]); ctx.beginPath(); ctx.moveTo(L, Y(hl.y)); ctx.lineTo(w - R, Y(hl.y)); ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of series) {
    const ys = s.ys || [];
    if (s.dots) { ctx.fillStyle = s.color;
      ys.forEach((v, i) => { const t = v === null ? null : tr(v); if (t === null) return; ctx.fillRect(X(xs[i]) - 1, Y(t) - 1, 2.2, 2.2); });
      continue; }
    ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 1.6; ctx.beginPath();
    const at = (v, i) => { const t = v === null || v === undefined ? null : tr(v); return t === null ? null : [X(xs[i]), Y(t)]; };
    tracePath(ctx, ys, at);
    ctx.stroke();
    // a value with no neighbour draws no line: a dot instead (the loss of the one chunk
    // that learned so far; a chunk without an update has none)
    ctx.fillStyle = s.color;
    ys.forEach((v, i) => { const p = at(v, i);
      if (p && !at(ys[i - 1] ?? null, i - 1) && !at(ys[i + 1] ?? null, i + 1)) {
        ctx.beginPath(); ctx.arc(p[0], p[1], 2.5, 0, 2 * Math.PI); ctx.fill(); } });
  }
  // a line's label last, under it on a light backing: the curves reach the line and cross it
  ctx.font = "11px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "top";
  for (const hl of opts.hlines || []) {
    const tw = ctx.measureText(hl.label).width, y0 = Y(hl.y) + 2;
    ctx.fillStyle = "rgba(255,255,255,0.85)"; ctx.fillRect(L + 2, y0 - 1, tw + 4, 14);
    ctx.fillStyle = hl.color; ctx.fillText(hl.label, L + 4, y0);
  }
}

// The slice maps: the picture area inside the canvas (room for the axes).
function mapArea(w, h) { return {L: 44, T: 4, W: w - 44 - 6, H: h - 4 - 34}; }

function paintMap(canvas, bytes, res, color, s) {
  const [ctx, w, h] = surface(canvas, 260, 240), a = mapArea(w, h);
  const off = canvas.__off || (canvas.__off = document.createElement("canvas"));
  off.width = res; off.height = res;
  const octx = off.getContext("2d"), img = octx.createImageData(res, res);
  for (let r = 0; r < res; r++) for (let c = 0; c < res; c++) {  // row 0 = lowest omega: flip
    const i = r * res + c, o = ((res - 1 - r) * res + c) * 4, col = color(i, bytes[i]);
    img.data[o] = col[0]; img.data[o + 1] = col[1]; img.data[o + 2] = col[2]; img.data[o + 3] = 255;
  }
  octx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, a.L, a.T, a.W, a.H);
  ctx.strokeStyle = "#bbb"; ctx.strokeRect(a.L + 0.5, a.T + 0.5, a.W - 1, a.H - 1);
  ctx.fillStyle = "#555"; ctx.font = "10px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const d of niceTicks(-s.theta_max, s.theta_max, 4)) ctx.fillText(d + "\u00b0", a.L + (d + s.theta_max) / (2 * s.theta_max) * a.W, a.T + a.H + 3);
  ctx.font = "11px sans-serif"; ctx.fillText("pole angle (degrees; + leans right)", a.L + a.W / 2, a.T + a.H + 17);
  ctx.font = "10px sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of niceTicks(-s.omega_max, s.omega_max, 4)) ctx.fillText(String(v), a.L - 4, a.T + (1 - (v + s.omega_max) / (2 * s.omega_max)) * a.H);
  ctx.save(); ctx.translate(11, a.T + a.H / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center"; ctx.font = "11px sans-serif";
  ctx.fillText("angular velocity (rad/s)", 0, 0); ctx.restore();
}

function drawMaps(root, s) {
  const gap = b64(s.gap), policy = b64(s.policy), q = b64(s.q);
  paintMap(root.querySelector(".rl-policy"), gap, s.res, (i, v) => {
    const t = 0.3 + 0.7 * Math.min(1, Math.abs(v - 128) / 127);
    return lerp(MID, policy[i] ? POS : NEG, t); }, s);
  paintMap(root.querySelector(".rl-q"), q, s.res, (i, v) => viridis(v / 255), s);
  const lg = root.querySelector(".rl-q-legend");
  clear(lg); lg.append("max Q from ");
  el("span", {class: "rl-swatch", style: `background:${rgb(viridis(0))}`}, lg); lg.append(` ${fmt(s.q_lo, 1)} to `);
  el("span", {class: "rl-swatch", style: `background:${rgb(viridis(1))}`}, lg); lg.append(` ${fmt(s.q_hi, 1)} (expected discounted future return)`);
  root.__rl.slice = s;
}

// The cart and pole at state (x, theta), pushed by action a (0 left, 1 right).
function drawCart(canvas, ep, x, theta, a, i, ended) {
  const [ctx, w, h] = surface(canvas, 460, 240), world = 2 * (ep.x_max + 0.3), sc = w / world;
  const ground = h * 0.8, cx = w / 2 + x * sc, cw = 0.5 * sc, ch = 0.3 * sc, pivot = ground - ch;
  ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = "#888"; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(0, ground); ctx.lineTo(w, ground); ctx.stroke();
  ctx.fillStyle = PALETTE.RED; ctx.font = "10px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const e of [-ep.x_max, ep.x_max]) { const ex = w / 2 + e * sc; ctx.fillRect(ex - 1, ground - 10, 2, 20); ctx.fillText(`${e > 0 ? "+" : ""}${e} m`, ex, ground + 11); }
  ctx.fillStyle = "#777"; ctx.fillText("track: the episode ends past the red marks", w / 2, ground + 11);
  const lim = ep.theta_max * Math.PI / 180, L = 1.0 * sc;  // the pole is 1 m long
  ctx.fillStyle = "rgba(44,160,44,0.10)"; ctx.beginPath(); ctx.moveTo(cx, pivot);
  ctx.arc(cx, pivot, L * 1.05, -Math.PI / 2 - lim, -Math.PI / 2 + lim); ctx.closePath(); ctx.fill();
  ctx.fillStyle = "#444"; ctx.fillRect(cx - cw / 2, pivot, cw, ch);
  ctx.fillStyle = "#222"; for (const d of [-0.3, 0.3]) { ctx.beginPath(); ctx.arc(cx + d * cw, ground - 3, 4, 0, 2 * Math.PI); ctx.fill(); }
  ctx.strokeStyle = ended && !ep.capped ? PALETTE.RED : "#c8873a"; ctx.lineWidth = 7; ctx.lineCap = "round";
  ctx.beginPath(); ctx.moveTo(cx, pivot); ctx.lineTo(cx + L * Math.sin(theta), pivot - L * Math.cos(theta)); ctx.stroke();
  ctx.lineCap = "butt"; ctx.fillStyle = "#eee"; ctx.beginPath(); ctx.arc(cx, pivot, 3, 0, 2 * Math.PI); ctx.fill();
  if (!ended && a !== undefined) {  // the push: an arrow on the side it pushes from
    const dir = a ? 1 : -1, ax = cx - dir * (cw / 2 + 4), ay = pivot + ch / 2;
    ctx.strokeStyle = ctx.fillStyle = rgb(a ? POS : NEG); ctx.lineWidth = 3;
    ctx.beginPath(); ctx.moveTo(ax - dir * 26, ay); ctx.lineTo(ax - dir * 6, ay); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(ax - dir * 9, ay - 6); ctx.lineTo(ax - dir * 9, ay + 6); ctx.fill();
  }
  ctx.fillStyle = "#333"; ctx.textAlign = "left"; ctx.font = "13px sans-serif";
  ctx.fillText(`step ${i} of ${ep.action.length} \u00b7 return ${fmt(ep.ret, 0)}`, 8, 8);
  ctx.fillStyle = "#777"; ctx.font = "11px sans-serif";
  ctx.fillText(`network after ${short(ep.at)} environment steps`, 8, 26);
  if (ended) { ctx.font = "bold 13px sans-serif"; ctx.fillStyle = ep.capped ? PALETTE.GREEN : PALETTE.RED;
    const out = Math.abs(ep.x[ep.x.length - 1]) > ep.x_max;
    ctx.fillText(ep.capped ? "500 steps: balanced to the time limit" : out ? "the cart left the track" : "the pole fell past 12\u00b0", 8, 44); }
}

function drawOverlay(root, ep, k) {
  const s = root.__rl.slice;
  if (!s) return;
  for (const c of root.querySelectorAll(".rl-overlay")) {
    const [ctx, w, h] = surface(c, 260, 240), a = mapArea(w, h);
    const P = j => [a.L + (ep.theta[j] * 180 / Math.PI + s.theta_max) / (2 * s.theta_max) * a.W,
      a.T + (1 - (ep.omega[j] + s.omega_max) / (2 * s.omega_max)) * a.H];
    ctx.save(); ctx.beginPath(); ctx.rect(a.L, a.T, a.W, a.H); ctx.clip();
    ctx.strokeStyle = "rgba(0,0,0,0.45)"; ctx.lineWidth = 1.2; ctx.beginPath();
    for (let j = Math.max(0, k - RL_TRAIL); j <= k; j++) { const [x, y] = P(j); if (j > k - RL_TRAIL && j > 0) ctx.lineTo(x, y); else ctx.moveTo(x, y); }
    ctx.stroke();
    const [x, y] = P(k); ctx.fillStyle = "#fff"; ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, 4.5, 0, 2 * Math.PI); ctx.fill(); ctx.stroke(); ctx.restore();
  }
}

function animate(root) {
  const st = root.__rl;
  if (!root.isConnected) { st.running = false; return; }
  const now = performance.now() / 1000;
  if (st.cur) {
    const ep = st.cur, n = ep.x.length - 1;
    let f = (now - st.t0) * RL_SPS;
    if (f > n + RL_HOLD * RL_SPS) { if (st.next) { st.cur = st.next; st.next = null; } st.t0 = now; f = 0; }
    const e = st.cur, m = e.x.length - 1, g = Math.min(f, m), i = Math.floor(g), u = g - i, j = Math.min(i + 1, m);
    const x = e.x[i] + (e.x[j] - e.x[i]) * u, th = e.theta[i] + (e.theta[j] - e.theta[i]) * u;
    drawCart(root.querySelector(".rl-cart"), e, x, th, e.action[Math.min(i, m - 1)], i, f >= m);
    drawOverlay(root, e, i);
  }
  requestAnimationFrame(() => animate(root));
}

function drawStats(root, s) {
  const set = (cls, v) => { root.querySelector(cls).textContent = v; };
  set(".rl-steps", String(s.steps)); set(".rl-updates", String(s.updates)); set(".rl-episodes", String(s.episodes));
  set(".rl-avg", fmt(s.average, 1)); set(".rl-greedy", fmt(s.greedy, 1)); set(".rl-eps", fmt(s.epsilon, 3));
  root.querySelector(".rl-avg").classList.toggle("rl-solved", s.average !== null && s.average >= s.solved);
  root.querySelector(".rl-greedy").classList.toggle("rl-solved", s.greedy !== null && s.greedy >= s.solved);
}

function drawView(component) {
  const { data: sent, parentElement } = component;
  const data = frameOf(sent);
  let root = parentElement.querySelector(".rl-root");
  if (!root) {
    root = el("div", {class: "rl-root", "data-testid": "rl-view"}, parentElement);
    root.dataset.frame = String(window.__nnpRLFrames || 0);
    root.__rl = {cur: null, next: null, t0: 0, running: false, slice: null};
  }
  if (!data) return;
  if (root.dataset.built !== "1") buildRL(root);
  const st = root.__rl;
  if (data.rollout) {
    if (!st.cur || !data.playing || data.rollout.id < st.cur.id) { st.cur = data.rollout; st.next = null; st.t0 = performance.now() / 1000; }
    else st.next = data.rollout;
  }
  drawStats(root, data.stats);
  drawMaps(root, data.slice);
  const c = data.curves;
  chart(root.querySelector(".rl-returns"), c.ret_at, [{ys: c.ret, color: "rgba(120,120,120,0.55)", dots: true},
    {ys: c.avg, color: PALETTE.BLUE, width: 2.4}], {lo: 0, hi: 500, hlines: [{y: data.stats.solved, color: PALETTE.GREEN,
    label: "solved: an average of 475"}], empty: "Episode returns appear here once episodes end."});
  chart(root.querySelector(".rl-loss"), c.at, [{ys: c.loss, color: PALETTE.TRAIN}], {log: true, empty: "No learning update yet."});
  chart(root.querySelector(".rl-epsilon"), c.at, [{ys: c.epsilon, color: PALETTE.ORANGE}], {lo: 0, hi: 1});
  chart(root.querySelector(".rl-meanq"), c.at, [{ys: c.mean_q, color: PALETTE.PURPLE}], {});
  if (!st.running) { st.running = true; requestAnimationFrame(() => animate(root)); }
  countFrame(root, "__nnpRLFrames");
}

export default playFrames(drawView);
