// The H5 livestream page (phone width), as the mini-program page behaves: sign in with a code,
// join with an invite link (or an associate's share link), the video with the stream's state over
// it, the live count and the pinned product, the product list at the viewer's cohort prices,
// flash-buy, cart, checkout with the sandbox payment, and the paid order. Before the start the
// room offers "remind me"; after the end, its replay with the products presented, each a jump to
// its moment and a purchase from the replay.
import type { Ctx } from '../app';
import { errorText } from '../app';
import type { Json } from '../lib/api';
import { ApiError, wsUrl } from '../lib/api';
import { statsOf } from '../lib/chat';
import { field, h, replace } from '../lib/dom';
import { getLocale, t, tEnum } from '../lib/i18n';
import { formatFen, toFen } from '../lib/money';
import { formatOffset, H5_REMINDER_TEMPLATE, isReserved, replayRoomContext, roomFace, seekSeconds, showingAt } from '../lib/replay';
import { replayPlayer } from '../lib/replay_player';
import { formatTime } from '../lib/time';
import { streamPlayer, type PlayerUpdate, type StreamPlayer } from '../lib/video';
import { h5Chat } from './h5_chat';

function randomId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto && typeof crypto.randomUUID === 'function' && window.isSecureContext) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function deviceId(): string {
  let id = localStorage.getItem('lc.device');
  if (!id) {
    id = `h5-${randomId().slice(0, 12)}`;
    localStorage.setItem('lc.device', id);
  }
  return id;
}

export async function h5Page(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const roomId = q.get('room') ?? '';
  const brand = q.get('brand') ?? ctx.claims?.brand ?? '';
  if (!ctx.claims || ctx.claims.role !== 'viewer' || (brand && ctx.claims.brand !== brand)) {
    viewerLogin(ctx, brand);
    return;
  }
  if (!roomId) {
    await roomChooser(ctx);
    return;
  }
  await roomPage(ctx, roomId);
}

function viewerLogin(ctx: Ctx, brand: string): void {
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'card narrow',
      'aria-labelledby': 'h5-login-title',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        error.textContent = '';
        const d = new FormData(form);
        try {
          const res = await ctx.api.post('/v1/login', { code: String(d.get('code')), brand_id: String(d.get('brand')) });
          ctx.store.signIn('viewer', res.token);
          ctx.rerender();
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    h('h1', { id: 'h5-login-title' }, t('h5.signInTitle')),
    h('p', {}, t('h5.signInText')),
    field(t('h5.code'), h('input', { name: 'code', required: true, pattern: '[A-Za-z0-9_\\-]+', autocomplete: 'username' })),
    field(t('h5.brand'), h('input', { name: 'brand', required: true, value: brand || 'demo' })),
    h('button', { type: 'submit' }, t('h5.signIn')),
    error,
  );
  ctx.keep('h5-login', form);
  ctx.root.append(form);
}

async function roomChooser(ctx: Ctx): Promise<void> {
  const res = await ctx.api.get('/v1/rooms', { status: 'ROOM_STATUS_LIVE', page_size: 50 });
  const rooms: Json[] = res.rooms ?? [];
  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'live-rooms' },
      h('h1', { id: 'live-rooms' }, t('h5.liveRooms')),
      rooms.length
        ? h('ul', { class: 'plain' }, ...rooms.map((r) => h('li', {}, h('a', { href: `#/h5?brand=${encodeURIComponent(r.brand_id)}&room=${r.id}` }, r.title))))
        : h('p', { class: 'empty' }, t('h5.noLiveRooms')),
    ),
  );
  await myOrders(ctx, ctx.root);
}

async function myOrders(ctx: Ctx, into: HTMLElement): Promise<void> {
  const res = await ctx.api.get('/v1/orders', { page_size: 20 });
  const orders: Json[] = res.orders ?? [];
  into.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'my-orders' },
      h('h2', { id: 'my-orders' }, t('h5.myOrders')),
      orders.length
        ? h('ul', { class: 'plain orders' }, ...orders.map((o) => h('li', {}, `#${o.id} · ${tEnum(o.status)} · ${formatFen(o.total?.amount_fen, o.total?.currency)} · ${formatTime(o.created_at, getLocale())}`)))
        : h('p', { class: 'empty' }, t('h5.noOrders')),
    ),
  );
}

/** A room's page for the viewer: "remind me" before the start, the live, the replay after. An
 * invite link is mostly opened for the live: its join binds the invite to the viewer (a private
 * room is readable only then), so it goes first, and only a room that is not live is read after. */
