import { DomainError } from '../shared/domain-error';
import { deciderSpec } from '../testing/given';
import {
  AddMember, ChangeMemberRole, decideTenant, evolveTenant, initialTenantState, InvitationAccepted, MemberAdded, MemberInvited, MemberRemoved,
  MemberRoleChanged, RemoveMember, Role, TenantCreated, TenantEvent,
} from './tenant';

const given = deciderSpec(decideTenant, evolveTenant, initialTenantState);

const created: TenantCreated = { type: 'TenantCreated', data: { tenantId: 't1', name: 'Acme', createdBy: 'u1' } };
const ownerAdded: MemberAdded = { type: 'MemberAdded', data: { tenantId: 't1', userId: 'u1', role: 'owner' } };
const memberAdded = (userId: string, role: Role): MemberAdded => ({ type: 'MemberAdded', data: { tenantId: 't1', userId, role } });
const addMember = (userId: string, role: Role, actorRole: Role): AddMember => ({ type: 'AddMember', email: `${userId}@example.com`, userId, role, actorRole });
const invite = (email: string, role: Role, actorRole: Role = 'owner'): AddMember => ({ type: 'AddMember', email, userId: null, role, actorRole });
const invited = (email: string, role: Role): MemberInvited => ({ type: 'MemberInvited', data: { tenantId: 't1', email, role } });
const accepted = (email: string, userId: string, role: Role): InvitationAccepted => ({ type: 'InvitationAccepted', data: { tenantId: 't1', email, userId, role } });
const removeMember = (userId: string, actorRole: Role): RemoveMember => ({ type: 'RemoveMember', userId, actorRole });
const changeRole = (userId: string, role: Role, actorRole: Role): ChangeMemberRole => ({ type: 'ChangeMemberRole', userId, role, actorRole });
const roleChanged = (userId: string, role: Role, previousRole: Role): MemberRoleChanged => ({ type: 'MemberRoleChanged', data: { tenantId: 't1', userId, role, previousRole } });
const removed = (userId: string): MemberRemoved => ({ type: 'MemberRemoved', data: { tenantId: 't1', userId } });

describe('tenant decider', () => {
  describe('CreateTenant', () => {
    it('creates the tenant and makes its creator the owner', () => {
      given([]).when({ type: 'CreateTenant', tenantId: 't1', name: 'Acme', ownerUserId: 'u1' }).then([created, ownerAdded]);
    });

    it('refuses to create a tenant twice', () => {
      given([created, ownerAdded]).when({ type: 'CreateTenant', tenantId: 't1', name: 'Again', ownerUserId: 'u2' }).thenThrows('TENANT_EXISTS');
    });
  });

  describe('AddMember', () => {
    it('refuses on a tenant that does not exist', () => {
      given([]).when(addMember('u2', 'member', 'owner')).thenThrows('TENANT_NOT_FOUND');
    });

    it.each<[Role, Role]>([
      ['owner', 'owner'], ['owner', 'admin'], ['owner', 'member'], ['owner', 'auditor'],
      ['admin', 'admin'], ['admin', 'member'], ['admin', 'auditor'],
    ])('lets an %s grant the %s role', (actorRole, role) => {
      given([created, ownerAdded]).when(addMember('u2', role, actorRole)).then([memberAdded('u2', role)]);
    });

    it.each<[Role, Role]>([
      ['admin', 'owner'],
      ['member', 'member'], ['member', 'auditor'], ['member', 'admin'], ['member', 'owner'],
      ['auditor', 'auditor'], ['auditor', 'member'],
    ])('forbids an %s to grant the %s role', (actorRole, role) => {
      given([created, ownerAdded]).when(addMember('u2', role, actorRole)).thenThrows('ROLE_NOT_GRANTABLE');
    });

    it('maps a refused grant to FORBIDDEN and names both roles', () => {
      let error: unknown;
      try {
        decideTenant(addMember('u2', 'owner', 'admin'), [created, ownerAdded].reduce<typeof initialTenantState>(evolveTenant, initialTenantState));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).kind).toBe('FORBIDDEN');
      expect((error as DomainError).message).toMatch(/admin.*owner/);
    });

    it('refuses to add someone who is already a member, whatever the role', () => {
      given([created, ownerAdded, memberAdded('u2', 'member')]).when(addMember('u2', 'admin', 'owner')).thenThrows('ALREADY_MEMBER');
      given([created, ownerAdded]).when(addMember('u1', 'member', 'owner')).thenThrows('ALREADY_MEMBER');
    });
  });

  describe('AddMember of an email nobody registered', () => {
    it('invites the email with the role', () => {
      given([created, ownerAdded]).when(invite('new@example.com', 'member')).then([invited('new@example.com', 'member')]);
    });

    it('checks the grant as for a registered user', () => {
      given([created, ownerAdded]).when(invite('new@example.com', 'owner', 'admin')).thenThrows('ROLE_NOT_GRANTABLE');
    });

    it('refuses a second invitation with the same refusal as for a member', () => {
      given([created, ownerAdded, invited('new@example.com', 'member')]).when(invite('new@example.com', 'admin')).thenThrows('ALREADY_MEMBER');
    });
  });

  describe('AcceptInvitation', () => {
    it('makes the registered user a member with the invited role', () => {
      given([created, ownerAdded, invited('new@example.com', 'auditor')])
        .when({ type: 'AcceptInvitation', email: 'new@example.com', userId: 'u9' })
        .then([accepted('new@example.com', 'u9', 'auditor')]);
    });

    it('refuses without an invitation, or once it was accepted', () => {
      given([created, ownerAdded]).when({ type: 'AcceptInvitation', email: 'new@example.com', userId: 'u9' }).thenThrows('INVITATION_NOT_FOUND');
      given([created, ownerAdded, invited('new@example.com', 'member'), accepted('new@example.com', 'u9', 'member')])
        .when({ type: 'AcceptInvitation', email: 'new@example.com', userId: 'u9' }).thenThrows('INVITATION_NOT_FOUND');
    });
  });

  describe('RemoveMember', () => {
    it('removes a member', () => {
      given([created, ownerAdded, memberAdded('u2', 'member')]).when(removeMember('u2', 'admin')).then([removed('u2')]);
    });

    it('lets an owner remove another owner, but never the last one', () => {
      given([created, ownerAdded, memberAdded('u2', 'owner')]).when(removeMember('u1', 'owner')).then([removed('u1')]);
      given([created, ownerAdded, memberAdded('u2', 'admin')]).when(removeMember('u1', 'owner')).thenThrows('LAST_OWNER');
    });

    it.each<[Role, Role]>([['admin', 'owner'], ['member', 'member'], ['auditor', 'member']])(
      'forbids the %s role to remove the %s role', (actorRole, role) => {
        given([created, ownerAdded, memberAdded('u2', role)]).when(removeMember('u2', actorRole)).thenThrows('ROLE_NOT_REMOVABLE');
      });

    it('404s a user who is not (or no longer) a member', () => {
      given([created, ownerAdded]).when(removeMember('u2', 'owner')).thenThrows('MEMBER_NOT_FOUND');
      given([created, ownerAdded, memberAdded('u2', 'member'), removed('u2')]).when(removeMember('u2', 'owner')).thenThrows('MEMBER_NOT_FOUND');
    });

    it('lets a removed user be added again', () => {
      given([created, ownerAdded, memberAdded('u2', 'member'), removed('u2')]).when(addMember('u2', 'admin', 'owner')).then([memberAdded('u2', 'admin')]);
    });
  });

  it('evolves members as they are added, without touching the previous state', () => {
    const events: TenantEvent[] = [created, ownerAdded, memberAdded('u2', 'auditor')];
    const states = events.reduce<(typeof initialTenantState)[]>((acc, e) => [...acc, evolveTenant(acc[acc.length - 1], e)], [initialTenantState]);
    const final = states[states.length - 1];
    expect(final.exists).toBe(true);
    expect(final.tenantId).toBe('t1');
    expect([...final.members]).toEqual([['u1', 'owner'], ['u2', 'auditor']]);
    expect([...states[2].members]).toEqual([['u1', 'owner']]);
    expect(initialTenantState.members.size).toBe(0);
  });
});

