// Small statistics for the reports page.

/** Pearson's correlation coefficient of two equally long series; null when undefined (n < 2 or a
 * constant series). */
export function pearson(xs: number[], ys: number[]): number | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}

/** Buyers over reach in percent (0 when nobody was reached). */
export function conversionPercent(buyers: number, reach: number): number {
  return reach > 0 ? (100 * buyers) / reach : 0;
}

/** A scatter point's size from its GMV: the area grows with GMV, within [min, max] pixels. */
export function bubbleSize(gmvFen: number, maxGmvFen: number, min = 8, max = 40): number {
  if (maxGmvFen <= 0 || gmvFen <= 0) return min;
  return min + (max - min) * Math.sqrt(Math.min(gmvFen, maxGmvFen) / maxGmvFen);
}

/** A short description of a correlation coefficient, as an i18n key. */
export function correlationStrength(r: number | null): string {
  if (r === null) return 'corr.none';
  const a = Math.abs(r);
  if (a >= 0.7) return 'corr.strong';
  if (a >= 0.4) return 'corr.moderate';
  if (a >= 0.2) return 'corr.weak';
  return 'corr.negligible';
}
