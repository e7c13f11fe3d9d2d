import { IsEmail, IsIn, IsString, IsUUID, Length, MaxLength, MinLength } from 'class-validator';
import { IsOmittable } from './omittable.decorator';

export const ROLES = ['owner', 'admin', 'member', 'auditor'] as const;
export type RoleName = (typeof ROLES)[number];

export class RegisterUserDto {
  @IsEmail() @MaxLength(254) email!: string;
  @IsString() @MinLength(10) @MaxLength(256) password!: string;
}

export class LoginDto {
  @IsEmail() @MaxLength(254) email!: string;
  @IsString() @MaxLength(256) password!: string;
  @IsOmittable() @IsUUID() tenantId?: string;
  /** The tenant by name instead of id: a name two of the user's tenants share is a 409 asking for the id. */
  @IsOmittable() @IsString() @Length(1, 100) tenant?: string;
}

/** `GET /api/v1/auth/oidc/login`'s query: the tenant the single sign-on's token is to be scoped to, as for LoginDto. */
export class OidcLoginQueryDto {
  @IsOmittable() @IsUUID() tenantId?: string;
  @IsOmittable() @IsString() @Length(1, 100) tenant?: string;
}

export class CreateTenantDto {
  @IsString() @Length(1, 100) name!: string;
}

export class AddMemberDto {
  @IsEmail() @MaxLength(254) email!: string;
  @IsIn(ROLES) role!: RoleName;
}

export class ChangeMemberRoleDto {
  @IsIn(ROLES) role!: RoleName;
}

export interface UserView { id: string; email: string }
export interface TenantMembershipView { id: string; name: string; role: RoleName }
export interface LoginResponse { accessToken: string; expiresIn: number; tenants: TenantMembershipView[] }
export interface TenantView { id: string; name: string }
export interface MemberView { userId: string; email: string; role: RoleName }
/**
 * What adding a member answers, the same whether the email is registered (the user is a member at once) or not (it is
 * invited and becomes a member on registering): the answer must not tell which emails have accounts.
 */
export interface InvitationView { email: string; role: RoleName }
