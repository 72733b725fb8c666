// Associates' own invites: which rooms ops opened to them, what is left of their quota, and the
// invite links this browser was given (a token is shown only when issued: the service keeps a hash).
import type { Json } from './api';

export interface Quota {
  quota: number;
  issued: number;
  left: number;
}

/** Rooms an associate may issue invites to: opened to associates, and not over. */
export function roomsOpenToAssociates(rooms: Json[]): Json[] {
  return rooms.filter((r) => r?.associate_invites?.enabled === true && r.status !== 'ROOM_STATUS_ENDED');
}

/** A quota as the API sends it (proto JSON leaves zeros out). */
export function quotaOf(q: Json, fallbackQuota = 0): Quota {
  const quota = Number(q?.quota ?? fallbackQuota) || 0;
  const issued = Number(q?.issued ?? 0) || 0;
  const left = q?.left !== undefined ? Number(q.left) || 0 : Math.max(0, quota - issued);
  return { quota, issued, left };
}

/** Why `count` invites cannot be asked for with `left` remaining (an i18n key), or null. */
export function countProblem(count: number, left: number): string | null {
  if (!Number.isInteger(count) || count < 1) return 'assoc.invites.countMin';
  if (count > left) return 'assoc.invites.countOver';
  return null;
}

interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const KEY = 'lc.inviteTokens';
const MAX_KEPT = 500;

function load(store: KeyValueStore, owner: string): Record<string, string> {
  try {
    const all = JSON.parse(store.getItem(KEY) ?? '{}');
    const mine = all?.[owner];
    return mine && typeof mine === 'object' ? mine : {};
  } catch {
    return {};
  }
}

/** Keeps the tokens of freshly issued invites (by invite id) for `owner`, the newest MAX_KEPT. */
export function rememberTokens(store: KeyValueStore, owner: string, invites: Json[]): void {
  let all: Json = {};
  try {
    all = JSON.parse(store.getItem(KEY) ?? '{}') ?? {};
  } catch {
    all = {};
  }
  const mine: Record<string, string> = { ...load(store, owner) };
  for (const inv of invites) if (inv?.id && inv?.token) mine[inv.id] = inv.token;
  const ids = Object.keys(mine).sort((a, b) => Number(b) - Number(a)).slice(0, MAX_KEPT);
  all[owner] = Object.fromEntries(ids.map((id) => [id, mine[id]]));
  store.setItem(KEY, JSON.stringify(all));
}

/** The token of invite `id` if this browser was given it, else undefined. */
export function tokenOf(store: KeyValueStore, owner: string, id: string): string | undefined {
  return load(store, owner)[id];
}
