// Turns Send API message bodies into DOM the way Messenger shows them. Only textContent and
// checked http(s) URLs are ever put into the page: bot output is data, never markup.

/** Messenger's reactions, in the order its picker shows them. */
export const REACTIONS = [
  ['love', '❤️'],
  ['smile', '😆'],
  ['wow', '😮'],
  ['sad', '😢'],
  ['angry', '😠'],
  ['like', '👍'],
];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

export function safeUrl(value) {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The content of one bot message (without the row around it).
 * `actions.postback(title, payload)` is called when a postback button is pressed.
 */
export function renderBotContent(message, actions) {
  if (!message || typeof message !== 'object') return [unsupported(message)];
  if (typeof message.text === 'string') return [el('div', { class: 'bubble', text: message.text })];
  const attachment = message.attachment;
  if (!attachment || typeof attachment !== 'object') return [unsupported(message)];
  const payload = attachment.payload ?? {};
  switch (attachment.type) {
    case 'template':
      if (payload.template_type === 'generic') return [carousel(payload.elements ?? [], actions)];
      if (payload.template_type === 'button') return [buttonTemplate(payload, actions)];
      return [unsupported(message)];
    case 'image': {
      const src = safeUrl(payload.url);
      return [src ? el('img', { class: 'media', src, alt: 'Image from the shop' }) : unsupported(message)];
    }
    case 'video': {
      const src = safeUrl(payload.url);
      return [src ? el('video', { class: 'media', src, controls: true }) : unsupported(message)];
    }
    case 'audio': {
      const src = safeUrl(payload.url);
      return [src ? el('audio', { src, controls: true }) : unsupported(message)];
    }
    case 'file': {
      const href = safeUrl(payload.url);
      return [href ? el('a', { class: 'bubble', href, target: '_blank', rel: 'noopener noreferrer', text: '📄 Open the file' }) : unsupported(message)];
    }
    default:
      return [unsupported(message)];
  }
}

/** Whether the content is wide (templates), so the row can use the full width. */
export function isWide(message) {
  return Boolean(message?.attachment?.type === 'template');
}

function buttonTemplate(payload, actions) {
  return el('div', { class: 'card-bubble' }, el('div', { class: 'bubble', text: payload.text ?? '' }), buttons(payload.buttons ?? [], actions));
}

function carousel(elements, actions) {
  const cards = elements.map((element) => {
    const image = safeUrl(element.image_url);
    const link = safeUrl(element.default_action?.url);
    const img = image ? el('img', { src: image, alt: element.title ?? '', loading: 'lazy' }) : undefined;
    return el(
      'article',
      { class: 'card', role: 'listitem', 'aria-label': element.title ?? 'Card' },
      img && link ? el('a', { href: link, target: '_blank', rel: 'noopener noreferrer', tabindex: '-1' }, img) : img,
      el('div', { class: 'card-text' }, el('h4', { text: element.title ?? '' }), element.subtitle ? el('p', { text: element.subtitle }) : undefined),
      buttons(element.buttons ?? [], actions),
    );
  });
  return el('div', { class: 'carousel', role: 'list', 'aria-label': `Carousel of ${elements.length} cards` }, cards);
}

function buttons(list, actions) {
  if (list.length === 0) return undefined;
  return el(
    'div',
    { class: 'buttons' },
    list.map((button) => {
      const title = String(button.title ?? '');
      if (button.type === 'postback') return el('button', { type: 'button', text: title, onclick: () => actions.postback(title, String(button.payload ?? '')) });
      if (button.type === 'web_url') {
        const href = safeUrl(button.url);
        return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: `${title} ↗` }) : el('span', { text: title });
      }
      if (button.type === 'phone_number') return el('a', { href: `tel:${String(button.payload ?? '').replace(/[^+\d]/g, '')}`, text: title });
      return el('span', { text: title });
    }),
  );
}

function unsupported(message) {
  return el('div', { class: 'bubble', text: `[message the emulator cannot show: ${JSON.stringify(message).slice(0, 200)}]` });
}
