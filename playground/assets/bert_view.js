// NN Playground: a pretrained transformer's attention. `data` = {pieces: [...], layers, heads,
// T, att: base64 uint8 (layers*heads*T*T, row-major: layer, head, query, key; 255 = 1)}.
// A grid of small maps (one per layer and head); a click picks a head, whose attention is
// drawn as lines from each token (left) to the tokens it attends to (right), as bertviz
// does. Word pieces come from the user's text: they reach the page only via textContent.
function bvMap(canvas, att, off, T) {
  const ctx = canvas.getContext("2d"); canvas.width = T; canvas.height = T;
  const img = ctx.createImageData(T, T);
  for (let i = 0; i < T * T; i++) {
    const v = att[off + i] / 255, c = lerp([255, 255, 255], PALETTE.POS, Math.sqrt(v));
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// The head the page opens on: the one that looks most at the neighbouring word pieces (its
// map a clear band beside the diagonal). Layer 1's first head, shown before, is diffuse:
// its lines were a tangle (a teacher's review).
function neighbourHead(att, d) {
  const T = d.T;
  let best = [0, 0], most = -1;
  for (let l = 0; l < d.layers; l++) for (let h = 0; h < d.heads; h++) {
    const off = (l * d.heads + h) * T * T;
    let mass = 0;
    for (let q = 1; q < T - 1; q++) mass += att[off + q * T + q - 1] + att[off + q * T + q + 1];
    if (mass > most) { most = mass; best = [l, h]; }
  }
  return best;
}

function bvLines(root, d, att, layer, head, focus) {
  const box = root.querySelector(".bv-lines"); clear(box);
  const T = d.T, row = 18, h = T * row + 10, w = 420;
  box.style.height = h + "px";
  const svg = document.createElementNS(SVGNS, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h); box.appendChild(svg);
  const off = (layer * d.heads + head) * T * T;
  for (let i = 0; i < T; i++) {
    if (focus !== null && focus !== i) continue;
    for (let j = 0; j < T; j++) {
      const a = att[off + i * T + j] / 255;
      if (a < 0.02) continue;
      const line = document.createElementNS(SVGNS, "line");
      line.setAttribute("x1", 130); line.setAttribute("y1", 9 + i * row);
      line.setAttribute("x2", w - 130); line.setAttribute("y2", 9 + j * row);
      line.setAttribute("stroke", rgb(PALETTE.POS)); line.setAttribute("stroke-width", 1 + 3 * a);
      line.setAttribute("stroke-opacity", Math.min(1, 0.15 + a));
      svg.appendChild(line);
    }
  }
  d.pieces.forEach((p, i) => {
    for (const [x, anchor, side] of [[124, "end", "q"], [w - 124, "start", "k"]]) {
      const t = document.createElementNS(SVGNS, "text");
      t.setAttribute("x", x); t.setAttribute("y", 13 + i * row); t.setAttribute("text-anchor", anchor);
      t.setAttribute("class", "bv-token" + (focus === i && side === "q" ? " bv-focus" : ""));
      t.textContent = p;
      if (side === "q") t.addEventListener("mouseenter", () => bvLines(root, d, att, layer, head, i));
      svg.appendChild(t);
    }
  });
  svg.addEventListener("mouseleave", () => { if (focus !== null) bvLines(root, d, att, layer, head, null); });
  root.querySelector(".bv-which").textContent =
    `Layer ${layer + 1}, head ${head + 1}: each token on the left, lines to the tokens it attends to ` +
    "(thicker = more attention). Point at a token to see only its lines.";
}

export default function (component) {
  const { data: sent, parentElement } = component;
  const data = frameOf(sent);
  if (!data) return;
  let root = parentElement.querySelector(".bv-root");
  if (!root) {
    root = el("div", {class: "bv-root", "data-testid": "attention-view"}, parentElement);
    el("div", {class: "bv-pieces", "data-testid": "word-pieces"}, root);
    const main = el("div", {class: "bv-main"}, root);
    el("div", {class: "bv-grid"}, main);
    const right = el("div", {class: "bv-right"}, main);
    el("div", {class: "bv-which"}, right);
    el("div", {class: "bv-lines", "data-testid": "attention-lines"}, right);
  }
  const att = b64(data.att), T = data.T;
  const pieces = clear(root.querySelector(".bv-pieces"));
  data.pieces.forEach(p => el("span", {class: "bv-piece" + (p.startsWith("##") ? " bv-cont" : "")}, pieces, p));
  const grid = clear(root.querySelector(".bv-grid"));
  grid.style.gridTemplateColumns = `2.2em repeat(${data.heads}, 1fr)`;
  el("span", {class: "bv-label"}, grid, "");
  for (let h = 0; h < data.heads; h++) el("span", {class: "bv-label"}, grid, `H${h + 1}`);
  // kept for the next sentences: the head stays put when the text changes
  let chosen = root._chosen = root._chosen && root._chosen[0] < data.layers ? root._chosen : neighbourHead(att, data);
  const maps = [];
  for (let l = 0; l < data.layers; l++) {
    el("span", {class: "bv-label"}, grid, `L${l + 1}`);
    for (let h = 0; h < data.heads; h++) {
      const c = el("canvas", {class: "bv-map", title: `layer ${l + 1}, head ${h + 1}`,
                              "data-testid": `map-${l}-${h}`}, grid);
      bvMap(c, att, (l * data.heads + h) * T * T, T);
      c.addEventListener("click", () => {
        root._chosen = chosen = [l, h];
        maps.forEach(m => m.classList.toggle("bv-on", m === c));
        bvLines(root, data, att, l, h, null);
      });
      if (l === chosen[0] && h === chosen[1]) c.classList.add("bv-on");
      maps.push(c);
    }
  }
  bvLines(root, data, att, chosen[0], chosen[1], null);
}
