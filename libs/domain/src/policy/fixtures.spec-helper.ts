import { CompiledPolicy, Identity } from './evaluate';
import { parsePolicyText } from './policy-file';

/** Parses and compiles, failing loudly: specs are about evaluation, not about a typo in a fixture. */
export function compile(text: string): CompiledPolicy {
  const result = parsePolicyText(text);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return new CompiledPolicy(result.policy);
}

export const node = (name: string, address: string, over: Partial<Identity> = {}): Identity => ({
  id: name, name, tags: [], addresses: [address], ...over,
});

/** A Tailscale-style document, as a team would bring it, plus MeshGate's deny and node names. */
export const TEAM_POLICY = `{
  "groups": {
    "group:eng": ["alice@", "bob@"],
    "group:ops": ["carol@"],
  },
  "tagOwners": { "tag:prod": ["group:ops"], "tag:dev": ["group:eng"], "tag:db": ["group:ops"] },
  "hosts": { "db": "100.64.0.9", "lan": "10.1.0.0/24" },
  "acls": [
    { "action": "accept", "src": ["group:eng"], "dst": ["tag:dev:*", "tag:prod:80,443"] },
    { "action": "accept", "src": ["group:ops"], "dst": ["tag:prod:22", "db:5432"] },
    { "action": "accept", "src": ["tag:prod"], "proto": "tcp", "dst": ["tag:db:5432"] },
    // MeshGate extension: web2 is being decommissioned, engineers keep off it
    { "action": "deny", "src": ["group:eng"], "dst": ["web2"] },
    { "action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"] },
  ],
  "tests": [
    { "src": "alice@", "accept": ["tag:dev:22", "web1:443"], "deny": ["tag:prod:22", "tag:db:5432"] },
    { "src": "group:eng", "accept": ["tag:prod:443"] },
    { "src": "tag:prod", "accept": ["tag:db:5432"], "deny": ["db1:22"] },
    { "src": "carol@", "proto": "udp", "accept": ["db:5432"] },
  ],
}`;

export const TEAM_NODES: Identity[] = [
  node('alice-laptop', '100.64.0.1', { user: 'alice' }),
  node('alice-phone', '100.64.0.10', { user: 'alice' }),
  node('bob-laptop', '100.64.0.2', { user: 'bob' }),
  node('carol-laptop', '100.64.0.3', { user: 'carol' }),
  node('web1', '100.64.0.4', { tags: ['tag:prod'], user: 'carol' }),
  node('web2', '100.64.0.5', { tags: ['tag:prod'] }),
  node('dev1', '100.64.0.6', { tags: ['tag:dev'] }),
  node('db1', '100.64.0.9', { tags: ['tag:db'] }),
];
