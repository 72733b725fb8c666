// Ops, one room before and after the live: who reserved it ("remind me") and the reminders sent
// (kind, state, attempts, WeChat's errcode, when; the sandbox sender's would-be message), and the
// replays of its ended sessions with their product moments, each playable and seekable to them.
import type { Ctx } from '../app';
import { errorText } from '../app';
import { ApiError, type Json } from '../lib/api';
import { h, replace, table } from '../lib/dom';
import { getLocale, t, tEnum } from '../lib/i18n';
import { formatOffset, seekSeconds } from '../lib/replay';
import { replayPlayer, type ReplayPlayer } from '../lib/replay_player';
import { formatDuration } from '../lib/stream';
import { formatTime } from '../lib/time';

export interface AudienceOptions {
  associateName: (id: string) => string;
}

export interface AudiencePanel {
  reservations: HTMLElement;
  replays: HTMLElement;
}

/** When the panel first reads, after the page is drawn, and how often after. */
const AUDIENCE_FIRST_READ_MS = 1500;
const AUDIENCE_REFRESH_MS = 4000;
/** How many ended sessions show their replay. */
const REPLAY_SESSIONS = 5;
/** A session that ended this recently and has no replay yet is asked again (its recording is on
 * its way); an older one without a replay has none coming. */
const RECENT_END_MS = 5 * 60_000;

