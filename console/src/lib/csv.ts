// RFC 4180 CSV: building (exports made in the browser) and parsing (checking the gateway's).

export type Cell = string | number | bigint | boolean | null | undefined;

function field(value: Cell): string {
  const s = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows → CSV text with CRLF line ends (and a final CRLF). */
export function buildCsv(rows: Cell[][]): string {
  return rows.map((row) => row.map(field).join(',')).join('\r\n') + (rows.length ? '\r\n' : '');
}

/** CSV text → rows of fields. Quoted fields may hold commas, quotes and line breaks. A blank line
 * is an empty row ([]). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cur = '';
  let quoted = false;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cur += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      row.push(cur);
      cur = '';
      fieldStarted = true;
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (fieldStarted || cur !== '' || row.length) row.push(cur);
      rows.push(row);
      row = [];
      cur = '';
      fieldStarted = false;
    } else {
      cur += c;
      fieldStarted = true;
    }
  }
  if (fieldStarted || cur !== '' || row.length) {
    row.push(cur);
    rows.push(row);
  }
  return rows;
}

/** The gateway's statement CSV: the order lines (amount_fen summed) and the "all" total rows. */
export function statementCsvTotals(text: string): { lines: number; linesFen: bigint; netFen: bigint } {
  const rows = parseCsv(text);
  let header: string[] | null = null;
  let lines = 0;
  let linesFen = 0n;
  let netFen = 0n;
  let totalsHeader: string[] | null = null;
  for (const row of rows) {
    if (row.length === 0) continue;
    if (row[0] === 'order_id') {
      header = row;
      continue;
    }
    if (row[0] === 'total') {
      totalsHeader = row;
      continue;
    }
    if (totalsHeader) {
      if (row[0] === 'all') netFen += BigInt(row[totalsHeader.indexOf('net_fen')] || '0');
      continue;
    }
    if (header) {
      lines++;
      linesFen += BigInt(row[header.indexOf('amount_fen')] || '0');
    }
  }
  return { lines, linesFen, netFen };
}
