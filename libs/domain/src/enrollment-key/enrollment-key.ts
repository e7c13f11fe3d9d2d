import { DomainError } from '../shared/domain-error';
import { DecideContext, Event } from '../shared/event';
import { canonicalTags, OWNS_NO_TAG, TagOwnership, unownedTags } from '../policy/tag-owners';

export type EnrollmentKeyCreated = Event<'EnrollmentKeyCreated', {
  keyId: string;
  tenantId: string;
  /** sha256 of the key's secret: the key is shown once. */
  secretHash: string;
  reusable: boolean;
  expiresAt: string | null;
  /** `tag:web` (old events may hold a bare `web`: read them through canonicalTags). */
  tags: string[];
  /**
   * The user who created it: an untagged key's nodes are owned by them. Absent in events from before creators were
   * recorded (unknown: such a key's untagged nodes have no owner).
   */
  createdBy?: string;
  /** Nodes enrolled with it are ephemeral: removed once inactive for the ephemeral TTL. Absent: false. */
  ephemeral?: true;
}>;
export type EnrollmentKeyUsed = Event<'EnrollmentKeyUsed', { keyId: string; nodeId: string }>;
export type EnrollmentKeyRevoked = Event<'EnrollmentKeyRevoked', { keyId: string }>;
export type EnrollmentKeyEvent = EnrollmentKeyCreated | EnrollmentKeyUsed | EnrollmentKeyRevoked;

export type CreateEnrollmentKey = {
  type: 'CreateEnrollmentKey';
  keyId: string;
  tenantId: string;
  secretHash: string;
  reusable: boolean;
  expiresInSeconds?: number;
  tags: string[];
  ephemeral?: boolean;
  /** The creating user; the key's tags must each be one tagOwners lets them own now (a key carries that authority). */
  createdBy?: string;
  /** Absent: owns no tag. */
  tagOwnership?: TagOwnership;
};
export type UseEnrollmentKey = { type: 'UseEnrollmentKey'; nodeId: string };
export type RevokeEnrollmentKey = { type: 'RevokeEnrollmentKey' };
export type EnrollmentKeyCommand = CreateEnrollmentKey | UseEnrollmentKey | RevokeEnrollmentKey;

export type EnrollmentKeyState = {
  exists: boolean;
  keyId?: string;
  reusable: boolean;
  expiresAt: string | null;
  used: boolean;
  revoked: boolean;
  tags: string[];
  ephemeral?: boolean;
  createdBy?: string;
};
export const initialEnrollmentKeyState: EnrollmentKeyState = {
  exists: false, reusable: false, expiresAt: null, used: false, revoked: false, tags: [],
};

/** One message for every unusable key: a caller learns nothing about which keys exist. */
const unusable = () => new DomainError('ENROLLMENT_KEY_INVALID', 'UNAUTHORIZED', 'invalid or expired enrollment key');

export const enrollmentKeyUsable = (state: EnrollmentKeyState, now: Date): boolean =>
  state.exists && !state.revoked && !(state.used && !state.reusable) &&
  (state.expiresAt === null || new Date(state.expiresAt) > now);

export const decideEnrollmentKey = (
  command: EnrollmentKeyCommand, state: EnrollmentKeyState, ctx: DecideContext,
): EnrollmentKeyEvent[] => {
  switch (command.type) {
    case 'CreateEnrollmentKey': {
      if (state.exists) throw new DomainError('ENROLLMENT_KEY_EXISTS', 'CONFLICT', 'enrollment key already exists');
      const tags = canonicalTags(command.tags);
      const unowned = unownedTags(command.tagOwnership ?? OWNS_NO_TAG, tags);
      if (unowned.length) {
        throw new DomainError('TAG_NOT_OWNED', 'FORBIDDEN', `${unowned.join(', ')}: not yours to assign (see tagOwners in the policy)`);
      }
      const expiresAt = command.expiresInSeconds === undefined
        ? null : new Date(ctx.now.getTime() + command.expiresInSeconds * 1000).toISOString();
      return [{
        type: 'EnrollmentKeyCreated',
        data: {
          keyId: command.keyId, tenantId: command.tenantId, secretHash: command.secretHash,
          reusable: command.reusable, expiresAt, tags, ...(command.createdBy !== undefined ? { createdBy: command.createdBy } : {}),
          ...(command.ephemeral ? { ephemeral: true as const } : {}),
        },
      }];
    }
    case 'UseEnrollmentKey':
      if (!enrollmentKeyUsable(state, ctx.now) || !state.keyId) throw unusable();
      return [{ type: 'EnrollmentKeyUsed', data: { keyId: state.keyId, nodeId: command.nodeId } }];
    case 'RevokeEnrollmentKey':
      if (!state.exists || !state.keyId) throw new DomainError('ENROLLMENT_KEY_NOT_FOUND', 'NOT_FOUND', 'enrollment key not found');
      return state.revoked ? [] : [{ type: 'EnrollmentKeyRevoked', data: { keyId: state.keyId } }];
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
};

export const evolveEnrollmentKey = (state: EnrollmentKeyState, event: EnrollmentKeyEvent): EnrollmentKeyState => {
  switch (event.type) {
    case 'EnrollmentKeyCreated':
      return {
        exists: true, keyId: event.data.keyId, reusable: event.data.reusable, expiresAt: event.data.expiresAt,
        used: false, revoked: false, tags: canonicalTags(event.data.tags),
        ...(event.data.createdBy !== undefined ? { createdBy: event.data.createdBy } : {}), ...(event.data.ephemeral ? { ephemeral: true } : {}),
      };
    case 'EnrollmentKeyUsed':
      return { ...state, used: true };
    case 'EnrollmentKeyRevoked':
      return { ...state, revoked: true };
    default:
      return state;
  }
};
