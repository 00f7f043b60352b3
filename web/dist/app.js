// Viewfinder web UI: search by example (upload, drop, paste, "more like this"), colour and
// filters; duplicates review; clusters; indexing progress. Plain ES modules, no build step,
// nothing loaded from the network.
import { api, ApiError, qs, setToken, setUnauthorizedHandler } from './api.js';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// Builds DOM without innerHTML, so that file names and EXIF strings can never inject markup.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'testid') el.dataset.testid = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ---------- formatting ----------
function fmtDate(iso) {
  if (!iso) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(iso);
  if (!m) return iso;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const d = `${+m[3]} ${months[+m[2] - 1]} ${m[1]}`;
  return m[4] ? `${d}, ${m[4]}:${m[5]}` : d;
}
function fmtDateShort(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  if (!m) return '';
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${+m[3]} ${months[+m[2] - 1]} ${m[1]}`;
}
function camera(p) {
  if (!p.model) return p.make || '';
  if (p.make && !p.model.toLowerCase().startsWith(p.make.split(' ')[0].toLowerCase())) return `${p.make} ${p.model}`;
  return p.model;
}
function fmtBytes(n) {
  if (!n && n !== 0) return '';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${u[i]}`;
}
function fmtExposure(s) {
  if (!s) return '—';
  if (s >= 1) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  return `1/${Math.round(1 / s)}`;
}
function fmtDuration(s) {
  if (!isFinite(s) || s <= 0) return '';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
function timeAgo(iso) {
  const t = Date.parse(iso);
  if (!t) return '';
  const s = (Date.now() - t) / 1000;
  if (s < 90) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
const score3 = (x) => (typeof x === 'number' ? x.toFixed(3) : '—');

let toastTimer = 0;
function toast(msg, error = false) {
  const t = $('#toast');
  t.textContent = msg;
  t.classList.toggle('error', error);
  t.classList.remove('hidden');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.add('hidden'), 4000);
}

// ---------- state ----------
const state = {
  files: [],        // uploaded query images (File)
  ids: [],          // example photo ids ("more like this")
  colors: [],       // palette "#rrggbb"
  alpha: 1,
  filters: {},
  k: 24,
  offset: 0,
  hits: [],
  mode: 'browse',   // 'browse' | 'search'
  selected: null,
  view: 'grid',
  facets: null,
  requestSeq: 0,
};

// ---------- navigation ----------
function showPage(name) {
  for (const tab of $$('.tab')) tab.classList.toggle('active', tab.dataset.page === name);
  for (const p of ['search', 'duplicates', 'clusters']) $(`#page-${p}`).classList.toggle('hidden', p !== name);
  if (name === 'duplicates' && !dupesLoaded) loadDuplicates();
  if (name === 'clusters' && !clustersLoaded) loadClusters();
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
}

// ---------- query building ----------
function currentFilters() {
  const f = {};
  const from = $('#f-date-from').value, to = $('#f-date-to').value;
  if (from) f.date_from = from;
  if (to) f.date_to = to;
  const cam = $('#f-camera').value;
  if (cam) f.model = cam;
  const folder = $('#f-folder').value;
  if (folder) f.folder = folder;
  const rating = $('#f-rating').value;
  if (rating) f.min_rating = rating;
  const orient = $('#f-orientation').value;
  if (orient) f.orientation = orient;
  return f;
}

function hasQuery() {
  return state.files.length > 0 || state.ids.length > 0 || state.colors.length > 0;
}

async function runSearch({ append = false } = {}) {
  state.filters = currentFilters();
  state.k = +$('#f-k').value;
  if (!append) state.offset = 0;
  const seq = ++state.requestSeq;
  if (!append) showSkeleton();
  setMessage('');
  const t0 = performance.now();
  try {
    let data;
    const common = { k: state.k, offset: state.offset, filters: state.filters };
    if (state.files.length) {
      const form = new FormData();
      for (const f of state.files) form.append('image', f, f.name || 'pasted.png');
      form.append('query', JSON.stringify({ ...common, alpha: state.alpha, colors: state.colors, ids: state.ids }));
      data = await api('/api/search', { method: 'POST', form });
      state.mode = 'search';
    } else if (state.ids.length) {
      data = await api('/api/search', { method: 'POST', json: { ...common, ids: state.ids, alpha: state.alpha, colors: state.colors } });
      state.mode = 'search';
    } else if (state.colors.length) {
      data = await api('/api/search/color', { method: 'POST', json: { ...common, colors: state.colors } });
      state.mode = 'search';
    } else {
      data = await api(`/api/photos${qs({ k: state.k, offset: state.offset, ...state.filters })}`);
      data.hits = data.photos;
      state.mode = 'browse';
    }
    if (seq !== state.requestSeq) return;  // a newer search replaced this one
    const hits = data.hits || [];
    state.hits = append ? state.hits.concat(hits) : hits;
    renderResults(data, performance.now() - t0);
    $('#more').classList.toggle('hidden', hits.length < state.k);
  } catch (e) {
    if (seq !== state.requestSeq) return;
    $('#grid').replaceChildren();
    const busy = e instanceof ApiError && e.status === 503;
    setMessage(busy ? `The server is busy (${e.message}). Try again in ${e.retryAfter || 1}s.` : e.message, true);
  }
}

function showSkeleton() {
  const g = $('#grid');
  g.replaceChildren(...Array.from({ length: Math.min(state.k, 9) }, () => h('div', { class: 'skeleton' })));
}

function setMessage(text, error = false) {
  const m = $('#message');
  m.textContent = text;
  m.classList.toggle('hidden', !text);
  m.classList.toggle('error', error);
}

function describeQuery() {
  const parts = [];
  if (state.files.length) parts.push(state.files.length === 1 ? (state.files[0].name || 'pasted image') : `${state.files.length} images`);
  if (state.ids.length) parts.push(state.ids.length === 1 ? `photo #${state.ids[0]}` : `${state.ids.length} photos`);
  if (state.colors.length) parts.push(state.colors.join(' '));
  return parts.join(' + ');
}

function renderResults(data, clientMs) {
  const title = $('#results-title');
  const sub = $('#results-sub');
  if (state.mode === 'browse') {
    title.textContent = Object.keys(state.filters).length ? 'Library · filtered' : 'Library';
    sub.textContent = `${data.matched >= 0 ? data.matched : state.hits.length} photos · newest first`;
  } else {
    title.textContent = `Similar to ${describeQuery()}`;
    const t = data.timings || {};
    const bits = [`${state.hits.length} results`];
    if (data.matched >= 0) bits.push(`${data.matched} match filters`);
    bits.push(`α ${(+data.alpha).toFixed(2)}`);
    if (t.server_ms !== undefined) bits.push(`${t.server_ms.toFixed(0)} ms server`);
    if (t.embed_ms) bits.push(`embed ${t.embed_ms.toFixed(0)} ms`);
    if (t.search_ms !== undefined) bits.push(`search ${t.search_ms.toFixed(1)} ms`);
    bits.push(`${clientMs.toFixed(0)} ms total`);
    sub.textContent = bits.join(' · ');
  }
  renderGrid();
  renderTable();
  // The open EXIF panel shows the selected photo's scores: refresh them for the new results.
  if (state.selected !== null && !$('#details').classList.contains('hidden')) selectPhoto(state.selected);
}

function tileFor(p, rank) {
  const isSearch = state.mode === 'search';
  const sub = [fmtDateShort(p.capture_time), camera(p)].filter(Boolean);
  if (!sub.length) sub.push(`${p.width}×${p.height}`);
  const tile = h('article', {
    class: `tile${state.selected === p.id ? ' selected' : ''}`,
    testid: 'result-tile',
    dataset: { id: p.id },
    onclick: () => selectPhoto(p.id),
  },
  h('div', { class: 'tile-img' }, h('img', { src: p.thumb_url, alt: p.name, loading: 'lazy', decoding: 'async' })),
  isSearch ? h('div', { class: 'tile-score', testid: 'result-score', title: `score ${score3(p.score)} = content ${score3(p.semantic)} · colour ${score3(p.color)}` },
    h('span', { class: 'tile-rank' }, `#${rank}`), score3(p.score)) : null,
  h('button', {
    class: 'tile-more', testid: 'more-like-this', title: 'Search for photos like this one',
    onclick: (ev) => { ev.stopPropagation(); moreLikeThis(p.id); },
  }, 'More like this'),
  h('div', { class: 'tile-meta' },
    h('div', { class: 'tile-name', title: p.path }, p.name),
    h('div', { class: 'tile-sub' }, sub.map((s) => h('span', {}, s))),
    isSearch ? h('div', { class: 'tile-bars', title: 'content · colour similarity' },
      h('div', { class: 'tile-bar sem' }, barFill(p.semantic)),
      h('div', { class: 'tile-bar col' }, barFill(p.color))) : null));
  return tile;
}

function barFill(v) {
  const i = document.createElement('i');
  i.style.width = `${Math.max(0, Math.min(1, v || 0)) * 100}%`;
  return i;
}

function renderGrid() {
  const g = $('#grid');
  if (!state.hits.length) {
    g.replaceChildren(h('div', { class: 'empty-state', testid: 'no-results' },
      h('h3', {}, hasQuery() ? 'No matches' : 'Nothing here yet'),
      h('p', {}, hasQuery() ? 'Loosen the filters or lower the content weight.' : 'No photos match these filters.')));
    return;
  }
  g.replaceChildren(...state.hits.map((p, i) => tileFor(p, i + 1)));
}

function renderTable() {
  const body = $('#scores-body');
  body.replaceChildren(...state.hits.map((p, i) => h('tr', { onclick: () => selectPhoto(p.id), dataset: { id: p.id } },
    h('td', { class: 'num' }, i + 1),
    h('td', {}, h('img', { src: p.thumb_url, alt: '', loading: 'lazy' })),
    h('td', {}, p.name),
    h('td', { class: 'num' }, score3(p.score)),
    h('td', { class: 'num' }, score3(p.semantic)),
    h('td', { class: 'num' }, score3(p.color)),
    h('td', {}, fmtDate(p.capture_time)),
    h('td', {}, camera(p)))));
}

function setView(v) {
  state.view = v;
  $('#view-grid').classList.toggle('active', v === 'grid');
  $('#view-table').classList.toggle('active', v === 'table');
  $('#grid').classList.toggle('hidden', v !== 'grid');
  $('#table-wrap').classList.toggle('hidden', v !== 'table');
}

// ---------- query inputs ----------
function setFiles(files) {
  const images = [...files].filter((f) => f.type.startsWith('image/') || /\.(heic|heif|dng|nef|cr2|cr3|arw|raf|orf|rw2)$/i.test(f.name));
  if (!images.length) { toast('That is not an image file.', true); return; }
  state.files = images.slice(0, 8);
  state.ids = [];
  renderQueryPreview();
  runSearch();
}

function renderQueryPreview() {
  const box = $('#query-preview');
  const items = [];
  for (const f of state.files) {
    const url = URL.createObjectURL(f);
    items.push(h('figure', {}, h('img', { src: url, alt: f.name, onload: () => URL.revokeObjectURL(url) }), h('figcaption', {}, f.name || 'pasted image')));
  }
  for (const id of state.ids) {
    items.push(h('figure', {}, h('img', { src: `/api/photos/${id}/thumb`, alt: `photo ${id}` }), h('figcaption', {}, `photo #${id}`)));
  }
  box.replaceChildren(...items);
  box.classList.toggle('single', items.length === 1);
  box.classList.toggle('hidden', !items.length);
  $('#dropzone-empty').classList.toggle('hidden', items.length > 0);
}

function moreLikeThis(id) {
  state.files = [];
  state.ids = [id];
  renderQueryPreview();
  showPage('search');
  selectPhoto(id);
  runSearch();
  $('.results').scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function clearQuery() {
  state.files = [];
  state.ids = [];
  state.colors = [];
  $('#upload').value = '';
  if (state.alphaBeforeColor !== undefined) {
    setAlpha(state.alphaBeforeColor, { search: false });
    state.alphaBeforeColor = undefined;
  }
  renderQueryPreview();
  renderPalette();
  runSearch();
}

function setAlpha(a, { search = true } = {}) {
  state.alpha = Math.max(0, Math.min(1, +a));
  $('#alpha').value = state.alpha;
  $('#alpha-value').textContent = state.alpha.toFixed(2);
  for (const c of $$('[data-preset]')) c.classList.toggle('active', Math.abs(+c.dataset.alpha - state.alpha) < 1e-6);
  if (search && hasQuery()) debouncedSearch();
}
let searchTimer = 0;
function debouncedSearch() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => runSearch(), 250);
}

