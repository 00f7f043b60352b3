// Viewfinder web UI: search by example (upload, drop, paste, "more like this"), colour and
// filters; duplicates review; clusters; indexing progress. Plain ES modules, no build step,
// nothing loaded from the network.
import { api, ApiError, qs, setToken, setUnauthorizedHandler } from './api.js';
import { $, $$, h, fmtDate, fmtDateShort, camera, fmtBytes, fmtExposure, score3, timeSourceWords } from './dom.js';
import { features } from './explain.js';
import { initInsight, insightForDetails, insightForQuery, resetInsight } from './insight.js';
import { GRID_SIZES, picture } from './pictures.js';
import { initStatus, pollIndex, reindex, setLibraryInfo, setStatus } from './status.js';
import { initGroups, loaded, loadClusters, loadDuplicates, loadStacks, recomputeClusters } from './groups.js';

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
  region: null,     // {x, y, w, h} fractions of the (single) query picture, or null
  queryToken: '',   // the server's handle on an uploaded query, for /api/explain
  lastAlpha: 1,     // alpha of the shown results: at 1 no colour score was computed
  caps: {},         // optional server features (explain.js)
};
// Tiles crop to fill by default in the gallery; duplicates fit the whole picture (a crop
// would hide the very differences one compares). Each view remembers the user's choice.
const fitModes = {
  grid: localStorage.getItem('viewfinder.fit.grid') || 'fill',
  dupes: localStorage.getItem('viewfinder.fit.dupes') || 'fit',
};

// ---------- navigation ----------
function showPage(name) {
  for (const tab of $$('.tab')) {
    tab.classList.toggle('active', tab.dataset.page === name);
    if (tab.dataset.page === name) tab.setAttribute('aria-current', 'page'); else tab.removeAttribute('aria-current');
  }
  for (const p of ['search', 'duplicates', 'stacks', 'clusters']) $(`#page-${p}`).classList.toggle('hidden', p !== name);
  if (name === 'duplicates' && !loaded.duplicates) loadDuplicates();
  if (name === 'stacks' && !loaded.stacks) loadStacks();
  if (name === 'clusters' && !loaded.clusters) loadClusters();
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
}

// ---------- query building ----------
function currentFilters() {
  const f = {};
  const from = $('#f-date-from').value, to = $('#f-date-to').value;
  if (from) f.date_from = from;
  if (to) f.date_to = to;
  // Dropdown values match exactly ("=" prefix): "Canon EOS 5D" is not the 5D Mark III.
  const cam = $('#f-camera').value;
  if (cam) f.model = `=${cam}`;
  const lens = $('#f-lens').value;
  if (lens) f.lens = `=${lens}`;
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
    // One result per duplicate group and per stack unless "All copies" is on.
    if ($('#show-all-copies').checked) Object.assign(common, { all_copies: true, expand_stacks: true });
    if (state.region) common.region = [state.region.x, state.region.y, state.region.w, state.region.h];
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
    state.lastAlpha = state.mode === 'search' && typeof data.alpha === 'number' ? data.alpha : 1;
    state.queryToken = (data.query && data.query.token) || '';
    state.hits = append ? state.hits.concat(hits) : hits;
    renderResults(data, performance.now() - t0);
    $('#more').classList.toggle('hidden', hits.length < state.k);
  } catch (e) {
    if (seq !== state.requestSeq) return;
    // Nothing of the previous results may stay on screen: not the title, not "Show more".
    state.hits = [];
    $('#grid').replaceChildren();
    $('#scores-body').replaceChildren();
    $('#more').classList.add('hidden');
    $('#results-title').textContent = hasQuery() ? 'Search failed' : 'Library unavailable';
    $('#results-sub').textContent = hasQuery() ? describeQuery() : '';
    document.title = 'Viewfinder';
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
  const q = parts.join(' + ');
  return state.region ? `a region of ${q}` : q;
}

