// NN Playground draw pad: draw a picture with the mouse or a finger; on each stroke's
// end the pad sends its pixels (side x side, grey, 0..255, base64) as "drawing".
// The server checks what it receives like any other input.

function b64encode(bytes) { let s = ""; for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s); }

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const side = (data && data.side) || 28, scale = 8;
  let root = parentElement.querySelector(".dp-root");
  if (!root || root.dataset.side !== String(side)) {
    if (root) root.remove();
    root = el("div", {class: "dp-root", "data-side": String(side)}, parentElement);
    const cv = el("canvas", {class: "dp-canvas", "data-testid": "draw-pad", width: side * scale, height: side * scale}, root);
    const bar = el("div", {class: "dp-bar"}, root);
    const clearBtn = el("button", {class: "dp-clear", type: "button"}, bar, "Clear");
    el("span", {class: "dp-hint"}, bar, "Draw with the mouse or a finger; the network looks at it when you lift it.");
    const ctx = cv.getContext("2d");
    const blank = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, cv.width, cv.height); };
    blank();
    let down = false, last = null;
    const at = e => { const r = cv.getBoundingClientRect(), p = e.touches ? e.touches[0] : e;
      return [(p.clientX - r.left) / r.width * cv.width, (p.clientY - r.top) / r.height * cv.height]; };
    const line = (a, b) => { ctx.strokeStyle = "#fff"; ctx.lineWidth = scale * 2.2; ctx.lineCap = "round";
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke(); };
    const send = () => {  // average each scale x scale block into one pixel
      const px = ctx.getImageData(0, 0, cv.width, cv.height).data, out = new Uint8Array(side * side);
      for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) { let s = 0;
        for (let i = 0; i < scale; i++) for (let j = 0; j < scale; j++) s += px[((r * scale + i) * cv.width + c * scale + j) * 4];
        out[r * side + c] = Math.round(s / (scale * scale)); }
      setStateValue("drawing", {side: side, pixels: b64encode(out)});
    };
    const start = e => { down = true; last = at(e); line(last, last); e.preventDefault(); };
    const move = e => { if (!down) return; const p = at(e); line(last, p); last = p; e.preventDefault(); };
    const end = () => { if (!down) return; down = false; send(); };
    cv.addEventListener("mousedown", start); cv.addEventListener("mousemove", move);
    window.addEventListener("mouseup", end);
    cv.addEventListener("touchstart", start, {passive: false}); cv.addEventListener("touchmove", move, {passive: false});
    cv.addEventListener("touchend", end);
    clearBtn.addEventListener("click", () => { blank(); setStateValue("drawing", null); });
  }
}
