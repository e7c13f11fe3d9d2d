import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsOmittable } from './omittable.decorator';
import { IsTimestamp } from './timestamp.decorator';

/** A node of the tenant by its id (UUID) or its name. */
export const NODE_REF_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/i;
const NODE_REF = 'must be a node id (UUID) or a node name';
/** A node, or an address (IPv4 or IPv6) outside the overlay that a subnet router serves. */
const TARGET_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[0-9.]{7,15}|[0-9a-fA-F:.]{2,45})$/i;
/** `tcp`, `udp`, `icmp`, ... or an IANA protocol number. */
const PROTO_PATTERN = /^([a-z][a-z0-9-]{0,15}|[0-9]{1,3})$/i;

export class ReachabilityQueryDto {
  @IsTimestamp() at!: string;
  @IsString() @Matches(NODE_REF_PATTERN, { message: `src ${NODE_REF}` }) src!: string;
  @IsString() @Matches(TARGET_PATTERN, { message: `dst ${NODE_REF}, or an IP address behind a subnet router` }) dst!: string;
  @IsOmittable() @IsString() @Matches(PROTO_PATTERN, { message: 'proto must be a protocol name (tcp, udp, icmp, ...) or number' }) proto?: string;
  @IsOmittable() @Type(() => Number) @IsInt({ message: 'port must be an integer' }) @Min(1) @Max(65535) port?: number;
}

/** Exactly one of `dst` (who could reach it) and `src` (what it could reach). */
export class AccessQueryDto {
  @IsTimestamp() at!: string;
  @IsOmittable() @IsString() @Matches(NODE_REF_PATTERN, { message: `dst ${NODE_REF}` }) dst?: string;
  @IsOmittable() @IsString() @Matches(NODE_REF_PATTERN, { message: `src ${NODE_REF}` }) src?: string;
}

export class TimelineQueryDto {
  @IsString() @Matches(NODE_REF_PATTERN, { message: `src ${NODE_REF}` }) src!: string;
  @IsString() @Matches(NODE_REF_PATTERN, { message: `dst ${NODE_REF}` }) dst!: string;
  @IsTimestamp() from!: string;
  @IsTimestamp() to!: string;
}

export class PolicyVersionParamDto {
  @IsString() @MaxLength(15) @Matches(/^[1-9][0-9]{0,14}$/, { message: 'v must be a policy version (1, 2, ...)' }) v!: string;
}

/** An event as answers name it. */
export interface HistoryEventView {
  position: number;
  at: string;
  type: string;
  actor: { kind: 'user' | 'node' | 'system'; id: string };
}

/**
 * The log position an answer reflects: the state after the event at `position` (the tenant's last reachability
 * event at or before `at`; 0 when there was none). No event between it and `at` changed anything the answer depends on.
 */
export interface AsOfView {
  at: string;
  position: number;
}

export interface HistoryNodeView {
  id: string;
  name: string;
  address: string;
  tags: string[];
}

/** Protocols and ports: `tcp:5432`, `udp:*`, `icmp` (formatted as the policy preview does), and the same as data. */
export interface ReachView {
  summary: string;
  protocols: Array<{ proto: string; ports?: string }>;
}

export type DecisionView =
  /** An ACL entry of the policy version in force: its index in `acls`, and the entry as written. */
  | { kind: 'rule'; action: 'accept' | 'deny'; policyVersion: number; index: number; entry: Record<string, unknown>; schedule?: string }
  | { kind: 'default-deny'; policyVersion: number; closedSchedules?: Array<{ index: number; schedule: string; closedBy: HistoryEventView | null }> }
  | { kind: 'not-in-mesh'; node: 'src' | 'dst'; event: HistoryEventView | null }
  | { kind: 'no-route' };

export interface ReachabilityView {
  asOf: AsOfView;
  src: HistoryNodeView;
  /** The node asked about (and its overlay address), or — no node — the address behind a subnet router, with `route`. */
  dst: { node: HistoryNodeView | null; address: string };
  proto: string | null;
  port: number | null;
  allowed: boolean;
  reach: ReachView;
  decision: DecisionView;
  route?: { prefix: string; via: HistoryNodeView; approvedBy: HistoryEventView | null };
  events: HistoryEventView[];
}

export interface AccessView {
  asOf: AsOfView;
  /** The node asked about, and which way: `to` — who could reach it; `from` — what it could reach. */
  node: HistoryNodeView;
  direction: 'to' | 'from';
  policyVersion: number;
  nodes: Array<{ node: HistoryNodeView; reach: ReachView }>;
}

export interface TimelineBoundaryView {
  at: string;
  position: number;
  /** The event that caused the change; null at the edge of the window asked about. */
  event: HistoryEventView | null;
}

export interface TimelineView {
  src: HistoryNodeView;
  dst: HistoryNodeView;
  from: AsOfView;
  to: AsOfView;
  intervals: Array<{ from: TimelineBoundaryView; to: TimelineBoundaryView; reach: ReachView }>;
}

export interface NodeHistoryView {
  node: { id: string; name: string };
  /** The log position the history reaches (the head when asked). */
  position: number;
  entries: Array<{
    event: HistoryEventView;
    status: string;
    endpoint: string | null;
    publicKey: string | null;
    tags: string[];
    approvedRoutes: string[];
    keyExpired: boolean;
  }>;
}

export interface PolicyDiffSummaryView {
  added: number;
  removed: number;
  changed: number;
  linesAdded: number;
  linesRemoved: number;
}

export interface PolicyVersionSummaryView {
  version: number;
  position: number;
  at: string;
  author: { kind: 'user' | 'node' | 'system'; id: string };
  /** Against the version before (everything added for version 1). */
  diff: PolicyDiffSummaryView;
}

export interface PolicyVersionsView {
  position: number;
  versions: PolicyVersionSummaryView[];
}

export interface PolicyVersionView extends PolicyVersionSummaryView {
  /** The document as JSON (its HuJSON parsed). */
  policy: Record<string, unknown>;
  /** The text as written: its HuJSON, or the JSON document laid out. */
  text: string;
  diff: PolicyDiffSummaryView & {
    against: number | null;
    /** `before` and `after` are the values as JSON text. */
    structural: Array<{ path: string; op: 'added' | 'removed' | 'changed'; before?: string; after?: string }>;
    lines: Array<{ op: 'context' | 'added' | 'removed'; before?: number; after?: number; text: string }>;
  };
}
