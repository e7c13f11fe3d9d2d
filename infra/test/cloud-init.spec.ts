import { execFileSync } from 'node:child_process';
import {
  agentCloudInit,
  AgentCloudInitOptions,
  controlPlaneCloudInit,
  installScript,
  renderCloudConfig,
} from '../src/shared/cloud-init';
import { ingressRules } from '../src/shared/firewall-rules';
import { parseCloudConfig } from './helpers';

const agent: AgentCloudInitOptions = {
  cloud: 'aws',
  nodeName: 'meshgate-aws-0',
  controlPlaneUrl: 'https://cp.example.com',
  tenantId: 'acme',
  enrollmentKey: 'placeholder',
  tags: ['web'],
};
const REPO_URL = 'https://git.example.com/meshgate.git';

/** `bash -n` parses a script without running it. */
function bashSyntaxError(script: string): string | null {
  try {
    execFileSync('bash', ['-n'], { input: script, stdio: 'pipe' });
    return null;
  } catch (err) {
    return String((err as { stderr: Buffer }).stderr);
  }
}

describe('cloud-init', () => {
  const documents = {
    'aws agent': parseCloudConfig(agentCloudInit(agent)),
    'gcp agent': parseCloudConfig(agentCloudInit({ ...agent, cloud: 'gcp' })),
    'control plane': parseCloudConfig(
      controlPlaneCloudInit({ repoUrl: REPO_URL, version: 'main', jwtSecret: 'placeholder', publicUrl: null, dataDevices: ['/dev/xvdf'] }),
    ),
    'control-plane replica (PostgreSQL)': parseCloudConfig(
      controlPlaneCloudInit({ repoUrl: REPO_URL, version: 'main', jwtSecret: 'placeholder', publicUrl: 'http://lb.example.com:8080', databaseUrl: 'postgres://u:p@db:5432/m' }),
    ),
  };

  it.each(Object.entries(documents))('%s: every script it writes is valid bash', (_, document) => {
    expect(bashSyntaxError('if then fi')).not.toBeNull();
    const scripts = document.write_files.filter((f) => f.content.startsWith('#!/bin/bash'));
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const script of scripts) {
      expect(script.permissions).toBe('0755');
      expect({ path: script.path, error: bashSyntaxError(script.content) }).toEqual({ path: script.path, error: null });
    }
  });

  const controlPlanes = Object.entries(documents).filter(([name]) => name.startsWith('control'));
  const agents = Object.entries(documents).filter(([name]) => name.endsWith('agent'));

  it.each(controlPlanes)('%s: adds swap, so the 1 GiB instances survive npm ci and tsc', (_, document) => {
    expect(document.swap).toEqual({ filename: '/swapfile', size: 2 * 1024 ** 3 });
  });

  it.each(agents)('%s: builds nothing (no swap), it downloads the bundled agent', (_, document) => {
    expect(document).not.toHaveProperty('swap');
  });

  it.each(Object.entries(documents))('%s: keeps secrets in root-only files', (_, document) => {
    const secretFiles = document.write_files.filter((f) => f.path.endsWith('.env') || f.path === '/etc/meshgate/enrollment-key');
    expect(secretFiles).toHaveLength(1);
    expect(secretFiles[0]).toMatchObject({ permissions: '0600', encoding: 'b64' });
  });

  it('control planes get PUBLIC_URL for their install.sh: given, or from the instance metadata', () => {
    const start = (name: string) => documents[name as keyof typeof documents].write_files.find((f) => f.path === '/usr/local/sbin/meshgate-control-plane-start')!.content;
    expect(start('control-plane replica (PostgreSQL)')).toContain("export PUBLIC_URL='http://lb.example.com:8080'");
    expect(start('control plane')).toContain('http://169.254.169.254/latest/meta-data/public-ipv4');
    expect(start('control plane')).toContain('export PUBLIC_URL="http://$ip:8080"');
  });

  it('refuses literal text Terraform would read as a template', () => {
    const spec = (content: string) => ({ packages: [], files: [{ path: '/x', permissions: '0644', content }], runcmd: [] });
    expect(() => renderCloudConfig(spec('echo ${HOME}'))).toThrow(/template syntax/);
    expect(() => renderCloudConfig(spec('%{ if x }'))).toThrow(/template syntax/);
    expect(() => renderCloudConfig(spec('echo $HOME'))).not.toThrow();
  });

  it('fetches the ref itself, so branches, tags and commits all build', () => {
    const script = installScript({ repoUrl: 'https://git.example.com/m.git', version: '3f2a9c1d' });
    expect(script).toContain("git fetch -q --depth 1 origin '3f2a9c1d'");
    expect(script).toContain('git checkout -q --detach FETCH_HEAD');
  });
});

describe('firewall rule set', () => {
  it('opens only WireGuard by default', () => {
    expect(ingressRules({ sshAllowedCidrs: [], apiAllowedCidrs: [] }, 'agent')).toEqual([
      expect.objectContaining({ protocol: 'udp', port: 51820, sources: ['0.0.0.0/0'] }),
    ]);
    expect(ingressRules({ sshAllowedCidrs: [], apiAllowedCidrs: [] }, 'control-plane')).toEqual([]);
  });

  it('gives SSH to both roles and the API to the control plane only', () => {
    const config = { sshAllowedCidrs: ['203.0.113.0/24'], apiAllowedCidrs: ['192.0.2.0/24'] };
    expect(ingressRules(config, 'agent').map((r) => r.name)).toEqual(['wireguard', 'ssh']);
    expect(ingressRules(config, 'control-plane').map((r) => [r.name, r.port, r.sources])).toEqual([
      ['api', 8080, ['192.0.2.0/24']],
      ['ssh', 22, ['203.0.113.0/24']],
    ]);
  });
});
