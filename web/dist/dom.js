// Small shared helpers of the web UI: DOM building and the formatting of dates, sizes and
// scores. No markup from data ever goes through innerHTML.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// Builds DOM without innerHTML, so that file names and EXIF strings can never inject markup.
export function h(tag, attrs = {}, ...children) {
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export function fmtDate(iso) {
  if (!iso) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(iso);
  if (!m) return iso;
  const d = `${+m[3]} ${MONTHS[+m[2] - 1]} ${m[1]}`;
  return m[4] ? `${d}, ${m[4]}:${m[5]}` : d;
}
export function fmtDateShort(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  return m ? `${+m[3]} ${MONTHS[+m[2] - 1]} ${m[1]}` : '';
}
export function camera(p) {
  if (!p.model) return p.make || '';
  if (p.make && !p.model.toLowerCase().startsWith(p.make.split(' ')[0].toLowerCase())) return `${p.make} ${p.model}`;
  return p.model;
}
export function fmtBytes(n) {
  if (!n && n !== 0) return '';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${u[i]}`;
}
export function fmtExposure(s) {
  if (!s) return '—';
  if (s >= 1) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  return `1/${Math.round(1 / s)}`;
}
export function fmtDuration(s) {
  if (!isFinite(s) || s <= 0) return '';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
export function timeAgo(iso) {
  const t = Date.parse(iso);
  if (!t) return '';
  const s = (Date.now() - t) / 1000;
  if (s < 90) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
export const score3 = (x) => (typeof x === 'number' ? x.toFixed(3) : '—');

// Where the capture time came from, in words (the catalog stores the tag name).
const TIME_SOURCES = {
  'exif:DateTimeOriginal': 'Capture time (from the camera)',
  'exif:DateTimeDigitized': 'Digitising time (from the camera or scanner)',
  'exif:DateTime': 'Last edit time (from the EXIF header)',
  'xmp:DateCreated': 'Creation time (from XMP metadata)',
  'file:mtime': 'File modification time (no date in the photo)',
};
export function timeSourceWords(src) {
  if (!src) return '';
  return TIME_SOURCES[src] || src.replace(/^(\w+):/, '$1 ').replace(/([a-z])([A-Z])/g, '$1 $2');
}
