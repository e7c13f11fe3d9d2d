import { compile, TEAM_NODES, TEAM_POLICY } from './fixtures.spec-helper';
import { runPolicyTests } from './policy-tests';

describe('runPolicyTests', () => {
  it('given the team document, when its tests run, then the one assertion the deny breaks is reported, readably', () => {
    expect(runPolicyTests(compile(TEAM_POLICY), TEAM_NODES)).toEqual([
      { path: 'tests[1].accept[0]', message: 'group:eng (alice-laptop) should reach tag:prod:443 (web2) on tcp:443, but may reach nothing' },
    ]);
  });

  it('given no nodes yet, then tests run against stand-ins for what they name', () => {
    const policy = compile(`{
      "acls": [{"action": "accept", "src": ["tag:ci"], "proto": "tcp", "dst": ["tag:build:22"]}],
      "tests": [
        {"src": "tag:ci", "accept": ["tag:build:22"], "deny": ["tag:build:80"]},
        {"src": "tag:build", "accept": ["tag:ci:22"]},
      ],
    }`);
    expect(runPolicyTests(policy, [])).toEqual([
      { path: 'tests[1].accept[0]', message: 'tag:build should reach tag:ci:22 on tcp:22, but may reach nothing' },
    ]);
  });

  it('checks deny assertions and other protocols', () => {
    const policy = compile(`{
      "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
      "tests": [{"src": "n1", "proto": "icmp", "deny": ["n2"]}, {"src": "n1", "deny": ["10.9.0.0/16:443"]}],
    }`);
    expect(runPolicyTests(policy, [])).toEqual([
      { path: 'tests[0].deny[0]', message: 'n1 should not reach n2 on icmp, but may reach icmp tcp:* udp:* ipv6-icmp' },
      { path: 'tests[1].deny[0]', message: 'n1 should not reach 10.9.0.0/16:443 on tcp:443, but may reach icmp tcp:* udp:* ipv6-icmp' },
    ]);
  });
});
