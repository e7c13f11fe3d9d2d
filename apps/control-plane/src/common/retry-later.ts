import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SecurityLog } from '../logging/security-log';

type RetryStatus = HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE;

/** A refusal the client should repeat later: 429 (its own budget is spent) or 503 (the server's is), with Retry-After. */
export class RetryLaterException extends HttpException {
  constructor(status: RetryStatus, message: string, readonly retryAfterSeconds: number) {
    super({ statusCode: status, message, error: status === HttpStatus.TOO_MANY_REQUESTS ? 'Too Many Requests' : 'Service Unavailable' }, status);
  }
}

/** A 429 is a client over its budget: a security event (a 503 is the server's own state, not the client's doing). */
@Catch(RetryLaterException)
export class RetryLaterFilter implements ExceptionFilter {
  constructor(private readonly security: SecurityLog) {}

  catch(error: RetryLaterException, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (error.getStatus() === HttpStatus.TOO_MANY_REQUESTS) {
      this.security.record('rate_limit.exceeded', host.switchToHttp().getRequest<FastifyRequest>(), {
        reason: error.message, retryAfterSeconds: Math.max(1, Math.ceil(error.retryAfterSeconds)),
      });
    }
    void reply
      .status(error.getStatus())
      .header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))))
      .send(error.getResponse());
  }
}
