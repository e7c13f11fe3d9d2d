/**
 * A compiled body validator for hot routes (issue 14): one ajv function per DTO, compiled once from the JSON Schema
 * the OpenAPI document derives from the DTO's class-validator rules (openapi/dto-schemas.ts), so the contract stays
 * the one source of truth. The body is passed on as parsed — no class-transformer instance, no class-validator walk,
 * no copy — and a bad one gets StrictValidationPipe's 400: the same messages, in the same order.
 * Why a parameter pipe and not a Fastify route schema: Fastify validates before Nest's guards (a bad body would be a
 * 400 before the 401/403/429), answers in its own error shape, and its ajv removes unknown fields instead of refusing
 * them.
 */
import { BadRequestException, createParamDecorator, ExecutionContext, PipeTransform } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { getMetadataStorage, isEmail, isUUID, ValidationArguments } from 'class-validator';
import type { ValidationUtils as Utils } from 'class-validator/types/validation/ValidationUtils';
import { isCidr, isTimestamp } from '@meshgate/contracts';
import { Dto, propertyRules, PropertyRules, RuleKeywords, rulesByProperty } from '../openapi/dto-schemas';
import { refuseNonObject } from './validation';

/** class-validator's message builder ($property, $constraint1, …): exported by its CommonJS build, typed by its declarations. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ValidationUtils } = require('class-validator/cjs/validation/ValidationUtils') as { ValidationUtils: typeof Utils };

/**
 * What the derivation's `format`s mean, for the rules JSON Schema cannot say: the contracts' own checks (IsTimestamp
 * is documented as `date-time` but also takes a bare date), and class-validator's for the rest. (IsOmittable is the
 * derivation's: the property is left out of `required`, and null is refused by its type like any other value.)
 */
const FORMATS: Record<string, (value: string) => boolean> = {
  'date-time': isTimestamp,
  cidr: isCidr,
  email: (value) => isEmail(value),
  uuid: (value) => isUUID(value),
};

/** Keywords that JSON Schema checks on one type only (a value of another type passes them; class-validator's rule fails). */
const KEYWORD_TYPE: Record<string, JsonType> = {
  pattern: 'string', format: 'string', minLength: 'string', maxLength: 'string',
  minimum: 'number', maximum: 'number', minItems: 'array', maxItems: 'array', $ref: 'object',
};
type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean';
const jsonType = (value: unknown): JsonType | 'undefined' =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : (typeof value as JsonType | 'undefined');

/** Nest's ValidationPipe answer is cut after as many characters of messages, and says so (a body of many bad items). */
const MAX_MESSAGES_LENGTH = 1_000_000;
const OMITTED = 'Further validation errors were omitted';

const ajv = new Ajv({ allErrors: true, strict: true });
for (const [name, check] of Object.entries(FORMATS)) ajv.addFormat(name, check);

/** A DTO's JSON Schema rules (shared with the OpenAPI document) compiled into one function, and the rules behind it. */
class CompiledDto {
  private readonly rules = new Map<Dto, Map<string, PropertyRules>>();
  private readonly check: ValidateFunction;

  constructor(private readonly root: Dto) {
    const $defs: Record<string, object> = {};
    const define = (dto: Dto): void => {
      if (this.rules.has(dto)) return;
      if ($defs[dto.name]) throw new Error(`two DTOs named ${dto.name}`);
      const properties = new Map<string, PropertyRules>();
      this.rules.set(dto, properties);
      for (const [property, rules] of rulesByProperty(dto)) {
        // JSON Schema patterns have no flags: /…/i would be checked case-sensitively.
        const flagged = rules.find((m) => m.name === 'matches' && (m.constraints[0] instanceof RegExp ? m.constraints[0].flags : m.constraints[1]));
        if (flagged) throw new Error(`${dto.name}.${property}: a pattern with flags has no JSON Schema form`);
        properties.set(property, propertyRules(dto, property, rules, (nested) => {
          define(nested);
          return { $ref: `#/$defs/${nested.name}` } as SchemaObject;
        }));
      }
      const required = [...properties].filter(([, p]) => p.required).map(([name]) => name);
      $defs[dto.name] = {
        type: 'object',
        properties: Object.fromEntries([...properties].map(([name, p]) => [name, p.schema])),
        ...(required.length ? { required } : {}),
        additionalProperties: false,
      };
    };
    define(root);
    this.check = ajv.compile({ $ref: `#/$defs/${root.name}`, $defs });
  }

