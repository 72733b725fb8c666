// Ops, one room's stream: where the encoder pushes (server and key, the key shown on request; the
// whole push URL as a QR code for a phone encoder), the stream's state, a muted preview, rotating
// the key, and the recordings.
import type { Ctx } from '../app';
import { errorText } from '../app';
import { ApiError, type Json } from '../lib/api';
import { h, replace, table } from '../lib/dom';
import { getLocale, t, tEnum } from '../lib/i18n';
import { streamState } from '../lib/player';
import { copyButton, qrImage } from '../lib/qr';
import { formatBytes, formatClock, formatDuration, formatLatency, healthOf, MASKED_KEY } from '../lib/stream';
import { formatTime } from '../lib/time';
import { streamPlayer } from '../lib/video';

export interface StreamPanelOptions {
  room: () => Json;
  /** The room read by the panel's own polling, when its status changed. */
  onRoomChanged: (room: Json) => void;
}

export function streamPanel(ctx: Ctx, roomId: string, opts: StreamPanelOptions): HTMLElement {
  const api = ctx.api;
  const stateLine = h('p', { class: 'stream-state', 'aria-live': 'polite' });
  const pushBox = h('div', { class: 'push-box' });
  const error = h('p', { class: 'error', role: 'alert' });
  const recordingsBox = h('div', { 'data-recordings': '1' });

  let push: Json = null;
  let stream: Json = opts.room().stream;
  let status: string | undefined = opts.room().status;
  let revealed = false;
  let pushNote = '';

  const preview = streamPlayer({
    label: t('stream.previewLabel'),
    kind: 'preview',
    refresh: async () => {
      const res = await api.get(`/v1/rooms/${roomId}/push-address`);
      if (res.push?.url !== push?.url) {
        push = res.push ?? null;
        renderPush();
      }
      return { play: res.preview ?? null, stream: res.stream };
    },
  });
  ctx.onCleanup(() => preview.destroy());

  const renderState = () => {
    const state = streamState(stream);
    const health = healthOf(stream);
    const locale = getLocale();
    const since = formatClock(stream?.since, locale);
    replace(
      stateLine,
      h('span', { class: `badge stream-${health}`, 'data-stream-state': state }, tEnum(state)),
      since && health !== 'none' ? ` ${t('stream.since', { time: since })}` : '',
      health === 'interrupted' && stream?.ends_at ? ` · ${t('stream.endsAt', { time: formatClock(stream.ends_at, locale) })}` : '',
      ' · ',
      h('span', { 'data-stream-latency': '1' }, t('stream.encoderToLive', { time: formatLatency(stream?.publish_to_live_ms) })),
    );
  };

  const renderPush = () => {
    if (!push) {
      replace(pushBox, pushNote ? h('p', { class: 'notice', 'data-push-unavailable': '1' }, pushNote) : h('p', { class: 'hint' }, t('stream.loading')));
      return;
    }
    const key = String(push.stream_key ?? '');
    const url = String(push.url ?? '');
    replace(
      pushBox,
      h(
        'div',
        { class: 'push-line' },
        h('span', { class: 'kpi-label' }, t('stream.server')),
        h('code', { 'data-push-server': '1' }, push.server ?? ''),
        copyButton(() => String(push?.server ?? ''), t('common.copy'), t('common.copied'), { 'aria-label': t('stream.copyServer') }),
      ),
      h(
        'div',
        { class: 'push-line' },
        h('span', { class: 'kpi-label' }, t('stream.key')),
        h('code', { 'data-push-key': revealed ? 'shown' : 'hidden' }, revealed ? key : MASKED_KEY),
        h(
          'button',
          {
            type: 'button',
            class: 'small secondary',
            'aria-pressed': String(revealed),
            'data-push-show': '1',
            onclick: () => {
              revealed = !revealed;
              renderPush();
            },
          },
          revealed ? t('stream.hideKey') : t('stream.showKey'),
        ),
        copyButton(() => String(push?.stream_key ?? ''), t('common.copy'), t('common.copied'), { 'aria-label': t('stream.copyKey') }),
      ),
      revealed
        ? h(
            'div',
            { class: 'link-box' },
            h(
              'div',
              { class: 'link-line' },
              h('input', { type: 'text', readonly: true, value: url, 'aria-label': t('stream.url'), class: 'link-input', 'data-push-url': '1' }),
              copyButton(() => url, t('common.copy'), t('common.copied'), { 'aria-label': t('stream.copyUrl') }),
            ),
            qrImage(url, t('stream.qr'), 180),
          )
        : h('p', { class: 'hint' }, t('stream.showHint')),
      // An address that does not expire comes with the epoch (the gateway prints unset times).
      push.expires_at && Date.parse(push.expires_at) > 0 ? h('p', { class: 'hint' }, t('stream.validUntil', { time: formatTime(push.expires_at, getLocale()) })) : null,
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            'data-push-rotate': '1',
            onclick: async () => {
              if (!confirm(t('stream.rotateConfirm'))) return;
              error.textContent = '';
              try {
                const res = await api.post(`/v1/rooms/${roomId}/push-key/rotate`, {});
                if (ctx.gone()) return;
                push = res.push ?? null;
                // The operator asked for a new key to set in the encoder: show it.
                revealed = true;
                renderPush();
                ctx.notify(t('stream.rotated'));
              } catch (err) {
                error.textContent = errorText(err);
              }
            },
          },
          t('stream.rotate'),
        ),
      ),
    );
  };

  const loadPush = async () => {
    if (opts.room().status === 'ROOM_STATUS_ENDED') {
      push = null;
      pushNote = t('stream.pushEnded');
      renderPush();
      preview.update({ roomStatus: 'ROOM_STATUS_ENDED', stream });
      return;
    }
    try {
      const res = await api.get(`/v1/rooms/${roomId}/push-address`);
      if (ctx.gone()) return;
      push = res.push ?? null;
      if (res.stream) stream = res.stream;
      renderPush();
      renderState();
      preview.update({ play: res.preview ?? null, stream, roomStatus: opts.room().status });
    } catch (err) {
      // Refused once the room has ended (403/412): say so in the panel rather than as a failure.
      if (err instanceof ApiError && (err.status === 403 || err.status === 412)) {
        push = null;
        pushNote = t('stream.pushRefused', { message: err.message });
        renderPush();
      } else {
        error.textContent = errorText(err);
      }
    }
  };

  // ---- Recordings, newest first ----
  let recordings: Json[] = [];
  let nextToken = '';
  const renderRecordings = () => {
    replace(
      recordingsBox,
      recordings.length
        ? table(
            t('rec.title'),
            [t('rec.location'), t('rec.duration'), t('rec.size'), t('rec.time')],
            recordings.map((r) => [
              /^https?:\/\//i.test(r.location ?? '') ? h('a', { href: r.location, target: '_blank', rel: 'noopener noreferrer' }, r.location) : h('code', {}, r.location ?? ''),
              formatDuration(r.duration_seconds),
              formatBytes(r.size_bytes),
              formatTime(r.created_at, getLocale()),
            ]),
          )
        : h('p', { class: 'empty' }, t('rec.none')),
      h(
        'div',
        { class: 'actions' },
        nextToken ? h('button', { type: 'button', class: 'small secondary', onclick: () => void loadRecordings(false) }, t('common.more')) : null,
        h('button', { type: 'button', class: 'small secondary', 'data-recordings-refresh': '1', onclick: () => void loadRecordings(true) }, t('rec.refresh')),
      ),
    );
  };
  const loadRecordings = async (first: boolean) => {
    try {
      const res = await api.get(`/v1/rooms/${roomId}/recordings`, { page_size: 20, page_token: first ? undefined : nextToken });
      if (ctx.gone()) return;
      recordings = first ? (res.recordings ?? []) : [...recordings, ...(res.recordings ?? [])];
      nextToken = res.next_page_token ?? '';
      renderRecordings();
    } catch (err) {
      error.textContent = errorText(err);
    }
  };

  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'stream-title', 'data-stream-panel': '1' },
    h('h2', { id: 'stream-title' }, t('stream.title')),
    stateLine,
    h('div', { class: 'stream-grid' }, h('div', {}, h('h3', {}, t('stream.push')), pushBox), h('div', { 'data-preview': '1' }, h('h3', {}, t('stream.preview')), preview.el)),
    error,
    h('h3', {}, t('rec.title')),
    recordingsBox,
  );

  renderState();
  renderPush();
  renderRecordings();
  void loadPush().then(() => loadRecordings(true));

  // The stream's state as the room service knows it, every 3 s while the page is shown.
  ctx.every(3000, async () => {
    const r = await api.get(`/v1/rooms/${roomId}`);
    if (ctx.gone()) return;
    const changedState = Boolean(r.room?.stream) && streamState(r.room.stream) !== streamState(stream);
    if (r.room?.stream) stream = r.room.stream;
    if (r.room?.status !== status) {
      status = r.room?.status;
      // Went live from a push, or ended (the page's own buttons have told the page already).
      if (status !== opts.room().status) opts.onRoomChanged(r.room);
      if (status === 'ROOM_STATUS_ENDED') void loadPush();
    }
    renderState();
    preview.update({ stream, roomStatus: r.room?.status });
    // A push that stops is recorded a moment later.
    if (changedState) void loadRecordings(true);
  });

  return card;
}
