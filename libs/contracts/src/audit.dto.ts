import { Type } from 'class-transformer';
import { IsDateString, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export class AuditQueryDto {
  @IsOptional() @IsDateString() since?: string;
  @IsOptional() @IsDateString() until?: string;
  @IsOptional() @IsString() @MaxLength(100) actor?: string;
  @IsOptional() @IsString() @Matches(/^[A-Za-z]{1,64}$/, { message: 'type must be an event type name' }) type?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @IsString() @Matches(/^[0-9]{1,15}$/, { message: 'cursor must be a cursor returned by a previous page' })
  cursor?: string;
}

export interface AuditEntryView {
  position: number;
  at: string;
  actor: { kind: 'user' | 'node' | 'system'; id: string };
  type: string;
  subject: string;
  details: Record<string, unknown>;
}

export interface AuditPage { items: AuditEntryView[]; nextCursor: string | null }
