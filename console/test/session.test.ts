import { describe, expect, it } from 'vitest';
import { SessionStore, type KV } from '../src/lib/session';

class MemoryStorage implements KV {
  private m = new Map<string, string>();
  getItem(k: string) {
    return this.m.has(k) ? this.m.get(k)! : null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}
const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('SessionStore', () => {
  it('keeps staff and viewer sign-ins apart', () => {
    const s = new SessionStore(new MemoryStorage());
    expect(s.signIn('staff', `lc1.${b64('t|ops|demo|anna|1|9999999999')}.sig`)?.role).toBe('ops');
    expect(s.signIn('viewer', `lc1.${b64('v|viewer|demo|local-a|1|9999999999')}.sig`)?.role).toBe('viewer');
    expect(s.claims('staff')?.subject).toBe('anna');
    s.signOut('viewer');
    expect(s.claims('viewer')).toBeNull();
    expect(s.claims('staff')?.subject).toBe('anna');
  });
  it('refuses a malformed token and keeps the previous one', () => {
    const s = new SessionStore(new MemoryStorage());
    s.signIn('staff', `lc1.${b64('t|ops|demo|anna|1|9999999999')}.sig`);
    expect(s.signIn('staff', 'garbage')).toBeNull();
    expect(s.claims('staff')?.subject).toBe('anna');
  });
  it('remembers where to return and what was typed, once', () => {
    const s = new SessionStore(new MemoryStorage());
    s.setReturnTo('#/rooms/4');
    s.setFormValue('room-4', 'title', 'Spring preview');
    expect(s.takeReturnTo()).toBe('#/rooms/4');
    expect(s.takeReturnTo()).toBeNull();
    expect(s.formValue('room-4', 'title')).toBe('Spring preview');
    s.clearForm('room-4', ['title']);
    expect(s.formValue('room-4', 'title')).toBeNull();
  });
});
