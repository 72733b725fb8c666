// Which pages each role sees. The gateway and the services enforce access; this only keeps each
// role's navigation to the pages it can use.
import type { Role } from './token';

export type PageId = 'rooms' | 'room' | 'live' | 'reports' | 'associate' | 'finance' | 'h5';

const PAGES: Record<Role, PageId[]> = {
  ops: ['rooms', 'room', 'live', 'reports'],
  finance: ['finance', 'reports'],
  associate: ['associate'],
  viewer: ['h5'],
};

/** Pages shown in the navigation bar, in order, for a role. */
export const NAV: Record<Role, PageId[]> = {
  ops: ['rooms', 'reports'],
  finance: ['finance', 'reports'],
  associate: ['associate'],
  viewer: ['h5'],
};

export function pagesFor(role: Role): PageId[] {
  return PAGES[role] ?? [];
}

export function canSee(role: Role | null | undefined, page: PageId): boolean {
  if (page === 'h5') return true; // the H5 page signs in viewers itself
  return !!role && pagesFor(role).includes(page);
}

export function homeFor(role: Role): PageId {
  return NAV[role][0];
}
