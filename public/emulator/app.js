// The emulator page: create this tab's simulated user, show the conversation from the user's
// side, send the user's actions, and follow the bot's replies and the inspector over one
// server-sent-events stream. No polling, no framework, no build step.
import { createLiveCharts } from './charts.js';
import { createInspector } from './inspector.js';
import { createPostsView } from './posts.js';
import { REACTIONS, el, isWide, renderBotContent } from './render.js';

const $ = (id) => document.getElementById(id);
const STORAGE_KEY = 'tidewater-emulator-user';
const TYPING_TIMEOUT_MS = 20_000;
const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

const ui = {
  boot: $('boot'),
  setup: $('setup'),
  setupError: $('setup-error'),
  thread: $('thread'),
  messages: $('messages'),
  quickReplies: $('quick-replies'),
  getStarted: $('get-started'),
  handoverBar: $('handover-bar'),
  chatError: $('chat-error'),
  composer: $('composer'),
  input: $('composer-input'),
  subtitle: $('chat-subtitle'),
  title: $('chat-title'),
  badge: $('channel-badge'),
  account: $('setup-account'),
  accountNote: $('account-note'),
  newChat: $('new-chat'),
  sticker: $('send-sticker'),
  image: $('image-input'),
};

const inspector = createInspector({
  list: $('records'),
  count: $('inspector-count'),
  showWebhooks: $('show-webhooks'),
  showGraph: $('show-graph'),
  clear: $('clear-records'),
});

// Events/s, replies/s, reply latency and the backlog, from the app's metrics (services/metrics/live.ts).
createLiveCharts($('live-charts')).follow('/emulator/metrics/stream');

/** The tab's state: its user, its stream, and what the bot's messages look like now. */
const state = { user: undefined, source: undefined, rows: new Map(), typing: undefined, typingTimer: undefined, openPicker: undefined, accounts: [] };

/** The Posts tab beside the chat: the sample post of the user's account, where they comment (posts.js). */
const posts = createPostsView({
  tabs: $('view-tabs'),
  chatTab: $('tab-chat'),
  postsTab: $('tab-posts'),
  thread: ui.thread,
  container: $('posts'),
});

/** The accounts the emulator plays (two Pages, one with a linked Instagram account, and an Instagram Login account). */
async function loadAccounts() {
  if (state.accounts.length > 0) return state.accounts;
  const response = await fetch('/emulator/info').catch(() => undefined);
  const info = response?.ok ? await response.json() : { accounts: [] };
  state.accounts = Array.isArray(info.accounts) ? info.accounts : [];
  return state.accounts;
}

function accountOf(key) {
  return state.accounts.find((a) => a.key === key);
}

/** How an account is offered on a channel: its name, and which API its replies use. */
function accountLabel(account, channel) {
  if (channel === 'messenger') return `${account.name} (Facebook Page)`;
  if (account.type === 'page') return `@${account.username} (${account.name}, linked to its Page)`;
  return `@${account.username} (${account.name}, Instagram Login, no Page)`;
}

function fillAccounts() {
  const channel = new FormData(ui.setup).get('channel');
  const previous = ui.account.value;
  const offering = state.accounts.filter((a) => a.channels.includes(channel));
  ui.account.replaceChildren(...offering.map((a) => el('option', { value: a.key, text: accountLabel(a, channel) })));
  if (offering.some((a) => a.key === previous)) ui.account.value = previous;
  describeAccount();
}

function describeAccount() {
  const account = accountOf(ui.account.value);
  if (!account) return;
  const channel = new FormData(ui.setup).get('channel');
  const api = account.api === 'instagram' ? 'the Instagram API (graph.instagram.com) with its own Instagram token' : 'the Graph API with the Page token';
  const id = channel === 'messenger' ? account.page_id : account.instagram_account_id;
  ui.accountNote.textContent = `Notifications carry entry.id ${id}; the bot answers through ${api}.`;
}

for (const radio of ui.setup.querySelectorAll('input[name=channel]')) radio.addEventListener('change', fillAccounts);
ui.account.addEventListener('change', describeAccount);

