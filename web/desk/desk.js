// The fraud desk page: plain ES module, no build step. Talks to /api/v1 with the token kept in
// sessionStorage (gone when the browser session ends). Changes made anywhere (another analyst, a
// detector in another process) arrive live from /api/v1/events; while that stream is down the page
// polls every 5 s instead.
import { locale, switchLanguage, t, translate, word } from './i18n.js';

const POLL_MS = 5000;
// A stream that has said nothing for this long (heartbeats come every 15 s) is dead, whatever the socket says.
const SILENT_MS = 45_000;
// Changes arriving together (a status move is an alert change and an audit event) cost one reload.
const GATHER_MS = 150;
const PAGE = 50;
const ZONE = 'Europe/Paris';

let when = formatter();
function formatter() {
  return new Intl.DateTimeFormat(locale(), { timeZone: ZONE, dateStyle: 'short', timeStyle: 'medium' });
}
const count = (n) => n.toLocaleString(locale());

const $ = (sel) => document.querySelector(sel);
const state = { token: sessionStorage.getItem('cdr-token'), offset: 0, selected: null, checked: new Set(), openCase: null, subscriber: null, account: null, listed: new Map(), charts: {}, live: false, retryMs: 1000, pending: [], gather: null, fallback: null };

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
// A figure in its unit and the page's language: durations come as h:mm from the server (value_display),
// counts of numbers or calls are worded here; a plain figure is shown as sent.
const inUnit = (unit, value, display) => (unit === 'distinct_numbers' || unit === 'concurrent_calls' ? t(`unit.${unit}`, { n: count(Number(value)) }) : display ?? String(value));
const figures = (a) => `${inUnit(a.unit, a.value, a.value_display)} / ${inUnit(a.unit, a.threshold, a.threshold_display)}`;
// The caller ID the switch presented (a 089B number raises fraud.premium_cli), with the number it was billed under.
const callerCell = (c) => { const td = cell(c.presented_caller ?? c.caller); if (c.presented_caller && c.presented_caller !== c.caller) td.title = t('evidence.rewritten', { caller: c.caller }); return td; };
const money = (display, exact, currency = 'EUR') => { const td = cell(`${display} ${currency === 'EUR' ? '€' : currency}`, 'num'); td.title = t('exact', { amount: exact, currency }); return td; };
// Facts of a detail: the label in the page's language, the attribute keeps the English name (a stable hook).
const facts = (pairs, kind) => pairs.flatMap(([k, v]) => { const dt = document.createElement('dt'); dt.textContent = t(`${kind}.fact.${k}`); const dd = document.createElement('dd'); if (v instanceof Node) dd.append(v); else dd.textContent = v; dd.dataset[{ alert: 'fact', case: 'caseFact', sub: 'subFact' }[kind]] = k; return [dt, dd]; });
// Client / site / user as far as they are known (a client-wide alert names no site or user).
const scopeOf = (x) => [x.client_id, x.site_id, x.user_id].filter(Boolean).join(' / ');
const statusOf = (x, kind = 'status') => (x.resolution ? `${word(kind, x.state ?? x.status)} (${word('resolution', x.resolution)})` : word(kind, x.state ?? x.status));
const severityBadge = (severity) => { const td = cell(''); const badge = document.createElement('span'); badge.className = `sev-${severity}`; badge.textContent = word('severity', severity); td.append(badge); return td; };

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
    $('#login-error').textContent = e.status === 401 ? t('login.unknown') : t('login.failed', { message: e.message });
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
    const pick = cell('');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = state.checked.has(a.alert_id);
    box.setAttribute('aria-label', t('select.one', { id: a.alert_id }));
    box.addEventListener('click', (e) => e.stopPropagation());
    box.addEventListener('change', () => { if (box.checked) state.checked.add(a.alert_id); else state.checked.delete(a.alert_id); showChecked(); });
    pick.append(box);
    const tr = row([pick, severityBadge(a.severity), cell(a.rule), cell(scopeOf(a)), cell(time(a.first_seen)), cell(time(a.last_seen)), cell(figures(a), 'num'), cell(word('status', a.status))]);
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
  $('#page-info').textContent = page.total === 0 ? t('paging.none') : t('paging.range', { from: count(state.offset + 1), to: count(last), total: count(page.total) });
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
      $('#filter-error').textContent = e.body?.field === 'period' ? t('filter.bad_month') : `${e.body?.field ?? 'filter'}: ${e.body?.expected ?? e.message}`;
      $('#alerts tbody').replaceChildren(...rowsOr([], 8, t('filter.fix')));
      $('#page-info').textContent = '';
      state.listed = new Map();
    } else {
      $('#filter-error').textContent = t('filter.cannot_load', { message: e.message });
    }
    return 0;
  }
}

