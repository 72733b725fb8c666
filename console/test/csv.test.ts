import { describe, expect, it } from 'vitest';
import { buildCsv, parseCsv, statementCsvTotals } from '../src/lib/csv';

describe('buildCsv', () => {
  it('quotes what RFC 4180 needs quoted and ends lines with CRLF', () => {
    expect(buildCsv([['a', 'b,c', 'say "hi"'], [1, null, 'x\ny']])).toBe('a,"b,c","say ""hi"""\r\n1,,"x\ny"\r\n');
    expect(buildCsv([])).toBe('');
  });
  it('round-trips through parseCsv, Chinese included', () => {
    const rows = [['房间', '金额'], ['春季新品, 预览', '25900.00'], ['"引号"', '']];
    expect(parseCsv(buildCsv(rows))).toEqual(rows);
  });
});

describe('parseCsv', () => {
  it('keeps blank lines as empty rows and accepts LF', () => {
    expect(parseCsv('a,b\n\nc,d\n')).toEqual([['a', 'b'], [], ['c', 'd']]);
  });
  it('keeps empty trailing fields', () => {
    expect(parseCsv('a,,\r\n')).toEqual([['a', '', '']]);
  });
});

describe('statementCsvTotals', () => {
  const csv =
    'order_id,booked_at,kind,status,recipient,recipient_id,store_id,rule_id,rule_version,line_no,basis_points,base_fen,amount_fen,currency,refund_id,settle_at\r\n' +
    '9,2026-01-01T00:00:00Z,ENTRY_KIND_SALE,ENTRY_STATUS_PENDING,RECIPIENT_ASSOCIATE,7,3,1,1,1,500,1990000,99500,CNY,,2026-01-08T00:00:00Z\r\n' +
    '9,2026-01-01T00:00:00Z,ENTRY_KIND_SALE,ENTRY_STATUS_PENDING,RECIPIENT_STORE,3,3,1,1,2,200,1990000,39800,CNY,,2026-01-08T00:00:00Z\r\n' +
    '\r\ntotal,recipient,recipient_id,currency,sales_fen,reversals_fen,receivables_fen,net_fen,pending_fen,settled_fen,entries,sale_entries\r\n' +
    'group,,7,CNY,99500,0,0,99500,99500,0,1,1\r\n' +
    'group,,3,CNY,39800,0,0,39800,39800,0,1,1\r\n' +
    'all,,,CNY,139300,0,0,139300,139300,0,2,2\r\n';
  it('sums the order lines and reads the overall net', () => {
    expect(statementCsvTotals(csv)).toEqual({ lines: 2, linesFen: 139300n, netFen: 139300n });
  });
});
