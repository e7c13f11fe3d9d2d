import { canonicalPrefix, parsePrefix } from '@meshgate/contracts/ip';
import { formatHujsonError, parseHujson } from './hujson';
import { ALL_PORTS, DEFAULT_PROTOS, hasPorts, parsePorts, parseProto, PortRange, TCP } from './ports';

/**
 * The tenant's policy document in the Tailscale/headscale format (`groups`, `tagOwners`, `hosts`, `acls`, `tests`,
 * `autoApprovers`), with MeshGate's extensions: `action: "deny"`, node names as aliases, a destination without
 * `:ports` meaning all ports, `schedules`, `schedule` on ACL and QoS entries, `qos`, `routes` and `relays`. A v1 document
 * (`{acls: [{action, src, dst}]}` with `*`, node names and tags) is a valid document here with the same meaning.
 *
 * Every key is checked by name. Keys those tools know but MeshGate does not enforce are accepted with a warning;
 * unknown keys are errors, so a typo never silently opens or closes access. Errors name their JSON path.
 * Names the author chooses (groups, tag owners, hosts, schedules) are kept in Maps: a host called `toString` or
 * `constructor` is that host, never a property every object inherits.
 */
export type Alias =
  | { kind: 'all' }
  /** `alice@` or `alice@example.com`: untagged nodes owned by that user (the trailing `@` is dropped). */
  | { kind: 'user'; user: string }
  | { kind: 'group'; group: string }
  | { kind: 'tag'; tag: string }
  /** A key of `hosts`. */
  | { kind: 'host'; host: string }
  /** Canonical prefix text ("10.1.0.0/24", "100.64.0.7/32"). */
  | { kind: 'prefix'; prefix: string }
  | { kind: 'autogroup'; autogroup: AutoGroup }
  /** MeshGate extension: a node by its name. */
  | { kind: 'node'; node: string };

/**
 * `member`: untagged nodes whose owner is a member of the tenant; `tagged`: nodes with a tag; `self` (destinations
 * only): the source user's own untagged nodes; `admin` / `owner`: untagged nodes whose owner has that tenant role;
 * `internet` (destinations only): what an exit node routes.
 */
export type AutoGroup = 'member' | 'tagged' | 'self' | 'internet' | 'admin' | 'owner';
const AUTOGROUPS: readonly string[] = ['member', 'tagged', 'self', 'internet', 'admin', 'owner'];

export interface Destination {
  alias: Alias;
  /** As written, for messages. */
  text: string;
  ports: PortRange[];
}

export interface AclRule {
  action: 'accept' | 'deny';
  src: Alias[];
  dst: Destination[];
  /** IANA protocol numbers; no `proto` means TCP, UDP and ICMP. */
  protos: number[];
  schedule?: string;
}

export interface QosEntry {
  src: Alias[];
  dst: Alias[];
  rateMbit: number;
  schedule?: string;
}

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** A weekly window in local time. `end` ≤ `start` means it runs past midnight into the next day. */
export interface Schedule {
  timeZone: string;
  days: Weekday[];
  /** Minutes after local midnight; `end` may be 1440 ("24:00"). */
  start: number;
  end: number;
}

export interface PolicyTest {
  src: Alias;
  srcText: string;
  /** No `proto` in a test means TCP. */
  protos: number[];
  accept: Destination[];
  deny: Destination[];
}

export interface RouteEntry {
  prefix: string;
  /** Nodes that serve it (by name or tag). 0.0.0.0/0 and ::/0 make those nodes exit nodes. */
  via: Alias[];
}

export interface PolicyFile {
  groups: ReadonlyMap<string, string[]>;
  tagOwners: ReadonlyMap<string, string[]>;
  /** Host name → canonical prefix. */
  hosts: ReadonlyMap<string, string>;
  acls: AclRule[];
  qos: QosEntry[];
  schedules: ReadonlyMap<string, Schedule>;
  routes: RouteEntry[];
  autoApprovers: { routes: Array<{ prefix: string; approvers: Alias[] }>; exitNode: Alias[] };
  tests: PolicyTest[];
  /** Nodes (by name or tag) that relay for pairs that cannot reach each other directly. Absent: none. */
  relays: Alias[];
}

export type PolicyParseResult =
  | { ok: true; policy: PolicyFile; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[] };

