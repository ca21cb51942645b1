// The inspector: one line per webhook the emulator sent (→) and per Graph API or Instagram API
// call the bot made (←), each naming its account and opening to its JSON. Shared by the emulator
// page and the live dashboard.
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
        accountTag(record.account),
        el('span', { class: 'what', text: withPreview(record.event, webhookPreview(record.body)) }),
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
        el('span', { class: 'dir', text: record.api === 'instagram' ? '← Instagram API' : '← Graph API', title: record.api === 'instagram' ? 'INSTAGRAM_API_URL (Instagram Login)' : 'GRAPH_API_URL' }),
        accountTag(record.account),
        el('span', { class: 'what', text: withPreview(`${record.method} ${record.path}${query ? `?${query}` : ''}`, graphPreview(record.body)) }),
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

/** Which account a record concerns: its name and kind (the token a call carried, the entry a webhook was for). */
function accountTag(account) {
  if (!account) return undefined;
  const kind = account.type === 'page' ? 'Page' : 'Instagram Login';
  return el('span', { class: 'account', text: `${account.name} · ${kind}`, title: `account ${account.key}` });
}

/** A short hint of what is inside: the text, payload or action, so the list reads like the chat. */
function webhookPreview(body) {
  const entry = body?.entry?.[0];
  const item = entry?.messaging?.[0] ?? entry?.standby?.[0] ?? entry?.changes?.[0];
  if (!item) return undefined;
  if (item.message?.quick_reply) return item.message.quick_reply.payload;
  if (typeof item.message?.text === 'string') return `“${item.message.text}”`;
  if (item.message?.attachments) return item.message.attachments.map((a) => (a.payload?.sticker_id ? 'sticker' : a.type)).join(', ');
  if (item.postback) return item.postback.payload;
  if (item.reaction) return `${item.reaction.action} ${item.reaction.emoji ?? ''}`.trim();
  if (item.delivery) return `${item.delivery.mids?.length ?? 0} message(s)`;
  // A comment (feed or Instagram comments change): what it says.
  const comment = item.value?.message ?? item.value?.text;
  if (typeof comment === 'string') return `“${comment}”`;
  return undefined;
}

function graphPreview(body) {
  if (!body || typeof body !== 'object') return undefined;
  if (body.sender_action) return body.sender_action;
  const message = body.message;
  // A public reply under a comment: { message: "…" }.
  if (typeof message === 'string') return `“${message.length > 60 ? `${message.slice(0, 60)}…` : message}”`;
  if (typeof message?.text === 'string') return `“${message.text.length > 60 ? `${message.text.slice(0, 60)}…` : message.text}”`;
  const payload = message?.attachment?.payload;
  if (payload?.template_type) return `${payload.template_type} template`;
  if (message?.attachment?.type) return message.attachment.type;
  if (body.target_app_id) return `to app ${body.target_app_id}`;
  return undefined;
}

function withPreview(text, preview) {
  return preview ? `${text}  ${preview}` : text;
}

function timeOf(at) {
  const date = new Date(at);
  return el('time', { datetime: date.toISOString(), text: date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) });
}
