import { nextAddress, seededRandom, TopologyNode } from '@meshgate/domain';

/**
 * A generated tenant for bench part (d): nodes and a policy document shaped like a real one, from a seed.
 * - Services: `tags` tags of about nodes/tags nodes each (node i is in service ⌊i·tags/nodes⌋). Most services carry
 *   one tag; some also carry a second (another service's tag) on all or on part of their members, so nodes have one
 *   or two tags and a service may span two identity classes.
 * - ACLs: mostly `tag:a -> tag:b:ports` (each tag is the source of about acls/tags of them, mostly towards two
 *   partner services), with mixed protocols and port lists; about 1% denies, 1% naming nodes (some that exist, some "jump-N" that do not yet: joining one
 *   creates a class), 1% towards the two routed subnets, and a few on a schedule.
 * - Two subnet routers (`routes`), served by named nodes; a few QoS entries, one on the schedule.
 */
export interface ConfigTenantOptions {
  nodes: number;
  acls: number;
  tags?: number;
  seed?: number;
}

export interface ConfigTenant {
  document: Record<string, unknown>;
  nodes: TopologyNode[];
  tags: string[];
  /** Names of existing nodes that ACLs or routes name (each is a class of its own). */
  namedNodes: string[];
  /** Names ACLs name that no node has yet: a node joining with one of them creates a class. */
  unclaimedNames: string[];
  /** The schedule some ACLs and a QoS entry are on; no window is open in the generated state. */
  schedule: string;
  /** Index of a plain `tag:a -> tag:b:443` accept, to edit. */
  editableAcl: number;
  /** The last overlay address handed out, for joiners. */
  lastAddress: string;
}

export const SCHEDULE = 'business-hours';
export const ROUTES = { '10.10.0.0/16': 'gw-east', '10.20.0.0/16': 'gw-west' } as const;
const TCP_PORTS = ['443', '80,443', '22', '5432', '6379', '8000-8100', '9090', '3000', '*'];
const UDP_PORTS = ['53', '123', '5060-5070', '*'];

/** A WireGuard-shaped public key (32 bytes, base64) drawn from `rand`. */
export function fakeKey(rand: () => number): string {
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < 32; i += 4) bytes.writeUInt32LE(Math.floor(rand() * 4294967296) >>> 0, i);
  return bytes.toString('base64');
}

export const tagName = (i: number): string => `tag:svc-${String(i).padStart(3, '0')}`;
export const nodeName = (i: number): string => `n${String(i).padStart(5, '0')}`;

/**
 * A plain `tag:a -> tag:b:ports` tcp accept whose (a, b) pair no other ACL names, from a service without a second
 * tag, so that changing its ports changes what b's firewall lets a in on. Its ports are set to 443.
 */
