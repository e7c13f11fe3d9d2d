/**
 * Bench part (d): config computation on the pure domain `Topology`, at the scale of one large tenant. No server,
 * no storage: what the config projection and the stream hub pay for a restart, a join, a policy edit and a
 * schedule window. Every change set measured is also checked against configs recomputed from scratch, so the
 * figures cannot be those of a no-op.
 */
import { performance } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { ChangeSet, nextAddress, NodeChange, NodeMeshConfig, policyEngine, seededRandom, Topology, TopologyNode } from '@meshgate/domain';
import { ConfigTenant, fakeKey, generateConfigTenant } from './config-tenant';

export interface ConfigBenchOptions {
  nodes: number;
  acls: number;
  tags?: number;
  joins: number;
  seed?: number;
}

export function compilePolicy(document: unknown): policyEngine.CompiledPolicy {
  const parsed = policyEngine.parsePolicyFile(document);
  if (!parsed.ok) throw new Error(`generated policy is invalid: ${parsed.errors.slice(0, 5).join('; ')}`);
  return new policyEngine.CompiledPolicy(parsed.policy);
}

const MB = 1024 * 1024;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const fmt = (n: number) => n.toLocaleString('en-US');
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));

/** A full GC when we can have one (for the retained heap figure); the flag is set at run time, once. */
function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

/** Applies one node's change to its previous config: what an agent does with a patch. */
function applyChange(before: NodeMeshConfig, change: NodeChange): NodeMeshConfig {
  const peers = new Map(before.peers.map((p) => [p.publicKey, p]));
  for (const key of change.removed) peers.delete(key);
  for (const [key, peer] of change.upserted) peers.set(key, peer);
  const sorted = [...peers.values()].sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  return { ...before, peers: sorted, ...change.parts };
}

/**
 * Runs `op` between two full recomputations of every config and checks the change set exactly: a node outside
 * it has the same config as before, a node in it has its old config with the patch applied. Untimed.
 */
function verified(t: Topology, ids: () => string[], op: () => ChangeSet): { changes: ChangeSet; ms: number; mismatches: string[] } {
  const before = new Map(ids().map((id) => [id, t.configOf(id)!]));
  const started = performance.now();
  const changes = op();
  const elapsed = performance.now() - started;
  const mismatches: string[] = [];
  for (const [id, old] of before) {
    const after = t.configOf(id);
    if (!after) continue;
    const change = changes.get(id);
    const expected = change ? applyChange(old, change) : old;
    if (JSON.stringify(expected) !== JSON.stringify(after)) mismatches.push(id);
  }
  for (const id of changes.keys()) if (!before.has(id)) mismatches.push(`${id} (not in the tenant before)`);
  return { changes, ms: elapsed, mismatches };
}

/** Cheap check of a join: the change set is exactly the joiner's peers, each told one upsert, the joiner. */
function checkJoin(t: Topology, joiner: TopologyNode, changes: ChangeSet, idByKey: Map<string, string>, allowParts: boolean): string | null {
  const peers = t.peersOf(joiner.id).map((p) => idByKey.get(p.publicKey)!);
  const told = [...changes].filter(([, c]) => c.upserted.has(joiner.publicKey)).map(([id]) => id);
  if (told.length !== peers.length || told.some((id) => !peers.includes(id))) {
    return `${joiner.name}: ${told.length} nodes told, ${peers.length} peers`;
  }
  for (const [id, c] of changes) {
    const extra = c.removed.size > 0 || c.upserted.size > (c.upserted.has(joiner.publicKey) ? 1 : 0) || (!allowParts && Object.keys(c.parts).length > 0);
    if (extra) return `${joiner.name}: unexpected change at ${id}`;
    if (!allowParts && !c.upserted.has(joiner.publicKey)) return `${joiner.name}: empty change at ${id}`;
  }
  return null;
}