if (window.matchMedia('(max-width: 820px)').matches) $('inspector-panel').open = false;

void boot();

async function boot() {
  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (saved) {
    const response = await fetch(`/emulator/users/${encodeURIComponent(saved)}`).catch(() => undefined);
    if (response?.ok) return startChat(await response.json());
    sessionStorage.removeItem(STORAGE_KEY);
  }
  await showSetup();
}

async function showSetup() {
  await loadAccounts();
  fillAccounts();
  ui.boot.hidden = true;
  ui.thread.hidden = true;
  ui.newChat.hidden = true;
  ui.badge.hidden = true;
  ui.setup.hidden = false;
  ui.title.textContent = state.accounts[0]?.name ?? 'Tidewater Tea Co.';
  ui.subtitle.textContent = 'Typically replies instantly';
  $('setup-name').focus();
}

ui.setup.addEventListener('submit', async (event) => {
  event.preventDefault();
  ui.setupError.textContent = '';
  const form = new FormData(ui.setup);
  const body = { channel: form.get('channel'), name: String(form.get('name') ?? '').trim(), locale: form.get('locale'), ...(form.get('account') ? { account: form.get('account') } : {}) };
  const response = await fetch('/emulator/users', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => undefined);
  if (!response) return void (ui.setupError.textContent = 'The app is not reachable. Is it still running?');
  const data = await response.json().catch(() => ({}));
  if (!response.ok) return void (ui.setupError.textContent = data.error ?? `Could not create the user (HTTP ${response.status}).`);
  sessionStorage.setItem(STORAGE_KEY, data.id);
  await startChat(data);
});

ui.newChat.addEventListener('click', () => {
  state.source?.close();
  state.source = undefined;
  state.user = undefined;
  sessionStorage.removeItem(STORAGE_KEY);
  clearThread();
  inspector.reset();
  posts.reset();
  void showSetup();
});

async function startChat(user) {
  await loadAccounts();
  state.user = user;
  const account = accountOf(user.account);
  document.body.className = `channel-${user.channel}`;
  ui.boot.hidden = true;
  ui.setup.hidden = true;
  ui.thread.hidden = false;
  ui.newChat.hidden = false;
  ui.badge.hidden = false;
  ui.badge.textContent = user.channel === 'messenger' ? 'Messenger' : account?.type === 'instagram' ? 'Instagram · Instagram Login' : 'Instagram';
  ui.title.textContent = user.channel === 'instagram' && account?.username ? `@${account.username}` : (account?.name ?? 'Tidewater Tea Co.');
  ui.subtitle.textContent = user.channel === 'messenger' ? `You are ${user.name} · ${user.locale}` : `You are @${user.username}`;
  ui.sticker.hidden = user.channel !== 'messenger';
  connect(user);
  void posts.start(user);
  ui.input.focus();
}

function connect(user) {
  state.source?.close();
  const source = new EventSource(`/emulator/users/${encodeURIComponent(user.id)}/stream`);
  state.source = source;
  source.addEventListener('ready', (event) => {
    const { history } = JSON.parse(event.data);
    clearThread();
    inspector.reset();
    for (const item of history) (item.event === 'chat' ? onChat : item.event === 'posts' ? posts.onEvent : inspector.add)(item.data, true);
    ui.getStarted.hidden = ui.messages.children.length > 0;
    ui.chatError.textContent = '';
  });
  source.addEventListener('chat', (event) => onChat(JSON.parse(event.data)));
  source.addEventListener('inspector', (event) => inspector.add(JSON.parse(event.data)));
  source.addEventListener('posts', (event) => posts.onEvent(JSON.parse(event.data)));
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CONNECTING) ui.chatError.textContent = 'Reconnecting to the emulator…';
    if (source.readyState === EventSource.CLOSED) ui.chatError.textContent = 'Lost the connection to the emulator. Reload the page once the app runs again.';
  });
  source.addEventListener('open', () => {
    if (ui.chatError.textContent.startsWith('Reconnecting')) ui.chatError.textContent = '';
  });
}

