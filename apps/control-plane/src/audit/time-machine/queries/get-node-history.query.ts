export class GetNodeHistoryQuery {
  /** `ref`: the node's id, or a name it had in the tenant. */
  constructor(readonly tenantId: string, readonly ref: string) {}
}
