// What the browser tests share: a check counter that reports every failure, not just the
// first; Debian's Chromium launched headless without background traffic; and a page watcher
// that records requests beyond the server and JavaScript errors (the tests assert both empty).
'use strict';
const { chromium } = require('playwright-core');

const checks = { count: 0, failures: 0 };
function check(cond, what) {
  checks.count++;
  console.log(`  ${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) checks.failures++;
}

const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

// Pushes onto `foreign` every request that leaves `base` (data: and blob: URLs stay local), and
// onto `jsErrors` page errors and console errors other than a failed request's 4xx/5xx status
// (the tests provoke those on purpose).
function watchPage(page, base, foreign, jsErrors) {
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  page.on('pageerror', (e) => jsErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of (4|5)\d\d/.test(m.text())) jsErrors.push(m.text()); });
}

module.exports = { checks, check, launchChromium, watchPage };
