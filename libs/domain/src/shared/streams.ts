import { CHECKPOINT_STREAM } from '../audit/checkpoint';

/** Stream ids, one place so the control plane and replay agree on them. */
export const streams = {
  user: (id: string) => `user-${id}`,
  tenant: (id: string) => `tenant-${id}`,
  node: (id: string) => `node-${id}`,
  policy: (tenantId: string) => `policy-${tenantId}`,
  /** ScheduleWindowOpened/Closed: apart from the policy stream, so the clock never moves the policy's version. */
  schedule: (tenantId: string) => `schedule-${tenantId}`,
  /** RelayPathOpened/Closed: one stream per tenant, so port allocation on its relays is serialised. */
  relays: (tenantId: string) => `relays-${tenantId}`,
  enrollmentKey: (id: string) => `enrollment-key-${id}`,
  apiKey: (id: string) => `api-key-${id}`,
  /** Signed checkpoints: one global stream (no tenant). */
  checkpoints: () => CHECKPOINT_STREAM,
};