  /** The messages StrictValidationPipe would answer for the body, or null when it is valid. */
  problems(body: object): string[] | null {
    if (this.check(body)) return null;
    return this.messages(this.check.errors ?? [], body);
  }

  /**
   * Each ajv error names a value (a property, an item) and the keyword it failed. class-validator reports, for each
   * such value, every rule of it that fails: the rules whose keywords ajv refused, and those whose keywords ajv does
   * not check on a value of that type (`5` against a pattern) — every class-validator rule checks the type too.
   */
  private messages(errors: ErrorObject[], body: object): string[] {
    const failed = new Map<string, Set<string>>();
    const found: Ranked[] = [];
    for (const e of errors) {
      if (e.keyword === 'additionalProperties') {
        const segments = segmentsOf(e.instancePath);
        const { place } = this.locate(segments, body, 'object');
        found.push({ rank: [...place.rank, -1], message: `${labelOf(segments)}property ${String(e.params.additionalProperty)} should not exist` });
        continue;
      }
      const at = e.keyword === 'required' ? `${e.instancePath}/${escape(String(e.params.missingProperty))}` : e.instancePath;
      const keywords = failed.get(at) ?? new Set<string>();
      if (e.keyword !== 'required') keywords.add(e.keyword);
      failed.set(at, keywords);
    }
    for (const [path, keywords] of failed) found.push(...this.ruleMessages(segmentsOf(path), keywords, body));
    found.sort((a, b) => compareRanks(a.rank, b.rank));
    return capped([...new Set(found.map((f) => f.message))]);
  }

  /** The failing rules' messages of the value at `segments` (a property, or an item of an array property). */
  private ruleMessages(segments: string[], keywords: Set<string>, body: object): Ranked[] {
    const { place, property, item } = this.locate(segments, body, 'value');
    const { rules, rank } = this.propertyOf(place, property!);
    const value = place.object[property!];
    const prefix = labelOf(segments.slice(0, item === undefined ? -1 : -2));
    const n = rules.rules.length;
    return failing(rules.rules, item === undefined ? 'whole' : 'item', item === undefined ? value : (value as unknown[])[item], keywords).map((r) => {
      const message = ruleMessage(r, place.dto, place.object, value);
      const i = rules.rules.indexOf(r);
      if (r.rule.type !== 'nestedValidation') return { rank: [...rank, i], message: prefix + message };
      // After the property's other rules; an item that is no object is named under the array, as its own error.
      return item === undefined ? { rank: [...rank, n + i], message: prefix + message } : { rank: [...rank, 2 * n + item], message: `${prefix}${property}.${message}` };
    });
  }

  /**
   * Walks a JSON pointer into the body: to an object (the body, or a nested DTO's object), or to a value (a
   * property's, or an item of an array property). Ranks follow class-validator's order: an object's unknown keys,
   * then its properties in rule order; in a property, its rules, then its nested objects.
   */
  private locate(segments: string[], body: object, to: 'object' | 'value'): { place: Place; property?: string; item?: number } {
    let place: Place = { dto: this.root, object: body as Record<string, unknown>, rank: [] };
    for (let i = 0; i < segments.length;) {
      const property = segments[i];
      const { rules, rank } = this.propertyOf(place, property);
      const isArray = rules.schema.type === 'array';
      if (to === 'value' && i + 1 === segments.length) return { place, property };
      if (to === 'value' && isArray && i + 2 === segments.length) return { place, property, item: Number(segments[i + 1]) };
      const value = place.object[property];
      const item = isArray ? Number(segments[i + 1]) : 0;
      place = {
        dto: rules.nested!,
        object: (isArray ? (value as unknown[])[item] : value) as Record<string, unknown>,
        rank: [...rank, 2 * rules.rules.length + item],
      };
      i += isArray ? 2 : 1;
    }
    return { place };
  }