const SWATCHES = ['#c0392b', '#e67e22', '#f1c40f', '#7fb13c', '#27ae60', '#16a085', '#2e86de', '#273c75', '#8e44ad', '#d35fa0',
  '#f5f0e6', '#d8c3a5', '#a0522d', '#5d4037', '#7f8c8d', '#2d3436', '#111111', '#87ceeb', '#ffb6a3', '#556b2f'];
function renderSwatches() {
  $('#swatches').replaceChildren(...SWATCHES.map((c) => {
    const b = h('button', { class: 'swatch', title: c, testid: 'color-swatch', dataset: { color: c }, onclick: () => addColor(c) });
    b.style.background = c;
    return b;
  }));
}
function addColor(c) {
  c = c.toLowerCase();
  if (!state.colors.includes(c) && state.colors.length < 6) state.colors.push(c);
  renderPalette();
}
function renderPalette() {
  $('#palette').replaceChildren(...state.colors.map((c) => {
    const dot = h('span', { class: 'dot' });
    dot.style.background = c;
    return h('button', { class: 'chip', title: 'remove', testid: 'palette-color', onclick: () => { state.colors = state.colors.filter((x) => x !== c); renderPalette(); } }, dot, c, ' ×');
  }));
}

// ---------- details (EXIF) ----------
async function selectPhoto(id) {
  state.selected = id;
  for (const t of $$('.tile')) t.classList.toggle('selected', +t.dataset.id === id);
  const panel = $('#details');
  panel.classList.remove('hidden');
  $('#details-img').src = `/api/photos/${id}/preview`;
  $('#details-body').replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const p = await api(`/api/photos/${id}`);
    if (state.selected !== id) return;
    renderDetails(p);
  } catch (e) {
    $('#details-body').replaceChildren(h('p', { class: 'muted' }, e.message));
  }
}

