import { DomainError } from '../shared/domain-error';
import { deciderSpec } from '../testing/given';
import { AddMember, decideTenant, evolveTenant, initialTenantState, MemberAdded, Role, TenantCreated, TenantEvent } from './tenant';

const given = deciderSpec(decideTenant, evolveTenant, initialTenantState);

const created: TenantCreated = { type: 'TenantCreated', data: { tenantId: 't1', name: 'Acme', createdBy: 'u1' } };
const ownerAdded: MemberAdded = { type: 'MemberAdded', data: { tenantId: 't1', userId: 'u1', role: 'owner' } };
const memberAdded = (userId: string, role: Role): MemberAdded => ({ type: 'MemberAdded', data: { tenantId: 't1', userId, role } });
const addMember = (userId: string, role: Role, actorRole: Role): AddMember => ({ type: 'AddMember', userId, role, actorRole });

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
