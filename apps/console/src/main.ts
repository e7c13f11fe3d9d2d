import { CONSOLE_PAGES } from '@meshgate/contracts/console-pages';
import { whenUnauthorized } from './api-client';
import { h } from './dom';
import { canReadAudit, currentSession, endSession, isAdmin, Session } from './session';
import { auditLogView } from './views/audit-log.view';
import { enrollmentKeysView } from './views/enrollment-keys.view';
import { loginView, ssoCallbackView } from './views/login.view';
import { meshView } from './views/mesh.view';
import { nodesTableView } from './views/nodes-table.view';
import { policyEditorView } from './views/policy-editor.view';
import type { View } from './views/view';

interface Route { path: string; label: string; view: View; allowed: (s: Session) => boolean }

/** The signed-in pages, in menu order. The server answers each path with index.html (client routes). */
const ROUTES: Route[] = [
  { path: CONSOLE_PAGES.mesh, label: 'Mesh', view: meshView, allowed: () => true },
  { path: CONSOLE_PAGES.nodes, label: 'Nodes', view: nodesTableView, allowed: () => true },
  { path: CONSOLE_PAGES.policy, label: 'Policy', view: policyEditorView, allowed: () => true },
  { path: CONSOLE_PAGES.keys, label: 'Enrollment keys', view: enrollmentKeysView, allowed: isAdmin },
  { path: CONSOLE_PAGES.audit, label: 'Audit log', view: auditLogView, allowed: canReadAudit },
];
const PUBLIC: Record<string, View> = { [CONSOLE_PAGES.login]: loginView, [CONSOLE_PAGES.ssoCallback]: ssoCallbackView };

const app = document.getElementById('app')!;
let cleanup: (() => void) | void;

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  show(true);
}

function show(moveFocus: boolean): void {
  if (cleanup) cleanup();
  cleanup = undefined;
  const path = location.pathname;
  const session = currentSession();
  const publicView = PUBLIC[path];
  if (publicView) {
    if (path === CONSOLE_PAGES.login && session) return navigate(CONSOLE_PAGES.mesh, true);
    return mount(publicView, null, moveFocus);
  }
  if (!session) return navigate(CONSOLE_PAGES.login, true);
  const route = ROUTES.find((r) => r.path === path && r.allowed(session)) ?? ROUTES[0];
  if (route.path !== path) history.replaceState(null, '', route.path);
  mount(route.view, session, moveFocus);
}

function mount(view: View, session: Session | null, moveFocus: boolean): void {
  const main = h('main', { id: 'main', tabindex: -1 });
  app.replaceChildren(...(session ? [header(session)] : []), main, h('div', { id: 'status', role: 'status', 'aria-live': 'polite', class: 'visually-hidden' }));
  document.title = `${view.title} · MeshGate`;
  cleanup = view.render(main, { session, navigate });
  if (moveFocus) main.focus();
}

function header(session: Session): HTMLElement {
  const links = ROUTES.filter((r) => r.allowed(session)).map((r) =>
    h('li', {}, h('a', { href: r.path, 'aria-current': r.path === location.pathname ? 'page' : undefined }, r.label)));
  const signOut = h('button', { type: 'button', class: 'link-button' }, 'Sign out');
  signOut.addEventListener('click', () => {
    endSession();
    navigate(CONSOLE_PAGES.login);
  });
  return h('header', { class: 'top' },
    h('span', { class: 'brand' }, 'MeshGate'),
    h('nav', { 'aria-label': 'Console' }, h('ul', {}, ...links)),
    h('span', { class: 'who' }, `${session.email} · ${session.tenantName} (${session.role})`),
    signOut);
}

// Same-origin links move within the app without a page load.
document.addEventListener('click', (event) => {
  const link = (event.target as Element).closest?.('a[href^="/"]') as HTMLAnchorElement | null;
  if (!link || link.target || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.pathname.startsWith('/api/') || link.pathname.startsWith('/docs')) return;
  event.preventDefault();
  if (link.pathname !== location.pathname) navigate(link.pathname);
});
window.addEventListener('popstate', () => show(true));
whenUnauthorized(() => navigate(CONSOLE_PAGES.login, true));
show(false);
