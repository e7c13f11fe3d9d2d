import 'reflect-metadata';
import { ApiProperty } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { defaultMetadataStorage as TransformerStorage } from 'class-transformer/types/storage';
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import * as contracts from '@meshgate/contracts';
import { FIELD_EXAMPLES } from './field-examples';

/** class-transformer's @Type metadata (what a nested DTO is): exported by its CommonJS build, typed by its declarations. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: typeof TransformerStorage };

type Schemas = Record<string, SchemaObject>;
type Dto = new () => object;

const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` }) as SchemaObject;
const metadataOf = (dto: Dto): ValidationMetadata[] => getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);

/** The request DTOs libs/contracts exports: its classes that carry class-validator rules. */
export function contractDtos(): Dto[] {
  return Object.values(contracts).filter((v): v is Dto => typeof v === 'function' && /^class\s/.test(Function.prototype.toString.call(v))
    && metadataOf(v as Dto).length > 0);
}

/** A class-validator message written for people ("name must be …"), not class-validator's default. */
const customMessage = (m: ValidationMetadata): string | undefined => (typeof m.message === 'string' ? m.message : undefined);

/**
 * One property's schema from its class-validator rules — what the validation pipe enforces, so the document says
 * exactly what is refused. `each: true` rules constrain the items of an array.
 */
function propertySchema(dto: Dto, property: string, rules: ValidationMetadata[], description: string | undefined): { schema: SchemaObject; required: boolean } {
  const whole: SchemaObject = {};
  const item: SchemaObject = {};
  let required = true;
  const notes: string[] = [];
  for (const m of rules) {
    if (m.type === 'conditionalValidation') { required = false; continue; }
    const into = m.each ? item : whole;
    if (m.type === 'nestedValidation') {
      const nested = defaultMetadataStorage.findTypeMetadata(dto, property)?.typeFunction() as Dto | undefined;
      if (!nested) throw new Error(`${dto.name}.${property}: @ValidateNested needs @Type(() => Dto)`);
      Object.assign(m.each ? item : whole, ref(nested.name));
      continue;
    }
    const [c0, c1] = m.constraints ?? [];
    switch (m.name) {
      case 'isString': into.type = 'string'; break;
      case 'isBoolean': into.type = 'boolean'; break;
      case 'isInt': into.type = 'integer'; break;
      case 'isNumber': into.type = 'number'; break;
      case 'isArray': whole.type = 'array'; break;
      case 'isEmail': Object.assign(into, { type: 'string', format: 'email' }); break;
      case 'isUuid': Object.assign(into, { type: 'string', format: 'uuid' }); break;
      case 'isTimestamp': Object.assign(into, { type: 'string', format: 'date-time' }); notes.push('a date (2024-01-31, midnight UTC) or a date-time with a zone (2024-01-31T09:00:00Z)'); break;
      case 'isCidr': Object.assign(into, { type: 'string', format: 'cidr' }); break;
      case 'isIn': into.enum = [...(c0 as unknown[])]; into.type ??= typeof (c0 as unknown[])[0] === 'number' ? 'number' : 'string'; break;
      case 'matches': into.pattern = (c0 as RegExp).source; break;
      case 'min': into.minimum = c0 as number; break;
      case 'max': into.maximum = c0 as number; break;
      case 'minLength': into.minLength = c0 as number; break;
      case 'maxLength': into.maxLength = c0 as number; break;
      case 'isLength': into.minLength = c0 as number; if (c1 !== undefined) into.maxLength = c1 as number; break;
      case 'arrayMinSize': whole.minItems = c0 as number; break;
      case 'arrayMaxSize': whole.maxItems = c0 as number; break;
      default: throw new Error(`${dto.name}.${property}: no OpenAPI mapping for the class-validator rule ${m.name ?? m.type}`);
    }
    const message = customMessage(m);
    if (message && !notes.includes(message)) notes.push(message);
  }
  // `each` rules like @Matches and @IsCidr take strings only.
  if (item.pattern !== undefined || item.format !== undefined) item.type ??= 'string';
  if (whole.type === 'array') whole.items = Object.keys(item).length ? item : {};
  else Object.assign(whole, item);
  const text = [description, ...notes.filter((n) => n !== description)].filter(Boolean).join('. ');
  const example = fits(whole, FIELD_EXAMPLES[property]) ? FIELD_EXAMPLES[property] : undefined;
  const schema: SchemaObject = '$ref' in whole
    ? ({ allOf: [whole], ...(text ? { description: text } : {}) } as SchemaObject)
    : { ...whole, ...(text ? { description: text } : {}), ...(example !== undefined ? { example } : {}) };
  return { schema, required };
}

/** Whether an example obeys the rules it illustrates (one field name can carry other rules in another DTO). */
function fits(schema: SchemaObject, example: unknown): boolean {
  if (example === undefined) return false;
  if (schema.type === 'array') {
    return Array.isArray(example) && example.length <= (schema.maxItems ?? Infinity) && example.every((e) => fits(schema.items as SchemaObject, e));
  }
  if (schema.enum && !schema.enum.includes(example)) return false;
  if (schema.type === 'string') {
    return typeof example === 'string' && (!schema.pattern || new RegExp(schema.pattern).test(example))
      && example.length >= (schema.minLength ?? 0) && example.length <= (schema.maxLength ?? Infinity);
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    return typeof example === 'number' && (schema.type === 'number' || Number.isInteger(example))
      && example >= (schema.minimum ?? -Infinity) && example <= (schema.maximum ?? Infinity);
  }
  return typeof example === schema.type;
}

/** Every DTO's component schema, closed (`additionalProperties: false`: the pipe refuses unknown fields). */
export function dtoSchemas(propertyDocs: Map<string, Map<string, string>>): Schemas {
  const schemas: Schemas = {};
  for (const dto of contractDtos()) {
    const byProperty = new Map<string, ValidationMetadata[]>();
    for (const m of metadataOf(dto)) byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);
    const properties: Record<string, SchemaObject> = {};
    const required: string[] = [];
    for (const [property, rules] of byProperty) {
      const built = propertySchema(dto, property, rules, propertyDocs.get(dto.name)?.get(property));
      properties[property] = built.schema;
      if (built.required) required.push(property);
    }
    schemas[dto.name] = { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
  }
  return schemas;
}

/**
 * Hands each DTO property's schema to @nestjs/swagger as if it were decorated with @ApiProperty, so that the
 * explorer lists a query DTO's fields as query parameters. Bodies are then referenced by name and their component
 * schemas replaced by `dtoSchemas` (exact nested and per-item rules). Once per process.
 */
export function describeDtosToSwagger(schemas: Schemas): void {
  for (const dto of contractDtos()) {
    const schema = schemas[dto.name];
    for (const [property, propSchema] of Object.entries(schema.properties ?? {})) {
      const required = (schema.required ?? []).includes(property);
      const s = propSchema as SchemaObject;
      ApiProperty({ ...(s.allOf ? { type: 'object' } : s), required } as never)(dto.prototype, property);
    }
  }
}