function renderDetails(p) {
  const hit = state.hits.find((x) => x.id === p.id);
  const rows = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '') rows.push(h('dt', {}, k), h('dd', {}, v)); };
  add('Captured', p.capture_time ? `${fmtDate(p.capture_time)}${p.capture_offset ? ` (UTC${p.capture_offset})` : ''}` : '');
  add('Camera', camera(p));
  add('Lens', p.lens);
  add('Dimensions', p.width ? `${p.width} × ${p.height}${p.width * p.height > 0 ? ` · ${(p.width * p.height / 1e6).toFixed(1)} MP` : ''}` : '');
  add('Format', [p.format && p.format.toUpperCase(), fmtBytes(p.file_size)].filter(Boolean).join(' · '));
  if (p.rating !== null && p.rating !== undefined) add('Rating', h('span', { class: 'stars' }, p.rating > 0 ? '★'.repeat(p.rating) : '—'));
  if (p.gps) add('Location', `${p.gps.lat.toFixed(5)}, ${p.gps.lon.toFixed(5)}${p.gps.alt != null ? ` · ${Math.round(p.gps.alt)} m` : ''}`);
  if (p.keywords && p.keywords.length) add('Keywords', p.keywords.join(', '));
  add('Orientation', p.orientation && p.orientation !== 1 ? `EXIF ${p.orientation}` : '');
  add('Time from', p.capture_time_source);
  if (hit && state.mode === 'search') add('Similarity', `${score3(hit.score)} (content ${score3(hit.semantic)}, colour ${score3(hit.color)})`);
  add('Catalog id', String(p.id));
  $('#details-body').replaceChildren(
    h('h3', {}, p.name),
    h('div', { class: 'path' }, p.folder),
    h('div', { class: 'exposure' },
      h('div', {}, h('small', {}, 'Focal'), p.focal_length_mm ? `${Math.round(p.focal_length_mm)}mm` : '—'),
      h('div', {}, h('small', {}, 'Aperture'), p.aperture_f ? `f/${(+p.aperture_f).toFixed(1)}` : '—'),
      h('div', {}, h('small', {}, 'Shutter'), fmtExposure(p.exposure_s)),
      h('div', {}, h('small', {}, 'ISO'), p.iso || '—')),
    h('dl', { class: 'exif', testid: 'exif-list' }, rows),
    h('div', { class: 'details-actions' },
      h('button', { class: 'btn btn-primary', testid: 'details-more', onclick: () => moreLikeThis(p.id) }, 'More like this'),
      h('a', { class: 'btn', href: p.original_url, download: p.name, testid: 'download-original' }, 'Download original')));
}

