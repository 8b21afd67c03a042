// photoseek's page: search as you type, filter chips, a thumbnail grid and a viewer. Talks only to /api/*.
'use strict';
const $ = (id) => document.getElementById(id);
const state = { q: '', filters: {}, similar: null, results: [], current: -1, seq: 0 };
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
  if (!r.ok) throw new Error((data && data.error) || `${r.status} ${r.statusText}`);
  return data;
}

function params() {
  const p = new URLSearchParams();
  if (state.similar) p.set('id', state.similar); else p.set('q', state.q);
  p.set('k', '60');
  for (const [k, v] of Object.entries(state.filters)) if (v.length) p.set(k, v.join(','));
  return p;
}

// The page's state lives in its address, so that a search can be bookmarked, shared, reloaded and opened from
// the command line: ?q=cake&year=2019,2020&type=photo, ?like=ID for "more like this", &open=ID for the viewer.
const URL_FILTERS = ['year', 'month', 'type', 'camera', 'folder'];

function syncURL() {
  const p = new URLSearchParams();
  if (state.similar) p.set('like', state.similar); else if (state.q.trim()) p.set('q', state.q);
  for (const k of URL_FILTERS) if ((state.filters[k] || []).length) p.set(k, state.filters[k].join(','));
  if (!$('viewer').hidden && state.results[state.current]) p.set('open', state.results[state.current].id);
  const qs = p.toString();
  const url = qs ? `/?${qs}` : '/';
  if (url !== location.pathname + location.search) history.replaceState(null, '', url);
}

function stateFromURL() {
  const p = new URLSearchParams(location.search);
  state.q = p.get('q') || '';
  state.similar = /^[1-9][0-9]*$/.test(p.get('like') || '') ? Number(p.get('like')) : null;
  state.filters = {};
  for (const k of URL_FILTERS) if (p.get(k)) state.filters[k] = p.get(k).split(',').filter(Boolean);
  $('q').value = state.q;
  return /^[1-9][0-9]*$/.test(p.get('open') || '') ? Number(p.get('open')) : null;
}

function setError(msg) {
  $('error').hidden = !msg;
  $('error').textContent = msg || '';
}

async function search() {
  const seq = ++state.seq;
  syncURL();
  if (!state.q.trim() && !state.similar) {
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
      (state.similar ? ' — like the chosen photo' : '');
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
    cap.querySelector('.score').textContent = r.score.toFixed(3);
    cap.querySelector('.date').textContent = dateOf(r) + (r.type === 'video' ? ' ▶' : '');
    b.append(img, cap);
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
  $('viewer-img').hidden = video;
  $('viewer-video').hidden = !video;
  if (video) {
    $('viewer-video').src = `${r.file}#t=${(r.frame_ms || 0) / 1000}`;
  } else {
    $('viewer-img').src = r.file;
    $('viewer-img').alt = r.path;
  }
  $('viewer-path').textContent = r.path;
  $('viewer-meta').textContent = [r.taken_at || 'date unknown', `${r.width}×${r.height}`, r.camera || '', `score ${r.score.toFixed(3)}`]
    .filter(Boolean).join(' · ');
  $('viewer-open').href = r.file;
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
    // camera, folder and type take one value; years and months several
    if (['camera', 'folder', 'type'].includes(param)) list.length = 0;
    if (at >= 0 && list.length) list.splice(list.indexOf(value), 1); else if (at < 0) list.push(value);
    container.querySelectorAll('.chip').forEach((c) => c.setAttribute('aria-pressed', String((state.filters[param] || []).includes(c.dataset.value))));
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
    if (state.q.trim() || state.similar) search();
  } catch (e) {
    $('library-status').textContent = '';
    setError(`Re-index failed: ${e.message}`);
  } finally {
    $('reindex').disabled = false;
  }
}

let timer = null;
$('q').addEventListener('input', () => {
  state.q = $('q').value;
  state.similar = null;
  clearTimeout(timer);
  timer = setTimeout(search, 250); // search as you type, once the typing pauses
});
$('search-form').addEventListener('submit', (e) => { e.preventDefault(); clearTimeout(timer); search(); });
$('viewer-close').addEventListener('click', closeViewer);
$('reindex').addEventListener('click', reindex);
$('viewer').addEventListener('click', (e) => { if (e.target === $('viewer')) closeViewer(); });
$('more-like-this').addEventListener('click', () => {
  state.similar = state.results[state.current].id;
  closeViewer();
  search();
});
document.addEventListener('keydown', (e) => {
  const open = !$('viewer').hidden;
  if (open && e.key === 'Escape') closeViewer();
  else if (open && e.key === 'ArrowRight' && state.current + 1 < state.results.length) openViewer(state.current + 1);
  else if (open && e.key === 'ArrowLeft' && state.current > 0) openViewer(state.current - 1);
  else if (!open && e.key === '/' && document.activeElement !== $('q')) { e.preventDefault(); $('q').focus(); }
});
// Opening the page: the address says what to show.
(async () => {
  const open = stateFromURL();
  await loadFacets();
  if (!state.q.trim() && !state.similar) return;
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
  if (!r.group || !(r.group_size > 1)) return;
  const s = document.createElement('button');
  s.type = 'button';
  s.className = 'stack';
  s.textContent = `+${r.group_size - 1}`;
  s.title = `${r.group_size - 1} near-duplicate${r.group_size > 2 ? 's' : ''} of this photo: show them`;
  s.addEventListener('click', (e) => { e.stopPropagation(); showDuplicates(r.id); });
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