async function openAlert(id) {
  state.selected = id;
  link(`alert=${encodeURIComponent(id)}`);
  const d = await api(`/api/v1/alerts/${encodeURIComponent(id)}`);
  // An answer for an alert opened before (a slow answer, a live refresh) must not cover the one opened last.
  if (state.selected !== id) return;
  $('#detail').hidden = false;
  $('#detail-id').textContent = d.alert.alert_id;
  const a = d.alert;
  const who = subscriberLink(a.client_id, a.site_id, a.user_id, d.period, `${scopeOf(a)}${d.account ? t('alert.account', { account: d.account }) : ''}`);
  $('#detail-facts').replaceChildren(...facts([['Rule', a.rule], ['Severity', word('severity', a.severity)], ['Status', statusOf(a)], ['Subscriber', who], ['Month', d.period],
    ['Window', `${time(a.first_seen)} → ${time(a.last_seen)}`], ['Value / threshold', figures(a)], ['Message', a.message]], 'alert'));
  $('#counters tbody').replaceChildren(...counterRows(d.counters));
  $('#evidence tbody').replaceChildren(...rowsOr(d.evidence.map((c) => row([cell(time(c.start_time)), callerCell(c), cell(c.callee), cell(`${c.destination_class} ${c.country}`), cell(String(c.billable_seconds), 'num'), cell(t(c.in_bundle ? 'yes' : 'no')), money(c.amount_display, c.amount, c.currency), cell(c.reason)])), 8, t('evidence.none')));
  $('#audit tbody').replaceChildren(...rowsOr(d.audit.map((e) => row([cell(time(e.at)), cell(e.actor), cell(e.action), cell(`${e.from} → ${e.to}`), cell(e.detail), cell(e.comment)])), 6, t('audit.none')));
  state.account = d.account;
  $('#lock-account').textContent = d.account ?? t('lock.unknown_account');
  $('#lock-form').dataset.account = d.account ?? '';
  showLock(d.lock);
  for (const tr of document.querySelectorAll('#alerts tbody tr')) tr.classList.toggle('selected', tr.dataset.alertId === id);
  // A refused call never becomes a CDR: the switch's refusals are this account's only trace of them.
  const refused = d.account ? (await api(`/api/v1/call-decisions?account=${encodeURIComponent(d.account)}&limit=20`)).decisions : [];
  if (state.selected !== id) return; // another alert was opened meanwhile
  $('#refused tbody').replaceChildren(...rowsOr(refused.map((r) => row([cell(time(r.at)), cell(r.caller), cell(r.callee), cell(r.reason), cell(r.detail)])), 5, t('refused.none')));
}

// A month's fair-use counters against their thresholds, in the unit a person reads (the server's h:mm, numbers, calls).
function counterRows(counters) {
  return rowsOr(counters.map((c) => row([cell(c.rule), cell(`${c.scope} ${c.scope_key}`), cell(inUnit(c.unit, c.value, c.value_display), 'num'), cell(inUnit(c.unit, c.threshold, c.threshold_display), 'num'), cell(inUnit(c.unit, c.left, c.left_display), 'num'), cell(c.crossed ? t('yes_at', { at: time(c.crossed_at) }) : t('no'), c.crossed ? 'crossed' : '')])), 6, t('counters.none'));
}