function renderResults(data, clientMs) {
  const title = $('#results-title');
  const sub = $('#results-sub');
  if (state.mode === 'browse') {
    title.textContent = Object.keys(state.filters).length ? 'Library · filtered' : 'Library';
    document.title = 'Viewfinder';
    sub.textContent = `${data.matched >= 0 ? data.matched : state.hits.length} photos · newest first`;
  } else {
    title.textContent = `Similar to ${describeQuery()}`;
    document.title = `${title.textContent} · Viewfinder`;
    const t = data.timings || {};
    const bits = [`${state.hits.length} result${state.hits.length === 1 ? '' : 's'}`];
    if (data.matched >= 0) bits.push(`${data.matched} match filters`);
    bits.push(`α ${(+data.alpha).toFixed(2)}`);
    if (t.server_ms !== undefined) bits.push(`${t.server_ms.toFixed(0)} ms server`);
    if (t.embed_ms) bits.push(`embed ${t.embed_ms.toFixed(0)} ms`);
    if (t.search_ms !== undefined) bits.push(`search ${t.search_ms.toFixed(1)} ms`);
    if (t.region_ms !== undefined) bits.push(`region ${t.region_ms.toFixed(0)} ms`);
    bits.push(`${clientMs.toFixed(0)} ms total`);
    sub.textContent = bits.join(' · ');
  }
  renderGrid();
  renderTable();
  // The open EXIF panel shows the selected photo's scores: refresh them for the new results.
  if (state.selected !== null && !$('#details').classList.contains('hidden')) selectPhoto(state.selected);
}

// A colour score exists only when the blend used colour (alpha < 1); at alpha 1 the server
// reports 0, which is not a measurement, so the UI shows none.
const colourShown = (p) => state.mode === 'search' && state.lastAlpha < 0.9995 && typeof p.color === 'number';

function tileFor(p, rank) {
  const isSearch = state.mode === 'search';
  // A file time is not a capture time: shown only when there is none, and marked as such.
  const when = p.capture_time ? fmtDateShort(p.capture_time) : (p.file_time ? `file: ${fmtDateShort(p.file_time)}` : '');
  const sub = [when, camera(p)].filter(Boolean);
  if (!sub.length) sub.push(`${p.width}×${p.height}`);
  const colour = colourShown(p);
  const scoreText = isSearch ? `score ${score3(p.score)} = content ${score3(p.semantic)}${colour ? ` · colour ${score3(p.color)}` : ''}` : '';
  return h('article', {
    class: `tile${state.selected === p.id ? ' selected' : ''}`,
    testid: 'result-tile',
    dataset: { id: p.id },
    onclick: () => selectPhoto(p.id),
  },
  // The picture is the tile's one tab stop (a roving tabindex: Tab enters the grid once,
  // the arrow keys move inside it, Enter opens the details).
  h('button', {
    class: 'tile-open', type: 'button', tabindex: rank === 1 ? '0' : '-1', testid: 'tile-open',
    'aria-label': `${p.name}${isSearch ? `, result ${rank}, ${scoreText}` : ''}: show details`,
    onkeydown: gridKeys, onfocus: (ev) => rove(ev.currentTarget),
  }, h('span', { class: 'tile-img' }, picture(p, GRID_SIZES, state.caps, { alt: '' }))),
  isSearch ? h('div', { class: 'tile-score', testid: 'result-score', title: scoreText },
    h('span', { class: 'tile-rank' }, `#${rank}`), score3(p.score)) : null,
  h('button', {
    class: 'tile-more', testid: 'more-like-this', title: 'Search for photos like this one', tabindex: '-1',
    onclick: (ev) => { ev.stopPropagation(); moreLikeThis(p.id); },
  }, 'More like this'),
  h('div', { class: 'tile-meta' },
    h('div', { class: 'tile-name', title: p.path }, p.name),
    h('div', { class: 'tile-sub' }, sub.map((s) => h('span', {}, s))),
    p.copies || p.stacked ? h('div', { class: 'tile-sub muted', testid: 'collapsed-count' },
      [p.copies ? `and ${p.copies} ${p.copies === 1 ? 'copy' : 'copies'}` : '', p.stacked ? `+${p.stacked} in stack` : ''].filter(Boolean).join(' · ')) : null,
    isSearch ? h('div', { class: 'tile-bars', title: colour ? 'content · colour similarity' : 'content similarity' },
      h('div', { class: 'tile-bar sem' }, barFill(p.semantic)),
      colour ? h('div', { class: 'tile-bar col' }, barFill(p.color)) : null) : null));
}

