import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';
import type { Role } from './tenant';

/** A node key older than this many days expires, unless the tenant says otherwise (Tailscale's default too). */
export const DEFAULT_NODE_KEY_EXPIRY_DAYS = 180;
export const MAX_NODE_KEY_EXPIRY_DAYS = 3650;

/** The tenant's settings after the change (the whole set: today the node key expiry). On the tenant's stream. */
export type TenantSettingsUpdated = Event<'TenantSettingsUpdated', { tenantId: string; nodeKeyExpiryDays: number }>;

export type UpdateTenantSettings = {
  type: 'UpdateTenantSettings';
  tenantId: string;
  /** Absent: unchanged. */
  nodeKeyExpiryDays?: number;
  actorRole: Role;
};

export type TenantSettingsState = { exists: boolean; nodeKeyExpiryDays: number };
export const initialTenantSettingsState: TenantSettingsState = { exists: false, nodeKeyExpiryDays: DEFAULT_NODE_KEY_EXPIRY_DAYS };

const CHANGERS: readonly Role[] = ['owner', 'admin'];

/** Settings live on the tenant stream beside its members; this decider reads only what it needs of it. */
export const decideTenantSettings = (command: UpdateTenantSettings, state: TenantSettingsState): TenantSettingsUpdated[] => {
  if (!state.exists) throw new DomainError('TENANT_NOT_FOUND', 'NOT_FOUND', 'tenant not found');
  if (!CHANGERS.includes(command.actorRole)) {
    throw new DomainError('ROLE_FORBIDDEN', 'FORBIDDEN', `a ${command.actorRole} cannot change the tenant's settings`);
  }
  const days = command.nodeKeyExpiryDays ?? state.nodeKeyExpiryDays;
  if (!Number.isInteger(days) || days < 1 || days > MAX_NODE_KEY_EXPIRY_DAYS) {
    throw new DomainError('SETTING_INVALID', 'INVALID', `nodeKeyExpiryDays must be an integer between 1 and ${MAX_NODE_KEY_EXPIRY_DAYS}`);
  }
  if (days === state.nodeKeyExpiryDays) return [];
  return [{ type: 'TenantSettingsUpdated', data: { tenantId: command.tenantId, nodeKeyExpiryDays: days } }];
};

/** Folds the tenant stream: TenantCreated makes it exist, TenantSettingsUpdated sets; other tenant events pass. */
export const evolveTenantSettings = (state: TenantSettingsState, event: Event): TenantSettingsState => {
  switch (event.type) {
    case 'TenantCreated':
      return { ...state, exists: true };
    case 'TenantSettingsUpdated':
      return { ...state, nodeKeyExpiryDays: (event as TenantSettingsUpdated).data.nodeKeyExpiryDays };
    default:
      return state;
  }
};