async function roomPage(ctx: Ctx, roomId: string): Promise<void> {
  const invite = ctx.query.get('invite') ?? '';
  // The room's face other than the live; false when it is (or may be) the live.
  const other = async (): Promise<boolean> => {
    const room = await readRoom(ctx, roomId, invite);
    if (ctx.gone()) return true;
    const face = roomFace(room?.status);
    if (face === 'reserve') await reserveView(ctx, room, invite);
    else if (face === 'replay') await replayView(ctx, room, invite);
    return face !== 'live';
  };
  if (invite) await livestream(ctx, roomId, other);
  else if (!(await other())) await livestream(ctx, roomId);
}

/** The room as this viewer may read it, or null. A private room is readable once the viewer's
 * invite is bound to them, which happens the first time it is used (joining the live, reserving,
 * reading the replay). Reading the replay with it binds it whatever that answers (no replay yet is
 * 404), then the room reads. */
async function readRoom(ctx: Ctx, roomId: string, invite: string): Promise<Json | null> {
  if (invite) {
    try {
      await ctx.api.get(`/v1/rooms/${roomId}/replay`, { invite_token: invite });
    } catch {
      /* bound or refused: reading the room says which */
    }
  }
  try {
    return (await ctx.api.get(`/v1/rooms/${roomId}`)).room ?? null;
  } catch {
    return null;
  }
}

/** A scheduled room: its start, "remind me" (what the mini-program sends after
 * wx.requestSubscribeMessage: the template and the viewer's consent), the reservation's state and
 * its cancel. The page turns into the live once the room goes live. */
async function reserveView(ctx: Ctx, room: Json, invite: string): Promise<void> {
  const api = ctx.api;
  const roomId: string = room.id;
  const error = h('p', { class: 'error', role: 'alert' });
  await shareAttribution(ctx, roomId, ctx.query.get('share') ?? '', error);
  let reservation: Json = null;
  try {
    reservation = (await api.get(`/v1/rooms/${roomId}/reservation`)).reservation ?? null;
  } catch (e) {
    error.textContent = errorText(e);
  }
  if (ctx.gone()) return;
  const state = h('p', { class: 'reservation-state', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions' });
  const change = (fn: () => Promise<Json>, ok: string) => async () => {
    error.textContent = '';
    try {
      reservation = (await fn()).reservation ?? null;
      render();
      ctx.notify(ok);
    } catch (e) {
      error.textContent = errorText(e);
    }
  };
  const remind = change(() => api.post(`/v1/rooms/${roomId}/reservation`, { subscribe: { template_id: H5_REMINDER_TEMPLATE, accepted: true }, invite_token: invite || undefined }), t('h5.reservedOk'));
  const cancel = change(() => api.del(`/v1/rooms/${roomId}/reservation`), t('h5.reservationCancelled'));
  const render = () => {
    const reserved = isReserved(reservation);
    state.dataset.reservationState = reserved ? 'reserved' : 'none';
    replace(state, reserved ? h('span', { class: 'badge reserved' }, t('h5.reserved')) : t('h5.notReserved'));
    replace(
      actions,
      reserved
        ? h('button', { type: 'button', class: 'secondary', 'data-reservation-cancel': '1', onclick: cancel }, t('h5.cancelReservation'))
        : h('button', { type: 'button', 'data-remind-me': '1', onclick: remind }, t('h5.remindMe')),
    );
  };
  render();
  ctx.root.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'reserve-h', 'data-room-face': 'reserve' },
      h('h1', { id: 'reserve-h', class: 'room-title' }, room.title),
      h('p', { class: 'live-line' }, h('span', { class: `badge ${room.status}` }, tEnum(room.status)), ' ', room.scheduled_start ? t('h5.startsAt', { time: formatTime(room.scheduled_start, getLocale()) }) : ''),
      room.description ? h('p', {}, room.description) : null,
      state,
      actions,
      h('p', { class: 'hint' }, t('h5.remindHint')),
      error,
    ),
  );
  // The start: the page becomes the live (or, had it ended meanwhile, the replay).
  ctx.every(5000, async () => {
    const now = (await api.get(`/v1/rooms/${roomId}`)).room;
    if (!ctx.gone() && now?.status && now.status !== room.status) ctx.rerender();
  });
}

/** An ended room: its replay, counted as replay reach (never live presence), the products
 * presented with their moment; a moment seeks the video to where the product was presented (the
 * server's timeline) and shows it to buy, through the same cart and checkout as the live, as a
 * purchase from the replay. */
