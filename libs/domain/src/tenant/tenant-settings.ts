import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';
import type { Role } from './tenant';

/** A node key older than this many days expires, unless the tenant says otherwise (Tailscale's default too). */
export const DEFAULT_NODE_KEY_EXPIRY_DAYS = 180;
export const MAX_NODE_KEY_EXPIRY_DAYS = 3650;

/** The tenant's settings after the change (the whole set). On the tenant's stream. `domain` absent: the default. */
export type TenantSettingsUpdated = Event<'TenantSettingsUpdated', { tenantId: string; nodeKeyExpiryDays: number; domain?: string }>;

/** A DNS name of labels (lowercase letters, digits, dashes), at most 253 characters: what mesh names end in. */
export const MESH_DOMAIN_PATTERN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `<tenant-name>.mesh`, the name made a DNS label (`Acme Corp` → `acme-corp.mesh`); a name with no letter or digit gives `tenant-<id>`. */
export function defaultTenantDomain(name: string, tenantId: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return `${label || `tenant-${tenantId.slice(0, 8).toLowerCase()}`}.mesh`;
}

export type UpdateTenantSettings = {
  type: 'UpdateTenantSettings';
  tenantId: string;
  /** Absent: unchanged. */
  nodeKeyExpiryDays?: number;
  /** The mesh domain; absent: unchanged. */
  domain?: string;
  actorRole: Role;
};

export type TenantSettingsState = { exists: boolean; nodeKeyExpiryDays: number; domain?: string };
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
  const domain = command.domain ?? state.domain;
  if (domain !== undefined && !MESH_DOMAIN_PATTERN.test(domain)) {
    throw new DomainError('SETTING_INVALID', 'INVALID', 'domain must be a lowercase DNS name such as acme.mesh');
  }
  if (days === state.nodeKeyExpiryDays && domain === state.domain) return [];
  return [{ type: 'TenantSettingsUpdated', data: { tenantId: command.tenantId, nodeKeyExpiryDays: days, ...(domain !== undefined ? { domain } : {}) } }];
};

/** Folds the tenant stream: TenantCreated makes it exist, TenantSettingsUpdated sets; other tenant events pass. */
export const evolveTenantSettings = (state: TenantSettingsState, event: Event): TenantSettingsState => {
  switch (event.type) {
    case 'TenantCreated':
      return { ...state, exists: true };
    case 'TenantSettingsUpdated':
      return { ...state, nodeKeyExpiryDays: (event as TenantSettingsUpdated).data.nodeKeyExpiryDays, domain: (event as TenantSettingsUpdated).data.domain };
    default:
      return state;
  }
};
