import { describe, expect, it } from 'vitest';
import { commissionTotals, statementRequest } from '../src/lib/ledger';
import { h5Link, consoleBase } from '../src/lib/links';
import { localInputToRfc3339 } from '../src/lib/time';

describe('commissionTotals', () => {
  it('splits pending and settled and counts receivables', () => {
    const totals = commissionTotals([
      { amount: { amount_fen: '99500' }, status: 'ENTRY_STATUS_PENDING', kind: 'ENTRY_KIND_SALE' },
      { amount: { amount_fen: '1000' }, status: 'ENTRY_STATUS_SETTLED', kind: 'ENTRY_KIND_SALE' },
      { amount: { amount_fen: '-400' }, status: 'ENTRY_STATUS_SETTLED', kind: 'ENTRY_KIND_RECEIVABLE' },
    ]);
    expect(totals).toEqual({ pending: 99500n, settled: 600n, receivable: -400n, total: 100100n });
  });
});

describe('statementRequest', () => {
  it('includes the last day and drops empty filters', () => {
    const req = statementRequest('2026-03-01', '2026-03-31', 'STATEMENT_GROUPING_ASSOCIATE', { associate_id: '7', store_id: '', recipient: '' });
    expect(req.period_start).toBe(localInputToRfc3339('2026-03-01'));
    expect(req.period_end).toBe(localInputToRfc3339('2026-04-01'));
    expect(req.filter).toEqual({ associate_id: '7' });
    expect(statementRequest('2026-03-01', '2026-03-01', 'STATEMENT_GROUPING_STORE', {}).filter).toBeUndefined();
  });
});

describe('links', () => {
  it('builds invite and share links under the console base', () => {
    expect(consoleBase({ origin: 'http://127.0.0.1:8080', pathname: '/console/index.html' })).toBe('http://127.0.0.1:8080/console/');
    expect(consoleBase({ origin: 'https://x.cn', pathname: '/' })).toBe('https://x.cn/console/');
    const url = h5Link('http://127.0.0.1:8080/console/#/rooms/3', { brand: 'demo', room: '3', invite: 'a+b/c=' });
    expect(url).toBe('http://127.0.0.1:8080/console/#/h5?brand=demo&room=3&invite=a%2Bb%2Fc%3D');
    expect(h5Link('http://h/console/', { brand: 'b', room: '1', share: '9' })).toBe('http://h/console/#/h5?brand=b&room=1&share=9');
  });
});
