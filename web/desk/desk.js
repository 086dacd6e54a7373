// The fraud desk page: plain ES module, no build step. Talks to /api/v1 with the token kept in
// sessionStorage (gone when the browser session ends). Changes made anywhere (another analyst, a
// detector in another process) arrive live from /api/v1/events; while that stream is down the page
// polls every 5 s instead.
const POLL_MS = 5000;
// A stream that has said nothing for this long (heartbeats come every 15 s) is dead, whatever the socket says.
const SILENT_MS = 45_000;
// Changes arriving together (a status move is an alert change and an audit event) cost one reload.
const GATHER_MS = 150;
const PAGE = 50;
const ZONE = 'Europe/Paris';
const when = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, dateStyle: 'short', timeStyle: 'medium' });

const $ = (sel) => document.querySelector(sel);
const state = { token: sessionStorage.getItem('cdr-token'), offset: 0, selected: null, checked: new Set(), openCase: null, account: null, listed: new Map(), charts: {}, live: false, retryMs: 1000, pending: [], gather: null, fallback: null };

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${state.token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw Object.assign(new Error(body.message ?? String(body)), { status: res.status, body });
  return body;
}

const time = (iso) => (iso ? when.format(new Date(iso)) : '');
const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text ?? ''; if (cls) td.className = cls; return td; };
const row = (cells) => { const tr = document.createElement('tr'); for (const c of cells) tr.append(c); return tr; };
const rowsOr = (rows, columns, empty) => (rows.length > 0 ? rows : [row([Object.assign(cell(empty), { colSpan: columns, className: 'empty' })])]);
// Durations come as h:mm from the server (value_display); the raw figure stays on hover.
const figures = (a) => `${a.value_display ?? a.value} / ${a.threshold_display ?? a.threshold}`;
// The caller ID the switch presented (a 089B number raises fraud.premium_cli), with the number it was billed under.
const callerCell = (c) => { const td = cell(c.presented_caller ?? c.caller); if (c.presented_caller && c.presented_caller !== c.caller) td.title = `rewritten to ${c.caller} for billing`; return td; };
const money = (display, exact, currency = 'EUR') => { const td = cell(`${display} ${currency === 'EUR' ? '€' : currency}`, 'num'); td.title = `exact: ${exact} ${currency}`; return td; };

async function login(token) {
  state.token = token;
  try {
    const me = await api('/api/v1/me');
    sessionStorage.setItem('cdr-token', token);
    $('#who').textContent = `${me.name} (${me.role})`;
    $('#login').hidden = true;
    $('#desk').hidden = false;
    $('#logout').hidden = false;
    await Promise.all([refreshList(), loadCharts(), loadDeliveries(), loadRejects(), loadCases()]);
    await followLink();
    startFallback();
    void live();
  } catch (e) {
    state.token = null;
    sessionStorage.removeItem('cdr-token');
    $('#login-error').textContent = e.status === 401 ? 'Unknown or revoked token.' : `Cannot log in: ${e.message}`;
  }
}

function filters() {
  const f = new FormData($('#filters'));
  const q = new URLSearchParams();
  for (const [k, v] of f.entries()) if (v !== '') q.set(k, String(v));
  return q;
}

