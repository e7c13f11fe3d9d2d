import type { LoginResponse, TenantMembershipView } from '@meshgate/contracts';
import { CONSOLE_PAGES } from '@meshgate/contracts/console-pages';
import { api, ApiError } from '../api-client';
import { field, h } from '../dom';
import { saveSession } from '../session';
import type { View, ViewContext } from './view';

/** The control plane marks index.html when single sign-on is configured (OIDC_ISSUER set). */
const ssoEnabled = () => document.querySelector('meta[name="meshgate-sso"]')?.getAttribute('content') === 'on';

function errorBox(): HTMLElement {
  return h('div', { class: 'error', role: 'alert', hidden: true });
}

function showError(box: HTMLElement, error: unknown): void {
  box.hidden = false;
  box.replaceChildren(...(error instanceof ApiError ? error.messages : [String(error)]).map((m) => h('p', {}, m)));
}

/** Keeps a tenant-scoped login; a login without a tenant lists the user's tenants, to pick one and log in scoped to it. */
function signedIn(context: ViewContext, email: string, reply: LoginResponse, tenant: TenantMembershipView): void {
  saveSession({
    token: reply.accessToken, email, tenantId: tenant.id, tenantName: tenant.name, role: tenant.role,
    expiresAt: Date.now() + reply.expiresIn * 1000,
  });
  context.navigate(CONSOLE_PAGES.mesh, true);
}

export const loginView: View = {
  title: 'Sign in',
  render(main, context) {
    const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
    const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
    const tenant = h('input', { type: 'text', name: 'tenant', autocomplete: 'organization' });
    const errors = errorBox();
    const submit = h('button', { type: 'submit' }, 'Sign in');
    const choice = h('div', { class: 'tenant-choice' });
    const form = h('form', { 'aria-labelledby': 'login-title', novalidate: true },
      field('Email', email),
      field('Password', password),
      field('Tenant', tenant, 'The tenant\u2019s name; leave empty to choose from yours.'),
      errors, submit, choice);

    const login = (body: Record<string, string>) =>
      api<LoginResponse>('POST', '/api/v1/auth/login', { body: { email: email.value, password: password.value, ...body }, anonymous: true });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      errors.hidden = true;
      choice.replaceChildren();
      submit.disabled = true;
      try {
        const reply = (await login(tenant.value.trim() ? { tenant: tenant.value.trim() } : {})).body;
        const tenants = reply.tenants;
        if (tenant.value.trim()) {
          const scoped = tenants.find((t) => t.name === tenant.value.trim()) ?? tenants[0];
          return signedIn(context, email.value, reply, scoped);
        }
        if (tenants.length === 0) throw new Error('You are not a member of any tenant yet.');
        if (tenants.length === 1) return signedIn(context, email.value, (await login({ tenantId: tenants[0].id })).body, tenants[0]);
        choice.replaceChildren(h('p', { id: 'choose-tenant' }, 'Choose a tenant:'),
          h('ul', { 'aria-labelledby': 'choose-tenant' }, ...tenants.map((t) => {
            const pick = h('button', { type: 'button' }, `${t.name} (${t.role})`);
            pick.addEventListener('click', async () => {
              try {
                signedIn(context, email.value, (await login({ tenantId: t.id })).body, t);
              } catch (error) {
                showError(errors, error);
              }
            });
            return h('li', {}, pick);
          })));
        (choice.querySelector('button') as HTMLButtonElement).focus();
      } catch (error) {
        showError(errors, error);
      } finally {
        submit.disabled = false;
      }
    });

    const sso = ssoEnabled() ? h('p', { class: 'sso' }, h('a', { href: '/api/v1/auth/oidc/login', id: 'sso-link' }, 'Sign in with single sign-on')) : null;
    // A single sign-on token is scoped to the tenant named here, as the password login's is (there is no password to
    // log in again with another scope afterwards).
    sso?.querySelector('a')!.addEventListener('click', (event) => {
      const name = tenant.value.trim();
      if (!name) {
        event.preventDefault();
        showError(errors, 'Enter the tenant to sign in to, then choose single sign-on.');
        tenant.focus();
        return;
      }
      (event.currentTarget as HTMLAnchorElement).href = `/api/v1/auth/oidc/login?tenant=${encodeURIComponent(name)}`;
    });
    main.append(h('section', { class: 'login card' }, h('h1', { id: 'login-title' }, 'Sign in to MeshGate'), form, sso));
    email.focus();
  },
};

/**
 * Where the OpenID provider sends the browser back when OIDC_REDIRECT_URL names this page (…/auth/callback): the
 * code and state go to the API's callback, with the login state cookie, and its answer is the password login's.
 */
export const ssoCallbackView: View = {
  title: 'Signing in',
  render(main, context) {
    const errors = errorBox();
    main.append(h('section', { class: 'login card' }, h('h1', {}, 'Signing in…'), errors, h('p', {}, h('a', { href: CONSOLE_PAGES.login }, 'Back to sign in'))));
    void (async () => {
      try {
        const reply = (await api<LoginResponse>('GET', `/api/v1/auth/oidc/callback${location.search}`, { anonymous: true })).body;
        const tenant = reply.tenants.find((t) => t.id === tokenTenant(reply.accessToken));
        if (!tenant) throw new Error('The sign-in is not scoped to one of your tenants: sign in again naming the tenant.');
        signedIn(context, 'single sign-on', reply, tenant);
      } catch (error) {
        showError(errors, error);
      }
    })();
  },
};

/** The tenant a token is scoped to (its `tid` claim): read for display only, the server checks the signature. */
function tokenTenant(token: string): string | undefined {
  try {
    return (JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { tid?: string }).tid;
  } catch {
    return undefined;
  }
}
