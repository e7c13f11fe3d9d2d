import type { ReachabilityQueryDto } from '@meshgate/contracts';

export class GetReachabilityQuery {
  constructor(readonly tenantId: string, readonly params: ReachabilityQueryDto) {}
}
