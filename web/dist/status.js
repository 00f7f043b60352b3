// The library status in the top bar and the progress of a re-index started from the UI.
import { api } from './api.js';
import { $, fmtDuration, timeAgo } from './dom.js';

let ctx = null;  // { toast, onIndexed }
export function initStatus(context) { ctx = context; }
export function setLibraryInfo(lib) { libraryInfo = lib; renderStatus(); }

let libraryInfo = null;
let indexState = null;
let pollTimer = 0;
export function setStatus(kind, text) {
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
export async function pollIndex() {
  clearTimeout(pollTimer);
  let next = 15000;
  try {
    const prev = indexState;
    indexState = await api('/api/index/status');
    renderStatus();
    if (indexState.running) next = 1000;
    if (prev && prev.running && !indexState.running) {
      ctx.toast(indexState.last_error ? `Indexing failed: ${indexState.last_error}` : 'Indexing finished');
      ctx.onIndexed();
    }
  } catch (e) { /* status is best-effort */ }
  pollTimer = setTimeout(pollIndex, next);
}
export async function reindex() {
  try {
    await api('/api/index', { method: 'POST', json: {} });
    ctx.toast('Re-indexing started');
  } catch (e) {
    ctx.toast(e.message, true);
  }
  pollIndex();
}
