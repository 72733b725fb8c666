// The shell: hash routes (#/rooms, #/rooms/7, #/live/7, #/reports, #/associate, #/finance,
// #/h5?room=7&invite=...), the header with the role's navigation and the locale switch, sign-in
// state and the return to login on a 401 or an expired token.
import { Api, ApiError } from './lib/api';
import { h, replace } from './lib/dom';
import { getLocale, LOCALES, setLocale, t, type Locale } from './lib/i18n';
import { canSee, homeFor, NAV, type PageId } from './lib/roles';
import { keepForm, SessionStore, type Slot } from './lib/session';
import { isExpired, type Claims } from './lib/token';

export interface Ctx {
  api: Api;
  claims: Claims | null;
  params: Record<string, string>;
  query: URLSearchParams;
  root: HTMLElement;
  store: SessionStore;
  onCleanup(fn: () => void): void;
  /** Runs fn now and every ms while the page is shown (never two at once). */
  every(ms: number, fn: () => Promise<void> | void): void;
  keep(key: string, form: HTMLElement): () => void;
  navigate(hash: string): void;
  notify(message: string, kind?: 'ok' | 'error'): void;
  rerender(): void;
  gone(): boolean;
}

export type Page = (ctx: Ctx) => Promise<void> | void;

interface Route {
  page: PageId | 'login';
  params: Record<string, string>;
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?', 2);
  const query = new URLSearchParams(qs ?? '');
  const parts = path.split('/').filter(Boolean);
  const [first, second] = parts;
  switch (first) {
    case 'login':
      return { page: 'login', params: {}, query };
    case 'rooms':
      return second ? { page: 'room', params: { id: second }, query } : { page: 'rooms', params: {}, query };
    case 'live':
      return { page: 'live', params: { id: second ?? '' }, query };
    case 'reports':
    case 'associate':
    case 'finance':
    case 'h5':
      return { page: first as PageId, params: {}, query };
    default:
      return { page: 'login', params: {}, query };
  }
}

export function slotFor(page: PageId | 'login'): Slot {
  return page === 'h5' ? 'viewer' : 'staff';
}

export class App {
  store = new SessionStore(sessionStorage);
  private cleanups: (() => void)[] = [];
  private generation = 0;
  private header = h('header', { class: 'top' });
  private main = h('main', { id: 'main', tabindex: '-1' });
  private toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
  private expiryTimer = 0;

  constructor(
    el: HTMLElement,
    private pages: Record<PageId | 'login', Page>,
  ) {
    setLocale(localStorage.getItem('lc.locale') ?? 'zh-CN');
    document.documentElement.lang = getLocale();
    el.append(this.header, this.main, this.toast);
    window.addEventListener('hashchange', () => this.render());
    this.expiryTimer = window.setInterval(() => this.checkExpiry(), 5000);
  }

  private checkExpiry(): void {
    const route = parseHash(location.hash);
    if (route.page === 'login') return;
    const slot = slotFor(route.page);
    const claims = this.store.claims(slot);
    if (claims && isExpired(claims, Date.now())) this.expired(slot);
  }

  /** The token is gone or refused: back to login (the H5 page signs viewers in itself). */
  expired(slot: Slot): void {
    this.store.signOut(slot);
    if (slot === 'viewer') {
      this.render();
      return;
    }
    this.store.setReturnTo(location.hash);
    sessionStorage.setItem('lc.loginMessage', 'login.expired');
    location.hash = '#/login';
  }

