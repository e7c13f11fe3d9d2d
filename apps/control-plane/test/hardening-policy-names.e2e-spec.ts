import Database from 'better-sqlite3';
import type { RegisteredNode } from '@meshgate/contracts';
import { client, createNode, eventCount, putPolicy, setupTenant, startServer, TenantSession, TestServer, wgKey } from './support/server';

jest.setTimeout(60_000);

/**
 * Issue 10, defect 2: names that are also properties of every JavaScript object. Each of them, in each role a
 * policy gives a name, must be that name or a 400 naming its JSON path — never a 500 — on PUT and on preview,
 * and a refused PUT appends nothing.
 */
const BUILTINS = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'];
const ALL = '{"action": "accept", "src": ["*"], "dst": ["*"]}';

interface Case {
  name: string;
  /** The document as text: `__proto__` must reach the server as a key, which no object literal makes reliably. */
  text: string;
  /** 200 where the name is a valid name in that role, else 400. */
  status: 200 | 400;
  /** For a 400: the JSON path the refusal names. */
  path?: string;
}

function casesFor(name: string, address: string): Case[] {
  const q = JSON.stringify(name);
  const isNodeName = name === 'constructor'; // the only one of the five that fits node names (lowercase)
  const usable = name !== '__proto__'; // "_" cannot start a host, group, tag or schedule name
  return [
    {
      name: `${name} as a node`,
      text: `{"acls": [{"action": "accept", "src": [${q}], "proto": "tcp", "dst": ["${name}:22"]}]}`,
      status: isNodeName ? 200 : 400, path: 'acls[0].src[0]',
    },
    {
      name: `${name} as a host`,
      text: `{"hosts": {${q}: "${address}"}, "acls": [{"action": "accept", "src": ["*"], "proto": "tcp", "dst": ["${name}:22"]}],
        "tests": [{"src": ${q}, "accept": ["${name}:22"]}]}`,
      status: usable ? 200 : 400, path: 'hosts.__proto__',
    },
    {
      name: `group:${name}`,
      text: `{"groups": {"group:${name}": ["alice@"]}, "acls": [{"action": "accept", "src": ["group:${name}"], "dst": ["*:22"]}]}`,
      status: usable ? 200 : 400, path: `groups["group:${name}"]`,
    },
    { name: `${name} as a bare group name`, text: `{"groups": {${q}: ["alice@"]}, "acls": []}`, status: 400, path: `groups.${name}` },
    {
      name: `tag:${name} owned by group:${name}`,
      text: `{"groups": {"group:${name}": []}, "tagOwners": {"tag:${name}": ["group:${name}"]}, "acls": [{"action": "accept", "src": ["tag:${name}"], "dst": ["*"]}]}`,
      status: usable ? 200 : 400, path: `groups["group:${name}"]`,
    },
    { name: `${name} as an undefined tag owner`, text: `{"tagOwners": {"tag:a": ["group:${name}"]}, "acls": []}`, status: 400, path: 'tagOwners["tag:a"][0]' },
    { name: `${name} as a tag owner key`, text: `{"tagOwners": {${q}: ["alice@"]}, "acls": []}`, status: 400, path: `tagOwners.${name}` },
    {
      name: `${name} as a test source`,
      text: `{"acls": [${ALL}], "tests": [{"src": ${q}, "accept": ["${name}:22"], "deny": []}]}`,
      status: isNodeName ? 200 : 400, path: 'tests[0].src',
    },
    { name: `${name} as a schedule`, text: `{"acls": [{"action": "accept", "src": ["*"], "dst": ["*"], "schedule": ${q}}]}`, status: 400, path: 'acls[0].schedule' },
    { name: `${name} as a protocol`, text: `{"acls": [{"action": "accept", "src": ["*"], "dst": ["*"], "proto": ${q}}]}`, status: 400, path: 'acls[0].proto' },
    { name: `${name} as a top-level key`, text: `{${q}: {"acls": [${ALL}]}, "acls": []}`, status: 400, path: name },
  ];
}

/** Events of one tenant, read straight from the SQLite file: another tenant's concurrent writes do not blur it. */
function tenantEventCount(databasePath: string, tenantId: string): number {
  const db = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM events WHERE tenant_id = ?').get(tenantId) as { n: number }).n;
  } finally {
    db.close();
  }
}

const HUJSON = { 'content-type': 'application/hujson' };