export function audiencePanel(ctx: Ctx, roomId: string, opts: AudienceOptions): AudiencePanel {
  const api = ctx.api;
  const summary = h('p', { class: 'kpis' });
  const reservationsBox = h('div');
  const remindersBox = h('div');
  const error = h('p', { class: 'error', role: 'alert' });
  const reservations = h(
    'section',
    { class: 'card', 'aria-labelledby': 'reservations-title' },
    h('h2', { id: 'reservations-title' }, t('reserve.title')),
    summary,
    reservationsBox,
    h('h3', {}, t('reminders.title')),
    remindersBox,
    error,
  );

  const replaysBox = h('div', { 'data-replays': '1' });
  const replayError = h('p', { class: 'error', role: 'alert' });
  let player: ReplayPlayer | null = null;
  const playerSlot = h('div');
  const replays = h('section', { class: 'card', 'aria-labelledby': 'replays-title' }, h('h2', { id: 'replays-title' }, t('replays.title')), playerSlot, replaysBox, replayError);
  ctx.onCleanup(() => player?.destroy());

  // Plays a session's replay in the one player of the panel, from `at` seconds.
  const play = (sessionId: string, replay: Json, at: number) => {
    if (!player || player.el.dataset.session !== sessionId) {
      player?.destroy();
      player = replayPlayer({
        label: t('replays.label', { id: sessionId }),
        refresh: async () => (await api.get(`/v1/rooms/${roomId}/replay`, { session_id: sessionId })).replay?.play,
      });
      player.el.dataset.session = sessionId;
      replace(playerSlot, player.el);
      player.load(replay.play, at);
      return;
    }
    player.seek(at);
  };

  const renderAudience = (held: Json[], reminders: Json[]) => {
    const active = held.filter((r) => r.status === 'ROOM_RESERVATION_STATUS_RESERVED');
    const sent = reminders.filter((m) => m.state === 'REMINDER_STATE_SENT');
    replace(
      summary,
      h('span', { class: 'kpi', 'data-kpi': 'reservations' }, h('span', { class: 'kpi-label' }, t('reserve.count')), ' ', h('span', { class: 'kpi-value' }, String(active.length))),
      ' ',
      h('span', { class: 'kpi', 'data-kpi': 'reminders-sent' }, h('span', { class: 'kpi-label' }, t('reminders.sent')), ' ', h('span', { class: 'kpi-value' }, String(sent.length))),
    );
    replace(
      reservationsBox,
      held.length
        ? table(
            t('reserve.title'),
            [t('reserve.viewer'), t('invites.associate'), t('reserve.status'), t('reserve.at'), t('reserve.consent'), t('reserve.reminder')],
            held.map((r) => [
              h('span', { 'data-reservation-viewer': r.viewer_id }, r.viewer_id),
              r.associate_id ? opts.associateName(r.associate_id) : '',
              tEnum(r.status),
              formatTime(r.reserved_at, getLocale()),
              r.reminder_consent ? t('reserve.consentYes') : t('reserve.consentNo'),
              r.reminder_state && r.reminder_state !== 'REMINDER_STATE_UNSPECIFIED' ? tEnum(r.reminder_state) : '',
            ]),
          )
        : h('p', { class: 'empty' }, t('reserve.none')),
    );
    replace(
      remindersBox,
      reminders.length
        ? table(
            t('reminders.title'),
            ['#', t('reserve.viewer'), t('reminders.kind'), t('reminders.state'), t('reminders.attempts'), t('reminders.errcode'), t('reminders.sentAt'), t('reminders.message')],
            reminders.map((m) => [
              m.id,
              m.viewer_id,
              tEnum(m.kind),
              h('span', { class: `badge ${m.state}`, 'data-reminder-state': m.state, 'data-reminder-viewer': m.viewer_id }, tEnum(m.state)),
              String(m.attempts ?? 0),
              Number(m.last_errcode ?? 0) ? String(m.last_errcode) : '',
              formatTime(m.sent_at, getLocale()),
              m.sandbox_message ? h('code', { class: 'sandbox-message', 'data-sandbox-message': m.id }, m.sandbox_message) : m.msgid ? `msgid ${m.msgid}` : (m.last_error ?? ''),
            ]),
          )
        : h('p', { class: 'empty' }, t('reminders.none')),
    );
  };

  // The replays of the latest ended sessions: read again only when another session ended (null:
  // never read, so the panel says when no session has ended yet).
  let endedKey: string | null = null;
  const renderReplays = async (ended: Json[]) => {
    const answers = await Promise.all(
      ended.map((s) =>
        api.get(`/v1/rooms/${roomId}/replay`, { session_id: s.id }).then(
          (x: Json) => x.replay as Json,
          (e: unknown) => {
            // No replay yet (404) is a state, not a failure.
            if (e instanceof ApiError && e.status === 404) return null;
            throw e;
          },
        ),
      ),
    );
    if (ctx.gone()) return;
    replace(
      replaysBox,
      ended.length
        ? h(
            'ul',
            { class: 'plain replays' },
            ...ended.map((s, i) => {
              const replay = answers[i];
              return h(
                'li',
                { 'data-replay-session': s.id },
                h('h3', {}, t('replays.session', { id: s.id }), ' ', h('span', { class: 'meta' }, `${formatTime(s.started_at, getLocale())} – ${formatTime(s.ended_at, getLocale())}`)),
                replay
                  ? [
                      h('p', { class: 'meta' }, `${tEnum(replay.source)} · ${formatDuration(replay.duration_seconds)} `, h('button', { type: 'button', class: 'small', 'data-replay-play': s.id, onclick: () => play(s.id, replay, 0) }, t('replays.play'))),
                      (replay.moments ?? []).length
                        ? table(
                            t('replays.moments'),
                            [t('replays.at'), t('replays.kind'), t('products.product'), ''],
                            (replay.moments as Json[]).map((m) => [
                              h('time', {}, formatOffset(m.offset_ms)),
                              tEnum(m.kind),
                              m.product_name || `#${m.product_id}`,
                              h('button', { type: 'button', class: 'small secondary', 'data-moment-seek': m.offset_ms, 'aria-label': t('replays.seekTo', { time: formatOffset(m.offset_ms) }), onclick: () => play(s.id, replay, seekSeconds(m.offset_ms)) }, t('replays.seek')),
                            ]),
                            { 'data-replay-moments': s.id },
                          )
                        : h('p', { class: 'empty' }, t('replays.noMoments')),
                    ]
                  : h('p', { class: 'empty', 'data-replay-missing': s.id }, t('replays.none')),
              );
            }),
          )
        : h('p', { class: 'empty' }, t('replays.noSessions')),
    );
  };

  const refresh = async () => {
    try {
      const [held, sent, sessions] = await Promise.all([
        api.get(`/v1/rooms/${roomId}/reservations`, { page_size: 500 }),
        api.get(`/v1/rooms/${roomId}/reminders`, { page_size: 500 }),
        api.get(`/v1/rooms/${roomId}/sessions`, { page_size: 100 }),
      ]);
      if (ctx.gone()) return;
      error.textContent = '';
      renderAudience(held.reservations ?? [], sent.reminders ?? []);
      // Sessions come oldest first: the newest ended ones show.
      const ended = (sessions.sessions ?? []).filter((s: Json) => s.status === 'SESSION_STATUS_ENDED').reverse().slice(0, REPLAY_SESSIONS);
      // A session that just ended may get its replay a few seconds later: asked again until it has.
      const key = ended.map((s: Json) => s.id).join(',');
      const waiting = ended.some((s: Json) => replaysBox.querySelector(`[data-replay-missing="${s.id}"]`) && Date.now() - Date.parse(s.ended_at) < RECENT_END_MS);
      if (key !== endedKey || waiting) {
        endedKey = key;
        replayError.textContent = '';
        await renderReplays(ended).catch((e) => (replayError.textContent = errorText(e)));
      }
    } catch (e) {
      if (!ctx.gone()) error.textContent = errorText(e);
    }
  };
  // The panel sits below the room's own sections, which load first: its reads start a moment
  // later, so a page drawn again and again (each action redraws it) does not spend the user's
  // request budget on them, and then come every few seconds.
  const start = window.setTimeout(() => {
    if (!ctx.gone()) ctx.every(AUDIENCE_REFRESH_MS, refresh);
  }, AUDIENCE_FIRST_READ_MS);
  ctx.onCleanup(() => window.clearTimeout(start));
  return { reservations, replays };
}
