import { DomainError } from '../shared/domain-error';
import { DecideContext, Event } from '../shared/event';

export type EnrollmentKeyCreated = Event<'EnrollmentKeyCreated', {
  keyId: string;
  tenantId: string;
  /** sha256 of the key's secret: the key is shown once. */
  secretHash: string;
  reusable: boolean;
  expiresAt: string | null;
  tags: string[];
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
      const expiresAt = command.expiresInSeconds === undefined
        ? null : new Date(ctx.now.getTime() + command.expiresInSeconds * 1000).toISOString();
      return [{
        type: 'EnrollmentKeyCreated',
        data: {
          keyId: command.keyId, tenantId: command.tenantId, secretHash: command.secretHash,
          reusable: command.reusable, expiresAt, tags: [...new Set(command.tags)].sort(),
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
        used: false, revoked: false, tags: event.data.tags,
      };
    case 'EnrollmentKeyUsed':
      return { ...state, used: true };
    case 'EnrollmentKeyRevoked':
      return { ...state, revoked: true };
    default:
      return state;
  }
};
