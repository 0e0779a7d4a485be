/* linkwatch console: plain JS over the JSON API. Every value from the API is
 * put in the page with textContent or as an SVG attribute, never as HTML. */
'use strict';
(function () {
  const $ = (s) => document.querySelector(s);
  const state = { alerts: [], sel: -1, next: null, filters: {}, world: null, live: 0 };
  const SVGNS = 'http://www.w3.org/2000/svg';

  async function api(path, opts) {
    opts = opts || {};
    opts.headers = Object.assign({ 'X-Requested-With': 'linkwatch' }, opts.headers || {});
    opts.credentials = 'same-origin';
    const r = await fetch(path, opts);
    let body = null;
    try { body = await r.json(); } catch (e) { body = { error: 'bad reply' }; }
    if (r.status === 401 && path !== '/api/login') { showLogin(); throw new Error('login required'); }
    if (!r.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + r.status);
    return body;
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /* Redis may hold anything: a value of the wrong type is drawn as text
   * (or left empty), never allowed to stop the drawing of the rest. */
  function txt(v) { return typeof v === 'string' ? v : (v === undefined || v === null ? '' : String(v)); }
  function isoTime(sec, n) {
    const d = new Date(Number(sec) * 1000);
    return isNaN(d.getTime()) ? '' : d.toISOString().slice(0, n);
  }
  function obj(v) { return v && typeof v === 'object' && !Array.isArray(v) ? v : {}; }
  function cc(ev) {
    const g = obj(ev.geo);
    const s = txt(obj(g.src).country), d = txt(obj(g.dest).country);
    return s || d ? s + '\u2192' + d : '';
  }
  function fmtBytes(n) {
    const u = ['B', 'kB', 'MB', 'GB', 'TB']; let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  function query(extra) {
    const p = new URLSearchParams();
    for (const k in state.filters) if (state.filters[k]) p.set(k, state.filters[k]);
    for (const k in (extra || {})) p.set(k, extra[k]);
    return p.toString();
  }

  /* ---- login */
  function showLogin() { $('#app').classList.add('hidden'); $('#login').classList.remove('hidden'); }
  async function start() {
    try { const me = await api('/api/me'); $('#whoami').textContent = me.user; }
    catch (e) { return; }
    $('#login').classList.add('hidden'); $('#app').classList.remove('hidden');
    loadAlerts(false); live();
  }
  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: $('#login-user').value, password: $('#login-pass').value }) });
      $('#login-pass').value = ''; $('#login-error').textContent = '';
      start();
    } catch (e) { $('#login-error').textContent = e.message; }
  });
  $('#logout').addEventListener('click', async () => {
    await api('/api/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    showLogin();
  });
  $('#logout-all').addEventListener('click', async () => {
    await api('/api/logout-all', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    showLogin();
  });

  /* ---- alerts */
  /* A cell whose full text is also its tooltip (long ones are cut with an ellipsis). */
  function cell(text, cls) {
    const td = el('td', text, cls);
    if (text) td.title = String(text);
    return td;
  }
  function endpoint(ip, port) { return ip ? ip + (port ? ':' + port : '') : ''; }
  function alertRow(a, i) {
    const ev = obj(a.event), al = obj(ev.alert);
    const tr = el('tr');
    tr.dataset.i = i;
    tr.append(cell(txt(ev.timestamp).slice(0, 19).replace('T', ' ')),
      el('td', al.severity, 'sev' + al.severity), cell(al.signature, 'sig'),
      cell(endpoint(ev.src_ip, ev.src_port)), cell(endpoint(ev.dest_ip, ev.dest_port)),
      cell(ev.proto), cell(ev.app_proto || (ev.ndpi || {}).protocol || ''), cell(cc(ev)),
      el('td', a.status, 'st-' + txt(a.status).replace(/[^a-z]/g, '')));
    tr.addEventListener('click', () => select(i, true));
    return tr;
  }
  /* How the server answered: notes on filters without an index, a partial walk. */
  function listNote(r) {
    const notes = ((r.index || {}).notes || []).slice();
    if (r.partial) notes.push('stopped after ' + r.scanned + ' alerts read: "Older alerts" reads on');
    $('#list-note').textContent = notes.join(' \u00b7 ');
  }
  async function loadAlerts(more) {
    $('#filter-error').textContent = '';
    try {
      const extra = { limit: 100 };
      if (more && state.next) extra.before = state.next;
      const r = await api('/api/alerts?' + query(extra));
      if (!more) { state.alerts = []; state.sel = -1; $('#alerts tbody').replaceChildren(); }
      const body = $('#alerts tbody');
      r.alerts.forEach((a) => {
        state.alerts.push(a);
        let row;
        try { row = alertRow(a, state.alerts.length - 1); } catch (e) { row = el('tr'); row.append(el('td', '(unreadable entry)')); }
        body.append(row);
      });
      state.next = r.next;
      $('#more').classList.toggle('hidden', !r.next);
      listNote(r);
    } catch (e) { $('#filter-error').textContent = e.message; }
  }
  function select(i, open) {
    if (i < 0 || i >= state.alerts.length) return;
    const rows = $('#alerts tbody').children;
    if (state.sel >= 0 && rows[state.sel]) rows[state.sel].classList.remove('sel');
    state.sel = i; rows[i].classList.add('sel'); rows[i].scrollIntoView({ block: 'nearest' });
    if (open) openDetail(state.alerts[i].id);
  }
  function closeDetail() { $('#detail').classList.add('hidden'); }
  $('#detail-close').addEventListener('click', closeDetail);
  async function openDetail(id) {
    const d = $('#detail-body');
    $('#detail').classList.remove('hidden');
    let a;
    try { a = await api('/api/alerts/' + encodeURIComponent(id)); }
    catch (e) { d.replaceChildren(el('p', e.message, 'error')); return; }
    const ev = obj(a.event), al = obj(ev.alert);
    const parts = [el('h3', al.signature), el('p', 'sid ' + al.signature_id + ' rev ' + al.rev + ' \u00b7 severity ' +
      al.severity + ' \u00b7 ' + (al.category || '') + ' \u00b7 sensor ' + a.sensor)];
    parts.push(el('p', (ev.proto || '') + ' ' + ev.src_ip + ':' + (ev.src_port || '') + ' \u2192 ' + ev.dest_ip + ':' +
      (ev.dest_port || '') + (ev.app_proto ? ' (' + ev.app_proto + ')' : '') + ' \u00b7 ' + cc(ev) + ' ' + ((ev.geo || {}).scope || '')));
    const st = el('p', 'status: ' + a.status + (a.triage && a.triage.assignee ? ' \u00b7 assignee ' + a.triage.assignee : '') +
      (a.triage ? ' \u00b7 by ' + txt(a.triage.by) + ' at ' + isoTime(a.triage.at, 24) : ''), 'st-' + txt(a.status).replace(/[^a-z]/g, ''));
    st.id = 'detail-status';
    parts.push(st);
    const tri = el('div', null, 'triage');
    const note = el('textarea'); note.id = 'note'; note.rows = 2; note.placeholder = 'note (optional)';
    const assignee = el('input'); assignee.id = 'assignee'; assignee.placeholder = 'assignee'; assignee.size = 10;
    assignee.value = (a.triage && a.triage.assignee) || '';
    tri.append(note);
    [['acknowledged', 'Acknowledge'], ['escalated', 'Escalate'], ['closed', 'Close']].forEach(([s, label]) => {
      const b = el('button', label); b.id = 'btn-' + s;
      b.addEventListener('click', () => triage(id, s)); tri.append(b);
    });
    const nb = el('button', 'Add note'); nb.addEventListener('click', () => triage(id, null)); tri.append(assignee, nb);
    parts.push(tri);
    const hist = el('ul'); hist.id = 'history';
    (Array.isArray(a.history) ? a.history : []).map(obj).forEach((h) => hist.append(el('li', isoTime(h.at, 19) + ' ' + txt(h.by) +
      (h.status ? ': ' + txt(h.status) : '') + (h.assignee ? ' \u2192 ' + txt(h.assignee) : '') + (h.note ? ' \u2014 ' + txt(h.note) : ''))));
    parts.push(el('h4', 'History'), hist);
    if (al.metadata) parts.push(el('h4', 'Metadata'), el('pre', JSON.stringify(al.metadata, null, 1)));
    parts.push(el('h4', 'Flow'), el('pre', JSON.stringify(a.flow_event || ev.flow || null, null, 1)));
    if (ev.geo) parts.push(el('h4', 'Geo'), el('pre', JSON.stringify(ev.geo, null, 1)));
    parts.push(el('h4', 'EVE record'), el('pre', JSON.stringify(ev, null, 1)));
    d.replaceChildren(...parts);
  }
  async function triage(id, status) {
    const body = {};
    if (status) body.status = status;
    const n = $('#note'), as = $('#assignee');
    if (n && n.value) body.note = n.value;
    if (as && as.value) body.assignee = as.value;
    if (!status && !body.note && !body.assignee) return;
    try {
      const r = await api('/api/alerts/' + encodeURIComponent(id) + '/triage', { method: 'POST',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const i = state.alerts.findIndex((a) => a.id === id);
      if (i >= 0) {
        state.alerts[i].status = r.triage.status;
        const old = $('#alerts tbody').children[i];
        const row = alertRow(state.alerts[i], i);
        if (i === state.sel) row.classList.add('sel');
        old.replaceWith(row);
      }
      openDetail(id);
    } catch (e) { $('#detail-body').prepend(el('p', e.message, 'error')); }
  }
  $('#more').addEventListener('click', () => loadAlerts(true));
  $('#filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.filters = {};
    new FormData($('#filters')).forEach((v, k) => { v = String(v).trim(); if (v) state.filters[k] = v; });
    if (state.filters.country) state.filters.country = state.filters.country.toUpperCase();
    refresh();
  });
  $('#filters').addEventListener('reset', () => { state.filters = {}; setTimeout(refresh, 0); });
  /* Sets the filters (and the form, so that the next Filter keeps them) and shows the alerts. */
  function showAlerts(filters) {
    state.filters = filters;
    const form = $('#filters');
    Array.from(form.elements).forEach((e) => { if (e.name) e.value = filters[e.name] || ''; });
    document.querySelector('.tab[data-view=alerts]').click();
  }
  document.addEventListener('keydown', (ev) => {
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement.tagName)) return;
    if ($('#view-alerts').classList.contains('hidden')) return;
    const cur = state.alerts[state.sel];
    if (ev.key === 'j') select(state.sel + 1, false);
    else if (ev.key === 'k') select(Math.max(0, state.sel - 1), false);
    else if (ev.key === 'Enter' && cur) openDetail(cur.id);
    else if (ev.key === 'Escape') closeDetail();
    else if (ev.key === 'a' && cur) triage(cur.id, 'acknowledged');
    else if (ev.key === 'e' && cur) triage(cur.id, 'escalated');
    else if (ev.key === 'c' && cur) triage(cur.id, 'closed');
    else return;
    ev.preventDefault();
  });

  /* ---- other views */
  let view = 'alerts';
  document.querySelectorAll('.tab').forEach((b) => b.addEventListener('click', () => {
    document.querySelectorAll('.tab').forEach((x) => x.classList.toggle('active', x === b));
    view = b.dataset.view;
    document.querySelectorAll('.view').forEach((v) => v.classList.toggle('hidden', v.id !== 'view-' + view));
    refresh();
  }));
  function refresh() {
    if (view === 'alerts') loadAlerts(false);
    else if (view === 'groups') loadGroups();
    else if (view === 'traffic') loadTraffic();
    else loadSensors();
  }
  async function loadGroups() {
    try {
      const r = await api('/api/groups?' + query({ limit: 200, scan: 100000 }));
      $('#groups tbody').replaceChildren(...r.groups.map((g) => {
        const tr = el('tr');
        tr.append(el('td', g.count), el('td', g.severity, 'sev' + g.severity), el('td', g.sid), el('td', g.signature, 'sig'),
          el('td', g.src_ip), el('td', g.dest_ip), el('td', txt(g.first_seen).slice(0, 19)), el('td', txt(g.last_seen).slice(0, 19)));
        tr.addEventListener('click', () => showAlerts({ sid: String(g.sid), ip: g.src_ip }));
        return tr;
      }));
    } catch (e) { $('#filter-error').textContent = e.message; }
  }
  /* An SVG of stacked bars: each item {x, w, parts (name -> value), g (the
   * attributes of its <g>), title (its tooltip's first line), click} drawn
   * bottom up in the order of names, scaled to the largest item, with a
   * value axis and a legend of names. */
  const CW = 640, CH = 190, CL = 56, CB = 20, CT = 22;
  function stackedBars(items, names, cls, fmt) {
    const s = svg('svg', { width: CW, height: CH, viewBox: '0 0 ' + CW + ' ' + CH, role: 'img' });
    const total = (it) => names.reduce((a, n) => a + (it.parts[n] || 0), 0);
    const max = Math.max(1, ...items.map(total));
    s.append(svg('line', { x1: CL, y1: CH - CB, x2: CW, y2: CH - CB, class: 'axis' }),
      svg('line', { x1: CL, y1: CT, x2: CL, y2: CH - CB, class: 'axis' }),
      svg('text', { x: 2, y: CT + 8 }, fmt(max)), svg('text', { x: 2, y: CH - CB }, '0'));
    items.forEach((it) => {
      const g = svg('g', Object.assign({ 'data-total': total(it) }, it.g));
      let y = CH - CB;
      const title = [it.title];
      names.forEach((n) => {
        const v = it.parts[n];
        if (!v) return;
        const h = (CH - CB - CT) * v / max;
        y -= h;
        g.append(svg('rect', { x: it.x.toFixed(1), y: y.toFixed(1), width: it.w.toFixed(1), height: h.toFixed(1),
          class: cls(n), 'data-part': n, 'data-value': v }));
        title.push(n + ': ' + fmt(v));
      });
      g.append(svg('title', {}, title.join('\n')));
      g.addEventListener('click', it.click);
      s.append(g);
    });
    let lx = CL;
    names.forEach((n) => {
      s.append(svg('rect', { x: lx, y: 4, width: 10, height: 10, class: cls(n) }), svg('text', { x: lx + 13, y: 13 }, n));
      lx += 22 + 6 * n.length;
    });
    return s;
  }
  /* A stacked bar per bucket of the summary: parts of key (an object of
   * name -> value) in the order given, each bar a clickable <g class=bucket>
   * that lists the alerts of its bucket. */
  const SEVERITIES = ['1', '2', '3', '4'];
  const SCOPES = ['internal', 'domestic', 'cross-border-outbound', 'cross-border-inbound', 'transit', 'external'];
  function stackedChart(target, r, key, parts, cls, fmt) {
    const span = Math.max(r.step, r.to - r.from);
    const bw = Math.max(1, (CW - CL) * r.step / span - 1);
    const names = parts.concat(Object.keys(Object.assign({}, ...r.series.map((x) => x[key] || {})))
      .filter((n) => !parts.includes(n)).sort());
    const s = stackedBars(r.series.map((x) => ({ x: CL + (CW - CL) * (x.t - r.from) / span, w: bw, parts: x[key] || {},
      g: { class: 'bucket', 'data-t': x.t, 'data-step': r.step },
      title: isoTime(x.t, 16).replace('T', ' '),
      click: () => showAlerts(Object.assign({}, state.filters, { from: String(x.t), to: String(x.t + r.step) })) })),
    names, cls, fmt);
    s.append(svg('text', { x: CL, y: CH - 4 }, isoTime(r.from, 16).replace('T', ' ')),
      svg('text', { x: CW - 96, y: CH - 4 }, isoTime(r.to, 16).replace('T', ' ')));
    $(target).replaceChildren(s);
  }
  /* Personal data sent abroad (the summary's pii_abroad, largest first): a
   * bar per country of its PII_CHART largest, stacked by type, and a table
   * of them all; a click on either lists the country's alerts. Nothing
   * sent abroad is said as such. */
  const PII_TYPES = ['cn-id', 'bank-card', 'cn-mobile', 'email', 'passport-cn'];
  const PII_CHART = 20;
  function drawPii(rows) {
    rows = (Array.isArray(rows) ? rows : []).map(obj);
    $('#pii-empty').classList.toggle('hidden', rows.length > 0);
    $('#chart-pii').classList.toggle('hidden', !rows.length);
    $('#pii').classList.toggle('hidden', !rows.length);
    const top = rows.slice(0, PII_CHART), slot = (CW - CL) / Math.max(1, top.length);
    const s = stackedBars(top.map((c, i) => ({ x: CL + i * slot + slot * 0.15, w: slot * 0.7, parts: c,
      g: { class: 'bar', 'data-country': txt(c.country) }, title: txt(c.country) + ' (bodies: ' + txt(c.bodies) + ')',
      click: () => showAlerts({ country: txt(c.country) }) })), PII_TYPES, (n) => 'pii-' + n, String);
    top.forEach((c, i) => s.append(svg('text', { x: (CL + i * slot + slot * 0.5 - 6).toFixed(1), y: CH - 6 }, txt(c.country))));
    $('#chart-pii').replaceChildren(s);
    $('#pii tbody').replaceChildren(...rows.map((c) => {
      const tr = el('tr');
      tr.append(el('td', c.country), ...PII_TYPES.concat(['bodies', 'total']).map((n) => el('td', c[n])));
      tr.addEventListener('click', () => showAlerts({ country: txt(c.country) }));
      return tr;
    }));
  }
  async function drawMap(countries) {
    if (!state.world) state.world = await (await fetch('/world.json')).json();
    const W = 720, H = 360, px = (lon) => (lon + 180) * W / 360, py = (lat) => (90 - lat) * H / 180;
    const s = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    state.world.outlines.forEach((poly) => s.append(svg('polygon', { class: 'land',
      points: poly.map((p) => px(p[0]).toFixed(1) + ',' + py(p[1]).toFixed(1)).join(' ') })));
    const vals = Object.values(countries);
    const max = Math.max(1, ...vals.map((c) => c.out_bytes + c.in_bytes));
    vals.forEach((c) => {
      const w = state.world.countries[c.country];
      if (!w) return;
      const r = 3 + 22 * Math.sqrt((c.out_bytes + c.in_bytes) / max);
      const b = svg('circle', { cx: px(w[1]), cy: py(w[2]), r: r.toFixed(1), class: 'bubble' });
      b.append(svg('title', {}, w[0] + ': out ' + fmtBytes(c.out_bytes) + ', in ' + fmtBytes(c.in_bytes)));
      s.append(b, svg('text', { x: px(w[1]) + r + 2, y: py(w[2]) + 3 }, c.country));
    });
    $('#map').replaceChildren(s);
  }
  function pairs(target, list, bytes) {
    $(target + ' tbody').replaceChildren(...list.map((p) => { const tr = el('tr'); tr.append(el('td', p.name), el('td', bytes ? fmtBytes(p.value) : p.value)); return tr; }));
  }
  async function loadTraffic() {
    try {
      const p = new URLSearchParams();
      ['from', 'to', 'sensor'].forEach((k) => { if (state.filters[k]) p.set(k, state.filters[k]); });
      p.set('res', $('#res').value);
      const r = await api('/api/summary?' + p.toString());
      stackedChart('#chart-alerts', r, 'alerts_by_severity', SEVERITIES, (n) => 's' + (SEVERITIES.includes(n) ? n : '4'), String);
      stackedChart('#chart-bytes', r, 'bytes_by_scope', SCOPES, (n) => 'sc-' + (SCOPES.includes(n) ? n : 'other'), fmtBytes);
      const cs = Object.values(r.countries).sort((a, b) => (b.out_bytes + b.in_bytes) - (a.out_bytes + a.in_bytes));
      $('#countries tbody').replaceChildren(...cs.map((c) => {
        const tr = el('tr'); tr.append(el('td', c.country), el('td', fmtBytes(c.out_bytes)), el('td', fmtBytes(c.in_bytes)), el('td', c.flows));
        tr.addEventListener('click', () => showAlerts({ country: c.country }));
        return tr;
      }));
      pairs('#protocols', r.protocols, true); pairs('#talkers', r.top_src, true); pairs('#scopes', r.scopes, true);
      pairs('#http-hosts', r.http_hosts || [], false); pairs('#dns-queries', r.dns_queries || [], false); pairs('#tls-snis', r.tls_snis || [], false);
      drawPii(r.pii_abroad);
      drawMap(r.countries);
    } catch (e) { $('#filter-error').textContent = e.message; }
  }
  async function loadSensors() {
    try {
      const r = await api('/api/sensors');
      $('#sensors tbody').replaceChildren(...r.sensors.map((s) => {
        const tr = el('tr');
        tr.append(el('td', s.id), el('td', s.version), el('td', isoTime(s.last_flush, 19)),
          el('td', s.packets), el('td', s.drops), el('td', s.flows), el('td', s.alerts), el('td', s.alerts_spooled),
          el('td', s.stale ? 'stale' : 'ok', s.stale ? 'st-escalated' : 'st-acknowledged'));
        return tr;
      }));
    } catch (e) { $('#filter-error').textContent = e.message; }
  }
  $('#res').addEventListener('change', () => loadTraffic());
  function live() {
    if (!window.EventSource) return;
    const es = new EventSource('/api/events');
    es.addEventListener('alert', () => { state.live++; $('#live').textContent = 'live: ' + state.live + ' new'; });
  }
  start();
})();
