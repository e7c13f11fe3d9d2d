import { deciderSpec } from '../testing/given';
import {
  CreateEnrollmentKey, decideEnrollmentKey, EnrollmentKeyCreated, EnrollmentKeyEvent, EnrollmentKeyRevoked, EnrollmentKeyUsed,
  enrollmentKeyUsable, evolveEnrollmentKey, initialEnrollmentKeyState,
} from './enrollment-key';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const LATER = new Date('2026-01-01T01:00:00.000Z');
const at = (now: Date) => deciderSpec(decideEnrollmentKey, evolveEnrollmentKey, initialEnrollmentKeyState, now);
const given = at(NOW);

const create = (overrides: Partial<CreateEnrollmentKey> = {}): CreateEnrollmentKey => ({
  type: 'CreateEnrollmentKey', keyId: 'k1', tenantId: 't1', secretHash: 'sh', reusable: false, tags: ['web'], ...overrides,
});
const created = (overrides: Partial<EnrollmentKeyCreated['data']> = {}): EnrollmentKeyCreated => ({
  type: 'EnrollmentKeyCreated',
  data: { keyId: 'k1', tenantId: 't1', secretHash: 'sh', reusable: false, expiresAt: null, tags: ['web'], ...overrides },
});
const used = (nodeId: string): EnrollmentKeyUsed => ({ type: 'EnrollmentKeyUsed', data: { keyId: 'k1', nodeId } });
const revoked: EnrollmentKeyRevoked = { type: 'EnrollmentKeyRevoked', data: { keyId: 'k1' } };
const fold = (events: EnrollmentKeyEvent[]) => events.reduce(evolveEnrollmentKey, initialEnrollmentKeyState);

describe('enrollment key decider', () => {
  describe('CreateEnrollmentKey', () => {
    it('creates a key that never expires when no lifetime is given', () => {
      given([]).when(create()).then([created()]);
    });

    it('computes the expiry from the decided time, and sorts and de-duplicates tags', () => {
      given([]).when(create({ expiresInSeconds: 3600, reusable: true, tags: ['web', 'db', 'web'] }))
        .then([created({ expiresAt: LATER.toISOString(), reusable: true, tags: ['db', 'web'] })]);
    });

    it('refuses to create the same key twice', () => {
      given([created()]).when(create()).thenThrows('ENROLLMENT_KEY_EXISTS');
    });
  });

  describe('UseEnrollmentKey', () => {
    it('lets a one-off key be used once', () => {
      given([created()]).when({ type: 'UseEnrollmentKey', nodeId: 'n1' }).then([used('n1')]);
      given([created(), used('n1')]).when({ type: 'UseEnrollmentKey', nodeId: 'n2' }).thenThrows('ENROLLMENT_KEY_INVALID');
    });

    it('lets a reusable key be used again and again', () => {
      given([created({ reusable: true }), used('n1'), used('n2')]).when({ type: 'UseEnrollmentKey', nodeId: 'n3' }).then([used('n3')]);
    });

    it('refuses an unknown, revoked or expired key with one indistinguishable error', () => {
      given([]).when({ type: 'UseEnrollmentKey', nodeId: 'n1' }).thenThrows('ENROLLMENT_KEY_INVALID');
      given([created({ reusable: true }), revoked]).when({ type: 'UseEnrollmentKey', nodeId: 'n1' }).thenThrows('ENROLLMENT_KEY_INVALID');
      at(LATER)([created({ expiresAt: LATER.toISOString() })]).when({ type: 'UseEnrollmentKey', nodeId: 'n1' }).thenThrows('ENROLLMENT_KEY_INVALID');
      at(new Date(LATER.getTime() - 1))([created({ expiresAt: LATER.toISOString() })]).when({ type: 'UseEnrollmentKey', nodeId: 'n1' }).then([used('n1')]);
    });
  });

  describe('RevokeEnrollmentKey', () => {
    it('revokes a key, used or not', () => {
      given([created()]).when({ type: 'RevokeEnrollmentKey' }).then([revoked]);
      given([created(), used('n1')]).when({ type: 'RevokeEnrollmentKey' }).then([revoked]);
    });

    it('is idempotent', () => {
      given([created(), revoked]).when({ type: 'RevokeEnrollmentKey' }).then([]);
    });

    it('refuses an unknown key', () => {
      given([]).when({ type: 'RevokeEnrollmentKey' }).thenThrows('ENROLLMENT_KEY_NOT_FOUND');
    });
  });

  describe('enrollmentKeyUsable / evolve', () => {
    it('follows the key through its life', () => {
      expect(enrollmentKeyUsable(initialEnrollmentKeyState, NOW)).toBe(false);
      const state = fold([created({ expiresAt: LATER.toISOString() })]);
      expect(state).toEqual({ exists: true, keyId: 'k1', reusable: false, expiresAt: LATER.toISOString(), used: false, revoked: false, tags: ['web'] });
      expect(enrollmentKeyUsable(state, NOW)).toBe(true);
      expect(enrollmentKeyUsable(state, LATER)).toBe(false);
      expect(enrollmentKeyUsable(fold([created(), used('n1')]), NOW)).toBe(false);
      expect(enrollmentKeyUsable(fold([created({ reusable: true }), used('n1')]), NOW)).toBe(true);
      expect(fold([created({ reusable: true }), used('n1'), revoked])).toMatchObject({ used: true, revoked: true });
    });
  });
});
