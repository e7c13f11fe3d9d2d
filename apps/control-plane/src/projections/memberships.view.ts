import type { InvitationAccepted, MemberAdded, MemberRemoved, MemberRoleChanged, RecordedEvent, Role } from '@meshgate/domain';
import { View } from './view';

/**
 * Who holds which role in which tenant, in memory: every tenant-scoped request checks its token against it, so a
 * removed or re-roled member is refused at once, on every replica, without SQL per request.
 */
export class MembershipsView implements View {
  readonly name = 'memberships';
  /** `<tenantId>/<userId>` → role. */
  private roles = new Map<string, Role>();

  apply(event: RecordedEvent): void {
    switch (event.type) {
      case 'MemberAdded':
      case 'InvitationAccepted':
      case 'MemberRoleChanged': {
        const d = event.data as MemberAdded['data'] | InvitationAccepted['data'] | MemberRoleChanged['data'];
        this.roles.set(key(d.tenantId, d.userId), d.role);
        return;
      }
      case 'MemberRemoved': {
        const d = event.data as MemberRemoved['data'];
        this.roles.delete(key(d.tenantId, d.userId));
        return;
      }
      default:
        return;
    }
  }

  /** The user's role in the tenant, or undefined if not (or no longer) a member. */
  roleOf(tenantId: string, userId: string): Role | undefined {
    return this.roles.get(key(tenantId, userId));
  }

  snapshot(): [string, Role][] {
    return [...this.roles].sort(([a], [b]) => (a < b ? -1 : 1));
  }

  restore(state: unknown): void {
    this.roles = new Map((state as [string, Role][] | undefined) ?? []);
  }
}

const key = (tenantId: string, userId: string) => `${tenantId}/${userId}`;
