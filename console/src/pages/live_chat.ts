// Ops, the live dashboard's chat: every comment of the room as posted (the watch socket gets them
// all, with the authors' ids), and per comment: reply as the host, delete with a reason, mute
// the author for some minutes, ban them from the brand's rooms. Beside it: the announcement, the
// comments held for review (approve or reject), and the brand's blocked words. The dashboard's
// socket (live.ts) hands every message over.
import type { Ctx } from '../app';
import { errorText } from '../app';
import { ApiError, type Json } from '../lib/api';
import { ChatLog, MUTE_MINUTES, muteSeconds, parseWords, refusalReason, refusalText, toComment, uniqueId, type ChatComment } from '../lib/chat';
import { field, h, replace } from '../lib/dom';
import { getLocale, t } from '../lib/i18n';
import { formatClock } from '../lib/stream';
import { authorName, commentLine, formatUntil, keepBottom, shortText, syncLines } from './chat_view';

export interface LiveChat {
  el: HTMLElement;
  onMessage(msg: Json): void;
}

const BAN_DAYS = [1, 7, 30];

export function liveChat(ctx: Ctx, roomId: string): LiveChat {
  const api = ctx.api;
  const log = new ChatLog(500, true);
  let chatReady = false; // the socket delivered the chat: the interaction service is there

  // ---- The stream, with moderation per comment ----
  const list = h('ol', { class: 'chat-list ops', role: 'log', 'aria-live': 'off', 'aria-label': t('mod.comments'), 'data-chat': '1' });
  const waiting = h('p', { class: 'hint' }, t('mod.waiting'));
  const mutedBox = h('div', { class: 'muted-viewers', 'data-muted-viewers': '1' });

  // Runs a moderation call; the outcome goes to the toast or under the form.
  const run = async (errorEl: HTMLElement, fn: () => Promise<string>) => {
    errorEl.textContent = '';
    try {
      ctx.notify(await fn());
      return true;
    } catch (e) {
      errorEl.textContent = errorText(e);
      return false;
    }
  };

  const reasonInput = () => h('input', { name: 'reason', required: true, maxlength: 200 });
  const modForm = (row: HTMLElement, c: ChatComment, kind: 'delete' | 'mute' | 'ban') => {
    row.querySelector('.mod-form')?.remove();
    const err = h('p', { class: 'error', role: 'alert' });
    const reason = reasonInput();
    const minutes = h('select', { name: 'minutes' }, ...MUTE_MINUTES.map((m) => h('option', { value: m, selected: m === 10 }, String(m))));
    const days = h('select', { name: 'days' }, ...BAN_DAYS.map((d) => h('option', { value: d }, t('mod.banDays', { n: d }))), h('option', { value: '' }, t('mod.banForGood')));
    const confirmLabel = kind === 'delete' ? t('mod.confirmDelete') : kind === 'mute' ? t('mod.confirmMute') : t('mod.confirmBan');
    const form = h(
      'form',
      { class: 'mod-form inline-form', 'aria-label': t('mod.actionOn', { id: c.comment_id }), 'data-mod': kind },
      kind === 'mute' ? field(t('mod.minutes'), minutes) : null,
      kind === 'ban' ? field(t('mod.banFor'), days) : null,
      field(t('mod.reason'), reason),
      h('button', { type: 'submit', class: 'danger small' }, confirmLabel),
      h('button', { type: 'button', class: 'secondary small', onclick: () => form.remove() }, t('common.cancel')),
      err,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const ok = await run(err, async () => {
        if (kind === 'delete') {
          await api.post(`/v1/comments/${c.comment_id}/delete`, { reason: reason.value });
          // Marked here; the line goes when the room's stream says so, as on every screen.
          row.classList.add('deleted');
          row.dataset.deleted = '1';
          return t('mod.deleted');
        }
        if (kind === 'mute') {
          const seconds = muteSeconds(Number(minutes.value)) ?? 600;
          const res = await api.post(`/v1/rooms/${roomId}/mutes`, { viewer_id: c.author_id, duration_seconds: seconds, reason: reason.value });
          if (res.muted_until) log.mutedViewers.set(c.author_id ?? '', res.muted_until);
          renderMuted();
          return t('mod.muted', { viewer: c.author_id ?? '', until: formatUntil(res.muted_until ?? '') });
        }
        const body: Json = { viewer_id: c.author_id, reason: reason.value };
        if (days.value) body.until = new Date(Date.now() + Number(days.value) * 86400_000).toISOString();
        await api.post('/v1/bans', body);
        return t('mod.banned', { viewer: c.author_id ?? '' });
      });
      if (ok) form.remove();
    });
    row.append(form);
    reason.focus();
  };

  const line = (c: ChatComment): HTMLElement => {
    const viewer = c.badge === 'viewer' && !!c.author_id;
    const actions = h('span', { class: 'mod-actions' });
    const row = commentLine(log, c, { authorId: true, actions });
    const btn = (label: string, aria: string, onclick: () => void, cls = 'secondary small') => h('button', { type: 'button', class: cls, 'aria-label': aria, onclick }, label);
    actions.append(
      btn(t('chat.reply'), t('chat.replyName', { author: authorName(c), text: shortText(c.text, 20) }), () => startReply(c)),
      btn(t('mod.delete'), t('mod.deleteName', { id: c.comment_id }), () => modForm(row, c, 'delete'), 'danger small'),
      viewer ? btn(t('mod.mute'), t('mod.muteName', { id: c.comment_id }), () => modForm(row, c, 'mute')) : '',
      viewer ? btn(t('mod.ban'), t('mod.banName', { id: c.comment_id }), () => modForm(row, c, 'ban'), 'danger small') : '',
    );
    return row;
  };
  const renderStream = () => {
    waiting.hidden = chatReady;
    keepBottom(list, () => syncLines(list, log.comments, line));
  };
  const renderMuted = () => {
    const now = Date.now();
    const muted = [...log.mutedViewers].filter(([, until]) => Date.parse(until) > now);
    replace(
      mutedBox,
      muted.length
        ? [h('h3', {}, t('mod.mutedViewers')), h('ul', { class: 'plain' }, ...muted.map(([viewer, until]) => h('li', { 'data-muted-viewer': viewer }, h('code', {}, viewer), ` → ${formatUntil(until, now)}`)))]
        : null,
    );
  };

  // ---- Speaking as the host (HTTP: the dashboard's socket only watches) ----
  let replyTo: ChatComment | null = null;
  // Kept until the comment is accepted or refused, so a retry after a network error is the same
  // comment (the server posts a client_id once).
  let hostClientId = '';
  let hostClientText = '';
  const replyChip = h('div', { class: 'chat-reply-chip', hidden: true });
  const hostText = h('input', { name: 'host_text', maxlength: 2000, autocomplete: 'off' });
  const hostError = h('p', { class: 'error', role: 'alert' });
  const hostForm = h('form', { class: 'inline-form host-form', 'aria-label': t('mod.hostSay') }, field(t('mod.hostText'), hostText), h('button', { type: 'submit' }, t('mod.hostSend')));
  const startReply = (c: ChatComment) => {
    replyTo = c;
    replyChip.hidden = false;
    replace(replyChip, t('chat.replying', { author: authorName(c) }), ' ', h('button', { type: 'button', class: 'link', 'aria-label': t('chat.cancelReply'), onclick: () => stopReply() }, '×'));
    hostText.focus();
  };
  const stopReply = () => {
    replyTo = null;
    replyChip.hidden = true;
    replace(replyChip);
  };
  hostForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = hostText.value.trim();
    if (!text) return;
    hostError.textContent = '';
    if (text !== hostClientText) {
      hostClientId = uniqueId('c');
      hostClientText = text;
    }
    try {
      await api.post(`/v1/rooms/${roomId}/comments`, { client_id: hostClientId, text, reply_to: replyTo?.comment_id ?? '' });
      hostText.value = '';
      hostClientText = '';
      stopReply();
      ctx.notify(t('mod.hostSent'));
    } catch (err) {
      const reason = err instanceof ApiError ? refusalReason(err.reason, err.message) : '';
      if (err instanceof ApiError && reason) {
        const r = refusalText(reason, err.message);
        hostError.textContent = t(r.key, r.vars);
        hostClientText = ''; // refused: a new try is a new comment
      } else hostError.textContent = errorText(err);
    }
  });

  // ---- The announcement ----
  const current = h('p', { 'data-current-announcement': '' });
  const annText = h('textarea', { name: 'announcement', rows: 2, maxlength: 500 });
  const annError = h('p', { class: 'error', role: 'alert' });
  const setAnnouncement = (text: string) =>
    run(annError, async () => {
      await api.put(`/v1/rooms/${roomId}/announcement`, { text });
      return text ? t('mod.pinned') : t('mod.unpinned');
    });
  const annForm = h(
    'form',
    { 'aria-label': t('mod.announcement') },
    field(t('mod.announcementText'), annText),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, t('mod.pin')),
      h('button', { type: 'button', class: 'secondary', onclick: () => void setAnnouncement('') }, t('mod.unpin')),
    ),
    annError,
  );
  annForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (annText.value.trim() && (await setAnnouncement(annText.value.trim()))) annText.value = '';
  });
  const renderAnnouncement = () => {
    current.dataset.currentAnnouncement = log.announcement;
    current.className = log.announcement ? 'chat-announcement' : 'empty';
    current.textContent = log.announcement ? t('mod.current', { text: log.announcement }) : t('mod.noAnnouncement');
  };

  // ---- Held for review ----
  const heldList = h('ul', { class: 'plain held', 'data-held': '1' });
  const heldError = h('p', { class: 'error', role: 'alert' });
  const loadHeld = async () => {
    const res = await api.get(`/v1/rooms/${roomId}/held-comments`, { page_size: 100 });
    if (ctx.gone()) return;
    const held = (res.comments ?? []).map(toComment).filter((c: ChatComment | null): c is ChatComment => !!c);
    replace(
      heldList,
      held.length
        ? held.map((c: ChatComment) =>
            h(
              'li',
              { 'data-held-comment': c.comment_id },
              h('span', { class: 'chat-who' }, h('span', { class: 'chat-author' }, authorName(c)), c.author_id ? h('code', { class: 'chat-author-id' }, c.author_id) : null, c.at ? h('time', { class: 'meta', datetime: c.at }, formatClock(c.at, getLocale())) : null),
              h('span', { class: 'chat-text' }, c.text),
              h(
                'span',
                { class: 'actions' },
                h('button', { type: 'button', class: 'small', 'aria-label': t('mod.approveName', { id: c.comment_id }), onclick: () => void moderateHeld(() => api.post(`/v1/comments/${c.comment_id}/approve`), t('mod.approved')) }, t('mod.approve')),
                h(
                  'button',
                  { type: 'button', class: 'danger small', 'aria-label': t('mod.rejectName', { id: c.comment_id }), onclick: () => void moderateHeld(() => api.post(`/v1/comments/${c.comment_id}/delete`, { reason: t('mod.rejectReason') }), t('mod.rejected')) },
                  t('mod.reject'),
                ),
              ),
            ),
          )
        : h('li', { class: 'empty' }, t('mod.noHeld')),
    );
  };
  const moderateHeld = async (fn: () => Promise<unknown>, ok: string) => {
    if (
      await run(heldError, async () => {
        await fn();
        return ok;
      })
    )
      await loadHeld().catch((e) => (heldError.textContent = errorText(e)));
  };
  // Read every 3 s once the socket delivered the chat (before that the interaction service may
  // not be there, and the dashboard's other parts must not fail with it).
  ctx.every(3000, async () => {
    if (chatReady) await loadHeld();
  });

  // ---- Blocked words (read when opened) ----
  const words = h('textarea', { name: 'words', rows: 8, spellcheck: false });
  const wordsInfo = h('p', { class: 'hint', 'data-words-info': '' }, t('mod.loading'));
  const wordsError = h('p', { class: 'error', role: 'alert' });
  const hold = h('input', { type: 'checkbox', name: 'hold_when_check_unavailable' });
  const wordsForm = h(
    'form',
    { 'aria-label': t('mod.words') },
    h('p', { class: 'hint' }, t('mod.wordsHint')),
    field(t('mod.wordsList'), words),
    wordsInfo,
    h('button', { type: 'submit' }, t('mod.wordsSave')),
    h('div', { class: 'field check' }, h('label', {}, hold, ' ', t('mod.holdUnavailable'))),
    wordsError,
  );
  const wordsBox = h('details', { class: 'card words' }, h('summary', {}, h('h2', { class: 'inline' }, t('mod.words'))), wordsForm);
  let wordsLoaded = false;
  wordsBox.addEventListener('toggle', async () => {
    if (!wordsBox.open || wordsLoaded) return;
    try {
      const res = await api.get('/v1/moderation/blocked-words');
      wordsLoaded = true;
      words.value = (res.words ?? []).join('\n');
      hold.checked = !!res.hold_when_check_unavailable;
      wordsInfo.textContent = t('mod.wordsCount', { n: (res.words ?? []).length, version: res.version ?? '0' });
    } catch (e) {
      wordsInfo.textContent = '';
      wordsError.textContent = errorText(e);
    }
  });
  wordsForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const list = parseWords(words.value);
    await run(wordsError, async () => {
      const res = await api.put('/v1/moderation/blocked-words', { words: list });
      words.value = list.join('\n');
      wordsInfo.textContent = t('mod.wordsCount', { n: list.length, version: res.version ?? '' });
      return t('mod.wordsSaved', { n: list.length, version: res.version ?? '' });
    });
  });
  hold.addEventListener('change', () => {
    void run(wordsError, async () => {
      await api.put('/v1/moderation/settings', { hold_when_check_unavailable: hold.checked });
      return t('mod.settingsSaved');
    });
  });

  const el = h(
    'div',
    { class: 'grid2 live-chat' },
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'mod-comments-title' },
      h('h2', { id: 'mod-comments-title' }, t('mod.comments')),
      h('p', { class: 'hint' }, t('mod.allHint')),
      waiting,
      list,
      replyChip,
      hostForm,
      hostError,
      mutedBox,
    ),
    h(
      'div',
      {},
      h('section', { class: 'card', 'aria-labelledby': 'mod-ann-title' }, h('h2', { id: 'mod-ann-title' }, t('mod.announcement')), current, annForm),
      h('section', { class: 'card', 'aria-labelledby': 'mod-held-title' }, h('h2', { id: 'mod-held-title' }, t('mod.held')), h('p', { class: 'hint' }, t('mod.heldHint')), heldList, heldError),
      wordsBox,
    ),
  );

  const onMessage = (msg: Json) => {
    if (msg?.type === 'chat_history' && !chatReady) {
      chatReady = true;
      void loadHeld().catch((e) => (heldError.textContent = errorText(e)));
    }
    if (!log.apply(msg)) return;
    renderStream();
    renderAnnouncement();
    renderMuted();
  };

  renderStream();
  renderAnnouncement();
  return { el, onMessage };
}
