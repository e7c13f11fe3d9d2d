import type { RoleName } from '@meshgate/contracts';

/** Who is signed in, scoped to one tenant. Kept in sessionStorage: gone with the tab, never in a cookie. */
export interface Session {
  token: string;
  email: string;
  tenantId: string;
  tenantName: string;
  role: RoleName;
  expiresAt: number;
}

const KEY = 'meshgate.session';

export function currentSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const session = JSON.parse(raw) as Session;
  if (session.expiresAt <= Date.now()) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return session;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function endSession(): void {
  sessionStorage.removeItem(KEY);
}

export const isAdmin = (s: Session) => s.role === 'owner' || s.role === 'admin';
export const canReadAudit = (s: Session) => isAdmin(s) || s.role === 'auditor';
