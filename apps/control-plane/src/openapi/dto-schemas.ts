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
export type Dto = new () => object;

const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` }) as SchemaObject;
const metadataOf = (dto: Dto): ValidationMetadata[] => getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);

/** The request DTOs libs/contracts exports: its classes that carry class-validator rules. */
export function contractDtos(): Dto[] {
  return Object.values(contracts).filter((v): v is Dto => typeof v === 'function' && /^class\s/.test(Function.prototype.toString.call(v))
    && metadataOf(v as Dto).length > 0);
}

/** A class-validator message written for people ("name must be …"), not class-validator's default. */
const customMessage = (m: ValidationMetadata): string | undefined => (typeof m.message === 'string' ? m.message : undefined);

/** One class-validator rule and the JSON Schema keywords it became: on the property itself, or on its items. */
export interface RuleKeywords { rule: ValidationMetadata; at: 'whole' | 'item'; keywords: string[] }

/** A property's class-validator rules as JSON Schema (validation keywords only), and what became of each rule. */
export interface PropertyRules {
  schema: SchemaObject;
  required: boolean;
  rules: RuleKeywords[];
  /** The DTO of the property (or of its items) under @ValidateNested. */
  nested?: Dto;
  /** The rules' messages written for people, in order. */
  notes: string[];
}

/** The keywords one rule adds (`into` is the level it lands on, for rules that only fill in a type). */
function ruleKeywords(dto: Dto, property: string, m: ValidationMetadata, into: SchemaObject): SchemaObject {
  const [c0, c1] = m.constraints ?? [];
  switch (m.name) {
    case 'isString': return { type: 'string' };
    case 'isBoolean': return { type: 'boolean' };
    case 'isInt': return { type: 'integer' };
    case 'isNumber': return { type: 'number' };
    case 'isArray': return { type: 'array' };
    case 'isEmail': return { type: 'string', format: 'email' };
    case 'isUuid': return { type: 'string', format: 'uuid' };
    case 'isTimestamp': return { type: 'string', format: 'date-time' };
    case 'isCidr': return { type: 'string', format: 'cidr' };
    case 'isIn': return { enum: [...(c0 as unknown[])], ...(into.type ? {} : { type: typeof (c0 as unknown[])[0] === 'number' ? 'number' : 'string' }) };
    case 'matches': return { pattern: (c0 as RegExp).source };
    case 'min': return { minimum: c0 as number };
    case 'max': return { maximum: c0 as number };
    case 'minLength': return { minLength: c0 as number };
    case 'maxLength': return { maxLength: c0 as number };
    case 'isLength': return { minLength: c0 as number, ...(c1 !== undefined ? { maxLength: c1 as number } : {}) };
    case 'arrayMinSize': return { minItems: c0 as number };
    case 'arrayMaxSize': return { maxItems: c0 as number };
    default: throw new Error(`${dto.name}.${property}: no JSON Schema mapping for the class-validator rule ${m.name ?? m.type}`);
  }
}

/** Rules about the array itself, whatever their `each`. */
const ARRAY_RULES = new Set(['isArray', 'arrayMinSize', 'arrayMaxSize']);

/**
 * One property's schema from its class-validator rules — what the validation pipe enforces, so the document says
 * exactly what is refused, and what the compiled body validator (common/compiled-body.ts) checks. `each: true` rules
 * constrain the items of an array. A nested DTO is `refTo(dto)`.
 */
export function propertyRules(dto: Dto, property: string, rules: ValidationMetadata[], refTo: (nested: Dto) => SchemaObject): PropertyRules {
  const whole: SchemaObject = {};
  const item: SchemaObject = {};
  let required = true;
  let nested: Dto | undefined;
  const notes: string[] = [];
  const became: RuleKeywords[] = [];
  for (const m of rules) {
    if (m.type === 'conditionalValidation') { required = false; continue; }
    const at = m.each && !ARRAY_RULES.has(m.name ?? '') ? 'item' : 'whole';
    const into = at === 'item' ? item : whole;
    if (m.type === 'nestedValidation') {
      nested = defaultMetadataStorage.findTypeMetadata(dto, property)?.typeFunction() as Dto | undefined;
      if (!nested) throw new Error(`${dto.name}.${property}: @ValidateNested needs @Type(() => Dto)`);
      const keywords = refTo(nested);
      Object.assign(into, keywords);
      became.push({ rule: m, at, keywords: Object.keys(keywords) });
      continue;
    }
    const keywords = ruleKeywords(dto, property, m, into);
    Object.assign(into, keywords);
    became.push({ rule: m, at, keywords: Object.keys(keywords) });
    if (m.name === 'isTimestamp') notes.push('a date (2024-01-31, midnight UTC) or a date-time with a zone (2024-01-31T09:00:00Z)');
    const message = customMessage(m);
    if (message && !notes.includes(message)) notes.push(message);
  }
  // `each` rules like @Matches and @IsCidr take strings only.
  if (item.pattern !== undefined || item.format !== undefined) item.type ??= 'string';
  if (whole.type === 'array') whole.items = Object.keys(item).length ? item : {};
  else {
    Object.assign(whole, item);
    for (const b of became) b.at = 'whole';
  }
  return { schema: whole, required, rules: became, nested, notes };
}

/** One property's schema for the document: its rules, described, with an example that obeys them. */
function propertySchema(dto: Dto, property: string, rules: ValidationMetadata[], description: string | undefined): { schema: SchemaObject; required: boolean } {
  const { schema: whole, required, notes } = propertyRules(dto, property, rules, (nested) => ref(nested.name));
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

/** A DTO's class-validator rules by property, in class-validator's order. */
export function rulesByProperty(dto: Dto): Map<string, ValidationMetadata[]> {
  const byProperty = new Map<string, ValidationMetadata[]>();
  for (const m of metadataOf(dto)) byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);
  return byProperty;
}

/** Every DTO's component schema, closed (`additionalProperties: false`: the pipe refuses unknown fields). */
export function dtoSchemas(propertyDocs: Map<string, Map<string, string>>): Schemas {
  const schemas: Schemas = {};
  for (const dto of contractDtos()) {
    const properties: Record<string, SchemaObject> = {};
    const required: string[] = [];
    for (const [property, rules] of rulesByProperty(dto)) {
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