async function loadAlerts() {
  const q = filters();
  q.set('limit', String(PAGE));
  q.set('offset', String(state.offset));
  const page = await api(`/api/v1/alerts?${q}`);
  $('#filter-error').textContent = '';
  // What changed since the last load of this list: new rows, or rows whose status or figures moved.
  const listed = new Map(page.alerts.map((a) => [a.alert_id, `${a.status}|${a.updated_at}`]));
  const changed = [...listed].filter(([id, v]) => state.listed.get(id) !== v).length + [...state.listed.keys()].filter((id) => !listed.has(id)).length;
  state.listed = listed;
  const tbody = $('#alerts tbody');
  // A reload (a live change) must not take the keyboard's place away: the focused row keeps the focus.
  const focused = document.activeElement instanceof HTMLElement && tbody.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset.alertId : undefined;
  tbody.replaceChildren(...page.alerts.map((a) => {
    const sev = cell(''); const badge = document.createElement('span'); badge.className = `sev-${a.severity}`; badge.textContent = a.severity; sev.append(badge);
    const pick = cell('');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = state.checked.has(a.alert_id);
    box.setAttribute('aria-label', `select alert ${a.alert_id}`);
    box.addEventListener('click', (e) => e.stopPropagation());
    box.addEventListener('change', () => { if (box.checked) state.checked.add(a.alert_id); else state.checked.delete(a.alert_id); showChecked(); });
    pick.append(box);
    const tr = row([pick, sev, cell(a.rule), cell(`${a.client_id} / ${a.site_id} / ${a.user_id}`), cell(time(a.first_seen)), cell(time(a.last_seen)), cell(figures(a), 'num'), cell(a.status)]);
    tr.dataset.alertId = a.alert_id;
    if (a.alert_id === state.selected) tr.classList.add('selected');
    tr.tabIndex = 0;
    tr.addEventListener('click', () => openAlert(a.alert_id));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); void openAlert(a.alert_id); }
    });
    return tr;
  }));
  if (focused !== undefined) tbody.querySelector(`tr[data-alert-id="${CSS.escape(focused)}"]`)?.focus();
  const last = Math.min(state.offset + PAGE, page.total);
  $('#page-info').textContent = page.total === 0 ? 'no alert matches' : `${state.offset + 1}–${last} of ${page.total}`;
  $('#prev').disabled = state.offset === 0;
  $('#next').disabled = last >= page.total;
  return changed;
}

// The list with its filters; a refused filter (a month that is not YYYY-MM) says so and empties the
// list, rather than leaving the previous rows under filters they do not match.
async function refreshList() {
  try {
    return await loadAlerts();
  } catch (e) {
    if (e.status === 400) {
      $('#filter-error').textContent = e.body?.field === 'period' ? 'Month: expected YYYY-MM, e.g. 2026-03.' : `${e.body?.field ?? 'filter'}: ${e.body?.expected ?? e.message}`;
      $('#alerts tbody').replaceChildren(...rowsOr([], 8, 'No alert shown: fix the filter above.'));
      $('#page-info').textContent = '';
      state.listed = new Map();
    } else {
      $('#filter-error').textContent = `Cannot load the alerts: ${e.message}`;
    }
    return 0;
  }
}

