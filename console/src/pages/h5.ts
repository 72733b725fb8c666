// The H5 livestream page (phone width), as the mini-program page behaves: sign in with a code,
// join with an invite link (or an associate's share link), the video with the stream's state over
// it, the live count and the pinned product, the product list at the viewer's cohort prices,
// flash-buy, cart, checkout with the sandbox payment, and the paid order.
import type { Ctx } from '../app';
import { errorText } from '../app';
import type { Json } from '../lib/api';
import { ApiError, wsUrl } from '../lib/api';
import { statsOf } from '../lib/chat';
import { field, h, replace } from '../lib/dom';
import { getLocale, t, tEnum } from '../lib/i18n';
import { formatFen, toFen } from '../lib/money';
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
  await livestream(ctx, roomId);
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

async function livestream(ctx: Ctx, roomId: string): Promise<void> {
  const api = ctx.api;
  const q = ctx.query;
  const invite = q.get('invite') ?? '';
  const share = q.get('share') ?? '';
  const status = h('p', { class: 'hint', role: 'status' }, t('h5.joining'));
  const error = h('p', { class: 'error', role: 'alert' });
  ctx.root.append(status, error);

  // An associate's share link: record the touch once, carry its attribution into cart and checkout.
  let attribution: Json | null = null;
  const attrKey = `lc.attr.${roomId}`;
  const saved = sessionStorage.getItem(attrKey);
  if (saved) attribution = JSON.parse(saved);
  if (share && !sessionStorage.getItem(`lc.share.${share}`)) {
    try {
      const res = await api.post(`/v1/share-links/${share}/open`);
      attribution = res.attribution ?? null;
      sessionStorage.setItem(`lc.share.${share}`, '1');
      if (attribution) sessionStorage.setItem(attrKey, JSON.stringify(attribution));
    } catch (e) {
      error.textContent = errorText(e);
    }
  }

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
  const cartBox = h('section', { class: 'card', 'aria-labelledby': 'cart-h' });
  const checkoutBox = h('section', { class: 'card', 'aria-labelledby': 'checkout-h', hidden: true });
  const orderBox = h('section', { class: 'card', 'aria-labelledby': 'order-h', hidden: true, 'aria-live': 'polite' });
  ctx.root.append(h('h1', { class: 'room-title' }, room.title), player.el, liveBox, chat.el, orderBox, checkoutBox, flashBox, listBox, cartBox);

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

  // ---- Cart ----
  let cart: Json[] = [];
  const skuName = (skuId: string) => {
    for (const item of products) for (const s of item.skus ?? []) if (s.sku_id === skuId) return item.product.name;
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
      const item: Json = { sku_id: skuId, quantity: '1', room: roomCtx() };
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
    const body: Json = { idempotency_key: idempotencyKey, address, room: roomCtx() };
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

  try {
    cart = (await api.get('/v1/cart')).cart?.items ?? [];
  } catch {
    cart = [];
  }
  renderLive();
  renderFlash();
  renderList();
  renderCart();
  player.update({ play, roomStatus: stats.status ?? room.status, stream: stats.stream ?? room.stream, asOf: stats.as_of });
}

/** What the player needs of a RoomStats: the stream, the room's status, the server's clock. */
function streamNews(stats: Json): PlayerUpdate {
  return { stream: stats?.stream, roomStatus: stats?.status, asOf: stats?.as_of };
}
