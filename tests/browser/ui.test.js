// Browser test of the Viewfinder web UI in real Chromium (playwright-core, no downloads):
// upload a query, see scored results, keyboard-only use, axe-core accessibility checks, the
// phone layout at 390x844, region drawing and the heatmap toggle, change alpha, filter, "more like this", EXIF panel,
// scores table, colour search, drag-and-drop and paste, duplicates, clusters, and indexing
// progress. Also asserts that the page never touches the network beyond its own server and
// raises no JavaScript errors. Screenshots go to $SCREENSHOT_DIR.
//
// env: BASE_URL (a running `viewfinder serve`), QUERY_IMAGE (an indexed photo's file),
//      SCREENSHOT_DIR, NODE_PATH pointing at tools/node/node_modules.
'use strict';
const path = require('path');
const fs = require('fs');
const { checks, check, launchChromium, watchPage } = require('./harness');

const BASE = process.env.BASE_URL;
const QUERY = process.env.QUERY_IMAGE;
const SHOTS = process.env.SCREENSHOT_DIR || '/tmp/vf-screenshots';
fs.mkdirSync(SHOTS, { recursive: true });


const T = (id) => `[data-testid="${id}"]`;
const jsErrors = [];

async function api(p) {
  const r = await fetch(BASE + p);
  return r.json();
}

// ---- accessibility: axe-core, no serious or critical violations ----
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
async function axeCheck(pg, what, expectBad = false) {
  // Injected through DevTools evaluation: the page's CSP (script-src 'self') stays on.
  if (!(await pg.evaluate(() => typeof window.axe !== 'undefined'))) await pg.evaluate(axeSource);
  const res = await pg.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) console.log(`    axe ${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`);
  if (expectBad) check(bad.length > 0, `axe-core finds the serious violations planted in ${what} (${bad.map((v) => v.id).join(', ')})`);
  else check(bad.length === 0, `axe-core on ${what}: ${res.violations.length} violation(s), none serious or critical`);
}
// The checker itself: a page with unreadable text and an unlabelled image must fail.
async function axeSelfCheck(context) {
  const bad = await context.newPage();
  await bad.setContent('<html lang="en"><head><title>t</title></head><body><main><p style="color:#777;background:#888">faint</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>');
  await axeCheck(bad, 'a deliberately broken page', true);
  await bad.close();
}

// ---- keyboard only: from page load to the EXIF panel ----
async function keyboardChecks(context) {
  const kpage = await context.newPage();
  kpage.on('pageerror', (e) => jsErrors.push(String(e)));
  await kpage.goto(BASE + '/');
  await kpage.waitForSelector(`${T('result-tile')} img`);
  const activeId = () => kpage.evaluate(() => document.activeElement && document.activeElement.dataset.testid);
  let tabs = 0;
  while (tabs < 10 && (await activeId()) !== 'tile-open') {
    await kpage.keyboard.press('Tab');
    tabs++;
    if ((await activeId()) === 'skip-link') await kpage.keyboard.press('Enter');
  }
  const firstTile = await kpage.locator(T('result-tile')).first().getAttribute('data-id');
  const focusedTile = () => kpage.evaluate(() => document.activeElement.closest('[data-testid="result-tile"]')?.dataset.id);
  check(tabs <= 2 && (await focusedTile()) === firstTile, `keyboard: the first result has focus after ${tabs} Tab press(es) (skip link + Enter)`);
  const ring = await kpage.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(ring !== 'none', `keyboard: the focused tile shows a focus ring (${ring})`);
  await kpage.keyboard.press('ArrowRight');
  const secondTile = await kpage.locator(T('result-tile')).nth(1).getAttribute('data-id');
  check((await focusedTile()) === secondTile, 'keyboard: ArrowRight moves to the next result');
  await kpage.keyboard.press('ArrowDown');
  const cols = await kpage.evaluate(() => getComputedStyle(document.querySelector('#grid')).gridTemplateColumns.split(' ').length);
  const belowTile = await kpage.locator(T('result-tile')).nth(1 + cols).getAttribute('data-id');
  check((await focusedTile()) === belowTile, `keyboard: ArrowDown moves one row down (${cols} columns)`);
  await kpage.keyboard.press('ArrowUp');
  await kpage.keyboard.press('Enter');
  await kpage.waitForSelector(`${T('exif-panel')}:not(.hidden) ${T('exif-list')}`);
  const panelText = await kpage.textContent(T('exif-panel'));
  check(panelText.includes('Dimensions') && panelText.includes(`Catalog id${secondTile}`), `keyboard: Enter opens the EXIF panel of photo #${secondTile}`);
  await kpage.screenshot({ path: path.join(SHOTS, '12-keyboard-exif.png') });
  await kpage.keyboard.press('Escape');
  check(await kpage.locator(`${T('exif-panel')}.hidden`).count() === 1 && (await focusedTile()) === secondTile,
    'keyboard: Escape closes the panel and focus stays on the result');
  // Without optional server features the heatmap and region controls stay hidden.
  const health = await api('/api/health');
  if (!health.features) {
    await kpage.keyboard.press('Enter');
    await kpage.waitForSelector(`${T('exif-panel')}:not(.hidden) ${T('exif-list')}`);
    check(await kpage.locator(`${T('explain-toggle')}, ${T('region-draw')}`).count() === 0,
      'a server without explain/region features shows no heatmap or region controls');
  }
  await kpage.close();
}

