// The chat on screen, shared by the H5 page (h5_chat.ts) and the live dashboard (live_chat.ts):
// one comment's line (who, their badge, the comment it answers, the text), and a list kept in
// step with the ChatLog without redrawing the lines already there, so an open moderation form,
// the focus and the scroll position survive the next frame.
import { authorLabel, type ChatComment, type ChatLog } from '../lib/chat';
import { h } from '../lib/dom';
import { getLocale, t } from '../lib/i18n';
import { formatClock } from '../lib/stream';

export function authorName(c: ChatComment): string {
  const a = authorLabel(c);
  return t(a.key, a.vars);
}

/** A comment's text cut for a quote. */
export function shortText(text: string, max = 40): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}…`;
}

/** "↪ Viewer 3f2a: is the 25 cm…": the comment a reply answers, or its number when it is no
 * longer on screen. */
export function replyQuote(log: ChatLog, c: ChatComment): HTMLElement | null {
  if (!c.reply_to) return null;
  const target = log.find(c.reply_to);
  return h(
    'span',
    { class: 'chat-quote', 'data-reply-to': c.reply_to },
    target ? t('chat.replyQuote', { author: authorName(target), text: shortText(target.text) }) : t('chat.replyGone', { id: c.reply_to }),
  );
}

export interface LineOptions {
  /** Ops: the author's id beside the alias. */
  authorId?: boolean;
  /** Buttons after the text (reply, moderation). */
  actions?: HTMLElement | null;
}

export function commentLine(log: ChatLog, c: ChatComment, opts: LineOptions = {}): HTMLElement {
  const staff = c.badge !== 'viewer';
  return h(
    'li',
    { class: `chat-line${staff ? ` staff ${c.badge}` : ''}${c.own ? ' own' : ''}`, 'data-comment': c.comment_id, 'data-badge': c.badge },
    h(
      'span',
      { class: 'chat-who' },
      h('span', { class: staff ? `chat-badge ${c.badge}` : 'chat-author' }, authorName(c)),
      c.own ? h('span', { class: 'chat-you' }, t('chat.you')) : null,
      opts.authorId && c.author_id ? h('code', { class: 'chat-author-id', 'data-author-id': c.author_id, title: t('mod.authorId') }, c.author_id) : null,
      opts.authorId && c.at ? h('time', { class: 'meta', datetime: c.at }, formatClock(c.at, getLocale())) : null,
    ),
    replyQuote(log, c),
    h('span', { class: 'chat-text' }, c.text),
    opts.actions ?? null,
  );
}

/** Makes `list`'s children the lines of `comments`, in order: lines already drawn are kept (and
 * moved if needed), lines of comments gone are removed, new ones made by `make`. */
export function syncLines(list: HTMLElement, comments: ChatComment[], make: (c: ChatComment) => HTMLElement): void {
  const drawn = new Map<string, HTMLElement>();
  for (const el of Array.from(list.children) as HTMLElement[]) {
    const id = el.dataset.comment;
    if (id) drawn.set(id, el);
    else el.remove();
  }
  const wanted = new Set(comments.map((c) => c.comment_id));
  for (const [id, el] of drawn) if (!wanted.has(id)) el.remove();
  let prev: Element | null = null;
  for (const c of comments) {
    const el = drawn.get(c.comment_id) ?? make(c);
    const at: Element | null = prev ? prev.nextElementSibling : list.firstElementChild;
    if (at !== el) list.insertBefore(el, at);
    prev = el;
  }
}

/** Runs `change`, then keeps `scroller` at its bottom if it was there (reading older comments is
 * not interrupted by new ones). */
export function keepBottom(scroller: HTMLElement, change: () => void): void {
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  change();
  if (atBottom) scroller.scrollTop = scroller.scrollHeight;
}

/** A time a mute or ban runs to: the clock when it is within a day, else date and time. */
export function formatUntil(ts: string, nowMs = Date.now()): string {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return ts;
  const locale = getLocale();
  if (ms - nowMs < 20 * 3600_000) return new Date(ms).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', hour12: false });
  return new Date(ms).toLocaleString(locale, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
}