async function openAlert(id) {
  state.selected = id;
  link(`alert=${encodeURIComponent(id)}`);
  const d = await api(`/api/v1/alerts/${encodeURIComponent(id)}`);
  $('#detail').hidden = false;
  $('#detail-id').textContent = d.alert.alert_id;
  const facts = [['Rule', d.alert.rule], ['Severity', d.alert.severity], ['Status', d.alert.resolution ? `${d.alert.status} (${d.alert.resolution})` : d.alert.status],
    ['Subscriber', `${d.alert.client_id} / ${d.alert.site_id} / ${d.alert.user_id}${d.account ? ` — account ${d.account}` : ''}`], ['Month', d.period],
    ['Window', `${time(d.alert.first_seen)} → ${time(d.alert.last_seen)}`], ['Value / threshold', figures(d.alert)], ['Message', d.alert.message]];
  $('#detail-facts').replaceChildren(...facts.flatMap(([k, v]) => { const dt = document.createElement('dt'); dt.textContent = k; const dd = document.createElement('dd'); dd.textContent = v; dd.dataset.fact = k; return [dt, dd]; }));
  $('#counters tbody').replaceChildren(...rowsOr(d.counters.map((c) => row([cell(c.rule), cell(`${c.scope} ${c.scope_key}`), cell(c.value_display, 'num'), cell(c.threshold_display, 'num'), cell(c.left_display, 'num'), cell(c.crossed ? `yes ${time(c.crossed_at)}` : 'no', c.crossed ? 'crossed' : '')])), 6, 'No fair-use counter binds this subscriber this month.'));
  $('#evidence tbody').replaceChildren(...rowsOr(d.evidence.map((c) => row([cell(time(c.start_time)), callerCell(c), cell(c.callee), cell(`${c.destination_class} ${c.country}`), cell(String(c.billable_seconds), 'num'), cell(c.in_bundle ? 'yes' : 'no'), money(c.amount_display, c.amount, c.currency), cell(c.reason)])), 8, 'No rated call kept as evidence.'));
  $('#audit tbody').replaceChildren(...rowsOr(d.audit.map((e) => row([cell(time(e.at)), cell(e.actor), cell(e.action), cell(`${e.from} → ${e.to}`), cell(e.detail), cell(e.comment)])), 6, 'No change yet.'));
  state.account = d.account;
  $('#lock-account').textContent = d.account ?? '(no call in evidence: account unknown)';
  $('#lock-form').dataset.account = d.account ?? '';
  showLock(d.lock);
  for (const tr of document.querySelectorAll('#alerts tbody tr')) tr.classList.toggle('selected', tr.dataset.alertId === id);
  // A refused call never becomes a CDR: the switch's refusals are this account's only trace of them.
  const refused = d.account ? (await api(`/api/v1/call-decisions?account=${encodeURIComponent(d.account)}&limit=20`)).decisions : [];
  if (state.selected !== id) return; // another alert was opened meanwhile
  $('#refused tbody').replaceChildren(...rowsOr(refused.map((r) => row([cell(time(r.at)), cell(r.caller), cell(r.callee), cell(r.reason), cell(r.detail)])), 5, 'No call of this account refused at the switch.'));
}

// The form starts at the level in force: showing "none" while a lock holds would invite lifting it by
// mistake. The select is set only when the level in force changes, so a refresh does not undo a choice
// the analyst is making.
function showLock(l) {
  const level = l?.level ?? 'none';
  // A policy's lock says which rule set it and until when: the analyst sees a machine acted, and why.
  const by = l?.rule ? `; set by policy ${l.rule}, ${l.expires_at ? `lifts itself at ${l.expires_at}` : 'until lifted here'}` : '';
  $('#lock-state').textContent = l && level !== 'none' ? `current: ${level} (${l.reason}${by})` : 'current: none';
  const key = `${$('#lock-form').dataset.account}|${level}`;
  if (state.lockShown !== key) {
    $('#lock-form select[name=level]').value = level;
    state.lockShown = key;
  }
}

async function act(action) {
  const f = new FormData($('#case-form'));
  const body = { comment: String(f.get('comment') ?? '') };
  if (action === 'resolve') body.resolution = String(f.get('resolution'));
  $('#case-error').textContent = '';
  try {
    await api(`/api/v1/alerts/${encodeURIComponent(state.selected)}/${action}`, { method: 'POST', body: JSON.stringify(body) });
    $('#case-form').reset();
    await openAlert(state.selected);
    await refreshList();
    $('#notice').textContent = `Alert ${state.selected}: ${action} recorded.`;
  } catch (e) {
    $('#case-error').textContent = e.body?.field ? `${e.body.field}: ${e.body.expected}` : e.message;
  }
}

async function lock(event) {
  event.preventDefault();
  const account = $('#lock-form').dataset.account;
  const f = new FormData($('#lock-form'));
  $('#lock-error').textContent = '';
  try {
    const l = await api(`/api/v1/locks/${encodeURIComponent(account)}`, { method: 'PUT', body: JSON.stringify({ level: f.get('level'), reason: f.get('reason') }) });
    showLock(l);
    await openAlert(state.selected);
  } catch (e) {
    $('#lock-error').textContent = e.body?.field ? `${e.body.field}: ${e.body.expected}` : e.message;
  }
}

