import { IsInt, Max, Min } from 'class-validator';
import { IsOmittable } from './omittable.decorator';

/** PATCH /api/v1/tenants/current (owner/admin): the fields given change, the others stay. */
export class UpdateTenantSettingsDto {
  /** Node keys older than this many days expire (default 180); the agent rotates before then. */
  @IsOmittable() @IsInt() @Min(1) @Max(3650) nodeKeyExpiryDays?: number;
}

export interface TenantSettingsView {
  nodeKeyExpiryDays: number;
}
