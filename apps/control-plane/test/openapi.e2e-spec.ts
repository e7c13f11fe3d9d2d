/**
 * The served OpenAPI document, tested as its users use it: fetched from a real server, linted by Redocly's CLI
 * (`recommended` rules) as a process, and turned by openapi-typescript into types for a small fetch client that is
 * compiled with tsc (strict) and run with node against the same server, making the README's flow: register, log in,
 * create a tenant and an enrollment key, enroll two nodes, heartbeat, put a policy, read a config and the topology.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { client, startServer, TestServer, uniqueEmail, wgKey } from './support/server';

jest.setTimeout(180_000);

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../..');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

/** A process's exit code and output, whether it succeeded or not. */
async function runProcess(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 150_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The client: a typed fetch over the generated `paths`, and the README's flow written with it. */
const CLIENT = String.raw`
import type { paths } from './schema';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonBody<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;
type Answer<O, S extends number> = O extends { responses: { [K in S]: { content: { 'application/json': infer R } } } } ? R : never;
type PathParams<O> = O extends { parameters: { path: infer X } } ? X : never;

const baseUrl = process.argv[2];

async function call<P extends keyof paths, M extends Method, S extends number>(
  path: P, method: M, status: S,
  options: { token?: string; body?: JsonBody<Op<P, M>>; path?: PathParams<Op<P, M>>; query?: Record<string, string> } = {},
): Promise<Answer<Op<P, M>, S>> {
  let url = String(path);
  for (const [name, value] of Object.entries((options.path ?? {}) as Record<string, string>)) url = url.replace('{' + name + '}', encodeURIComponent(value));
  const query = options.query ? '?' + new URLSearchParams(options.query).toString() : '';
  const response = await fetch(baseUrl + url + query, {
    method: method.toUpperCase(),
    headers: { ...(options.token ? { authorization: 'Bearer ' + options.token } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await response.text();
  if (response.status !== status) throw new Error(method + ' ' + url + ': ' + response.status + ' ' + text);
  return (text ? JSON.parse(text) : undefined) as Answer<Op<P, M>, S>;
}

async function main(): Promise<void> {
  const [email, password, keyA, keyB] = process.argv.slice(3);
  const user = await call('/api/v1/auth/register', 'post', 201, { body: { email, password } });
  const userLogin = await call('/api/v1/auth/login', 'post', 200, { body: { email, password } });
  const tenant = await call('/api/v1/auth/tenants', 'post', 201, { token: userLogin.accessToken, body: { name: 'acme' } });
  const login = await call('/api/v1/auth/login', 'post', 200, { body: { email, password, tenantId: tenant.id } });
  const token: string = login.accessToken;
  const role: 'owner' | 'admin' | 'member' | 'auditor' = login.tenants[0].role;
  const enrollment = await call('/api/v1/enrollment-keys', 'post', 201, { token, body: { reusable: true, expiresInSeconds: 3600 } });
  const nodes = [];
  for (const [name, publicKey] of [['web-1', keyA], ['web-2', keyB]]) {
    nodes.push(await call('/api/v1/nodes', 'post', 201, { token: enrollment.key, body: { name, publicKey, endpoint: '198.51.100.7:51820' } }));
  }
  const [a, b] = nodes;
  const accepted: true = (await call('/api/v1/nodes/{id}/heartbeat', 'post', 202, {
    token: a.nodeToken, path: { id: a.id }, body: { endpoint: '203.0.113.9:51820', rxBytes: 10, txBytes: 20 },
  })).accepted;
  const policy = await call('/api/v1/policies', 'put', 200, {
    token, body: { acls: [{ action: 'accept', src: ['autogroup:member'], dst: ['autogroup:member:443'], proto: 'tcp' }] },
  });
  const config = await call('/api/v1/nodes/{id}/config', 'get', 200, { token: b.nodeToken, path: { id: b.id } });
  const peerKeys: string[] = config.peers.map((p) => p.publicKey);
  const endpoints: Array<string | null> = config.peers.map((p) => p.endpoint);
  const topology = await call('/api/v1/topology', 'get', 200, { token, query: { limit: '10' } });
  const edgesUp: boolean[] = topology.edges.map((e) => e.up);
  console.log(JSON.stringify({
    userId: user.id, role, enrollmentTags: enrollment.tags, accepted, policyVersion: policy.version, configVersion: config.version,
    peerKeys, endpoints, firewallPorts: config.firewall.map((r) => r.ports ?? null), topologyNodes: topology.nodes.map((n) => n.name), edgesUp,
  }));
}

main().catch((error: unknown) => { console.error(error); process.exit(1); });
`;

describe('OpenAPI document', () => {
  let server: TestServer;
  let dir: string;
  let document: any;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-openapi-'));
    server = await startServer();
    const reply = await client(server)('GET', '/docs-json');
    expect(reply.status).toBe(200);
    document = reply.body;
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document, null, 2));
  });

  afterAll(async () => {
    await server?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes redocly lint with the recommended rules: no errors, and no warnings but those that cannot apply', async () => {
    const { code, output } = await runProcess(bin('redocly'), ['lint', '--extends=recommended', '--format=json', join(dir, 'openapi.json')], {
      REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
    });
    const report = JSON.parse(output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1)) as {
      problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    // Operations that have no 4xx (health checks and downloads answer 200 or 503) or no 2xx (the single sign-on
    // redirect is a 302): the rules' advice does not apply to them.
    const inapplicable = [
      /^warn operation-4xx-response #\/paths\/~1(health|install\.sh|downloads)/,
      /^warn operation-2xx-response #\/paths\/~1api~1v1~1auth~1oidc~1login\/get\//,
    ];
    expect(problems.filter((p) => !inapplicable.some((allowed) => allowed.test(p)))).toEqual([]);
    expect(code).toBe(0);
  });

  it('describes every request field, every answer, the error shape, the event stream, HuJSON and each credential', () => {
    const schemas = document.components.schemas;
    // Request DTOs: types, formats, limits, enums, examples, closed to unknown fields.
    expect(schemas.RegisterNodeDto).toMatchObject({
      type: 'object', required: ['name', 'publicKey'], additionalProperties: false,
      properties: {
        name: { type: 'string', pattern: expect.any(String), example: 'web-1' },
        listenPort: { type: 'integer', minimum: 1, maximum: 65535 },
        tags: { type: 'array', maxItems: 32, items: { type: 'string', pattern: expect.any(String) } },
        advertiseRoutes: { type: 'array', items: { type: 'string', format: 'cidr' } },
      },
    });
    expect(schemas.HeartbeatDto.properties.peers).toEqual({ type: 'array', maxItems: 20000, items: { $ref: '#/components/schemas/PeerStatsDto' } });
    expect(schemas.AddMemberDto.properties.role).toMatchObject({ type: 'string', enum: ['owner', 'admin', 'member', 'auditor'] });
    expect(schemas.PeerStatsDto.properties.lastHandshakeAt).toMatchObject({ type: 'string', format: 'date-time' });
    // Every property of every schema has a type, a reference, or a composition; only `unknown` in the contracts (a
    // policy document as written) is left free.
    const untyped = Object.entries<any>(schemas).flatMap(([name, s]) => Object.entries<any>(s.properties ?? {})
      .filter(([, p]) => !p.type && !p.$ref && !p.allOf && !p.oneOf && !p.anyOf)
      .map(([prop]) => `${name}.${prop}`));
    expect(untyped).toEqual(['PolicyView.policy']);
    // Answers from the contracts' interfaces, with their doc comments.
    expect(schemas.NodeView.properties.status).toEqual({ type: 'string', enum: ['pending', 'online', 'offline'] });
    expect(schemas.NodeView.properties.endpoint).toEqual({ type: 'string', nullable: true });
    expect(schemas.TopologyEdgeEnd.properties.live).toMatchObject({ allOf: [{ $ref: '#/components/schemas/TopologyLiveState' }], nullable: true });
    expect(schemas.ApiError.properties.message).toMatchObject({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] });

    const op = (path: string, method: string) => document.paths[path][method];
    const register = op('/api/v1/nodes', 'post');
    expect(register.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RegisterNodeDto' });
    expect(register.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RegisteredNode' });
    expect(Object.keys(register.responses).sort()).toEqual(['201', '400', '401', '403', '409', '429', '503']);
    expect(register.security).toEqual([{ tenantToken: [] }, { apiKey: [] }, { enrollmentKey: [] }]);
    expect(op('/api/v1/nodes/{id}/heartbeat', 'post').security).toEqual([{ nodeToken: [] }]);
    expect(op('/api/v1/auth/tenants', 'get').security).toEqual([{ userToken: [] }, { tenantToken: [] }]);
    expect(document.components.responses.BadRequest.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ApiError' });
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKey', 'enrollmentKey', 'nodeToken', 'tenantToken', 'userToken']);
    // The audit query, as parameters.
    expect(op('/api/v1/audit', 'get').parameters.map((p: any) => `${p.in}:${p.name}`).sort())
      .toEqual(['query:actor', 'query:cursor', 'query:limit', 'query:since', 'query:type', 'query:until']);
    // The config stream and the HuJSON policy.
    expect(op('/api/v1/nodes/{id}/config/stream', 'get').responses['200'].content['text/event-stream'].schema)
      .toEqual({ oneOf: [{ $ref: '#/components/schemas/ConfigEvent' }, { $ref: '#/components/schemas/PatchEvent' }] });
    expect(schemas.PatchEvent.properties.data.allOf).toEqual([{ $ref: '#/components/schemas/ConfigPatch' }]);
    expect(Object.keys(op('/api/v1/policies', 'put').requestBody.content)).toEqual(['application/json', 'application/hujson', 'text/plain']);
    expect(Object.keys(op('/api/v1/policies', 'get').responses['200'].content)).toEqual(['application/json', 'application/hujson']);
    expect(op('/api/v1/policies', 'put').responses['412'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ApiError' });
  });

  it('gives openapi-typescript types for a client that compiles (strict) and makes the README\'s flow', async () => {
    const generated = await runProcess(bin('openapi-typescript'), [join(dir, 'openapi.json'), '-o', join(dir, 'schema.d.ts')]);
    expect(generated).toEqual({ code: 0, output: expect.any(String) });
    writeFileSync(join(dir, 'client.ts'), CLIENT);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, target: 'es2022', module: 'commonjs', lib: ['es2022', 'dom'], outDir: 'out', noEmitOnError: true,
        typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'], skipLibCheck: true,
      },
      files: ['client.ts', 'schema.d.ts'],
    }));
    const compiled = await runProcess(bin('tsc'), ['-p', join(dir, 'tsconfig.json')]);
    expect(compiled).toEqual({ code: 0, output: '' });

    const [keyA, keyB] = [wgKey(), wgKey()];
    const flow = await runProcess(process.execPath, [join(dir, 'out', 'client.js'), server.baseUrl, uniqueEmail('openapi'), 'correct horse battery staple', keyA, keyB]);
    expect(flow.code).toBe(0);
    const result = JSON.parse(flow.output);
    expect(result).toEqual({
      userId: expect.any(String), role: 'owner', enrollmentTags: [], accepted: true, policyVersion: 1, configVersion: expect.any(Number),
      peerKeys: [keyA], endpoints: ['203.0.113.9:51820'], firewallPorts: ['443'], topologyNodes: ['web-1', 'web-2'], edgesUp: [false],
    });
  });
});
