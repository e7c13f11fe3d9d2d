import { createHash } from 'node:crypto';

/**
 * Using an IPv4 exit node the way wg-quick does: the exit peer holds 0.0.0.0/0 in its AllowedIPs, the interface
 * marks its own (underlay) packets with a fwmark F, and policy routing sends everything else into the tunnel:
 *
 *   wg set <if> fwmark F
 *   ip -4 route replace 0.0.0.0/0 dev <if> table F
 *   ip -4 rule add not fwmark F table F                                  (unmarked traffic → the tunnel)
 *   ip -4 rule add not fwmark F table main suppress_prefixlength 0        (…unless main has a more specific route)
 *
 * The second rule is wg-quick's `table main suppress_prefixlength 0` with the `not fwmark F` selector added, so it is
 * the interface's own (marked packets reach the main table at its usual rule anyway) and removing it never disturbs
 * another interface. It must be looked up before the first: `ip rule add` without a priority puts a rule before the
 * existing ones, hence the order of the adds. Pure: the adapter reads the live state and runs the commands.
 */
export interface LiveExitRouting {
  /** The interface's fwmark, 0 when off. */
  fwmark: number;
  /** Table F holds a default route through the interface. */
  defaultRoute: boolean;
  /** MeshGate's rules for mark F, as `ip rule` lists them. */
  rules: ExitRule[];
  /** net.ipv4.conf.all.src_valid_mark (reverse-path checks of marked packets need it, as in wg-quick). */
  srcValidMark: boolean;
}
export interface ExitRule { priority: number; kind: 'to-table' | 'suppress' }

export const NO_EXIT_ROUTING: LiveExitRouting = { fwmark: 0, defaultRoute: false, rules: [], srcValidMark: false };

/** The fwmark, and routing table id, for an interface: 51820 as wg-quick, plus an offset per interface name. */
export const exitFwmark = (ifname: string): number => 51820 + (parseInt(createHash('sha256').update(ifname).digest('hex').slice(0, 8), 16) % 1000);

/** The selector of each rule after `ip -4 rule add|del` (and an optional `pref N`). */
function exitRuleSelector(kind: ExitRule['kind'], fwmark: number): string[] {
  return kind === 'to-table'
    ? ['not', 'fwmark', String(fwmark), 'table', String(fwmark)]
    : ['not', 'fwmark', String(fwmark), 'table', 'main', 'suppress_prefixlength', '0'];
}

/** The commands (argv, program first) that bring the live state to `want` (exit routing on or off), in order. */
export function planExitRouting(want: boolean, live: LiveExitRouting, ifname: string): string[][] {
  const f = exitFwmark(ifname);
  const rule = (op: 'add' | 'del', r: Pick<ExitRule, 'kind'> & { priority?: number }) =>
    ['ip', '-4', 'rule', op, ...(r.priority !== undefined ? ['pref', String(r.priority)] : []), ...exitRuleSelector(r.kind, f)];
  const out: string[][] = [];
  if (!want) {
    // Rules first, so no packet is steered into a table that is being emptied.
    for (const r of live.rules) out.push(rule('del', r));
    if (live.defaultRoute) out.push(['ip', '-4', 'route', 'del', '0.0.0.0/0', 'dev', ifname, 'table', String(f)]);
    if (live.fwmark === f) out.push(['wg', 'set', ifname, 'fwmark', '0']);
    return out;
  }
  // The mark first: once the rules are in, only marked packets may still leave by the underlay.
  if (live.fwmark !== f) out.push(['wg', 'set', ifname, 'fwmark', String(f)]);
  // Never switched off again, like ip_forward.
  if (!live.srcValidMark) out.push(['sysctl', '-q', '-w', 'net.ipv4.conf.all.src_valid_mark=1']);
  if (!live.defaultRoute) out.push(['ip', '-4', 'route', 'replace', '0.0.0.0/0', 'dev', ifname, 'table', String(f)]);
  const toTable = live.rules.filter((r) => r.kind === 'to-table');
  const suppress = live.rules.filter((r) => r.kind === 'suppress');
  if (toTable.length === 1 && suppress.length === 1 && suppress[0].priority < toTable[0].priority) return out;
  if (toTable.length === 1 && suppress.length === 0) {
    out.push(rule('add', { kind: 'suppress' })); // lands before every existing rule, so before the other one
    return out;
  }
  // Missing, duplicated or out of order: rewrite both.
  for (const r of live.rules) out.push(rule('del', r));
  out.push(rule('add', { kind: 'to-table' }), rule('add', { kind: 'suppress' }));
  return out;
}

/** `ip -4 -j rule show` → the rules that are MeshGate's for `fwmark`. */
export function parseExitRules(json: string, fwmark: number): ExitRule[] {
  const rules = JSON.parse(json || '[]') as Array<{ priority: number; not?: unknown; fwmark?: string; table?: string; suppress_prefixlen?: number; src?: string }>;
  const out: ExitRule[] = [];
  for (const r of rules) {
    if (!('not' in r) || r.fwmark === undefined || r.fwmark.includes('/') || Number(r.fwmark) !== fwmark || (r.src ?? 'all') !== 'all') continue;
    if (r.table === String(fwmark) && r.suppress_prefixlen === undefined) out.push({ priority: r.priority, kind: 'to-table' });
    else if (r.table === 'main' && r.suppress_prefixlen === 0) out.push({ priority: r.priority, kind: 'suppress' });
  }
  return out;
}
