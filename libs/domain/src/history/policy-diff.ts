/**
 * What changed between two policy versions: a structural diff of the JSON documents (by JSON path, so moving a
 * comment changes nothing and reordering keys changes nothing) and a line diff of the text as written (HuJSON,
 * comments included), as an auditor reads them.
 */
export interface StructuralChange {
  /** JSON path of the value: `acls[1].dst[0]`, `tagOwners["tag:web"]`. */
  path: string;
  op: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

export interface LineChange {
  op: 'context' | 'added' | 'removed';
  /** Line numbers (1-based) in the previous and the new text; absent on the side the line is not in. */
  before?: number;
  after?: number;
  text: string;
}

export interface PolicyDiffSummary {
  added: number;
  removed: number;
  changed: number;
  linesAdded: number;
  linesRemoved: number;
}

export interface PolicyDiff {
  structural: StructuralChange[];
  lines: LineChange[];
  summary: PolicyDiffSummary;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const childPath = (parent: string, key: string): string =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? (parent ? `${parent}.${key}` : key) : `${parent}[${JSON.stringify(key)}]`;

/** Objects key by key (sorted), arrays index by index, anything else compared whole. */
export function structuralDiff(before: unknown, after: unknown, path = ''): StructuralChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => {
      const p = childPath(path, key);
      if (!(key in after)) return [{ path: p, op: 'removed' as const, before: before[key] }];
      if (!(key in before)) return [{ path: p, op: 'added' as const, after: after[key] }];
      return structuralDiff(before[key], after[key], p);
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: StructuralChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const p = `${path}[${i}]`;
      if (i >= after.length) out.push({ path: p, op: 'removed', before: before[i] });
      else if (i >= before.length) out.push({ path: p, op: 'added', after: after[i] });
      else out.push(...structuralDiff(before[i], after[i], p));
    }
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: path || '$', op: 'changed', before, after }];
}

/** Beyond this many cells the longest-common-subsequence table is not built: the texts are shown as replaced. */
const MAX_CELLS = 16_000_000;

/** A line diff: common head and tail trimmed, then the longest common subsequence of what is left. */
export function lineDiff(beforeText: string, afterText: string): LineChange[] {
  const a = beforeText === '' ? [] : beforeText.split(/\r?\n/);
  const b = afterText === '' ? [] : afterText.split(/\r?\n/);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out: LineChange[] = [];
  for (let i = 0; i < head; i++) out.push({ op: 'context', before: i + 1, after: i + 1, text: a[i] });
  const [x, y] = [a.slice(head, a.length - tail), b.slice(head, b.length - tail)];
  const [n, m] = [x.length, y.length];
  if (n * m > MAX_CELLS) {
    x.forEach((text, i) => out.push({ op: 'removed', before: head + i + 1, text }));
    y.forEach((text, j) => out.push({ op: 'added', after: head + j + 1, text }));
  } else {
    // lcs[i][j]: the longest common subsequence of x[i..] and y[j..], in one flat table.
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] = x[i] === y[j] ? lcs[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
      }
    }
    let [i, j] = [0, 0];
    while (i < n || j < m) {
      if (i < n && j < m && x[i] === y[j]) {
        out.push({ op: 'context', before: head + i + 1, after: head + j + 1, text: x[i] });
        i++;
        j++;
      } else if (j < m && (i >= n || lcs[i * (m + 1) + j + 1] >= lcs[(i + 1) * (m + 1) + j])) {
        out.push({ op: 'added', after: head + j + 1, text: y[j] });
        j++;
      } else {
        out.push({ op: 'removed', before: head + i + 1, text: x[i] });
        i++;
      }
    }
  }
  for (let k = 0; k < tail; k++) {
    out.push({ op: 'context', before: a.length - tail + k + 1, after: b.length - tail + k + 1, text: a[a.length - tail + k] });
  }
  return out;
}

/** The text of a version as written: its HuJSON, or (sent as JSON) the document laid out two spaces deep. */
export const policyText = (version: { policy: unknown; text?: string } | null): string =>
  version === null ? '' : version.text ?? JSON.stringify(version.policy, null, 2);

/** The diff of a version against the one before it (null before version 1: everything is added). */
export function diffPolicyVersions(
  previous: { policy: unknown; text?: string } | null, current: { policy: unknown; text?: string },
): PolicyDiff {
  const structural = structuralDiff(previous === null ? {} : previous.policy, current.policy);
  const lines = lineDiff(policyText(previous), policyText(current));
  return { structural, lines, summary: summarise(structural, lines) };
}

function summarise(structural: readonly StructuralChange[], lines: readonly LineChange[]): PolicyDiffSummary {
  const count = <T extends { op: string }>(list: readonly T[], op: string) => list.filter((c) => c.op === op).length;
  return {
    added: count(structural, 'added'), removed: count(structural, 'removed'), changed: count(structural, 'changed'),
    linesAdded: count(lines, 'added'), linesRemoved: count(lines, 'removed'),
  };
}