export function runConfigBench(options: ConfigBenchOptions): { lines: string[]; ok: boolean } {
  const gc = collector();
  const failures: string[] = [];
  const generated = performance.now();
  const tenant: ConfigTenant = generateConfigTenant(options);
  const policy = compilePolicy(tenant.document);
  const generateMs = performance.now() - generated;
  const rand = seededRandom((options.seed ?? 1) + 1);
  const idByKey = new Map(tenant.nodes.map((n) => [n.publicKey, n.id]));
  const ids: string[] = tenant.nodes.map((n) => n.id);
  let address = tenant.lastAddress;
  const newNode = (name: string, tags: readonly string[], user?: string): TopologyNode => {
    address = nextAddress(address);
    const node: TopologyNode = { id: `node-${name}`, name, tags: [...tags], publicKey: fakeKey(rand), address, endpoint: null, listenPort: 51820, ...(user ? { user } : {}) };
    idByKey.set(node.publicKey, node.id);
    return node;
  };

  // ---- (1) full rebuild: restore every node, then every node's full config, serialised ----
  gc?.();
  const mem0 = process.memoryUsage();
  let peakHeap = mem0.heapUsed;
  let peakRss = mem0.rss;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  const t0 = performance.now();
  const topology = new Topology(policy);
  tenant.nodes.forEach((n, i) => {
    topology.restoreNode(n);
    if (i % 500 === 0) sample();
  });
  const t1 = performance.now();
  let bytes = 0;
  const peerCounts: number[] = [];
  ids.forEach((id, i) => {
    const config = topology.configOf(id)!;
    bytes += JSON.stringify(config).length;
    peerCounts.push(config.peers.length);
    if (i % 500 === 0) sample();
  });
  const t2 = performance.now();
  sample();
  gc?.();
  const retained = process.memoryUsage().heapUsed - mem0.heapUsed;
  peerCounts.sort((a, b) => a - b);
  const avgPeers = peerCounts.reduce((a, b) => a + b, 0) / peerCounts.length;
  const classesAtStart = topology.classCount;

  // ---- (2) joins into an existing class ----
  const named = new Set([...tenant.namedNodes, ...tenant.unclaimedNames]);
  const templates = tenant.nodes.filter((n) => !named.has(n.name));
  const joinOnce = (j: number) => {
    const joiner = newNode(`join-${j}`, templates[Math.floor(rand() * templates.length)].tags);
    const classes = topology.classCount;
    const started = performance.now();
    const changes = topology.addNode(joiner);
    const elapsed = performance.now() - started;
    ids.push(joiner.id);
    if (topology.classCount !== classes) failures.push(`${joiner.name} created a class`);
    const problem = checkJoin(topology, joiner, changes, idByKey, false);
    if (problem) failures.push(problem);
    return { ms: elapsed, changed: changes.size };
  };
  for (let j = 0; j < 20; j++) joinOnce(-1 - j); // warm-up, not reported
  const joins = Array.from({ length: options.joins }, (_, j) => joinOnce(j));
  const joinMs = joins.map((j) => j.ms).sort((a, b) => a - b);
  const joinChanged = joins.map((j) => j.changed).sort((a, b) => a - b);
  // Three more joins checked against every node's recomputed config (the join figures above exclude this).
  let fullChecks = 0;
  for (let j = 0; j < 3; j++) {
    const joiner = newNode(`join-full-${j}`, templates[Math.floor(rand() * templates.length)].tags);
    const result = verified(topology, () => ids, () => topology.addNode(joiner));
    ids.push(joiner.id);
    failures.push(...result.mismatches.slice(0, 3).map((id) => `join ${joiner.name}: change set wrong at ${id}`));
    fullChecks++;
  }

  // ---- (3) joins that create a class: the jump hosts the policy names ----
  const classJoins = tenant.unclaimedNames.map((name, k) => {
    const joiner = newNode(name, [], 'alice');
    const classes = topology.classCount;
    let result: { changes: ChangeSet; ms: number };
    if (k === 0) {
      const r = verified(topology, () => ids, () => topology.addNode(joiner));
      failures.push(...r.mismatches.slice(0, 3).map((id) => `join ${name}: change set wrong at ${id}`));
      fullChecks++;
      result = r;
    } else {
      const started = performance.now();
      const changes = topology.addNode(joiner);
      result = { changes, ms: performance.now() - started };
    }
    ids.push(joiner.id);
    if (topology.classCount !== classes + 1) failures.push(`${name} did not create a class`);
    const problem = checkJoin(topology, joiner, result.changes, idByKey, true);
    if (problem) failures.push(problem);
    const withRules = [...result.changes.values()].filter((c) => Object.keys(c.parts).length > 0).length;
    return { ms: result.ms, changed: result.changes.size, withRules };
  });

  // ---- (4) one policy edit: one ACL's ports ----
  const edited = structuredClone(tenant.document) as { acls: Array<{ dst: string[] }> };
  const acl = edited.acls[tenant.editableAcl];
  const before = acl.dst[0];
  acl.dst[0] = acl.dst[0].replace(/:443$/, ':443,7443');
  const compileStarted = performance.now();
  const nextPolicy = compilePolicy(edited);
  const compileMs = performance.now() - compileStarted;
  const edit = verified(topology, () => ids, () => topology.setPolicy(nextPolicy));
  fullChecks++;
  failures.push(...edit.mismatches.slice(0, 3).map((id) => `policy edit: change set wrong at ${id}`));
  const dstTag = before.replace(/:443$/, '');
  const dstMembers = ids.filter((id) => topology.identityOf(id)?.tags.includes(dstTag)).length;
  const editPeerChanges = [...edit.changes.values()].filter((c) => c.upserted.size || c.removed.size).length;
  if (edit.changes.size === 0) failures.push('policy edit changed no node');

  // ---- (5) a schedule window opens, then closes ----
  const opened = verified(topology, () => ids, () => topology.setOpenSchedules(new Set([tenant.schedule])));
  const closed = verified(topology, () => ids, () => topology.setOpenSchedules(new Set()));
  fullChecks += 2;
  for (const [what, r] of [['window opened', opened], ['window closed', closed]] as const) {
    failures.push(...r.mismatches.slice(0, 3).map((id) => `${what}: change set wrong at ${id}`));
    if (r.changes.size === 0) failures.push(`${what}: no node changed`);
  }
  const peerChanged = (c: ChangeSet) => [...c.values()].filter((x) => x.upserted.size || x.removed.size).length;

  const n = tenant.nodes.length;
  const lines = [
    `(d) config computation on the domain Topology: ${fmt(n)} nodes, ${fmt(options.acls)} ACLs, ${tenant.tags.length} tags (generated and compiled in ${ms(generateMs)} ms)`,
    `    tenant: ${fmt(classesAtStart)} classes; peers per node avg ${avgPeers.toFixed(0)}, p50 ${pct(peerCounts, 0.5)}, p99 ${pct(peerCounts, 0.99)}, max ${pct(peerCounts, 1)}`,
    `    full rebuild: restoreNode × ${fmt(n)} ${ms(t1 - t0)} ms + configOf+JSON × ${fmt(n)} ${ms(t2 - t1)} ms = ${ms(t2 - t0)} ms (${(((t2 - t0) * 1000) / n).toFixed(0)} µs per node)`,
    `        ${(bytes / MB).toFixed(0)} MB of JSON (${fmt(Math.round(bytes / n))} bytes per config); heap peak +${((peakHeap - mem0.heapUsed) / MB).toFixed(0)} MB, retained +${(retained / MB).toFixed(0)} MB${gc ? '' : ' (no GC forced)'}; RSS peak +${((peakRss - mem0.rss) / MB).toFixed(0)} MB`,
    `    join into an existing class × ${joins.length}: p50 ${ms(pct(joinMs, 0.5))} ms, p99 ${ms(pct(joinMs, 0.99))} ms, max ${ms(pct(joinMs, 1))} ms; nodes changed p50 ${pct(joinChanged, 0.5)}, max ${pct(joinChanged, 1)}      target < 50 ms: ${pct(joinMs, 0.99) < 50 ? 'met' : 'NOT met'}`,
    `    join creating a class (a node the policy names) × ${classJoins.length}: ${classJoins.map((c) => `${ms(c.ms)} ms/${c.changed} nodes`).join(', ')} (of which with new rules: ${classJoins.map((c) => c.withRules).join(', ')})`,
    `    policy edit (one ACL's ports, ${before} → ${acl.dst[0]}): compile ${ms(compileMs)} ms + setPolicy ${ms(edit.ms)} ms; ${edit.changes.size} nodes changed (${editPeerChanges} in peers; ${dstMembers} carry ${dstTag})`,
    `    schedule window "${tenant.schedule}": opened ${ms(opened.ms)} ms, ${opened.changes.size} nodes changed (${peerChanged(opened.changes)} in peers); closed ${ms(closed.ms)} ms, ${closed.changes.size} nodes changed`,
    `    verified: every join's change set is exactly the joiner's peers; ${fullChecks} operations checked against every node's recomputed config: ${failures.length ? `${failures.length} FAILURES: ${failures.slice(0, 5).join('; ')}` : 'all match'}`,
  ];
  return { lines, ok: failures.length === 0 };
}
