import { deciderSpec } from '../testing/given';
import {
  CreateEnrollmentKey, decideEnrollmentKey, EnrollmentKeyCreated, EnrollmentKeyEvent, EnrollmentKeyRevoked, EnrollmentKeyUsed,
  enrollmentKeyUsable, evolveEnrollmentKey, initialEnrollmentKeyState,
} from './enrollment-key';
import { parsePolicyFile } from '../policy/policy-file';
import { tagOwnership } from '../policy/tag-owners';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const LATER = new Date('2026-01-01T01:00:00.000Z');
const at = (now: Date) => deciderSpec(decideEnrollmentKey, evolveEnrollmentKey, initialEnrollmentKeyState, now);
const given = at(NOW);

const parsed = parsePolicyFile({
  groups: { 'group:ci': ['alice@example.com'] },
  tagOwners: { 'tag:web': ['group:ci'], 'tag:db': ['group:ci'], 'tag:prod': ['autogroup:owner'] },
  acls: [],
}, { strict: true });
if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
const alice = tagOwnership(parsed.policy, { email: 'alice@example.com', role: 'admin' });

const create = (overrides: Partial<CreateEnrollmentKey> = {}): CreateEnrollmentKey => ({
  type: 'CreateEnrollmentKey', keyId: 'k1', tenantId: 't1', secretHash: 'sh', reusable: false, tags: ['tag:web'],
  createdBy: 'u-alice', tagOwnership: alice, ...overrides,
});
const created = (overrides: Partial<EnrollmentKeyCreated['data']> = {}): EnrollmentKeyCreated => ({
  type: 'EnrollmentKeyCreated',
  data: { keyId: 'k1', tenantId: 't1', secretHash: 'sh', reusable: false, expiresAt: null, tags: ['tag:web'], createdBy: 'u-alice', ...overrides },
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
      given([]).when(create({ expiresInSeconds: 3600, reusable: true, tags: ['web', 'tag:db', 'tag:web'] }))
        .then([created({ expiresAt: LATER.toISOString(), reusable: true, tags: ['tag:db', 'tag:web'] })]);
    });

    it('records its creator, and grants only tags the creator may put now (tagOwners)', () => {
      given([]).when(create({ tags: [] })).then([created({ tags: [] })]);
      given([]).when(create({ tags: ['tag:prod'] })).thenThrows('TAG_NOT_OWNED');
      given([]).when(create({ tags: ['tag:web', 'tag:undeclared'] })).thenThrows('TAG_NOT_OWNED');
      given([]).when(create({ tagOwnership: undefined })).thenThrows('TAG_NOT_OWNED');
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
      expect(state).toEqual({
        exists: true, keyId: 'k1', reusable: false, expiresAt: LATER.toISOString(), used: false, revoked: false, tags: ['tag:web'], createdBy: 'u-alice',
      });
      // Old events: bare tags, no creator.
      expect(fold([created({ tags: ['web'], createdBy: undefined })])).toMatchObject({ tags: ['tag:web'] });
      expect(fold([created({ tags: ['web'], createdBy: undefined })]).createdBy).toBeUndefined();
      expect(enrollmentKeyUsable(state, NOW)).toBe(true);
      expect(enrollmentKeyUsable(state, LATER)).toBe(false);
      expect(enrollmentKeyUsable(fold([created(), used('n1')]), NOW)).toBe(false);
      expect(enrollmentKeyUsable(fold([created({ reusable: true }), used('n1')]), NOW)).toBe(true);
      expect(fold([created({ reusable: true }), used('n1'), revoked])).toMatchObject({ used: true, revoked: true });
    });
  });
});
