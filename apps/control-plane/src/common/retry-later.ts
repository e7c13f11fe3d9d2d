import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

type RetryStatus = HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE;

/** A refusal the client should repeat later: 429 (its own budget is spent) or 503 (the server's is), with Retry-After. */
export class RetryLaterException extends HttpException {
  constructor(status: RetryStatus, message: string, readonly retryAfterSeconds: number) {
    super({ statusCode: status, message, error: status === HttpStatus.TOO_MANY_REQUESTS ? 'Too Many Requests' : 'Service Unavailable' }, status);
  }
}

@Catch(RetryLaterException)
export class RetryLaterFilter implements ExceptionFilter {
  catch(error: RetryLaterException, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply
      .status(error.getStatus())
      .header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))))
      .send(error.getResponse());
  }
}
