import type { Actor, Role } from '@meshgate/domain';

/** Who is calling, as established by the credentials guard. */
export type Principal =
  | { kind: 'user'; userId: string; tenantId: string | null; role: Role | null }
  | { kind: 'node'; nodeId: string; tenantId: string }
  | { kind: 'enrollment'; keyId: string; tenantId: string };

export function actorOf(p: Principal): Actor {
  switch (p.kind) {
    case 'user': return { kind: 'user', id: p.userId };
    case 'node': return { kind: 'node', id: p.nodeId };
    case 'enrollment': return { kind: 'system', id: `enrollment-key:${p.keyId}` };
  }
}
