// Commission ledger helpers for the associate and finance pages.
import type { Json } from './api';
import { toFen } from './money';
import { localInputToRfc3339, toDateInput } from './time';

/** Pending and settled commission, and receivables (negative), from ledger entries. */
export function commissionTotals(entries: Json[]): { pending: bigint; settled: bigint; receivable: bigint; total: bigint } {
  let pending = 0n;
  let settled = 0n;
  let receivable = 0n;
  for (const e of entries) {
    const fen = toFen(e.amount?.amount_fen);
    if (e.kind === 'ENTRY_KIND_RECEIVABLE') receivable += fen;
    if (e.status === 'ENTRY_STATUS_SETTLED') settled += fen;
    else pending += fen;
  }
  return { pending, settled, receivable, total: pending + settled };
}

/** The statement request from the form (the "to" day included). */
export function statementRequest(from: string, to: string, grouping: string, filter: Json): Json {
  const end = new Date(`${to}T00:00`);
  end.setDate(end.getDate() + 1);
  const body: Json = { period_start: localInputToRfc3339(from), period_end: localInputToRfc3339(toDateInput(end)), grouping };
  const f: Json = {};
  for (const [k, v] of Object.entries(filter)) if (v) f[k] = v;
  if (Object.keys(f).length) body.filter = f;
  return body;
}

