// The web UI on a reader library (its catalog mirrors a Milvus collection; thumbnails and
// previews are made on demand from the shared path) in real Chromium: the library grid
// loads, an uploaded query finds itself first, a folder filter narrows the results, a
// result opens with its preview and metadata, nothing is fetched from elsewhere, no
// JavaScript errors. Run by tests/milvus/milvus_reader.py (which starts Milvus, the workers
// and `serve --reader`).
//
// env: BASE_URL, QUERY_IMAGE (a photo of the collection), FOLDER (a folder with photos),
//      SCREENSHOT_DIR, NODE_PATH pointing at tools/node/node_modules.
'use strict';
const path = require('path');
const fs = require('fs');
const { checks, check, launchChromium, watchPage } = require('./harness');

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SCREENSHOT_DIR || '/tmp/vf-screenshots';
fs.mkdirSync(SHOTS, { recursive: true });
const T = (id) => `[data-testid="${id}"]`;
const api = async (p) => (await fetch(BASE + p)).json();
const tilesLoaded = (n) => [...document.querySelectorAll('.tile img')].slice(0, n).every((i) => i.complete && i.naturalWidth > 0);

async function main() {
  const browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  const foreign = [];
  const jsErrors = [];
  watchPage(page, BASE, foreign, jsErrors);
  try {
    const stats = await api('/api/stats');
    check(stats.library.reader === true, `the server's library is a reader of ${stats.library.index_type}`);
    await page.goto(BASE + '/');
    await page.waitForSelector(`${T('result-tile')} img`);
    await page.waitForFunction(tilesLoaded, 6);
    check(true, 'library grid: thumbnails made from the shared originals load');
    await page.waitForFunction(() => document.querySelector('#status-text').textContent.includes('photos'));
    check((await page.textContent(T('status-text'))).includes(`${stats.library.photos} photos`),
      `status bar shows the collection's ${stats.library.photos} photos`);
    await page.screenshot({ path: path.join(SHOTS, 'reader-01-library.png') });

    // Upload a query: Milvus answers, the query photo itself ranks first.
    const all = await api('/api/photos?k=1000');
    const queryId = all.photos.find((p) => p.name === path.basename(process.env.QUERY_IMAGE)).id;
    await page.setInputFiles(T('upload-input'), process.env.QUERY_IMAGE);
    await page.waitForFunction(() => document.querySelector('#results-title').textContent.startsWith('Similar to'));
    await page.waitForSelector(T('result-score'));
    const firstId = +(await page.locator(T('result-tile')).first().getAttribute('data-id'));
    check(firstId === queryId, `upload: the query photo ranks first (#${firstId})`);
    await page.waitForFunction(tilesLoaded, 4);
    await page.screenshot({ path: path.join(SHOTS, 'reader-02-search.png') });

    // A folder filter (a Milvus expression on the collection's folder field).
    const folder = process.env.FOLDER;
    const inFolder = new Set((await api('/api/photos?k=1000&folder=' + encodeURIComponent(folder))).photos.map((p) => p.id));
    await page.selectOption(T('filter-folder'), folder);
    // (copies collapse into one tile: fewer tiles than matches)
    await page.waitForFunction((n) => document.querySelector('#results-sub').textContent.includes(`${n} match filters`), inFolder.size);
    const ids = await page.locator(T('result-tile')).evaluateAll((els) => els.map((e) => +e.dataset.id));
    check(ids.length > 0 && ids.every((i) => inFolder.has(i)), `folder filter: ${ids.length} results, all in ${folder}`);

    // Open a result: preview and metadata from the collection's fields.
    await page.locator(T('result-tile')).nth(1).click();
    await page.waitForSelector(`${T('exif-panel')}:not(.hidden) ${T('exif-list')}`);
    await page.waitForFunction(() => { const i = document.querySelector('#details-img'); return i && i.complete && i.naturalWidth > 0; });
    const panel = await page.textContent(T('exif-panel'));
    check(panel.includes('Dimensions') && panel.includes('Catalog id'), 'a result opens with its preview and metadata');
    await page.screenshot({ path: path.join(SHOTS, 'reader-03-photo.png') });

    check(foreign.length === 0, `no requests beyond the server (${foreign.slice(0, 3).join(', ')})`);
    check(jsErrors.length === 0, `no JavaScript errors (${jsErrors.slice(0, 3).join(' | ')})`);
  } catch (e) {
    checks.failures++;
    console.log(`  FAIL ${e.stack || e}`);
    await page.screenshot({ path: path.join(SHOTS, 'reader-failure.png') }).catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(`${checks.count - checks.failures}/${checks.count} browser checks passed; screenshots in ${SHOTS}`);
  process.exit(checks.failures ? 1 : 0);
}

main();
