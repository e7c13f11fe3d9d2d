import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';

export type Role = 'owner' | 'admin' | 'member' | 'auditor';

export type TenantCreated = Event<'TenantCreated', { tenantId: string; name: string; createdBy: string }>;
export type MemberAdded = Event<'MemberAdded', { tenantId: string; userId: string; role: Role }>;
/** An email nobody has registered yet was added: the user becomes a member on registering with it. */
export type MemberInvited = Event<'MemberInvited', { tenantId: string; email: string; role: Role }>;
/** A user registered with an invited email and so joined with the invited role. */
export type InvitationAccepted = Event<'InvitationAccepted', { tenantId: string; email: string; userId: string; role: Role }>;
export type MemberRemoved = Event<'MemberRemoved', { tenantId: string; userId: string }>;
/** A member's role was changed: their tokens issued for the previous role stop working with their next request. */
export type MemberRoleChanged = Event<'MemberRoleChanged', { tenantId: string; userId: string; role: Role; previousRole: Role }>;
export type TenantEvent = TenantCreated | MemberAdded | MemberInvited | InvitationAccepted | MemberRemoved | MemberRoleChanged;

export type CreateTenant = { type: 'CreateTenant'; tenantId: string; name: string; ownerUserId: string };
/** `userId` is the user registered with `email`, or null when there is none (the member is invited). */
export type AddMember = { type: 'AddMember'; email: string; userId: string | null; role: Role; actorRole: Role };
export type AcceptInvitation = { type: 'AcceptInvitation'; email: string; userId: string };
export type RemoveMember = { type: 'RemoveMember'; userId: string; actorRole: Role };
export type ChangeMemberRole = { type: 'ChangeMemberRole'; userId: string; role: Role; actorRole: Role };
export type TenantCommand = CreateTenant | AddMember | AcceptInvitation | RemoveMember | ChangeMemberRole;

export type TenantState = {
  exists: boolean;
  tenantId?: string;
  members: ReadonlyMap<string, Role>;
  /** Pending invitations: normalised email → role. */
  invitations: ReadonlyMap<string, Role>;
};
export const initialTenantState: TenantState = { exists: false, members: new Map(), invitations: new Map() };

/** Who may hand out (and take away) which role: an admin cannot mint or remove owners. */
const GRANTABLE: Record<Role, readonly Role[]> = {
  owner: ['owner', 'admin', 'member', 'auditor'],
  admin: ['admin', 'member', 'auditor'],
  member: [],
  auditor: [],
};

/** Whether a principal with `actorRole` may hand out `role` (to a member, an invitation or an API key). */
export const canGrantRole = (actorRole: Role, role: Role): boolean => GRANTABLE[actorRole].includes(role);

const ownerCount = (state: TenantState): number => [...state.members.values()].filter((r) => r === 'owner').length;

const existing = (state: TenantState): string => {
  if (!state.exists || !state.tenantId) throw new DomainError('TENANT_NOT_FOUND', 'NOT_FOUND', 'tenant not found');
  return state.tenantId;
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
      const tenantId = existing(state);
      const { email, userId, role, actorRole } = command;
      if (!GRANTABLE[actorRole].includes(role)) {
        throw new DomainError('ROLE_NOT_GRANTABLE', 'FORBIDDEN', `a ${actorRole} cannot grant the ${role} role`);
      }
      // One refusal for both cases: the answer must not tell whether the email is registered.
      if (userId === null ? state.invitations.has(email) : state.members.has(userId)) {
        throw new DomainError('ALREADY_MEMBER', 'CONFLICT', 'that email is already a member or invited');
      }
      return [userId === null
        ? { type: 'MemberInvited', data: { tenantId, email, role } }
        : { type: 'MemberAdded', data: { tenantId, userId, role } }];
    }
    case 'AcceptInvitation': {
      const tenantId = existing(state);
      const role = state.invitations.get(command.email);
      if (role === undefined) throw new DomainError('INVITATION_NOT_FOUND', 'NOT_FOUND', 'no invitation for that email');
      return [{ type: 'InvitationAccepted', data: { tenantId, email: command.email, userId: command.userId, role } }];
    }
    case 'RemoveMember': {
      const tenantId = existing(state);
      const role = state.members.get(command.userId);
      if (role === undefined) throw new DomainError('MEMBER_NOT_FOUND', 'NOT_FOUND', 'member not found');
      if (!GRANTABLE[command.actorRole].includes(role)) {
        throw new DomainError('ROLE_NOT_REMOVABLE', 'FORBIDDEN', `a ${command.actorRole} cannot remove a member with the ${role} role`);
      }
      if (role === 'owner' && ownerCount(state) === 1) {
        throw new DomainError('LAST_OWNER', 'CONFLICT', 'the last owner cannot be removed');
      }
      return [{ type: 'MemberRemoved', data: { tenantId, userId: command.userId } }];
    }
    case 'ChangeMemberRole': {
      const tenantId = existing(state);
      const { userId, role, actorRole } = command;
      const previousRole = state.members.get(userId);
      if (previousRole === undefined) throw new DomainError('MEMBER_NOT_FOUND', 'NOT_FOUND', 'member not found');
      // Both ends must be the actor's to give: an admin can neither mint an owner nor demote one.
      if (!GRANTABLE[actorRole].includes(previousRole)) {
        throw new DomainError('ROLE_NOT_REMOVABLE', 'FORBIDDEN', `a ${actorRole} cannot change the role of a member with the ${previousRole} role`);
      }
      if (!GRANTABLE[actorRole].includes(role)) {
        throw new DomainError('ROLE_NOT_GRANTABLE', 'FORBIDDEN', `a ${actorRole} cannot grant the ${role} role`);
      }
      if (previousRole === role) return [];
      if (previousRole === 'owner' && ownerCount(state) === 1) {
        throw new DomainError('LAST_OWNER', 'CONFLICT', 'the last owner cannot be demoted: make another member owner first');
      }
      return [{ type: 'MemberRoleChanged', data: { tenantId, userId, role, previousRole } }];
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
      return { exists: true, tenantId: event.data.tenantId, members: new Map(), invitations: new Map() };
    case 'MemberAdded':
      return { ...state, members: new Map(state.members).set(event.data.userId, event.data.role) };
    case 'MemberInvited':
      return { ...state, invitations: new Map(state.invitations).set(event.data.email, event.data.role) };
    case 'InvitationAccepted': {
      const invitations = new Map(state.invitations);
      invitations.delete(event.data.email);
      return { ...state, invitations, members: new Map(state.members).set(event.data.userId, event.data.role) };
    }
    case 'MemberRemoved': {
      const members = new Map(state.members);
      members.delete(event.data.userId);
      return { ...state, members };
    }
    case 'MemberRoleChanged':
      return { ...state, members: new Map(state.members).set(event.data.userId, event.data.role) };
    default:
      return state;
  }
};