// Live updates. The stream is read with fetch() rather than EventSource: EventSource cannot send the
// Authorization header, and the token must never be put in a URL (URLs reach proxy and server logs).
async function live() {
  while (state.token) {
    const abort = new AbortController();
    let silence = setTimeout(() => abort.abort(), SILENT_MS);
    try {
      const res = await fetch('/api/v1/events', { headers: { authorization: `Bearer ${state.token}`, accept: 'text/event-stream' }, signal: abort.signal });
      if (res.status === 401) return; // revoked: the next request says so; polling goes on meanwhile
      if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(silence);
        silence = setTimeout(() => abort.abort(), SILENT_MS);
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          onStreamEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch { /* dropped, refused or silent: poll meanwhile and reconnect */ }
    clearTimeout(silence);
    setLive(false);
    await new Promise((ok) => setTimeout(ok, state.retryMs));
    state.retryMs = Math.min(state.retryMs * 2, 30_000);
  }
}

function onStreamEvent(block) {
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (event === 'hello') {
    // Connected (again): whatever happened while the stream was down is fetched once.
    setLive(true);
    state.retryMs = 1000;
    changed([{ type: 'resync' }]);
  } else if (event === 'change') {
    changed(JSON.parse(data).changes);
  }
}

function setLive(on) {
  state.live = on;
  $('#live').textContent = on ? 'live' : 'polling every 5 s';
  $('#live').className = on ? 'live on' : 'live';
}

function changed(changes) {
  state.pending.push(...changes);
  state.gather ??= setTimeout(() => void applyChanges(), GATHER_MS);
}

// One reload of the list, and of the open alert when the change concerns it or its account's lock.
async function applyChanges() {
  const changes = state.pending;
  state.pending = [];
  state.gather = null;
  const concernsOpen = state.selected !== null && changes.some((c) => c.type === 'resync'
    || (c.type === 'alert' && c.alert_id === state.selected)
    || (c.type === 'audit' && (c.subject_id === state.selected || (c.subject_type === 'lock' && c.subject_id === state.account))));
  try {
    const n = await refreshList();
    if (n > 0) $('#notice').textContent = `${n} new or changed alert(s) at ${time(new Date().toISOString())}.`;
    if (concernsOpen) await openAlert(state.selected);
    // The panels below the list follow; one that fails to load leaves the others (and the list) as they are.
    const caseTouched = changes.some((c) => c.type === 'resync' || c.type === 'alert' || (c.type === 'audit' && c.subject_type === 'case'));
    await Promise.allSettled([loadDeliveries(), loadRejects(), caseTouched ? loadCases() : null, caseTouched && state.openCase ? openCase(state.openCase) : null]);
  } catch { /* the next change or poll retries */ }
}

// The fallback: every 5 s while the stream is down, the list and the open alert are read again.
function startFallback() {
  state.fallback ??= setInterval(() => {
    if (!state.live) changed([{ type: 'resync' }]);
  }, POLL_MS);
}

// Whether the people who must know were told: each notice per channel, delivered, pending or failed.
async function loadDeliveries() {
  const d = await api('/api/v1/notifications?limit=20');
  const none = d.channels.length === 0 ? 'No channel configured (config/notifications.yaml): nobody is told.' : 'Nothing sent yet.';
  $('#deliveries tbody').replaceChildren(...rowsOr(d.deliveries.map((x) => row([cell(time(x.created_at)), cell(x.channel), cell(x.kind), cell(x.subject), cell(x.state, `delivery-${x.state}`), cell(String(x.attempts), 'num'), cell(x.last_error)])), 7, none));
}

// Volume read and not billed: what no alert shows (callers no directory knows are nobody's alert).
async function loadRejects() {
  const r = await api('/api/v1/rejects?limit=20');
  $('#rejects tbody').replaceChildren(...rowsOr(r.groups.map((g) => row([cell(g.source), cell(g.reason), cell(g.count.toLocaleString('en-GB'), 'num')])), 3, 'Every record read was billed or counted as a duplicate.'));
}

async function loadCharts() {
  const c = await api('/api/v1/charts/daily?days=30');
  const palette = ['#b3261e', '#0b57d0', '#f6a700', '#188038', '#8e24aa', '#00838f', '#6d4c41', '#c2185b', '#5f6368', '#1e8e3e'];
  const datasets = Object.entries(c.alerts_per_rule).map(([rule, counts], i) => ({ label: rule, data: counts, backgroundColor: palette[i % palette.length] }));
  state.charts.alerts?.destroy();
  state.charts.alerts = new Chart($('#alerts-chart'), { type: 'bar', data: { labels: c.days, datasets }, options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } });
  state.charts.spend?.destroy();
  state.charts.spend = new Chart($('#spend-chart'), {
    type: 'line',
    // Number() only to place the points; the tooltip shows the exact decimal text.
    data: { labels: c.days, datasets: [{ label: `out of bundle (${c.currency})`, data: c.out_of_bundle_spend.map((s) => Number(s.amount_display)), borderColor: '#0b57d0' }] },
    options: { animation: false, plugins: { tooltip: { callbacks: { label: (ctx) => { const s = c.out_of_bundle_spend[ctx.dataIndex]; return `${s.amount_display} € (exact ${s.amount})`; } } } }, scales: { y: { beginAtZero: true } } },
  });
}

