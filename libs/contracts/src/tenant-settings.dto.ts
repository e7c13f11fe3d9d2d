import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { IsOmittable } from './omittable.decorator';

/** PATCH /api/v1/tenants/current (owner/admin): the fields given change, the others stay. */
export class UpdateTenantSettingsDto {
  /** Node keys older than this many days expire (default 180); the agent rotates before then. */
  @IsOmittable() @IsInt() @Min(1) @Max(3650) nodeKeyExpiryDays?: number;
  /** Nodes resolve `<node-name>.<domain>` in the mesh (default `<tenant-name>.mesh`). */
  @IsOmittable() @IsString()
  @Matches(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, { message: 'domain must be a lowercase DNS name such as acme.mesh' })
  domain?: string;
}

export interface TenantSettingsView {
  nodeKeyExpiryDays: number;
  domain: string;
}
