import { ArgumentMetadata, BadRequestException, Injectable, PipeTransform, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';

/**
 * Keys Nest's ValidationPipe deletes from the raw value (against prototype pollution) before class-validator looks
 * for unknown fields, so they would pass unseen.
 */
const STRIPPED_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Every DTO body and query is validated: unknown fields are refused (not silently dropped), wrong types are named,
 * and a body that is not a JSON object at all (an array, a string) is a 400 before class-transformer sees it.
 */
@Injectable()
export class StrictValidationPipe implements PipeTransform {
  private readonly inner = new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
  });

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && ![String, Number, Boolean, Object, Array].includes(metadata.metatype as never);
    if (!isDto || (metadata.type !== 'body' && metadata.type !== 'query')) return this.inner.transform(value, metadata);
    refuseNonObject(value, metadata.type);
    const stripped = strippedKeys(value);
    if (stripped.length > 0) throw new BadRequestException(stripped);
    const dto = await this.inner.transform(value, metadata);
    // class-transformer skips a key the instance already has as a method (`toString`, `valueOf`, ...), so
    // class-validator's whitelist never sees it: compare what was sent with what the DTO declares.
    const unknown = undeclaredKeys(value, dto);
    if (unknown.length > 0) throw new BadRequestException(unknown);
    return dto;
  }
}

/** A body (required) or a query (optional) that is not a JSON object at all: a 400 before any rule looks at it. */
export function refuseNonObject(value: unknown, type: 'body' | 'query'): void {
  if (value === undefined && type === 'body') throw new BadRequestException('request body must be a JSON object');
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new BadRequestException(`${type === 'body' ? 'request body' : 'query'} must be a JSON object`);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const notAllowed = (prefix: string, key: string) => `${prefix}property ${key} should not exist`;

/** Own keys in STRIPPED_KEYS anywhere in the raw value (its depth is bounded by the body guard). */
function strippedKeys(value: unknown, prefix = ''): string[] {
  if (!isRecord(value)) return [];
  return Object.keys(value).flatMap((key) =>
    STRIPPED_KEYS.has(key) ? [notAllowed(prefix, key)] : strippedKeys(value[key], `${prefix}${key}.`));
}

/** Keys of the raw value that the DTO class (or a nested one) does not declare, walking both side by side. */
function undeclaredKeys(raw: unknown, dto: unknown, prefix = ''): string[] {
  if (Array.isArray(raw) && Array.isArray(dto)) return raw.flatMap((item, i) => undeclaredKeys(item, dto[i], `${prefix}${i}.`));
  if (!isRecord(raw) || !isRecord(dto)) return [];
  const declared = declaredFields(dto.constructor);
  if (declared.size === 0) return []; // not a DTO: nothing to compare with
  return Object.keys(raw).flatMap((key) =>
    declared.has(key) ? undeclaredKeys(raw[key], dto[key], `${prefix}${key}.`) : [notAllowed(prefix, key)]);
}

const declaredByClass = new WeakMap<object, ReadonlySet<string>>();
function declaredFields(target: unknown): ReadonlySet<string> {
  if (typeof target !== 'function') return new Set();
  let fields = declaredByClass.get(target);
  if (!fields) {
    fields = new Set(getMetadataStorage().getTargetValidationMetadatas(target, '', true, false).map((m) => m.propertyName));
    declaredByClass.set(target, fields);
  }
  return fields;
}
