import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';

export type Role = 'owner' | 'admin' | 'member' | 'auditor';

export type TenantCreated = Event<'TenantCreated', { tenantId: string; name: string; createdBy: string }>;
export type MemberAdded = Event<'MemberAdded', { tenantId: string; userId: string; role: Role }>;
export type TenantEvent = TenantCreated | MemberAdded;

export type CreateTenant = { type: 'CreateTenant'; tenantId: string; name: string; ownerUserId: string };
export type AddMember = { type: 'AddMember'; userId: string; role: Role; actorRole: Role };
export type TenantCommand = CreateTenant | AddMember;

export type TenantState = { exists: boolean; tenantId?: string; members: ReadonlyMap<string, Role> };
export const initialTenantState: TenantState = { exists: false, members: new Map() };

/** Who may hand out which role: an admin cannot mint owners. */
const GRANTABLE: Record<Role, readonly Role[]> = {
  owner: ['owner', 'admin', 'member', 'auditor'],
  admin: ['admin', 'member', 'auditor'],
  member: [],
  auditor: [],
};

export const decideTenant = (command: TenantCommand, state: TenantState): TenantEvent[] => {
  switch (command.type) {
    case 'CreateTenant': {
      if (state.exists) throw new DomainError('TENANT_EXISTS', 'CONFLICT', 'tenant already exists');
      const { tenantId, name, ownerUserId } = command;
      return [
        { type: 'TenantCreated', data: { tenantId, name, createdBy: ownerUserId } },
        { type: 'MemberAdded', data: { tenantId, userId: ownerUserId, role: 'owner' } },
      ];
    }
    case 'AddMember': {
      if (!state.exists || !state.tenantId) throw new DomainError('TENANT_NOT_FOUND', 'NOT_FOUND', 'tenant not found');
      if (!GRANTABLE[command.actorRole].includes(command.role)) {
        throw new DomainError('ROLE_NOT_GRANTABLE', 'FORBIDDEN', `a ${command.actorRole} cannot grant the ${command.role} role`);
      }
      if (state.members.has(command.userId)) throw new DomainError('ALREADY_MEMBER', 'CONFLICT', 'user is already a member');
      return [{ type: 'MemberAdded', data: { tenantId: state.tenantId, userId: command.userId, role: command.role } }];
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
};

export const evolveTenant = (state: TenantState, event: TenantEvent): TenantState => {
  switch (event.type) {
    case 'TenantCreated':
      return { exists: true, tenantId: event.data.tenantId, members: new Map() };
    case 'MemberAdded': {
      const members = new Map(state.members);
      members.set(event.data.userId, event.data.role);
      return { ...state, members };
    }
    default:
      return state;
  }
};
