import { describe, expect, it } from 'vitest';
import { bubbleSize, conversionPercent, correlationStrength, pearson } from '../src/lib/stats';

describe('pearson', () => {
  it('is 1 for a perfect positive line and -1 for a negative one', () => {
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBeCloseTo(-1, 12);
  });
  it('matches a hand-computed value', () => {
    // x = reach, y = conversion bp of five sessions
    const r = pearson([100, 200, 300, 400, 500], [500, 300, 400, 200, 100]);
    expect(r).toBeCloseTo(-0.9, 10);
  });
  it('is undefined with fewer than two points or a constant series', () => {
    expect(pearson([], [])).toBeNull();
    expect(pearson([1], [1])).toBeNull();
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNull();
  });
  it('uses the shorter series', () => {
    expect(pearson([1, 2, 3, 99], [1, 2, 3])).toBeCloseTo(1, 12);
  });
});

describe('helpers', () => {
  it('conversion in percent', () => {
    expect(conversionPercent(3, 120)).toBe(2.5);
    expect(conversionPercent(3, 0)).toBe(0);
  });
  it('bubble sizes grow with GMV within bounds', () => {
    expect(bubbleSize(0, 100)).toBe(8);
    expect(bubbleSize(100, 100)).toBe(40);
    expect(bubbleSize(25, 100)).toBe(8 + 32 * 0.5);
    expect(bubbleSize(500, 100)).toBe(40);
  });
  it('names correlation strength', () => {
    expect(correlationStrength(null)).toBe('corr.none');
    expect(correlationStrength(-0.8)).toBe('corr.strong');
    expect(correlationStrength(0.5)).toBe('corr.moderate');
    expect(correlationStrength(0.25)).toBe('corr.weak');
    expect(correlationStrength(0.05)).toBe('corr.negligible');
  });
});
