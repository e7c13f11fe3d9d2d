import { Testing, TerraformStack } from 'cdktf';
import { buildStacks } from '../src/app';
import { InfraConfig, loadConfig } from '../src/config';

/** A config from settings given as env MESHGATE_* variables, ignoring any infra/config file on this machine. */
export function testConfig(settings: Record<string, string> = {}): InfraConfig {
  const env = Object.fromEntries(Object.entries(settings).map(([key, value]) => [`MESHGATE_${key.toUpperCase()}`, value]));
  return loadConfig({ env, configFile: '/nonexistent/meshgate-infra-config' });
}

export type StackKind = 'aws' | 'gcp' | 'controlPlane';

export interface Synthesized {
  /** Testing.synth output, the input of cdktf's jest matchers. */
  text: string;
  json: TerraformJson;
}

// Loose on purpose: tests read what the synthesized Terraform JSON holds.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TerraformJson = Record<string, any>;

export function synthStack(kind: StackKind, settings: Record<string, string> = {}): Synthesized {
  const stack: TerraformStack = buildStacks(Testing.app(), testConfig(settings))[kind];
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) };
}

/** The resources of one type, by name ({} when there are none). */
export function resources(json: TerraformJson, type: string): Record<string, TerraformJson> {
  return json.resource?.[type] ?? {};
}

/** The single resource of a type; fails if there is not exactly one. */
export function only(json: TerraformJson, type: string): TerraformJson {
  const all = Object.values(resources(json, type));
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0];
}

/**
 * cloud-init user data is `#cloud-config` + JSON; this parses it. Terraform replaces each `${…}` before cloud-init
 * sees the text, and an expression may hold quotes (`${base64encode("…")}`), so quotes inside expressions are
 * escaped first: the parsed value then shows the expression itself.
 */
export function parseCloudConfig(userData: string): CloudConfig {
  const [header, ...rest] = userData.split('\n');
  expect(header).toBe('#cloud-config');
  let body = rest.join('\n');
  for (const expression of new Set(interpolations(body))) {
    body = body.split(`\${${expression}}`).join(`\${${expression.replace(/"/g, '\\"')}}`);
  }
  return JSON.parse(body);
}

export interface CloudConfig {
  packages: string[];
  write_files: { path: string; permissions: string; content: string; encoding?: string }[];
  runcmd: string[][];
  swap?: { filename: string; size: number };
}

export function file(config: CloudConfig, path: string): CloudConfig['write_files'][number] {
  const found = config.write_files.find((f) => f.path === path);
  if (!found) throw new Error(`cloud-init writes no ${path}`);
  return found;
}

/** The `${ … }` expressions in a string, outermost only, braces balanced. */
export function interpolations(text: string): string[] {
  const out: string[] = [];
  let start = text.indexOf('${');
  while (start !== -1) {
    let depth = 0;
    let end = start + 1;
    for (; end < text.length; end++) {
      if (text[end] === '{') depth++;
      else if (text[end] === '}' && --depth === 0) break;
    }
    out.push(text.slice(start + 2, end));
    start = text.indexOf('${', end);
  }
  return out;
}

export function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(allStrings);
  return [];
}

/** Everything a stack's expressions refer to must be declared in that stack (what `terraform validate` would catch first). */
export function danglingReferences(json: TerraformJson): string[] {
  const declared = new Set<string>();
  for (const [type, byName] of Object.entries<Record<string, unknown>>(json.resource ?? {})) {
    for (const name of Object.keys(byName)) declared.add(`${type}.${name}`);
  }
  for (const [type, byName] of Object.entries<Record<string, unknown>>(json.data ?? {})) {
    for (const name of Object.keys(byName)) declared.add(`data.${type}.${name}`);
  }
  for (const name of Object.keys(json.variable ?? {})) declared.add(`var.${name}`);
  const missing: string[] = [];
  for (const expression of allStrings(json).flatMap(interpolations)) {
    const refs = expression.match(/\b(?:data\.)?(?:aws|google)_[a-z0-9_]+\.[A-Za-z0-9_-]+|\bterraform_data\.[A-Za-z0-9_-]+|\bvar\.[a-z0-9_]+/g) ?? [];
    for (const ref of refs) if (!declared.has(ref)) missing.push(ref);
  }
  return missing;
}
