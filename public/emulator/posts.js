// The Posts view of the emulator page: the shop's sample post on the user's channel, where the user
// comments like on Facebook or Instagram. A comment goes to the app as Meta's comment webhook; the
// bot's private reply arrives in the Chat view, its public reply under the comment. On Instagram
// the user can also mention the shop in a story or reply to the shop's story. Only textContent
// and checked URLs reach the page.
import { el, safeUrl } from './render.js';

/** `tabs`: the Chat / Posts buttons; `thread`: the chat view it takes turns with; `container`: where the posts go. */
export function createPostsView({ tabs, chatTab, postsTab, thread, container }) {
  const state = { user: undefined, post: undefined, showing: 'chat' };
  const error = el('p', { class: 'error', role: 'alert' });
  const onError = (text) => void (error.textContent = text);

  chatTab.addEventListener('click', () => show('chat'));
  postsTab.addEventListener('click', () => show('posts'));

  function show(view) {
    state.showing = view;
    thread.hidden = view !== 'chat';
    container.hidden = view !== 'posts';
    chatTab.setAttribute('aria-selected', String(view === 'chat'));
    postsTab.setAttribute('aria-selected', String(view === 'posts'));
    if (view === 'posts') container.querySelector('textarea, input')?.focus();
  }

  async function start(user) {
    state.user = user;
    tabs.hidden = false;
    show('chat');
    const response = await fetch(`/emulator/users/${encodeURIComponent(user.id)}/posts`).catch(() => undefined);
    if (response?.ok) render(await response.json());
  }

  function reset() {
    state.user = undefined;
    state.post = undefined;
    tabs.hidden = true;
    container.hidden = true;
    container.replaceChildren();
  }

  /** A `posts` event from the stream (live or replayed): the post as it is now. */
  function onEvent(data) {
    if (data?.type === 'post' && data.post?.id && state.user) render(data.post);
  }

  function render(post) {
    state.post = post;
    const instagram = post.channel === 'instagram';
    const image = safeUrl(post.image);
    const draft = container.querySelector('.comment-form textarea')?.value ?? '';
    const parts = [
      el(
        'article',
        { class: 'post', 'aria-label': `Post by ${post.author}` },
        el('header', { class: 'post-head' }, el('img', { class: 'avatar', src: '/emulator/avatar.svg', alt: '', width: 32, height: 32 }), el('strong', { text: post.author }), el('span', { class: 'muted small', text: instagram ? 'Instagram post' : 'Facebook post' })),
        image ? el('img', { class: 'post-image', src: image, alt: 'The post\'s photo' }) : undefined,
        el('p', { class: 'post-caption', text: post.caption }),
        el('ol', { class: 'comments', 'aria-label': 'Your comments' }, post.comments.map(commentItem)),
        commentForm(draft),
      ),
      ...(instagram ? [storyTools()] : []),
      error,
    ];
    container.replaceChildren(...parts);
  }

  function commentItem(comment) {
    return el(
      'li',
      { class: 'comment', 'data-comment-id': comment.id },
      el('div', { class: 'comment-bubble' }, el('strong', { text: comment.author }), ' ', el('span', { text: comment.text })),
      comment.private_reply
        ? el('button', { type: 'button', class: 'link-btn small', text: '✉ The shop replied privately: open the chat', onclick: () => show('chat') })
        : undefined,
      comment.replies.length > 0
        ? el(
            'ol',
            { class: 'replies', 'aria-label': 'Replies' },
            comment.replies.map((reply) => el('li', { class: 'comment reply' }, el('div', { class: 'comment-bubble' }, el('strong', { text: reply.author }), ' ', el('span', { text: reply.text })))),
          )
        : undefined,
    );
  }

  function commentForm(draft) {
    const input = el('textarea', { rows: 2, maxlength: 2200, placeholder: 'Write a comment… (try "price")', 'aria-label': 'Your comment' });
    input.value = draft;
    const form = el('form', { class: 'comment-form' }, input, el('button', { type: 'submit', class: 'btn-primary', text: 'Comment' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = input.value;
      if (text.trim() === '' || !state.user) return;
      input.value = '';
      if (!(await post(`/emulator/users/${encodeURIComponent(state.user.id)}/comments`, { text }))) input.value = text;
    });
    return form;
  }

  function storyTools() {
    const reply = el('input', { type: 'text', maxlength: 2200, placeholder: 'Reply to the shop\'s story…', 'aria-label': 'Reply to the shop\'s story' });
    const form = el('form', { class: 'story-form' }, reply, el('button', { type: 'submit', class: 'btn-secondary', text: 'Reply' }));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = reply.value;
      if (text.trim() === '' || !state.user) return;
      reply.value = '';
      if (await post(`/emulator/users/${encodeURIComponent(state.user.id)}/stories`, { type: 'reply', text })) show('chat');
      else reply.value = text;
    });
    const mention = el('button', {
      type: 'button',
      class: 'btn-secondary',
      text: '📸 Mention the shop in your story',
      onclick: async () => {
        if (state.user && (await post(`/emulator/users/${encodeURIComponent(state.user.id)}/stories`, { type: 'mention' }))) show('chat');
      },
    });
    return el('section', { class: 'stories', 'aria-label': 'Stories' }, el('h3', { text: 'Stories' }), mention, form);
  }

  async function post(url, body) {
    onError('');
    const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).catch(() => undefined);
    if (!response) {
      onError('The app is not reachable. Is it still running?');
      return false;
    }
    if (response.ok) return true;
    const data = await response.json().catch(() => ({}));
    onError(data.error ?? `Not sent (HTTP ${response.status}).`);
    return false;
  }

  return { start, reset, onEvent };
}
