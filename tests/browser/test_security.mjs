// photoseek serve against another site's page, in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). A second local server plays the attacker: its page, under the name attacker.test, tries to read
// and change the library (1) across origins, from http://attacker.test:ATTACKER_PORT/, and (2) after DNS rebinding,
// as a page of http://attacker.test:PHOTOSEEK_PORT/ (Chromium resolves attacker.test to 127.0.0.1; the first load of
// that page is taken from the attacker's server, as a rebinding attacker's DNS would, and every later request goes
// to photoseek). Then photoseek's own page must still search, show photos, play a video and re-index.
// usage: node test_security.mjs BASE_URL PHOTO_ID VIDEO_ID OUT_DIR   prints "ok ..." / "FAIL ..." lines
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { checker, launch } from './harness.mjs';

const [base, photoId, videoId, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const port = new URL(base).port;
const check = checker('browser security');

// The attacker's page: every way a page can reach a local server, results left in window.results.
const attackerPage = (target) => `<!doctype html><html><body><h1>cute cats</h1>
<form id="f" method="POST" action="${target}/api/index" enctype="text/plain" target="sink"><input name="x" value="1"></form>
<iframe name="sink"></iframe>
<script>
window.results = {};
const record = (k, v) => { window.results[k] = v; };
(async () => {
  const tries = {
    status: () => fetch('${target}/api/status'),
    search: () => fetch('${target}/api/search?q=cat'),
    file: () => fetch('${target}/api/media/${photoId}/file'),
    postJson: () => fetch('${target}/api/index', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }),
    postText: () => fetch('${target}/api/index', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: 'x' }),
  };
  for (const [k, f] of Object.entries(tries)) {
    try {
      const r = await f();
      let body = '';
      try { body = await r.text(); } catch (e) { body = ''; }
      record(k, { status: r.status, type: r.type, body: body.slice(0, 300) });
    } catch (e) { record(k, { error: String(e) }); }
  }
  await new Promise((done) => {
    const img = new Image();
    img.onload = () => { record('img', { loaded: true, width: img.naturalWidth }); done(); };
    img.onerror = () => { record('img', { loaded: false }); done(); };
    img.src = '${target}/api/media/${photoId}/file';
  });
  document.getElementById('f').submit();
  await new Promise((r) => setTimeout(r, 500));
  record('done', true);
})();
</script></body></html>`;

const attacker = createServer((req, res) => {
  const host = req.headers.host || '';
  // Across origins the page targets photoseek's address; rebound, it uses its own origin (relative URLs).
  const target = req.url.startsWith('/rebound') ? '' : base;
  res.writeHead(200, { 'Content-Type': 'text/html' });
  res.end(attackerPage(target));
  void host;
});
await new Promise((r) => attacker.listen(0, '127.0.0.1', r));
const attackerPort = attacker.address().port;

// Chromium's own Local Network Access checks would stop some of these requests before photoseek sees them; other
// browsers have none, so the test turns them off to test photoseek's defence alone.
const browser = await launch(check, [
  '--host-resolver-rules=MAP attacker.test 127.0.0.1',
  '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,' +
    'PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults',
]);
const status = async () => (await fetch(`${base}/api/status`)).json();
const leaked = (r) => r && typeof r.body === 'string' && /"photos"|"results"|JFIF|Exif/.test(r.body);
try {
  const before = await status();

  // (1) across origins
  const evil = await browser.newPage();
  await evil.goto(`http://attacker.test:${attackerPort}/`);
  await evil.waitForFunction(() => window.results && window.results.done, null, { timeout: 15000 });
  const x = await evil.evaluate(() => window.results);
  check('a cross-origin page cannot read the status', !leaked(x.status) && (x.status.error || x.status.status === 403), JSON.stringify(x.status));
  check('a cross-origin page cannot read search results', !leaked(x.search), JSON.stringify(x.search));
  check('a cross-origin page cannot read a photo', !leaked(x.file), JSON.stringify(x.file));
  check('a cross-origin page cannot even show a photo in an <img>', x.img && !x.img.loaded, JSON.stringify(x.img));
  await evil.screenshot({ path: `${out}/1-cross-origin-attacker.png` });

  // (2) after DNS rebinding: the attacker's document, then photoseek answers for attacker.test:PORT
  const rebound = await browser.newPage();
  await rebound.route(`http://attacker.test:${port}/`, async (route) => {
    const r = await fetch(`http://127.0.0.1:${attackerPort}/rebound`);
    await route.fulfill({ status: 200, contentType: 'text/html', body: await r.text() });
  });
  await rebound.goto(`http://attacker.test:${port}/`);
  await rebound.waitForFunction(() => window.results && window.results.done, null, { timeout: 15000 });
  const y = await rebound.evaluate(() => window.results);
  check('after rebinding, the status is refused (403)', y.status.status === 403 && !leaked(y.status), JSON.stringify(y.status));
  check('after rebinding, search results are refused (403)', y.search.status === 403 && !leaked(y.search), JSON.stringify(y.search));
  check('after rebinding, a photo is refused (403)', y.file.status === 403 && !leaked(y.file), JSON.stringify(y.file));
  check('after rebinding, an <img> of a photo does not load', y.img && !y.img.loaded, JSON.stringify(y.img));
  check('after rebinding, a JSON POST is refused (403)', y.postJson.status === 403, JSON.stringify(y.postJson));
  await rebound.screenshot({ path: `${out}/2-rebinding-attacker.png` });

  await new Promise((r) => setTimeout(r, 1000));
  const after = await status();
  check('no attack started an index run', after.indexing.result === before.indexing.result && !after.indexing.running &&
        after.last_run_at === before.last_run_at, JSON.stringify(after.indexing));

  // photoseek's own page
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await page.fill('#q', 'a photo of a cat');
  await page.waitForSelector('#grid .result img', { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#grid img')].slice(0, 3).every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
  check('our page searches and shows thumbnails', (await page.locator('#grid .result').count()) > 0);
  await page.click('#grid .result button');
  await page.waitForSelector('#viewer:not([hidden])');
  const opened = await page.waitForFunction(() => {
    const i = document.getElementById('viewer-img'), v = document.getElementById('viewer-video');
    return (!i.hidden && i.complete && i.naturalWidth > 0) || (!v.hidden && v.readyState >= 2);
  }, null, { timeout: 10000 }).then(() => true, () => false);
  check('our page opens a photo', opened);
  await page.keyboard.press('Escape');
  const played = await page.evaluate((id) => new Promise((resolve) => {
    const v = document.createElement('video');
    v.muted = true;
    v.onloadeddata = () => v.play().then(() => resolve(v.videoWidth), () => resolve(v.videoWidth));
    v.onerror = () => resolve(0);
    v.src = `/api/media/${id}/file`;
    document.body.append(v);
    setTimeout(() => resolve(-1), 8000);
  }), videoId);
  check('our page plays a video (Range requests from a <video>)', played === 160, `videoWidth ${played}`);
  await page.click('#reindex');
  const reindexed = await page.waitForFunction(() => /Index run:/.test(document.getElementById('library-status').textContent), null, { timeout: 20000 }).then(() => true, () => false);
  check('our page re-indexes (POST with its request token)', reindexed, await page.textContent('#library-status'));
  const plain = await page.evaluate(async () => (await fetch('/api/index', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' })).status);
  check('even our own origin cannot POST text/plain', plain === 415, `HTTP ${plain}`);
  await page.screenshot({ path: `${out}/3-own-page.png` });
  check('no script errors on our page', errors.length === 0, errors.join('; '));
} catch (e) {
  check('the browser security test ran to the end', false, e.message);
} finally {
  await browser.close();
  attacker.close();
}
process.exit(check.failed() ? 1 : 0);
