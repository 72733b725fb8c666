import { describe, expect, it } from 'vitest';
import { countProblem, quotaOf, rememberTokens, roomsOpenToAssociates, tokenOf } from '../src/lib/invites';

class MemoryStore {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
}

describe('associate invites', () => {
  it('lists only rooms opened to associates that are not over', () => {
    const rooms = [
      { id: '1', status: 'ROOM_STATUS_SCHEDULED', associate_invites: { enabled: true, quota_per_associate: 5 } },
      { id: '2', status: 'ROOM_STATUS_LIVE' },
      { id: '3', status: 'ROOM_STATUS_ENDED', associate_invites: { enabled: true, quota_per_associate: 5 } },
      { id: '4', status: 'ROOM_STATUS_LIVE', associate_invites: { quota_per_associate: 0 } },
    ];
    expect(roomsOpenToAssociates(rooms).map((r) => r.id)).toEqual(['1']);
  });
  it('reads a quota with zeros left out, as proto JSON sends it', () => {
    expect(quotaOf({ quota: 5, issued: 5 })).toEqual({ quota: 5, issued: 5, left: 0 });
    expect(quotaOf({ quota: 5, issued: 2, left: 3 })).toEqual({ quota: 5, issued: 2, left: 3 });
    expect(quotaOf(undefined, 4)).toEqual({ quota: 4, issued: 0, left: 4 });
  });
  it('refuses counts below one or past what is left', () => {
    expect(countProblem(0, 3)).toBe('assoc.invites.countMin');
    expect(countProblem(1.5, 3)).toBe('assoc.invites.countMin');
    expect(countProblem(4, 3)).toBe('assoc.invites.countOver');
    expect(countProblem(3, 3)).toBeNull();
  });
  it('keeps issued tokens per associate, so the list can show their links', () => {
    const store = new MemoryStore();
    rememberTokens(store, '7', [{ id: '10', token: 'tok-a' }, { id: '11', token: 'tok-b' }, { id: '12' }]);
    rememberTokens(store, '8', [{ id: '13', token: 'tok-c' }]);
    expect(tokenOf(store, '7', '10')).toBe('tok-a');
    expect(tokenOf(store, '7', '12')).toBeUndefined();
    expect(tokenOf(store, '7', '13')).toBeUndefined(); // another associate's
    expect(tokenOf(store, '8', '13')).toBe('tok-c');
    store.setItem('lc.inviteTokens', 'not json');
    expect(tokenOf(store, '7', '10')).toBeUndefined();
    rememberTokens(store, '7', [{ id: '14', token: 'tok-d' }]);
    expect(tokenOf(store, '7', '14')).toBe('tok-d');
  });
});