$('#login-form').addEventListener('submit', (e) => { e.preventDefault(); void login($('#token').value.trim()); });
$('#logout').addEventListener('click', () => { sessionStorage.removeItem('cdr-token'); location.reload(); });
$('#filters').addEventListener('submit', (e) => { e.preventDefault(); state.offset = 0; state.listed = new Map(); void refreshList(); });
$('#prev').addEventListener('click', () => { state.offset = Math.max(0, state.offset - PAGE); state.listed = new Map(); void refreshList(); });
$('#next').addEventListener('click', () => { state.offset += PAGE; state.listed = new Map(); void refreshList(); });
for (const b of document.querySelectorAll('#case-form button[data-action]')) b.addEventListener('click', () => void act(b.dataset.action));
$('#lock-form').addEventListener('submit', (e) => void lock(e));
if (state.token) void login(state.token);

// Keyboard: every row is reachable with Tab and opens with Enter; the keys listed on the page (#shortcuts)
// move through the list and to the forms. Typing in a field is never taken for a shortcut.
function alertRows() {
  return [...document.querySelectorAll('#alerts tbody tr[data-alert-id]')];
}

async function step(by) {
  const rows = alertRows();
  if (rows.length === 0) return;
  const at = rows.findIndex((r) => r.dataset.alertId === state.selected);
  const next = rows[Math.min(rows.length - 1, Math.max(0, at === -1 ? 0 : at + by))];
  next.focus();
  await openAlert(next.dataset.alertId);
}

