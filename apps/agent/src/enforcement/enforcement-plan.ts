import { canonicalPrefix, type NodeConfig } from '../contracts';
import { exitRoute } from '../reconciler/plan';
import { planExitRouting, type LiveExitRouting } from './exit-routing';
import { buildRuleset, chainDigest, renderedRules, tableName, type NftTable, type RulesetBuild } from './nft-ruleset';
import { planTc, type LiveQdisc } from './tc-plan';

/** What MeshGate's table looks like right now: set elements (canonical CIDRs) and, per chain, its size and digest. */
export interface LiveNftTable {
  sets: Map<string, string[]>;
  chains: Map<string, { rules: number; digest: string | null }>;
}

export interface LiveEnforcement {
  /** null when the table does not exist. */
  nft: LiveNftTable | null;
  qdisc: LiveQdisc;
  ipv4Forwarding: boolean;
  exitRouting: LiveExitRouting;
}

export interface EnforcementPlan {
  /** One `nft -f` transaction, or null when the table already matches. */
  nft: string | null;
  /** argv lists for `tc`, in order. */
  tc: string[][];
  enableForwarding: boolean;
  /** Policy routing for an exit route (exit-routing.ts): argv lists, program first, in order. */
  exitRouting: string[][];
  /** Rules that could not be expressed (skipped, reported). */
  errors: string[];
}

export const isEmptyPlan = (plan: EnforcementPlan): boolean => plan.nft === null && plan.tc.length === 0 && !plan.enableForwarding && plan.exitRouting.length === 0;

/**
 * The nft script that turns the live table into the desired one. Set members change by element; a chain is
 * rewritten (flush + add, in the same transaction, so there is no moment without rules) only when its rules changed.
 */
export function planNft(desired: NftTable | null, live: LiveNftTable | null, table: string): string | null {
  const t = `inet ${table}`;
  if (desired === null) return live === null ? null : `delete table ${t}\n`;
  const lines: string[] = [];
  if (live === null) lines.push(`add table ${t}`);
  const liveSets = live?.sets ?? new Map<string, string[]>();
  const liveChains = live?.chains ?? new Map<string, { rules: number; digest: string | null }>();

  for (const set of desired.sets) {
    const current = liveSets.get(set.name);
    if (current === undefined) lines.push(`add set ${t} ${set.name} { type ipv4_addr; flags interval; }`);
    const have = new Set(current ?? []);
    const want = new Set(set.elements);
    const removed = [...have].filter((e) => !want.has(e));
    const added = set.elements.filter((e) => !have.has(e));
    if (removed.length) lines.push(`delete element ${t} ${set.name} { ${removed.join(', ')} }`);
    if (added.length) lines.push(`add element ${t} ${set.name} { ${added.join(', ')} }`);
  }

  // Regular chains first: a base chain may jump to them.
  const ordered = [...desired.chains].sort((a, b) => Number(a.hook !== undefined) - Number(b.hook !== undefined));
  for (const chain of ordered) {
    const current = liveChains.get(chain.name);
    const digest = chain.rules.length ? chainDigest(chain) : null;
    if (current !== undefined && current.rules === chain.rules.length && current.digest === digest) continue;
    if (current === undefined) lines.push(chain.hook ? `add chain ${t} ${chain.name} { ${chain.hook} }` : `add chain ${t} ${chain.name}`);
    else lines.push(`flush chain ${t} ${chain.name}`);
    for (const rule of renderedRules(chain)) lines.push(`add rule ${t} ${chain.name} ${rule}`);
  }

  // What is no longer wanted goes last, once no rule refers to it any more.
  const wantedChains = new Set(desired.chains.map((c) => c.name));
  const obsolete = [...liveChains.keys()].filter((c) => !wantedChains.has(c)).sort();
  for (const chain of obsolete) lines.push(`flush chain ${t} ${chain}`);
  for (const chain of obsolete) lines.push(`delete chain ${t} ${chain}`);
  const wantedSets = new Set(desired.sets.map((s) => s.name));
  for (const set of [...liveSets.keys()].filter((s) => !wantedSets.has(s)).sort()) lines.push(`delete set ${t} ${set}`);

  return lines.length ? lines.join('\n') + '\n' : null;
}

/**
 * Everything the config asks of the node beyond WireGuard itself, as a diff against what is live. Pure. `ruleset` is
 * `buildRuleset(config, ifname)`, passed in by a caller that keeps it for as long as the config stays the same.
 */
export function planEnforcement(config: NodeConfig, live: LiveEnforcement, ifname: string, ruleset: RulesetBuild = buildRuleset(config, ifname)): EnforcementPlan {
  const { table, errors } = ruleset;
  const served = config.servedRoutes ?? [];
  return {
    nft: planNft(table, live.nft, tableName(ifname)),
    tc: planTc(config.qos ?? [], live.qdisc, ifname),
    // Never switched off again: other software on the host may rely on forwarding too.
    enableForwarding: served.length > 0 && !live.ipv4Forwarding,
    exitRouting: planExitRouting(exitRoute(config) !== null, live.exitRouting, ifname),
    errors,
  };
}

/** Set elements as `nft -j` prints them → canonical CIDRs. */
function liveElement(elem: unknown): string {
  if (typeof elem === 'string') return canonicalPrefix(elem) ?? elem;
  if (elem && typeof elem === 'object') {
    const e = elem as { prefix?: { addr: string; len: number }; range?: [string, string]; elem?: { val: unknown } };
    if (e.prefix) return canonicalPrefix(`${e.prefix.addr}/${e.prefix.len}`) ?? `${e.prefix.addr}/${e.prefix.len}`;
    if (e.range) return `${e.range[0]}-${e.range[1]}`;
    if (e.elem) return liveElement(e.elem.val);
  }
  return JSON.stringify(elem);
}

interface NftJsonItem {
  set?: { name: string; elem?: unknown[] };
  chain?: { name: string };
  rule?: { chain: string; comment?: string };
}

/** `nft -j list table …` output → the live table. */
export function parseNftTable(json: string): LiveNftTable {
  const items = (JSON.parse(json) as { nftables: NftJsonItem[] }).nftables;
  const sets = new Map<string, string[]>();
  const chains = new Map<string, { rules: number; digest: string | null }>();
  for (const item of items) {
    if (item.set) sets.set(item.set.name, (item.set.elem ?? []).map(liveElement).sort());
    if (item.chain) chains.set(item.chain.name, { rules: 0, digest: null });
  }
  for (const item of items) {
    if (!item.rule) continue;
    const chain = chains.get(item.rule.chain);
    if (!chain) continue;
    chain.rules++;
    // The digest rides on the last rule; a rule added after it by hand leaves the chain without one at the end.
    chain.digest = item.rule.comment?.startsWith('mg:') ? item.rule.comment : null;
  }
  return { sets, chains };
}
