import { deciderSpec } from '../testing/given';
import { ApiKeyCreated, ApiKeyRevoked, apiKeyUsable, CreateApiKey, decideApiKey, evolveApiKey, initialApiKeyState } from './api-key';
import type { Role } from '../tenant/tenant';

const now = new Date('2026-01-01T00:00:00.000Z');
const given = deciderSpec(decideApiKey, evolveApiKey, initialApiKeyState, now);

const create = (overrides: Partial<CreateApiKey> = {}): CreateApiKey => ({
  type: 'CreateApiKey', keyId: 'k1', tenantId: 't1', description: 'ci', role: 'member', secretHash: 'h', createdBy: 'u1',
  actorRole: 'admin', ...overrides,
});
const created = (role: Role = 'member', expiresAt = '2026-04-01T00:00:00.000Z'): ApiKeyCreated => ({
  type: 'ApiKeyCreated',
  data: { keyId: 'k1', tenantId: 't1', description: 'ci', role, secretHash: 'h', createdBy: 'u1', expiresAt },
});
const revoked: ApiKeyRevoked = { type: 'ApiKeyRevoked', data: { keyId: 'k1', tenantId: 't1' } };

describe('API key decider', () => {
  describe('CreateApiKey', () => {
    it('creates a key expiring after the default 90 days', () => {
      given([]).when(create()).then([created('member', '2026-04-01T00:00:00.000Z')]);
    });

    it('creates a key expiring after the days asked for', () => {
      given([]).when(create({ expiresInDays: 1, role: 'auditor' })).then([created('auditor', '2026-01-02T00:00:00.000Z')]);
    });

    it.each<[Role, Role]>([['owner', 'owner'], ['owner', 'admin'], ['admin', 'admin'], ['admin', 'member'], ['admin', 'auditor']])(
      'lets an %s create a key with the %s role', (actorRole, role) => {
        given([]).when(create({ actorRole, role })).then([created(role)]);
      });

    it.each<[Role, Role]>([['admin', 'owner'], ['member', 'member'], ['auditor', 'auditor']])(
      'forbids an %s to create a key with the %s role', (actorRole, role) => {
        given([]).when(create({ actorRole, role })).thenThrows('ROLE_NOT_GRANTABLE');
      });

    it.each([0, 366, 1.5])('refuses an expiry of %p days', (expiresInDays) => {
      given([]).when(create({ expiresInDays })).thenThrows('API_KEY_EXPIRY_INVALID');
    });

    it('refuses to create the same key twice', () => {
      given([created()]).when(create()).thenThrows('API_KEY_EXISTS');
    });
  });

  describe('RevokeApiKey', () => {
    it('revokes a key, once', () => {
      given([created()]).when({ type: 'RevokeApiKey', actorRole: 'admin' }).then([revoked]);
      given([created(), revoked]).when({ type: 'RevokeApiKey', actorRole: 'admin' }).then([]);
    });

    it('forbids an admin to revoke an owner key', () => {
      given([created('owner')]).when({ type: 'RevokeApiKey', actorRole: 'admin' }).thenThrows('ROLE_NOT_REMOVABLE');
    });

    it('404s a key that does not exist', () => {
      given([]).when({ type: 'RevokeApiKey', actorRole: 'owner' }).thenThrows('API_KEY_NOT_FOUND');
    });
  });

  describe('apiKeyUsable', () => {
    const state = (events: (ApiKeyCreated | ApiKeyRevoked)[]) => events.reduce(evolveApiKey, initialApiKeyState);

    it('holds until its expiry, not at it', () => {
      expect(apiKeyUsable(state([created()]), new Date('2026-03-31T23:59:59.999Z'))).toBe(true);
      expect(apiKeyUsable(state([created()]), new Date('2026-04-01T00:00:00.000Z'))).toBe(false);
    });

    it('never holds once revoked, nor for a key that does not exist', () => {
      expect(apiKeyUsable(state([created(), revoked]), now)).toBe(false);
      expect(apiKeyUsable(initialApiKeyState, now)).toBe(false);
    });
  });
});
