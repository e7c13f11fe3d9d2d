import { deciderSpec } from '../testing/given';
import { Event } from '../shared/event';
import {
  DEFAULT_NODE_KEY_EXPIRY_DAYS, decideTenantSettings, defaultTenantDomain, evolveTenantSettings, initialTenantSettingsState, TenantSettingsState,
  TenantSettingsUpdated, UpdateTenantSettings,
} from './tenant-settings';

const given = deciderSpec<UpdateTenantSettings, Event, TenantSettingsState>(
  (command, state) => decideTenantSettings(command, state), evolveTenantSettings, initialTenantSettingsState);

const created: Event = { type: 'TenantCreated', data: { tenantId: 't1', name: 'acme', createdBy: 'u1' } };
const updated = (nodeKeyExpiryDays: number): TenantSettingsUpdated => ({ type: 'TenantSettingsUpdated', data: { tenantId: 't1', nodeKeyExpiryDays } });
const update = (nodeKeyExpiryDays: number | undefined, actorRole: UpdateTenantSettings['actorRole'] = 'admin'): UpdateTenantSettings =>
  ({ type: 'UpdateTenantSettings', tenantId: 't1', nodeKeyExpiryDays, actorRole });

describe('tenant settings', () => {
  it('defaults to a 180-day node key expiry', () => {
    expect(DEFAULT_NODE_KEY_EXPIRY_DAYS).toBe(180);
    expect([created].reduce(evolveTenantSettings, initialTenantSettingsState)).toEqual({ exists: true, nodeKeyExpiryDays: 180 });
  });

  it('an owner or admin sets the node key expiry', () => {
    given([created]).when(update(30)).then([updated(30)]);
    given([created, updated(30)]).when(update(90, 'owner')).then([updated(90)]);
  });

  it('says nothing when nothing changes', () => {
    given([created]).when(update(180)).then([]);
    given([created, updated(30)]).when(update(30)).then([]);
    given([created, updated(30)]).when(update(undefined)).then([]);
  });

  it('refuses days out of range, members and auditors, and unknown tenants', () => {
    given([created]).when(update(0)).thenThrows('SETTING_INVALID');
    given([created]).when(update(3651)).thenThrows('SETTING_INVALID');
    given([created]).when(update(1.5)).thenThrows('SETTING_INVALID');
    given([created]).when(update(30, 'member')).thenThrows('ROLE_FORBIDDEN');
    given([created]).when(update(30, 'auditor')).thenThrows('ROLE_FORBIDDEN');
    given([]).when(update(30)).thenThrows('TENANT_NOT_FOUND');
  });
});

describe('tenant mesh domain', () => {
  it('defaults to the tenant name as a DNS label under .mesh', () => {
    expect(defaultTenantDomain('Acme Corp', 'a1b2c3d4-0000')).toBe('acme-corp.mesh');
    expect(defaultTenantDomain('  ***  ', 'A1B2C3D4-0000')).toBe('tenant-a1b2c3d4.mesh');
    expect(defaultTenantDomain('x'.repeat(80), 'id')).toBe(`${'x'.repeat(63)}.mesh`);
  });

  it('is set by an owner or admin to a lowercase DNS name; anything else is refused and changes nothing', () => {
    const state = evolveTenantSettings(initialTenantSettingsState, { type: 'TenantCreated', data: { tenantId: 't', name: 'acme', createdBy: 'u' } });
    const set = decideTenantSettings({ type: 'UpdateTenantSettings', tenantId: 't', domain: 'corp.example', actorRole: 'admin' }, state);
    expect(set).toEqual([{ type: 'TenantSettingsUpdated', data: { tenantId: 't', nodeKeyExpiryDays: DEFAULT_NODE_KEY_EXPIRY_DAYS, domain: 'corp.example' } }]);
    const after = evolveTenantSettings(state, set[0]);
    expect(decideTenantSettings({ type: 'UpdateTenantSettings', tenantId: 't', domain: 'corp.example', actorRole: 'admin' }, after)).toEqual([]);
    for (const domain of ['Corp.Example', 'a..b', '-x.mesh', 'x_y.mesh', '']) {
      expect(() => decideTenantSettings({ type: 'UpdateTenantSettings', tenantId: 't', domain, actorRole: 'admin' }, state)).toThrow(/domain/);
    }
  });
});