// ---------- examples, facets ----------
async function loadExamples() {
  try {
    const data = await api('/api/examples');
    $('#examples').replaceChildren(...data.examples.map((p) => h('button', {
      title: `Search like ${p.name}`, testid: 'example-item', dataset: { id: p.id }, onclick: () => moreLikeThis(p.id),
    }, h('img', { src: p.thumb_url, alt: p.name, loading: 'lazy' }))));
  } catch (e) { /* examples are optional */ }
}

function fillSelect(sel, items, label) {
  const keep = sel.value;
  sel.replaceChildren(h('option', { value: '' }, label), ...items.map((it) => h('option', { value: it.value }, it.text)));
  sel.value = keep;
}

async function loadStats() {
  try {
    const s = await api('/api/stats');
    state.facets = s.facets;
    const cams = (s.facets.cameras || []).sort((a, b) => b.count - a.count);
    // The filter matches the model string (a case-insensitive substring), the most specific
    // part of "Make Model".
    fillSelect($('#f-camera'), cams.map((c) => ({ value: c.value, text: `${c.label || c.value} (${c.count})` })), 'Any camera');
    const folders = s.facets.folders || [];
    const common = commonPrefix(folders.map((f) => f.value));
    fillSelect($('#f-folder'), folders.map((f) => ({ value: f.value, text: `${f.value.slice(common.length) || f.value} (${f.count})` })), 'Any folder');
    libraryInfo = s.library;
    renderStatus();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) setStatus('error', `Server unreachable: ${e.message}`);
  }
}
function commonPrefix(paths) {
  if (paths.length < 2) return paths.length ? paths[0].slice(0, paths[0].lastIndexOf('/') + 1) : '';
  let p = paths[0];
  for (const x of paths) while (!x.startsWith(p)) p = p.slice(0, -1);
  return p.slice(0, p.lastIndexOf('/') + 1);
}

