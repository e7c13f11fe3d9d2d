import { applyDecorators } from '@nestjs/common';
import { ApiExtension, ApiResponse } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

export const schemaRef = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` }) as SchemaObject;

/**
 * What an operation answers on success: a libs/contracts type by name (`'NodeView'`, `['NodeView']` for a list), read
 * from the interfaces by the document builder; `null` for an empty body.
 */
export function ApiAnswer(status: number, type: string | [string] | null, description = 'OK'): MethodDecorator {
  if (type === null) return ApiResponse({ status, description });
  const schema = Array.isArray(type) ? { type: 'array', items: schemaRef(type[0]) } as SchemaObject : schemaRef(type);
  return ApiResponse({ status, description, schema });
}

/** Refusals particular to an operation (the common ones, 400/401/403/404/429/503, are added to every operation that can give them). */
export function ApiRefusals(refusals: Record<number, string>): MethodDecorator {
  return applyDecorators(...Object.entries(refusals).map(([status, description]) =>
    ApiResponse({ status: Number(status), description, schema: schemaRef('ApiError') })));
}

/** Marks of what the document builder writes out in full (openapi-document.ts), removed from the served document. */
export const SSE_EXTENSION = 'x-meshgate-event-stream';
export const HUJSON_EXTENSION = 'x-meshgate-hujson';
export const HUJSON = 'application/hujson';

/** The operation answers a text/event-stream of `config` and `patch` events. */
export const ApiEventStream = (): MethodDecorator => ApiExtension(SSE_EXTENSION, true);

/** The operation takes a policy document as JSON or HuJSON (`body`), or answers it as HuJSON on request (`answer`). */
export const ApiPolicyDocument = (where: 'body' | 'answer'): MethodDecorator => ApiExtension(HUJSON_EXTENSION, where);