function barFill(v) {
  const i = document.createElement('i');
  i.style.width = `${Math.max(0, Math.min(1, v || 0)) * 100}%`;
  return i;
}

// ---------- keyboard in the grid ----------
function rove(btn) {
  for (const b of $$('#grid .tile-open')) b.tabIndex = b === btn ? 0 : -1;
}
function gridColumns() {
  return getComputedStyle($('#grid')).gridTemplateColumns.split(' ').filter(Boolean).length || 1;
}
function gridKeys(ev) {
  const all = $$('#grid .tile-open');
  const i = all.indexOf(ev.currentTarget);
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: gridColumns(), ArrowUp: -gridColumns() }[ev.key];
  let next = -1;
  if (step !== undefined) next = Math.max(0, Math.min(all.length - 1, i + step));
  else if (ev.key === 'Home') next = 0;
  else if (ev.key === 'End') next = all.length - 1;
  if (next < 0) return;
  ev.preventDefault();
  rove(all[next]);
  all[next].focus();
  all[next].scrollIntoView({ block: 'nearest' });
}
function focusFirstResult() {
  const target = $('#grid .tile-open[tabindex="0"]') || $('#grid .tile-open');
  if (target) target.focus();
  else { $('#results-title').tabIndex = -1; $('#results-title').focus(); }
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
    h('td', { class: 'num' }, colourShown(p) ? score3(p.color) : '—'),
    h('td', {}, p.capture_time ? fmtDate(p.capture_time) : (p.file_time ? `${fmtDate(p.file_time)} (file time)` : '')),
    h('td', {}, camera(p)))));
}

// Fit (whole picture, letterboxed) or fill (cropped to the tile) for one view.
function setFit(view, mode) {
  fitModes[view] = mode;
  localStorage.setItem(`viewfinder.fit.${view}`, mode);
  const box = view === 'grid' ? $('#grid') : $('#dupe-groups');
  box.classList.toggle('fit', mode === 'fit');
  for (const b of $$(`[data-fit-view="${view}"]`)) b.setAttribute('aria-pressed', String(b.dataset.fit === mode));
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
  state.region = null;
  renderQueryPreview();
  runSearch();
}

function renderQueryPreview() {
  const box = $('#query-preview');
  const items = [];
  // A picture the browser cannot decode (a RAW or HEIC upload) gets a labelled box of its
  // own size instead of a broken icon under the caption.
  const broken = (ev) => ev.target.parentElement.classList.add('broken');
  const single = state.files.length + state.ids.length === 1;
  for (const f of state.files) {
    const url = URL.createObjectURL(f);
    items.push(h('figure', {}, h('img', { src: url, alt: f.name, onload: () => URL.revokeObjectURL(url), onerror: broken }), h('figcaption', {}, f.name || 'pasted image')));
  }
  for (const id of state.ids) {
    const src = single ? `/api/photos/${id}/preview` : `/api/photos/${id}/thumb`;
    items.push(h('figure', {}, h('img', { src, alt: `photo ${id}`, onerror: broken }), h('figcaption', {}, `photo #${id}`)));
  }
  box.replaceChildren(...items);
  box.classList.toggle('single', items.length === 1);
  box.classList.toggle('hidden', !items.length);
  $('#dropzone-empty').classList.toggle('hidden', items.length > 0);
  insightForQuery();
}

