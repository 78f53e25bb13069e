// The instructor's dashboard: a grid of learners × tasks kept live by the server's event stream
// (/api/events). Plain JS, no build step. Learner names are only ever set with textContent.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);

  // The token comes in the URL fragment (never sent to a server, never logged); keep it for this tab
  // and take it off the address bar, which may be on the room's projector.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('labInstructorToken', fromHash);
    history.replaceState(null, '', location.pathname);
  }
  const token = sessionStorage.getItem('labInstructorToken');
  if (!token) {
    setStatus('no instructor token: open the dashboard URL that `lab workshop serve` printed', 'down');
    return;
  }
  const q = '?token=' + encodeURIComponent(token);
  $('csv').href = '/api/export.csv' + q;
  $('json').href = '/api/export.json' + q;

  const state = { workshop: null, learners: new Map(), skew: 0, staleMin: null };

  function setStatus(text, cls) {
    const s = $('status');
    s.textContent = text;
    s.className = 'status ' + (cls || '');
  }

  function connect() {
    const es = new EventSource('/api/events' + q);
    es.addEventListener('board', (e) => {
      const b = JSON.parse(e.data);
      state.workshop = b.workshop;
      state.skew = Date.parse(b.now) - Date.now();
      if (state.staleMin === null) {
        state.staleMin = Math.max(1, Math.round(b.staleAfterSec / 60));
        $('stale').value = state.staleMin;
      }
      state.learners = new Map((b.learners || []).map((r) => [r.id, r]));
      schedule();
    });
    es.addEventListener('learner', (e) => {
      const r = JSON.parse(e.data);
      state.learners.set(r.id, r);
      schedule();
    });
    es.addEventListener('workshop', (e) => {
      state.workshop = JSON.parse(e.data);
      schedule();
    });
    es.onopen = () => setStatus('live', 'live');
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        setStatus('disconnected: reload the page', 'down');
      } else {
        setStatus('reconnecting…', 'down');
      }
    };
  }

  let pending = false;
  function schedule() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => { pending = false; render(); });
    }
  }

  function now() { return Date.now() + state.skew; }
  function t(s) { return s ? Date.parse(s) : 0; }

  function dur(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + 's';
    const m = Math.floor(sec / 60);
    if (m < 60) return m + 'm' + String(sec % 60).padStart(2, '0') + 's';
    return Math.floor(m / 60) + 'h' + String(m % 60).padStart(2, '0') + 'm';
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }

  function columns() {
    const cols = [];
    for (const lab of state.workshop.labs) {
      lab.tasks.forEach((task, i) => cols.push({ lab, task, n: i + 1, key: lab.slug + '/' + task.id }));
    }
    return cols;
  }

  function render() {
    const w = state.workshop;
    if (!w) return;
    document.title = w.title + ' · lab workshop';
    $('title').textContent = w.title;
    $('code').textContent = w.joinCode;
    $('close').hidden = !!w.closedAt;
    const notice = $('notice');
    notice.hidden = !w.closedAt;
    notice.textContent = w.closedAt ? 'Closed at ' + new Date(w.closedAt).toLocaleString() + ': no more joins or results. Export the results above.' : '';

    const cols = columns();
    const rows = [...state.learners.values()].sort((a, b) => a.name.localeCompare(b.name));
    const staleMs = state.staleMin * 60000;

    const head = $('grid').tHead;
    head.replaceChildren(
      el('tr', {}, el('th', { class: 'name', rowspan: 2 }, 'Learner'),
        ...w.labs.map((lab) => el('th', { class: 'lab', colspan: lab.tasks.length, title: lab.slug }, lab.title)),
        el('th', { rowspan: 2 }, 'Last check')),
      el('tr', {}, ...cols.map((c) => el('th', { class: 'task', title: c.task.title, 'data-task': c.key }, c.n + '. ' + c.task.id))));

    let finished = 0, stuck = 0;
    const body = rows.map((r) => {
      const cells = cols.map((c) => cell(r, c));
      const done = cols.every((c) => r.cells[c.key] && r.cells[c.key].firstPassAt);
      if (done && cols.length) finished++;
      const idle = now() - t(r.lastProgressAt);
      const stale = !done && idle > staleMs;
      if (stale) stuck++;
      const name = el('td', { class: 'name' }, r.name);
      if (r.lastVerdict === 'not-ready') name.append(el('span', { class: 'badge', title: 'last check: the environment was not ready' }, 'env'));
      if (stale) name.append(el('span', { class: 'badge' }, 'no progress ' + dur(idle / 1000)));
      const ago = r.lastSeenAt ? dur((now() - t(r.lastSeenAt)) / 1000) + ' ago' : 'never';
      return el('tr', { class: stale ? 'stale' : '', 'data-learner': r.name }, name, ...cells, el('td', { class: 'ago' }, ago));
    });
    $('grid').tBodies[0].replaceChildren(...body);
    $('empty').hidden = rows.length > 0;

    const foot = $('grid').tFoot;
    const stat = (label, cls, f) => el('tr', { class: cls }, el('th', { class: 'name' }, label), ...cols.map((c) => el('th', { 'data-task': c.key }, f(c))), el('th'));
    foot.replaceChildren(
      stat('Done', 'done', (c) => rows.filter((r) => r.cells[c.key] && r.cells[c.key].firstPassAt).length + '/' + rows.length),
      stat('Median time', 'time', (c) => {
        const s = rows.map((r) => r.cells[c.key]).filter((x) => x && x.firstPassAt && x.seconds > 0).map((x) => x.seconds).sort((a, b) => a - b);
        return s.length ? dur(s[Math.floor((s.length - 1) / 2)]) : '–';
      }),
      stat('Hints used', 'hints', (c) => rows.reduce((n, r) => n + ((r.cells[c.key] || {}).hintsUsed || 0), 0)));

    $('summary').textContent = rows.length + ' learners · ' + finished + ' finished · ' + stuck + ' without progress for ' + state.staleMin + ' min' +
      ' · join code ' + w.joinCode;
  }

  function cell(r, c) {
    const x = r.cells[c.key];
    const td = el('td', { class: 'cell ' + (x ? x.verdict : 'none'), 'data-learner': r.name, 'data-task': c.key, 'data-verdict': x ? x.verdict : '' });
    if (!x) {
      td.append('·');
      return td;
    }
    const sym = { pass: '✓', fail: '✗', 'not-ready': '!' }[x.verdict] || '?';
    td.append(el('span', { class: 'v' }, sym));
    const info = [];
    if (x.firstPassAt && x.seconds > 0) info.push(dur(x.seconds));
    else if (!x.firstPassAt) info.push(x.attempts + '×');
    if (x.hintsUsed) info.push(x.hintsUsed + 'h');
    if (x.verdict !== 'pass' && x.firstPassAt) info.push('passed before');
    td.append(el('small', {}, info.join(' · ')));
    td.title = r.name + ' · ' + c.task.title + ': ' + x.verdict + ' (' + x.checksPassed + '/' + x.checks + ' checks, ' + x.attempts + ' runs)';
    return td;
  }

  $('stale').addEventListener('change', (e) => {
    state.staleMin = Math.max(1, Number(e.target.value) || 10);
    schedule();
  });
  $('close').addEventListener('click', async () => {
    if (!confirm('Close the workshop? Learners can no longer join or report; the results stay for export.')) return;
    const resp = await fetch('/api/close', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
    if (!resp.ok) alert('Closing failed: HTTP ' + resp.status);
  });
  setInterval(schedule, 5000); // ages and "no progress" move on by themselves
  connect();
})();
