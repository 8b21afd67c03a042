// Near-duplicates, text in photos and places on the page (headless Chromium, playwright-core), over the library
// tests/e2e/test_web_features.sh makes: a "+2" stack badge that opens the group's members as results (each opens in
// the viewer), a text hit's snippet under its thumbnail and its matched words' boxes over the photo in the viewer,
// the places facet filtering and surviving a reload through the address, and the viewer's place line.
// usage: node test_features.mjs BASE_URL OUT_DIR GROUP     prints "ok ..." / "FAIL ..." lines, exits 1 on a failure
import { mkdirSync } from 'node:fs';
import { checker, launch } from './harness.mjs';

const [base, out, group] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const check = checker('browser features');
const browser = await launch(check);
const count = (page) => page.locator('#grid .result').count();
const waitCount = (page, n) => page.waitForFunction((want) => document.querySelectorAll('#grid .result').length === want, n, { timeout: 10000 });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [], outside = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) outside.push(r.url()); });

  // near-duplicates: one result with a "+2" badge stands for the three copies
  await page.goto(base);
  await page.fill('#q', 'a photo');
  await waitCount(page, 7);
  const badges = await page.$$eval('#grid .result .stack', (bs) => bs.map((b) => b.textContent).sort());
  check('collapsed results: 7 results, stack badges "+1" (the words photo) and "+2" (the coffee)', badges.join(' ') === '+1 +2', badges.join(' '));
  const badgeWidth = await page.$eval('#grid .result .stack', (b) => b.getBoundingClientRect().width);
  check('... a small badge on the thumbnail, not a bar across it', badgeWidth > 10 && badgeWidth < 60, `${badgeWidth} px`);
  await page.screenshot({ path: `${out}/1-collapsed.png` });
  await page.locator('#grid .result .stack', { hasText: '+2' }).click();
  await waitCount(page, 3);
  const paths = await page.$$eval('#grid .result button', (bs) => bs.map((b) => b.title.split('/').pop()).sort());
  check('the badge opens the group: its three members as results', paths.join(' ') === 'coffee.jpg coffee_half.jpg coffee_q20.jpg', paths.join(' '));
  check('... the group is in the address', new URL(page.url()).searchParams.get('group') === group, page.url());
  check('... with a way back', await page.isVisible('#group-close'));
  const sizes = await page.$$eval('#grid .result .score', (ss) => ss.map((x) => x.textContent));
  check('... each with its size instead of a score', sizes.includes('600×400') && sizes.includes('300×200'), sizes.join(' '));
  await page.locator('#grid .result button').nth(1).click();
  await page.waitForSelector('#viewer:not([hidden])');
  await page.waitForFunction(() => { const i = document.getElementById('viewer-img'); return i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });
  check('a member opens in the viewer', /coffee/.test(await page.textContent('#viewer-path')));
  await page.screenshot({ path: `${out}/2-group-member.png` });
  await page.keyboard.press('Escape');
  await page.click('#group-close');
  await waitCount(page, 7);
  check('back to the collapsed results', !new URL(page.url()).searchParams.has('group'));

  // text in photos: the text field, the snippet, the boxes
  await page.fill('#q', '');
  await page.fill('#text', 'wifi password');
  await waitCount(page, 1);
  const snip = await page.textContent('#grid .result .snippet');
  check('a text hit shows its snippet', /wifi password/i.test(snip || ''), snip);
  check('... with the matched words marked', /wifi password/i.test((await page.textContent('#grid .result .snippet mark')) || ''));
  await page.screenshot({ path: `${out}/3-text-hit.png` });
  await page.click('#grid .result button');
  await page.waitForSelector('#viewer:not([hidden])');
  await page.waitForFunction(() => document.querySelectorAll('#viewer-boxes .word-box').length > 0, null, { timeout: 10000 });
  const boxes = await page.$$eval('#viewer-boxes .word-box', (bs) => bs.map((b) => { const r = b.getBoundingClientRect(); return { t: b.title, x: r.x, y: r.y, w: r.width, h: r.height }; }));
  const img = await page.$eval('#viewer-img', (i) => { const r = i.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
  check('the viewer draws the matched words\' boxes: WIFI and PASSWORD', boxes.map((b) => b.t).sort().join(' ') === 'PASSWORD WIFI', boxes.map((b) => b.t).join(' '));
  // the words were drawn at x = 80 px of 900, baseline 200 px of 600, 64-point type: scaled to the displayed photo
  const s = img.w / 900, wifi = boxes.find((b) => b.t === 'WIFI') || { x: 0, y: 0, w: 0, h: 0 };
  const near = (a, b, tol) => Math.abs(a - b) <= tol;
  check('... where the words are on the displayed photo', near(wifi.x - img.x, 80 * s, 25 * s) && near(wifi.y - img.y, 152 * s, 30 * s) &&
    wifi.w > 100 * s && near(wifi.h, 48 * s, 25 * s), JSON.stringify({ wifi, img, s }));
  check('... and the viewer shows the text', /wifi password/i.test(await page.textContent('#viewer-text')));
  await page.screenshot({ path: `${out}/4-text-boxes.png` });
  await page.keyboard.press('Escape');
  await page.fill('#text', '');
  await page.fill('#q', 'text:"Costco"');
  const costco = await page.waitForFunction(() => [...document.querySelectorAll('#grid .result .snippet')].some((p) => /costco/i.test(p.textContent)), null, { timeout: 10000 })
    .then(() => true, () => false);
  check('text:"..." in the query box works too', costco && (await count(page)) === 1, await page.textContent('#grid'));

  // places: the facet filters, lives in the address, survives a reload; the viewer says where
  await page.fill('#q', 'a photo');
  await waitCount(page, 7);
  const jp = page.locator('#chips-countries .chip[data-value="JP"]');
  check('the places facet lists the countries', (await page.locator('#chips-countries .chip').count()) === 2 && /Japan/.test(await jp.textContent()),
    await page.textContent('#chips-countries'));
  await jp.click();
  await waitCount(page, 1);
  check('a country chip filters to its photos', (await page.getAttribute('#grid .result button', 'title')).endsWith('kyoto.jpg'));
  check('... and shows that country\'s places', (await page.locator('#chips-places .chip').count()) === 1);
  check('... and is in the address', new URL(page.url()).searchParams.get('country') === 'JP', page.url());
  await page.click('#chips-places .chip');
  await page.waitForFunction(() => new URL(location.href).searchParams.has('place'), null, { timeout: 10000 });
  await waitCount(page, 1);
  const placeParam = new URL(page.url()).searchParams.get('place');
  check('a place chip filters and goes in the address', /^JP\|.*\|.+/.test(placeParam || ''), page.url());
  await page.reload();
  await waitCount(page, 1);
  check('after a reload the place chip is still pressed', (await page.getAttribute('#chips-places .chip', 'aria-pressed')) === 'true');
  check('... and the country chip', (await page.getAttribute('#chips-countries .chip[data-value="JP"]', 'aria-pressed')) === 'true');
  await page.click('#grid .result button');
  await page.waitForSelector('#viewer:not([hidden])');
  const where = await page.textContent('#viewer-place');
  check('the viewer shows the place and the position', /Japan/.test(where) && /35\.01\d*, 135\.76\d*/.test(where), where);
  await page.screenshot({ path: `${out}/5-place.png` });
  await page.keyboard.press('Escape');
  await page.click('#chips-countries .chip[data-value="JP"]'); // off: every photo again
  await waitCount(page, 7);
  check('turning the country off shows every photo again', !new URL(page.url()).searchParams.has('country') && !new URL(page.url()).searchParams.has('place'), page.url());
  check('no request leaves the server (no map tiles)', outside.length === 0, outside.join(' '));
  check('no script errors', errors.length === 0, errors.join('; '));
} catch (e) {
  check('the browser features test ran to the end', false, e.message);
} finally {
  await browser.close();
}
process.exit(check.failed() ? 1 : 0);
