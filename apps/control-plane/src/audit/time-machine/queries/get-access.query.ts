import type { AccessQueryDto } from '@meshgate/contracts';

export class GetAccessQuery {
  constructor(readonly tenantId: string, readonly params: AccessQueryDto) {}
}
