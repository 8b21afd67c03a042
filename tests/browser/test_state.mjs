// The page keeps its state in its address (headless Chromium, playwright-core): /?q=..&year=.. opens that search,
// searching, filtering and opening a photo update the address, a reload restores it, a failed query leaves no old
// summary beside its error, and there is a favicon.
// usage: node test_state.mjs BASE_URL OUT_DIR     prints "ok ..." / "FAIL ..." lines, exits 1 on a failure
import { mkdirSync } from 'node:fs';
import { checker, launch } from './harness.mjs';

const [base, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const check = checker('browser state');
const browser = await launch(check);
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [], missing = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => { if (r.status() === 404) missing.push(r.url()); });
  await page.goto(`${base}/?q=a+photo+of+a+cat&year=2019`);
  await page.waitForFunction(() => document.querySelectorAll('#grid .result').length === 1, null, { timeout: 10000 });
  check('/?q=..&year=2019 opens that search', (await page.inputValue('#q')) === 'a photo of a cat');
  check('... with the year chip pressed', (await page.getAttribute('#chips-years .chip[data-value="2019"]', 'aria-pressed')) === 'true');
  await page.click('#grid .result button');
  await page.waitForSelector('#viewer:not([hidden])');
  const opened = new URL(page.url());
  check('opening a photo puts it in the address', /^[0-9]+$/.test(opened.searchParams.get('open') || ''), page.url());
  await page.reload();
  await page.waitForSelector('#viewer:not([hidden])', { timeout: 10000 });
  check('a reload reopens the photo', (await page.textContent('#viewer-path')).includes('exif_orient6_640x480.jpg'));
  await page.keyboard.press('Escape');
  // the address changes in the page's handler, after the key: wait for it (a loaded machine lost this race once)
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('open'), null, { timeout: 5000 }).catch(() => {});
  check('closing it takes it out of the address', !new URL(page.url()).searchParams.has('open'), page.url());
  await page.click('#chips-years .chip[data-value="2019"]');
  await page.waitForFunction(() => document.querySelectorAll('#grid .result').length > 1, null, { timeout: 10000 });
  check('a filter turned off leaves the address', !new URL(page.url()).searchParams.has('year'), page.url());
  await page.fill('#q', 'donut birthday cake');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'donut birthday cake', null, { timeout: 10000 });
  check('typing a query updates the address', true);
  await page.fill('#q', '"unclosed');
  await page.waitForSelector('#error:not([hidden])', { timeout: 10000 });
  check('a failed query shows its error', /Search failed/.test(await page.textContent('#error')));
  check('... and no old summary beside it', (await page.textContent('#summary')).trim() === '', await page.textContent('#summary'));
  await page.screenshot({ path: `${out}/1-state.png` });
  check('no 404 (the favicon is there)', missing.length === 0, missing.join(' '));
  check('no script errors', errors.length === 0, errors.join('; '));
} catch (e) {
  check('the browser state test ran to the end', false, e.message);
} finally {
  await browser.close();
}
process.exit(check.failed() ? 1 : 0);
