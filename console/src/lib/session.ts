// Who is signed in (per browser tab: sessionStorage), and form state kept across a return to the
// login page: a session that expires mid-edit comes back to the same page with what was typed.
import { decodeToken, type Claims } from './token';

export type Slot = 'staff' | 'viewer';

export interface KV {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

export class SessionStore {
  constructor(private store: KV) {}

  token(slot: Slot): string | null {
    return this.store.getItem(`lc.token.${slot}`);
  }
  claims(slot: Slot): Claims | null {
    const t = this.token(slot);
    return t ? decodeToken(t) : null;
  }
  signIn(slot: Slot, token: string): Claims | null {
    const claims = decodeToken(token);
    if (!claims) return null;
    this.store.setItem(`lc.token.${slot}`, token.trim());
    return claims;
  }
  signOut(slot: Slot): void {
    this.store.removeItem(`lc.token.${slot}`);
  }

  /** Where to go back to after signing in again. */
  setReturnTo(hash: string): void {
    this.store.setItem('lc.returnTo', hash);
  }
  takeReturnTo(): string | null {
    const v = this.store.getItem('lc.returnTo');
    this.store.removeItem('lc.returnTo');
    return v;
  }

  formValue(form: string, name: string): string | null {
    return this.store.getItem(`lc.form.${form}.${name}`);
  }
  setFormValue(form: string, name: string, value: string): void {
    this.store.setItem(`lc.form.${form}.${name}`, value);
  }
  clearForm(form: string, names: string[]): void {
    for (const n of names) this.store.removeItem(`lc.form.${form}.${n}`);
  }
}

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** Restores the named controls of `form` from the store and saves them as they change. Returns a
 * function that forgets the saved values (call it once the form was submitted). */
export function keepForm(store: SessionStore, key: string, form: HTMLElement): () => void {
  const controls = Array.from(form.querySelectorAll<Control>('input[name], select[name], textarea[name]')).filter(
    (c) => c.type !== 'password' && c.type !== 'file',
  );
  for (const c of controls) {
    const saved = store.formValue(key, c.name + (c.type === 'checkbox' ? `:${(c as HTMLInputElement).value}` : ''));
    if (saved === null) continue;
    if (c.type === 'checkbox') (c as HTMLInputElement).checked = saved === '1';
    else c.value = saved;
  }
  const save = (e: Event) => {
    const c = e.target as Control;
    if (!c.name) return;
    if (c.type === 'checkbox') store.setFormValue(key, `${c.name}:${(c as HTMLInputElement).value}`, (c as HTMLInputElement).checked ? '1' : '0');
    else store.setFormValue(key, c.name, c.value);
  };
  form.addEventListener('input', save);
  form.addEventListener('change', save);
  return () =>
    store.clearForm(
      key,
      controls.map((c) => c.name + (c.type === 'checkbox' ? `:${(c as HTMLInputElement).value}` : '')),
    );
}