  private propertyOf(place: Place, property: string): { rules: PropertyRules; rank: number[] } {
    const properties = this.rules.get(place.dto)!;
    return { rules: properties.get(property)!, rank: [...place.rank, [...properties.keys()].indexOf(property)] };
  }
}

interface Place { dto: Dto; object: Record<string, unknown>; rank: number[] }
interface Ranked { rank: number[]; message: string }
const compareRanks = (a: number[], b: number[]): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
};

/**
 * The rules of a value that fail: those at its level (`item` rules are checked on a non-array value itself, as
 * class-validator does); for a missing value every rule but @ValidateNested, which class-validator skips for undefined.
 */
function failing(rules: RuleKeywords[], at: 'whole' | 'item', value: unknown, failedKeywords: Set<string>): RuleKeywords[] {
  const type = jsonType(value);
  return rules.filter((r) => (r.at === at || (at === 'whole' && type !== 'array'))
    && (type === 'undefined'
      ? r.rule.type !== 'nestedValidation'
      : r.keywords.some((k) => failedKeywords.has(k) || (KEYWORD_TYPE[k] !== undefined && KEYWORD_TYPE[k] !== type))));
}

/** A rule's message as class-validator words it: the DTO's own, or the rule's default. */
function ruleMessage(r: RuleKeywords, dto: Dto, object: object, value: unknown): string {
  const m = r.rule;
  const args: ValidationArguments = { targetName: dto.name, property: m.propertyName, object, value, constraints: m.constraints };
  const constraint = m.constraintCls ? getMetadataStorage().getTargetValidatorConstraints(m.constraintCls)[0] : undefined;
  return ValidationUtils.replaceMessageSpecialTokens(m.message || constraint?.instance.defaultMessage?.(args) || '', args);
}

const segmentsOf = (pointer: string): string[] =>
  pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');
/** `peers.0.`: how Nest names the object a message is about. */
const labelOf = (segments: string[]): string => segments.map((s) => `${s}.`).join('');

function capped(messages: string[]): string[] {
  let length = 0;
  const kept = messages.findIndex((m) => (length += m.length) > MAX_MESSAGES_LENGTH);
  return kept === -1 ? messages : [...messages.slice(0, kept), OMITTED];
}

/** Checks a parsed JSON body against a DTO, compiled once: the body itself when valid (a plain object), else a 400. */
export class CompiledBodyPipe<T extends object> implements PipeTransform<unknown, T> {
  private readonly compiled: CompiledDto;

  constructor(dto: new () => T) {
    this.compiled = new CompiledDto(dto);
  }

  transform(value: unknown): T {
    refuseNonObject(value, 'body');
    const problems = this.compiled.problems(value as object);
    if (problems) throw new BadRequestException(problems);
    return value as T;
  }
}

const readBody = (_data: unknown, ctx: ExecutionContext): unknown => ctx.switchToHttp().getRequest<{ body: unknown }>().body;

/**
 * The body, checked by the DTO's compiled validator: for hot routes. A custom parameter, so the global
 * StrictValidationPipe passes it by (it validates `@Body()` and `@Query()` only) and class-validator does not run;
 * the OpenAPI document is told it is the operation's body, as it would be of a `@Body()`. The value is the parsed
 * JSON as sent, not an instance of the DTO.
 */
export function CompiledBody<T extends object>(dto: new () => T): ParameterDecorator {
  const documented: ParameterDecorator = (target, key) => {
    if (key !== undefined) ApiBody({ type: dto })(target, key, Object.getOwnPropertyDescriptor(target, key)!);
  };
  return createParamDecorator(readBody, [documented])(new CompiledBodyPipe(dto));
}