// ---------- indexing status ----------
let libraryInfo = null;
let indexState = null;
let pollTimer = 0;
function setStatus(kind, text) {
  $('#status-dot').className = `status-dot ${kind}`;
  $('#status-text').textContent = text;
}
function renderStatus() {
  const s = indexState;
  const bar = $('#index-progress');
  if (s && s.running) {
    const frac = s.total > 0 ? s.done / s.total : 0;
    setStatus('busy', `Indexing · ${s.phase}`);
    bar.classList.remove('hidden');
    $('#index-progress-fill').style.width = `${(frac * 100).toFixed(1)}%`;
    const phases = { scan: 'Scanning folders', embed: 'Reading and embedding photos', index: 'Building the index' };
    const bits = [phases[s.phase] || s.phase];
    if (s.total) bits.push(`${s.done} / ${s.total}`);
    if (s.rate) bits.push(`${s.rate.toFixed(1)} photos/s`);
    if (s.eta_s) bits.push(`${fmtDuration(s.eta_s)} left`);
    if (s.failed) bits.push(`${s.failed} failed`);
    if (s.current) bits.push(s.current.split('/').pop());
    $('#index-progress-text').textContent = bits.join(' · ');
    $('#reindex').disabled = true;
    return;
  }
  bar.classList.add('hidden');
  $('#reindex').disabled = false;
  if (s && s.last_error) { setStatus('error', `Indexing failed: ${s.last_error}`); return; }
  const lib = (s && s.library) || libraryInfo;
  if (!lib) return;
  const when = lib.last_indexed ? ` · indexed ${timeAgo(lib.last_indexed)}` : '';
  setStatus('ok', `${(lib.photos || 0).toLocaleString()} photos${when}`);
}
async function pollIndex() {
  clearTimeout(pollTimer);
  let next = 15000;
  try {
    const prev = indexState;
    indexState = await api('/api/index/status');
    renderStatus();
    if (indexState.running) next = 1000;
    if (prev && prev.running && !indexState.running) {
      toast(indexState.last_error ? `Indexing failed: ${indexState.last_error}` : 'Indexing finished');
      loadStats();
      loadExamples();
      runSearch();
    }
  } catch (e) { /* status is best-effort */ }
  pollTimer = setTimeout(pollIndex, next);
}
async function reindex() {
  try {
    await api('/api/index', { method: 'POST', json: {} });
    toast('Re-indexing started');
  } catch (e) {
    toast(e.message, true);
  }
  pollIndex();
}

