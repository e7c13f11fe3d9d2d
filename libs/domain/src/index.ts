export * from './shared/event';
export * from './shared/domain-error';
export * from './shared/streams';
export * from './shared/prng';
export * from './user/user';
export * from './tenant/tenant';
export * from './tenant/tenant-settings';
export * from './node/node';
export * from './node/heartbeat';
export * from './node/ipam';
export * from './enrollment-key/enrollment-key';
export * from './api-key/api-key';
export * from './policy/policy';
export * from './topology/topology';
export * from './topology/shared-lists';
export * from './topology/policy-preview';
export * from './history';
export * from './audit/checkpoint';
export * from './relay/relay-paths';
export * from './node/dialling';

import type { UserEvent } from './user/user';
import type { TenantEvent } from './tenant/tenant';
import type { TenantSettingsUpdated } from './tenant/tenant-settings';
import type { StoredNodeEvent } from './node/node';
import type { EnrollmentKeyEvent } from './enrollment-key/enrollment-key';
import type { ApiKeyEvent } from './api-key/api-key';
import type { PolicyEvent, ScheduleEvent } from './policy/policy';
import type { CheckpointSigned } from './audit/checkpoint';
import type { RelayEvent } from './relay/relay-paths';
/** Every event the log can hold. */
export type DomainEvent = UserEvent | TenantEvent | TenantSettingsUpdated | StoredNodeEvent | EnrollmentKeyEvent | ApiKeyEvent | PolicyEvent | ScheduleEvent | CheckpointSigned | RelayEvent;
/** The policy engine (the policy file, evaluation, tests, tag ownership), beside the policy decider in policy/. */
export * as policyEngine from './policy';