async function replayView(ctx: Ctx, room: Json, invite: string): Promise<void> {
  const api = ctx.api;
  const roomId: string = room.id;
  const error = h('p', { class: 'error', role: 'alert' });
  const attribution = await shareAttribution(ctx, roomId, ctx.query.get('share') ?? '', error);
  let replay: Json;
  try {
    replay = (await api.post(`/v1/rooms/${roomId}/replay/views`, { invite_token: invite || undefined })).replay;
  } catch (e) {
    if (ctx.gone()) return;
    if (e instanceof ApiError && e.status === 404) {
      // The recording becomes the replay a little after the end: look again now and then.
      ctx.root.append(h('h1', { class: 'room-title' }, room.title), h('p', { class: 'hint', 'data-replay-state': 'preparing' }, t('h5.replayPreparing')), error);
      ctx.every(5000, async () => {
        await api.get(`/v1/rooms/${roomId}/replay`);
        if (!ctx.gone()) ctx.rerender();
      });
    } else {
      ctx.root.append(h('h1', { class: 'room-title' }, room.title), error);
      error.textContent = e instanceof ApiError && e.status === 403 ? t('h5.needInvite') : errorText(e);
    }
    return;
  }
  let products: Json[] = [];
  try {
    products = (await api.get(`/v1/rooms/${roomId}/products`)).items ?? [];
  } catch {
    products = []; // the presented products carry their names and prices
  }
  if (ctx.gone()) return;
  const sessionId: string = replay.session_id;
  const presented: Json[] = replay.products ?? [];
  const shopping = shop(ctx, { products: () => products, roomCtx: () => replayRoomContext(roomId, sessionId), attribution: () => attribution, error });

  const productBox = h('div', { class: 'live-box', 'aria-live': 'polite' });
  let chosen: Json = null; // the moment the viewer jumped to, until the playhead leaves it
  let showing: Json = null;
  const renderProduct = () => {
    const p = chosen ?? showing;
    replace(
      productBox,
      h('p', { class: 'live-line' }, h('span', { class: 'badge replay' }, t('h5.replay')), ' ', replay.session_started_at ? formatTime(replay.session_started_at, getLocale()) : ''),
      p
        ? h(
            'div',
            { class: 'pinned-card', 'data-replay-product': p.product_id },
            h('div', { class: 'kpi-label' }, t('h5.presentedAt', { time: formatOffset(p.offset_ms) })),
            h('strong', {}, p.product_name || `#${p.product_id}`),
            ' ',
            formatFen(p.price?.amount_fen, p.price?.currency),
            p.sku_id
              ? h(
                  'div',
                  { class: 'actions' },
                  h('button', { type: 'button', class: 'small', 'data-replay-buy': p.product_id, 'aria-label': t('h5.buyName', { name: p.product_name || p.product_id }), onclick: () => shopping.startCheckout([{ sku_id: p.sku_id, quantity: '1' }]) }, t('h5.buy')),
                  h('button', { type: 'button', class: 'small secondary', 'aria-label': t('h5.addToCartName', { name: p.product_name || p.product_id }), onclick: () => void shopping.addToCart(p.sku_id, '', p.product_name) }, t('h5.addToCart')),
                )
              : null,
          )
        : null,
    );
  };
  const player = replayPlayer({
    label: t('replay.label', { title: room.title }),
    refresh: async () => (await api.get(`/v1/rooms/${roomId}/replay`, { session_id: sessionId })).replay?.play,
    onTime: (seconds) => {
      const now = showingAt(replay.moments, seconds);
      if (chosen && Math.abs(seconds - seekSeconds(chosen.offset_ms)) > 2 && now?.product_id !== chosen.product_id) chosen = null;
      if (now?.product_id !== showing?.product_id || now?.offset_ms !== showing?.offset_ms) {
        showing = now;
        renderProduct();
      }
    },
  });
  ctx.onCleanup(() => player.destroy());
  const momentsBox = h(
    'section',
    { class: 'card', 'aria-labelledby': 'moments-h' },
    h('h2', { id: 'moments-h' }, t('h5.moments')),
    presented.length
      ? h(
          'ul',
          { class: 'plain moments' },
          ...presented.map((p) =>
            h(
              'li',
              { 'data-moment': p.product_id },
              h(
                'button',
                {
                  type: 'button',
                  class: 'link',
                  'data-offset-ms': String(p.offset_ms ?? 0),
                  'aria-label': t('h5.watchAt', { name: p.product_name || p.product_id, time: formatOffset(p.offset_ms) }),
                  onclick: () => {
                    chosen = p;
                    renderProduct();
                    const duration = player.video.duration;
                    player.seek(seekSeconds(p.offset_ms, Number.isFinite(duration) ? duration : undefined));
                    player.el.scrollIntoView({ block: 'start' });
                  },
                },
                h('time', { class: 'moment-at' }, formatOffset(p.offset_ms)),
                ' ',
                p.product_name || `#${p.product_id}`,
              ),
              ' ',
              h('span', { class: 'price' }, formatFen(p.price?.amount_fen, p.price?.currency)),
            ),
          ),
        )
      : h('p', { class: 'empty' }, t('h5.noMoments')),
  );
  ctx.root.append(
    h('h1', { class: 'room-title', 'data-room-face': 'replay' }, room.title),
    player.el,
    productBox,
    error,
    shopping.orderBox,
    shopping.checkoutBox,
    momentsBox,
    shopping.cartBox,
  );
  renderProduct();
  await shopping.loadCart();
  player.load(replay.play);
}

