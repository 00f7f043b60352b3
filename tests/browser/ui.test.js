// Browser test of the Viewfinder web UI in real Chromium (playwright-core, no downloads):
// upload a query, see scored results, change alpha, filter, "more like this", EXIF panel,
// scores table, colour search, drag-and-drop and paste, duplicates, clusters, and indexing
// progress. Also asserts that the page never touches the network beyond its own server and
// raises no JavaScript errors. Screenshots go to $SCREENSHOT_DIR.
//
// env: BASE_URL (a running `viewfinder serve`), QUERY_IMAGE (an indexed photo's file),
//      SCREENSHOT_DIR, NODE_PATH pointing at tools/node/node_modules.
'use strict';
const path = require('path');
const fs = require('fs');
const { chromium } = require('playwright-core');

const BASE = process.env.BASE_URL;
const QUERY = process.env.QUERY_IMAGE;
const SHOTS = process.env.SCREENSHOT_DIR || '/tmp/vf-screenshots';
fs.mkdirSync(SHOTS, { recursive: true });

let failures = 0;
let count = 0;
function check(cond, what) {
  count++;
  console.log(`  ${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
}

async function api(p) {
  const r = await fetch(BASE + p);
  return r.json();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const foreign = [];
  const jsErrors = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(BASE) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  page.on('pageerror', (e) => jsErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of (4|5)\d\d/.test(m.text())) jsErrors.push(m.text()); });
  const T = (id) => `[data-testid="${id}"]`;
  const shot = (name) => page.screenshot({ path: path.join(SHOTS, name) });

  try {
    // ---- library view on load ----
    await page.goto(BASE + '/');
    await page.waitForSelector(`${T('result-tile')} img`);
    const stats = await api('/api/stats');
    const tiles0 = await page.locator(T('result-tile')).count();
    check(tiles0 === Math.min(24, stats.library.photos), `library grid shows the newest ${tiles0} photos`);
    await page.waitForFunction(() => document.querySelector('#status-text').textContent.includes('photos'));
    check((await page.textContent(T('status-text'))).includes(`${stats.library.photos} photos`), 'status bar shows the library size');
    await page.waitForSelector(`${T('example-item')} img`);
    check(await page.locator(T('example-item')).count() >= 1, 'example queries shown');
    // Thumbnails actually decoded (not broken images).
    await page.waitForFunction(() => [...document.querySelectorAll('.tile img')].slice(0, 6).every((i) => i.complete && i.naturalWidth > 0));
    check(true, 'thumbnails load');
    await shot('01-library.png');

    // ---- upload a query image ----
    const queryName = path.basename(QUERY);
    const all = await api('/api/photos?k=1000');
    const queryId = all.photos.find((p) => p.name === queryName).id;
    await page.setInputFiles(T('upload-input'), QUERY);
    await page.waitForFunction(() => document.querySelector('#results-title').textContent.startsWith('Similar to'));
    await page.waitForSelector(T('result-score'));
    const firstId = await page.locator(T('result-tile')).first().getAttribute('data-id');
    check(+firstId === queryId, `upload: the query photo itself ranks first (#${firstId})`);
    const firstScore = await page.locator(T('result-score')).first().textContent();
    check(/1\.000|0\.99\d/.test(firstScore), `upload: first score ~1 (${firstScore.trim()})`);
    check(await page.locator(`${T('query-preview')} img`).count() === 1, 'upload: query preview shown');
    const sub = await page.textContent(T('results-sub'));
    check(/ms server/.test(sub) && /α 1\.00/.test(sub), `results line shows timings and alpha (${sub})`);
    await page.waitForFunction(() => [...document.querySelectorAll('.tile img')].slice(0, 6).every((i) => i.complete && i.naturalWidth > 0));
    await shot('02-search-upload.png');

    // ---- alpha: preset and slider ----
    await page.click(T('preset-product'));
    await page.waitForFunction(() => document.querySelector('#results-sub').textContent.includes('α 0.30'));
    check((await page.textContent(T('alpha-value'))).trim() === '0.30', 'product preset sets alpha 0.30');
    check(await page.locator(`${T('preset-product')}.active`).count() === 1, 'preset button shows as active');
    await page.locator(T('alpha-slider')).fill('0.75');
    await page.waitForFunction(() => document.querySelector('#results-sub').textContent.includes('α 0.75'));
    check(true, 'slider re-runs the search with alpha 0.75');

    // ---- a filter ----
    const folder = stats.facets.folders.find((f) => f.value.endsWith('/cameras'));
    const inFolder = new Set((await api('/api/photos?k=1000&folder=' + encodeURIComponent(folder.value))).photos.map((p) => p.id));
    await page.selectOption(T('filter-folder'), folder.value);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="result-tile"]').length === n, inFolder.size);
    const ids = await page.locator(T('result-tile')).evaluateAll((els) => els.map((e) => +e.dataset.id));
    check(ids.length === inFolder.size && ids.every((i) => inFolder.has(i)), `folder filter: ${ids.length} results, all in ${folder.value}`);
    await shot('03-filtered.png');
    await page.click(T('filter-clear'));
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="result-tile"]').length > n, inFolder.size);

    // ---- EXIF panel, more like this ----
    const tile = page.locator(T('result-tile')).nth(2);
    const tileId = +(await tile.getAttribute('data-id'));
    await tile.click();
    await page.waitForSelector(`${T('exif-panel')} ${T('exif-list')}`);
    const exifText = await page.textContent(T('exif-panel'));
    check(exifText.includes('Dimensions') && exifText.includes('Catalog id'), 'clicking a result opens the EXIF panel');
    const camTile = page.locator(T('result-tile')).filter({ hasText: /NIKON|Canon|KODAK|Kodak|FUJIFILM|PENTAX|OLYMPUS|SANYO|RICOH|Samsung|Digimax/ }).first();
    if (await camTile.count()) {
      await camTile.click();
      await page.waitForFunction(() => document.querySelector('[data-testid="exif-panel"]').textContent.includes('Camera'));
      check(true, 'EXIF panel shows the camera of a camera photo');
    }
    await shot('04-exif-panel.png');
    await tile.hover();
    await tile.locator(T('more-like-this')).click();
    await page.waitForFunction((id) => document.querySelector('#results-title').textContent === `Similar to photo #${id}`, tileId);
    const mlt = await page.locator(T('result-tile')).evaluateAll((els) => els.map((e) => +e.dataset.id));
    check(mlt.length > 0 && !mlt.includes(tileId), `more like this #${tileId}: ${mlt.length} results, the example itself omitted`);
    const apiMlt = await api(`/api/search/similar/${tileId}?k=24&alpha=0.75`);
    check(JSON.stringify(apiMlt.hits.map((h) => h.id)) === JSON.stringify(mlt), 'UI results equal the API results');
    await shot('05-more-like-this.png');

    // ---- scores table ----
    await page.click(T('view-table'));
    const rows = await page.locator(`${T('scores-table')} tbody tr`).count();
    check(rows === mlt.length, `scores table lists every result (${rows})`);
    await shot('06-scores-table.png');
    await page.click(T('view-grid'));

    // ---- colour search ----
    await page.click(T('clear-query'));
    await page.locator(T('color-swatch')).first().click();
    await page.click(T('color-search'));
    await page.waitForFunction(() => document.querySelector('#results-title').textContent.includes('#'));
    check(await page.locator(T('palette-color')).count() === 1 && await page.locator(T('result-tile')).count() > 0, 'colour search shows results');
    check((await page.textContent(T('alpha-value'))).trim() === '0.00', 'colour-only search sets alpha 0');
    await shot('07-colour-search.png');
    await page.click(T('clear-query'));

    // ---- drag and drop, paste ----
    const dropId = all.photos[all.photos.length - 1].id;
    await page.evaluate(async (id) => {
      const blob = await (await fetch(`/api/photos/${id}/original`)).blob();
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'dropped.jpg', { type: 'image/jpeg' }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, dropId);
    await page.waitForFunction(() => document.querySelector('#results-title').textContent === 'Similar to dropped.jpg');
    await page.waitForSelector(T('result-score'));
    check(+(await page.locator(T('result-tile')).first().getAttribute('data-id')) === dropId, 'drag-and-drop searches with the dropped photo');
    await page.evaluate(async (id) => {
      const blob = await (await fetch(`/api/photos/${id}/original`)).blob();
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'pasted.jpg', { type: 'image/jpeg' }));
      window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
    }, queryId);
    await page.waitForFunction(() => document.querySelector('#results-title').textContent === 'Similar to pasted.jpg');
    check(true, 'paste from the clipboard searches');
    await page.click(T('clear-query'));

    // ---- duplicates ----
    await page.click(T('tab-duplicates'));
    await page.waitForSelector(`${T('dupe-group')}, ${T('no-dupes')}`);
    const groups = await page.locator(T('dupe-group')).count();
    check(groups >= 1, `duplicates page shows ${groups} group(s)`);
    check(await page.locator(T('keeper-badge')).count() === groups, 'each group has one keeper badge');
    check((await page.locator(T('keeper-reason')).first().textContent()).startsWith('Keep:'), 'keeper reason shown');
    await page.waitForFunction(() => [...document.querySelectorAll('.dupe-member img')].every((i) => i.complete && i.naturalWidth > 0));
    await shot('08-duplicates.png');

    // ---- clusters ----
    await page.click(T('tab-clusters'));
    await page.fill(T('clusters-k'), '4');
    await page.click(T('clusters-recompute'));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cluster-card"]').length === 4);
    const labels = await page.locator(T('cluster-label')).allTextContents();
    check(labels.length === 4 && labels.every((l) => l.trim().length > 0), `clusters page shows 4 labelled clusters (${labels.join(' | ')})`);
    await page.waitForFunction(() => [...document.querySelectorAll('.cluster img')].every((i) => i.complete && i.naturalWidth > 0));
    await shot('09-clusters.png');
    // A representative opens "more like this" on the search page.
    await page.locator('.cluster-mosaic button').first().click();
    await page.waitForFunction(() => document.querySelector('#results-title').textContent.startsWith('Similar to photo #'));
    check(await page.locator('#page-search:not(.hidden)').count() === 1, 'cluster representative -> more like this');

    // ---- indexing progress ----
    const before = (await api('/api/index/status')).library.photos;
    await page.click(T('reindex-button'));
    await page.waitForSelector(`${T('index-progress')}:not(.hidden)`, { timeout: 20000 });
    check(true, 'indexing progress bar appears while re-indexing');
    await page.waitForFunction(() => /\d+ \/ \d+|Scanning|embedding|index/.test(document.querySelector('#index-progress-text').textContent));
    await shot('10-indexing.png');
    await page.waitForSelector(`${T('index-progress')}.hidden`, { state: 'attached', timeout: 120000 });
    await page.waitForFunction((n) => {
      const m = /([\d,]+) photos/.exec(document.querySelector('#status-text').textContent);
      return m && +m[1].replace(/,/g, '') > n;
    }, before, { timeout: 30000 });
    const after = (await api('/api/index/status')).library.photos;
    check(after > before, `re-index picked up new photos (${before} -> ${after}) and the status bar shows it`);

    // ---- narrow screen ----
    await page.setViewportSize({ width: 420, height: 900 });
    await page.click(T('tab-search'));
    await shot('11-mobile.png');

    // ---- a token-protected server: sign in once, then everything works ----
    if (process.env.TOKEN_BASE_URL) {
      const tpage = await context.newPage();
      tpage.on('pageerror', (e) => jsErrors.push(String(e)));
      await tpage.goto(process.env.TOKEN_BASE_URL + '/');
      await tpage.waitForSelector(`${T('login-dialog')}[open]`);
      check(true, 'token server: the UI asks for the token');
      await tpage.fill(T('login-token'), process.env.TOKEN);
      await tpage.click(T('login-submit'));
      await tpage.waitForSelector(`${T('result-tile')} img`);
      await tpage.waitForFunction(() => [...document.querySelectorAll('.tile img')].slice(0, 6).every((i) => i.complete && i.naturalWidth > 0));
      check(true, 'token server: after sign-in the library and its thumbnails load');
      await tpage.close();
    }

    check(foreign.length === 0, `no requests beyond the server (${foreign.slice(0, 3).join(', ')})`);
    check(jsErrors.length === 0, `no JavaScript errors (${jsErrors.slice(0, 3).join(' | ')})`);
  } catch (e) {
    failures++;
    console.log(`  FAIL ${e.stack || e}`);
    await shot('failure.png').catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(`${count - failures}/${count} checks passed; screenshots in ${SHOTS}`);
  process.exit(failures ? 1 : 0);
}

main();
