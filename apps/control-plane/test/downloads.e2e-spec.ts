/**
 * GET /install.sh and /downloads/*: served without credentials; the script embeds PUBLIC_URL (never the Host
 * header) and the checksum of the agent beside it; without PUBLIC_URL or a built agent they answer 404 saying why.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/app-config';
import { startServer, TestServer } from './support/server';

const AGENT = '#!/usr/bin/env node\nconsole.log("meshgate-agent test build");\n';
const SHA256 = createHash('sha256').update(AGENT).digest('hex');

describe('downloads', () => {
  const downloads = mkdtempSync(join(tmpdir(), 'mg-downloads-'));
  const empty = mkdtempSync(join(tmpdir(), 'mg-downloads-empty-'));
  let server: TestServer;
  let unconfigured: TestServer;

  beforeAll(async () => {
    writeFileSync(join(downloads, 'meshgate-agent.js'), AGENT);
    writeFileSync(join(downloads, 'meshgate-agent.js.sha256'), `${SHA256}  meshgate-agent.js\n`);
    server = await startServer({ PUBLIC_URL: 'https://mesh.example.com', AGENT_DOWNLOAD_DIR: downloads });
    unconfigured = await startServer({ AGENT_DOWNLOAD_DIR: empty });
  });

  afterAll(async () => {
    await server?.dispose();
    await unconfigured?.dispose();
    rmSync(downloads, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  it('serves the install script with PUBLIC_URL and the agent checksum, whatever Host the request names', async () => {
    const res = await fetch(`${server.baseUrl}/install.sh`, { headers: { Host: 'evil.example.net' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/x-shellscript; charset=utf-8');
    const script = await res.text();
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain("CONTROL_PLANE_URL='https://mesh.example.com'\n");
    expect(script).toContain(`AGENT_SHA256='${SHA256}'\n`);
    expect(script).not.toContain('evil.example.net');
  });

  it('serves the agent and its checksum file without credentials', async () => {
    const agent = await fetch(`${server.baseUrl}/downloads/meshgate-agent.js`);
    expect(agent.status).toBe(200);
    expect(agent.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(await agent.text()).toBe(AGENT);
    const checksum = await fetch(`${server.baseUrl}/downloads/meshgate-agent.js.sha256`);
    expect(checksum.status).toBe(200);
    expect(await checksum.text()).toBe(`${SHA256}  meshgate-agent.js\n`);
  });

  it('answers 404 saying what is missing: PUBLIC_URL, or the built agent', async () => {
    const script = await fetch(`${unconfigured.baseUrl}/install.sh`);
    expect(script.status).toBe(404);
    expect(((await script.json()) as { message: string }).message).toContain('set PUBLIC_URL');
    for (const path of ['/downloads/meshgate-agent.js', '/downloads/meshgate-agent.js.sha256']) {
      const res = await fetch(`${unconfigured.baseUrl}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(((await res.json()) as { message: string }).message).toContain('run npm run build:agent');
    }
  });

  it('refuses a PUBLIC_URL that is not an http(s) origin at boot, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-public-url-'));
    try {
      const env = { DATABASE_PATH: join(dir, 'db.sqlite'), JWT_SECRET: 'x'.repeat(32) };
      for (const bad of ['mesh.example.com', 'ftp://mesh.example.com', 'https://mesh.example.com/base', 'https://u:p@mesh.example.com', "https://mesh.example.com/?'"]) {
        expect(() => loadConfig({ ...env, PUBLIC_URL: bad })).toThrow(ConfigError);
        expect(() => loadConfig({ ...env, PUBLIC_URL: bad })).toThrow(/PUBLIC_URL/);
      }
      expect(loadConfig({ ...env, PUBLIC_URL: 'https://Mesh.Example.com:8443/' }).publicUrl).toBe('https://mesh.example.com:8443');
      expect(loadConfig(env).publicUrl).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