/** An associate's share link: the touch recorded once, its attribution carried into the cart and
 * the checkout (during the live and from the replay alike). */
async function shareAttribution(ctx: Ctx, roomId: string, share: string, error: HTMLElement): Promise<Json | null> {
  let attribution: Json | null = null;
  const attrKey = `lc.attr.${roomId}`;
  const saved = sessionStorage.getItem(attrKey);
  if (saved) attribution = JSON.parse(saved);
  if (share && !sessionStorage.getItem(`lc.share.${share}`)) {
    try {
      const res = await ctx.api.post(`/v1/share-links/${share}/open`);
      attribution = res.attribution ?? null;
      sessionStorage.setItem(`lc.share.${share}`, '1');
      if (attribution) sessionStorage.setItem(attrKey, JSON.stringify(attribution));
    } catch (e) {
      error.textContent = errorText(e);
    }
  }
  return attribution;
}

/** The live. `notLive`: called when the join answers that the room is not live (409), to show
 * what the room offers instead; it answers false when it had nothing else to show. */
async function livestream(ctx: Ctx, roomId: string, notLive?: () => Promise<boolean>): Promise<void> {
  const api = ctx.api;
  const q = ctx.query;
  const invite = q.get('invite') ?? '';
  const share = q.get('share') ?? '';
  const status = h('p', { class: 'hint', role: 'status' }, t('h5.joining'));
  const error = h('p', { class: 'error', role: 'alert' });
  ctx.root.append(status, error);

  const attribution = await shareAttribution(ctx, roomId, share, error);

  // ---- The room WebSocket: joining, the live count, the pin, the flash stock ----
  let sessionId = '';
  let cohort = '';
  let stats: Json = {};
  let play: Json = undefined; // the signed play addresses of the last join
  let pinned: Json = null;
  const stock = new Map<string, Json>();
  let socket: WebSocket | null = null;
  let closed = false;
  // Set once the page is drawn; socket messages before that only update the state.
  let renderLive = () => {};
  let renderFlash = () => {};
  let player: StreamPlayer | null = null;
  let socketLost = () => {};
  // The chat keeps its own state from the first message on (the history comes right after
  // "joined"); its frames go out on whichever socket is open.
  const sendFrame = (frame: object): boolean => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  };
  const chat = h5Chat(ctx, sendFrame);
  let everJoined = false;
  let retry = 0;
  let retryTimer = 0;
  let resolveJoined = () => {};
  let rejectJoined = (_: Error) => {};
  const joined = new Promise<void>((resolve, reject) => {
    resolveJoined = resolve;
    rejectJoined = reject;
  });
  const onStats = (next: Json) => {
    stats = next;
    renderLive();
    player?.update(streamNews(stats));
  };
  const onSocketMessage = (msg: Json) => {
    if (msg.type === 'joined') {
      sessionId = msg.joined.session_id ?? '';
      cohort = msg.joined.cohort ?? '';
      stats = msg.joined.stats ?? {};
      play = msg.joined.play;
      if (msg.joined.pinned) pinned = msg.joined.pinned;
      if (everJoined) status.textContent = '';
      everJoined = true;
      retry = 0;
      resolveJoined();
      renderLive();
      player?.update({ play, ...streamNews(stats) });
      chat.onJoined();
    } else if (msg.type === 'stats') {
      onStats(msg.stats);
    } else if (msg.type === 'pinned') {
      pinned = msg.pinned?.product_id ? msg.pinned : null;
      renderLive();
    } else if (msg.type === 'flash_stock') {
      for (const s of msg.flash_stock?.sales ?? []) stock.set(s.sale_id, s);
      renderFlash();
    } else {
      // A chat frame carries the stats when they changed (then no "stats" frame comes).
      const carried = statsOf(msg);
      if (carried) onStats(carried);
      chat.onMessage(msg);
    }
  };
  // A socket that drops while the room is live is opened again (the same device: the viewer is
  // not counted twice); what the chat had not got acknowledged is sent again on it.
  const reconnectLater = () => {
    retry = Math.min(retry + 1, 5);
    retryTimer = window.setTimeout(async () => {
      if (closed) return;
      try {
        const r = await api.get(`/v1/rooms/${roomId}`);
        if (closed || r.room?.status !== 'ROOM_STATUS_LIVE') return;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) reconnectLater();
        return;
      }
      status.textContent = t('chat.reconnecting');
      connect();
    }, 500 * 2 ** retry);
  };
  const connect = () => {
    const token = ctx.store.token('viewer') ?? '';
    const s = new WebSocket(wsUrl(`/v1/rooms/${roomId}/ws`, { access_token: token, device_id: deviceId(), invite_token: invite || undefined }, location));
    socket = s;
    s.onmessage = (m) => {
      let msg: Json;
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      onSocketMessage(msg);
    };
    s.onclose = (e) => {
      if (socket === s) socket = null;
      if (closed) return;
      if (!everJoined) {
        rejectJoined(new Error('refused'));
        return;
      }
      status.textContent = t('h5.disconnected');
      if (e.code === 1008 && /token/.test(e.reason)) {
        ctx.store.signOut('viewer');
        ctx.rerender();
        return;
      }
      socketLost();
      reconnectLater();
    };
  };
  connect();
  const ping = window.setInterval(() => socket?.readyState === WebSocket.OPEN && socket.send('ping'), 25000);
  ctx.onCleanup(() => {
    closed = true;
    window.clearInterval(ping);
    window.clearTimeout(retryTimer);
    socket?.close(1000);
  });
  try {
    await joined;
  } catch {
    // The refusal came before the upgrade; ask again over HTTP for the reason.
    try {
      const res = await api.post(`/v1/rooms/${roomId}/join`, { device_id: deviceId(), invite_token: invite });
      sessionId = res.session_id;
      stats = res.stats ?? {};
      play = res.play;
      status.textContent = t('h5.noLiveUpdates');
    } catch (e) {
      status.textContent = '';
      if (notLive && e instanceof ApiError && e.status === 409) {
        // Scheduled or ended: this page gives way to the room's other face.
        closed = true;
        window.clearInterval(ping);
        status.remove();
        error.remove();
        if ((await notLive()) || ctx.gone()) return;
        ctx.root.append(error);
      }
      error.textContent = e instanceof ApiError && e.status === 403 ? t('h5.needInvite') : errorText(e);
      return;
    }
  }
  if (ctx.gone()) return;
  status.textContent = '';

  const [roomRes, productsRes, salesRes] = await Promise.all([api.get(`/v1/rooms/${roomId}`), api.get(`/v1/rooms/${roomId}/products`), api.get(`/v1/rooms/${roomId}/flash-sales`)]);
  if (ctx.gone()) return;
  const room: Json = roomRes.room;
  const products: Json[] = productsRes.items ?? [];
  const sales: Json[] = (salesRes.sales ?? []).filter((s: Json) => s.status === 'FLASH_SALE_STATUS_ACTIVE' || s.status === 'FLASH_SALE_STATUS_SCHEDULED');
  const productOf = (productId: string) => products.find((p) => p.product.id === productId)?.product;
  const roomCtx = () => ({ room_id: roomId, session_id: sessionId });

  // The video. A fresh play address (before this one expires, or once the server refuses it) comes
  // from joining again over HTTP with the same device: the socket stays open, so the viewer is
  // not counted as leaving and arriving.
  player = streamPlayer({
    label: t('player.label', { title: room.title }),
    kind: 'h5',
    refresh: async (): Promise<PlayerUpdate> => {
      const res = await api.post(`/v1/rooms/${roomId}/join`, { device_id: deviceId(), invite_token: invite });
      if (res.session_id) sessionId = res.session_id;
      return { play: res.play ?? null, ...streamNews(res.stats ?? {}) };
    },
  });
  ctx.onCleanup(() => player?.destroy());
  // The socket closed by itself: the room may have ended (then the player stops).
  socketLost = () => {
    api.get(`/v1/rooms/${roomId}`).then(
      (r) => !ctx.gone() && player?.update({ roomStatus: r.room?.status, stream: r.room?.stream }),
      () => {},
    );
  };

  const liveBox = h('div', { class: 'live-box' });
  const flashBox = h('section', { class: 'card', 'aria-labelledby': 'flash-h' });
  const listBox = h('section', { class: 'card', 'aria-labelledby': 'products-h' });
  const shopping = shop(ctx, { products: () => products, roomCtx, attribution: () => attribution, error });
  const { addToCart, startCheckout } = shopping;
  ctx.root.append(h('h1', { class: 'room-title' }, room.title), player.el, liveBox, chat.el, shopping.orderBox, shopping.checkoutBox, flashBox, listBox, shopping.cartBox);

  renderLive = () => {
    if (ctx.gone()) return;
    const live = stats.status === 'ROOM_STATUS_LIVE' || room.status === 'ROOM_STATUS_LIVE';
    const p = pinned ? productOf(pinned.product_id) : null;
    replace(
      liveBox,
      h('p', { class: 'live-line' }, h('span', { class: live ? 'badge ROOM_STATUS_LIVE' : 'badge' }, live ? t('h5.live') : tEnum(stats.status ?? room.status)), ' ', h('span', { 'data-live-count': '1', 'aria-label': t('h5.watchingAria', { n: stats.concurrent_viewers ?? 0 }) }, t('h5.watching', { n: stats.concurrent_viewers ?? 0 })), cohort ? h('span', { class: 'badge cohort' }, ` ${cohort}`) : ''),
      pinned
        ? h(
            'div',
            { class: 'pinned-card', 'data-pinned': pinned.product_id },
            h('div', { class: 'kpi-label' }, t('h5.nowShowing')),
            h('strong', {}, pinned.product_name || p?.name || `#${pinned.product_id}`),
            ' ',
            formatFen(pinned.price?.amount_fen, pinned.price?.currency),
            pinned.sku_id ? h('button', { type: 'button', class: 'small', onclick: () => void addToCart(pinned.sku_id, '', pinned.product_name) }, t('h5.addToCart')) : null,
          )
        : null,
    );
  };

  renderFlash = () => {
    if (ctx.gone()) return;
    replace(
      flashBox,
      h('h2', { id: 'flash-h' }, t('h5.flash')),
      sales.length
        ? h(
            'ul',
            { class: 'plain flash' },
            ...sales.map((s) => {
              const live = stock.get(s.id);
              const remaining = Number(live?.remaining ?? s.remaining ?? 0);
              const active = (live?.status ?? s.status) === 'FLASH_SALE_STATUS_ACTIVE';
              const prod = productOf(s.product_id);
              return h(
                'li',
                { 'data-sale': s.id },
                h('strong', {}, prod?.name ?? `SKU ${s.sku_id}`),
                ' ',
                h('span', { class: 'price' }, formatFen(s.sale_price?.amount_fen, s.sale_price?.currency)),
                prod?.list_price ? h('s', { class: 'was' }, ` ${formatFen(prod.list_price.amount_fen, prod.list_price.currency)}`) : '',
                h('span', { class: 'meta' }, ` · ${t('h5.left', { n: remaining })}`),
                h('button', { type: 'button', disabled: !active || remaining <= 0, 'aria-label': t('h5.flashBuyName', { name: prod?.name ?? s.sku_id }), onclick: () => startCheckout([{ sku_id: s.sku_id, sale_id: s.id, quantity: '1' }]) }, remaining <= 0 ? t('h5.soldOut') : active ? t('h5.flashBuy') : t('h5.notStarted')),
              );
            }),
          )
        : h('p', { class: 'empty' }, t('h5.noFlash')),
    );
  };

  const viewed = new Set<string>();
  const renderList = () => {
    replace(
      listBox,
      h('h2', { id: 'products-h' }, t('h5.products')),
      products.length
        ? h(
            'ul',
            { class: 'plain products' },
            ...products.map((item) => {
              const p = item.product;
              const sku = (item.skus ?? []).find((s: Json) => s.in_stock) ?? item.skus?.[0];
              const price = sku?.price ?? item.price;
              const detail = h('div', { class: 'detail', hidden: true }, p.description || '', (item.skus ?? []).length > 1 ? h('p', { class: 'meta' }, (item.skus ?? []).map((s: Json) => `#${s.sku_id} ${formatFen(s.price?.amount_fen)}${s.in_stock ? '' : ` (${t('h5.soldOut')})`}`).join(' · ')) : null);
              const cheaper = price && p.list_price && toFen(price.amount_fen) < toFen(p.list_price.amount_fen);
              return h(
                'li',
                { 'data-product': p.id },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'link product-name',
                    'aria-expanded': 'false',
                    onclick: (e: Event) => {
                      detail.hidden = !detail.hidden;
                      (e.currentTarget as HTMLElement).setAttribute('aria-expanded', String(!detail.hidden));
                      if (!viewed.has(p.id) && sessionId) {
                        viewed.add(p.id);
                        api.post(`/v1/sessions/${sessionId}/product-views`, { product_id: p.id }).catch(() => viewed.delete(p.id));
                      }
                    },
                  },
                  p.name,
                ),
                ' ',
                h('span', { class: 'price' }, formatFen(price?.amount_fen, price?.currency)),
                cheaper ? h('s', { class: 'was' }, ` ${formatFen(p.list_price.amount_fen, p.list_price.currency)}`) : '',
                cheaper && cohort ? h('span', { class: 'badge cohort' }, ` ${t('h5.cohortPrice', { cohort })}`) : '',
                detail,
                h('button', { type: 'button', class: 'small', disabled: !sku?.in_stock, 'aria-label': t('h5.addToCartName', { name: p.name }), onclick: () => void addToCart(sku.sku_id, '', p.name) }, sku?.in_stock ? t('h5.addToCart') : t('h5.soldOut')),
              );
            }),
          )
        : h('p', { class: 'empty' }, t('h5.noProducts')),
    );
  };

  await shopping.loadCart();
  renderLive();
  renderFlash();
  renderList();
  player.update({ play, roomStatus: stats.status ?? room.status, stream: stats.stream ?? room.stream, asOf: stats.as_of });
}