function pickEditable(acls: Record<string, unknown>[], singleTagged: boolean[]): number {
  const tagOf = (text: string) => /^(tag:[^:]+)/.exec(text)?.[1];
  const pairs = new Map<string, number>();
  for (const acl of acls) {
    for (const src of acl.src as string[]) for (const dst of acl.dst as string[]) {
      const key = `${src}>${tagOf(dst)}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
  }
  const index = acls.findIndex((acl) => {
    const [src, dst] = [acl.src as string[], acl.dst as string[]];
    return acl.action === 'accept' && acl.proto === 'tcp' && !acl.schedule && src.length === 1 && dst.length === 1
      && src[0].startsWith('tag:') && /^tag:[^:]+:/.test(dst[0]) && pairs.get(`${src[0]}>${tagOf(dst[0])}`) === 1
      && singleTagged[Number(src[0].slice('tag:svc-'.length))];
  });
  if (index < 0) throw new Error('no ACL to edit in the generated policy');
  const dst = acls[index].dst as string[];
  dst[0] = dst[0].replace(/:[^:]*$/, ':443');
  return index;
}

export function generateConfigTenant(options: ConfigTenantOptions): ConfigTenant {
  const rand = seededRandom(options.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (n: number) => Math.floor(rand() * n);
  const nodeCount = options.nodes;
  const tagCount = Math.max(2, options.tags ?? Math.round(nodeCount / 20));
  const tags = Array.from({ length: tagCount }, (_, i) => tagName(i));
  const otherTag = (t: number) => (t + 1 + int(tagCount - 1)) % tagCount;
  // Each service talks mostly to two others (web → api, db): its ACLs differ in ports more than in destinations.
  const partners = tags.map((_, t) => [otherTag(t), otherTag(t)]);
  const dstTag = (t: number) => (rand() < 0.8 ? pick(partners[t]) : otherTag(t));

  // ---- nodes ----
  // Per service: no second tag (60%), a second tag on every member (25%) or on part of them (15%).
  const second = tags.map((_, t) => {
    const r = rand();
    return r < 0.6 ? null : { tag: otherTag(t), share: r < 0.85 ? 1 : 0.3 + 0.4 * rand() };
  });
  const nodes: TopologyNode[] = [];
  let address: string | null = null;
  const routers = Object.values(ROUTES);
  for (let i = 0; i < nodeCount; i++) {
    const t = Math.floor((i * tagCount) / nodeCount);
    const s = second[t];
    const nodeTags = s && rand() < s.share ? [tags[t], tags[s.tag]] : [tags[t]];
    address = nextAddress(address);
    const name = i < routers.length ? routers[i] : nodeName(i);
    nodes.push({ id: `node-${i}`, name, tags: nodeTags, publicKey: fakeKey(rand), address, endpoint: `198.18.${(i >> 8) & 255}.${i & 255}:51820`, listenPort: 51820 });
  }

  // ---- ACLs ----
  const acls: Record<string, unknown>[] = [];
  const aclCount = options.acls;
  const special = Math.max(1, Math.round(aclCount / 100));
  const unclaimedNames = Array.from({ length: Math.min(5, special) }, (_, i) => `jump-${i}`);
  const dstOf = (t: number) => {
    const proto = rand();
    if (proto < 0.6) return { dst: [`${tags[t]}:${pick(TCP_PORTS)}`], proto: 'tcp' };
    if (proto < 0.75) return { dst: [`${tags[t]}:${pick(UDP_PORTS)}`], proto: 'udp' };
    if (proto < 0.8) return { dst: [tags[t]], proto: 'icmp' };
    return { dst: [`${tags[t]}:${pick(TCP_PORTS)}`] }; // no proto: tcp, udp and icmp
  };
  const namedNodes = new Set<string>(routers);
  for (let i = 0; acls.length < aclCount; i++) {
    const src = i % tagCount;
    const kind = i % 100;
    if (kind === 10 && acls.length + 1 < aclCount) {
      // A deny carving a port out of an accept just above it.
      const t = tags[dstTag(src)];
      acls.push({ action: 'accept', src: [tags[src]], dst: [`${t}:*`], proto: 'tcp' });
      acls.push({ action: 'deny', src: [tags[src]], dst: [`${t}:22`], proto: 'tcp' });
    } else if (kind === 20) {
      // Naming nodes: an existing node as a source, or a jump host that has not joined yet.
      const k = Math.floor(i / 100);
      const name = k % 2 === 0 && unclaimedNames[k / 2] ? unclaimedNames[k / 2] : nodeName(routers.length + int(nodeCount - routers.length));
      if (!unclaimedNames.includes(name)) namedNodes.add(name);
      acls.push({ action: 'accept', src: [name], dst: [`${tags[otherTag(src)]}:22`, `${tags[otherTag(src)]}:22`], proto: 'tcp' });
    } else if (kind === 30 || kind === 31) {
      // Towards the routed subnets: the whole of one, or a database inside the other.
      const dst = kind === 30 ? '10.10.0.0/16:443' : '10.20.5.0/24:5432';
      acls.push({ action: 'accept', src: [tags[src]], dst: [dst], proto: 'tcp' });
    } else if (kind === 40) {
      acls.push({ action: 'accept', src: [tags[src]], dst: [`${tags[otherTag(src)]}:3389`], proto: 'tcp', schedule: SCHEDULE });
    } else {
      const a = dstOf(dstTag(src));
      const dst = rand() < 0.1 ? [...a.dst, ...dstOf(dstTag(src)).dst.filter(() => a.proto !== 'icmp')] : a.dst;
      acls.push({ action: 'accept', src: rand() < 0.05 ? [tags[src], tags[otherTag(src)]] : [tags[src]], dst, ...(a.proto ? { proto: a.proto } : {}) });
    }
  }
  const editableAcl = pickEditable(acls, second.map((x) => x === null));
  const qos = Array.from({ length: Math.min(5, tagCount) }, (_, i) => ({
    src: [tags[int(tagCount)]], dst: [tags[int(tagCount)]], rateMbit: pick([50, 100, 200]), ...(i === 0 ? { schedule: SCHEDULE } : {}),
  }));
  const document = {
    groups: { 'group:ops': ['alice@', 'bob@'] },
    tagOwners: Object.fromEntries(tags.map((t) => [t, ['group:ops']])),
    schedules: { [SCHEDULE]: { timeZone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' } },
    acls,
    qos,
    routes: Object.fromEntries(Object.entries(ROUTES).map(([prefix, router]) => [prefix, [router]])),
  };
  return { document, nodes, tags, namedNodes: [...namedNodes], unclaimedNames, schedule: SCHEDULE, editableAcl, lastAddress: address ?? '100.64.0.0' };
}