describe('policy names that are JavaScript built-ins (issue 10, defect 2)', () => {
  let server: TestServer;
  let api: ReturnType<typeof client>;
  let tenant: TenantSession;
  let other: TenantSession;
  let named: RegisteredNode;

  beforeAll(async () => {
    // Some hundred policy writes from one principal in a minute: this spec is about names, not the write budget.
    server = await startServer({ WRITE_RATE_LIMIT: '100000' });
    api = client(server);
    tenant = await setupTenant(server.baseUrl, 'builtins');
    other = await setupTenant(server.baseUrl, 'bystander');
    named = await createNode(server.baseUrl, tenant.token, { name: 'constructor' });
    await createNode(server.baseUrl, tenant.token, { name: 'peer-1' });
  });

  afterAll(async () => {
    await server?.dispose();
  });

  it('registers a node named constructor, and refuses the other four as node names with a 400 (nothing appended)', async () => {
    expect(named.name).toBe('constructor');
    for (const name of BUILTINS.filter((n) => n !== 'constructor')) {
      const before = eventCount(server.databasePath);
      const reply = await api('POST', '/api/v1/nodes', { token: tenant.token, body: { name, publicKey: wgKey() } });
      expect({ name, status: reply.status }).toEqual({ name, status: 400 });
      expect(eventCount(server.databasePath)).toBe(before);
    }
  });

  it('a host named toString resolves to its address: the preview shows the node behind it gained', async () => {
    const text = `{"hosts": {"toString": "${named.address}"}, "acls": [{"action": "accept", "src": ["peer-1"], "proto": "tcp", "dst": ["toString:22"]}],
      "tests": [{"src": "peer-1", "accept": ["toString:22"], "deny": ["constructor:80"]}]}`;
    const preview = await api('POST', '/api/v1/policies/preview', { token: tenant.token, raw: text, headers: HUJSON });
    expect(preview.status).toBe(200);
    expect(preview.body.gained).toEqual([{ src: 'peer-1', dst: 'constructor', reach: 'tcp:22' }]);
    const put = await api('PUT', '/api/v1/policies', { token: tenant.token, raw: text, headers: HUJSON });
    expect(put.status).toBe(200);
    const read = await api('GET', '/api/v1/policies', { token: tenant.token });
    expect(read.body.policy.hosts).toEqual({ toString: named.address });
  });

  describe.each(BUILTINS)('%s', (name) => {
    const cases = () => casesFor(name, named.address);

    it.each(['application/json', 'application/hujson'])('in every role, as %s: PUT and preview answer 200 or a 400 naming the path; a refused PUT appends nothing', async (contentType) => {
      for (const c of cases()) {
        const headers = { 'content-type': contentType };
        const preview = await api('POST', '/api/v1/policies/preview', { token: tenant.token, raw: c.text, headers });
        const before = eventCount(server.databasePath);
        const put = await api('PUT', '/api/v1/policies', { token: tenant.token, raw: c.text, headers });
        const appended = eventCount(server.databasePath) - before;
        // A JSON body with a "__proto__" key is refused by the JSON parser itself, before the policy is read.
        const byParser = contentType === 'application/json' && /"__proto__"\s*:/.test(c.text);
        expect({ case: c.name, preview: preview.status, put: put.status, appended }).toEqual({ case: c.name, preview: c.status, put: c.status, appended: c.status === 200 ? 1 : 0 });
        if (c.status === 400 && !byParser) {
          const messages = ([] as string[]).concat(put.body.message);
          expect({ case: c.name, messages }).toEqual({ case: c.name, messages: expect.arrayContaining([expect.stringMatching(new RegExp(`^${escape(c.path!)}: `))]) });
          expect(preview.body.message).toEqual(put.body.message);
        }
      }
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('acls');
    });
  });

  it('while every refused case is sent at once, concurrent valid requests from another tenant all succeed', async () => {
    const refused = BUILTINS.flatMap((name) => casesFor(name, named.address)).filter((c) => c.status === 400);
    const before = tenantEventCount(server.databasePath, tenant.tenantId);
    const bystanderBefore = tenantEventCount(server.databasePath, other.tenantId);
    const attack = refused.flatMap((c) => [
      api('PUT', '/api/v1/policies', { token: tenant.token, raw: c.text, headers: HUJSON }),
      api('POST', '/api/v1/policies/preview', { token: tenant.token, raw: c.text, headers: HUJSON }),
    ]);
    const valid = [
      ...Array.from({ length: 10 }, (_, i) => api('POST', '/api/v1/nodes', { token: other.token, body: { name: `bystander-${i}`, publicKey: wgKey() } })),
      ...Array.from({ length: 5 }, () => api('POST', '/api/v1/policies/preview', { token: other.token, raw: `{"hosts": {"valueOf": "10.1.0.1"}, "acls": [${ALL}]}`, headers: HUJSON })),
      (async () => {
        // One writer for the bystander's policy stream, so no PUT of its own races another.
        const statuses: number[] = [];
        for (const host of ['toString', 'hasOwnProperty', 'constructor']) {
          statuses.push((await putPolicy(server.baseUrl, other.token, { hosts: { [host]: '10.1.0.1' }, acls: [{ action: 'accept', src: ['*'], dst: [`${host}:*`] }] })).status);
        }
        return { status: statuses.every((s) => s === 200) ? 200 : statuses.find((s) => s !== 200)! };
      })(),
    ];
    const [attacked, served] = await Promise.all([Promise.all(attack), Promise.all(valid)]);
    expect(attacked.map((r) => r.status)).toEqual(attacked.map(() => 400));
    expect(served.map((r) => r.status)).toEqual([...Array(10).fill(201), ...Array(5).fill(200), 200]);
    expect(tenantEventCount(server.databasePath, tenant.tenantId)).toBe(before);
    expect(tenantEventCount(server.databasePath, other.tenantId)).toBeGreaterThanOrEqual(bystanderBefore + 13);
  });
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
