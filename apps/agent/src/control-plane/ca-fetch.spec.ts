import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTrusting, readCaBundle } from './ca-fetch';
import { connectionFailure } from './control-plane-client';
import { startLocalServer } from './testing/local-servers';

describe('fetchTrusting (the agent with control_plane_ca)', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let ca: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meshgate-ca-fetch-'));
    // A self-signed server certificate: pinned, it is its own CA.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem',
      '-out', 'cert.pem', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
    ca = readCaBundle(join(dir, 'cert.pem'));
    server = createHttpsServer({ cert: ca, key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
      if (req.url === '/silent') return; // never answers
      if (req.url === '/empty') return void res.writeHead(204).end();
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] })
        .end(JSON.stringify({ method: req.method, authorization: req.headers.authorization, body })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the method, headers and body, and answers as fetch does', async () => {
    const response = await fetchTrusting(ca)(`${url}/x`, { method: 'POST', headers: { authorization: 'Bearer t' }, body: '{"a":1}' });
    expect([response.status, response.ok, response.headers.get('set-cookie')]).toEqual([201, true, 'a=1, b=2']);
    expect(await response.json()).toEqual({ method: 'POST', authorization: 'Bearer t', body: '{"a":1}' });
    const empty = await fetchTrusting(ca)(`${url}/empty`);
    expect([empty.status, empty.body]).toEqual([204, null]);
  });

  it('rejects with the signal\'s TimeoutError when the server does not answer in time, which fails over', async () => {
    const error = await fetchTrusting(ca)(`${url}/silent`, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect(connectionFailure(error)).toBe('timeout');
  });

  it('leaves plain http:// to Node\'s fetch', async () => {
    const plain = await startLocalServer((_req, res) => res.writeHead(200).end('plain'));
    try {
      expect(await (await fetchTrusting(ca)(plain.url)).text()).toBe('plain');
    } finally {
      await plain.kill();
    }
  });

  it('refuses a file without a PEM certificate', () => {
    expect(() => readCaBundle(join(dir, 'key.pem'))).toThrow(/holds no PEM certificate/);
  });
});
