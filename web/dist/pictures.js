// Pictures of photos at the size their box needs (see pictureAttrs).
import { h } from './dom.js';


// <img> attributes for a photo in a tile of about 180..420 CSS px. The browser picks the
// thumbnail (256 px long edge) or the preview (1280 px) by tile width and pixel density;
// a server that lists more thumbnail sizes in features.thumb_sizes adds them. Originals that
// are no larger than the thumbnail (256 px) are shown at their own size, never blown up.
export function pictureAttrs(p, sizes, caps = {}) {
  const thumb = p.thumb_url || `/api/photos/${p.id}/thumb`;
  const preview = p.preview_url || `/api/photos/${p.id}/preview`;
  const long = Math.max(p.width || 0, p.height || 0);
  if (long && long <= 256) return { src: thumb, class: 'natural' };
  if (!long) return { src: thumb };
  const widthAt = (edge) => Math.round((p.width || 0) * Math.min(1, edge / long));
  const set = [`${thumb} ${widthAt(256)}w`];
  for (const size of caps.thumb_sizes || []) {
    if (size > 256 && size < 1280) set.push(`${thumb}?size=${size} ${widthAt(size)}w`);
  }
  set.push(`${preview} ${widthAt(1280)}w`);
  return { src: thumb, srcset: set.join(', '), sizes };
}
export const GRID_SIZES = '(max-width: 560px) 48vw, (max-width: 1280px) 40vw, 30vw';

export function picture(p, sizes, caps = {}, extra = {}) {
  const a = pictureAttrs(p, sizes, caps);
  return h('img', {
    ...a, alt: extra.alt === undefined ? (p.name || '') : extra.alt, loading: 'lazy', decoding: 'async',
    // A picture the browser cannot show leaves a labelled empty box, not a broken icon.
    onerror: (ev) => ev.target.parentElement.classList.add('broken'),
  });
}
