// Associates (phone width): my alerts as they arrive (the alerts WebSocket; a client's question in
// a room reads "Mme Li asked: …", with the room's link and an answer posted there), who of my clients is
// watching now, my own invites to the rooms ops opened to associates (quota left, issue, list with
// links), my links per room (copy, QR code), per upcoming room a session card to send (my share
// link as a mini-program code) and which of my clients reserved it, my clients, my attributed
// orders and commissions.
import type { Ctx } from '../app';
import { errorText } from '../app';
import type { Json } from '../lib/api';
import { ApiError, wsUrl } from '../lib/api';
import { field, h, replace, table } from '../lib/dom';
import { getLocale, t, tEnum } from '../lib/i18n';
import { countProblem, quotaOf, rememberTokens, roomsOpenToAssociates, tokenOf } from '../lib/invites';
import { consoleBase, h5Link } from '../lib/links';
import { formatFen } from '../lib/money';
import { commissionTotals } from '../lib/ledger';
import { questionOf, refusalReason, refusalText, uniqueId, type Question } from '../lib/chat';
import { copyButton, linkBox } from '../lib/qr';
import { codeImageSrc } from '../lib/replay';
import { formatTime } from '../lib/time';

export async function associatePage(ctx: Ctx): Promise<void> {
  const api = ctx.api;
  const me = ctx.claims!.subject;
  const section = (id: string, title: string, ...body: HTMLElement[]) => h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
  const alertsList = h('ol', { class: 'alerts', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const alertsState = h('p', { class: 'hint' }, t('assoc.connecting'));
  const watching = h('div', { 'aria-live': 'polite' });
  const links = h('div');
  const invites = h('div');
  const cards = h('div');
  const clients = h('div');
  const totals = h('div', { class: 'kpis' });
  const orders = h('div');
  const commissions = h('div');
  const error = h('p', { class: 'error', role: 'alert' });
  let name = me;
  try {
    name = (await api.get(`/v1/associates/${me}`)).associate?.name ?? me;
  } catch {
    /* the id is enough */
  }
  ctx.root.append(
    h('h1', {}, t('assoc.title', { name })),
    error,
    section('alerts-title', t('assoc.alerts'), alertsState, alertsList),
    section('watching-title', t('assoc.watching'), watching),
    section('earn-title', t('assoc.commissions'), totals, commissions),
    section('orders-title', t('assoc.orders'), orders),
    section('cards-title', t('assoc.sessionCards'), cards),
    section('invites-title', t('assoc.invites'), invites),
    section('links-title', t('assoc.links'), links),
    section('clients-title', t('assoc.clients'), clients),
  );

  // ---- Alerts over the WebSocket, reconnecting after the last one seen ----
  let lastAlert = '';
  let socket: WebSocket | null = null;
  let closed = false;
  let retry = 0;
  const addAlert = (a: Json) => {
    lastAlert = a.id;
    const question = questionOf(a);
    if (question) {
      alertsList.prepend(questionAlert(ctx, a, question));
      while (alertsList.children.length > 50) alertsList.lastElementChild?.remove();
      return;
    }
    const amount = a.amount?.amount_fen ? ` · ${formatFen(a.amount.amount_fen, a.amount.currency)}` : '';
    alertsList.prepend(
      h('li', { class: `alert ${a.kind}`, 'data-alert': a.kind }, h('strong', {}, tEnum(a.kind)), ` · ${a.viewer_id}`, a.room_id ? ` · ${t('assoc.room')} #${a.room_id}` : '', amount, h('time', { datetime: a.occurred_at }, ` ${formatTime(a.occurred_at, getLocale())}`)),
    );
    while (alertsList.children.length > 50) alertsList.lastElementChild?.remove();
  };
  const connect = () => {
    const token = ctx.store.token('staff');
    if (!token || closed) return;
    socket = new WebSocket(wsUrl('/v1/alerts/ws', { access_token: token, after_id: lastAlert || undefined }, location));
    socket.onmessage = (m) => {
      let msg: Json;
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (msg.type === 'alert') addAlert(msg.alert);
      else if (msg.type === 'subscribed') {
        retry = 0;
        alertsState.textContent = t('assoc.live');
      } else if (msg.type === 'reconnecting') alertsState.textContent = t('assoc.reconnecting');
    };
    socket.onclose = (e) => {
      socket = null;
      if (closed) return;
      if (e.code === 1008 && /token/.test(e.reason)) {
        sessionStorage.setItem('lc.loginMessage', 'login.expired');
        ctx.store.setReturnTo(location.hash);
        ctx.store.signOut('staff');
        ctx.navigate('#/login');
        return;
      }
      alertsState.textContent = t('assoc.reconnecting');
      retry = Math.min(retry + 1, 5);
      setTimeout(connect, 500 * 2 ** retry);
    };
  };
  connect();
  ctx.onCleanup(() => {
    closed = true;
    socket?.close(1000);
  });

  // ---- Links per room ----
  const base = consoleBase(location);
  const renderLinks = async () => {
    const [rooms, shares] = await Promise.all([api.get('/v1/rooms', { page_size: 50 }), api.get('/v1/share-links', { page_size: 100 })]);
    const list: Json[] = (rooms.rooms ?? []).filter((r: Json) => r.status !== 'ROOM_STATUS_ENDED');
    const byRoom = new Map<string, Json[]>();
    for (const l of shares.links ?? []) if (l.room_id) byRoom.set(l.room_id, [...(byRoom.get(l.room_id) ?? []), l]);
    replace(
      links,
      list.length
        ? h(
            'ul',
            { class: 'room-links' },
            ...list.map((r) => {
              const mine = byRoom.get(r.id) ?? [];
              return h(
                'li',
                {},
                h('h3', {}, r.title, ' ', h('span', { class: `badge ${r.status}` }, tEnum(r.status)), ' ', h('span', { class: 'meta' }, tEnum(r.visibility))),
                ...mine.slice(0, 1).map((l) => linkBox(h5Link(base, { brand: r.brand_id, room: r.id, share: l.id }), t('assoc.linkFor', { title: r.title }), t('common.copy'), t('common.copied'))),
                mine.length === 0
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'small',
                        'aria-label': t('assoc.makeLinkFor', { title: r.title }),
                        onclick: async () => {
                          try {
                            await api.post('/v1/share-links', { target: 'SHARE_TARGET_ROOM', room_id: r.id, share_channel: 'SHARE_CHANNEL_PRIVATE_CHAT' });
                            await renderLinks();
                          } catch (e) {
                            error.textContent = errorText(e);
                          }
                        },
                      },
                      t('assoc.makeLink'),
                    )
                  : null,
                r.visibility === 'VISIBILITY_PRIVATE' ? h('p', { class: 'hint' }, t('assoc.privateHint')) : null,
              );
            }),
          )
        : h('p', { class: 'empty' }, t('assoc.noRooms')),
    );
    return list;
  };
  let rooms: Json[] = [];
  try {
    rooms = await renderLinks();
  } catch (e) {
    error.textContent = errorText(e);
  }

  // ---- My invites: rooms open to associates, my quota there, issuing, my invites ----
  const kept = window.localStorage;
  const roomInvites = (r: Json, listed: Json, fresh: Json[]) => {
    const q = quotaOf(listed.quota, r.associate_invites?.quota_per_associate);
    const formError = h('p', { class: 'error', role: 'alert' });
    const count = h('input', { name: 'count', type: 'number', min: 1, value: q.left > 0 ? '1' : '0', required: true });
    const cohort = h('input', { name: 'cohort', value: 'VIP', maxlength: 100 });
    const form = h(
      'form',
      { class: 'inline-form', 'aria-label': t('assoc.invites.issueFor', { title: r.title }) },
      field(t('invites.count'), count),
      field(t('invites.cohort'), cohort),
      h('button', { type: 'submit', disabled: q.left <= 0 }, t('invites.issue')),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const n = Number(count.value);
      const problem = countProblem(n, q.left);
      if (problem) {
        formError.textContent = t(problem, { left: q.left });
        return;
      }
      try {
        const res = await api.post(`/v1/rooms/${r.id}/invites`, { count: n, cohort: cohort.value });
        rememberTokens(kept, me, res.invites ?? []);
        await renderInvites(r.id, res.invites ?? []);
      } catch (e) {
        formError.textContent = errorText(e);
      }
    });
    const linkOf = (token: string) => h5Link(base, { brand: r.brand_id, room: r.id, invite: token });
    const mine: Json[] = listed.invites ?? [];
    return h(
      'li',
      { 'data-room': r.id },
      h('h3', {}, r.title, ' ', h('span', { class: `badge ${r.status}` }, tEnum(r.status))),
      h('p', { class: 'meta', 'data-quota-left': String(q.left) }, t('assoc.invites.left', { left: q.left, quota: q.quota })),
      form,
      formError,
      fresh.length
        ? h(
            'div',
            { class: 'issued', 'aria-live': 'polite' },
            h('h4', {}, t('invites.newLinks')),
            h('p', { class: 'hint' }, t('invites.once')),
            ...fresh.map((inv: Json, i: number) => h('div', { class: 'invite-link', 'data-invite-id': inv.id }, linkBox(linkOf(inv.token), t('invites.link', { n: i + 1 }), t('common.copy'), t('common.copied')))),
          )
        : null,
      mine.length
        ? table(
            t('assoc.invites.mine', { title: r.title }),
            ['#', t('invites.cohort'), t('invites.status'), t('invites.viewer'), t('assoc.invites.link')],
            mine.map((inv: Json) => {
              const token = tokenOf(kept, me, inv.id);
              return [
                inv.id,
                inv.cohort,
                tEnum(inv.status),
                inv.bound_viewer_id ?? '',
                token
                  ? h('input', { type: 'text', readonly: true, class: 'link-input', value: linkOf(token), 'aria-label': t('assoc.invites.linkN', { id: inv.id }), 'data-invite-link': inv.id })
                  : h('span', { class: 'hint' }, t('assoc.invites.shownOnce')),
              ];
            }),
            { 'data-my-invites': r.id },
          )
        : h('p', { class: 'empty' }, t('invites.none')),
    );
  };
  const renderInvites = async (freshRoom = '', fresh: Json[] = []) => {
    const open = roomsOpenToAssociates(rooms);
    if (!open.length) {
      replace(invites, h('p', { class: 'empty' }, t('assoc.invites.noRooms')));
      return;
    }
    const lists = await Promise.all(open.map((r) => api.get(`/v1/rooms/${r.id}/invites`, { page_size: 100 })));
    if (ctx.gone()) return;
    replace(invites, h('ul', { class: 'room-invites' }, ...open.map((r, i) => roomInvites(r, lists[i], r.id === freshRoom ? fresh : []))));
  };
  try {
    await renderInvites();
  } catch (e) {
    error.textContent = errorText(e);
  }

  // ---- Session cards: per upcoming room, my share link as a mini-program code to send, and the
  // clients who reserved through my invites ----
  const sendCard = async (r: Json, into: HTMLElement) => {
    // One link per room and associate: the one made before is sent again, so touches add up on it.
    let link: Json = ((await api.get('/v1/share-links', { page_size: 100 })).links ?? []).find((l: Json) => l.room_id === r.id && l.target === 'SHARE_TARGET_ROOM');
    if (!link) {
      link = (await api.post('/v1/share-links', { target: 'SHARE_TARGET_ROOM', room_id: r.id, share_channel: 'SHARE_CHANNEL_PRIVATE_CHAT' })).link;
      await renderLinks(); // "My links" shows it too
    }
    const code: Json = (await api.get(`/v1/share-links/${link.id}/code`)).code ?? {};
    if (ctx.gone()) return;
    const url = h5Link(base, { brand: r.brand_id, room: r.id, share: link.id });
    const src = codeImageSrc(code);
    replace(
      into,
      src ? h('img', { class: 'qr share-code', src, width: 200, height: 200, alt: t('assoc.cardCodeAlt', { title: r.title }), 'data-share-code': link.id }) : h('p', { class: 'error' }, t('assoc.cardNoCode')),
      h('p', { class: 'meta' }, t(code.source === 'wechat' ? 'assoc.cardWechat' : 'assoc.cardLocal', { page: code.page ?? '', scene: code.scene ?? '' })),
      h('div', { class: 'link-line' }, h('input', { type: 'text', readonly: true, class: 'link-input', value: url, 'aria-label': t('assoc.linkFor', { title: r.title }), 'data-card-link': link.id }), copyButton(() => url, t('common.copy'), t('common.copied'))),
    );
  };
  const reservationBoxes = new Map<string, HTMLElement>();
  const upcoming = () => rooms.filter((r) => r.status === 'ROOM_STATUS_SCHEDULED' || r.status === 'ROOM_STATUS_LIVE');
  const renderCards = () => {
    const list = upcoming();
    reservationBoxes.clear();
    replace(
      cards,
      list.length
        ? h(
            'ul',
            { class: 'room-links' },
            ...list.map((r) => {
              const cardArea = h('div', { class: 'session-card', 'aria-live': 'polite' });
              const cardError = h('p', { class: 'error', role: 'alert' });
              const booked = h('div', { 'data-reservations': r.id }, h('p', { class: 'empty' }, t('assoc.noReservations')));
              reservationBoxes.set(r.id, booked);
              return h(
                'li',
                { 'data-session-room': r.id },
                h('h3', {}, r.title, ' ', h('span', { class: `badge ${r.status}` }, tEnum(r.status))),
                r.scheduled_start ? h('p', { class: 'meta' }, t('h5.startsAt', { time: formatTime(r.scheduled_start, getLocale()) })) : null,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'small',
                    'data-send-card': r.id,
                    'aria-label': t('assoc.sendCardFor', { title: r.title }),
                    onclick: async () => {
                      cardError.textContent = '';
                      try {
                        await sendCard(r, cardArea);
                      } catch (e) {
                        cardError.textContent = errorText(e);
                      }
                    },
                  },
                  t('assoc.sendCard'),
                ),
                cardArea,
                cardError,
                h('h4', {}, t('assoc.reservedClients')),
                booked,
              );
            }),
          )
        : h('p', { class: 'empty' }, t('assoc.noUpcoming')),
    );
  };
  renderCards();
  ctx.every(3000, async () => {
    const list = upcoming();
    const answers = await Promise.all(list.map((r) => api.get(`/v1/rooms/${r.id}/reservations`, { page_size: 100 }).then((x: Json) => (x.reservations ?? []) as Json[])));
    if (ctx.gone()) return;
    list.forEach((r, i) => {
      const box = reservationBoxes.get(r.id);
      if (!box) return;
      const held = answers[i].filter((x) => x.status === 'ROOM_RESERVATION_STATUS_RESERVED');
      replace(
        box,
        held.length
          ? table(
              t('assoc.reservedClients'),
              [t('assoc.client'), t('assoc.reservedAt'), t('assoc.reminder')],
              held.map((x) => [h('span', { 'data-reserved-viewer': x.viewer_id }, x.viewer_id), formatTime(x.reserved_at, getLocale()), x.reminder_state && x.reminder_state !== 'REMINDER_STATE_UNSPECIFIED' ? tEnum(x.reminder_state) : x.reminder_consent ? t('assoc.reminderDue') : t('assoc.noReminder')]),
            )
          : h('p', { class: 'empty' }, t('assoc.noReservations')),
      );
    });
  });

  // ---- Watching now, clients, orders, commissions: refreshed every 2 s ----
  ctx.every(2000, async () => {
    const live = rooms.filter((r) => r.status === 'ROOM_STATUS_LIVE');
    const [w, c, o, e] = await Promise.all([
      Promise.all(live.map((r) => api.get(`/v1/rooms/${r.id}/watching-clients`).then((x: Json) => ({ room: r, ids: (x.viewer_ids ?? []) as string[] })))),
      api.get('/v1/clients', { page_size: 100 }),
      api.get('/v1/attributed-orders', { page_size: 50 }),
      api.get('/v1/commissions', { page_size: 100 }),
    ]);
    if (ctx.gone()) return;
    const now = w.filter((x) => x.ids.length);
    replace(
      watching,
      now.length
        ? h('ul', { class: 'watching' }, ...now.flatMap((x) => x.ids.map((v) => h('li', { 'data-watching': v }, h('span', { class: 'dot', 'aria-hidden': 'true' }), ` ${v} · ${x.room.title}`))))
        : h('p', { class: 'empty' }, t('assoc.nobodyWatching')),
    );
    const watchingIds = new Set(now.flatMap((x) => x.ids));
    replace(
      clients,
      (c.clients ?? []).length
        ? table(
            t('assoc.clients'),
            [t('assoc.client'), t('assoc.since'), t('assoc.protectedUntil'), t('assoc.reason')],
            (c.clients ?? []).map((b: Json) => [h('span', {}, b.viewer_id, watchingIds.has(b.viewer_id) ? h('span', { class: 'badge ROOM_STATUS_LIVE' }, ` ${t('assoc.watchingNow')}`) : ''), formatTime(b.bound_at, getLocale()), formatTime(b.protected_until, getLocale()), tEnum(b.reason)]),
          )
        : h('p', { class: 'empty' }, t('assoc.noClients')),
    );
    replace(
      orders,
      (o.orders ?? []).length
        ? table(
            t('assoc.orders'),
            [t('assoc.order'), t('assoc.client'), t('assoc.amount'), t('assoc.paidAt'), t('assoc.rule')],
            (o.orders ?? []).map((x: Json) => [`#${x.order_id}`, x.buyer_id, formatFen(x.amount?.amount_fen, x.amount?.currency), formatTime(x.paid_at, getLocale()), tEnum(x.rule)]),
          )
        : h('p', { class: 'empty' }, t('assoc.noOrders')),
    );
    const entries: Json[] = e.entries ?? [];
    const sum = commissionTotals(entries);
    replace(
      totals,
      h('div', { class: 'kpi', 'data-kpi': 'commission-total' }, h('div', { class: 'kpi-label' }, t('assoc.total')), h('div', { class: 'kpi-value' }, formatFen(sum.total))),
      h('div', { class: 'kpi', 'data-kpi': 'commission-pending' }, h('div', { class: 'kpi-label' }, t('fin.pending')), h('div', { class: 'kpi-value' }, formatFen(sum.pending))),
      h('div', { class: 'kpi', 'data-kpi': 'commission-settled' }, h('div', { class: 'kpi-label' }, t('fin.settled')), h('div', { class: 'kpi-value' }, formatFen(sum.settled))),
    );
    replace(
      commissions,
      entries.length
        ? table(
            t('assoc.commissions'),
            [t('assoc.order'), t('fin.recipient'), t('fin.bp'), t('assoc.amount'), t('fin.status')],
            entries.map((x) => [`#${x.order_id}`, tEnum(x.recipient), String(x.basis_points), formatFen(x.amount?.amount_fen, x.amount?.currency), tEnum(x.status)]),
          )
        : h('p', { class: 'empty' }, t('assoc.noCommissions')),
    );
  });
}

