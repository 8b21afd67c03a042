// The web page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): type a query, see
// thumbnails, apply a year filter, open a result, ask for more like it. Screenshots go to tests/out/.
// usage: node test_web.mjs BASE_URL OUT_DIR      prints "ok ..." / "FAIL ..." lines, exits 1 on a failure
// $PSK_CHROMIUM names another Chromium executable. A browser that cannot start is a failure ("FAIL browser: ...").
import { mkdirSync } from 'node:fs';
import { checker, launch } from './harness.mjs';

const [base, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const check = checker('browser');
const browser = await launch(check);
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  check('the page loads with an empty state', await page.isVisible('#empty'));
  await page.screenshot({ path: `${out}/1-empty.png` });

  await page.fill('#q', 'a photo of a cat');
  await page.waitForSelector('#grid .result img', { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#grid img')].slice(0, 4).every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
  const n = await page.locator('#grid .result').count();
  check('typing a query shows thumbnails', n >= 10, `${n} results`);
  check('the summary counts the results', /results? in/.test(await page.textContent('#summary')));
  await page.screenshot({ path: `${out}/2-results.png` });

  await page.click('#chips-years .chip[data-value="2019"]');
  await page.waitForFunction(() => document.querySelectorAll('#grid .result').length === 1, null, { timeout: 10000 });
  check('the year filter narrows to the 2019 photo', (await page.locator('#grid .result').count()) === 1);
  check('the year chip shows as pressed', (await page.getAttribute('#chips-years .chip[data-value="2019"]', 'aria-pressed')) === 'true');
  await page.screenshot({ path: `${out}/3-year-filter.png` });

  await page.click('#grid .result button');
  await page.waitForSelector('#viewer:not([hidden])');
  await page.waitForFunction(() => { const i = document.getElementById('viewer-img'); return i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });
  check('opening a result shows the original', (await page.textContent('#viewer-path')).includes('exif_orient6_640x480.jpg'));
  check('the viewer shows date and camera', (await page.textContent('#viewer-meta')).includes('TestMake TestModel X1'));
  await page.screenshot({ path: `${out}/4-viewer.png` });

  await page.keyboard.press('Escape');
  check('Escape closes the viewer', await page.isHidden('#viewer'));
  await page.click('#chips-years .chip[data-value="2019"]'); // filter off
  await page.waitForFunction(() => document.querySelectorAll('#grid .result').length > 1, null, { timeout: 10000 });
  await page.click('#grid .result button');
  await page.click('#more-like-this');
  await page.waitForFunction(() => /like the chosen photo/.test(document.getElementById('summary').textContent), null, { timeout: 10000 });
  check('"more like this" searches by the photo', (await page.locator('#grid .result').count()) > 1);
  await page.screenshot({ path: `${out}/5-more-like-this.png` });

  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await phone.goto(base);
  await phone.fill('#q', 'donut birthday cake');
  await phone.waitForSelector('#grid .result img', { timeout: 10000 });
  const cols = await phone.evaluate(() => getComputedStyle(document.getElementById('grid')).gridTemplateColumns.split(' ').length);
  check('on a phone the grid fits the screen', cols >= 2 && cols <= 3, `${cols} columns`);
  await phone.screenshot({ path: `${out}/6-phone.png` });
  check('no script errors', errors.length === 0, errors.join('; '));
} catch (e) {
  check('the browser test ran to the end', false, e.message);
} finally {
  await browser.close();
}
process.exit(check.failed() ? 1 : 0);