// The form starts at the level in force: showing "none" while a lock holds would invite lifting it by
// mistake. The select is set only when the level in force changes, so a refresh does not undo a choice
// the analyst is making.
function showLock(l) {
  const level = l?.level ?? 'none';
  // A policy's lock says which rule set it and until when: the analyst sees a machine acted, and why.
  const by = l?.rule ? t('lock.by_policy', { rule: l.rule, until: l.expires_at ? t('lock.lifts_at', { at: time(l.expires_at) }) : t('lock.until_lifted') }) : '';
  $('#lock-state').textContent = l && level !== 'none' ? t('lock.current', { level, reason: l.reason, by }) : t('lock.current_none');
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
    $('#notice').textContent = t('alert.recorded', { id: state.selected, action: word('action', action) });
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
  $('#live').textContent = t(on ? 'live.on' : 'live.off');
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
    if (n > 0) $('#notice').textContent = t('changes.notice', { n, at: time(new Date().toISOString()) });
    if (concernsOpen) await openAlert(state.selected);
    // The panels below the list follow; one that fails to load leaves the others (and the list) as they are.
    const caseTouched = changes.some((c) => c.type === 'resync' || c.type === 'alert' || (c.type === 'audit' && c.subject_type === 'case'));
    await Promise.allSettled([loadDeliveries(), loadRejects(), caseTouched ? loadCases() : null, caseTouched && state.openCase ? openCase(state.openCase) : null, state.subscriber ? openSubscriber(state.subscriber) : null]);
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
  const none = t(d.channels.length === 0 ? 'notifications.no_channel' : 'notifications.none');
  $('#deliveries tbody').replaceChildren(...rowsOr(d.deliveries.map((x) => row([cell(time(x.created_at)), cell(x.channel), cell(word('kind', x.kind)), cell(x.subject), cell(word('delivery', x.state), `delivery-${x.state}`), cell(String(x.attempts), 'num'), cell(x.last_error)])), 7, none));
}

// Volume read and not billed: what no alert shows (callers no directory knows are nobody's alert).
async function loadRejects() {
  const r = await api('/api/v1/rejects?limit=20');
  $('#rejects tbody').replaceChildren(...rowsOr(r.groups.map((g) => row([cell(g.source), cell(g.reason), cell(count(g.count), 'num')])), 3, t('unbilled.none')));
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
    data: { labels: c.days, datasets: [{ label: t('charts.out_of_bundle', { currency: c.currency }), data: c.out_of_bundle_spend.map((s) => Number(s.amount_display)), borderColor: '#0b57d0' }] },
    options: { animation: false, plugins: { tooltip: { callbacks: { label: (ctx) => { const s = c.out_of_bundle_spend[ctx.dataIndex]; return t('charts.exact', { display: s.amount_display, exact: s.amount }); } } } }, scales: { y: { beginAtZero: true } } },
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
  $('#bulk-count').textContent = t('bulk.selected', { n: state.checked.size });
}

async function bulk(action) {
  const f = new FormData($('#bulk-form'));
  const comment = String(f.get('comment') ?? '');
  const ids = [...state.checked];
  $('#bulk-error').textContent = '';
  if (ids.length === 0) { $('#bulk-error').textContent = t('bulk.none'); return; }
  try {
    if (action === 'case') {
      const c = await api('/api/v1/cases', { method: 'POST', body: JSON.stringify({ alert_ids: ids, comment }) });
      $('#notice').textContent = t('bulk.case_made', { id: c.case_id, n: ids.length });
      await openCase(c.case_id);
    } else {
      const body = { ids, action, comment };
      if (action === 'resolve') body.resolution = String(f.get('resolution'));
      const r = await api('/api/v1/alerts/bulk', { method: 'POST', body: JSON.stringify(body) });
      $('#notice').textContent = `${t('bulk.done', { action: word('action', action), n: r.applied })}${r.refused ? t('bulk.refused', { n: r.refused }) : ''}.`;
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
    const tr = row([cell(c.case_id), cell(c.title), cell(c.client_id), cell(statusOf(c, 'state')), cell(c.owner), cell(word('severity', c.severity)), cell(String(c.alert_ids.length), 'num'), cell(c.window_start ? `${time(c.window_start)} → ${time(c.window_end)}` : '')]);
    return opens(tr, 'caseId', c.case_id, () => openCase(c.case_id));
  }), 8, t('cases.none')));
}

