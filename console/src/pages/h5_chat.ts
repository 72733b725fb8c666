// The H5 page's chat: the room's comments (the history on joining, then the socket's chat frames;
// host and associate badges; a reply shows what it answers; deleted comments go; the
// announcement pinned on top; how many comments a busy room folded away), the comment box (each
// comment with its client_id, sent again with the same id after a reconnect; refusals in words;
// "waiting for review" for held ones), and the heart (taps in batches, a floating heart, the
// room's like total). The socket is the page's (h5.ts): it hands every message over and says
// when a socket has joined.
import type { Ctx } from '../app';
import type { Json } from '../lib/api';
import { ChatLog, CommentOutbox, LikeBatcher, refusalText, type ChatComment } from '../lib/chat';
import { h, replace } from '../lib/dom';
import { t } from '../lib/i18n';
import { authorName, commentLine, formatUntil, keepBottom, shortText, syncLines } from './chat_view';

export interface H5Chat {
  el: HTMLElement;
  /** Every message of the room socket (the chat ignores the others). */
  onMessage(msg: Json): void;
  /** A socket joined (the first or after a reconnect): what is still unacknowledged goes again. */
  onJoined(): void;
}

export function h5Chat(ctx: Ctx, send: (frame: object) => boolean): H5Chat {
  const log = new ChatLog(200);
  const outbox = new CommentOutbox();
  const likes = new LikeBatcher();
  let replyTo: ChatComment | null = null;

  const announcement = h('div', { class: 'chat-announcement', 'data-announcement': '', hidden: true });
  const list = h('ol', { class: 'chat-list', role: 'log', 'aria-label': t('chat.log'), 'data-chat': '1' });
  const empty = h('p', { class: 'empty chat-empty' }, t('chat.empty'));
  const folded = h('p', { class: 'chat-folded hint', 'data-folded': '0', hidden: true, title: t('chat.foldedHint') });
  const pending = h('ul', { class: 'chat-pending', 'data-chat-pending': '1' });
  const muted = h('p', { class: 'notice', role: 'alert', 'data-muted': '', hidden: true });
  const error = h('p', { class: 'error', role: 'alert', 'data-chat-error': '1' });
  const replyChip = h('div', { class: 'chat-reply-chip', hidden: true });
  const input = h('input', { name: 'comment', 'aria-label': t('chat.input'), placeholder: t('chat.placeholder'), maxlength: 2000, autocomplete: 'off', enterkeyhint: 'send' });
  const likeCount = h('span', { class: 'like-count', 'data-likes': '0' }, '0');
  const hearts = h('span', { class: 'hearts', 'aria-hidden': 'true' });
  const heart = h('button', { type: 'button', class: 'heart', 'aria-label': t('chat.like'), 'data-heart': '1' }, h('span', { 'aria-hidden': 'true' }, '❤'), ' ', likeCount);
  const form = h('form', { class: 'chat-form', 'aria-label': t('chat.title') }, input, h('button', { type: 'submit' }, t('chat.send')), h('span', { class: 'heart-wrap' }, hearts, heart));
  const el = h(
    'section',
    { class: 'card chat', 'aria-labelledby': 'chat-h' },
    h('h2', { id: 'chat-h', class: 'sr-only' }, t('chat.title')),
    announcement,
    list,
    empty,
    folded,
    pending,
    muted,
    replyChip,
    form,
    error,
  );

  // ---- Drawing ----
  const line = (c: ChatComment) =>
    commentLine(log, c, {
      actions: h('button', { type: 'button', class: 'link chat-reply', 'aria-label': t('chat.replyName', { author: authorName(c), text: shortText(c.text, 20) }), onclick: () => startReply(c) }, t('chat.reply')),
    });
  const renderComments = () => {
    keepBottom(list, () => syncLines(list, log.comments, line));
    empty.hidden = log.comments.length > 0 || outbox.visible().length > 0;
    folded.hidden = log.folded <= 0;
    folded.dataset.folded = String(log.folded);
    folded.textContent = t('chat.folded', { n: log.folded });
  };
  const renderAnnouncement = () => {
    announcement.hidden = !log.announcement;
    announcement.dataset.announcement = log.announcement;
    replace(announcement, h('strong', {}, t('chat.announcement')), ' ', log.announcement);
  };
  const renderPending = () => {
    replace(
      pending,
      ...outbox.visible().map((p) =>
        h(
          'li',
          { class: `chat-line own ${p.state}`, 'data-pending': p.client_id, 'data-state': p.state },
          h('span', { class: 'chat-you' }, t('chat.you')),
          h('span', { class: 'chat-text' }, p.text),
          p.state === 'sent' ? null : h('span', { class: 'chat-state' }, p.state === 'held' ? t('chat.held') : t('chat.sending')),
        ),
      ),
    );
    empty.hidden = log.comments.length > 0 || outbox.visible().length > 0;
  };
  const renderLikes = () => {
    const n = log.likes + likes.unconfirmed;
    likeCount.textContent = String(n);
    likeCount.dataset.likes = String(log.likes);
    heart.setAttribute('aria-label', `${t('chat.like')} · ${t('chat.likes', { n })}`);
  };
  let mutedTimer = 0;
  const renderMuted = () => {
    window.clearTimeout(mutedTimer);
    const now = Date.now();
    const on = log.isMuted(now);
    muted.hidden = !on;
    muted.dataset.muted = on ? log.mutedUntil : '';
    muted.textContent = on ? t('chat.mutedNotice', { until: formatUntil(log.mutedUntil, now) }) : '';
    // The notice goes by itself when the mute runs out (a timer can wait at most ~24 days).
    if (on) mutedTimer = window.setTimeout(renderMuted, Math.min(Date.parse(log.mutedUntil) - now + 500, 2 ** 31 - 1));
  };
  ctx.onCleanup(() => window.clearTimeout(mutedTimer));

  const startReply = (c: ChatComment) => {
    replyTo = c;
    replyChip.hidden = false;
    replace(replyChip, t('chat.replying', { author: authorName(c) }), ' ', h('button', { type: 'button', class: 'link', 'aria-label': t('chat.cancelReply'), onclick: () => stopReply() }, '×'));
    input.focus();
  };
  const stopReply = () => {
    replyTo = null;
    replyChip.hidden = true;
    replace(replyChip);
  };

  // ---- Sending ----
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    error.textContent = '';
    // Sent now if the socket is up; otherwise it waits in the outbox for the next join.
    send(outbox.add(text, replyTo?.comment_id ?? ''));
    input.value = '';
    stopReply();
    renderPending();
  });

  let likeTimer = 0;
  const flushLikes = () => {
    likeTimer = 0;
    const batch = likes.take(Date.now());
    if (batch) send(batch); // a batch the socket could not take goes again after the reconnect
    const wait = likes.dueIn(Date.now());
    if (wait !== null) likeTimer = window.setTimeout(flushLikes, Math.max(wait, 20));
    renderLikes();
  };
  ctx.onCleanup(() => window.clearTimeout(likeTimer));
  heart.addEventListener('click', () => {
    likes.tap();
    floatHeart();
    if (!likeTimer) flushLikes();
    else renderLikes();
  });
  const floatHeart = () => {
    const f = h('span', { class: 'heart-float', style: `--drift:${Math.round(Math.random() * 40 - 20)}px` }, '❤');
    hearts.append(f);
    window.setTimeout(() => f.remove(), 1300);
    while (hearts.childElementCount > 30) hearts.firstElementChild?.remove();
  };

  const onMessage = (msg: Json) => {
    switch (msg?.type) {
      case 'comment_ack':
        outbox.ack(msg);
        outbox.settle(log);
        renderPending();
        return;
      case 'comment_refused': {
        const p = outbox.refused(msg);
        if (!p) return;
        const r = refusalText(String(msg.reason ?? ''), String(msg.message ?? ''), log.isMuted(Date.now()) ? formatUntil(log.mutedUntil) : '');
        error.textContent = t(r.key, r.vars);
        if (!input.value) input.value = p.text; // the viewer can change it and send again
        renderPending();
        return;
      }
      case 'like_ack':
        likes.ack(String(msg.batch_id ?? ''));
        log.apply(msg);
        renderLikes();
        return;
      case 'like_refused':
        likes.refused(String(msg.batch_id ?? ''), String(msg.reason ?? ''));
        if (!likeTimer && likes.dueIn(Date.now()) !== null) likeTimer = window.setTimeout(flushLikes, 1000);
        renderLikes();
        return;
    }
    if (!log.apply(msg)) return;
    if (msg.type === 'likes') {
      renderLikes();
      return;
    }
    if (msg.likes !== undefined) renderLikes(); // a chat frame with the total
    outbox.settle(log);
    renderComments();
    renderPending();
    renderAnnouncement();
    renderMuted();
  };

  const onJoined = () => {
    for (const frame of outbox.resend()) send(frame);
    for (const batch of likes.unacked()) send(batch);
  };

  renderComments();
  renderAnnouncement();
  renderLikes();
  return { el, onMessage, onJoined };
}
