import { IsEmail, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength, MinLength } from 'class-validator';

export const ROLES = ['owner', 'admin', 'member', 'auditor'] as const;
export type RoleName = (typeof ROLES)[number];

export class RegisterUserDto {
  @IsEmail() @MaxLength(254) email!: string;
  @IsString() @MinLength(10) @MaxLength(256) password!: string;
}

export class LoginDto {
  @IsEmail() @MaxLength(254) email!: string;
  @IsString() @MaxLength(256) password!: string;
  @IsOptional() @IsUUID() tenantId?: string;
}

export class CreateTenantDto {
  @IsString() @Length(1, 100) name!: string;
}

export class AddMemberDto {
  @IsEmail() @MaxLength(254) email!: string;
  @IsIn(ROLES) role!: RoleName;
}

export interface UserView { id: string; email: string }
export interface TenantMembershipView { id: string; name: string; role: RoleName }
export interface LoginResponse { accessToken: string; expiresIn: number; tenants: TenantMembershipView[] }
export interface TenantView { id: string; name: string }
export interface MemberView { userId: string; email: string; role: RoleName }