async function openCase(id) {
  state.openCase = id;
  link(`case=${encodeURIComponent(id)}`);
  const [d, timeline] = await Promise.all([api(`/api/v1/cases/${encodeURIComponent(id)}`), api(`/api/v1/cases/${encodeURIComponent(id)}/timeline?calls=50`)]);
  // The case shown is the one the buttons below act on (state.openCase): an earlier case answering late must not cover it.
  if (state.openCase !== id) return;
  $('#case-detail').hidden = false;
  $('#case-id').textContent = d.case.case_id;
  const m = d.money_at_risk;
  const c = d.case;
  const scope = scopeOf(c);
  $('#case-facts').replaceChildren(...facts([['Title', c.title], ['Client', subscriberLink(c.client_id, c.site_id, c.user_id, periodOf(c.window_start), scope)],
    ['State', statusOf(c, 'state')], ['Owner', c.owner || t('case.nobody')], ['Alerts', d.alerts.map((a) => `${a.rule} ${a.alert_id}`).join(', ')],
    ['Money at risk', m ? t('case.at_risk', { spend: m.out_of_bundle_spend_display, calls: m.out_of_bundle_calls, premium: m.premium_minutes, international: m.international_minutes }) : t('case.no_window')]], 'case'));
  const what = (e) => e.kind === 'alert' ? `${e.alert.rule} ${e.alert.alert_id}: ${e.alert.message}`
    : e.kind === 'call' ? `${e.call.callee} ${e.call.destination_class} ${e.call.billable_seconds} s ${e.call.amount_display} €`
    : `${e.event.actor}: ${e.event.action} ${e.event.from} → ${e.event.to}${e.event.comment ? ` — ${e.event.comment}` : ''}`;
  $('#case-timeline tbody').replaceChildren(...rowsOr(timeline.entries.map((e) => row([cell(time(e.at)), cell(word('kind', e.kind)), cell(what(e))])), 3, t('timeline.none')));
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
    $('#search-info').textContent = `${t('search.count', { n: r.results.length })}${r.truncated ? t('search.first_only') : ''}${r.number ? t('search.read_as', { number: r.number }) : ''}`;
    $('#search-results tbody').replaceChildren(...rowsOr(r.results.map((h) => {
      const tr = row([cell(word('hit', h.type)), cell(h.id), cell(h.title), cell(scopeOf(h)), cell(h.at ? time(h.at) : ''), cell(h.matched)]);
      // Every hit opens: an alert or a case its detail, a subscriber, client, site or call the subscriber view (the url says which month).
      const open = h.type === 'alert' ? () => openAlert(h.id) : h.type === 'case' ? () => openCase(h.id) : () => openSubscriber(scopeOfUrl(h.url));
      return opens(tr, 'hit', h.id, open);
    }), 6, t('search.none')));
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
  const m = /^#(alert|case|subscriber)=(.+)$/.exec(location.hash);
  if (m === null) return;
  const id = m[1] === 'subscriber' ? m[2] : decodeURIComponent(m[2]);
  try {
    if (m[1] === 'alert') await openAlert(id);
    else if (m[1] === 'case') await openCase(id);
    else await openSubscriber(scopeOfFragment(id));
  } catch (e) {
    const kind = word('hit', m[1]);
    $('#notice').textContent = e.status === 404 ? t('link.missing', { kind, id }) : t('link.failed', { kind, id, message: e.message });
  }
}

window.addEventListener('hashchange', () => { if (state.token) void followLink(); });

// Rows that open something: reachable with Tab, opened with a click or Enter.
function opens(tr, key, id, open) {
  tr.dataset[key] = id;
  tr.tabIndex = 0;
  tr.addEventListener('click', () => void open());
  tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') void open(); });
  return tr;
}

// The subscriber view: a client's, site's or user's month (/api/v1/subscribers), opened from every alert,
// case and search hit, with its own link: #subscriber=client/site/user/YYYY-MM (site and user may be empty).
const monthOf = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit' });
function periodOf(iso) {
  return monthOf.format(iso ? new Date(iso) : new Date()).slice(0, 7);
}

function subscriberFragment(s) {
  return `subscriber=${[s.client, s.site, s.user].map((v) => encodeURIComponent(v ?? '')).join('/')}/${s.period}`;
}

function scopeOfFragment(text) {
  const [client = '', site = '', user = '', period = periodOf(null)] = text.split('/').map(decodeURIComponent);
  return { client, site, user, period };
}

function scopeOfUrl(url) {
  const u = new URL(url, location.origin);
  return { client: decodeURIComponent(u.pathname.split('/').pop()), site: u.searchParams.get('site') ?? '', user: u.searchParams.get('user') ?? '', period: u.searchParams.get('period') ?? periodOf(null) };
}

function subscriberLink(client, site, user, period, text) {
  const a = document.createElement('a');
  a.href = `#${subscriberFragment({ client, site, user, period })}`;
  a.textContent = text;
  a.title = t('sub.open_link', { scope: scopeOf({ client_id: client, site_id: site, user_id: user }) });
  return a;
}