  render(): void {
    for (const c of this.cleanups.splice(0)) {
      try {
        c();
      } catch {
        /* a page's cleanup must not stop the next page */
      }
    }
    const gen = ++this.generation;
    const route = parseHash(location.hash);
    const slot = slotFor(route.page);
    let claims = this.store.claims(slot);
    if (claims && isExpired(claims, Date.now())) {
      this.store.signOut(slot);
      claims = null;
      if (route.page !== 'h5' && route.page !== 'login') {
        this.store.setReturnTo(location.hash);
        sessionStorage.setItem('lc.loginMessage', 'login.expired');
        location.hash = '#/login';
        return;
      }
    }
    if (route.page !== 'login' && route.page !== 'h5') {
      if (!claims) {
        this.store.setReturnTo(location.hash);
        location.hash = '#/login';
        return;
      }
      if (!canSee(claims.role, route.page)) {
        location.hash = `#/${homeFor(claims.role)}`;
        return;
      }
    }
    this.renderHeader(route.page, claims);
    const api = new Api({
      token: () => this.store.token(slot),
      onUnauthorized: (e: ApiError) => {
        if (gen === this.generation) {
          sessionStorage.setItem('lc.loginMessage', e.message.includes('expired') ? 'login.expired' : 'login.refused');
          this.expired(slot);
        }
      },
    });
    const root = h('div', { class: `page page-${route.page}` });
    replace(this.main, root);
    document.body.dataset.page = route.page;
    const ctx: Ctx = {
      api,
      claims,
      params: route.params,
      query: route.query,
      root,
      store: this.store,
      onCleanup: (fn) => this.cleanups.push(fn),
      every: (ms, fn) => {
        let busy = false;
        const tick = async () => {
          if (busy || gen !== this.generation) return;
          busy = true;
          try {
            await fn();
          } catch (e) {
            if (!(e instanceof ApiError && e.status === 401)) console.warn('refresh failed', e);
          } finally {
            busy = false;
          }
        };
        void tick();
        const id = window.setInterval(tick, ms);
        this.cleanups.push(() => window.clearInterval(id));
      },
      keep: (key, form) => keepForm(this.store, key, form),
      navigate: (hash) => {
        location.hash = hash;
      },
      notify: (message, kind = 'ok') => this.notify(message, kind),
      rerender: () => this.render(),
      gone: () => gen !== this.generation,
    };
    Promise.resolve(this.pages[route.page](ctx)).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 401) return;
      if (gen === this.generation) root.append(h('p', { class: 'error', role: 'alert' }, errorText(e)));
    });
  }

  notify(message: string, kind: 'ok' | 'error' = 'ok'): void {
    this.toast.textContent = message;
    this.toast.className = `toast show ${kind}`;
    window.clearTimeout(Number(this.toast.dataset.timer ?? 0));
    this.toast.dataset.timer = String(window.setTimeout(() => (this.toast.className = 'toast'), 4000));
  }

  private renderHeader(page: PageId | 'login', claims: Claims | null): void {
    const localeSelect = h(
      'select',
      {
        'aria-label': t('app.language'),
        class: 'locale',
        onchange: (e: Event) => {
          const v = (e.target as HTMLSelectElement).value as Locale;
          localStorage.setItem('lc.locale', v);
          setLocale(v);
          document.documentElement.lang = v;
          this.render();
        },
      },
      ...Object.keys(LOCALES).map((l) => h('option', { value: l, selected: l === getLocale() }, l === 'en' ? 'English' : '中文')),
    );
    const nav =
      claims && page !== 'h5'
        ? h(
            'nav',
            { 'aria-label': t('app.nav') },
            ...NAV[claims.role].map((p) =>
              h('a', { href: `#/${p}`, 'aria-current': page === p || (p === 'rooms' && (page === 'room' || page === 'live')) ? 'page' : undefined }, t(`nav.${p}`)),
            ),
          )
        : null;
    const who = claims
      ? h(
          'span',
          { class: 'who' },
          h('span', { class: 'role' }, t(`role.${claims.role}`)),
          ` ${claims.subject} · ${claims.brand} `,
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: () => {
                this.store.signOut(slotFor(page));
                if (page === 'h5') this.render();
                else location.hash = '#/login';
              },
            },
            t('app.signOut'),
          ),
        )
      : null;
    replace(this.header, h('a', { class: 'brand', href: claims && page !== 'h5' ? `#/${homeFor(claims.role)}` : '#/login' }, t(page === 'h5' ? 'h5.title' : 'app.title')), nav, h('span', { class: 'spacer' }), who, localeSelect);
  }

  destroy(): void {
    window.clearInterval(this.expiryTimer);
  }
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return t('error.api', { status: e.status, code: e.code, message: e.message });
  return e instanceof Error ? e.message : String(e);
}