// ---------- duplicates ----------
let dupesLoaded = false;
async function loadDuplicates() {
  dupesLoaded = true;
  const box = $('#dupe-groups');
  const msg = $('#dupes-message');
  msg.classList.add('hidden');
  box.replaceChildren(...Array.from({ length: 2 }, () => h('div', { class: 'skeleton' })));
  try {
    const th = $('#dupe-threshold').value;
    const d = await api(`/api/duplicates${qs({ threshold: th })}`);
    if (!d.groups.length) {
      box.replaceChildren(h('div', { class: 'empty-state', testid: 'no-dupes' }, h('h3', {}, 'No duplicates found'),
        h('p', {}, `Nothing at similarity ≥ ${(+th).toFixed(2)}. Lower the threshold to look for looser matches.`)));
      return;
    }
    const exact = d.groups.filter((g) => g.kind === 'exact').length;
    box.replaceChildren(
      h('div', { class: 'summary-line', testid: 'dupes-summary' }, `${d.groups.length} groups · ${exact} exact · ${d.groups.length - exact} near · ${d.photos} photos · ${d.timings.total_ms.toFixed(0)} ms`),
      ...d.groups.map(dupeGroup));
  } catch (e) {
    box.replaceChildren();
    msg.textContent = e.message;
    msg.classList.remove('hidden');
  }
}
function dupeGroup(g) {
  return h('section', { class: 'dupe-group', testid: 'dupe-group' },
    h('div', { class: 'dupe-head' },
      h('span', { class: `badge ${g.kind}` }, g.kind),
      h('span', {}, `${g.members.length} photos`),
      h('span', { class: 'muted' }, '·'),
      h('span', { class: 'muted', testid: 'keeper-reason' }, `Keep: ${g.keeper_reason || 'first'}`)),
    h('div', { class: 'dupe-members' }, g.members.map((m) => h('div', { class: `dupe-member${m.keeper ? ' keeper' : ''}`, dataset: { id: m.id } },
      h('div', { class: 'tile-img' }, h('img', { src: m.thumb_url || `/api/photos/${m.id}/thumb`, alt: m.name || '', loading: 'lazy' })),
      m.keeper ? h('span', { class: 'badge keeper', testid: 'keeper-badge' }, 'Keeper') : null,
      m.keeper ? null : h('span', { class: 'sim' }, (m.similarity * 100).toFixed(1) + '%'),
      h('div', { class: 'tile-meta' },
        h('div', { class: 'tile-name', title: m.path }, m.name || m.path),
        h('div', { class: 'tile-sub' },
          m.width ? h('span', {}, `${m.width}×${m.height}`) : null,
          m.format ? h('span', {}, m.format.toUpperCase()) : null,
          m.capture_time ? h('span', {}, fmtDateShort(m.capture_time)) : null),
        h('div', { class: 'tile-sub' }, h('a', { href: '#search', onclick: (ev) => { ev.preventDefault(); moreLikeThis(m.id); } }, 'More like this')))))));
}

// ---------- clusters ----------
let clustersLoaded = false;
function renderClusters(c) {
  const box = $('#clusters');
  if (!c.computed || !c.clusters.length) {
    box.replaceChildren(h('div', { class: 'empty-state', testid: 'no-clusters' }, h('h3', {}, 'Not clustered yet'),
      h('p', {}, 'Press Recompute to group the library into visually similar sets.')));
    return;
  }
  $('#clusters-sub').textContent = `${c.clusters.length} groups · silhouette ${(+c.silhouette).toFixed(3)} · inertia ${(+c.inertia).toFixed(1)}`;
  const sorted = [...c.clusters].sort((a, b) => b.size - a.size);
  box.replaceChildren(...sorted.map((cl) => h('article', { class: 'cluster', testid: 'cluster-card', dataset: { id: cl.id } },
    h('div', { class: 'cluster-mosaic' }, cl.representatives.slice(0, 6).map((p) => h('button', {
      title: `More like ${p.name}`, onclick: () => moreLikeThis(p.id),
    }, h('img', { src: p.thumb_url, alt: p.name, loading: 'lazy' })))),
    h('div', { class: 'cluster-meta' },
      h('span', { class: 'cluster-label', testid: 'cluster-label' }, cl.label || `Group ${cl.id + 1}`),
      h('span', { class: 'cluster-size' }, `${cl.size} photos`)))));
}
async function loadClusters() {
  clustersLoaded = true;
  const msg = $('#clusters-message');
  msg.classList.add('hidden');
  try {
    renderClusters(await api('/api/clusters'));
  } catch (e) {
    msg.textContent = e.message;
    msg.classList.remove('hidden');
  }
}
async function recomputeClusters() {
  const btn = $('#clusters-recompute');
  btn.disabled = true;
  btn.textContent = 'Clustering…';
  const msg = $('#clusters-message');
  msg.classList.add('hidden');
  try {
    renderClusters(await api('/api/clusters', { method: 'POST', json: { k: +$('#clusters-k').value } }));
    loadExamples();
  } catch (e) {
    msg.textContent = e.message;
    msg.classList.remove('hidden');
  } finally {
    btn.disabled = false;
    btn.textContent = 'Recompute';
  }
}

