import { DomainError } from '../shared/domain-error';
import { Event } from '../shared/event';
import { EMPTY_POLICY, PolicyDocument } from './policy-document';

export type PolicyUpdated = Event<'PolicyUpdated', { tenantId: string; version: number; policy: PolicyDocument }>;
export type PolicyEvent = PolicyUpdated;

export type UpdatePolicy = {
  type: 'UpdatePolicy';
  tenantId: string;
  policy: PolicyDocument;
  /** From If-Match: the version the writer read. Absent means "whatever is current". */
  expectedVersion?: number;
};
export type PolicyCommand = UpdatePolicy;

/** A tenant without a PolicyUpdated is at version 0 with the empty policy: deny everything. */
export type PolicyState = { version: number; policy: PolicyDocument };
export const initialPolicyState: PolicyState = { version: 0, policy: EMPTY_POLICY };

export const decidePolicy = (command: PolicyCommand, state: PolicyState): PolicyEvent[] => {
  switch (command.type) {
    case 'UpdatePolicy':
      if (command.expectedVersion !== undefined && command.expectedVersion !== state.version) {
        throw new DomainError('POLICY_VERSION_MISMATCH', 'PRECONDITION_FAILED',
          `policy is at version ${state.version}, not ${command.expectedVersion}`);
      }
      return [{ type: 'PolicyUpdated', data: { tenantId: command.tenantId, version: state.version + 1, policy: command.policy } }];
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
