// The duplicates, stacks and clusters pages.
import { api, qs } from './api.js';
import { $, h, fmtDateShort } from './dom.js';
import { picture } from './pictures.js';

let ctx = null;  // { moreLikeThis, loadExamples, caps() }
export function initGroups(context) { ctx = context; }
export const loaded = { duplicates: false, clusters: false, stacks: false };

// ---------- duplicates ----------
export async function loadDuplicates() {
  loaded.duplicates = true;
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
    const count = (kind) => d.groups.filter((g) => g.kind === kind).length;
    box.replaceChildren(
      h('div', { class: 'summary-line', testid: 'dupes-summary' }, `${d.groups.length} groups · ${count('identical_bytes')} identical bytes · ${count('identical_pixels')} identical pixels · ${count('near')} near · ${d.photos} photos · ${d.timings.total_ms.toFixed(0)} ms`),
      ...d.groups.map(dupeGroup));
  } catch (e) {
    box.replaceChildren();
    msg.textContent = e.message;
    msg.classList.remove('hidden');
  }
}
const KIND_LABEL = { identical_bytes: 'identical bytes', identical_pixels: 'identical pixels', near: 'near' };
function kb(bytes) { return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`; }
function dupeGroup(g) {
  return h('section', { class: 'dupe-group', testid: 'dupe-group' },
    h('div', { class: 'dupe-head' },
      h('span', { class: `badge ${g.kind}`, testid: 'dupe-kind' }, KIND_LABEL[g.kind] || g.kind),
      h('span', {}, `${g.members.length} photos`),
      h('span', { class: 'muted' }, '·'),
      h('span', { class: 'muted', testid: 'keeper-reason' }, `Keep: ${g.keeper_reason || 'first'}`)),
    h('div', { class: 'dupe-members' }, g.members.map((m) => h('div', { class: `dupe-member${m.keeper ? ' keeper' : ''}`, dataset: { id: m.id } },
      h('div', { class: 'tile-img' }, picture(m, '(max-width: 700px) 45vw, 240px', ctx.caps())),
      m.keeper ? h('span', { class: 'badge keeper', testid: 'keeper-badge' }, 'Keeper') : null,
      m.keeper || typeof m.similarity !== 'number' ? null : h('span', { class: 'sim' }, (m.similarity * 100).toFixed(1) + '%'),
      m.keeper ? null : h('div', { class: 'tile-sub muted', testid: 'dupe-evidence', title: m.evidence }, `${KIND_LABEL[m.relation] || m.relation}: ${m.evidence}${m.copy_of ? ` · copy of #${m.copy_of}` : ''}`),
      h('div', { class: 'tile-meta' },
        h('div', { class: 'tile-name', title: m.path }, m.name || m.path),
        h('div', { class: 'tile-sub' },
          m.width ? h('span', {}, `${m.width}×${m.height}`) : null,
          m.format ? h('span', {}, m.format.toUpperCase()) : null,
          m.file_size ? h('span', {}, kb(m.file_size)) : null,
          m.capture_time ? h('span', {}, fmtDateShort(m.capture_time)) : null),
        h('div', { class: 'tile-sub muted tile-path', testid: 'dupe-path' }, m.path),
        h('div', { class: 'tile-sub' }, h('a', { href: '#search', onclick: (ev) => { ev.preventDefault(); ctx.moreLikeThis(m.id); } }, 'More like this')))))));
}

// ---------- stacks ----------
export async function loadStacks() {
  loaded.stacks = true;
  const box = $('#stack-groups');
  const msg = $('#stacks-message');
  msg.classList.add('hidden');
  box.replaceChildren(h('div', { class: 'skeleton' }));
  try {
    const d = await api(`/api/stacks${qs({ window: $('#stack-window').value })}`);
    if (!d.stacks.length) {
      box.replaceChildren(h('div', { class: 'empty-state', testid: 'no-stacks' }, h('h3', {}, 'No stacks found'),
        h('p', {}, 'No RAW+JPEG pairs, and no bursts or brackets within the time window.')));
      return;
    }
    box.replaceChildren(
      h('div', { class: 'summary-line', testid: 'stacks-summary' }, `${d.stacks.length} stacks · ${d.photos} photos · ${d.timings.total_ms.toFixed(0)} ms`),
      ...d.stacks.map(stackGroup));
  } catch (e) {
    box.replaceChildren();
    msg.textContent = e.message;
    msg.classList.remove('hidden');
  }
}
const STACK_LABEL = { raw_jpeg: 'RAW+JPEG', burst: 'burst', bracket: 'bracket' };
function stackGroup(s) {
  return h('section', { class: 'dupe-group', testid: 'stack-group' },
    h('div', { class: 'dupe-head' },
      h('span', { class: `badge ${s.kind}`, testid: 'stack-kind' }, STACK_LABEL[s.kind] || s.kind),
      h('span', {}, `${s.members.length} photos`),
      h('span', { class: 'muted' }, '·'),
      h('span', { class: 'muted' }, s.evidence)),
    h('div', { class: 'muted', testid: 'pick-reason' }, `Pick: ${s.pick_reason}`),
    h('div', { class: 'dupe-members' }, s.members.map((m) => h('div', { class: `dupe-member${m.pick ? ' keeper' : ''}`, dataset: { id: m.id } },
      h('div', { class: 'tile-img' }, picture(m, '(max-width: 700px) 45vw, 240px', ctx.caps())),
      m.pick ? h('span', { class: 'badge keeper', testid: 'pick-badge' }, 'Pick') : null,
      h('div', { class: 'tile-meta' },
        h('div', { class: 'tile-name', title: m.path }, m.name || m.path),
        h('div', { class: 'tile-sub' },
          h('span', {}, `${m.width}×${m.height}`),
          h('span', {}, (m.format || '').toUpperCase()),
          m.capture_time ? h('span', {}, fmtDateShort(m.capture_time)) : null),
        h('div', { class: 'tile-sub muted', testid: 'stack-scores' }, `sharpness ${Math.round(m.sharpness)} · exposure ${m.exposure.toFixed(2)}`))))));
}

// ---------- clusters ----------
function renderClusters(c) {
  const box = $('#clusters');
  if (!c.computed || !c.clusters.length) {
    box.replaceChildren(h('div', { class: 'empty-state', testid: 'no-clusters' }, h('h3', {}, 'Not clustered yet'),
      h('p', {}, 'Press Recompute to group the library into visually similar sets.')));
    return;
  }
  // The Groups box shows how many groups are on screen; Recompute asks for that many again.
  $('#clusters-k').value = c.clusters.length;
  $('#clusters-sub').textContent = `${c.clusters.length} groups · silhouette ${(+c.silhouette).toFixed(3)} · inertia ${(+c.inertia).toFixed(1)}`;
  const sorted = [...c.clusters].sort((a, b) => b.size - a.size);
  box.replaceChildren(...sorted.map((cl) => h('article', { class: 'cluster', testid: 'cluster-card', dataset: { id: cl.id } },
    h('div', { class: 'cluster-mosaic' }, cl.representatives.slice(0, 6).map((p, i) => h('button', {
      title: `More like ${p.name}`, onclick: () => ctx.moreLikeThis(p.id),
    }, picture(p, i === 0 ? '(max-width: 700px) 30vw, 220px' : '(max-width: 700px) 15vw, 110px', ctx.caps())))),
    h('div', { class: 'cluster-meta' },
      h('span', { class: 'cluster-label', testid: 'cluster-label' }, cl.label || `Group ${cl.id + 1}`),
      h('span', { class: 'cluster-size' }, `${cl.size} photos`)))));
}
export async function loadClusters() {
  loaded.clusters = true;
  const msg = $('#clusters-message');
  msg.classList.add('hidden');
  try {
    renderClusters(await api('/api/clusters'));
  } catch (e) {
    msg.textContent = e.message;
    msg.classList.remove('hidden');
  }
}
export async function recomputeClusters() {
  const btn = $('#clusters-recompute');
  btn.disabled = true;
  btn.textContent = 'Clustering…';
  const msg = $('#clusters-message');
  msg.classList.add('hidden');
  try {
    renderClusters(await api('/api/clusters', { method: 'POST', json: { k: +$('#clusters-k').value } }));
    ctx.loadExamples();
  } catch (e) {
    msg.textContent = e.message;
    msg.classList.remove('hidden');
  } finally {
    btn.disabled = false;
    btn.textContent = 'Recompute';
  }
}