function clearThread() {
  ui.messages.replaceChildren();
  ui.quickReplies.replaceChildren();
  ui.handoverBar.hidden = true;
  state.rows.clear();
  hideTyping();
}

/** One thing that happened in the conversation, live or replayed on (re)connect. */
function onChat(item) {
  switch (item.type) {
    case 'user':
      ui.getStarted.hidden = true;
      ui.quickReplies.replaceChildren();
      addRow(userRow(item));
      break;
    case 'message':
      ui.getStarted.hidden = true;
      hideTyping();
      addRow(botRow(item));
      showQuickReplies(item.message?.quick_replies);
      break;
    case 'typing':
      if (item.on) showTyping();
      else hideTyping();
      break;
    case 'reaction':
      showReaction(item.mid, item.reaction, item.emoji);
      break;
    case 'status':
      for (const mid of item.mids) setStatus(mid, item.status);
      break;
    case 'handover':
      hideTyping();
      ui.handoverBar.hidden = item.owner !== 'inbox';
      addRow(
        el('li', {
          class: 'notice handover',
          text:
            item.owner === 'inbox'
              ? 'The bot passed this conversation to a person in the Page Inbox (handover protocol).'
              : 'The conversation is back with the bot.',
        }),
      );
      break;
  }
}

function addRow(row) {
  const typing = state.typing;
  if (typing) ui.messages.insertBefore(row, typing);
  else ui.messages.append(row);
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function userRow(item) {
  let content;
  if (item.sticker) content = el('img', { class: 'media sticker', src: item.sticker, alt: 'Thumbs-up sticker' });
  else if (item.image) content = el('img', { class: 'media', src: item.image, alt: 'Image you sent' });
  else content = el('div', { class: 'bubble', text: item.text ?? '' });
  return el('li', { class: 'row user', 'data-mid': item.mid }, el('div', { class: 'content' }, content, el('span', { class: 'visually-hidden', text: 'You sent' })));
}

function botRow(item) {
  const status = el('span', { class: 'status', text: 'Sent' });
  const reactButton = el('button', {
    type: 'button',
    class: 'react-btn',
    text: 'React',
    'aria-label': 'React to this message',
    'aria-expanded': 'false',
    onclick: () => togglePicker(item.mid),
  });
  const content = el(
    'div',
    { class: 'content' },
    renderBotContent(item.message, { postback: (title, payload) => send({ type: 'postback', title, payload }) }),
    el('div', { class: 'meta' }, status, reactButton),
  );
  const row = el('li', { class: `row bot${isWide(item.message) ? ' wide' : ''}`, 'data-mid': item.mid }, el('img', { class: 'avatar', src: '/emulator/avatar.svg', alt: '' }), content);
  state.rows.set(item.mid, { row, content, status, reactButton, reaction: undefined });
  return row;
}

function setStatus(mid, status) {
  const entry = state.rows.get(mid);
  if (!entry) return;
  entry.status.textContent = status === 'read' ? 'Seen' : 'Delivered';
  entry.row.dataset.status = status;
}

function togglePicker(mid) {
  const entry = state.rows.get(mid);
  if (!entry) return;
  const wasOpen = state.openPicker?.mid === mid;
  closePicker();
  if (wasOpen) return;
  const picker = el(
    'div',
    { class: 'reaction-picker', role: 'group', 'aria-label': 'Reactions' },
    REACTIONS.map(([name, emoji]) =>
      el('button', {
        type: 'button',
        text: emoji,
        'aria-label': `React with ${name}`,
        'aria-pressed': entry.reaction === name ? 'true' : 'false',
        onclick: () => react(mid, name),
      }),
    ),
  );
  picker.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      closePicker();
      entry.reactButton.focus();
    }
  });
  entry.content.append(picker);
  entry.reactButton.setAttribute('aria-expanded', 'true');
  state.openPicker = { mid, picker, entry };
  picker.scrollIntoView({ block: 'nearest' });
  picker.querySelector('button')?.focus();
}

