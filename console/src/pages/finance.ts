// Finance: commission rules (a new version, the history), statements by period and grouping
// (associate, store, recipient) with filters, drill-down to the order lines, CSV export, pending
// versus settled, receivables from clawbacks.
import type { Ctx } from '../app';
import { errorText } from '../app';
import type { Json } from '../lib/api';
import { download, field, h, replace, select, table } from '../lib/dom';
import { GROUPINGS, options, RECIPIENTS, RULE_SCOPES } from '../lib/enums';
import { getLocale, t, tEnum } from '../lib/i18n';
import { formatBp, formatFen } from '../lib/money';
import { formatTime, localInputToRfc3339, toDateInput, toLocalInput } from '../lib/time';
import { statementRequest } from '../lib/ledger';

export async function financePage(ctx: Ctx): Promise<void> {
  const api = ctx.api;
  let associates: Json[] = [];
  let stores: Json[] = [];
  try {
    [associates, stores] = await Promise.all([api.get('/v1/associates', { page_size: 100 }).then((x: Json) => x.associates ?? []), api.get('/v1/stores', { page_size: 100 }).then((x: Json) => x.stores ?? [])]);
  } catch {
    /* names are a convenience */
  }
  const who = (g: Json, grouping: string) => {
    if (grouping === 'STATEMENT_GROUPING_STORE') return stores.find((s) => s.id === g.recipient_id)?.name ?? `#${g.recipient_id}`;
    if (grouping === 'STATEMENT_GROUPING_ASSOCIATE') return associates.find((a) => a.id === g.recipient_id)?.name ?? `#${g.recipient_id}`;
    return `${tEnum(g.recipient)}${g.recipient_id ? ` ${g.recipient_id}` : ''}`;
  };

  // ---- Statement ----
  const today = new Date();
  const first = new Date(today.getFullYear(), today.getMonth(), 1);
  const stError = h('p', { class: 'error', role: 'alert' });
  const stForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'st-title' },
    h('h1', { id: 'st-title' }, t('fin.statement')),
    h(
      'div',
      { class: 'row' },
      field(t('reports.from'), h('input', { name: 'from', type: 'date', required: true, value: toDateInput(first) })),
      field(t('reports.to'), h('input', { name: 'to', type: 'date', required: true, value: toDateInput(today) })),
      field(t('fin.grouping'), select('grouping', options(GROUPINGS), 'STATEMENT_GROUPING_ASSOCIATE')),
    ),
    h(
      'div',
      { class: 'row' },
      field(t('fin.associate'), select('associate_id', [['', t('common.any')], ...associates.map((a): [string, string] => [a.id, `${a.name} (#${a.id})`])])),
      field(t('fin.store'), select('store_id', [['', t('common.any')], ...stores.map((s): [string, string] => [s.id, `${s.name} (#${s.id})`])])),
      field(t('fin.recipient'), select('recipient', options(RECIPIENTS, t('common.any')))),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('fin.show')), h('button', { type: 'button', class: 'secondary', onclick: () => void exportCsv() }, t('common.exportCsv'))),
    stError,
  );
  ctx.keep('statement', stForm);
  const stTotals = h('div', { class: 'kpis' });
  const stGroups = h('div');
  const drill = h('section', { class: 'card', 'aria-labelledby': 'lines-title', hidden: true });

  const formValues = () => {
    const d = new FormData(stForm);
    return {
      from: String(d.get('from')),
      to: String(d.get('to')),
      grouping: String(d.get('grouping')),
      filter: { associate_id: String(d.get('associate_id') ?? ''), store_id: String(d.get('store_id') ?? ''), recipient: String(d.get('recipient') ?? '') },
    };
  };

  const showLines = async (title: string, filter: Json, pageToken = '', into?: HTMLElement) => {
    const v = formValues();
    const req = statementRequest(v.from, v.to, v.grouping, filter);
    req.page_size = 100;
    if (pageToken) req.page_token = pageToken;
    const res = await api.post('/v1/finance/statements', req);
    const lines: Json[] = res.statement?.lines ?? [];
    const body = into ?? h('div');
    const rows = lines.map((e) => [`#${e.order_id}`, formatTime(e.booked_at, getLocale()), tEnum(e.kind), tEnum(e.recipient), e.recipient_id, formatBp(e.basis_points), formatFen(e.base_fen), formatFen(e.amount?.amount_fen, e.amount?.currency), tEnum(e.status), formatTime(e.settle_at, getLocale())]);
    body.append(table(t('fin.lines'), [t('assoc.order'), t('fin.booked'), t('fin.kind'), t('fin.recipient'), t('fin.recipientId'), t('fin.bp'), t('fin.base'), t('assoc.amount'), t('fin.status'), t('fin.settleAt')], rows, { 'data-lines': '1' }));
    const next: string = res.statement?.next_page_token ?? '';
    if (next) {
      const more: HTMLButtonElement = h('button', { type: 'button', class: 'secondary', onclick: () => { more.remove(); void showLines(title, filter, next, body); } }, t('common.more'));
      body.append(more);
    }
    if (!into) {
      drill.hidden = false;
      replace(drill, h('h2', { id: 'lines-title' }, t('fin.linesOf', { who: title })), body);
      drill.scrollIntoView({ block: 'nearest' });
    }
  };

  const load = async () => {
    stError.textContent = '';
    const v = formValues();
    let res: Json;
    try {
      res = await api.post('/v1/finance/statements', { ...statementRequest(v.from, v.to, v.grouping, v.filter), page_size: 1 });
    } catch (e) {
      stError.textContent = errorText(e);
      return;
    }
    const st = res.statement ?? {};
    const totals: Json[] = st.totals ?? [];
    replace(
      stTotals,
      ...(totals.length ? totals : [{ currency: 'CNY' }]).flatMap((x: Json) => [
        h('div', { class: 'kpi', 'data-kpi': 'net' }, h('div', { class: 'kpi-label' }, `${t('fin.net')} (${x.currency})`), h('div', { class: 'kpi-value' }, formatFen(x.net_fen, x.currency))),
        h('div', { class: 'kpi', 'data-kpi': 'pending' }, h('div', { class: 'kpi-label' }, t('fin.pending')), h('div', { class: 'kpi-value' }, formatFen(x.pending_fen, x.currency))),
        h('div', { class: 'kpi', 'data-kpi': 'settled' }, h('div', { class: 'kpi-label' }, t('fin.settled')), h('div', { class: 'kpi-value' }, formatFen(x.settled_fen, x.currency))),
        h('div', { class: 'kpi', 'data-kpi': 'receivables' }, h('div', { class: 'kpi-label' }, t('fin.receivables')), h('div', { class: 'kpi-value' }, formatFen(x.receivables_fen, x.currency))),
      ]),
      st.settled_through ? h('p', { class: 'hint' }, t('fin.settledThrough', { time: formatTime(st.settled_through, getLocale()) })) : null,
    );
    const groups: Json[] = st.groups ?? [];
    replace(
      stGroups,
      groups.length
        ? table(
            t('fin.groups'),
            [t('fin.who'), t('fin.sales'), t('fin.reversals'), t('fin.receivables'), t('fin.net'), t('fin.pending'), t('fin.settled'), t('fin.entries'), ''],
            groups.map((g) => {
              const x = g.totals ?? {};
              const name = who(g, v.grouping);
              const filter: Json =
                v.grouping === 'STATEMENT_GROUPING_ASSOCIATE' ? { ...v.filter, associate_id: g.recipient_id } : v.grouping === 'STATEMENT_GROUPING_STORE' ? { ...v.filter, store_id: g.recipient_id } : { ...v.filter, recipient: g.recipient, recipient_id: g.recipient_id };
              return [
                name,
                formatFen(x.sales_fen, x.currency),
                formatFen(x.reversals_fen, x.currency),
                formatFen(x.receivables_fen, x.currency),
                h('span', { 'data-net': g.recipient_id || g.recipient }, formatFen(x.net_fen, x.currency)),
                formatFen(x.pending_fen, x.currency),
                formatFen(x.settled_fen, x.currency),
                String(x.entries ?? 0),
                h('button', { type: 'button', class: 'small', 'aria-label': t('fin.drillFor', { who: name }), onclick: () => void showLines(name, filter).catch((e) => (stError.textContent = errorText(e))) }, t('fin.drill')),
              ];
            }),
          )
        : h('p', { class: 'empty' }, t('fin.noEntries')),
    );
  };

  const exportCsv = async () => {
    stError.textContent = '';
    const v = formValues();
    try {
      let csv = '';
      let token = '';
      for (let page = 0; page < 100; page++) {
        const req = statementRequest(v.from, v.to, v.grouping, v.filter);
        if (token) req.page_token = token;
        const res = await api.post('/v1/finance/statements/csv', req);
        csv += res.csv ?? '';
        token = res.next_page_token ?? '';
        if (!token) break;
      }
      download(`statement-${v.from}-${v.to}.csv`, csv);
    } catch (e) {
      stError.textContent = errorText(e);
    }
  };
  stForm.addEventListener('submit', (e) => {
    e.preventDefault();
    drill.hidden = true;
    void load();
  });

  // ---- Commission rules ----
  const rulesList = h('div');
  const ruleError = h('p', { class: 'error', role: 'alert' });
  const linesBox = h('div', { class: 'split-lines' });
  let lineNo = 0;
  const addLine = (recipient = 'RECIPIENT_ASSOCIATE', bp = '') => {
    const n = ++lineNo;
    const row = h(
      'div',
      { class: 'row split-line' },
      field(t('fin.recipientN', { n }), select(`recipient_${n}`, options(RECIPIENTS), recipient)),
      field(t('fin.partyN', { n }), h('input', { name: `party_${n}`, placeholder: t('fin.partyHint') })),
      field(t('fin.bpN', { n }), h('input', { name: `bp_${n}`, type: 'number', min: 1, max: 10000, required: true, value: bp })),
      h('button', { type: 'button', class: 'small secondary', 'aria-label': t('fin.removeLine', { n }), onclick: () => row.remove() }, '×'),
    );
    linesBox.append(row);
  };
  addLine('RECIPIENT_ASSOCIATE', '500');
  addLine('RECIPIENT_STORE', '200');
  const ruleForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'rule-title' },
    h('h2', { id: 'rule-title' }, t('fin.newRule')),
    h(
      'div',
      { class: 'row' },
      field(t('fin.scope'), select('scope', options(RULE_SCOPES), 'RULE_SCOPE_BRAND')),
      field(t('fin.scopeId'), h('input', { name: 'scope_id', placeholder: t('fin.scopeIdHint') })),
      field(t('fin.effectiveFrom'), h('input', { name: 'effective_from', type: 'datetime-local', required: true, value: toLocalInput(new Date()) })),
      field(t('fin.effectiveTo'), h('input', { name: 'effective_to', type: 'datetime-local' })),
    ),
    linesBox,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => addLine() }, t('fin.addLine')), h('button', { type: 'submit' }, t('fin.createRule'))),
    ruleError,
  );
  ruleForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    ruleError.textContent = '';
    const d = new FormData(ruleForm);
    const lines: Json[] = [];
    for (const row of Array.from(linesBox.querySelectorAll('.split-line'))) {
      const sel = row.querySelector('select') as HTMLSelectElement;
      const n = sel.name.split('_')[1];
      const line: Json = { recipient: sel.value, basis_points: Number(d.get(`bp_${n}`)) };
      if (d.get(`party_${n}`)) line.party = d.get(`party_${n}`);
      lines.push(line);
    }
    const body: Json = { scope: d.get('scope'), effective_from: localInputToRfc3339(String(d.get('effective_from'))), lines };
    if (d.get('scope_id')) body.scope_id = d.get('scope_id');
    const to = localInputToRfc3339(String(d.get('effective_to') ?? ''));
    if (to) body.effective_to = to;
    try {
      const res = await api.post('/v1/finance/rules', body);
      ctx.notify(t('fin.ruleCreated', { version: res.rule?.version ?? '' }));
      await loadRules();
    } catch (err) {
      ruleError.textContent = errorText(err);
    }
  });
  const loadRules = async () => {
    const res = await api.get('/v1/finance/rules', { page_size: 100 });
    const rules: Json[] = res.rules ?? [];
    replace(
      rulesList,
      rules.length
        ? table(
            t('fin.rules'),
            [t('fin.scope'), t('fin.version'), t('fin.effectiveFrom'), t('fin.effectiveTo'), t('fin.split'), t('fin.createdBy')],
            rules.map((r) => [
              `${tEnum(r.scope)}${r.scope_id ? ` ${r.scope_id}` : ''}`,
              `v${r.version}`,
              formatTime(r.effective_from, getLocale()),
              r.effective_to ? formatTime(r.effective_to, getLocale()) : t('fin.openEnded'),
              (r.lines ?? []).map((l: Json) => `${tEnum(l.recipient)}${l.party ? ` ${l.party}` : ''} ${formatBp(l.basis_points)}`).join('; '),
              r.created_by,
            ]),
            { 'data-rules': '1' },
          )
        : h('p', { class: 'empty' }, t('fin.noRules')),
    );
  };

  ctx.root.append(stForm, stTotals, h('section', { class: 'card', 'aria-labelledby': 'groups-title' }, h('h2', { id: 'groups-title' }, t('fin.groups')), stGroups), drill, h('section', { class: 'card', 'aria-labelledby': 'rules-title' }, h('h2', { id: 'rules-title' }, t('fin.rules')), rulesList), ruleForm);
  await Promise.all([load(), loadRules()]);
}