/** A client's question in a room: who asked what, a link to the room, and an answer posted in the
 * room as a reply to it (the associate's badge shows on every screen). */
function questionAlert(ctx: Ctx, a: Json, q: Question): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert' });
  const text = h('input', { name: 'answer', maxlength: 2000, autocomplete: 'off', required: true });
  // One client_id per answer until it is accepted or refused: a retry is not posted twice.
  let clientId = '';
  const form = h('form', { class: 'inline-form', hidden: true, 'aria-label': t('assoc.answerTo', { name: q.name }) }, field(t('assoc.answerText'), text), h('button', { type: 'submit', class: 'small' }, t('assoc.answerSend')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    clientId ||= uniqueId('c');
    try {
      await ctx.api.post(`/v1/rooms/${q.roomId}/comments`, { client_id: clientId, text: text.value.trim(), reply_to: q.commentId });
      clientId = '';
      text.value = '';
      form.hidden = true;
      ctx.notify(t('assoc.answered'));
    } catch (err) {
      const reason = err instanceof ApiError ? refusalReason(err.reason, err.message) : '';
      if (err instanceof ApiError && reason) {
        clientId = '';
        const r = refusalText(reason, err.message);
        error.textContent = t(r.key, r.vars);
      } else error.textContent = errorText(err);
    }
  });
  const brand = ctx.claims?.brand ?? '';
  return h(
    'li',
    { class: `alert ${a.kind}`, 'data-alert': a.kind, 'data-question': q.commentId },
    h('strong', { class: 'question' }, t('assoc.asked', { name: q.name, text: q.text })),
    h('time', { datetime: a.occurred_at }, ` ${formatTime(a.occurred_at, getLocale())}`),
    h(
      'div',
      { class: 'actions' },
      q.roomId ? h('a', { href: h5Link(consoleBase(location), { brand, room: q.roomId }), 'data-room-link': q.roomId }, t('assoc.openRoom')) : null,
      q.roomId && q.commentId
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary small',
              'aria-label': t('assoc.answerTo', { name: q.name }),
              onclick: () => {
                form.hidden = !form.hidden;
                if (!form.hidden) text.focus();
              },
            },
            t('assoc.answer'),
          )
        : null,
    ),
    form,
    error,
  );
}