function moreLikeThis(id) {
  state.files = [];
  state.ids = [id];
  state.region = null;
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
  state.region = null;
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
  const img = $('#details-img');
  img.parentElement.classList.remove('broken');
  if (matchMedia('(max-width: 700px)').matches && $('#grid').contains(document.activeElement)) $('#details-close').focus();
  img.src = `/api/photos/${id}/preview`;
  insightForDetails(id);
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
  add('Date source', timeSourceWords(p.capture_time_source));
  add('File time', p.file_time ? `${fmtDate(p.file_time)} (the file's modification time, not a capture time)` : '');
  if (hit && state.mode === 'search') {
    add('Similarity', `${score3(hit.score)} (content ${score3(hit.semantic)}${colourShown(hit) ? `, colour ${score3(hit.color)}` : ''})`);
  }
  add('Catalog id', String(p.id));
  $('#details-body').replaceChildren(
    h('h2', { class: 'details-title', id: 'details-title', tabindex: '-1' }, p.name),
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
    // The filter matches the model string exactly, the most specific part of "Make Model".
    const lenses = (s.facets.lenses || []).sort((a, b) => b.count - a.count);
    fillSelect($('#f-lens'), lenses.map((l) => ({ value: l.value, text: `${l.value} (${l.count})` })), 'Any lens');
    fillSelect($('#f-camera'), cams.map((c) => ({ value: c.value, text: `${c.label || c.value} (${c.count})` })), 'Any camera');
    const folders = s.facets.folders || [];
    const common = commonPrefix(folders.map((f) => f.value));
    fillSelect($('#f-folder'), folders.map((f) => ({ value: f.value, text: `${f.value.slice(common.length) || f.value} (${f.count})` })), 'Any folder');
    setLibraryInfo(s.library);
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
    for (const id of ['#f-date-from', '#f-date-to', '#f-camera', '#f-lens', '#f-folder', '#f-rating', '#f-orientation']) $(id).value = '';
    runSearch();
  });
  for (const id of ['#f-camera', '#f-lens', '#f-folder', '#f-rating', '#f-orientation', '#f-k']) $(id).addEventListener('change', () => runSearch());
  $('#more').addEventListener('click', () => { state.offset += state.k; runSearch({ append: true }); });
  $('#view-grid').addEventListener('click', () => setView('grid'));
  $('#view-table').addEventListener('click', () => setView('table'));
  $('#details-close').addEventListener('click', closeDetails);
  $('#details-img').addEventListener('error', (e) => e.target.parentElement.classList.add('broken'));
  $('#skip-link').addEventListener('click', (e) => { e.preventDefault(); showPage('search'); setSheet(false); focusFirstResult(); });
  $('#controls-toggle').addEventListener('click', () => setSheet(!$('#controls').classList.contains('open')));
  $('#controls-done').addEventListener('click', () => { setSheet(false); $('#controls-toggle').focus(); });
  for (const b of $$('[data-fit-view]')) b.addEventListener('click', () => setFit(b.dataset.fitView, b.dataset.fit));
  $('#reindex').addEventListener('click', reindex);
  $('#dupes-refresh').addEventListener('click', loadDuplicates);
  $('#stacks-refresh').addEventListener('click', loadStacks);
  $('#show-all-copies').addEventListener('change', () => { if (state.mode === 'search') runSearch(); });
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
    if (e.key !== 'Escape') return;
    if ($('#controls').classList.contains('open')) { setSheet(false); $('#controls-toggle').focus(); }
    else if (!$('#details').classList.contains('hidden')) closeDetails();
  });
}

// On a phone the search options live in a sheet over the results (CSS decides whether the
// sheet is a sheet: on wide screens it is the sidebar and this class changes nothing).
function setSheet(open) {
  $('#controls').classList.toggle('open', open);
  $('#controls-toggle').setAttribute('aria-expanded', String(open));
  if (open) $('#controls-done').focus();
}

function closeDetails() {
  const id = state.selected;
  resetInsight();
  $('#details').classList.add('hidden');
  state.selected = null;
  for (const t of $$('.tile.selected')) t.classList.remove('selected');
  // Keyboard users continue from the tile they opened.
  const back = id !== null && $(`#grid .tile[data-id="${id}"] .tile-open`);
  if (back && document.activeElement && $('#details').contains(document.activeElement)) back.focus();
}

async function boot() {
  state.caps = await features();
  loadStats();
  loadExamples();
  pollIndex();
  runSearch();
  const page = location.hash.slice(1);
  showPage(['search', 'duplicates', 'stacks', 'clusters'].includes(page) ? page : 'search');
}

// The top bar wraps on narrow screens; panels that sit under it need its real height.
new ResizeObserver(([e]) => document.documentElement.style.setProperty('--topbar-h', `${Math.ceil(e.target.getBoundingClientRect().height)}px`)).observe($('.topbar'));
initInsight({ state, runSearch, renderQueryPreview, toast });
initStatus({ toast, onIndexed: () => { loadStats(); loadExamples(); runSearch(); } });
initGroups({ moreLikeThis, loadExamples, caps: () => state.caps });
wire();
setFit('grid', fitModes.grid);
setFit('dupes', fitModes.dupes);
renderSwatches();
setAlpha(1, { search: false });
boot();
