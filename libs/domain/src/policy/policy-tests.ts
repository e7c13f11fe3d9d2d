import { CompiledPolicy, Identity, NO_SCHEDULES_OPEN, OpenSchedules } from './evaluate';
import { Destination } from './policy-file';
import { covers, formatReach, hasPorts, intersects, protoName, formatPorts, Reach } from './ports';
import { NO_USERS, resolveForTest, TenantUsers } from './resolve';

/**
 * The document's `tests`, checked against the tenant's nodes (a PUT whose tests fail is refused). Each assertion is
 * checked for every node its src and destination name — an accept must hold for all of them, a deny for none — and
 * against a stand-in identity when they name no node yet. Prefix destinations outside the overlay (routed subnets)
 * are checked with the prefix itself.
 */
export interface TestFailure {
  /** JSON path of the assertion: `tests[2].deny[0]`. */
  path: string;
  message: string;
}

export function runPolicyTests(
  policy: CompiledPolicy, nodes: readonly Identity[], open: OpenSchedules = NO_SCHEDULES_OPEN, users: TenantUsers = NO_USERS,
): TestFailure[] {
  const failures: TestFailure[] = [];
  policy.policy.tests.forEach((test, i) => {
    const srcs = resolveForTest(policy, test.src, nodes, users);
    const check = (kind: 'accept' | 'deny', dst: Destination, j: number) => {
      for (const src of srcs) {
        const srcCls = policy.classOf(src);
        for (const target of targets(policy, dst, nodes, users)) {
          if (target.node && target.node.id === src.id) continue;
          const reach = target.node ? policy.reach(srcCls, policy.classOf(target.node), open) : policy.reachPrefix(srcCls, target.prefix!, open);
          const ok = kind === 'accept' ? test.protos.every((p) => covers(portsOf(reach, p), hasPorts(p) ? dst.ports : [{ first: 0, last: 65535 }]))
            : test.protos.every((p) => !intersects(portsOf(reach, p), hasPorts(p) ? dst.ports : [{ first: 0, last: 65535 }]));
          if (ok) continue;
          const who = (n: Identity, text: string) => (n.name && n.name !== text ? ` (${n.name})` : '');
          const wanted = test.protos.map((p) => (hasPorts(p) ? `${protoName(p)}:${formatPorts(dst.ports) ?? '*'}` : protoName(p))).join(' ');
          const onto = target.node ? who(target.node, dst.text.replace(/:[^:]*$/, '')) : '';
          failures.push({
            path: `tests[${i}].${kind}[${j}]`,
            message: kind === 'accept'
              ? `${test.srcText}${who(src, test.srcText)} should reach ${dst.text}${onto} on ${wanted}, but may reach ${formatReach(reach)}`
              : `${test.srcText}${who(src, test.srcText)} should not reach ${dst.text}${onto} on ${wanted}, but may reach ${formatReach(reach)}`,
          });
          return; // one failure per assertion is enough to read; the rest are the same mistake
        }
      }
    };
    test.accept.forEach((d, j) => check('accept', d, j));
    test.deny.forEach((d, j) => check('deny', d, j));
  });
  return failures;
}

function targets(policy: CompiledPolicy, dst: Destination, nodes: readonly Identity[], users: TenantUsers): Array<{ node?: Identity; prefix?: string }> {
  const a = dst.alias;
  if (a.kind === 'autogroup' && a.autogroup === 'internet') return [{ prefix: '0.0.0.0/0' }];
  const found = resolveForTest(policy, a, nodes, users);
  // A prefix naming no node is a routed destination, not a node to stand in for.
  if ((a.kind === 'prefix' || a.kind === 'host') && !found.some((n) => nodes.includes(n))) {
    return [{ prefix: a.kind === 'prefix' ? a.prefix : policy.policy.hosts.get(a.host)! }];
  }
  return found.map((node) => ({ node }));
}

function portsOf(reach: Reach, proto: number) {
  return reach.find((r) => r.proto === proto)?.ports ?? [];
}