function closePicker() {
  const open = state.openPicker;
  if (!open) return;
  open.picker.remove();
  open.entry.reactButton.setAttribute('aria-expanded', 'false');
  state.openPicker = undefined;
}

async function react(mid, name) {
  const entry = state.rows.get(mid);
  if (!entry) return;
  closePicker();
  const action = entry.reaction === name ? 'unreact' : 'react';
  await send({ type: 'reaction', mid, action, reaction: name });
  entry.reactButton.focus();
}

function showReaction(mid, name, emoji) {
  const entry = state.rows.get(mid);
  if (!entry) return;
  entry.reaction = name;
  entry.content.querySelector('.reaction-badge')?.remove();
  if (name) entry.content.append(el('span', { class: 'reaction-badge', text: emoji ?? '', 'aria-label': `You reacted with ${name}` }));
}

function showQuickReplies(quickReplies) {
  ui.quickReplies.replaceChildren();
  if (!Array.isArray(quickReplies)) return;
  for (const qr of quickReplies) {
    if (qr.content_type !== 'text') continue;
    ui.quickReplies.append(
      el(
        'button',
        { type: 'button', class: 'chip', onclick: () => send({ type: 'quick_reply', text: qr.title, payload: qr.payload }) },
        qr.image_url ? el('img', { src: qr.image_url, alt: '', width: 16, height: 16 }) : undefined,
        qr.title,
      ),
    );
  }
}

function showTyping() {
  if (!state.typing) {
    state.typing = el(
      'li',
      { class: 'row bot typing', 'aria-label': `${ui.title.textContent} is typing` },
      el('img', { class: 'avatar', src: '/emulator/avatar.svg', alt: '' }),
      el('div', { class: 'bubble' }, el('span', { class: 'dot' }), el('span', { class: 'dot' }), el('span', { class: 'dot' })),
    );
    ui.messages.append(state.typing);
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }
  clearTimeout(state.typingTimer);
  // Messenger drops the indicator after 20 s or with the next message.
  state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
}

function hideTyping() {
  clearTimeout(state.typingTimer);
  state.typing?.remove();
  state.typing = undefined;
}

/** Sends one user action; the user's own bubble arrives over the stream like everything else. */
async function send(action) {
  if (!state.user) return false;
  ui.chatError.textContent = '';
  const response = await fetch(`/emulator/users/${encodeURIComponent(state.user.id)}/actions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(action),
  }).catch(() => undefined);
  return reportSend(response);
}

async function reportSend(response) {
  if (!response) {
    ui.chatError.textContent = 'The app is not reachable. Is it still running?';
    return false;
  }
  if (response.ok) return true;
  const data = await response.json().catch(() => ({}));
  ui.chatError.textContent = data.error ?? `Not sent (HTTP ${response.status}).`;
  return false;
}

ui.composer.addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = ui.input.value;
  if (text.trim() === '') return;
  ui.input.value = '';
  if (!(await send({ type: 'text', text }))) ui.input.value = text;
});

$('get-started-button').addEventListener('click', () => send({ type: 'get_started' }));
$('start-over').addEventListener('click', () => send({ type: 'get_started' }));
$('return-thread').addEventListener('click', () => send({ type: 'return_thread' }));
ui.sticker.addEventListener('click', () => send({ type: 'sticker' }));

ui.image.addEventListener('change', async () => {
  const file = ui.image.files?.[0];
  ui.image.value = '';
  if (!file || !state.user) return;
  if (file.size > MAX_IMAGE_BYTES) return void (ui.chatError.textContent = 'Images up to 2 MB, please.');
  const response = await fetch(`/emulator/users/${encodeURIComponent(state.user.id)}/images`, {
    method: 'POST',
    headers: { 'Content-Type': file.type || 'application/octet-stream' },
    body: file,
  }).catch(() => undefined);
  await reportSend(response);
});

document.addEventListener('click', (event) => {
  const open = state.openPicker;
  if (open && !open.entry.content.contains(event.target)) closePicker();
});
