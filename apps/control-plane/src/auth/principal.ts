import type { Actor, Role } from '@meshgate/domain';

/** Who is calling, as established by the credentials guard. */
export type Principal =
  /** A user's token, or an API key (`apiKeyId`): it acts for its creator (`userId`) in its tenant, with its own role. */
  | { kind: 'user'; userId: string; tenantId: string | null; role: Role | null; apiKeyId?: string }
  | { kind: 'node'; nodeId: string; tenantId: string }
  | { kind: 'enrollment'; keyId: string; tenantId: string };

export function actorOf(p: Principal): Actor {
  switch (p.kind) {
    case 'user': return { kind: 'user', id: p.userId };
    case 'node': return { kind: 'node', id: p.nodeId };
    case 'enrollment': return { kind: 'system', id: `enrollment-key:${p.keyId}` };
  }
}
