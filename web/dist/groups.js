// The duplicates and clusters pages.
import { api, qs } from './api.js';
import { $, h, fmtDateShort } from './dom.js';
import { picture } from './pictures.js';

let ctx = null;  // { moreLikeThis, loadExamples, caps() }
export function initGroups(context) { ctx = context; }
export const loaded = { duplicates: false, clusters: false };

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
      h('div', { class: 'tile-img' }, picture(m, '(max-width: 700px) 45vw, 240px', ctx.caps())),
      m.keeper ? h('span', { class: 'badge keeper', testid: 'keeper-badge' }, 'Keeper') : null,
      m.keeper || typeof m.similarity !== 'number' ? null : h('span', { class: 'sim' }, (m.similarity * 100).toFixed(1) + '%'),
      h('div', { class: 'tile-meta' },
        h('div', { class: 'tile-name', title: m.path }, m.name || m.path),
        h('div', { class: 'tile-sub' },
          m.width ? h('span', {}, `${m.width}×${m.height}`) : null,
          m.format ? h('span', {}, m.format.toUpperCase()) : null,
          m.capture_time ? h('span', {}, fmtDateShort(m.capture_time)) : null),
        h('div', { class: 'tile-sub' }, h('a', { href: '#search', onclick: (ev) => { ev.preventDefault(); ctx.moreLikeThis(m.id); } }, 'More like this')))))));
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
