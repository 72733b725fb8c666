// Money is integer fen (1/100 yuan) carried as strings by the API (64-bit integers in JSON).

export type FenLike = string | number | bigint | null | undefined;

const SYMBOLS: Record<string, string> = { CNY: '¥', USD: '$', EUR: '€', HKD: 'HK$' };

/** The fen as a BigInt; empty, missing or malformed values are 0. */
export function toFen(value: FenLike): bigint {
  if (value === null || value === undefined || value === '') return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;
  return /^-?\d+$/.test(value.trim()) ? BigInt(value.trim()) : 0n;
}

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 2590000 fen → "¥25,900.00"; negative → "-¥12.50". Exact for any 64-bit amount. */
export function formatFen(value: FenLike, currency = 'CNY'): string {
  const fen = toFen(value);
  const negative = fen < 0n;
  const abs = negative ? -fen : fen;
  const yuan = group((abs / 100n).toString());
  const cents = (abs % 100n).toString().padStart(2, '0');
  const symbol = SYMBOLS[currency || 'CNY'] ?? `${currency} `;
  return `${negative ? '-' : ''}${symbol}${yuan}.${cents}`;
}

/** "199.5" or "199.50" or "199" (yuan typed by a person) → "19950" fen; null if not a price. */
export function yuanToFen(text: string): string | null {
  const m = /^\s*(\d{1,13})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return null;
  const fen = BigInt(m[1]) * 100n + BigInt((m[2] ?? '').padEnd(2, '0') || '0');
  return fen.toString();
}

/** A Money message for the API. */
export function money(fen: string, currency = 'CNY'): { amount_fen: string; currency: string } {
  return { amount_fen: fen, currency };
}

/** Basis points → "12.34%". */
export function formatBp(bp: FenLike): string {
  const n = Number(toFen(bp));
  return `${(n / 100).toFixed(2)}%`;
}
