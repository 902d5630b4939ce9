// The status page: polls /api/status every 2 s and fills the page in.
// Every value is put into the DOM with textContent or a numeric SVG
// attribute, never parsed as HTML: agent strings and addresses come from
// peers. Nothing here sends anything but GET /api/status.
'use strict';

const POLL_MS = 2000;
const HOUR_S = 3600;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

function setText (id, value) {
  const el = $(id);
  if (el) el.textContent = String(value);
}

function node (tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = String(text);
  return el;
}

function svg (tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function num (n) {
  return Number(n || 0).toLocaleString('en-US');
}

function bytes (n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n || 0);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function duration (s) {
  s = Math.floor(Number(s || 0));
  const d = Math.floor(s / 86400); const h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60); const sec = s % 60;
  if (d) return `${d}d ${h}h ${m}m`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

function clock (ms) {
  return new Date(Number(ms)).toLocaleTimeString([], { hour12: false });
}

// Clipboard API where the page is a secure context (localhost, https),
// otherwise the selection fallback (plain http on a LAN address).
async function copyText (text, button) {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch (e) { ok = false; }
  if (!ok) {
    const area = node('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.appendChild(area);
    area.select();
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove();
  }
  button.textContent = ok ? 'copied' : 'select and copy';
  button.classList.toggle('done', ok);
  setTimeout(() => { button.textContent = 'copy'; button.classList.remove('done'); }, 1500);
}

function copyButton (getText) {
  const b = node('button', 'copy', 'copy');
  b.type = 'button';
  b.addEventListener('click', () => copyText(getText(), b));
  return b;
}

function renderHeader (s) {
  const h = s.health || {};
  const pill = $('health-status');
  pill.textContent = h.status || '?';
  pill.className = `pill ${h.status === 'OK' ? 'ok' : 'bad'}`;
  const banner = $('degraded');
  if (h.status !== 'OK') {
    banner.textContent = `DEGRADED: ${h.reason || 'unknown reason'}. The node keeps serving peers; ` +
      'what it learns may not reach the peer store until this clears.';
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  setText('version', s.version);
  setText('uptime', duration(s.uptime_seconds));
  setText('updated', `updated ${clock(s.now_ms)}`);
}

let shownAddrs = '';
function renderIdentity (s) {
  setText('peer-id', s.peer_id);
  const addrs = Array.isArray(s.listen_addrs) ? s.listen_addrs : [];
  const key = JSON.stringify(addrs);
  if (key === shownAddrs) return; // keep buttons stable between polls
  shownAddrs = key;
  const list = $('listen-addrs');
  list.replaceChildren();
  for (const a of addrs) {
    const li = node('li');
    li.appendChild(node('code', 'mono', a));
    li.appendChild(copyButton(() => a));
    list.appendChild(li);
  }
  if (!addrs.length) list.appendChild(node('li', 'label', 'none'));
}

function linePoints (samples, value, now, max) {
  return samples.map((p) => {
    const x = 600 - (now - p.t) / HOUR_S * 600;
    const y = 150 - (value(p) / max) * 135;
    return `${Math.max(0, x).toFixed(1)},${y.toFixed(1)}`;
  }).join(' ');
}

function renderConnections (s) {
  const c = s.connections || {};
  const nowS = Math.floor(Number(s.now_ms) / 1000);
  setText('conn-total', num((c.inbound || 0) + (c.outbound || 0)));
  setText('conn-inbound', num(c.inbound));
  setText('conn-outbound', num(c.outbound));
  setText('peer-count', num((s.health || {}).peer_count));
  const tr = $('conn-transports');
  tr.replaceChildren();
  for (const [name, count] of Object.entries(c.by_transport || {})) {
    const span = node('span', 'label');
    span.appendChild(node('code', '', name));
    span.appendChild(document.createTextNode(` ${num(count)}`));
    tr.appendChild(span);
  }
  // The samples of the last hour, and the live value as the last point.
  const samples = (c.history || []).filter((p) => nowS - p.t <= HOUR_S);
  samples.push({ t: nowS, inbound: c.inbound || 0, outbound: c.outbound || 0, by_transport: c.by_transport || {} });
  const max = Math.max(1, ...samples.map((p) => Math.max(p.inbound, p.outbound,
    ...Object.values(p.by_transport || {}).map(Number))));
  const chart = $('conn-chart');
  chart.replaceChildren();
  // Grid lines at 0, half and the top; the scale is written below the chart
  // (text inside a stretched SVG would be distorted).
  for (const frac of [0, 0.5, 1]) {
    const y = 150 - frac * 135;
    chart.appendChild(svg('line', { x1: 0, x2: 600, y1: y, y2: y, class: 'grid' }));
  }
  setText('conn-scale', `top line ${num(max)}, middle ${num(max / 2)}`);
  // By transport (dashed), for the transports in use this hour.
  const names = Object.keys(c.by_transport || {})
  names.forEach((name, i) => {
    const value = (p) => Number((p.by_transport || {})[name] || 0);
    if (!samples.some((p) => value(p) > 0)) return;
    chart.appendChild(svg('polyline', { points: linePoints(samples, value, nowS, max), class: `line-transport t${i % 3}` }));
  });
  chart.appendChild(svg('polyline', { points: linePoints(samples, (p) => p.inbound, nowS, max), class: 'line-in' }));
  chart.appendChild(svg('polyline', { points: linePoints(samples, (p) => p.outbound, nowS, max), class: 'line-out' }));
}

function renderRouting (s) {
  const r = s.routing || {};
  const buckets = Array.isArray(r.buckets) ? r.buckets.slice(0, 256) : [];
  const k = Math.max(1, Number(r.k) || 20);
  setText('rt-size', num(r.size));
  setText('rt-k', k);
  setText('rt-diversity', num(r.rejected_diversity));
  setText('rt-full', num(r.dropped_bucket_full));
  setText('rt-buckets-used', buckets.filter((b) => b > 0).length);
  const chart = $('rt-chart');
  chart.replaceChildren();
  buckets.forEach((fill, i) => {
    const h = Math.min(1, fill / k) * 76;
    chart.appendChild(svg('rect', { x: i * 2, y: 78 - h, width: 1.6, height: Math.max(h, 0), class: 'bucket' }));
    chart.appendChild(svg('rect', { x: i * 2, y: 78, width: 1.6, height: 2, class: fill ? 'bucket' : 'bucket-empty' }));
  });
}

function renderRelay (s) {
  const r = s.relay || {};
  $('relay-off').hidden = !!r.enabled;
  setText('relay-reservations', `${num(r.reservations)} / ${num(r.max_reservations)}`);
  setText('relay-circuits', `${num(r.circuits)} / ${num(r.max_circuits)}`);
  const rb = $('relay-reservations-bar');
  rb.max = Math.max(1, r.max_reservations || 0); rb.value = r.reservations || 0;
  const cb = $('relay-circuits-bar');
  cb.max = Math.max(1, r.max_circuits || 0); cb.value = r.circuits || 0;
  setText('relay-bytes', bytes(r.bytes_relayed));
  setText('relay-res-counts', `${num(r.reservations_accepted)} / ${num(r.reservations_refused)}`);
  setText('relay-circ-counts', `${num(r.circuits_accepted)} / ${num(r.circuits_refused)}`);
}

function renderAutonat (s) {
  const a = s.autonat || {};
  setText('autonat-ok', num(a.ok));
  setText('autonat-dial-error', num(a.dial_error));
  setText('autonat-dial-refused', num(a.dial_refused));
  setText('autonat-bad-request', num(a.bad_request));
}

function renderStore (s) {
  const st = s.store || {};
  setText('store-rows', num(st.rows));
  setText('store-peers', num(st.peers));
  setText('store-stale', num(st.stale_peers));
  setText('store-queue', `${num(st.queue_depth)} / ${num(st.queue_capacity)}`);
  setText('store-last-batch', st.batches_committed ? `${num(st.last_batch_ms)} ms (${num(st.batches_committed)} batches)` : 'none yet');
  setText('store-failures', num(st.write_failures));
  $('store-failures').className = st.write_failures ? 'bad' : '';
}

function renderEvents (s) {
  const body = $('events');
  body.replaceChildren();
  const events = (Array.isArray(s.events) ? s.events : []).slice(-50).reverse();
  for (const e of events) {
    const tr = node('tr', e.kind === 'disconnect' ? 'disconnect' : 'connect');
    tr.appendChild(node('td', '', clock(e.t_ms)));
    const what = `${e.kind === 'disconnect' ? 'disconnected' : 'connected'} (${e.direction})` +
      (e.reason ? `: ${e.reason}` : '');
    tr.appendChild(node('td', '', what));
    tr.appendChild(node('td', '', e.transport));
    tr.appendChild(node('td', 'peer', e.peer_id));
    tr.appendChild(node('td', 'addr', e.address));
    tr.appendChild(node('td', 'agent', e.agent || '–'));
    body.appendChild(tr);
  }
  if (!events.length) {
    const tr = node('tr');
    const td = node('td', 'label', 'no connections yet');
    td.colSpan = 6;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function render (s) {
  renderHeader(s);
  renderIdentity(s);
  renderConnections(s);
  renderRouting(s);
  renderRelay(s);
  renderAutonat(s);
  renderStore(s);
  renderEvents(s);
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

async function poll () {
  try {
    const res = await fetch('/api/status', { cache: 'no-store', credentials: 'omit' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
  } catch (e) {
    const pill = $('health-status');
    pill.textContent = 'unreachable';
    pill.className = 'pill stale';
    setText('updated', `no answer (${e.message})`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('copy-peer-id').addEventListener('click', (ev) => copyText($('peer-id').textContent, ev.currentTarget));
  poll();
});