// ---------- wiring ----------
function wire() {
  for (const tab of $$('.tab')) tab.addEventListener('click', () => showPage(tab.dataset.page));
  $('#upload').addEventListener('change', (e) => { if (e.target.files.length) setFiles(e.target.files); });
  $('#search-btn').addEventListener('click', () => runSearch());
  $('#clear-query').addEventListener('click', (e) => { e.preventDefault(); clearQuery(); });
  $('#alpha').addEventListener('input', (e) => setAlpha(e.target.value));
  for (const c of $$('[data-preset]')) c.addEventListener('click', () => setAlpha(c.dataset.alpha));
  $('#color-add').addEventListener('click', () => addColor($('#color-picker').value));
  $('#color-search').addEventListener('click', () => {
    if (!state.colors.length) addColor($('#color-picker').value);
    // Colour alone: rank by colour. The previous weight comes back when the query is cleared.
    if (!state.files.length && !state.ids.length && state.alpha !== 0) {
      state.alphaBeforeColor = state.alpha;
      setAlpha(0, { search: false });
    }
    runSearch();
  });
  $('#filters-apply').addEventListener('click', () => runSearch());
  $('#filters-clear').addEventListener('click', () => {
    for (const id of ['#f-date-from', '#f-date-to', '#f-camera', '#f-folder', '#f-rating', '#f-orientation']) $(id).value = '';
    runSearch();
  });
  for (const id of ['#f-camera', '#f-folder', '#f-rating', '#f-orientation', '#f-k']) $(id).addEventListener('change', () => runSearch());
  $('#more').addEventListener('click', () => { state.offset += state.k; runSearch({ append: true }); });
  $('#view-grid').addEventListener('click', () => setView('grid'));
  $('#view-table').addEventListener('click', () => setView('table'));
  $('#details-close').addEventListener('click', () => { $('#details').classList.add('hidden'); state.selected = null; for (const t of $$('.tile.selected')) t.classList.remove('selected'); });
  $('#reindex').addEventListener('click', reindex);
  $('#dupes-refresh').addEventListener('click', loadDuplicates);
  $('#dupe-threshold').addEventListener('input', (e) => { $('#dupe-threshold-value').textContent = (+e.target.value).toFixed(2); });
  $('#dupe-threshold').addEventListener('change', loadDuplicates);
  $('#clusters-recompute').addEventListener('click', recomputeClusters);

  // Drag and drop anywhere on the page; paste from the clipboard.
  let depth = 0;
  const overlay = $('#drop-overlay');
  window.addEventListener('dragenter', (e) => { if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) { depth++; overlay.classList.remove('hidden'); } });
  window.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) overlay.classList.add('hidden'); });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    overlay.classList.add('hidden');
    if (e.dataTransfer && e.dataTransfer.files.length) { showPage('search'); setFiles(e.dataTransfer.files); }
  });
  window.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (files.length) { showPage('search'); setFiles(files); }
  });

  // Sign-in for token-protected servers.
  setUnauthorizedHandler(() => { const d = $('#login'); if (!d.open) d.showModal(); });
  $('#login-form').addEventListener('submit', () => {
    setToken($('#login-token').value.trim());
    boot();
  });
  window.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('#details').classList.contains('hidden')) $('#details-close').click();
  });
}

function boot() {
  loadStats();
  loadExamples();
  pollIndex();
  runSearch();
  const page = location.hash.slice(1);
  showPage(['search', 'duplicates', 'clusters'].includes(page) ? page : 'search');
}

wire();
renderSwatches();
setAlpha(1, { search: false });
boot();