document.addEventListener('keydown', (e) => {
  if (state.token === null || e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = e.target instanceof HTMLElement && (['INPUT', 'TEXTAREA', 'SELECT'].includes(e.target.tagName) || e.target.isContentEditable);
  if (e.key === 'Escape') {
    (alertRows().find((r) => r.dataset.alertId === state.selected) ?? alertRows()[0])?.focus();
    return;
  }
  if (typing) return;
  if (e.key === 'j' || e.key === 'k') { e.preventDefault(); void step(e.key === 'j' ? 1 : -1); }
  else if (e.key === '/') { e.preventDefault(); $('#filters input[name=rule]').focus(); }
  else if (e.key === 'c' && !$('#detail').hidden) { e.preventDefault(); $('#case-form textarea[name=comment]').focus(); }
});

// Selection and bulk actions: acknowledge or resolve many alerts, or make them one case, with one comment.
function showChecked() {
  $('#bulk-count').textContent = `${state.checked.size} selected`;
}

async function bulk(action) {
  const f = new FormData($('#bulk-form'));
  const comment = String(f.get('comment') ?? '');
  const ids = [...state.checked];
  $('#bulk-error').textContent = '';
  if (ids.length === 0) { $('#bulk-error').textContent = 'Select alerts first (the boxes of the list).'; return; }
  try {
    if (action === 'case') {
      const c = await api('/api/v1/cases', { method: 'POST', body: JSON.stringify({ alert_ids: ids, comment }) });
      $('#notice').textContent = `Case ${c.case_id} made of ${ids.length} alert(s).`;
      await openCase(c.case_id);
    } else {
      const body = { ids, action, comment };
      if (action === 'resolve') body.resolution = String(f.get('resolution'));
      const r = await api('/api/v1/alerts/bulk', { method: 'POST', body: JSON.stringify(body) });
      $('#notice').textContent = `${action}: ${r.applied} alert(s) done${r.refused ? `, ${r.refused} refused (already in that state)` : ''}.`;
    }
    state.checked.clear();
    showChecked();
    $('#bulk-form').reset();
    await Promise.all([refreshList(), loadCases()]);
  } catch (e) {
    $('#bulk-error').textContent = e.body?.field ? `${e.body.field}: ${e.body.expected}` : e.message;
  }
}

// Cases: one incident's alerts, its owner and state, what it puts at risk, its timeline.
async function loadCases() {
  const r = await api('/api/v1/cases?limit=50');
  $('#cases tbody').replaceChildren(...rowsOr(r.cases.map((c) => {
    const tr = row([cell(c.case_id), cell(c.title), cell(c.client_id), cell(c.resolution ? `${c.state} (${c.resolution})` : c.state), cell(c.owner), cell(c.severity), cell(String(c.alert_ids.length), 'num'), cell(c.window_start ? `${time(c.window_start)} → ${time(c.window_end)}` : '')]);
    tr.dataset.caseId = c.case_id;
    tr.tabIndex = 0;
    tr.addEventListener('click', () => void openCase(c.case_id));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') void openCase(c.case_id); });
    return tr;
  }), 8, 'No case yet: select alerts of one incident and make a case of them.'));
}

async function openCase(id) {
  state.openCase = id;
  link(`case=${encodeURIComponent(id)}`);
  const [d, t] = await Promise.all([api(`/api/v1/cases/${encodeURIComponent(id)}`), api(`/api/v1/cases/${encodeURIComponent(id)}/timeline?calls=50`)]);
  $('#case-detail').hidden = false;
  $('#case-id').textContent = d.case.case_id;
  const m = d.money_at_risk;
  const facts = [['Title', d.case.title], ['Client', `${d.case.client_id}${d.case.site_id ? ` / ${d.case.site_id}` : ''}${d.case.user_id ? ` / ${d.case.user_id}` : ''}`],
    ['State', d.case.resolution ? `${d.case.state} (${d.case.resolution})` : d.case.state], ['Owner', d.case.owner || 'nobody'], ['Alerts', d.alerts.map((a) => `${a.rule} ${a.alert_id}`).join(', ')],
    ['Money at risk', m ? `${m.out_of_bundle_spend_display} € out of bundle (${m.out_of_bundle_calls} calls); ${m.premium_minutes} premium and ${m.international_minutes} international minutes` : 'no window yet']];
  $('#case-facts').replaceChildren(...facts.flatMap(([k, v]) => { const dt = document.createElement('dt'); dt.textContent = k; const dd = document.createElement('dd'); dd.textContent = v; dd.dataset.caseFact = k; return [dt, dd]; }));
  const what = (e) => e.kind === 'alert' ? `${e.alert.rule} ${e.alert.alert_id}: ${e.alert.message}`
    : e.kind === 'call' ? `${e.call.callee} ${e.call.destination_class} ${e.call.billable_seconds} s ${e.call.amount_display} €`
    : `${e.event.actor}: ${e.event.action} ${e.event.from} → ${e.event.to}${e.event.comment ? ` — ${e.event.comment}` : ''}`;
  $('#case-timeline tbody').replaceChildren(...rowsOr(t.entries.map((e) => row([cell(time(e.at)), cell(e.kind), cell(what(e))])), 3, 'Nothing yet.'));
}

async function workCase(action) {
  const f = new FormData($('#case-work'));
  const comment = String(f.get('comment') ?? '');
  const id = state.openCase;
  $('#case-work-error').textContent = '';
  try {
    if (action === 'owner') await api(`/api/v1/cases/${encodeURIComponent(id)}/owner`, { method: 'PUT', body: JSON.stringify({ owner: String(f.get('owner') ?? ''), comment }) });
    else {
      const body = { comment };
      if (action === 'resolve') body.resolution = String(f.get('resolution'));
      await api(`/api/v1/cases/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: JSON.stringify(body) });
    }
    $('#case-work').reset();
    await Promise.all([openCase(id), loadCases(), refreshList()]);
  } catch (e) {
    $('#case-work-error').textContent = e.body?.field ? `${e.body.field}: ${e.body.expected}` : e.message;
  }
}

// Search: a number (as dialled or E.164), an account, a client, site or user id, an alert or a case id.
async function search(event) {
  event.preventDefault();
  const q = String(new FormData($('#search-form')).get('q') ?? '');
  try {
    const r = await api(`/api/v1/search?q=${encodeURIComponent(q)}`);
    $('#search-info').textContent = `${r.results.length} result(s)${r.truncated ? ' (first ones only)' : ''}${r.number ? `; read as ${r.number}` : ''}`;
    $('#search-results tbody').replaceChildren(...rowsOr(r.results.map((h) => {
      const tr = row([cell(h.type), cell(h.id), cell(h.title), cell([h.client_id, h.site_id, h.user_id].filter(Boolean).join(' / ')), cell(h.at ? time(h.at) : ''), cell(h.matched)]);
      if (h.type === 'alert' || h.type === 'case') {
        tr.tabIndex = 0;
        const open = () => void (h.type === 'alert' ? openAlert(h.id) : openCase(h.id));
        tr.addEventListener('click', open);
        tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
      }
      return tr;
    }), 6, 'Nothing matches.'));
  } catch (e) {
    $('#search-info').textContent = e.body?.field ? `${e.body.field}: ${e.body.expected}` : e.message;
  }
}

for (const b of document.querySelectorAll('#bulk-form button[data-bulk]')) b.addEventListener('click', () => void bulk(b.dataset.bulk));
for (const b of document.querySelectorAll('#case-work button[data-case]')) b.addEventListener('click', () => void workCase(b.dataset.case));
$('#search-form').addEventListener('submit', (e) => void search(e));
$('#select-all').addEventListener('change', (e) => {
  for (const box of document.querySelectorAll('#alerts tbody input[type=checkbox]')) {
    box.checked = e.target.checked;
    const id = box.closest('tr').dataset.alertId;
    if (box.checked) state.checked.add(id); else state.checked.delete(id);
  }
  showChecked();
});

// A link for every alert and case: the address says what is open (#alert=…, #case=…), so it can be sent
// to a colleague (who logs in with their own token) and opened again; the token never goes in it.
function link(fragment) {
  if (location.hash !== `#${fragment}`) history.replaceState(null, '', `#${fragment}`);
}

async function followLink() {
  const m = /^#(alert|case)=(.+)$/.exec(location.hash);
  if (m === null) return;
  const id = decodeURIComponent(m[2]);
  try {
    if (m[1] === 'alert') await openAlert(id); else await openCase(id);
  } catch (e) {
    $('#notice').textContent = e.status === 404 ? `The link names ${m[1]} ${id}, which does not exist (any more).` : `Cannot open ${m[1]} ${id}: ${e.message}`;
  }
}

window.addEventListener('hashchange', () => { if (state.token) void followLink(); });
