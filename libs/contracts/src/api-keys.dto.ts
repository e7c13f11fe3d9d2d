import { IsIn, IsInt, IsString, Length, Max, Min } from 'class-validator';
import { ROLES, RoleName } from './auth.dto';
import { IsOmittable } from './omittable.decorator';

/** The longest lifetime an API key may be given, in days (without `expiresInDays` it is 90 days). */
export const API_KEY_MAX_DAYS = 365;

export class CreateApiKeyDto {
  /** What the key is for ("ci deploys"): shown in the list, since the key itself never is again. */
  @IsString() @Length(1, 100) description!: string;
  /** The key's role in the tenant: one the creator may grant (an admin cannot create an owner key). */
  @IsIn(ROLES) role!: RoleName;
  @IsOmittable() @IsInt() @Min(1) @Max(API_KEY_MAX_DAYS) expiresInDays?: number;
}

/** What creating an API key answers: the only time `key` is shown (only its hash is stored). */
export interface ApiKeyCreatedView {
  id: string;
  key: string;
  description: string;
  role: RoleName;
  expiresAt: string;
}

/** An API key as listed: never its secret. */
export interface ApiKeyView {
  id: string;
  description: string;
  role: RoleName;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revoked: boolean;
}
