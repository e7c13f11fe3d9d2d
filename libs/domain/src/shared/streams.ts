/** Stream ids, one place so the control plane and replay agree on them. */
export const streams = {
  user: (id: string) => `user-${id}`,
  tenant: (id: string) => `tenant-${id}`,
  node: (id: string) => `node-${id}`,
  policy: (tenantId: string) => `policy-${tenantId}`,
  enrollmentKey: (id: string) => `enrollment-key-${id}`,
};
