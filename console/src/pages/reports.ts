// Ops and finance: reach versus conversion across sessions. A scatter (reach on x, conversion on
// y, coloured by audience, sized by GMV) with the correlation, filters, and a table with CSV export.
import type { Ctx } from '../app';
import { errorText } from '../app';
import type { Json } from '../lib/api';
import { download, field, h, replace, select, table } from '../lib/dom';
import { AUDIENCES, FORMATS, OBJECTIVES, options, VISIBILITIES } from '../lib/enums';
import { getLocale, t, tEnum } from '../lib/i18n';
import { formatBp, formatFen, toFen } from '../lib/money';
import { bubbleSize, correlationStrength, pearson } from '../lib/stats';
import { formatTime, localInputToRfc3339, toDateInput } from '../lib/time';

export function reportFilters(form: HTMLFormElement): Json {
  const d = new FormData(form);
  const to = new Date(String(d.get('to')) + 'T00:00');
  to.setDate(to.getDate() + 1); // the "to" day is included
  const body: Json = {
    from: localInputToRfc3339(String(d.get('from'))),
    to: localInputToRfc3339(toDateInput(to)),
    limit: 1000,
  };
  for (const k of ['visibility', 'audience', 'objective', 'format']) if (d.get(k)) body[k] = d.get(k);
  return body;
}

