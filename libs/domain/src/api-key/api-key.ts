import { DomainError } from '../shared/domain-error';
import { DecideContext, Event } from '../shared/event';
import { canGrantRole, Role } from '../tenant/tenant';

/** Lifetime of an API key created without `expiresInDays`; and the longest one may ask for. */
export const API_KEY_DEFAULT_EXPIRY_DAYS = 90;
export const API_KEY_MAX_EXPIRY_DAYS = 365;

/**
 * An API key: a tenant-scoped credential for automation, acting with `role` on behalf of its creator (it holds only
 * while the creator is a member whose role could still grant it). Shown once; only the secret's sha256 is stored.
 */
export type ApiKeyCreated = Event<'ApiKeyCreated', {
  keyId: string;
  tenantId: string;
  description: string;
  role: Role;
  secretHash: string;
  createdBy: string;
  expiresAt: string;
}>;
export type ApiKeyRevoked = Event<'ApiKeyRevoked', { keyId: string; tenantId: string }>;
export type ApiKeyEvent = ApiKeyCreated | ApiKeyRevoked;

export type CreateApiKey = {
  type: 'CreateApiKey';
  keyId: string;
  tenantId: string;
  description: string;
  role: Role;
  secretHash: string;
  createdBy: string;
  /** The creator's role now: a key's role must be one the creator may grant (an admin cannot mint an owner key). */
  actorRole: Role;
  expiresInDays?: number;
};
export type RevokeApiKey = { type: 'RevokeApiKey'; actorRole: Role };
export type ApiKeyCommand = CreateApiKey | RevokeApiKey;

export type ApiKeyState = {
  exists: boolean;
  keyId?: string;
  tenantId?: string;
  role?: Role;
  createdBy?: string;
  expiresAt?: string;
  revoked: boolean;
};
export const initialApiKeyState: ApiKeyState = { exists: false, revoked: false };

/** Usable now: created, not revoked, not expired. (Whether its creator still holds a role that grants it is asked apart.) */
export const apiKeyUsable = (state: ApiKeyState, now: Date): boolean =>
  state.exists && !state.revoked && state.expiresAt !== undefined && new Date(state.expiresAt) > now;

export const decideApiKey = (command: ApiKeyCommand, state: ApiKeyState, ctx: DecideContext): ApiKeyEvent[] => {
  switch (command.type) {
    case 'CreateApiKey': {
      if (state.exists) throw new DomainError('API_KEY_EXISTS', 'CONFLICT', 'API key already exists');
      if (!canGrantRole(command.actorRole, command.role)) {
        throw new DomainError('ROLE_NOT_GRANTABLE', 'FORBIDDEN', `a ${command.actorRole} cannot create an API key with the ${command.role} role`);
      }
      const days = command.expiresInDays ?? API_KEY_DEFAULT_EXPIRY_DAYS;
      if (!Number.isInteger(days) || days < 1 || days > API_KEY_MAX_EXPIRY_DAYS) {
        throw new DomainError('API_KEY_EXPIRY_INVALID', 'INVALID', `expiresInDays must be an integer from 1 to ${API_KEY_MAX_EXPIRY_DAYS}`);
      }
      const { keyId, tenantId, description, role, secretHash, createdBy } = command;
      const expiresAt = new Date(ctx.now.getTime() + days * 86_400_000).toISOString();
      return [{ type: 'ApiKeyCreated', data: { keyId, tenantId, description, role, secretHash, createdBy, expiresAt } }];
    }
    case 'RevokeApiKey': {
      if (!state.exists || !state.keyId || !state.tenantId || !state.role) {
        throw new DomainError('API_KEY_NOT_FOUND', 'NOT_FOUND', 'API key not found');
      }
      // Whoever could not have made the key cannot take it away (an admin cannot revoke an owner key).
      if (!canGrantRole(command.actorRole, state.role)) {
        throw new DomainError('ROLE_NOT_REMOVABLE', 'FORBIDDEN', `a ${command.actorRole} cannot revoke an API key with the ${state.role} role`);
      }
      return state.revoked ? [] : [{ type: 'ApiKeyRevoked', data: { keyId: state.keyId, tenantId: state.tenantId } }];
    }
    default: {
      const _exhaustive: never = command;
      throw new Error(`unknown command ${JSON.stringify(_exhaustive)}`);
    }
  }
};

export const evolveApiKey = (state: ApiKeyState, event: ApiKeyEvent): ApiKeyState => {
  switch (event.type) {
    case 'ApiKeyCreated': {
      const d = event.data;
      return { exists: true, keyId: d.keyId, tenantId: d.tenantId, role: d.role, createdBy: d.createdBy, expiresAt: d.expiresAt, revoked: false };
    }
    case 'ApiKeyRevoked':
      return { ...state, revoked: true };
    default:
      return state;
  }
};
