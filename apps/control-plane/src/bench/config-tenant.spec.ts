import { policyEngine } from '@meshgate/domain';
import { generateConfigTenant, ROUTES } from './config-tenant';

describe('generateConfigTenant (bench part d)', () => {
  const tenant = generateConfigTenant({ nodes: 10_000, acls: 1000 });

  it('generates a policy document the engine accepts, with the ACLs asked for', () => {
    const parsed = policyEngine.parsePolicyFile(tenant.document);
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (!parsed.ok) return;
    expect(parsed.policy.acls).toHaveLength(1000);
    expect(parsed.policy.acls.some((a) => a.action === 'deny')).toBe(true);
    expect(parsed.policy.acls.some((a) => a.schedule === tenant.schedule)).toBe(true);
    expect(parsed.policy.qos.length).toBeGreaterThan(0);
    expect(parsed.policy.routes.map((r) => r.prefix).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it('gives every node one or two tags, unique ids, keys and addresses', () => {
    expect(tenant.nodes).toHaveLength(10_000);
    expect(tenant.tags).toHaveLength(500);
    expect(tenant.nodes.every((n) => n.tags.length === 1 || n.tags.length === 2)).toBe(true);
    for (const field of ['id', 'name', 'publicKey', 'address'] as const) {
      expect(new Set(tenant.nodes.map((n) => n[field])).size).toBe(10_000);
    }
  });

  it('names nodes that exist (routers, some sources) and jump hosts that have not joined yet', () => {
    const names = new Set(tenant.nodes.map((n) => n.name));
    expect(tenant.namedNodes.length).toBeGreaterThan(Object.keys(ROUTES).length);
    expect(tenant.namedNodes.every((n) => names.has(n))).toBe(true);
    expect(tenant.unclaimedNames.length).toBeGreaterThan(0);
    expect(tenant.unclaimedNames.some((n) => names.has(n))).toBe(false);
  });

  it('points at a plain accept on port 443 to edit', () => {
    const acl = (tenant.document.acls as Array<{ action: string; dst: string[]; schedule?: string }>)[tenant.editableAcl];
    expect(acl.action).toBe('accept');
    expect(acl.schedule).toBeUndefined();
    expect(acl.dst).toEqual([expect.stringMatching(/^tag:svc-\d+:443$/)]);
  });

  it('is deterministic: the same seed gives the same tenant', () => {
    const again = generateConfigTenant({ nodes: 10_000, acls: 1000 });
    expect(JSON.stringify(again)).toBe(JSON.stringify(tenant));
    expect(JSON.stringify(generateConfigTenant({ nodes: 10_000, acls: 1000, seed: 2 }))).not.toBe(JSON.stringify(tenant));
  });
});