// ---- phone, 390 x 844: query and results first, navigation in reach ----
async function phoneChecks(browser) {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
  const ph = await phone.newPage();
  ph.on('pageerror', (e) => jsErrors.push(String(e)));
  const pshot = (name) => ph.screenshot({ path: path.join(SHOTS, name) });
  await ph.goto(BASE + '/');
  await ph.waitForSelector(`${T('result-tile')} img`);
  await ph.waitForFunction(() => [...document.querySelectorAll('.tile img')].slice(0, 4).every((i) => i.complete && i.naturalWidth > 0));
  const inView = async (sel) => {
    const b = await ph.locator(sel).first().boundingBox();
    return b && b.x >= 0 && b.y >= 0 && b.x + b.width <= 390 && b.y + b.height <= 844 ? b : null;
  };
  const tileBox = await inView(T('result-tile'));
  check(tileBox !== null, `phone: the first result tile lies within the first screen (${tileBox ? `y ${Math.round(tileBox.y)}..${Math.round(tileBox.y + tileBox.height)}` : 'outside'})`);
  for (const id of ['tab-search', 'tab-duplicates', 'tab-clusters', 'reindex-button', 'status-text']) {
    check(await inView(T(id)) !== null, `phone: ${id} is on screen`);
  }
  check(/photos/.test(await ph.textContent(T('status-text'))), 'phone: the library status is shown');
  const wide = await ph.evaluate(() => [document.documentElement.scrollWidth, document.querySelector('.topbar').scrollWidth]);
  check(wide[0] <= 390 && wide[1] <= 390, `phone: nothing scrolls sideways (page ${wide[0]} px, header ${wide[1]} px)`);
  check(!(await ph.isVisible(T('preset-portrait'))), 'phone: the search options are folded away');
  // Even without the skip link, Tab alone reaches the first result soon: the options sheet
  // is folded, so its controls are not in the way.
  let tabs = 0;
  while (tabs < 40 && !(await ph.evaluate(() => document.activeElement.dataset.testid === 'tile-open'))) {
    await ph.keyboard.press('Tab');
    tabs++;
  }
  check(tabs <= 16, `phone: Tab alone reaches the first result in ${tabs} presses`);
  // 2x screen: the browser picks a picture with enough pixels for the tile.
  const sharp = await ph.evaluate(async () => {
    const img = [...document.querySelectorAll('.tile img')].find((i) => !i.classList.contains('natural'));
    if (!img) return null;
    const real = new Image();  // the chosen file's own pixels (naturalWidth is density-scaled)
    real.src = img.currentSrc;
    await real.decode();
    return { px: real.naturalWidth, css: img.getBoundingClientRect().width, id: img.closest('[data-id]').dataset.id };
  });
  const orig = sharp && (await api(`/api/photos/${sharp.id}`)).width;
  check(!sharp || sharp.px >= Math.min(2 * sharp.css, orig) - 1,
    `phone: tile pictures are sharp at 2x (${sharp ? `${sharp.px} px for ${Math.round(sharp.css)} CSS px, original ${orig} px` : 'n/a'})`);
  await pshot('13-phone-library.png');
  await axeCheck(ph, 'the phone layout');

  await ph.click(T('controls-toggle'));
  check(await ph.isVisible(T('preset-portrait')) && (await ph.getAttribute(T('controls-toggle'), 'aria-expanded')) === 'true', 'phone: Options opens the sheet with the search options');
  await pshot('14-phone-options.png');
  await ph.click(T('controls-done'));
  check(!(await ph.isVisible(T('preset-portrait'))), 'phone: Done folds the sheet away');

  await ph.setInputFiles(T('upload-input'), QUERY);
  await ph.waitForSelector(T('result-score'));
  await ph.waitForFunction(() => [...document.querySelectorAll('.tile img')].slice(0, 2).every((i) => i.complete && i.naturalWidth > 0));
  check(await inView(T('result-tile')) !== null, 'phone: after an upload the first result is still in the first screen');
  await pshot('15-phone-search.png');
  await ph.locator(T('result-tile')).first().click();
  await ph.waitForSelector(`${T('exif-panel')}:not(.hidden) ${T('exif-list')}`);
  const navFree = await ph.evaluate(() => ['tab-duplicates', 'tab-clusters', 'reindex-button'].every((id) => {
    const b = document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
    return document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2).closest(`[data-testid="${id}"]`);
  }));
  const panel = await ph.locator(T('exif-panel')).boundingBox();
  check(navFree && panel.width >= 389, 'phone: the details cover the page but not the navigation');
  await pshot('15b-phone-details.png');
  await ph.click(T('details-close'));

  await ph.click(T('tab-duplicates'));
  await ph.waitForSelector(`${T('dupe-group')}, ${T('no-dupes')}`);
  const pair = await ph.locator(`${T('dupe-group')} .dupe-member`).evaluateAll((els) => els.slice(0, 2).map((e) => e.getBoundingClientRect().top));
  check(pair.length < 2 || Math.abs(pair[0] - pair[1]) < 2, 'phone: a duplicate pair sits side by side');
  await ph.waitForFunction(() => [...document.querySelectorAll('.dupe-member img')].every((i) => i.complete));
  await pshot('16-phone-duplicates.png');

  await ph.click(T('tab-clusters'));
  await ph.waitForSelector(`${T('cluster-card')}, ${T('no-clusters')}`);
  const shown = await ph.locator(T('cluster-card')).count();
  check(shown === 0 || +(await ph.inputValue(T('clusters-k'))) === shown, `phone: the Groups box matches the ${shown} groups shown`);
  const apiClusters = (await api('/api/clusters')).clusters;
  check(apiClusters.length === shown && apiClusters.every((c) => c.size > 0), `phone: the API lists the same ${apiClusters.length} groups, none empty`);
  await pshot('17-phone-clusters.png');
  await phone.close();
}

