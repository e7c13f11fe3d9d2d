import type { QosRule } from '../contracts';

/**
 * Traffic shaping on the WireGuard interface: an HTB root with an unlimited default class and one class per QoS
 * rule (rate = ceil). Packets reach a class through their skb priority, which MeshGate's nft table sets by
 * destination (see nft-ruleset), so membership changes never touch tc. Pure planning; the adapter runs the argv.
 */
const QOS_HANDLE = '1:';
const DEFAULT_CLASS = '1:1';
/** Fast enough never to be the limit; HTB needs a rate for every class. */
const UNLIMITED_MBIT = 100_000;

/** Class of the rule at `index` (minor numbers are hex, from 0x10 up). */
export const qosClassId = (index: number): string => `1:${(index + 0x10).toString(16)}`;

export interface LiveClass { classid: string; rateMbit: number }
/** The root qdisc and its classes, as tc shows them; `root` null when the device has only the default qdisc. */
export interface LiveQdisc { root: { kind: string; handle: string } | null; classes: LiveClass[] }

function desiredClasses(qos: readonly QosRule[]): LiveClass[] {
  return [{ classid: DEFAULT_CLASS, rateMbit: UNLIMITED_MBIT }, ...qos.map((q, i) => ({ classid: qosClassId(i), rateMbit: q.rateMbit }))];
}

const classArgs = (verb: 'add' | 'change', dev: string, c: LiveClass) => {
  const rate = `${c.rateMbit}mbit`;
  // An explicit quantum keeps HTB from warning about (and rounding) huge quanta at high rates.
  return ['class', verb, 'dev', dev, 'parent', QOS_HANDLE, 'classid', c.classid, 'htb', 'rate', rate, 'ceil', rate, 'quantum', '1514'];
};

/** The tc commands (argv after `tc`) that turn the live qdisc into the one the QoS rules need; empty if it matches. */
export function planTc(qos: readonly QosRule[], live: LiveQdisc, dev: string): string[][] {
  const ours = live.root !== null && live.root.kind === 'htb' && live.root.handle === QOS_HANDLE;
  if (qos.length === 0) return ours ? [['qdisc', 'del', 'dev', dev, 'root']] : [];
  const want = desiredClasses(qos);
  if (!ours) {
    return [
      ['qdisc', 'replace', 'dev', dev, 'root', 'handle', QOS_HANDLE, 'htb', 'default', DEFAULT_CLASS.split(':')[1]],
      ...want.map((c) => classArgs('add', dev, c)),
    ];
  }
  const steps: string[][] = [];
  const liveById = new Map(live.classes.map((c) => [c.classid, c]));
  const wantIds = new Set(want.map((c) => c.classid));
  for (const c of live.classes) if (!wantIds.has(c.classid)) steps.push(['class', 'del', 'dev', dev, 'classid', c.classid]);
  for (const c of want) {
    const current = liveById.get(c.classid);
    if (!current) steps.push(classArgs('add', dev, c));
    else if (Math.abs(current.rateMbit - c.rateMbit) > c.rateMbit * 0.001) steps.push(classArgs('change', dev, c));
  }
  return steps;
}

const UNIT: Record<string, number> = { bit: 1e-6, kbit: 1e-3, mbit: 1, gbit: 1e3, tbit: 1e6 };

/** `tc class show` text (htb has no JSON output for classes) → classes with their rates. */
export function parseTcClasses(text: string): LiveClass[] {
  const out: LiveClass[] = [];
  for (const line of text.split('\n')) {
    const m = /^class htb (\S+) .*?\brate (\d+(?:\.\d+)?)([KMGT]?bit)\b/i.exec(line.trim());
    if (m) out.push({ classid: m[1], rateMbit: Number(m[2]) * UNIT[m[3].toLowerCase()] });
  }
  return out;
}