describe('tenant decider: ChangeMemberRole', () => {
  it('changes a member\u2019s role, naming the previous one', () => {
    given([created, ownerAdded, memberAdded('u2', 'member')]).when(changeRole('u2', 'admin', 'owner')).then([roleChanged('u2', 'admin', 'member')]);
    given([created, ownerAdded, memberAdded('u2', 'admin')]).when(changeRole('u2', 'auditor', 'admin')).then([roleChanged('u2', 'auditor', 'admin')]);
  });

  it('lets only an owner grant the owner role, or demote an owner', () => {
    given([created, ownerAdded, memberAdded('u2', 'member')]).when(changeRole('u2', 'owner', 'owner')).then([roleChanged('u2', 'owner', 'member')]);
    given([created, ownerAdded, memberAdded('u2', 'member')]).when(changeRole('u2', 'owner', 'admin')).thenThrows('ROLE_NOT_GRANTABLE');
    given([created, ownerAdded, memberAdded('u2', 'owner')]).when(changeRole('u2', 'admin', 'admin')).thenThrows('ROLE_NOT_REMOVABLE');
  });

  it.each<Role>(['member', 'auditor'])('forbids a %s to change roles', (actorRole) => {
    given([created, ownerAdded, memberAdded('u2', 'member')]).when(changeRole('u2', 'auditor', actorRole)).thenThrows('ROLE_NOT_REMOVABLE');
  });

  it('never demotes the last owner, but an owner may step down once another owner exists', () => {
    given([created, ownerAdded, memberAdded('u2', 'admin')]).when(changeRole('u1', 'admin', 'owner')).thenThrows('LAST_OWNER');
    given([created, ownerAdded, memberAdded('u2', 'owner')]).when(changeRole('u1', 'admin', 'owner')).then([roleChanged('u1', 'admin', 'owner')]);
  });

  it('records nothing when the role is the one already held', () => {
    given([created, ownerAdded, memberAdded('u2', 'member')]).when(changeRole('u2', 'member', 'admin')).then([]);
    given([created, ownerAdded]).when(changeRole('u1', 'owner', 'owner')).then([]);
  });

  it('404s a user who is not (or no longer) a member', () => {
    given([created, ownerAdded]).when(changeRole('u2', 'member', 'owner')).thenThrows('MEMBER_NOT_FOUND');
    given([created, ownerAdded, memberAdded('u2', 'member'), removed('u2')]).when(changeRole('u2', 'admin', 'owner')).thenThrows('MEMBER_NOT_FOUND');
  });

  it('evolves the member to the new role, which later decisions see', () => {
    given([created, ownerAdded, memberAdded('u2', 'member'), roleChanged('u2', 'owner', 'member')])
      .when(changeRole('u1', 'admin', 'owner')).then([roleChanged('u1', 'admin', 'owner')]);
  });
});