// ---- region query and "why it matched": the controls, drawn with the mouse ----
async function regionChecks(context) {
  const health = await api('/api/health');
  const native = health.features || {};
  // A server without the features gets them turned on by hand: the UI must still draw the
  // box and send the region; the server's answer is checked only where it has the feature.
  const rpage = await context.newPage();
  rpage.on('pageerror', (e) => jsErrors.push(String(e)));
  await rpage.goto(BASE + '/?features=explain,region_search');
  await rpage.waitForSelector(`${T('result-tile')} img`);
  // Query: a catalog photo ("more like this"), so that /api/explain needs no upload token.
  const example = rpage.locator(T('result-tile')).nth(2);
  const exampleId = +(await example.getAttribute('data-id'));
  await example.hover();
  await example.locator(T('more-like-this')).click();
  await rpage.waitForFunction((id) => document.querySelector('#results-title').textContent === `Similar to photo #${id}`, exampleId);
  await rpage.waitForSelector(T('result-score'));
  const target = rpage.locator(T('result-tile')).nth(1);
  const targetId = +(await target.getAttribute('data-id'));
  await target.click();
  const inPanel = (id) => `${T('exif-panel')} ${T(id)}`;
  await rpage.waitForSelector(`${T('exif-panel')}:not(.hidden) ${T('region-draw')}`);
  await rpage.waitForFunction(() => document.querySelector('#details-img').complete && document.querySelector('#details-img').naturalWidth > 0);
  // The library is indexed with the defaults (no previews at indexing): the lightbox shows the
  // preview the server makes on first view, at 1280 px or the original's size.
  const lightbox = await rpage.evaluate(async (id) => {
    const p = await (await fetch(`/api/photos/${id}`)).json();
    const img = document.querySelector('#details-img');
    return { shown: Math.max(img.naturalWidth, img.naturalHeight), want: Math.min(1280, Math.max(p.width, p.height)) };
  }, targetId);
  check(lightbox.shown === lightbox.want, `lightbox: the preview made on first view is shown (${lightbox.shown} px, want ${lightbox.want})`);
  if (await rpage.locator(inPanel('explain-toggle')).count()) {
    const explainReq = rpage.waitForRequest((r) => r.url().includes('/api/explain?'));
    await rpage.click(inPanel('explain-toggle'));
    const u = new URL((await explainReq).url());
    check(+u.searchParams.get('photo') === targetId && +u.searchParams.get('query') === exampleId,
      `heatmap: asks /api/explain for photo ${targetId} against query ${exampleId}`);
    if (native.explain) {
      await rpage.waitForSelector(inPanel('heatmap'));
      await rpage.waitForSelector(`${T('query-preview')} ${T('heatmap')}`);
      check(true, 'heatmap: drawn over the result and over the query');
    } else {
      await rpage.waitForSelector(`${T('toast')}:not(.hidden)`);
      check(/cannot explain/.test(await rpage.textContent(T('toast'))), 'heatmap: a server without /api/explain gets a clear message');
    }
    if (!native.explain) {
      // Until the server has /api/explain: the UI's own renderer, fed a synthetic 8x8 map,
      // must lay the heatmap exactly over the picture part of the result and of the query
      // (the query preview letterboxes its picture).
      const fits = await rpage.evaluate(async () => {
        const { drawHeatmap } = await import('/explain.js');
        const values = Array.from({ length: 64 }, (_, i) => ((i % 8) + Math.floor(i / 8)) / 14);
        const out = [];
        for (const img of [document.querySelector('#details-img'), document.querySelector('#query-preview img')]) {
          const c = drawHeatmap(img, [8, 8], values).getBoundingClientRect();
          const b = img.getBoundingClientRect();
          const s = Math.min(b.width / img.naturalWidth, b.height / img.naturalHeight);
          const contain = getComputedStyle(img).objectFit === 'contain';
          const w = contain ? img.naturalWidth * s : b.width, h = contain ? img.naturalHeight * s : b.height;
          out.push(Math.abs(c.width - w) < 1.5 && Math.abs(c.height - h) < 1.5 &&
            Math.abs(c.x - (b.x + (b.width - w) / 2)) < 1.5 && Math.abs(c.y - (b.y + (b.height - h) / 2)) < 1.5);
        }
        return out;
      });
      check(fits.length === 2 && fits.every(Boolean), `heatmap renderer: the map covers exactly the result's and the query's picture (${fits})`);
    }
    await rpage.screenshot({ path: path.join(SHOTS, '18-heatmap.png') });
    await rpage.evaluate(() => { for (const c of document.querySelectorAll('canvas.heatmap')) c.remove(); });
  } else {
    check(!native.explain, 'heatmap: the toggle is offered when the server can explain');
  }
  await rpage.click(inPanel('region-draw'));
  const img = await rpage.locator('#details-img').boundingBox();
  const x0 = img.x + img.width * 0.25, y0 = img.y + img.height * 0.30, x1 = img.x + img.width * 0.70, y1 = img.y + img.height * 0.80;
  const searchReq = rpage.waitForRequest((r) => r.url().endsWith('/api/search') && r.method() === 'POST');
  await rpage.mouse.move(x0, y0);
  await rpage.mouse.down();
  await rpage.mouse.move(x1, y1, { steps: 6 });
  await rpage.screenshot({ path: path.join(SHOTS, '19-region-drawing.png') });
  await rpage.mouse.up();
  const body = JSON.parse((await searchReq).postData());
  const want = [0.25, 0.30, 0.45, 0.50];
  const near = Array.isArray(body.region) && body.region.every((v, i) => Math.abs(v - want[i]) < 0.02);
  check(near && body.ids && body.ids[0] === targetId, `region: a box drawn on photo ${targetId} searches ${JSON.stringify(body.region)} of it`);
  await rpage.waitForFunction(() => /^(Similar to a region|Search failed)/.test(document.querySelector('#results-title').textContent));
  await rpage.waitForFunction(() => { const i = document.querySelector('#query-preview img'); return i && i.complete; });
  check(await rpage.locator(`${T('query-preview')} ${T('region-box')}`).count() === 1, 'region: the query preview shows the box');
  if (native.region_search) check((await rpage.textContent('#results-title')).startsWith('Similar to a region'), 'region: the server answers the region query');
  await rpage.screenshot({ path: path.join(SHOTS, '20-region-query.png') });
  await rpage.close();
}

