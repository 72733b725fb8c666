// Sign in: paste a staff token (ops, finance, associate: from `lc-admin token issue`); viewers
// sign in with a code on the H5 page.
import type { Ctx } from '../app';
import { errorText } from '../app';
import { field, h } from '../lib/dom';
import { t } from '../lib/i18n';
import { canSee, homeFor } from '../lib/roles';
import { decodeToken, isExpired } from '../lib/token';
import { parseHash } from '../app';

export async function loginPage(ctx: Ctx): Promise<void> {
  const messageKey = sessionStorage.getItem('lc.loginMessage');
  sessionStorage.removeItem('lc.loginMessage');
  const tokenInput = h('textarea', { name: 'token', rows: 4, required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'lc1.…' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'card narrow',
      'aria-labelledby': 'login-title',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        error.textContent = '';
        const token = tokenInput.value.trim();
        const claims = decodeToken(token);
        if (!claims) {
          error.textContent = t('login.malformed');
          return;
        }
        if (isExpired(claims, Date.now(), 0)) {
          error.textContent = t('login.expired');
          return;
        }
        if (claims.role === 'viewer') {
          error.textContent = t('login.viewerUseH5');
          return;
        }
        ctx.store.signIn('staff', token);
        try {
          // One cheap call every staff role may make: proves the gateway accepts the token.
          await ctx.api.get('/v1/rooms', { page_size: 1 });
        } catch (err) {
          ctx.store.signOut('staff');
          error.textContent = errorText(err);
          return;
        }
        const back = ctx.store.takeReturnTo();
        const page = back ? parseHash(back).page : null;
        ctx.navigate(back && page && page !== 'login' && canSee(claims.role, page) ? back : `#/${homeFor(claims.role)}`);
      },
    },
    h('h1', { id: 'login-title' }, t('login.title')),
    messageKey ? h('p', { class: 'notice', role: 'status' }, t(messageKey)) : null,
    field(t('login.token'), tokenInput),
    h('p', { class: 'hint' }, t('login.tokenHint')),
    h('button', { type: 'submit' }, t('login.signIn')),
    error,
  );
  const viewer = h(
    'section',
    { class: 'card narrow', 'aria-labelledby': 'viewer-title' },
    h('h2', { id: 'viewer-title' }, t('login.viewerTitle')),
    h('p', {}, t('login.viewerText')),
    h('a', { href: '#/h5', class: 'button secondary' }, t('login.openH5')),
  );
  ctx.root.append(form, viewer);
  tokenInput.focus();
}
