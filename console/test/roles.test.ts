import { describe, expect, it } from 'vitest';
import { canSee, homeFor, NAV, pagesFor } from '../src/lib/roles';
import { parseHash, slotFor } from '../src/app';

describe('role → pages', () => {
  it('gives each role only its pages', () => {
    expect(pagesFor('ops')).toEqual(['rooms', 'room', 'live', 'reports']);
    expect(pagesFor('finance')).toEqual(['finance', 'reports']);
    expect(pagesFor('associate')).toEqual(['associate']);
    expect(canSee('associate', 'finance')).toBe(false);
    expect(canSee('finance', 'rooms')).toBe(false);
    expect(canSee('finance', 'live')).toBe(false);
    expect(canSee('ops', 'finance')).toBe(false);
    expect(canSee('viewer', 'rooms')).toBe(false);
    expect(canSee(null, 'rooms')).toBe(false);
  });
  it('lets anyone open the H5 page (it signs viewers in itself)', () => {
    expect(canSee(null, 'h5')).toBe(true);
    expect(slotFor('h5')).toBe('viewer');
    expect(slotFor('finance')).toBe('staff');
  });
  it('lands each role on its first page, and navigation lists only visible pages', () => {
    expect(homeFor('ops')).toBe('rooms');
    expect(homeFor('finance')).toBe('finance');
    expect(homeFor('associate')).toBe('associate');
    for (const role of ['ops', 'finance', 'associate', 'viewer'] as const) for (const p of NAV[role]) expect(canSee(role, p)).toBe(true);
  });
});

describe('routes', () => {
  it('parses the hash routes', () => {
    expect(parseHash('#/rooms').page).toBe('rooms');
    expect(parseHash('#/rooms/12').params).toEqual({ id: '12' });
    expect(parseHash('#/live/12').page).toBe('live');
    expect(parseHash('').page).toBe('login');
    expect(parseHash('#/nowhere').page).toBe('login');
    const r = parseHash('#/h5?brand=demo&room=3&invite=abc%2Bdef');
    expect(r.page).toBe('h5');
    expect(r.query.get('invite')).toBe('abc+def');
  });
});
