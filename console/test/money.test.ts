import { describe, expect, it } from 'vitest';
import { formatBp, formatFen, toFen, yuanToFen } from '../src/lib/money';

describe('formatFen', () => {
  it('formats fen strings as yuan with grouping', () => {
    expect(formatFen('2590000')).toBe('¥25,900.00');
    expect(formatFen('1990000', 'CNY')).toBe('¥19,900.00');
    expect(formatFen('5')).toBe('¥0.05');
    expect(formatFen(0)).toBe('¥0.00');
  });
  it('keeps the sign of reversals and receivables', () => {
    expect(formatFen('-1250')).toBe('-¥12.50');
    expect(formatFen(-99n)).toBe('-¥0.99');
  });
  it('is exact beyond 2^53', () => {
    expect(formatFen('9223372036854775807')).toBe('¥92,233,720,368,547,758.07');
  });
  it('treats missing or malformed amounts as zero', () => {
    expect(formatFen(undefined)).toBe('¥0.00');
    expect(formatFen('12abc')).toBe('¥0.00');
    expect(toFen(null)).toBe(0n);
  });
  it('names other currencies', () => {
    expect(formatFen('100', 'USD')).toBe('$1.00');
    expect(formatFen('100', 'JPY')).toBe('JPY 1.00');
  });
});

describe('yuanToFen', () => {
  it('reads what people type', () => {
    expect(yuanToFen('199')).toBe('19900');
    expect(yuanToFen('199.5')).toBe('19950');
    expect(yuanToFen(' 0.05 ')).toBe('5');
    expect(yuanToFen('25900.00')).toBe('2590000');
  });
  it('refuses what is not a price', () => {
    expect(yuanToFen('')).toBeNull();
    expect(yuanToFen('-1')).toBeNull();
    expect(yuanToFen('1.234')).toBeNull();
    expect(yuanToFen('1,000')).toBeNull();
  });
});

describe('formatBp', () => {
  it('shows basis points as percent', () => {
    expect(formatBp(500)).toBe('5.00%');
    expect(formatBp('1234')).toBe('12.34%');
    expect(formatBp(undefined)).toBe('0.00%');
  });
});
