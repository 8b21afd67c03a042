// The people strip and the faces' boxes on the page (headless Chromium, playwright-core), over the library
// tests/e2e/test_web_people.sh makes (face-api's demo photos, one person named beforehand): the strip shows the
// people with their face thumbnails, named first; clicking one filters the results to exactly that person's photos
// (as `photoseek people --photos ID --json` lists them), with or without words, through a reload; renaming in place
// updates the strip and `photoseek people --json`, and a name clash says so; the viewer draws one box per face at
// the API's boxes scaled to the displayed photo, labelled with the names, and clicking a box shows that person.
// BASE_NO_PEOPLE serves a library without people: the page shows no strip there.
// usage: node test_people.mjs BASE_URL OUT_DIR PHOTOSEEK DB BASE_NO_PEOPLE
//        prints "ok ..." / "FAIL ..." lines, exits 1 on a failure
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { checker, launch } from './harness.mjs';

const [base, out, ps, db, baseNoPeople] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const check = checker('browser people');
const cli = (...args) => execFileSync(ps, [...args, '--db', db, '--json'], { encoding: 'utf8' })
  .split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const photosOf = (id) => cli('people', '--photos', String(id)).map((p) => p.path).sort();
const browser = await launch(check);
const resultPaths = (page) => page.$$eval('#grid .result button:not(.stack)', (bs) => bs.map((b) => b.title).sort());
// the results once the grid shows the person's photos (or fails to within 10 s)
async function waitResults(page, want) {
  try {
    await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('#grid .result button:not(.stack)')].map((b) => b.title).sort()) === w,
      JSON.stringify(want), { timeout: 10000 });
  } catch (e) { /* compared below */ }
  return resultPaths(page);
}
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [], outside = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const ours = [base, baseNoPeople, 'data:'];
  page.on('request', (r) => { if (!ours.some((o) => r.url().startsWith(o))) outside.push(r.url()); });
  const people = cli('people');
  const named = people.filter((p) => p.name);
  const unnamed = people.filter((p) => !p.name).sort((a, b) => b.photos - a.photos || a.id - b.id);

  // the strip
  await page.goto(base);
  await page.waitForSelector('#people:not([hidden]) .person', { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#people .person-pick img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
  const strip = await page.$$eval('#people .person', (ls) => ls.map((l) => ({
    id: Number(l.dataset.id), name: l.querySelector('.person-name').value, count: l.querySelector('.person-count').textContent,
    thumb: l.querySelector('img').naturalWidth,
  })));
  check(`the strip shows the ${people.length} people of 'photoseek people'`, strip.length === people.length &&
    people.every((p) => strip.some((s) => s.id === p.id && s.count === String(p.photos))), JSON.stringify(strip));
  check('... each with a face thumbnail', strip.every((s) => s.thumb > 0), JSON.stringify(strip));
  check(`... the named one first (${named.map((p) => p.name)}), then by photos`, named.length === 1 &&
    strip[0].name === named[0].name && strip.slice(1).map((s) => s.id).join() === unnamed.map((p) => p.id).join(),
    JSON.stringify(strip));
  await page.screenshot({ path: `${out}/1-strip.png` });

  // click a person: their photos, newest first, as the command line lists them
  const anna = unnamed[0];
  const annaPhotos = photosOf(anna.id);
  await page.click(`#people .person[data-id="${anna.id}"] .person-pick`);
  let got = await waitResults(page, annaPhotos);
  check(`clicking person ${anna.id} shows exactly their ${annaPhotos.length} photos (people --photos ${anna.id})`,
    JSON.stringify(got) === JSON.stringify(annaPhotos), `${got} vs ${annaPhotos}`);
  check('... the person is in the address and pressed', new URL(page.url()).searchParams.get('person') === String(anna.id) &&
    (await page.getAttribute(`#people .person[data-id="${anna.id}"] .person-pick`, 'aria-pressed')) === 'true', page.url());
  await page.reload();
  await page.waitForSelector('#people .person', { timeout: 10000 });
  got = await waitResults(page, annaPhotos);
  check('... and a reload shows them again', JSON.stringify(got) === JSON.stringify(annaPhotos), got.join(' '));
  await page.fill('#q', 'people');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'people', null, { timeout: 10000 });
  await page.waitForFunction(() => /result/.test(document.getElementById('summary').textContent), null, { timeout: 10000 });
  got = await resultPaths(page);
  check('with words too: only their photos, ranked', got.length >= 1 && got.every((p) => annaPhotos.includes(p)) &&
    new URL(page.url()).searchParams.get('person') === String(anna.id), `${got} vs ${annaPhotos}`);
  await page.fill('#q', '');
  await waitResults(page, annaPhotos);

  // rename in place
  const annaName = `#people .person[data-id="${anna.id}"] .person-name`;
  await page.fill(annaName, 'Anna');
  await page.type(annaName, ' Lee/'); // a "/" typed in a name stays there (it focuses the search box elsewhere)
  await page.press(annaName, 'Backspace');
  await page.press(annaName, 'Enter');
  await page.waitForFunction(() => [...document.querySelectorAll('#people .person-name')].some((i) => i.value === 'Anna Lee' && i !== document.activeElement), null, { timeout: 10000 }).catch(() => {});
  const order = await page.$$eval('#people .person', (ls) => ls.map((l) => l.querySelector('.person-name').value));
  check('renaming updates the strip: the new name among the named, first', order.slice(0, 2).sort().join() === ['Anna Lee', named[0].name].sort().join(), order.join());
  const after = cli('people').find((p) => p.id === anna.id);
  check("... and 'photoseek people --json'", after && after.name === 'Anna Lee', JSON.stringify(after));
  check('... with no error shown', await page.isHidden('#people-msg'));
  const bob = unnamed[1];
  const bobName = `#people .person[data-id="${bob.id}"] .person-name`;
  await page.fill(bobName, named[0].name);
  await page.press(bobName, 'Enter');
  await page.waitForSelector('#people-msg:not([hidden])', { timeout: 10000 }).catch(() => {});
  const msg = await page.textContent('#people-msg');
  check(`a name another person has (${named[0].name}) is refused with a clear message`, /another person already has that name/.test(msg) && /merge/.test(msg), msg);
  check('... and the name is not taken', (await page.inputValue(bobName)) === '' && !cli('people').find((p) => p.id === bob.id).name);

  // the viewer: a box per face, where the API says, labelled with the names
  await page.click('#grid .result button:not(.stack)');
  await page.waitForSelector('#viewer:not([hidden])');
  await page.waitForFunction(() => { const i = document.getElementById('viewer-img'); return i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });
  const id = new URL(page.url()).searchParams.get('open');
  const faces = await (await page.request.get(`${base}/api/media/${id}/faces`)).json();
  await page.waitForFunction((n) => document.querySelectorAll('#viewer-boxes .face-box').length === n, faces.count, { timeout: 10000 }).catch(() => {});
  const drawn = await page.$$eval('#viewer-boxes .face-box', (bs) => {
    const img = document.getElementById('viewer-img').getBoundingClientRect();
    return bs.map((b) => {
      const r = b.getBoundingClientRect();
      return { face: Number(b.dataset.face), person: Number(b.dataset.person), label: b.textContent, scale: img.width,
               box: [r.left - img.left, r.top - img.top, r.width, r.height] };
    });
  });
  check(`the viewer draws the photo's ${faces.count} faces`, faces.count >= 2 && drawn.length === faces.count, `${drawn.length} boxes`);
  const far = [];
  for (const f of faces.faces) {
    const d = drawn.find((x) => x.face === f.id);
    const s = d ? d.scale / faces.width : 0;
    if (!d || f.box.some((v, k) => Math.abs(v * s - d.box[k]) > 2)) far.push(`face ${f.id}: ${d && d.box.map(Math.round)} vs ${f.box.map((v) => Math.round(v * s))}`);
  }
  check('... each at its box scaled to the displayed photo (within 2 px)', far.length === 0, far.join('; '));
  const annaBox = drawn.find((d) => d.person === anna.id);
  check('... labelled with the name', annaBox && annaBox.label === 'Anna Lee' && drawn.filter((d) => d.label).length === 2,
    JSON.stringify(drawn.map((d) => d.label)));
  await page.screenshot({ path: `${out}/2-viewer.png` });
  await page.focus(`#viewer-boxes .face-box[data-person="${bob.id}"]`);
  await page.keyboard.press('Enter'); // a face's box is a button, also from the keyboard
  const bobPhotos = photosOf(bob.id);
  got = await waitResults(page, bobPhotos);
  check("a face's box (Enter on it) shows that person's photos", await page.isHidden('#viewer') &&
    JSON.stringify(got) === JSON.stringify(bobPhotos) && new URL(page.url()).searchParams.get('person') === String(bob.id), `${got} vs ${bobPhotos}`);

  await page.click('#grid .result button:not(.stack)');
  await page.waitForSelector(`#viewer-boxes .face-box[data-person="${named[0].id}"]`, { timeout: 10000 });
  await page.click(`#viewer-boxes .face-box[data-person="${named[0].id}"]`);
  const carolPhotos = photosOf(named[0].id);
  got = await waitResults(page, carolPhotos);
  check('... and a click on one', await page.isHidden('#viewer') && JSON.stringify(got) === JSON.stringify(carolPhotos) &&
    new URL(page.url()).searchParams.get('person') === String(named[0].id), `${got} vs ${carolPhotos}`);

  // a library without people: no strip
  const people0 = page.waitForResponse((r) => r.url().endsWith('/api/people'));
  await page.goto(baseNoPeople);
  const r0 = await people0;
  await page.waitForSelector('#chips-years .chip', { timeout: 10000 });
  check('a library without people shows no strip', r0.ok() && (await r0.json()).count === 0 && await page.isHidden('#people'));
  check('no requests outside the server (the page works offline)', outside.length === 0, outside.join(' '));
  check('no script errors', errors.length === 0, errors.join('; '));
} catch (e) {
  check('the browser people test ran to the end', false, e.message);
} finally {
  await browser.close();
}
process.exit(check.failed() ? 1 : 0);
