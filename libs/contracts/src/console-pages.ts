/**
 * The web console's pages: the browser shows these paths (client routes), and the control plane answers each of them
 * with the console's index.html. Any other path keeps its API meaning, or 404.
 */
export const CONSOLE_PAGES = {
  mesh: '/',
  nodes: '/nodes',
  policy: '/policy',
  keys: '/keys',
  audit: '/audit',
  login: '/login',
  /** Where the OpenID provider sends the browser back when OIDC_REDIRECT_URL names it. */
  ssoCallback: '/auth/callback',
} as const;
