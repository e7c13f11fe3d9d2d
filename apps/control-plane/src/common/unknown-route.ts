import type { FastifyInstance } from 'fastify';

/**
 * An unknown route answers 404 before its body is read: parsing it first would answer a malformed, oversized or
 * unsupported body with 400/413/415, so a route that is switched off (the test clock) would look different from one
 * that never existed, and bodies nobody will use would be parsed.
 */
export function answerUnknownRoutesFirst(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    void reply.code(404).send({ message: `Cannot ${request.method} ${request.url}`, error: 'Not Found', statusCode: 404 });
  });
}