async function openSubscriber(s) {
  state.subscriber = s;
  link(subscriberFragment(s));
  const q = new URLSearchParams({ period: s.period, calls: '20' });
  if (s.site) q.set('site', s.site);
  if (s.user) q.set('user', s.user);
  const scope = scopeOf({ client_id: s.client, site_id: s.site, user_id: s.user });
  $('#subscriber').hidden = false;
  $('#sub-scope').textContent = scope;
  $('#sub-month input[name=period]').value = s.period;
  $('#sub-error').textContent = '';
  let v;
  try {
    v = await api(`/api/v1/subscribers/${encodeURIComponent(s.client)}?${q}`);
  } catch (e) {
    $('#sub-error').textContent = e.status === 404 ? t('sub.not_found', { scope }) : e.body?.field ? `${e.body.field}: ${e.body.expected}` : e.message;
    return;
  }
  if (state.subscriber !== s) return; // another one was opened meanwhile
  const locks = v.locks.length === 0 ? t('sub.no_lock') : v.locks.map((l) => `${l.account}: ${l.level} (${l.reason})`).join('; ');
  $('#sub-facts').replaceChildren(...facts([['Lines', count(v.lines)], ['Plans', v.plans.map((p) => t('sub.plan_lines', { name: p.name, n: p.lines })).join(', ')], ['Locks', locks]], 'sub'));
  showDays(v);
  $('#sub-counters tbody').replaceChildren(...counterRows(v.counters));
  $('#sub-alerts-more').textContent = v.alerts_total > v.alerts.length ? t('sub.more', { shown: v.alerts.length, total: v.alerts_total }) : '';
  $('#sub-alerts tbody').replaceChildren(...rowsOr(v.alerts.map((a) => opens(row([severityBadge(a.severity), cell(a.rule), cell(scopeOf(a)), cell(time(a.first_seen)), cell(figures(a), 'num'), cell(statusOf(a))]), 'alertId', a.alert_id, () => openAlert(a.alert_id))), 6, t('sub.alerts.none')));
  $('#sub-cases tbody').replaceChildren(...rowsOr(v.cases.map((c) => opens(row([cell(c.case_id), cell(c.title), cell(statusOf(c, 'state')), cell(c.owner), cell(String(c.alert_ids.length), 'num')]), 'caseId', c.case_id, () => openCase(c.case_id))), 5, t('cases.none')));
  $('#sub-calls tbody').replaceChildren(...rowsOr(v.recent_calls.map((c) => row([cell(time(c.start_time)), cell(c.caller), cell(c.callee), cell(`${c.destination_class} ${c.country}`), cell(String(c.billable_seconds), 'num'), cell(t(c.in_bundle ? 'yes' : 'no')), money(c.amount_display, c.amount, c.currency)])), 7, t('sub.calls.none')));
}

// The month's days as a sparkline of calls (out-of-bundle € on hover), and the month's totals in words
// (what a screen reader reads, as the canvas's label).
function showDays(v) {
  const m = v.month;
  const total = `${t('sub.days_total', { calls: count(m.calls), minutes: count(Math.round(m.billable_seconds / 60)), spend: m.out_of_bundle_display })}${v.calls_of_other_days > 0 ? t('sub.other_days', { n: count(v.calls_of_other_days) }) : ''}`;
  $('#sub-days-total').textContent = total;
  $('#sub-spark').setAttribute('aria-label', `${t('sub.spark', { period: v.period })}: ${total}`);
  state.charts.spark?.destroy();
  state.charts.spark = new Chart($('#sub-spark'), {
    type: 'line',
    data: { labels: v.days.map((d) => d.day), datasets: [{ data: v.days.map((d) => d.calls), borderColor: '#0b57d0', pointRadius: 0, borderWidth: 1.5, tension: 0.2 }] },
    options: {
      animation: false, maintainAspectRatio: false, interaction: { mode: 'index', intersect: false },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => { const d = v.days[ctx.dataIndex]; return `${count(d.calls)} · ${d.out_of_bundle_display} €`; } } } },
      scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
    },
  });
}

$('#sub-month').addEventListener('submit', (e) => {
  e.preventDefault();
  if (state.subscriber) void openSubscriber({ ...state.subscriber, period: String(new FormData($('#sub-month')).get('period')) });
});

// The language switch: every word of the page again, and what is on it read again in the new language.
$('#lang').addEventListener('click', () => {
  switchLanguage();
  when = formatter();
  translate();
  showChecked();
  if (state.token === null || $('#desk').hidden) return;
  setLive(state.live);
  void loadCharts();
  changed([{ type: 'resync' }]);
});
translate();
showChecked();
