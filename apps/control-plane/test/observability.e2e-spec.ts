/**
 * Logs and metrics of the built server as a process (`node dist/apps/control-plane/main.js`, run `npm run build`
 * first): its stdout is the log an operator collects, /metrics on its own listener what Prometheus scrapes, checked by
 * `promtool check metrics`; and the Grafana dashboard in deploy/grafana names only metrics that exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentMetrics } from '../../agent/src/metrics/agent-metrics';
import { freePort } from '../src/bench/servers';
import { VERSION } from '../src/config/version';
import { promtoolCheck } from './support/promtool';
import { startReplica, type Replica } from './support/replicas';
import {
  ALLOW_ALL, createNode, eventually, PASSWORD, putPolicy, request, setupTenant, wgKey, type TenantSession,
} from './support/server';
import { SseClient, sseUrl } from './support/sse';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..', '..');
/** Login attempts per minute per address (and route) for this server: setupTenant takes 2, the spec's failure 1. */
const AUTH_RATE_LIMIT = 5;
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

type LogLine = { level: string; time: string; msg: string; [field: string]: unknown };

describe('observability: the server process logs and metrics', () => {
  let server: Replica;
  let metricsUrl: string;
  const stdout: string[] = [];
  let owner: TenantSession;
  let nodeToken: string;
  let nodeId: string;
  let stream: SseClient | null = null;

  /** Every complete stdout line so far, each parsed (a line that is not JSON fails the spec). */
  const lines = (): LogLine[] => stdout.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine);
  const scrape = async () => (await fetch(`${metricsUrl}/metrics`)).text();

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    server = await startReplica({
      name: 'observability',
      databaseUrl: null,
      env: { LOG_LEVEL: 'info', METRICS_PORT: String(metricsPort), AUTH_RATE_LIMIT: String(AUTH_RATE_LIMIT), HEARTBEAT_INTERVAL_SECONDS: '30' },
    });
    // What it wrote while starting (a healthy server writes nothing on stderr), then every chunk from now on.
    stdout.push(server.output());
    server.process.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk.toString('utf8')));

    owner = await setupTenant(server.baseUrl, 'observed');
    expect((await putPolicy(server.baseUrl, owner.token, ALLOW_ALL)).status).toBe(200);
    const node = await createNode(server.baseUrl, owner.token, { name: 'observed-1' });
    nodeId = node.id;
    nodeToken = node.nodeToken;
    stream = await SseClient.connect(sseUrl(server.baseUrl, nodeId), nodeToken);
    await stream.waitFor((f) => f.event === 'config');
    for (let i = 0; i < 2; i++) {
      expect((await request(server.baseUrl, 'POST', `/api/v1/nodes/${nodeId}/heartbeat`, { token: nodeToken, body: {} })).status).toBe(202);
    }
    // A node joining patches the first node's config, on its open stream.
    await createNode(server.baseUrl, owner.token, { name: 'observed-2' });
    await stream.waitFor((f) => f.event === 'patch');
  });

  afterAll(async () => {
    await stream?.close();
    await server?.stop();
  });

  it('writes one schema: JSON lines with a level name, an ISO time and msg, from the first line on', async () => {
    await eventually(() => lines().some((l) => l.msg === 'request'), 5_000, 'a request log line');
    const all = lines();
    expect(all.length).toBeGreaterThan(5);
    for (const line of all) {
      expect(LEVELS.has(line.level)).toBe(true);
      expect(new Date(line.time).toISOString()).toBe(line.time);
      expect(typeof line.msg).toBe('string');
      expect(line.service).toBe('control-plane');
    }
    expect(all.some((l) => /^MeshGate control plane listening on http:\/\/127\.0\.0\.1:\d+/.test(l.msg))).toBe(true);
  });

  it('logs requests with method, route pattern, status, duration, tenant and principal kind, and never a credential', async () => {
    const secretQuery = `code=${wgKey()}`;
    await request(server.baseUrl, 'GET', `/api/v1/nodes?${secretQuery}`, { token: owner.token });
    const created = await eventually(() => lines().find((l) => l.msg === 'request' && l.method === 'POST' && l.route === '/api/v1/nodes'),
      5_000, 'the node creation in the request log');
    expect(created).toMatchObject({ level: 'info', status: 201, tenant: owner.tenantId, principal: 'user' });
    expect(typeof created.durationMs).toBe('number');
    const stream = lines().find((l) => l.msg === 'request' && l.route === '/api/v1/nodes/:id/config/stream');
    // The stream is still open: it is logged when it ends, not before.
    expect(stream).toBeUndefined();
    await eventually(() => lines().some((l) => l.msg === 'request' && l.method === 'GET' && l.route === '/api/v1/nodes' && l.status === 200),
      5_000, 'the node list in the request log');

    // Heartbeats succeed by the thousand: they are logged at debug only, so not at this server's info level.
    expect(lines().filter((l) => l.route === '/api/v1/nodes/:id/heartbeat')).toEqual([]);

    const output = stdout.join('');
    for (const secret of [owner.token, owner.userToken, nodeToken, PASSWORD, secretQuery]) expect(output).not.toContain(secret);
    expect(output).not.toMatch(/bearer|authorization/i);
  });

  it('logs a failed login, a refused token, a denied access, a rate-limited client and a refused policy change as warn security events', async () => {
    const wrong = await request(server.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: owner.email, password: 'not the password at all' } });
    expect(wrong.status).toBe(401);
    const forged = `${owner.token.slice(0, -1)}${owner.token.endsWith('A') ? 'B' : 'A'}`;
    expect((await request(server.baseUrl, 'GET', '/api/v1/nodes', { token: forged })).status).toBe(401);
    expect((await request(server.baseUrl, 'GET', '/api/v1/nodes', { token: nodeToken })).status).toBe(403);
    expect((await putPolicy(server.baseUrl, owner.token, { acls: [{ action: 'accept', src: ['tag:nowhere'], dst: ['*:*'] }] })).status).toBe(400);
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_RATE_LIMIT; i++) {
      statuses.push((await request(server.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: owner.email, password: PASSWORD } })).status);
    }
    expect(statuses).toContain(429);

    const event = (name: string) => lines().filter((l) => l.event === name);
    await eventually(() => event('rate_limit.exceeded').length > 0, 5_000, 'the rate-limit event');
    expect(event('auth.login_failed')).toEqual([expect.objectContaining({
      level: 'warn', account: owner.email.toLowerCase(), route: '/api/v1/auth/login', method: 'POST', client: '127.0.0.1',
    })]);
    expect(event('auth.token_refused')).toEqual([expect.objectContaining({ level: 'warn', credential: 'user-jwt', route: '/api/v1/nodes' })]);
    expect(event('auth.access_denied')).toEqual([expect.objectContaining({
      level: 'warn', credential: 'node-token', principal: 'node', tenant: owner.tenantId, reason: 'a node token cannot be used here',
    })]);
    expect(event('policy.refused')).toEqual([expect.objectContaining({ level: 'warn', code: 'POLICY_INVALID', principal: 'user', tenant: owner.tenantId })]);
    expect(event('rate_limit.exceeded')[0]).toMatchObject({ level: 'warn', route: '/api/v1/auth/login', client: '127.0.0.1' });
    expect(event('rate_limit.exceeded')[0].retryAfterSeconds).toBeGreaterThan(0);
    const output = stdout.join('');
    expect(output).not.toContain(forged);
    expect(output).not.toContain('not the password at all');
  });

  it('serves /metrics that promtool passes, with the build, per-tenant nodes, security events, SSE traffic and heartbeat lag', async () => {
    const text = await scrape();
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no ${series} in /metrics`);
      return Number(line.slice(series.length + 1));
    };
    expect(value(`meshgate_build_info{version="${VERSION}",nodejs="${process.versions.node}"}`)).toBe(1);
    expect(value(`meshgate_tenant_nodes{tenant="${owner.tenantId}",status="online"}`)).toBe(1);
    expect(value(`meshgate_tenant_nodes{tenant="${owner.tenantId}",status="pending"}`)).toBe(1);
    expect(value('meshgate_security_events_total{event="auth.login_failed"}')).toBe(1);
    expect(value('meshgate_security_events_total{event="auth.token_refused"}')).toBe(1);
    expect(value('meshgate_security_events_total{event="rate_limit.exceeded"}')).toBeGreaterThanOrEqual(1);
    expect(value('meshgate_sse_messages_sent_total{event="config"}')).toBe(1);
    expect(value('meshgate_sse_messages_sent_total{event="patch"}')).toBeGreaterThanOrEqual(1);
    // A full config of a one-peer node is some hundreds of bytes; a patch fewer.
    expect(value('meshgate_sse_sent_bytes_total{event="config"}')).toBeGreaterThan(100);
    expect(value('meshgate_sse_sent_bytes_total{event="patch"}')).toBeGreaterThan(50);
    expect(value('meshgate_config_propagation_seconds_count')).toBeGreaterThanOrEqual(1);
    // Two heartbeats: the second is observed, seconds after the first (far below the 30 s interval).
    expect(value('meshgate_heartbeat_lag_seconds_count')).toBe(1);
    expect(value('meshgate_heartbeat_lag_seconds_sum')).toBeLessThan(30);
    expect(value('meshgate_heartbeat_lag_seconds_bucket{le="15"}')).toBe(1);
  });

  it('has a Grafana dashboard whose queries name only metrics the control plane or the agent expose', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'meshgate.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const expressions = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(expressions.length).toBeGreaterThan(10);
    const exposed = new Map([...families(await scrape()), ...families(await new AgentMetrics('test').text())]);
    const referenced = new Set(expressions.flatMap(metricNames));
    for (const name of ['meshgate_nodes', 'meshgate_heartbeats_total', 'meshgate_config_propagation_seconds_bucket', 'meshgate_security_events_total']) {
      expect(referenced).toContain(name);
    }
    const missing = [...referenced].filter((name) => !exists(name, exposed));
    expect(missing).toEqual([]);
  });
});

/** Metric families of an exposition, by name, with their type (from the `# TYPE` lines). */
function families(exposition: string): Map<string, string> {
  return new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** A histogram's or summary's series carry its name with a suffix. */
function exists(name: string, exposed: Map<string, string>): boolean {
  if (exposed.has(name)) return true;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  const type = suffix ? exposed.get(name.slice(0, -suffix[0].length)) : undefined;
  return type === 'histogram' || (type === 'summary' && suffix![1] !== 'bucket');
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers, range selectors and
 * label lists are taken out, less functions (a name before `(`) and the language's words.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  return [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)]
    .filter((m) => !/^\s*\(/.test(bare.slice(m.index! + m[0].length)) && !PROMQL_WORDS.has(m[0].toLowerCase()))
    .map((m) => m[0]);
}
