import { Type } from 'class-transformer';
import { IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsOmittable } from './omittable.decorator';
import { IsTimestamp } from './timestamp.decorator';

export class AuditQueryDto {
  @IsOmittable() @IsTimestamp() since?: string;
  @IsOmittable() @IsTimestamp() until?: string;
  @IsOmittable() @IsString() @MaxLength(100) actor?: string;
  @IsOmittable() @IsString() @Matches(/^[A-Za-z]{1,64}$/, { message: 'type must be an event type name' }) type?: string;
  @IsOmittable() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOmittable() @IsString() @Matches(/^[0-9]{1,15}$/, { message: 'cursor must be a cursor returned by a previous page' })
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
