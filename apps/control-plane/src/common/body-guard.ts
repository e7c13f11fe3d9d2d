import type { FastifyInstance, FastifyRequest } from 'fastify';
import { policyEngine } from '@meshgate/domain';

/**
 * How deep a body or query may nest (objects and arrays; the body itself is level 1). The deepest request this API
 * takes, a policy, needs about 5; class-transformer, class-validator and Nest's pipe recurse once per level, and a
 * 3 KB body of 1,500 levels overflowed their stack.
 */
export const MAX_BODY_DEPTH = 32;

/** With the `u` flag a paired surrogate reads as one astral code point: only a lone one is in category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

interface Frame { value: unknown; depth: number; key: string; parent: Frame | null }

/**
 * Why a parsed JSON value must be refused before anything recursive sees it, or null: it nests deeper than
 * MAX_BODY_DEPTH, or a key or string holds a lone surrogate (not Unicode text; `validator`'s isEmail throws on it).
 * Iterative, so no value can overflow the stack here.
 */
export function jsonValueProblem(value: unknown, what: string): string | null {
  const stack: Frame[] = [{ value, depth: 0, key: '', parent: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value: current } = frame;
    if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) return `${pathOf(frame, what)} must be well-formed Unicode text (it holds a lone surrogate)`;
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    const depth = frame.depth + 1;
    if (depth > MAX_BODY_DEPTH) return `${keysOf(frame)[0] ?? what} nests deeper than ${MAX_BODY_DEPTH} levels`;
    for (const [key, child] of Object.entries(current)) {
      if (LONE_SURROGATE.test(key)) return `${pathOf(frame, what)} has a key that is not well-formed Unicode text (a lone surrogate)`;
      stack.push({ value: child, depth, key, parent: frame });
    }
  }
  return null;
}

/** The keys from the top down to the frame; long ones are cut (they are the client's text, echoed in the 400). */
function keysOf(frame: Frame): string[] {
  const keys: string[] = [];
  for (let f: Frame | null = frame; f?.parent; f = f.parent) keys.push(f.key.length > 64 ? `${f.key.slice(0, 64)}…` : f.key);
  return keys.reverse();
}

/** `peers.0.publicKey`, as class-validator names nested fields. */
const pathOf = (frame: Frame, what: string): string => (frame.parent ? keysOf(frame).join('.') : what);

/** The query, and the body: parsed JSON, or HuJSON policy text (read here only to look at it; the domain reads it). */
function requestProblem(request: FastifyRequest): string | null {
  const query = jsonValueProblem(request.query, 'query');
  if (query !== null) return query;
  const { body } = request;
  if (typeof body !== 'string') return jsonValueProblem(body, 'request body');
  const text = policyEngine.parseHujson(body);
  return text.ok ? jsonValueProblem(text.value, 'request body') : null; // a syntax error is the domain's to report
}

/** Refuses such requests on every route with a 400 before validation, as Nest's pipe words its refusals. */
export function registerBodyGuard(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', async (request, reply) => {
    const problem = requestProblem(request);
    if (problem !== null) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: [problem] });
  });
}
