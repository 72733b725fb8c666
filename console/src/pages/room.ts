// Ops: one room. Edit it, its stream (push address, state, preview, recordings; room_stream.ts),
// its products (attach, order, pin, detach), flash sales and holds, invites (by cohort, on behalf
// of associates; each a link with a QR code), go live, end; who reserved and the reminders sent
// (room_audience.ts), the replays of ended sessions with their product moments.
import type { Ctx } from '../app';
import { errorText } from '../app';
import type { Json } from '../lib/api';
import { field, h, replace, select, table } from '../lib/dom';
import { getLocale, t, tEnum } from '../lib/i18n';
import { consoleBase, h5Link } from '../lib/links';
import { formatFen, money, yuanToFen } from '../lib/money';
import { linkBox } from '../lib/qr';
import { formatTime, localInputToRfc3339, toLocalInput } from '../lib/time';
import { roomBody, roomFields } from './rooms';
import { audiencePanel } from './room_audience';
import { streamPanel } from './room_stream';

export async function roomPage(ctx: Ctx): Promise<void> {
  const id = ctx.params.id;
  const api = ctx.api;
  let room: Json = (await api.get(`/v1/rooms/${id}`)).room;
  let products: Json[] = [];
  let associates: Json[] = [];
  try {
    associates = (await api.get('/v1/associates', { page_size: 100 })).associates ?? [];
  } catch {
    associates = [];
  }
  const associateName = (aid: string) => associates.find((a) => a.id === aid)?.name ?? aid;

  // Runs an action, reports its outcome, refreshes the page's data.
  const act = (errorEl: HTMLElement, fn: () => Promise<unknown>, ok: string) => async (e?: Event) => {
    e?.preventDefault();
    errorEl.textContent = '';
    try {
      await fn();
      ctx.notify(ok);
      await refresh();  // staff reads are not cached by the gateway: the change shows at once
    } catch (err) {
      errorEl.textContent = errorText(err);
    }
  };

  // ---- Header: status and lifecycle ----
  const head = h('section', { class: 'card', 'aria-labelledby': 'room-head' });
  const headError = h('p', { class: 'error', role: 'alert' });
  const renderHead = () => {
    const live = room.status === 'ROOM_STATUS_LIVE';
    replace(
      head,
      h('h1', { id: 'room-head' }, room.title, ' ', h('span', { class: `badge ${room.status}` }, tEnum(room.status))),
      h('p', { class: 'meta' }, `#${room.id} · ${tEnum(room.visibility)} · ${(room.audiences ?? []).map(tEnum).join(', ')} · ${tEnum(room.objective)} · ${tEnum(room.format)} · ${formatTime(room.scheduled_start, getLocale())}`),
      h(
        'div',
        { class: 'actions' },
        !live ? h('button', { type: 'button', onclick: act(headError, () => api.post(`/v1/rooms/${id}/live`), t('room.wentLive')) }, t('room.goLive')) : null,
        live ? h('a', { class: 'button', href: `#/live/${id}` }, t('room.dashboard')) : null,
        live
          ? h(
              'button',
              {
                type: 'button',
                class: 'danger',
                onclick: (e: Event) => {
                  if (confirm(t('room.endConfirm'))) void act(headError, () => api.post(`/v1/rooms/${id}/end`), t('room.ended'))(e);
                },
              },
              t('room.end'),
            )
          : null,
      ),
      headError,
    );
  };

  // ---- Edit ----
  const editError = h('p', { class: 'error', role: 'alert' });
  const edit = h(
    'form',
    { class: 'card', 'aria-labelledby': 'edit-title' },
    h('h2', { id: 'edit-title' }, t('room.edit')),
    ...roomFields(room),
    h('button', { type: 'submit' }, t('room.save')),
    editError,
  );
  const forgetEdit = ctx.keep(`room-${id}`, edit);
  edit.addEventListener('submit', act(editError, async () => {
    await api.patch(`/v1/rooms/${id}`, roomBody(edit, true));
    forgetEdit();
  }, t('room.saved')));

  // ---- Products ----
  const productsCard = h('section', { class: 'card', 'aria-labelledby': 'products-title' });
  const productsList = h('div');
  const productsError = h('p', { class: 'error', role: 'alert' });
  const attachSelect = h('select', { name: 'product_id', required: true });
  const attachForm = h(
    'form',
    { class: 'inline-form', 'aria-label': t('products.attach') },
    field(t('products.product'), attachSelect),
    field(t('products.visibleTo'), h('input', { name: 'visible_to_cohort', placeholder: t('products.everyone') })),
    field(t('products.cohort'), h('input', { name: 'cohort' })),
    field(t('products.cohortPrice'), h('input', { name: 'cohort_price', inputmode: 'decimal', placeholder: '0.00' })),
    h('button', { type: 'submit' }, t('products.attach')),
  );
  attachForm.addEventListener('submit', act(productsError, async () => {
    const d = new FormData(attachForm);
    const body: Json = { product_id: d.get('product_id') };
    if (d.get('visible_to_cohort')) body.visible_to_cohort = d.get('visible_to_cohort');
    const cohort = String(d.get('cohort') ?? '');
    const price = String(d.get('cohort_price') ?? '');
    if (cohort && price) {
      const fen = yuanToFen(price);
      if (!fen) throw new Error(t('error.price'));
      body.cohort_prices = [{ cohort, price: money(fen) }];
    }
    await api.post(`/v1/rooms/${id}/products`, body);
  }, t('products.attached')));
  const newProduct = h(
    'form',
    { class: 'inline-form', 'aria-label': t('products.new') },
    field(t('products.name'), h('input', { name: 'name', required: true })),
    field(t('products.price'), h('input', { name: 'price', required: true, inputmode: 'decimal', placeholder: '0.00' })),
    field(t('products.skuCode'), h('input', { name: 'sku_code', required: true })),
    field(t('products.stock'), h('input', { name: 'on_hand', type: 'number', min: 0, value: '100', required: true })),
    h('button', { type: 'submit' }, t('products.createAttach')),
  );
  const forgetNewProduct = ctx.keep('new-product', newProduct);
  newProduct.addEventListener('submit', act(productsError, async () => {
    const d = new FormData(newProduct);
    const fen = yuanToFen(String(d.get('price') ?? ''));
    if (!fen) throw new Error(t('error.price'));
    const created = await api.post('/v1/products', {
      name: d.get('name'),
      list_price: money(fen),
      skus: [{ sku_code: d.get('sku_code'), on_hand: String(d.get('on_hand') ?? '0') }],
    });
    await api.post(`/v1/products/${created.product.id}/activate`);
    await api.post(`/v1/rooms/${id}/products`, { product_id: created.product.id });
    forgetNewProduct();
    newProduct.reset();
  }, t('products.attached')));
  replace(productsCard, h('h2', { id: 'products-title' }, t('products.title')), productsList, h('h3', {}, t('products.attach')), attachForm, h('h3', {}, t('products.new')), newProduct, productsError);

  const renderProducts = () => {
    const pinned = room.pinned?.product_id ?? '';
    const ids = products.map((p) => p.product.id as string);
    const move = (i: number, d: number) => {
      const next = ids.slice();
      [next[i], next[i + d]] = [next[i + d], next[i]];
      return act(productsError, () => api.post(`/v1/rooms/${id}/products/reorder`, { product_ids: next }), t('products.reordered'));
    };
    replace(
      productsList,
      products.length
        ? table(
            t('products.title'),
            [t('products.position'), t('products.name'), t('products.price'), t('products.cohortPrices'), t('products.skus'), ''],
            products.map((p, i) => [
              String(p.position),
              h('span', {}, p.product.name, pinned === p.product.id ? h('span', { class: 'badge pinned' }, ` ${t('products.pinned')}`) : ''),
              formatFen(p.price?.amount_fen ?? p.product.list_price?.amount_fen, p.price?.currency),
              (p.cohort_prices ?? []).map((c: Json) => `${c.cohort}: ${formatFen(c.price.amount_fen, c.price.currency)}`).join('; ') + (p.visible_to_cohort ? ` (${t('products.onlyFor')} ${p.visible_to_cohort})` : ''),
              (p.skus ?? []).map((s: Json) => `#${s.sku_id} (${s.available})`).join(', '),
              h(
                'div',
                { class: 'actions' },
                h('button', { type: 'button', class: 'small', disabled: i === 0, 'aria-label': t('products.up', { name: p.product.name }), onclick: move(i, -1) }, '↑'),
                h('button', { type: 'button', class: 'small', disabled: i === products.length - 1, 'aria-label': t('products.down', { name: p.product.name }), onclick: move(i, 1) }, '↓'),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'small',
                    disabled: room.status !== 'ROOM_STATUS_LIVE',
                    'aria-label': t('products.pinName', { name: p.product.name }),
                    onclick: act(productsError, () => api.post(`/v1/rooms/${id}/pin`, { product_id: p.product.id, sku_id: p.skus?.[0]?.sku_id ?? p.product.skus?.[0]?.id ?? '' }), t('products.pinnedOk')),
                  },
                  t('products.pin'),
                ),
                h('button', { type: 'button', class: 'small danger', 'aria-label': t('products.detachName', { name: p.product.name }), onclick: act(productsError, () => api.del(`/v1/rooms/${id}/products/${p.product.id}`), t('products.detached')) }, t('products.detach')),
              ),
            ]),
          )
        : h('p', { class: 'empty' }, t('products.none')),
      pinned ? h('button', { type: 'button', class: 'small secondary', onclick: act(productsError, () => api.del(`/v1/rooms/${id}/pin`), t('products.unpinned')) }, t('products.unpin')) : null,
    );
  };

  // ---- Flash sales and holds ----
  const flashCard = h('section', { class: 'card', 'aria-labelledby': 'flash-title' });
  const flashList = h('div');
  const flashError = h('p', { class: 'error', role: 'alert' });
  const skuSelect = h('select', { name: 'sku_id', required: true });
  const now = new Date();
  const flashForm = h(
    'form',
    { class: 'inline-form', 'aria-label': t('flash.new') },
    field(t('flash.sku'), skuSelect),
    field(t('flash.price'), h('input', { name: 'sale_price', required: true, inputmode: 'decimal', placeholder: '0.00' })),
    field(t('flash.stock'), h('input', { name: 'total_stock', type: 'number', min: 1, value: '10', required: true })),
    field(t('flash.limit'), h('input', { name: 'per_buyer_limit', type: 'number', min: 0, value: '1' })),
    field(t('flash.starts'), h('input', { name: 'starts_at', type: 'datetime-local', value: toLocalInput(now) })),
    field(t('flash.ends'), h('input', { name: 'ends_at', type: 'datetime-local', value: toLocalInput(new Date(now.getTime() + 2 * 3600_000)) })),
    h('button', { type: 'submit' }, t('flash.create')),
  );
  flashForm.addEventListener('submit', act(flashError, async () => {
    const d = new FormData(flashForm);
    const fen = yuanToFen(String(d.get('sale_price') ?? ''));
    if (!fen) throw new Error(t('error.price'));
    await api.post(`/v1/rooms/${id}/flash-sales`, {
      sku_id: d.get('sku_id'),
      sale_price: money(fen),
      total_stock: String(d.get('total_stock')),
      per_buyer_limit: Number(d.get('per_buyer_limit') || 0),
      starts_at: localInputToRfc3339(String(d.get('starts_at'))),
      ends_at: localInputToRfc3339(String(d.get('ends_at'))),
    });
  }, t('flash.created')));
  const saleSelect = h('select', { name: 'sale_id', required: true });
  const holdForm = h(
    'form',
    { class: 'inline-form', 'aria-label': t('hold.new') },
    field(t('hold.sale'), saleSelect),
    field(t('hold.client'), h('input', { name: 'client_id', required: true, placeholder: 'local-…' })),
    field(t('hold.quantity'), h('input', { name: 'quantity', type: 'number', min: 1, value: '1', required: true })),
    field(t('hold.ttl'), h('input', { name: 'ttl_minutes', type: 'number', min: 1, value: '30', required: true })),
    h('button', { type: 'submit' }, t('hold.create')),
  );
  holdForm.addEventListener('submit', act(flashError, async () => {
    const d = new FormData(holdForm);
    await api.post(`/v1/flash-sales/${d.get('sale_id')}/holds`, {
      client_id: d.get('client_id'),
      quantity: String(d.get('quantity')),
      ttl_seconds: Number(d.get('ttl_minutes')) * 60,
    });
  }, t('hold.created')));
  replace(flashCard, h('h2', { id: 'flash-title' }, t('flash.title')), flashList, h('h3', {}, t('flash.new')), flashForm, h('h3', {}, t('hold.new')), holdForm, flashError);

  const renderFlash = (sales: Json[]) => {
    replace(
      flashList,
      sales.length
        ? table(
            t('flash.title'),
            ['#', t('flash.sku'), t('flash.price'), t('flash.status'), t('flash.remaining'), t('flash.sold'), t('flash.held'), t('flash.window'), ''],
            sales.map((s) => [
              s.id,
              s.sku_id,
              formatFen(s.sale_price?.amount_fen, s.sale_price?.currency),
              tEnum(s.status),
              s.remaining,
              s.sold,
              s.held,
              `${formatTime(s.starts_at, getLocale())} – ${formatTime(s.ends_at, getLocale())}`,
              h(
                'div',
                { class: 'actions' },
                s.status === 'FLASH_SALE_STATUS_SCHEDULED' ? h('button', { type: 'button', class: 'small', 'aria-label': t('flash.startN', { id: s.id }), onclick: act(flashError, () => api.post(`/v1/flash-sales/${s.id}/start`), t('flash.started')) }, t('flash.start')) : null,
                s.status === 'FLASH_SALE_STATUS_ACTIVE' ? h('button', { type: 'button', class: 'small', 'aria-label': t('flash.endN', { id: s.id }), onclick: act(flashError, () => api.post(`/v1/flash-sales/${s.id}/end`), t('flash.ended')) }, t('flash.end')) : null,
                s.status === 'FLASH_SALE_STATUS_SCHEDULED' || s.status === 'FLASH_SALE_STATUS_ACTIVE'
                  ? h('button', { type: 'button', class: 'small danger', 'aria-label': t('flash.cancelN', { id: s.id }), onclick: act(flashError, () => api.post(`/v1/flash-sales/${s.id}/cancel`), t('flash.cancelled')) }, t('flash.cancel'))
                  : null,
              ),
            ]),
          )
        : h('p', { class: 'empty' }, t('flash.none')),
    );
    replace(saleSelect, ...sales.map((s) => h('option', { value: s.id }, `#${s.id} · SKU ${s.sku_id} · ${formatFen(s.sale_price?.amount_fen)}`)));
  };

  // ---- Invites ----
  const invitesCard = h('section', { class: 'card', 'aria-labelledby': 'invites-title' });
  const invitesList = h('div');
  const issued = h('div', { class: 'issued', 'aria-live': 'polite' });
  const invitesError = h('p', { class: 'error', role: 'alert' });
  const inviteForm = h(
    'form',
    { class: 'inline-form', 'aria-label': t('invites.issue') },
    field(t('invites.cohort'), h('input', { name: 'cohort', required: true, value: 'VIP' })),
    field(t('invites.associate'), select('associate_id', [['', t('invites.noAssociate')], ...associates.map((a): [string, string] => [a.id, `${a.name} (#${a.id})`])])),
    field(t('invites.count'), h('input', { name: 'count', type: 'number', min: 1, max: 1000, value: '1', required: true })),
    h('button', { type: 'submit' }, t('invites.issue')),
  );
  const forgetInvite = ctx.keep(`invite-${id}`, inviteForm);
  inviteForm.addEventListener('submit', act(invitesError, async () => {
    const d = new FormData(inviteForm);
    const body: Json = { cohort: d.get('cohort'), count: Number(d.get('count')) };
    if (d.get('associate_id')) body.associate_id = d.get('associate_id');
    const res = await api.post(`/v1/rooms/${id}/invites`, body);
    forgetInvite();
    const base = consoleBase(location);
    replace(
      issued,
      h('h3', {}, t('invites.newLinks')),
      h('p', { class: 'hint' }, t('invites.once')),
      ...(res.invites ?? []).map((inv: Json, i: number) =>
        h(
          'div',
          { class: 'invite-link', 'data-invite-id': inv.id },
          h('p', {}, `${inv.cohort}${inv.associate_id ? ` · ${associateName(inv.associate_id)}` : ''} · #${inv.id}`),
          linkBox(h5Link(base, { brand: room.brand_id, room: id, invite: inv.token }), t('invites.link', { n: i + 1 }), t('common.copy'), t('common.copied')),
        ),
      ),
    );
  }, t('invites.issued')));
  replace(invitesCard, h('h2', { id: 'invites-title' }, t('invites.title')), inviteForm, issued, invitesList, invitesError);

  const renderInvites = (invites: Json[]) => {
    replace(
      invitesList,
      invites.length
        ? table(
            t('invites.title'),
            ['#', t('invites.cohort'), t('invites.associate'), t('invites.status'), t('invites.viewer'), t('invites.created'), ''],
            invites.map((inv) => [
              inv.id,
              inv.cohort,
              inv.associate_id ? associateName(inv.associate_id) : '',
              tEnum(inv.status),
              inv.bound_viewer_id,
              formatTime(inv.created_at, getLocale()),
              inv.status === 'INVITE_STATUS_OPEN' || inv.status === 'INVITE_STATUS_BOUND'
                ? h('button', { type: 'button', class: 'small danger', 'aria-label': t('invites.revokeN', { id: inv.id }), onclick: act(invitesError, () => api.post(`/v1/invites/${inv.id}/revoke`), t('invites.revoked')) }, t('invites.revoke'))
                : '',
            ]),
          )
        : h('p', { class: 'empty' }, t('invites.none')),
    );
  };

  const refresh = async () => {
    const [r, p, f, inv, catalog] = await Promise.all([
      api.get(`/v1/rooms/${id}`),
      api.get(`/v1/rooms/${id}/products`),
      api.get(`/v1/rooms/${id}/flash-sales`),
      api.get(`/v1/rooms/${id}/invites`, { page_size: 100 }),
      api.get('/v1/products', { page_size: 100 }),
    ]);
    if (ctx.gone()) return;
    room = r.room;
    products = p.items ?? [];
    renderHead();
    renderProducts();
    renderFlash(f.sales ?? []);
    renderInvites(inv.invites ?? []);
    const attached = new Set(products.map((x) => x.product.id));
    replace(attachSelect, ...(catalog.products ?? []).filter((x: Json) => !attached.has(x.id)).map((x: Json) => h('option', { value: x.id }, `${x.name} (#${x.id}, ${tEnum(x.status)})`)));
    const skus = products.flatMap((x) => (x.product.skus ?? []).map((s: Json) => [s.id, `${x.product.name} · ${s.sku_code} (#${s.id})`] as [string, string]));
    const chosen = skuSelect.value;
    replace(skuSelect, ...skus.map(([v, l]) => h('option', { value: v, selected: v === chosen }, l)));
  };

  const streamCard = streamPanel(ctx, id, {
    room: () => room,
    onRoomChanged: (r) => {
      room = r;
      renderHead();
    },
  });
  const audience = audiencePanel(ctx, id, { associateName });
  ctx.root.append(h('p', {}, h('a', { href: '#/rooms' }, `← ${t('rooms.title')}`)), head, streamCard, productsCard, flashCard, invitesCard, audience.reservations, audience.replays, edit);
  renderHead();
  await refresh();
}
