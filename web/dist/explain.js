// "Why it matched" heatmaps and "find this region" boxes drawn over a photo. Both need
// server features that a server may lack; features() reads them once from /api/health
// ("features": {"explain": true, "region_search": true, "thumb_sizes": [256, 512]}) and the
// UI keeps the controls hidden when they are absent. `?features=explain,region_search` on the
// page URL turns the controls on by hand (for trying a server under development).
import { api } from './api.js';
import { h } from './dom.js';

let cached = null;
export async function features() {
  if (cached) return cached;
  let f = {};
  try {
    const health = await api('/api/health');
    if (health && typeof health.features === 'object' && health.features) f = { ...health.features };
  } catch (e) { /* an old or unreachable server: no optional features */ }
  for (const name of (new URLSearchParams(location.search).get('features') || '').split(',')) {
    if (name) f[name] = f[name] || true;
  }
  cached = f;
  return f;
}

// The part of an <img> box that its picture covers, in px relative to the box, for the
// object-fit modes the UI uses (contain, scale-down, fill).
function pictureRect(img) {
  const bw = img.clientWidth, bh = img.clientHeight;
  const nw = img.naturalWidth, nh = img.naturalHeight;
  const fit = getComputedStyle(img).objectFit;
  if (!nw || !nh || (fit !== 'contain' && fit !== 'scale-down')) return { x: 0, y: 0, w: bw, h: bh };
  let s = Math.min(bw / nw, bh / nh);
  if (fit === 'scale-down') s = Math.min(1, s);
  const w = nw * s, hh = nh * s;
  return { x: (bw - w) / 2, y: (bh - hh) / 2, w, h: hh };
}

// Positions `el` (absolute, inside img's positioned parent) over the picture part of img.
function coverPicture(el, img) {
  const r = pictureRect(img);
  Object.assign(el.style, {
    left: `${img.offsetLeft + r.x}px`, top: `${img.offsetTop + r.y}px`, width: `${r.w}px`, height: `${r.h}px`,
  });
}

// A perceptual ramp (dark violet -> orange -> pale yellow), transparent where the map is low,
// so the photo stays visible where nothing matched.
const RAMP = [[40, 10, 90], [150, 30, 110], [230, 90, 40], [250, 200, 60], [255, 250, 190]];
function rampColor(t) {
  const x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x)), f = x - i;
  return RAMP[i].map((c, k) => Math.round(c + (RAMP[i + 1][k] - c) * f));
}

// Draws a [rows, cols] map of similarities over img; the browser's smoothing upsamples it.
export function drawHeatmap(img, grid, values) {
  removeHeatmap(img);
  const [rows, cols] = grid || [];
  if (!rows || !cols || !values || values.length !== rows * cols) throw new Error('the server sent a malformed heatmap');
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = hi - lo || 1;
  const canvas = h('canvas', { class: 'heatmap', width: cols, height: rows, testid: 'heatmap', 'aria-hidden': 'true' });
  const ctx = canvas.getContext('2d');
  const px = ctx.createImageData(cols, rows);
  values.forEach((v, i) => {
    const t = (v - lo) / span;
    const [r, g, b] = rampColor(t);
    px.data.set([r, g, b, Math.round(20 + 215 * t * t)], i * 4);
  });
  ctx.putImageData(px, 0, 0);
  img.insertAdjacentElement('afterend', canvas);
  coverPicture(canvas, img);
  return canvas;
}
export function removeHeatmap(img) {
  const next = img.nextElementSibling;
  if (next && next.classList.contains('heatmap')) next.remove();
}

// The two maps of an /api/explain answer. The proposed shape is
// {"grid": [rows, cols], "query_map": [...], "photo_map": [...]}; when query and photo have
// different aspect ratios the server may send "query_grid" and "photo_grid" instead.
export function explainMaps(d) {
  return {
    query: { grid: d.query_grid || d.grid, values: d.query_map },
    photo: { grid: d.photo_grid || d.grid, values: d.photo_map },
  };
}

// Lets the user drag a box on img (mouse, pen or touch). onRegion gets {x, y, w, h} as
// fractions of the picture, top-left origin, in the orientation the photo is shown in.
export function drawRegion(img, onRegion) {
  const host = img.parentElement;
  host.classList.add('drawing');
  let start = null;
  let box = host.querySelector('.region-box');
  const at = (ev) => {
    const b = img.getBoundingClientRect(), r = pictureRect(img);
    return {
      x: Math.max(0, Math.min(1, (ev.clientX - b.left - r.x) / r.w)),
      y: Math.max(0, Math.min(1, (ev.clientY - b.top - r.y) / r.h)),
    };
  };
  const rectOf = (a, b) => ({ x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) });
  const down = (ev) => {
    ev.preventDefault();
    host.setPointerCapture(ev.pointerId);
    start = at(ev);
    if (!box) { box = h('div', { class: 'region-box', testid: 'region-box' }); host.append(box); }
    showRegion(img, { ...start, w: 0, h: 0 });
  };
  const move = (ev) => { if (start) showRegion(img, rectOf(start, at(ev))); };
  const up = (ev) => {
    if (!start) return;
    const r = rectOf(start, at(ev));
    start = null;
    stop();
    // The drag ends in a click; inside the query's <label> that would open the file picker.
    host.addEventListener('click', (e) => { e.preventDefault(); e.stopPropagation(); }, { once: true, capture: true });
    // A click without a drag is not a region.
    if (r.w < 0.02 || r.h < 0.02) { clearRegion(img); return; }
    onRegion(r);
  };
  function stop() {
    host.classList.remove('drawing');
    host.removeEventListener('pointerdown', down);
    host.removeEventListener('pointermove', move);
    host.removeEventListener('pointerup', up);
  }
  host.addEventListener('pointerdown', down);
  host.addEventListener('pointermove', move);
  host.addEventListener('pointerup', up);
  return stop;
}

// Shows a region (fractions of the picture) as a box over img.
export function showRegion(img, r) {
  const host = img.parentElement;
  let box = host.querySelector('.region-box');
  if (!box) { box = h('div', { class: 'region-box', testid: 'region-box' }); host.append(box); }
  const p = pictureRect(img);
  Object.assign(box.style, {
    left: `${img.offsetLeft + p.x + r.x * p.w}px`, top: `${img.offsetTop + p.y + r.y * p.h}px`,
    width: `${r.w * p.w}px`, height: `${r.h * p.h}px`,
  });
}
export function clearRegion(img) {
  const box = img.parentElement && img.parentElement.querySelector('.region-box');
  if (box) box.remove();
}
