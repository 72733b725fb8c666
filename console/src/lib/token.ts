// The gateway's session tokens: lc1.<payload>.<signature>, the payload base64url of
// "token_id|role|brand|subject|issued_unix|expires_unix". The console reads the payload only to
// know who is signed in and when the token runs out; the gateway checks the signature.

export type Role = 'viewer' | 'associate' | 'ops' | 'finance';

export interface Claims {
  tokenId: string;
  role: Role;
  brand: string;
  subject: string;
  issuedAt: number; // ms since the epoch
  expiresAt: number; // ms since the epoch
}

const ROLES: Role[] = ['viewer', 'associate', 'ops', 'finance'];

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const bin = atob(padded);
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The claims of a token, or null when it is not a well-formed lc1 token of a known role. */
export function decodeToken(token: string): Claims | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts[0] !== 'lc1' || !parts[1] || !parts[2]) return null;
  let payload: string;
  try {
    payload = base64UrlDecode(parts[1]);
  } catch {
    return null;
  }
  const f = payload.split('|');
  if (f.length !== 6) return null;
  const role = f[1] as Role;
  if (!ROLES.includes(role)) return null;
  const issued = Number(f[4]);
  const expires = Number(f[5]);
  if (!Number.isFinite(issued) || !Number.isFinite(expires)) return null;
  return { tokenId: f[0], role, brand: f[2], subject: f[3], issuedAt: issued * 1000, expiresAt: expires * 1000 };
}

/** Whether the token is expired at `now` (ms), counting `skewMs` of margin. */
export function isExpired(claims: Claims, now: number, skewMs = 5000): boolean {
  return now + skewMs >= claims.expiresAt;
}

/** Milliseconds until the token expires (negative once it has). */
export function msUntilExpiry(claims: Claims, now: number): number {
  return claims.expiresAt - now;
}
