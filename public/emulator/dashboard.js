// The live dashboard: reads the server-sent-events stream with fetch so the token travels in the
// Authorization header, never in a URL. The token stays in this tab's sessionStorage only.
import { createLiveCharts } from './charts.js';
import { createInspector } from './inspector.js';

const $ = (id) => document.getElementById(id);
const KEY = 'tidewater-dashboard-token';
const inspector = createInspector({ list: $('records'), count: $('inspector-count'), showWebhooks: $('show-webhooks'), showGraph: $('show-graph'), clear: $('clear-records') });
const charts = createLiveCharts($('live-charts'));
let controller;

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $('token').value.trim());
  $('token').value = '';
  void open();
});

$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  controller?.abort();
  inspector.reset();
  charts.reset([]);
  $('forget').hidden = true;
  $('token-form').hidden = false;
  $('live').textContent = '';
});

if (sessionStorage.getItem(KEY)) void open();

async function open() {
  const token = sessionStorage.getItem(KEY);
  if (!token) return;
  controller?.abort();
  controller = new AbortController();
  $('token-error').textContent = '';
  let response;
  try {
    response = await fetch('/dashboard/api/stream', { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal: controller.signal });
  } catch {
    return retry('The server is not reachable.');
  }
  if (response.status === 401) {
    sessionStorage.removeItem(KEY);
    $('token-error').textContent = 'That token was refused.';
    return;
  }
  if (!response.ok || !response.body) return retry(`The stream failed (HTTP ${response.status}).`);
  $('token-form').hidden = true;
  $('forget').hidden = false;
  $('live').textContent = '● live';
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        onFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch {
    if (controller.signal.aborted) return;
  }
  retry('The stream ended.');
}

function onFrame(frame) {
  let event = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return;
  const payload = JSON.parse(data.join('\n'));
  if (event === 'ready') {
    inspector.reset();
    payload.records.forEach(inspector.add);
    charts.reset(payload.metrics ?? []);
  } else if (event === 'inspector') inspector.add(payload);
  else if (event === 'metrics') charts.add(payload);
}

function retry(reason) {
  $('live').textContent = `${reason} Reconnecting…`;
  setTimeout(() => void open(), 3000);
}
