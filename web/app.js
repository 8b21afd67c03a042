// photoseek's page: search as you type, filter chips, a thumbnail grid and a viewer. Talks only to /api/*.
'use strict';
const $ = (id) => document.getElementById(id);
const state = { q: '', text: '', filters: {}, similar: null, group: null, results: [], current: -1, seq: 0 };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

async function api(path) {
  const r = await fetch(path, { credentials: 'same-origin' });
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) throw new Error((body && body.error) || `${r.status} ${r.statusText}`);
  return body;
}

// State-changing requests carry this run's request token, which the server put in a SameSite=Strict cookie that
// another site's page can neither read nor have sent (the server refuses them without it).
async function post(path, body = {}) {
  const m = document.cookie.match(/(?:^|;\s*)psk_csrf=([0-9a-f]+)/);
  const r = await fetch(path, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-Photoseek-CSRF': m ? m[1] : '' },
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) throw Object.assign(new Error((data && data.error) || `${r.status} ${r.statusText}`), { status: r.status });
  return data;
}

// The query as the API takes it: the description, and the words in the photo as a text:"..." term (the query box
// takes text:"..." too).
function fullQuery() {
  const words = state.text.replace(/"/g, ' ').trim();
  return [state.q.trim(), words ? `text:"${words}"` : ''].filter(Boolean).join(' ');
}

// The words a text search looks for (the text field's, or a text:"..." / text:word term in the query box).
function textWords() {
  if (state.text.trim()) return state.text.trim();
  const m = state.q.match(/text:(?:"([^"]*)"|(\S+))/);
  return m ? (m[1] || m[2] || '').trim() : '';
}

function params() {
  const p = new URLSearchParams();
  if (state.similar) p.set('id', state.similar); else if (fullQuery() || !personFilter()) p.set('q', fullQuery());
  p.set('k', '60');
  for (const [k, v] of Object.entries(state.filters)) if (v.length) p.set(k, v.join(','));
  if (p.has('place')) p.delete('country'); // a city of the chosen country: the narrower of the two
  return p;
}

// The page's state lives in its address, so that a search can be bookmarked, shared, reloaded and opened from
// the command line: ?q=cake&year=2019,2020&type=photo, ?like=ID for "more like this", &open=ID for the viewer.
// &text=WORDS for words in the photo, &group=N for a near-duplicate group's members, &country=JP and
// &place=JP|REGION|CITY for the places facet, &person=ID,ID for the people strip (every one of them in the photo).
const URL_FILTERS = ['year', 'month', 'type', 'camera', 'folder', 'country', 'place', 'person'];
const SINGLE = ['camera', 'folder', 'type', 'place']; // one value each (a place name may hold a comma)
const ID_RE = /^[1-9][0-9]*$/;

function syncURL() {
  const p = new URLSearchParams();
  if (state.similar) p.set('like', state.similar); else if (state.q.trim()) p.set('q', state.q);
  if (!state.similar && state.text.trim()) p.set('text', state.text);
  for (const k of URL_FILTERS) if ((state.filters[k] || []).length) p.set(k, state.filters[k].join(','));
  if (state.group) p.set('group', state.group);
  if (!$('viewer').hidden && state.results[state.current]) p.set('open', state.results[state.current].id);
  const qs = p.toString();
  const url = qs ? `/?${qs}` : '/';
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

function stateFromURL() {
  const p = new URLSearchParams(location.search);
  state.q = p.get('q') || '';
  state.text = p.get('text') || '';
  state.similar = ID_RE.test(p.get('like') || '') ? Number(p.get('like')) : null;
  state.group = ID_RE.test(p.get('group') || '') ? Number(p.get('group')) : null;
  state.filters = {};
  for (const k of URL_FILTERS) {
    if (p.get(k)) state.filters[k] = SINGLE.includes(k) ? [p.get(k)] : p.get(k).split(',').filter(Boolean);
  }
  $('q').value = state.q;
  $('text').value = state.text;
  return ID_RE.test(p.get('open') || '') ? Number(p.get('open')) : null;
}

function setError(msg) {
  $('error').hidden = !msg;
  $('error').textContent = msg || '';
}

async function search() {
  const seq = ++state.seq;
  syncURL();
  $('group-bar').hidden = !state.group;
  if (state.group) return showGroup(seq);
  if (!fullQuery() && !state.similar && !personFilter()) {
    state.results = [];
    render();
    $('empty').hidden = false;
    $('summary').textContent = '';
    return;
  }
  $('empty').hidden = true;
  try {
    const data = await api((state.similar ? '/api/similar?' : '/api/search?') + params());
    if (seq !== state.seq) return; // a newer query is on its way
    setError('');
    state.results = data.results;
    $('summary').textContent = `${data.count} result${data.count === 1 ? '' : 's'} in ${data.took_ms} ms` +
      (state.similar ? ' — like the chosen photo' : '') + peopleSummary();
    render();
    if (!data.count) setError('Nothing matches. Try other words, or remove a filter.');
  } catch (e) {
    if (seq !== state.seq) return;
    state.results = [];
    render();
    $('summary').textContent = ''; // the last good search's summary would sit beside this error
    setError(`Search failed: ${e.message}`);
  }
}

function dateOf(r) { return r.taken_at ? r.taken_at.slice(0, 10) : ''; }

function render() {
  const grid = $('grid');
  grid.replaceChildren();
  state.results.forEach((r, i) => {
    const li = document.createElement('li');
    li.className = 'result';
    const b = document.createElement('button');
    b.type = 'button';
    b.title = r.path;
    const img = document.createElement('img');
    img.loading = 'lazy';
    img.alt = r.path.split('/').pop();
    img.src = r.thumb;
    const cap = document.createElement('div');
    cap.className = 'caption';
    cap.innerHTML = '<span class="score"></span><span class="date"></span>';
    // a group's members are listed, not ranked: their size says more than a score
    cap.querySelector('.score').textContent = state.group ? `${r.width}×${r.height}` : r.score.toFixed(3);
    cap.querySelector('.date').textContent = dateOf(r) + (r.type === 'video' ? ' ▶' : '');
    b.append(img, cap);
    if (r.text) b.append(snippet(r.text));
    b.addEventListener('click', () => openViewer(i));
    li.append(b);
    addStackBadge(li, r);
    grid.append(li);
  });
}

function openViewer(i) {
  state.current = i;
  const r = state.results[i];
  const video = r.type === 'video';
  $('viewer-photo').hidden = video;
  $('viewer-boxes').replaceChildren();
  $('viewer-video').hidden = !video;
  if (video) {
    $('viewer-video').src = `${r.file}#t=${(r.frame_ms || 0) / 1000}`;
  } else {
    $('viewer-img').src = r.file;
    $('viewer-img').alt = r.path;
  }
  $('viewer-path').textContent = r.path;
  $('viewer-meta').textContent = [r.taken_at || 'date unknown', `${r.width}×${r.height}`, r.camera || '', state.group ? '' : `score ${r.score.toFixed(3)}`]
    .filter(Boolean).join(' · ');
  $('viewer-open').href = r.file;
  showPlace(r);
  showText(r);
  showFaces(r);
  $('viewer').hidden = false;
  $('viewer-close').focus();
  syncURL();
}

function closeViewer() {
  $('viewer').hidden = true;
  $('viewer-video').pause();
  syncURL();
  const buttons = $('grid').querySelectorAll('button');
  if (buttons[state.current]) buttons[state.current].focus();
}

function chip(container, label, value) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'chip';
  b.textContent = label;
  b.setAttribute('aria-pressed', String((state.filters[container.dataset.param] || []).includes(String(value))));
  b.dataset.value = value;
  b.addEventListener('click', () => {
    const param = container.dataset.param;
    const list = state.filters[param] || (state.filters[param] = []);
    const at = list.indexOf(value);
    // camera, folder, type, country and place take one value; years and months several
    if (SINGLE.includes(param) || param === 'country') list.length = 0;
    if (at >= 0 && list.length) list.splice(list.indexOf(value), 1); else if (at < 0) list.push(value);
    container.querySelectorAll('.chip').forEach((c) => c.setAttribute('aria-pressed', String((state.filters[param] || []).includes(c.dataset.value))));
    if (param === 'country') { delete state.filters.place; placeChips(); } // another country's cities
    state.group = null;
    search();
  });
  container.append(b);
}

async function loadFacets() {
  try {
    const f = await api('/api/facets');
    f.years.forEach((y) => chip($('chips-years'), y.value, y.value));
    f.months.forEach((m) => chip($('chips-months'), MONTHS[Number(m.value) - 1] || m.value, m.value));
    if (f.types.length > 1) f.types.forEach((t) => chip($('chips-types'), t.value, t.value));
    f.cameras.slice(0, 12).forEach((c) => chip($('chips-cameras'), c.value, c.value));
    if (f.folders.length > 1) f.folders.slice(0, 12).forEach((d) => chip($('chips-folders'), d.value.split('/').slice(-2).join('/'), d.value));
    facets.countries = f.countries || [];
    facets.places = f.places || [];
    facets.countries.slice(0, 20).forEach((c) => chip($('chips-countries'), countryName(c.value), c.value));
    placeChips();
    const total = f.types.reduce((n, t) => n + t.count, 0);
    if (!total) {
      $('empty').innerHTML = '<p><strong>The library is empty.</strong></p><p>Index a folder first: <code>photoseek index ~/Pictures</code></p>';
    }
  } catch (e) {
    setError(`Cannot reach the library: ${e.message}`);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function reindex() {
  $('reindex').disabled = true;
  try {
    await post('/api/index');
    $('library-status').textContent = 'Indexing…';
    for (;;) {
      await sleep(500);
      const st = await api('/api/status');
      const ix = st.indexing;
      if (!ix.running) { $('library-status').textContent = `Index run: ${ix.result}`; break; }
      $('library-status').textContent = `Indexing… ${ix.done} of ${ix.total || '?'}`;
    }
    loadPeople(); // an index run finds new faces
    if (state.q.trim() || state.similar || personFilter()) search();
  } catch (e) {
    $('library-status').textContent = '';
    setError(`Re-index failed: ${e.message}`);
  } finally {
    $('reindex').disabled = false;
  }
}

let timer = null;
for (const id of ['q', 'text']) {
  $(id).addEventListener('input', () => {
    state[id] = $(id).value;
    state.similar = null;
    state.group = null;
    clearTimeout(timer);
    timer = setTimeout(search, 250); // search as you type, once the typing pauses
  });
}
$('search-form').addEventListener('submit', (e) => { e.preventDefault(); clearTimeout(timer); search(); });
$('viewer-close').addEventListener('click', closeViewer);
$('reindex').addEventListener('click', reindex);
$('viewer').addEventListener('click', (e) => { if (e.target === $('viewer')) closeViewer(); });
$('more-like-this').addEventListener('click', () => {
  state.similar = state.results[state.current].id;
  state.group = null;
  closeViewer();
  search();
});
document.addEventListener('keydown', (e) => {
  const open = !$('viewer').hidden;
  if (open && e.key === 'Escape') closeViewer();
  else if (open && e.key === 'ArrowRight' && state.current + 1 < state.results.length) openViewer(state.current + 1);
  else if (open && e.key === 'ArrowLeft' && state.current > 0) openViewer(state.current - 1);
  else if (!open && e.key === '/' && !(document.activeElement instanceof HTMLInputElement)) { e.preventDefault(); $('q').focus(); } // not while typing a name
});
// Opening the page: the address says what to show.
(async () => {
  const open = stateFromURL();
  await Promise.all([loadFacets(), loadPeople()]);
  if (!fullQuery() && !state.similar && !state.group && !personFilter()) return;
  await search();
  if (open) {
    let i = state.results.findIndex((r) => r.id === open);
    if (i < 0) {
      try { state.results.unshift(await api(`/api/media/${open}`)); render(); i = 0; } catch (e) { i = -1; }
    }
    if (i >= 0) openViewer(i);
  }
})();

// ---- near-duplicates (issue 18): a stack badge on a result that stands for a group, and the duplicates view ----
function addStackBadge(li, r) {
  if (!r.group || !(r.group_size > 1) || state.group) return; // not on the group's own members
  const s = document.createElement('button');
  s.type = 'button';
  s.className = 'stack';
  s.textContent = `+${r.group_size - 1}`;
  s.title = `${r.group_size - 1} near-duplicate${r.group_size > 2 ? 's' : ''} of this photo: show them`;
  s.addEventListener('click', (e) => { e.stopPropagation(); state.group = r.group; search(); });
  li.append(s);
}

// Lists the groups (only the one holding focusId when given), each with its suggested keeper first.
async function showDuplicates(focusId) {
  const list = $('dups-list');
  list.replaceChildren();
  $('dups').hidden = false;
  $('dups-summary').textContent = 'Looking for near-duplicates…';
  let data;
  try {
    data = await api('/api/duplicates');
  } catch (e) {
    $('dups-summary').textContent = `Could not list duplicates: ${e.message}`;
    return;
  }
  const groups = focusId ? data.groups.filter((g) => g.members.some((m) => m.id === focusId)) : data.groups;
  $('dups-summary').textContent = `${groups.length} group${groups.length === 1 ? '' : 's'} of near-duplicates`;
  for (const g of groups) {
    const li = document.createElement('li');
    li.className = 'dup-group';
    const h = document.createElement('p');
    h.className = 'dup-head';
    h.textContent = `${g.kind}: keep ${g.keeper.split('/').pop()} (${g.rule})`;
    h.title = g.why;
    const row = document.createElement('div');
    row.className = 'dup-members';
    g.members.forEach((m, k) => {
      const a = document.createElement('a');
      a.href = m.file;
      a.target = '_blank';
      a.rel = 'noopener';
      a.className = k === 0 ? 'dup-member keeper' : 'dup-member';
      a.title = `${m.path}\n${m.width}×${m.height}, ${m.bytes} bytes, similarity ${m.similarity.toFixed(3)}`;
      const img = document.createElement('img');
      img.loading = 'lazy';
      img.alt = m.path.split('/').pop();
      img.src = m.thumb;
      const cap = document.createElement('span');
      cap.textContent = (k === 0 ? 'keep · ' : '') + `${m.width}×${m.height}`;
      a.append(img, cap);
      row.append(a);
    });
    li.append(h, row);
    list.append(li);
  }
}

$('show-dups').addEventListener('click', () => showDuplicates(null));
$('dups-close').addEventListener('click', () => { $('dups').hidden = true; });

// A near-duplicate group's members as results (the "+N" badge of a collapsed result), each openable in the viewer.
async function showGroup(seq) {
  $('empty').hidden = true;
  try {
    const data = await api(`/api/duplicates?group=${state.group}`);
    if (seq !== state.seq) return;
    setError('');
    state.results = data.results;
    $('group-summary').textContent = `${data.count} near-duplicates: the suggested keeper first`;
    $('summary').textContent = `${data.count} results in ${data.took_ms} ms`;
    render();
  } catch (e) {
    if (seq !== state.seq) return;
    state.results = [];
    render();
    $('summary').textContent = '';
    setError(`Cannot show the group: ${e.message}`);
  }
}
$('group-close').addEventListener('click', () => { state.group = null; search(); });

// ---- text in photos (issue 15): the snippet under a result, the matched words' boxes over the photo ----
function snippet(text) {
  const p = document.createElement('p');
  p.className = 'snippet';
  p.title = text;
  const words = textWords().toLowerCase();
  const at = words ? text.toLowerCase().indexOf(words) : -1;
  if (at < 0) {
    p.textContent = text;
  } else {
    const mark = document.createElement('mark');
    mark.textContent = text.slice(at, at + words.length);
    p.append(text.slice(0, at), mark, text.slice(at + words.length));
  }
  return p;
}

// Whether an OCR word is part of what was searched: OCR splits a phrase into words (and Chinese into characters),
// so a word matches when the searched words hold it or it holds them, whatever the case and spaces.
function wordMatches(word, wanted) {
  const w = word.toLowerCase().replace(/\s+/g, '');
  return w.length > 0 && (wanted.includes(w) || w.includes(wanted));
}

// Draws the boxes of the words that matched, in percent of the photo so they follow its displayed size.
async function showText(r) {
  $('viewer-text').hidden = true;
  if (!r.text || r.type === 'video') return;
  $('viewer-text').textContent = `Text: “${r.text}”`;
  $('viewer-text').hidden = false;
  const wanted = textWords().toLowerCase().replace(/\s+/g, '');
  let data;
  try { data = await api(`/api/media/${r.id}/text`); } catch (e) { return; }
  if (state.results[state.current] !== r || !data.width || !data.height) return;
  const boxes = [];
  for (const w of data.words) {
    if (wanted && !wordMatches(w.text, wanted)) continue;
    const d = overlayBox('word-box', w.box, data);
    d.title = w.text;
    boxes.push(d);
  }
  setOverlay('word-box', boxes);
}

// A box over the photo, in percent of the full-size upright image (size.width x size.height) so that it follows
// the photo's displayed size. The viewer's overlay holds the words' boxes and the faces' boxes side by side.
function overlayBox(className, [x, y, bw, bh], size) {
  const d = document.createElement('div');
  d.className = className;
  d.setAttribute('aria-hidden', 'true'); // a picture's detail, unless it does something (a person's face)
  d.style.left = `${(100 * x) / size.width}%`;
  d.style.top = `${(100 * y) / size.height}%`;
  d.style.width = `${(100 * bw) / size.width}%`;
  d.style.height = `${(100 * bh) / size.height}%`;
  return d;
}

function setOverlay(className, boxes) {
  $('viewer-boxes').querySelectorAll(`.${className}`).forEach((b) => b.remove());
  $('viewer-boxes').append(...boxes);
}

// ---- places (issue 19): the countries and places facet, and the viewer's place line ----
const facets = { countries: [], places: [] };
let regionNames = null;
try { regionNames = new Intl.DisplayNames([navigator.language || 'en', 'en'], { type: 'region' }); } catch (e) { /* old browser */ }

function countryName(code) {
  try { return (regionNames && regionNames.of(code)) || code; } catch (e) { return code; }
}

// The places of the chosen country (or the most photographed ones), as CC|REGION|CITY chips.
function placeChips() {
  const box = $('chips-places');
  box.replaceChildren();
  const country = (state.filters.country || [])[0];
  facets.places
    .map((p) => p.value.split('\t'))
    .filter(([cc]) => !country || cc === country)
    .slice(0, 16)
    .forEach(([cc, region, city]) => {
      chip(box, city, `${cc}|${region}|${city}`);
      box.lastChild.title = [city, region, countryName(cc)].filter(Boolean).join(', ');
    });
}

// "Kyoto, Kyoto, Japan · 35.01160, 135.76810": the place and the position as text (no map: the page stays offline).
function showPlace(r) {
  const parts = [];
  if (r.place) parts.push([r.place.city, r.place.region, r.place.country].filter(Boolean).join(', '));
  if (r.gps) parts.push(`${r.gps[0].toFixed(5)}, ${r.gps[1].toFixed(5)}`);
  $('viewer-place').textContent = parts.join(' · ');
  $('viewer-place').hidden = !parts.length;
}

// ---- people (issue 14): the people strip (click to filter, rename in place) and the faces' boxes in the viewer ----
const people = { list: [], byId: new Map() };

function personFilter() { return (state.filters.person || []).length > 0; }

function personLabel(p) { return p.name || `Person ${p.id}`; }

// " — with Anna and Person 7": who the results are filtered to.
function peopleSummary() {
  const names = (state.filters.person || []).map((id) => {
    const p = people.byId.get(Number(id));
    return p ? personLabel(p) : `person ${id}`;
  });
  return names.length ? ` — with ${names.join(' and ')}` : '';
}

function togglePerson(id, only = false) {
  const list = state.filters.person || (state.filters.person = []);
  const v = String(id);
  const at = list.indexOf(v);
  if (only) list.splice(0, list.length, v);
  else if (at >= 0) list.splice(at, 1);
  else list.push(v);
  state.group = null;
  state.similar = null;
  markPeople();
  search();
}

function markPeople() {
  const chosen = state.filters.person || [];
  $('people-list').querySelectorAll('.person-pick').forEach((b) => b.setAttribute('aria-pressed', String(chosen.includes(b.dataset.id))));
}

// The strip: named people first, then by photos. Hidden when there are none, or the library keeps no people.
async function loadPeople() {
  let data;
  try { data = await api('/api/people'); } catch (e) { $('people').hidden = true; return; }
  people.list = data.people.slice().sort((a, b) => (!a.name - !b.name) || (b.photos - a.photos) || (a.id - b.id));
  people.byId = new Map(people.list.map((p) => [p.id, p]));
  const items = people.list.map((p) => {
    const li = document.createElement('li');
    li.className = 'person';
    li.dataset.id = p.id;
    const pick = document.createElement('button');
    pick.type = 'button';
    pick.className = 'person-pick';
    pick.dataset.id = String(p.id);
    pick.title = `${personLabel(p)}: ${p.photos} photo${p.photos === 1 ? '' : 's'} (click to show them)`;
    const img = document.createElement('img');
    img.alt = personLabel(p);
    if (p.thumb) img.src = p.thumb;
    const count = document.createElement('span');
    count.className = 'person-count';
    count.textContent = String(p.photos);
    pick.append(img, count);
    pick.addEventListener('click', () => togglePerson(p.id));
    const name = document.createElement('input');
    name.className = 'person-name';
    name.value = p.name || '';
    name.placeholder = 'Add a name';
    name.setAttribute('aria-label', `Name of ${personLabel(p)}`);
    name.maxLength = 127;
    name.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') name.blur();
      else if (e.key === 'Escape') { name.value = p.name || ''; name.blur(); }
    });
    name.addEventListener('change', () => renamePerson(p, name));
    li.append(pick, name);
    return li;
  });
  $('people-list').replaceChildren(...items);
  $('people').hidden = items.length === 0;
  markPeople();
}

async function renamePerson(p, input) {
  const name = input.value.trim();
  if (name === (p.name || '')) return;
  const msg = $('people-msg');
  try {
    await post(`/api/people/${p.id}/name?name=${encodeURIComponent(name)}`);
    msg.hidden = true;
    await loadPeople();
    if (personFilter()) $('summary').textContent = $('summary').textContent.replace(/ — with .*$/, '') + peopleSummary();
  } catch (e) {
    input.value = p.name || '';
    msg.textContent = e.status === 409 // the name is someone else's: the server says how to merge them
      ? `Cannot name ${personLabel(p)} “${name}”: another person already has that name. ${e.message}`
      : `Cannot rename ${personLabel(p)}: ${e.message}`;
    msg.hidden = false;
  }
}

// The faces in the photo, each box labelled with its person's name; a click shows that person's photos.
async function showFaces(r) {
  setOverlay('face-box', []);
  if (r.type === 'video') return;
  let data;
  try { data = await api(`/api/media/${r.id}/faces`); } catch (e) { return; } // a library without people
  if (state.results[state.current] !== r || !data.width || !data.height) return;
  const boxes = data.faces.map((f) => {
    const d = overlayBox('face-box', f.box, data);
    d.dataset.face = f.id;
    if (f.person) {
      d.dataset.person = f.person;
      const p = people.byId.get(f.person);
      const label = f.name || (p && personLabel(p)) || `Person ${f.person}`;
      d.title = `${label}: show their photos`;
      if (f.name) {
        const tag = document.createElement('span');
        tag.className = 'face-label';
        tag.textContent = f.name;
        d.append(tag);
      }
      const show = (e) => {
        e.stopPropagation();
        closeViewer();
        togglePerson(f.person, true);
      };
      d.removeAttribute('aria-hidden');
      d.tabIndex = 0; // reachable from the keyboard too
      d.setAttribute('role', 'button');
      d.setAttribute('aria-label', d.title);
      d.addEventListener('click', show);
      d.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); show(e); } });
    } else {
      d.title = 'A face in no person';
    }
    return d;
  });
  setOverlay('face-box', boxes);
}
