/* gridctl's chart library: line charts as inline SVG, no dependencies. */
"use strict";
const gridChart = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const el = (name, attrs, parent) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  };
  const niceRange = (lo, hi) => {
    if (lo === hi) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  };
  /* lines(target, times (ISO strings), series [{name, color, values, dash}], opts {now}) */
  function lines(target, times, series, opts = {}) {
    const W = 640, H = 240, L = 56, R = 12, T = 24, B = 28;
    target.replaceChildren();
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" }, target);
    const ts = times.map((t) => Date.parse(t));
    const all = series.flatMap((s) => s.values.filter((v) => v !== null));
    const [y0, y1] = all.length ? niceRange(Math.min(...all, 0), Math.max(...all, 0)) : [0, 1];
    const t0 = ts[0], t1 = ts[ts.length - 1] || t0 + 1;
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = y0 + ((y1 - y0) * i) / 4;
      el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }, svg);
      el("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, svg).textContent = Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
    }
    for (let h = 0; h < times.length; h += Math.max(1, Math.round(times.length / 8))) {
      const d = new Date(ts[h]);
      el("text", { x: x(ts[h]), y: H - 8, "text-anchor": "middle" }, svg).textContent =
        d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: opts.timeZone });
    }
    el("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis" }, svg);
    if (opts.now) {
      const n = Date.parse(opts.now);
      if (n >= t0 && n <= t1) el("line", { x1: x(n), x2: x(n), y1: T, y2: H - B, class: "now" }, svg);
    }
    let lx = L;
    for (const s of series) {
      let d = "", pen = false;
      s.values.forEach((v, i) => {
        if (v === null) { pen = false; return; }
        d += `${pen ? "L" : "M"}${x(ts[i]).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      el("path", { d, class: "series", stroke: s.color, "stroke-dasharray": s.dash || "", "data-name": s.name }, svg);
      el("rect", { x: lx, y: 6, width: 10, height: 10, fill: s.color }, svg);
      const label = el("text", { x: lx + 14, y: 15 }, svg);
      label.textContent = s.name;
      lx += 24 + 7 * s.name.length;
    }
    return svg;
  }
  return { lines };
})();
