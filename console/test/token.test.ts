import { describe, expect, it } from 'vitest';
import { decodeToken, isExpired, msUntilExpiry } from '../src/lib/token';

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
const token = (payload: string) => `lc1.${b64url(payload)}.c2lnbmF0dXJl`;

describe('decodeToken', () => {
  it('reads the claims of a gateway token', () => {
    const c = decodeToken(token('tid-1|ops|demo|ops-anna|1700000000|1700043200'));
    expect(c).toEqual({ tokenId: 'tid-1', role: 'ops', brand: 'demo', subject: 'ops-anna', issuedAt: 1700000000000, expiresAt: 1700043200000 });
  });
  it('reads associate ids and viewer subjects', () => {
    expect(decodeToken(token('t|associate|demo|7|1|2'))?.subject).toBe('7');
    expect(decodeToken(token('t|viewer|demo|local-alice|1|2'))?.role).toBe('viewer');
  });
  it('refuses what is not a token', () => {
    expect(decodeToken('')).toBeNull();
    expect(decodeToken('lc2.abc.def')).toBeNull();
    expect(decodeToken('lc1.abc')).toBeNull();
    expect(decodeToken(token('t|root|demo|x|1|2'))).toBeNull();
    expect(decodeToken(token('t|ops|demo|x|1'))).toBeNull();
    expect(decodeToken(token('t|ops|demo|x|soon|later'))).toBeNull();
    expect(decodeToken('lc1.%%%.sig')).toBeNull();
  });
  it('ignores surrounding whitespace from a paste', () => {
    expect(decodeToken(`  ${token('t|finance|demo|fin|1|2')}\n`)?.role).toBe('finance');
  });
});

describe('expiry', () => {
  const c = decodeToken(token('t|ops|demo|x|1000|2000'))!;
  it('is expired at or after the expiry, with a margin', () => {
    expect(isExpired(c, 1_990_000, 0)).toBe(false);
    expect(isExpired(c, 2_000_000, 0)).toBe(true);
    expect(isExpired(c, 1_996_000, 5000)).toBe(true);
    expect(msUntilExpiry(c, 1_999_000)).toBe(1000);
  });
});
