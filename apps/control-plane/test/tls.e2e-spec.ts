import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { ConfigPatch, NodeConfig } from '@meshgate/contracts';
import { loadAgentConfig } from '../../agent/src/agent-config';
import { fetchTrusting, readCaBundle } from '../../agent/src/control-plane/ca-fetch';
import { ConfigStream } from '../../agent/src/control-plane/config-stream';
import { controlPlaneClientFor } from '../../agent/src/control-plane/control-plane-client';
import { createLogger } from '../../agent/src/logger';
import { freePort } from '../src/bench/servers';
import { eventually, PASSWORD, uniqueEmail, wgKey } from './support/server';
import { makeCa, makeServerCert, runControlPlane, ServerProcess } from './support/tls-process';

jest.setTimeout(60_000);

/** The fingerprint of the certificate a new TLS connection to the port is served. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

const fingerprint = (file: string) => new X509Certificate(readCaBundle(file)).fingerprint256;

/** The code of a TLS verification failure somewhere in a fetch error's cause chain. */
function tlsCode(error: unknown): string | undefined {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}
const UNTRUSTED = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)$/;

describe('the control plane serving HTTPS itself (TLS_CERT_FILE / TLS_KEY_FILE)', () => {
  let dir: string;
  let server: ServerProcess;
  let baseUrl: string;
  let port: number;
  let caFile: string;
  let ownerToken: string;
  const certFile = () => join(dir, 'tls', 'server.pem');
  const keyFile = () => join(dir, 'tls', 'server.key');
  const streams: ConfigStream[] = [];

  /** The admin's calls, trusting the test CA. */
  async function api<T = any>(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetchTrusting(readCaBundle(caFile))(baseUrl + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** An agent config file's settings, as `meshgate-agent` reads them. */
  const agentConfig = (settings: Record<string, unknown>) =>
    loadAgentConfig(JSON.stringify({ control_plane_url: baseUrl, node_name: 'tls-agent', state_dir: join(dir, 'agent'), ...settings }), {}, 'host');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-tls-'));
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    caFile = join(dir, 'ca.pem');
    makeServerCert(dir, 'ca', 'first');
    makeServerCert(dir, 'ca', 'second');
    makeServerCert(dir, 'other-ca', 'foreign');
    mkdirSync(join(dir, 'tls'));
    copyFileSync(join(dir, 'first.pem'), certFile());
    copyFileSync(join(dir, 'first.key'), keyFile());
    port = await freePort();
    baseUrl = `https://127.0.0.1:${port}`;
    server = runControlPlane({
      HOST: '127.0.0.1', PORT: String(port), DATABASE_PATH: join(dir, 'data', 'meshgate.sqlite'), LOG_LEVEL: 'log',
      TLS_CERT_FILE: certFile(), TLS_KEY_FILE: keyFile(),
    });
    await eventually(async () => {
      if (server.process.exitCode !== null) throw new Error(`the server exited:\n${server.output()}`);
      return (await api('GET', '/health/ready').catch(() => ({ status: 0 }))).status === 200;
    }, 30_000, 'the HTTPS server to be ready');
    const email = uniqueEmail('tls');
    expect((await api('POST', '/api/v1/auth/register', undefined, { email, password: PASSWORD })).status).toBe(201);
    const userToken = (await api('POST', '/api/v1/auth/login', undefined, { email, password: PASSWORD })).body.accessToken;
    const tenant = await api('POST', '/api/v1/auth/tenants', userToken, { name: 'tls' });
    ownerToken = (await api('POST', '/api/v1/auth/login', undefined, { email, password: PASSWORD, tenantId: tenant.body.id })).body.accessToken;
    expect((await api('PUT', '/api/v1/policies', ownerToken, { acls: [{ action: 'accept', src: ['*'], dst: ['*'] }] })).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all(streams.map((s) => s.stop()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the certificate, and an agent with control_plane_ca uses REST and the config stream over it', async () => {
    expect(await servedFingerprint(port)).toBe(fingerprint(join(dir, 'first.pem')));
    const client = controlPlaneClientFor(agentConfig({ control_plane_ca: caFile }));
    const node = await client.register(ownerToken, { name: 'tls-a', publicKey: wgKey() });
    const config = await client.getConfig(node.id, node.nodeToken);
    expect(config.interface.address.split('/')[0]).toBe(node.address);
    await client.heartbeat(node.id, node.nodeToken, {});

    const configs: NodeConfig[] = [];
    const patches: ConfigPatch[] = [];
    const lines: string[] = [];
    const stream = new ConfigStream({
      client, nodeId: node.id, nodeToken: node.nodeToken, currentVersion: () => configs.at(-1)?.version ?? null,
      handlers: { onConfig: (c) => void configs.push(c), onPatch: (p) => void patches.push(p) },
      logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
    });
    streams.push(stream);
    stream.start();
    await eventually(() => configs.length === 1, 10_000, 'the full config on the stream');
    const peer = await client.register(ownerToken, { name: 'tls-b', publicKey: wgKey() });
    await eventually(() => patches.some((p) => p.peersUpserted.some((x) => x.publicKey === peer.publicKey)), 10_000, 'the patch adding tls-b');

    // SIGHUP with a new certificate: new connections get it, the open stream stays up and keeps receiving patches.
    copyFileSync(join(dir, 'second.pem'), certFile());
    copyFileSync(join(dir, 'second.key'), keyFile());
    server.process.kill('SIGHUP');
    const second = fingerprint(join(dir, 'second.pem'));
    await eventually(async () => (await servedFingerprint(port)) === second, 10_000, 'the new certificate on new connections');
    const third = await client.register(ownerToken, { name: 'tls-c', publicKey: wgKey() });
    await eventually(() => patches.some((p) => p.peersUpserted.some((x) => x.publicKey === third.publicKey)), 10_000, 'the patch adding tls-c');
    expect(configs).toHaveLength(1);
    expect(lines.filter((l) => l.includes('config stream connected'))).toHaveLength(1);
    expect(server.output()).toContain('TLS certificate reloaded');

    // A pair that does not belong together is refused on reload: the current certificate stays, the server too.
    copyFileSync(join(dir, 'first.key'), keyFile());
    server.process.kill('SIGHUP');
    await eventually(() => server.output().includes('TLS certificate not reloaded'), 10_000, 'the refused reload in the log');
    expect(server.output()).toMatch(/TLS_KEY_FILE is not the key of the certificate in TLS_CERT_FILE/);
    expect(await servedFingerprint(port)).toBe(second);
    expect((await api('GET', '/health/ready')).status).toBe(200);
  });

  it("refuses the server without control_plane_ca (Node's default CA store does not know the CA)", async () => {
    const client = controlPlaneClientFor(agentConfig({}));
    const error = await client.register(ownerToken, { name: 'tls-untrusted', publicKey: wgKey() }).catch((e: unknown) => e);
    expect(tlsCode(error)).toMatch(UNTRUSTED);
  });

  it('refuses the server with another CA as control_plane_ca, also on the config stream', async () => {
    const client = controlPlaneClientFor(agentConfig({ control_plane_ca: join(dir, 'other-ca.pem') }));
    const error = await client.register(ownerToken, { name: 'tls-wrong-ca', publicKey: wgKey() }).catch((e: unknown) => e);
    expect(tlsCode(error)).toMatch(UNTRUSTED);
    const trusted = controlPlaneClientFor(agentConfig({ control_plane_ca: caFile }));
    const node = await trusted.register(ownerToken, { name: 'tls-d', publicKey: wgKey() });
    const streamError = await client.openConfigStream(node.id, node.nodeToken, null, new AbortController().signal).catch((e: unknown) => e);
    expect(tlsCode(streamError)).toMatch(UNTRUSTED);
  });

  it('refuses a control_plane_ca that is not a PEM certificate, naming the key', () => {
    expect(() => agentConfig({ control_plane_ca: keyFile() })).toThrow(/control_plane_ca: .*holds no PEM certificate/);
    expect(() => agentConfig({ control_plane_ca: join(dir, 'missing.pem') })).toThrow(/control_plane_ca: .*cannot be read \(ENOENT\)/);
    expect(() => agentConfig({ control_plane_ca: 'ca.pem' })).toThrow(/control_plane_ca: must be an absolute path/);
  });

  it.each([
    ['only a certificate', () => ({ TLS_CERT_FILE: join(dir, 'first.pem') }), /TLS_KEY_FILE is required when TLS_CERT_FILE is set/],
    ['only a key', () => ({ TLS_KEY_FILE: join(dir, 'first.key') }), /TLS_CERT_FILE is required when TLS_KEY_FILE is set/],
    ['a missing certificate file', () => ({ TLS_CERT_FILE: join(dir, 'none.pem'), TLS_KEY_FILE: join(dir, 'first.key') }), /TLS_CERT_FILE cannot be read: ENOENT/],
    ['a key as the certificate', () => ({ TLS_CERT_FILE: join(dir, 'first.key'), TLS_KEY_FILE: join(dir, 'first.key') }), /TLS_CERT_FILE must hold a PEM certificate/],
    ['a certificate as the key', () => ({ TLS_CERT_FILE: join(dir, 'first.pem'), TLS_KEY_FILE: join(dir, 'first.pem') }), /TLS_KEY_FILE must hold an unencrypted PEM private key/],
    ['the key of another certificate', () => ({ TLS_CERT_FILE: join(dir, 'first.pem'), TLS_KEY_FILE: join(dir, 'foreign.key') }), /TLS_KEY_FILE is not the key of the certificate in TLS_CERT_FILE/],
  ])('stops at boot with exit code 2 on %s, naming the variable', async (_case, env, message) => {
    const bad = runControlPlane({ HOST: '127.0.0.1', PORT: '0', DATABASE_PATH: join(dir, 'bad', 'meshgate.sqlite'), ...env() });
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(message);
  });
});
