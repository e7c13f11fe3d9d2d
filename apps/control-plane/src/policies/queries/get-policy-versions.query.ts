/** Every version of the tenant's policy (`version` absent), or one version with its diff against the one before. */
export class GetPolicyVersionsQuery {
  constructor(readonly tenantId: string, readonly version?: number) {}
}
