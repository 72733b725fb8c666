// Ops: the live dashboard of a room's session. From the room WebSocket, watched without joining
// (`watch=1`, so ops are not counted as viewers): the room's stats every second (concurrent
// viewers, peak, reach, joins, the stream's health and encoder-to-live time), the pin and the
// flash stock left, and the room's chat with its moderation (live_chat.ts). Read each second: the
// sales and the session report (orders, buyers, GMV, conversion, funnel, top associates).
import type { Ctx } from '../app';
import { ApiError, type Json, wsUrl } from '../lib/api';
import { h, replace, table } from '../lib/dom';
import { getLocale, t, tEnum } from '../lib/i18n';
import { formatBp, formatFen, toFen } from '../lib/money';
import { statsOf } from '../lib/chat';
import { streamState } from '../lib/player';
import { formatClock, formatDuration, formatLatency, healthOf, secondsUntil } from '../lib/stream';
import { liveChat } from './live_chat';

const WINDOW_POINTS = 600; // ten minutes of one-second samples

export function kpi(label: string, value: string, testId: string): HTMLElement {
  return h('div', { class: 'kpi', 'data-kpi': testId }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value));
}

export async function livePage(ctx: Ctx): Promise<void> {
  const id = ctx.params.id;
  const api = ctx.api;
  // ECharts is loaded by the pages that draw charts only, so the others load fast.
  const [{ mountChart }, roomRes] = await Promise.all([import('../lib/charts'), api.get(`/v1/rooms/${id}`)]);
  const room: Json = roomRes.room;
  let associates: Json[] = [];
  try {
    associates = (await api.get('/v1/associates', { page_size: 100 })).associates ?? [];
  } catch {
    associates = [];
  }
  const name = (aid: string) => associates.find((a) => a.id === aid)?.name ?? (aid || t('live.noAssociate'));

  const streamBox = h('div', { class: 'stream-health', 'data-stream-health': 'none' });
  const kpis = h('div', { class: 'kpis', 'aria-live': 'off' });
  const pinned = h('p', { class: 'pinned-now' });
  const lineEl = h('div', { class: 'chart' });
  const stockEl = h('div', { class: 'chart short' });
  const funnelEl = h('div', { class: 'chart' });
  const assocEl = h('div', { class: 'chart short' });
  const stockTable = h('div');
  const assocTable = h('div');
  const updated = h('p', { class: 'hint', 'aria-live': 'off' });
  const chat = liveChat(ctx, id);
  ctx.root.append(
    h('p', {}, h('a', { href: `#/rooms/${id}` }, `← ${room.title}`)),
    h('h1', {}, t('live.title', { title: room.title }), ' ', h('span', { class: `badge ${room.status}` }, tEnum(room.status))),
    pinned,
    streamBox,
    kpis,
    chat.el,
    h('div', { class: 'grid2' }, h('section', { class: 'card', 'aria-labelledby': 'cv-title' }, h('h2', { id: 'cv-title' }, t('live.concurrent')), lineEl), h('section', { class: 'card', 'aria-labelledby': 'funnel-title' }, h('h2', { id: 'funnel-title' }, t('live.funnel')), funnelEl)),
    h('div', { class: 'grid2' }, h('section', { class: 'card', 'aria-labelledby': 'stock-title' }, h('h2', { id: 'stock-title' }, t('live.flashStock')), stockEl, stockTable), h('section', { class: 'card', 'aria-labelledby': 'assoc-title' }, h('h2', { id: 'assoc-title' }, t('live.topAssociates')), assocEl, assocTable)),
    updated,
  );
  const line = mountChart(lineEl, t('live.concurrent'));
  const stock = mountChart(stockEl, t('live.flashStock'));
  const funnel = mountChart(funnelEl, t('live.funnel'));
  const assoc = mountChart(assocEl, t('live.topAssociates'));
  ctx.onCleanup(() => [line, stock, funnel, assoc].forEach((c) => c.dispose()));

  const points: [number, number][] = [];
  line.chart.setOption({
    grid: { left: 40, right: 16, top: 16, bottom: 28 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ type: 'line', name: t('live.concurrent'), showSymbol: false, data: points, areaStyle: { opacity: 0.15 } }],
    aria: { enabled: true },
  });

  let stats: Json = {};
  let stream: Json = room.stream;
  let report: Json | null = null;
  let sales: Json[] = [];
  let sessionId: string = room.current_session_id ?? '';
  let reportRetryAt = 0;

  const renderKpis = () => {
    const s = report?.sales ?? {};
    const reach = Number(stats.reach ?? report?.reach ?? 0);
    replace(
      kpis,
      kpi(t('live.concurrentNow'), String(stats.concurrent_viewers ?? 0), 'concurrent'),
      kpi(t('live.peak'), String(stats.peak_concurrency ?? 0), 'peak'),
      kpi(t('live.reach'), String(reach), 'reach'),
      kpi(t('live.joins'), String(stats.total_joins ?? 0), 'joins'),
      kpi(t('live.orders'), String(s.orders ?? 0), 'orders'),
      kpi(t('live.buyers'), String(s.buyers ?? 0), 'buyers'),
      kpi(t('live.gmv'), formatFen(s.gmv?.amount_fen, s.gmv?.currency), 'gmv'),
      kpi(t('live.conversion'), formatBp(report?.conversion_rate_bp ?? 0), 'conversion'),
      kpi(t('live.encoderToLive'), formatLatency(stream?.publish_to_live_ms), 'encoder-to-live'),
    );
  };

  // The stream's health. The message is redrawn only when the state changes (an alert read out
  // every second would drown the page); the countdown to the session's end ticks on its own.
  let shownStream = '';
  const countdown = h('span', { class: 'countdown', 'data-stream-countdown': '1', 'aria-live': 'off' });
  const renderStream = () => {
    const health = healthOf(stream);
    const locale = getLocale();
    const key = `${streamState(stream)}|${stream?.since ?? ''}|${stream?.ends_at ?? ''}`;
    if (key !== shownStream) {
      shownStream = key;
      streamBox.dataset.streamHealth = health;
      const since = formatClock(stream?.since, locale);
      const text =
        health === 'interrupted'
          ? stream?.ends_at
            ? t('live.streamInterruptedEnds', { since, ends: formatClock(stream.ends_at, locale) })
            : t('live.streamSince', { since })
          : health === 'up' && since
            ? t('live.streamSince', { since })
            : health === 'waiting'
              ? t('live.streamWaiting')
              : '';
      replace(
        streamBox,
        h(
          'p',
          { class: `stream-line${health === 'interrupted' ? ' stream-alert' : ''}`, role: health === 'interrupted' ? 'alert' : 'status' },
          h('span', { class: 'kpi-label' }, t('live.stream')),
          ' ',
          h('span', { class: `badge stream-${health}`, 'data-stream-state': streamState(stream) }, tEnum(streamState(stream))),
          ' ',
          text,
          ' ',
          health === 'interrupted' ? countdown : null,
        ),
      );
    }
    const left = secondsUntil(stream?.ends_at, stats.as_of ? Date.parse(stats.as_of) : Date.now());
    countdown.textContent = health === 'interrupted' && left !== null ? t('live.streamEndsIn', { left: formatDuration(left) }) : '';
  };

  const renderStock = () => {
    stock.chart.setOption({
      grid: { left: 60, right: 16, top: 24, bottom: 24 },
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: sales.map((x) => `#${x.sale_id ?? x.id}`) },
      series: [
        { type: 'bar', stack: 's', name: t('flash.remaining'), data: sales.map((x) => Number(x.remaining ?? 0)) },
        { type: 'bar', stack: 's', name: t('flash.sold'), data: sales.map((x) => Number(x.sold ?? 0)) },
      ],
    });
    replace(
      stockTable,
      table(
        t('live.flashStock'),
        ['#', 'SKU', t('flash.status'), t('flash.remaining'), t('flash.sold')],
        sales.map((x) => [x.sale_id ?? x.id, x.sku_id, tEnum(x.status), h('span', { 'data-stock': x.sale_id ?? x.id }, String(x.remaining ?? 0)), String(x.sold ?? 0)]),
      ),
    );
  };

  const renderReport = () => {
    const f = report?.funnel ?? {};
    const steps: [string, number][] = [
      [t('funnel.joined'), Number(f.joined ?? 0)],
      [t('funnel.viewed'), Number(f.viewed_product ?? 0)],
      [t('funnel.carted'), Number(f.added_to_cart ?? 0)],
      [t('funnel.checkedOut'), Number(f.checked_out ?? 0)],
      [t('funnel.paid'), Number(f.paid ?? 0)],
    ];
    funnel.chart.setOption({
      tooltip: { trigger: 'item' },
      series: [{ type: 'funnel', sort: 'none', left: '4%', width: '56%', minSize: '8%', label: { position: 'right', formatter: '{b}: {c}' }, data: steps.map(([n, v]) => ({ name: n, value: v })) }],
    });
    // By associate: the report's breakdown, which follows the attribution service's decisions
    // ('' is the sales credited to no associate).
    const top = [...(report?.by_associate ?? []).filter((a: Json) => a.key)].sort((a: Json, b: Json) => Number(toFen(b.sales?.gmv?.amount_fen) - toFen(a.sales?.gmv?.amount_fen))).slice(0, 10);
    assoc.chart.setOption({
      grid: { left: 90, right: 16, top: 8, bottom: 24 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: top.map((a: Json) => name(a.key)) },
      series: [{ type: 'bar', name: t('live.gmv'), data: top.map((a: Json) => Number(toFen(a.sales?.gmv?.amount_fen)) / 100) }],
    });
    replace(
      assocTable,
      table(
        t('live.topAssociates'),
        [t('live.associate'), t('live.orders'), t('live.buyers'), t('live.gmv')],
        top.map((a: Json) => [name(a.key), String(a.sales?.orders ?? 0), String(a.sales?.buyers ?? 0), formatFen(a.sales?.gmv?.amount_fen, a.sales?.gmv?.currency)]),
      ),
    );
  };

  renderKpis();
  renderStream();
  renderStock();
  renderReport();

  // The room WebSocket, watched without joining (ops are not counted as viewers): the live count
  // every second, the pin and the flash stock as they change. Reopened if it drops.
  const stockLeft = new Map<string, Json>();
  const onStats = (st: Json) => {
    stats = st ?? {};
    if (stats.session_id) sessionId = stats.session_id;
    if (stats.stream) stream = stats.stream;
    renderStream();
    const at = stats.as_of ? Date.parse(stats.as_of) : Date.now();
    points.push([at, Number(stats.concurrent_viewers ?? 0)]);
    if (points.length > WINDOW_POINTS) points.splice(0, points.length - WINDOW_POINTS);
    line.chart.setOption({ series: [{ data: points }] });
    renderKpis();
    updated.textContent = t('live.updated', { time: new Date().toLocaleTimeString() });
  };
  const onPinned = (p: Json) => {
    pinned.textContent = p?.product_id ? t('live.pinned', { name: p.product_name || `#${p.product_id}`, price: formatFen(p.price?.amount_fen, p.price?.currency) }) : t('live.nothingPinned');
  };
  const mergeStock = () => {
    sales = sales.map((x: Json) => ({ ...x, ...(stockLeft.get(String(x.sale_id)) ?? {}) }));
    renderStock();
  };
  let socket: WebSocket | null = null;
  let left = false;
  const open = () => {
    const token = ctx.store.token('staff') ?? '';
    socket = new WebSocket(wsUrl(`/v1/rooms/${id}/ws`, { access_token: token, watch: '1' }, location));
    socket.onmessage = (m) => {
      let msg: Json;
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      chat.onMessage(msg);
      // From a "stats" frame or a chat frame that carries them.
      const carried = statsOf(msg);
      if (carried) onStats(carried);
      else if (msg.type === 'watching' && msg.watching?.room?.stream) {
        stream = msg.watching.room.stream;
        renderStream();
      }
      else if (msg.type === 'pinned') onPinned(msg.pinned);
      else if (msg.type === 'flash_stock') {
        for (const x of msg.flash_stock?.sales ?? []) stockLeft.set(String(x.sale_id), x);
        mergeStock();
      }
    };
    socket.onclose = () => {
      socket = null;
      if (!left && !ctx.gone()) window.setTimeout(() => !left && !ctx.gone() && open(), 2000);
    };
  };
  open();
  ctx.onCleanup(() => {
    left = true;
    socket?.close();
  });

  // The sales themselves (their SKU and status) and the session's report are read every second.
  ctx.every(1000, async () => {
    const fs = await api.get(`/v1/rooms/${id}/flash-sales`);
    if (ctx.gone()) return;
    sales = (fs.sales ?? []).map((x: Json) => ({ ...x, sale_id: x.id }));
    mergeStock();
    // The report service learns of a new session a moment after it starts (404 until then).
    if (sessionId && Date.now() >= reportRetryAt) {
      try {
        const r = await api.get(`/v1/sessions/${sessionId}/report`);
        if (ctx.gone()) return;
        report = r.report;
        renderReport();
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
        reportRetryAt = Date.now() + 3000;
      }
    }
    renderKpis();
  });
}