export async function reportsPage(ctx: Ctx): Promise<void> {
  // ECharts is loaded by the pages that draw charts only, so the others load fast.
  const { mountChart } = await import('../lib/charts');
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86400_000);
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card filters', 'aria-labelledby': 'reports-title' },
    h('h1', { id: 'reports-title' }, t('reports.title')),
    h(
      'div',
      { class: 'row' },
      field(t('reports.from'), h('input', { name: 'from', type: 'date', required: true, value: toDateInput(monthAgo) })),
      field(t('reports.to'), h('input', { name: 'to', type: 'date', required: true, value: toDateInput(today) })),
      field(t('room.visibility'), select('visibility', options(VISIBILITIES, t('common.any')))),
      field(t('reports.audience'), select('audience', options(AUDIENCES, t('common.any')))),
      field(t('room.objective'), select('objective', options(OBJECTIVES, t('common.any')))),
      field(t('room.format'), select('format', options(FORMATS, t('common.any')))),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('reports.apply')), h('button', { type: 'button', class: 'secondary', onclick: () => void exportCsv() }, t('common.exportCsv'))),
    error,
  );
  ctx.keep('reports', form);
  const summary = h('div', { class: 'kpis' });
  const chartEl = h('div', { class: 'chart tall' });
  const tableEl = h('div');
  ctx.root.append(form, summary, h('section', { class: 'card', 'aria-labelledby': 'scatter-title' }, h('h2', { id: 'scatter-title' }, t('reports.scatter')), chartEl), h('section', { class: 'card', 'aria-labelledby': 'sessions-title' }, h('h2', { id: 'sessions-title' }, t('reports.sessions')), tableEl));
  const chart = mountChart(chartEl, t('reports.scatter'));
  ctx.onCleanup(chart.dispose);

  const exportCsv = async () => {
    error.textContent = '';
    try {
      const res = await ctx.api.post('/v1/reports/sessions/csv', reportFilters(form));
      download(`sessions-${toDateInput(new Date())}.csv`, res.csv ?? '');
    } catch (e) {
      error.textContent = errorText(e);
    }
  };

  const load = async () => {
    error.textContent = '';
    let res: Json;
    try {
      res = await ctx.api.post('/v1/reports/sessions', reportFilters(form));
    } catch (e) {
      error.textContent = errorText(e);
      return;
    }
    const rows: Json[] = res.sessions ?? [];
    const maxGmv = Math.max(0, ...rows.map((r) => Number(toFen(r.sales?.gmv?.amount_fen))));
    const byAudience = new Map<string, Json[]>();
    for (const r of rows) {
      const key = (r.audiences ?? []).length === 1 ? r.audiences[0] : (r.audiences ?? []).length ? 'mixed' : 'AUDIENCE_UNSPECIFIED';
      if (!byAudience.has(key)) byAudience.set(key, []);
      byAudience.get(key)!.push(r);
    }
    const r = rows.length ? pearson(rows.map((x) => Number(x.reach ?? 0)), rows.map((x) => Number(x.conversion_rate_bp ?? 0))) : null;
    const serverR = Number(res.correlation_sample_size ?? 0) >= 2 ? Number(res.reach_conversion_correlation) : r;
    replace(
      summary,
      h('div', { class: 'kpi', 'data-kpi': 'matched' }, h('div', { class: 'kpi-label' }, t('reports.matched')), h('div', { class: 'kpi-value' }, String(res.matched ?? 0))),
      h(
        'div',
        { class: 'kpi', 'data-kpi': 'correlation' },
        h('div', { class: 'kpi-label' }, t('reports.correlation')),
        h('div', { class: 'kpi-value' }, serverR === null || Number.isNaN(serverR) ? '—' : serverR.toFixed(2)),
        h('div', { class: 'kpi-label' }, t(correlationStrength(serverR === null || Number.isNaN(serverR) ? null : serverR)), ` (n=${res.correlation_sample_size ?? rows.length})`),
      ),
      ...(res.segments ?? [])
        .filter((s: Json) => s.dimension === 'audience')
        .map((s: Json) => h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, tEnum(s.value)), h('div', { class: 'kpi-value' }, formatBp(s.conversion_rate_bp)), h('div', { class: 'kpi-label' }, `${t('live.reach')} ${s.reach} · ${formatFen(s.gmv?.amount_fen)}`))),
    );
    chart.chart.setOption(
      {
        grid: { left: 56, right: 24, top: 40, bottom: 48 },
        legend: { top: 0 },
        tooltip: {
          trigger: 'item',
          formatter: (p: Json) => {
            const row = p.data?.row;
            return row ? `${row.title}<br/>${t('live.reach')}: ${row.reach}<br/>${t('live.conversion')}: ${formatBp(row.conversion_rate_bp)}<br/>${t('live.gmv')}: ${formatFen(row.sales?.gmv?.amount_fen)}` : '';
          },
        },
        xAxis: { type: 'value', name: t('live.reach'), nameLocation: 'middle', nameGap: 28, minInterval: 1 },
        yAxis: { type: 'value', name: `${t('live.conversion')} (%)`, axisLabel: { formatter: '{value}%' } },
        series: [...byAudience.entries()].map(([aud, list]) => ({
          type: 'scatter',
          name: aud === 'mixed' ? t('reports.mixed') : tEnum(aud),
          data: list.map((row) => ({ value: [Number(row.reach ?? 0), Number(row.conversion_rate_bp ?? 0) / 100], symbolSize: bubbleSize(Number(toFen(row.sales?.gmv?.amount_fen)), maxGmv), row })),
        })),
        aria: { enabled: true },
      },
      true,
    );
    replace(
      tableEl,
      rows.length
        ? table(
            t('reports.sessions'),
            [t('room.title'), t('reports.started'), t('room.visibility'), t('room.audiences'), t('room.objective'), t('room.format'), t('live.reach'), t('live.peak'), t('live.orders'), t('live.buyers'), t('live.gmv'), t('live.conversion')],
            rows.map((x) => [
              ctx.claims?.role === 'ops' ? h('a', { href: `#/rooms/${x.room_id}` }, x.title || `#${x.room_id}`) : x.title || `#${x.room_id}`,
              formatTime(x.started_at, getLocale()),
              tEnum(x.visibility),
              (x.audiences ?? []).map(tEnum).join(', '),
              tEnum(x.objective),
              tEnum(x.format),
              String(x.reach ?? 0),
              String(x.peak_concurrency ?? 0),
              String(x.sales?.orders ?? 0),
              String(x.sales?.buyers ?? 0),
              formatFen(x.sales?.gmv?.amount_fen, x.sales?.gmv?.currency),
              formatBp(x.conversion_rate_bp),
            ]),
          )
        : h('p', { class: 'empty' }, t('reports.none')),
    );
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  await load();
}
