// Issue 14's cross-site attacks on `viewfinder serve`, run in real Chromium as they were
// run: a page on another origin (a second loopback port, served here) posts forms and
// text/plain fetches at the server, and a DNS-rebinding name (mapped to 127.0.0.1 with
// --host-resolver-rules) reads the API as if it were its own origin. The server must refuse
// each; its state (index job, clusters) and its request log say what it did.
//
// env: BASE_URL (a running `viewfinder serve` on 127.0.0.1), SERVE_LOG (its log file),
//      NODE_PATH pointing at tools/node/node_modules.
'use strict';
const fs = require('fs');
const http = require('http');
const { checks, check, launchChromium } = require('./harness');

const BASE = process.env.BASE_URL;
const PORT = new URL(BASE).port;

// The attacker's page: a text/plain form to /api/index, a urlencoded form to /api/clusters,
// a multipart form to /api/search, and a no-cors text/plain fetch to /api/clusters.
function attackPage(target) {
  const form = (name, action, enctype, field, value) => `
    <iframe name="${name}-sink"></iframe>
    <form id="${name}" method="POST" action="${target}${action}" enctype="${enctype}" target="${name}-sink">
      <input name='${field}' value='${value}'></form>`;
  return `<!doctype html><html><head><title>attacker</title></head><body>
    ${form('index', '/api/index', 'text/plain', '{"x":"', '"}')}
    ${form('clusters', '/api/clusters', 'application/x-www-form-urlencoded', 'k', '2')}
    ${form('search', '/api/search', 'multipart/form-data', 'k', '3')}
    <script>
      for (const id of ['index', 'clusters', 'search']) document.getElementById(id).submit();
      fetch('${target}/api/clusters', { method: 'POST', mode: 'no-cors',
        headers: { 'Content-Type': 'text/plain' }, body: '{"k": 2}' })
        .catch(() => {}).finally(() => setTimeout(() => { document.title = 'done'; }, 1500));
    </script></body></html>`;
}

async function serverJson(p) {
  const r = await fetch(BASE + p);
  return r.json();
}

async function main() {
  const evil = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(attackPage(BASE));
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
  const evilUrl = `http://127.0.0.1:${evil.address().port}/`;
  const browser = await launchChromium(['--host-resolver-rules=MAP rebind.test 127.0.0.1']);
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(evilUrl);
    await page.waitForFunction(() => document.title === 'done', null, { timeout: 30000 });
    const status = await serverJson('/api/index/status');
    check(!status.started_at && !status.running, `the cross-site form did not start a re-index (${status.started_at || 'never started'})`);
    const clusters = await serverJson('/api/clusters');
    check(clusters.computed === false, 'the cross-site form and text/plain fetch did not replace the clusters');
    const log = fs.readFileSync(process.env.SERVE_LOG, 'utf8');
    const lines = (re) => log.split('\n').filter((l) => re.test(l));
    const posts = lines(/ POST \/api\/(index|clusters|search) /);
    console.log(`    server log of the attack:\n      ${posts.join('\n      ')}`);
    check(posts.length >= 4 && posts.every((l) => / (403|415) /.test(l)),
      `every cross-site POST was refused with 403/415 (${posts.length} seen)`);

    // DNS rebinding: the attacker's name now points at 127.0.0.1, so the browser treats the
    // server's answers as same-origin to the attacker's page.
    for (const p of ['/api/photos', '/api/photos/1/original', '/']) {
      const r = await page.goto(`http://rebind.test:${PORT}${p}`);
      check(r.status() === 421, `rebinding: GET http://rebind.test:${PORT}${p} -> 421 (${r.status()})`);
    }
    // The real origin still works in the same browser.
    const ok = await page.goto(`${BASE}/api/photos?k=1`);
    check(ok.status() === 200, `the server's own origin is served (${ok.status()})`);
  } finally {
    await browser.close();
    evil.close();
  }
  console.log(`${checks.count - checks.failures}/${checks.count} checks passed`);
  process.exit(checks.failures ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