// ---- a 3x phone: the server's thumbnail sizes make tiles sharp ----
async function sharpThumbChecks(browser) {
  const health = await api('/api/health');
  const sizes = (health.features && health.features.thumb_sizes) || [];
  check(sizes.includes(512), `server lists thumbnail sizes (${sizes.join(', ')})`);
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, hasTouch: true, isMobile: true });
  const ph = await phone.newPage();
  ph.on('pageerror', (e) => jsErrors.push(String(e)));
  await ph.goto(BASE + '/');
  await ph.waitForSelector(`${T('result-tile')} img`);
  await ph.waitForFunction(() => [...document.querySelectorAll('.tile img')].slice(0, 6).every((i) => i.complete && i.naturalWidth > 0));
  // The loaded tiles (lazy ones below the fold have no currentSrc yet) whose originals are at
  // least 512 px wide: each picks a file >= 512 px wide.
  const tiles = await ph.evaluate(async () => Promise.all([...document.querySelectorAll('.tile img')].slice(0, 8).filter((img) => img.currentSrc).map(async (img) => {
    const real = new Image();  // the chosen file's own pixels (naturalWidth is density-scaled)
    real.src = img.currentSrc;
    await real.decode().catch(() => {});
    return { src: img.currentSrc.replace(location.origin, ''), px: real.naturalWidth, css: Math.round(img.getBoundingClientRect().width), id: img.closest('[data-id]').dataset.id };
  })));
  let judged = 0;
  for (const t of tiles) {
    const orig = (await api(`/api/photos/${t.id}`)).width;
    if (orig < 512) continue;
    judged++;
    check(t.px >= 512 && t.px <= orig, `3x phone: a ${t.css} CSS px tile of a ${orig} px wide photo shows ${t.px} px (${t.src})`);
  }
  check(judged >= 2, `3x phone: ${judged} tiles with originals >= 512 px wide judged`);
  check(tiles.some((t) => /thumb\?size=(512|1024)/.test(t.src)), '3x phone: the browser picks the server\'s larger thumbnails from srcset');
  await ph.screenshot({ path: path.join(SHOTS, '13c-phone-3x-sharp.png') });
  await phone.close();
}

