/**
 * A test oracle, not live code: the first API's policy document (`acls` of action, src, dst with `*`, node names and
 * tags) and its parser. The live policy file (policy/policy-file.ts) reads these documents with the same meaning;
 * topology.spec.ts checks the configs it gives against this independent evaluator (compiled-policy.ts).
 */
export type AclAction = 'accept' | 'deny';
/** `*`, a node name, or `tag:<name>`. */
export type Selector = string;

export interface AclEntry {
  action: AclAction;
  src: Selector[];
  dst: Selector[];
}

export interface PolicyDocument {
  acls: AclEntry[];
}

export const EMPTY_POLICY: PolicyDocument = { acls: [] };

export type ParseResult = { ok: true; policy: PolicyDocument } | { ok: false; errors: string[] };

const SELECTOR = /^(\*|tag:[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;
const MAX_ACLS = 10_000;
const MAX_SELECTORS = 1_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `parent.key`, or `parent["odd key"]` when the key is not an identifier, so a path always names one place. */
const keyPath = (parent: string, key: string): string =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? (parent ? `${parent}.${key}` : key) : `${parent}[${JSON.stringify(key)}]`;

/** Validates untrusted JSON; every error names its JSON path (`acls[2].dst[0]`). */
export function parsePolicy(input: unknown): ParseResult {
  const errors: string[] = [];
  if (!isObject(input)) return { ok: false, errors: ['policy: must be a JSON object'] };
  for (const key of Object.keys(input)) {
    if (key !== 'acls') errors.push(`${keyPath('', key)}: unknown key`);
  }
  const acls: AclEntry[] = [];
  if (!Object.hasOwn(input, 'acls')) errors.push('acls: is required');
  else if (!Array.isArray(input.acls)) errors.push('acls: must be an array');
  else if (input.acls.length > MAX_ACLS) errors.push(`acls: at most ${MAX_ACLS} entries`);
  else input.acls.forEach((entry, i) => {
    const parsed = parseAcl(entry, `acls[${i}]`, errors);
    if (parsed) acls.push(parsed);
  });
  return errors.length ? { ok: false, errors } : { ok: true, policy: { acls } };
}

function parseAcl(entry: unknown, path: string, errors: string[]): AclEntry | null {
  if (!isObject(entry)) {
    errors.push(`${path}: must be an object`);
    return null;
  }
  const before = errors.length;
  for (const key of Object.keys(entry)) {
    if (!['action', 'src', 'dst'].includes(key)) errors.push(`${keyPath(path, key)}: unknown key`);
  }
  if (entry.action !== 'accept' && entry.action !== 'deny') errors.push(`${path}.action: must be "accept" or "deny"`);
  const src = parseSelectors(entry.src, `${path}.src`, errors);
  const dst = parseSelectors(entry.dst, `${path}.dst`, errors);
  return errors.length === before ? { action: entry.action as AclAction, src, dst } : null;
}

function parseSelectors(value: unknown, path: string, errors: string[]): Selector[] {
  if (!Array.isArray(value)) {
    errors.push(`${path}: must be an array of selectors`);
    return [];
  }
  if (value.length === 0) errors.push(`${path}: must not be empty`);
  if (value.length > MAX_SELECTORS) errors.push(`${path}: at most ${MAX_SELECTORS} selectors`);
  value.forEach((s, i) => {
    if (typeof s !== 'string' || !SELECTOR.test(s)) {
      errors.push(`${path}[${i}]: must be "*", a node name or "tag:<name>"`);
    }
  });
  return value.filter((s): s is string => typeof s === 'string');
}
