import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';
import { CompiledPolicy, Identity, NO_SCHEDULES_OPEN, OpenSchedules } from './evaluate';
import { formatHujsonError, parseHujson } from './hujson';
import { parsePolicyFile, PolicyFile } from './policy-file';
import { runPolicyTests } from './policy-tests';
import { NO_USERS, TenantUsers } from './resolve';
import { openSchedulesAt } from './schedule';

/**
 * The tenant's policy document, versioned. `policy` is the document as JSON (what GET returns); `text` is the
 * HuJSON it was written as, comments included, when it came as text — kept so the log shows what the author wrote.
 * Old events hold v1 documents (`{acls: [{action, src, dst}]}`), which the policy engine reads with the same meaning.
 */
export type PolicyUpdated = Event<'PolicyUpdated', { tenantId: string; version: number; policy: unknown; text?: string }>;
export type PolicyEvent = PolicyUpdated;

/**
 * Facts of the clock, appended by the scheduler when a named window of the tenant's policy opens or closes. The
 * configs change on these events, never on a clock read, so a replay gives the same history.
 */
export type ScheduleWindowOpened = Event<'ScheduleWindowOpened', { tenantId: string; schedule: string; at: string }>;
export type ScheduleWindowClosed = Event<'ScheduleWindowClosed', { tenantId: string; schedule: string; at: string }>;
export type ScheduleEvent = ScheduleWindowOpened | ScheduleWindowClosed;

/** A tenant's policy before its first PolicyUpdated: no rules, so default deny. */
export const EMPTY_POLICY: { readonly acls: readonly unknown[] } = Object.freeze({ acls: Object.freeze([]) });

export type UpdatePolicy = {
  type: 'UpdatePolicy';
  tenantId: string;
  /** A document that passed `checkPolicy`. */
  policy: unknown;
  text?: string;
  /** From If-Match: the version the writer read. Absent means "whatever is current". */
  expectedVersion?: number;
};
export type PolicyCommand = UpdatePolicy;

/** A tenant without a PolicyUpdated is at version 0 with the empty policy: deny everything. */
export type PolicyState = { version: number; policy: unknown };
export const initialPolicyState: PolicyState = { version: 0, policy: EMPTY_POLICY };

export const decidePolicy = (command: PolicyCommand, state: PolicyState): PolicyEvent[] => {
  switch (command.type) {
    case 'UpdatePolicy':
      if (command.expectedVersion !== undefined && command.expectedVersion !== state.version) {
        throw new DomainError('POLICY_VERSION_MISMATCH', 'PRECONDITION_FAILED',
          `policy is at version ${state.version}, not ${command.expectedVersion}`);
      }
      return [{
        type: 'PolicyUpdated',
        data: { tenantId: command.tenantId, version: state.version + 1, policy: command.policy, ...(command.text !== undefined ? { text: command.text } : {}) },
      }];
    default: {
      const _exhaustive: never = command.type;
      throw new Error(`unknown command ${_exhaustive}`);
    }
  }
};

export const evolvePolicy = (state: PolicyState, event: PolicyEvent): PolicyState => {
  switch (event.type) {
    case 'PolicyUpdated':
      return { version: event.data.version, policy: event.data.policy };
    default:
      return state;
  }
};

export interface CheckedPolicy {
  /** The document as JSON (HuJSON text parsed). */
  document: unknown;
  policy: PolicyFile;
  compiled: CompiledPolicy;
  /** Keys of other tools that are accepted but not enforced, named. */
  warnings: string[];
}

/**
 * Validates a candidate document (JSON value, or HuJSON text) and runs its `tests` against the tenant's nodes.
 * Refusals: POLICY_INVALID with every error by JSON path; POLICY_TESTS_FAILED with every failing assertion.
 */
export function checkPolicy(
  source: unknown, nodes: readonly Identity[], open: OpenSchedules = NO_SCHEDULES_OPEN, users: TenantUsers = NO_USERS,
): CheckedPolicy {
  let document = source;
  if (typeof source === 'string') {
    const text = parseHujson(source);
    if (!text.ok) throw new DomainError('POLICY_INVALID', 'INVALID', 'policy is invalid', [`policy: ${formatHujsonError(text.error)}`]);
    document = text.value;
  }
  // Strict, as Tailscale is: tags declared in tagOwners, no port 0. Stored documents are read as they were accepted.
  const parsed = parsePolicyFile(document, { strict: true });
  if (!parsed.ok) {
    throw new DomainError('POLICY_INVALID', 'INVALID', 'policy is invalid', parsed.errors);
  }
  const compiled = new CompiledPolicy(parsed.policy);
  // Tests are checked as things stand: with the schedule windows open right now.
  const failures = runPolicyTests(compiled, nodes, open, users);
  if (failures.length) {
    throw new DomainError('POLICY_TESTS_FAILED', 'INVALID', 'policy tests failed', failures.map((f) => `${f.path}: ${f.message}`));
  }
  if (typeof document === 'object' && document !== null) compiledDocuments.set(document, compiled);
  return { document, policy: parsed.policy, compiled, warnings: parsed.warnings };
}

/**
 * Documents checkPolicy compiled: the PolicyUpdated event carries the same object into the projection, which then
 * does not compile it a second time inside the commit. Weak, so a document lives no longer than its event.
 */
const compiledDocuments = new WeakMap<object, CompiledPolicy>();

/** The empty policy, compiled once: what a tenant without a policy (or with an unreadable one) has. Deny-all. */
export const DENY_ALL: CompiledPolicy = compileStoredPolicy(EMPTY_POLICY);

/** Compiles a stored document; an unreadable one (it passed checkPolicy when written) means deny-all, not a crash. */
export function compileStoredPolicy(document: unknown): CompiledPolicy {
  const known = typeof document === 'object' && document !== null ? compiledDocuments.get(document) : undefined;
  if (known) return known;
  const parsed = parsePolicyFile(document);
  return parsed.ok ? new CompiledPolicy(parsed.policy) : DENY_ALL;
}

/**
 * The window changes due at `now`: a ScheduleWindowOpened for each schedule of `policy` open now but not in
 * `open`, a ScheduleWindowClosed for each in `open` that is not (including schedules the policy no longer has).
 */
export function decideScheduleWindows(tenantId: string, policy: PolicyFile, open: ReadonlySet<string>, now: Date): ScheduleEvent[] {
  const due = openSchedulesAt(policy.schedules, now);
  const at = now.toISOString();
  const events: ScheduleEvent[] = [];
  for (const schedule of [...open].sort()) if (!due.has(schedule)) events.push({ type: 'ScheduleWindowClosed', data: { tenantId, schedule, at } });
  for (const schedule of [...due].sort()) if (!open.has(schedule)) events.push({ type: 'ScheduleWindowOpened', data: { tenantId, schedule, at } });
  return events;
}