/** Keys of Tailscale/headscale policy files that MeshGate accepts and ignores (with a warning). */
export const NOT_ENFORCED_KEYS: readonly string[] = [
  'ssh', 'sshTests', 'nodeAttrs', 'derpMap', 'disableIPv4', 'randomizeClientPort', 'grants', 'postures',
  'ipsets', 'defaultSrcPosture', 'OneCGNATRoute',
];
const TOP_KEYS = ['groups', 'tagOwners', 'hosts', 'acls', 'tests', 'autoApprovers', 'qos', 'schedules', 'routes', 'relays'];

const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TAG = /^tag:[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const GROUP = /^group:[A-Za-z0-9][A-Za-z0-9._-]*$/;
const USER = /^[^\s@:]+@([^\s@:]+)?$/;
/** `idp:<group>`: the users whose IdP groups (from their latest single sign-on) include `<group>`, as written. */
const IDP_GROUP = /^idp:\S(.{0,254}\S)?$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const MAX_ENTRIES = 10_000;
const MAX_RATE_MBIT = 100_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `parent.key`, or `parent["tag:web"]` when the key is not an identifier, so a path always names one place. */
export const keyPath = (parent: string, key: string): string =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? (parent ? `${parent}.${key}` : key) : `${parent}[${JSON.stringify(key)}]`;

/**
 * `strict` (what a new document must pass, as in Tailscale): every tag named in `acls`, `tests`, `autoApprovers`,
 * `tagOwners` values, `qos` and `routes` is declared in `tagOwners`, and no destination names port 0. Documents
 * already stored are read without it, so an old (v1) document keeps the meaning it was accepted with.
 */
export interface ParseOptions {
  strict?: boolean;
}

/** Text (JSON or HuJSON) → policy. A syntax error is one error naming line and column. */
export function parsePolicyText(text: string, options: ParseOptions = {}): PolicyParseResult {
  const parsed = parseHujson(text);
  if (!parsed.ok) return { ok: false, errors: [`policy: ${formatHujsonError(parsed.error)}`], warnings: [] };
  return parsePolicyFile(parsed.value, options);
}

/** Validates an untrusted value (already parsed JSON). */
export function parsePolicyFile(input: unknown, options: ParseOptions = {}): PolicyParseResult {
  return new Parser(options.strict ?? false).parse(input);
}

const NODES_ONLY = {
  router: 'a route is served by nodes: use a node name or a tag',
  relay: 'a relay is a node: use a node name or a tag',
};
type AliasContext = 'src' | 'dst' | 'qos' | 'router' | 'approver' | 'relay' | 'test';

class Parser {
  private readonly errors: string[] = [];
  private readonly warnings: string[] = [];
  private groups: ReadonlyMap<string, string[]> = new Map();
  private hosts: ReadonlyMap<string, string> = new Map();
  private scheduleNames: ReadonlySet<string> = new Set();
  /** Tags declared in `tagOwners` (its keys as written): in strict mode, the only tags a document may name. */
  private declaredTags: ReadonlySet<string> = new Set();

  constructor(private readonly strict: boolean) {}

  parse(input: unknown): PolicyParseResult {
    if (!isObject(input)) return { ok: false, errors: ['policy: must be a JSON object'], warnings: [] };
    for (const key of Object.keys(input)) {
      if (NOT_ENFORCED_KEYS.includes(key)) this.warnings.push(`${keyPath('', key)}: accepted but not enforced by MeshGate`);
      else if (!TOP_KEYS.includes(key)) this.errors.push(`${keyPath('', key)}: unknown key`);
    }
    // Tailscale reads a file without `acls` (or grants) as "allow everything"; MeshGate denies by default. Rather
    // than silently give the same file another meaning, ask for the intent to be written down.
    if (input.acls === undefined) this.errors.push('acls: required — write [] to deny everything, or an accept rule such as {"action": "accept", "src": ["*"], "dst": ["*:*"]}');
    // Definitions first: aliases in rules are checked against them.
    this.groups = this.record(input.groups, 'groups', (v, p, k) => this.groupMembers(v, p, k));
    this.hosts = this.record(input.hosts, 'hosts', (v, p, k) => this.hostValue(v, p, k));
    const schedules = this.record(input.schedules, 'schedules', (v, p, k) => this.schedule(v, p, k));
    this.scheduleNames = new Set(schedules.keys());
    this.declaredTags = new Set(isObject(input.tagOwners) ? Object.keys(input.tagOwners) : []);
    const tagOwners = this.record(input.tagOwners, 'tagOwners', (v, p, k) => this.tagOwner(v, p, k));
    const acls = this.list(input.acls, 'acls', (v, p) => this.acl(v, p));
    const qos = this.list(input.qos, 'qos', (v, p) => this.qos(v, p));
    const tests = this.list(input.tests, 'tests', (v, p) => this.test(v, p));
    const routes = this.routes(input.routes, 'routes');
    const autoApprovers = this.autoApprovers(input.autoApprovers, 'autoApprovers');
    const relays = input.relays === undefined ? [] : this.aliases(input.relays, 'relays', 'relay') ?? [];
    if (this.errors.length) return { ok: false, errors: this.errors, warnings: this.warnings };
    const policy: PolicyFile = { groups: this.groups, tagOwners, hosts: this.hosts, acls, qos, schedules, routes, autoApprovers, tests, relays };
    return { ok: true, policy, warnings: this.warnings };
  }

  private fail(path: string, message: string): null {
    this.errors.push(`${path}: ${message}`);
    return null;
  }

  private keys(value: Record<string, unknown>, path: string, known: string[], notEnforced: string[] = []): void {
    for (const key of Object.keys(value)) {
      if (notEnforced.includes(key)) this.warnings.push(`${keyPath(path, key)}: accepted but not enforced by MeshGate`);
      else if (!known.includes(key)) this.fail(keyPath(path, key), 'unknown key');
    }
  }

  /** An object keyed by the author's names → a Map of the entries that parsed (absent or malformed: empty). */
  private record<T>(value: unknown, path: string, item: (v: unknown, p: string, k: string) => T | null): Map<string, T> {
    const out = new Map<string, T>();
    if (value === undefined) return out;
    if (!isObject(value)) return this.fail(path, 'must be an object') ?? out;
    for (const [key, v] of Object.entries(value)) {
      const parsed = item(v, keyPath(path, key), key);
      if (parsed !== null) out.set(key, parsed);
    }
    return out;
  }

  private list<T>(value: unknown, path: string, item: (v: unknown, p: string) => T | null): T[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return this.fail(path, 'must be an array') ?? [];
    if (value.length > MAX_ENTRIES) return this.fail(path, `at most ${MAX_ENTRIES} entries`) ?? [];
    const out: T[] = [];
    value.forEach((v, i) => {
      const parsed = item(v, `${path}[${i}]`);
      if (parsed !== null) out.push(parsed);
    });
    return out;
  }

  private strings(value: unknown, path: string, { empty = false } = {}): string[] | null {
    if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) return this.fail(path, 'must be an array of strings');
    if (!empty && value.length === 0) return this.fail(path, 'must not be empty');
    return value as string[];
  }

  private groupMembers(value: unknown, path: string, key: string): string[] | null {
    if (!GROUP.test(key)) return this.fail(path, 'a group name must look like "group:<name>"');
    const members = this.strings(value, path, { empty: true });
    if (!members) return null;
    const before = this.errors.length;
    // As in headscale: members are users; groups do not nest (a cycle could never be resolved). MeshGate adds IdP
    // groups: `idp:engineering` names every user whose latest sign-on carried the group `engineering` (case kept).
    members.forEach((m, i) => {
      if (!USER.test(m) && !IDP_GROUP.test(m)) {
        this.fail(`${path}[${i}]`, `must be a user ("alice@" or "alice@example.com") or an IdP group ("idp:engineering"), got ${JSON.stringify(m)}`);
      }
    });
    return this.errors.length === before ? members.map((m) => (IDP_GROUP.test(m) ? m : normaliseUser(m))) : null;
  }

  private hostValue(value: unknown, path: string, key: string): string | null {
    if (!HOST_NAME.test(key) || key.includes(':') || parsePrefix(key)) return this.fail(path, 'a host name must be a plain name');
    const prefix = typeof value === 'string' ? canonicalPrefix(value) : null;
    return prefix ?? this.fail(path, 'must be an IP address or prefix');
  }

  private tagOwner(value: unknown, path: string, key: string): string[] | null {
    if (!TAG.test(key)) return this.fail(path, 'a tag must look like "tag:<name>"');
    const owners = this.strings(value, path, { empty: true });
    if (!owners) return null;
    const before = this.errors.length;
    owners.forEach((o, i) => {
      const ok = USER.test(o) || TAG.test(o) || (GROUP.test(o) && this.groups.has(o)) || /^autogroup:(admin|owner|member|it-admin|network-admin)$/.test(o);
      if (!ok) this.fail(`${path}[${i}]`, 'must be a user, a defined group, a tag or autogroup:admin/owner/member');
      else if (TAG.test(o)) this.declared(o, `${path}[${i}]`);
    });
    return this.errors.length === before ? owners.map((o) => (USER.test(o) ? normaliseUser(o) : o)) : null;
  }

  private schedule(value: unknown, path: string, key: string): Schedule | null {
    if (!SCHEDULE_NAME.test(key)) return this.fail(path, 'a schedule name is letters, digits, "-" and "_"');
    if (!isObject(value)) return this.fail(path, 'must be an object');
    const before = this.errors.length;
    this.keys(value, path, ['timeZone', 'days', 'start', 'end']);
    const { timeZone, days, start, end } = value;
    if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) this.fail(`${path}.timeZone`, 'must be an IANA time zone such as "Europe/Berlin"');
    const dayList = this.strings(days, `${path}.days`);
    dayList?.forEach((d, i) => {
      if (!WEEKDAYS.includes(d as Weekday)) this.fail(`${path}.days[${i}]`, 'must be one of mon, tue, wed, thu, fri, sat, sun');
      else if (dayList.indexOf(d) !== i) this.fail(`${path}.days[${i}]`, 'is listed twice');
    });
    const minutes = (v: unknown, p: string): number => {
      if (typeof v !== 'string' || !HHMM.test(v)) return this.fail(p, 'must be "HH:MM" (00:00 to 24:00)') ?? 0;
      return Number(v.slice(0, 2)) * 60 + Number(v.slice(3));
    };
    const startMin = minutes(start, `${path}.start`);
    const endMin = minutes(end, `${path}.end`);
    if (startMin === 1440) this.fail(`${path}.start`, 'must be before 24:00');
    if (this.errors.length === before && startMin === endMin) this.fail(path, 'start and end are equal: the window would be empty');
    if (this.errors.length !== before) return null;
    return { timeZone: timeZone as string, days: dayList as Weekday[], start: startMin, end: endMin };
  }

  private scheduleRef(value: unknown, path: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !this.scheduleNames.has(value)) {
      this.fail(path, `must name a schedule defined in "schedules"`);
      return undefined;
    }
    return value;
  }

  /** One alias (no ports). Context decides which kinds make sense where. */
  private alias(text: string, path: string, ctx: AliasContext): Alias | null {
    const alias = this.aliasOrNull(text, path, ctx);
    if (alias === undefined) return this.fail(path, `${JSON.stringify(text)} is not a known alias ("*", a user "name@", "group:", "tag:", a host, a node name, an IP or prefix, "autogroup:")`);
    return alias;
  }

  /** undefined: not recognisable at all; null: recognised but wrong (error already recorded). */
  private aliasOrNull(text: string, path: string, ctx: AliasContext): Alias | null | undefined {
    const nodesOnly = ctx === 'router' || ctx === 'approver' || ctx === 'relay';
    const byNode = ctx === 'router' || ctx === 'relay';
    if (text === '*') return nodesOnly ? this.fail(path, '"*" is not allowed here') : { kind: 'all' };
    if (text.startsWith('autogroup:')) {
      const name = text.slice('autogroup:'.length);
      if (!AUTOGROUPS.includes(name) || nodesOnly) return this.fail(path, `${text} is not supported here`);
      if ((name === 'self' || name === 'internet') && ctx !== 'dst') return this.fail(path, `${text} can only be used in an ACL destination`);
      return { kind: 'autogroup', autogroup: name as AutoGroup };
    }
    if (text.startsWith('group:')) {
      if (!this.groups.has(text)) return this.fail(path, `${text} is not defined in "groups"`);
      return byNode ? this.fail(path, NODES_ONLY[ctx as 'router' | 'relay']) : { kind: 'group', group: text };
    }
    if (text.startsWith('tag:')) {
      if (!TAG.test(text)) return this.fail(path, 'a tag must look like "tag:<name>"');
      return this.declared(text, path) ? { kind: 'tag', tag: text } : null;
    }
    if (USER.test(text)) return byNode ? this.fail(path, NODES_ONLY[ctx as 'router' | 'relay']) : { kind: 'user', user: normaliseUser(text) };
    const prefix = canonicalPrefix(text);
    if (prefix) return nodesOnly ? this.fail(path, 'an address is not allowed here') : { kind: 'prefix', prefix };
    if (this.hosts.has(text)) return nodesOnly ? this.fail(path, 'a host is not allowed here') : { kind: 'host', host: text };
    if (NODE_NAME.test(text)) return { kind: 'node', node: text };
    return undefined;
  }

  /** In strict mode a tag must be declared in `tagOwners` (as in Tailscale): false (and an error) when it is not. */
  private declared(tag: string, path: string): boolean {
    if (!this.strict || this.declaredTags.has(tag)) return true;
    this.fail(path, `${tag} is not declared in "tagOwners"`);
    return false;
  }

  private aliases(value: unknown, path: string, ctx: AliasContext): Alias[] | null {
    const list = this.strings(value, path);
    if (!list) return null;
    const before = this.errors.length;
    const out = list.map((s, i) => this.alias(s, `${path}[${i}]`, ctx));
    return this.errors.length === before ? (out as Alias[]) : null;
  }

  /**
   * `alias:ports`, split at the last colon as Tailscale does; MeshGate also takes a bare alias as "all ports", so a
   * tail that is not a port list (the `web` of `tag:web`) belongs to the alias.
   */
  private destination(text: string, path: string, protos: number[]): Destination | null {
    const colon = text.lastIndexOf(':');
    if (colon > 0 && /^(\*|[\d,-]+)$/.test(text.slice(colon + 1))) {
      const head = text.slice(0, colon);
      const before = this.errors.length;
      const alias = this.aliasOrNull(head, path, 'dst');
      if (alias === null) return null;
      if (alias !== undefined) {
        const ports = parsePorts(text.slice(colon + 1));
        if (!ports) return this.fail(path, 'ports must be "*", "22", "80,443" or "1000-2000" (0 to 65535)');
        if (this.strict && text.slice(colon + 1) !== '*' && ports[0].first === 0) return this.fail(path, 'port 0 is not a port: use 1 to 65535, or "*"');
        const portless = protos.filter((p) => !hasPorts(p));
        if (portless.length === protos.length && !isAll(ports)) return this.fail(path, 'this protocol has no ports: use "*"');
        return this.errors.length === before ? { alias, text, ports } : null;
      }
    }
    const alias = this.alias(text, path, 'dst');
    return alias ? { alias, text, ports: [...ALL_PORTS] } : null;
  }

  private protos(value: unknown, path: string, fallback: readonly number[] = DEFAULT_PROTOS): number[] {
    if (value === undefined) return [...fallback];
    const proto = parseProto(value);
    return proto === null ? this.fail(path, 'must be a protocol name ("tcp", "udp", "icmp", ...) or number 0-255') ?? [] : [proto];
  }

  private acl(value: unknown, path: string): AclRule | null {
    if (!isObject(value)) return this.fail(path, 'must be an object');
    const before = this.errors.length;
    this.keys(value, path, ['action', 'src', 'dst', 'proto', 'schedule', 'users', 'ports'], ['srcPosture']);
    if (value.action !== 'accept' && value.action !== 'deny') this.fail(`${path}.action`, 'must be "accept" or "deny"');
    // `users`/`ports` are Tailscale's legacy names for src/dst.
    const [srcKey, dstKey] = [legacy(value, 'src', 'users'), legacy(value, 'dst', 'ports')];
    if (value.src !== undefined && value.users !== undefined) this.fail(`${path}.users`, 'use either "src" or its legacy name "users"');
    if (value.dst !== undefined && value.ports !== undefined) this.fail(`${path}.ports`, 'use either "dst" or its legacy name "ports"');
    const protos = this.protos(value.proto, `${path}.proto`);
    const src = this.aliases(value[srcKey], `${path}.${srcKey}`, 'src');
    const dstTexts = this.strings(value[dstKey], `${path}.${dstKey}`);
    const dst = (dstTexts ?? []).map((t, i) => this.destination(t, `${path}.${dstKey}[${i}]`, protos));
    const schedule = this.scheduleRef(value.schedule, `${path}.schedule`);
    if (this.errors.length !== before || !src) return null;
    return { action: value.action as 'accept' | 'deny', src, dst: dst as Destination[], protos, ...(schedule ? { schedule } : {}) };
  }

  private qos(value: unknown, path: string): QosEntry | null {
    if (!isObject(value)) return this.fail(path, 'must be an object');
    const before = this.errors.length;
    this.keys(value, path, ['src', 'dst', 'rateMbit', 'schedule']);
    const src = this.aliases(value.src, `${path}.src`, 'qos');
    const dst = this.aliases(value.dst, `${path}.dst`, 'qos');
    const rate = value.rateMbit;
    if (typeof rate !== 'number' || !(rate > 0) || rate > MAX_RATE_MBIT) this.fail(`${path}.rateMbit`, `must be a number above 0 and at most ${MAX_RATE_MBIT}`);
    const schedule = this.scheduleRef(value.schedule, `${path}.schedule`);
    if (this.errors.length !== before || !src || !dst) return null;
    return { src, dst, rateMbit: rate as number, ...(schedule ? { schedule } : {}) };
  }

  private test(value: unknown, path: string): PolicyTest | null {
    if (!isObject(value)) return this.fail(path, 'must be an object');
    const before = this.errors.length;
    this.keys(value, path, ['src', 'proto', 'accept', 'deny'], ['srcPostureAttrs']);
    const src = typeof value.src === 'string' ? this.alias(value.src, `${path}.src`, 'test') : this.fail(`${path}.src`, 'must be a string');
    // A test without `proto` asks about TCP: "can alice reach web:443" means a connection, as people read it.
    const protos = this.protos(value.proto, `${path}.proto`, [TCP]);
    const dsts = (key: 'accept' | 'deny'): Destination[] => {
      if (value[key] === undefined) return [];
      const texts = this.strings(value[key], `${path}.${key}`, { empty: true }) ?? [];
      return texts.map((t, i) => this.destination(t, `${path}.${key}[${i}]`, protos)).filter((d): d is Destination => d !== null);
    };
    const accept = dsts('accept');
    const deny = dsts('deny');
    if (this.errors.length !== before || !src) return null;
    return { src, srcText: value.src as string, protos, accept, deny };
  }

  private routes(value: unknown, path: string): RouteEntry[] {
    const record = this.record(value, path, (v, p, key) => {
      const prefix = canonicalPrefix(key);
      if (!prefix || !key.includes('/')) return this.fail(p, 'a route must be a prefix such as "10.1.0.0/24"');
      const via = this.aliases(v, p, 'router');
      return via ? { prefix, via } : null;
    });
    return [...record.values()];
  }

  private autoApprovers(value: unknown, path: string): PolicyFile['autoApprovers'] {
    const out: PolicyFile['autoApprovers'] = { routes: [], exitNode: [] };
    if (value === undefined) return out;
    if (!isObject(value)) return this.fail(path, 'must be an object') ?? out;
    this.keys(value, path, ['routes', 'exitNode'], ['services']);
    const routes = this.record(value.routes, `${path}.routes`, (v, p, key) => {
      const prefix = canonicalPrefix(key);
      if (!prefix || !key.includes('/')) return this.fail(p, 'a route must be a prefix such as "10.1.0.0/24"');
      const approvers = this.aliases(v, p, 'approver');
      return approvers ? { prefix, approvers } : null;
    });
    out.routes = [...routes.values()];
    if (value.exitNode !== undefined) out.exitNode = this.aliases(value.exitNode, `${path}.exitNode`, 'approver') ?? [];
    return out;
  }
}

const legacy = (v: Record<string, unknown>, key: string, old: string): string => (v[key] === undefined && v[old] !== undefined ? old : key);
const isAll = (ports: PortRange[]): boolean => ports.length === 1 && ports[0].first === 0 && ports[0].last === 65535;
/** headscale writes users as "alice@" and stores "alice": the bare trailing `@` is syntax, not part of the name. */
const normaliseUser = (u: string): string => (u.endsWith('@') ? u.slice(0, -1) : u).toLowerCase();

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