async function main() {
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const foreign = [];
  watchPage(page, BASE, foreign, jsErrors);
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

    await keyboardChecks(context);
    await axeSelfCheck(context);
    await axeCheck(page, 'the library page');

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
    check(await page.locator('.tile-bar.col').count() === 0 && !/colour/.test(await page.getAttribute(T('result-score'), 'title')),
      'alpha 1: no colour score is shown (none was computed)');
    await shot('02-search-upload.png');
    await axeCheck(page, 'search results');

    // ---- alpha: preset and slider ----
    await page.click(T('preset-product'));
    await page.waitForFunction(() => document.querySelector('#results-sub').textContent.includes('α 0.30'));
    check((await page.textContent(T('alpha-value'))).trim() === '0.30', 'product preset sets alpha 0.30');
    check(await page.locator(`${T('preset-product')}.active`).count() === 1, 'preset button shows as active');
    await page.locator(T('alpha-slider')).fill('0.75');
    await page.waitForFunction(() => document.querySelector('#results-sub').textContent.includes('α 0.75'));
    check(true, 'slider re-runs the search with alpha 0.75');
    check(await page.locator('.tile-bar.col').count() > 0, 'alpha 0.75: the colour score is shown');

    // ---- a filter ----
    const folder = stats.facets.folders.find((f) => f.value.endsWith('/cameras'));
    const inFolder = new Set((await api('/api/photos?k=1000&folder=' + encodeURIComponent(folder.value))).photos.map((p) => p.id));
    await page.selectOption(T('filter-folder'), folder.value);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="result-tile"]').length === n, inFolder.size);
    const ids = await page.locator(T('result-tile')).evaluateAll((els) => els.map((e) => +e.dataset.id));
    check(ids.length === inFolder.size && ids.every((i) => inFolder.has(i)), `folder filter: ${ids.length} results, all in ${folder.value}`);
    await shot('03-filtered.png');
    const small = stats.facets.folders.find((f) => f.value.endsWith('/small'));
    if (small) {
      await page.selectOption(T('filter-folder'), small.value);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="result-tile"]').length === 1);
      await page.waitForFunction(() => { const i = document.querySelector('.tile img'); return i.complete && i.naturalWidth > 0; });
      const size = await page.evaluate(() => { const r = document.querySelector('.tile img').getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; });
      check(size[0] === 174 && size[1] === 38, `a 174x38 original is shown at its own size, not blown up (${size.join('x')})`);
      await shot('03b-small-original.png');
    }
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
    check(!/exif:DateTime/.test(await page.textContent(T('exif-panel'))), 'EXIF panel names the date source in words');
    await shot('04-exif-panel.png');
    await axeCheck(page, 'the EXIF panel');
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

    // ---- a failed upload leaves no stale results behind ----
    await page.setInputFiles(T('upload-input'), { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is not a JPEG') });
    await page.waitForFunction(() => document.querySelector('#results-title').textContent === 'Search failed');
    check(await page.locator(T('result-tile')).count() === 0 && await page.isHidden(T('load-more')) && await page.isVisible(T('message')),
      'failed upload: title says so, no tiles, no "Show more", the error is shown');
    await page.waitForSelector(`${T('query-preview')} figure.broken`);
    const cap = await page.evaluate(() => {
      const f = document.querySelector('#query-preview figure');
      return f.getBoundingClientRect().height >= 2 * f.querySelector('figcaption').getBoundingClientRect().height;
    });
    check(cap, 'failed upload: the broken preview keeps a box of its own above the caption');
    await shot('07b-failed-upload.png');
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
    const kinds = await page.locator(T('dupe-kind')).allTextContents();
    check(kinds.every((k) => ['identical bytes', 'identical pixels', 'near'].includes(k)), `duplicate kinds shown: ${[...new Set(kinds)].join(', ')}`);
    check(await page.locator(T('dupe-evidence')).count() === await page.locator('.dupe-member').count() - groups,
      'every non-keeper shows its evidence');
    check((await page.locator(T('dupe-path')).count()) === await page.locator('.dupe-member').count(), 'every member shows its path');
    await page.waitForFunction(() => [...document.querySelectorAll('.dupe-member img')].every((i) => i.complete && i.naturalWidth > 0));
    await shot('08-duplicates.png');
    await axeCheck(page, 'the duplicates page');

    // ---- stacks ----
    await page.click(T('tab-stacks'));
    await page.waitForSelector(`${T('stack-group')}, ${T('no-stacks')}`);
    const stackCount = await page.locator(T('stack-group')).count();
    check(stackCount >= 1 && (await page.locator(T('pick-badge')).count()) === stackCount, `stacks page: ${stackCount} stack(s), one pick each`);
    check((await page.locator(T('stack-kind')).allTextContents()).includes('RAW+JPEG') &&
      (await page.locator(T('pick-reason')).first().textContent()).startsWith('Pick: '), 'the RAW+JPEG pair is a stack, with the reason for its pick');
    await page.waitForFunction(() => [...document.querySelectorAll('#stack-groups img')].every((i) => i.complete));
    await shot('08b-stacks.png');
    check(await page.$eval('#stack-groups', (e) => e.classList.contains('fit')), 'stacks fit pictures whole by default');
    await axeCheck(page, 'the stacks page');

    // ---- clusters ----
    await page.click(T('tab-clusters'));
    await page.fill(T('clusters-k'), '4');
    await page.click(T('clusters-recompute'));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cluster-card"]').length === 4);
    const labels = await page.locator(T('cluster-label')).allTextContents();
    check(labels.length === 4 && labels.every((l) => l.trim().length > 0), `clusters page shows 4 labelled clusters (${labels.join(' | ')})`);
    await page.waitForFunction(() => [...document.querySelectorAll('.cluster img')].every((i) => i.complete && i.naturalWidth > 0));
    check(+(await page.inputValue(T('clusters-k'))) === 4, 'the Groups box shows the number of groups shown');
    await shot('09-clusters.png');
    await axeCheck(page, 'the clusters page');
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

    await phoneChecks(browser);
    await sharpThumbChecks(browser);

    await regionChecks(context);

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
    checks.failures++;
    console.log(`  FAIL ${e.stack || e}`);
    await shot('failure.png').catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(`${checks.count - checks.failures}/${checks.count} checks passed; screenshots in ${SHOTS}`);
  process.exit(checks.failures ? 1 : 0);
}

main();
