// The controls for "why it matched" (a heatmap over a result and over the query) and for
// searching by a region drawn on the query or on a result. They appear only when the server
// lists the feature (explain.js: features()); the API they call is proposed in docs/api.md.
import { api, qs } from './api.js';
import { $, h } from './dom.js';
import { clearRegion, drawHeatmap, drawRegion, explainMaps, removeHeatmap, showRegion } from './explain.js';

let ctx = null;  // { state, runSearch, renderQueryPreview, toast }
let stopDrawing = null;

export function initInsight(context) { ctx = context; }

function queryImage() { return $('#query-preview figure img'); }

// One query picture (an upload or a catalog photo, no colours): the only case where a
// heatmap or a region on "the query" means something.
function singleQuery() {
  const s = ctx.state;
  return s.files.length + s.ids.length === 1 && !s.colors.length;
}

function endDrawing() {
  if (stopDrawing) { stopDrawing(); stopDrawing = null; }
  for (const b of document.querySelectorAll('[data-testid="region-draw"]')) b.setAttribute('aria-pressed', 'false');
}

export function resetInsight() {
  endDrawing();
  const q = queryImage();
  if (q) removeHeatmap(q);
  const d = $('#details-img');
  removeHeatmap(d);
  clearRegion(d);
}

function regionButton(img, onRegion) {
  const btn = h('button', {
    class: 'btn btn-small', type: 'button', testid: 'region-draw', 'aria-pressed': 'false',
    title: 'Drag a box over the picture to search for that part only',
    onclick: () => {
      const on = btn.getAttribute('aria-pressed') === 'true';
      endDrawing();
      if (on) return;
      btn.setAttribute('aria-pressed', 'true');
      stopDrawing = drawRegion(img(), (r) => { endDrawing(); onRegion(r); });
    },
  }, 'Select a region');
  return btn;
}

// Query panel: draw a region on the query picture, or drop the one in use.
export function insightForQuery() {
  const box = $('#query-tools');
  const s = ctx.state;
  const tools = [];
  if (s.caps.region_search && singleQuery()) {
    tools.push(regionButton(queryImage, (r) => { s.region = r; ctx.renderQueryPreview(); ctx.runSearch(); }));
  }
  if (s.region) {
    tools.push(h('button', {
      class: 'btn btn-ghost btn-small', type: 'button', testid: 'region-clear',
      onclick: () => { s.region = null; ctx.renderQueryPreview(); ctx.runSearch(); },
    }, 'Whole picture'));
  }
  box.replaceChildren(...tools);
  box.classList.toggle('hidden', !tools.length);
  const img = queryImage();
  if (img && s.region) {
    const place = () => showRegion(img, s.region);
    if (img.complete) place(); else img.addEventListener('load', place, { once: true });
  }
}

async function toggleHeatmap(btn, photoId) {
  const s = ctx.state;
  const img = $('#details-img'), q = queryImage();
  if (btn.getAttribute('aria-pressed') === 'true') {
    btn.setAttribute('aria-pressed', 'false');
    removeHeatmap(img);
    if (q) removeHeatmap(q);
    return;
  }
  btn.disabled = true;
  try {
    const params = { photo: photoId };
    if (s.ids.length) params.query = s.ids[0]; else params.query_token = s.queryToken;
    if (s.region) params.region = [s.region.x, s.region.y, s.region.w, s.region.h].map((v) => v.toFixed(4)).join(',');
    const d = await api(`/api/explain${qs(params)}`);
    if (s.selected !== photoId) return;
    const maps = explainMaps(d);
    drawHeatmap(img, maps.photo.grid, maps.photo.values);
    if (q && maps.query.values) drawHeatmap(q, maps.query.grid, maps.query.values);
    btn.setAttribute('aria-pressed', 'true');
  } catch (e) {
    ctx.toast(e.status === 404 ? 'This server cannot explain matches yet.' : `No heatmap: ${e.message}`, true);
  } finally {
    btn.disabled = false;
  }
}

// Details panel: "why it matched" for a search result; a region of this photo as a query.
export function insightForDetails(photoId) {
  const box = $('#details-tools');
  const s = ctx.state;
  resetInsight();
  const tools = [];
  const isHit = s.mode === 'search' && s.hits.some((x) => x.id === photoId);
  if (s.caps.explain && isHit && singleQuery() && (s.ids.length || s.queryToken)) {
    const btn = h('button', {
      class: 'btn btn-small', type: 'button', testid: 'explain-toggle', 'aria-pressed': 'false',
      title: 'Show which parts of this photo and of the query are alike',
      onclick: () => toggleHeatmap(btn, photoId),
    }, 'Why it matched');
    tools.push(btn);
  }
  if (s.caps.region_search) {
    tools.push(regionButton(() => $('#details-img'), (r) => {
      s.files = [];
      s.ids = [photoId];
      s.colors = [];
      s.region = r;
      ctx.renderQueryPreview();
      ctx.runSearch();
    }));
  }
  box.replaceChildren(...tools);
  box.classList.toggle('hidden', !tools.length);
}
