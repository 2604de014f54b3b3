// The journey map's drawing: Graphviz SVG, fitted, zoomed, panned and clicked (see ui/graph_view.py).

function cleaned(text) {
  const svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
  if (svg.nodeName !== "svg") return null;
  svg.querySelectorAll("script, foreignObject, style, iframe").forEach((element) => element.remove());
  svg.querySelectorAll("a").forEach((link) => link.replaceWith(...[...link.childNodes]));
  svg.querySelectorAll("title").forEach((title) => title.remove());  // the tooltip says more
  for (const element of [svg, ...svg.querySelectorAll("*")]) {
    for (const attribute of [...element.attributes]) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on") || name.endsWith("href")) element.removeAttribute(attribute.name);
    }
  }
  return svg;
}

export default function ({ data, parentElement, setTriggerValue }) {
  let root = parentElement.querySelector(".pc-graph");
  if (!root) {
    root = document.createElement("div");
    root.className = "pc-graph";
    root.innerHTML = '<div class="pc-tools"><button data-act="in" title="Zoom in">+</button>' +
      '<button data-act="out" title="Zoom out">−</button><button data-act="fit" title="Show the whole drawing">' +
      'Fit</button></div><div class="pc-canvas" role="img"></div><div class="pc-tip" hidden></div>';
    parentElement.appendChild(root);
    root.state = {};
    wire(root);
    // The box has no width until the page lays it out, and changes width with the window: redraw the first view
    // until the reader zooms or pans, then keep the middle of what they look at.
    new ResizeObserver(() => {
      if (!root.state.view) return;
      if (!root.state.moved) return firstView(root);
      const view = root.state.view, seen = root.state.seen;
      const { width, height } = size(root);
      show(root, view.scale, seen.x - width / view.scale / 2, seen.y - height / view.scale / 2);
    }).observe(root.querySelector(".pc-canvas"));
  }
  root.style.height = data.height + "px";
  const state = root.state;
  state.scales = data.scales;
  state.hover = data.hover || {};
  state.report = (id) => setTriggerValue("clicked", id);
  if (state.svgText !== data.svg) {
    state.svgText = data.svg;
    const svg = cleaned(data.svg);
    const canvas = root.querySelector(".pc-canvas");
    canvas.setAttribute("aria-label", data.label || "graph");
    if (!svg) { canvas.replaceChildren(); return; }
    const box = svg.getAttribute("viewBox").split(/[ ,]+/).map(Number);
    state.box = { x: box[0], y: box[1], w: box[2], h: box[3] };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
    for (const group of svg.querySelectorAll("g.node, g.edge")) {
      if (group.id in state.hover) group.classList.add("pc-clickable");
    }
    canvas.replaceChildren(document.importNode(svg, true));
    state.svg = canvas.querySelector("svg");
    state.moved = false;
    firstView(root);
  }
  const outlined = state.svg ? state.svg.querySelectorAll(".pc-selected") : [];
  for (const group of outlined) group.classList.remove("pc-selected");
  const chosen = data.selected && state.svg && state.svg.querySelector("#" + CSS.escape(data.selected));
  if (chosen) chosen.classList.add("pc-selected");
}

function size(root) {
  const canvas = root.querySelector(".pc-canvas");
  return { width: canvas.clientWidth || 800, height: canvas.clientHeight || 400 };
}

function fitScale(root) {
  const { width, height } = size(root), box = root.state.box;
  return Math.min(root.state.scales.natural, width / box.w, height / box.h);
}

function show(root, scale, x, y) {
  const state = root.state, { width, height } = size(root);
  state.view = { scale, x, y };
  state.seen = { x: x + width / scale / 2, y: y + height / scale / 2 };
  state.svg.setAttribute("viewBox", `${x} ${y} ${width / scale} ${height / scale}`);
}

function fit(root) {
  const { width, height } = size(root), box = root.state.box, scale = fitScale(root);
  show(root, scale, box.x - (width / scale - box.w) / 2, box.y - (height / scale - box.h) / 2);
}

function firstView(root) {
  const readable = root.state.scales.readable;
  if (fitScale(root) >= readable) return fit(root);
  // Too large to fit with readable labels: start where the journeys start, at the top of a map drawn top to
  // bottom or at the left of one drawn left to right, with the whole map a Fit away.
  const { width, height } = size(root), box = root.state.box;
  show(root, readable, box.x, box.y);
  const start = root.state.svg.querySelector("g#start");
  if (!start) return;
  const drawn = start.getBoundingClientRect(), frame = root.state.svg.getBoundingClientRect();
  const x = box.x + (drawn.left + drawn.width / 2 - frame.left) / readable;
  const y = box.y + (drawn.top + drawn.height / 2 - frame.top) / readable;
  const seenWidth = width / readable, seenHeight = height / readable;
  if (y - box.y < box.h / 4) show(root, readable, x - seenWidth / 2, box.y);
  else show(root, readable, box.x, y - seenHeight / 2);
}

function zoom(root, factor, atX, atY) {
  root.state.moved = true;
  const view = root.state.view, low = fitScale(root) / 2, high = root.state.scales.natural * 4;
  const scale = Math.min(high, Math.max(low, view.scale * factor));
  show(root, scale, view.x + atX / view.scale - atX / scale, view.y + atY / view.scale - atY / scale);
}

function wire(root) {
  const canvas = root.querySelector(".pc-canvas"), tip = root.querySelector(".pc-tip");
  root.querySelector(".pc-tools").addEventListener("click", (event) => {
    const act = event.target.dataset && event.target.dataset.act, { width, height } = size(root);
    if (!root.state.view || !act) return;
    if (act === "fit") { root.state.moved = true; fit(root); }
    else zoom(root, act === "in" ? 1.25 : 0.8, width / 2, height / 2);
  });
  canvas.addEventListener("wheel", (event) => {
    if (!root.state.view) return;
    event.preventDefault();
    const bounds = canvas.getBoundingClientRect();
    zoom(root, Math.exp(-event.deltaY * 0.0015), event.clientX - bounds.left, event.clientY - bounds.top);
  }, { passive: false });
  let drag = null;
  canvas.addEventListener("pointerdown", (event) => {
    if (!root.state.view) return;
    drag = { x: event.clientX, y: event.clientY, view: { ...root.state.view }, moved: false };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (drag) {
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) > 4) {
        drag.moved = true;
        root.state.moved = true;
        canvas.setPointerCapture(event.pointerId);
        canvas.classList.add("pc-dragging");
      }
      const view = drag.view;
      if (drag.moved) show(root, view.scale, view.x - dx / view.scale, view.y - dy / view.scale);
    }
    const group = event.target.closest && event.target.closest("g.pc-clickable");
    const text = group && root.state.hover[group.id];
    if (!text || (drag && drag.moved)) { tip.hidden = true; return; }
    const bounds = root.getBoundingClientRect();
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(event.clientX - bounds.left + 12, bounds.width - tip.offsetWidth - 4) + "px";
    tip.style.top = (event.clientY - bounds.top + 12) + "px";
  });
  canvas.addEventListener("pointerleave", () => { tip.hidden = true; });
  canvas.addEventListener("pointerup", (event) => {
    const wasDrag = drag && drag.moved;
    drag = null;
    canvas.classList.remove("pc-dragging");
    if (wasDrag) return;
    const group = event.target.closest && event.target.closest("g.pc-clickable");
    if (group) root.state.report(group.id);
  });
  canvas.addEventListener("dblclick", () => root.state.view && fit(root));
}
