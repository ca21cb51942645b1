// The inspector: one line per webhook the emulator sent (→) and per Graph API call the bot made
// (←), each opening to its JSON. Shared by the emulator page and the live dashboard.
import { el } from './render.js';

const MAX_RECORDS = 400;

export function createInspector({ list, count, showWebhooks, showGraph, clear }) {
  let total = 0;
  const applyFilter = () => {
    for (const item of list.children) {
      item.hidden = (item.classList.contains('webhook') && !showWebhooks.checked) || (item.classList.contains('graph') && !showGraph.checked);
    }
  };
  showWebhooks.addEventListener('change', applyFilter);
  showGraph.addEventListener('change', applyFilter);
  clear?.addEventListener('click', () => reset());

  function reset() {
    list.replaceChildren();
    total = 0;
    count.textContent = '';
  }

  function add(record) {
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const item = record.kind === 'webhook' ? webhookItem(record) : graphItem(record);
    item.hidden = (record.kind === 'webhook' && !showWebhooks.checked) || (record.kind === 'graph' && !showGraph.checked);
    list.append(item);
    while (list.children.length > MAX_RECORDS) list.firstElementChild?.remove();
    total += 1;
    count.textContent = `${total} record${total === 1 ? '' : 's'}`;
    if (nearBottom) list.scrollTop = list.scrollHeight;
  }

  return { add, reset };
}

function webhookItem(record) {
  const ok = record.status === 200;
  const status = record.status ?? 'no answer';
  return el(
    'li',
    { class: 'record webhook' },
    el(
      'details',
      {},
      el(
        'summary',
        {},
        el('span', { class: 'dir', text: '→ webhook' }),
        el('span', { class: 'what', text: record.event }),
        el('span', { class: `code ${ok ? 'ok' : 'bad'}`, text: String(status), title: ok ? 'Acknowledged' : record.error ?? 'Not acknowledged' }),
        el('span', { class: 'ms', text: record.ms === undefined || record.ms === null ? '' : `${record.ms} ms` }),
        timeOf(record.at),
      ),
      el('h5', { text: record.body === null ? 'Refused before parsing: the body is not kept' : 'POST /webhook body (signed with X-Hub-Signature-256)' }),
      record.body === null ? undefined : el('pre', { text: JSON.stringify(record.body, null, 2) }),
    ),
  );
}

function graphItem(record) {
  const ok = record.status >= 200 && record.status < 300;
  const query = new URLSearchParams(record.query ?? {}).toString();
  return el(
    'li',
    { class: 'record graph' },
    el(
      'details',
      {},
      el(
        'summary',
        {},
        el('span', { class: 'dir', text: '← Graph API' }),
        el('span', { class: 'what', text: `${record.method} ${record.path}${query ? `?${query}` : ''}` }),
        el('span', { class: `code ${ok ? 'ok' : 'bad'}`, text: String(record.status || 'failed') }),
        el('span', { class: 'ms', text: record.ms === undefined ? '' : `${record.ms} ms` }),
        timeOf(record.at),
      ),
      record.body === undefined ? undefined : el('h5', { text: 'Request body' }),
      record.body === undefined ? undefined : el('pre', { text: JSON.stringify(record.body, null, 2) }),
      el('h5', { text: 'Response' }),
      el('pre', { text: JSON.stringify(record.response, null, 2) }),
    ),
  );
}

function timeOf(at) {
  const date = new Date(at);
  return el('time', { datetime: date.toISOString(), text: date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) });
}