/** What the player needs of a RoomStats: the stream, the room's status, the server's clock. */
function streamNews(stats: Json): PlayerUpdate {
  return { stream: stats?.stream, roomStatus: stats?.status, asOf: stats?.as_of };
}

interface ShopOptions {
  products: () => Json[]; // the room's products (ListRoomProducts items), for the lines' names
  /** The room context of what is bought now: the live session, or the replay's (BROADCAST_REPLAY). */
  roomCtx: () => Json;
  attribution: () => Json | null;
  error: HTMLElement; // where a refused cart change is said
}

interface Shop {
  cartBox: HTMLElement;
  checkoutBox: HTMLElement;
  orderBox: HTMLElement;
  addToCart(skuId: string, saleId: string, name: string): Promise<void>;
  startCheckout(lines: Json[] | null): void;
  loadCart(): Promise<void>;
}

/** The cart, the checkout with the address, the sandbox payment and the paid order: the same for
 * a purchase during the live and from the replay; only the room context differs. */
function shop(ctx: Ctx, opts: ShopOptions): Shop {
  const api = ctx.api;
  const error = opts.error;
  const cartBox = h('section', { class: 'card', 'aria-labelledby': 'cart-h' });
  const checkoutBox = h('section', { class: 'card', 'aria-labelledby': 'checkout-h', hidden: true });
  const orderBox = h('section', { class: 'card', 'aria-labelledby': 'order-h', hidden: true, 'aria-live': 'polite' });

  // ---- Cart ----
  let cart: Json[] = [];
  const skuName = (skuId: string) => {
    for (const item of opts.products()) for (const s of item.skus ?? []) if (s.sku_id === skuId) return item.product.name;
    return `SKU ${skuId}`;
  };
  const renderCart = () => {
    replace(
      cartBox,
      h('h2', { id: 'cart-h' }, t('h5.cart')),
      cart.length
        ? h(
            'ul',
            { class: 'plain cart' },
            ...cart.map((i) =>
              h(
                'li',
                {},
                `${skuName(i.sku_id)}${i.sale_id ? ` (${t('h5.flashPiece')})` : ''} × ${i.quantity} `,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'small secondary',
                    'aria-label': t('h5.removeName', { name: skuName(i.sku_id) }),
                    onclick: async () => {
                      try {
                        cart = (await api.del(`/v1/cart/items/${i.sku_id}`, { sale_id: i.sale_id || undefined })).cart?.items ?? [];
                        renderCart();
                      } catch (e) {
                        error.textContent = errorText(e);
                      }
                    },
                  },
                  t('h5.remove'),
                ),
              ),
            ),
          )
        : h('p', { class: 'empty' }, t('h5.cartEmpty')),
      cart.length ? h('button', { type: 'button', onclick: () => startCheckout(null) }, t('h5.checkout')) : null,
    );
  };
  const addToCart = async (skuId: string, saleId: string, name: string) => {
    error.textContent = '';
    try {
      const item: Json = { sku_id: skuId, quantity: '1', room: opts.roomCtx() };
      const attribution = opts.attribution();
      if (saleId) item.sale_id = saleId;
      if (attribution) item.attribution = attribution;
      cart = (await api.post('/v1/cart/items', { item })).cart?.items ?? [];
      renderCart();
      ctx.notify(t('h5.added', { name }));
    } catch (e) {
      error.textContent = errorText(e);
    }
  };

  // ---- Checkout, payment, the paid order ----
  let pendingLines: Json[] | null = null;
  const coError = h('p', { class: 'error', role: 'alert' });
  const coSummary = h('p', {});
  const coForm = h(
    'form',
    { 'aria-label': t('h5.address') },
    field(t('h5.recipient'), h('input', { name: 'recipient', required: true, autocomplete: 'name' })),
    field(t('h5.phone'), h('input', { name: 'phone', required: true, type: 'tel', autocomplete: 'tel', pattern: '[0-9+ \\-]{6,20}' })),
    h('div', { class: 'row' }, field(t('h5.province'), h('input', { name: 'province', required: true })), field(t('h5.city'), h('input', { name: 'city', required: true })), field(t('h5.district'), h('input', { name: 'district' }))),
    field(t('h5.street'), h('input', { name: 'street', required: true, autocomplete: 'street-address' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('h5.placeOrder')), h('button', { type: 'button', class: 'secondary', onclick: () => (checkoutBox.hidden = true) }, t('common.cancel'))),
    coError,
  );
  ctx.keep('h5-address', coForm);
  let idempotencyKey = '';
  replace(checkoutBox, h('h2', { id: 'checkout-h' }, t('h5.checkout')), coSummary, coForm);
  const startCheckout = (lines: Json[] | null) => {
    pendingLines = lines;
    idempotencyKey = randomId();
    coError.textContent = '';
    coSummary.textContent = lines ? lines.map((l) => `${skuName(l.sku_id)} × ${l.quantity}${l.sale_id ? ` (${t('h5.flashPiece')})` : ''}`).join(', ') : t('h5.fromCart', { n: cart.length });
    checkoutBox.hidden = false;
    checkoutBox.scrollIntoView({ block: 'start' });
    (coForm.querySelector('input[name="recipient"]') as HTMLInputElement | null)?.focus();
  };
  coForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    coError.textContent = '';
    const d = new FormData(coForm);
    const address: Json = {};
    for (const k of ['recipient', 'phone', 'province', 'city', 'district', 'street']) address[k] = String(d.get(k) ?? '');
    const body: Json = { idempotency_key: idempotencyKey, address, room: opts.roomCtx() };
    const attribution = opts.attribution();
    if (pendingLines) body.lines = pendingLines;
    else body.from_cart = true;
    if (attribution) body.attribution = attribution;
    try {
      const res = await api.post('/v1/checkout', body);
      checkoutBox.hidden = true;
      if (!pendingLines) cart = [];
      renderCart();
      showOrder(res.order);
    } catch (err) {
      coError.textContent = errorText(err);
    }
  });
  const showOrder = (order: Json) => {
    const paid = order.status !== 'ORDER_STATUS_PENDING_PAYMENT';
    const payError = h('p', { class: 'error', role: 'alert' });
    orderBox.hidden = false;
    replace(
      orderBox,
      h('h2', { id: 'order-h' }, t('h5.order', { id: order.id })),
      h('p', { 'data-order-status': order.status }, h('span', { class: `badge ${order.status}` }, tEnum(order.status)), ' ', h('strong', {}, formatFen(order.total?.amount_fen, order.total?.currency))),
      h('ul', { class: 'plain' }, ...(order.lines ?? []).map((l: Json) => h('li', {}, `${l.product_name} × ${l.quantity} · ${formatFen(l.line_total?.amount_fen, l.line_total?.currency)}`))),
      !paid
        ? h(
            'button',
            {
              type: 'button',
              onclick: async () => {
                payError.textContent = '';
                try {
                  showOrder((await api.post(`/v1/orders/${order.id}/sandbox-pay`)).order);
                  ctx.notify(t('h5.paidOk'));
                } catch (err) {
                  payError.textContent = errorText(err);
                }
              },
            },
            t('h5.paySandbox'),
          )
        : h('p', { class: 'ok' }, order.paid_at ? t('h5.paidAt', { time: formatTime(order.paid_at, getLocale()) }) : ''),
      payError,
    );
    orderBox.scrollIntoView({ block: 'start' });
  };

  const loadCart = async () => {
    try {
      cart = (await api.get('/v1/cart')).cart?.items ?? [];
    } catch {
      cart = [];
    }
    renderCart();
  };
  return { cartBox, checkoutBox, orderBox, addToCart, startCheckout, loadCart };
}
